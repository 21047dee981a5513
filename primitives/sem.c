/*
 * Counting semaphores: K permits, wait takes one (sleeping while there is
 * none), post gives one back.
 *
 * sem: synclab's futex semaphore.  One 64-bit word holds the whole state,
 *
 *   bits  0..23  count    permits free now
 *   bits 24..31  pending  wakes sent that no waiter has taken up yet
 *   bits 32..63  waiters  threads registered to sleep for a permit
 *
 * and the threads sleep on the futex of the low half (count and pending).
 * An uncontended wait is one compare-and-swap that decrements the count and
 * an uncontended post one fetch-and-add that finds no waiter: no system
 * call on either side.  A waiter that finds no permit first spins for a
 * bounded number of reads (with K holders and short sections a permit is
 * usually posted within a few microseconds, less than a sleep and a wake-up
 * cost), then registers by adding to the waiters field and sleeps in
 * FUTEX_WAIT while count and pending are both 0.  When it finds a permit it
 * takes it and leaves the waiters field in one compare-and-swap.
 *
 * Wakes are rationed by `pending`.  A post that finds more registered
 * waiters than pending wakes adds one to pending and calls FUTEX_WAKE; a
 * post that finds every registered waiter already covered makes no call.
 * A waiter back from FUTEX_WAIT (woken or not) takes up one pending wake,
 * in the same compare-and-swap as its permit or on its own, and a waiter
 * about to sleep takes up any pending wake first: it may not sleep while
 * one is outstanding.  Before that it looks for a permit for a while and
 * yields its CPU once (fsem_await_permit), as the wake is most likely for
 * a thread woken but waiting for a CPU.  Without the rationing a waiter
 * stays registered while it is woken but not yet running, and with threads
 * far beyond the CPUs that is most of the time: every post then made a
 * FUTEX_WAKE that found nobody in the kernel.
 * Measured on a 2-vCPU KVM guest, 2 permits, empty sections, against the
 * unrationed version (one binary, 3 invocations in each order, paired
 * medians of 5 repetitions): 16 threads 6.1x the rate (5.2-7.5; about 70M
 * operations a second against 11M, posix-sem 8M), with 0.3-0.5M wake calls
 * a second instead of 4.3-6.9M; 8 threads 2.3x; 1 to 4 threads 0.98-1.05
 * (the fast paths are the same).  1 us sections: 8 and 16 threads 2.0x and
 * 2.6x (wake calls 12k-150k a second against 0.5-1.1M); 20 us sections
 * 1.15x and 1.17x.  Taking the wake up at once instead of looking first
 * left half the gain at 16 threads (wake calls still 2.8-4.2M a second);
 * a longer look (100 reads, no yield) lost 10% at 4 threads with 1 us
 * sections, where a holder that retakes its permit at once leaves a
 * spinner nothing to find and a waiter's CPU is better given to a holder.
 *
 * Why no wake-up is lost: (1) a thread enters the kernel's queue only when
 * the low half reads 0 -- no permit and no pending wake -- and the kernel
 * compares and queues atomically with respect to FUTEX_WAKE; (2) pending
 * grows only by a post that found waiters > pending and then calls
 * FUTEX_WAKE, and every other change to it lowers it; (3) a thread returning
 * from FUTEX_WAIT takes up a pending wake, if any, before anything else.
 * So while a thread sleeps in the kernel, pending never exceeds the woken
 * threads that have not yet taken one up plus the posts between their
 * increment and their FUTEX_WAKE; those woken threads are registered, and
 * so is the sleeper, so waiters > pending and a post wakes -- or the posts
 * in flight, which will find the sleeper queued, outnumber the sleepers.
 * A wake that found nobody (its waiter was still on its way to sleep)
 * leaves pending raised until a waiter takes it up, and (1) keeps anyone
 * from sleeping meanwhile.  Registration, taking a permit and post are
 * read-modify-writes of one word, so they are totally ordered: a waiter
 * that registers after a post sees its permit, and one that registered
 * before is counted by it.  A waiter that leaves lowers pending to the
 * waiters left, so a semaphore nobody waits on holds no pending wake.
 * tests/model/sem_wakes.py (part of make check) explores every
 * interleaving of up to 4 threads on a model of these steps and finds no
 * lost wake-up; a futex compare of the count alone, or a woken waiter that
 * leaves its wake pending, makes it find one.
 *
 * Ordering: the compare-and-swap that takes a permit is acquire and pairs
 * with the release fetch-and-add in post (or, through the release sequence,
 * with any later RMW of the word), so everything the poster did before it
 * gave the permit back happens-before what the next holder does.  The
 * rationing changes order nothing (relaxed): they only decide who calls the
 * kernel, and the kernel's compare of the word decides who sleeps.
 *
 * The futex is the low half of the 64-bit word: 4 bytes at offset 0 on a
 * little-endian machine, 4 on a big-endian one.  Needs lock-free 64-bit
 * atomics (every 64-bit target).
 *
 * posix-sem: glibc's sem_t (sem_init, sem_wait, sem_post), the baseline.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
	       "sem needs lock-free 64-bit atomics");

#define SEM_COUNT_MAX 0xffffffull /* 24 bits */
#define SEM_PENDING_SHIFT 24
#define SEM_PENDING_ONE (1ull << SEM_PENDING_SHIFT)
#define SEM_PENDING_MAX 0xffu
#define SEM_WAITER_ONE (1ull << 32)

