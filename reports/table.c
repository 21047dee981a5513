/*
 * The terminal table: one line per (primitive, threads) in the order the
 * points were run, summarising its repetitions.  Centres are medians (a
 * single preempted repetition must not move them) and the throughput spread
 * sits next to its centre: the confidence interval and standard deviation
 * relative to the mean (a percentage reads at any rate), then min..max.
 * With a baseline, each line also gives its throughput as a multiple of the
 * baseline's at the same thread count: the median over repetitions of the
 * ratio within each repetition.  Repetitions are interleaved, so the two
 * runs of a pair are seconds apart, and a machine whose speed drifts over
 * minutes moves both alike; the ratio of two medians would not cancel it.
 * Counters that would push a line far past 100 columns move to a second
 * block with the same keys.
 */
#include "reports/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH_GOAL 100
#define GAP "  "

enum {
	C_PRIM,
	C_THREADS,
	C_REPS,
	C_RATE,
	C_VS,                        /* with a baseline only */
	C_CI,
	C_SD,
	C_RANGE,
	C_NSOP,
	C_FAIR,
	C_THREAD_OPS,
	C_MAIN_,                     /* counters follow */
	C_ALL_ = C_MAIN_ + SL_MAX_EVENTS
};

struct cell {
	char s[64];
};

struct group {
	const char *prim;
	unsigned threads;
	struct cell cell[C_ALL_];
	const struct sl_row *failed; /* shown instead of figures */
	bool two_levels;             /* its ops/s fell into two levels */
	bool no_ops;                 /* no repetition completed an operation */
	struct sl_levels levels;
	const struct sl_prim *p;     /* for the names of its events */
	double events[SL_PRIM_EVENTS]; /* per second, medians; NAN: none */
	double busy;                 /* share of its PUs' time its threads
				      * ran, median; NAN: unknown */
	unsigned pus;                /* the PUs its threads were bound to */
	uint64_t longest_ns;         /* its longest window, when it ran over */
	uint64_t asked_ns;           /* the window asked for */
};

struct col {
	char head[80];
	int width;
	bool left;
};

/* Three significant digits with an SI suffix: 12.3M reads at a glance and
 * keeps columns narrow; exact figures are in the CSV. */
static void fmt_si(char *buf, size_t n, double v)
{
	static const char suffix[] = " kMGTPE";
	int k = 0;
	double a;

	if (!isfinite(v)) {
		snprintf(buf, n, "-");
		return;
	}
	a = fabs(v);
	while (a >= 999.5 && k < 6) {
		a /= 1000.0;
		v /= 1000.0;
		k++;
	}
	if (k == 0 && a < 1.0 && a != 0.0)
		snprintf(buf, n, "%.3g", v);
	else if (a >= 99.95)
		snprintf(buf, n, "%.0f", v);
	else if (a >= 9.995)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.2f", v);
	if (k) {
		size_t l = strlen(buf);

		if (l + 1 < n) {
			buf[l] = suffix[k];
			buf[l + 1] = '\0';
		}
	}
}

/* A spread relative to the mean it belongs to: "4.1%". */
static void fmt_pct(char *buf, size_t n, double part, double whole)
{
	double v = 100.0 * part / whole;

	if (!isfinite(v))
		snprintf(buf, n, "-");
	else if (v < 9.95)
		snprintf(buf, n, "%.1f%%", v);
	else
		snprintf(buf, n, "%.0f%%", v);
}

/* Nanoseconds stay unscaled: "12.3k ns" would hide the unit people think in. */
static void fmt_ns(char *buf, size_t n, double v)
{
	if (!isfinite(v))
		snprintf(buf, n, "-");
	else if (v < 100.0)
		snprintf(buf, n, "%.2f", v);
	else if (v < 10000.0)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.0f", v);
}

static const char *prim_name(const struct sl_row *r)
{
	return r->pt->prim && r->pt->prim->name ? r->pt->prim->name : "?";
}

static bool same_group(const struct sl_row *r, const struct group *g)
{
	return r->pt->threads == g->threads && strcmp(prim_name(r), g->prim) == 0;
}

/* A repetition that broke the primitive's promise or hung condemns the
 * group; an interrupted or unsupported one only leaves it out. */
static bool is_failure(enum sl_status s)
{
	return s == SL_STATUS_CHECK_FAILED || s == SL_STATUS_STUCK ||
	       s == SL_STATUS_ERROR;
}

/* Index of event name in the row's own set; rows without a set are taken
 * to use the table's set. */
