/*
 * The plan: grid expansion into points, the loop that measures them, and the
 * time estimate a sweep advertises before it starts.  See plan.h.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/text.h"
#include "workloads/plan.h"

#define KIND(k) (1u << SL_KIND_##k)
#define SYNC_KINDS (KIND(LOCK) | KIND(RWLOCK) | KIND(RCU) | KIND(QUEUE) | \
		    KIND(BARRIER) | KIND(SEM) | KIND(CONDVAR) | KIND(WORKQUEUE))

/* Which shape reads which dial: workloads/lock.c, rw.c, rcu.c, sem.c,
 * cond.c and workqueue.c do busy work inside the section (or the work
 * item); queue.c and barrier.c only between ops; cs_lines and --locks exist
 * for the lock-like shapes.  Lab experiments take none of them. */
static const struct sl_dial_info dials[SL_DIAL_COUNT_] = {
	[SL_DIAL_CS_NS] = { "cs-ns", "cs_ns", "ns", 0, 100000000, 0,
		KIND(LOCK) | KIND(RWLOCK) | KIND(RCU) | KIND(SEM) | KIND(CONDVAR) |
		KIND(WORKQUEUE),
		"calibrated work inside the critical section, in ns" },
	[SL_DIAL_THINK_NS] = { "think-ns", "think_ns", "ns", 0, 100000000, 0,
		SYNC_KINDS, "calibrated work outside it, between ops, in ns" },
	[SL_DIAL_CS_LINES] = { "cs-lines", "cs_lines", "lines", 0, 4096, 0,
		KIND(LOCK) | KIND(RWLOCK) | KIND(RCU),
		"shared cache lines written inside the critical section, beyond the counter" },
	[SL_DIAL_LOCKS] = { "locks", "locks", "", 1, 65536, 1,
		KIND(LOCK) | KIND(RWLOCK),
		"lock instances; each op picks one at random (1: full contention)" },
	[SL_DIAL_READ_PCT] = { "read-pct", "read_pct", "%", 0, 100, 90,
		KIND(RWLOCK) | KIND(RCU),
		"rwlocks, RCU: percentage of ops that read" },
	[SL_DIAL_WRITERS] = { "writers", "writers", "", 0, 4095, 0,
		KIND(RWLOCK) | KIND(RCU),
		"rwlocks, RCU: threads that only write (0: every thread mixes)" },
	[SL_DIAL_PRODUCERS] = { "producers", "producers", "", 0, 4095, 0,
		KIND(QUEUE) | KIND(CONDVAR) | KIND(WORKQUEUE),
		"condvars, queues, workqueues: producer threads (0: half the threads)" },
	[SL_DIAL_CONSUMERS] = { "consumers", "consumers", "", 0, 4095, 0,
		KIND(QUEUE) | KIND(CONDVAR) | KIND(WORKQUEUE),
		"condvars, queues, workqueues: consumer threads (0: the others)" },
	[SL_DIAL_CAPACITY] = { "capacity", "capacity", "slots", 1, 1048576, 16,
		KIND(QUEUE) | KIND(CONDVAR),
		"condvars, bounded queues: buffer slots" },
	[SL_DIAL_PERMITS] = { "permits", "permits", "", 1, 65536, 2,
		KIND(SEM),
		"semaphores: permits, the threads allowed in at once" },
};

const struct sl_dial_info *sl_dial_info(enum sl_dial d)
{
	return (unsigned)d < SL_DIAL_COUNT_ ? &dials[d] : NULL;
}

bool sl_dial_applies(enum sl_dial d, enum sl_prim_kind kind)
{
	return (unsigned)d < SL_DIAL_COUNT_ && (dials[d].kinds >> kind & 1u);
}

uint64_t sl_dial_get(const struct sl_point *pt, enum sl_dial d)
{
	switch (d) {
	case SL_DIAL_CS_NS: return pt->cs_ns;
	case SL_DIAL_THINK_NS: return pt->think_ns;
	case SL_DIAL_CS_LINES: return pt->cs_lines;
	case SL_DIAL_LOCKS: return pt->locks;
	case SL_DIAL_READ_PCT: return pt->read_pct;
	case SL_DIAL_WRITERS: return pt->writers;
	case SL_DIAL_PRODUCERS: return pt->producers;
	case SL_DIAL_CONSUMERS: return pt->consumers;
	case SL_DIAL_CAPACITY: return pt->capacity;
	case SL_DIAL_PERMITS: return pt->permits;
	case SL_DIAL_COUNT_: break;
	}
	SL_BUG("dial %d", (int)d);
}

