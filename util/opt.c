#include "util/opt.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

int sl_parse_count(const char *s, uint64_t min, uint64_t max, const char *what,
		   uint64_t *out, struct sl_err *err)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' is not a number (accepted: %" PRIu64
				  "..%" PRIu64 ")", what, s ? s : "", min, max);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' is not a number (accepted: %" PRIu64
				  "..%" PRIu64 ")", what, s, min, max);
	if (errno == ERANGE || v < min || v > max)
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' is out of range (accepted: %" PRIu64
				  "..%" PRIu64 ")", what, s, min, max);
	*out = v;
	return 0;
}

static const struct {
	const char *suffix;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
};

void sl_format_duration(uint64_t ns, char *buf, size_t n)
{
	for (int i = 3; i >= 0; i--) {
		uint64_t u = duration_units[i].ns;

		if (ns >= u && ns % u == 0) {
			snprintf(buf, n, "%" PRIu64 "%s", ns / u,
				 duration_units[i].suffix);
			return;
		}
	}
	snprintf(buf, n, "%" PRIu64 "ns", ns);
}

void sl_format_span(uint64_t ns, char *buf, size_t n)
{
	uint64_t s = (ns + SL_NS_PER_SEC / 2) / SL_NS_PER_SEC;

	if (ns < SL_NS_PER_MS)
		snprintf(buf, n, "%.0fus", (double)ns / 1e3);
	else if (ns < SL_NS_PER_SEC)
		snprintf(buf, n, "%.0fms", (double)ns / 1e6);
	else if (ns < 60 * SL_NS_PER_SEC)
		snprintf(buf, n, "%.1fs", (double)ns / 1e9);
	else if (s < 3600)
		snprintf(buf, n, "%llum %02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, n, "%lluh %02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60));
}

int sl_parse_duration(const char *s, uint64_t min, uint64_t max,
		      const char *what, uint64_t *out, struct sl_err *err)
{
	char lo[32], hi[32];
	char *end;
	double v;
	size_t i;

	sl_format_duration(min, lo, sizeof(lo));
	sl_format_duration(max, hi, sizeof(hi));
	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		goto bad;
	v = strtod(s, &end);
	if (end == s || !isfinite(v))
		goto bad;
	/* Zero is zero in any unit; any other bare number is ambiguous. */
	if (*end == '\0' && v == 0.0 && min == 0) {
		*out = 0;
		return 0;
	}
	if (*end == '\0')
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' needs a unit (accepted: a number with ns, us, ms or s, e.g. 500ms)",
				  what, s);
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(end, duration_units[i].suffix) == 0)
			break;
	}
	if (i == sizeof(duration_units) / sizeof(duration_units[0]))
		goto bad;
	v *= (double)duration_units[i].ns;
	if (v < (double)min || v > (double)max)
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' is out of range (accepted: %s..%s)",
				  what, s, lo, hi);
	*out = (uint64_t)llround(v);
	return 0;
bad:
	return sl_err_set(err, -EINVAL,
			  "%s: '%s' is not a duration (accepted: a number with ns, us, ms or s, e.g. 500ms)",
			  what, s ? s : "");
}

int sl_parse_ulist(const char *s, uint64_t min, uint64_t max, const char *what,
		   struct sl_ulist *out, struct sl_err *err)
{
	char buf[1024];
	char *save = NULL, *tok;
	struct sl_ulist l = { 0 };

