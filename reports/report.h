/*
 * Everything that formats output: the terminal table, CSV rows, statistics
 * over repetitions, gnuplot charts and the machine metadata carried by every
 * row.  Workloads fill a struct sl_result; only this directory turns it into
 * text.  CSV columns come from one registry, reports/columns.def.
 */
#ifndef SL_REPORTS_REPORT_H
#define SL_REPORTS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "workloads/workload.h"

/* Where and with what a result was produced. */
struct sl_meta {
	char host[128];
	char cpu_model[128];
	char kernel[128];
	const char *version;   /* sl_version() */
	const char *compiler;  /* compiler and flags the binary was built with */
	char env_fingerprint[24]; /* sl_env_fingerprint(); "" when unknown */
};
void sl_meta_collect(struct sl_meta *m);

/* One CSV row: a point, its result and the context around it. */
struct sl_row {
	const struct sl_point *pt;
	const struct sl_result *res;
	const struct sl_meta *meta;
	const struct sl_calib *calib;
};

/* --- columns.def ---------------------------------------------------------
 * The single source of CSV columns: name, unit ("" for none), and a one-line
 * description.  The man page lists the same columns (a test checks). */
struct sl_column {
	const char *name;
	const char *unit;
	const char *doc;
};
size_t sl_column_count(void);
const struct sl_column *sl_column_at(size_t i);

/* Format column i of row into buf: empty for not supported / not
 * applicable, never "0" standing in for unknown; CSV quoting applied. */
void sl_column_format(size_t i, const struct sl_row *row, char *buf, size_t n);

/* The rows as the table their CSV would read back as (reports/csvread.h):
 * every column formatted, quoting removed.  Free with sl_csv_free. */
struct sl_csvdata;
int sl_rows_to_csvdata(const struct sl_row *rows, size_t n,
		       struct sl_csvdata *d, struct sl_err *err);

/* --- CSV ----------------------------------------------------------------- */
struct sl_csv;
/* path "-" is standard output.  The file is created (truncated) and the
 * header written at once. */
int sl_csv_open(struct sl_csv **out, const char *path, struct sl_err *err);
/* Open path to add rows at its end (sweep --resume): a missing or empty file
 * gets the header; an existing one must start with exactly this build's
 * header and end with a line end, else -EPROTO saying so and nothing is
 * written. */
int sl_csv_open_append(struct sl_csv **out, const char *path,
		       struct sl_err *err);
/* Build the whole line in memory and write it with one write(2), so that an
 * interruption never leaves half a row; flushed before returning. */
int sl_csv_write_row(struct sl_csv *c, const struct sl_row *row,
		     struct sl_err *err);
int sl_csv_close(struct sl_csv *c, struct sl_err *err);

/* --- timeline (--timeline) ----------------------------------------------
 * A CSV of its own: primitive, threads, rep, interval (1-based), end_s
 * (interval end since the window opened), thread, cpu, ops, ops_per_sec.
 * Rows of a point are written at once; a point without a timeline writes
 * nothing. */
struct sl_timeline;
int sl_timeline_open(struct sl_timeline **out, const char *path,
		     struct sl_err *err);
int sl_timeline_write(struct sl_timeline *t, const struct sl_row *row,
		      struct sl_err *err);
int sl_timeline_close(struct sl_timeline *t, struct sl_err *err);

/* --- statistics ---------------------------------------------------------- */
/* v is not modified. n == 0 gives NAN. */
double sl_stat_median(const double *v, size_t n);
/* The q-quantile (0..1), linear between the nearest order statistics; NAN
 * for no values, a q outside 0..1 or no memory. */
double sl_stat_quantile(const double *v, size_t n, double q);
double sl_stat_mean(const double *v, size_t n);
double sl_stat_stddev(const double *v, size_t n); /* sample (n-1) */
double sl_stat_min(const double *v, size_t n);
double sl_stat_max(const double *v, size_t n);
/* Jain's fairness index (sum x)^2 / (n * sum x^2); 1 when all x are 0. */
double sl_stat_jain(const uint64_t *x, size_t n);
/* Two levels: sorted, the sample splits at a value at least SL_LEVEL_GAP
 * times the one below it into two groups of at least two values, each
 * narrower (max over min) than that gap; a machine that changed state
 * between repetitions (a VM's vCPUs moved by the host) leaves this mark.
 * true: found, and *lv gets each level's median and size.  n < 4, a value
 * not above 0 or no memory: false. */
#define SL_LEVEL_GAP 2.0
struct sl_levels {
	double low, high;   /* the medians of the two groups */
	size_t nlow, nhigh; /* values in each */
};
bool sl_stat_two_levels(const double *v, size_t n, struct sl_levels *lv);
/* Student's t with df degrees of freedom: CDF, and quantile for 0 < p < 1. */
double sl_stat_t_cdf(double t, double df);
double sl_stat_t_quantile(double p, double df);
/* Confidence interval of the mean at level (0.95: 95%), Student t:
 * mean +- t(1 - (1 - level) / 2, n - 1) * s / sqrt(n).  n < 2: -EINVAL and
 * NAN bounds. */
int sl_stat_mean_ci(const double *v, size_t n, double level, double *lo,
		    double *hi);
