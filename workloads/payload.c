/*
 * Calibrated busy work for the contention dials (--cs-ns, --think-ns).
 *
 * The work is a counted loop with an empty asm statement in its body, so the
 * compiler can neither delete it nor collapse it into one addition; it touches
 * no memory, so it measures time without adding cache traffic of its own.
 * The rate is measured at the start of every invocation because the host's
 * clock speed drifts (boost, power states, a noisy neighbour on a VM).
 *
 * Also here: the reference costs measured outside the harness -- one atomic
 * RMW, and a lock primitive's uncontended lock+unlock pair in a tight loop.
 * Inside the harness an out-of-order core overlaps an op with the loop's own
 * work, so subtracting `null` from a 1-thread result understates it; these
 * tight loops do not have that problem.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

__attribute__((noinline)) void sl_work_loop(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ __volatile__("" : : "r"(i));
}

int sl_calibrate(struct sl_calib *c, struct sl_err *err)
{
	/* Fastest of several short rounds: interference only ever slows a
	 * round down, so the minimum is the undisturbed rate. */
	enum { ROUNDS = 7 };
	uint64_t iters = 200000;
	uint64_t best = UINT64_MAX;
	uint64_t start = sl_now_ns();

	/* Grow the round until it lasts at least 200 us, so the clock's own
	 * cost and resolution are noise. */
	for (;;) {
		uint64_t t0 = sl_now_ns();

		sl_work_loop(iters);
		if (sl_now_ns() - t0 >= 200 * SL_NS_PER_US || iters > (1ull << 34))
			break;
		iters *= 2;
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = sl_now_ns(), dt;

		sl_work_loop(iters);
		dt = sl_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	if (best == 0 || best == UINT64_MAX)
		return sl_err_set(err, -EIO, "busy-work calibration failed: the clock did not advance");
	c->loops_per_us = (double)iters * 1000.0 / (double)best;
	c->measured_ns = sl_now_ns() - start;
	return 0;
}

size_t sl_work_rate_rounds(const struct sl_calib *c, uint64_t window_ns,
			   double *rates, size_t max)
{
	uint64_t iters = sl_work_iters(c, SL_NS_PER_MS), start = sl_now_ns();
	size_t n = 0;

	if (iters == 0)
		iters = 1;
	while (n < max && sl_now_ns() - start < window_ns) {
		uint64_t t0 = sl_now_ns(), dt;

		sl_work_loop(iters);
		dt = sl_now_ns() - t0;
		if (dt > 0)
			rates[n++] = (double)iters * 1000.0 / (double)dt;
	}
	return n;
}

static _Alignas(SL_SLOT_ALIGN) _Atomic uint64_t rmw_word;

double sl_rmw_cost_ns(void)
{
	enum { ROUNDS = 7, OPS = 1 << 18 };
	uint64_t best = UINT64_MAX;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = sl_now_ns(), dt;

		/* seq_cst: the full-barrier RMW a lock's acquire is built on
		 * (on x86 every locked instruction is one anyway). */
		for (int i = 0; i < OPS; i++)
			atomic_fetch_add_explicit(&rmw_word, 1, memory_order_seq_cst);
		dt = sl_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	return (double)best / OPS;
}

double sl_uncontended_ns(const struct sl_prim *p)
{
	enum { ROUNDS = 7, PAIRS = 1 << 17 };
	struct sl_prim_conf conf = { .nthreads = 1 };
	uint64_t best = UINT64_MAX;
	void *obj, *tctx;
	struct sl_err err;

	if (p->kind != SL_KIND_LOCK || (p->supported && !p->supported((char[192]){ 0 }, 192)))
		return NAN;
	obj = aligned_alloc(SL_SLOT_ALIGN, sl_prim_obj_stride(p));
	tctx = aligned_alloc(SL_SLOT_ALIGN, sl_prim_tctx_stride(p));
	if (!obj || !tctx)
		goto out;
	memset(obj, 0, sl_prim_obj_stride(p));
	memset(tctx, 0, sl_prim_tctx_stride(p));
	if (p->init && p->init(obj, &conf, &err) < 0)
		goto out;
	if (p->thread_init)
		p->thread_init(obj, tctx);
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = sl_now_ns(), dt;

		for (int i = 0; i < PAIRS; i++) {
			p->lock.lock(obj, tctx);
			p->lock.unlock(obj, tctx);
		}
		dt = sl_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	if (p->thread_fini)
		p->thread_fini(obj, tctx);
	if (p->destroy)
		p->destroy(obj);
out:
	free(obj);
	free(tctx);
	return best == UINT64_MAX ? NAN : (double)best / PAIRS;
}

int sl_point_resolve(struct sl_point *pt, struct sl_err *err)
{
	const struct sl_prim *p = pt->prim;

	switch (p->kind) {
	case SL_KIND_RWLOCK:
	case SL_KIND_RCU:
		if (pt->read_pct > 100)
			return sl_err_set(err, -EINVAL,
					  "--read-pct: '%u' is out of range (accepted: 0..100)",
					  pt->read_pct);
		if (pt->writers >= pt->threads && pt->writers > 0)
			return sl_err_set(err, -EINVAL,
					  "--writers: %u writers leave no reader among %u threads (accepted: 0..%u)",
					  pt->writers, pt->threads, pt->threads - 1);
		break;
	case SL_KIND_CONDVAR:
	case SL_KIND_QUEUE:
	case SL_KIND_WORKQUEUE: {
		unsigned prod = pt->producers, cons = pt->consumers;

		if (pt->threads < 2)
			return sl_err_set(err, -EINVAL,
					  "'%s' needs at least 2 threads (a producer and a consumer), not %u",
					  p->name, pt->threads);
		if (!prod && !cons)
			prod = pt->threads / 2;
		if (!prod)
			prod = pt->threads > cons ? pt->threads - cons : 0;
		if (!cons)
			cons = pt->threads > prod ? pt->threads - prod : 0;
		if (prod == 0 || cons == 0 || prod + cons != pt->threads)
			return sl_err_set(err, -EINVAL,
					  "--producers/--consumers: %u + %u does not split %u threads into producers and consumers (at least one of each)",
					  pt->producers, pt->consumers, pt->threads);
		pt->producers = prod;
		pt->consumers = cons;
		if (pt->capacity == 0)
			return sl_err_set(err, -EINVAL, "--capacity: '0' is out of range (accepted: 1..1048576)");
		break;
	}
	case SL_KIND_SEM:
		if (pt->permits == 0)
			return sl_err_set(err, -EINVAL, "--permits: '0' is out of range (accepted: 1..65536)");
		break;
	default:
		break;
	}
	return 0;
}
