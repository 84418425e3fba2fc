/* nhi ssh: runs a command on a remote host as an automation identity with
 * no key file anywhere. libssh makes an Ed25519 key in memory, the local
 * broker certifies it (attesting the program that ran nhi, as for nhi
 * cert), and libssh authenticates with key and certificate from memory.
 * The remote command's output is streamed and its exit status returned. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
/* ssh_send_keepalive() is declared with the server's API, but a client
 * sends the same request. */
#include <libssh/server.h>
#include <sodium.h>

#include "b64.h"
#include "buf.h"
#include "cert.h"
#include "conf.h"
#include "err.h"
#include "fileio.h"
#include "names.h"
#include "nhi_cli.h"
#include "nhi_ssh_alive.h"
#include "nhi_ssh_target.h"
#include "sshkey.h"

/* As ssh(1): the remote command's status, or this when nhi ssh itself
 * failed after its command line was read (broker, connection, host key,
 * authentication). A bad command line is NHI_EXIT_USAGE, as for nhi. */
#define SSH_EXIT_FAILED         255
#define CONNECT_TIMEOUT_DEFAULT 10u
#define IO_CHUNK                (32u * 1024u)
/* The longest poll sleeps: libssh may read data ahead while it writes,
 * which poll cannot see. */
#define POLL_CAP_MS 200

struct ssh_opts {
	const char *identity;
	const char *host;
	const char *user;        /* -l, or USER@ in HOST; else the certificate's */
	const char *known_hosts; /* NULL: libssh's default, ~/.ssh/known_hosts */
	char *command;           /* the words after HOST, joined; NULL: a shell */
	unsigned port;           /* 0: 22 */
	uint32_t ttl;            /* 0: the broker's default */
	uint32_t connect_timeout;
	uint32_t alive_interval; /* seconds; 0: no keepalives */
	unsigned alive_count;
	bool accept_new;
	bool force_pty;
	bool no_stdin;
	int verbose;
};

static void ssh_usage(FILE *f)
{
	fprintf(f, "usage: nhi ssh --identity NAME [-p PORT] [-l USER] [--known-hosts FILE]\n"
	           "               [--accept-new] [--connect-timeout D] [--alive-interval D]\n"
	           "               [--alive-count N] [--ttl D] [-t] [-n] [-v]\n"
	           "               HOST [--] [COMMAND...]\n"
	           "\n"
	           "Runs COMMAND on HOST over SSH as the identity NAME, with no key file: a new\n"
	           "Ed25519 key is made in memory, the local broker certifies it (it decides\n"
	           "from who is asking: this user and the program that ran nhi), and the\n"
	           "connection authenticates with key and certificate. Without COMMAND, a\n"
	           "shell. The exit status is COMMAND's; 255 when nhi ssh itself fails (also\n"
	           "when the server stops answering keepalives), 2 for a bad command line.\n"
	           "\n"
	           "  -i, --identity NAME     the identity to act as\n"
	           "  -p, --port PORT         the port on HOST (default 22)\n"
	           "  -l, --login USER        the remote account (default: the certificate's\n"
	           "                          first principal)\n"
	           "      --known-hosts FILE  host keys to trust (default ~/.ssh/known_hosts;\n"
	           "                          /etc/ssh/ssh_known_hosts is read too)\n"
	           "      --accept-new        trust and record a host key not seen before;\n"
	           "                          a changed key is still refused\n"
	           "      --connect-timeout D give up connecting after D (default 10s)\n"
	           "      --alive-interval D  after D with nothing from the server, send a\n"
	           "                          keepalive (default 30s; 0: never, as ssh)\n"
	           "      --alive-count N     give up after N keepalives in a row go\n"
	           "                          unanswered (default 3, at most 1000)\n"
	           "  -T, --ttl D             certificate lifetime (default and cap: policy)\n"
	           "  -t, --tty               ask for a terminal even with a COMMAND\n"
	           "  -n, --no-stdin          send nothing from stdin (as ssh -n)\n"
	           "  -v, --verbose           libssh's protocol log on stderr\n"
	           "  -h, --help              this help\n");
}

