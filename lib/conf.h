/* /etc/nhi/nhi.conf: INI (libinih), validated, errors as "file:line: reason". */
#ifndef NHI_CONF_H
#define NHI_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NHI_CONFIG_PATH_DEFAULT "/etc/nhi/nhi.conf"
#define NHI_CONFIG_KEY_FILES_MAX 8u

enum nhi_keys_mode { NHI_KEYS_OBSERVE = 0, NHI_KEYS_ENFORCE };
enum nhi_broker_down { NHI_BROKER_DOWN_ALLOW = 0, NHI_BROKER_DOWN_DENY };
/* none: a grant is active once requested; admin: an admin approves it. */
enum nhi_grant_approval { NHI_GRANT_APPROVAL_NONE = 0, NHI_GRANT_APPROVAL_ADMIN };

struct nhi_config {
	/* [broker] */
	char *socket_path;          /* /run/nhi/broker.sock */
	char *state_dir;            /* /var/lib/nhi */
	char *ca_key_path;          /* NULL: <state_dir>/user_ca */
	char *admin_group;          /* nhi-admin */
	char *helper_user;          /* nhi */
	char *login_user;           /* nhi-login: runs nhi-issue for engineers */
	int log_level;              /* LOG_INFO */
	/* [policy]: seconds */
	uint32_t human_ttl_default, human_ttl_max;           /* 3600, 28800 */
	uint32_t automation_ttl_default, automation_ttl_max; /* 300, 3600 */
	uint32_t backdate;                                   /* 60 */
	uint32_t grant_ttl_max;                              /* 3600 */
	enum nhi_grant_approval grant_approval;              /* none */
	/* [sshd] */
	enum nhi_keys_mode keys_mode;        /* observe */
	enum nhi_broker_down keys_broker_down; /* allow */
	uint32_t keys_grace;                 /* seconds; 0: none */
	char *key_files[NHI_CONFIG_KEY_FILES_MAX]; /* %h/.ssh/authorized_keys, ..2 */
	size_t n_key_files;
	char *chain_command;        /* NULL: none */
	uint32_t helper_timeout_ms; /* 2000 */
	/* [nss] */
	uint32_t uid_min, uid_max;  /* 70000, 79999 */
	char *default_shell;        /* /bin/bash */
	char *home_base;            /* /home */
	uint32_t uid_quarantine;    /* seconds a retired identity's uid stays reserved; 90d */
};

/* Defaults for every field. */
int nhi_config_defaults(struct nhi_config **ret);
/* Loads path over the defaults. On error err (size errlen) holds
 * "path:line: reason" and nothing is returned. Unknown sections and keys
 * are errors: a typo must not silently weaken policy. The file must be a
 * regular file reached without symlinks, owned by root or the caller, not
 * group/other writable (else NHI_ERR_FILE_UNSAFE); a missing file is
 * NHI_ERR_NOT_FOUND, so a caller may fall back to the defaults. Keys and
 * limits: nhi.conf(5). */
int nhi_config_load(const char *path, struct nhi_config **ret, char *err, size_t errlen);
/* The same from a string (name is used in messages). */
int nhi_config_parse(const char *name, const char *text, struct nhi_config **ret, char *err,
		     size_t errlen);
void nhi_config_free(struct nhi_config *cfg);

/* Parses a duration: "300", "300s", "5m", "1h", "2d" -> seconds; one unit,
 * no blanks, overflow refused (NHI_ERR_INVALID_FORMAT). */
int nhi_parse_duration(const char *text, uint32_t *ret_seconds);

#endif
