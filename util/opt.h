/*
 * Declarative option tables.  A command describes each option once, as a row
 * pointing into its own local config struct; from the table this module builds
 * the getopt_long array, the --help text (with the current value of each
 * destination shown as the default), and every range and unit check.
 *
 * Accepted value forms:
 *   COUNT     decimal integer within [min, max]
 *   DURATION  decimal number with a unit: ns, us, ms, s (e.g. 500ms, 1.5s)
 *   LIST      counts and ranges joined by commas: 16, 1,2,4,16, 1-8, 1-4,8
 *   STRING    any text; the command validates it
 *   FLAG      no value
 */
#ifndef SL_UTIL_OPT_H
#define SL_UTIL_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

#define SL_LIST_MAX 256

struct sl_ulist {
	unsigned n;
	uint64_t v[SL_LIST_MAX];
};

enum sl_opt_type {
	SL_OPT_FLAG,     /* bool */
	SL_OPT_COUNT,    /* uint64_t */
	SL_OPT_DURATION, /* uint64_t, nanoseconds */
	SL_OPT_LIST,     /* struct sl_ulist */
	SL_OPT_STRING,   /* const char * */
};

struct sl_opt {
	const char *name;   /* long name without dashes */
	char short_name;    /* 0 when none */
	enum sl_opt_type type;
	void *dest;
	uint64_t min, max;  /* COUNT, DURATION and LIST elements */
	const char *arg;    /* placeholder in --help, e.g. "N" */
	const char *help;   /* one line; the unit belongs here */
};

#define SL_OPT_END { NULL, 0, SL_OPT_FLAG, NULL, 0, 0, NULL, NULL }

/*
 * Parse argv against opts.  Non-option arguments are permuted to the end, as
 * GNU getopt does; on success returns the index of the first of them.  On a
 * bad option or value returns -EINVAL with err naming the offending word and
 * the accepted form (and a close option name when there is one).
 */
int sl_opt_parse(const struct sl_opt *opts, int argc, char **argv,
		 struct sl_err *err);

/* Print "usage: USAGE", the summary paragraph and one line per option with
 * its current (default) value. */
void sl_opt_usage(FILE *f, const char *usage, const char *summary,
		  const struct sl_opt *opts);

/* Value parsers, also used directly by commands for positional arguments.
 * what names the option or argument in the error message. */
int sl_parse_count(const char *s, uint64_t min, uint64_t max, const char *what,
		   uint64_t *out, struct sl_err *err);
int sl_parse_duration(const char *s, uint64_t min, uint64_t max,
		      const char *what, uint64_t *out, struct sl_err *err);
int sl_parse_ulist(const char *s, uint64_t min, uint64_t max, const char *what,
		   struct sl_ulist *out, struct sl_err *err);

/* Format a duration in the largest unit that keeps it exact-ish ("500ms"). */
void sl_format_duration(uint64_t ns, char *buf, size_t n);

/* Format a measured span to two or three figures: "840us", "217ms",
 * "20.0s", "1m 05s", "2h 03m". */
void sl_format_span(uint64_t ns, char *buf, size_t n);

/* The candidate closest to word by edit distance, or NULL when none is close
 * enough to be a plausible typo. */
const char *sl_suggest(const char *word, const char *const *cands, size_t n);

#endif
