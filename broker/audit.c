/* Appending to the audit trail, and the head anchor outside the database. */
#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_json.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

#define ANCHOR_TAG      "nhi-audit-head 1"
#define ANCHOR_TEXT_MAX 256
/* The anchor is rewritten at most this often under a stream of commits:
 * each write costs three syncs (file, rename, directory), which at
 * thousands of commits a second would cost more than the commits do. */
#define ANCHOR_INTERVAL_MS 100

static const char *const type_names[NHI_AUDIT_TYPE_COUNT] = {
        [NHI_AUDIT_ISSUE] = "issue",
        [NHI_AUDIT_DENY] = "deny",
        [NHI_AUDIT_IDENTITY_CHANGE] = "identity-change",
        [NHI_AUDIT_ENROLL] = "enroll",
        [NHI_AUDIT_REVOKE] = "revoke",
        [NHI_AUDIT_CA_CHANGE] = "ca-change",
        [NHI_AUDIT_DISCOVER] = "discover",
        [NHI_AUDIT_RETIRE] = "retire",
        [NHI_AUDIT_LOGIN] = "login",
        [NHI_AUDIT_SESSION] = "session",
        [NHI_AUDIT_ELEVATE] = "elevate",
        [NHI_AUDIT_BREAKGLASS] = "breakglass",
};

/* A syslog line waiting for its transaction to commit. */
struct pending_line {
	int level;
	char *text;
};

/* The thread that writes the anchor for NHI_AUDIT_ANCHOR_ASYNC: it always
 * writes the newest head it was given, at most once per ANCHOR_INTERVAL_MS
 * (except the last, at stop), so a burst of commits costs a few anchor
 * writes, not one per commit. The anchor may trail the committed head by
 * that long; `audit verify` reports such records as unanchored, which is
 * what they are after a crash in that window. */
struct anchor_writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	const char *path;
	struct nhi_audit_anchor next; /* guarded by lock */
	bool have_next, stop;         /* guarded by lock */
};

struct nhi_audit {
	struct nhi_store *store;
	struct anchor_writer *writer; /* NULL: the anchor is written inline */
	char *anchor_path;
	unsigned flags;
	struct nhi_audit_anchor anchored; /* what the anchor file says */
	struct nhi_audit_anchor pending;  /* head appended in the open transaction */
	bool have_pending;
	struct pending_line *lines;
	size_t n_lines, cap_lines;
};

const char *nhi_audit_type_name(enum nhi_audit_type type)
{
	return (unsigned)type < NHI_AUDIT_TYPE_COUNT ? type_names[type] : NULL;
}

int nhi_audit_type_from_name(const char *name, enum nhi_audit_type *ret_type)
{
	unsigned i;

	for (i = 0; name && i < NHI_AUDIT_TYPE_COUNT; i++) {
		if (strcmp(type_names[i], name) == 0) {
			*ret_type = (enum nhi_audit_type)i;
			return 0;
		}
	}
	return NHI_ERR_INVALID_ARGUMENT;
}

