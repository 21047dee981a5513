/*
 * The semaphore shape: K permits (--permits) shared by every thread.
 *
 * Each op takes a permit, counts itself in a shared "inside" counter, spends
 * --cs-ns of calibrated work holding the permit, counts itself out, gives the
 * permit back, then spends --think-ns outside.
 *
 * The invariant: never more than K threads hold a permit at once.  The
 * inside counter is a fetch-and-add whose result is the number of holders
 * including the caller; one that exceeds K stops the run on the spot.  Its
 * accesses are relaxed: their single modification order is all the count
 * needs (a correct semaphore's post happens-before the next wait's return,
 * so a holder's decrement always precedes the next holder's increment in
 * that order), and a broken semaphore yields a count above K, never
 * undefined behaviour.  Each thread also records the largest count it saw;
 * after the run, the maximum must be at most K, the counter must be back to
 * 0 (every entry left), and the primitive's own check verifies the count of
 * permits is back to K.
 *
 * Nobody needs waking at the end: every holder finishes its op, which ends
 * with a post, so each thread waiting for a permit gets one and returns.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

struct sem_slot {
	alignas(SL_SLOT_ALIGN) uint64_t max_inside; /* written by its thread only */
};

struct sem_data {
	alignas(SL_CACHELINE) _Atomic uint64_t inside;
	struct sem_slot *slot; /* [threads] */
};

static int sem_setup(struct sl_run *run, struct sl_err *err)
{
	struct sem_data *d = aligned_alloc(SL_CACHELINE,
					   SL_ROUND_UP(sizeof(*d), SL_CACHELINE));
	size_t n = run->pt->threads;

	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	memset(d, 0, sizeof(*d));
	atomic_init(&d->inside, 0);
	d->slot = aligned_alloc(SL_SLOT_ALIGN, n * sizeof(*d->slot));
	if (!d->slot) {
		free(d);
		return sl_err_set(err, -ENOMEM, "out of memory for %zu threads", n);
	}
	memset(d->slot, 0, n * sizeof(*d->slot));
	run->shape_data = d;
	return 0;
}

static void sem_teardown(struct sl_run *run)
{
	struct sem_data *d = run->shape_data;

	free(d->slot);
	free(d);
	run->shape_data = NULL;
}

static void sem_body(struct sl_worker *w)
{
	struct sl_run *run = w->run;
	const struct sl_sem_ops *ops = &run->prim->sem;
	struct sem_data *d = run->shape_data;
	void *obj = sl_run_obj(run, 0);
	void *tctx = w->tctx[0];
	const uint64_t k = run->pt->permits;
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	uint64_t max = d->slot[w->id].max_inside;

	while (sl_worker_running(w)) {
		const bool timed = sl_lat_due(w);
		const uint64_t t0 = timed ? sl_now_ns() : 0;
		uint64_t in;

		ops->wait(obj, tctx);
		if (timed)
			sl_lat_record(w, sl_now_ns() - t0);
		in = atomic_fetch_add_explicit(&d->inside, 1,
					       memory_order_relaxed) + 1;
		if (in > max)
			max = in;
		if (in > k) {
			sl_worker_fail(w,
				       "semaphore let %" PRIu64 " threads in at once (permits %" PRIu64 "), seen by thread %u",
				       in, k, w->id);
			atomic_fetch_sub_explicit(&d->inside, 1, memory_order_relaxed);
			ops->post(obj, tctx);
			break;
		}
		if (cs_iters)
			sl_work_loop(cs_iters);
		atomic_fetch_sub_explicit(&d->inside, 1, memory_order_relaxed);
		ops->post(obj, tctx);
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
	d->slot[w->id].max_inside = max;
}

static int sem_verify(struct sl_run *run, struct sl_worker *const *workers,
		      struct sl_err *err)
{
	const struct sem_data *d = run->shape_data;
	const uint64_t k = run->pt->permits;
	uint64_t max = 0, ops = 0;
	uint64_t left = atomic_load_explicit(&d->inside, memory_order_relaxed);

	for (unsigned i = 0; i < run->pt->threads; i++) {
		if (d->slot[i].max_inside > max)
			max = d->slot[i].max_inside;
		ops += atomic_load_explicit(&workers[i]->ops, memory_order_relaxed);
	}
	if (max > k)
		return sl_err_set(err, -EPROTO,
				  "semaphore let %" PRIu64 " threads in at once (permits %" PRIu64 ")",
				  max, k);
	if (left != 0)
		return sl_err_set(err, -EPROTO,
				  "%" PRIu64 " threads still counted inside the semaphore after every thread stopped",
				  left);
	if (ops > 0 && max == 0)
		return sl_err_set(err, -EPROTO,
				  "%" PRIu64 " ops completed but no thread was ever seen inside",
				  ops);
	return 0;
}

const struct sl_shape sl_shape_sem = {
	.name = "sem",
	.kind = SL_KIND_SEM,
	.setup = sem_setup,
	.body = sem_body,
	.verify = sem_verify,
	.teardown = sem_teardown,
};
