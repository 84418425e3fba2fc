/* nhictl breakglass init: sealed one-time codes for a break-glass account.
 * Works on the code file directly (root only), not through the broker, so
 * codes can be issued while the broker is down; the event is spooled for
 * the broker's audit trail like a break-glass login. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "breakglass_codes.h"
#include "err.h"
#include "fileio.h"
#include "names.h"
#include "nhictl.h"

#define CODES_DEFAULT 10u
#define SPOOL_DEFAULT "/var/lib/nhi/breakglass-spool"

static void usage_breakglass(FILE *f)
{
	fprintf(f,
	        "usage: nhictl breakglass init --account NAME [--codes N] [--file PATH]\n"
	        "                              [--spool DIR] [--json]\n"
	        "\n"
	        "Makes N one-time codes (default %u, at most %u) for the break-glass account\n"
	        "NAME, prints them once and stores only their argon2id hashes in the code\n"
	        "file, replacing that account's earlier codes. pam_nhi's 'breakglass' auth\n"
	        "mode accepts each code once, without the broker. Root only.\n"
	        "\n"
	        "  -a, --account NAME  the account the codes log in as\n"
	        "  -n, --codes N       how many codes\n"
	        "  -f, --file PATH     the code file (default " NHI_BG_CODES_PATH_DEFAULT ")\n"
	        "  -s, --spool DIR     where the audit record waits for nhid\n"
	        "                      (default " SPOOL_DEFAULT ")\n"
	        "  -j, --json          JSON output: one object per code\n"
	        "  -h, --help          this help\n",
	        CODES_DEFAULT, NHI_BG_CODES_PER_ACCOUNT_MAX);
}

/* The audit record of the new codes, for nhid to append (see
 * broker/breakglass_spool.c). Failure is reported, not fatal: the codes
 * are already stored. */
static int spool_init_record(const char *dir, const char *account, unsigned n)
{
	char rec[512], name[96];
	uint64_t now = (uint64_t)time(NULL);
	struct stat st;
	int dfd = -1, r, len;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return NHI_ERR_SYSTEM;
	if ((r = nhi_open_nofollow(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, &dfd)) < 0)
		return r;
	if (fstat(dfd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 077) != 0) {
		close(dfd);
		return NHI_ERR_FILE_UNSAFE;
	}
	len = snprintf(rec, sizeof(rec),
	               "event=init\naccount=%s\ncodes=%u\nby=uid:%ld\ntime=%" PRIu64 "\n", account,
	               n, (long)getuid(), now);
	snprintf(name, sizeof(name), "bg-%" PRIu64 "-%ld-%08" PRIx32 ".rec", now, (long)getpid(),
	         randombytes_random());
	r = nhi_atomic_write_at(dfd, name, rec, (size_t)len, 0600, 0, 0);
	close(dfd);
	return r;
}

