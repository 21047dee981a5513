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
 * spin-ticket (FIFO ticket lock): both counters share one 64-bit word, the
 * ticket being served in the low half and the next one handed out in the
 * high half.  An acquirer takes a ticket with one fetch-and-add on the high
 * half, which returns the ticket being served with it: an uncontended
 * acquire is that single instruction.  Unlock adds one to the low half (a
 * plain store of a half-word is not C11), so the line is left Modified in
 * the releaser's cache for its next acquire.  The waiter next in line polls
 * with one pause per read and no bookkeeping; a waiter d tickets from the
 * head knows at least d-1 critical sections run before its turn and pauses
 * through half of them, timed by the hand-off length it learns while it
 * waits, so the line is polled mostly by the thread that is next.  (A fixed
 * 48 pauses per place in line, tuned on 2 PUs, overshot hand-offs of a few
 * hundred nanoseconds several times on 16 CPUs: 0.53-0.57 of ck-ticket's
 * rate at 8 and 16 threads, where ck polls without any backoff.)  Against
 * ck-ticket (the same packed word) at two threads, the earlier layout of
 * two words, a plain-store unlock and one wait loop for every waiter ran at
 * 0.93 of its rate; neither the packed word nor the lean next-in-line poll
 * closed that gap alone in every series, the two together did.  Tickets
 * start 1024 below the 2^32 wrap (as the kernel's jiffies start before
 * theirs), so every run, torture tests included, crosses it.  Strict FIFO
 * is also its weakness: with more threads than PUs, a preempted waiter
 * whose turn comes holds every later ticket up until the scheduler runs it
 * again; so a waiter that has gone without its turn for longer than a budget
 * yields the CPU on every poll instead of spinning out its time slice
 * (sl_spinwait, spinwait.h: tens of microseconds when the lock's threads
 * outnumber the PUs, a time slice otherwise).
 *
 * pthread-spin: glibc's pthread_spinlock_t, the baseline.
 *
 * Ordering.  TAS/TTAS: the successful exchange is acquire and pairs with the
 * release store in unlock.  Ticket: whichever read first shows our ticket
 * being served -- the fetch-and-add that takes it, or a later load -- is
 * acquire and pairs with the release fetch-and-add of the previous holder's
 * unlock.  Ticket trylock: the acquire load pairs with that same release;
 * the CAS that takes the ticket only has to be atomic.
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

/* A waiter further back than the next in line pauses through half the
 * hand-offs still ahead of it, timed by its own estimate of a hand-off in
 * pauses (learnt while it waits, kept in its thread context): polling at
 * half the expected distance arrives before its turn and measures the
 * hand-off again at every poll, whatever the section's length or the cost
 * of a pause.  The estimate starts small (arriving early costs a read,
 * arriving late stalls every ticket behind) and the pause between polls is
 * capped (a waiter far back still polls every few tens of microseconds). */
#define TICKET_HANDOFF_FIRST 8
#define TICKET_BACKOFF_MAX 1024
/* Polls the next in line makes in its lean loop before the general one
 * takes over with its yield budget: far longer than any short section. */
#define TICKET_NEXT_POLLS 256
/* The first ticket, 1024 before the wrap of the 32-bit halves. */
#define TICKET_FIRST ((uint32_t)-1024)

#define TICKET_ONE_NEXT ((uint64_t)1 << 32) /* one ticket handed out */

struct sl_ticket {
	/* high half: the next ticket handed out; low half: the one served */
	alignas(SL_CACHELINE) _Atomic uint64_t word;
	unsigned budget; /* sl_spinwait's, from init */
};

struct sl_ticket_ctx {
	uint32_t mine;    /* the holder's ticket; read back by unlock */
	uint32_t handoff; /* pauses per hand-off as this thread saw them; 0: none yet */
	uint64_t yields;  /* sched_yields past the spin budget (the event) */
};

static inline uint32_t ticket_next(uint64_t word) { return (uint32_t)(word >> 32); }
static inline uint32_t ticket_serving(uint64_t word) { return (uint32_t)word; }

static int ticket_init(void *obj, const struct sl_prim_conf *conf,
		       struct sl_err *err)
{
	struct sl_ticket *t = obj;

	(void)err;
	atomic_init(&t->word, (uint64_t)TICKET_FIRST << 32 | TICKET_FIRST);
	t->budget = sl_spinwait_budget(conf->nthreads);
	return 0;
}

