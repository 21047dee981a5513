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

/* --- CSV ----------------------------------------------------------------- */
struct sl_csv;
/* path "-" is standard output.  The file is created (truncated) and the
 * header written at once. */
int sl_csv_open(struct sl_csv **out, const char *path, struct sl_err *err);
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
double sl_stat_mean(const double *v, size_t n);
double sl_stat_stddev(const double *v, size_t n); /* sample (n-1) */
double sl_stat_min(const double *v, size_t n);
double sl_stat_max(const double *v, size_t n);
/* Jain's fairness index (sum x)^2 / (n * sum x^2); 1 when all x are 0. */
double sl_stat_jain(const uint64_t *x, size_t n);

/* --- terminal table ------------------------------------------------------ */
/* One line per (primitive, threads) over its repetitions: median ops/s with
 * min..max, ns/op, fairness, per-thread min/max ops and counters per op (a
 * not supported counter shows as "n/s").  Units in the header. */
void sl_table_print(FILE *f, const struct sl_row *rows, size_t n,
		    const struct sl_counter_set *counters);

/* --- charts -------------------------------------------------------------- */
/*
 * Throughput against threads, one line per primitive (median over
 * repetitions, error bars min..max), into dir/throughput.{dat,gp,png}.
 * The .gp script and its data are kept so a user can restyle it.  When
 * gnuplot is missing, the files are still written and the return is
 * -ENOENT with err saying how to render them; png_path gets the image path.
 */
int sl_plot_throughput(const char *dir, const struct sl_row *rows, size_t n,
		       char *png_path, size_t png_len, struct sl_err *err);

#endif
