#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "names.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define TTL_CAP (7u * 24 * 3600)     /* certificates are short-lived */
#define BACKDATE_CAP 3600u
#define HELPER_TIMEOUT_CAP_MS 60000u /* sshd waits on the helper */
#define UID_FLOOR 1000u
#define UID_NOBODY 65534u
#define SOCKET_PATH_MAX sizeof(((struct sockaddr_un *)NULL)->sun_path)

enum value_kind {
	V_PATH,          /* absolute, no blanks */
	V_SOCKET,        /* a path that fits sun_path */
	V_NAME,          /* a user or group name */
	V_LOG_LEVEL,
	V_TTL,           /* duration, 1..TTL_CAP */
	V_BACKDATE,      /* duration, 0..BACKDATE_CAP */
	V_GRACE,         /* duration, 0 allowed */
	V_KEYS_MODE,
	V_BROKER_DOWN,
	V_KEY_FILES,
	V_COMMAND,
	V_TIMEOUT_MS,
	V_UID,
	V_GRANT_APPROVAL,
};

struct key_def {
	const char *section;
	const char *name;
	enum value_kind kind;
	size_t offset;
};

#define FIELD(f) offsetof(struct nhi_config, f)

static const struct key_def keys[] = {
	{"broker", "socket", V_SOCKET, FIELD(socket_path)},
	{"broker", "state_dir", V_PATH, FIELD(state_dir)},
	{"broker", "ca_key", V_PATH, FIELD(ca_key_path)},
	{"broker", "admin_group", V_NAME, FIELD(admin_group)},
	{"broker", "helper_user", V_NAME, FIELD(helper_user)},
	{"broker", "login_user", V_NAME, FIELD(login_user)},
	{"broker", "log_level", V_LOG_LEVEL, FIELD(log_level)},
	{"policy", "human_ttl_default", V_TTL, FIELD(human_ttl_default)},
	{"policy", "human_ttl_max", V_TTL, FIELD(human_ttl_max)},
	{"policy", "automation_ttl_default", V_TTL, FIELD(automation_ttl_default)},
	{"policy", "automation_ttl_max", V_TTL, FIELD(automation_ttl_max)},
	{"policy", "backdate", V_BACKDATE, FIELD(backdate)},
	{"policy", "grant_ttl_max", V_TTL, FIELD(grant_ttl_max)},
	{"policy", "grant_approval", V_GRANT_APPROVAL, FIELD(grant_approval)},
	{"sshd", "keys_mode", V_KEYS_MODE, FIELD(keys_mode)},
	{"sshd", "keys_broker_down", V_BROKER_DOWN, FIELD(keys_broker_down)},
	{"sshd", "keys_grace", V_GRACE, FIELD(keys_grace)},
	{"sshd", "key_files", V_KEY_FILES, FIELD(key_files)},
	{"sshd", "chain_command", V_COMMAND, FIELD(chain_command)},
	{"sshd", "helper_timeout_ms", V_TIMEOUT_MS, FIELD(helper_timeout_ms)},
	{"nss", "uid_min", V_UID, FIELD(uid_min)},
	{"nss", "uid_max", V_UID, FIELD(uid_max)},
	{"nss", "default_shell", V_PATH, FIELD(default_shell)},
	{"nss", "home_base", V_PATH, FIELD(home_base)},
	{"nss", "uid_quarantine", V_GRACE, FIELD(uid_quarantine)},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"broker", "policy", "sshd", "nss"};

struct parse_state {
	const char *name;        /* for messages */
	struct nhi_config *cfg;
	const char *cursor;      /* next unread byte of the text */
	int line;                /* number of the line last handed to inih */
	int err_line;            /* 0: no error yet */
	int err_code;
	char err[512];
	int set_line[N_KEYS];    /* where each key was set; 0: default */
};

