/*
 * Grouping a results table into the series and points the charts draw.
 * Sorting (not pairwise comparison) keeps it O(n log n), so a sweep of
 * tens of thousands of rows plots as quickly as a bench of ten.
 */
#include "reports/plotdata.h"
#include "reports/report.h"
#include "util/text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns that say how a point was run: the point key's parameters (the
 * same list compare and the summary match points on), then the machine
 * columns.  One that takes two values among the rows of one primitive at
 * one thread count tells lines apart; one that takes a single value goes
 * into the subtitle; the machine columns go into the machine line. */
#define MAX_PARAMS 32
static const char *const machine_cols[] = {
	"host", "cpu_model", "kernel", "synclab_version",
};

/* Fills cols; returns how many, and where the machine columns start. */
static size_t param_columns(const char *cols[MAX_PARAMS], size_t *first_machine)
{
	const char *const *key = sl_point_key_columns();
	size_t n = 0;

	for (; *key && n + 4 < MAX_PARAMS; key++)
		if (strcmp(*key, "primitive") && strcmp(*key, "threads"))
			cols[n++] = *key;
	*first_machine = n;
	for (size_t i = 0; i < sizeof(machine_cols) / sizeof(machine_cols[0]); i++)
		cols[n++] = machine_cols[i];
	return n;
}

/* One row that takes part: ok, or a failure that voids its point. */
struct ref {
	size_t row;
	unsigned threads;
	bool ok;
	char *key;  /* primitive and the varying parameters' values */
};

/* What cmp_prim_threads compares by, through qsort_r's argument. */
struct sort_ctx {
	const struct sl_csvdata *d;
	int prim_col;
};

double sl_plot_cell(const struct sl_csvdata *d, size_t row, int col)
{
	const char *s = sl_csv_cell(d, row, col);
	char *end;
	double v;

	if (!*s)
		return NAN;
	v = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (end == s || *end || !isfinite(v))
		return NAN;
	return v;
}

static bool parse_threads(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 1000000)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool is_failure(const char *status)
{
	return !strcmp(status, "check-failed") || !strcmp(status, "stuck") ||
	       !strcmp(status, "error");
}

