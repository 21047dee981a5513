/*
 * store-buffering: the litmus test
 *
 *     thread 0: x = 1; r1 = y        thread 1: y = 1; r2 = x
 *
 * run millions of times, with relaxed atomics and with a seq_cst fence
 * between each store and the load after it.  Under any interleaving of the
 * two programs at least one load sees the other thread's store, so
 * r1 = r2 = 0 is impossible on a sequentially consistent machine.  Real
 * cores buffer their stores: the load runs while the store still waits in
 * the store buffer, invisible to the other core, and both loads can read
 * the old values.  The fence makes each core drain its buffer first.
 *
 * Each iteration uses fresh values instead of resetting x and y: in
 * iteration k the threads store k + 1, so a load that returns k missed the
 * other thread's store ("r = 0") and k + 1 saw it.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "util/atomics.h"

struct sb_line {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t v;
};

/* Thread t's own results, written by it alone; check() and figures() read
 * them after the join. */
struct sb_own {
	alignas(SL_SLOT_ALIGN) uint64_t bad;   /* loads outside {k, k+1} */
	uint64_t bad_iter, bad_value;
	uint64_t outcome[4];  /* thread 0 only: [r1 * 2 + r2] */
};

/*
 * done[t] packs what thread t publishes after iteration k:
 *   (k + 1) << 2 | saw(k) << 1 | saw(k - 1)
 * where saw(j) says whether its load in iteration j saw the other store.
 * Thread 1 may already have finished iteration k when thread 0 comes for
 * its result of k - 1, hence both bits; it cannot finish k + 1 before
 * thread 0 has finished k.  One word, one line: the whole hand-shake of an
 * iteration is this line and the two of the test.
 */
#define SB_ITER(v) ((v) >> 2)

struct sb_test {
	struct sb_line x, y;      /* the two locations of the litmus test */
	struct sb_line done[2];
	alignas(SL_SLOT_ALIGN) _Atomic int stop;
	struct sb_own own[2];
};

/* Per-thread: the next iteration and what its last load saw. */
struct sb_thread {
	uint64_t k;
	uint64_t last_saw;
};

static int sb_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	struct sb_test *s = obj;

	if (conf->nthreads != 2)
		return sl_err_set(err, -EINVAL, "the litmus test needs exactly 2 threads, not '%u'",
				  conf->nthreads);
	memset(s->own, 0, sizeof(s->own));
	atomic_init(&s->x.v, 0);
	atomic_init(&s->y.v, 0);
	for (int t = 0; t < 2; t++)
		atomic_init(&s->done[t].v, 0);
	atomic_init(&s->stop, 0);
	return 0;
}

/* Wait until the partner completed `want` iterations and return its done
 * word; false once stop() was called.  Acquire: pairs with the partner's
 * release store of that word, so its stores to x or y of those iterations
 * are visible here. */
static bool wait_partner(struct sb_test *s, unsigned partner, uint64_t want,
			 uint64_t *word)
{
	unsigned spins = 0;

	while (SB_ITER(*word = atomic_load_explicit(&s->done[partner].v,
						    memory_order_acquire)) < want) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed))
			return false;
		/* The partner may have lost its CPU: let it have this one. */
		if (++spins % 4096 == 0)
			sched_yield();
		else
			sl_cpu_relax();
	}
	return true;
}

/*
 * One iteration.  Both threads wait for the other to finish the previous
 * one, so they leave the wait within a cache-line transfer of each other
 * and their store-load pairs overlap.  Thread 0 also tallies iteration
 * k - 1 (its own result and the partner's) and returns 1 when both loads
 * missed.
 */
static inline uint64_t sb_iteration(struct sb_test *s, struct sb_thread *me,
				    unsigned id, bool fenced)
{
	const unsigned t = id & 1, partner = t ^ 1;
	_Atomic uint64_t *mine = t ? &s->y.v : &s->x.v;
	_Atomic uint64_t *theirs = t ? &s->x.v : &s->y.v;
	const uint64_t k = me->k;
	uint64_t r, seen, word, found = 0;

	if (!wait_partner(s, partner, k, &word))
		return 0;
	if (t == 0 && k > 0) {
		/* The partner's result for k - 1: its newest bit if it has
		 * not started k yet, else the older one. */
		uint64_t r2_saw = SB_ITER(word) == k ? (word >> 1) & 1 : word & 1;

		s->own[0].outcome[me->last_saw * 2 + r2_saw]++;
		found = !me->last_saw && !r2_saw;
	}
	/* The litmus test proper.  Relaxed orders nothing between the store
	 * and the load (on x86 both are a plain mov).  The seq_cst fence is
	 * the point of the second variant: with a seq_cst fence between
	 * store and load in both threads, C11 forbids r1 = r2 = 0 (one fence
	 * precedes the other in the single total order, so the later load
	 * sees the earlier thread's store); x86 emits mfence or a locked
	 * instruction, which drains the store buffer. */
	atomic_store_explicit(mine, k + 1, memory_order_relaxed);
	if (fenced)
		sl_fence_seq_cst();
	r = atomic_load_explicit(theirs, memory_order_relaxed);
	if (r != k && r != k + 1 && !s->own[t].bad++) {
		s->own[t].bad_iter = k;
		s->own[t].bad_value = r;
	}
	seen = r == k + 1;
	/* Release: pairs with the partner's acquire in wait_partner. */
	atomic_store_explicit(&s->done[t].v, (k + 1) << 2 | seen << 1 | me->last_saw,
			      memory_order_release);
	me->k = k + 1;
	me->last_saw = seen;
	return found;
}

