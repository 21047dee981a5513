/*
 * cacheline-pingpong: two threads pass a token back and forth through one
 * cache line, placed on the same PU, on SMT siblings, on cores sharing an
 * L3, across L3s and across sockets -- whichever this machine has.  Thread 0
 * writes when the value is even, thread 1 when it is odd; every write hands
 * the line (and the turn) to the other thread, so the round trip measures
 * what it costs to move one line there and back at that distance.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"
#include "util/clock.h"
#include "util/hist.h"

/* How a waiter waits for its turn.  Spinning is right when the partner runs
 * on another PU; when both share one PU the partner can only run once the
 * waiter gives the PU up, so a spinning waiter burns the rest of its time
 * slice on every hand-off.  PP_SPIN_SAME is that mistake, measured on
 * purpose (its round trips are scheduler time slices, timed one by one). */
enum pp_wait { PP_SPIN, PP_YIELD, PP_SPIN_SAME };

/* Round trips timed together, so one clock read is spread over many trips
 * and hardly shows in a sub-microsecond figure. */
#define PP_BURST 8

struct pingpong {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t token; /* the line that travels */
	alignas(SL_SLOT_ALIGN) _Atomic int stop;
	int wait;        /* enum pp_wait, fixed at init */
	unsigned burst;  /* round trips per timed sample */
	/* Thread 0's alone; figures() reads them after the join. */
	alignas(SL_SLOT_ALIGN) uint64_t turns, burst_start_ns;
	struct sl_hist round_trip;
};

static int pp_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	struct pingpong *p = obj;

	if (conf->nthreads != 2)
		return sl_err_set(err, -EINVAL, "the ping-pong needs exactly 2 threads, not '%u'",
				  conf->nthreads);
	atomic_init(&p->token, 0);
	atomic_init(&p->stop, 0);
	p->wait = (int)conf->lab_arg;
	p->burst = p->wait == PP_SPIN_SAME ? 1 : PP_BURST;
	p->turns = 0;
	p->burst_start_ns = 0;
	sl_hist_init(&p->round_trip);
	return 0;
}

/* Thread 0 times its own turns: from one turn to the PP_BURST-th next is
 * PP_BURST round trips, whatever the partner did in between. */
static void time_turn(struct pingpong *p)
{
	if (++p->turns % p->burst)
		return;
	{
		uint64_t now = sl_now_ns();

		if (p->burst_start_ns)
			sl_hist_record(&p->round_trip,
				       (now - p->burst_start_ns + p->burst / 2) / p->burst);
		p->burst_start_ns = now;
	}
}

static uint64_t pp_step(void *obj, void *tctx, unsigned id)
{
	struct pingpong *p = obj;
	const uint64_t mine = id & 1;
	uint64_t v;

	(void)tctx;
	/* Acquire: pairs with the partner's release store below, so whatever
	 * it wrote before handing over is visible to the new holder, as in
	 * every real hand-off (on x86 both are plain moves). */
	while (((v = atomic_load_explicit(&p->token, memory_order_acquire)) & 1) != mine) {
		if (atomic_load_explicit(&p->stop, memory_order_relaxed))
			return 0;
		if (p->wait == PP_YIELD)
			sched_yield();
		else
			sl_cpu_relax();
	}
	if (id == 0)
		time_turn(p);
	/* Only the holder writes (the parity says whose turn it is), so a
	 * plain store hands the turn over; no read-modify-write is needed. */
	atomic_store_explicit(&p->token, v + 1, memory_order_release);
	return 0;
}

static void pp_stop(void *obj)
{
	struct pingpong *p = obj;

	/* Relaxed: the flag only ends waits; nothing is published with it. */
	atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
}

static void pp_figures(void *obj, double out[SL_LAB_FIGURES])
{
	const struct pingpong *p = obj;

	out[0] = sl_hist_quantile(&p->round_trip, 0.5);
}

