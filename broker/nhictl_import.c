/* nhictl identity import FILE: JSON lines into the inventory, in one
 * transaction. Every line is parsed and checked here first, so a bad file
 * is refused with its line number before anything is sent; then the
 * records travel in chunks to a staging area in the broker, which checks
 * them again and applies them all at commit, or none. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "import_parse.h"
#include "nhictl.h"

#define CHUNK_RECORDS 250u           /* below the record's field cap */
#define CHUNK_BYTES   (160u * 1024u) /* well inside one frame */
#define COMMIT_MS_PER_RECORD 2       /* a loaded 2-core machine: ~0.3 ms each */

struct parsed {
	struct nhi_buf **recs; /* each one encoded record */
	size_t n, cap;
	struct name_line {
		char *name;
		size_t line;
	} * names;
};

static void usage_import(FILE *f)
{
	fprintf(f,
	        "usage: nhictl identity import FILE|- [--json]\n"
	        "\n"
	        "Creates or updates identities from FILE (- for standard input): JSON\n"
	        "lines, one object per identity, such as\n"
	        "  "
	        "{\"name\":\"backup-bot\",\"kind\":\"automation\",\"owner\":\"ops\",\"uid\":2001}\n"
	        "\n"
	        "Fields: name and kind (required); owner, uid, gid, shell, home, gecos,\n"
	        "ttl, ttl_max (seconds or \"5m\"), allow_pty (true/false),\n"
	        "source_addresses, roles, selectors (arrays of strings), force_command,\n"
	        "review_due (unix seconds). A field left out of a line for an existing\n"
	        "identity keeps its value; listed roles and selectors are added.\n"
	        "\n"
	        "All lines are applied in one transaction. Any bad line (unknown field,\n"
	        "wrong type, a name twice) rejects the whole file with its line number,\n"
	        "and nothing changes. At most %u lines of %u bytes.\n"
	        "\n"
	        "  -j, --json    JSON output\n"
	        "  -h, --help    this help\n"
	        "\n"
	        "Exit status: 0 imported, 1 a bad line or the broker refused, 2 usage,\n"
	        "3 broker unavailable.\n",
	        NHI_IMPORT_RECORDS_MAX, NHI_IMPORT_LINE_MAX);
}

static void parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n; i++) {
		nhi_buf_free(p->recs[i]);
		free(p->names[i].name);
	}
	free(p->recs);
	free(p->names);
}

static int cmp_name_line(const void *a, const void *b)
{
	const struct name_line *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d != 0 ? d : (x->line > y->line) - (x->line < y->line);
}

static int bad_line(const char *file, size_t line, const char *reason)
{
	fprintf(stderr, "nhictl identity import: %s: line %zu: %s\n", file, line, reason);
	return NHICTL_EXIT_FAILED;
}

static int keep(struct parsed *p, struct nhi_kv *rec, size_t line)
{
	struct nhi_buf *b = NULL;
	char *name = NULL;

	if (p->n == p->cap) {
		size_t cap = p->cap == 0 ? 1024 : p->cap * 2;
		struct nhi_buf **recs = reallocarray(p->recs, cap, sizeof(*recs));
		if (recs == NULL)
			return NHI_ERR_ALLOC;
		p->recs = recs;
		struct name_line *names = reallocarray(p->names, cap, sizeof(*names));
		if (names == NULL)
			return NHI_ERR_ALLOC;
		p->names = names;
		p->cap = cap;
	}
	if (nhi_kv_add_u64(rec, "line", line) < 0 || (b = nhi_buf_new()) == NULL ||
	    nhi_kv_put(b, rec) < 0 || (name = strdup(nhi_kv_str(rec, "name"))) == NULL) {
		nhi_buf_free(b);
		return NHI_ERR_ALLOC;
	}
	p->recs[p->n] = b;
	p->names[p->n].name = name;
	p->names[p->n].line = line;
	p->n++;
	return 0;
}