static int row_event(const struct sl_row *r, const struct sl_counter_set *set,
		     unsigned e)
{
	if (!r->pt->counters)
		return (int)e;
	return sl_counters_find(r->pt->counters, set->ev[e].name);
}

static void fill_counter(struct cell *c, const struct sl_row *rows, size_t n,
			 const struct group *g,
			 const struct sl_counter_set *set, unsigned e,
			 double *scratch)
{
	bool total = strcmp(set->ev[e].name, "cpu-migrations") == 0;
	size_t k = 0;

	if (!set->ev[e].supported) {
		snprintf(c->s, sizeof(c->s), "n/s");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_row *r = &rows[i];
		int idx;
		double v;

		if (!same_group(r, g) || r->res->status != SL_STATUS_OK)
			continue;
		idx = row_event(r, set, e);
		v = idx >= 0 && idx < SL_MAX_EVENTS ? r->res->counter[idx] : NAN;
		if (isnan(v)) {
			snprintf(c->s, sizeof(c->s), "n/s");
			return;
		}
		if (total)
			scratch[k++] = v;
		else if (r->res->ops > 0)
			scratch[k++] = v / (double)r->res->ops;
	}
	fmt_si(c->s, sizeof(c->s), sl_stat_median(scratch, k));
}

/* The group's throughput over the baseline's, repetition by repetition:
 * the median ratio as "0.97x", "1x" on the baseline's own line, "-" when no
 * repetition of the two ran ok at the same thread count. */
static void fill_vs(struct cell *c, const struct sl_row *rows, size_t n,
		    const struct group *g, const char *baseline, double *scratch)
{
	size_t k = 0;

	if (strcmp(g->prim, baseline) == 0) {
		snprintf(c->s, sizeof(c->s), "1x");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sl_row *r = &rows[i];

		if (!same_group(r, g) || r->res->status != SL_STATUS_OK)
			continue;
		for (size_t j = 0; j < n; j++) {
			const struct sl_row *b = &rows[j];

			if (b->pt->threads == r->pt->threads && b->pt->rep == r->pt->rep &&
			    b->res->status == SL_STATUS_OK && b->res->ops_per_sec > 0 &&
			    strcmp(prim_name(b), baseline) == 0) {
				scratch[k++] = r->res->ops_per_sec / b->res->ops_per_sec;
				break;
			}
		}
	}
	if (k == 0) {
		snprintf(c->s, sizeof(c->s), "-");
	} else {
		double v = sl_stat_median(scratch, k);

		/* two decimals where they matter, three digits beyond */
		if (v >= 0.1 && v < 10)
			snprintf(c->s, sizeof(c->s), "%.2fx", v);
		else
			snprintf(c->s, sizeof(c->s), "%.3gx", v);
	}
}

/* The primitive's own events per second of the window, medians over the
 * ok repetitions. */
static void fill_events(struct group *g, const struct sl_row *rows, size_t n,
			double *scratch)
{
	unsigned ne = g->p ? sl_prim_event_count(g->p) : 0;

	for (unsigned e = 0; e < SL_PRIM_EVENTS; e++) {
		size_t k = 0;

		g->events[e] = NAN;
		if (e >= ne)
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct sl_result *res = rows[i].res;

			if (same_group(&rows[i], g) && res->status == SL_STATUS_OK &&
			    !isnan(res->events_per_sec[e]))
				scratch[k++] = res->events_per_sec[e];
		}
		g->events[e] = sl_stat_median(scratch, k);
	}
}

/* Below this share of their PUs' time, a line's threads are said to have
 * left the PUs idle: their waiters slept (or other programs took the PUs);
 * a spinning or running thread keeps its PU busy. */
#define IDLE_NOTE_BELOW 0.8

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The share of its PUs' time a repetition's threads ran: their CPU time
 * over the window times the distinct PUs they were bound to.  NAN when a
 * thread was unbound (its PUs are not known) or CPU time was not
 * measured. */
static double busy_share(const struct sl_result *res, unsigned *npus)
{
	unsigned n = res->threads, distinct = 0;
	int *pu;

	if (!(res->cpu_s > 0) || res->window_ns == 0 || n == 0 || !res->thread)
		return NAN;
	pu = malloc(n * sizeof(*pu));
	if (!pu)
		return NAN;
	for (unsigned i = 0; i < n; i++) {
		if (res->thread[i].pu_bound < 0) {
			free(pu);
			return NAN;
		}
		pu[i] = res->thread[i].pu_bound;
	}
	qsort(pu, n, sizeof(*pu), cmp_int);
	for (unsigned i = 0; i < n; i++)
		distinct += i == 0 || pu[i] != pu[i - 1];
	free(pu);
	*npus = distinct;
	return res->cpu_s / ((double)res->window_ns / 1e9 * distinct);
}