static uint64_t sb_relaxed_step(void *obj, void *tctx, unsigned id)
{
	return sb_iteration(obj, tctx, id, false);
}

static uint64_t sb_fenced_step(void *obj, void *tctx, unsigned id)
{
	return sb_iteration(obj, tctx, id, true);
}

static void sb_stop(void *obj)
{
	struct sb_test *s = obj;

	/* Relaxed: the flag only ends waits; nothing is published with it. */
	atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
}

/* Rates over every tallied iteration of the run (warm-up included: a
 * rate, not a count, so the longer span only adds samples). */
static void sb_figures(void *obj, double out[SL_LAB_FIGURES])
{
	const uint64_t *o = ((const struct sb_test *)obj)->own[0].outcome;
	double n = (double)(o[0] + o[1] + o[2] + o[3]);

	if (n == 0)
		return;
	out[0] = (double)o[0] / n * 1e6;
	out[1] = (double)(o[1] + o[2]) / n * 1e6;
	out[2] = (double)o[3] / n * 1e6;
	out[3] = n;
}

/* Both variants: every load returned the old or the new value. */
static int sb_check_harness(const struct sb_test *s, struct sl_err *err)
{
	for (int t = 0; t < 2; t++)
		if (s->own[t].bad)
			return sl_err_set(err, -EPROTO,
					  "thread %d's load returned '%" PRIu64 "' in iteration %" PRIu64
					  " (accepted: %" PRIu64 " or %" PRIu64 "): the demo's per-iteration synchronisation is broken",
					  t, s->own[t].bad_value, s->own[t].bad_iter,
					  s->own[t].bad_iter, s->own[t].bad_iter + 1);
	return 0;
}

static int sb_relaxed_check(void *obj, struct sl_err *err)
{
	return sb_check_harness(obj, err);
}

/* The fenced variant must never show r1 = r2 = 0. */
static int sb_fenced_check(void *obj, struct sl_err *err)
{
	const struct sb_test *s = obj;
	const uint64_t *o = s->own[0].outcome;
	int rc = sb_check_harness(s, err);

	if (rc < 0)
		return rc;
	if (o[0])
		return sl_err_set(err, -EPROTO,
				  "r1=r2=0 observed %" PRIu64 " times in %" PRIu64
				  " iterations WITH a seq_cst fence between each store and load: the fence is not doing its job, so this demo (or its compiler) is broken",
				  o[0], o[0] + o[1] + o[2] + o[3]);
	return 0;
}

static const struct sl_prim sb_relaxed = {
	.name = "store-buffering-relaxed",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "store-buffer litmus test, relaxed store and load",
	.obj_size = sizeof(struct sb_test),
	.tctx_size = sizeof(struct sb_thread),
	.init = sb_init,
	.lab = { .step = sb_relaxed_step, .stop = sb_stop, .figures = sb_figures },
	.check = sb_relaxed_check,
};

static const struct sl_prim sb_fenced = {
	.name = "store-buffering-fenced",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "store-buffer litmus test, seq_cst fence between store and load",
	.obj_size = sizeof(struct sb_test),
	.tctx_size = sizeof(struct sb_thread),
	.init = sb_init,
	.lab = { .step = sb_fenced_step, .stop = sb_stop, .figures = sb_figures },
	.check = sb_fenced_check,
};

/* --- the experiment ------------------------------------------------------ */

#if defined(__x86_64__) || defined(__i386__)
#define SB_ISA "x86: relaxed store and load are each a plain mov, the fence a locked\ninstruction (lock or, or mfence)"
#elif defined(__aarch64__)
#define SB_ISA "arm64: relaxed store and load are a plain str and ldr, the fence a dmb ish"
#else
#define SB_ISA "relaxed store and load are plain memory accesses, the fence a full barrier"
#endif

enum { C_ITERS, C_BOTH0, C_BOTH0_RATE, C_ONE, C_BOTH1, C_NS, C_COUNT };

