/*
 * Charts with gnuplot.  From a results table (a CSV read back, or bench's
 * rows turned into the same table) five charts against threads: throughput,
 * latency percentiles, counters per op, fairness, and the events the
 * primitives counted themselves (prim_events).  Each is NAME.dat (the
 * numbers) and NAME.gp (a plain gnuplot script reading NAME.dat by relative
 * path), kept so a user can restyle a chart or render it elsewhere; one
 * gnuplot run in the directory then renders them all.  A chart whose data
 * is missing is not drawn, and the caller is told why.
 */
#include "reports/csvread.h"
#include "reports/plotdata.h"
#include "reports/report.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum chart_id { CH_THROUGHPUT, CH_LATENCY, CH_COUNTERS, CH_FAIRNESS, CH_EVENTS };

static const char *const chart_names[SL_PLOT_NCHARTS] = {
	"throughput", "latency", "counters", "fairness", "events",
};

/* Styles per line.  In black and white the dash type and the marker tell
 * lines apart; colours are dark enough to print as distinct greys.
 * Filled and open markers alternate. */
static const char *const colours[] = {
	"#000000", "#0072b2", "#d55e00", "#009e73", "#7b3294", "#a6611a",
	"#4d4d4d", "#cc3311",
};
static const int markers[] = { 7, 4, 9, 6, 5, 8, 11, 10, 13, 12, 1, 2, 3 };
#define NCOLOURS (sizeof(colours) / sizeof(colours[0]))
#define NMARKERS (sizeof(markers) / sizeof(markers[0]))

/* Latency percentiles: the columns, their legend names and dash types. */
static const char *const lat_cols[] = {
	"lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns",
};
static const char *const lat_names[] = { "p50", "p90", "p99", "p99.9", "max" };
static const int lat_dash[] = { 1, 2, 4, 5, 3 };
#define NLAT (sizeof(lat_cols) / sizeof(lat_cols[0]))

/* Counters per op: one panel each. */
static const char *const ctr_cols[] = {
	"cache_misses_per_op", "context_switches_per_op",
};
static const char *const ctr_labels[] = {
	"cache misses per op (misses/op)", "context switches per op (switches/op)",
};
#define NCTR (sizeof(ctr_cols) / sizeof(ctr_cols[0]))

struct plot_ctx {
	const struct sl_plot_groups *g;
	const char *format;   /* png, svg or pdf */
	const char *title;    /* the caller's, or NULL */
	bool log_y;
};

/* --- writing files ------------------------------------------------------- */

/* A gnuplot single-quoted string: nothing inside is interpreted -- no
 * escapes and, above all, no `command` substitution, which gnuplot performs
 * inside double quotes and the text comes from CSV cells anyone may have
 * written.  A quote is doubled; control characters (which no label needs)
 * are blanked. */
static void gp_string(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; s && *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
	}
	fputc('\'', f);
}

static int open_file(FILE **f, const char *path, struct sl_err *err)
{
	*f = fopen(path, "we");
	if (!*f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", path,
				  strerror(errno));
	errno = 0;
	return 0;
}

static int finish_file(FILE *f, const char *path, struct sl_err *err)
{
	int bad = ferror(f);
	int rc = fclose(f);

	if (bad || rc != 0) {
		int e = errno ? errno : EIO;

		return sl_err_set(err, -e, "cannot write '%s': %s", path,
				  strerror(e));
	}
	return 0;
}

static void put_value(FILE *f, double v)
{
	if (isnan(v))
		fputs(" NaN", f);
	else
		fprintf(f, " %.10g", v);
}

/* Where a data file's figures come from when they are not CSV columns:
 * figure k's median, min and max over a point's ok rows (NAN: none). */
struct figures {
	size_t (*stat)(const struct sl_plot_groups *g,
		       const struct sl_plot_point *p, size_t k, const void *arg,
		       double *med, double *min, double *max);
	const void *arg;
};

/*
 * NAME.dat: one block per series (gnuplot's 'index N' is the series number
 * in every chart's data), a row per thread count: for each column its
 * median, and with ranges its min and max too.  NaN marks no figure, which
 * gnuplot draws as a gap.  The columns are the CSV's columns cols, or, with
 * src, src's figures under those names.
 */
static int write_data(const struct plot_ctx *c, const struct sl_plot_chart *ch,
		      const char *what, const char *const *cols, size_t ncols,
		      bool ranges, const struct figures *src, struct sl_err *err)
{
	const struct sl_plot_groups *g = c->g;
	FILE *f;
	int rc = open_file(&f, ch->data, err);

	if (rc < 0)
		return rc;
	fprintf(f, "# synclab %s chart data: one block per line of the chart, selected with 'index N'.\n"
		   "# Values are over the ok repetitions of each point: %s.\n"
		   "# NaN: no figure (no ok repetition, a failed one, or nothing measured).\n"
		   "# threads",
		ch->name, ranges ? "median, min, max" : "the median");
	for (size_t k = 0; k < ncols; k++)
		fprintf(f, ranges ? "  %s_median %s_min %s_max" : "  %s", cols[k],
			cols[k], cols[k]);
	fprintf(f, "\n# %s\n", what);
	for (size_t i = 0; i < g->nseries; i++) {
		const struct sl_plot_series *s = &g->series[i];

		/* Two blank lines end a gnuplot data block. */
		fprintf(f, "%s# index %zu: ", i ? "\n\n" : "", i);
		/* A line end in a label would end the comment and start data. */
		for (const char *lc = s->label; *lc; lc++)
			fputc((unsigned char)*lc < 0x20 ? 0x20 : *lc, f);
		fputc('\n', f);
		for (size_t t = 0; t < s->npts; t++) {
			const struct sl_plot_point *p = &s->pt[t];

			fprintf(f, "%u", p->threads);
			for (size_t k = 0; k < ncols; k++) {
				double med, lo, hi;

				if (src)
					src->stat(g, p, k, src->arg, &med, &lo, &hi);
				else
					sl_plot_stat(g, p, sl_csv_column(g->d, cols[k]),
						     &med, &lo, &hi);
				put_value(f, med);
				if (ranges) {
					put_value(f, lo);
					put_value(f, hi);
				}
			}
			fprintf(f, "%s\n", p->broken ? "  # a repetition failed" : "");
		}
	}
	return finish_file(f, ch->data, err);
}