char *nhi_audit_anchor_path(const char *db_path)
{
	const char *slash = db_path ? strrchr(db_path, '/') : NULL;
	size_t dir_len = slash ? (size_t)(slash - db_path) + 1 : 0;
	char *path;

	if (!db_path)
		return NULL;
	path = malloc(dir_len + sizeof(NHI_AUDIT_ANCHOR_NAME));
	if (!path)
		return NULL;
	memcpy(path, db_path, dir_len);
	memcpy(path + dir_len, NHI_AUDIT_ANCHOR_NAME, sizeof(NHI_AUDIT_ANCHOR_NAME));
	return path;
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi >= '0' && hi <= '9'   ? hi - '0'
		     : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10
		                              : -1;
		lo = lo >= '0' && lo <= '9'   ? lo - '0'
		     : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10
		                              : -1;
		if (hi < 0 || lo < 0)
			return NHI_ERR_INVALID_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* "nhi-audit-head 1 <seq> <64 hex>\n", nothing more, nothing less. */
static int anchor_parse(const char *text, size_t len, struct nhi_audit_anchor *ret)
{
	struct nhi_audit_anchor a;
	const char *p = text + sizeof(ANCHOR_TAG);
	char *end;

	if (len < sizeof(ANCHOR_TAG) || memcmp(text, ANCHOR_TAG " ", sizeof(ANCHOR_TAG)) != 0)
		return NHI_ERR_INVALID_FORMAT;
	if (*p < '0' || *p > '9')
		return NHI_ERR_INVALID_FORMAT;
	a.seq = strtoull(p, &end, 10);
	if (*end != ' ' || (size_t)(end + 1 - text) + 2 * NHI_AUDIT_HASH_LEN + 1 != len ||
	    end[1 + 2 * NHI_AUDIT_HASH_LEN] != '\n')
		return NHI_ERR_INVALID_FORMAT;
	if (hex_decode(end + 1, a.hash, NHI_AUDIT_HASH_LEN) < 0)
		return NHI_ERR_INVALID_FORMAT;
	*ret = a;
	return 0;
}

int nhi_audit_anchor_read(const char *path, struct nhi_audit_anchor *ret_anchor)
{
	/* Written by the broker alone: no one else may be able to change it. */
	struct nhi_file_rules rules = {
	        .owner = geteuid(),
	        .allow_root_owner = true,
	        .forbidden = 022,
	        .max_size = ANCHOR_TEXT_MAX,
	};
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!path || !ret_anchor)
		return NHI_ERR_INVALID_ARGUMENT;
	if (access(path, F_OK) < 0)
		return NHI_ERR_NOT_FOUND;
	r = nhi_read_file_checked(path, &rules, ANCHOR_TEXT_MAX, &text, &len);
	if (r == 0)
		r = anchor_parse(text, len, ret_anchor);
	free(text);
	return r;
}