/* Reads to spin while no permit is free before sleeping; as in mutex, the
 * pause between reads doubles up to SEM_SPIN_PAUSE_MAX so the holders keep
 * the line while they post and re-take permits. */
#define SEM_SPIN_READS 100
#define SEM_SPIN_PAUSE_MAX 16
/* Reads, SEM_SPIN_PAUSE_MAX pauses apart, that a registered waiter makes
 * for a permit when it finds a wake pending, before it yields the CPU
 * (fsem_await_permit). */
#define SEM_AWAIT_READS 32

struct sl_sem {
	alignas(SL_CACHELINE) _Atomic uint64_t word;
	unsigned permits; /* K, for the check */
	bool rationed;    /* false: sem-unrationed, the lab's specimen */
};

static inline uint32_t fsem_count(uint64_t w)
{
	return (uint32_t)(w & SEM_COUNT_MAX);
}

static inline uint32_t fsem_pending(uint64_t w)
{
	return (uint32_t)(w >> SEM_PENDING_SHIFT) & SEM_PENDING_MAX;
}

static inline uint32_t fsem_waiters(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* w with its pending field replaced by p. */
static inline uint64_t fsem_with_pending(uint64_t w, uint32_t p)
{
	return (w & ~((uint64_t)SEM_PENDING_MAX << SEM_PENDING_SHIFT)) |
	       (uint64_t)p << SEM_PENDING_SHIFT;
}

/* The low half of the word (count and pending), the futex sleepers queue
 * on. */
static inline _Atomic uint32_t *fsem_futex(struct sl_sem *s)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (_Atomic uint32_t *)((char *)&s->word + 4);
#else
	return (_Atomic uint32_t *)(void *)&s->word;
#endif
}

static int fsem_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct sl_sem *s = obj;

	if (conf->permits == 0 || conf->permits > SEM_COUNT_MAX)
		return sl_err_set(err, -EINVAL,
				  "permits: '%u' is out of range (accepted: 1..%llu)",
				  conf->permits, SEM_COUNT_MAX);
	atomic_init(&s->word, (uint64_t)conf->permits);
	s->permits = conf->permits;
	s->rationed = true;
	return 0;
}

static int fsem_init_unrationed(void *obj, const struct sl_prim_conf *conf,
				struct sl_err *err)
{
	int rc = fsem_init(obj, conf, err);

	((struct sl_sem *)obj)->rationed = false;
	return rc;
}

/* What a thread did, as the descriptor's events name it. */
struct fsem_tctx {
	uint64_t sleeps; /* FUTEX_WAITs that slept */
	uint64_t wakes;  /* FUTEX_WAKEs its posts made */
	uint64_t left;   /* the word as this thread's last post left it */
};

/* A registered waiter found no permit and a pending wake, most likely one
 * sent to a waiter that is woken but not yet running, often for want of
 * this very CPU.  Taking the wake up and sleeping at once would let the
 * next post send another, and the two threads would trade a system call
 * per post.  So look for a permit for a while, then give the CPU away once
 * and look again; the word as it reads then. */
static uint64_t fsem_await_permit(struct sl_sem *s)
{
	uint64_t w;

	for (int i = 0; i < SEM_AWAIT_READS; i++) {
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
		if (fsem_count(w) > 0)
			return w;
		for (unsigned k = 0; k < SEM_SPIN_PAUSE_MAX; k++)
			sl_cpu_relax();
	}
	sched_yield();
	return atomic_load_explicit(&s->word, memory_order_relaxed);
}