/* Text cut into lines of at most width characters at ", " or "; ". */
static void wrap_lines(const char *text, size_t width, char *out, size_t n)
{
	size_t o = 0, line = 0;

	for (const char *p = text; *p && o + 2 < n; p++) {
		/* At a separator, break if the next item would not fit. */
		if ((*p == ',' || *p == ';') && p[1] == ' ') {
			const char *next = p + 2;
			size_t item = strcspn(next, ",;");

			if (line + 2 + item > width) {
				out[o++] = *p;
				out[o++] = '\n';
				p++;  /* the space */
				line = 0;
				continue;
			}
		}
		out[o++] = *p;
		line++;
	}
	out[o] = '\0';
}

static void write_terminal(FILE *f, const struct plot_ctx *c, const char *name,
			   unsigned width, unsigned height)
{
	if (!strcmp(c->format, "svg"))
		fprintf(f, "set terminal svg size %u,%u dynamic noenhanced font \"Sans,10\" background \"#ffffff\"\n",
			width, height);
	else if (!strcmp(c->format, "pdf"))
		fprintf(f, "set terminal pdfcairo size %.2fin,%.2fin noenhanced font \"Sans,9\"\n",
			width / 100.0, height / 100.0);
	else
		/* Decided when the script runs, so it renders on any gnuplot:
		 * libgd's png terminal when cairo's is missing. */
		fprintf(f, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
			   "\tset terminal pngcairo size %u,%u noenhanced font \",10\"\n"
			   "} else {\n"
			   "\tset terminal png size %u,%u noenhanced\n"
			   "}\n",
			width, height, width, height);
	fprintf(f, "set output '%s.%s'\n", name, c->format);
}

/* Script header: what it draws, how to render it, the terminal. */
static void write_header(FILE *f, const struct plot_ctx *c, const char *name,
			 const char *what, unsigned width, unsigned height)
{
	fprintf(f, "# synclab: %s.\n"
		   "# Data: %s.dat, read by relative path.  Render: cd to this directory, then\n"
		   "# 'gnuplot %s.gp' (or every chart: 'gnuplot *.gp').  For another image\n"
		   "# format change the terminal and output lines; line styles are the\n"
		   "# 'set style line' commands below.\n\n"
		   "reset\n",
		what, name, name);
	write_terminal(f, c, name, width, height);
}

/* The title: the chart's name, then the machine, then the window and
 * shared parameters, then how to read the lines. */
static void write_title(FILE *f, const struct plot_ctx *c, const char *cmd,
			const char *main, const char *how)
{
	char buf[1024], head[512];

	if (c->title && *c->title)
		snprintf(head, sizeof(head), "%s: %s", c->title, main);
	else
		snprintf(head, sizeof(head), "%s", main);
	fprintf(f, "%s ", cmd);
	gp_string(f, head);
	if (c->g->machine[0]) {
		wrap_lines(c->g->machine, 110, buf, sizeof(buf));
		fputs(" . \"\\n\" . ", f);
		gp_string(f, buf);
	}
	if (c->g->params[0]) {
		wrap_lines(c->g->params, 110, buf, sizeof(buf));
		fputs(" . \"\\n\" . ", f);
		gp_string(f, buf);
	}
	if (how) {
		fputs(" . \"\\n\" . ", f);
		gp_string(f, how);
	}
	fputc('\n', f);
}

/* Threads axis: ticks at the thread counts run when few enough to label,
 * log2 when they span a wide range sparsely (1, 2, 4, ... 256). */
static void write_x_axis(FILE *f, const struct sl_plot_groups *g)
{
	unsigned lo = g->threads[0], hi = g->threads[g->nthreads - 1];
	bool logx = g->nthreads >= 3 && g->nthreads <= 16 && hi >= 16u * lo;

	fprintf(f, "set xlabel \"threads\"\n");
	if (g->nthreads == 1)
		fprintf(f, "set xrange [%u:%u]\n", lo ? lo - 1 : 0, lo + 1);
	else if (logx)
		fprintf(f, "set logscale x 2\nset xrange [%g:%g]\n", lo / 1.25,
			hi * 1.25);
	else
		fprintf(f, "set xrange [%g:%g]\n", lo - (hi - lo) * 0.04,
			hi + (hi - lo) * 0.04);
	if (g->nthreads <= 16) {
		fprintf(f, "set xtics (");
		for (size_t k = 0; k < g->nthreads; k++)
			fprintf(f, "%s%u", k ? ", " : "", g->threads[k]);
		fprintf(f, ")\n");
	}
	fprintf(f, "set grid\n");
}