/* Mann-Whitney U test of x against y: the two-sided p-value; *u (may be
 * NULL) gets U of x, the pairs with x above y, a tie counting 1/2.  Exact
 * permutation distribution (ties as midranks) up to SL_MW_EXACT_MAX values
 * in all, normal approximation with tie and continuity corrections above.
 * NAN for an empty sample.  sl_stat_mw_min_p gives the smallest p the exact
 * test can reach for the sizes, 2 / C(nx + ny, nx). */
#define SL_MW_EXACT_MAX 64
double sl_stat_mann_whitney(const double *x, size_t nx, const double *y,
			    size_t ny, double *u);
double sl_stat_mw_min_p(size_t nx, size_t ny);

/* --- summary over repetitions (summary.c) -------------------------------- */
/* The CSV columns that identify a point, NULL-terminated: rows that agree
 * on all of them are repetitions of one point (summary, compare). */
const char *const *sl_point_key_columns(void);
/* The summary CSV's columns: the point key, then the statistics. */
size_t sl_summary_column_count(void);
const struct sl_column *sl_summary_column_at(size_t i);
/* One line per point, in the order points were first run: repetitions,
 * status, median, mean, min, max, standard deviation and 95% confidence
 * interval (Student t, of the mean) of ops/s over the ok repetitions, the
 * median ns/op and lat_p99_ns.  path "-" is standard output; a file is
 * written whole and renamed into place. */
int sl_summary_write(const char *path, const struct sl_row *rows, size_t n,
		     struct sl_err *err);
/* The same from a results CSV read back (reports/csvread.h): the points of
 * every row in it, e.g. a whole resumed sweep.  -EINVAL when it lacks the
 * primitive, status or ops_per_sec column. */
int sl_summary_write_csvdata(const char *path, const struct sl_csvdata *d,
			     struct sl_err *err);

/* --- terminal table ------------------------------------------------------ */
/* One line per (primitive, threads) over its repetitions: median ops/s, the
 * 95% confidence interval of the mean and the standard deviation (both in %
 * of the mean), min..max, ns/op, fairness, per-thread min/max ops and
 * counters per op (a not supported counter shows as "n/s").  Units in the
 * header.  With a baseline (a primitive's name, or NULL for none), a "vs"
 * column gives each line's ops/s over the baseline's, paired by thread
 * count and repetition, median over repetitions. */
void sl_table_print(FILE *f, const struct sl_row *rows, size_t n,
		    const struct sl_counter_set *counters, const char *baseline);

/* --- charts -------------------------------------------------------------- */
/*
 * Four charts against threads from a results table: throughput, latency
 * percentiles, counters per op, fairness.  Each is DIR/NAME.dat and
 * DIR/NAME.gp (kept, so a user can restyle it; the script reads the data by
 * relative path) and, rendered by gnuplot, DIR/NAME.png|svg|pdf.  A chart
 * the data cannot fill is skipped with a note.  One line per primitive and
 * combination of the parameters that vary at a fixed thread count; the
 * median over repetitions, error bars from min to max; rows whose status is
 * not ok are left out (a failed repetition leaves a gap).
 *
 * Returns 0 with every image rendered; -ENOENT when gnuplot is missing (the
 * data and scripts are written, err says how to render them); -EINVAL for a
 * missing required column (primitive, threads, ops_per_sec) or an unknown
 * format and -ENODATA when no row is ok, both before anything is written;
 * another negative code when writing or gnuplot failed.
 */
#define SL_PLOT_NCHARTS 5
#define SL_PLOT_PATH 4096
struct sl_plot_opts {
	const char *format;  /* "png" (also for NULL), "svg" or "pdf" */
	bool log_y;          /* log y axis for throughput, counters and events */
	const char *title;   /* NULL, or put before every chart's title */
};
struct sl_plot_chart {
	const char *name;            /* throughput, latency, counters, fairness, events */
	bool written;                /* its data and script are in DIR */
	char data[SL_PLOT_PATH];     /* DIR/NAME.dat */
	char script[SL_PLOT_PATH];   /* DIR/NAME.gp */
	char image[SL_PLOT_PATH];    /* DIR/NAME.FORMAT, once rendered */
	char note[256];              /* why it was skipped, or what it lacks */
};
struct sl_plot_out {
	struct sl_plot_chart chart[SL_PLOT_NCHARTS];
	bool rendered;               /* every written chart's image exists */
	bool gnuplot_missing;
	size_t rows_plotted, rows_not_ok, rows_unreadable;
	char series_by[256];         /* parameters besides the primitive that
					tell lines apart; "" when none */
};
struct sl_csvdata;
int sl_plot_csvdata(const struct sl_csvdata *d, const char *dir,
		    const struct sl_plot_opts *o, struct sl_plot_out *out,
		    struct sl_err *err);
/* The same from rows in memory (formatted as their CSV rows would be). */
int sl_plot_rows(const struct sl_row *rows, size_t n, const char *dir,
		 const struct sl_plot_opts *o, struct sl_plot_out *out,
		 struct sl_err *err);
/* What was written and skipped, one line each ("chart: PATH", notes). */
void sl_plot_print(FILE *f, const struct sl_plot_out *o);
/* sl_plot_rows with PNG and no options; png_path gets throughput's image. */
int sl_plot_throughput(const char *dir, const struct sl_row *rows, size_t n,
		       char *png_path, size_t png_len, struct sl_err *err);

#endif