static void dial_set(struct sl_point *pt, enum sl_dial d, uint64_t v)
{
	switch (d) {
	case SL_DIAL_CS_NS: pt->cs_ns = v; return;
	case SL_DIAL_THINK_NS: pt->think_ns = v; return;
	case SL_DIAL_CS_LINES: pt->cs_lines = (unsigned)v; return;
	case SL_DIAL_LOCKS: pt->locks = (unsigned)v; return;
	case SL_DIAL_READ_PCT: pt->read_pct = (unsigned)v; return;
	case SL_DIAL_WRITERS: pt->writers = (unsigned)v; return;
	case SL_DIAL_PRODUCERS: pt->producers = (unsigned)v; return;
	case SL_DIAL_CONSUMERS: pt->consumers = (unsigned)v; return;
	case SL_DIAL_CAPACITY: pt->capacity = (unsigned)v; return;
	case SL_DIAL_PERMITS: pt->permits = (unsigned)v; return;
	case SL_DIAL_COUNT_: break;
	}
	SL_BUG("dial %d", (int)d);
}

int sl_grid_add_prims(struct sl_grid *g, const char *list, struct sl_err *err)
{
	return sl_prim_parse_list(list, "synclab list", g->prim, &g->nprims,
				  SL_PLAN_MAX_PRIMS, err);
}

const char *sl_grid_prim_named(const struct sl_grid *g, const char *name,
			       struct sl_err *err)
{
	const struct sl_prim *p = sl_prim_find(name);
	char run[256] = "";

	for (unsigned k = 0; k < g->nprims; k++) {
		if (g->prim[k] == p)
			return p->name;
		sl_appendf(run, sizeof(run), "%s%s", k ? ", " : "", g->prim[k]->name);
	}
	sl_err_set(err, -EINVAL, "--baseline: '%s' is not one of the primitives run (accepted: %s)",
		   name, run);
	return NULL;
}

/* Values of dial d a primitive of this kind is measured at. */
static unsigned dial_len(const struct sl_grid *g, enum sl_dial d,
			 enum sl_prim_kind kind)
{
	return sl_dial_applies(d, kind) ? g->dial[d].n : 1;
}

size_t sl_grid_settings(const struct sl_grid *g, enum sl_prim_kind kind)
{
	size_t n = 1;

	/* Saturates rather than wraps: the plan refuses such a grid. */
	for (int d = 0; d < SL_DIAL_COUNT_; d++)
		if (__builtin_mul_overflow(n, (size_t)dial_len(g, (enum sl_dial)d, kind), &n))
			return SIZE_MAX;
	return n;
}

static void base_point(struct sl_point *pt, const struct sl_grid *g,
		       const struct sl_prim *prim, unsigned threads, unsigned rep)
{
	*pt = (struct sl_point){
		.prim = prim,
		.threads = threads,
		.rep = rep,
		.duration_ns = g->duration_ns,
		.warmup_ns = g->warmup_ns,
		.stall_timeout_ns = g->stall_timeout_ns,
		.lat_period = g->lat_period,
		.timeline_ns = g->timeline_ns,
		.topo = g->topo,
		.pin = g->pin,
		.counters = g->counters,
		.interrupt = g->interrupt,
		.uncontended_ns = NAN,
		.rmw_ns = NAN,
	};
}

void sl_plan_free(struct sl_plan *plan)
{
	for (size_t i = 0; i < plan->n; i++)
		if (plan->item[i].state == SL_ITEM_MEASURED)
			sl_result_release(&plan->item[i].res);
	free(plan->item);
	plan->item = NULL;
	plan->n = 0;
}