/* One style per series, numbered from 1 like the series' index + 1. */
static void write_styles(FILE *f, const struct sl_plot_groups *g)
{
	for (size_t i = 0; i < g->nseries; i++)
		fprintf(f, "set style line %zu lc rgb '%s' dt %zu pt %d lw 1.5 ps 1.2\n",
			i + 1, colours[i % NCOLOURS], i % 5 + 1,
			markers[i % NMARKERS]);
}

/* Are all values of col positive (so a log axis can show them)? */
static bool all_positive(const struct sl_plot_groups *g, int col)
{
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t t = 0; t < g->series[i].npts; t++) {
			double med, lo, hi;

			if (sl_plot_stat(g, &g->series[i].pt[t], col, &med, &lo, &hi) &&
			    lo <= 0)
				return false;
		}
	return true;
}

/* plot commands: one line with min..max bars per series that has a value
 * in column k of the data (median at 2 + 3k). */
static void write_bar_lines(FILE *f, const struct plot_ctx *c, const char *name,
			    int col, size_t k)
{
	const struct sl_plot_groups *g = c->g;
	bool first = true;

	fprintf(f, "plot ");
	for (size_t i = 0; i < g->nseries; i++) {
		if (!sl_plot_has(g, &g->series[i], col))
			continue;
		fprintf(f, "%s'%s.dat' index %zu using 1:%zu:%zu:%zu with yerrorlines ls %zu title ",
			first ? "" : ", \\\n     ", name, i, 2 + 3 * k, 3 + 3 * k,
			4 + 3 * k, i + 1);
		gp_string(f, g->series[i].label);
		first = false;
	}
	fputc('\n', f);
}

static const char bars_how[] = "lines: median over repetitions; bars: min to max";

static int write_throughput(const struct plot_ctx *c, struct sl_plot_chart *ch,
			    struct sl_err *err)
{
	static const char *const cols[] = { "ops_per_sec" };
	int col = sl_csv_column(c->g->d, cols[0]);
	bool logy = c->log_y && all_positive(c->g, col);
	FILE *f;
	int rc;

	if (!sl_plot_has(c->g, NULL, col)) {
		snprintf(ch->note, sizeof(ch->note),
			 "no point has an ops_per_sec figure (every one failed)");
		return 1;
	}
	rc = write_data(c, ch, "throughput in ops/s", cols, 1, true, NULL, err);
	if (rc < 0 || (rc = open_file(&f, ch->script, err)) < 0)
		return rc;
	write_header(f, c, ch->name,
		     "throughput against threads, one line per series (median over\n"
		     "# repetitions, error bars from min to max)", 1000, 620);
	write_title(f, c, "set title", "Throughput vs threads", bars_how);
	write_x_axis(f, c->g);
	fprintf(f, "set ylabel \"throughput (ops/s)\"\n");
	if (logy)
		fprintf(f, "set logscale y 10\nset format y '%%.0s%%c'\n");
	else
		fprintf(f, "set yrange [0:*]\nset format y '%%.1s%%c'\nset offsets 0, 0, graph 0.06, 0\n");
	fprintf(f, "set key outside right top vertical Left reverse\n");
	write_styles(f, c->g);
	fputc('\n', f);
	write_bar_lines(f, c, ch->name, col, 0);
	if (c->log_y && !logy)
		snprintf(ch->note, sizeof(ch->note),
			 "linear y axis: a throughput of 0 cannot be shown on a log scale");
	return finish_file(f, ch->script, err);
}

static int write_fairness(const struct plot_ctx *c, struct sl_plot_chart *ch,
			  struct sl_err *err)
{
	static const char *const cols[] = { "fairness" };
	int col = sl_csv_column(c->g->d, cols[0]);
	FILE *f;
	int rc;

	if (!sl_plot_has(c->g, NULL, col)) {
		snprintf(ch->note, sizeof(ch->note), col < 0
			 ? "no fairness column in the results"
			 : "no fairness values in the results");
		return 1;
	}
	rc = write_data(c, ch, "Jain's fairness index, no unit", cols, 1, true, NULL, err);
	if (rc < 0 || (rc = open_file(&f, ch->script, err)) < 0)
		return rc;
	write_header(f, c, ch->name,
		     "fairness (Jain's index over per-thread ops) against threads,\n"
		     "# one line per series (median over repetitions, error bars min to max)",
		     1000, 620);
	write_title(f, c, "set title", "Fairness vs threads", bars_how);
	write_x_axis(f, c->g);
	fprintf(f, "set ylabel \"fairness (Jain's index; 1 = equal shares, 1/threads = one thread did all)\"\n"
		   "set yrange [0:1.05]\n"
		   "set ytics 0, 0.1, 1\n"
		   "set key outside right top vertical Left reverse\n");
	write_styles(f, c->g);
	fputc('\n', f);
	write_bar_lines(f, c, ch->name, col, 0);
	return finish_file(f, ch->script, err);
}

