#include "config.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "import_parse.h"
#include "log.h"
#include "names.h"

#define ID_MAX 2147483646LL

enum field_type { F_STRING, F_ID, F_TIME, F_DURATION, F_BOOL, F_LIST };

/* The fields a line may carry, and the record key each becomes. */
static const struct {
	const char *name, *key;
	enum field_type type;
} fields[] = {
        {"name", "name", F_STRING},
        {"kind", "kind", F_STRING},
        {"owner", "owner", F_STRING},
        {"uid", "uid", F_ID},
        {"gid", "gid", F_ID},
        {"shell", "shell", F_STRING},
        {"home", "home", F_STRING},
        {"gecos", "gecos", F_STRING},
        {"ttl", "ttl_default", F_DURATION},
        {"ttl_max", "ttl_max", F_DURATION},
        {"allow_pty", "allow_pty", F_BOOL},
        {"source_addresses", "source_addresses", F_LIST},
        {"force_command", "force_command", F_STRING},
        {"review_due", "review_due", F_TIME},
        {"roles", "role", F_LIST},
        {"selectors", "selector", F_LIST},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NHI_ERR_INVALID_ARGUMENT;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "something else";
}

/* A list field: an array of non-empty strings, one record value each;
 * source_addresses travels as sshd's one comma list. */
static int add_list(struct nhi_kv *rec, const char *name, const char *key, const json_t *v,
                    char *err, size_t errlen)
{
	char joined[4096] = "";
	size_t i, used = 0;
	json_t *el;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(err, errlen,
		            "field '%s': expected a non-empty array of strings, got %s", name,
		            json_is_array(v) ? "an empty array" : type_name(v));
	json_array_foreach(v, i, el)
	{
		const char *s = json_string_value(el);
		size_t n;
		if (s == NULL || (n = json_string_length(el)) == 0)
			return fail(err, errlen,
			            "field '%s': element %zu is not a non-empty string", name,
			            i + 1);
		if (strcmp(key, "source_addresses") != 0) {
			if (nhi_kv_add_str(rec, key, s) < 0)
				return NHI_ERR_ALLOC;
			continue;
		}
		if (used + n + 2 > sizeof(joined))
			return fail(err, errlen, "field '%s': too long", name);
		if (used > 0)
			joined[used++] = ',';
		memcpy(joined + used, s, n + 1);
		used += n;
	}
	if (strcmp(key, "source_addresses") == 0 && nhi_kv_add_str(rec, key, joined) < 0)
		return NHI_ERR_ALLOC;
	return 0;
}

static int add_field(struct nhi_kv *rec, size_t f, const json_t *v, char *err, size_t errlen)
{
	const char *name = fields[f].name, *key = fields[f].key, *s;
	json_int_t n;
	uint32_t secs;

	switch (fields[f].type) {
	case F_STRING:
		if ((s = json_string_value(v)) == NULL)
			return fail(err, errlen, "field '%s': expected a string, got %s", name,
			            type_name(v));
		if (s[0] == '\0')
			return fail(err, errlen, "field '%s': empty", name);
		return nhi_kv_add_str(rec, key, s) < 0 ? NHI_ERR_ALLOC : 0;
	case F_ID:
	case F_TIME:
		if (!json_is_integer(v))
			return fail(err, errlen, "field '%s': expected an integer, got %s", name,
			            type_name(v));
		n = json_integer_value(v);
		if (n < 0 || (fields[f].type == F_ID && n > ID_MAX))
			return fail(err, errlen,
			            "field '%s': %" JSON_INTEGER_FORMAT " out of range", name, n);
		return nhi_kv_add_i64(rec, key, (int64_t)n) < 0 ? NHI_ERR_ALLOC : 0;
	case F_DURATION:
		/* Seconds as a number, or text such as "5m" or "8h". */
		if (json_is_integer(v)) {
			n = json_integer_value(v);
			if (n <= 0 || n > UINT32_MAX)
				return fail(err, errlen,
				            "field '%s': %" JSON_INTEGER_FORMAT " out of range",
				            name, n);
			secs = (uint32_t)n;
		} else if ((s = json_string_value(v)) != NULL) {
			if (nhi_parse_duration(s, &secs) < 0 || secs == 0)
				return fail(
				        err, errlen,
				        "field '%s': expected a duration such as 300, \"5m\" or "
				        "\"8h\"",
				        name);
		} else {
			return fail(err, errlen, "field '%s': expected a duration, got %s", name,
			            type_name(v));
		}
		return nhi_kv_add_u64(rec, key, secs) < 0 ? NHI_ERR_ALLOC : 0;
	case F_BOOL:
		if (!json_is_boolean(v))
			return fail(err, errlen, "field '%s': expected true or false, got %s", name,
			            type_name(v));
		return nhi_kv_add_str(rec, key, json_is_true(v) ? "yes" : "no") < 0 ? NHI_ERR_ALLOC
		                                                                    : 0;
	case F_LIST:
		return add_list(rec, name, key, v, err, errlen);
	}
	return NHI_ERR_INVALID_ARGUMENT;
}

int nhi_import_parse_line(const char *line, size_t len, struct nhi_kv *ret_record, char *err,
                          size_t errlen)
{
	struct nhi_kv rec;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *key, *name;
	int r = 0;

	nhi_kv_init(&rec);
	if (len > NHI_IMPORT_LINE_MAX)
		return fail(err, errlen, "line longer than %u bytes", NHI_IMPORT_LINE_MAX);
	if (len == 0)
		return fail(err, errlen, "empty line: one JSON object per line");
	/* Duplicate keys are refused by the parser, NUL bytes in strings too. */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		r = fail(err, errlen, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		r = fail(err, errlen, "expected a JSON object, got %s", type_name(root));
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		size_t f;
		for (f = 0; f < N_FIELDS && strcmp(fields[f].name, key) != 0; f++)
			;
		if (f == N_FIELDS) {
			char shown[64];
			r = fail(err, errlen, "unknown field '%s'",
			         nhi_log_sanitize(key, shown, sizeof(shown)));
			goto out;
		}
		if ((r = add_field(&rec, f, v, err, errlen)) < 0)
			goto out;
	}
	if ((name = nhi_kv_str(&rec, "name")) == NULL) {
		r = fail(err, errlen, "missing field 'name'");
		goto out;
	}
	if (!nhi_name_is_valid(name)) {
		r = fail(err, errlen,
		         "field 'name': invalid identity name: 1-%u characters of a-z, 0-9, _ and "
		         "-, starting with a letter or _",
		         NHI_NAME_MAX);
		goto out;
	}
	if (nhi_kv_find(&rec, "kind") == NULL) {
		r = fail(err, errlen, "missing field 'kind'");
		goto out;
	}
	*ret_record = rec;
	nhi_kv_init(&rec);
out:
	json_decref(root);
	nhi_kv_clear(&rec);
	return r;
}
