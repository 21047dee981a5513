/*
 * Spinlocks: waiters never sleep, they burn their time slice polling.
 *
 * spin-tas (test-and-set): every attempt is an exchange of 1 into the word.
 * Each failed exchange takes the line in Modified state, so N waiters bounce
 * it between their caches on every attempt and slow the owner's release down
 * with them: the textbook example of what not to do.
 *
 * spin-ttas (test-and-test-and-set with bounded exponential backoff, alias
 * spin): try the exchange once; when it fails, wait by *reading* the word,
 * which keeps the line Shared in every waiter's cache instead of bouncing it
 * in Modified state with each attempt, and back off exponentially between
 * reads so that a release is not followed by every waiter's exchange at the
 * same instant.  The backoff is bounded (TTAS_BACKOFF_MAX pauses) so a
 * waiter notices a free lock within a few hundred nanoseconds.  Unfair: a
 * releasing thread can take the lock right back.
 *
 * spin-ticket (FIFO ticket lock): an acquirer takes a ticket with one
 * fetch-and-add on `next` and waits until `owner` shows it; unlock hands the
 * lock to the next ticket with a plain store, since only the holder ever
 * writes `owner`.  The holder keeps its ticket in its thread context, so
 * unlock is a single store and never has to read the (possibly stolen) line
 * back first: a store miss drains from the store buffer while the thread
 * goes on, a load miss would stall it.  Both counters share one cache line:
 * an uncontended acquire is then one line transfer (the fetch-and-add brings
 * the line the owner read hits).  A waiter that is d tickets from the head
 * knows at least d-1 critical sections run before its turn and pauses in
 * proportion to that distance, so the line is polled mostly by the thread
 * that is next.  Strict FIFO is also its weakness: with more threads than
 * PUs, a preempted waiter whose turn comes holds every later ticket up until
 * the scheduler runs it again; so a waiter that has gone without its turn
 * for longer than a budget yields the CPU on every poll instead of spinning
 * out its time slice (sl_spinwait, spinwait.h: tens of microseconds when
 * the lock's threads outnumber the PUs, a time slice otherwise).
 *
 * pthread-spin: glibc's pthread_spinlock_t, the baseline.
 *
 * Ordering.  TAS/TTAS: the successful exchange is acquire and pairs with the
 * release store in unlock.  Ticket: the load of `owner` that sees our ticket
 * is acquire and pairs with the release store of `owner` by the previous
 * holder's unlock; the ticket fetch-and-add itself orders nothing (it only
 * picks a place in line), so it is relaxed.  Ticket trylock: the acquire
 * load of `owner` pairs with that same release; the CAS on `next` that takes
 * the ticket only has to be atomic.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "primitives/prim.h"
#include "primitives/spinwait.h"
#include "util/atomics.h"

/* --- spin-tas ------------------------------------------------------------ */

struct sl_tas {
	_Atomic uint32_t locked;
};

static void tas_lock(void *obj, void *tctx)
{
	struct sl_tas *s = obj;

	(void)tctx;
	/* acquire: pairs with the release store in tas_unlock */
	while (atomic_exchange_explicit(&s->locked, 1, memory_order_acquire))
		sl_cpu_relax();
}

static bool tas_trylock(void *obj, void *tctx)
{
	struct sl_tas *s = obj;

	(void)tctx;
	/* acquire: pairs with the release store in tas_unlock */
	return atomic_exchange_explicit(&s->locked, 1, memory_order_acquire) == 0;
}

static void tas_unlock(void *obj, void *tctx)
{
	struct sl_tas *s = obj;

	(void)tctx;
	atomic_store_explicit(&s->locked, 0, memory_order_release);
}

