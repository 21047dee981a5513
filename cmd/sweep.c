/*
 * synclab sweep: measure a grid (primitives x contention dials x thread
 * counts x repetitions) into one out directory: results.csv, one row per
 * run, written as each point completes, then the table and the charts.
 *
 * Dials multiply only the primitives whose workload reads them (see
 * workloads/plan.h).  Every input is checked before anything runs; the plan
 * and its estimated time are printed before the first point; on a terminal
 * a progress line is redrawn on stderr.  A stuck or failing point becomes a
 * failed row and the sweep goes on; SIGINT or SIGTERM keeps every completed
 * row and exits 130; --resume runs only the points whose ok row is missing.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "reports/env.h"
#include "primitives/prim.h"
#include "reports/csvread.h"
#include "reports/report.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/opt.h"
#include "workloads/plan.h"

/* Writing the table, the charts and the other reports after the last point:
 * a fixed allowance in the estimate (rendering charts takes well under it). */
#define REPORTS_NS (1 * SL_NS_PER_SEC)

/* A question the grid answers: primitives and the dials that matter. */
struct preset {
	const char *name;
	const char *summary;
	const char *prims;
	const char *dial[SL_DIAL_COUNT_]; /* a list, or NULL: the default */
};

static const struct preset presets[] = {
	{ "locks", "which lock scales: spinlocks and mutexes against their glibc baselines, empty and 1 us critical sections",
	  "spin-ttas,spin-ticket,spin-mcs,pthread-spin,mutex,mutex-fair,adaptive,pthread-mutex",
	  { [SL_DIAL_CS_NS] = "0,1000" } },
	{ "spin", "every spinlock and its peers, empty and 200 ns critical sections",
	  "spin-tas,spin-ttas,spin-ticket,spin-mcs,spin-clh,pthread-spin,ck-ticket,ck-mcs",
	  { [SL_DIAL_CS_NS] = "0,200" } },
	{ "mutexes", "every sleeping lock, empty and 1 us critical sections, with and without 1 us between ops",
	  "mutex,mutex-fair,adaptive,mutex-pi,pthread-mutex,pthread-adaptive,pthread-pi",
	  { [SL_DIAL_CS_NS] = "0,1000", [SL_DIAL_THINK_NS] = "0,1000" } },
	{ "rw", "reader-writer locks at 50, 90 and 99% reads, and a plain mutex for reference",
	  "rwlock,rwlock-rpref,rwlock-percpu,rwlock-biased,pthread-rwlock,pthread-rwlock-wpref,ck-rwlock,mutex",
	  { [SL_DIAL_READ_PCT] = "50,90,99" } },
	{ "rcu", "RCU flavours against the futex rwlock at 90 and 99% reads",
	  "rcu-qsbr,rcu-epoch,rcu-epoch-fence,urcu-memb,urcu-qsbr,rwlock",
	  { [SL_DIAL_READ_PCT] = "90,99" } },
	{ "queues", "queues and stacks, lock-free against lock-based, 1024 slots for bounded ones",
	  "queue-ms,ring-mpmc,queue-mutex,ck-ring,urcu-wfcq,stack-treiber,stack-mutex",
	  { [SL_DIAL_CAPACITY] = "1024" } },
	{ "sync", "semaphores (1 and 4 permits), condition variables and barriers",
	  "sem,posix-sem,condvar,pthread-cond,barrier-sense,barrier-futex,pthread-barrier",
	  { [SL_DIAL_PERMITS] = "1,4" } },
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

struct sweep_conf {
	const char *prims, *preset, *out, *pin, *counters, *baseline;
	struct sl_ulist threads;               /* n == 0: not given */
	struct sl_ulist dial[SL_DIAL_COUNT_];  /* n == 0: not given */
	uint64_t duration_ns, warmup_ns, stall_timeout_ns, repeat;
	uint64_t latency_period, timeline_ns;
	bool latency, resume, dry_run, quiet, help;
};

static const char sweep_usage[] =
	"synclab sweep [options] (--prims LIST | --preset NAME)";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error whose message names a path or another message. */
static int usage(const char *fmt, ...)
{
	char msg[PATH_MAX + 1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sl_usage_error("sweep", msg);
}

static const struct preset *find_preset(const char *name)
{
	for (size_t i = 0; i < NPRESETS; i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

static int unknown_preset(const char *name)
{
	const char *names[NPRESETS];
	char msg[512], list[256] = "";
	const char *s;

	for (size_t i = 0; i < NPRESETS; i++) {
		names[i] = presets[i].name;
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? ", " : "", presets[i].name);
	}
	s = sl_suggest(name, names, NPRESETS);
	if (s)
		snprintf(msg, sizeof(msg), "--preset: unknown preset '%s' (did you mean '%s'?)",
			 name, s);
	else
		snprintf(msg, sizeof(msg), "--preset: unknown preset '%s' (accepted: %s)",
			 name, list);
	return sl_usage_error("sweep", msg);
}

/* 1 .. 2x PUs: the powers of two below twice the PU count, the PU count
 * itself (where the machine is full) and twice it (oversubscribed). */
static void default_threads(struct sl_ulist *l, unsigned pus)
{
	unsigned top = 2 * pus > 4096 ? 4096 : 2 * pus;

	l->n = 0;
	for (unsigned t = 1; t < top; t *= 2)
		l->v[l->n++] = t;
	if (pus < top) {
		unsigned i = l->n;

		while (i > 0 && l->v[i - 1] > pus)
			i--;
		if (i == 0 || l->v[i - 1] != pus) {
			memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(l->v[0]));
			l->v[i] = pus;
			l->n++;
		}
	}
	l->v[l->n++] = top;
}

static void format_list(char *buf, size_t n, const struct sl_ulist *l)
{
	size_t used = 0;

	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < l->n && used + 24 < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%llu", i ? "," : "",
					 (unsigned long long)l->v[i]);
	/* Cut short: say so right after the last value shown. */
	if (i < l->n)
		snprintf(buf + used, n - used, ",... (%u values)", l->n);
}

/* The dials that vary in this grid and apply to the item, with values:
 * "cs-ns 100 ns, read-pct 90 %"; "" when none. */
static void describe_setting(char *buf, size_t n, const struct sl_grid *g,
			     const struct sl_point *pt)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int d = 0; d < SL_DIAL_COUNT_ && used + 2 < n; d++) {
		const struct sl_dial_info *di = sl_dial_info((enum sl_dial)d);

		if (g->dial[d].n < 2 || !sl_dial_applies((enum sl_dial)d, pt->prim->kind))
			continue;
		used += (size_t)snprintf(buf + used, n - used, "%s%s %llu%s%s",
					 used ? ", " : "", di->option,
					 (unsigned long long)sl_dial_get(pt, (enum sl_dial)d),
					 di->unit[0] ? " " : "", di->unit);
	}
	if (used >= n)
		buf[n - 1] = '\0';
}