static const struct sl_prim pingpong = {
	.name = "cacheline-pingpong",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "a token passed between two threads through one cache line",
	.obj_size = sizeof(struct pingpong),
	.init = pp_init,
	.lab = { .step = pp_step, .stop = pp_stop, .figures = pp_figures },
};

/* --- the experiment ------------------------------------------------------ */

enum { C_P50, C_MEAN, C_HANDOFF, C_CS, C_CPU, C_COUNT };

struct placement {
	enum sl_pu_distance dist;
	enum pp_wait wait;
	int a, b;                 /* PUs of thread 0 and thread 1 */
	struct sl_lab_measure m;
};

static const char *class_words(enum sl_pu_distance d)
{
	switch (d) {
	case SL_PU_SAME: return "same PU";
	case SL_PU_SMT: return "SMT sibling";
	case SL_PU_CACHE: return "other core, shared L3";
	case SL_PU_NODE: return "same node, other L3";
	case SL_PU_REMOTE: return "other socket/node";
	default: return "unplaced";
	}
}

/* The same class as the end of a trip: "to %s and back". */
static const char *class_dest(enum sl_pu_distance d)
{
	switch (d) {
	case SL_PU_SMT: return "the SMT sibling";
	case SL_PU_CACHE: return "another core sharing the L3";
	case SL_PU_NODE: return "a core behind another L3";
	case SL_PU_REMOTE: return "another socket or NUMA node";
	default: return "the other PU";
	}
}

static void label_of(const struct placement *pl, char *buf, size_t n)
{
	if (pl->dist == SL_PU_SAME)
		snprintf(buf, n, "same PU, %s waiter (PU %d)",
			 pl->wait == PP_YIELD ? "yielding" : "spinning", pl->a);
	else
		snprintf(buf, n, "%s (PUs %d,%d)", class_words(pl->dist), pl->a, pl->b);
}

/* The usable PUs, and for each distance class the first PU at that
 * distance from the first usable one. */
static int find_pairs(const struct sl_demo_ctx *ctx, int anchor_out[1],
		      int partner[SL_PU_DISTANCES], struct sl_err *err)
{
	static const struct sl_pin_spec compact = { .policy = SL_PIN_COMPACT,
						    .text = "compact" };
	int *pus = calloc(ctx->pus ? ctx->pus : 1, sizeof(*pus));
	struct sl_pu_info a, b;
	bool over;
	int rc;

	if (!pus)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int d = 0; d < SL_PU_DISTANCES; d++)
		partner[d] = -1;
	rc = sl_pin_place(ctx->topo, &compact, ctx->pus, pus, &over, err);
	if (rc == 0 && sl_topo_pu_info(ctx->topo, pus[0], &a) < 0)
		rc = sl_err_set(err, -EINVAL, "PU '%d' is not in the topology", pus[0]);
	if (rc < 0) {
		free(pus);
		return rc;
	}
	anchor_out[0] = pus[0];
	for (unsigned i = 0; i < ctx->pus; i++) {
		enum sl_pu_distance d;

		if (sl_topo_pu_info(ctx->topo, pus[i], &b) < 0)
			continue;
		d = sl_pu_distance(&a, &b);
		if (partner[d] < 0)
			partner[d] = pus[i];
	}
	free(pus);
	return 0;
}

static int measure_placement(const struct sl_demo_ctx *ctx, struct placement *pl,
			     struct sl_err *err)
{
	struct sl_point pt = sl_lab_point(&pingpong, 2);
	struct sl_lab_pin pin;
	const int pair[2] = { pl->a, pl->b };
	char label[96];
	int rc;

	sl_lab_pin_list(&pin, pair, 2);
	pt.pin = &pin.spec;
	pt.lab_arg = pl->wait;
	rc = sl_lab_measure(ctx, &pt, &pl->m, err);
	if (rc < 0)
		return rc;
	if (pl->m.status != SL_STATUS_OK) {
		label_of(pl, label, sizeof(label));
		return sl_err_set(err, -EIO, "%s: %s", label, pl->m.message);
	}
	return 0;
}