static int sb_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[C_COUNT] = { "iterations", "r1=r2=0", "r1=r2=0",
						    "one saw the other", "both saw", "per iteration" };
	static const char *const units[C_COUNT] = { "count", "count", "/M iterations",
						    "/M iterations", "/M iterations", "ns" };
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	const struct sl_prim *variant[2] = { &sb_relaxed, &sb_fenced };
	static const char *const label[2] = { "relaxed", "seq_cst fence" };
	struct sl_lab_measure m[2];
	double iters[2], rate[2];
	struct sl_lab_table *t;
	char b[64], c[64];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "store buffering shows only between two cores running at once; this process may use %u PU, and a context switch drains the store buffer (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "Two threads on different PUs run  x=1; r1=y  ||  y=1; r2=x  once per iteration,\n"
		     "starting each iteration together; counted: iterations where both loads missed\n"
		     "the other thread's store (r1=r2=0), impossible in any interleaving.\n"
		     "On %s.\n\n", SB_ISA);
	for (int i = 0; i < 2; i++) {
		struct sl_point pt = sl_lab_point(variant[i], 2);

		pt.pin = &scatter;
		rc = sl_lab_measure_ok(ctx, &pt, &m[i], err);
		if (rc < 0)
			return rc;
		/* Thread 0 and thread 1 run in lock step: half the steps. */
		iters[i] = (double)m[i].ops / 2;
		rate[i] = iters[i] > 0 ? (double)m[i].observed / iters[i] * 1e6 : NAN;
	}
	/* Checked per run by the descriptor; the window's count must agree. */
	if (m[1].observed) {
		fprintf(out, "*** BUG: r1=r2=0 seen %" PRIu64 " times with the fence ***\n", m[1].observed);
		return sl_err_set(err, -EPROTO,
				  "r1=r2=0 observed %" PRIu64 " times with a seq_cst fence: this demo is broken",
				  m[1].observed);
	}
	t = sl_lab_table_new("ordering", C_COUNT, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < 2; i++) {
		double v[C_COUNT] = {
			[C_ITERS] = iters[i],
			[C_BOTH0] = (double)m[i].observed,
			[C_BOTH0_RATE] = rate[i],
			[C_ONE] = m[i].lab_figure[1],
			[C_BOTH1] = m[i].lab_figure[2],
			[C_NS] = m[i].ns_per_op,
		};

		sl_lab_table_add(t, label[i], v);
	}
	sl_lab_table_print(out, t);
	fprintf(out, "  (counts: the measured windows of all %u run%s; rates per million iterations)\n\n",
		ctx->repeat, ctx->repeat == 1 ? "" : "s");
	if (m[0].observed)
		fprintf(out,
			"Without a fence both loads missed the other store %" PRIu64 " times in %.0f\n"
			"iterations (%.1f per million).  Each core put its store in its store buffer\n"
			"and ran the load, to another address, before the store reached the cache:\n"
			"the load read the old value while the other core could not yet see the new\n"
			"one.  x86's memory model (TSO) allows exactly this store-then-load\n"
			"reordering, and C11 relaxed atomics ask for nothing more.\n",
			m[0].observed, iters[0], rate[0]);
	else
		fprintf(out,
			"Without a fence r1=r2=0 did not appear in %.0f iterations.  The hardware\n"
			"may still do it: it needs both stores to wait in store buffers at the same\n"
			"moment, and here the iterations %s.  Try a longer\n"
			"--duration or an idle machine.\n",
			iters[0],
			m[0].lab_figure[2] > 0 ? "rarely lined up closely enough"
					       : "never overlapped (not even r1=r2=1 was seen)");
	fprintf(out,
		"With a seq_cst fence between store and load it never happened in %.0f\n"
		"iterations, as C11 promises: the fence makes the core drain its store buffer\n"
		"before loading.  ", iters[1]);
	if (m[1].ns_per_op >= 1.05 * m[0].ns_per_op)
		fprintf(out, "That wait cost %s per iteration instead of %s\n(%.2fx).\n",
			sl_lab_fmt(b, sizeof(b), m[1].ns_per_op, "ns"),
			sl_lab_fmt(c, sizeof(c), m[0].ns_per_op, "ns"), m[1].ns_per_op / m[0].ns_per_op);
	else
		fprintf(out, "Its cost is lost here in the per-iteration synchronisation\n"
			     "(%s vs %s per iteration).\n",
			sl_lab_fmt(b, sizeof(b), m[1].ns_per_op, "ns"),
			sl_lab_fmt(c, sizeof(c), m[0].ns_per_op, "ns"));
	{
		const struct sl_lab_chart chart = {
			.stem = "outcomes",
			.title = "Store buffering: r1=r2=0 per million iterations, relaxed vs seq_cst fence",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_BOTH0_RATE },
			.ny = 1,
			.ylabel = "r1=r2=0 (per million iterations)",
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_store_buffering = {
	.name = "store-buffering",
	.question = "can both threads miss each other's store (x=1; r1=y || y=1; r2=x)?",
	.run = sb_run,
};
