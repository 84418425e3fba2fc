#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "handlers.h"
#include "identity_fields.h"
#include "log.h"
#include "names.h"
#include "nss_export.h"

#define TEXT_MAX           1024u          /* owner, gecos, force-command */
#define PATH_MAX_LEN       4096u          /* shell, home, exe_path */
#define ENROLL_TTL_DEFAULT 900u           /* 15 minutes */
#define ENROLL_TTL_MAX     86400u         /* a day */
#define ENROLL_CODE_BYTES  16u            /* 128 bits of randomness */
#define LIST_REPLY_BUDGET  (192u * 1024u) /* stay well inside one frame */
#define LIST_PAGE_MAX      1024u          /* identities read for one list answer */
#define ID_MAX             2147483646LL

/* Hostile input, quoted in a message without its control bytes. */
static const char *shown(const char *s, char *buf, size_t len)
{
	return nhi_log_sanitize(s, buf, len);
}

static bool is_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return false;
	}
	return true;
}

/* A field of the request as text: absent (*ret NULL, 0) or text. */
static int arg_str(struct nhi_call *c, const char *key, const char **ret)
{
	*ret = NULL;
	if (nhi_kv_find(c->args, key) == NULL)
		return 0;
	if ((*ret = nhi_kv_str(c->args, key)) == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "%s: not text", key);
	return 0;
}

static int set_str(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && value[0] != '\0' && (copy = strdup(value)) == NULL)
		return NHI_ERR_ALLOC;
	free(*field);
	*field = copy;
	return 0;
}

static int parse_id(struct nhi_call *c, const char *key, const char *v, int64_t *ret)
{
	char buf[64], *end;
	long long n;

	if (v[0] == '\0') {
		*ret = NHI_ID_NONE;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 || n < 0 || n > ID_MAX)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid %s '%s': a number 0-%lld", key,
		                      shown(v, buf, sizeof(buf)), ID_MAX);
	if (n == 0 && strcmp(key, "uid") == 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid uid 0: root is never an nhi identity");
	*ret = n;
	return 0;
}

static int parse_ttl(struct nhi_call *c, const char *key, const char *v, uint32_t *ret)
{
	char buf[64];

	if (v[0] == '\0') {
		*ret = 0;
		return 0;
	}
	if (nhi_parse_duration(v, ret) < 0 || *ret == 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid %s '%s': a duration such as 300, 5m or 8h", key,
		                      shown(v, buf, sizeof(buf)));
	return 0;
}

static int parse_bool(struct nhi_call *c, const char *key, const char *v, bool *ret)
{
	char buf[64];

	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*ret = true;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*ret = false;
	else
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "invalid %s '%s': yes or no",
		                      key, shown(v, buf, sizeof(buf)));
	return 0;
}

/* An absolute path without control bytes, '..' components or ':' (the
 * passwd field separator: shell and home reach NSS). */
static bool is_abs_path(const char *s)
{
	if (!is_text(s, PATH_MAX_LEN) || s[0] != '/' || strchr(s, ':') != NULL)
		return false;
	for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2) {
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
	}
	return true;
}

/* sshd's source-address: a comma list of addresses or CIDR blocks. */
static bool is_source_list(const char *s)
{
	char *copy, *tok, *save = NULL;
	bool ok = is_text(s, TEXT_MAX);

	if (!ok || (copy = strdup(s)) == NULL)
		return false;
	for (tok = strtok_r(copy, ",", &save); ok && tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned char addr[16];
		char *slash = strchr(tok, '/'), *end;
		int family = strchr(tok, ':') != NULL ? AF_INET6 : AF_INET;
		long bits, max = family == AF_INET6 ? 128 : 32;

		if (slash != NULL) {
			*slash = '\0';
			errno = 0;
			bits = strtol(slash + 1, &end, 10);
			if (!isdigit((unsigned char)slash[1]) || *end != '\0' || bits > max)
				ok = false;
		}
		if (inet_pton(family, tok, addr) != 1)
			ok = false;
	}
	/* An empty element (",," or a trailing comma) is a typo, not "any". */
	if (s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,") != NULL)
		ok = false;
	free(copy);
	return ok;
}

static bool is_unit_name(const char *s)
{
	const char *dot = strrchr(s, '.');

	if (!is_text(s, 256) || dot == NULL || dot == s || dot[1] == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr(":_.@-\\", *p) == NULL)
			return false;
	}
	return true;
}

