/*
 * The barrier shape: every thread waits at one barrier, phase after phase.
 * An op is one barrier wait, so ops/s is waits per second; phases per
 * second are ops/s divided by the thread count.  --think-ns of work is done
 * before each arrival (the computation between two barriers).
 *
 * The invariant: no thread passes a phase early.  Before it waits at phase
 * p, thread i stores arrived[i] = p + 1 in its own padded slot; after the
 * wait it reads every arrived[j], which must be at least p + 1.  A thread
 * that finds one lower stops the run, naming both threads and the phase.
 * The stores are release and the reads acquire (plain moves on x86): with a
 * correct barrier its own ordering already makes them visible, and with a
 * broken one they keep the stop protocol below sound.
 *
 * Stopping is the hard part: a thread that leaves while the others wait for
 * it leaves them blocked forever, so all must leave after the same phase.
 * Thread 0 decides for everyone: before it arrives at phase p it writes
 * vote[p % 2] = (phase >= STOP; ABORT included), and after phase p every
 * thread reads vote[p % 2] and leaves when it is set.  Every thread still
 * calls sl_worker_running() once per op (it samples context switches at the
 * phase changes) but ignores its answer.
 *
 * Why the reads see the right vote, and why two slots suffice: thread 0
 * writes vote[p % 2] before its release store of arrived[0] = p + 1, and a
 * thread reads the vote only after it has read arrived[0] >= p + 1 with
 * acquire, so it sees that write (or a later one).  The next write to the
 * same slot is for phase p + 2, made after thread 0 passed phase p + 1 --
 * after it read every arrived[j] >= p + 2 -- and each thread j stores
 * arrived[j] = p + 2 only after it read the vote of phase p.  So no reader
 * can see the slot overwritten; one slot would not do, since thread 0 writes
 * the next vote before the others have read the current one.
 *
 * A thread that finds a thread missing reports it and then waits for every
 * arrived[j] >= p + 1 itself before reading the vote, so even a broken
 * barrier ends the run with all threads leaving together and a failed check
 * rather than a hang (as long as the barrier itself keeps going).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/workload.h"

struct arrival {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t phase; /* last phase arrived + 1 */
};

struct barrier_data {
	alignas(SL_CACHELINE) _Atomic unsigned vote[2];
	struct arrival *arrived; /* [threads] */
};

static int barrier_setup(struct sl_run *run, struct sl_err *err)
{
	struct barrier_data *d = aligned_alloc(SL_CACHELINE,
					       SL_ROUND_UP(sizeof(*d), SL_CACHELINE));
	size_t n = run->pt->threads;

	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	memset(d, 0, sizeof(*d));
	atomic_init(&d->vote[0], 0);
	atomic_init(&d->vote[1], 0);
	d->arrived = aligned_alloc(SL_SLOT_ALIGN, n * sizeof(*d->arrived));
	if (!d->arrived) {
		free(d);
		return sl_err_set(err, -ENOMEM, "out of memory for %zu threads", n);
	}
	for (size_t i = 0; i < n; i++)
		atomic_init(&d->arrived[i].phase, 0);
	run->shape_data = d;
	return 0;
}

static void barrier_teardown(struct sl_run *run)
{
	struct barrier_data *d = run->shape_data;

	free(d->arrived);
	free(d);
	run->shape_data = NULL;
}

/* The first thread that had not arrived at phase p (arrived < p + 1), or
 * n when all had.  acquire: pairs with the release store before each wait. */
static unsigned first_missing(const struct barrier_data *d, unsigned n,
			      uint64_t p)
{
	for (unsigned j = 0; j < n; j++)
		if (atomic_load_explicit(&d->arrived[j].phase,
					 memory_order_acquire) < p + 1)
			return j;
	return n;
}

static void barrier_body(struct sl_worker *w)
{
	struct sl_run *run = w->run;
	struct barrier_data *d = run->shape_data;
	void (*const wait)(void *, void *) = run->prim->barrier.wait;
	void *obj = sl_run_obj(run, 0);
	void *tctx = w->tctx[0];
	const unsigned n = run->pt->threads;
	const uint64_t think_iters = run->think_iters;
	uint64_t p = atomic_load_explicit(&w->ops, memory_order_relaxed);
	bool failed = false;

	for (;;) {
		unsigned late;
		bool stop;

		(void)sl_worker_running(w); /* only the vote decides */
		if (w->id == 0)
			atomic_store_explicit(&d->vote[p % 2],
					      sl_phase(run) >= SL_PHASE_STOP,
					      memory_order_relaxed);
		if (think_iters)
			sl_work_loop(think_iters);
		/* release: publishes thread 0's vote (see the top) */
		atomic_store_explicit(&d->arrived[w->id].phase, p + 1,
				      memory_order_release);
		wait(obj, tctx);
		late = first_missing(d, n, p);
		if (late < n) {
			if (!failed)
				sl_worker_fail(w,
					       "barrier let thread %u pass phase %" PRIu64 " before thread %u had arrived at it",
					       w->id, p, late);
			failed = true;
			/* Wait out the broken barrier for the stop protocol. */
			while (first_missing(d, n, p) < n)
				sched_yield();
		}
		stop = atomic_load_explicit(&d->vote[p % 2], memory_order_relaxed);
		atomic_store_explicit(&w->ops, ++p, memory_order_relaxed);
		if (stop)
			break;
	}
}

static int barrier_verify(struct sl_run *run, struct sl_worker *const *workers,
			  struct sl_err *err)
{
	const unsigned n = run->pt->threads;
	uint64_t first = atomic_load_explicit(&workers[0]->ops, memory_order_relaxed);

	/* Everyone left after the same phase, or someone is still waiting. */
	for (unsigned i = 1; i < n; i++) {
		uint64_t o = atomic_load_explicit(&workers[i]->ops, memory_order_relaxed);

		if (o != first)
			return sl_err_set(err, -EPROTO,
					  "threads left the barrier after different phases: thread 0 after %" PRIu64 " waits, thread %u after %" PRIu64,
					  first, i, o);
	}
	return 0;
}

const struct sl_shape sl_shape_barrier = {
	.name = "barrier",
	.kind = SL_KIND_BARRIER,
	.setup = barrier_setup,
	.body = barrier_body,
	.verify = barrier_verify,
	.teardown = barrier_teardown,
};
