/*
 * The lab's shared machinery: the demo registry, measuring a configuration
 * through the runner with medians over repetitions, and the evidence table
 * with its CSV and gnuplot chart.  Experiments in lab/ use these and never
 * time, pin or plot on their own.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/lab.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/opt.h"

/* --- registry ------------------------------------------------------------ */

#define SL_DEMO(c_name) extern const struct sl_demo sl_demo_##c_name;
#include "lab/registry.def"
#undef SL_DEMO

static const struct sl_demo *const demos[] = {
#define SL_DEMO(c_name) &sl_demo_##c_name,
#include "lab/registry.def"
#undef SL_DEMO
};

size_t sl_demo_count(void)
{
	return sizeof(demos) / sizeof(demos[0]);
}

const struct sl_demo *sl_demo_at(size_t i)
{
	return i < sl_demo_count() ? demos[i] : NULL;
}

const struct sl_demo *sl_demo_find(const char *name)
{
	for (size_t i = 0; i < sl_demo_count(); i++)
		if (!strcmp(demos[i]->name, name))
			return demos[i];
	return NULL;
}

const char *sl_demo_suggest(const char *name)
{
	const char *names[64];
	size_t n = sl_demo_count() < 64 ? sl_demo_count() : 64;

	for (size_t i = 0; i < n; i++)
		names[i] = demos[i]->name;
	return sl_suggest(name, names, n);
}

/* --- measuring ----------------------------------------------------------- */

const struct sl_prim *sl_lab_prim(const char *name)
{
	const struct sl_prim *p = sl_prim_find(name);

	if (!p)
		SL_BUG("lab: no primitive '%s' in the registry", name);
	return p;
}

struct sl_point sl_lab_point(const struct sl_prim *prim, unsigned threads)
{
	static const struct sl_pin_spec compact = { .policy = SL_PIN_COMPACT,
						    .text = "compact" };
	struct sl_point pt = {
		.prim = prim,
		.threads = threads,
		.rep = 1,
		.locks = 1,
		.read_pct = 90,
		.capacity = 16,
		.permits = 2,
		.pin = &compact,
		.uncontended_ns = NAN,
		.rmw_ns = NAN,
	};

	return pt;
}

void sl_lab_pin_list(struct sl_lab_pin *p, const int *pus, unsigned n)
{
	char *t = p->spec.text;
	size_t used = 0;

	memset(p, 0, sizeof(*p));
	p->spec.policy = SL_PIN_LIST;
	p->spec.n = n < SL_PIN_LIST_MAX ? n : SL_PIN_LIST_MAX;
	for (unsigned i = 0; i < p->spec.n; i++) {
		p->spec.pus[i] = pus[i];
		if (used + 8 < sizeof(p->spec.text))
			used += (size_t)snprintf(t + used, sizeof(p->spec.text) - used,
						 "%s%d", i ? "," : "", pus[i]);
	}
}

static double median_of(double *v, unsigned n)
{
	return n ? sl_stat_median(v, n) : NAN;
}

static double counter_of(const struct sl_point *pt, const struct sl_result *r,
			 const char *event)
{
	int i;

	if (!pt->counters)
		return NAN;
	i = sl_counters_find(pt->counters, event);
	if (i < 0 || !pt->counters->ev[i].supported || !r->ops)
		return NAN;
	return r->counter[i] / (double)r->ops;
}

/* The figures of one ok repetition, in the order of struct sl_lab_measure's
 * medians. */
enum { F_OPS, F_NS, F_FAIR, F_CPU_UTIL, F_CPU_OP, F_CS_OP, F_MISS_OP, F_P50,
       F_P99, F_MAX, F_T0, F_T1, F_MINT, F_MAXT, F_HO50, F_HO99, F_LAB0,
       F_SHARE0 = F_LAB0 + SL_LAB_FIGURES,
       F_RLAT0 = F_SHARE0 + SL_ROLE_COUNT_,
       F_EV0 = F_RLAT0 + SL_ROLE_COUNT_,
       F_COUNT = F_EV0 + SL_PRIM_EVENTS };

