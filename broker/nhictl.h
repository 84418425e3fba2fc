/* nhictl: the administrator's command line over the broker socket. Shared
 * by the command groups (nhictl_*.c): the call, the exit codes, the
 * output of records as tables or JSON. */
#ifndef NHI_NHICTL_H
#define NHI_NHICTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kv.h"
#include "msg.h"

/* Exit codes, as nhictl(8) documents them. */
enum {
	NHICTL_EXIT_OK = 0,
	NHICTL_EXIT_FAILED = 1,      /* the broker refused or the request failed */
	NHICTL_EXIT_USAGE = 2,       /* bad command line */
	NHICTL_EXIT_UNAVAILABLE = 3, /* no broker, or it did not answer in time */
	NHICTL_EXIT_AUDIT = 4,       /* audit verification failed */
};

struct nhictl {
	const char *config_path; /* -c FILE; NULL: the default, if it exists */
	const char *socket_path; /* NULL while a command only prints its help */
	int timeout_ms;
	bool json;
};

/* One request. Returns an exit code: on anything but NHICTL_EXIT_OK the
 * reason is already on stderr and reply is empty. */
int nhictl_call(const struct nhictl *ctl, uint8_t type, const struct nhi_kv *args,
                struct nhi_msg_reply *ret_reply);

/* Every page of a paged listing, appended to *ret_all: each request is
 * filter (NULL: none) and, after the first page, after_arg set to the
 * cursor field of the last record so far; an empty page ends it. Returns
 * an exit code, as nhictl_call. */
int nhictl_call_pages(const struct nhictl *ctl, uint8_t type, const struct nhi_kv *filter,
                      const char *cursor, const char *after_arg, struct nhi_kv **ret_all,
                      size_t *ret_n);

/* The configuration (-c FILE, else the default file when it exists, else
 * the built-in defaults); errors are on stderr. */
struct nhi_config;
int nhictl_load_config(const struct nhictl *ctl, struct nhi_config **ret_cfg);

/* "nhictl CMD: <message>" on stderr; returns NHICTL_EXIT_USAGE. */
int nhictl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The start every "nhictl NOUN SUBCOMMAND ..." shares: no subcommand is a
 * usage error, -h/--help prints the usage. Returns the exit code to end
 * with, or NHICTL_GO_ON when argv[1] is a subcommand to dispatch. */
#define NHICTL_GO_ON (-1)
int nhictl_subcommand_start(int argc, char **argv, void (*cmd_usage)(FILE *f));
/* The options every subcommand takes (-h/--help, -j/--json) and getopt's
 * complaints, for a getopt_long loop run with opterr = 0 and shortopts
 * starting with ':'. Returns NHICTL_OPT_OWN when opt is the subcommand's
 * own, NHICTL_OPT_DONE when handled, else the exit code to return now. */
#define NHICTL_OPT_OWN  (-1)
#define NHICTL_OPT_DONE (-2)
int nhictl_common_opt(struct nhictl *ctl, const char *cmd, int opt, char **argv,
                      void (*usage)(FILE *f));

/* The command line of a command taking the common options and exactly one
 * argument (named what in errors): NHICTL_EXIT_OK with *ret_arg set, else
 * the exit code to return, its reason on stderr. */
int nhictl_one_arg(struct nhictl *ctl, const char *cmd, int argc, char **argv,
                   void (*usage)(FILE *f), const char *what, const char **ret_arg);

/* How a field is shown. */
enum nhictl_ftype {
	NHICTL_STR = 0,
	NHICTL_INT,  /* a number in JSON */
	NHICTL_BOOL, /* "yes"/"no" -> true/false in JSON */
	NHICTL_TIME, /* unix seconds: UTC in tables, a number in JSON */
	NHICTL_SECS, /* a duration in seconds: "5m" in tables, a number in JSON */
	NHICTL_LIST, /* a repeated key: an array in JSON */
	NHICTL_JSON, /* embedded JSON object when it is a flat one, else a string */
};
struct nhictl_field {
	const char *key;  /* in the broker's record */
	const char *name; /* in JSON and as a table header (upper-cased) */
	enum nhictl_ftype type;
	bool in_table; /* a column of list tables */
};

/* Records as an aligned table (only in_table fields), or one JSON object
 * per line with --json. fields NULL: every key, as strings. */
void nhictl_print_list(const struct nhictl *ctl, const struct nhictl_field *fields, size_t n_fields,
                       const struct nhi_kv *records, size_t n_records);
/* One record as "name: value" lines, or one JSON object. */
void nhictl_print_item(const struct nhictl *ctl, const struct nhictl_field *fields, size_t n_fields,
                       const struct nhi_kv *record);
/* A value of a record ready for a terminal: control bytes escaped. */
const char *nhictl_clean(const char *s, char *buf, size_t len);
/* "2026-01-31 12:00:00Z". */
void nhictl_format_time(int64_t t, char *buf, size_t len);

/* Moves the records of reply to the end of the list (paging). */
int nhictl_records_take(struct nhi_kv **list, size_t *n, struct nhi_msg_reply *reply);
void nhictl_records_free(struct nhi_kv *list, size_t n);

/* Command groups: argv[0] is the command's name. */
int nhictl_cmd_identity(struct nhictl *ctl, int argc, char **argv);
/* nhictl_import.c: nhictl identity import FILE */
int nhictl_cmd_identity_import(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_breakglass(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_enroll(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_cert(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_revoke(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_audit(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_ca(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_status(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_keys(struct nhictl *ctl, int argc, char **argv);
/* nhictl_keys_retire.c: keys retire|restore|except FINGERPRINT ... */
int nhictl_keys_retire(struct nhictl *ctl, int argc, char **argv);
int nhictl_keys_restore(struct nhictl *ctl, int argc, char **argv);
int nhictl_keys_except(struct nhictl *ctl, int argc, char **argv);
int nhictl_cmd_grant(struct nhictl *ctl, int argc, char **argv);
/* nhictl_discover.c: discover [--account NAME] [--enforce] */
int nhictl_cmd_discover(struct nhictl *ctl, int argc, char **argv);
/* nhictl_group.c: group add|list|show|member-add|member-remove */
int nhictl_cmd_group(struct nhictl *ctl, int argc, char **argv);

#endif
