/*
 * The CSV column registry and the formatting of one field.  columns.def is
 * expanded twice: into the table that names the columns and into an enum
 * that the formatter switches on, so a column cannot be listed without being
 * formatted (the compiler warns about an unhandled enumerator).
 */
#include "reports/csvread.h"
#include "reports/report.h"
#include "util/text.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct sl_column columns[] = {
#define SL_COL(name, unit, doc) { #name, unit, doc },
#include "reports/columns.def"
#undef SL_COL
};

enum col_id {
#define SL_COL(name, unit, doc) COL_##name,
#include "reports/columns.def"
#undef SL_COL
	COL_COUNT_
};

_Static_assert(sizeof(columns) / sizeof(columns[0]) == COL_COUNT_,
	       "columns.def expanded inconsistently");

size_t sl_column_count(void)
{
	return COL_COUNT_;
}

const struct sl_column *sl_column_at(size_t i)
{
	return i < COL_COUNT_ ? &columns[i] : NULL;
}

/* Text field with RFC 4180 quoting when it holds a separator, a quote or a
 * line break; anything else goes out as it is. */
static void put_text(char *buf, size_t n, const char *s)
{
	size_t o = 0;

	if (!s)
		s = "";
	if (!strpbrk(s, ",\"\r\n")) {
		sl_textf(buf, n, "%s", s);
		return;
	}
	/* Leave room for the closing quote and the terminator. */
	if (n < 3) {
		buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (; *s && o + 3 < n; s++) {
		if (*s == '"') {
			if (o + 4 >= n)
				break;
			buf[o++] = '"';
		}
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* A number, or an empty field for NAN and infinities: an unknown value must
 * never read as a figure. */
static void put_num(char *buf, size_t n, const char *fmt, double v)
{
	if (!isfinite(v)) {
		buf[0] = '\0';
		return;
	}
	sl_textf(buf, n, fmt, v);
}

/* Throughput keeps one decimal, enough at any realistic rate, except
 * below 1 op/s where fixed point would round a real figure to 0.0. */
static void put_rate(char *buf, size_t n, double v)
{
	put_num(buf, n, fabs(v) >= 1.0 || v == 0.0 ? "%.1f" : "%.6g", v);
}

/* Sum of one counter over threads, by event name; NAN when the set lacks
 * the event or it was not counted. */
static double counter_value(const struct sl_row *row, const char *event)
{
	const struct sl_counter_set *set = row->pt->counters;
	int i;

	if (!set)
		return NAN;
	i = sl_counters_find(set, event);
	if (i < 0 || i >= SL_MAX_EVENTS || !set->ev[i].supported)
		return NAN;
	return row->res->counter[i];
}

static void put_per_op(char *buf, size_t n, const struct sl_row *row,
		       const char *event)
{
	double v = counter_value(row, event);

	if (row->res->ops == 0) {
		buf[0] = '\0';
		return;
	}
	put_num(buf, n, "%.6g", v / (double)row->res->ops);
}

/* name=count;... for the primitive's own events; empty when it counts
 * none. */
static void put_prim_events(char *buf, size_t n, const struct sl_row *row)
{
	const struct sl_prim *p = row->pt->prim;
	unsigned ne = p ? sl_prim_event_count(p) : 0;
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned e = 0; e < ne && o < n; e++) {
		int k = snprintf(buf + o, n - o, "%s%s=%" PRIu64, e ? ";" : "",
				 p->event_names[e], row->res->prim_events[e]);

		if (k < 0 || (size_t)k >= n - o) {
			buf[o] = '\0'; /* never half a pair */
			return;
		}
		o += (size_t)k;
	}
}

static void put_cpus(char *buf, size_t n, const struct sl_result *res)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!res->thread)
		return;
	for (unsigned i = 0; i < res->threads; i++) {
		const struct sl_thread_result *t = &res->thread[i];
		int pu = t->pu_bound >= 0 ? t->pu_bound : t->pu_seen;
		char one[16];
		size_t len;

		/* An unknown CPU stays an empty entry so positions still match
		 * thread numbers. */
		if (pu >= 0)
			snprintf(one, sizeof(one), "%s%d", i ? ";" : "", pu);
		else
			snprintf(one, sizeof(one), "%s", i ? ";" : "");
		len = strlen(one);
		/* Stop at a whole entry rather than write a wrong CPU number. */
		if (o + len + 1 > n)
			break;
		memcpy(buf + o, one, len + 1);
		o += len;
	}
}