/* Each role's share of the ops and its threads' longest latency sample;
 * NAN for roles no thread had. */
static void role_figures(const struct sl_result *res, double *share,
			 double *lat_max)
{
	uint64_t ops[SL_ROLE_COUNT_] = { 0 }, lat[SL_ROLE_COUNT_] = { 0 };
	bool seen[SL_ROLE_COUNT_] = { false };

	for (unsigned i = 0; i < res->threads; i++) {
		unsigned r = res->thread[i].role;

		if (r >= SL_ROLE_COUNT_)
			continue;
		seen[r] = true;
		ops[r] += res->thread[i].ops;
		if (res->thread[i].lat_max_ns > lat[r])
			lat[r] = res->thread[i].lat_max_ns;
	}
	for (unsigned r = 0; r < SL_ROLE_COUNT_; r++) {
		share[r] = seen[r] && res->ops ? (double)ops[r] / (double)res->ops : NAN;
		lat_max[r] = seen[r] && res->lat && lat[r] ? (double)lat[r] : NAN;
	}
}

int sl_lab_measure(const struct sl_demo_ctx *ctx, const struct sl_point *tmpl,
		   struct sl_lab_measure *m, struct sl_err *err)
{
	const unsigned reps = ctx->repeat ? ctx->repeat : 1;
	double (*fig)[F_COUNT] = calloc(reps, sizeof(*fig));
	double *col = calloc(reps, sizeof(*col));
	unsigned ok = 0;

