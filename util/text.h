/*
 * Formatting into fixed buffers for display text (tables, reports, chart
 * titles), where a value too long for its field is cut rather than refused.
 */
#ifndef SL_UTIL_TEXT_H
#define SL_UTIL_TEXT_H

#include <stddef.h>

/* snprintf into buf[n], cut to fit. */
void sl_textf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sl_textf after what buf already holds; nothing once buf is full. */
void sl_appendf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