/* "kind=value": checks the value for its kind; exe_sha256 is folded to
 * lowercase so one digest has one spelling. */
static int parse_selector(struct nhi_call *c, const char *text, enum nhi_selector_kind *ret_kind,
                          char **ret_value)
{
	char buf[128], kind_name[32];
	const char *eq = strchr(text, '='), *v;
	enum nhi_selector_kind kind;
	bool ok = false;
	char *value = NULL;

	if (eq == NULL || (size_t)(eq - text) >= sizeof(kind_name))
		goto bad;
	memcpy(kind_name, text, (size_t)(eq - text));
	kind_name[eq - text] = '\0';
	v = eq + 1;
	if (nhi_selector_kind_from_name(kind_name, &kind) < 0)
		goto bad;
	switch (kind) {
	case NHI_SELECTOR_UID:
	case NHI_SELECTOR_GID: {
		int64_t id;
		char *end;
		errno = 0;
		id = strtoll(v, &end, 10);
		ok = isdigit((unsigned char)v[0]) && *end == '\0' && errno == 0 && id <= ID_MAX;
		break;
	}
	case NHI_SELECTOR_EXE_PATH:
		ok = is_abs_path(v);
		break;
	case NHI_SELECTOR_EXE_SHA256:
		ok = strlen(v) == 64 && strspn(v, "0123456789abcdefABCDEF") == 64;
		break;
	case NHI_SELECTOR_SYSTEMD_UNIT:
		ok = is_unit_name(v);
		break;
	}
	if (!ok)
		goto bad;
	if ((value = strdup(v)) == NULL)
		return NHI_ERR_ALLOC;
	if (kind == NHI_SELECTOR_EXE_SHA256)
		for (char *p = value; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	*ret_kind = kind;
	*ret_value = value;
	return 0;
bad:
	return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
	                      "invalid selector '%s': use uid=N, gid=N, exe_path=/abs/path, "
	                      "exe_sha256=<64 hex digits> or systemd_unit=name.service",
	                      shown(text, buf, sizeof(buf)));
}

static int check_name(struct nhi_call *c, const char *name)
{
	char buf[80];

	if (name == NULL)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "missing identity name");
	if (!nhi_name_is_valid(name))
		return nhi_call_error(c, NHI_ERR_NAME_INVALID,
		                      "invalid identity name '%s': 1-32 characters of a-z, 0-9, _ "
		                      "and -, starting with a letter or _",
		                      shown(name, buf, sizeof(buf)));
	return 0;
}

/* Looks up the named identity, answering "no such identity" itself. */
static int get_identity(struct nhi_call *c, const char *name, struct nhi_identity *ret)
{
	int r;

	if ((r = check_name(c, name)) < 0)
		return r;
	r = nhi_store_identity_get(c->b->store, name, ret);
	if (r == NHI_ERR_NOT_FOUND)
		return nhi_call_error(c, r, "no such identity '%s'", name);
	if (r < 0)
		return nhi_call_error(c, r, "cannot read identity '%s': %s", name, nhi_strerror(r));
	return 0;
}

static uint32_t kind_ttl_cap(const struct nhi_config *cfg, enum nhi_identity_kind kind)
{
	if (kind == NHI_KIND_AUTOMATION || kind == NHI_KIND_SERVICE)
		return cfg->automation_ttl_max;
	return cfg->human_ttl_max;
}

static int check_ttls(struct nhi_call *c, const struct nhi_identity *id)
{
	uint32_t cap = kind_ttl_cap(c->b->cfg, id->kind);
	uint32_t max = id->ttl_max != 0 ? id->ttl_max : cap;

	if (id->ttl_max > cap)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "ttl_max %" PRIu32 "s exceeds the %s cap of %" PRIu32
		                      "s (nhi.conf [policy])",
		                      id->ttl_max, nhi_identity_kind_name(id->kind), cap);
	if (id->ttl_default > max)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "ttl_default %" PRIu32 "s exceeds the maximum of %" PRIu32
		                      "s",
		                      id->ttl_default, max);
	return 0;
}

