/*
 * What the charts draw, worked out from a results table (reports/csvread.h)
 * before any file is written: the rows grouped into series (one per
 * primitive and combination of the parameters that vary at a fixed thread
 * count) and points (one per thread count, over its repetitions), and the
 * subtitle every chart shares (machine, window, the parameters all rows
 * have in common).  Nothing here writes a file; reports/gnuplot.c does.
 */
#ifndef SL_REPORTS_PLOTDATA_H
#define SL_REPORTS_PLOTDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/csvread.h"
#include "util/err.h"

struct sl_plot_point {
	unsigned threads;
	/* A repetition failed its check, got stuck or erred: the point has
	 * no figure (a gap in the line), as in the terminal table. */
	bool broken;
	size_t nrows;
	size_t *rows;  /* the ok repetitions, as row indices into the table */
};

struct sl_plot_series {
	char *label;   /* "mutex", or "mutex cs_ns=100 read_pct=90" */
	size_t npts;
	struct sl_plot_point *pt;  /* ascending thread counts */
};

struct sl_plot_groups {
	const struct sl_csvdata *d;
	size_t nseries;
	struct sl_plot_series *series;  /* in order of first appearance */
	size_t rows_ok;          /* rows drawn */
	size_t rows_not_ok;      /* rows whose status is not ok */
	size_t rows_unreadable;  /* ok rows without a usable threads or ops_per_sec */
	char varying[256];       /* parameters in the labels, "cs_ns, read_pct"; "" if none */
	char machine[384];       /* "vm: AMD EPYC, Linux 6.1 - synclab 0.1.0", or "" */
	char params[512];        /* "window 1 s, warm-up 0.2 s; pin=compact, locks=1" */
	size_t nthreads;
	unsigned *threads;       /* every thread count drawn, ascending */
};

/*
 * Group d's rows.  Requires the columns primitive, threads and ops_per_sec
 * (-EINVAL naming the first missing one).  Rows whose status is neither ok
 * nor a failure of the primitive are counted and left out; a series with no
 * ok row at all (a broken primitive) gets no line.  0 with g->nseries == 0
 * when no row is ok.
 */
int sl_plot_group(const struct sl_csvdata *d, struct sl_plot_groups *g,
		  struct sl_err *err);
void sl_plot_groups_free(struct sl_plot_groups *g);

/* Numeric value of a cell: NAN for an empty, non-numeric or infinite one. */
double sl_plot_cell(const struct sl_csvdata *d, size_t row, int col);

/* Median, min and max of column col over the point's ok rows, ignoring
 * cells without a number.  Returns how many values there were; with none
 * (or a broken point) all three are NAN. */
size_t sl_plot_stat(const struct sl_plot_groups *g,
		    const struct sl_plot_point *p, int col, double *med,
		    double *min, double *max);

/* Does column col have a number in any row of series s (any series when s
 * is NULL)?  false for a missing column. */
bool sl_plot_has(const struct sl_plot_groups *g,
		 const struct sl_plot_series *s, int col);

#endif
