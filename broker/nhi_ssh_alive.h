/* nhi ssh: keepalives, as ssh(1)'s ServerAliveInterval and
 * ServerAliveCountMax. When nothing has come from the server for an
 * interval, a keepalive is sent; anything that arrives (data, the answer
 * to a keepalive, a window adjust) starts the count again; after COUNT
 * keepalives in a row had an interval each and no answer, the connection
 * is given up. The clock and the packet count come from the caller, so
 * that unit tests can drive both. */
#ifndef NHI_SSH_ALIVE_H
#define NHI_SSH_ALIVE_H

#include <stdint.h>

/* A command silent for hours is fine: answered keepalives never end a
 * connection. 30 s three times gives up on a dead path after about two
 * minutes, past the blips a network survives; ssh's default (off) suits a
 * person at a terminal, not a job nobody watches. */
#define NHI_SSH_ALIVE_INTERVAL_DEFAULT 30u
#define NHI_SSH_ALIVE_INTERVAL_MAX     86400u
#define NHI_SSH_ALIVE_COUNT_DEFAULT    3u
#define NHI_SSH_ALIVE_COUNT_MAX        1000u

enum nhi_ssh_alive_action {
	NHI_SSH_ALIVE_WAIT, /* nothing to do yet */
	NHI_SSH_ALIVE_SEND, /* send a keepalive now */
	NHI_SSH_ALIVE_DEAD, /* COUNT keepalives went unanswered: give up */
};

struct nhi_ssh_alive {
	uint64_t interval_ms; /* 0: keepalives off */
	uint64_t due_ms;      /* when the current silence next counts */
	uint64_t packets;     /* packets received, as last seen */
	unsigned count_max;
	unsigned unanswered;
};

/* Starts the clock at now_ms with packets already received. */
void nhi_ssh_alive_start(struct nhi_ssh_alive *a, uint32_t interval_s, unsigned count_max,
                         uint64_t now_ms, uint64_t packets);
/* What to do at now_ms, given the packets received so far; counts a
 * keepalive as sent when it says NHI_SSH_ALIVE_SEND. */
enum nhi_ssh_alive_action nhi_ssh_alive_check(struct nhi_ssh_alive *a, uint64_t now_ms,
                                              uint64_t packets);
/* How long a poll may sleep from now_ms: the time to the next check, at
 * most cap_ms (cap_ms also when keepalives are off). */
int nhi_ssh_alive_wait_ms(const struct nhi_ssh_alive *a, uint64_t now_ms, int cap_ms);

/* --alive-interval: "0" (off) or a duration (30, 30s, 2m) up to
 * NHI_SSH_ALIVE_INTERVAL_MAX. NHI_ERR_INVALID_FORMAT otherwise. */
int nhi_ssh_parse_alive_interval(const char *text, uint32_t *ret_seconds);
/* --alive-count: a decimal number from 1 to NHI_SSH_ALIVE_COUNT_MAX, no
 * sign, space or leading zero. NHI_ERR_INVALID_FORMAT otherwise. */
int nhi_ssh_parse_alive_count(const char *text, unsigned *ret_count);

#endif
