/*
 * mutex: synclab's futex mutex with three states,
 *
 *   0  free
 *   1  locked, nobody sleeping
 *   2  locked, and some thread may be sleeping in the kernel
 *
 * An uncontended lock is one compare-and-swap 0->1 and an uncontended unlock
 * one exchange that finds 1: no system call on either side.  A contender that
 * cannot take the lock first spins while it is held (the owner is likely
 * running and about to release: a short critical section costs less to wait
 * out than a sleep and a wake-up), reading the word with a pause before
 * every read that doubles from 4 up to 1024, as spin-ttas does: a spinner
 * that polls less often leaves the line with the owner, who can often
 * release and take the lock again without it crossing cores, and with many
 * spinners the pollers would otherwise keep the line moving.  (Reading at
 * once and then after 1, 2, 4, ... pauses, as it did before, ran at
 * 0.74-0.82 of this cadence's rate with empty sections at 2 to 64 threads
 * on a 2-vCPU Intel guest, one binary, both orders, and within a few
 * percent of it with 50 and 200 ns sections, think time or 20 us
 * sections.)  When a read finds the lock free it tries a CAS, and a lost
 * race sends it back to polling, not to sleep.  After about 7000 pauses in
 * all (14 reads) it marks the lock 2 with an exchange and sleeps on the
 * futex until the word changes.  That budget
 * is far beyond what a sleep and a wake-up cost, and pays all the same: a
 * spinner that sleeps makes each later unlock a FUTEX_WAKE.  On 16 CPUs, 16
 * threads, empty sections, against pthread-mutex: the earlier version
 * (pauses up to 16, about 1500 in all, sleeping after a lost race) ran at
 * 0.59; retrying with the same pauses 0.40, since its faster polls moved
 * the line more; retrying with pauses up to 1024 0.83 (one invocation), and
 * in another 0.91 against 1.52 with this budget, four times that.  Having
 * set 2, a thread can no longer tell whether others sleep, so when it later
 * gets the lock it keeps the state 2; the price is at most one unnecessary
 * FUTEX_WAKE per contention episode.  A woken thread spins again the same
 * way, taking a free lock as 2, before it marks the lock 2: the thread that
 * woke it has often taken the lock back already, and marking it at once
 * would make that owner's next unlock pay another wake-up, one system call
 * per op for as long as the contention lasts (2 threads: 6.5M ops/s on a
 * list queue under this mutex, 65k in a run where that pattern set in).
 *
 * Ordering: the acquiring CAS/exchange is acquire and pairs with the release
 * exchange in mutex_unlock, so the critical section of one owner
 * happens-before that of the next.  The futex syscalls order nothing by
 * themselves; correctness comes from the kernel's atomic compare in
 * FUTEX_WAIT against the value the unlocker already changed.
 *
 * mutex-fair: a FIFO mutex with direct hand-off, an MCS queue whose waiters
 * sleep.  Each thread's context holds a queue node (a `next` link and a
 * futex word `state`).  lock swaps its node into `tail`; a NULL predecessor
 * means the lock was free and is now ours, otherwise the thread links itself
 * behind the predecessor and waits on its own node: a bounded spin (a
 * predecessor's short section may end within it), then it marks the node
 * SLEEP and sleeps on the node's word.  unlock never frees a lock that has a
 * waiter: it writes GO into the successor's node, which makes the successor
 * the owner, and wakes it only if it marked itself asleep.  Nobody can barge
 * (an arriving thread always queues behind the tail), so threads are served
 * exactly in arrival order and the releasing thread cannot take the lock
 * straight back.  That is the price: under contention every critical
 * section is followed by the next owner's reaction time -- a cache-line
 * transfer when it is spinning, a futex wake-up (microseconds, tens under
 * virtualisation) when it sleeps, a whole scheduling delay when it is
 * runnable but preempted -- during which nobody holds the lock, where `mutex`
 * lets the thread already running carry on.
 *
 * Ordering (mutex-fair): the swap into `tail` is acq_rel: acquire pairs with
 * the release CAS that emptied the queue in fair_unlock (the lock was free);
 * release publishes the node's reset `next` before a successor that finds
 * the node in `tail` links itself into it.  The link store is release and
 * pairs with the acquire load of `next` in fair_unlock, so the successor's
 * reset `state` is visible before the hand-off overwrites it.  The hand-off
 * exchange of GO is release and pairs with the waiter's acquire load (or
 * failed acquire CAS) of its own `state`: one owner's section happens-before
 * the next one's.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"

enum { MUTEX_FREE = 0, MUTEX_LOCKED = 1, MUTEX_CONTENDED = 2 };

/* Pauses a contender spends polling before it sleeps, in all, and the
 * fewest and most between two polls (see the header). */
