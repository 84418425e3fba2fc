#include "config.h"

#include <string.h>

#include "enroll_limit.h"
#include "err.h"

static bool window_open(const struct nhi_enroll_window *w, int64_t now)
{
	return w->start != 0 && now >= w->start && now < w->start + NHI_ENROLL_WINDOW;
}

/* The window of uid; a new slot (the stalest one when all are taken) when
 * create, else NULL when uid has none. */
static struct nhi_enroll_window *uid_window(struct nhi_enroll_limit *l, uid_t uid, bool create)
{
	unsigned stalest = 0;

	for (unsigned i = 0; i < l->n_uids; i++) {
		if (l->uids[i].uid == uid)
			return &l->uids[i].w;
		if (l->uids[i].w.start < l->uids[stalest].w.start)
			stalest = i;
	}
	if (!create)
		return NULL;
	if (l->n_uids < NHI_ENROLL_UIDS_MAX)
		stalest = l->n_uids++;
	l->uids[stalest].uid = uid;
	memset(&l->uids[stalest].w, 0, sizeof(l->uids[stalest].w));
	return &l->uids[stalest].w;
}

static bool window_full(struct nhi_enroll_window *w, unsigned limit, int64_t now)
{
	return w != NULL && window_open(w, now) && w->failures >= limit;
}

int nhi_enroll_limit_check(struct nhi_enroll_limit *l, uid_t uid, int64_t now, int64_t *ret_wait,
                           bool *ret_first)
{
	struct nhi_enroll_window *mine = uid_window(l, uid, false), *full = NULL;

	if (window_full(mine, NHI_ENROLL_UID_FAILURES, now))
		full = mine;
	else if (window_full(&l->global, NHI_ENROLL_GLOBAL_FAILURES, now))
		full = &l->global;
	if (full == NULL)
		return 0;
	*ret_wait = full->start + NHI_ENROLL_WINDOW - now;
	*ret_first = !full->refusal_reported;
	full->refusal_reported = true;
	return NHI_ERR_RATE_LIMITED;
}

static void count(struct nhi_enroll_window *w, int64_t now)
{
	if (!window_open(w, now)) {
		w->start = now > 0 ? now : 1;
		w->failures = 0;
		w->refusal_reported = false;
	}
	w->failures++;
}

void nhi_enroll_limit_failed(struct nhi_enroll_limit *l, uid_t uid, int64_t now)
{
	count(uid_window(l, uid, true), now);
	count(&l->global, now);
}