/* A chart whose series are told apart by colour and marker and whose
 * figures (percentiles, events) by dash type: style lines, then a line per
 * series i of g and figure k where drawn[i * nfig + k], reading data column
 * 2 + k * stride, and a legend entry per series and per figure rather than
 * one per combination (NaN plots draw nothing but make an entry). */
static void write_marked_lines(FILE *f, const struct sl_plot_groups *g,
			       const char *name, size_t nfig,
			       const bool *drawn, size_t stride,
			       const int *dash, const char *const *fig_names)
{
	bool first = true;

	for (size_t i = 0; i < g->nseries; i++)
		fprintf(f, "set style line %zu lc rgb '%s' pt %d lw 1.5 ps 1.2\n",
			i + 1, colours[i % NCOLOURS], markers[i % NMARKERS]);
	fprintf(f, "\nplot ");
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t k = 0; k < nfig; k++) {
			if (!drawn[i * nfig + k])
				continue;
			fprintf(f, "%s'%s.dat' index %zu using 1:%zu with linespoints ls %zu dt %d notitle",
				first ? "" : ", \\\n     ", name, i,
				2 + k * stride, i + 1, dash[k]);
			first = false;
		}
	for (size_t i = 0; i < g->nseries; i++) {
		bool any = false;

		for (size_t k = 0; k < nfig; k++)
			any |= drawn[i * nfig + k];
		if (!any)
			continue;
		fprintf(f, ", \\\n     NaN with points ls %zu title ", i + 1);
		gp_string(f, g->series[i].label);
	}
	for (size_t k = 0; k < nfig; k++) {
		bool any = false;

		for (size_t i = 0; i < g->nseries; i++)
			any |= drawn[i * nfig + k];
		if (!any)
			continue;
		fprintf(f, ", \\\n     NaN with lines lc rgb '#000000' lw 1.5 dt %d title ",
			dash[k]);
		gp_string(f, fig_names[k]);
	}
	fputc('\n', f);
}

/* Latency: series by colour and marker, percentiles by dash type, and a
 * legend entry for each of both rather than one per combination. */
static int write_latency(const struct plot_ctx *c, struct sl_plot_chart *ch,
			 struct sl_err *err)
{
	const struct sl_plot_groups *g = c->g;
	int cols[NLAT];
	bool any = false, logy = true, *drawn;
	FILE *f;
	int rc;

	for (size_t k = 0; k < NLAT; k++) {
		cols[k] = sl_csv_column(g->d, lat_cols[k]);
		any |= sl_plot_has(g, NULL, cols[k]);
		if (cols[k] >= 0)
			logy &= all_positive(g, cols[k]);
	}
	if (!any) {
		snprintf(ch->note, sizeof(ch->note), cols[0] < 0
			 ? "no lat_* columns in the results"
			 : "no lat_* values: latency was not sampled (run with --latency)");
		return 1;
	}
	rc = write_data(c, ch, "latency percentiles in ns", lat_cols, NLAT, false, NULL, err);
	if (rc < 0 || (rc = open_file(&f, ch->script, err)) < 0)
		return rc;
	drawn = calloc(g->nseries * NLAT, sizeof(*drawn));
	if (!drawn) {
		fclose(f);
		return sl_err_set(err, -ENOMEM, "out of memory for the latency chart");
	}
	write_header(f, c, ch->name,
		     "latency percentiles against threads (median over repetitions\n"
		     "# of each percentile); series by marker, percentile by dash type",
		     1000, 620);
	write_title(f, c, "set title", "Latency percentiles vs threads",
		    "each percentile: median over repetitions");
	write_x_axis(f, g);
	fprintf(f, "set ylabel \"latency (ns)\"\n");
	if (logy)
		fprintf(f, "set logscale y 10\nset format y '%%.0s%%c'\n");
	else
		fprintf(f, "set yrange [0:*]\nset format y '%%.1s%%c'\n");
	fprintf(f, "set key outside right top vertical Left reverse\n");
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t k = 0; k < NLAT; k++)
			drawn[i * NLAT + k] = sl_plot_has(g, &g->series[i], cols[k]);
	write_marked_lines(f, g, ch->name, NLAT, drawn, 1, lat_dash, lat_names);
	free(drawn);
	return finish_file(f, ch->script, err);
}

/* Counters: a panel per counter that has values, one above the other, with
 * the same margins so that their thread axes line up. */
static int write_counters(const struct plot_ctx *c, struct sl_plot_chart *ch,
			  struct sl_err *err)
{
	const struct sl_plot_groups *g = c->g;
	int cols[NCTR];
	size_t panels = 0, longest = 0;
	double right;
	FILE *f;
	int rc;