/* A latency quantile; empty without samples (a point whose ops were all
 * outside the sampled ones has none). */
static void put_quantile(char *buf, size_t n, const struct sl_hist *h, double q)
{
	if (h && h->count)
		put_num(buf, n, "%.0f", sl_hist_quantile(h, q));
}

/* A hand-off locality share in percent of the hand-offs whose PUs were
 * placed; empty when none were. */
static void put_share(char *buf, size_t n, const struct sl_handoff *h,
		      enum sl_pu_distance d)
{
	uint64_t placed = 0;

	if (!h)
		return;
	for (unsigned i = 0; i < SL_PU_DISTANCES; i++)
		if (i != SL_PU_UNKNOWN)
			placed += h->where[i];
	if (placed)
		sl_textf(buf, n, "%.1f", 100.0 * (double)h->where[d] / (double)placed);
}

/* The columns that exist only for a completed measurement. */
static bool is_measured(enum col_id id)
{
	switch (id) {
	case COL_duration_s:
	case COL_ops:
	case COL_ops_per_sec:
	case COL_ns_per_op:
	case COL_fairness:
	case COL_min_thread_ops:
	case COL_max_thread_ops:
	case COL_cycles_per_op:
	case COL_instructions_per_op:
	case COL_cache_misses_per_op:
	case COL_context_switches_per_op:
	case COL_cpu_migrations:
	case COL_vol_ctx_switches:
	case COL_invol_ctx_switches:
	case COL_cpu_s:
	case COL_prim_events:
	case COL_lat_samples:
	case COL_lat_p50_ns:
	case COL_lat_p90_ns:
	case COL_lat_p99_ns:
	case COL_lat_p999_ns:
	case COL_lat_max_ns:
	case COL_clock_ns:
	case COL_handoff_samples:
	case COL_handoff_p50_ns:
	case COL_handoff_p99_ns:
	case COL_handoff_same_pu_pct:
	case COL_handoff_smt_pct:
	case COL_handoff_cache_pct:
	case COL_handoff_node_pct:
	case COL_handoff_remote_pct:
		return true;
	default:
		return false;
	}
}