/* "mutex, 4 threads, cs-ns 100 ns, rep 2/3" */
static void describe_point(char *buf, size_t n, const struct sl_grid *g,
			   const struct sl_point *pt)
{
	char setting[256];

	describe_setting(setting, sizeof(setting), g, pt);
	snprintf(buf, n, "%s, %u thread%s%s%s, rep %u/%u", pt->prim->name,
		 pt->threads, pt->threads == 1 ? "" : "s", setting[0] ? ", " : "",
		 setting, pt->rep, g->repeat);
}

/* --- resume ---------------------------------------------------------------- */

/* The columns that identify a run: the point's key, as compare and the
 * summary match points (reports/summary.c), and the repetition. */
#define MAX_KEYS 32
static size_t resume_keys(const char *keys[MAX_KEYS])
{
	const char *const *point = sl_point_key_columns();
	size_t n = 0;

	while (point[n] && n + 1 < MAX_KEYS) {
		keys[n] = point[n];
		n++;
	}
	keys[n++] = "rep";
	return n;
}

static int column_index(const char *name)
{
	for (size_t i = 0; i < sl_column_count(); i++)
		if (strcmp(sl_column_at(i)->name, name) == 0)
			return (int)i;
	return -1;
}

/* Undo CSV quoting in place: the reader hands back unquoted cells. */
static void unquote(char *s)
{
	char *r = s, *w = s;

	if (*s != '"')
		return;
	r++;
	while (*r) {
		if (r[0] == '"' && r[1] == '"') {
			*w++ = '"';
			r += 2;
		} else if (r[0] == '"') {
			break;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* The key of an item as its row would carry it: the key columns joined by
 * the unit separator, which no field holds. */
static int item_key(const struct sl_session *s, const struct sl_plan_item *it,
		    char *buf, size_t n)
{
	struct sl_result none;
	struct sl_row row;
	size_t used = 0;
	char cell[256];

	const char *keys[MAX_KEYS];
	size_t nkeys = resume_keys(keys);

	memset(&none, 0, sizeof(none));
	none.status = SL_STATUS_OK;
	row = (struct sl_row){ &it->pt, &none, &s->meta, &s->calib };
	for (size_t k = 0; k < nkeys; k++) {
		int c = column_index(keys[k]);

		if (c < 0)
			return -ENOENT;
		sl_column_format((size_t)c, &row, cell, sizeof(cell));
		unquote(cell);
		used += (size_t)snprintf(buf + used, n > used ? n - used : 0, "%s%s",
					 k ? "\x1f" : "", cell);
	}
	return used < n ? 0 : -ENOSPC;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Mark DONE every pending item that has an ok row in d.  Returns how many,
 * or -ENOMEM. */
static long mark_done(const struct sl_session *s, struct sl_plan *plan,
		      const struct sl_csvdata *d)
{
	const char *names[MAX_KEYS];
	const size_t ncols = resume_keys(names);
	int col[MAX_KEYS], status = sl_csv_column(d, "status");
	char **keys = calloc(d->nrows ? d->nrows : 1, sizeof(*keys));
	size_t nkeys = 0;
	long marked = 0;

	if (!keys)
		return -ENOMEM;
	for (size_t k = 0; k < ncols; k++)
		col[k] = sl_csv_column(d, names[k]);
	for (size_t r = 0; r < d->nrows; r++) {
		size_t len = 1;
		char *key;

		if (strcmp(sl_csv_cell(d, r, status), "ok") != 0)
			continue;
		for (size_t k = 0; k < ncols; k++)
			len += strlen(sl_csv_cell(d, r, col[k])) + 1;
		key = malloc(len);
		if (!key) {
			marked = -ENOMEM;
			goto out;
		}
		key[0] = '\0';
		for (size_t k = 0; k < ncols; k++) {
			if (k)
				strcat(key, "\x1f");
			strcat(key, sl_csv_cell(d, r, col[k]));
		}
		keys[nkeys++] = key;
	}
	qsort(keys, nkeys, sizeof(*keys), compare_keys);
	for (size_t i = 0; i < plan->n; i++) {
		char buf[2048], *p = buf;

		if (plan->item[i].state != SL_ITEM_PENDING ||
		    item_key(s, &plan->item[i], buf, sizeof(buf)) < 0)
			continue;
		if (bsearch(&p, keys, nkeys, sizeof(*keys), compare_keys)) {
			plan->item[i].state = SL_ITEM_DONE;
			marked++;
		}
	}
out:
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	return marked;
}

/* The file's header must be this build's, column for column. */
static bool same_columns(const struct sl_csvdata *d)
{
	if (d->ncols != sl_column_count())
		return false;
	for (size_t i = 0; i < d->ncols; i++)
		if (strcmp(d->header[i], sl_column_at(i)->name) != 0)
			return false;
	return true;
}

/* --- the plan ---------------------------------------------------------- */

struct plan_summary {
	size_t pending, done;
	uint64_t estimate_ns;       /* the pending points and the reports */
	uint64_t overhead_lo, overhead_hi;
};

static void print_plan(FILE *f, const struct sl_grid *g,
		       const struct sl_plan *plan, const struct plan_summary *ps,
		       const char *csv_path, const char *dropped)
{
	char buf[512], est[32], win[32], warm[32];
	size_t used;
	bool any_fixed = false;

	sl_format_span(ps->estimate_ns, est, sizeof(est));
	sl_format_duration(g->duration_ns, win, sizeof(win));
	sl_format_duration(g->warmup_ns, warm, sizeof(warm));
	fprintf(f, "sweep: %zu point%s to run, estimated %s", ps->pending,
		ps->pending == 1 ? "" : "s", est);
	if (ps->done)
		fprintf(f, " (%zu already in %s)", ps->done, csv_path);
	fputc('\n', f);
	fprintf(f, "  per point    %s warm-up + %s window + %.1f..%.1f ms harness overhead (measured); %.0f s for the reports\n",
		warm, win, (double)ps->overhead_lo / 1e6, (double)ps->overhead_hi / 1e6,
		(double)REPORTS_NS / 1e9);

	used = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < g->nprims && used + 2 < sizeof(buf); k++) {
		size_t n = 0;

		for (size_t i = 0; i < plan->n; i++)
			n += plan->item[i].prim_index == k;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s %zu",
					 k ? ", " : "", g->prim[k]->name, n);
	}
	fprintf(f, "  points       %s\n", buf);
	format_list(buf, sizeof(buf), &g->threads);
	fprintf(f, "  threads      %s\n", buf);
	fprintf(f, "  repeat       %u\n", g->repeat);
	for (int d = 0; d < SL_DIAL_COUNT_; d++) {
		const struct sl_dial_info *di = sl_dial_info((enum sl_dial)d);
		char kinds[128] = "";
		bool used_by_some = false;

		for (int k = 0; k < SL_KIND_COUNT_; k++) {
			bool in_grid = false;

			for (unsigned p = 0; p < g->nprims; p++)
				in_grid |= (int)g->prim[p]->kind == k;
			if (!in_grid || !sl_dial_applies((enum sl_dial)d, (enum sl_prim_kind)k))
				continue;
			used_by_some = true;
			snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds),
				 "%s%s", kinds[0] ? ", " : "",
				 sl_prim_kind_name((enum sl_prim_kind)k));
		}
		if (!used_by_some || g->dial[d].n < 2)
			continue;
		format_list(buf, sizeof(buf), &g->dial[d]);
		fprintf(f, "  %-12s %s%s%s (multiplies %s points)\n", di->option, buf,
			di->unit[0] ? " " : "", di->unit, kinds);
	}
	used = 0;
	buf[0] = '\0';
	for (int d = 0; d < SL_DIAL_COUNT_; d++) {
		const struct sl_dial_info *di = sl_dial_info((enum sl_dial)d);
		bool applies = false;

		for (unsigned p = 0; p < g->nprims; p++)
			applies |= sl_dial_applies((enum sl_dial)d, g->prim[p]->kind);
		if (!applies || g->dial[d].n != 1 || used + 2 >= sizeof(buf))
			continue;
		any_fixed = true;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s %llu%s%s",
					 used ? ", " : "", di->option,
					 (unsigned long long)g->dial[d].v[0],
					 di->unit[0] ? " " : "", di->unit);
	}
	if (any_fixed)
		fprintf(f, "  fixed        %s\n", buf);
	if (plan->rejected)
		fprintf(f, "  left out     %zu combination%s the workload refuses (first: %s)\n",
			plan->rejected, plan->rejected == 1 ? "" : "s",
			plan->rejected_why);
	if (dropped[0])
		fprintf(f, "  left out     %s\n", dropped);
	fprintf(f, "  results      %s\n", csv_path);
}

