/*
 * Monitors: one mutex and SL_COND_QUEUES condition queues over it.
 *
 * condvar: synclab's own.  The mutex has the three states of mutex.c's
 * (0 free, 1 locked, 2 locked with possible sleepers; a bounded spin, then
 * FUTEX_WAIT), written here so the monitor is one object.  Each condition
 * queue is one 64-bit word,
 *
 *   bits  0..31  seq      a wake-up sequence, and the futex waiters sleep on
 *   bits 32..47  pending  wakes sent that no waiter has taken up yet
 *   bits 48..63  waiters  threads registered to wait on the queue
 *
 *   wait(q)       (mutex held) waiters++ and read seq in one fetch-and-add,
 *                 unlock, watch seq for up to 100 reads (the pause between
 *                 them doubling up to 16; fewer after watches that failed,
 *                 see cv_watch); unless it moved, count itself in
 *                 the queue's sleepers and sleep in FUTEX_WAIT while seq
 *                 holds what was read; then waiters-- and take up a pending
 *                 wake if there is one (one compare-and-swap), and lock
 *   signal(q)     if waiters > pending: seq++, pending++, and FUTEX_WAKE 1
 *                 if a sleeper is counted
 *   broadcast(q)  if waiters > pending: seq++, pending = waiters, and
 *                 FUTEX_WAKE all if a sleeper is counted
 *
 * Watching seq first: in a bounded buffer whose two sides both run, the
 * signal a waiter needs usually comes within microseconds, far sooner than
 * a sleep and a wake-up, which under virtualisation cost tens of them.
 * When it does not (long sections under the mutex, many threads per PU),
 * the watch only burns a CPU a holder may need, so each thread halves its
 * watch after one that failed and doubles it after one that paid.  A
 * waiter that does not sleep needs no FUTEX_WAKE, which is why the
 * signaller looks at the sleepers count.  The count is a separate word:
 * the waiter increments it (seq_cst, then a fence, before the kernel reads
 * seq) and the signaller reads it (seq_cst) after moving seq, so either the
 * signaller sees the sleeper or the sleeper's FUTEX_WAIT sees seq moved.
 *
 * Measured on a 2-vCPU KVM guest against the version before these changes
 * (one binary, 2 invocations in each order, paired medians of 5
 * repetitions; half the threads produce unless said), at 2, 4, 8 and 16
 * threads:
 *   capacity 16, empty sections   14x, 32x, 25x, 20x (30-37M items a second
 *                                 against 1-3M; pthread-cond 0.5-0.8M)
 *   capacity 1                    100x, 60x, 93x, 86x
 *   capacity 256                  1.5x, 8.5x, 16x, 17x
 *   one producer                  19x, 22x, 17x, 25x
 *   2 us of think time            0.98, 1.04, 1.12, 1.21
 *   1 us sections                 0.95 (0.86-1.14), 1.52, 1.48, 1.52
 *   5 us sections                 0.96, 1.07, 1.02, 1.02; with a fixed watch
 *                                 of 100 reads 0.92, 0.80, -, 0.70
 * The rationing alone, without the watch, ran at 0.22-0.40 of the old rate
 * at 2 threads: the old version's useless FUTEX_WAKEs slowed the producer
 * while the consumer woke, which kept both sides running; without them the
 * producer filled the buffer and slept too.  With 1 us sections at 2
 * threads, waiters that no longer sleep on the queue meet the signaller at
 * the mutex instead (30k mutex sleeps a second against 100); spinning on a
 * contended mutex too, as `mutex` does, did not change it beyond the noise.
 *
 * Why no wake-up is lost: the waiter registers and reads seq in one RMW with
 * the mutex held, and the condition it waits for can only change under the
 * mutex, after the waiter's unlock; a signal that follows that change (under
 * the mutex or after it) reads the word after the registration.  If it finds
 * the waiter uncovered it increments seq after the waiter's read; then
 * either the waiter is already queued in the kernel when FUTEX_WAKE runs, or
 * its FUTEX_WAIT finds seq changed and returns at once: the kernel compares
 * and queues atomically with respect to the wake.  If it finds every waiter
 * covered, pending never exceeds the waiters that will run again without
 * another wake: those woken and not yet back (a wake that found no sleeper
 * raised seq after every registered waiter's read, so those return by
 * themselves), and each takes one pending wake up when it leaves; a waiter
 * queued in the kernel is never among them.  So while a thread sleeps in
 * the kernel, waiters > pending, and the next signal wakes.  (The argument,
 * with the sleepers count, is also checked exhaustively by
 * tests/model/cond_wakes.py, part of make check: every interleaving of up
 * to 3 producers and 3 consumers, signals under and outside the mutex,
 * spurious returns, broadcasts; a signaller that reads the count before it
 * moves seq makes that model lose a wake-up, as it should.)  Registration and seq must be read in one RMW:
 * a signal outside the mutex between a separate registration and read would
 * cover the waiter with a wake it never gets.
 * A woken waiter can find the condition false again (another thread took
 * the item first) and two waiters that read the same seq can both leave on
 * one signal: callers re-check in a loop, as with pthreads.
 * (seq wraps after 2^32 signals; a waiter that slept through exactly that
 * many would miss its wake-up: not a practical concern.  The waiter and
 * pending counts hold up to 65535, beyond synclab's 4096 threads.)
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
 * CAS/exchange pairs with the release exchange in unlock.  The queue words
 * are relaxed: seq is a wake-up token (what a woken thread then reads, it
 * reads under the mutex), a waiter registers under the mutex (what a
 * signaller must see of it, it sees through the mutex), and the counts only
 * decide who calls the kernel.
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
 * by measurements on 16 CPUs that this monitor has not had.  `mutex`'s spin
 * put here (6144 pauses, doubling to 1024, polling on through CONTENDED)
 * ran at 0.22-0.24 of this one's rate with 2 threads, 0.79-0.99 with 4 and
 * 8, and 0.03-0.55 with 4 and 8 threads, 200 ns sections and 4 slots
 * (2-vCPU Intel guest, one binary, both orders). */
