#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sl_err_set(struct sl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int sl_err_wrap(struct sl_err *err, int code, const char *fmt, ...)
{
	char prefix[SL_ERR_MAX / 4];
	char inner[SL_ERR_MAX / 2];
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* Keep the head of both parts when the whole would not fit. */
	snprintf(inner, sizeof(inner), "%.*s", (int)sizeof(inner) - 1, err->msg);
	snprintf(err->msg, sizeof(err->msg), "%.*s: %.*s",
		 (int)sizeof(prefix) - 1, prefix, (int)sizeof(inner) - 1, inner);
	return code;
}

void sl_bug(const char *file, const char *func, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "synclab: BUG at %s:%d in %s(): ", file, line, func);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