/* Applies the optional scalar fields of the request to id, checking each. */
static int apply_fields(struct nhi_call *c, struct nhi_identity *id)
{
	const char *v;
	char buf[96];
	int r;

	if ((r = arg_str(c, "kind", &v)) < 0)
		return r;
	if (v != NULL && nhi_identity_kind_from_name(v, &id->kind) < 0)
		return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                      "invalid kind '%s': human, automation, service or breakglass",
		                      shown(v, buf, sizeof(buf)));
	if ((r = arg_str(c, "owner", &v)) < 0)
		return r;
	if (v != NULL) {
		if (v[0] != '\0' && !is_text(v, NHI_PRINCIPAL_MAX))
			return nhi_call_error(
			        c, NHI_ERR_INVALID_ARGUMENT,
			        "invalid owner '%s': printable text, at most %u bytes",
			        shown(v, buf, sizeof(buf)), NHI_PRINCIPAL_MAX);
		if ((r = set_str(&id->owner, v)) < 0)
			return r;
	}
	if ((r = arg_str(c, "uid", &v)) < 0 ||
	    (v != NULL && (r = parse_id(c, "uid", v, &id->uid)) < 0))
		return r;
	if ((r = arg_str(c, "gid", &v)) < 0 ||
	    (v != NULL && (r = parse_id(c, "gid", v, &id->gid)) < 0))
		return r;
	static const char *const path_keys[] = {"shell", "home"};
	for (size_t i = 0; i < 2; i++) {
		char **field = i == 0 ? &id->shell : &id->home;
		if ((r = arg_str(c, path_keys[i], &v)) < 0)
			return r;
		if (v == NULL)
			continue;
		if (v[0] != '\0' && !is_abs_path(v))
			return nhi_call_error(
			        c, NHI_ERR_INVALID_ARGUMENT,
			        "invalid %s '%s': an absolute path without ':' or '..'",
			        path_keys[i], shown(v, buf, sizeof(buf)));
		if ((r = set_str(field, v)) < 0)
			return r;
	}
	if ((r = arg_str(c, "gecos", &v)) < 0)
		return r;
	if (v != NULL) {
		if (v[0] != '\0' && (!is_text(v, 256) || strchr(v, ':') != NULL))
			return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                      "invalid gecos '%s': printable text without ':'",
			                      shown(v, buf, sizeof(buf)));
		if ((r = set_str(&id->gecos, v)) < 0)
			return r;
	}
	if ((r = arg_str(c, "ttl_default", &v)) < 0 ||
	    (v != NULL && (r = parse_ttl(c, "ttl_default", v, &id->ttl_default)) < 0))
		return r;
	if ((r = arg_str(c, "ttl_max", &v)) < 0 ||
	    (v != NULL && (r = parse_ttl(c, "ttl_max", v, &id->ttl_max)) < 0))
		return r;
	if ((r = arg_str(c, "allow_pty", &v)) < 0 ||
	    (v != NULL && (r = parse_bool(c, "allow_pty", v, &id->allow_pty)) < 0))
		return r;
	if ((r = arg_str(c, "review_due", &v)) < 0)
		return r;
	if (v != NULL) {
		int64_t due;
		if ((r = parse_id(c, "review_due", v, &due)) < 0)
			return r;
		id->review_due = due == NHI_ID_NONE ? 0 : due;
	}
	if ((r = arg_str(c, "source_addresses", &v)) < 0)
		return r;
	if (v != NULL) {
		if (v[0] != '\0' && !is_source_list(v))
			return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
			                      "invalid source address list '%s': addresses or CIDR "
			                      "blocks separated by commas",
			                      shown(v, buf, sizeof(buf)));
		if ((r = set_str(&id->source_addresses, v)) < 0)
			return r;
	}
	if ((r = arg_str(c, "force_command", &v)) < 0)
		return r;
	if (v != NULL) {
		if (v[0] != '\0' && !is_text(v, TEXT_MAX))
			return nhi_call_error(
			        c, NHI_ERR_INVALID_ARGUMENT,
			        "invalid force_command '%s': one line of printable text",
			        shown(v, buf, sizeof(buf)));
		if ((r = set_str(&id->force_command, v)) < 0)
			return r;
	}
	return check_ttls(c, id);
}

