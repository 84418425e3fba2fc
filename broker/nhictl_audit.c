/* nhictl audit verify|export|tail. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "broker.h"
#include "err.h"
#include "nhictl.h"

#define PAGE 1000u /* the broker's cap per request */

static const struct nhictl_field record_fields[] = {
        {"seq", "seq", NHICTL_INT, true},        {"time", "time", NHICTL_INT, true},
        {"usec", "usec", NHICTL_INT, false},     {"type", "type", NHICTL_STR, true},
        {"actor", "actor", NHICTL_STR, true},    {"subject", "subject", NHICTL_STR, true},
        {"detail", "detail", NHICTL_JSON, true}, {"prev_hash", "prev_hash", NHICTL_STR, false},
        {"hash", "hash", NHICTL_STR, false},
};
#define N_RECORD_FIELDS (sizeof(record_fields) / sizeof(record_fields[0]))

static const struct nhictl_field verify_fields[] = {
        {"ok", "ok", NHICTL_BOOL, true},
        {"fault", "fault", NHICTL_STR, true},
        {"bad_seq", "bad_seq", NHICTL_INT, true},
        {"reason", "reason", NHICTL_STR, true},
        {"checked", "checked", NHICTL_INT, true},
        {"head_seq", "head_seq", NHICTL_INT, true},
        {"head_hash", "head_hash", NHICTL_STR, true},
        {"unanchored", "unanchored", NHICTL_INT, true},
        {"anchor", "anchor", NHICTL_STR, true},
        {"anchor_seq", "anchor_seq", NHICTL_INT, true},
};
#define N_VERIFY_FIELDS (sizeof(verify_fields) / sizeof(verify_fields[0]))

static void usage_audit(FILE *f)
{
	fprintf(f, "usage: nhictl audit verify [--local [--state-dir DIR]] [--json]\n"
	           "       nhictl audit export [--after SEQ] [--json]\n"
	           "       nhictl audit tail [-n N] [--json]\n"
	           "\n"
	           "verify walks the whole hash chain and checks it reaches the head anchor;\n"
	           "it exits 4 and names the first bad record when it does not.\n"
	           "With --local, nhictl reads the database itself, read-only (root; for\n"
	           "when the broker is down): the same checks, the same output.\n"
	           "export prints every record (after SEQ); tail the last N (default 10).\n"
	           "With --json each record is one JSON object per line (for a SIEM).\n"
	           "\n"
	           "  --after SEQ   export: start after record SEQ\n"
	           "  -n N          tail: how many records\n"
	           "  --local       verify: read the state directory, not the broker\n"
	           "  --state-dir DIR  verify --local: instead of the configuration's\n"
	           "  -j, --json    JSON output\n"
	           "  -h, --help    this help\n");
}

static int parse_count(const char *cmd, const char *opt, const char *text, uint64_t *ret)
{
	char *end;

	if (text[0] < '0' || text[0] > '9' || strlen(text) > 19)
		return nhictl_usage_error(cmd, "invalid %s '%s': a decimal number", opt, text);
	*ret = strtoull(text, &end, 10);
	if (*end != '\0')
		return nhictl_usage_error(cmd, "invalid %s '%s': a decimal number", opt, text);
	return NHICTL_EXIT_OK;
}

/* One line per record for people: seq, UTC time, type, actor, subject,
 * detail. Columns are fixed so pages line up while they stream. */
