/*
 * Counting semaphores: K permits, wait takes one (sleeping while there is
 * none), post gives one back.
 *
 * sem: synclab's futex semaphore.  One 64-bit word holds both halves of the
 * state,
 *
 *   bits  0..31  count    permits free now
 *   bits 32..63  waiters  threads registered to sleep for one
 *
 * and the threads sleep on the futex of the count half.  An uncontended wait
 * is one compare-and-swap that decrements the count and an uncontended post
 * one fetch-and-add that finds no waiter: no system call on either side.  A
 * waiter that finds no permit first spins for a bounded number of reads
 * (with K holders and short sections a permit is usually posted within a few
 * microseconds, less than a sleep and a wake-up cost), then registers by
 * adding to the waiters half and sleeps in FUTEX_WAIT while the count reads
 * 0.  When it finds a permit it takes it and leaves the waiters half in one
 * compare-and-swap.  post adds one to the count and, when the word it
 * replaced shows a registered waiter, wakes one sleeper.
 *
 * Why no wake-up is lost, without any seq_cst fence: registration and post
 * are read-modify-writes of the same word, so they are totally ordered.  If
 * the post comes first, the registering waiter's RMW returns the incremented
 * count and it takes the permit without sleeping.  If the registration comes
 * first, the post's RMW sees waiters > 0 and calls FUTEX_WAKE; the waiter
 * either is already queued in the kernel (and is woken) or has not called
 * FUTEX_WAIT yet, and then the kernel's compare of the count half against 0
 * fails and it returns at once.  (Had the two counts lived in two words, this
 * would be the store-then-load pattern that needs seq_cst on both sides.)
 *
 * Ordering: the compare-and-swap that takes a permit is acquire and pairs
 * with the release fetch-and-add in post (or, through the release sequence,
 * with any later RMW of the word), so everything the poster did before it
 * gave the permit back happens-before what the next holder does.
 *
 * The futex is the count half of the 64-bit word: 4 bytes at offset 0 on a
 * little-endian machine, 4 on a big-endian one.  Needs lock-free 64-bit
 * atomics (every 64-bit target).
 *
 * posix-sem: glibc's sem_t (sem_init, sem_wait, sem_post), the baseline.
 */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
	       "sem needs lock-free 64-bit atomics");

#define SEM_COUNT_MASK 0xffffffffull
#define SEM_WAITER_ONE (1ull << 32)

/* Reads to spin while no permit is free before sleeping; as in mutex, the
 * pause between reads doubles up to SEM_SPIN_PAUSE_MAX so the holders keep
 * the line while they post and re-take permits. */
#define SEM_SPIN_READS 100
#define SEM_SPIN_PAUSE_MAX 16

struct sl_sem {
	alignas(SL_CACHELINE) _Atomic uint64_t word;
	unsigned permits; /* K, for the check */
};

static inline uint32_t fsem_count(uint64_t w)
{
	return (uint32_t)(w & SEM_COUNT_MASK);
}

static inline uint32_t fsem_waiters(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* The count half of the word, as the futex the sleepers queue on. */
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

	if (conf->permits == 0 || conf->permits > INT32_MAX)
		return sl_err_set(err, -EINVAL,
				  "permits: '%u' is out of range (accepted: 1..%d)",
				  conf->permits, INT32_MAX);
	atomic_init(&s->word, (uint64_t)conf->permits);
	s->permits = conf->permits;
	return 0;
}

/* Take a permit if the word w (just read) shows one; on failure w is
 * refreshed.  acquire: pairs with the release fetch-and-add in fsem_post. */
static inline bool fsem_try_take(struct sl_sem *s, uint64_t *w, uint64_t minus)
{
	while (fsem_count(*w) > 0)
		if (atomic_compare_exchange_weak_explicit(&s->word, w, *w - minus,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	return false;
}

/* What a thread did, as the descriptor's events name it. */
struct fsem_tctx {
	uint64_t sleeps; /* FUTEX_WAITs that slept */
	uint64_t wakes;  /* FUTEX_WAKEs its posts made */
};

static void fsem_wait_slow(struct sl_sem *s, struct fsem_tctx *t)
{
	uint64_t w;
	unsigned pause = 1;

	for (int i = 0; i < SEM_SPIN_READS; i++) {
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
		if (fsem_try_take(s, &w, 1))
			return;
		if (fsem_waiters(w))
			break; /* others already sleep: queue behind them */
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < SEM_SPIN_PAUSE_MAX)
			pause <<= 1;
	}
	/* Register; relaxed: the permit is taken (acquire) below, and the
	 * lost-wake-up argument rests on this being an RMW of the word. */
	w = atomic_fetch_add_explicit(&s->word, SEM_WAITER_ONE,
				      memory_order_relaxed) + SEM_WAITER_ONE;
	for (;;) {
		/* Take a permit and unregister in one step. */
		if (fsem_try_take(s, &w, 1 + SEM_WAITER_ONE))
			return;
		if (sl_futex_wait(fsem_futex(s), 0))
			t->sleeps++;
		w = atomic_load_explicit(&s->word, memory_order_relaxed);
	}
}

static void fsem_wait(void *obj, void *tctx)
{
	struct sl_sem *s = obj;
	uint64_t w = atomic_load_explicit(&s->word, memory_order_relaxed);

	if (fsem_count(w) > 0 && fsem_try_take(s, &w, 1))
		return;
	fsem_wait_slow(s, tctx);
}

static void fsem_post(void *obj, void *tctx)
{
	struct sl_sem *s = obj;
	uint64_t w;

	/* release: publishes the holder's work to the next taker's acquire */
	w = atomic_fetch_add_explicit(&s->word, 1, memory_order_release);
	if (fsem_waiters(w)) {
		((struct fsem_tctx *)tctx)->wakes++;
		sl_futex_wake(fsem_futex(s), 1);
	}
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

	if (fsem_count(w) != s->permits || fsem_waiters(w) != 0)
		return sl_err_set(err, -EPROTO,
				  "semaphore count is %u with %u registered waiters after every thread stopped (expected %u and 0)",
				  fsem_count(w), fsem_waiters(w), s->permits);
	return 0;
}

const struct sl_prim sl_prim_sem = {
	.name = "sem",
	.family = "sem",
	.kind = SL_KIND_SEM,
	.summary = "futex counting semaphore, count and waiters in one word; brief spin, then sleeps",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_sem),
	.tctx_size = sizeof(struct fsem_tctx),
	.init = fsem_init,
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
