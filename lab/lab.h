/*
 * The lab: `synclab demo` experiments that make a classic phenomenon of
 * concurrency visible on the machine at hand -- false sharing, store
 * buffering, lock convoys, priority inversion -- with numbers, a chart and an
 * explanation written from the numbers just measured.
 *
 * An experiment is one struct sl_demo in lab/<name>.c plus one line in
 * lab/registry.def.  It measures through the ordinary runner
 * (sl_lab_measure: binding, warm-up, window, counters, repetitions), using
 * registered primitives or private SL_KIND_LAB descriptors of its own, and
 * prints its evidence to the FILE it is given (cmd/demo.c owns stdout, exit
 * statuses and the output directory).
 *
 * Conventions: state the question, run the contrasting configurations side
 * by side, print the evidence as a table with units, then a few lines of
 * explanation whose every claim is computed from the figures (a ratio, which
 * one won, whether the effect appeared at all).  When this machine cannot
 * show the effect (one CPU, no permission, no PMU), say exactly that and
 * what would be needed, and return -ENOTSUP; never print a misleading
 * result.
 */
#ifndef SL_LAB_LAB_H
#define SL_LAB_LAB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "reports/report.h"
#include "workloads/workload.h"

struct sl_demo_ctx {
	const struct sl_topo *topo;
	const struct sl_calib *calib;
	const struct sl_counter_set *counters; /* the default set; hardware
						* events may be unsupported */
	const struct sl_meta *meta;
	const atomic_int *interrupt;
	unsigned repeat;       /* runs per configuration; figures are medians */
	uint64_t duration_ns;  /* measured window of each run */
	uint64_t warmup_ns;
	bool quick;            /* --quick: fewer configurations, short windows */
	unsigned pus;          /* PUs this process may run on */
	const char *out_dir;   /* --out DIR; NULL: write no files */
	const char *name;      /* the demo's name: stem of its files */
	struct sl_csv *runs;   /* every run's standard CSV row, or NULL */
};

struct sl_demo {
	const char *name;
	const char *question; /* one line, as `synclab demo` lists it */
	/* 0: shown.  -ENOTSUP with err saying what this machine lacks and
	 * what would be needed (exit status 3).  -EINTR: interrupted.  Any
	 * other negative code: the experiment failed (exit 1). */
	int (*run)(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err);
};

size_t sl_demo_count(void);
const struct sl_demo *sl_demo_at(size_t i);
const struct sl_demo *sl_demo_find(const char *name);
const char *sl_demo_suggest(const char *name);

/* --- measuring ----------------------------------------------------------- */

/* Medians over the ok repetitions of one configuration. */
struct sl_lab_measure {
	enum sl_status status;       /* OK when every repetition was */
	char message[SL_ERR_MAX];    /* why not, from the first bad one */
	unsigned reps;               /* ok repetitions */
	double ops_per_sec, ops_per_sec_min, ops_per_sec_max;
	double ns_per_op;
	double fairness;
	double cpu_util;             /* worker CPU time / (window x threads) */
	double cpu_ns_per_op;        /* worker CPU time per op */
	double ctx_switches_per_op;  /* voluntary + involuntary (getrusage) */
	double cache_misses_per_op;  /* NAN: not supported here */
	double lat_p50_ns, lat_p99_ns, lat_max_ns; /* NAN without --latency */
	double max_thread_lat_ns[2]; /* longest sample of threads 0 and 1 */
	/* Lock hand-offs seen by the latency samples (release to entry);
	 * NAN without --latency or when no sample waited for a hand-off. */
	double handoff_p50_ns, handoff_p99_ns;
	/* Per role (enum sl_role) of the threads the shape gave it: that
	 * role's share of all ops (0..1), and the longest latency sample of
	 * any of its threads.  NAN for a role no thread had, and the latency
	 * also without --latency or samples. */
	double role_ops_share[SL_ROLE_COUNT_];
	double role_lat_max_ns[SL_ROLE_COUNT_];
	double min_thread_ops, max_thread_ops;
	uint64_t ops;                /* sums over the ok repetitions */
	uint64_t observed;
	double lab_figure[SL_LAB_FIGURES];
	/* What the primitive counted itself (its descriptor's event_names),
	 * per second of the window; NAN for events it does not name. */
	double events_per_sec[SL_PRIM_EVENTS];
};