/* --- running ----------------------------------------------------------- */

struct sweep_run {
	const struct sl_session *s;
	const struct sl_grid *g;
	const struct sl_overhead *over;
	struct sl_csv *csv;
	struct sl_timeline *timeline; /* --timeline: DIR/timeline.csv */
	bool progress;          /* redraw a line on the terminal */
	bool line_shown;
	uint64_t t0;
	uint64_t est_finished;  /* estimates of the points finished so far */
	uint64_t est_total;
	size_t k, total;
	/* The point on the progress line: what it is, when it started and
	 * how much time was estimated to be left then. */
	char what[384];
	uint64_t point_t0, left_at_start;
	double leaked_pus;      /* what stuck points' threads keep busy */
	size_t beside_leaked;   /* points measured while they did */
};

static void clear_line(struct sweep_run *r)
{
	if (r->line_shown) {
		fputs("\r\033[K", stderr);
		r->line_shown = false;
	}
}

static unsigned terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/* Redraw the progress line, its clocks as of now. */
static void draw_progress(struct sweep_run *r)
{
	char line[640], el[32], left[32];
	uint64_t now = sl_now_ns(), since = now - r->point_t0;
	unsigned width;

	sl_format_span(now - r->t0, el, sizeof(el));
	sl_format_span(r->left_at_start > since ? r->left_at_start - since : 0,
		       left, sizeof(left));
	snprintf(line, sizeof(line), "[%zu/%zu] %s | %s elapsed, about %s left",
		 r->k, r->total, r->what, el, left);
	width = terminal_width();
	if (strlen(line) >= width)
		line[width - 1] = '\0';
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	r->line_shown = true;
}