static int parse_ssh_opts(int argc, char **argv, struct ssh_opts *o)
{
	enum {
		OPT_KNOWN_HOSTS = 1000,
		OPT_ACCEPT_NEW,
		OPT_CONNECT_TIMEOUT,
		OPT_ALIVE_INTERVAL,
		OPT_ALIVE_COUNT,
	};
	static const struct option options[] = {
	        {"identity", required_argument, NULL, 'i'},
	        {"port", required_argument, NULL, 'p'},
	        {"login", required_argument, NULL, 'l'},
	        {"known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS},
	        {"accept-new", no_argument, NULL, OPT_ACCEPT_NEW},
	        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
	        {"alive-interval", required_argument, NULL, OPT_ALIVE_INTERVAL},
	        {"alive-count", required_argument, NULL, OPT_ALIVE_COUNT},
	        {"ttl", required_argument, NULL, 'T'},
	        {"tty", no_argument, NULL, 't'},
	        {"no-stdin", no_argument, NULL, 'n'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *user = NULL;
	char *end, buf[512];
	unsigned long port;
	int opt, r;

	o->connect_timeout = CONNECT_TIMEOUT_DEFAULT;
	o->alive_interval = NHI_SSH_ALIVE_INTERVAL_DEFAULT;
	o->alive_count = NHI_SSH_ALIVE_COUNT_DEFAULT;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:i:p:l:T:tnvh", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->identity = optarg;
			break;
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
			    port == 0 || port > 65535)
				return nhi_cli_usage_error("ssh", "invalid port '%s': 1 to 65535",
				                           nhi_cli_clean(optarg, buf, sizeof(buf)));
			o->port = (unsigned)port;
			break;
		case 'l':
			if (!nhi_name_is_valid(optarg))
				return nhi_cli_usage_error("ssh", "invalid remote user '%s'",
				                           nhi_cli_clean(optarg, buf, sizeof(buf)));
			o->user = optarg;
			break;
		case OPT_KNOWN_HOSTS:
			if (optarg[0] == '\0')
				return nhi_cli_usage_error("ssh", "--known-hosts needs a file");
			o->known_hosts = optarg;
			break;
		case OPT_ACCEPT_NEW:
			o->accept_new = true;
			break;
		case OPT_CONNECT_TIMEOUT:
			if (nhi_parse_duration(optarg, &o->connect_timeout) < 0 ||
			    o->connect_timeout == 0 || o->connect_timeout > 3600)
				return nhi_cli_usage_error(
				        "ssh", "invalid --connect-timeout '%s': 1s to 1h",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case OPT_ALIVE_INTERVAL:
			if (nhi_ssh_parse_alive_interval(optarg, &o->alive_interval) < 0)
				return nhi_cli_usage_error(
				        "ssh", "invalid --alive-interval '%s': 0 (off) or 1s to 1d",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case OPT_ALIVE_COUNT:
			if (nhi_ssh_parse_alive_count(optarg, &o->alive_count) < 0)
				return nhi_cli_usage_error("ssh",
				                           "invalid --alive-count '%s': 1 to %u",
				                           nhi_cli_clean(optarg, buf, sizeof(buf)),
				                           NHI_SSH_ALIVE_COUNT_MAX);
			break;
		case 'T':
			if (nhi_parse_duration(optarg, &o->ttl) < 0 || o->ttl == 0)
				return nhi_cli_usage_error(
				        "ssh",
				        "invalid --ttl '%s': a duration such as 300, 5m or 1h",
				        nhi_cli_clean(optarg, buf, sizeof(buf)));
			break;
		case 't':
			o->force_pty = true;
			break;
		case 'n':
			o->no_stdin = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			ssh_usage(stdout);
			return -1;
		case ':':
			return nhi_cli_usage_error(
			        "ssh", "option '%s' needs a value",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		default:
			return nhi_cli_usage_error(
			        "ssh", "unknown option '%s'",
			        nhi_cli_clean(argv[optind - 1], buf, sizeof(buf)));
		}
	}
	if (o->identity == NULL)
		return nhi_cli_usage_error("ssh", "--identity NAME is required");
	if (!nhi_name_is_valid(o->identity))
		return nhi_cli_usage_error("ssh", "invalid identity name '%s'",
		                           nhi_cli_clean(o->identity, buf, sizeof(buf)));
	if (optind == argc)
		return nhi_cli_usage_error("ssh", "HOST is required");
	if ((r = nhi_ssh_split_target(argv[optind], &user, &o->host)) < 0)
		return nhi_cli_usage_error("ssh",
		                           r == NHI_ERR_NAME_INVALID ? "invalid remote user in '%s'"
		                                                     : "invalid host '%s'",
		                           nhi_cli_clean(argv[optind], buf, sizeof(buf)));
	/* -l wins over USER@, as in ssh. */
	if (o->user == NULL)
		o->user = user;
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind < argc) {
		if ((r = nhi_ssh_join_command(argc - optind, argv + optind, &o->command)) < 0)
			return nhi_cli_usage_error("ssh", "the command is too long");
	}
	return 0;
}

/* The broker's answer: a user certificate for our key, valid now. */
static int take_cert(const struct nhi_msg_reply *reply, const struct nhi_key *pub,
                     struct nhi_cert **ret_cert)
{
	const struct nhi_kv_item *blob;
	struct nhi_cert *cert = NULL;
	int r;

	if (reply->n_records < 1 || (blob = nhi_kv_find(&reply->records[0], "certificate")) == NULL)
		return nhi_cli_fail("the broker's answer holds no certificate");
	if ((r = nhi_cert_from_blob(blob->value, blob->len, &cert)) < 0)
		return nhi_cli_fail("the broker's certificate does not parse: %s", nhi_strerror(r));
	if (!nhi_key_equal(cert->key, pub) || cert->type != NHI_CERT_TYPE_USER) {
		nhi_cert_free(cert);
		return nhi_cli_fail("the broker certified another key; not using it");
	}
	if (cert->valid_before <= (uint64_t)time(NULL)) {
		nhi_cert_free(cert);
		return nhi_cli_fail(
		        "the broker's certificate has already expired (check the clock)");
	}
	*ret_cert = cert;
	return 0;
}

/* Our public key as the broker takes it: libssh exports base64 only. */
static int public_blob(ssh_key key, struct nhi_buf *blob, struct nhi_key **ret_pub)
{
	char *b64 = NULL;
	int r;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return NHI_ERR_CRYPTO;
	r = nhi_b64_decode(b64, strlen(b64), blob);
	ssh_string_free_char(b64);
	if (r < 0)
		return r;
	return nhi_key_from_blob(nhi_buf_ptr(blob), nhi_buf_len(blob), ret_pub);
}

/* The key, certified: a new Ed25519 key held by libssh (which scrubs it
 * when freed), the broker's certificate attached. Nothing is written. */
static int certified_key(const struct nhi_cli *cli, const struct ssh_opts *o, ssh_key *ret_key,
                         struct nhi_cert **ret_cert)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_buf *blob = NULL, *certblob = NULL;
	struct nhi_key *pub = NULL;
	struct nhi_cert *cert = NULL;
	struct nhi_kv args;
	ssh_key key = NULL, certkey = NULL;
	char *certb64 = NULL;
	int r, rc = SSH_EXIT_FAILED;

	nhi_kv_init(&args);
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		nhi_cli_fail("cannot generate a key");
		goto out;
	}
	if ((blob = nhi_buf_new()) == NULL || (certblob = nhi_buf_new()) == NULL) {
		nhi_cli_fail("%s", nhi_strerror(NHI_ERR_ALLOC));
		goto out;
	}
	if ((r = public_blob(key, blob, &pub)) < 0 ||
	    (r = nhi_kv_add_str(&args, "identity", o->identity)) < 0 ||
	    (r = nhi_kv_add(&args, "public_key", nhi_buf_ptr(blob), nhi_buf_len(blob))) < 0 ||
	    (o->ttl != 0 && (r = nhi_kv_add_u64(&args, "ttl", o->ttl)) < 0)) {
		nhi_cli_fail("cannot prepare the request: %s", nhi_strerror(r));
		goto out;
	}
	if (nhi_cli_call(cli, NHI_MSG_CERT_REQUEST, &args, &reply) != NHI_EXIT_OK ||
	    take_cert(&reply, pub, &cert) != 0)
		goto out;
	if ((r = nhi_cert_to_blob(cert, certblob)) < 0 ||
	    (r = nhi_b64_encode(nhi_buf_ptr(certblob), nhi_buf_len(certblob), &certb64)) < 0) {
		nhi_cli_fail("cannot encode the certificate: %s", nhi_strerror(r));
		goto out;
	}
	if (ssh_pki_import_cert_base64(certb64, SSH_KEYTYPE_ED25519_CERT01, &certkey) != SSH_OK ||
	    ssh_pki_copy_cert_to_privkey(certkey, key) != SSH_OK) {
		nhi_cli_fail("libssh does not take the broker's certificate");
		goto out;
	}
	*ret_key = key;
	key = NULL;
	*ret_cert = cert;
	cert = NULL;
	rc = 0;
out:
	ssh_key_free(certkey);
	ssh_key_free(key);
	free(certb64);
	nhi_cert_free(cert);
	nhi_key_free(pub);
	nhi_buf_free(certblob);
	nhi_buf_free(blob);
	nhi_kv_clear(&args);
	nhi_msg_reply_clear(&reply);
	return rc;
}