static int check_role(struct nhi_call *c, const char *role)
{
	char buf[96];

	if (role == NULL || !nhi_principal_is_valid(role))
		return nhi_call_error(
		        c, NHI_ERR_INVALID_ARGUMENT,
		        "invalid role '%s': printable, no blanks or commas, at most %u "
		        "bytes",
		        shown(role != NULL ? role : "", buf, sizeof(buf)), NHI_PRINCIPAL_MAX);
	return 0;
}

static int role_op(struct nhi_call *c, const char *name, const char *key, bool add)
{
	size_t n = nhi_kv_count(c->args, key);
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(c->args, key, i);
		const char *role =
		        strlen((const char *)it->value) == it->len ? (const char *)it->value : NULL;
		if ((r = check_role(c, role)) < 0)
			return r;
		r = add ? nhi_store_role_add(c->b->store, name, role)
		        : nhi_store_role_remove(c->b->store, name, role);
		if (r == NHI_ERR_EXISTS)
			return nhi_call_error(c, r, "identity '%s' already has role '%s'", name,
			                      role);
		if (r == NHI_ERR_NOT_FOUND && !add)
			return nhi_call_error(c, r, "identity '%s' has no role '%s'", name, role);
		if (r < 0)
			return nhi_call_error(c, r, "cannot change roles: %s", nhi_strerror(r));
	}
	return 0;
}

static int selector_op(struct nhi_call *c, const char *name, const char *key, bool add)
{
	size_t n = nhi_kv_count(c->args, key);
	enum nhi_selector_kind kind = NHI_SELECTOR_UID;
	char *value = NULL;
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		const struct nhi_kv_item *it = nhi_kv_nth(c->args, key, i);
		if (strlen((const char *)it->value) != it->len)
			return nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT, "%s: not text", key);
		if ((r = parse_selector(c, (const char *)it->value, &kind, &value)) < 0)
			return r;
		r = add ? nhi_store_selector_add(c->b->store, name, kind, value)
		        : nhi_store_selector_remove(c->b->store, name, kind, value);
		if (r == NHI_ERR_EXISTS)
			r = nhi_call_error(c, r, "identity '%s' already has selector %s=%s", name,
			                   nhi_selector_kind_name(kind), value);
		else if (r == NHI_ERR_NOT_FOUND && !add)
			r = nhi_call_error(c, r, "identity '%s' has no selector %s=%s", name,
			                   nhi_selector_kind_name(kind), value);
		else if (r < 0)
			r = nhi_call_error(c, r, "cannot change selectors: %s", nhi_strerror(r));
		free(value);
		value = NULL;
	}
	return r;
}

static int put_opt_str(struct nhi_kv *rec, const char *key, const char *v)
{
	return v != NULL ? nhi_kv_add_str(rec, key, v) : 0;
}

static int put_identity(struct nhi_kv *rec, const struct nhi_identity *id)
{
	int r;

	if ((r = nhi_kv_add_str(rec, "name", id->name)) < 0 ||
	    (r = nhi_kv_add_str(rec, "kind", nhi_identity_kind_name(id->kind))) < 0 ||
	    (r = nhi_kv_add_str(rec, "status", nhi_identity_status_name(id->status))) < 0 ||
	    (r = put_opt_str(rec, "owner", id->owner)) < 0 ||
	    (id->uid != NHI_ID_NONE && (r = nhi_kv_add_i64(rec, "uid", id->uid)) < 0) ||
	    (id->gid != NHI_ID_NONE && (r = nhi_kv_add_i64(rec, "gid", id->gid)) < 0) ||
	    (r = put_opt_str(rec, "shell", id->shell)) < 0 ||
	    (r = put_opt_str(rec, "home", id->home)) < 0 ||
	    (r = put_opt_str(rec, "gecos", id->gecos)) < 0 ||
	    (id->review_due != 0 && (r = nhi_kv_add_i64(rec, "review_due", id->review_due)) < 0) ||
	    (id->last_used != 0 && (r = nhi_kv_add_i64(rec, "last_used", id->last_used)) < 0) ||
	    (id->ttl_default != 0 &&
	     (r = nhi_kv_add_u64(rec, "ttl_default", id->ttl_default)) < 0) ||
	    (id->ttl_max != 0 && (r = nhi_kv_add_u64(rec, "ttl_max", id->ttl_max)) < 0) ||
	    (r = nhi_kv_add_str(rec, "allow_pty", id->allow_pty ? "yes" : "no")) < 0 ||
	    (r = put_opt_str(rec, "source_addresses", id->source_addresses)) < 0 ||
	    (r = put_opt_str(rec, "force_command", id->force_command)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "created", id->created)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "updated", id->updated)) < 0)
		return r;
	return 0;
}