void sl_column_format(size_t i, const struct sl_row *row, char *buf, size_t n)
{
	const struct sl_point *pt = row->pt;
	const struct sl_result *res = row->res;
	const struct sl_meta *meta = row->meta;
	enum col_id id = (enum col_id)i;

	if (n == 0)
		return;
	buf[0] = '\0';
	if (i >= COL_COUNT_)
		return;
	/* A broken or unfinished point never yields a figure. */
	if (is_measured(id) && res->status != SL_STATUS_OK)
		return;

	switch (id) {
	case COL_primitive:
		put_text(buf, n, pt->prim ? pt->prim->name : "");
		break;
	case COL_threads:
		sl_textf(buf, n, "%u", pt->threads);
		break;
	case COL_rep:
		sl_textf(buf, n, "%u", pt->rep);
		break;
	case COL_status:
		put_text(buf, n, sl_status_name(res->status));
		break;
	case COL_duration_s:
		sl_textf(buf, n, "%.6f", (double)res->window_ns / 1e9);
		break;
	case COL_ops:
		sl_textf(buf, n, "%" PRIu64, res->ops);
		break;
	case COL_ops_per_sec:
		put_rate(buf, n, res->ops_per_sec);
		break;
	case COL_ns_per_op:
		put_num(buf, n, "%.3f", res->ns_per_op);
		break;
	case COL_fairness:
		put_num(buf, n, "%.4f", res->fairness);
		break;
	case COL_min_thread_ops:
		sl_textf(buf, n, "%" PRIu64, res->min_thread_ops);
		break;
	case COL_max_thread_ops:
		sl_textf(buf, n, "%" PRIu64, res->max_thread_ops);
		break;
	case COL_pin:
		put_text(buf, n, pt->pin ? pt->pin->text : "");
		break;
	case COL_cpus:
		put_cpus(buf, n, res);
		break;
	case COL_prim_events:
		put_prim_events(buf, n, row);
		break;
	case COL_oversubscribed:
		sl_textf(buf, n, "%d", res->oversubscribed ? 1 : 0);
		break;
	case COL_cs_ns:
		sl_textf(buf, n, "%" PRIu64, pt->cs_ns);
		break;
	case COL_think_ns:
		sl_textf(buf, n, "%" PRIu64, pt->think_ns);
		break;
	case COL_cs_lines:
		sl_textf(buf, n, "%u", pt->cs_lines);
		break;
	case COL_locks:
		sl_textf(buf, n, "%u", pt->locks);
		break;
	case COL_read_pct:
		if (pt->prim->kind == SL_KIND_RWLOCK || pt->prim->kind == SL_KIND_RCU)
			sl_textf(buf, n, "%u", pt->read_pct);
		break;
	case COL_writers:
		if (pt->prim->kind == SL_KIND_RWLOCK || pt->prim->kind == SL_KIND_RCU)
			sl_textf(buf, n, "%u", pt->writers);
		break;
	case COL_producers:
		if (pt->prim->kind == SL_KIND_CONDVAR || pt->prim->kind == SL_KIND_QUEUE ||
		    pt->prim->kind == SL_KIND_WORKQUEUE)
			sl_textf(buf, n, "%u", pt->producers);
		break;
	case COL_consumers:
		if (pt->prim->kind == SL_KIND_CONDVAR || pt->prim->kind == SL_KIND_QUEUE ||
		    pt->prim->kind == SL_KIND_WORKQUEUE)
			sl_textf(buf, n, "%u", pt->consumers);
		break;
	case COL_capacity:
		if (pt->prim->kind == SL_KIND_CONDVAR || pt->prim->kind == SL_KIND_QUEUE)
			sl_textf(buf, n, "%u", pt->capacity);
		break;
	case COL_permits:
		if (pt->prim->kind == SL_KIND_SEM)
			sl_textf(buf, n, "%u", pt->permits);
		break;
	case COL_warmup_s:
		sl_textf(buf, n, "%.6f", (double)pt->warmup_ns / 1e9);
		break;
	case COL_cycles_per_op:
		put_per_op(buf, n, row, "cycles");
		break;
	case COL_instructions_per_op:
		put_per_op(buf, n, row, "instructions");
		break;
	case COL_cache_misses_per_op:
		put_per_op(buf, n, row, "cache-misses");
		break;
	case COL_context_switches_per_op:
		put_per_op(buf, n, row, "context-switches");
		break;
	case COL_cpu_migrations:
		put_num(buf, n, "%.0f", counter_value(row, "cpu-migrations"));
		break;
	case COL_vol_ctx_switches:
		sl_textf(buf, n, "%ld", res->vol_cs);
		break;
	case COL_invol_ctx_switches:
		sl_textf(buf, n, "%ld", res->invol_cs);
		break;
	case COL_cpu_s:
		put_num(buf, n, "%.6f", res->cpu_s);
		break;
	case COL_latency_period:
		if (pt->lat_period)
			sl_textf(buf, n, "%u", pt->lat_period);
		break;
	case COL_lat_samples:
		if (res->lat)
			sl_textf(buf, n, "%" PRIu64, res->lat->count);
		break;
	case COL_lat_p50_ns:
		put_quantile(buf, n, res->lat, 0.5);
		break;
	case COL_lat_p90_ns:
		put_quantile(buf, n, res->lat, 0.9);
		break;
	case COL_lat_p99_ns:
		put_quantile(buf, n, res->lat, 0.99);
		break;
	case COL_lat_p999_ns:
		put_quantile(buf, n, res->lat, 0.999);
		break;
	case COL_lat_max_ns:
		put_quantile(buf, n, res->lat, 1.0);
		break;
	case COL_clock_ns:
		if (res->lat)
			put_num(buf, n, "%.2f", res->clock_ns);
		break;
	case COL_handoff_samples:
		if (res->handoff && pt->prim && pt->prim->kind == SL_KIND_LOCK &&
		    !(pt->prim->flags & SL_PRIM_NO_EXCLUSION))
			sl_textf(buf, n, "%" PRIu64, res->handoff->hist.count);
		break;
	case COL_handoff_p50_ns:
		put_quantile(buf, n, res->handoff ? &res->handoff->hist : NULL, 0.5);
		break;
	case COL_handoff_p99_ns:
		put_quantile(buf, n, res->handoff ? &res->handoff->hist : NULL, 0.99);
		break;
	case COL_handoff_same_pu_pct:
		put_share(buf, n, res->handoff, SL_PU_SAME);
		break;
	case COL_handoff_smt_pct:
		put_share(buf, n, res->handoff, SL_PU_SMT);
		break;
	case COL_handoff_cache_pct:
		put_share(buf, n, res->handoff, SL_PU_CACHE);
		break;
	case COL_handoff_node_pct:
		put_share(buf, n, res->handoff, SL_PU_NODE);
		break;
	case COL_handoff_remote_pct:
		put_share(buf, n, res->handoff, SL_PU_REMOTE);
		break;
	case COL_uncontended_ns:
		put_num(buf, n, "%.2f", pt->uncontended_ns);
		break;
	case COL_rmw_ns:
		put_num(buf, n, "%.2f", pt->rmw_ns);
		break;
	case COL_work_loops_per_us: {
		const struct sl_calib *c = row->calib ? row->calib : pt->calib;

		if (c)
			put_num(buf, n, "%.3f", c->loops_per_us);
		break;
	}
	case COL_host:
		put_text(buf, n, meta ? meta->host : "");
		break;
	case COL_cpu_model:
		put_text(buf, n, meta ? meta->cpu_model : "");
		break;
	case COL_kernel:
		put_text(buf, n, meta ? meta->kernel : "");
		break;
	case COL_synclab_version:
		put_text(buf, n, meta ? meta->version : "");
		break;
	case COL_env_fingerprint:
		put_text(buf, n, meta ? meta->env_fingerprint : "");
		break;
	case COL_message:
		if (res->status != SL_STATUS_OK)
			put_text(buf, n, res->message);
		break;
	case COL_COUNT_:
		break;
	}
}

