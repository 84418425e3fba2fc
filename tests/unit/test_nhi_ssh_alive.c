#include "config.h"

#include <criterion/criterion.h>
#include <stdint.h>

#include "err.h"
#include "nhi_ssh_alive.h"

/* interval 1 s, count 2, started at t = 10 s with 5 packets seen. */
static struct nhi_ssh_alive started(void)
{
	struct nhi_ssh_alive a;

	nhi_ssh_alive_start(&a, 1, 2, 10000, 5);
	return a;
}

Test(nhi_ssh_alive, silence_sends_count_keepalives_then_gives_up)
{
	struct nhi_ssh_alive a = started();

	cr_assert_eq(nhi_ssh_alive_check(&a, 10999, 5), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, 11000, 5), NHI_SSH_ALIVE_SEND);
	/* The first keepalive gets a whole interval to be answered. */
	cr_assert_eq(nhi_ssh_alive_check(&a, 11500, 5), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, 12000, 5), NHI_SSH_ALIVE_SEND);
	cr_assert_eq(nhi_ssh_alive_check(&a, 12999, 5), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, 13000, 5), NHI_SSH_ALIVE_DEAD);
	/* Dead stays dead until something arrives. */
	cr_assert_eq(nhi_ssh_alive_check(&a, 14000, 5), NHI_SSH_ALIVE_DEAD);
}

Test(nhi_ssh_alive, anything_received_starts_the_count_again)
{
	struct nhi_ssh_alive a = started();

	cr_assert_eq(nhi_ssh_alive_check(&a, 11000, 5), NHI_SSH_ALIVE_SEND);
	cr_assert_eq(nhi_ssh_alive_check(&a, 12000, 5), NHI_SSH_ALIVE_SEND);
	/* The answer to the second: a full interval of quiet again, and
	 * COUNT more keepalives before giving up. */
	cr_assert_eq(nhi_ssh_alive_check(&a, 12100, 6), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, 13000, 6), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, 13100, 6), NHI_SSH_ALIVE_SEND);
	cr_assert_eq(nhi_ssh_alive_check(&a, 14100, 6), NHI_SSH_ALIVE_SEND);
	cr_assert_eq(nhi_ssh_alive_check(&a, 15100, 6), NHI_SSH_ALIVE_DEAD);
}

Test(nhi_ssh_alive, steady_traffic_never_sends)
{
	struct nhi_ssh_alive a = started();

	for (uint64_t t = 10000, p = 5; t < 100000; t += 900, p++)
		cr_assert_eq(nhi_ssh_alive_check(&a, t, p + 1), NHI_SSH_ALIVE_WAIT);
}

Test(nhi_ssh_alive, off_never_sends_nor_gives_up)
{
	struct nhi_ssh_alive a;

	nhi_ssh_alive_start(&a, 0, 3, 0, 0);
	cr_assert_eq(nhi_ssh_alive_check(&a, 0, 0), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_check(&a, UINT64_C(1) << 40, 0), NHI_SSH_ALIVE_WAIT);
	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 12345, 200), 200);
}

Test(nhi_ssh_alive, wait_is_the_time_to_the_next_check_capped)
{
	struct nhi_ssh_alive a = started();

	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 10000, 200), 200);
	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 10900, 200), 100);
	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 11000, 200), 0);
	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 20000, 200), 0);
	cr_assert_eq(nhi_ssh_alive_wait_ms(&a, 10000, 5000), 1000);
}

Test(nhi_ssh_alive, interval_accepts_zero_and_durations)
{
	uint32_t v = 99;

	cr_assert_eq(nhi_ssh_parse_alive_interval("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(nhi_ssh_parse_alive_interval("1", &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(nhi_ssh_parse_alive_interval("2m", &v), 0);
	cr_assert_eq(v, 120);
	cr_assert_eq(nhi_ssh_parse_alive_interval("1d", &v), 0);
	cr_assert_eq(v, NHI_SSH_ALIVE_INTERVAL_MAX);
}

Test(nhi_ssh_alive, interval_refuses_signs_words_and_too_long)
{
	const char *bad[] = {"",   "-1",  "+1",    " 1", "1 ",          "abc",
	                     "1x", "1s2", "86401", "2d", "99999999999", "0x10"};
	uint32_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(nhi_ssh_parse_alive_interval(bad[i], &v), NHI_ERR_INVALID_FORMAT,
		             "'%s' accepted", bad[i]);
		cr_assert_eq(v, 7, "'%s' changed the value", bad[i]);
	}
}

Test(nhi_ssh_alive, count_is_1_to_max)
{
	const char *bad[] = {"",    "0",  "-1",   "+3",         " 3", "3 ",
	                     "abc", "03", "1001", "4294967299", "3s"};
	unsigned v = 7;

	cr_assert_eq(nhi_ssh_parse_alive_count("1", &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(nhi_ssh_parse_alive_count("1000", &v), 0);
	cr_assert_eq(v, NHI_SSH_ALIVE_COUNT_MAX);
	v = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(nhi_ssh_parse_alive_count(bad[i], &v), NHI_ERR_INVALID_FORMAT,
		             "'%s' accepted", bad[i]);
		cr_assert_eq(v, 7, "'%s' changed the value", bad[i]);
	}
}
