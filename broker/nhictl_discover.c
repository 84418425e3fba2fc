/* nhictl discover: the static keys of every account (or one), found by the
 * broker one account per request, with a summary.
 *
 * The accounts come from getpwent here; the broker checks each name and
 * looks the account up itself, so nothing nhictl says about an account is
 * trusted beyond its name. */
#include "config.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "nhictl.h"

#define TYPES_MAX 16u /* distinct key types in the summary */

static const struct nhictl_field key_fields[] = {
        {"kind", "kind", NHICTL_STR, false},
        {"account", "account", NHICTL_STR, true},
        {"path", "file", NHICTL_STR, true},
        {"line", "line", NHICTL_INT, true},
        {"type", "type", NHICTL_STR, true},
        {"bits", "bits", NHICTL_INT, true},
        {"fingerprint", "fingerprint", NHICTL_STR, true},
        {"weak", "weak", NHICTL_BOOL, true},
        {"status", "status", NHICTL_STR, true},
        {"comment", "comment", NHICTL_STR, true},
};
static const struct nhictl_field skipped_fields[] = {
        {"kind", "kind", NHICTL_STR, false},    {"account", "account", NHICTL_STR, true},
        {"path", "file", NHICTL_STR, true},     {"line", "line", NHICTL_INT, true},
        {"reason", "reason", NHICTL_STR, true},
};
static const struct nhictl_field summary_fields[] = {
        {"kind", "kind", NHICTL_STR, false},
        {"accounts", "accounts", NHICTL_INT, false},
        {"accounts_failed", "accounts_failed", NHICTL_INT, false},
        {"keys", "keys", NHICTL_INT, false},
        {"types", "types", NHICTL_JSON, false},
        {"weak", "weak", NHICTL_INT, false},
        {"retired", "retired", NHICTL_INT, false},
        {"excepted", "excepted", NHICTL_INT, false},
        {"skipped", "skipped", NHICTL_INT, false},
};
#define N_FIELDS(f) (sizeof(f) / sizeof((f)[0]))

struct summary {
	size_t accounts, accounts_failed, keys, weak, retired, excepted, skipped;
	struct {
		char name[64];
		size_t n;
	} types[TYPES_MAX];
	size_t n_types, other_types;
};

static int alloc_error(void)
{
	fprintf(stderr, "nhictl: %s\n", nhi_strerror(NHI_ERR_ALLOC));
	return NHICTL_EXIT_FAILED;
}

static void usage_discover(FILE *f)
{
	fprintf(f, "usage: nhictl discover [--account NAME] [--enforce] [--json]\n"
	           "\n"
	           "Finds the static keys in the configured key files (sshd key_files) of\n"
	           "every account getpwent lists, or of one, and records them. Prints a row\n"
	           "per key, the files and lines skipped with the reason, and a summary.\n"
	           "\n"
	           "  --account NAME  only this account\n"
	           "  --enforce       retire every key no running exception keeps: take it\n"
	           "                  out of its file (a backup is kept) and put it in the KRL\n"
	           "  -j, --json      JSON output: one object per key, per skipped file and\n"
	           "                  a last one with the summary\n"
	           "  -h, --help      this help\n");
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Every account name NSS enumerates, sorted, each once. */
static int all_accounts(char ***ret, size_t *ret_n)
{
	char **names = NULL, **grown;
	size_t n = 0, kept = 0;
	struct passwd *pw;
	int r = 0;

	setpwent();
	while ((pw = getpwent()) != NULL) {
		if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (grown[n] = strdup(pw->pw_name)) == NULL) {
			if (grown != NULL)
				names = grown;
			r = NHI_ERR_ALLOC;
			break;
		}
		names = grown;
		n++;
	}
	endpwent();
	if (r < 0) {
		free_names(names, n);
		return r;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (kept > 0 && strcmp(names[kept - 1], names[i]) == 0)
			free(names[i]);
		else
			names[kept++] = names[i];
	}
	*ret = names;
	*ret_n = kept;
	return 0;
}