/* --- rows as a table ---------------------------------------------------- */

/* A formatted field without its CSV quoting: the table holds values. */
static char *unquote(const char *field)
{
	size_t len = strlen(field);
	char *v = malloc(len + 1), *o = v;

	if (!v)
		return NULL;
	if (field[0] != '"') {
		memcpy(v, field, len + 1);
		return v;
	}
	for (const char *p = field + 1; *p; p++) {
		if (*p == '"') {
			if (p[1] != '"')
				break;
			p++;
		}
		*o++ = *p;
	}
	*o = '\0';
	return v;
}

int sl_rows_to_csvdata(const struct sl_row *rows, size_t n,
		       struct sl_csvdata *d, struct sl_err *err)
{
	size_t ncols = sl_column_count(), cap = 1024;
	char *buf = malloc(cap);

	memset(d, 0, sizeof(*d));
	d->header = calloc(ncols * (n + 1), sizeof(char *));
	d->path = strdup("the results in memory");
	if (!buf || !d->header || !d->path)
		goto nomem;
	d->ncols = ncols;
	d->cell = d->header + ncols;
	for (size_t i = 0; i < ncols; i++)
		if (!(d->header[i] = strdup(sl_column_at(i)->name)))
			goto nomem;
	for (size_t r = 0; r < n; r++) {
		/* nrows counts filled rows, so that freeing a half-built
		 * table frees only what was made. */
		d->nrows = r + 1;
		for (size_t i = 0; i < ncols; i++) {
			/* Grow until the field fits: a cut one would be
			 * a wrong value, not a short one. */
			for (;;) {
				char *b;

				sl_column_format(i, &rows[r], buf, cap);
				if (strlen(buf) + 1 < cap || cap >= ((size_t)1 << 24))
					break;
				b = realloc(buf, cap * 2);
				if (!b)
					goto nomem;
				buf = b;
				cap *= 2;
			}
			if (!(d->cell[r * ncols + i] = unquote(buf)))
				goto nomem;
		}
	}
	free(buf);
	return 0;
nomem:
	free(buf);
	if (d->header) {
		/* Cells not yet made are NULL: free(NULL) is harmless. */
		for (size_t i = 0; i < ncols * (n + 1); i++)
			free(d->header[i]);
		free(d->header);
	}
	free(d->path);
	memset(d, 0, sizeof(*d));
	return sl_err_set(err, -ENOMEM, "out of memory");
}
