/* nhi: the user's command line to the broker. Shared by its commands
 * (nhi.c: main, whoami, status; nhi_cert.c: cert): the call, the exit
 * codes, and the little output helpers. */
#ifndef NHI_CLI_H
#define NHI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kv.h"
#include "msg.h"

/* Exit codes, as nhi(1) documents them. */
enum {
	NHI_EXIT_OK = 0,
	NHI_EXIT_REFUSED = 1,     /* the broker said no, or a local step failed */
	NHI_EXIT_USAGE = 2,       /* bad command line */
	NHI_EXIT_UNAVAILABLE = 3, /* no broker, or it did not answer in time */
};

struct nhi_cli {
	const char *socket_path;
	int timeout_ms;
	bool json;
};

/* One request. Returns an exit code: on anything but NHI_EXIT_OK the
 * reason is already on stderr and the reply is empty. */
int nhi_cli_call(const struct nhi_cli *cli, uint8_t type, const struct nhi_kv *args,
                 struct nhi_msg_reply *ret_reply);
/* "nhi CMD: <message>" and a hint on stderr; returns NHI_EXIT_USAGE. */
int nhi_cli_usage_error(const char *cmd, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* "nhi: <message>" on stderr; returns NHI_EXIT_REFUSED. */
int nhi_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text from outside (the broker, the command line) made safe for a
 * terminal: control bytes and non-ASCII escaped. */
const char *nhi_cli_clean(const char *s, char *buf, size_t len);
/* s as a JSON string, quotes included. */
void nhi_cli_json_string(FILE *f, const char *s);
/* "2026-01-31 12:00:00Z". */
void nhi_cli_format_time(uint64_t t, char *buf, size_t len);

int nhi_cmd_cert(struct nhi_cli *cli, int argc, char **argv);
int nhi_cmd_elevate(struct nhi_cli *cli, int argc, char **argv);
/* nhi_login.c: over ssh to the login account on the broker host */
int nhi_cmd_enroll(struct nhi_cli *cli, int argc, char **argv);
int nhi_cmd_login(struct nhi_cli *cli, int argc, char **argv);
/* nhi_ssh.c: a command on a remote host over libssh, no key file */
int nhi_cmd_ssh(struct nhi_cli *cli, int argc, char **argv);

#endif
