#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *sanitized(const char *s)
{
	static char out[256];

	return nhi_log_sanitize(s, out, sizeof(out));
}

Test(log, sanitize_passes_plain_text)
{
	cr_assert_str_eq(sanitized("alice"), "alice");
	cr_assert_str_eq(sanitized("user@host key-comment 1.2"), "user@host key-comment 1.2");
	cr_assert_str_eq(sanitized(""), "");
	cr_assert_str_eq(sanitized(NULL), "(null)");
}

Test(log, sanitize_escapes_control_and_non_ascii)
{
	cr_assert_str_eq(sanitized("evil\nFAKE: root logged in"), "evil\\nFAKE: root logged in");
	cr_assert_str_eq(sanitized("a\rb\tc"), "a\\rb\\tc");
	cr_assert_str_eq(sanitized("\x1b[31mred"), "\\x1b[31mred");
	cr_assert_str_eq(sanitized("del\x7f"), "del\\x7f");
	cr_assert_str_eq(sanitized("caf\xc3\xa9"), "caf\\xc3\\xa9");
	/* Backslashes are escaped so an escape in the input cannot pose as
	 * one of ours. */
	cr_assert_str_eq(sanitized("a\\nb"), "a\\\\nb");
}

Test(log, sanitize_truncates_at_escape_boundary)
{
	char out[8];

	cr_assert_str_eq(nhi_log_sanitize("abcdefghij", out, sizeof(out)), "abcd...");
	/* "\x01" is 4 bytes; it must not be cut in half. */
	cr_assert_str_eq(nhi_log_sanitize("abc\x01zzzz", out, sizeof(out)), "abc...");
	cr_assert_str_eq(nhi_log_sanitize("abcdefg", out, sizeof(out)), "abcdefg");
	cr_assert_str_eq(nhi_log_sanitize("abcdefgh", out, 3), "ab");
	cr_assert_str_eq(nhi_log_sanitize("abc", out, 1), "");
	cr_assert_str_eq(nhi_log_sanitize("abc", out, 0), "");
}

Test(log, sanitize_huge_input)
{
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	char out[64];

	cr_assert_not_null(big);
	memset(big, '\n', n);
	big[n] = '\0';
	nhi_log_sanitize(big, out, sizeof(out));
	cr_assert_lt(strlen(out), sizeof(out));
	cr_assert_eq(strncmp(out, "\\n\\n", 4), 0);
	cr_assert_eq(strcmp(out + strlen(out) - 3, "..."), 0);
	free(big);
}

Test(log, level_names)
{
	cr_assert_eq(nhi_log_level_from_name("error"), LOG_ERR);
	cr_assert_eq(nhi_log_level_from_name("warning"), LOG_WARNING);
	cr_assert_eq(nhi_log_level_from_name("notice"), LOG_NOTICE);
	cr_assert_eq(nhi_log_level_from_name("info"), LOG_INFO);
	cr_assert_eq(nhi_log_level_from_name("DEBUG"), LOG_DEBUG);
	cr_assert_eq(nhi_log_level_from_name("verbose"), -1);
	cr_assert_eq(nhi_log_level_from_name(""), -1);
	cr_assert_eq(nhi_log_level_from_name(NULL), -1);
}

/* Runs the logging calls with stderr sent to a temp file; returns what
 * was written. */
static char *capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *buf = calloc(1, 4096);
	size_t n;

	cr_assert_not_null(tmp);
	cr_assert_not_null(buf);
	cr_assert_eq(dup2(fileno(tmp), STDERR_FILENO), STDERR_FILENO);
	fn();
	cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, 4095, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return buf;
}

static void log_some(void)
{
	nhi_log_init("nhi-test", NHI_LOG_STDERR, LOG_NOTICE);
	nhi_log_error("bad thing %d", 42);
	nhi_log_info("too chatty");
	nhi_log_debug("far too chatty");
	nhi_log_warning("user %s", "ev\nil");
	nhi_log_set_level(LOG_DEBUG);
	nhi_log_debug("now shown");
}

Test(log, stderr_levels_and_lines)
{
	char *out = capture_stderr(log_some);

	cr_assert_str_eq(out, "nhi-test: error: bad thing 42\n"
			      "nhi-test: warning: user ev?il\n"
			      "nhi-test: debug: now shown\n");
	free(out);
}

static void log_keeps_errno(void)
{
	nhi_log_init("nhi-test", NHI_LOG_STDERR, LOG_INFO);
	errno = ENOENT;
	nhi_log_error("x");
	cr_assert_eq(errno, ENOENT);
	errno = EACCES;
	nhi_log_debug("filtered");
	cr_assert_eq(errno, EACCES);
}

Test(log, errno_preserved)
{
	free(capture_stderr(log_keeps_errno));
}

static void log_long(void)
{
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nhi_log_init("t", NHI_LOG_STDERR, LOG_INFO);
	nhi_log_error("%s", big);
	nhi_log_error("after");
}

Test(log, long_message_truncated_to_one_line)
{
	char *out = capture_stderr(log_long);
	char *nl = strchr(out, '\n');

	cr_assert_not_null(nl);
	cr_assert_str_eq(nl + 1, "t: error: after\n");
	cr_assert_gt(nl - out, 1000);
	free(out);
}

static void log_nothing(void)
{
	nhi_log_init("t", 0, LOG_DEBUG);
	nhi_log_alert("silent");
}

Test(log, no_target_writes_nothing)
{
	char *out = capture_stderr(log_nothing);

	cr_assert_str_eq(out, "");
	free(out);
}
