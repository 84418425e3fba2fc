/* The broker's state, shared by the server loop and every request handler. */
#ifndef NHI_BROKER_H
#define NHI_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "conf.h"
#include "store.h"

struct nhi_ca_set;

struct nhi_broker {
	struct nhi_config *cfg;
	char *config_path;        /* NULL: built-in defaults only */
	char *state_dir;          /* where nhi.db, revoked.krl, user_ca.pub live */
	char *socket_path;
	struct nhi_store *store;
	struct nhi_audit *audit;
	struct nhi_ca_set *ca;
	gid_t admin_gid;          /* (gid_t)-1 when the admin group does not exist */
	uid_t helper_uid;         /* (uid_t)-1 when the helper user does not exist */
	uid_t login_uid;          /* the login user running nhi-issue; (uid_t)-1 if none */
	char *self_exe;           /* the nhi tool, whose callers are attested instead */
	bool reload_requested;    /* set by a reload request or SIGHUP */
	bool krl_dirty;           /* a revocation: rewrite the KRL once committed */
	bool nss_dirty;           /* an account change: rewrite the NSS cache once committed */
	int64_t nss_expiry;       /* a retired account in the NSS cache stops resolving then */
	bool stop_requested;      /* SIGTERM: drain and exit */
	uint64_t started;
};

struct nhi_broker_options {
	const char *config_path; /* NULL: NHI_CONFIG_PATH_DEFAULT if it exists */
	const char *state_dir;   /* NULL: from the configuration */
	const char *socket_path; /* NULL: from the configuration */
	bool no_syslog;          /* audit records are not copied to syslog */
};

/* Loads the configuration, creates the state directory (0755: it holds the
 * public user_ca.pub and revoked.krl), opens the store, the audit trail and
 * the CA. On error, err (size errlen) says what failed. */
int nhi_broker_open(const struct nhi_broker_options *o, struct nhi_broker **ret_broker, char *err,
		    size_t errlen);
void nhi_broker_close(struct nhi_broker *b);
/* Re-reads the configuration file; the old one stays on error. */
int nhi_broker_reload(struct nhi_broker *b, char *err, size_t errlen);

/* "<state_dir>/<name>", heap-allocated. */
char *nhi_broker_path(const struct nhi_broker *b, const char *name);
/* Wall-clock seconds. */
uint64_t nhi_broker_now(void);

#define NHI_DB_NAME "nhi.db"
#define NHI_KRL_NAME "revoked.krl"
#define NHI_CA_PUB_NAME "user_ca.pub"
#define NHI_CA_KEY_NAME "user_ca"

#endif