/* Adds the identity's roles and selectors to rec. */
static int put_roles_selectors(struct nhi_call *c, struct nhi_kv *rec, const char *name)
{
	struct nhi_selector *sels = NULL;
	char **roles = NULL, *text = NULL;
	size_t n_roles = 0, n_sels = 0;
	int r;

	if ((r = nhi_store_role_list(c->b->store, name, &roles, &n_roles)) < 0 ||
	    (r = nhi_store_selector_list(c->b->store, name, &sels, &n_sels)) < 0) {
		r = nhi_call_error(c, r, "cannot read identity '%s': %s", name, nhi_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < n_roles; i++)
		if ((r = nhi_kv_add_str(rec, "role", roles[i])) < 0)
			goto out;
	for (size_t i = 0; i < n_sels; i++) {
		if (asprintf(&text, "%s=%s", nhi_selector_kind_name(sels[i].kind), sels[i].value) <
		    0) {
			text = NULL;
			r = NHI_ERR_ALLOC;
			goto out;
		}
		if ((r = nhi_kv_add_str(rec, "selector", text)) < 0)
			goto out;
		free(text);
		text = NULL;
	}
	r = 0;
out:
	free(text);
	nhi_strv_free(roles, n_roles);
	nhi_selector_list_free(sels, n_sels);
	return r;
}

/* The identity as stored, with its roles and selectors, as the reply. */
static int reply_identity(struct nhi_call *c, const char *name)
{
	struct nhi_identity id;
	struct nhi_kv *rec;
	int r;

	nhi_identity_init(&id);
	if ((r = get_identity(c, name, &id)) < 0)
		goto out;
	if ((r = nhi_call_add_record(c, &rec)) < 0 || (r = put_identity(rec, &id)) < 0 ||
	    (r = put_roles_selectors(c, rec, name)) < 0)
		goto out;
	r = 0;
out:
	nhi_identity_clear(&id);
	return r;
}

/* Every field of the request, once per key (repeated keys joined with
 * ','), for the audit record of an identity change. */
static int detail_from_args(struct nhi_audit_detail *d, const struct nhi_kv *args)
{
	char *joined = NULL;
	int r = 0;

	for (size_t i = 0; i < args->n && r == 0; i++) {
		const char *key = args->items[i].key;
		size_t n = nhi_kv_count(args, key), len = 0;

		if (nhi_kv_find(args, key) != &args->items[i] || strcmp(key, "name") == 0)
			continue;
		for (size_t k = 0; k < n; k++)
			len += nhi_kv_nth(args, key, k)->len + 1;
		if ((joined = calloc(1, len + 1)) == NULL)
			return NHI_ERR_ALLOC;
		for (size_t k = 0; k < n; k++) {
			const struct nhi_kv_item *it = nhi_kv_nth(args, key, k);
			if (k > 0)
				strcat(joined, ",");
			/* A value with a NUL was refused before we get here. */
			strncat(joined, (const char *)it->value, it->len);
		}
		r = nhi_audit_detail_str(d, key, joined);
		free(joined);
		joined = NULL;
	}
	return r;
}

static int audit_change(struct nhi_call *c, const char *name, const char *action, bool with_args)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_IDENTITY_CHANGE};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", action)) < 0 ||
	    (with_args && (r = detail_from_args(d, c->args)) < 0))
		goto out;
	ev.actor = c->peer->name;
	ev.subject = name;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

/* A new human, automation or service identity gets its unix account now,
 * in the request's transaction; nhid writes the NSS cache once it commits. */
static int assign_account(struct nhi_call *c, struct nhi_identity *id)
{
	struct nhi_account_params p;
	int r;

	nhi_nss_account_params(c->b, &p);
	if ((r = nhi_accounts_assign(c->b->store, &p, id)) == NHI_ERR_ID_RANGE_EXHAUSTED)
		return nhi_call_error(c, r, "no free uid left in %u-%u: widen [nss] uid_min/uid_max",
		                      p.uid_min, p.uid_max);
	if (r < 0)
		return nhi_call_error(c, r, "cannot allocate a uid for '%s': %s", id->name,
		                      nhi_strerror(r));
	c->b->nss_dirty = true;
	return 0;
}

