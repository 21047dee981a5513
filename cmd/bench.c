/*
 * synclab bench: run one or more primitives at one or more thread counts,
 * with repetitions, and report a table, CSV and a chart.  Every input is
 * checked before the first thread starts: a bad one is a one-line error and
 * exit 2 with nothing written.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "primitives/prim.h"
#include "reports/report.h"
#include "util/clock.h"
#include "util/opt.h"
#include "workloads/plan.h"

struct bench_conf {
	struct sl_ulist threads;
	uint64_t duration_ns, warmup_ns, stall_timeout_ns;
	uint64_t repeat;
	uint64_t cs_ns, think_ns, cs_lines, locks;
	uint64_t read_pct, writers, producers, consumers, capacity, permits;
	uint64_t latency_period, timeline_ns;
	bool latency;
	const char *pin, *counters, *csv, *plot, *timeline_csv, *baseline;
	bool quiet, help;
};

static const char bench_usage[] =
	"synclab bench [options] PRIMITIVE[,PRIMITIVE...]";
static const char bench_summary[] =
	"Run each primitive at each thread count, --repeat times, and print a table\n"
	"(median over repetitions); --csv writes one row per run, --plot a chart.\n"
	"Threads are bound per --pin, released together, warmed up, then measured\n"
	"for --duration; the primitive's invariant is verified after every run.\n"
	"'synclab list' shows the primitives.";

static void print_progress(FILE *f, const struct sl_point *pt,
			   const struct sl_result *res, unsigned reps)
{
	fprintf(f, "  %-*s threads %-4u rep %u/%u  ", sl_prim_name_width(), pt->prim->name, pt->threads,
		pt->rep, reps);
	if (res->status == SL_STATUS_OK) {
		/* Without an operation in the window both are undefined. */
		char nsop[24] = "-", fair[16] = "-";

		if (isfinite(res->ns_per_op))
			snprintf(nsop, sizeof(nsop), "%.1f", res->ns_per_op);
		if (isfinite(res->fairness))
			snprintf(fair, sizeof(fair), "%.3f", res->fairness);
		fprintf(f, "%14.0f ops/s  %10s ns/op  fairness %s%s\n",
			res->ops_per_sec, nsop, fair,
			res->oversubscribed ? "  (oversubscribed)" : "");
	} else
		fprintf(f, "%s: %s\n", sl_status_name(res->status), res->message);
}

/* Where each finished point goes: a progress line, a CSV row, and a line on
 * stderr when it failed. */
struct bench_sink {
	const struct sl_session *s;
	FILE *info;
	struct sl_csv *csv;
	struct sl_timeline *timeline;
	unsigned reps;
};

static int bench_finished(void *arg, const struct sl_plan *plan, size_t i,
			  struct sl_err *err)
{
	struct bench_sink *sink = arg;
	const struct sl_plan_item *it = &plan->item[i];
	struct sl_row row = sl_session_row(sink->s, it);

	if (sink->info)
		print_progress(sink->info, &it->pt, &it->res, sink->reps);
	if (sink->csv && sl_csv_write_row(sink->csv, &row, err) < 0)
		return -EIO;
	if (sink->timeline && sl_timeline_write(sink->timeline, &row, err) < 0)
		return -EIO;
	if (it->res.status != SL_STATUS_OK)
		fprintf(stderr, "synclab bench: %s with %u threads: %s: %s\n",
			it->pt.prim->name, it->pt.threads,
			sl_status_name(it->res.status), it->res.message);
	return 0;
}

/* --timeline's CSV: --timeline-csv, else beside --csv (FILE.timeline.csv);
 * -EINVAL with err naming the option when the combination cannot work. */
static int bench_timeline_path(struct bench_conf *c, struct sl_err *err)
{
	static char path[PATH_MAX];

	if (c->timeline_csv && !c->timeline_ns)
		return sl_err_set(err, -EINVAL, "--timeline-csv: needs --timeline TIME (the interval)");
	if (c->timeline_ns && !c->timeline_csv) {
		size_t len;

		if (!c->csv || !strcmp(c->csv, "-"))
			return sl_err_set(err, -EINVAL,
					  "--timeline: needs --csv FILE (the timeline goes beside it) or --timeline-csv FILE");
		len = strlen(c->csv);
		if (len > 4 && !strcmp(c->csv + len - 4, ".csv"))
			len -= 4;
		snprintf(path, sizeof(path), "%.*s.timeline.csv", (int)len, c->csv);
		c->timeline_csv = path;
	}
	if (c->timeline_csv && sl_check_output_file("--timeline-csv", c->timeline_csv, err) < 0)
		return -EINVAL;
	if (c->timeline_ns > c->duration_ns)
		return sl_err_set(err, -EINVAL,
				  "--timeline: the interval is longer than --duration (accepted: up to the window)");
	return 0;
}

