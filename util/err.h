/*
 * Errors below cmd/: functions return 0 or a negative errno-style code and
 * fill a struct sl_err with one line that names what went wrong.  Only cmd/
 * turns an error into an exit status and prints it.
 *
 * Message style: lowercase first word, no full stop, the offending word in
 * single quotes, the accepted form after it:
 *     --threads: '0' is out of range (accepted: 1..4096)
 */
#ifndef SL_UTIL_ERR_H
#define SL_UTIL_ERR_H

#include <stdarg.h>

#define SL_ERR_MAX 512

struct sl_err {
	char msg[SL_ERR_MAX];
};

/* Format the message into err (if err is not NULL) and return code, which
 * should be negative, so that `return sl_err_set(err, -EINVAL, ...)` reads
 * naturally. */
int sl_err_set(struct sl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like sl_err_set, but prefixes the existing message with the new text and
 * ": " so that context accumulates on the way up. */
int sl_err_wrap(struct sl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A broken internal invariant: prints file, function, line and message,
 * then aborts.  Never for user input. */
#define SL_BUG(...) sl_bug(__FILE__, __func__, __LINE__, __VA_ARGS__)
_Noreturn void sl_bug(const char *file, const char *func, int line,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
