/* Logging to stderr and/or syslog (facility authpriv). Never pass a secret. */
#ifndef NHI_LOG_H
#define NHI_LOG_H

#include <stdarg.h>
#include <syslog.h>

#define NHI_LOG_STDERR 0x1
#define NHI_LOG_SYSLOG 0x2

/* ident is kept by pointer (as openlog does). Levels are LOG_* from syslog.h. */
void nhi_log_init(const char *ident, int targets, int max_level);
void nhi_log_set_level(int max_level);
/* "error", "warning", "notice", "info", "debug" -> LOG_*; -1 when unknown. */
int nhi_log_level_from_name(const char *name);

void nhi_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nhi_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define nhi_log_alert(...) nhi_log(LOG_ALERT, __VA_ARGS__)
#define nhi_log_error(...) nhi_log(LOG_ERR, __VA_ARGS__)
#define nhi_log_warning(...) nhi_log(LOG_WARNING, __VA_ARGS__)
#define nhi_log_notice(...) nhi_log(LOG_NOTICE, __VA_ARGS__)
#define nhi_log_info(...) nhi_log(LOG_INFO, __VA_ARGS__)
#define nhi_log_debug(...) nhi_log(LOG_DEBUG, __VA_ARGS__)

/* Copies s into out (size outlen, NUL-terminated) with control characters,
 * backslashes and non-ASCII bytes escaped, so hostile text can be logged. */
const char *nhi_log_sanitize(const char *s, char *out, size_t outlen);

#endif