	for (size_t k = 0; k < NCTR; k++) {
		cols[k] = sl_csv_column(g->d, ctr_cols[k]);
		panels += sl_plot_has(g, NULL, cols[k]);
	}
	if (panels == 0) {
		snprintf(ch->note, sizeof(ch->note),
			 "cache_misses_per_op and context_switches_per_op are empty: counters not supported here or not counted");
		return 1;
	}
	for (size_t k = 0; k < NCTR; k++)
		if (!sl_plot_has(g, NULL, cols[k]))
			snprintf(ch->note, sizeof(ch->note),
				 "no %s panel: the column is empty (not supported here or not counted)",
				 ctr_cols[k]);
	rc = write_data(c, ch, "counters per op", ctr_cols, NCTR, true, NULL, err);
	if (rc < 0 || (rc = open_file(&f, ch->script, err)) < 0)
		return rc;
	write_header(f, c, ch->name,
		     "hardware and kernel counters per op against threads, a panel\n"
		     "# per counter (median over repetitions, error bars min to max)",
		     1000, panels > 1 ? 860 : 620);
	/* Room on the right for the legend, from its longest label. */
	for (size_t i = 0; i < g->nseries; i++) {
		size_t l = strlen(g->series[i].label);

		longest = l > longest ? l : longest;
	}
	right = 1.0 - (0.12 + 0.0072 * (double)longest);
	right = right < 0.40 ? 0.40 : right > 0.82 ? 0.82 : right;
	fprintf(f, "\n");
	write_title(f, c, panels > 1 ? "set multiplot layout 2,1 title" : "set title",
		    "Counters per op vs threads", bars_how);
	write_x_axis(f, g);
	fprintf(f, "set lmargin at screen 0.10\n"
		   "set rmargin at screen %.3f\n"
		   "set key at screen %.3f, graph 1 left top Left reverse\n",
		right, right + 0.015);
	write_styles(f, g);
	for (size_t k = 0; k < NCTR; k++) {
		bool logy;

		if (!sl_plot_has(g, NULL, cols[k]))
			continue;
		logy = c->log_y && all_positive(g, cols[k]);
		fprintf(f, "\nset ylabel \"%s\"\n", ctr_labels[k]);
		if (logy)
			fprintf(f, "set logscale y 10\nset format y '%%g'\n");
		else
			fprintf(f, "unset logscale y\nset yrange [0:*]\nset format y '%%g'\n");
		write_bar_lines(f, c, ch->name, cols[k], k);
	}
	if (panels > 1)
		fprintf(f, "unset multiplot\n");
	return finish_file(f, ch->script, err);
}

/* --- events --------------------------------------------------------------- */

/* Event names across the results, in order of first appearance. */
#define NEVNAMES 8
struct ev_names {
	size_t n;
	bool more; /* further names were left out */
	char name[NEVNAMES][32];
};

/* The pair of a prim_events cell ("sleeps=12;wakes=3") that starts at p:
 * its name's length in *len and its count (NAN when not a count) in
 * *count.  Returns where the next pair starts, or NULL at the end. */
static const char *event_pair(const char *p, size_t *len, double *count)
{
	const char *end = p + strcspn(p, ";");
	char *stop;

	if (!*p)
		return NULL;
	*len = strcspn(p, "=;");
	*count = NAN;
	if (p[*len] == '=') {
		double v = strtod(p + *len + 1, &stop);

		if (stop == end && isfinite(v) && v >= 0)
			*count = v;
	}
	return *end ? end + 1 : end;
}

/* The count of event `name` in a prim_events cell: true and *count when
 * the cell names it with a count. */
static bool event_count(const char *cell, const char *name, double *count)
{
	size_t want = strlen(name), len;

	for (const char *p = cell, *next; (next = event_pair(p, &len, count)); p = next)
		if (len == want && !strncmp(p, name, len))
			return !isnan(*count);
	return false;
}

/* Every event name in the drawn rows' prim_events cells. */
static void collect_event_names(const struct sl_plot_groups *g, int col,
				struct ev_names *ev)
{
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t t = 0; t < g->series[i].npts; t++) {
			const struct sl_plot_point *p = &g->series[i].pt[t];

			for (size_t r = 0; r < p->nrows; r++) {
				const char *c = sl_csv_cell(g->d, p->rows[r], col);
				const char *next;
				size_t len, k;
				double count;

				for (; (next = event_pair(c, &len, &count)); c = next) {
					if (isnan(count) || !len || len >= sizeof(ev->name[0]))
						continue;
					for (k = 0; k < ev->n; k++)
						if (strlen(ev->name[k]) == len &&
						    !strncmp(ev->name[k], c, len))
							break;
					if (k < ev->n)
						continue;
					if (k == NEVNAMES) {
						ev->more = true;
						continue;
					}
					memcpy(ev->name[k], c, len);
					ev->name[k][len] = '\0';
					ev->n++;
				}
			}
		}
}

/* Event k per second of the window over the point's ok rows: median, min
 * and max; NAN when no row counted it.  Returns how many did. */
static size_t event_stat(const struct sl_plot_groups *g,
			 const struct sl_plot_point *p, int ev_col, int dur_col,
			 const char *name, double *med, double *min, double *max)
{
	double stack[64], *v = stack;
	size_t n = 0;

	*med = *min = *max = NAN;
	if (p->broken || p->nrows == 0)
		return 0;
	if (p->nrows > sizeof(stack) / sizeof(stack[0]) &&
	    !(v = malloc(p->nrows * sizeof(*v))))
		return 0;
	for (size_t r = 0; r < p->nrows; r++) {
		double count, secs = sl_plot_cell(g->d, p->rows[r], dur_col);

		if (secs > 0 &&
		    event_count(sl_csv_cell(g->d, p->rows[r], ev_col), name, &count))
			v[n++] = count / secs;
	}
	if (n) {
		*med = sl_stat_median(v, n);
		*min = sl_stat_min(v, n);
		*max = sl_stat_max(v, n);
	}
	if (v != stack)
		free(v);
	return n;
}