static int tas_check(void *obj, struct sl_err *err)
{
	struct sl_tas *s = obj;

	if (atomic_load_explicit(&s->locked, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "spinlock still held after every thread stopped");
	return 0;
}

const struct sl_prim sl_prim_spin_tas = {
	.name = "spin-tas",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "test-and-set spinlock: an exchange per attempt (the line bounces with every try)",
	.obj_size = sizeof(struct sl_tas),
	.lock = { .lock = tas_lock, .unlock = tas_unlock,
		  .trylock = tas_trylock },
	.check = tas_check,
};

/* --- spin-ttas ----------------------------------------------------------- */

#define TTAS_BACKOFF_MIN 4
#define TTAS_BACKOFF_MAX 1024

static void ttas_lock(void *obj, void *tctx)
{
	struct sl_tas *s = obj;
	unsigned backoff = TTAS_BACKOFF_MIN;

	(void)tctx;
	/* acquire: pairs with the release store in tas_unlock */
	while (atomic_exchange_explicit(&s->locked, 1, memory_order_acquire)) {
		do {
			for (unsigned i = 0; i < backoff; i++)
				sl_cpu_relax();
			if (backoff < TTAS_BACKOFF_MAX)
				backoff <<= 1;
		} while (atomic_load_explicit(&s->locked, memory_order_relaxed));
	}
}

static bool ttas_trylock(void *obj, void *tctx)
{
	struct sl_tas *s = obj;

	(void)tctx;
	/* Read first: a held lock costs a trylock no exclusive line.
	 * acquire: pairs with the release store in tas_unlock */
	return atomic_load_explicit(&s->locked, memory_order_relaxed) == 0 &&
	       atomic_exchange_explicit(&s->locked, 1, memory_order_acquire) == 0;
}

const struct sl_prim sl_prim_spin_ttas = {
	.name = "spin-ttas",
	.alias = "spin",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "test-and-test-and-set spinlock with bounded exponential backoff",
	.obj_size = sizeof(struct sl_tas),
	.lock = { .lock = ttas_lock, .unlock = tas_unlock,
		  .trylock = ttas_trylock },
	.check = tas_check,
};

/* --- spin-ticket --------------------------------------------------------- */

/* Pauses per critical section still ahead of a waiter, and their cap (a
 * waiter far back still polls every few tens of microseconds). */
#define TICKET_BACKOFF_UNIT 48
#define TICKET_BACKOFF_MAX 1024

struct sl_ticket {
	/* One line on purpose, see the top of the file. */
	alignas(SL_CACHELINE) _Atomic uint32_t next; /* the next ticket handed out */
	_Atomic uint32_t owner;                      /* the ticket being served */
	unsigned budget;                             /* sl_spinwait's, from init */
};

/* The holder's ticket; read back by unlock. */
struct sl_ticket_ctx {
	uint32_t mine;
};

static int ticket_init(void *obj, const struct sl_prim_conf *conf,
		       struct sl_err *err)
{
	struct sl_ticket *t = obj;

	(void)err;
	atomic_init(&t->next, 0);
	atomic_init(&t->owner, 0);
	t->budget = sl_spinwait_budget(conf->nthreads);
	return 0;
}

/* Out of line: the wait loop's call to sched_yield() would otherwise make
 * every acquisition save and restore registers it never needs. */
static __attribute__((noinline)) void ticket_wait(struct sl_ticket *t,
						  uint32_t mine)
{
	unsigned spent = 0, budget = t->budget;
	uint32_t owner;

	/* acquire: pairs with the release store of owner in ticket_unlock */
	while ((owner = atomic_load_explicit(&t->owner, memory_order_acquire)) != mine) {
		/* Unsigned difference: correct across the 2^32 wrap. */
		uint32_t ahead = mine - owner - 1;

		/* Next in line (ahead == 0): one pause per read. */
		sl_spinwait(&spent,
			    ahead > TICKET_BACKOFF_MAX / TICKET_BACKOFF_UNIT
				    ? TICKET_BACKOFF_MAX
				    : 1 + ahead * TICKET_BACKOFF_UNIT,
			    budget);
	}
}

static void ticket_lock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	struct sl_ticket_ctx *c = tctx;
	/* relaxed: taking a place in line publishes and observes nothing */
	uint32_t mine = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);

	c->mine = mine;
	/* acquire: pairs with the release store of owner in ticket_unlock */
	if (atomic_load_explicit(&t->owner, memory_order_acquire) != mine)
		ticket_wait(t, mine);
}

static bool ticket_trylock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	struct sl_ticket_ctx *c = tctx;
	/* acquire: pairs with the release store of owner in ticket_unlock */
	uint32_t owner = atomic_load_explicit(&t->owner, memory_order_acquire);
	uint32_t expected = owner;

	/* Free means next == owner.  owner only moves forward and never
	 * passes next, so if next still equals the owner we read, the lock
	 * is free right now and the ticket we take is the one being served.
	 * relaxed: the acquire above already ordered the previous section. */
	if (!atomic_compare_exchange_strong_explicit(&t->next, &expected, owner + 1,
						     memory_order_relaxed,
						     memory_order_relaxed))
		return false;
	c->mine = owner;
	return true;
}

static void ticket_unlock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	const struct sl_ticket_ctx *c = tctx;

	/* release: publishes the critical section to the next ticket */
	atomic_store_explicit(&t->owner, c->mine + 1, memory_order_release);
}

static int ticket_check(void *obj, struct sl_err *err)
{
	struct sl_ticket *t = obj;
	uint32_t next = atomic_load_explicit(&t->next, memory_order_relaxed);
	uint32_t owner = atomic_load_explicit(&t->owner, memory_order_relaxed);

	if (next != owner)
		return sl_err_set(err, -EPROTO,
				  "ticket lock not free after every thread stopped: next ticket %u, serving %u",
				  next, owner);
	return 0;
}

const struct sl_prim sl_prim_spin_ticket = {
	.name = "spin-ticket",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "FIFO ticket spinlock with backoff proportional to the distance from the head",
	.flags = SL_PRIM_FIFO,
	.obj_size = sizeof(struct sl_ticket),
	.tctx_size = sizeof(struct sl_ticket_ctx),
	.init = ticket_init,
	.lock = { .lock = ticket_lock, .unlock = ticket_unlock,
		  .trylock = ticket_trylock },
	.check = ticket_check,
};

/* --- pthread-spin -------------------------------------------------------- */

static int pspin_init(void *obj, const struct sl_prim_conf *conf,
		      struct sl_err *err)
{
	int rc = pthread_spin_init(obj, PTHREAD_PROCESS_PRIVATE);

	(void)conf;
	if (rc)
		return sl_err_set(err, -rc, "pthread_spin_init: %s", strerror(rc));
	return 0;
}

static void pspin_destroy(void *obj)
{
	pthread_spin_destroy(obj);
}

static void pspin_lock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_spin_lock(obj);
}

static bool pspin_trylock(void *obj, void *tctx)
{
	(void)tctx;
	return pthread_spin_trylock(obj) == 0;
}

static void pspin_unlock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_spin_unlock(obj);
}

static int pspin_check(void *obj, struct sl_err *err)
{
	if (pthread_spin_trylock(obj))
		return sl_err_set(err, -EPROTO,
				  "the spinlock is still held after every thread stopped");
	pthread_spin_unlock(obj);
	return 0;
}

const struct sl_prim sl_prim_pthread_spin = {
	.name = "pthread-spin",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "glibc's pthread_spinlock_t (the baseline every spinlock is read against)",
	.flags = SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_spinlock_t),
	.init = pspin_init,
	.destroy = pspin_destroy,
	.lock = { .lock = pspin_lock, .unlock = pspin_unlock,
		  .trylock = pspin_trylock },
	.check = pspin_check,
};