/* The median busy share over the ok repetitions that have one. */
static void fill_busy(struct group *g, const struct sl_row *rows, size_t n,
		      double *scratch)
{
	size_t k = 0;

	g->busy = NAN;
	for (size_t i = 0; i < n; i++) {
		unsigned pus = 0;
		double b;

		if (!same_group(&rows[i], g) || rows[i].res->status != SL_STATUS_OK)
			continue;
		b = busy_share(rows[i].res, &pus);
		if (isnan(b))
			continue;
		scratch[k++] = b;
		g->pus = pus;
	}
	if (k)
		g->busy = sl_stat_median(scratch, k);
}

/* A window that ran this much longer than asked is named under the table. */
#define LONG_WINDOW_OVER 1.5

/* The longest window of the ok repetitions, kept when it ran well over the
 * one asked for: the main thread that ends it waited for a PU. */
static void fill_window(struct group *g, const struct sl_row *rows, size_t n)
{
	g->longest_ns = 0;
	for (size_t i = 0; i < n; i++) {
		const struct sl_row *r = &rows[i];

		if (!same_group(r, g) || r->res->status != SL_STATUS_OK ||
		    !r->pt->duration_ns ||
		    r->res->window_ns <= r->pt->duration_ns * LONG_WINDOW_OVER ||
		    r->res->window_ns <= g->longest_ns)
			continue;
		g->longest_ns = r->res->window_ns;
		g->asked_ns = r->pt->duration_ns;
	}
}

static void fill_group(struct group *g, const struct sl_row *rows, size_t n,
		       const struct sl_counter_set *set, const char *baseline,
		       double *scratch)
{
	double *rate = scratch, *nsop = scratch + n, *fair = scratch + 2 * n;
	double *tmin = scratch + 3 * n, *tmax = scratch + 4 * n;
	double *ratio = scratch + 5 * n;
	const struct sl_row *other = NULL;
	size_t k = 0, kn = 0, kf = 0, total = 0;
	char a[24], b[24];
	double lo, hi;

	for (size_t i = 0; i < n; i++) {
		const struct sl_row *r = &rows[i];

		if (!same_group(r, g))
			continue;
		total++;
		if (r->res->status != SL_STATUS_OK) {
			if (is_failure(r->res->status) && !g->failed)
				g->failed = r;
			if (!other)
				other = r;
			continue;
		}
		rate[k] = r->res->ops_per_sec;
		/* Both are undefined for a window without an operation. */
		if (isfinite(r->res->ns_per_op))
			nsop[kn++] = r->res->ns_per_op;
		if (isfinite(r->res->fairness))
			fair[kf++] = r->res->fairness;
		tmin[k] = (double)r->res->min_thread_ops;
		tmax[k] = (double)r->res->max_thread_ops;
		k++;
	}
	if (k == 0 && !g->failed)
		g->failed = other;

	snprintf(g->cell[C_PRIM].s, sizeof(g->cell[C_PRIM].s), "%s", g->prim);
	snprintf(g->cell[C_THREADS].s, sizeof(g->cell[C_THREADS].s), "%u",
		 g->threads);
	if (k == total)
		snprintf(g->cell[C_REPS].s, sizeof(g->cell[C_REPS].s), "%zu", k);
	else
		snprintf(g->cell[C_REPS].s, sizeof(g->cell[C_REPS].s), "%zu/%zu",
			 k, total);
	if (g->failed)
		return;

	fmt_si(g->cell[C_RATE].s, sizeof(g->cell[C_RATE].s),
	       sl_stat_median(rate, k));
	g->two_levels = sl_stat_two_levels(rate, k, &g->levels);
	g->no_ops = kn == 0;
	if (baseline)
		fill_vs(&g->cell[C_VS], rows, n, g, baseline, ratio);
	/* Both need two repetitions; with one they show "-". */
	if (sl_stat_mean_ci(rate, k, 0.95, &lo, &hi) == 0)
		fmt_pct(g->cell[C_CI].s, sizeof(g->cell[C_CI].s), (hi - lo) / 2.0,
			sl_stat_mean(rate, k));
	else
		snprintf(g->cell[C_CI].s, sizeof(g->cell[C_CI].s), "-");
	fmt_pct(g->cell[C_SD].s, sizeof(g->cell[C_SD].s),
		k >= 2 ? sl_stat_stddev(rate, k) : NAN, sl_stat_mean(rate, k));
	fmt_si(a, sizeof(a), sl_stat_min(rate, k));
	fmt_si(b, sizeof(b), sl_stat_max(rate, k));
	snprintf(g->cell[C_RANGE].s, sizeof(g->cell[C_RANGE].s), "%s..%s", a, b);
	fmt_ns(g->cell[C_NSOP].s, sizeof(g->cell[C_NSOP].s),
	       kn ? sl_stat_median(nsop, kn) : NAN);
	if (kf)
		snprintf(g->cell[C_FAIR].s, sizeof(g->cell[C_FAIR].s), "%.4f",
			 sl_stat_median(fair, kf));
	else
		snprintf(g->cell[C_FAIR].s, sizeof(g->cell[C_FAIR].s), "-");
	/* Per-thread extremes: medians over repetitions of each rep's
	 * slowest and fastest thread. */
	fmt_si(a, sizeof(a), sl_stat_median(tmin, k));
	fmt_si(b, sizeof(b), sl_stat_median(tmax, k));
	snprintf(g->cell[C_THREAD_OPS].s, sizeof(g->cell[C_THREAD_OPS].s),
		 "%s..%s", a, b);
	for (unsigned e = 0; set && e < set->n && e < SL_MAX_EVENTS; e++)
		fill_counter(&g->cell[C_MAIN_ + e], rows, n, g, set, e, scratch);
	fill_events(g, rows, n, scratch);
	fill_busy(g, rows, n, scratch);
	fill_window(g, rows, n);
}