/* Records the first error only: later ones are usually its echoes. */
__attribute__((format(printf, 3, 4))) static void fail(struct parse_state *st, int line,
							const char *fmt, ...)
{
	va_list ap;

	if (st->err_line != 0)
		return;
	st->err_line = line > 0 ? line : 1;
	st->err_code = NHI_ERR_CONFIG;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
}

static void fail_alloc(struct parse_state *st)
{
	fail(st, st->line, "out of memory");
	st->err_code = NHI_ERR_ALLOC;
}

/* A value quoted for a message: it may hold anything. */
static const char *quoted(const char *v, char *buf, size_t len)
{
	return nhi_log_sanitize(v, buf, len);
}

static const char not_a_number[] = "not a number";
static const char out_of_range[] = "number out of range";

/* Digits only, no sign, no blank: "12abc" is an error, not 12. */
static const char *parse_u32(const char *text, uint32_t *ret, const char **ret_end)
{
	uint64_t v = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return not_a_number;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return out_of_range;
	}
	*ret = (uint32_t)v;
	*ret_end = p;
	return NULL;
}

/* NULL on success, else why not. */
static const char *parse_duration_reason(const char *text, uint32_t *ret)
{
	const char *end, *why;
	uint32_t v, mult;

	if (text == NULL)
		return "not a duration";
	if ((why = parse_u32(text, &v, &end)) != NULL)
		return why == not_a_number ? "not a duration" : "duration out of range";
	switch (*end) {
	case '\0':
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return "unknown unit (use s, m, h or d)";
	}
	if (*end != '\0' && end[1] != '\0')
		return "trailing garbage after duration";
	if ((uint64_t)v * mult > UINT32_MAX)
		return "duration out of range";
	*ret = v * mult;
	return NULL;
}

int nhi_parse_duration(const char *text, uint32_t *ret_seconds)
{
	uint32_t v;

	if (ret_seconds == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if (parse_duration_reason(text, &v) != NULL)
		return NHI_ERR_INVALID_FORMAT;
	*ret_seconds = v;
	return 0;
}

/* "90" -> "1m30s" style, for messages about durations. */
static const char *fmt_duration(uint32_t s, char *buf, size_t len)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(buf, len, "%ud", s / 86400);
	else if (s != 0 && s % 3600 == 0)
		snprintf(buf, len, "%uh", s / 3600);
	else if (s != 0 && s % 60 == 0)
		snprintf(buf, len, "%um", s / 60);
	else
		snprintf(buf, len, "%us", s);
	return buf;
}