static void sweep_starting(void *arg, const struct sl_plan *plan, size_t i)
{
	struct sweep_run *r = arg;
	uint64_t rest;
	double pace = 1.0;

	r->k++;
	if (!r->progress)
		return;
	r->point_t0 = sl_now_ns();
	/* The estimate scaled by how the finished points compared with
	 * theirs, so a slow machine's remaining time is not understated. */
	if (r->est_finished)
		pace = (double)(r->point_t0 - r->t0) / (double)r->est_finished;
	rest = r->est_total > r->est_finished ? r->est_total - r->est_finished : 0;
	r->left_at_start = (uint64_t)((double)rest * pace);
	describe_point(r->what, sizeof(r->what), r->g, &plan->item[i].pt);
	draw_progress(r);
}

/* While a point runs: long points would otherwise leave the clocks on the
 * line standing still. */
static void sweep_tick(void *arg)
{
	struct sweep_run *r = arg;

	if (r->progress && r->line_shown)
		draw_progress(r);
}

/* CPUs' worth of time the process burns while the main thread sleeps: after
 * a stuck point, what its leaked threads take from the points after it. */
static double idle_process_load(void)
{
	struct timespec c0, c1;
	uint64_t w0, w1;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	w0 = sl_now_ns();
	sl_sleep_ns(100 * SL_NS_PER_MS, &sl_interrupt_flag);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	w1 = sl_now_ns();
	return ((double)(c1.tv_sec - c0.tv_sec) * 1e9 +
		(double)(c1.tv_nsec - c0.tv_nsec)) / (double)(w1 - w0);
}

static int sweep_finished(void *arg, const struct sl_plan *plan, size_t i,
			  struct sl_err *err)
{
	struct sweep_run *r = arg;
	const struct sl_plan_item *it = &plan->item[i];
	struct sl_row row = sl_session_row(r->s, it);
	char what[384];

	r->est_finished += sl_plan_item_estimate_ns(plan, i, r->over);
	if (r->leaked_pus >= 0.05)
		r->beside_leaked++;
	if (sl_csv_write_row(r->csv, &row, err) < 0)
		return -EIO;
	if (r->timeline && sl_timeline_write(r->timeline, &row, err) < 0)
		return -EIO;
	if (it->res.status == SL_STATUS_OK)
		return 0;
	clear_line(r);
	describe_point(what, sizeof(what), r->g, &it->pt);
	fprintf(stderr, "synclab sweep: %s: %s: %s\n", what,
		sl_status_name(it->res.status), it->res.message);
	if (it->res.status == SL_STATUS_STUCK) {
		double load = idle_process_load();

		/* Stuck threads cannot be stopped from outside; sleeping ones
		 * cost memory only, spinning ones share the CPUs with every
		 * point after them. */
		if (load >= 0.05 && load > r->leaked_pus + 0.05)
			fprintf(stderr, "synclab sweep: the stuck threads keep running and use about %.1f CPUs; the points after this one share the CPUs with them\n",
				load);
		r->leaked_pus = load;
	}
	return 0;
}

/* The table: one per setting of the varied dials, since the table's lines
 * are (primitive, threads) over repetitions. */