int nhi_handle_identity_add(struct nhi_call *c)
{
	struct nhi_identity id;
	const char *name = NULL;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_str(c, "name", &name)) < 0 || (r = check_name(c, name)) < 0)
		goto out;
	if (nhi_kv_find(c->args, "kind") == NULL) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "missing kind: human, automation, service or breakglass");
		goto out;
	}
	if ((r = apply_fields(c, &id)) < 0)
		goto out;
	if ((id.name = strdup(name)) == NULL) {
		r = NHI_ERR_ALLOC;
		goto out;
	}
	if ((r = assign_account(c, &id)) < 0)
		goto out;
	r = nhi_store_identity_add(c->b->store, &id, NULL);
	if (r == NHI_ERR_EXISTS) {
		r = nhi_call_error(c, r, "identity '%s' already exists", name);
		goto out;
	}
	if (r < 0) {
		r = nhi_call_error(c, r, "cannot add identity '%s': %s", name, nhi_strerror(r));
		goto out;
	}
	if ((r = role_op(c, name, "role", true)) < 0 ||
	    (r = selector_op(c, name, "selector", true)) < 0 ||
	    (r = audit_change(c, name, "add", true)) < 0 || (r = reply_identity(c, name)) < 0)
		goto out;
	r = nhi_call_message(c, "identity '%s' added", name);
out:
	nhi_identity_clear(&id);
	return r;
}

int nhi_handle_identity_list(struct nhi_call *c)
{
	struct nhi_identity *ids = NULL;
	const char *after = NULL;
	size_t n = 0, budget = 0;
	struct nhi_kv *rec;
	int r;

	/* Paged by name, so a large inventory never outgrows one frame. */
	if ((r = arg_str(c, "after", &after)) < 0)
		return r;
	if ((r = nhi_store_identity_page(c->b->store, after, LIST_PAGE_MAX, &ids, &n)) < 0) {
		r = nhi_call_error(c, r, "cannot read the store: %s", nhi_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < n && budget < LIST_REPLY_BUDGET; i++) {
		if ((r = nhi_call_add_record(c, &rec)) < 0 ||
		    (r = put_identity(rec, &ids[i])) < 0 ||
		    (r = put_roles_selectors(c, rec, ids[i].name)) < 0)
			goto out;
		for (size_t k = 0; k < rec->n; k++)
			budget += rec->items[k].len + 16;
	}
	r = 0;
out:
	nhi_identity_list_free(ids, n);
	return r;
}

int nhi_handle_identity_show(struct nhi_call *c)
{
	const char *name;
	int r;

	if ((r = arg_str(c, "name", &name)) < 0)
		return r;
	return reply_identity(c, name);
}

int nhi_handle_identity_set(struct nhi_call *c)
{
	struct nhi_identity id;
	const char *name = NULL;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_str(c, "name", &name)) < 0 || (r = get_identity(c, name, &id)) < 0)
		goto out;
	if (nhi_kv_find(c->args, "status") != NULL) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "status is changed by suspend, resume and retire");
		goto out;
	}
	if (id.status == NHI_STATUS_RETIRED) {
		r = nhi_call_error(c, NHI_ERR_REFUSED, "identity '%s' is retired", name);
		goto out;
	}
	if ((r = apply_fields(c, &id)) < 0)
		goto out;
	if ((r = nhi_store_identity_update(c->b->store, &id)) < 0) {
		r = nhi_call_error(c, r, "cannot update identity '%s': %s", name, nhi_strerror(r));
		goto out;
	}
	c->b->nss_dirty = true;
	if ((r = role_op(c, name, "remove_role", false)) < 0 ||
	    (r = role_op(c, name, "add_role", true)) < 0 ||
	    (r = selector_op(c, name, "remove_selector", false)) < 0 ||
	    (r = selector_op(c, name, "add_selector", true)) < 0 ||
	    (r = audit_change(c, name, "set", true)) < 0 || (r = reply_identity(c, name)) < 0)
		goto out;
	r = nhi_call_message(c, "identity '%s' updated", name);