	memset(m, 0, sizeof(*m));
	m->status = SL_STATUS_OK;
	if (!fig || !col) {
		free(fig);
		free(col);
		return sl_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned r = 1; r <= reps; r++) {
		struct sl_point pt = *tmpl;
		struct sl_result res;
		int rc;

		pt.rep = r;
		pt.topo = ctx->topo;
		pt.calib = ctx->calib;
		if (!pt.counters)
			pt.counters = ctx->counters;
		pt.interrupt = ctx->interrupt;
		if (!pt.duration_ns)
			pt.duration_ns = ctx->duration_ns;
		if (!pt.warmup_ns)
			pt.warmup_ns = ctx->warmup_ns;
		if (!pt.stall_timeout_ns)
			pt.stall_timeout_ns = 5 * SL_NS_PER_SEC;
		rc = sl_point_resolve(&pt, err);
		if (rc == 0)
			rc = sl_run_point(&pt, &res, err);
		if (rc < 0) {
			free(fig);
			free(col);
			return rc;
		}
		if (ctx->runs) {
			struct sl_row row = { .pt = &pt, .res = &res, .meta = ctx->meta,
					      .calib = ctx->calib };
			struct sl_err werr;

			if (sl_csv_write_row(ctx->runs, &row, &werr) < 0) {
				sl_result_release(&res);
				free(fig);
				free(col);
				return sl_err_set(err, -EIO, "%s", werr.msg);
			}
		}
		if (res.status == SL_STATUS_INTERRUPTED) {
			sl_result_release(&res);
			free(fig);
			free(col);
			return sl_err_set(err, -EINTR, "interrupted");
		}
		if (res.status != SL_STATUS_OK) {
			if (m->status == SL_STATUS_OK) {
				m->status = res.status;
				snprintf(m->message, sizeof(m->message), "%s", res.message);
			}
			sl_result_release(&res);
			continue;
		}
		{
			double *f = fig[ok++];
			double wall = (double)res.window_ns / 1e9 * res.threads;

			f[F_OPS] = res.ops_per_sec;
			f[F_NS] = res.ns_per_op;
			f[F_FAIR] = res.fairness;
			f[F_CPU_UTIL] = wall > 0 ? res.cpu_s / wall : NAN;
			f[F_CPU_OP] = res.ops ? res.cpu_s * 1e9 / (double)res.ops : NAN;
			f[F_CS_OP] = res.ops ? (double)(res.vol_cs + res.invol_cs) / (double)res.ops : NAN;
			f[F_MISS_OP] = counter_of(&pt, &res, "cache-misses");
			f[F_P50] = res.lat && res.lat->count ? sl_hist_quantile(res.lat, 0.5) : NAN;
			f[F_P99] = res.lat && res.lat->count ? sl_hist_quantile(res.lat, 0.99) : NAN;
			f[F_MAX] = res.lat && res.lat->count ? (double)res.lat->max : NAN;
			f[F_T0] = res.lat && res.threads > 0 ? (double)res.thread[0].lat_max_ns : NAN;
			f[F_T1] = res.lat && res.threads > 1 ? (double)res.thread[1].lat_max_ns : NAN;
			f[F_MINT] = (double)res.min_thread_ops;
			f[F_MAXT] = (double)res.max_thread_ops;
			f[F_HO50] = res.handoff && res.handoff->hist.count
					    ? sl_hist_quantile(&res.handoff->hist, 0.5) : NAN;
			f[F_HO99] = res.handoff && res.handoff->hist.count
					    ? sl_hist_quantile(&res.handoff->hist, 0.99) : NAN;
			role_figures(&res, &f[F_SHARE0], &f[F_RLAT0]);
			for (unsigned i = 0; i < SL_LAB_FIGURES; i++)
				f[F_LAB0 + i] = res.lab_figure[i];
			for (unsigned i = 0; i < SL_PRIM_EVENTS; i++)
				f[F_EV0 + i] = res.events_per_sec[i];
			m->ops += res.ops;
			m->observed += res.observed;
		}
		sl_result_release(&res);
	}
	m->reps = ok;
	{
		double *dst[F_COUNT] = {
			&m->ops_per_sec, &m->ns_per_op, &m->fairness, &m->cpu_util,
			&m->cpu_ns_per_op, &m->ctx_switches_per_op,
			&m->cache_misses_per_op, &m->lat_p50_ns, &m->lat_p99_ns,
			&m->lat_max_ns, &m->max_thread_lat_ns[0],
			&m->max_thread_lat_ns[1], &m->min_thread_ops,
			&m->max_thread_ops, &m->handoff_p50_ns, &m->handoff_p99_ns,
		};

		for (unsigned i = 0; i < SL_LAB_FIGURES; i++)
			dst[F_LAB0 + i] = &m->lab_figure[i];
		for (unsigned r = 0; r < SL_ROLE_COUNT_; r++) {
			dst[F_SHARE0 + r] = &m->role_ops_share[r];
			dst[F_RLAT0 + r] = &m->role_lat_max_ns[r];
		}
		for (unsigned i = 0; i < SL_PRIM_EVENTS; i++)
			dst[F_EV0 + i] = &m->events_per_sec[i];
		for (unsigned k = 0; k < F_COUNT; k++) {
			unsigned nv = 0;

			/* A figure NAN in any repetition (not supported) is
			 * left out of its median, never counted as 0. */
			for (unsigned i = 0; i < ok; i++)
				if (!isnan(fig[i][k]))
					col[nv++] = fig[i][k];
			*dst[k] = median_of(col, nv);
		}
		m->ops_per_sec_min = m->ops_per_sec_max = NAN;
		for (unsigned i = 0; i < ok; i++) {
			if (isnan(m->ops_per_sec_min) || fig[i][F_OPS] < m->ops_per_sec_min)
				m->ops_per_sec_min = fig[i][F_OPS];
			if (isnan(m->ops_per_sec_max) || fig[i][F_OPS] > m->ops_per_sec_max)
				m->ops_per_sec_max = fig[i][F_OPS];
		}
	}
	free(fig);
	free(col);
	return 0;
}