#define MUTEX_SPIN_PAUSES 6144
#define MUTEX_PAUSE_MIN 4
#define MUTEX_PAUSE_MAX 1024

struct sl_mutex {
	_Atomic uint32_t state;
};

/* What a thread did, as the descriptor's events name it. */
struct mutex_tctx {
	uint64_t sleeps; /* FUTEX_WAITs that slept */
	uint64_t wakes;  /* FUTEX_WAKEs its unlocks made */
};

static int mutex_init(void *obj, const struct sl_prim_conf *conf,
		      struct sl_err *err)
{
	struct sl_mutex *m = obj;

	(void)conf;
	(void)err;
	atomic_init(&m->state, MUTEX_FREE);
	return 0;
}

/* Spin for the lock, taking a free one as `as`, until MUTEX_SPIN_PAUSES
 * are spent; false: still held.  A lost CAS goes on spinning.  Every read
 * comes after a pause, the first after MUTEX_PAUSE_MIN. */
static bool mutex_spin_take(struct sl_mutex *m, uint32_t as)
{
	unsigned pause = MUTEX_PAUSE_MIN, spent = 0;

	for (;;) {
		uint32_t s;

		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		spent += pause;
		if (pause < MUTEX_PAUSE_MAX)
			pause <<= 1;
		s = atomic_load_explicit(&m->state, memory_order_relaxed);
		/* acquire: pairs with the release in mutex_unlock */
		if (s == MUTEX_FREE &&
		    atomic_compare_exchange_strong_explicit(&m->state, &s, as,
							    memory_order_acquire,
							    memory_order_relaxed))
			return true;
		if (spent >= MUTEX_SPIN_PAUSES)
			return false;
	}
}

static void mutex_lock_slow(struct sl_mutex *m, struct mutex_tctx *t)
{
	/*
	 * A thread that never slept may take a free lock as LOCKED even if
	 * sleepers exist: whoever wakes them sets CONTENDED again before it
	 * sleeps or owns the lock, so the last unlock still sees it.  The spin
	 * also runs while the state is CONTENDED: the owner may be running,
	 * and sleeping at once would make every unlock pay a FUTEX_WAKE.
	 */
	if (mutex_spin_take(m, MUTEX_LOCKED))
		return;
	/* From here the thread has slept or may sleep: it takes the lock only
	 * as CONTENDED, so its own unlock wakes whoever sleeps behind it.
	 * acquire: pairs with the release in mutex_unlock */
	while (atomic_exchange_explicit(&m->state, MUTEX_CONTENDED,
					memory_order_acquire) != MUTEX_FREE) {
		if (sl_futex_wait(&m->state, MUTEX_CONTENDED))
			t->sleeps++;
		/* Woken: the waker may already hold the lock again; wait for
		 * it to leave before marking it contended once more. */
		if (mutex_spin_take(m, MUTEX_CONTENDED))
			return;
	}
}

