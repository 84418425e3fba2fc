/* nhi ssh: when to send a keepalive and when to give up on the server. */
#include "config.h"

#include "conf.h"
#include "err.h"
#include "nhi_ssh_alive.h"

void nhi_ssh_alive_start(struct nhi_ssh_alive *a, uint32_t interval_s, unsigned count_max,
                         uint64_t now_ms, uint64_t packets)
{
	a->interval_ms = (uint64_t)interval_s * 1000u;
	a->due_ms = now_ms + a->interval_ms;
	a->packets = packets;
	a->count_max = count_max;
	a->unanswered = 0;
}

enum nhi_ssh_alive_action nhi_ssh_alive_check(struct nhi_ssh_alive *a, uint64_t now_ms,
                                              uint64_t packets)
{
	if (packets != a->packets) {
		a->packets = packets;
		a->unanswered = 0;
		a->due_ms = now_ms + a->interval_ms;
		return NHI_SSH_ALIVE_WAIT;
	}
	if (a->interval_ms == 0 || now_ms < a->due_ms)
		return NHI_SSH_ALIVE_WAIT;
	if (a->unanswered >= a->count_max)
		return NHI_SSH_ALIVE_DEAD;
	a->unanswered++;
	a->due_ms = now_ms + a->interval_ms;
	return NHI_SSH_ALIVE_SEND;
}

int nhi_ssh_alive_wait_ms(const struct nhi_ssh_alive *a, uint64_t now_ms, int cap_ms)
{
	uint64_t left;

	if (a->interval_ms == 0)
		return cap_ms;
	if (a->due_ms <= now_ms)
		return 0;
	left = a->due_ms - now_ms;
	return left < (uint64_t)cap_ms ? (int)left : cap_ms;
}

int nhi_ssh_parse_alive_interval(const char *text, uint32_t *ret_seconds)
{
	uint32_t v;

	if (nhi_parse_duration(text, &v) < 0 || v > NHI_SSH_ALIVE_INTERVAL_MAX)
		return NHI_ERR_INVALID_FORMAT;
	*ret_seconds = v;
	return 0;
}

int nhi_ssh_parse_alive_count(const char *text, unsigned *ret_count)
{
	unsigned v = 0;

	if (text == NULL || text[0] < '1' || text[0] > '9')
		return NHI_ERR_INVALID_FORMAT;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return NHI_ERR_INVALID_FORMAT;
		v = v * 10u + (unsigned)(*p - '0');
		if (v > NHI_SSH_ALIVE_COUNT_MAX)
			return NHI_ERR_INVALID_FORMAT;
	}
	*ret_count = v;
	return 0;
}