/* The plan's grid: one value per dial, so the plan is primitive x threads
 * x repetition. */
static void bench_grid(struct sl_grid *g, const struct bench_conf *c,
		       struct sl_session *s)
{
	g->threads = c->threads;
	g->dial[SL_DIAL_CS_NS] = (struct sl_ulist){ 1, { c->cs_ns } };
	g->dial[SL_DIAL_THINK_NS] = (struct sl_ulist){ 1, { c->think_ns } };
	g->dial[SL_DIAL_CS_LINES] = (struct sl_ulist){ 1, { c->cs_lines } };
	g->dial[SL_DIAL_LOCKS] = (struct sl_ulist){ 1, { c->locks } };
	g->dial[SL_DIAL_READ_PCT] = (struct sl_ulist){ 1, { c->read_pct } };
	g->dial[SL_DIAL_WRITERS] = (struct sl_ulist){ 1, { c->writers } };
	g->dial[SL_DIAL_PRODUCERS] = (struct sl_ulist){ 1, { c->producers } };
	g->dial[SL_DIAL_CONSUMERS] = (struct sl_ulist){ 1, { c->consumers } };
	g->dial[SL_DIAL_CAPACITY] = (struct sl_ulist){ 1, { c->capacity } };
	g->dial[SL_DIAL_PERMITS] = (struct sl_ulist){ 1, { c->permits } };
	g->repeat = (unsigned)c->repeat;
	g->duration_ns = c->duration_ns;
	g->warmup_ns = c->warmup_ns;
	g->stall_timeout_ns = c->stall_timeout_ns;
	g->lat_period = c->latency ? (unsigned)c->latency_period : 0;
	g->timeline_ns = c->timeline_ns;
	g->topo = s->topo;
	g->pin = &s->pin;
	g->counters = s->counters.n ? &s->counters : NULL;
	g->interrupt = &sl_interrupt_flag;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_conf c = {
		.threads = { 1, { sl_usable_pus() } },
		.duration_ns = SL_NS_PER_SEC,
		.warmup_ns = 200 * SL_NS_PER_MS,
		.stall_timeout_ns = 5 * SL_NS_PER_SEC,
		.repeat = 1,
		.locks = 1,
		.read_pct = 90,
		.capacity = 16,
		.permits = 2,
		.latency_period = 1000,
		.pin = "compact",
		.counters = "default",
	};
	const struct sl_opt opts[] = {
		{ "threads", 't', SL_OPT_LIST, &c.threads, 1, 4096, "LIST",
		  "thread counts: N, a list 1,2,4,16 or a range 1-8; each is run" },
		{ "duration", 'd', SL_OPT_DURATION, &c.duration_ns, SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME", "measured window per run (e.g. 500ms, 2s)" },
		{ "warmup", 'w', SL_OPT_DURATION, &c.warmup_ns, 0, 600 * SL_NS_PER_SEC,
		  "TIME", "excluded warm-up before each window" },
		{ "repeat", 'r', SL_OPT_COUNT, &c.repeat, 1, 1000, "R",
		  "repetitions of every point" },
		{ "cs-ns", 0, SL_OPT_COUNT, &c.cs_ns, 0, 100000000, "NS",
		  "calibrated work inside the critical section, in ns" },
		{ "think-ns", 0, SL_OPT_COUNT, &c.think_ns, 0, 100000000, "NS",
		  "calibrated work outside it, between ops, in ns" },
		{ "cs-lines", 0, SL_OPT_COUNT, &c.cs_lines, 0, 4096, "N",
		  "shared cache lines written inside the critical section, beyond the counter" },
		{ "locks", 0, SL_OPT_COUNT, &c.locks, 1, 65536, "K",
		  "lock instances; each op picks one at random (1: full contention)" },
		{ "read-pct", 0, SL_OPT_COUNT, &c.read_pct, 0, 100, "P",
		  "rwlocks, RCU: percentage of ops that read" },
		{ "writers", 0, SL_OPT_COUNT, &c.writers, 0, 4095, "W",
		  "rwlocks, RCU: threads that only write (0: every thread mixes)" },
		{ "producers", 0, SL_OPT_COUNT, &c.producers, 0, 4095, "N",
		  "condvars, queues, workqueues: producer threads (0: half the threads)" },
		{ "consumers", 0, SL_OPT_COUNT, &c.consumers, 0, 4095, "N",
		  "condvars, queues, workqueues: consumer threads (0: the others)" },
		{ "capacity", 0, SL_OPT_COUNT, &c.capacity, 1, 1048576, "N",
		  "condvars, bounded queues: buffer slots" },
		{ "permits", 0, SL_OPT_COUNT, &c.permits, 1, 65536, "K",
		  "semaphores: permits, the threads allowed in at once" },
		{ "latency", 'L', SL_OPT_FLAG, &c.latency, 0, 0, NULL,
		  "sample latency (lock acquire, queue enqueue->dequeue, workqueue submit->start) into histograms: lat_* columns" },
		{ "latency-period", 0, SL_OPT_COUNT, &c.latency_period, 1, 1000000, "N",
		  "with --latency: time about one op in N (1: every op)" },
		{ "pin", 'p', SL_OPT_STRING, &c.pin, 0, 0, "POLICY",
		  "compact, scatter, none, or a PU list like 0,2,4-7" },
		{ "counters", 'c', SL_OPT_STRING, &c.counters, 0, 0, "LIST",
		  "perf events (libpfm4 names), 'default' or 'none'" },
		{ "csv", 'o', SL_OPT_STRING, &c.csv, 0, 0, "FILE",
		  "write one CSV row per run to FILE (- for standard output)" },
		{ "plot", 0, SL_OPT_STRING, &c.plot, 0, 0, "DIR",
		  "write the charts (PNG, gnuplot scripts and data) into DIR" },
		{ "timeline", 0, SL_OPT_DURATION, &c.timeline_ns, SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME",
		  "also record every thread's ops per interval of TIME inside the window" },
		{ "timeline-csv", 0, SL_OPT_STRING, &c.timeline_csv, 0, 0, "FILE",
		  "with --timeline: its CSV (default: beside --csv FILE, as FILE.timeline.csv)" },
		{ "baseline", 'b', SL_OPT_STRING, &c.baseline, 0, 0, "PRIMITIVE",
		  "add a column: each line's ops/s over PRIMITIVE's (one of those run), paired by repetition" },
		{ "stall-timeout", 0, SL_OPT_DURATION, &c.stall_timeout_ns,
		  10 * SL_NS_PER_MS, 3600 * SL_NS_PER_SEC, "TIME",
		  "threads still inside an op this long after the stop signal are stuck" },
		{ "quiet", 'q', SL_OPT_FLAG, &c.quiet, 0, 0, NULL,
		  "no banner, progress or notes: only the table and errors" },
		{ "help", 'h', SL_OPT_FLAG, &c.help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	static struct sl_session s = { .cmd = "bench" };
	static struct sl_grid g;
	struct sl_plan plan = { 0 };
	struct sl_plan_outcome outcome = { 0 };
	struct bench_sink sink = { 0 };
	const struct sl_plan_hooks hooks = { .arg = &sink, .finished = bench_finished };
	struct sl_row *rows = NULL;
	size_t done = 0;
	struct sl_err err = { "" };
	FILE *info, *table_out;
	int first, rc, status = SL_EXIT_OK;

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("bench", err.msg);
	if (c.help) {
		sl_opt_usage(stdout, bench_usage, bench_summary, opts);
		return SL_EXIT_OK;
	}
	for (int i = first; i < argc; i++)
		if (sl_grid_add_prims(&g, argv[i], &err) < 0)
			return sl_usage_error("bench", err.msg);
	if (g.nprims == 0)
		return sl_usage_error("bench", "which primitive? (e.g. 'synclab bench mutex'; see 'synclab list')");
	if (c.baseline && !(c.baseline = sl_grid_prim_named(&g, c.baseline, &err)))
		return sl_usage_error("bench", err.msg);
	if (sl_pin_parse(c.pin, &s.pin, &err) < 0 ||
	    (c.csv && sl_check_output_file("--csv", c.csv, &err) < 0) ||
	    (c.plot && sl_check_output_dir("--plot", c.plot, &err) < 0))
		return sl_usage_error("bench", err.msg);
	if (sl_counters_resolve(c.counters, &s.counters, &err) < 0)
		return sl_usage_error("bench", err.msg);
	if (bench_timeline_path(&c, &err) < 0)
		return sl_usage_error("bench", err.msg);
	rc = sl_session_place(&s, &c.threads);
	if (rc != SL_EXIT_OK)
		return rc;
	for (unsigned k = 0; k < g.nprims; k++) {
		rc = sl_session_runnable(&s, g.prim[k], NULL, 0);
		if (rc != SL_EXIT_OK) {
			sl_session_close(&s, false);
			return rc;
		}
	}

	bench_grid(&g, &c, &s);
	rc = sl_plan_build(&plan, &g, 0, &err);
	if (rc == -ENOMEM) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		sl_session_close(&s, false);
		return SL_EXIT_FAIL;
	}
	if (rc < 0) {
		sl_session_close(&s, false);
		return sl_usage_error("bench", err.msg);
	}

	info = c.csv && strcmp(c.csv, "-") == 0 ? stderr : stdout;
	table_out = info;
	if (c.quiet)
		info = NULL;
	else if (info == stdout)
		info = stderr; /* banner and progress never mix with the table */

	status = sl_session_measure(&s, &g);
	if (status != SL_EXIT_OK)
		goto out;
	if (info)
		sl_session_banner(info, &s, &g);

	if (c.csv && (sl_make_parent_dirs(c.csv, &err) < 0 ||
		      sl_csv_open(&sink.csv, c.csv, &err) < 0)) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	if (c.timeline_csv && (sl_make_parent_dirs(c.timeline_csv, &err) < 0 ||
			       sl_timeline_open(&sink.timeline, c.timeline_csv, &err) < 0)) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	sl_catch_interrupts();

	/* A failed check does not stop the other points (their figures are
	 * still worth having); a stuck, interrupted or failing harness does:
	 * stuck threads still hold CPUs and memory, so nothing after them
	 * would be trustworthy. */
	sink.s = &s;
	sink.info = info;
	sink.reps = g.repeat;
	rc = sl_plan_run(&plan, &g, &s.ctx, SL_PLAN_STOP_ON_STUCK | SL_PLAN_STOP_ON_ERROR,
			 &hooks, &outcome, &err);
	if (outcome.end == SL_PLAN_HARNESS_ERROR)
		fprintf(stderr, "synclab bench: %s: %s\n",
			plan.item[outcome.at].pt.prim->name, err.msg);
	else if (rc < 0)
		fprintf(stderr, "synclab bench: %s\n", err.msg);
	if (outcome.end == SL_PLAN_INTERRUPTED)
		status = SL_EXIT_INTERRUPTED;
	else if (rc < 0 || outcome.failed)
		status = SL_EXIT_FAIL;

	if (sink.csv && sl_csv_close(sink.csv, &err) < 0) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		if (status == SL_EXIT_OK)
			status = SL_EXIT_FAIL;
	}
	sink.csv = NULL;
	if (sink.timeline && sl_timeline_close(sink.timeline, &err) < 0) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		if (status == SL_EXIT_OK)
			status = SL_EXIT_FAIL;
	} else if (sink.timeline && info) {
		fprintf(info, "timeline: %s\n", c.timeline_csv);
	}
	sink.timeline = NULL;
	rows = sl_session_rows(&s, &plan, &done);
	if (!rows) {
		fprintf(stderr, "synclab bench: out of memory for the table\n");
		status = status == SL_EXIT_OK ? SL_EXIT_FAIL : status;
		goto out;
	}
	if (info) {
		for (size_t i = 0; i < done; i++)
			if (rows[i].res->oversubscribed) {
				fprintf(info, "note: some runs had more threads than usable PUs (oversubscribed): threads shared PUs\n");
				break;
			}
	}
	if (done && !(c.quiet && table_out == stderr)) {
		if (info)
			fputc('\n', info);
		sl_table_print(table_out, rows, done, &s.counters, c.baseline);
		fflush(table_out);
	}
	if (c.plot && done && status != SL_EXIT_INTERRUPTED) {
		static struct sl_plot_out plot;
		const struct sl_plot_opts po = { .format = "png" };

		rc = sl_plot_rows(rows, done, c.plot, &po, &plot, &err);
		if (rc < 0 && !(rc == -ENOENT && plot.gnuplot_missing)) {
			fprintf(stderr, "synclab bench: chart failed: %s\n", err.msg);
			if (status == SL_EXIT_OK)
				status = SL_EXIT_FAIL;
		} else {
			if (rc == -ENOENT)
				fprintf(stderr, "synclab bench: %s\n", err.msg);
			if (info)
				sl_plot_print(info, &plot);
		}
	}
	if (status == SL_EXIT_INTERRUPTED)
		fprintf(stderr, "synclab bench: interrupted; %zu completed run(s) kept\n", done);

out:
	if (sink.csv)
		sl_csv_close(sink.csv, &err);
	if (sink.timeline)
		sl_timeline_close(sink.timeline, &err);
	free(rows);
	sl_plan_free(&plan);
	sl_session_close(&s, outcome.stuck > 0);
	return status;
}