/* Reads and checks the whole file; prints the first bad line. */
static int parse_file(FILE *f, const char *file, struct parsed *p)
{
	char *buf = malloc(NHI_IMPORT_LINE_MAX + 2), reason[512];
	size_t line = 0;
	int rc = NHICTL_EXIT_OK;

	if (buf == NULL)
		return NHICTL_EXIT_FAILED;
	while (rc == NHICTL_EXIT_OK && fgets(buf, NHI_IMPORT_LINE_MAX + 2, f) != NULL) {
		size_t len = strlen(buf);
		struct nhi_kv rec;

		line++;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		else if (!feof(f)) {
			snprintf(reason, sizeof(reason), "longer than %u bytes",
			         NHI_IMPORT_LINE_MAX);
			rc = bad_line(file, line, reason);
			break;
		}
		if (strlen(buf) != len) {
			rc = bad_line(file, line, "a NUL byte");
			break;
		}
		if (line > NHI_IMPORT_RECORDS_MAX) {
			snprintf(reason, sizeof(reason), "more than %u lines",
			         NHI_IMPORT_RECORDS_MAX);
			rc = bad_line(file, line, reason);
			break;
		}
		nhi_kv_init(&rec);
		if (nhi_import_parse_line(buf, len, &rec, reason, sizeof(reason)) < 0) {
			char clean[600];
			rc = bad_line(file, line, nhictl_clean(reason, clean, sizeof(clean)));
		} else if (keep(p, &rec, line) < 0) {
			fprintf(stderr, "nhictl identity import: out of memory\n");
			rc = NHICTL_EXIT_FAILED;
		}
		nhi_kv_clear(&rec);
	}
	if (rc == NHICTL_EXIT_OK && ferror(f)) {
		fprintf(stderr, "nhictl identity import: %s: %s\n", file, strerror(errno));
		rc = NHICTL_EXIT_FAILED;
	}
	free(buf);
	if (rc != NHICTL_EXIT_OK)
		return rc;
	if (p->n == 0) {
		fprintf(stderr, "nhictl identity import: %s: no identities\n", file);
		return NHICTL_EXIT_FAILED;
	}
	/* A name twice is an error in the file, reported at its second line. */
	struct name_line *sorted = calloc(p->n, sizeof(*sorted));
	if (sorted == NULL)
		return NHICTL_EXIT_FAILED;
	memcpy(sorted, p->names, p->n * sizeof(*sorted));
	qsort(sorted, p->n, sizeof(*sorted), cmp_name_line);
	size_t worst = 0;
	for (size_t i = 1; i < p->n; i++) {
		if (strcmp(sorted[i].name, sorted[i - 1].name) == 0 &&
		    (worst == 0 || sorted[i].line < sorted[worst].line))
			worst = i;
	}
	if (worst != 0) {
		snprintf(reason, sizeof(reason), "field 'name': '%s' already on line %zu",
		         sorted[worst].name, sorted[worst - 1].line);
		rc = bad_line(file, sorted[worst].line, reason);
	}
	free(sorted);
	return rc;
}

static int send_import(struct nhictl *ctl, struct parsed *p, uint64_t import_id)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;
	size_t i = 0;
	int rc = NHICTL_EXIT_OK;

	nhi_kv_init(&args);
	while (i < p->n && rc == NHICTL_EXIT_OK) {
		size_t bytes = 0, k = 0;
		nhi_kv_clear(&args);
		if (nhi_kv_add_u64(&args, "import_id", import_id) < 0) {
			rc = NHICTL_EXIT_FAILED;
			break;
		}
		for (; i < p->n && k < CHUNK_RECORDS; i++, k++) {
			size_t len = nhi_buf_len(p->recs[i]);
			if (k > 0 && bytes + len > CHUNK_BYTES)
				break;
			if (nhi_kv_add(&args, "record", nhi_buf_ptr(p->recs[i]), len) < 0) {
				rc = NHICTL_EXIT_FAILED;
				break;
			}
			bytes += len;
		}
		if (rc == NHICTL_EXIT_OK)
			rc = nhictl_call(ctl, NHI_MSG_IMPORT_CHUNK, &args, &reply);
		nhi_msg_reply_clear(&reply);
	}
	nhi_kv_clear(&args);
	return rc;
}