	if (!s || !*s || strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		goto bad;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t a, b;

		if (dash) {
			*dash = '\0';
			if (sl_parse_count(tok, min, max, what, &a, err) < 0 ||
			    sl_parse_count(dash + 1, min, max, what, &b, err) < 0)
				return -EINVAL;
			if (b < a)
				return sl_err_set(err, -EINVAL,
						  "%s: range '%s-%s' runs backwards (accepted: LOW-HIGH, e.g. 1-8)",
						  what, tok, dash + 1);
		} else {
			if (sl_parse_count(tok, min, max, what, &a, err) < 0)
				return -EINVAL;
			b = a;
		}
		for (uint64_t v = a; v <= b; v++) {
			if (l.n == SL_LIST_MAX)
				return sl_err_set(err, -EINVAL,
						  "%s: '%s' has more than %d values",
						  what, s, SL_LIST_MAX);
			/* A value twice would run its points twice and pool
			 * them as one point's repetitions. */
			for (size_t i = 0; i < l.n; i++)
				if (l.v[i] == v)
					return sl_err_set(err, -EINVAL,
							  "%s: %llu appears twice in '%s' (accepted: each value once, e.g. 1,2,4 or 1-8)",
							  what, (unsigned long long)v, s);
			l.v[l.n++] = v;
		}
	}
	*out = l;
	return 0;
bad:
	return sl_err_set(err, -EINVAL,
			  "%s: '%s' is not a list (accepted: N, A,B,C or LOW-HIGH, e.g. 1,2,4 or 1-8)",
			  what, s ? s : "");
}

/* Damerau-free Levenshtein distance over short words. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *sl_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	size_t wl = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t d;

		if (!cands[i])
			continue;
		/* A prefix of a longer name ("mcs" for "spin-mcs") counts as close. */
		d = edit_distance(word, cands[i]);
		if (wl >= 3 && strstr(cands[i], word) && d > 1)
			d = 2;
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	/* Allow one edit per three characters, at least one. */
	if (best && best_d <= (wl < 3 ? 1 : wl / 3 + 1))
		return best;
	return NULL;
}

static size_t count_opts(const struct sl_opt *opts)
{
	size_t n = 0;

	while (opts[n].name)
		n++;
	return n;
}

static int set_value(const struct sl_opt *o, const char *arg, struct sl_err *err)
{
	char what[80];

	snprintf(what, sizeof(what), "--%s", o->name);
	switch (o->type) {
	case SL_OPT_FLAG:
		*(bool *)o->dest = true;
		return 0;
	case SL_OPT_COUNT:
		return sl_parse_count(arg, o->min, o->max, what, o->dest, err);
	case SL_OPT_DURATION:
		return sl_parse_duration(arg, o->min, o->max, what, o->dest, err);
	case SL_OPT_LIST:
		return sl_parse_ulist(arg, o->min, o->max, what, o->dest, err);
	case SL_OPT_STRING:
		*(const char **)o->dest = arg;
		return 0;
	}
	SL_BUG("option type %d", (int)o->type);
}

static int unknown_option(const struct sl_opt *opts, size_t n, const char *word,
			  struct sl_err *err)
{
	const char *names[128];
	char stripped[128];
	const char *s;
	size_t k = n < 128 ? n : 128;

	for (size_t i = 0; i < k; i++)
		names[i] = opts[i].name;
	snprintf(stripped, sizeof(stripped), "%s", word + strspn(word, "-"));
	*strchrnul(stripped, '=') = '\0';
	s = sl_suggest(stripped, names, k);
	if (s)
		return sl_err_set(err, -EINVAL,
				  "unknown option '%s' (did you mean '--%s'?)",
				  word, s);
	return sl_err_set(err, -EINVAL,
			  "unknown option '%s' (see --help for the options)",
			  word);
}

static const struct sl_opt *find_short(const struct sl_opt *opts, size_t n,
				       char c)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].short_name && opts[i].short_name == c)
			return &opts[i];
	return NULL;
}

/*
 * getopt_long accepts any unambiguous prefix of a long option.  synclab
 * does not: a script written against `--thread` would change meaning the
 * day a `--thread-stack` option appears.  Long names must match exactly.
 */
static int check_exact_names(const struct sl_opt *opts, size_t n, int argc,
			     char **argv, struct sl_err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			return 0;
		if (a[0] == '-' && a[1] == '-') {
			size_t len = strcspn(a + 2, "=");
			const struct sl_opt *o = NULL;

			for (size_t k = 0; k < n; k++)
				if (strlen(opts[k].name) == len &&
				    strncmp(opts[k].name, a + 2, len) == 0)
					o = &opts[k];
			if (!o)
				return unknown_option(opts, n, a, err);
			if (o->type != SL_OPT_FLAG && a[2 + len] != '=')
				i++; /* the next word is this option's value */
		} else if (a[0] == '-' && a[1]) {
			/* A cluster of short options: the first that takes a
			 * value consumes the rest, or the next word. */
			for (size_t k = 1; a[k]; k++) {
				const struct sl_opt *o = find_short(opts, n, a[k]);

				if (o && o->type != SL_OPT_FLAG) {
					if (!a[k + 1])
						i++;
					break;
				}
			}
		}
	}
	return 0;
}

