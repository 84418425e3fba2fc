#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "ca.h"
#include "err.h"
#include "log.h"

char *nhi_broker_path(const struct nhi_broker *b, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", b->state_dir, name) < 0)
		return NULL;
	return p;
}

uint64_t nhi_broker_now(void)
{
	return (uint64_t)time(NULL);
}

static int load_config(const char *path, struct nhi_config **ret, char *err, size_t errlen)
{
	/* Without an explicit file, the default one is optional. */
	if (path == NULL) {
		if (access(NHI_CONFIG_PATH_DEFAULT, F_OK) != 0)
			return nhi_config_defaults(ret);
		path = NHI_CONFIG_PATH_DEFAULT;
	}
	return nhi_config_load(path, ret, err, errlen);
}

/* The admin group and helper user may not exist (yet): then nobody but
 * root is an admin and no uid is the helper. */
static void resolve_principals(struct nhi_broker *b)
{
	struct group *gr = getgrnam(b->cfg->admin_group);
	struct passwd *pw = getpwnam(b->cfg->helper_user);

	b->admin_gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	b->helper_uid = pw != NULL ? pw->pw_uid : (uid_t)-1;
	pw = getpwnam(b->cfg->login_user);
	b->login_uid = pw != NULL ? pw->pw_uid : (uid_t)-1;
}

static int make_state_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return NHI_ERR_SYSTEM;
	if (lstat(dir, &st) < 0)
		return NHI_ERR_SYSTEM;
	/* Nobody else may plant files where the CA key and database live. */
	if (!S_ISDIR(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022) != 0)
		return NHI_ERR_FILE_UNSAFE;
	return 0;
}

int nhi_broker_open(const struct nhi_broker_options *o, struct nhi_broker **ret_broker, char *err,
		    size_t errlen)
{
	struct nhi_broker *b = calloc(1, sizeof(*b));
	char *db = NULL;
	int r;

	if (b == NULL)
		return NHI_ERR_ALLOC;
	err[0] = '\0';
	b->started = nhi_broker_now();
	if ((r = load_config(o->config_path, &b->cfg, err, errlen)) < 0)
		goto out;
	if (o->config_path != NULL && (b->config_path = strdup(o->config_path)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	b->state_dir = strdup(o->state_dir != NULL ? o->state_dir : b->cfg->state_dir);
	b->socket_path = strdup(o->socket_path != NULL ? o->socket_path : b->cfg->socket_path);
	if (b->state_dir == NULL || b->socket_path == NULL || (db = nhi_broker_path(b, NHI_DB_NAME)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	resolve_principals(b);
	if ((r = make_state_dir(b->state_dir)) < 0) {
		snprintf(err, errlen, "%s: state directory: %s", b->state_dir, nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_store_open(db, &b->store)) < 0) {
		snprintf(err, errlen, "%s: %s", db, nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_audit_open(b->store, NULL,
				NHI_AUDIT_ANCHOR_ASYNC | (o->no_syslog ? NHI_AUDIT_NO_SYSLOG : 0),
				&b->audit)) < 0) {
		snprintf(err, errlen, "%s: audit trail: %s", db, nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_ca_set_open(b, &b->ca)) < 0) {
		snprintf(err, errlen, "user CA in %s: %s", b->state_dir, nhi_strerror(r));
		goto out;
	}
	*ret_broker = b;
	b = NULL;
	r = 0;
out:
	if (r < 0 && err[0] == '\0')
		snprintf(err, errlen, "%s", nhi_strerror(r));
	free(db);
	nhi_broker_close(b);
	return r;
}

void nhi_broker_close(struct nhi_broker *b)
{
	if (b == NULL)
		return;
	nhi_ca_set_free(b->ca);
	nhi_audit_close(b->audit);
	nhi_store_close(b->store);
	nhi_config_free(b->cfg);
	free(b->config_path);
	free(b->state_dir);
	free(b->socket_path);
	free(b->self_exe);
	free(b);
}

int nhi_broker_reload(struct nhi_broker *b, char *err, size_t errlen)
{
	struct nhi_config *cfg = NULL;
	int r;

	err[0] = '\0';
	if ((r = load_config(b->config_path, &cfg, err, errlen)) < 0)
		return r;
	/* Paths stay as started: moving the store or socket needs a restart. */
	nhi_config_free(b->cfg);
	b->cfg = cfg;
	resolve_principals(b);
	nhi_log_set_level(cfg->log_level);
	return 0;
}