struct event_figures {
	int ev_col, dur_col;
	const char *const *names;
};

static size_t event_figure(const struct sl_plot_groups *g,
			   const struct sl_plot_point *p, size_t k,
			   const void *arg, double *med, double *min, double *max)
{
	const struct event_figures *e = arg;

	return event_stat(g, p, e->ev_col, e->dur_col, e->names[k], med, min,
			  max);
}

/* Events: what each primitive counted while waiting (sleeps, wakes,
 * yields, ...), per second of the window; series by colour and marker,
 * events by dash type, as the latency chart does; a log axis always. */
static int write_events(const struct plot_ctx *c, struct sl_plot_chart *ch,
			struct sl_err *err)
{
	const struct sl_plot_groups *g = c->g;
	int ev_col = sl_csv_column(g->d, "prim_events");
	int dur_col = sl_csv_column(g->d, "duration_s");
	bool *has, any = false; /* [series][event] */
	int dash[NEVNAMES];
	struct ev_names ev = { 0 };
	const char *names[NEVNAMES];
	const struct event_figures fig = { ev_col, dur_col, names };
	const struct figures src = { event_figure, &fig };
	FILE *f;
	int rc;

	if (ev_col >= 0 && dur_col >= 0)
		collect_event_names(g, ev_col, &ev);
	if (ev.n == 0) {
		snprintf(ch->note, sizeof(ch->note), ev_col < 0
			 ? "no prim_events column in the results"
			 : "prim_events is empty: none of these primitives counts its sleeps, wakes or yields");
		return 1;
	}
	has = calloc(g->nseries * ev.n, sizeof(*has));
	if (!has)
		return sl_err_set(err, -ENOMEM, "out of memory for the events chart");
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t k = 0; k < ev.n; k++)
			for (size_t t = 0; t < g->series[i].npts; t++) {
				double med, lo, hi;

				/* A line only where it has a point the
				 * log axis can show. */
				if (event_stat(g, &g->series[i].pt[t], ev_col,
					       dur_col, ev.name[k], &med, &lo, &hi) &&
				    med > 0)
					has[i * ev.n + k] = any = true;
			}
	if (!any) {
		snprintf(ch->note, sizeof(ch->note),
			 "every count in prim_events is 0: no thread had to wait");
		free(has);
		return 1;
	}
	for (size_t k = 0; k < ev.n; k++)
		names[k] = ev.name[k];
	rc = write_data(c, ch, "events per second of the window (prim_events over duration_s)",
			names, ev.n, true, &src, err);
	if (rc < 0 || (rc = open_file(&f, ch->script, err)) < 0) {
		free(has);
		return rc;
	}
	write_header(f, c, ch->name,
		     "what the primitives counted while waiting (sleeps, wakes, yields, ...)\n"
		     "# per second against threads; series by marker, event by dash type",
		     1000, 620);
	write_title(f, c, "set title", "Events per second vs threads",
		    "each event: median over repetitions");
	write_x_axis(f, g);
	/* Always logarithmic: a lock can yield at every hand-off and sleep
	 * once in a hundred thousand operations.  A count of 0 has no place
	 * on the axis and is left out of the line (the data keeps it). */
	fprintf(f, "set ylabel \"events per second (/s; log scale, 0 not drawn)\"\n"
		   "set logscale y 10\nset format y '%%.0s%%c'\n");
	fprintf(f, "set key outside right top vertical Left reverse\n");
	for (size_t k = 0; k < ev.n; k++)
		dash[k] = (int)(k % 5) + 1;
	write_marked_lines(f, g, ch->name, ev.n, has, 3, dash, names);
	free(has);
	if (ev.more)
		snprintf(ch->note, sizeof(ch->note),
			 "only the first %d event names are drawn", NEVNAMES);
	return finish_file(f, ch->script, err);
}

/* --- running gnuplot ----------------------------------------------------- */

/* Last non-empty line of what gnuplot said: its error, without the echo of
 * the offending script line that precedes it. */
static void last_line(char *text, char *out, size_t n)
{
	char *end = text + strlen(text);
	char *start;
	size_t len;

	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(text, '\n');
	start = start ? start + 1 : text;
	len = strlen(start);
	if (len >= n)
		len = n - 1; /* a long line is still worth its start */
	memcpy(out, start, len);
	out[len] = '\0';
}

