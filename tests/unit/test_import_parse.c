#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "import_parse.h"

static char err[512];

static int parse(const char *line, struct nhi_kv *rec)
{
	nhi_kv_init(rec);
	err[0] = '\0';
	return nhi_import_parse_line(line, strlen(line), rec, err, sizeof(err));
}

static void expect_bad(const char *line, const char *needle)
{
	struct nhi_kv rec;

	cr_assert_eq(parse(line, &rec), NHI_ERR_INVALID_ARGUMENT, "accepted: %s", line);
	cr_assert_eq(rec.n, 0);
	cr_assert_not_null(strstr(err, needle), "'%s' not in '%s'", needle, err);
}

Test(import_parse, every_field_maps_to_the_broker_keys)
{
	struct nhi_kv rec;
	const char *line =
	        "{\"name\":\"backup-bot\",\"kind\":\"automation\",\"owner\":\"ops team\","
	        "\"uid\":2001,\"gid\":2001,\"shell\":\"/bin/sh\",\"home\":\"/var/backup\","
	        "\"gecos\":\"Backups\",\"ttl\":\"5m\",\"ttl_max\":3600,\"allow_pty\":false,"
	        "\"source_addresses\":[\"10.0.0.0/8\",\"192.0.2.1\"],\"force_command\":\"/bin/"
	        "true\","
	        "\"review_due\":1900000000,\"roles\":[\"a\",\"b\"],\"selectors\":[\"uid=2001\"]}";
	uint64_t v;

	cr_assert_eq(parse(line, &rec), 0, "%s", err);
	cr_assert_str_eq(nhi_kv_str(&rec, "name"), "backup-bot");
	cr_assert_str_eq(nhi_kv_str(&rec, "kind"), "automation");
	cr_assert_str_eq(nhi_kv_str(&rec, "owner"), "ops team");
	cr_assert_str_eq(nhi_kv_str(&rec, "uid"), "2001");
	cr_assert_eq(nhi_kv_u64(&rec, "ttl_default", &v), 0);
	cr_assert_eq(v, 300);
	cr_assert_eq(nhi_kv_u64(&rec, "ttl_max", &v), 0);
	cr_assert_eq(v, 3600);
	cr_assert_str_eq(nhi_kv_str(&rec, "allow_pty"), "no");
	cr_assert_str_eq(nhi_kv_str(&rec, "source_addresses"), "10.0.0.0/8,192.0.2.1");
	cr_assert_eq(nhi_kv_count(&rec, "role"), 2);
	cr_assert_str_eq((const char *)nhi_kv_nth(&rec, "role", 1)->value, "b");
	cr_assert_str_eq(nhi_kv_str(&rec, "selector"), "uid=2001");
	cr_assert_str_eq(nhi_kv_str(&rec, "review_due"), "1900000000");
	nhi_kv_clear(&rec);
}

Test(import_parse, minimal_line)
{
	struct nhi_kv rec;

	cr_assert_eq(parse("{\"name\":\"_svc-1\",\"kind\":\"service\"}", &rec), 0, "%s", err);
	cr_assert_eq(rec.n, 2);
	nhi_kv_clear(&rec);
}

Test(import_parse, unknown_fields_are_named)
{
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"colour\":\"red\"}",
	           "unknown field 'colour'");
}

Test(import_parse, wrong_types_name_the_field)
{
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"uid\":\"1000\"}",
	           "field 'uid': expected an integer");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"uid\":1.5}", "field 'uid'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"uid\":-1}", "field 'uid'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"uid\":4294967296}", "field 'uid'");
	expect_bad("{\"name\":\"a\",\"kind\":7}", "field 'kind': expected a string");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"allow_pty\":\"yes\"}",
	           "field 'allow_pty'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"roles\":\"x\"}", "field 'roles'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"roles\":[]}", "field 'roles'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"roles\":[1]}", "field 'roles'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"ttl\":\"soon\"}", "field 'ttl'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"ttl\":0}", "field 'ttl'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"owner\":null}", "field 'owner'");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\",\"owner\":\"\"}", "field 'owner': empty");
}

Test(import_parse, required_fields_and_names)
{
	expect_bad("{\"kind\":\"human\"}", "missing field 'name'");
	expect_bad("{\"name\":\"alice\"}", "missing field 'kind'");
	expect_bad("{\"name\":\"Alice\",\"kind\":\"human\"}", "field 'name'");
	expect_bad("{\"name\":\"a/b\",\"kind\":\"human\"}", "field 'name'");
	expect_bad("{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"kind\":\"human\"}",
	           "field 'name'");
}

Test(import_parse, malformed_json)
{
	expect_bad("", "empty line");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\"", "not valid JSON");
	expect_bad("[1,2]", "expected a JSON object");
	expect_bad("{\"name\":\"a\",\"kind\":\"human\"} {}", "not valid JSON");
	expect_bad("{\"name\":\"a\",\"name\":\"b\",\"kind\":\"human\"}", "not valid JSON");
	expect_bad("{\"name\":\"a\\u0000b\",\"kind\":\"human\"}", "not valid JSON");
}

Test(import_parse, line_length_is_capped)
{
	size_t n = NHI_IMPORT_LINE_MAX + 1;
	char *line = malloc(n + 1);
	struct nhi_kv rec;

	cr_assert_not_null(line);
	memset(line, ' ', n);
	line[n] = '\0';
	nhi_kv_init(&rec);
	cr_assert_eq(nhi_import_parse_line(line, n, &rec, err, sizeof(err)),
	             NHI_ERR_INVALID_ARGUMENT);
	cr_assert_not_null(strstr(err, "longer than"));
	free(line);
}