static int cmp_prim_threads(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *ctx = arg;
	const struct ref *x = a, *y = b;
	int c = strcmp(sl_csv_cell(ctx->d, x->row, ctx->prim_col),
		       sl_csv_cell(ctx->d, y->row, ctx->prim_col));

	if (c)
		return c;
	if (x->threads != y->threads)
		return x->threads < y->threads ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

static int cmp_key_threads(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->threads != y->threads)
		return x->threads < y->threads ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

/* Does column col take two values among refs that share a primitive and a
 * thread count?  refs must be sorted by cmp_prim_threads. */
static bool varies_at_fixed_threads(const struct sl_csvdata *d, int prim_col,
				    int col, const struct ref *refs, size_t n)
{
	size_t first = 0;

	for (size_t i = 1; i < n; i++) {
		const struct ref *a = &refs[first], *b = &refs[i];

		if (a->threads != b->threads ||
		    strcmp(sl_csv_cell(d, a->row, prim_col),
			   sl_csv_cell(d, b->row, prim_col))) {
			first = i;
			continue;
		}
		if (strcmp(sl_csv_cell(d, a->row, col), sl_csv_cell(d, b->row, col)))
			return true;
	}
	return false;
}

/* The value every ok row has in col, ignoring empty cells (a column that
 * does not apply to a primitive's kind); NULL when two values occur (then
 * *several is set, if given) or none does. */
static const char *common_value_of(const struct sl_csvdata *d, int col,
				   const struct ref *refs, size_t n,
				   bool *several)
{
	const char *v = NULL;

	if (several)
		*several = false;
	if (col < 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *c;

		if (!refs[i].ok)
			continue;
		c = sl_csv_cell(d, refs[i].row, col);
		if (!*c)
			continue;
		if (!v) {
			v = c;
		} else if (strcmp(v, c)) {
			if (several)
				*several = true;
			return NULL;
		}
	}
	return v;
}

static const char *common_value(const struct sl_csvdata *d, int col,
				const struct ref *refs, size_t n)
{
	return common_value_of(d, col, refs, n, NULL);
}

/* "window 1 s, warm-up 0.2 s": the measured window over the ok rows, the
 * warm-up if shared.  A window never ends before the one asked for but
 * may overrun it a little, so the shortest stands for all when they are
 * within 20% of each other, to two significant digits. */
static void describe_window(const struct sl_csvdata *d, const struct ref *refs,
			    size_t n, char *buf, size_t len)
{
	int dcol = sl_csv_column(d, "duration_s");
	int wcol = sl_csv_column(d, "warmup_s");
	const char *warm = common_value(d, wcol, refs, n);
	double lo = INFINITY, hi = -INFINITY;

	for (size_t i = 0; i < n && dcol >= 0; i++) {
		double v;

		if (!refs[i].ok)
			continue;
		v = sl_plot_cell(d, refs[i].row, dcol);
		if (isnan(v))
			continue;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	if (isfinite(lo)) {
		char a[32], b[32];

		snprintf(a, sizeof(a), "%.2g", lo);
		snprintf(b, sizeof(b), "%.2g", hi);
		if (hi < lo * 1.2)
			sl_appendf(buf, len, "window %s s", a);
		else
			sl_appendf(buf, len, "window %s to %s s", a, b);
	}
	if (warm) {
		char *end;
		double w = strtod(warm, &end);

		if (end != warm && !*end && isfinite(w))
			sl_appendf(buf, len, "%swarm-up %g s", buf[0] ? ", " : "", w);
	}
}

static void series_free(struct sl_plot_series *s)
{
	for (size_t i = 0; i < s->npts; i++)
		free(s->pt[i].rows);
	free(s->pt);
	free(s->label);
}

void sl_plot_groups_free(struct sl_plot_groups *g)
{
	for (size_t i = 0; i < g->nseries; i++)
		series_free(&g->series[i]);
	free(g->series);
	free(g->threads);
	memset(g, 0, sizeof(*g));
}

/* The key sorts; the label reads.  A value that is empty (the parameter
 * does not apply) shows as "-". */
static int make_key(const struct sl_csvdata *d, size_t row, int prim_col,
		    const int *vary, size_t nvary, char **key, char **label)
{
	size_t klen = strlen(sl_csv_cell(d, row, prim_col)) + 1, llen = klen;

	*key = NULL;
	if (label)
		*label = NULL;
	for (size_t k = 0; k < nvary; k++) {
		size_t v = strlen(sl_csv_cell(d, row, vary[k]));

		klen += v + 1;
		llen += strlen(d->header[vary[k]]) + v + 3;
	}
	*key = malloc(klen);
	if (label)
		*label = malloc(llen);
	if (!*key || (label && !*label)) {
		free(*key);
		*key = NULL;
		if (label) {
			free(*label);
			*label = NULL;
		}
		return -ENOMEM;
	}
	strcpy(*key, sl_csv_cell(d, row, prim_col));
	if (label)
		strcpy(*label, *key);
	for (size_t k = 0; k < nvary; k++) {
		const char *v = sl_csv_cell(d, row, vary[k]);

		/* The unit separator sorts below every printable byte:
		 * "mutex" and its parameters stay next to each other. */
		strcat(*key, "\x1f");
		strcat(*key, v);
		if (label) {
			strcat(*label, " ");
			strcat(*label, d->header[vary[k]]);
			strcat(*label, "=");
			strcat(*label, *v ? v : "-");
		}
	}
	return 0;
}

int sl_plot_group(const struct sl_csvdata *d, struct sl_plot_groups *g,
		  struct sl_err *err)
{
	static const char *const required[] = { "primitive", "threads", "ops_per_sec" };
	int prim_col = sl_csv_column(d, "primitive");
	int threads_col = sl_csv_column(d, "threads");
	int rate_col = sl_csv_column(d, "ops_per_sec");
	int status_col = sl_csv_column(d, "status");
	const char *param_cols[MAX_PARAMS];
	size_t first_machine_col;
	const size_t nparams = param_columns(param_cols, &first_machine_col);
	int vary[MAX_PARAMS];
	size_t nvary = 0, nrefs = 0, *first_row = NULL;
	struct ref *refs = NULL;
	int rc = -ENOMEM;

	memset(g, 0, sizeof(*g));
	g->d = d;
	for (size_t i = 0; i < 3; i++)
		if (sl_csv_column(d, required[i]) < 0)
			return sl_err_set(err, -EINVAL,
					  "'%s' has no column '%s' (required: primitive, threads, ops_per_sec)",
					  d->path ? d->path : "the results", required[i]);

	refs = calloc(d->nrows ? d->nrows : 1, sizeof(*refs));
	if (!refs)
		goto nomem;
	for (size_t r = 0; r < d->nrows; r++) {
		const char *status = status_col >= 0 ? sl_csv_cell(d, r, status_col) : "ok";
		bool ok = !strcmp(status, "ok");
		unsigned threads;

		if (!ok)
			g->rows_not_ok++;
		if (!ok && !is_failure(status))
			continue;
		if (!parse_threads(sl_csv_cell(d, r, threads_col), &threads) ||
		    (ok && isnan(sl_plot_cell(d, r, rate_col)))) {
			if (ok)
				g->rows_unreadable++;
			continue;
		}
		refs[nrefs++] = (struct ref){ .row = r, .threads = threads, .ok = ok };
	}

	/* Which parameters tell lines apart. */
	{
		struct sort_ctx ctx = { d, prim_col };

		qsort_r(refs, nrefs, sizeof(*refs), cmp_prim_threads, &ctx);
	}
	for (size_t p = 0; p < nparams; p++) {
		int col = sl_csv_column(d, param_cols[p]);

		if (col >= 0 && varies_at_fixed_threads(d, prim_col, col, refs, nrefs)) {
			vary[nvary++] = col;
			sl_appendf(g->varying, sizeof(g->varying), "%s%s",
			       g->varying[0] ? ", " : "", param_cols[p]);
		}
	}

	for (size_t i = 0; i < nrefs; i++)
		if (make_key(d, refs[i].row, prim_col, vary, nvary, &refs[i].key, NULL) < 0)
			goto nomem;
	qsort(refs, nrefs, sizeof(*refs), cmp_key_threads);

	/* Runs of one key are a series, runs of one thread count within it a
	 * point.  first_row orders the series as the rows first named them. */
	g->series = calloc(nrefs ? nrefs : 1, sizeof(*g->series));
	first_row = calloc(nrefs ? nrefs : 1, sizeof(*first_row));
	if (!g->series || !first_row)
		goto nomem;
	for (size_t i = 0; i < nrefs;) {
		size_t end = i, nok = 0, lowest = refs[i].row;
		struct sl_plot_series *s = &g->series[g->nseries];

		while (end < nrefs && !strcmp(refs[end].key, refs[i].key)) {
			nok += refs[end].ok;
			lowest = refs[end].row < lowest ? refs[end].row : lowest;
			end++;
		}
		if (nok == 0) {  /* a broken primitive: no line at all */
			i = end;
			continue;
		}
		{
			char *key;

			if (make_key(d, refs[i].row, prim_col, vary, nvary, &key, &s->label) < 0)
				goto nomem;
			free(key);
		}
		s->pt = calloc(end - i, sizeof(*s->pt));
		if (!s->pt) {
			free(s->label);
			goto nomem;
		}
		first_row[g->nseries] = lowest;
		g->nseries++;
		g->rows_ok += nok;
		for (size_t j = i; j < end;) {
			struct sl_plot_point *p = &s->pt[s->npts++];
			size_t k = j;

			p->threads = refs[j].threads;
			while (k < end && refs[k].threads == p->threads)
				k++;
			p->rows = calloc(k - j, sizeof(*p->rows));
			if (!p->rows)
				goto nomem;
			for (; j < k; j++) {
				if (refs[j].ok)
					p->rows[p->nrows++] = refs[j].row;
				else
					p->broken = true;
			}
		}
		i = end;
	}

	/* First appearance order: a few series, so insertion sort. */
	for (size_t i = 1; i < g->nseries; i++) {
		for (size_t j = i; j > 0 && first_row[j - 1] > first_row[j]; j--) {
			struct sl_plot_series t = g->series[j];
			size_t f = first_row[j];

			g->series[j] = g->series[j - 1];
			first_row[j] = first_row[j - 1];
			g->series[j - 1] = t;
			first_row[j - 1] = f;
		}
	}

	/* Every thread count drawn. */
	g->threads = calloc(nrefs ? nrefs : 1, sizeof(*g->threads));
	if (!g->threads)
		goto nomem;
	for (size_t i = 0; i < g->nseries; i++)
		for (size_t t = 0; t < g->series[i].npts; t++)
			g->threads[g->nthreads++] = g->series[i].pt[t].threads;
	qsort(g->threads, g->nthreads, sizeof(unsigned), cmp_unsigned);
	{
		size_t u = 0;

		for (size_t i = 0; i < g->nthreads; i++)
			if (u == 0 || g->threads[u - 1] != g->threads[i])
				g->threads[u++] = g->threads[i];
		g->nthreads = u;
	}

	/* Subtitle: the machine, then the window and shared parameters. */
	{
		static const char *const prefix[] = { "", "", "Linux ", "synclab " };
		const char *sep = "";
		bool several_hosts;

		/* Rows from two machines in one file: said first, since no
		 * figure in the chart belongs to one of them alone. */
		common_value_of(d, sl_csv_column(d, "host"), refs, nrefs, &several_hosts);
		if (several_hosts) {
			sl_appendf(g->machine, sizeof(g->machine), "several hosts");
			sep = ", ";
		}
		for (size_t p = first_machine_col; p < nparams; p++) {
			const char *v = common_value(d, sl_csv_column(d, param_cols[p]), refs, nrefs);

			if (!v)
				continue;
			sl_appendf(g->machine, sizeof(g->machine), "%s%s%s", sep,
			       prefix[p - first_machine_col], v);
			sep = p == first_machine_col ? ": " : ", ";
		}
		describe_window(d, refs, nrefs, g->params, sizeof(g->params));
		sep = g->params[0] ? "; " : "";
		for (size_t p = 0; p < first_machine_col; p++) {
			int col = sl_csv_column(d, param_cols[p]);
			const char *v;
			bool varying = false;

			if (!strcmp(param_cols[p], "warmup_s"))
				continue;  /* already in the window part */
			for (size_t k = 0; k < nvary; k++)
				varying |= vary[k] == col;
			v = varying ? NULL : common_value(d, col, refs, nrefs);
			if (!v)
				continue;
			sl_appendf(g->params, sizeof(g->params), "%s%s=%s", sep,
			       param_cols[p], v);
			sep = ", ";
		}
	}
	rc = 0;
	goto out;
nomem:
	rc = sl_err_set(err, -ENOMEM, "out of memory grouping %zu rows", d->nrows);
	sl_plot_groups_free(g);
out:
	for (size_t i = 0; i < nrefs; i++)
		free(refs[i].key);
	free(refs);
	free(first_row);
	return rc;
}

size_t sl_plot_stat(const struct sl_plot_groups *g,
		    const struct sl_plot_point *p, int col, double *med,
		    double *min, double *max)
{
	double stack[64], *v = stack;
	size_t n = 0;

	*med = *min = *max = NAN;
	if (col < 0 || p->broken || p->nrows == 0)
		return 0;
	if (p->nrows > sizeof(stack) / sizeof(stack[0])) {
		v = malloc(p->nrows * sizeof(*v));
		if (!v)
			return 0;
	}
	for (size_t i = 0; i < p->nrows; i++) {
		double x = sl_plot_cell(g->d, p->rows[i], col);

		if (!isnan(x))
			v[n++] = x;
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

bool sl_plot_has(const struct sl_plot_groups *g,
		 const struct sl_plot_series *s, int col)
{
	if (col < 0)
		return false;
	for (size_t i = 0; i < g->nseries; i++) {
		const struct sl_plot_series *cur = &g->series[i];

		if (s && cur != s)
			continue;
		for (size_t t = 0; t < cur->npts; t++) {
			const struct sl_plot_point *p = &cur->pt[t];

			if (p->broken)
				continue;
			for (size_t r = 0; r < p->nrows; r++)
				if (!isnan(sl_plot_cell(g->d, p->rows[r], col)))
					return true;
		}
	}
	return false;
}
