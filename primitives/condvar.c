/*
 * Monitors: one mutex and SL_COND_QUEUES condition queues over it.
 *
 * condvar: synclab's own.  The mutex has the three states of mutex.c's
 * (0 free, 1 locked, 2 locked with possible sleepers; a bounded spin, then
 * FUTEX_WAIT), written here so the monitor is one object.  Each
 * condition queue is a futex sequence word plus a count of the threads
 * waiting on it:
 *
 *   wait(q)       (mutex held) waiters[q]++, read seq[q], unlock, sleep in
 *                 FUTEX_WAIT while seq[q] still holds what was read,
 *                 waiters[q]--, lock
 *   signal(q)     if waiters[q]: seq[q]++, FUTEX_WAKE 1
 *   broadcast(q)  if waiters[q]: seq[q]++, FUTEX_WAKE all
 *
 * Why no wake-up is lost: the waiter reads seq with the mutex held, and the
 * condition it waits for can only change under the mutex, after the
 * waiter's unlock; a signal that follows that change increments seq after
 * the waiter's read.  Then either the waiter is already queued in the kernel
 * when FUTEX_WAKE runs, or its FUTEX_WAIT finds seq changed and returns at
 * once: the kernel compares and queues atomically with respect to the wake.
 * A waiter joins the count under the mutex, before it reads seq, so a
 * signaller that changed the condition under the mutex (before or while
 * signalling) sees every thread that waits for that change; signal skips
 * the system call when nobody waits.  A woken waiter leaves the count before
 * it queues for the mutex, so signals meanwhile do not wake it again.
 * A woken waiter can find the condition false again (another thread took
 * the item first) and two waiters that read the same seq can both leave on
 * one signal: callers re-check in a loop, as with pthreads.
 * (A sequence word wraps after 2^32 signals; a waiter that slept through
 * exactly that many would miss its wake-up: not a practical concern.)
 *
 * Broadcast wakes every waiter rather than requeueing them onto the mutex
 * word with FUTEX_CMP_REQUEUE.  Requeueing avoids the herd that wakes only to
 * sleep again on the mutex, but a thread that may have been requeued cannot
 * tell whether others sleep on the mutex behind it, so every return from
 * wait would have to take the mutex in the contended state (2) and every
 * unlock after a wait would cost a FUTEX_WAKE -- a tax on signal, the common
 * path of a bounded buffer, to speed up broadcast, which the buffer uses only
 * to shut down.
 *
 * Ordering: the monitor's data is ordered by the mutex alone: the acquiring
 * CAS/exchange pairs with the release exchange in unlock.  Sequence words
 * and waiter counts are relaxed: seq is a wake-up token (what a woken
 * thread then reads, it reads under the mutex), and a waiter joins the count
 * under the mutex (what a signaller must see of it, it sees through the
 * mutex).
 *
 * pthread-cond: a pthread_mutex_t and two pthread_cond_t, the baseline.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"

enum { CV_FREE = 0, CV_LOCKED = 1, CV_CONTENDED = 2 };

/* Reads to spin while the owner runs, the pause between them doubling up to
 * 16, before sleeping: a shorter spin than `mutex`'s, whose length was set
 * by measurements on 16 CPUs that this monitor has not had. */
#define CV_SPIN_READS 100

struct cv_queue {
	alignas(SL_CACHELINE) _Atomic uint32_t seq;
	_Atomic uint32_t waiters; /* registered under the mutex */
};

struct sl_condvar {
	alignas(SL_CACHELINE) _Atomic uint32_t mutex;
	struct cv_queue q[SL_COND_QUEUES];
};

/* What a thread did, as the descriptor's events name it.  The ops also
 * take a NULL context and count nothing: the workqueue embeds this monitor
 * and calls it from threads that hold no context of it. */
struct cv_tctx {
	uint64_t sleeps;       /* waits that slept on a condition queue */
	uint64_t wakes;        /* FUTEX_WAKEs of signals and broadcasts */
	uint64_t mutex_sleeps; /* FUTEX_WAITs on the mutex that slept */
	uint64_t mutex_wakes;  /* FUTEX_WAKEs its unlocks made */
};

static int cv_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_condvar *c = obj;

	(void)conf;
	(void)err;
	atomic_init(&c->mutex, CV_FREE);
	for (unsigned q = 0; q < SL_COND_QUEUES; q++) {
		atomic_init(&c->q[q].seq, 0);
		atomic_init(&c->q[q].waiters, 0);
	}
	return 0;
}