int nhi_audit_anchor_write(const char *path, const struct nhi_audit_anchor *anchor)
{
	char text[ANCHOR_TEXT_MAX];
	int n, i;

	if (!path || !anchor)
		return NHI_ERR_INVALID_ARGUMENT;
	n = snprintf(text, sizeof(text), ANCHOR_TAG " %" PRIu64 " ", anchor->seq);
	for (i = 0; i < NHI_AUDIT_HASH_LEN; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%02x", anchor->hash[i]);
	n += snprintf(text + n, sizeof(text) - (size_t)n, "\n");
	return nhi_atomic_write(path, text, (size_t)n, 0600);
}

static void pending_drop(struct nhi_audit *a)
{
	size_t i;

	for (i = 0; i < a->n_lines; i++)
		free(a->lines[i].text);
	a->n_lines = 0;
	a->have_pending = false;
}

size_t nhi_audit_mark(const struct nhi_audit *a)
{
	return a->n_lines;
}

void nhi_audit_rollback_to(struct nhi_audit *a, size_t mark)
{
	while (a->n_lines > mark)
		free(a->lines[--a->n_lines].text);
}

static void *anchor_writer_main(void *arg)
{
	struct anchor_writer *w = arg;
	struct nhi_audit_anchor head;
	struct timespec due = {0}, now;
	int r;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->have_next && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->have_next)
			break;
		/* Let the next commits land first: the newest head is written. */
		while (!w->stop && clock_gettime(CLOCK_MONOTONIC, &now) == 0 &&
		       (now.tv_sec < due.tv_sec ||
		        (now.tv_sec == due.tv_sec && now.tv_nsec < due.tv_nsec)))
			pthread_cond_timedwait(&w->wake, &w->lock, &due);
		head = w->next;
		w->have_next = false;
		pthread_mutex_unlock(&w->lock);
		r = nhi_audit_anchor_write(w->path, &head);
		if (r < 0)
			nhi_log_error("audit: cannot write head anchor %s: %s", w->path,
			              nhi_strerror(r));
		clock_gettime(CLOCK_MONOTONIC, &due);
		due.tv_nsec += ANCHOR_INTERVAL_MS * 1000000L;
		due.tv_sec += due.tv_nsec / 1000000000L;
		due.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int anchor_writer_start(const char *path, struct anchor_writer **ret)
{
	struct anchor_writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;
	sigset_t all, old;
	int rc;

	if (w == NULL)
		return NHI_ERR_ALLOC;
	w->path = path;
	pthread_mutex_init(&w->lock, NULL);
	/* The interval is measured on the monotonic clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_condattr_destroy(&attr);
	/* Signals stay with the event loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, anchor_writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NHI_ERR_SYSTEM;
	}
	*ret = w;
	return 0;
}

static void anchor_writer_post(struct anchor_writer *w, const struct nhi_audit_anchor *head)
{
	pthread_mutex_lock(&w->lock);
	w->next = *head;
	w->have_next = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* Writes what was posted last, then ends the thread. */
static void anchor_writer_stop(struct anchor_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* After the transaction: on commit, move the anchor and log; else forget. */
static void audit_txn_end(void *arg, bool committed)
{
	struct nhi_audit *a = arg;
	size_t i;
	int r;

	/* The anchor is the committed head as the store has it: records of a
	 * request rolled back to its savepoint are not part of it. */
	if (committed && a->have_pending &&
	    nhi_store_audit_head(a->store, &a->pending.seq, a->pending.hash) == 0) {
		if (a->writer != NULL) {
			anchor_writer_post(a->writer, &a->pending);
			r = 0;
		} else {
			r = nhi_audit_anchor_write(a->anchor_path, &a->pending);
		}
		if (r < 0)
			nhi_log_error("audit: cannot write head anchor %s: %s", a->anchor_path,
			              nhi_strerror(r));
		else
			a->anchored = a->pending;
		for (i = 0; i < a->n_lines; i++)
			nhi_log(a->lines[i].level, "%s", a->lines[i].text);
	}
	pending_drop(a);
}

/* At open: the anchored record must still be there, unchanged. */
static int audit_check_anchor(struct nhi_audit *a)
{
	uint8_t hash[NHI_AUDIT_HASH_LEN], head_hash[NHI_AUDIT_HASH_LEN];
	uint64_t head;
	int r;

	r = nhi_store_audit_head(a->store, &head, head_hash);
	if (r < 0)
		return r;
	r = nhi_audit_anchor_read(a->anchor_path, &a->anchored);
	if (r == NHI_ERR_NOT_FOUND) {
		if (head > 0)
			nhi_log_warning(
			        "audit: head anchor %s missing; re-anchored at record %" PRIu64
			        "; run an audit verify",
			        a->anchor_path, head);
		a->anchored.seq = head;
		memcpy(a->anchored.hash, head_hash, sizeof(head_hash));
		return nhi_audit_anchor_write(a->anchor_path, &a->anchored);
	}
	if (r < 0)
		return r;
	if (a->anchored.seq == 0)
		return 0;
	r = nhi_store_audit_hash_at(a->store, a->anchored.seq, hash);
	if (r == NHI_ERR_NOT_FOUND ||
	    (r == 0 && memcmp(hash, a->anchored.hash, NHI_AUDIT_HASH_LEN) != 0)) {
		nhi_log_alert("audit: the database no longer holds anchored record %" PRIu64
		              " as anchored; the trail was cut or rewritten",
		              a->anchored.seq);
		return NHI_ERR_AUDIT_BROKEN;
	}
	return r;
}

int nhi_audit_open(struct nhi_store *s, const char *anchor_path, unsigned flags,
                   struct nhi_audit **ret_audit)
{
	struct nhi_audit *a;
	int r;

	if (!s || !ret_audit)
		return NHI_ERR_INVALID_ARGUMENT;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NHI_ERR_ALLOC;
	a->store = s;
	a->flags = flags;
	a->anchor_path =
	        anchor_path ? strdup(anchor_path) : nhi_audit_anchor_path(nhi_store_path(s));
	r = a->anchor_path ? audit_check_anchor(a) : NHI_ERR_ALLOC;
	if (r == 0 && (flags & NHI_AUDIT_ANCHOR_ASYNC))
		r = anchor_writer_start(a->anchor_path, &a->writer);
	if (r < 0) {
		free(a->anchor_path);
		free(a);
		return r;
	}
	nhi_store_set_txn_hook(s, audit_txn_end, a);
	*ret_audit = a;
	return 0;
}

void nhi_audit_close(struct nhi_audit *a)
{
	if (!a)
		return;
	nhi_store_set_txn_hook(a->store, NULL, NULL);
	anchor_writer_stop(a->writer);
	pending_drop(a);
	free(a->lines);
	free(a->anchor_path);
	free(a);
}

static int audit_level(enum nhi_audit_type type)
{
	if (type == NHI_AUDIT_BREAKGLASS)
		return LOG_ALERT;
	if (type == NHI_AUDIT_DENY)
		return LOG_WARNING;
	return LOG_NOTICE;
}

/* One sanitised line per record; the full hash lets syslog act as a second
 * anchor off the host. */
static int queue_line(struct nhi_audit *a, enum nhi_audit_type type,
                      const struct nhi_audit_record *r)
{
	char actor[256], subject[256], detail[1024], hex[2 * NHI_AUDIT_HASH_LEN + 1];
	struct pending_line *grown;
	char *text;
	int i;

	if (a->flags & NHI_AUDIT_NO_SYSLOG)
		return 0;
	if (a->n_lines == a->cap_lines) {
		grown = reallocarray(a->lines, a->cap_lines ? a->cap_lines * 2 : 8, sizeof(*grown));
		if (!grown)
			return NHI_ERR_ALLOC;
		a->lines = grown;
		a->cap_lines = a->cap_lines ? a->cap_lines * 2 : 8;
	}
	for (i = 0; i < NHI_AUDIT_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", r->hash[i]);
	if (asprintf(&text, "audit %" PRIu64 " %s actor=%s subject=%s %s hash=%s", r->seq, r->type,
	             nhi_log_sanitize(r->actor, actor, sizeof(actor)),
	             nhi_log_sanitize(r->subject, subject, sizeof(subject)),
	             nhi_log_sanitize(r->detail, detail, sizeof(detail)), hex) < 0)
		return NHI_ERR_ALLOC;
	a->lines[a->n_lines].level = audit_level(type);
	a->lines[a->n_lines].text = text;
	a->n_lines++;
	return 0;
}

static int event_check(const struct nhi_audit_event *ev)
{
	if (!ev || !nhi_audit_type_name(ev->type) || !ev->actor || !ev->subject)
		return NHI_ERR_INVALID_ARGUMENT;
	if (strlen(ev->actor) > NHI_AUDIT_FIELD_MAX || strlen(ev->subject) > NHI_AUDIT_FIELD_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	if (!ev->detail)
		return 0;
	if (strlen(ev->detail) > NHI_AUDIT_DETAIL_MAX)
		return NHI_ERR_STRING_TOO_LARGE;
	if (!nhi_json_is_flat_object(ev->detail, strlen(ev->detail)))
		return NHI_ERR_INVALID_FORMAT;
	return 0;
}

/* Builds and inserts the next record inside the open transaction. */
static int audit_insert(struct nhi_audit *a, const struct nhi_audit_event *ev,
                        struct nhi_audit_record *rec)
{
	struct timeval now;
	uint64_t head;
	int r;

	r = nhi_store_audit_head(a->store, &head, rec->prev_hash);
	if (r < 0)
		return r;
	/* Never extend a chain that lost records we anchored. */
	if (head < a->anchored.seq) {
		nhi_log_alert("audit: chain ends at %" PRIu64 " before anchored record %" PRIu64,
		              head, a->anchored.seq);
		return NHI_ERR_AUDIT_BROKEN;
	}
	gettimeofday(&now, NULL);
	rec->seq = head + 1;
	rec->time = now.tv_sec;
	rec->usec = (uint32_t)now.tv_usec;
	rec->type = nhi_audit_type_name(ev->type);
	rec->actor = ev->actor;
	rec->subject = ev->subject;
	rec->detail = ev->detail ? ev->detail : "{}";
	r = nhi_audit_record_hash(rec, rec->hash);
	if (r == 0)
		r = nhi_store_audit_insert(a->store, rec);
	if (r == 0)
		r = queue_line(a, ev->type, rec);
	return r;
}

int nhi_audit_append(struct nhi_audit *a, const struct nhi_audit_event *ev, uint64_t *ret_seq)
{
	struct nhi_audit_record rec;
	bool own_txn;
	int r;

	if (!a)
		return NHI_ERR_INVALID_ARGUMENT;
	r = event_check(ev);
	if (r < 0)
		return r;
	own_txn = !nhi_store_in_transaction(a->store);
	if (own_txn) {
		r = nhi_store_begin(a->store);
		if (r < 0)
			return r;
	}
	memset(&rec, 0, sizeof(rec));
	r = audit_insert(a, ev, &rec);
	if (r == 0) {
		a->pending.seq = rec.seq;
		memcpy(a->pending.hash, rec.hash, NHI_AUDIT_HASH_LEN);
		a->have_pending = true;
	}
	if (own_txn && r == 0)
		r = nhi_store_commit(a->store);
	else if (own_txn)
		nhi_store_rollback(a->store);
	if (r == 0 && ret_seq)
		*ret_seq = rec.seq;
	return r;
}