#define CV_SPIN_READS 100
/* The shortest watch of seq a waiter keeps (see cv_watch): about 15
 * pauses, enough to catch a signal already on its way. */
#define CV_WATCH_MIN_READS 4

/* A condition queue's word (see the header). */
#define CV_SEQ_MASK 0xffffffffull
#define CV_PENDING_SHIFT 32
#define CV_WAITER_SHIFT 48
#define CV_WAITER_ONE (1ull << CV_WAITER_SHIFT)
#define CV_COUNT_MAX 0xffffu

struct cv_queue {
	alignas(SL_CACHELINE) _Atomic uint64_t word;
	_Atomic uint32_t sleepers; /* waiters committed to FUTEX_WAIT */
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
	/* Reads its next watch of a queue may take (0: CV_SPIN_READS). */
	unsigned watch_reads;
};

static int cv_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_condvar *c = obj;

	(void)conf;
	(void)err;
	atomic_init(&c->mutex, CV_FREE);
	for (unsigned q = 0; q < SL_COND_QUEUES; q++) {
		atomic_init(&c->q[q].word, 0);
		atomic_init(&c->q[q].sleepers, 0);
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

static inline uint32_t cv_pending(uint64_t w)
{
	return (uint32_t)(w >> CV_PENDING_SHIFT) & CV_COUNT_MAX;
}

static inline uint32_t cv_waiters(uint64_t w)
{
	return (uint32_t)(w >> CV_WAITER_SHIFT);
}

/* The futex: the seq half of the word (the low half on a little-endian
 * machine). */
static inline _Atomic uint32_t *cv_seq(struct cv_queue *cq)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (_Atomic uint32_t *)((char *)&cq->word + 4);
#else
	return (_Atomic uint32_t *)(void *)&cq->word;
#endif
}

/* Watch seq for a while before sleeping: a signal often follows within
 * microseconds (the other side of a buffer is running), far sooner than a
 * sleep and a wake-up.  true: it moved. */
static bool cv_seq_moves(struct cv_queue *cq, uint32_t seq, unsigned reads)
{
	unsigned pause = 1;

	for (unsigned i = 0; i < reads; i++) {
		if ((uint32_t)atomic_load_explicit(&cq->word,
						   memory_order_relaxed) != seq)
			return true;
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < 16)
			pause <<= 1;
	}
	return false;
}

/* Watch for the thread's current budget and adapt it: double it after a
 * watch that saw seq move, halve it after one that did not, within
 * [CV_WATCH_MIN_READS, CV_SPIN_READS].  A watch that keeps failing (the
 * signal comes long after, as when the signaller must first win a mutex
 * held through long sections) only burns a CPU that, with threads beyond
 * the PUs, a lock holder may need.  Without a context (the workqueue's
 * calls) it always watches the most. */