int sl_plan_build(struct sl_plan *plan, const struct sl_grid *g,
		  unsigned flags, struct sl_err *err)
{
	size_t cap = 0;

	memset(plan, 0, sizeof(*plan));
	for (unsigned k = 0; k < g->nprims; k++) {
		size_t points;

		if (__builtin_mul_overflow(sl_grid_settings(g, g->prim[k]->kind),
					   (size_t)g->threads.n * g->repeat, &points) ||
		    __builtin_add_overflow(cap, points, &cap) || cap > SL_PLAN_MAX_POINTS)
			return sl_err_set(err, -EINVAL,
					  "the grid has more than %u points (accepted: up to %u; shorten a list, or split the sweep)",
					  SL_PLAN_MAX_POINTS, SL_PLAN_MAX_POINTS);
	}
	plan->item = calloc(cap ? cap : 1, sizeof(*plan->item));
	if (!plan->item)
		return sl_err_set(err, -ENOMEM, "out of memory for %zu points", cap);

	for (unsigned k = 0; k < g->nprims; k++) {
		const struct sl_prim *prim = g->prim[k];
		size_t settings = sl_grid_settings(g, prim->kind);

		for (size_t s = 0; s < settings; s++) {
			unsigned pick[SL_DIAL_COUNT_];
			size_t rest = s;

			/* s as a mixed-radix number, the last dial fastest. */
			for (int d = SL_DIAL_COUNT_ - 1; d >= 0; d--) {
				unsigned len = dial_len(g, (enum sl_dial)d, prim->kind);

				pick[d] = (unsigned)(rest % len);
				rest /= len;
			}
			for (unsigned t = 0; t < g->threads.n; t++) {
				struct sl_point pt;
				struct sl_err why;

				base_point(&pt, g, prim, (unsigned)g->threads.v[t], 1);
				for (int d = 0; d < SL_DIAL_COUNT_; d++)
					dial_set(&pt, (enum sl_dial)d, g->dial[d].v[pick[d]]);
				if (sl_point_resolve(&pt, &why) < 0) {
					if (!(flags & SL_PLAN_SKIP_INVALID)) {
						sl_plan_free(plan);
						return sl_err_set(err, -EINVAL, "%s", why.msg);
					}
					if (plan->rejected++ == 0)
						snprintf(plan->rejected_why,
							 sizeof(plan->rejected_why),
							 "%s", why.msg);
					continue;
				}
				{
					struct sl_plan_item *it = &plan->item[plan->n++];

					it->pt = pt;
					it->prim_index = k;
					it->state = SL_ITEM_PENDING;
				}
			}
		}
	}
	/* Repetitions outermost: every point once, then every point again.
	 * Machine load drifts over minutes; interleaving makes each point's
	 * repetitions sample the same spread of conditions as its neighbours',
	 * so points compared with each other (or two builds compared with
	 * synclab compare) are measured under the same conditions. */
	{
		size_t per_rep = plan->n;

		for (unsigned r = 2; r <= g->repeat; r++)
			for (size_t i = 0; i < per_rep; i++) {
				struct sl_plan_item *it = &plan->item[plan->n++];

				*it = plan->item[i];
				it->pt.rep = r;
			}
	}
	return 0;
}

static bool interrupted(const struct sl_grid *g)
{
	return g->interrupt &&
	       atomic_load_explicit(g->interrupt, memory_order_relaxed);
}

int sl_plan_run(struct sl_plan *plan, const struct sl_grid *g,
		const struct sl_plan_ctx *ctx, unsigned flags,
		const struct sl_plan_hooks *hooks, struct sl_plan_outcome *out,
		struct sl_err *err)
{
	memset(out, 0, sizeof(*out));
	out->end = SL_PLAN_COMPLETE;
	for (size_t i = 0; i < plan->n; i++) {
		struct sl_plan_item *it = &plan->item[i];
		struct sl_err rerr = { "" };
		int rc;

		if (it->state != SL_ITEM_PENDING)
			continue;
		out->at = i;
		if (interrupted(g)) {
			out->end = SL_PLAN_INTERRUPTED;
			return 0;
		}
		it->pt.calib = ctx->calib;
		it->pt.rmw_ns = ctx->rmw_ns;
		it->pt.uncontended_ns = ctx->uncontended_ns[it->prim_index];
		it->pt.tick = hooks->tick;
		it->pt.tick_arg = hooks->arg;
		if (hooks->starting)
			hooks->starting(hooks->arg, plan, i);

		rc = sl_run_point(&it->pt, &it->res, &rerr);
		if (rc < 0) {
			if (flags & SL_PLAN_STOP_ON_ERROR) {
				out->end = SL_PLAN_HARNESS_ERROR;
				return sl_err_set(err, rc, "%s", rerr.msg);
			}
			/* The run released what it had; what is left to
			 * report is why. */
			memset(&it->res, 0, sizeof(it->res));
			it->res.status = SL_STATUS_ERROR;
			it->res.threads = it->pt.threads;
			it->res.clock_ns = NAN;
			for (unsigned c = 0; c < SL_MAX_EVENTS; c++)
				it->res.counter[c] = NAN;
			snprintf(it->res.message, sizeof(it->res.message), "%s",
				 rerr.msg);
		}
		if (it->res.status == SL_STATUS_INTERRUPTED) {
			sl_result_release(&it->res);
			out->end = SL_PLAN_INTERRUPTED;
			return 0;
		}
		it->state = SL_ITEM_MEASURED;
		out->measured++;
		if (it->res.status != SL_STATUS_OK)
			out->failed++;
		if (it->res.status == SL_STATUS_STUCK)
			out->stuck++;
		if (hooks->finished && (rc = hooks->finished(hooks->arg, plan, i, err)) < 0) {
			out->end = SL_PLAN_HOOK_ERROR;
			return rc;
		}
		if (it->res.status == SL_STATUS_STUCK && (flags & SL_PLAN_STOP_ON_STUCK)) {
			out->end = SL_PLAN_STOPPED_STUCK;
			return 0;
		}
	}
	return 0;
}