static void cv_lock_slow(struct sl_condvar *c, struct cv_tctx *t)
{
	unsigned pause = 1;

	for (int i = 0; i < CV_SPIN_READS; i++) {
		uint32_t s = atomic_load_explicit(&c->mutex, memory_order_relaxed);

		if (s == CV_FREE) {
			uint32_t expected = CV_FREE;

			/* acquire: pairs with the release exchange in cv_unlock */
			if (atomic_compare_exchange_weak_explicit(
				    &c->mutex, &expected, CV_LOCKED,
				    memory_order_acquire, memory_order_relaxed))
				return;
		} else if (s == CV_CONTENDED) {
			break; /* others already sleep: queue behind them */
		}
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < 16)
			pause <<= 1;
	}
	/* acquire: pairs with the release exchange in cv_unlock */
	while (atomic_exchange_explicit(&c->mutex, CV_CONTENDED,
					memory_order_acquire) != CV_FREE)
		if (sl_futex_wait(&c->mutex, CV_CONTENDED) && t)
			t->mutex_sleeps++;
}

static inline void cv_lock_(struct sl_condvar *c, struct cv_tctx *t)
{
	uint32_t expected = CV_FREE;

	/* acquire: pairs with the release exchange in cv_unlock */
	if (!atomic_compare_exchange_strong_explicit(&c->mutex, &expected,
						     CV_LOCKED,
						     memory_order_acquire,
						     memory_order_relaxed))
		cv_lock_slow(c, t);
}

static inline void cv_unlock_(struct sl_condvar *c, struct cv_tctx *t)
{
	/* release: publishes the critical section to the next acquirer */
	if (atomic_exchange_explicit(&c->mutex, CV_FREE, memory_order_release) ==
	    CV_CONTENDED) {
		if (t)
			t->mutex_wakes++;
		sl_futex_wake(&c->mutex, 1);
	}
}

static void cv_lock(void *obj, void *tctx)
{
	cv_lock_(obj, tctx);
}

static void cv_unlock(void *obj, void *tctx)
{
	cv_unlock_(obj, tctx);
}

static void cv_wait(void *obj, void *tctx, unsigned q)
{
	struct sl_condvar *c = obj;
	struct cv_queue *cq = &c->q[q];
	struct cv_tctx *t = tctx;
	uint32_t seq;

	/* Both relaxed: under the mutex, which orders them with respect to
	 * every signaller that changed the condition under it. */
	atomic_fetch_add_explicit(&cq->waiters, 1, memory_order_relaxed);
	seq = atomic_load_explicit(&cq->seq, memory_order_relaxed);
	cv_unlock_(c, t);
	if (sl_futex_wait(&cq->seq, seq) && t)
		t->sleeps++;
	/* Awake: no longer needs a wake-up, so leave the count before
	 * queueing for the mutex; signals meanwhile skip the system call. */
	atomic_fetch_sub_explicit(&cq->waiters, 1, memory_order_relaxed);
	cv_lock_(c, t);
}

static void cv_wake(struct sl_condvar *c, struct cv_tctx *t, unsigned q, int n)
{
	struct cv_queue *cq = &c->q[q];

	if (atomic_load_explicit(&cq->waiters, memory_order_relaxed) == 0)
		return;
	/* relaxed: a token; the woken thread reads the data under the mutex */
	atomic_fetch_add_explicit(&cq->seq, 1, memory_order_relaxed);
	if (t)
		t->wakes++;
	sl_futex_wake(&cq->seq, n);
}

static void cv_signal(void *obj, void *tctx, unsigned q)
{
	cv_wake(obj, tctx, q, 1);
}

static void cv_broadcast(void *obj, void *tctx, unsigned q)
{
	cv_wake(obj, tctx, q, INT_MAX);
}

static void cv_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct cv_tctx *t = tctx;

	out[0] = t->sleeps;
	out[1] = t->wakes;
	out[2] = t->mutex_sleeps;
	out[3] = t->mutex_wakes;
}

