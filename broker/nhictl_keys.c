/* nhictl keys ...: the static keys discovery found in authorized_keys files. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nhictl.h"

static const struct nhictl_field key_fields[] = {
        {"fingerprint", "fingerprint", NHICTL_STR, true},
        {"type", "type", NHICTL_STR, true},
        {"bits", "bits", NHICTL_INT, false},
        {"account", "account", NHICTL_STR, true},
        {"path", "path", NHICTL_STR, true},
        {"line", "line", NHICTL_INT, true},
        {"state", "state", NHICTL_STR, true},
        {"weak", "weak", NHICTL_BOOL, true},
        {"options", "options", NHICTL_STR, false},
        {"comment", "comment", NHICTL_STR, false},
        {"first_seen", "first_seen", NHICTL_TIME, false},
        {"last_seen", "last_seen", NHICTL_TIME, true},
        {"last_used", "last_used", NHICTL_TIME, false},
        {"exception_owner", "exception_owner", NHICTL_STR, false},
        {"exception_reason", "exception_reason", NHICTL_STR, false},
        {"exception_until", "exception_until", NHICTL_TIME, false},
};
#define N_KEY_FIELDS (sizeof(key_fields) / sizeof(key_fields[0]))

static void usage_keys(FILE *f)
{
	fprintf(f, "usage: nhictl keys list [--account NAME] [--json]\n"
	           "       nhictl keys show FINGERPRINT [--json]\n"
	           "       nhictl keys retire|restore FINGERPRINT [--json]\n"
	           "       nhictl keys except FINGERPRINT --owner IDENTITY --reason TEXT --until DATE\n"
	           "\n"
	           "Static keys found in authorized_keys files when sshd asked about a login.\n"
	           "\n"
	           "  --account NAME  only this account's keys\n"
	           "  -j, --json      JSON output: one object per key and line\n"
	           "  -h, --help      this help\n");
}

/* Every page of a keys listing narrowed by key = value (value NULL: all
 * keys), in id order. */
static int fetch_keys(struct nhictl *ctl, enum nhi_msg_type type, const char *key,
                      const char *value, struct nhi_kv **ret_all, size_t *ret_n)
{
	struct nhi_kv filter;
	int rc;

	nhi_kv_init(&filter);
	if (value != NULL && nhi_kv_add_str(&filter, key, value) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call_pages(ctl, type, &filter, "id", "after_id", ret_all, ret_n);
	nhi_kv_clear(&filter);
	return rc;
}

static int64_t field_i64(const struct nhi_kv *rec, const char *key)
{
	int64_t v = 0;

	(void)nhi_kv_i64(rec, key, &v);
	return v;
}

static int cmp_text(const struct nhi_kv *a, const struct nhi_kv *b, const char *key)
{
	const char *x = nhi_kv_str(a, key), *y = nhi_kv_str(b, key);

	return strcmp(x != NULL ? x : "", y != NULL ? y : "");
}

/* Pages come in the store's order; people read keys by account, file and
 * line. */
static int by_account_path_line(const void *pa, const void *pb)
{
	const struct nhi_kv *a = pa, *b = pb;
	int64_t x, y;
	int c;

	if ((c = cmp_text(a, b, "account")) != 0 || (c = cmp_text(a, b, "path")) != 0)
		return c;
	if ((x = field_i64(a, "line")) != (y = field_i64(b, "line")))
		return x < y ? -1 : 1;
	x = field_i64(a, "id");
	y = field_i64(b, "id");
	return (x > y) - (x < y);
}

static int keys_list(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"account", required_argument, NULL, 'a'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct nhi_kv *all = NULL;
	const char *account = NULL;
	size_t n = 0;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":a:jh", options, NULL)) != -1) {
		if (opt == 'a')
			account = optarg;
		else if ((rc = nhictl_common_opt(ctl, "keys list", opt, argv, usage_keys)) !=
		         NHICTL_OPT_DONE)
			return rc;
	}
	if (optind < argc)
		return nhictl_usage_error("keys list", "unexpected argument '%s'", argv[optind]);
	rc = fetch_keys(ctl, NHI_MSG_KEYS_LIST, "account", account, &all, &n);
	if (rc == NHICTL_EXIT_OK) {
		qsort(all, n, sizeof(*all), by_account_path_line);
		nhictl_print_list(ctl, key_fields, N_KEY_FIELDS, all, n);
	}
	nhictl_records_free(all, n);
	return rc;
}

static int keys_show(struct nhictl *ctl, int argc, char **argv)
{
	struct nhi_kv *all = NULL;
	const char *fp;
	size_t n = 0;
	int rc;

	if ((rc = nhictl_one_arg(ctl, "keys show", argc, argv, usage_keys, "FINGERPRINT", &fp)) !=
	    NHICTL_EXIT_OK)
		return rc;
	if (strncmp(fp, "SHA256:", 7) != 0)
		return nhictl_usage_error("keys show",
		                          "invalid fingerprint '%s': SHA256:..., as ssh-keygen -lf "
		                          "prints it",
		                          fp);
	rc = fetch_keys(ctl, NHI_MSG_KEYS_SHOW, "fingerprint", fp, &all, &n);
	if (rc == NHICTL_EXIT_OK)
		qsort(all, n, sizeof(*all), by_account_path_line);
	/* One key may sit in several files: one item per file. */
	for (size_t i = 0; rc == NHICTL_EXIT_OK && i < n; i++) {
		if (i > 0 && !ctl->json)
			printf("\n");
		nhictl_print_item(ctl, key_fields, N_KEY_FIELDS, &all[i]);
	}
	nhictl_records_free(all, n);
	return rc;
}

int nhictl_cmd_keys(struct nhictl *ctl, int argc, char **argv)
{
	const char *sub;
	int rc = nhictl_subcommand_start(argc, argv, usage_keys);

	if (rc != NHICTL_GO_ON)
		return rc;
	sub = argv[1];
	if (strcmp(sub, "list") == 0)
		return keys_list(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return keys_show(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "retire") == 0)
		return nhictl_keys_retire(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "restore") == 0)
		return nhictl_keys_restore(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "except") == 0)
		return nhictl_keys_except(ctl, argc - 1, argv + 1);
	return nhictl_usage_error("keys", "unknown subcommand '%s'", sub);
}