out:
	nhi_identity_clear(&id);
	return r;
}

static int audit_retire_revocations(struct nhi_call *c, const char *name, size_t count)
{
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_REVOKE};
	int r;

	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "by", "identity")) < 0 ||
	    (r = nhi_audit_detail_int(d, "count", (int64_t)count)) < 0 ||
	    (r = nhi_audit_detail_str(d, "reason", "identity retired")) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = name;
	ev.detail = nhi_audit_detail_text(d);
	r = nhi_audit_append(c->b->audit, &ev, NULL);
out:
	nhi_audit_detail_free(d);
	if (r < 0)
		return nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
	return 0;
}

int nhi_handle_identity_status(struct nhi_call *c)
{
	struct nhi_identity id;
	enum nhi_identity_status to;
	const char *name = NULL, *action = NULL;
	char buf[64];
	size_t revoked = 0;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_str(c, "name", &name)) < 0 || (r = arg_str(c, "status", &action)) < 0 ||
	    (r = get_identity(c, name, &id)) < 0)
		goto out;
	if (action != NULL && (strcmp(action, "suspend") == 0 || strcmp(action, "suspended") == 0))
		to = NHI_STATUS_SUSPENDED;
	else if (action != NULL && (strcmp(action, "resume") == 0 || strcmp(action, "active") == 0))
		to = NHI_STATUS_ACTIVE;
	else if (action != NULL &&
	         (strcmp(action, "retire") == 0 || strcmp(action, "retired") == 0))
		to = NHI_STATUS_RETIRED;
	else {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "invalid status '%s': suspend, resume or retire",
		                   shown(action != NULL ? action : "", buf, sizeof(buf)));
		goto out;
	}
	/* Retirement is final: its certificates are revoked and its name
	 * stays taken, so a new holder cannot inherit its trail. */
	if (id.status == NHI_STATUS_RETIRED) {
		r = nhi_call_error(c, NHI_ERR_REFUSED,
		                   "identity '%s' is retired; retirement is final", name);
		goto out;
	}
	if ((r = nhi_store_identity_set_status(c->b->store, name, to)) < 0) {
		r = nhi_call_error(c, r, "cannot change identity '%s': %s", name, nhi_strerror(r));
		goto out;
	}
	c->b->nss_dirty = true;
	if (to == NHI_STATUS_RETIRED) {
		r = nhi_store_cert_revoke_identity(c->b->store, name, (int64_t)nhi_broker_now(),
		                                   "identity retired", &revoked);
		if (r < 0) {
			r = nhi_call_error(c, r, "cannot revoke the certificates of '%s': %s", name,
			                   nhi_strerror(r));
			goto out;
		}
		if (revoked > 0 && (r = audit_retire_revocations(c, name, revoked)) < 0)
			goto out;
		/* The KRL file must reflect only committed revocations: the
		 * server rewrites it after the batch commits (krl_dirty). */
		if (revoked > 0)
			c->b->krl_dirty = true;
	}
	if ((r = audit_change(c, name,
	                      to == NHI_STATUS_ACTIVE      ? "resume"
	                      : to == NHI_STATUS_SUSPENDED ? "suspend"
	                                                   : "retire",
	                      false)) < 0 ||
	    (r = reply_identity(c, name)) < 0)
		goto out;
	if (revoked > 0)
		r = nhi_call_message(c, "identity '%s' is %s; %zu certificate(s) revoked", name,
		                     nhi_identity_status_name(to), revoked);
	else
		r = nhi_call_message(c, "identity '%s' is %s", name, nhi_identity_status_name(to));
out:
	nhi_identity_clear(&id);
	return r;
}

/* RFC 4648 base32 of the random bytes, in dash-separated groups of four
 * for reading aloud. The stored hash is SHA-256 over the canonical form:
 * uppercase, without the dashes, so a consumer normalises then hashes. */
static void encode_code(const uint8_t *raw, size_t n, char *canon, char *grouped)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t bits = 0, out = 0, g = 0;
	uint32_t acc = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			canon[out++] = alphabet[(acc >> (bits - 5)) & 31u];
			bits -= 5;
		}
	}
	if (bits > 0)
		canon[out++] = alphabet[(acc << (5 - bits)) & 31u];
	canon[out] = '\0';
	for (size_t i = 0; i < out; i++) {
		if (i > 0 && i % 4 == 0)
			grouped[g++] = '-';
		grouped[g++] = canon[i];
	}
	grouped[g] = '\0';
}