static void explain(FILE *out, const struct placement *pl, unsigned n,
		    const int partner[SL_PU_DISTANCES], const struct sl_demo_ctx *ctx)
{
	const struct placement *spin_same = NULL, *yield_same = NULL, *near = NULL;
	const struct placement *base = NULL;
	char missing[160] = "";
	size_t used = 0;

	for (unsigned i = 0; i < n; i++) {
		if (pl[i].dist == SL_PU_SAME) {
			if (pl[i].wait == PP_YIELD)
				yield_same = &pl[i];
			else
				spin_same = &pl[i];
			continue;
		}
		if (!near || pl[i].m.lab_figure[0] < near->m.lab_figure[0])
			near = &pl[i];
		/* The usual comparison point: another core sharing the L3,
		 * else the nearest PU that is not the same one. */
		if (pl[i].dist == SL_PU_CACHE || !base)
			base = &pl[i];
	}
	if (base) {
		fprintf(out, "To %s and back the line took %.0f ns (median round trip),\n"
			     "%.0f ns per one-way hand-off: the writer's core must invalidate the other\n"
			     "copy, and the reader must then fetch the line from the writer's cache.\n",
			class_dest(base->dist), base->m.lab_figure[0], base->m.lab_figure[0] / 2);
		for (unsigned i = 0; i < n; i++) {
			const struct placement *q = &pl[i];
			double r;

			if (q->dist == SL_PU_SAME || q == base)
				continue;
			r = q->m.lab_figure[0] / base->m.lab_figure[0];
			fprintf(out, "  %s: %.0f ns, %.2fx that%s\n", class_words(q->dist),
				q->m.lab_figure[0], r,
				q->dist == SL_PU_SMT
					? (r < 0.9 ? ": the line stays in the core's own L1/L2"
						   : ": no cheaper, though the line stays in one core")
				: q->dist > SL_PU_CACHE
					? (r > 1.1 ? ": the line crosses the interconnect"
						   : ": no dearer here")
					: "");
		}
	}
	if (yield_same && near) {
		double r = yield_same->m.lab_figure[0] / near->m.lab_figure[0];

		fprintf(out, "On one PU the line never moves, yet a round trip took %.0f ns, %.1fx the\n"
			     "cheapest transfer (%.0f ns): the two threads must take turns on the PU, so\n"
			     "every hand-off is a sched_yield and a switch to the other thread (%.2f\n"
			     "context switches counted per hand-off).\n%s\n",
			yield_same->m.lab_figure[0], r, near->m.lab_figure[0],
			yield_same->m.ctx_switches_per_op,
			r > 1 ? "Moving the line costs less than sharing a PU."
			      : "Here a switch costs less than a transfer.");
	} else if (yield_same) {
		fprintf(out, "On one PU the line never moves; a round trip took %.0f ns, the cost of two\n"
			     "sched_yield calls and context switches (%.2f counted per hand-off).\n",
			yield_same->m.lab_figure[0], yield_same->m.ctx_switches_per_op);
	}
	if (spin_same && yield_same) {
		double ms = spin_same->m.ns_per_op / 1e6;
		double r = spin_same->m.ns_per_op / yield_same->m.ns_per_op;

		if (r >= 10)
			fprintf(out, "A waiter that spins instead of yielding keeps the PU its partner needs until\n"
				     "the scheduler preempts it: %.2f ms per round trip (mean), %.0fx the\n"
				     "yielding waiter -- a time slice per hand-off.\n", ms, r);
		else
			fprintf(out, "A spinning waiter on the shared PU took %.3f ms per round trip (mean),\n"
				     "only %.1fx the yielding waiter: the scheduler preempted it quickly here.\n",
				ms, r);
	}
	for (int d = SL_PU_SMT; d <= SL_PU_REMOTE; d++)
		if (partner[d] < 0)
			used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s%s",
						 used ? ", " : "",
						 d == SL_PU_SMT ? "SMT siblings"
						 : d == SL_PU_CACHE ? "a second core on the L3"
						 : d == SL_PU_NODE ? "a second L3 in a node"
						 : "a second socket or NUMA node");
	if (used)
		fprintf(out, "Absent here (%u usable PU%s), so not in the table:\n  %s.\n"
			     "Those rows need a machine that has them and lets this process use them.\n",
			ctx->pus, ctx->pus == 1 ? "" : "s", missing);
}