int sl_opt_parse(const struct sl_opt *opts, int argc, char **argv,
		 struct sl_err *err)
{
	size_t n = count_opts(opts);
	struct option *lo = calloc(n + 1, sizeof(*lo));
	char shorts[2 * 128 + 2] = ":";
	size_t sp = 1;
	int rc = 0;

	if (!lo)
		return sl_err_set(err, -ENOMEM, "out of memory");
	rc = check_exact_names(opts, n, argc, argv, err);
	if (rc < 0) {
		free(lo);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].type == SL_OPT_FLAG ? no_argument
							   : required_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
		if (opts[i].short_name && sp + 2 < sizeof(shorts)) {
			shorts[sp++] = opts[i].short_name;
			if (opts[i].type != SL_OPT_FLAG)
				shorts[sp++] = ':';
		}
	}
	shorts[sp] = '\0';

	optind = 0; /* full reinitialisation (GNU) */
	opterr = 0;
	for (;;) {
		int li = -1;
		int c = getopt_long(argc, argv, shorts, lo, &li);
		const struct sl_opt *o = NULL;

		if (c == -1)
			break;
		if (c == '?') {
			char word[64];

			if (optopt && optopt < 256)
				snprintf(word, sizeof(word), "-%c", optopt);
			else
				snprintf(word, sizeof(word), "%s", argv[optind - 1]);
			rc = unknown_option(opts, n, word, err);
			break;
		}
		if (c == ':') {
			const struct sl_opt *m = NULL;

			m = optopt >= 256 ? &opts[optopt - 256]
					  : find_short(opts, n, (char)optopt);
			rc = sl_err_set(err, -EINVAL,
					"option '--%s' needs a value (%s)",
					m ? m->name : "?", m && m->arg ? m->arg : "see --help");
			break;
		}
		o = c >= 256 ? &opts[c - 256] : find_short(opts, n, (char)c);
		if (!o)
			SL_BUG("getopt returned %d", c);
		rc = set_value(o, optarg, err);
		if (rc < 0)
			break;
	}
	free(lo);
	return rc < 0 ? rc : optind;
}

static void format_default(const struct sl_opt *o, char *buf, size_t n)
{
	const struct sl_ulist *l;
	size_t used = 0;

	buf[0] = '\0';
	switch (o->type) {
	case SL_OPT_FLAG:
		break;
	case SL_OPT_COUNT:
		snprintf(buf, n, "%" PRIu64, *(const uint64_t *)o->dest);
		break;
	case SL_OPT_DURATION:
		sl_format_duration(*(const uint64_t *)o->dest, buf, n);
		break;
	case SL_OPT_LIST:
		l = o->dest;
		for (unsigned i = 0; i < l->n && used + 24 < n; i++)
			used += (size_t)snprintf(buf + used, n - used, "%s%" PRIu64,
						 i ? "," : "", l->v[i]);
		break;
	case SL_OPT_STRING:
		if (*(const char *const *)o->dest)
			snprintf(buf, n, "%s", *(const char *const *)o->dest);
		break;
	}
}

void sl_opt_usage(FILE *f, const char *usage, const char *summary,
		  const struct sl_opt *opts)
{
	fprintf(f, "usage: %s\n\n%s\n\noptions:\n", usage, summary);
	for (size_t i = 0; opts[i].name; i++) {
		const struct sl_opt *o = &opts[i];
		char lhs[64], def[128];

		if (o->short_name)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->short_name,
				 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		format_default(o, def, sizeof(def));
		fprintf(f, "  %-28s %s", lhs, o->help);
		if (def[0])
			fprintf(f, " [%s]", def);
		fputc('\n', f);
	}
}