static int line_width(const struct col *cols, const int *ids, size_t nids)
{
	int w = 0;

	for (size_t i = 0; i < nids; i++)
		w += cols[ids[i]].width + (i ? (int)strlen(GAP) : 0);
	return w;
}

static void print_cells(FILE *f, const struct col *cols, const int *ids,
			size_t nids, const struct group *g)
{
	for (size_t i = 0; i < nids; i++) {
		const struct col *c = &cols[ids[i]];
		const char *s = g ? g->cell[ids[i]].s : c->head;
		bool last = i + 1 == nids;

		if (i)
			fputs(GAP, f);
		/* No trailing blanks after a left-aligned last column. */
		if (c->left && last)
			fputs(s, f);
		else if (c->left)
			fprintf(f, "%-*s", c->width, s);
		else
			fprintf(f, "%*s", c->width, s);
	}
}

static void print_failure(FILE *f, const struct col *cols, const int *ids,
			  size_t nids, const struct group *g)
{
	const struct sl_result *res = g->failed->res;

	print_cells(f, cols, ids, nids, g);
	fprintf(f, GAP "%s%s%s\n", sl_status_name(res->status),
		res->message[0] ? ": " : "", res->message);
}

/* A note under the table's legend: a heading, a line for each group it
 * applies to, and what to make of them.  Nothing when none applies. */
struct note {
	const char *head;                          /* after a blank line */
	bool (*applies)(const struct group *g);
	void (*line)(FILE *f, const struct group *g);
	const char *tail;                          /* NULL: none */
};

static void print_note(FILE *f, const struct group *groups, size_t ng,
		       const struct note *n)
{
	bool any = false;

	for (size_t j = 0; j < ng; j++) {
		const struct group *g = &groups[j];

		if (g->failed || !n->applies(g))
			continue;
		if (!any)
			fprintf(f, "\n%s", n->head);
		any = true;
		n->line(f, g);
	}
	if (any && n->tail)
		fputs(n->tail, f);
}

/* Lines whose repetitions split into two levels: their median and spread
 * describe neither, so say so under the table. */
static bool has_levels(const struct group *g)
{
	return g->two_levels;
}

static void levels_line(FILE *f, const struct group *g)
{
	char lo[24], hi[24];

	fmt_si(lo, sizeof(lo), g->levels.low);
	fmt_si(hi, sizeof(hi), g->levels.high);
	fprintf(f, "two levels: %s at %u threads: %zu runs near %s ops/s, %zu near %s\n",
		g->prim, g->threads, g->levels.nlow, lo, g->levels.nhigh, hi);
}

static const struct note levels_note = {
	"", has_levels, levels_line,
	"  the machine changed between repetitions (a VM's host may move its vCPUs):\n"
	"  the median mixes the levels; compare runs of one level, or pair\n"
	"  repetitions with --baseline\n",
};

