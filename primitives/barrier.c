/*
 * Barriers: every one of N threads waits until all N have arrived.
 *
 * barrier-sense: the centralized sense-reversing spin barrier.  A shared
 * count starts at N and a shared sense at 0; each thread keeps its own
 * local sense (in its context), flipped at every barrier.  An arriving
 * thread decrements the count; the last one resets it to N and then stores
 * its local sense into the shared sense, which releases the others, who spin
 * reading the shared sense until it equals theirs.  Reversing the sense
 * makes the barrier reusable at once: a thread released from phase p that
 * arrives at p+1 waits for the opposite value, so a slow thread still
 * reading the old phase's sense cannot be confused by the new one.  Never
 * sleeps: with more threads than PUs, the last arriver may be descheduled
 * while every waiter burns its time slice spinning, and a phase costs
 * scheduler time slices instead of cache-line transfers.
 *
 * barrier-futex: the same count, with waiters that spin briefly and then
 * sleep on a futex generation word.  The word holds the generation in its
 * upper 31 bits and a "sleepers" bit 0.  A thread reads the generation
 * before it arrives (it cannot change until this thread has arrived); the
 * last arriver resets the count and exchanges the word for the next
 * generation with the bit clear, calling FUTEX_WAKE only when the word it
 * replaced had the bit set.  A waiter about to sleep sets the bit with a
 * compare-and-swap that expects the old generation, then sleeps while the
 * word reads old generation | 1.  Both are RMWs of one word, so they are
 * totally ordered: either the CAS fails (the generation moved: no sleep), or
 * the exchange sees the bit and wakes; no seq_cst fence is needed.  No
 * system call when nobody slept.  The spin is skipped when the barrier has
 * more threads than the process has CPUs: then a spinning waiter only keeps
 * a missing thread off its CPU (on a 2-vCPU KVM guest, interleaved runs
 * with 16 threads: about 90k waits/s with the spin, 210k to 300k without).
 *
 * Ordering (both): every arrival's decrement is acq_rel.  Its release half
 * publishes the arriving thread's work; the decrements form a release
 * sequence on the count, so the last arriver's acquire sees every thread's
 * work.  The last arriver's release store of the sense (exchange of the
 * generation) pairs with the waiters' acquire loads, so everything every
 * thread did before the barrier happens-before what any thread does after
 * it.  The relaxed reset of the count is sequenced before that release, so a
 * thread that passed sees the reset before its next decrement.
 *
 * pthread-barrier: glibc's pthread_barrier_t, the baseline.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"

/* barrier-futex: reads of the generation before sleeping, the pause between
 * them doubling up to 8; a few microseconds, enough when the others are
 * running and about to arrive, short when they are not.  None when
 * oversubscribed. */
#define BARRIER_SPIN_READS 100
#define BARRIER_SPIN_PAUSE_MAX 8

#define GEN_SLEEPERS 1u
#define GEN_STEP 2u

/* Arrival counter and release word on separate lines: the waiters' reads of
 * the release word do not slow the remaining arrivals' decrements. */
struct sl_barrier {
	alignas(SL_CACHELINE) _Atomic uint32_t count;
	unsigned n;
	unsigned spin_reads; /* barrier-futex: before sleeping */
	alignas(SL_CACHELINE) _Atomic uint32_t release; /* sense or generation */
};

struct sense_tctx {
	uint32_t local_sense;
};

/* CPUs this process may run on. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

static int barrier_init(void *obj, const struct sl_prim_conf *conf,
			struct sl_err *err)
{
	struct sl_barrier *b = obj;

	if (conf->nthreads == 0)
		return sl_err_set(err, -EINVAL, "a barrier needs at least one thread");
	b->n = conf->nthreads;
	b->spin_reads = conf->nthreads <= usable_cpus() ? BARRIER_SPIN_READS : 0;
	atomic_init(&b->count, conf->nthreads);
	atomic_init(&b->release, 0);
	return 0;
}

/* The last arriver of this phase?  Resets the count when so. */
static inline bool barrier_arrive(struct sl_barrier *b)
{
	/* acq_rel: release publishes this thread's work; the last arriver's
	 * acquire reads the release sequence of every earlier decrement */
	if (atomic_fetch_sub_explicit(&b->count, 1, memory_order_acq_rel) != 1)
		return false;
	/* relaxed: published by the release that follows */
	atomic_store_explicit(&b->count, b->n, memory_order_relaxed);
	return true;
}

static void sense_wait(void *obj, void *tctx)
{
	struct sl_barrier *b = obj;
	struct sense_tctx *t = tctx;
	uint32_t mine = t->local_sense ^ 1u;

	t->local_sense = mine;
	if (barrier_arrive(b)) {
		/* release: pairs with the waiters' acquire loads below */
		atomic_store_explicit(&b->release, mine, memory_order_release);
		return;
	}
	/* acquire: pairs with the last arriver's release store */
	while (atomic_load_explicit(&b->release, memory_order_acquire) != mine)
		sl_cpu_relax();
}