static void mutex_lock(void *obj, void *tctx)
{
	struct sl_mutex *m = obj;
	uint32_t expected = MUTEX_FREE;

	/* acquire: pairs with the release in mutex_unlock */
	if (atomic_compare_exchange_strong_explicit(&m->state, &expected,
						    MUTEX_LOCKED,
						    memory_order_acquire,
						    memory_order_relaxed))
		return;
	mutex_lock_slow(m, tctx);
}

static bool mutex_trylock(void *obj, void *tctx)
{
	struct sl_mutex *m = obj;
	uint32_t expected = MUTEX_FREE;

	(void)tctx;
	return atomic_compare_exchange_strong_explicit(&m->state, &expected,
						       MUTEX_LOCKED,
						       memory_order_acquire,
						       memory_order_relaxed);
}

static void mutex_unlock(void *obj, void *tctx)
{
	struct sl_mutex *m = obj;

	/* release: publishes the critical section to the next acquirer */
	if (atomic_exchange_explicit(&m->state, MUTEX_FREE,
				     memory_order_release) == MUTEX_CONTENDED) {
		((struct mutex_tctx *)tctx)->wakes++;
		sl_futex_wake(&m->state, 1);
	}
}

static void mutex_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct mutex_tctx *t = tctx;

	out[0] = t->sleeps;
	out[1] = t->wakes;
}

static int mutex_check(void *obj, struct sl_err *err)
{
	struct sl_mutex *m = obj;
	uint32_t s = atomic_load_explicit(&m->state, memory_order_relaxed);

	if (s != MUTEX_FREE)
		return sl_err_set(err, -EPROTO,
				  "mutex state is %u after every thread stopped (expected 0, free)",
				  s);
	return 0;
}

const struct sl_prim sl_prim_mutex = {
	.name = "mutex",
	.family = "mutex",
	.kind = SL_KIND_LOCK,
	.summary = "futex mutex, three states; spins with backoff, then sleeps; no syscall when uncontended",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_mutex),
	.tctx_size = sizeof(struct mutex_tctx),
	.init = mutex_init,
	.lock = { .lock = mutex_lock, .unlock = mutex_unlock,
		  .trylock = mutex_trylock },
	.check = mutex_check,
	.event_names = { "sleeps", "wakes" },
	.events = mutex_events,
};

/* --- mutex-fair ----------------------------------------------------------- */

enum { FAIR_WAIT = 0, FAIR_SLEEP = 1, FAIR_GO = 2 };

/* Reads of its own node a waiter makes before it sleeps, the pause between
 * them doubling up to 16: about 1500 pauses, a sleep and a wake-up's worth
 * on the 2-vCPU guest.  Nobody else polls that line, so polling it often
 * costs the owner nothing. */
#define FAIR_SPIN_READS 100
/* Polls for a successor's link before unlock starts yielding its CPU. */
#define FAIR_LINK_SPINS 64

/* One per (thread, lock), in the thread's context. */
struct fair_node {
	_Atomic(struct fair_node *) next;
	_Atomic uint32_t state; /* FAIR_*: the futex word this waiter sleeps on */
	/* The owning thread's events: FUTEX_WAITs that slept, and
	 * FUTEX_WAKEs its unlocks made. */
	uint64_t sleeps, wakes;
};

struct sl_mutex_fair {
	_Atomic(struct fair_node *) tail; /* last waiter or the owner; NULL: free */
};

static int fair_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct sl_mutex_fair *m = obj;

	(void)conf;
	(void)err;
	atomic_init(&m->tail, NULL);
	return 0;
}

/* Wait until the predecessor hands the lock over. */
static void fair_wait(struct fair_node *me)
{
	uint32_t expected = FAIR_WAIT;
	unsigned pause = 1;

	for (int i = 0; i < FAIR_SPIN_READS; i++) {
		/* acquire: pairs with the release exchange in fair_unlock */
		if (atomic_load_explicit(&me->state, memory_order_acquire) == FAIR_GO)
			return;
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < 16)
			pause <<= 1;
	}
	/* acquire (on failure: the word is GO): pairs with the release
	 * exchange in fair_unlock */
	if (!atomic_compare_exchange_strong_explicit(&me->state, &expected,
						     FAIR_SLEEP,
						     memory_order_acquire,
						     memory_order_acquire))
		return;
	/* acquire: pairs with the release exchange in fair_unlock */
	while (atomic_load_explicit(&me->state, memory_order_acquire) != FAIR_GO)
		if (sl_futex_wait(&me->state, FAIR_SLEEP))
			me->sleeps++;
}