/* dir as a shell word, for the how-to-render hint. */
static void shell_word(const char *s, char *out, size_t n)
{
	size_t o = 0;

	if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-+,:@")] == '\0') {
		snprintf(out, n, "%s", s);
		return;
	}
	out[o++] = '\'';
	for (; *s && o + 6 < n; s++) {
		if (*s == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *s;
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
}

/*
 * gnuplot SCRIPT... in dir, with no shell between: nothing in dir's name
 * can be interpreted.  -ENOENT when gnuplot is not installed.
 */
static int run_gnuplot(const char *dir, char *const *argv, struct sl_err *err)
{
	int errpipe[2], outpipe[2];
	int report[2] = { 0, 0 }; /* stage (1 chdir, 2 exec), errno */
	char said[2048], line[256];
	size_t got = 0;
	ssize_t r;
	pid_t pid;
	int status;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return sl_err_set(err, -errno, "cannot run gnuplot: %s",
				  strerror(errno));
	if (pipe2(outpipe, O_CLOEXEC) < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		return sl_err_set(err, -e, "cannot run gnuplot: %s", strerror(e));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		close(outpipe[0]);
		close(outpipe[1]);
		return sl_err_set(err, -e, "cannot run gnuplot: %s", strerror(e));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* stdin and stdout away from ours: a CSV may be on stdout. */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		dup2(outpipe[1], STDERR_FILENO);
		if (chdir(dir) < 0) {
			report[0] = 1;
		} else {
			execvp(argv[0], argv);
			report[0] = 2;
		}
		report[1] = errno;
		if (write(errpipe[1], report, sizeof(report)) < 0)
			_exit(126);
		_exit(127);
	}
	close(errpipe[1]);
	close(outpipe[1]);

	/* Drain stderr first: gnuplot could block on a full pipe.  Its
	 * warnings (an empty series, say) are not errors; only its exit
	 * status decides, and the last line says why. */
	for (;;) {
		char chunk[512];

		r = read(outpipe[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got + 1 < sizeof(said)) {
			size_t take = (size_t)r;

			if (take > sizeof(said) - 1 - got)
				take = sizeof(said) - 1 - got;
			memcpy(said + got, chunk, take);
			got += take;
		}
	}
	said[got] = '\0';
	close(outpipe[0]);
	do
		r = read(errpipe[0], report, sizeof(report));
	while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return sl_err_set(err, -errno, "cannot run gnuplot: %s",
					  strerror(errno));
	}

	if (r == (ssize_t)sizeof(report)) {
		if (report[0] == 1)
			return sl_err_set(err, -report[1],
					  "cannot enter '%s': %s", dir,
					  strerror(report[1]));
		if (report[1] == ENOENT)
			return -ENOENT;  /* the caller says what to do */
		return sl_err_set(err, -report[1], "cannot run gnuplot: %s",
				  strerror(report[1]));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	last_line(said, line, sizeof(line));
	if (WIFSIGNALED(status))
		return sl_err_set(err, -EIO, "gnuplot was killed by signal %d in '%s'%s%s",
				  WTERMSIG(status), dir, line[0] ? ": " : "", line);
	return sl_err_set(err, -EIO, "gnuplot failed in '%s' (exit status %d)%s%s",
			  dir, WEXITSTATUS(status), line[0] ? ": " : "", line);
}

/* --- the charts ---------------------------------------------------------- */

static bool known_format(const char *f)
{
	return !strcmp(f, "png") || !strcmp(f, "svg") || !strcmp(f, "pdf");
}

/* Remove a file synclab would write, so that no image or script of an
 * earlier run sits beside this run's as if it belonged to it. */
static int remove_stale(const char *dir, const char *name, const char *ext,
			struct sl_err *err)
{
	char path[SL_PLOT_PATH];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext) >= sizeof(path))
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return sl_err_set(err, -errno, "cannot remove the old '%s': %s",
				  path, strerror(errno));
	return 0;
}