int nhi_handle_enroll_code(struct nhi_call *c)
{
	struct nhi_identity id;
	struct nhi_audit_detail *d = NULL;
	struct nhi_audit_event ev = {.type = NHI_AUDIT_ENROLL};
	uint8_t raw[ENROLL_CODE_BYTES], hash[NHI_ENROLL_HASH_LEN];
	char canon[40], grouped[56], buf[64];
	const char *name = NULL, *ttl_text = NULL;
	uint32_t ttl = ENROLL_TTL_DEFAULT;
	int64_t now = (int64_t)nhi_broker_now(), expires;
	struct nhi_kv *rec;
	int r;

	nhi_identity_init(&id);
	if ((r = arg_str(c, "identity", &name)) < 0 || (r = arg_str(c, "ttl", &ttl_text)) < 0 ||
	    (r = get_identity(c, name, &id)) < 0)
		goto out;
	if (ttl_text != NULL &&
	    (nhi_parse_duration(ttl_text, &ttl) < 0 || ttl == 0 || ttl > ENROLL_TTL_MAX)) {
		r = nhi_call_error(c, NHI_ERR_INVALID_ARGUMENT,
		                   "invalid ttl '%s': a duration from 1s to 24h",
		                   shown(ttl_text, buf, sizeof(buf)));
		goto out;
	}
	if (id.kind != NHI_KIND_HUMAN) {
		r = nhi_call_error(c, NHI_ERR_REFUSED,
		                   "identity '%s' is %s: only human identities enroll devices",
		                   name, nhi_identity_kind_name(id.kind));
		goto out;
	}
	if (id.status != NHI_STATUS_ACTIVE) {
		r = nhi_call_error(c, NHI_ERR_REFUSED, "identity '%s' is %s", name,
		                   nhi_identity_status_name(id.status));
		goto out;
	}
	if (sodium_init() < 0) {
		r = nhi_call_error(c, NHI_ERR_CRYPTO, "libsodium failed to initialise");
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	encode_code(raw, sizeof(raw), canon, grouped);
	crypto_hash_sha256(hash, (const unsigned char *)canon, strlen(canon));
	expires = now + ttl;
	if ((r = nhi_store_enroll_code_add(c->b->store, name, hash, now, expires)) < 0) {
		r = nhi_call_error(c, r, "cannot store the enrollment code: %s", nhi_strerror(r));
		goto out;
	}
	/* The code itself is never audited or logged: the trail is readable
	 * by more people than the engineer it is meant for. */
	if ((r = nhi_audit_detail_new(&d)) < 0 ||
	    (r = nhi_audit_detail_str(d, "action", "code-issued")) < 0 ||
	    (r = nhi_audit_detail_int(d, "expires", expires)) < 0)
		goto out;
	ev.actor = c->peer->name;
	ev.subject = name;
	ev.detail = nhi_audit_detail_text(d);
	if ((r = nhi_audit_append(c->b->audit, &ev, NULL)) < 0) {
		r = nhi_call_error(c, r, "cannot write the audit record: %s", nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_call_add_record(c, &rec)) < 0 ||
	    (r = nhi_kv_add_str(rec, "identity", name)) < 0 ||
	    (r = nhi_kv_add_str(rec, "code", grouped)) < 0 ||
	    (r = nhi_kv_add_i64(rec, "expires", expires)) < 0)
		goto out;
	r = nhi_call_message(c, "enrollment code for '%s'", name);
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(grouped, sizeof(grouped));
	nhi_audit_detail_free(d);
	nhi_identity_clear(&id);
	return r;
}

/* The checks of add and set, for the records of an identity import. */
int nhi_identity_apply_fields(struct nhi_call *c, struct nhi_identity *id)
{
	return apply_fields(c, id);
}

int nhi_identity_parse_selector(struct nhi_call *c, const char *text,
                                enum nhi_selector_kind *ret_kind, char **ret_value)
{
	return parse_selector(c, text, ret_kind, ret_value);
}

int nhi_identity_assign_account(struct nhi_call *c, struct nhi_identity *id)
{
	return assign_account(c, id);
}