static int breakglass_init(struct nhictl *ctl, const char *account, unsigned n, const char *path,
                           const char *spool)
{
	struct nhi_bg_codes codes = {0};
	char canon[NHI_BG_CODE_SYMBOLS + 1];
	char(*shown)[NHI_BG_CODE_TEXT_MAX + 1] = NULL;
	char(*hashes)[crypto_pwhash_STRBYTES] = NULL;
	const char *hash_ptrs[NHI_BG_CODES_PER_ACCOUNT_MAX];
	unsigned char rnd[16];
	char *text = NULL;
	size_t len = 0, line = 0;
	int lfd = -1, r, rc = NHICTL_EXIT_FAILED;

	if (sodium_init() < 0) {
		fprintf(stderr, "nhictl breakglass: libsodium cannot start\n");
		return NHICTL_EXIT_FAILED;
	}
	shown = sodium_malloc(n * sizeof(*shown));
	hashes = calloc(n, sizeof(*hashes));
	if (shown == NULL || hashes == NULL) {
		fprintf(stderr, "nhictl breakglass: out of memory\n");
		goto out;
	}
	if ((r = nhi_bg_codes_lock(path, &lfd)) < 0) {
		fprintf(stderr, "nhictl breakglass: cannot lock %s: %s\n", path, nhi_strerror(r));
		goto out;
	}
	r = nhi_bg_codes_read(path, &codes, &line);
	if (r == NHI_ERR_NOT_FOUND) {
		r = 0;
	} else if (r < 0) {
		if (line > 0)
			fprintf(stderr, "nhictl breakglass: %s:%zu: %s\n", path, line,
			        nhi_strerror(r));
		else
			fprintf(stderr, "nhictl breakglass: %s: %s\n", path, nhi_strerror(r));
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		randombytes_buf(rnd, sizeof(rnd));
		nhi_bg_code_encode(rnd, sizeof(rnd), canon, shown[i]);
		if (crypto_pwhash_str(hashes[i], canon, NHI_BG_CODE_SYMBOLS, NHI_BG_PWHASH_OPSLIMIT,
		                      NHI_BG_PWHASH_MEMLIMIT) != 0) {
			fprintf(stderr, "nhictl breakglass: cannot hash a code: out of memory\n");
			goto out;
		}
		hash_ptrs[i] = hashes[i];
	}
	if ((r = nhi_bg_codes_replace(&codes, account, hash_ptrs, n)) < 0 ||
	    (r = nhi_bg_codes_format(&codes, &text, &len)) < 0 ||
	    (r = nhi_atomic_write(path, text, len, 0600)) < 0) {
		fprintf(stderr, "nhictl breakglass: cannot write %s: %s\n", path, nhi_strerror(r));
		goto out;
	}
	if (!ctl->json)
		printf("Break-glass codes for %s. Each works once; they are not shown again.\n",
		       account);
	for (unsigned i = 0; i < n; i++) {
		if (ctl->json)
			printf("{\"account\":\"%s\",\"index\":%u,\"code\":\"%s\"}\n", account,
			       i + 1, shown[i]);
		else
			printf("%3u  %s\n", i + 1, shown[i]);
	}
	fflush(stdout);
	if ((r = spool_init_record(spool, account, n)) < 0)
		fprintf(stderr, "nhictl breakglass: warning: no audit record spooled in %s: %s\n",
		        spool, nhi_strerror(r));
	rc = NHICTL_EXIT_OK;
out:
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(rnd, sizeof(rnd));
	sodium_free(shown);
	free(hashes);
	free(text);
	nhi_bg_codes_clear(&codes);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

int nhictl_cmd_breakglass(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"account", required_argument, NULL, 'a'},
	        {"codes", required_argument, NULL, 'n'},
	        {"file", required_argument, NULL, 'f'},
	        {"spool", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *account = NULL, *path = NHI_BG_CODES_PATH_DEFAULT, *spool = SPOOL_DEFAULT;
	unsigned long n = CODES_DEFAULT;
	char *end;
	int opt, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_breakglass(argc < 2 ? stderr : stdout);
		return argc < 2 ? NHICTL_EXIT_USAGE : NHICTL_EXIT_OK;
	}
	if (strcmp(argv[1], "init") != 0)
		return nhictl_usage_error("breakglass", "unknown subcommand '%s'", argv[1]);
	argc--;
	argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":a:n:f:s:jh", options, NULL)) != -1) {
		rc = nhictl_common_opt(ctl, "breakglass", opt, argv, usage_breakglass);
		if (rc == NHICTL_OPT_DONE)
			continue;
		if (rc != NHICTL_OPT_OWN)
			return rc;
		switch (opt) {
		case 'a':
			account = optarg;
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
			    n == 0 || n > NHI_BG_CODES_PER_ACCOUNT_MAX)
				return nhictl_usage_error("breakglass",
				                          "--codes must be 1 to %u, not '%s'",
				                          NHI_BG_CODES_PER_ACCOUNT_MAX, optarg);
			break;
		case 'f':
			path = optarg;
			break;
		case 's':
			spool = optarg;
			break;
		}
	}
	if (optind < argc)
		return nhictl_usage_error("breakglass", "unexpected argument '%s'", argv[optind]);
	if (account == NULL)
		return nhictl_usage_error("breakglass", "--account is required");
	if (!nhi_name_is_valid(account) || strlen(account) > NHI_BG_ACCOUNT_MAX)
		return nhictl_usage_error("breakglass", "invalid account name");
	if (path[0] != '/' || spool[0] != '/')
		return nhictl_usage_error("breakglass", "--file and --spool must be absolute");
	if (geteuid() != 0) {
		fprintf(stderr, "nhictl breakglass: only root may make break-glass codes\n");
		return NHICTL_EXIT_FAILED;
	}
	return breakglass_init(ctl, account, (unsigned)n, path, spool);
}