static void print_host_key(ssh_session session, const char *what)
{
	unsigned char *hash = NULL;
	char *fp = NULL, buf[512];
	ssh_key hostkey = NULL;
	size_t hlen = 0;

	if (ssh_get_server_publickey(session, &hostkey) == SSH_OK &&
	    ssh_get_publickey_hash(hostkey, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	fprintf(stderr, "nhi: %s host key %s %s\n", what,
	        hostkey != NULL ? nhi_cli_clean(ssh_key_type_to_char(ssh_key_type(hostkey)), buf,
	                                        sizeof(buf))
	                        : "?",
	        fp != NULL ? fp : "(no fingerprint)");
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(hostkey);
}

/* Trust only a host key the known_hosts files hold; with --accept-new a
 * key never seen for this host is recorded, but a changed one never is. */
static int verify_host(ssh_session session, const struct ssh_opts *o)
{
	char buf[512];

	switch (ssh_session_is_known_server(session)) {
	case SSH_KNOWN_HOSTS_OK:
		return 0;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER:
		print_host_key(session, "the server sent");
		return nhi_cli_fail("the host key of '%s' differs from the one in known_hosts: "
		                    "refusing to connect (someone may be intercepting)",
		                    nhi_cli_clean(o->host, buf, sizeof(buf)));
	case SSH_KNOWN_HOSTS_UNKNOWN:
	case SSH_KNOWN_HOSTS_NOT_FOUND:
		if (!o->accept_new) {
			print_host_key(session, "the server sent");
			return nhi_cli_fail("no known host key for '%s': refusing to connect; "
			                    "add it to known_hosts or use --accept-new",
			                    nhi_cli_clean(o->host, buf, sizeof(buf)));
		}
		if (ssh_session_update_known_hosts(session) != SSH_OK)
			return nhi_cli_fail(
			        "cannot record the host key: %s",
			        nhi_cli_clean(ssh_get_error(session), buf, sizeof(buf)));
		print_host_key(session, "recorded a new");
		return 0;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		return nhi_cli_fail("cannot check the host key: %s",
		                    nhi_cli_clean(ssh_get_error(session), buf, sizeof(buf)));
	}
}

static int session_setup(ssh_session session, const struct ssh_opts *o)
{
	long timeout = (long)o->connect_timeout;
	int verbosity = o->verbose > 1 ? SSH_LOG_PACKET
	                : o->verbose   ? SSH_LOG_PROTOCOL
	                               : SSH_LOG_NOLOG;
	int no = 0;
	unsigned port = o->port != 0 ? o->port : 22;

	/* No ~/.ssh/config: what nhi ssh does is what its command line says. */
	if (ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) < 0 ||
	    ssh_options_set(session, SSH_OPTIONS_HOST, o->host) < 0 ||
	    ssh_options_set(session, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    (o->known_hosts != NULL &&
	     ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts) < 0))
		return -1;
	return 0;
}

/* Set by SIGWINCH while a remote terminal follows ours. */
static volatile sig_atomic_t window_changed;

static void note_window_change(int sig)
{
	(void)sig;
	window_changed = 1;
}

/* Tells the remote terminal our new size, as ssh does on SIGWINCH. */
static void send_window_size(ssh_channel channel)
{
	struct winsize ws;

	window_changed = 0;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
		(void)ssh_channel_change_pty_size(channel, ws.ws_col, ws.ws_row);
}

/* Copies whatever the channel holds for stdout and stderr; loops until a
 * pass finds nothing, so no data waits in libssh while we sleep in poll. */
static int drain_channel(ssh_channel channel)
{
	char buf[IO_CHUNK];
	bool more = true;

	while (more) {
		more = false;
		for (int is_stderr = 0; is_stderr <= 1; is_stderr++) {
			int n = ssh_channel_read_nonblocking(channel, buf, sizeof(buf), is_stderr);

			if (n == SSH_ERROR)
				return -1;
			if (n > 0) {
				if (nhi_write_all(is_stderr ? STDERR_FILENO : STDOUT_FILENO, buf,
				              (size_t)n) < 0)
					return -2;
				more = true;
			}
		}
	}
	return 0;
}

/* All of buf to the channel. Should the peer's window close, libssh waits
 * for at most the session timeout and returns what it wrote so far; a
 * command slow to read is not an error, so write on, copying its output
 * meanwhile. */
static int write_channel(ssh_session session, ssh_channel channel, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		int n = ssh_channel_write(channel, buf + off, (uint32_t)(len - off));

		if (n < 0 || ssh_channel_is_closed(channel) || !ssh_is_connected(session))
			return -1;
		off += (size_t)n;
		if (off < len && drain_channel(channel) < 0)
			return -1;
	}
	return 0;
}