static void futex_barrier_wait(void *obj, void *tctx)
{
	struct sl_barrier *b = obj;
	/* relaxed: this thread saw this generation when it passed the last
	 * barrier (or at the start), and it cannot move before we arrive */
	uint32_t gen = atomic_load_explicit(&b->release, memory_order_relaxed) &
		       ~GEN_SLEEPERS;
	unsigned pause = 1;
	uint32_t w;

	(void)tctx;
	if (barrier_arrive(b)) {
		/* release: pairs with the waiters' acquire loads below */
		w = atomic_exchange_explicit(&b->release, gen + GEN_STEP,
					     memory_order_release);
		if (w & GEN_SLEEPERS)
			sl_futex_wake(&b->release, INT_MAX);
		return;
	}
	for (unsigned i = 0; i < b->spin_reads; i++) {
		/* acquire: pairs with the last arriver's release exchange */
		if ((atomic_load_explicit(&b->release, memory_order_acquire) &
		     ~GEN_SLEEPERS) != gen)
			return;
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < BARRIER_SPIN_PAUSE_MAX)
			pause <<= 1;
	}
	for (;;) {
		/* acquire: pairs with the last arriver's release exchange */
		w = atomic_load_explicit(&b->release, memory_order_acquire);
		if ((w & ~GEN_SLEEPERS) != gen)
			return;
		/* relaxed: announces a sleeper; it orders no data */
		if (!(w & GEN_SLEEPERS) &&
		    !atomic_compare_exchange_weak_explicit(&b->release, &w,
							   gen | GEN_SLEEPERS,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		sl_futex_wait(&b->release, gen | GEN_SLEEPERS);
	}
}

static int barrier_check(void *obj, struct sl_err *err)
{
	struct sl_barrier *b = obj;
	uint32_t c = atomic_load_explicit(&b->count, memory_order_relaxed);

	if (c != b->n)
		return sl_err_set(err, -EPROTO,
				  "barrier count is %u after every thread stopped (expected %u: %u threads still inside)",
				  c, b->n, b->n - c);
	return 0;
}

static int futex_barrier_check(void *obj, struct sl_err *err)
{
	struct sl_barrier *b = obj;

	if (atomic_load_explicit(&b->release, memory_order_relaxed) & GEN_SLEEPERS)
		return sl_err_set(err, -EPROTO,
				  "barrier's sleepers bit is set after every thread stopped");
	return barrier_check(obj, err);
}

const struct sl_prim sl_prim_barrier_sense = {
	.name = "barrier-sense",
	.family = "barrier",
	.kind = SL_KIND_BARRIER,
	.summary = "centralized sense-reversing spin barrier: one counter, one sense flag; never sleeps",
	.obj_size = sizeof(struct sl_barrier),
	.tctx_size = sizeof(struct sense_tctx),
	.init = barrier_init,
	.barrier = { .wait = sense_wait },
	.check = barrier_check,
};

const struct sl_prim sl_prim_barrier_futex = {
	.name = "barrier-futex",
	.family = "barrier",
	.kind = SL_KIND_BARRIER,
	.summary = "centralized barrier whose waiters spin briefly, then sleep on a futex generation word",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_barrier),
	.init = barrier_init,
	.barrier = { .wait = futex_barrier_wait },
	.check = futex_barrier_check,
};

/* --- pthread-barrier ---------------------------------------------------- */

static int pbarrier_init(void *obj, const struct sl_prim_conf *conf,
			 struct sl_err *err)
{
	int rc;

	if (conf->nthreads == 0)
		return sl_err_set(err, -EINVAL, "a barrier needs at least one thread");
	rc = pthread_barrier_init(obj, NULL, conf->nthreads);
	if (rc)
		return sl_err_set(err, -rc, "pthread_barrier_init: %s", strerror(rc));
	return 0;
}

static void pbarrier_destroy(void *obj)
{
	pthread_barrier_destroy(obj);
}

static void pbarrier_wait(void *obj, void *tctx)
{
	(void)tctx;
	pthread_barrier_wait(obj);
}

const struct sl_prim sl_prim_pthread_barrier = {
	.name = "pthread-barrier",
	.family = "baseline",
	.kind = SL_KIND_BARRIER,
	.summary = "glibc's pthread_barrier_t, the baseline for the barriers",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_barrier_t),
	.init = pbarrier_init,
	.destroy = pbarrier_destroy,
	.barrier = { .wait = pbarrier_wait },
};