int sl_plot_csvdata(const struct sl_csvdata *d, const char *dir,
		    const struct sl_plot_opts *o, struct sl_plot_out *out,
		    struct sl_err *err)
{
	static const char *const image_exts[] = { "png", "svg", "pdf" };
	struct sl_plot_groups g;
	struct plot_ctx c = {
		.format = o && o->format ? o->format : "png",
		.title = o ? o->title : NULL,
		.log_y = o && o->log_y,
	};
	char *argv[SL_PLOT_NCHARTS + 2];
	size_t nscripts = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!known_format(c.format))
		return sl_err_set(err, -EINVAL,
				  "unknown chart format '%s' (accepted: png, svg, pdf)",
				  c.format);
	for (size_t i = 0; i < SL_PLOT_NCHARTS; i++) {
		struct sl_plot_chart *ch = &out->chart[i];

		ch->name = chart_names[i];
		if ((size_t)snprintf(ch->data, sizeof(ch->data), "%s/%s.dat", dir, ch->name) >= sizeof(ch->data) ||
		    (size_t)snprintf(ch->script, sizeof(ch->script), "%s/%s.gp", dir, ch->name) >= sizeof(ch->script) ||
		    (size_t)snprintf(ch->image, sizeof(ch->image), "%s/%s.%s", dir, ch->name, c.format) >= sizeof(ch->image))
			return sl_err_set(err, -ENAMETOOLONG, "'%s': %s", dir,
					  strerror(ENAMETOOLONG));
	}

	rc = sl_plot_group(d, &g, err);
	if (rc < 0)
		return rc;
	c.g = &g;
	out->rows_plotted = g.rows_ok;
	out->rows_not_ok = g.rows_not_ok;
	out->rows_unreadable = g.rows_unreadable;
	snprintf(out->series_by, sizeof(out->series_by), "%s", g.varying);
	if (g.nseries == 0) {
		const char *path = d->path ? d->path : "the results";

		if (g.rows_unreadable)
			rc = sl_err_set(err, -ENODATA,
					"nothing to plot in '%s': %zu row(s) with status ok lack a number in 'threads' or 'ops_per_sec'",
					path, g.rows_unreadable);
		else
			rc = sl_err_set(err, -ENODATA,
					"nothing to plot in '%s': no row has status ok (%zu row(s), %zu not ok)",
					path, d->nrows, g.rows_not_ok);
		sl_plot_groups_free(&g);
		return rc;
	}

	/* Every point with an ok row also had a failed one: still nothing
	 * to draw, and nothing is written. */
	if (!sl_plot_has(&g, NULL, sl_csv_column(d, "ops_per_sec"))) {
		rc = sl_err_set(err, -ENODATA,
				"nothing to plot in '%s': every point has a failed repetition",
				d->path ? d->path : "the results");
		sl_plot_groups_free(&g);
		return rc;
	}

	rc = sl_mkdir_p(dir, err);
	for (size_t i = 0; i < SL_PLOT_NCHARTS && rc == 0; i++) {
		struct sl_plot_chart *ch = &out->chart[i];

		for (size_t k = 0; k < 3 && rc == 0; k++)
			rc = remove_stale(dir, ch->name, image_exts[k], err);
		if (rc < 0)
			break;
		switch ((enum chart_id)i) {
		case CH_THROUGHPUT:
			rc = write_throughput(&c, ch, err);
			break;
		case CH_LATENCY:
			rc = write_latency(&c, ch, err);
			break;
		case CH_COUNTERS:
			rc = write_counters(&c, ch, err);
			break;
		case CH_FAIRNESS:
			rc = write_fairness(&c, ch, err);
			break;
		case CH_EVENTS:
			rc = write_events(&c, ch, err);
			break;
		}
		if (rc == 1) {  /* skipped: its old data and script go too */
			rc = remove_stale(dir, ch->name, "dat", err);
			if (rc == 0)
				rc = remove_stale(dir, ch->name, "gp", err);
		} else if (rc == 0) {
			ch->written = true;
			argv[1 + nscripts++] = strrchr(ch->script, '/') + 1;
		}
	}
	sl_plot_groups_free(&g);
	if (rc < 0)
		return rc;
	if (nscripts == 0)
		return sl_err_set(err, -ENODATA, "nothing to plot: no chart has data");

	argv[0] = "gnuplot";
	argv[1 + nscripts] = NULL;
	rc = run_gnuplot(dir, argv, err);
	if (rc == -ENOENT) {
		char word[SL_PLOT_PATH + 64];
		const char *first = NULL;

		out->gnuplot_missing = true;
		for (size_t i = 0; i < SL_PLOT_NCHARTS && !first; i++)
			if (out->chart[i].written)
				first = out->chart[i].script;
		shell_word(dir, word, sizeof(word));
		return sl_err_set(err, -ENOENT,
				  "gnuplot not found: charts not rendered, but their scripts and data are written (%s%s); to render them: cd %s && gnuplot *.gp",
				  first, nscripts > 1 ? " and more" : "", word);
	}
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < SL_PLOT_NCHARTS; i++) {
		struct stat st;

		if (out->chart[i].written &&
		    (stat(out->chart[i].image, &st) < 0 || st.st_size == 0))
			return sl_err_set(err, -EIO,
					  "gnuplot made no image '%s'",
					  out->chart[i].image);
	}
	out->rendered = true;
	return 0;
}

int sl_plot_rows(const struct sl_row *rows, size_t n, const char *dir,
		 const struct sl_plot_opts *o, struct sl_plot_out *out,
		 struct sl_err *err)
{
	struct sl_csvdata d;
	int rc = sl_rows_to_csvdata(rows, n, &d, err);

	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	rc = sl_plot_csvdata(&d, dir, o, out, err);
	/* sl_csv_free frees ncols * (nrows + 1) cells: all of them here. */
	sl_csv_free(&d);
	return rc;
}

int sl_plot_throughput(const char *dir, const struct sl_row *rows, size_t n,
		       char *png_path, size_t png_len, struct sl_err *err)
{
	const struct sl_plot_opts o = { .format = "png" };
	struct sl_plot_out *out = malloc(sizeof(*out));
	int rc;

	if (!out)
		return sl_err_set(err, -ENOMEM, "out of memory");
	rc = sl_plot_rows(rows, n, dir, &o, out, err);
	if (png_path && png_len)
		snprintf(png_path, png_len, "%s", out->chart[CH_THROUGHPUT].image);
	free(out);
	return rc;
}

void sl_plot_print(FILE *f, const struct sl_plot_out *o)
{
	for (size_t i = 0; i < SL_PLOT_NCHARTS; i++) {
		const struct sl_plot_chart *ch = &o->chart[i];

		if (!ch->name)
			continue;
		if (ch->written && o->rendered)
			fprintf(f, "chart: %s\n", ch->image);
		else if (ch->written)
			fprintf(f, "chart script: %s (data: %s.dat)\n", ch->script, ch->name);
		if (!ch->written && ch->note[0])
			fprintf(f, "no %s chart: %s\n", ch->name, ch->note);
		else if (ch->note[0])
			fprintf(f, "note: %s chart: %s\n", ch->name, ch->note);
	}
	if (o->series_by[0])
		fprintf(f, "note: one line per primitive and value of %s\n", o->series_by);
	if (o->rows_not_ok)
		fprintf(f, "note: %zu row(s) left out: status not ok\n", o->rows_not_ok);
	if (o->rows_unreadable)
		fprintf(f, "note: %zu row(s) left out: no number in 'threads' or 'ops_per_sec'\n",
			o->rows_unreadable);
}
