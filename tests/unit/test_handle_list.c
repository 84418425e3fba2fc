/* broker/handle_identity.c and broker/handle_grant.c: identity list and
 * grant list answer one page per request, as nhictl follows them (the
 * last record's name or id as "after" or "after_id" until a page comes
 * back empty), and every row arrives exactly once, in order. */
#include "config.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "err.h"
#include "handlers.h"
#include "store_grant.h"
#include "support.h"

#define N_IDENTITIES 2500 /* more than two pages of identities */
#define N_GRANTS     450  /* more than two pages of grants */

static char *dir;
static struct nhi_broker *b;
static struct nhi_peer me;

static void setup(void)
{
	struct nhi_broker_options o = {.no_syslog = true};
	char err[512];

	cr_assert_eq(sodium_init() >= 0, true);
	dir = test_mkdtemp();
	o.state_dir = dir;
	cr_assert_eq(nhi_broker_open(&o, &b, err, sizeof(err)), 0, "%s", err);
	me = (struct nhi_peer){.pid = getpid(), .uid = getuid(), .gid = getgid()};
	snprintf(me.name, sizeof(me.name), "uid:%u", (unsigned)getuid());
}

static void teardown(void)
{
	nhi_broker_close(b);
	test_rmtree(dir);
	free(dir);
}

TestSuite(handle_list, .init = setup, .fini = teardown);

static void add_identity(const char *name)
{
	struct nhi_identity id;

	nhi_identity_init(&id);
	id.name = (char *)name;
	id.kind = NHI_KIND_HUMAN;
	cr_assert_eq(nhi_store_identity_add(b->store, &id, NULL), 0, "%s", name);
}

/* One request of handler with args (key, value pairs, NULL-ended). */
static void call(int (*handler)(struct nhi_call *), struct nhi_call *c, struct nhi_kv *args, ...)
{
	const char *key, *value;
	va_list ap;

	nhi_kv_init(args);
	va_start(ap, args);
	while ((key = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		cr_assert_eq(nhi_kv_add_str(args, key, value), 0);
	}
	va_end(ap);
	*c = (struct nhi_call){.b = b, .peer = &me, .args = args};
	(void)handler(c);
}

static void done(struct nhi_call *c, struct nhi_kv *args)
{
	nhi_call_clear(c);
	nhi_kv_clear(args);
}

Test(handle_list, identity_list_pages_cover_every_identity_once_in_name_order)
{
	char name[32], last[64] = "";
	struct nhi_kv args;
	struct nhi_call c;
	size_t seen = 0, pages = 0;

	/* Added in an order that is not the names' order, in one transaction
	 * (one sync, not thousands). */
	cr_assert_eq(nhi_store_begin(b->store), 0);
	for (unsigned i = 0; i < N_IDENTITIES; i++) {
		snprintf(name, sizeof(name), "id%05u", (i * 7919u) % N_IDENTITIES);
		add_identity(name);
	}
	cr_assert_eq(nhi_store_commit(b->store), 0);
	for (;;) {
		if (pages == 0)
			call(nhi_handle_identity_list, &c, &args, (const char *)NULL);
		else
			call(nhi_handle_identity_list, &c, &args, "after", last,
			     (const char *)NULL);
		cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
		if (c.reply.n_records == 0) {
			done(&c, &args);
			break;
		}
		cr_assert_lt(c.reply.n_records, N_IDENTITIES, "one page is not the whole table");
		for (size_t i = 0; i < c.reply.n_records; i++, seen++) {
			snprintf(name, sizeof(name), "id%05zu", seen);
			cr_assert_str_eq(nhi_kv_str(&c.reply.records[i], "name"), name);
		}
		snprintf(last, sizeof(last), "%s",
		         nhi_kv_str(&c.reply.records[c.reply.n_records - 1], "name"));
		done(&c, &args);
		pages++;
	}
	cr_assert_eq(seen, N_IDENTITIES);
	cr_assert_gt(pages, 2);
	/* After a name past every other: an empty page, not an error. */
	call(nhi_handle_identity_list, &c, &args, "after", "zzz", (const char *)NULL);
	cr_assert_eq(c.reply.status, 0);
	cr_assert_eq(c.reply.n_records, 0);
	done(&c, &args);
}

Test(handle_list, grant_list_pages_cover_every_grant_once_newest_first)
{
	struct nhi_grant g = {.role = "ops", .reason = "paged", .ttl = 600};
	int64_t now = (int64_t)nhi_broker_now(), id, last = 0;
	char after[32];
	struct nhi_kv args;
	struct nhi_call c;
	size_t seen = 0, active = 0;

	cr_assert_eq(nhi_store_begin(b->store), 0);
	add_identity("alice");
	add_identity("bob");
	for (int i = 0; i < N_GRANTS; i++) {
		g.identity = i % 2 ? "alice" : "bob";
		g.state = NHI_GRANT_ACTIVE;
		g.created = now;
		/* One in three already over: listed, marked expired, not --active. */
		g.expires = i % 3 == 0 ? now - 1 : now + 600;
		cr_assert_eq(nhi_store_grant_add(b->store, &g, &id), 0);
		active += i % 3 != 0;
	}
	cr_assert_eq(nhi_store_commit(b->store), 0);
	for (int only_active = 0; only_active < 2; only_active++) {
		seen = 0;
		last = 0;
		for (;;) {
			/* As nhictl asks: the filter, then the cursor from page two. */
			snprintf(after, sizeof(after), "%" PRId64, last);
			if (only_active)
				call(nhi_handle_grant_list, &c, &args, "active", "yes",
				     last != 0 ? "after_id" : NULL, after, (const char *)NULL);
			else
				call(nhi_handle_grant_list, &c, &args,
				     last != 0 ? "after_id" : NULL, after, (const char *)NULL);
			cr_assert_eq(c.reply.status, 0, "%s", c.reply.message);
			if (c.reply.n_records == 0) {
				done(&c, &args);
				break;
			}
			cr_assert_leq(c.reply.n_records, 200);
			for (size_t i = 0; i < c.reply.n_records; i++, seen++) {
				const struct nhi_kv *rec = &c.reply.records[i];

				cr_assert_eq(nhi_kv_i64(rec, "id", &id), 0);
				cr_assert(last == 0 || id < last, "newest first, each once");
				last = id;
				cr_assert(!only_active || nhi_kv_find(rec, "expired") == NULL);
			}
			done(&c, &args);
		}
		cr_assert_eq(seen, only_active ? active : N_GRANTS);
		/* Down to the first grant, or the first one in force (the
		 * first is over). */
		cr_assert_eq(last, only_active ? 2 : 1);
	}
}

Test(handle_list, grant_list_refuses_a_bad_cursor)
{
	static const char *const bad[] = {"0", "-1", "x", "9223372036854775808", ""};
	struct nhi_kv args;
	struct nhi_call c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call(nhi_handle_grant_list, &c, &args, "after_id", bad[i], (const char *)NULL);
		cr_assert_eq(c.reply.status, NHI_ERR_INVALID_ARGUMENT, "after_id '%s'", bad[i]);
		done(&c, &args);
	}
}