/* Lines whose threads left their PUs idle for much of the window: a lock
 * whose waiters sleep can gain ops/s that way, as the threads still
 * running meet less cache-line traffic; say so, or the rate misleads. */
static bool was_idle(const struct group *g)
{
	return g->busy < IDLE_NOTE_BELOW;
}

static void idle_line(FILE *f, const struct group *g)
{
	fprintf(f, "  %s at %u threads: %u PU%s, %.0f%% busy\n", g->prim,
		g->threads, g->pus, g->pus == 1 ? "" : "s", 100.0 * g->busy);
}

static const struct note idle_note = {
	"idle PUs: CPU time of the threads over the window and the PUs they were\n"
	"bound to, medians over repetitions\n",
	was_idle, idle_line,
	"  waiters that sleep leave their PU idle (or to other programs); the\n"
	"  threads still running meet less cache-line traffic, so ops/s can rise\n"
	"  as more threads sleep (cpu_s in the CSV; 'synclab demo idle-wins'\n"
	"  shows it and its price)\n",
};

/* Lines whose windows saw no operation complete: their 0 ops/s is a
 * measurement, but of a window too short for one operation. */
static bool had_no_ops(const struct group *g)
{
	return g->no_ops;
}

static void no_ops_line(FILE *f, const struct group *g)
{
	fprintf(f, "  %s at %u threads\n", g->prim, g->threads);
}

static const struct note no_ops_note = {
	"no operation completed in any window:\n", had_no_ops, no_ops_line,
	"  one operation took longer than the window (with more threads than PUs a\n"
	"  spin barrier's phase waits for every thread's turn on a PU): a longer\n"
	"  --duration or fewer threads measures it\n",
};

/* Lines whose window ran well over the one asked for.  Their rates are
 * still per second of the window measured, but it is not the one asked for,
 * and CPU time was read at its edges thread by thread, as late. */
static bool ran_long(const struct group *g)
{
	return g->longest_ns != 0;
}

static void long_window_line(FILE *f, const struct group *g)
{
	fprintf(f, "  %s at %u threads: %.3g s for %.3g s\n", g->prim, g->threads,
		(double)g->longest_ns / 1e9, (double)g->asked_ns / 1e9);
}

static const struct note long_window_note = {
	"long windows: the longest window measured, against the one asked for\n",
	ran_long, long_window_line,
	"  the thread that keeps the time waited for a PU among the workers; run\n"
	"  as root (or with CAP_SYS_NICE or an RLIMIT_RTPRIO) it takes a real-time\n"
	"  priority while they outnumber their PUs and ends the window on time\n",
};

/* What the primitives counted themselves (sleeps, wake-ups, yields), for
 * the lines where they counted anything: how they waited, beside how fast. */
static bool counted_events(const struct group *g)
{
	unsigned ne = g->p ? sl_prim_event_count(g->p) : 0;

	for (unsigned e = 0; e < ne; e++)
		if (isfinite(g->events[e]) && g->events[e] > 0)
			return true;
	return false;
}

static void events_line(FILE *f, const struct group *g)
{
	unsigned ne = sl_prim_event_count(g->p);

	fprintf(f, "  %s at %u threads:", g->prim, g->threads);
	for (unsigned e = 0; e < ne; e++) {
		char v[24];

		fmt_si(v, sizeof(v), g->events[e]);
		fprintf(f, "%s %s %s/s", e ? "," : "", v, g->p->event_names[e]);
	}
	fputc('\n', f);
}

static const struct note events_note = {
	"what the primitives counted themselves (see their entries in synclab(1)),\n"
	"per second of the window, medians over repetitions\n",
	counted_events, events_line, NULL,
};