static int cv_check(void *obj, struct sl_err *err)
{
	struct sl_condvar *c = obj;
	uint32_t m = atomic_load_explicit(&c->mutex, memory_order_relaxed);

	if (m != CV_FREE)
		return sl_err_set(err, -EPROTO,
				  "condvar's mutex state is %u after every thread stopped (expected 0, free)",
				  m);
	for (unsigned q = 0; q < SL_COND_QUEUES; q++) {
		uint32_t w = atomic_load_explicit(&c->q[q].waiters,
						  memory_order_relaxed);

		if (w)
			return sl_err_set(err, -EPROTO,
					  "condvar queue %u counts %u waiters after every thread stopped (expected 0)",
					  q, w);
	}
	return 0;
}

const struct sl_prim sl_prim_condvar = {
	.name = "condvar",
	.family = "condvar",
	.kind = SL_KIND_CONDVAR,
	.summary = "futex monitor: three-state mutex, a sequence word per queue; no syscall to signal an empty queue",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_condvar),
	.tctx_size = sizeof(struct cv_tctx),
	.init = cv_init,
	.cond = { .lock = cv_lock, .unlock = cv_unlock, .wait = cv_wait,
		  .signal = cv_signal, .broadcast = cv_broadcast },
	.check = cv_check,
	.event_names = { "sleeps", "wakes", "mutex-sleeps", "mutex-wakes" },
	.events = cv_events,
};

/* --- pthread-cond ------------------------------------------------------- */

struct pthread_monitor {
	pthread_mutex_t m;
	pthread_cond_t c[SL_COND_QUEUES];
};

static int pcond_init(void *obj, const struct sl_prim_conf *conf,
		      struct sl_err *err)
{
	struct pthread_monitor *pm = obj;
	unsigned q;
	int rc;

	(void)conf;
	rc = pthread_mutex_init(&pm->m, NULL);
	if (rc)
		return sl_err_set(err, -rc, "pthread_mutex_init: %s", strerror(rc));
	for (q = 0; q < SL_COND_QUEUES; q++) {
		rc = pthread_cond_init(&pm->c[q], NULL);
		if (rc) {
			while (q-- > 0)
				pthread_cond_destroy(&pm->c[q]);
			pthread_mutex_destroy(&pm->m);
			return sl_err_set(err, -rc, "pthread_cond_init: %s",
					  strerror(rc));
		}
	}
	return 0;
}

static void pcond_destroy(void *obj)
{
	struct pthread_monitor *pm = obj;

	for (unsigned q = 0; q < SL_COND_QUEUES; q++)
		pthread_cond_destroy(&pm->c[q]);
	pthread_mutex_destroy(&pm->m);
}

static void pcond_lock(void *obj, void *tctx)
{
	struct pthread_monitor *pm = obj;

	(void)tctx;
	pthread_mutex_lock(&pm->m);
}

static void pcond_unlock(void *obj, void *tctx)
{
	struct pthread_monitor *pm = obj;

	(void)tctx;
	pthread_mutex_unlock(&pm->m);
}

static void pcond_wait(void *obj, void *tctx, unsigned q)
{
	struct pthread_monitor *pm = obj;

	(void)tctx;
	pthread_cond_wait(&pm->c[q], &pm->m);
}

static void pcond_signal(void *obj, void *tctx, unsigned q)
{
	struct pthread_monitor *pm = obj;

	(void)tctx;
	pthread_cond_signal(&pm->c[q]);
}

static void pcond_broadcast(void *obj, void *tctx, unsigned q)
{
	struct pthread_monitor *pm = obj;

	(void)tctx;
	pthread_cond_broadcast(&pm->c[q]);
}

static int pcond_check(void *obj, struct sl_err *err)
{
	struct pthread_monitor *pm = obj;

	if (pthread_mutex_trylock(&pm->m))
		return sl_err_set(err, -EPROTO,
				  "the monitor's mutex is still held after every thread stopped");
	pthread_mutex_unlock(&pm->m);
	return 0;
}

const struct sl_prim sl_prim_pthread_cond = {
	.name = "pthread-cond",
	.family = "baseline",
	.kind = SL_KIND_CONDVAR,
	.summary = "glibc's pthread_mutex_t with two pthread_cond_t, the baseline for condvar",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(struct pthread_monitor),
	.init = pcond_init,
	.destroy = pcond_destroy,
	.cond = { .lock = pcond_lock, .unlock = pcond_unlock,
		  .wait = pcond_wait, .signal = pcond_signal,
		  .broadcast = pcond_broadcast },
	.check = pcond_check,
};