static void abort_import(struct nhictl *ctl, uint64_t import_id)
{
	struct nhi_msg_reply reply = {0};
	struct nhi_kv args;

	nhi_kv_init(&args);
	/* Best effort: the broker drops it anyway once this process is gone. */
	if (nhi_kv_add_u64(&args, "import_id", import_id) == 0)
		nhi_msg_call(ctl->socket_path, ctl->timeout_ms, NHI_MSG_IMPORT_ABORT, &args,
		             &reply);
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
}

int nhictl_cmd_identity_import(struct nhictl *ctl, int argc, char **argv)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	static const struct nhictl_field summary_fields[] = {
	        {"records", "records", NHICTL_INT, true},
	        {"created", "created", NHICTL_INT, true},
	        {"updated", "updated", NHICTL_INT, true},
	        {"unchanged", "unchanged", NHICTL_INT, true},
	};
	struct nhi_msg_reply reply = {0};
	struct parsed p = {0};
	struct nhi_kv args;
	const char *file;
	uint64_t import_id = 0;
	FILE *f;
	int opt, rc;

	optind = 0;
	while ((opt = getopt_long(argc, argv, ":jh", options, NULL)) != -1) {
		rc = nhictl_common_opt(ctl, "identity import", opt, argv, usage_import);
		if (rc != NHICTL_OPT_DONE)
			return rc == NHICTL_OPT_OWN ? NHICTL_EXIT_USAGE : rc;
	}
	if (optind >= argc)
		return nhictl_usage_error("identity import", "missing FILE (- for standard input)");
	if (optind + 1 < argc)
		return nhictl_usage_error("identity import", "unexpected argument '%s'",
		                          argv[optind + 1]);
	file = argv[optind];
	if (strcmp(file, "-") == 0) {
		f = stdin;
		file = "<stdin>";
	} else if ((f = fopen(file, "re")) == NULL) {
		fprintf(stderr, "nhictl identity import: %s: %s\n", file, strerror(errno));
		return NHICTL_EXIT_FAILED;
	}
	rc = parse_file(f, file, &p);
	if (f != stdin)
		fclose(f);
	nhi_kv_init(&args);
	if (rc != NHICTL_EXIT_OK)
		goto out;
	if ((rc = nhictl_call(ctl, NHI_MSG_IMPORT_BEGIN, &args, &reply)) != NHICTL_EXIT_OK)
		goto out;
	if (reply.n_records == 0 || nhi_kv_u64(&reply.records[0], "import_id", &import_id) < 0) {
		fprintf(stderr, "nhictl: the broker sent no import id\n");
		rc = NHICTL_EXIT_FAILED;
		goto out;
	}
	nhi_msg_reply_clear(&reply);
	if ((rc = send_import(ctl, &p, import_id)) != NHICTL_EXIT_OK) {
		abort_import(ctl, import_id);
		goto out;
	}
	if (nhi_kv_add_u64(&args, "import_id", import_id) < 0) {
		rc = NHICTL_EXIT_FAILED;
		goto out;
	}
	/* The commit applies every record in one request: give it time in
	 * proportion, on top of the usual answer time. */
	struct nhictl commit_ctl = *ctl;
	commit_ctl.timeout_ms = ctl->timeout_ms + (int)(p.n * COMMIT_MS_PER_RECORD);
	if ((rc = nhictl_call(&commit_ctl, NHI_MSG_IMPORT_COMMIT, &args, &reply)) != NHICTL_EXIT_OK)
		goto out;
	if (reply.n_records == 0) {
		fprintf(stderr, "nhictl: the broker sent no summary\n");
		rc = NHICTL_EXIT_FAILED;
		goto out;
	}
	if (ctl->json) {
		nhictl_print_item(ctl, summary_fields, 4, &reply.records[0]);
	} else {
		const struct nhi_kv *s = &reply.records[0];
		uint64_t n[4] = {0, 0, 0, 0};
		for (size_t i = 0; i < 4; i++)
			nhi_kv_u64(s, summary_fields[i].key, &n[i]);
		printf("imported %llu identities: %llu created, %llu updated, %llu unchanged\n",
		       (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2],
		       (unsigned long long)n[3]);
	}
out:
	nhi_msg_reply_clear(&reply);
	nhi_kv_clear(&args);
	parsed_free(&p);
	return rc;
}