static bool has_blank_or_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* An absolute path with no "..", blanks or control bytes. */
static const char *path_problem(const char *v)
{
	const char *p;

	if (v[0] != '/')
		return "must be an absolute path";
	if (has_blank_or_control(v))
		return "must not contain blanks or control characters";
	for (p = v; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return "must not contain \"..\"";
	if (strlen(v) >= PATH_MAX)
		return "path too long";
	return NULL;
}

static int set_string(struct parse_state *st, char **field, const char *v)
{
	char *copy = strdup(v);

	if (copy == NULL) {
		fail_alloc(st);
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Each entry: absolute, or under the home directory ("%h/..."); tokens %h,
 * %u and %% only. */
static void set_key_files(struct parse_state *st, const struct key_def *k, const char *v)
{
	char *files[NHI_CONFIG_KEY_FILES_MAX] = {NULL};
	char q[128];
	size_t n = 0, i, len;
	const char *p = v, *end;

	if (strcmp(v, "none") == 0)
		goto done;
	for (;;) {
		const char *why = NULL;
		char *item;

		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (n == NHI_CONFIG_KEY_FILES_MAX) {
			fail(st, st->line, "%s: more than %u files", k->name,
			     NHI_CONFIG_KEY_FILES_MAX);
			goto out;
		}
		if ((item = strndup(p, len)) == NULL) {
			fail_alloc(st);
			goto out;
		}
		files[n++] = item;
		if (len == 0) {
			why = "empty entry";
		} else if (item[0] != '/' && strncmp(item, "%h/", 3) != 0) {
			why = "must be an absolute path or start with %h/";
		} else if (has_blank_or_control(item)) {
			why = "must not contain blanks or control characters";
		} else {
			for (i = 0; item[i] != '\0'; i++) {
				if (item[i] != '%')
					continue;
				i++;
				if (item[i] != 'h' && item[i] != 'u' && item[i] != '%') {
					why = "unknown token (use %h, %u or %%)";
					break;
				}
			}
			if (why == NULL && strstr(item, "/../") != NULL)
				why = "must not contain \"..\"";
			if (why == NULL && len >= 3 && strcmp(item + len - 3, "/..") == 0)
				why = "must not contain \"..\"";
		}
		if (why != NULL) {
			fail(st, st->line, "%s: '%s': %s", k->name, quoted(item, q, sizeof(q)),
			     why);
			goto out;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
done:
	for (i = 0; i < st->cfg->n_key_files; i++) {
		free(st->cfg->key_files[i]);
		st->cfg->key_files[i] = NULL;
	}
	memcpy(st->cfg->key_files, files, sizeof(files));
	st->cfg->n_key_files = n;
	return;
out:
	for (i = 0; i < n; i++)
		free(files[i]);
}

static void set_value(struct parse_state *st, const struct key_def *k, const char *v)
{
	void *field = (char *)st->cfg + k->offset;
	const char *why = NULL, *end;
	char q[128];
	uint32_t n;
	int level;

	switch (k->kind) {
	case V_SOCKET:
		if ((why = path_problem(v)) == NULL && strlen(v) >= SOCKET_PATH_MAX)
			why = "too long for a socket path";
		if (why == NULL)
			set_string(st, field, v);
		break;
	case V_PATH:
		if ((why = path_problem(v)) == NULL)
			set_string(st, field, v);
		break;
	case V_COMMAND:
		/* Run without a shell: the program must be named absolutely. */
		if (v[0] != '/')
			why = "must start with an absolute path";
		else
			for (end = v; *end != '\0' && why == NULL; end++)
				if ((unsigned char)*end < 0x20 || *end == 0x7f)
					why = "must not contain control characters";
		if (why == NULL)
			set_string(st, field, v);
		break;
	case V_NAME:
		if (!nhi_name_is_valid(v))
			why = "not a valid user or group name";
		else
			set_string(st, field, v);
		break;
	case V_LOG_LEVEL:
		if ((level = nhi_log_level_from_name(v)) < 0)
			why = "unknown level (use error, warning, notice, info or debug)";
		else
			*(int *)field = level;
		break;
	case V_TTL:
	case V_BACKDATE:
	case V_GRACE:
		if ((why = parse_duration_reason(v, &n)) != NULL)
			break;
		if (k->kind == V_TTL && n == 0)
			why = "must be at least 1s";
		else if (k->kind == V_TTL && n > TTL_CAP)
			why = "exceeds the 7d cap on certificate lifetimes";
		else if (k->kind == V_BACKDATE && n > BACKDATE_CAP)
			why = "exceeds 1h";
		else
			*(uint32_t *)field = n;
		break;
	case V_KEYS_MODE:
		if (strcmp(v, "observe") == 0)
			*(enum nhi_keys_mode *)field = NHI_KEYS_OBSERVE;
		else if (strcmp(v, "enforce") == 0)
			*(enum nhi_keys_mode *)field = NHI_KEYS_ENFORCE;
		else
			why = "must be observe or enforce";
		break;
	case V_BROKER_DOWN:
		if (strcmp(v, "allow") == 0)
			*(enum nhi_broker_down *)field = NHI_BROKER_DOWN_ALLOW;
		else if (strcmp(v, "deny") == 0)
			*(enum nhi_broker_down *)field = NHI_BROKER_DOWN_DENY;
		else
			why = "must be allow or deny";
		break;
	case V_GRANT_APPROVAL:
		if (strcmp(v, "none") == 0)
			*(enum nhi_grant_approval *)field = NHI_GRANT_APPROVAL_NONE;
		else if (strcmp(v, "admin") == 0)
			*(enum nhi_grant_approval *)field = NHI_GRANT_APPROVAL_ADMIN;
		else
			why = "must be none or admin";
		break;
	case V_KEY_FILES:
		set_key_files(st, k, v);
		break;
	case V_TIMEOUT_MS:
	case V_UID:
		if ((why = parse_u32(v, &n, &end)) == NULL && *end != '\0')
			why = "trailing garbage after number";
		if (why != NULL)
			break;
		if (k->kind == V_TIMEOUT_MS && (n == 0 || n > HELPER_TIMEOUT_CAP_MS))
			why = "must be between 1 and 60000";
		else if (k->kind == V_UID && n < UID_FLOOR)
			why = "must be at least 1000 (below are system accounts)";
		else if (k->kind == V_UID && n == UINT32_MAX)
			why = out_of_range;
		else
			*(uint32_t *)field = n;
		break;
	}
	if (why != NULL)
		fail(st, st->line, "%s: '%s': %s", k->name, quoted(v, q, sizeof(q)), why);
}

static bool section_is_known(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(s, sections[i]) == 0)
			return true;
	return false;
}

static int handle_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	char qs[64], qn[64];
	size_t i;

	if (st->err_line != 0)
		return 0;
	if (*section == '\0') {
		fail(st, st->line, "key '%s' outside a section", quoted(name, qn, sizeof(qn)));
		return 0;
	}
	if (!section_is_known(section)) {
		fail(st, st->line, "unknown section [%s]", quoted(section, qs, sizeof(qs)));
		return 0;
	}
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(section, keys[i].section) == 0 && strcmp(name, keys[i].name) == 0)
			break;
	if (i == N_KEYS) {
		fail(st, st->line, "unknown key '%s' in [%s]", quoted(name, qn, sizeof(qn)),
		     section);
		return 0;
	}
	if (st->set_line[i] != 0) {
		fail(st, st->line, "duplicate key '%s' (first set on line %d)", name,
		     st->set_line[i]);
		return 0;
	}
	st->set_line[i] = st->line;
	if (*value == '\0') {
		fail(st, st->line, "%s: empty value", name);
		return 0;
	}
	set_value(st, &keys[i], value);
	return st->err_line == 0;
}

/* Feeds inih one line at a time so we know the line of every key, catch
 * sections that hold no key, refuse overlong lines instead of letting inih
 * split them, and strip indentation (inih would take an indented line for
 * a continuation of the previous value). */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	const char *p = st->cursor, *eol, *c;
	size_t len;

	if (st->err_line != 0 || p == NULL || *p == '\0')
		return NULL;
	st->line++;
	eol = strchr(p, '\n');
	if (eol == NULL)
		eol = p + strlen(p);
	st->cursor = *eol == '\n' ? eol + 1 : eol;
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	len = (size_t)(eol - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (num <= 0 || len >= (size_t)num) {
		fail(st, st->line, "line too long (max %d bytes)", num - 1);
		return NULL;
	}
	for (c = p; c < p + len; c++) {
		if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) {
			fail(st, st->line, "control character in line");
			return NULL;
		}
	}
	memcpy(str, p, len);
	str[len] = '\0';

	if (str[0] == '[') {
		char *close = strchr(str, ']');
		char q[64];

		if (close != NULL) {
			*close = '\0';
			if (!section_is_known(str + 1))
				fail(st, st->line, "unknown section [%s]",
				     quoted(str + 1, q, sizeof(q)));
			*close = ']';
			if (st->err_line != 0)
				return NULL;
		}
	}
	return str;
}

int nhi_config_defaults(struct nhi_config **ret)
{
	struct nhi_config *cfg;

	if (ret == NULL)
		return NHI_ERR_INVALID_ARGUMENT;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
		return NHI_ERR_ALLOC;
	cfg->socket_path = strdup("/run/nhi/broker.sock");
	cfg->state_dir = strdup("/var/lib/nhi");
	cfg->ca_key_path = NULL;
	cfg->admin_group = strdup("nhi-admin");
	cfg->helper_user = strdup("nhi");
	cfg->login_user = strdup("nhi-login");
	cfg->log_level = LOG_INFO;
	cfg->human_ttl_default = 3600;
	cfg->human_ttl_max = 8 * 3600;
	cfg->automation_ttl_default = 300;
	cfg->automation_ttl_max = 3600;
	cfg->backdate = 60;
	cfg->grant_ttl_max = 3600;
	cfg->grant_approval = NHI_GRANT_APPROVAL_NONE;
	cfg->keys_mode = NHI_KEYS_OBSERVE;
	cfg->keys_broker_down = NHI_BROKER_DOWN_ALLOW;
	cfg->keys_grace = 0;
	cfg->key_files[0] = strdup("%h/.ssh/authorized_keys");
	cfg->key_files[1] = strdup("%h/.ssh/authorized_keys2");
	cfg->n_key_files = 2;
	cfg->chain_command = NULL;
	cfg->helper_timeout_ms = 2000;
	cfg->uid_min = 70000;
	cfg->uid_max = 79999;
	cfg->default_shell = strdup("/bin/bash");
	cfg->home_base = strdup("/home");
	cfg->uid_quarantine = 90 * 86400;
	if (cfg->socket_path == NULL || cfg->state_dir == NULL || cfg->admin_group == NULL ||
	    cfg->helper_user == NULL || cfg->login_user == NULL || cfg->key_files[0] == NULL || cfg->key_files[1] == NULL ||
	    cfg->default_shell == NULL || cfg->home_base == NULL) {
		nhi_config_free(cfg);
		return NHI_ERR_ALLOC;
	}
	*ret = cfg;
	return 0;
}

static int key_index(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return 0;
}

/* The line to blame for a conflict between two keys: the later one set. */
static int conflict_line(const struct parse_state *st, const char *a, const char *b)
{
	int la = st->set_line[key_index(a)], lb = st->set_line[key_index(b)];

	return la > lb ? la : lb;
}

static void check_ttl_pair(struct parse_state *st, const char *def_name, uint32_t def,
			   const char *max_name, uint32_t max)
{
	char d1[32], d2[32];

	if (def > max)
		fail(st, conflict_line(st, def_name, max_name), "%s (%s) exceeds %s (%s)",
		     def_name, fmt_duration(def, d1, sizeof(d1)), max_name,
		     fmt_duration(max, d2, sizeof(d2)));
}

static void check_consistency(struct parse_state *st)
{
	const struct nhi_config *cfg = st->cfg;

	check_ttl_pair(st, "human_ttl_default", cfg->human_ttl_default, "human_ttl_max",
		       cfg->human_ttl_max);
	check_ttl_pair(st, "automation_ttl_default", cfg->automation_ttl_default,
		       "automation_ttl_max", cfg->automation_ttl_max);
	if (cfg->uid_min > cfg->uid_max)
		fail(st, conflict_line(st, "uid_min", "uid_max"),
		     "uid_min (%u) is greater than uid_max (%u)", cfg->uid_min, cfg->uid_max);
	/* A managed account must never be taken for "nobody". */
	else if (cfg->uid_min <= UID_NOBODY && cfg->uid_max >= UID_NOBODY)
		fail(st, conflict_line(st, "uid_min", "uid_max"),
		     "uid range %u-%u includes 65534 (nobody)", cfg->uid_min, cfg->uid_max);
}

static void set_error(char *err, size_t errlen, const char *name, int line, const char *reason)
{
	char qn[256];

	if (err == NULL || errlen == 0)
		return;
	nhi_log_sanitize(name, qn, sizeof(qn));
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", qn, line, reason);
	else
		snprintf(err, errlen, "%s: %s", qn, reason);
}

int nhi_config_parse(const char *name, const char *text, struct nhi_config **ret, char *err,
		     size_t errlen)
{
	struct parse_state st;
	struct nhi_config *cfg = NULL;
	int r;

	if (name == NULL)
		name = "(config)";
	if (text == NULL || ret == NULL) {
		set_error(err, errlen, name, 0, "invalid argument");
		return NHI_ERR_INVALID_ARGUMENT;
	}
	if ((r = nhi_config_defaults(&cfg)) < 0) {
		set_error(err, errlen, name, 0, nhi_strerror(r));
		return r;
	}
	memset(&st, 0, sizeof(st));
	st.name = name;
	st.cfg = cfg;
	st.cursor = text;

	r = ini_parse_stream(read_line, &st, handle_key, &st);
	/* inih reports the first line it could not parse; ours may come later. */
	if (r > 0 && (st.err_line == 0 || r < st.err_line)) {
		st.err_line = 0;
		fail(&st, r, "syntax error (expected [section] or key = value)");
	} else if (r < 0 && st.err_line == 0) {
		fail(&st, 0, "cannot parse");
		st.err_code = r == -2 ? NHI_ERR_ALLOC : NHI_ERR_CONFIG;
	}
	if (st.err_line == 0)
		check_consistency(&st);
	if (st.err_line != 0) {
		set_error(err, errlen, name, st.err_line, st.err);
		r = st.err_code;
		goto out;
	}
	*ret = cfg;
	cfg = NULL;
	r = 0;
out:
	nhi_config_free(cfg);
	return r;
}

int nhi_config_load(const char *path, struct nhi_config **ret, char *err, size_t errlen)
{
	/* Whoever can write the config can weaken policy: root (or the
	 * invoking user, for tests and tools) only, never group or other. */
	struct nhi_file_rules rules = {
		.owner = geteuid(), .allow_root_owner = true, .forbidden = 022,
		.max_size = CONFIG_FILE_MAX};
	char *text = NULL, reason[128];
	size_t len, i;
	int r, line = 1;

	if (path == NULL || ret == NULL) {
		set_error(err, errlen, path != NULL ? path : "(config)", 0, "invalid argument");
		return NHI_ERR_INVALID_ARGUMENT;
	}
	r = nhi_read_file_checked(path, &rules, CONFIG_FILE_MAX, &text, &len);
	if (r < 0) {
		if (r == NHI_ERR_FILE_UNSAFE)
			snprintf(reason, sizeof(reason),
				 "refusing to read: a symlink, not a regular file, or writable by "
				 "a user other than root");
		else if (r == NHI_ERR_SYSTEM || r == NHI_ERR_NOT_FOUND)
			snprintf(reason, sizeof(reason), "%s", strerror(errno));
		else
			snprintf(reason, sizeof(reason), "%s", nhi_strerror(r));
		set_error(err, errlen, path, 0, reason);
		goto out;
	}
	/* The parser stops at a NUL; text after it must not vanish silently. */
	if (strlen(text) != len) {
		for (i = 0; text[i] != '\0'; i++)
			if (text[i] == '\n')
				line++;
		set_error(err, errlen, path, line, "NUL byte in file");
		r = NHI_ERR_CONFIG;
		goto out;
	}
	r = nhi_config_parse(path, text, ret, err, errlen);
out:
	free(text);
	return r;
}

void nhi_config_free(struct nhi_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->socket_path);
	free(cfg->state_dir);
	free(cfg->ca_key_path);
	free(cfg->admin_group);
	free(cfg->helper_user);
	free(cfg->login_user);
	for (i = 0; i < NHI_CONFIG_KEY_FILES_MAX; i++)
		free(cfg->key_files[i]);
	free(cfg->chain_command);
	free(cfg->default_shell);
	free(cfg->home_base);
	free(cfg);
}