/* --- time estimate ------------------------------------------------------ */

/* Runs per thread count; the slowest counts, so that the estimate errs
 * long rather than short. */
enum { PROBE_RUNS = 5, PROBE_COUNTS = 4 };

static bool has_threads(const struct sl_overhead *o, unsigned t)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->threads[i] == t)
			return true;
	return false;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

int sl_plan_probe_overhead(const struct sl_plan *plan, const struct sl_grid *g,
			   const struct sl_calib *calib, struct sl_overhead *o,
			   struct sl_err *err)
{
	const struct sl_prim *null = sl_prim_find("null");

	memset(o, 0, sizeof(*o));
	if (!null)
		return sl_err_set(err, -ENOENT, "the null primitive is missing");
	for (size_t i = 0; i < plan->n; i++) {
		const struct sl_plan_item *it = &plan->item[i];

		if (it->state == SL_ITEM_PENDING && o->n < SL_LIST_MAX &&
		    !has_threads(o, it->pt.threads))
			o->threads[o->n++] = it->pt.threads;
	}
	/* Probing costs real runs, on every PU: measure at most a few thread
	 * counts spread over the range and interpolate between them. */
	if (o->n > PROBE_COUNTS) {
		unsigned sorted[SL_LIST_MAX], n = o->n;

		memcpy(sorted, o->threads, n * sizeof(sorted[0]));
		qsort(sorted, n, sizeof(sorted[0]), cmp_unsigned);
		for (unsigned k = 0; k < PROBE_COUNTS; k++)
			o->threads[k] = sorted[(size_t)k * (n - 1) / (PROBE_COUNTS - 1)];
		o->n = PROBE_COUNTS;
	}
	for (unsigned k = 0; k < o->n; k++) {
		uint64_t worst = 0;

		for (int r = 0; r < PROBE_RUNS; r++) {
			struct sl_point pt;
			struct sl_result res;
			uint64_t t0, dt;
			int rc;

			base_point(&pt, g, null, o->threads[k], 1);
			pt.duration_ns = SL_NS_PER_MS;
			pt.warmup_ns = 0;
			pt.calib = calib;
			pt.locks = 1;
			t0 = sl_now_ns();
			rc = sl_run_point(&pt, &res, err);
			dt = sl_now_ns() - t0;
			if (rc < 0)
				return rc;
			if (res.status == SL_STATUS_INTERRUPTED) {
				sl_result_release(&res);
				return sl_err_set(err, -EINTR, "interrupted");
			}
			sl_result_release(&res);
			dt = dt > pt.duration_ns ? dt - pt.duration_ns : 0;
			if (dt > worst)
				worst = dt;
		}
		o->ns[k] = worst;
	}
	return 0;
}

/* Overhead at t threads: measured, or interpolated linearly between the
 * nearest measured counts (the end values beyond them). */
static uint64_t overhead_at(const struct sl_overhead *o, unsigned t)
{
	int lo = -1, hi = -1;

	for (unsigned i = 0; i < o->n; i++) {
		if (o->threads[i] == t)
			return o->ns[i];
		if (o->threads[i] < t && (lo < 0 || o->threads[i] > o->threads[lo]))
			lo = (int)i;
		if (o->threads[i] > t && (hi < 0 || o->threads[i] < o->threads[hi]))
			hi = (int)i;
	}
	if (lo < 0 && hi < 0)
		return 0;
	if (lo < 0)
		return o->ns[hi];
	if (hi < 0)
		return o->ns[lo];
	return o->ns[lo] + (uint64_t)((double)(o->ns[hi] > o->ns[lo] ?
					      o->ns[hi] - o->ns[lo] : 0) *
				      (t - o->threads[lo]) /
				      (o->threads[hi] - o->threads[lo]));
}

uint64_t sl_plan_item_estimate_ns(const struct sl_plan *plan, size_t i,
				  const struct sl_overhead *o)
{
	const struct sl_point *pt = &plan->item[i].pt;

	return pt->warmup_ns + pt->duration_ns + overhead_at(o, pt->threads);
}

uint64_t sl_plan_estimate_ns(const struct sl_plan *plan, size_t from,
			     const struct sl_overhead *o)
{
	uint64_t sum = 0;

	for (size_t i = from; i < plan->n; i++)
		if (plan->item[i].state == SL_ITEM_PENDING)
			sum += sl_plan_item_estimate_ns(plan, i, o);
	return sum;
}