static void count_type(struct summary *s, const char *type, size_t n)
{
	for (size_t i = 0; i < s->n_types; i++)
		if (strcmp(s->types[i].name, type) == 0) {
			s->types[i].n += n;
			return;
		}
	if (s->n_types == TYPES_MAX || strlen(type) >= sizeof(s->types[0].name) ||
	    strpbrk(type, "\"\\") != NULL) {
		s->other_types += n;
		return;
	}
	snprintf(s->types[s->n_types].name, sizeof(s->types[0].name), "%s", type);
	s->types[s->n_types++].n = n;
}

static size_t counted(const struct nhi_kv *rec, const char *key)
{
	uint64_t v = 0;

	return nhi_kv_u64(rec, key, &v) == 0 ? (size_t)v : 0;
}

/* A request's counts record: whole even when its rows were not all listed. */
static void add_counts(struct summary *s, const struct nhi_kv *rec)
{
	s->keys += counted(rec, "keys");
	s->weak += counted(rec, "weak");
	s->retired += counted(rec, "retired");
	s->excepted += counted(rec, "excepted");
	s->skipped += counted(rec, "skipped");
	for (size_t i = 0; i < nhi_kv_count(rec, "type"); i++) {
		const char *v = (const char *)nhi_kv_nth(rec, "type", i)->value;
		const char *sp = strrchr(v, ' ');
		char name[64];

		if (sp == NULL || (size_t)(sp - v) >= sizeof(name))
			continue;
		memcpy(name, v, (size_t)(sp - v));
		name[sp - v] = '\0';
		count_type(s, name, strtoul(sp + 1, NULL, 10));
	}
}

/* A name getpwent gave that the broker would refuse anyway. */
static int add_invalid_name(struct nhi_kv **list, size_t *n, const char *name)
{
	struct nhi_kv *grown = realloc(*list, (*n + 1) * sizeof(*grown));
	char buf[80];
	int r;

	if (grown == NULL)
		return NHI_ERR_ALLOC;
	*list = grown;
	nhi_kv_init(&grown[*n]);
	(*n)++;
	if ((r = nhi_kv_add_str(&grown[*n - 1], "kind", "skipped")) < 0 ||
	    (r = nhi_kv_add_str(&grown[*n - 1], "account", nhictl_clean(name, buf, sizeof(buf)))) <
	            0 ||
	    (r = nhi_kv_add_str(&grown[*n - 1], "path", "-")) < 0 ||
	    (r = nhi_kv_add_str(&grown[*n - 1], "reason", "invalid account name")) < 0)
		return r;
	return 0;
}

static int summary_record(const struct summary *s, struct nhi_kv *rec)
{
	char types[TYPES_MAX * 80 + 64];
	size_t pos = 0;
	int r;

	pos += (size_t)snprintf(types + pos, sizeof(types) - pos, "{");
	for (size_t i = 0; i < s->n_types; i++)
		pos += (size_t)snprintf(types + pos, sizeof(types) - pos, "%s\"%s\":%zu",
		                        i > 0 ? "," : "", s->types[i].name, s->types[i].n);
	if (s->other_types > 0)
		pos += (size_t)snprintf(types + pos, sizeof(types) - pos, "%s\"other\":%zu",
		                        s->n_types > 0 ? "," : "", s->other_types);
	snprintf(types + pos, sizeof(types) - pos, "}");
	if ((r = nhi_kv_add_str(rec, "kind", "summary")) < 0 ||
	    (r = nhi_kv_add_i64(rec, "accounts", (int64_t)s->accounts)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "accounts_failed", (int64_t)s->accounts_failed)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "keys", (int64_t)s->keys)) < 0 ||
	    (r = nhi_kv_add_str(rec, "types", types)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "weak", (int64_t)s->weak)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "retired", (int64_t)s->retired)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "excepted", (int64_t)s->excepted)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "skipped", (int64_t)s->skipped)) < 0)
		return r;
	return 0;
}

static void print_summary_text(const struct summary *s)
{
	printf("accounts scanned: %zu", s->accounts);
	if (s->accounts_failed > 0)
		printf(" (%zu failed)", s->accounts_failed);
	printf("\nkeys: %zu", s->keys);
	for (size_t i = 0; i < s->n_types; i++)
		printf("%s%s %zu", i == 0 ? " (" : ", ", s->types[i].name, s->types[i].n);
	if (s->other_types > 0)
		printf("%sother %zu", s->n_types == 0 ? " (" : ", ", s->other_types);
	printf("%s\nweak: %zu\nretired: %zu\nexcepted: %zu\nskipped: %zu\n",
	       s->n_types > 0 || s->other_types > 0 ? ")" : "", s->weak, s->retired, s->excepted,
	       s->skipped);
}