/* Keepalives on a session: libssh counts every packet it takes from the
 * socket into `received`, whichever of its calls reads it (a channel read,
 * a write, an exit status); the schedule decides from that count and the
 * clock. */
struct keepalive {
	struct nhi_ssh_alive schedule;
	struct ssh_counter_struct received;
	const char *host;
	uint32_t interval;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Until keepalive_stop, libssh writes into ka. */
static void keepalive_start(ssh_session session, struct keepalive *ka, const struct ssh_opts *o)
{
	memset(&ka->received, 0, sizeof(ka->received));
	ka->host = o->host;
	ka->interval = o->alive_interval;
	ssh_set_counters(session, NULL, &ka->received);
	nhi_ssh_alive_start(&ka->schedule, o->alive_interval, o->alive_count, now_ms(), 0);
}

static void keepalive_stop(ssh_session session)
{
	ssh_set_counters(session, NULL, NULL);
}

/* A keepalive@openssh.com global request with want-reply, as ssh sends;
 * any server answers it, if only with a failure. libssh would block for
 * the answer, so the session is non-blocking around the call, and the
 * answer shows in the packet count when it comes. libssh keeps the state
 * of one global request: once the answer to the last keepalive has come,
 * the next call only clears it and sends nothing, so a second call sends.
 * While a keepalive is still unanswered neither call sends; one in flight
 * is enough. */
static void send_keepalive(ssh_session session)
{
	ssh_set_blocking(session, 0);
	(void)ssh_send_keepalive(session);
	(void)ssh_send_keepalive(session);
	ssh_set_blocking(session, 1);
}

/* 0 while the server answers; else the reason is on stderr. */
static int keepalive_tick(ssh_session session, struct keepalive *ka)
{
	char buf[512];

	switch (nhi_ssh_alive_check(&ka->schedule, now_ms(), ka->received.in_packets)) {
	case NHI_SSH_ALIVE_WAIT:
		return 0;
	case NHI_SSH_ALIVE_SEND:
		send_keepalive(session);
		return 0;
	case NHI_SSH_ALIVE_DEAD:
	default:
		return nhi_cli_fail("no answer from %s to %u keepalives, %us apart: "
		                    "giving up on the connection",
		                    nhi_cli_clean(ka->host, buf, sizeof(buf)),
		                    ka->schedule.count_max, ka->interval);
	}
}

/* stdin to the channel until EOF; the channel's output to ours until the
 * remote side is done. With follow_window, our terminal's size changes
 * are passed on (SIGWINCH interrupts the poll). */
static int relay(ssh_session session, ssh_channel channel, struct keepalive *ka, bool send_stdin,
                 bool follow_window)
{
	char buf[IO_CHUNK], err[512];
	bool stdin_open = send_stdin, want_stdin;
	uint32_t window;
	int r;

	if (!stdin_open && ssh_channel_send_eof(channel) != SSH_OK)
		return nhi_cli_fail("%s", nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
	for (;;) {
		struct pollfd pfd[2] = {
		        {.fd = ssh_get_fd(session), .events = POLLIN},
		        {.fd = STDIN_FILENO, .events = POLLIN},
		};

		if ((r = drain_channel(channel)) == -2)
			return nhi_cli_fail("cannot write the command's output: %s",
			                    strerror(errno));
		if (r < 0)
			return nhi_cli_fail(
			        "the connection failed: %s",
			        nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
		if (ssh_channel_is_eof(channel) || ssh_channel_is_closed(channel))
			return 0;
		if (keepalive_tick(session, ka) != 0)
			return -1;
		if (follow_window && window_changed)
			send_window_size(channel);
		/* stdin is read only while the peer's window has room, so that
		 * a command slow to read its input holds us here, copying its
		 * output, rather than inside a write. */
		window = stdin_open ? ssh_channel_window_size(channel) : 0;
		want_stdin = stdin_open && window > 0;
		if (poll(pfd, want_stdin ? 2 : 1,
		         nhi_ssh_alive_wait_ms(&ka->schedule, now_ms(), POLL_CAP_MS)) < 0 &&
		    errno != EINTR)
			return nhi_cli_fail("poll: %s", strerror(errno));
		if (want_stdin && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			ssize_t n = read(STDIN_FILENO, buf,
			                 window < sizeof(buf) ? window : sizeof(buf));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n > 0 && write_channel(session, channel, buf, (size_t)n) < 0)
				return nhi_cli_fail(
				        "the connection failed: %s",
				        nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
			if (n <= 0) {
				stdin_open = false;
				if (ssh_channel_send_eof(channel) != SSH_OK)
					return nhi_cli_fail("%s",
					                    nhi_cli_clean(ssh_get_error(session),
					                                  err, sizeof(err)));
			}
		}
	}
}

/* The exit status, or SSH_ERROR when the channel closed without one or
 * the connection is gone; returns -1 when the server stopped answering.
 * A command may run on long after closing its output, so this waits as
 * relay does, without blocking in libssh, keepalives going on. */
static int wait_exit_status(ssh_session session, ssh_channel channel, struct keepalive *ka,
                            int *ret_status)
{
	for (;;) {
		struct pollfd pfd = {.fd = ssh_get_fd(session), .events = POLLIN};
		int status, wait_ms;

		ssh_set_blocking(session, 0);
		status = ssh_channel_get_exit_status(channel);
		ssh_set_blocking(session, 1);
		if (status >= 0 || ssh_channel_is_closed(channel) || !ssh_is_connected(session) ||
		    ssh_get_error_code(session) == SSH_FATAL) {
			*ret_status = status;
			return 0;
		}
		if (keepalive_tick(session, ka) != 0)
			return -1;
		wait_ms = nhi_ssh_alive_wait_ms(&ka->schedule, now_ms(), POLL_CAP_MS);
		if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR)
			return nhi_cli_fail("poll: %s", strerror(errno));
	}
}

/* A terminal on the remote side: asked for when there is no command and
 * stdin is a terminal, or with -t. Automation certificates carry no
 * permit-pty, so sshd refuses it; like ssh, we say so and go on. */
static bool request_pty(ssh_channel channel)
{
	struct winsize ws = {.ws_col = 80, .ws_row = 24};
	const char *term = getenv("TERM");

	if (isatty(STDIN_FILENO))
		(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
	if (term == NULL || term[0] == '\0' || strlen(term) > 64)
		term = "xterm";
	if (ssh_channel_request_pty_size(channel, term, ws.ws_col, ws.ws_row) != SSH_OK) {
		fprintf(stderr, "nhi: the server refused a terminal (pty)\n");
		return false;
	}
	return true;
}

static int run_remote(ssh_session session, const struct ssh_opts *o, int *ret_status)
{
	struct sigaction winch = {.sa_handler = note_window_change}, old_winch;
	struct termios saved, raw;
	struct keepalive ka;
	ssh_channel channel = NULL;
	bool want_pty = o->force_pty || (o->command == NULL && isatty(STDIN_FILENO));
	bool raw_mode = false, follow_window = false, keepalive_on = false;
	char err[512];
	int rc = SSH_EXIT_FAILED, status = -1;

	if ((channel = ssh_channel_new(session)) == NULL ||
	    ssh_channel_open_session(channel) != SSH_OK) {
		nhi_cli_fail("cannot open a session channel: %s",
		             nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
		goto out;
	}
	if (want_pty && request_pty(channel) && isatty(STDIN_FILENO)) {
		/* No SA_RESTART: the signal ends relay's poll at once. */
		sigemptyset(&winch.sa_mask);
		follow_window = sigaction(SIGWINCH, &winch, &old_winch) == 0;
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			raw = saved;
			cfmakeraw(&raw);
			raw_mode = tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
		}
	}
	if ((o->command != NULL ? ssh_channel_request_exec(channel, o->command)
	                        : ssh_channel_request_shell(channel)) != SSH_OK) {
		nhi_cli_fail("the server refused to run %s: %s",
		             o->command != NULL ? "the command" : "a shell",
		             nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
		goto out;
	}
	/* From here on the server owes us packets; before, libssh's own
	 * timeout bounded every step. */
	keepalive_start(session, &ka, o);
	keepalive_on = true;
	if (relay(session, channel, &ka, !o->no_stdin, follow_window) != 0 ||
	    wait_exit_status(session, channel, &ka, &status) != 0)
		goto out;
	if (status < 0 || status > 255) {
		nhi_cli_fail("the remote command ended without an exit status "
		             "(killed by a signal, or the connection was lost)");
		goto out;
	}
	*ret_status = status;
	rc = 0;
out:
	if (keepalive_on)
		keepalive_stop(session);
	if (follow_window)
		(void)sigaction(SIGWINCH, &old_winch, NULL);
	if (raw_mode)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	if (channel != NULL) {
		ssh_channel_close(channel);
		ssh_channel_free(channel);
	}
	return rc;
}

int nhi_cmd_ssh(struct nhi_cli *cli, int argc, char **argv)
{
	struct ssh_opts o = {0};
	struct nhi_cert *cert = NULL;
	ssh_session session = NULL;
	ssh_key key = NULL;
	const char *user;
	char err[512], buf[512];
	int r, status = 0, rc = SSH_EXIT_FAILED;

	if ((r = parse_ssh_opts(argc, argv, &o)) != 0) {
		free(o.command);
		return r < 0 ? NHI_EXIT_OK : r;
	}
	/* The private key lives in this process: no core dump may hold it,
	 * and other processes of this user may not ptrace it out. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || ssh_init() != SSH_OK) {
		nhi_cli_fail("cannot initialise the crypto libraries");
		goto out;
	}
	if ((session = ssh_new()) == NULL || session_setup(session, &o) < 0) {
		nhi_cli_fail("cannot set up the ssh session");
		goto out;
	}
	if (ssh_connect(session) != SSH_OK) {
		nhi_cli_fail("cannot connect to %s: %s", nhi_cli_clean(o.host, buf, sizeof(buf)),
		             nhi_cli_clean(ssh_get_error(session), err, sizeof(err)));
		goto out;
	}
	if (verify_host(session, &o) != 0)
		goto out;
	/* The host first: no certificate is issued for a connection that
	 * cannot be trusted or made. */
	if (certified_key(cli, &o, &key, &cert) != 0)
		goto out;
	user = o.user != NULL ? o.user : cert->n_principals > 0 ? cert->principals[0] : o.identity;
	if (!nhi_name_is_valid(user)) {
		nhi_cli_fail("the certificate's principal '%s' is not an account name; use -l USER",
		             nhi_cli_clean(user, buf, sizeof(buf)));
		goto out;
	}
	r = ssh_userauth_publickey(session, user, key);
	if (r != SSH_AUTH_SUCCESS) {
		nhi_cli_fail("%s@%s refused certificate %s%s%s",
		             nhi_cli_clean(user, buf, sizeof(buf)), o.host, cert->key_id,
		             r == SSH_AUTH_ERROR ? ": " : "",
		             r == SSH_AUTH_ERROR
		                     ? nhi_cli_clean(ssh_get_error(session), err, sizeof(err))
		                     : "");
		goto out;
	}
	/* The key has done its work; scrub it now rather than at exit. */
	ssh_key_free(key);
	key = NULL;
	if (run_remote(session, &o, &status) != 0)
		goto out;
	rc = status;
out:
	ssh_key_free(key);
	if (session != NULL) {
		ssh_disconnect(session);
		ssh_free(session);
	}
	nhi_cert_free(cert);
	free(o.command);
	ssh_finalize();
	return rc;
}