static void print_tables(FILE *f, const struct sl_grid *g, const struct sl_row *rows,
			 size_t n, const struct sl_counter_set *counters,
			 const char *baseline)
{
	struct sl_row *sel = calloc(n ? n : 1, sizeof(*sel));
	bool *shown = calloc(n ? n : 1, sizeof(*shown));
	size_t groups = 0;

	if (!sel || !shown) {
		fprintf(f, "(table not printed: out of memory)\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char key[256], other[256];
		size_t m = 0;

		if (shown[i])
			continue;
		describe_setting(key, sizeof(key), g, rows[i].pt);
		for (size_t j = i; j < n; j++) {
			if (shown[j])
				continue;
			describe_setting(other, sizeof(other), g, rows[j].pt);
			if (strcmp(key, other) == 0) {
				sel[m++] = rows[j];
				shown[j] = true;
			}
		}
		if (groups++ || key[0])
			fprintf(f, "%s== %s\n", groups > 1 ? "\n" : "",
				key[0] ? key : "primitives the varied dials do not apply to");
		sl_table_print(f, sel, m, counters, baseline);
	}
out:
	free(sel);
	free(shown);
}

/*
 * The reports of the out directory, once results.csv holds every row of
 * the sweep: the charts (and, beside them, any summary of the rows and the
 * environment the sweep ran in).  Returns an exit status.
 */
/*
 * What lands beside results.csv once the points are done: summary.csv (one
 * row per point over its repetitions), env.txt (the environment
 * fingerprint and its facts) and the charts, drawn from results.csv as it
 * now stands, so that a resumed sweep's charts include the earlier rows.
 */
static int write_reports(const char *dir, const char *csv_path, FILE *info)
{
	static struct sl_plot_out plot;
	const struct sl_plot_opts po = { .format = "png" };
	struct sl_err err = { "" };
	char path[PATH_MAX + 16];
	struct sl_env *env = malloc(sizeof(*env));
	struct sl_csvdata all;
	int status = SL_EXIT_OK, rc;

	snprintf(path, sizeof(path), "%s/env.txt", dir);
	if (!env || sl_env_collect(env, NULL, &err) < 0 || sl_env_write(path, env, &err) < 0) {
		fprintf(stderr, "synclab sweep: environment: %s\n", env ? err.msg : "out of memory");
		status = SL_EXIT_FAIL;
	} else if (info) {
		fprintf(info, "environment: %s (fingerprint %s)\n", path, sl_env_fingerprint(env));
	}
	free(env);

	/* Summary and charts from results.csv as it now stands, so that a
	 * resumed sweep's include the rows of earlier invocations. */
	if (sl_csv_load(&all, csv_path, &err) < 0) {
		fprintf(stderr, "synclab sweep: summary and charts: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "%s/summary.csv", dir);
	if (sl_summary_write_csvdata(path, &all, &err) < 0) {
		fprintf(stderr, "synclab sweep: summary: %s\n", err.msg);
		status = SL_EXIT_FAIL;
	} else if (info) {
		fprintf(info, "summary: %s\n", path);
	}
	rc = sl_plot_csvdata(&all, dir, &po, &plot, &err);
	sl_csv_free(&all);
	if (rc == -ENODATA) {
		if (info)
			fprintf(info, "charts: none (no point finished ok)\n");
	} else if (rc < 0 && !(rc == -ENOENT && plot.gnuplot_missing)) {
		fprintf(stderr, "synclab sweep: charts failed: %s\n", err.msg);
		status = SL_EXIT_FAIL;
	} else {
		if (rc == -ENOENT)
			fprintf(stderr, "synclab sweep: %s\n", err.msg);
		if (info)
			sl_plot_print(info, &plot);
	}
	return status;
}

/* --- the command ------------------------------------------------------- */

static void default_out(char *buf, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(buf, n, "sweep-%Y%m%d-%H%M%S", &tm);
}

/* --help: the summary, the presets with what each sets, the options. */
static void print_help(const struct sl_opt *opts)
{
	static char summary[4096];
	size_t used = (size_t)snprintf(summary, sizeof(summary),
		"Measure every point of a grid -- primitives x dial settings x thread\n"
		"counts x repetitions -- into DIR/results.csv, one row per run, written as\n"
		"each point completes; then print a table per dial setting and draw the\n"
		"charts.  Each dial takes a list; a dial multiplies only the primitives\n"
		"whose workload reads it.  The plan and its estimated time are printed\n"
		"first.  A stuck or failing point is a failed row and the sweep goes on;\n"
		"Ctrl-C keeps every completed row (exit 130); --resume completes it.\n\n"
		"presets:");

	for (size_t i = 0; i < NPRESETS && used < sizeof(summary); i++) {
		used += (size_t)snprintf(summary + used, sizeof(summary) - used,
					 "\n  %-8s %s\n           --prims %s",
					 presets[i].name, presets[i].summary, presets[i].prims);
		for (int d = 0; d < SL_DIAL_COUNT_ && used < sizeof(summary); d++)
			if (presets[i].dial[d])
				used += (size_t)snprintf(summary + used, sizeof(summary) - used,
							 " --%s %s", sl_dial_info((enum sl_dial)d)->option,
							 presets[i].dial[d]);
	}
	sl_opt_usage(stdout, sweep_usage, summary, opts);
}

/* The grid's primitives, dials and threads: what the options name, else
 * the preset's, else the defaults (g->threads holds them already).  -EINVAL
 * with err for a usage error; c->baseline becomes the primitive's name. */
static int grid_from_options(struct sl_grid *g, struct sweep_conf *c,
			     const struct preset *preset, struct sl_err *err)
{
	if (c->prims) {
		if (sl_grid_add_prims(g, c->prims, err) < 0)
			return -EINVAL;
	} else if (preset && sl_grid_add_prims(g, preset->prims, err) < 0) {
		SL_BUG("preset %s: %s", preset->name, err->msg);
	}
	if (g->nprims == 0)
		return sl_err_set(err, -EINVAL,
				  "which primitives? (accepted: --prims LIST or --preset NAME; see 'synclab list')");
	if (c->baseline && !(c->baseline = sl_grid_prim_named(g, c->baseline, err)))
		return -EINVAL;
	for (int d = 0; d < SL_DIAL_COUNT_; d++) {
		const struct sl_dial_info *di = sl_dial_info((enum sl_dial)d);

		if (c->dial[d].n)
			g->dial[d] = c->dial[d];
		else if (preset && preset->dial[d]) {
			if (sl_parse_ulist(preset->dial[d], di->min, di->max, di->option,
					   &g->dial[d], err) < 0)
				SL_BUG("preset %s: %s", preset->name, err->msg);
		} else
			g->dial[d] = (struct sl_ulist){ 1, { di->def } };
	}
	if (c->threads.n)
		g->threads = c->threads;
	return 0;
}

int cmd_sweep(int argc, char **argv)
{
	static struct sweep_conf c;
	static struct sl_session s = { .cmd = "sweep" };
	static struct sl_grid g;
	static char dial_help[SL_DIAL_COUNT_][200];
	char threads_help[200], def_threads[128];
	struct sl_opt opts[48];
	size_t no = 0;
	const struct preset *preset = NULL;
	struct sl_plan plan = { 0 };
	struct sl_plan_outcome outcome = { 0 };
	struct sl_overhead over;
	struct sweep_run run = { 0 };
	struct plan_summary ps = { 0 };
	const struct sl_plan_hooks hooks = { .arg = &run, .starting = sweep_starting,
					     .finished = sweep_finished, .tick = sweep_tick };
	struct sl_csvdata prev = { 0 };
	struct sl_csv *csv = NULL;
	struct sl_row *rows = NULL;
	size_t nrows = 0;
	struct sl_err err = { "" };
	char out_dir[PATH_MAX], csv_path[PATH_MAX + 16], dropped[512] = "";
	FILE *info;
	struct stat st;
	bool csv_exists;
	uint64_t t_start;
	int first, rc, status = SL_EXIT_OK;

	memset(&c, 0, sizeof(c));
	c.duration_ns = SL_NS_PER_SEC;
	c.warmup_ns = 200 * SL_NS_PER_MS;
	c.stall_timeout_ns = 5 * SL_NS_PER_SEC;
	c.repeat = 3;
	c.latency_period = 1000;
	c.pin = "compact";
	c.counters = "default";

	default_threads(&g.threads, sl_usable_pus());
	format_list(def_threads, sizeof(def_threads), &g.threads);
	snprintf(threads_help, sizeof(threads_help),
		 "thread counts: a list 1,2,4,16 or a range 1-8 [1..2x usable PUs: %s]",
		 def_threads);
	opts[no++] = (struct sl_opt){ "prims", 'P', SL_OPT_STRING, &c.prims, 0, 0, "LIST",
		"primitives to run, comma-separated (see 'synclab list')" };
	opts[no++] = (struct sl_opt){ "preset", 0, SL_OPT_STRING, &c.preset, 0, 0, "NAME",
		"a ready grid: locks, spin, mutexes, rw, rcu, queues, sync (options given override it)" };
	opts[no++] = (struct sl_opt){ "threads", 't', SL_OPT_LIST, &c.threads, 1, 4096, "LIST",
		threads_help };
	for (int d = 0; d < SL_DIAL_COUNT_; d++) {
		const struct sl_dial_info *di = sl_dial_info((enum sl_dial)d);

		snprintf(dial_help[d], sizeof(dial_help[d]), "%s; a list, each value is run [%llu]",
			 di->help, (unsigned long long)di->def);
		opts[no++] = (struct sl_opt){ di->option, 0, SL_OPT_LIST, &c.dial[d],
			di->min, di->max, "LIST", dial_help[d] };
	}
	opts[no++] = (struct sl_opt){ "repeat", 'r', SL_OPT_COUNT, &c.repeat, 1, 1000, "R",
		"repetitions of every point" };
	opts[no++] = (struct sl_opt){ "duration", 'd', SL_OPT_DURATION, &c.duration_ns,
		SL_NS_PER_MS, 3600 * SL_NS_PER_SEC, "TIME", "measured window per run (e.g. 500ms, 2s)" };
	opts[no++] = (struct sl_opt){ "warmup", 'w', SL_OPT_DURATION, &c.warmup_ns, 0,
		600 * SL_NS_PER_SEC, "TIME", "excluded warm-up before each window" };
	opts[no++] = (struct sl_opt){ "latency", 'L', SL_OPT_FLAG, &c.latency, 0, 0, NULL,
		"sample latency into histograms: lat_* columns" };
	opts[no++] = (struct sl_opt){ "latency-period", 0, SL_OPT_COUNT, &c.latency_period,
		1, 1000000, "N", "with --latency: time about one op in N (1: every op)" };
	opts[no++] = (struct sl_opt){ "timeline", 0, SL_OPT_DURATION, &c.timeline_ns,
		SL_NS_PER_MS, 3600 * SL_NS_PER_SEC, "TIME",
		"also record every thread's ops per interval of TIME into DIR/timeline.csv" };
	opts[no++] = (struct sl_opt){ "pin", 'p', SL_OPT_STRING, &c.pin, 0, 0, "POLICY",
		"compact, scatter, none, or a PU list like 0,2,4-7" };
	opts[no++] = (struct sl_opt){ "counters", 'c', SL_OPT_STRING, &c.counters, 0, 0, "LIST",
		"perf events (libpfm4 names), 'default' or 'none'" };
	opts[no++] = (struct sl_opt){ "out", 'o', SL_OPT_STRING, &c.out, 0, 0, "DIR",
		"directory for results.csv and the charts [sweep-YYYYmmdd-HHMMSS]" };
	opts[no++] = (struct sl_opt){ "resume", 0, SL_OPT_FLAG, &c.resume, 0, 0, NULL,
		"complete the sweep in --out DIR: run only points without an ok row" };
	opts[no++] = (struct sl_opt){ "dry-run", 'n', SL_OPT_FLAG, &c.dry_run, 0, 0, NULL,
		"print the plan and its estimated time; measure nothing (only the short timing probe)" };
	opts[no++] = (struct sl_opt){ "baseline", 'b', SL_OPT_STRING, &c.baseline, 0, 0, "PRIMITIVE",
		"add a column to the tables: each line's ops/s over PRIMITIVE's (one of those run), paired by repetition" };
	opts[no++] = (struct sl_opt){ "stall-timeout", 0, SL_OPT_DURATION, &c.stall_timeout_ns,
		10 * SL_NS_PER_MS, 3600 * SL_NS_PER_SEC, "TIME",
		"watchdog: threads still inside an op this long after the stop signal are stuck" };
	opts[no++] = (struct sl_opt){ "quiet", 'q', SL_OPT_FLAG, &c.quiet, 0, 0, NULL,
		"no banner, plan, progress or notes: only the table and errors" };
	opts[no++] = (struct sl_opt){ "help", 'h', SL_OPT_FLAG, &c.help, 0, 0, NULL,
		"show this help" };
	opts[no++] = (struct sl_opt)SL_OPT_END;

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("sweep", err.msg);
	if (c.help) {
		print_help(opts);
		return SL_EXIT_OK;
	}
	if (first < argc) {
		return usage("unexpected argument '%s' (primitives go in --prims LIST)", argv[first]);
	}
	if (c.preset && !(preset = find_preset(c.preset)))
		return unknown_preset(c.preset);
	if (grid_from_options(&g, &c, preset, &err) < 0)
		return sl_usage_error("sweep", err.msg);

	if (c.resume && !c.out)
		return sl_usage_error("sweep", "--resume needs --out DIR, the directory of the sweep to complete");
	if (c.resume && c.timeline_ns)
		return sl_usage_error("sweep", "--timeline: not with --resume (the timeline of a sweep is recorded in one go)");
	if (c.timeline_ns > c.duration_ns)
		return sl_usage_error("sweep", "--timeline: the interval is longer than --duration (accepted: up to the window)");
	if (c.out)
		snprintf(out_dir, sizeof(out_dir), "%s", c.out);
	else
		default_out(out_dir, sizeof(out_dir));
	if (sl_check_output_dir("--out", out_dir, &err) < 0)
		return sl_usage_error("sweep", err.msg);
	snprintf(csv_path, sizeof(csv_path), "%s/results.csv", out_dir);
	csv_exists = stat(csv_path, &st) == 0;
	if (csv_exists && !c.resume) {
		return usage("--out: '%s' already holds results (accepted: --resume to complete that sweep, or another --out)",
			     csv_path);
	}
	if (csv_exists) {
		if (sl_csv_load(&prev, csv_path, &err) < 0)
			return sl_usage_error("sweep", err.msg);
		if (!same_columns(&prev)) {
			sl_csv_free(&prev);
			return usage("--resume: '%s' has other columns than this synclab writes (see 'synclab list columns'): move it aside or use another --out",
				     csv_path);
		}
		/* Opened now, so a file that cannot take rows is refused
		 * before anything runs; nothing is written to it yet. */
		if (sl_csv_open_append(&csv, csv_path, &err) < 0) {
			sl_csv_free(&prev);
			return sl_usage_error("sweep", err.msg);
		}
	}

	if (sl_pin_parse(c.pin, &s.pin, &err) < 0 ||
	    sl_counters_resolve(c.counters, &s.counters, &err) < 0) {
		status = sl_usage_error("sweep", err.msg);
		goto out;
	}
	status = sl_session_place(&s, &g.threads);
	if (status != SL_EXIT_OK)
		goto out;
	/* A primitive named on the command line must run; one that only came
	 * with a preset is left out when this machine cannot run it. */
	for (unsigned k = 0; k < g.nprims; k++) {
		char why[256];

		if (c.prims) {
			status = sl_session_runnable(&s, g.prim[k], NULL, 0);
			if (status != SL_EXIT_OK)
				goto out;
			continue;
		}
		if (sl_session_runnable(&s, g.prim[k], why, sizeof(why)) == SL_EXIT_OK)
			continue;
		snprintf(dropped + strlen(dropped), sizeof(dropped) - strlen(dropped),
			 "%s%s", dropped[0] ? "; " : "", why);
		memmove(&g.prim[k], &g.prim[k + 1], (g.nprims - k - 1) * sizeof(g.prim[0]));
		g.nprims--;
		k--;
	}
	if (g.nprims == 0) {
		fprintf(stderr, "synclab sweep: no primitive of the preset can run here: %s\n", dropped);
		status = SL_EXIT_UNSUPPORTED;
		goto out;
	}

	g.repeat = (unsigned)c.repeat;
	g.duration_ns = c.duration_ns;
	g.warmup_ns = c.warmup_ns;
	g.stall_timeout_ns = c.stall_timeout_ns;
	g.lat_period = c.latency ? (unsigned)c.latency_period : 0;
	g.timeline_ns = c.timeline_ns;
	g.topo = s.topo;
	g.pin = &s.pin;
	g.counters = s.counters.n ? &s.counters : NULL;
	g.interrupt = &sl_interrupt_flag;
	rc = sl_plan_build(&plan, &g, SL_PLAN_SKIP_INVALID, &err);
	if (rc == -EINVAL) {
		status = sl_usage_error("sweep", err.msg);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "synclab sweep: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	if (plan.n == 0) {
		status = usage("no point to run: the workloads refuse every combination (first: %s)",
			       plan.rejected_why);
		goto out;
	}

	info = c.quiet ? NULL : stderr;
	t_start = sl_now_ns();
	sl_catch_interrupts();
	status = sl_session_measure(&s, &g);
	if (status != SL_EXIT_OK)
		goto out;
	if (csv_exists) {
		long marked = mark_done(&s, &plan, &prev);

		if (marked < 0) {
			fprintf(stderr, "synclab sweep: out of memory reading '%s'\n", csv_path);
			status = SL_EXIT_FAIL;
			goto out;
		}
		ps.done = (size_t)marked;
	}
	for (size_t i = 0; i < plan.n; i++)
		ps.pending += plan.item[i].state == SL_ITEM_PENDING;
	if (sl_plan_probe_overhead(&plan, &g, &s.calib, &over, &err) < 0) {
		if (atomic_load_explicit(&sl_interrupt_flag, memory_order_relaxed)) {
			fprintf(stderr, "synclab sweep: interrupted before the first point; nothing written\n");
			status = SL_EXIT_INTERRUPTED;
			goto out;
		}
		if (info)
			fprintf(info, "note: the per-point overhead could not be measured (%s): the estimate leaves it out\n",
				err.msg);
		memset(&over, 0, sizeof(over));
	}
	ps.overhead_lo = UINT64_MAX;
	for (unsigned i = 0; i < over.n; i++) {
		ps.overhead_lo = over.ns[i] < ps.overhead_lo ? over.ns[i] : ps.overhead_lo;
		ps.overhead_hi = over.ns[i] > ps.overhead_hi ? over.ns[i] : ps.overhead_hi;
	}
	if (ps.overhead_lo == UINT64_MAX)
		ps.overhead_lo = 0;
	ps.estimate_ns = sl_plan_estimate_ns(&plan, 0, &over) + (ps.pending ? REPORTS_NS : 0);

	if (c.dry_run) {
		/* What a real sweep spends before its first point, too. */
		ps.estimate_ns += sl_now_ns() - t_start;
		print_plan(stdout, &g, &plan, &ps, csv_path, dropped);
		goto out;
	}
	if (info) {
		sl_session_banner(info, &s, &g);
		print_plan(info, &g, &plan, &ps, csv_path, dropped);
	}
	if (!csv && (sl_mkdir_p(out_dir, &err) < 0 ||
		     sl_csv_open(&csv, csv_path, &err) < 0)) {
		fprintf(stderr, "synclab sweep: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}

	if (c.timeline_ns) {
		char tl_path[PATH_MAX + 16];

		snprintf(tl_path, sizeof(tl_path), "%s/timeline.csv", out_dir);
		if (sl_timeline_open(&run.timeline, tl_path, &err) < 0) {
			fprintf(stderr, "synclab sweep: %s\n", err.msg);
			status = SL_EXIT_FAIL;
			goto out;
		}
	}
	run.s = &s;
	run.g = &g;
	run.over = &over;
	run.csv = csv;
	run.progress = !c.quiet && isatty(STDERR_FILENO);
	run.total = ps.pending;
	run.est_total = sl_plan_estimate_ns(&plan, 0, &over);
	run.t0 = sl_now_ns();
	rc = sl_plan_run(&plan, &g, &s.ctx, 0, &hooks, &outcome, &err);
	clear_line(&run);
	if (rc < 0)
		fprintf(stderr, "synclab sweep: %s\n", err.msg);
	if (outcome.end == SL_PLAN_INTERRUPTED)
		status = SL_EXIT_INTERRUPTED;
	else if (rc < 0 || outcome.failed)
		status = SL_EXIT_FAIL;
	if (sl_csv_close(csv, &err) < 0) {
		fprintf(stderr, "synclab sweep: %s\n", err.msg);
		if (status == SL_EXIT_OK)
			status = SL_EXIT_FAIL;
	}
	csv = NULL;
	if (run.timeline && sl_timeline_close(run.timeline, &err) < 0) {
		fprintf(stderr, "synclab sweep: %s\n", err.msg);
		if (status == SL_EXIT_OK)
			status = SL_EXIT_FAIL;
	}
	run.timeline = NULL;

	rows = sl_session_rows(&s, &plan, &nrows);
	if (!rows) {
		fprintf(stderr, "synclab sweep: out of memory for the table\n");
		status = status == SL_EXIT_OK ? SL_EXIT_FAIL : status;
		goto out;
	}
	if (info && run.beside_leaked)
		fprintf(info, "note: %zu point(s) ran beside threads left spinning by a stuck point: their figures are suspect\n",
			run.beside_leaked);
	if (nrows) {
		if (info)
			fputc('\n', info);
		print_tables(stdout, &g, rows, nrows, &s.counters, c.baseline);
		fflush(stdout);
	}
	if (status == SL_EXIT_INTERRUPTED) {
		fprintf(stderr, "synclab sweep: interrupted; %zu completed point(s) kept in %s (--resume completes the sweep)\n",
			outcome.measured, csv_path);
		goto out;
	}
	rc = write_reports(out_dir, csv_path, info);
	if (rc != SL_EXIT_OK && status == SL_EXIT_OK)
		status = rc;
	if (outcome.failed)
		fprintf(stderr, "synclab sweep: %zu of %zu point(s) failed; their rows in %s say why\n",
			outcome.failed, outcome.measured, csv_path);
	if (info) {
		char took[32], est[32];

		sl_format_span(sl_now_ns() - run.t0, took, sizeof(took));
		sl_format_span(ps.estimate_ns, est, sizeof(est));
		fprintf(info, "sweep: %zu point(s) in %s (estimated %s); results: %s\n",
			outcome.measured, took, est, csv_path);
	}

out:
	if (csv)
		sl_csv_close(csv, &err);
	sl_csv_free(&prev);
	free(rows);
	sl_plan_free(&plan);
	sl_session_close(&s, outcome.stuck > 0);
	return status;
}
