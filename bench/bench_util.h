/* What the C benchmarks share: a clock, a fatal error, counts from the
 * command line and removing their temporary directory. */
#ifndef NHI_BENCH_UTIL_H
#define NHI_BENCH_UTIL_H

/* Seconds on the monotonic clock. */
double bench_now_s(void);
/* "PROGRAM: what: reason" on stderr (the NHI_ERR_* r when negative, else
 * errno), then exit 1. */
void bench_die(const char *what, int r) __attribute__((noreturn));
/* A count from 1 to max; anything else is a usage error (exit 2). */
unsigned bench_parse_count(const char *s, unsigned long max);
/* Removes dir and everything below it, following no link. */
void bench_rmtree(const char *dir);

#endif