int sl_lab_measure_ok(const struct sl_demo_ctx *ctx, const struct sl_point *tmpl,
		      struct sl_lab_measure *m, struct sl_err *err)
{
	int rc = sl_lab_measure(ctx, tmpl, m, err);
	char params[96] = "";

	if (rc < 0 || m->status == SL_STATUS_OK)
		return rc;
	if (tmpl->cs_ns)
		snprintf(params, sizeof(params), ", %" PRIu64 " ns critical section", tmpl->cs_ns);
	if (tmpl->prim->kind == SL_KIND_RWLOCK || tmpl->prim->kind == SL_KIND_RCU)
		snprintf(params + strlen(params), sizeof(params) - strlen(params),
			 ", %u%% reads", tmpl->read_pct);
	return sl_err_set(err, m->status == SL_STATUS_CHECK_FAILED ? -EPROTO : -EIO,
			  "%s, %u thread%s%s: %s: %s", tmpl->prim->name, tmpl->threads,
			  tmpl->threads == 1 ? "" : "s", params, sl_status_name(m->status),
			  m->message);
}

/* --- evidence table ------------------------------------------------------ */

struct sl_lab_table {
	const char *label_name;
	unsigned ncols, nrows, cap;
	const char *const *names;
	const char *const *units;
	char **labels;
	double *vals; /* [nrows * ncols] */
};

struct sl_lab_table *sl_lab_table_new(const char *label_name, unsigned ncols,
				      const char *const *names,
				      const char *const *units)
{
	struct sl_lab_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->label_name = label_name;
	t->ncols = ncols;
	t->names = names;
	t->units = units;
	return t;
}

void sl_lab_table_free(struct sl_lab_table *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nrows; i++)
		free(t->labels[i]);
	free(t->labels);
	free(t->vals);
	free(t);
}

