/* nhid: the nhi broker daemon. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "breakglass_spool.h"
#include "broker.h"
#include "err.h"
#include "krl_export.h"
#include "nss_export.h"
#include "log.h"
#include "server.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: nhid [-f] [-c FILE] [--state-dir DIR] [--socket PATH]\n"
		   "\n"
		   "The nhi broker: issues short-lived OpenSSH certificates, keeps the\n"
		   "inventory and the audit trail, and answers on a Unix socket.\n"
		   "\n"
		   "  -f, --foreground     run in the foreground (nhid never forks; accepted\n"
		   "                       for compatibility with init scripts)\n"
		   "  -c, --config FILE    configuration file (default " NHI_CONFIG_PATH_DEFAULT ")\n"
		   "      --state-dir DIR  keep the store, CA and KRL in DIR\n"
		   "      --socket PATH    listen on PATH\n"
		   "      --nhi PATH       the nhi tool, whose callers are attested instead\n"
		   "      --no-syslog      do not copy audit records to syslog\n"
		   "  -h, --help           show this help\n"
		   "  -V, --version        show the version\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "nhi", required_argument, NULL, 'n' },
		{ "no-syslog", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct nhi_broker_options o = { 0 };
	const char *nhi_path = NHI_BINDIR "/nhi";
	struct nhi_broker *b = NULL;
	char err[512];
	int opt, fd = -1, r;

	while ((opt = getopt_long(argc, argv, "fc:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			break;
		case 'c':
			o.config_path = optarg;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'S':
			o.socket_path = optarg;
			break;
		case 'n':
			nhi_path = optarg;
			break;
		case 'N':
			o.no_syslog = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nhid %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	nhi_log_init("nhid", NHI_LOG_STDERR | NHI_LOG_SYSLOG, LOG_INFO);
	umask(022);
	if ((r = nhi_broker_open(&o, &b, err, sizeof(err))) < 0) {
		nhi_log_error("cannot start: %s", err);
		return 1;
	}
	nhi_log_set_level(b->cfg->log_level);
	if ((b->self_exe = nhi_attest_resolve_tool(nhi_path)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	/* sshd refuses every key when RevokedKeys names a missing file. */
	if ((r = nhi_krl_export(b)) < 0) {
		nhi_log_error("cannot write the KRL in %s: %s", b->state_dir, nhi_strerror(r));
		goto out;
	}
	/* A cache that cannot be written leaves nss_nhi on the old one (or
	 * none); the broker still serves, and retries after the next change. */
	if ((r = nhi_nss_start(b)) < 0) {
		nhi_log_error("cannot write the NSS cache in %s: %s", b->state_dir, nhi_strerror(r));
		b->nss_dirty = true;
	}
	/* Break-glass logins while the broker was down join the chain first. */
	if ((r = nhi_bg_spool_ingest(b)) < 0)
		nhi_log_error("break-glass spool not ingested: %s", nhi_strerror(r));
	if ((r = nhi_server_listen(b->socket_path, &fd)) < 0) {
		nhi_log_error("cannot listen on %s: %s", b->socket_path, nhi_strerror(r));
		goto out;
	}
	r = nhi_server_run(b, fd);
	if (r < 0)
		nhi_log_error("server failed: %s", nhi_strerror(r));
	unlink(b->socket_path);
out:
	if (fd >= 0)
		close(fd);
	nhi_broker_close(b);
	return r < 0 ? 1 : 0;
}