/*
 * Run ctx->repeat repetitions of the point: prim, threads, pin and the
 * workload parameters come from tmpl; the context fills in the topology,
 * calibration, counters, window, warm-up and interrupt (a tmpl window of 0
 * takes the context's).  Every repetition's row goes to ctx->runs.
 * Returns 0 (look at m->status), or a negative code with err when the point
 * could not be attempted; -EINTR when interrupted.
 */
int sl_lab_measure(const struct sl_demo_ctx *ctx, const struct sl_point *tmpl,
		   struct sl_lab_measure *m, struct sl_err *err);

/* sl_lab_measure for an experiment that needs every run to succeed: a
 * configuration whose runs failed is -EIO (-EPROTO when the invariant was
 * broken) with err naming the primitive, threads and the reason. */
int sl_lab_measure_ok(const struct sl_demo_ctx *ctx, const struct sl_point *tmpl,
		      struct sl_lab_measure *m, struct sl_err *err);

/* A template point for prim (registered name or a private descriptor):
 * threads, compact placement, one lock, defaults of bench. */
struct sl_point sl_lab_point(const struct sl_prim *prim, unsigned threads);
const struct sl_prim *sl_lab_prim(const char *name); /* registered; SL_BUG if not */

/* A placement of its own for a point (pin lists the PUs in thread order). */
struct sl_lab_pin {
	struct sl_pin_spec spec;
};
void sl_lab_pin_list(struct sl_lab_pin *p, const int *pus, unsigned n);

/* --- evidence: a table with units, its CSV and its chart ---------------- */

struct sl_lab_table;
/* ncols measured columns, each with a name and a unit ("" for none);
 * every row has a text label first. */
struct sl_lab_table *sl_lab_table_new(const char *label_name, unsigned ncols,
				      const char *const *names,
				      const char *const *units);
void sl_lab_table_free(struct sl_lab_table *t);
/* vals[ncols]; NAN prints as "n/s" and is an empty CSV field. */
int sl_lab_table_add(struct sl_lab_table *t, const char *label,
		     const double *vals);
unsigned sl_lab_table_rows(const struct sl_lab_table *t);
double sl_lab_table_get(const struct sl_lab_table *t, unsigned row, unsigned col);
const char *sl_lab_table_label(const struct sl_lab_table *t, unsigned row);
void sl_lab_table_print(FILE *f, const struct sl_lab_table *t);

enum sl_lab_chart_style {
	SL_LAB_BARS,  /* one bar group per row label, one bar per y column */
	SL_LAB_LINES, /* x from column x_col, one line per distinct label */
};

struct sl_lab_chart {
	const char *stem;        /* files: DIR/<demo>-<stem>.{csv,dat,gp,png} */
	const char *title;
	enum sl_lab_chart_style style;
	int x_col;               /* LINES: the x column; -1 for BARS */
	const char *xlabel;      /* with unit, e.g. "threads" */
	unsigned y_cols[4];
	unsigned ny;
	const char *ylabel;      /* with unit, e.g. "ops/s" */
	bool log_x, log_y;
	const char *extra;       /* more gnuplot lines, plotted after the data
				  * (e.g. "f(x) = ...; replot f(x) title ...");
				  * NULL for none */
};

/*
 * With ctx->out_dir: write the table as DIR/<demo>-<stem>.csv and the chart
 * as .dat + .gp + .png (rendered when gnuplot is installed; otherwise the
 * script is kept and *note says how to render it).  Prints the files written
 * to out.  Without an out_dir, does nothing.
 */
int sl_lab_save(const struct sl_demo_ctx *ctx, FILE *out,
		const struct sl_lab_table *t, const struct sl_lab_chart *chart,
		struct sl_err *err);

/* Format a figure with its unit and an SI prefix: "412M ops/s", "38.2 ns". */
const char *sl_lab_fmt(char *buf, size_t n, double v, const char *unit);
/* A time given in ns, in the unit that reads best: "840 ns", "30.1 us",
 * "2.05 ms", "1.2 s"; "n/s" for NAN. */
const char *sl_lab_fmt_time(char *buf, size_t n, double ns);

#endif