static void print_records(const struct nhictl *ctl, const struct nhi_kv *recs, size_t n)
{
	char when[64], type[64], actor[128], subject[128], detail[1024];

	if (ctl->json) {
		nhictl_print_list(ctl, record_fields, N_RECORD_FIELDS, recs, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *seq = nhi_kv_str(&recs[i], "seq"), *t = nhi_kv_str(&recs[i], "time");
		const char *v;

		nhictl_format_time(t != NULL ? strtoll(t, NULL, 10) : 0, when, sizeof(when));
		v = nhi_kv_str(&recs[i], "type");
		nhictl_clean(v != NULL ? v : "-", type, sizeof(type));
		v = nhi_kv_str(&recs[i], "actor");
		nhictl_clean(v != NULL ? v : "-", actor, sizeof(actor));
		v = nhi_kv_str(&recs[i], "subject");
		nhictl_clean(v != NULL && v[0] != '\0' ? v : "-", subject, sizeof(subject));
		v = nhi_kv_str(&recs[i], "detail");
		nhictl_clean(v != NULL ? v : "{}", detail, sizeof(detail));
		printf("%6s  %s  %-15s  %-12s  %-16s  %s\n", seq != NULL ? seq : "?", when, type,
		       actor, subject, detail);
	}
}

static int fetch(const struct nhictl *ctl, uint64_t after, uint64_t tail, uint64_t limit,
                 struct nhi_msg_reply *reply)
{
	struct nhi_kv args;
	int rc;

	nhi_kv_init(&args);
	if ((tail > 0 ? nhi_kv_add_u64(&args, "tail", tail)
	              : nhi_kv_add_u64(&args, "after_seq", after)) < 0 ||
	    nhi_kv_add_u64(&args, "limit", limit) < 0)
		rc = NHICTL_EXIT_FAILED;
	else
		rc = nhictl_call(ctl, NHI_MSG_AUDIT_EXPORT, &args, reply);
	nhi_kv_clear(&args);
	return rc;
}

static uint64_t last_seq(const struct nhi_msg_reply *reply)
{
	uint64_t seq = 0;

	if (reply->n_records > 0)
		nhi_kv_u64(&reply->records[reply->n_records - 1], "seq", &seq);
	return seq;
}

/* Pages on from after until the broker has no more, or max records. */
static int export_from(const struct nhictl *ctl, uint64_t after, uint64_t max)
{
	struct nhi_msg_reply reply = {0};
	uint64_t done = 0, seq;
	int rc;

	while (done < max) {
		uint64_t want = max - done < PAGE ? max - done : PAGE;
		if ((rc = fetch(ctl, after, 0, want, &reply)) != NHICTL_EXIT_OK)
			return rc;
		if (reply.n_records == 0)
			break;
		print_records(ctl, reply.records, reply.n_records);
		done += reply.n_records;
		seq = last_seq(&reply);
		nhi_msg_reply_clear(&reply);
		if (seq <= after)
			break; /* a broker going backwards would loop forever */
		after = seq;
	}
	nhi_msg_reply_clear(&reply);
	return fflush(stdout) == 0 ? NHICTL_EXIT_OK : NHICTL_EXIT_FAILED;
}

static int print_verdict(struct nhictl *ctl, const struct nhi_kv *rec, const char *message)
{
	const char *ok = nhi_kv_str(rec, "ok");
	char buf[512];
	int rc;

	if (ok == NULL) {
		fprintf(stderr, "nhictl: the broker sent no verdict\n");
		return NHICTL_EXIT_FAILED;
	}
	rc = strcmp(ok, "yes") == 0 ? NHICTL_EXIT_OK : NHICTL_EXIT_AUDIT;
	if (ctl->json || rc != NHICTL_EXIT_OK)
		nhictl_print_item(ctl, verify_fields, N_VERIFY_FIELDS, rec);
	else
		printf("%s\n", nhictl_clean(message != NULL ? message : "ok", buf, sizeof(buf)));
	if (rc != NHICTL_EXIT_OK)
		fprintf(stderr, "nhictl: %s\n",
		        nhictl_clean(message != NULL ? message : "audit verification failed", buf,
		                     sizeof(buf)));
	return rc;
}

/* The broker may be down (or refuse to start over a broken chain): the
 * trail is read straight from the state directory, never written. */
static int audit_verify_local(struct nhictl *ctl, const char *state_dir)
{
	struct nhi_config *cfg = NULL;
	struct nhi_store *store = NULL;
	struct nhi_kv rec;
	char *db = NULL, msg[512] = "";
	int r, rc = NHICTL_EXIT_FAILED;

	nhi_kv_init(&rec);
	if (state_dir == NULL) {
		if (nhictl_load_config(ctl, &cfg) < 0)
			return NHICTL_EXIT_FAILED;
		state_dir = cfg->state_dir;
	}
	if (asprintf(&db, "%s/%s", state_dir, NHI_DB_NAME) < 0) {
		db = NULL;
		fprintf(stderr, "nhictl: out of memory\n");
		goto out;
	}
	if ((r = nhi_store_open_readonly(db, &store)) < 0) {
		fprintf(stderr, "nhictl: cannot open %s: %s\n", db, nhi_strerror(r));
		goto out;
	}
	if ((r = nhi_audit_verdict(store, &rec, msg, sizeof(msg))) < 0) {
		fprintf(stderr, "nhictl: %s: %s\n", db, msg[0] != '\0' ? msg : nhi_strerror(r));
		goto out;
	}
	rc = print_verdict(ctl, &rec, msg);
out:
	nhi_kv_clear(&rec);
	nhi_store_close(store);
	free(db);
	nhi_config_free(cfg);
	return rc;
}

static int audit_verify(struct nhictl *ctl)
{
	struct nhi_msg_reply reply = {0};
	int rc;

	if ((rc = nhictl_call(ctl, NHI_MSG_AUDIT_VERIFY, NULL, &reply)) != NHICTL_EXIT_OK)
		return rc;
	if (reply.n_records == 0) {
		fprintf(stderr, "nhictl: the broker sent no verdict\n");
		nhi_msg_reply_clear(&reply);
		return NHICTL_EXIT_FAILED;
	}
	rc = print_verdict(ctl, &reply.records[0], reply.message);
	nhi_msg_reply_clear(&reply);
	return rc;
}

static int audit_tail(struct nhictl *ctl, uint64_t n)
{
	struct nhi_msg_reply reply = {0};
	uint64_t head;
	int rc;

	if (n == 0)
		return NHICTL_EXIT_OK;
	if (n <= PAGE) {
		if ((rc = fetch(ctl, 0, n, n, &reply)) == NHICTL_EXIT_OK)
			print_records(ctl, reply.records, reply.n_records);
		nhi_msg_reply_clear(&reply);
		return rc;
	}
	/* More than one page: find the head, then export from head - n. */
	if ((rc = fetch(ctl, 0, 1, 1, &reply)) != NHICTL_EXIT_OK)
		return rc;
	head = last_seq(&reply);
	nhi_msg_reply_clear(&reply);
	return export_from(ctl, head > n ? head - n : 0, n);
}

int nhictl_cmd_audit(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"after", required_argument, NULL, 'a'},
	        {"lines", required_argument, NULL, 'n'},
	        {"local", no_argument, NULL, 'L'},
	        {"state-dir", required_argument, NULL, 'D'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *state_dir = NULL;
	bool local = false;
	const char *sub = argc > 1 ? argv[1] : NULL;
	uint64_t after = 0, lines = 10;
	bool have_after = false, have_lines = false;
	char cmd[32];
	int opt, rc;

	if ((rc = nhictl_subcommand_start(argc, argv, usage_audit)) != NHICTL_GO_ON)
		return rc;
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "export") != 0 && strcmp(sub, "tail") != 0)
		return nhictl_usage_error("audit", "unknown subcommand '%s'", sub);
	snprintf(cmd, sizeof(cmd), "audit %s", sub);
	argc--;
	argv++;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":a:n:jh", options, NULL)) != -1) {
		if (opt == 'a') {
			if ((rc = parse_count(cmd, "--after", optarg, &after)) != NHICTL_EXIT_OK)
				return rc;
			have_after = true;
		} else if (opt == 'n') {
			if ((rc = parse_count(cmd, "-n", optarg, &lines)) != NHICTL_EXIT_OK)
				return rc;
			have_lines = true;
		} else if (opt == 'L') {
			local = true;
		} else if (opt == 'D') {
			state_dir = optarg;
		} else if ((rc = nhictl_common_opt(ctl, cmd, opt, argv, usage_audit)) !=
		           NHICTL_OPT_DONE) {
			return rc;
		}
	}
	if (optind < argc)
		return nhictl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (have_after && strcmp(sub, "export") != 0)
		return nhictl_usage_error(cmd, "--after is for export");
	if (have_lines && strcmp(sub, "tail") != 0)
		return nhictl_usage_error(cmd, "-n is for tail");
	if ((local || state_dir != NULL) && strcmp(sub, "verify") != 0)
		return nhictl_usage_error(cmd, "--local and --state-dir are for verify");
	if (state_dir != NULL && !local)
		return nhictl_usage_error(cmd, "--state-dir needs --local");
	if (strcmp(sub, "verify") == 0)
		return local ? audit_verify_local(ctl, state_dir) : audit_verify(ctl);
	if (strcmp(sub, "export") == 0)
		return export_from(ctl, after, UINT64_MAX);
	return audit_tail(ctl, lines);
}