/* Out of line: the wait loop's call to sched_yield() would otherwise make
 * every acquisition save and restore registers it never needs. */
static __attribute__((noinline)) void ticket_wait(struct sl_ticket *t,
						  struct sl_ticket_ctx *c,
						  uint32_t owner)
{
	unsigned spent = 0, budget = t->budget, since = 0;
	unsigned handoff = c->handoff ? c->handoff : TICKET_HANDOFF_FIRST;
	uint32_t mine = c->mine, seen = owner;

	do {
		/* Unsigned differences: correct across the 2^32 wrap. */
		uint32_t ahead = mine - owner - 1;
		unsigned pauses = ahead >= 2 * TICKET_BACKOFF_MAX / handoff
					  ? TICKET_BACKOFF_MAX
					  : 1 + ahead * handoff / 2;

		sl_spinwait(&spent, pauses, budget, &c->yields);
		since += pauses;
		/* acquire: pairs with the release fetch-and-add in ticket_unlock */
		owner = ticket_serving(atomic_load_explicit(&t->word, memory_order_acquire));
		if (owner != seen) {
			/* `owner - seen` hand-offs in `since` pauses; past the
			 * budget the wait is counted in yields, not time. */
			if (spent < budget) {
				unsigned measured = since / (owner - seen);

				handoff = (handoff + (measured ? measured : 1) + 1) / 2;
				if (handoff > TICKET_BACKOFF_MAX)
					handoff = TICKET_BACKOFF_MAX;
			}
			seen = owner;
			since = 0;
		}
	} while (owner != mine);
	c->handoff = handoff;
}

static void ticket_lock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	struct sl_ticket_ctx *c = tctx;
	/* acquire: when it shows our ticket served, pairs with the release
	 * fetch-and-add in ticket_unlock */
	uint64_t word = atomic_fetch_add_explicit(&t->word, TICKET_ONE_NEXT,
						  memory_order_acquire);
	uint32_t mine = ticket_next(word), owner = ticket_serving(word);

	c->mine = mine;
	if (owner == mine)
		return;
	if (mine - owner == 1) {
		for (unsigned polls = TICKET_NEXT_POLLS; polls; polls--) {
			sl_cpu_relax();
			/* acquire: pairs with the release in ticket_unlock */
			owner = ticket_serving(atomic_load_explicit(&t->word,
								    memory_order_acquire));
			if (owner == mine)
				return;
		}
	}
	ticket_wait(t, c, owner);
}

static bool ticket_trylock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	struct sl_ticket_ctx *c = tctx;
	/* acquire: pairs with the release fetch-and-add in ticket_unlock */
	uint64_t word = atomic_load_explicit(&t->word, memory_order_acquire);

	/* Free means next == served; the CAS takes the ticket being served
	 * only if no other thread took a ticket or released since.
	 * relaxed: the acquire above already ordered the previous section. */
	if (ticket_next(word) != ticket_serving(word) ||
	    !atomic_compare_exchange_strong_explicit(&t->word, &word,
						     word + TICKET_ONE_NEXT,
						     memory_order_relaxed,
						     memory_order_relaxed))
		return false;
	c->mine = ticket_next(word);
	return true;
}

static void ticket_unlock(void *obj, void *tctx)
{
	struct sl_ticket *t = obj;
	const struct sl_ticket_ctx *c = tctx;

	/* Serve the next ticket: add one to the low half, which holds our
	 * ticket; at the wrap, subtracting 2^32-1 turns it to 0 without the
	 * carry an addition would put into the high half.
	 * release: publishes the critical section to the next ticket */
	if (c->mine == UINT32_MAX)
		atomic_fetch_sub_explicit(&t->word, UINT32_MAX, memory_order_release);
	else
		atomic_fetch_add_explicit(&t->word, 1, memory_order_release);
}

static int ticket_check(void *obj, struct sl_err *err)
{
	struct sl_ticket *t = obj;
	uint64_t word = atomic_load_explicit(&t->word, memory_order_relaxed);

	if (ticket_next(word) != ticket_serving(word))
		return sl_err_set(err, -EPROTO,
				  "ticket lock not free after every thread stopped: next ticket %u, serving %u",
				  ticket_next(word), ticket_serving(word));
	return 0;
}

static void ticket_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	out[0] = ((const struct sl_ticket_ctx *)tctx)->yields;
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
	.event_names = { "yields" },
	.events = ticket_events,
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