/* Splits the records by kind, counts them and prints everything. */
static int print_all(const struct nhictl *ctl, struct summary *s, struct nhi_kv *records, size_t n)
{
	struct nhi_kv *keys = calloc(n + 1, sizeof(*keys)), *skipped = calloc(n + 1, sizeof(*keys));
	struct nhi_kv summary;
	size_t n_keys = 0, n_skipped = 0;
	int r = 0;

	nhi_kv_init(&summary);
	if (keys == NULL || skipped == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* Shallow copies: the lists only borrow the records. */
	for (size_t i = 0; i < n; i++) {
		const char *kind = nhi_kv_str(&records[i], "kind");

		if (kind != NULL && strcmp(kind, "key") == 0)
			keys[n_keys++] = records[i];
		else if (kind != NULL && strcmp(kind, "skipped") == 0)
			skipped[n_skipped++] = records[i];
	}
	if ((r = summary_record(s, &summary)) < 0)
		goto out;
	if (ctl->json) {
		nhictl_print_list(ctl, key_fields, N_FIELDS(key_fields), keys, n_keys);
		nhictl_print_list(ctl, skipped_fields, N_FIELDS(skipped_fields), skipped,
		                  n_skipped);
		nhictl_print_item(ctl, summary_fields, N_FIELDS(summary_fields), &summary);
		goto out;
	}
	if (n_keys > 0) {
		nhictl_print_list(ctl, key_fields, N_FIELDS(key_fields), keys, n_keys);
		printf("\n");
	}
	if (n_skipped > 0) {
		nhictl_print_list(ctl, skipped_fields, N_FIELDS(skipped_fields), skipped,
		                  n_skipped);
		printf("\n");
	}
	print_summary_text(s);
out:
	nhi_kv_clear(&summary);
	free(keys);
	free(skipped);
	return r;
}

/* One request for n accounts; their rows appended to *records, their
 * counts to s. NHICTL_EXIT_OK, NHICTL_EXIT_FAILED when an account failed
 * (the others go on), NHICTL_EXIT_USAGE when the caller may not ask at all
 * (nothing else will work), NHICTL_EXIT_UNAVAILABLE. */
/* Sends names[0..n) and takes what the broker did: *ret_done accounts,
 * from the first (it may end a batch early to keep its reply whole). */
static int discover_batch(const struct nhictl *ctl, char **names, size_t n, bool enforce,
                          struct summary *s, struct nhi_kv **records, size_t *n_records,
                          size_t *ret_done)
{
	struct nhi_msg_reply reply = {0};
	size_t failed = 0, done = n;
	uint64_t v;
	struct nhi_kv args;
	char buf[256];
	int r, rc = NHICTL_EXIT_OK;

	*ret_done = n;
	nhi_kv_init(&args);
	r = nhi_kv_add_str(&args, "enforce", enforce ? "yes" : "no");
	for (size_t i = 0; i < n && r == 0; i++)
		r = nhi_kv_add_str(&args, "account", names[i]);
	if (r < 0) {
		nhi_kv_clear(&args);
		return alloc_error();
	}
	r = nhi_msg_call(ctl->socket_path, ctl->timeout_ms, NHI_MSG_DISCOVER, &args, &reply);
	nhi_kv_clear(&args);
	if (r < 0) {
		fprintf(stderr, "nhictl: broker at %s: %s\n", ctl->socket_path, nhi_strerror(r));
		return NHICTL_EXIT_UNAVAILABLE;
	}
	if (reply.status < 0) {
		/* The whole request failed: every account in it. */
		fprintf(stderr, "nhictl: %s%s: %s\n", names[0], n > 1 ? " and the next ones" : "",
		        nhictl_clean(reply.message != NULL && reply.message[0] != '\0'
		                             ? reply.message
		                             : nhi_strerror(reply.status),
		                     buf, sizeof(buf)));
		rc = reply.status == NHI_ERR_REFUSED ? NHICTL_EXIT_USAGE : NHICTL_EXIT_FAILED;
		s->accounts_failed += n;
		nhi_msg_reply_clear(&reply);
		return rc;
	}
	if (reply.message != NULL && reply.message[0] != '\0')
		fprintf(stderr, "nhictl: %s\n", nhictl_clean(reply.message, buf, sizeof(buf)));
	for (size_t i = 0; i < reply.n_records; i++) {
		const struct nhi_kv *rec = &reply.records[i];
		const char *kind = nhi_kv_str(rec, "kind"), *who = nhi_kv_str(rec, "account"),
		           *why = nhi_kv_str(rec, "reason");
		char b2[128];

		if (kind != NULL && strcmp(kind, "counts") == 0) {
			add_counts(s, rec);
			if (nhi_kv_u64(rec, "accounts_done", &v) == 0 && v >= 1 && v <= n)
				done = (size_t)v;
		} else if (kind != NULL && strcmp(kind, "failed") == 0) {
			fprintf(stderr, "nhictl: %s: %s\n",
			        nhictl_clean(who != NULL ? who : "?", b2, sizeof(b2)),
			        nhictl_clean(why != NULL ? why : "failed", buf, sizeof(buf)));
			failed++;
			rc = NHICTL_EXIT_FAILED;
		}
	}
	s->accounts += done - (failed < done ? failed : done);
	s->accounts_failed += failed < done ? failed : done;
	*ret_done = done;
	if (nhictl_records_take(records, n_records, &reply) < 0)
		rc = alloc_error();
	nhi_msg_reply_clear(&reply);
	return rc;
}

int nhictl_cmd_discover(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"account", required_argument, NULL, 'a'},
	        {"enforce", no_argument, NULL, 'e'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_kv *records = NULL;
	size_t n_records = 0, n_names = 0;
	struct summary s = {0};
	char **names = NULL;
	const char *account = NULL;
	bool enforce = false;
	int opt, one, rc = NHICTL_EXIT_OK;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":a:ejh", options, NULL)) != -1) {
		if (opt == 'a')
			account = optarg;
		else if (opt == 'e')
			enforce = true;
		else if ((rc = nhictl_common_opt(ctl, "discover", opt, argv, usage_discover)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	rc = NHICTL_EXIT_OK;
	if (optind < argc)
		return nhictl_usage_error("discover", "unexpected argument '%s'", argv[optind]);
	if (account != NULL && !nhi_name_is_valid(account)) {
		char buf[80];

		return nhictl_usage_error("discover", "invalid account name '%s'",
		                          nhictl_clean(account, buf, sizeof(buf)));
	}
	if (account != NULL) {
		if ((names = calloc(1, sizeof(*names))) == NULL ||
		    (names[0] = strdup(account)) == NULL) {
			free(names);
			fprintf(stderr, "nhictl: %s\n", nhi_strerror(NHI_ERR_ALLOC));
			return NHICTL_EXIT_FAILED;
		}
		n_names = 1;
	} else if (all_accounts(&names, &n_names) < 0) {
		fprintf(stderr, "nhictl: cannot list the accounts: %s\n",
		        nhi_strerror(NHI_ERR_ALLOC));
		return NHICTL_EXIT_FAILED;
	}
	for (size_t i = 0; i < n_names;) {
		size_t batch = 0, done;

		if (!nhi_name_is_valid(names[i])) {
			s.skipped++;
			if (add_invalid_name(&records, &n_records, names[i]) < 0) {
				rc = alloc_error();
				goto out;
			}
			i++;
			continue;
		}
		/* The next valid names, as many as one request takes. */
		while (i + batch < n_names && batch < (enforce ? 1 : NHI_DISCOVER_BATCH_MAX) &&
		       nhi_name_is_valid(names[i + batch]))
			batch++;
		one = discover_batch(ctl, names + i, batch, enforce, &s, &records, &n_records,
		                     &done);
		if (one == NHICTL_EXIT_UNAVAILABLE || one == NHICTL_EXIT_USAGE) {
			rc = one == NHICTL_EXIT_USAGE ? NHICTL_EXIT_FAILED : one;
			goto out;
		}
		if (one != NHICTL_EXIT_OK)
			rc = one;
		i += done;
	}
	if (print_all(ctl, &s, records, n_records) < 0)
		rc = alloc_error();
out:
	nhictl_records_free(records, n_records);
	free_names(names, n_names);
	return rc;
}