int sl_lab_table_add(struct sl_lab_table *t, const char *label,
		     const double *vals)
{
	if (t->nrows == t->cap) {
		unsigned cap = t->cap ? t->cap * 2 : 16;
		char **l = realloc(t->labels, cap * sizeof(*l));
		double *v;

		if (!l)
			return -ENOMEM;
		t->labels = l;
		v = realloc(t->vals, (size_t)cap * t->ncols * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->vals = v;
		t->cap = cap;
	}
	t->labels[t->nrows] = strdup(label);
	if (!t->labels[t->nrows])
		return -ENOMEM;
	memcpy(t->vals + (size_t)t->nrows * t->ncols, vals, t->ncols * sizeof(*vals));
	t->nrows++;
	return 0;
}

unsigned sl_lab_table_rows(const struct sl_lab_table *t)
{
	return t->nrows;
}

double sl_lab_table_get(const struct sl_lab_table *t, unsigned row, unsigned col)
{
	return row < t->nrows && col < t->ncols ? t->vals[(size_t)row * t->ncols + col] : NAN;
}

const char *sl_lab_table_label(const struct sl_lab_table *t, unsigned row)
{
	return row < t->nrows ? t->labels[row] : "";
}

/* A figure with an SI prefix for rates and counts; the unit is appended
 * only when with_unit (table cells carry it in the header instead). */
static const char *fmt_figure(char *buf, size_t n, double v, const char *unit,
			      bool with_unit)
{
	static const struct { double scale; const char *prefix; } si[] = {
		{ 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" },
	};
	const char *u = with_unit && unit ? unit : "";
	const char *sep = *u ? " " : "";

	if (isnan(v)) {
		snprintf(buf, n, "n/s");
		return buf;
	}
	/* Rates and counts get a prefix; times and ratios are shown as they
	 * are, with enough digits to compare. */
	if (unit && (strstr(unit, "/s") || !strcmp(unit, "ops") || !strcmp(unit, "count"))) {
		for (size_t i = 0; i < sizeof(si) / sizeof(si[0]); i++)
			if (fabs(v) >= si[i].scale) {
				snprintf(buf, n, "%.3g%s%s%s", v / si[i].scale, si[i].prefix,
					 sep, u);
				return buf;
			}
	}
	if (fabs(v) >= 100 || v == floor(v))
		snprintf(buf, n, "%.0f%s%s", v, sep, u);
	else if (fabs(v) >= 1)
		snprintf(buf, n, "%.2f%s%s", v, sep, u);
	else
		snprintf(buf, n, "%.3g%s%s", v, sep, u);
	return buf;
}

const char *sl_lab_fmt(char *buf, size_t n, double v, const char *unit)
{
	return fmt_figure(buf, n, v, unit, true);
}

const char *sl_lab_fmt_time(char *buf, size_t n, double ns)
{
	if (isnan(ns))
		snprintf(buf, n, "n/s");
	else if (fabs(ns) < 1e3)
		snprintf(buf, n, "%.3g ns", ns);
	else if (fabs(ns) < 1e6)
		snprintf(buf, n, "%.3g us", ns / 1e3);
	else if (fabs(ns) < 1e9)
		snprintf(buf, n, "%.3g ms", ns / 1e6);
	else
		snprintf(buf, n, "%.3g s", ns / 1e9);
	return buf;
}

void sl_lab_table_print(FILE *f, const struct sl_lab_table *t)
{
	size_t lw = strlen(t->label_name), *w = calloc(t->ncols, sizeof(*w));
	char cell[64], head[96];

	if (!w)
		return;
	for (unsigned r = 0; r < t->nrows; r++)
		if (strlen(t->labels[r]) > lw)
			lw = strlen(t->labels[r]);
	for (unsigned c = 0; c < t->ncols; c++) {
		snprintf(head, sizeof(head), *t->units[c] ? "%s (%s)" : "%s",
			 t->names[c], t->units[c]);
		w[c] = strlen(head);
		for (unsigned r = 0; r < t->nrows; r++) {
			fmt_figure(cell, sizeof(cell), sl_lab_table_get(t, r, c), t->units[c], false);
			if (strlen(cell) > w[c])
				w[c] = strlen(cell);
		}
	}
	fprintf(f, "  %-*s", (int)lw, t->label_name);
	for (unsigned c = 0; c < t->ncols; c++) {
		snprintf(head, sizeof(head), *t->units[c] ? "%s (%s)" : "%s",
			 t->names[c], t->units[c]);
		fprintf(f, "  %*s", (int)w[c], head);
	}
	fputc('\n', f);
	for (unsigned r = 0; r < t->nrows; r++) {
		fprintf(f, "  %-*s", (int)lw, t->labels[r]);
		for (unsigned c = 0; c < t->ncols; c++)
			fprintf(f, "  %*s", (int)w[c],
				fmt_figure(cell, sizeof(cell), sl_lab_table_get(t, r, c),
					   t->units[c], false));
		fputc('\n', f);
	}
	free(w);
}

/* --- files ---------------------------------------------------------------- */

/* A text field, quoted when it holds a comma, a quote or a line end. */
static void put_csv_text(FILE *f, const char *text)
{
	if (!strpbrk(text, ",\"\n\r")) {
		fputs(text, f);
		return;
	}
	fputc('"', f);
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static int write_table_csv(const struct sl_lab_table *t, const char *path,
			   struct sl_err *err)
{
	char tmp[4300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));
	put_csv_text(f, t->label_name);
	for (unsigned c = 0; c < t->ncols; c++) {
		char head[160];

		snprintf(head, sizeof(head), "%s%s%s", t->names[c],
			 *t->units[c] ? "_" : "", t->units[c]);
		fputc(',', f);
		put_csv_text(f, head);
	}
	fputc('\n', f);
	for (unsigned r = 0; r < t->nrows; r++) {
		/* Labels are the experiment's own words: always quoted. */
		fputc('"', f);
		for (const char *p = t->labels[r]; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
		for (unsigned c = 0; c < t->ncols; c++) {
			double v = sl_lab_table_get(t, r, c);

			if (isnan(v))
				fputc(',', f);
			else
				fprintf(f, ",%.6g", v);
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return sl_err_set(err, -e, "cannot write '%s': %s", path, strerror(e));
	}
	return 0;
}

static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4200];

	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)len, path);
		if (access(buf, X_OK) == 0)
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

/* gnuplot's data: one block per series (LINES) or one row per label
 * (BARS), separated by two blank lines so `index` picks a series. */
static int write_chart(const struct sl_demo_ctx *ctx, const struct sl_lab_table *t,
		       const struct sl_lab_chart *ch, const char *stem, unsigned *nseries,
		       char labels[][64], struct sl_err *err)
{
	char dat[4200], gp[4200];
	FILE *f;
	unsigned ns = 0;

	snprintf(dat, sizeof(dat), "%s/%s.dat", ctx->out_dir, stem);
	snprintf(gp, sizeof(gp), "%s/%s.gp", ctx->out_dir, stem);
	f = fopen(dat, "w");
	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", dat, strerror(errno));
	if (ch->style == SL_LAB_LINES) {
		for (unsigned r = 0; r < t->nrows; r++) {
			bool seen = false;

			for (unsigned s = 0; s < ns; s++)
				seen |= !strcmp(labels[s], t->labels[r]);
			if (!seen && ns < 16)
				snprintf(labels[ns++], 64, "%s", t->labels[r]);
		}
		for (unsigned s = 0; s < ns; s++) {
			fprintf(f, "# %s\n", labels[s]);
			for (unsigned r = 0; r < t->nrows; r++) {
				if (strcmp(labels[s], t->labels[r]))
					continue;
				fprintf(f, "%.6g", sl_lab_table_get(t, r, (unsigned)ch->x_col));
				for (unsigned y = 0; y < ch->ny; y++) {
					double v = sl_lab_table_get(t, r, ch->y_cols[y]);

					if (isnan(v))
						fprintf(f, " NaN");
					else
						fprintf(f, " %.6g", v);
				}
				fputc('\n', f);
			}
			fprintf(f, "\n\n");
		}
	} else {
		for (unsigned r = 0; r < t->nrows; r++) {
			fprintf(f, "\"%s\"", t->labels[r]);
			for (unsigned y = 0; y < ch->ny; y++) {
				double v = sl_lab_table_get(t, r, ch->y_cols[y]);

				if (isnan(v))
					fprintf(f, " NaN");
				else
					fprintf(f, " %.6g", v);
			}
			fputc('\n', f);
		}
	}
	fclose(f);

	f = fopen(gp, "w");
	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", gp, strerror(errno));
	fprintf(f, "# %s -- render with: cd '%s' && gnuplot %s.gp\n", ch->title,
		ctx->out_dir, stem);
	fprintf(f, "set terminal pngcairo size 1000,620 enhanced font 'sans,11'\n"
		   "set output '%s.png'\n", stem);
	if (ctx->repeat == 1)
		fprintf(f, "set title \"%s\\n{/*0.8 %s, %u PUs; one run of %.0f ms}\"\n",
			ch->title, ctx->meta ? ctx->meta->cpu_model : "", ctx->pus,
			(double)ctx->duration_ns / 1e6);
	else
		fprintf(f, "set title \"%s\\n{/*0.8 %s, %u PUs; median of %u runs of %.0f ms}\"\n",
			ch->title, ctx->meta ? ctx->meta->cpu_model : "", ctx->pus,
			ctx->repeat, (double)ctx->duration_ns / 1e6);
	fprintf(f, "set xlabel \"%s\"\nset ylabel \"%s\"\n", ch->xlabel ? ch->xlabel : "",
		ch->ylabel ? ch->ylabel : "");
	fprintf(f, "set key outside right top box\nset grid ytics lc rgb '#bbbbbb'\n"
		   "set border 3\nset tics nomirror\n");
	if (ch->log_y)
		fprintf(f, "set logscale y\n");
	if (ch->log_x)
		fprintf(f, "set logscale x 2\n");
	if (ch->style == SL_LAB_BARS) {
		fprintf(f, "set style data histograms\nset style histogram clustered gap 1\n"
			   "set style fill pattern border -1\nset yrange [0:*]\n"
			   "set xtics rotate by -20\n");
		fprintf(f, "plot ");
		for (unsigned y = 0; y < ch->ny; y++)
			fprintf(f, "%s'%s.dat' using %u:xtic(1) title \"%s%s%s%s\" fill pattern %u lc rgb 'black'",
				y ? ", " : "", stem, y + 2, t->names[ch->y_cols[y]],
				*t->units[ch->y_cols[y]] ? " (" : "", t->units[ch->y_cols[y]],
				*t->units[ch->y_cols[y]] ? ")" : "", y + 1);
		fputc('\n', f);
	} else {
		unsigned k = 0;

		fprintf(f, "plot ");
		for (unsigned s = 0; s < ns; s++)
			for (unsigned y = 0; y < ch->ny; y++, k++)
				fprintf(f, "%s'%s.dat' index %u using 1:%u with linespoints dt %u pt %u lc rgb 'black' title \"%s%s%s\"",
					k ? ", \\\n     " : "", stem, s, y + 2, k % 5 + 1,
					k % 12 + 1, labels[s], ch->ny > 1 ? " " : "",
					ch->ny > 1 ? t->names[ch->y_cols[y]] : "");
		if (ch->extra)
			fprintf(f, ", \\\n     %s", ch->extra);
		fputc('\n', f);
	}
	fclose(f);
	*nseries = ns;
	return 0;
}

int sl_lab_save(const struct sl_demo_ctx *ctx, FILE *out,
		const struct sl_lab_table *t, const struct sl_lab_chart *chart,
		struct sl_err *err)
{
	char stem[512], path[4200];
	char labels[16][64];
	unsigned ns = 0;
	int rc;

	if (!ctx->out_dir)
		return 0;
	rc = sl_mkdir_p(ctx->out_dir, err);
	if (rc < 0)
		return rc;
	snprintf(stem, sizeof(stem), "%s-%s", ctx->name, chart ? chart->stem : "table");
	snprintf(path, sizeof(path), "%s/%s.csv", ctx->out_dir, stem);
	rc = write_table_csv(t, path, err);
	if (rc < 0)
		return rc;
	fprintf(out, "  wrote %s\n", path);
	if (!chart)
		return 0;
	rc = write_chart(ctx, t, chart, stem, &ns, labels, err);
	if (rc < 0)
		return rc;
	if (!have_gnuplot()) {
		fprintf(out, "  wrote %s/%s.gp and .dat; gnuplot is not installed: render with "
			     "cd '%s' && gnuplot %s.gp\n", ctx->out_dir, stem, ctx->out_dir, stem);
		return 0;
	}
	{
		pid_t pid = fork();
		int st = 0;

		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);

			if (devnull >= 0)
				dup2(devnull, STDERR_FILENO);
			if (chdir(ctx->out_dir) == 0) {
				snprintf(path, sizeof(path), "%s.gp", stem);
				execlp("gnuplot", "gnuplot", path, (char *)NULL);
			}
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(out, "  wrote %s/%s.gp and .dat; gnuplot failed to render them "
				     "(run: cd '%s' && gnuplot %s.gp)\n",
				ctx->out_dir, stem, ctx->out_dir, stem);
			return 0;
		}
	}
	fprintf(out, "  wrote %s/%s.png (chart; .gp and .dat beside it)\n", ctx->out_dir, stem);
	return 0;
}