static void fair_lock(void *obj, void *tctx)
{
	struct sl_mutex_fair *m = obj;
	struct fair_node *me = tctx, *pred;

	atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
	atomic_store_explicit(&me->state, FAIR_WAIT, memory_order_relaxed);
	/* acq_rel: acquire pairs with the release CAS in fair_unlock; release
	 * orders the reset of me->next before a successor's link store */
	pred = atomic_exchange_explicit(&m->tail, me, memory_order_acq_rel);
	if (!pred)
		return;
	/* release: pairs with the acquire load of next in fair_unlock */
	atomic_store_explicit(&pred->next, me, memory_order_release);
	fair_wait(me);
}

static bool fair_trylock(void *obj, void *tctx)
{
	struct sl_mutex_fair *m = obj;
	struct fair_node *me = tctx, *expected = NULL;

	atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
	/* acq_rel: as the exchange in fair_lock */
	return atomic_compare_exchange_strong_explicit(&m->tail, &expected, me,
						       memory_order_acq_rel,
						       memory_order_relaxed);
}

static void fair_unlock(void *obj, void *tctx)
{
	struct sl_mutex_fair *m = obj;
	struct fair_node *me = tctx, *next, *expected = me;

	/* acquire: pairs with the release link store in fair_lock */
	next = atomic_load_explicit(&me->next, memory_order_acquire);
	if (!next) {
		/* release: pairs with the acquire exchange in fair_lock */
		if (atomic_compare_exchange_strong_explicit(&m->tail, &expected,
							    NULL,
							    memory_order_release,
							    memory_order_relaxed))
			return;
		/* A successor swapped itself into tail and is about to link;
		 * it may have been preempted in between, so stop spinning
		 * after a while and give it the CPU. */
		for (unsigned i = 0;; i++) {
			/* acquire: pairs with the release link store */
			next = atomic_load_explicit(&me->next, memory_order_acquire);
			if (next)
				break;
			if (i < FAIR_LINK_SPINS)
				sl_cpu_relax();
			else
				sched_yield();
		}
	}
	/* release: hands the lock and the section to next; pairs with the
	 * acquire load or CAS of its state in fair_wait */
	if (atomic_exchange_explicit(&next->state, FAIR_GO,
				     memory_order_release) == FAIR_SLEEP) {
		me->wakes++;
		sl_futex_wake(&next->state, 1);
	}
}

static void fair_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct fair_node *me = tctx;

	out[0] = me->sleeps;
	out[1] = me->wakes;
}

static int fair_check(void *obj, struct sl_err *err)
{
	struct sl_mutex_fair *m = obj;

	if (atomic_load_explicit(&m->tail, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "mutex-fair queue is not empty after every thread stopped (a thread still holds or waits for the lock)");
	return 0;
}

const struct sl_prim sl_prim_mutex_fair = {
	.name = "mutex-fair",
	.family = "mutex",
	.kind = SL_KIND_LOCK,
	.summary = "FIFO futex mutex: a queue of waiters, each sleeping on its own word; unlock hands over directly, no barging",
	.flags = SL_PRIM_FIFO | SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_mutex_fair),
	.tctx_size = sizeof(struct fair_node),
	.init = fair_init,
	.lock = { .lock = fair_lock, .unlock = fair_unlock,
		  .trylock = fair_trylock },
	.check = fair_check,
	.event_names = { "sleeps", "wakes" },
	.events = fair_events,
};