static int pingpong_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[C_COUNT] = { "round trip p50", "round trip mean",
						    "hand-off", "ctx switches", "CPU busy" };
	static const char *const units[C_COUNT] = { "ns", "ns", "ns", "/hand-off", "%" };
	struct placement pl[SL_PU_DISTANCES + 1];
	int partner[SL_PU_DISTANCES], anchor = -1;
	unsigned n = 0, cross = 0;
	struct sl_lab_table *t;
	char label[96];
	int rc;

	rc = find_pairs(ctx, &anchor, partner, err);
	if (rc < 0)
		return rc;
	memset(pl, 0, sizeof(pl));
	pl[n++] = (struct placement){ .dist = SL_PU_SAME, .wait = PP_SPIN_SAME, .a = anchor, .b = anchor };
	pl[n++] = (struct placement){ .dist = SL_PU_SAME, .wait = PP_YIELD, .a = anchor, .b = anchor };
	for (int d = SL_PU_SMT; d <= SL_PU_REMOTE; d++)
		if (partner[d] >= 0) {
			pl[n++] = (struct placement){ .dist = (enum sl_pu_distance)d, .wait = PP_SPIN,
						      .a = anchor, .b = partner[d] };
			cross++;
		}
	fprintf(out, "Two threads pass a token through one cache line: thread 0 writes when it is\n"
		     "even, thread 1 when it is odd; a round trip is two hand-offs.  Thread 0 on PU %d,\n"
		     "thread 1 at each distance this machine has.  Median round trip of bursts of %d.\n\n",
		anchor, PP_BURST);
	for (unsigned i = 0; i < n; i++) {
		rc = measure_placement(ctx, &pl[i], err);
		if (rc < 0)
			return rc;
	}
	t = sl_lab_table_new("placement", C_COUNT, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		double v[C_COUNT] = {
			[C_P50] = pl[i].m.lab_figure[0],
			[C_MEAN] = pl[i].m.ns_per_op,
			[C_HANDOFF] = pl[i].m.ns_per_op / 2,
			[C_CS] = pl[i].m.ctx_switches_per_op,
			[C_CPU] = pl[i].m.cpu_util * 100,
		};

		label_of(&pl[i], label, sizeof(label));
		rc = sl_lab_table_add(t, label, v);
		if (rc < 0) {
			sl_lab_table_free(t);
			return sl_err_set(err, rc, "out of memory");
		}
	}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	explain(out, pl, n, partner, ctx);
	{
		const struct sl_lab_chart chart = {
			.stem = "round-trip",
			.title = "Cache-line ping-pong: round trip by placement",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_P50, C_MEAN },
			.ny = 2,
			.ylabel = "round trip (ns, log scale)",
			.log_y = true,
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	if (rc < 0)
		return rc;
	if (!cross)
		return sl_err_set(err, -ENOTSUP,
				  "a cache line can only travel between PUs, and this process may use %u PU: only the same-PU rows were measured (run it where at least 2 CPUs are allowed, on different cores to see a transfer)",
				  ctx->pus);
	return 0;
}

const struct sl_demo sl_demo_cacheline_pingpong = {
	.name = "cacheline-pingpong",
	.question = "what does it cost to move one cache line between two cores?",
	.run = pingpong_run,
};
