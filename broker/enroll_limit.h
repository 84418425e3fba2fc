/* A limit on failed enrollment attempts (NHI_MSG_DEVICE_ENROLL with a
 * code that is malformed, unknown, used or expired).
 *
 * A code holds 128 bits, so guessing is hopeless; the limit is against the
 * noise: an attacker (or a script gone wrong) filling the audit trail and
 * keeping the broker busy. Two fixed windows of NHI_ENROLL_WINDOW seconds,
 * each opened by a first failure: one per calling uid
 * (NHI_ENROLL_UID_FAILURES) and one for all callers together
 * (NHI_ENROLL_GLOBAL_FAILURES), since remote engineers all arrive as the
 * one login user. Once either is full, every attempt from the callers it
 * covers is refused, good code or not, until the window ends. The first
 * refusal of a window is reported as such, so it is audited once.
 *
 * In memory only: a restart of the broker starts afresh. */
#ifndef NHI_ENROLL_LIMIT_H
#define NHI_ENROLL_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NHI_ENROLL_WINDOW          60 /* seconds */
#define NHI_ENROLL_UID_FAILURES    10u
#define NHI_ENROLL_GLOBAL_FAILURES 30u
#define NHI_ENROLL_UIDS_MAX        64u /* uids tracked at once; the stalest goes */

struct nhi_enroll_window {
	int64_t start; /* 0: none open */
	unsigned failures;
	bool refusal_reported;
};

struct nhi_enroll_limit {
	struct nhi_enroll_window global;
	struct {
		uid_t uid;
		struct nhi_enroll_window w;
	} uids[NHI_ENROLL_UIDS_MAX];
	unsigned n_uids;
};

/* Whether uid may try now. 0: yes. NHI_ERR_RATE_LIMITED: no, with
 * *ret_wait the seconds until the window ends and *ret_first true for the
 * first refusal of that window (to be audited). */
int nhi_enroll_limit_check(struct nhi_enroll_limit *l, uid_t uid, int64_t now, int64_t *ret_wait,
                           bool *ret_first);
/* Counts one failed attempt by uid. */
void nhi_enroll_limit_failed(struct nhi_enroll_limit *l, uid_t uid, int64_t now);

#endif