void sl_table_print(FILE *f, const struct sl_row *rows, size_t n,
		    const struct sl_counter_set *counters, const char *baseline)
{
	static const int keys[] = { C_PRIM, C_THREADS, C_REPS };
	int main_ids[C_ALL_], cnt_ids[C_ALL_];
	struct col cols[C_ALL_] = {
		[C_PRIM] = { "primitive", 9, true },
		[C_THREADS] = { "threads", 7, false },
		[C_REPS] = { "reps", 4, false },
		[C_RATE] = { "ops/s", 8, false },
		[C_VS] = { "", 5, false },
		[C_CI] = { "ci95", 5, false },
		[C_SD] = { "sd", 5, false },
		[C_RANGE] = { "ops/s min..max", 14, false },
		[C_NSOP] = { "ns/op", 8, false },
		[C_FAIR] = { "fairness", 8, false },
		[C_THREAD_OPS] = { "ops/thread min..max", 19, false },
	};
	unsigned nev = counters ? counters->n : 0;
	struct group *groups;
	double *scratch;
	size_t ng = 0, nmain = 0, ncnt = 0;
	bool split;

	if (n == 0) {
		fprintf(f, "no results\n");
		return;
	}
	if (nev > SL_MAX_EVENTS)
		nev = SL_MAX_EVENTS;
	groups = calloc(n, sizeof(*groups));
	scratch = calloc(6 * n, sizeof(*scratch));
	if (!groups || !scratch) {
		fprintf(f, "(table not printed: out of memory)\n");
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < ng; j++)
			if (same_group(&rows[i], &groups[j]))
				break;
		if (j == ng) {
			groups[ng].prim = prim_name(&rows[i]);
			groups[ng].p = rows[i].pt->prim;
			groups[ng].threads = rows[i].pt->threads;
			ng++;
		}
	}
	for (size_t j = 0; j < ng; j++)
		fill_group(&groups[j], rows, n, counters, baseline, scratch);
	if (baseline)
		snprintf(cols[C_VS].head, sizeof(cols[C_VS].head), "vs %s", baseline);

	for (unsigned e = 0; e < nev; e++) {
		struct col *c = &cols[C_MAIN_ + e];
		const char *name = counters->ev[e].name;

		/* Migrations are rare events: a total reads better than 1e-7/op. */
		if (strcmp(name, "cpu-migrations") == 0)
			snprintf(c->head, sizeof(c->head), "%s", name);
		else
			snprintf(c->head, sizeof(c->head), "%s/op", name);
		c->width = 8;
	}
	/* Widen every column to its header and its widest cell. */
	for (int k = 0; k < C_MAIN_ + (int)nev; k++) {
		int w = (int)strlen(cols[k].head);

		if (w > cols[k].width)
			cols[k].width = w;
		for (size_t j = 0; j < ng; j++) {
			w = (int)strlen(groups[j].cell[k].s);
			if (w > cols[k].width)
				cols[k].width = w;
		}
	}

	for (int k = 0; k < C_MAIN_; k++)
		if (k != C_VS || baseline)
			main_ids[nmain++] = k;
	for (size_t k = 0; k < 2; k++)
		cnt_ids[ncnt++] = keys[k];
	for (unsigned e = 0; e < nev; e++)
		cnt_ids[ncnt++] = C_MAIN_ + (int)e;
	split = nev > 0 &&
		line_width(cols, main_ids, nmain) + (int)strlen(GAP) +
		line_width(cols, cnt_ids + 2, ncnt - 2) > WIDTH_GOAL;
	if (!split) {
		for (unsigned e = 0; e < nev; e++)
			main_ids[nmain++] = C_MAIN_ + (int)e;
	}

	print_cells(f, cols, main_ids, nmain, NULL);
	fputc('\n', f);
	for (size_t j = 0; j < ng; j++) {
		if (groups[j].failed) {
			print_failure(f, cols, keys, 3, &groups[j]);
			continue;
		}
		print_cells(f, cols, main_ids, nmain, &groups[j]);
		fputc('\n', f);
	}
	if (split) {
		fprintf(f, "\ncounters (median over repetitions; cpu-migrations in total)\n");
		print_cells(f, cols, cnt_ids, ncnt, NULL);
		fputc('\n', f);
		for (size_t j = 0; j < ng; j++) {
			if (groups[j].failed)
				continue;
			print_cells(f, cols, cnt_ids, ncnt, &groups[j]);
			fputc('\n', f);
		}
	}
	fprintf(f, "\nops/s and ns/op: medians over ok repetitions; "
		   "fairness: Jain's index, 1 = equal shares\n"
		   "ci95: half-width of the 95%% confidence interval of the mean ops/s "
		   "(Student t), in %% of the mean\n"
		   "sd: standard deviation of ops/s over the ok repetitions, in %% of the mean\n");
	if (baseline)
		fprintf(f, "vs %s: ops/s over %s's in the same repetition, median over "
			   "repetitions\n", baseline, baseline);
	if (nev)
		fprintf(f, "n/s: not supported on this machine\n");
	print_note(f, groups, ng, &events_note);
	print_note(f, groups, ng, &idle_note);
	print_note(f, groups, ng, &long_window_note);
	print_note(f, groups, ng, &no_ops_note);
	print_note(f, groups, ng, &levels_note);
out:
	free(groups);
	free(scratch);
}