/* A registered waiter: take a permit and unregister, or take up a pending
 * wake, or sleep, until it holds a permit.  w: the word as it reads now. */
static void fsem_wait_registered(struct sl_sem *s, struct fsem_tctx *t,
				 uint64_t w)
{
	bool back = false;   /* returned from FUTEX_WAIT, no wake taken up since */
	bool looked = false; /* awaited a permit since its last sleep */

	for (;;) {
		if (fsem_count(w) > 0) {
			uint64_t nw = w - 1 - SEM_WAITER_ONE;
			uint32_t p = fsem_pending(w);

			if (back && p > 0)
				p--;
			if (p > fsem_waiters(nw))
				p = fsem_waiters(nw);
			/* acquire: pairs with the release fetch-and-add in
			 * fsem_post */
			if (atomic_compare_exchange_weak_explicit(
				    &s->word, &w, fsem_with_pending(nw, p),
				    memory_order_acquire, memory_order_relaxed))
				return;
			continue;
		}
		if (fsem_pending(w) > 0) {
			if (!looked) {
				looked = true;
				w = fsem_await_permit(s);
				continue;
			}
			/* A wake is on its way or found nobody: take it up
			 * rather than sleep over it. */
			if (atomic_compare_exchange_weak_explicit(
				    &s->word, &w, w - SEM_PENDING_ONE,
				    memory_order_relaxed, memory_order_relaxed)) {
				w -= SEM_PENDING_ONE;
				back = false;
			}
			continue;
		}
		if (sl_futex_wait(fsem_futex(s), 0))
			t->sleeps++;
		back = true;
		looked = false;
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
	}
}

static void fsem_wait_slow(struct sl_sem *s, struct fsem_tctx *t)
{
	uint64_t w;
	unsigned pause = 1;

	for (int i = 0; i < SEM_SPIN_READS; i++) {
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
		while (fsem_count(w) > 0)
			/* acquire: pairs with the release in fsem_post */
			if (atomic_compare_exchange_weak_explicit(
				    &s->word, &w, w - 1, memory_order_acquire,
				    memory_order_relaxed))
				return;
		if (fsem_waiters(w))
			break; /* others already wait: queue behind them */
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < SEM_SPIN_PAUSE_MAX)
			pause <<= 1;
	}
	/* Register; relaxed: the permit is taken (acquire) later, and the
	 * lost-wake-up argument rests on this being an RMW of the word. */
	w = atomic_fetch_add_explicit(&s->word, SEM_WAITER_ONE,
				      memory_order_relaxed) + SEM_WAITER_ONE;
	fsem_wait_registered(s, t, w);
}

/* The first CAS expects the word as this thread's last post left it,
 * without loading it first: a load brings a contended line in shared and
 * the CAS must then take it again, where a CAS that fails has taken it
 * already and returns the word, so the second CAS usually succeeds.  On
 * the 2-vCPU Intel guest, against loading first (one binary, two
 * invocations, ratios of medians): 2 permits, 1.06-1.08 of the rate alone,
 * 1.02-1.04 at 2 threads, 1.08-1.31 at 4 and 8; 1 permit, 2 to 8 threads,
 * 1.09-1.53.  A CAS that expects a stale word fails without effect, as
 * after a stale load. */
static void fsem_wait(void *obj, void *tctx)
{
	struct sl_sem *s = obj;
	struct fsem_tctx *t = tctx;
	uint64_t w = t->left;

	if (fsem_count(w) == 0)
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
	for (int k = 0; k < 2 && fsem_count(w) > 0; k++)
		/* acquire: pairs with the release fetch-and-add in
		 * fsem_post */
		if (atomic_compare_exchange_strong_explicit(
			    &s->word, &w, w - 1, memory_order_acquire,
			    memory_order_relaxed))
			return;
	fsem_wait_slow(s, t);
}

/* The permit is given back and waiters outnumbered pending wakes when the
 * word was last seen: send one more, unless they are all covered by now.
 * At the field's limit the wake goes out without being counted, which only
 * wakes more often. */