static bool cv_watch(struct cv_queue *cq, struct cv_tctx *t, uint32_t seq)
{
	unsigned reads = t && t->watch_reads ? t->watch_reads : CV_SPIN_READS;
	bool moved = cv_seq_moves(cq, seq, reads);

	if (t)
		t->watch_reads = moved ? (reads * 2 < CV_SPIN_READS ? reads * 2 : CV_SPIN_READS)
				       : (reads / 2 > CV_WATCH_MIN_READS ? reads / 2 : CV_WATCH_MIN_READS);
	return moved;
}

static void cv_wait(void *obj, void *tctx, unsigned q)
{
	struct sl_condvar *c = obj;
	struct cv_queue *cq = &c->q[q];
	struct cv_tctx *t = tctx;
	uint64_t w;

	/* Register and read seq in one RMW, under the mutex, which orders it
	 * before any change of the condition and the signal after it. */
	w = atomic_fetch_add_explicit(&cq->word, CV_WAITER_ONE,
				      memory_order_relaxed);
	cv_unlock_(c, t);
	if (!cv_watch(cq, t, (uint32_t)w)) {
		/* seq_cst, and the fence: the count must be visible before
		 * the kernel reads seq, as a signaller reads the count only
		 * after it has moved seq (see cv_wake) */
		atomic_fetch_add_explicit(&cq->sleepers, 1, memory_order_seq_cst);
		atomic_thread_fence(memory_order_seq_cst);
		if (sl_futex_wait(cv_seq(cq), (uint32_t)w) && t)
			t->sleeps++;
		atomic_fetch_sub_explicit(&cq->sleepers, 1, memory_order_relaxed);
	}
	/* Running again: leave, and take up a pending wake -- this thread's,
	 * or one that no longer has a sleeper to reach.  Before queueing for
	 * the mutex, so that signals meanwhile do not wake it again. */
	w = atomic_load_explicit(&cq->word, memory_order_relaxed);
	for (;;) {
		uint64_t nw = w - CV_WAITER_ONE;
		uint32_t p = cv_pending(w);

		if (p > 0)
			p--;
		if (p > cv_waiters(nw))
			p = cv_waiters(nw);
		nw = (nw & ~((uint64_t)CV_COUNT_MAX << CV_PENDING_SHIFT)) |
		     (uint64_t)p << CV_PENDING_SHIFT;
		if (atomic_compare_exchange_weak_explicit(&cq->word, &w, nw,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	cv_lock_(c, t);
}

/* Wake one waiter (all: n == INT_MAX) unless every registered waiter is
 * covered by a pending wake already. */
static void cv_wake(struct sl_condvar *c, struct cv_tctx *t, unsigned q, int n)
{
	struct cv_queue *cq = &c->q[q];
	uint64_t w = atomic_load_explicit(&cq->word, memory_order_relaxed);
	uint64_t nw;

	do {
		uint32_t p = cv_pending(w), ws = cv_waiters(w);

		if (ws <= p)
			return;
		p = n == 1 ? p + 1 : ws;
		nw = (w & ~CV_SEQ_MASK & ~((uint64_t)CV_COUNT_MAX << CV_PENDING_SHIFT)) |
		     (uint64_t)p << CV_PENDING_SHIFT |
		     (uint32_t)(w + 1); /* seq + 1, wrapping in its half */
		/* seq_cst: ordered before the load of the sleepers below;
		 * for the data, a token (the woken thread reads the data
		 * under the mutex) */
	} while (!atomic_compare_exchange_weak_explicit(&cq->word, &w, nw,
							memory_order_seq_cst,
							memory_order_relaxed));
	/* A waiter that commits to sleep after this load finds seq moved
	 * in the kernel's compare, so with no sleeper nobody needs the
	 * call. */
	if (atomic_load_explicit(&cq->sleepers, memory_order_seq_cst) == 0)
		return;
	if (t)
		t->wakes++;
	sl_futex_wake(cv_seq(cq), n);
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
		uint64_t w = atomic_load_explicit(&c->q[q].word,
						  memory_order_relaxed);

		if (cv_waiters(w) || cv_pending(w))
			return sl_err_set(err, -EPROTO,
					  "condvar queue %u counts %u waiters and %u pending wakes after every thread stopped (expected 0 and 0)",
					  q, cv_waiters(w), cv_pending(w));
	}
	return 0;
}

const struct sl_prim sl_prim_condvar = {
	.name = "condvar",
	.family = "condvar",
	.kind = SL_KIND_CONDVAR,
	.summary = "futex monitor: three-state mutex; waiters watch a sequence word before sleeping, signals call the kernel only for a sleeper",
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
