#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static const char *log_ident = "nhi";
static int log_targets = NHI_LOG_STDERR;
static int log_max_level = LOG_INFO;

static const struct {
	const char *name;
	int level;
} level_names[] = {
	{"alert", LOG_ALERT},     {"error", LOG_ERR},   {"err", LOG_ERR},
	{"warning", LOG_WARNING}, {"warn", LOG_WARNING}, {"notice", LOG_NOTICE},
	{"info", LOG_INFO},       {"debug", LOG_DEBUG},
};

static int clamp_level(int level)
{
	if (level < LOG_EMERG)
		return LOG_EMERG;
	if (level > LOG_DEBUG)
		return LOG_DEBUG;
	return level;
}

void nhi_log_init(const char *ident, int targets, int max_level)
{
	if (ident != NULL)
		log_ident = ident;
	log_targets = targets & (NHI_LOG_STDERR | NHI_LOG_SYSLOG);
	log_max_level = clamp_level(max_level);
	if (log_targets & NHI_LOG_SYSLOG)
		openlog(log_ident, LOG_PID, LOG_AUTHPRIV);
}

void nhi_log_set_level(int max_level)
{
	log_max_level = clamp_level(max_level);
}

int nhi_log_level_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i].name) == 0)
			return level_names[i].level;
	return -1;
}

static const char *level_label(int level)
{
	switch (level) {
	case LOG_EMERG:
		return "emergency";
	case LOG_ALERT:
		return "alert";
	case LOG_CRIT:
		return "critical";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/* The escape for byte c into esc; returns its length. */
static size_t escape_byte(unsigned char c, char esc[4])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '\\':
		esc[1] = '\\';
		break;
	case '\n':
		esc[1] = 'n';
		break;
	case '\r':
		esc[1] = 'r';
		break;
	case '\t':
		esc[1] = 't';
		break;
	default:
		if (c >= 0x20 && c < 0x7f) {
			esc[0] = (char)c;
			return 1;
		}
		esc[1] = 'x';
		esc[2] = hex[c >> 4];
		esc[3] = hex[c & 0xf];
		esc[0] = '\\';
		return 4;
	}
	esc[0] = '\\';
	return 2;
}

const char *nhi_log_sanitize(const char *s, char *out, size_t outlen)
{
	size_t need = 0, limit, pos = 0, n;
	const char *p;
	char esc[4];
	bool cut;

	if (out == NULL || outlen == 0)
		return "";
	if (s == NULL)
		s = "(null)";
	for (p = s; *p != '\0' && need < outlen; p++)
		need += escape_byte((unsigned char)*p, esc);
	/* When it does not fit, stop at a whole escape and end with "...". */
	cut = need >= outlen;
	limit = outlen - 1;
	if (cut && limit >= 3)
		limit -= 3;
	for (p = s; *p != '\0'; p++) {
		n = escape_byte((unsigned char)*p, esc);
		if (pos + n > limit)
			break;
		memcpy(out + pos, esc, n);
		pos += n;
	}
	if (cut && pos + 3 <= outlen - 1) {
		memcpy(out + pos, "...", 3);
		pos += 3;
	}
	out[pos] = '\0';
	return out;
}

void nhi_vlog(int level, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	int saved = errno, n;
	size_t i;

	level = clamp_level(level);
	if (level > log_max_level || fmt == NULL)
		goto out;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Backstop for an argument the caller forgot to sanitize: one event is
	 * one line. Non-control bytes are left alone so text already escaped
	 * by nhi_log_sanitize is not escaped twice. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';

	if (log_targets & NHI_LOG_STDERR) {
		/* One write per line so concurrent writers do not interleave. */
		n = snprintf(line, sizeof(line), "%s: %s: %s\n", log_ident, level_label(level), msg);
		if (n > 0) {
			size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

			if ((size_t)n >= sizeof(line))
				line[len - 1] = '\n';
			if (write(STDERR_FILENO, line, len) < 0) {
				/* Nowhere left to report it. */
			}
		}
	}
	if (log_targets & NHI_LOG_SYSLOG)
		syslog(LOG_AUTHPRIV | level, "%s", msg);
out:
	errno = saved;
}

void nhi_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nhi_vlog(level, fmt, ap);
	va_end(ap);
}