static __attribute__((noinline)) void fsem_wake(struct sl_sem *s,
						struct fsem_tctx *t)
{
	uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);

	/* Unrationed, pending stays 0: every post that finds a registered
	 * waiter wakes, and no waiter ever finds a wake pending. */
	while (s->rationed) {
		uint32_t p = fsem_pending(w);

		if (fsem_waiters(w) <= p)
			return;
		if (p == SEM_PENDING_MAX)
			break;
		if (atomic_compare_exchange_weak_explicit(&s->word, &w,
							  w + SEM_PENDING_ONE,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
	t->wakes++;
	sl_futex_wake(fsem_futex(s), 1);
}

static void fsem_post(void *obj, void *tctx)
{
	struct sl_sem *s = obj;
	uint64_t w;

	/* release: publishes the holder's work to the next taker's acquire */
	w = atomic_fetch_add_explicit(&s->word, 1, memory_order_release);
	((struct fsem_tctx *)tctx)->left = w + 1;
	if (__builtin_expect(fsem_waiters(w) > fsem_pending(w), 0))
		fsem_wake(s, tctx);
}

static void fsem_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct fsem_tctx *t = tctx;

	out[0] = t->sleeps;
	out[1] = t->wakes;
}

static int fsem_check(void *obj, struct sl_err *err)
{
	struct sl_sem *s = obj;
	uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);

	if (fsem_count(w) != s->permits || fsem_waiters(w) != 0 ||
	    fsem_pending(w) != 0)
		return sl_err_set(err, -EPROTO,
				  "semaphore count is %u with %u registered waiters and %u pending wakes after every thread stopped (expected %u, 0 and 0)",
				  fsem_count(w), fsem_waiters(w), fsem_pending(w),
				  s->permits);
	return 0;
}

const struct sl_prim sl_prim_sem = {
	.name = "sem",
	.family = "sem",
	.kind = SL_KIND_SEM,
	.summary = "futex counting semaphore, count, waiters and pending wakes in one word; brief spin, then sleeps",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_sem),
	.tctx_size = sizeof(struct fsem_tctx),
	.init = fsem_init,
	.sem = { .wait = fsem_wait, .post = fsem_post },
	.check = fsem_check,
	.event_names = { "sleeps", "wakes" },
	.events = fsem_events,
};

/* The lab's specimen (synclab demo wake-storm): sem as it would be without
 * the rationing, waking on every post while a waiter is registered. */
const struct sl_prim sl_prim_sem_unrationed = {
	.name = "sem-unrationed",
	.family = "sem",
	.kind = SL_KIND_SEM,
	.summary = "lab specimen: sem without its wake rationing (a post wakes whenever a waiter is registered)",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_HIDDEN,
	.obj_size = sizeof(struct sl_sem),
	.tctx_size = sizeof(struct fsem_tctx),
	.init = fsem_init_unrationed,
	.sem = { .wait = fsem_wait, .post = fsem_post },
	.check = fsem_check,
	.event_names = { "sleeps", "wakes" },
	.events = fsem_events,
};

/* --- posix-sem ---------------------------------------------------------- */

struct posix_sem {
	sem_t sem;
	unsigned permits;
};

static int psem_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct posix_sem *s = obj;

	if (conf->permits == 0 || conf->permits > SEM_VALUE_MAX)
		return sl_err_set(err, -EINVAL,
				  "permits: '%u' is out of range (accepted: 1..%d)",
				  conf->permits, SEM_VALUE_MAX);
	if (sem_init(&s->sem, 0, conf->permits) < 0)
		return sl_err_set(err, -errno, "sem_init: %s", strerror(errno));
	s->permits = conf->permits;
	return 0;
}

static void psem_destroy(void *obj)
{
	struct posix_sem *s = obj;

	sem_destroy(&s->sem);
}

static void psem_wait(void *obj, void *tctx)
{
	struct posix_sem *s = obj;

	(void)tctx;
	while (sem_wait(&s->sem) < 0 && errno == EINTR)
		;
}

static void psem_post(void *obj, void *tctx)
{
	struct posix_sem *s = obj;

	(void)tctx;
	sem_post(&s->sem);
}

static int psem_check(void *obj, struct sl_err *err)
{
	struct posix_sem *s = obj;
	int v = -1;

	if (sem_getvalue(&s->sem, &v) < 0 || v < 0 || (unsigned)v != s->permits)
		return sl_err_set(err, -EPROTO,
				  "semaphore value is %d after every thread stopped (expected %u)",
				  v, s->permits);
	return 0;
}

const struct sl_prim sl_prim_posix_sem = {
	.name = "posix-sem",
	.family = "baseline",
	.kind = SL_KIND_SEM,
	.summary = "glibc's sem_t (sem_wait / sem_post), the baseline for sem",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(struct posix_sem),
	.init = psem_init,
	.destroy = psem_destroy,
	.sem = { .wait = psem_wait, .post = psem_post },
	.check = psem_check,
};
