/*
 * Queue spinlocks: FIFO locks in which every waiter spins on a line of its
 * own, so a release moves one line to one waiter instead of invalidating a
 * line every waiter is polling.  Waits go through sl_spinwait()
 * (primitives/spinwait.h): past a budget without its turn -- tens of
 * microseconds when the lock's threads outnumber the PUs, a time slice
 * otherwise -- a waiter yields the CPU on every poll, because the thread
 * whose turn it is has most likely been preempted.
 *
 * spin-mcs (Mellor-Crummey and Scott): the lock is a pointer to the tail of
 * an explicit queue of per-thread nodes.  An acquirer resets its node,
 * swaps it into the tail and, if there was a predecessor, links itself into
 * the predecessor's `next` and spins on its own `locked` flag.  Unlock hands
 * the lock to `next` by clearing that flag; with no successor visible it
 * tries to swing the tail back to NULL, and when that fails (a successor has
 * swapped itself in but not linked yet) it waits for the link.  The node
 * lives in the thread context (tctx_size = one node on its own line) and is
 * free again the moment unlock returns: nobody refers to it after the
 * hand-off, so contexts can come and go independently.
 *
 * spin-clh (Craig, Landin and Hagersten): the queue is implicit.  The tail
 * always points at a node; an acquirer marks its node locked, swaps it into
 * the tail and spins on the node it got back, its predecessor's, until that
 * one is cleared.  Unlock clears the acquirer's own node -- which its
 * successor is watching -- and the thread walks away with the predecessor's
 * node, which nobody else refers to any more: nodes migrate between
 * threads.  That recycling decides where the nodes live.  A node a thread
 * started with can end up in another thread's hands or as the lock's tail,
 * so it cannot live in a thread context that is freed when its thread ends
 * while others still run.  All nodes therefore belong to the lock: init
 * allocates one pool of nthreads + 1 nodes (the "+1" is the initial dummy
 * node, released, that the tail points at), each thread context holds a
 * pointer to the node it currently owns, thread_init claims a free node
 * and thread_fini gives back whichever node the thread owns by then.  At
 * any quiet moment the claimed nodes are exactly the tail's node plus one
 * per registered thread.  No natural trylock (a compare-and-swap on the
 * tail would suffer ABA from recycled nodes), so it has none.
 *
 * Ordering (MCS).  The tail exchange is acq_rel: release publishes our
 * node's reset (next = NULL) to the successor that gets our node from the
 * tail, so its link cannot be overwritten by our reset; acquire pairs with
 * the predecessor's exchange (its node's reset) or with the releasing CAS
 * that emptied the queue (the previous critical section).  The store
 * linking us into pred->next is release and pairs with the acquire load of
 * next in the predecessor's unlock, so our `locked = 1`, stored just before
 * the link, is ordered before its `locked = 0`.  Our acquire load of our
 * own `locked` pairs with the predecessor's release store of 0: its
 * critical section happens-before ours.
 *
 * Ordering (CLH).  The tail exchange is acq_rel: release publishes our
 * node's `locked = 1` to our successor, acquire makes the predecessor's
 * reset visible before we poll it.  The acquire load that sees the
 * predecessor's node cleared pairs with the release store in its unlock.
 * Claiming a pool node is an acquire CAS paired with the release store
 * that gave it back in thread_fini.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "primitives/prim.h"
#include "primitives/spinwait.h"
#include "util/atomics.h"

/* --- spin-mcs ------------------------------------------------------------ */

struct mcs_node {
	alignas(SL_CACHELINE) _Atomic(struct mcs_node *) next;
	_Atomic uint32_t locked;
};

/* The thread context: its node, and on a line of its own (the node's is
 * polled), the thread's count of yields past the spin budget. */
struct mcs_ctx {
	struct mcs_node node; /* first: the context is the node */
	alignas(SL_CACHELINE) uint64_t yields;
};

struct mcs_lock {
	_Atomic(struct mcs_node *) tail;
	unsigned budget; /* sl_spinwait's, from init */
};

static int mcs_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct mcs_lock *l = obj;

	(void)err;
	atomic_init(&l->tail, NULL);
	l->budget = sl_spinwait_budget(conf->nthreads);
	return 0;
}

static void mcs_lock(void *obj, void *tctx)
{
	struct mcs_lock *l = obj;
	struct mcs_node *me = tctx, *pred;
	unsigned spent = 0, budget;

	atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
	/* acq_rel: see the ordering argument at the top of the file */
	pred = atomic_exchange_explicit(&l->tail, me, memory_order_acq_rel);
	if (!pred)
		return;
	/* Only a predecessor clears locked, and only once linked to us, so
	 * an uncontended acquire never has to set it. */
	atomic_store_explicit(&me->locked, 1, memory_order_relaxed);
	/* Read now, while the exchange holds the line: polls touch only
	 * our own node's line. */
	budget = l->budget;
	/* release: pairs with the acquire load of next in mcs_unlock */
	atomic_store_explicit(&pred->next, me, memory_order_release);
	/* acquire: pairs with the release store of locked in mcs_unlock */
	while (atomic_load_explicit(&me->locked, memory_order_acquire))
		sl_spinwait(&spent, 1, budget, &((struct mcs_ctx *)tctx)->yields);
}

static bool mcs_trylock(void *obj, void *tctx)
{
	struct mcs_lock *l = obj;
	struct mcs_node *me = tctx, *expected = NULL;

	atomic_store_explicit(&me->next, NULL, memory_order_relaxed);
	/* acq_rel: acquire pairs with the releasing CAS of mcs_unlock;
	 * release publishes our node's reset to a later successor */
	return atomic_compare_exchange_strong_explicit(&l->tail, &expected, me,
						       memory_order_acq_rel,
						       memory_order_relaxed);
}

static void mcs_unlock(void *obj, void *tctx)
{
	struct mcs_lock *l = obj;
	struct mcs_node *me = tctx;
	/* acquire: pairs with the release store linking the successor */
	struct mcs_node *next = atomic_load_explicit(&me->next, memory_order_acquire);

	if (!next) {
		struct mcs_node *expected = me;

		/* release: publishes the critical section to whoever next
		 * finds the queue empty (pairs with its tail exchange) */
		if (atomic_compare_exchange_strong_explicit(&l->tail, &expected, NULL,
							    memory_order_release,
							    memory_order_relaxed))
			return;
		/* A successor swapped itself in and is about to link (it may
		 * have been preempted in between: the wait may be long). */
		unsigned spent = 0, budget = l->budget;

		/* acquire: pairs with the release store linking it */
		while (!(next = atomic_load_explicit(&me->next, memory_order_acquire)))
			sl_spinwait(&spent, 1, budget,
				    &((struct mcs_ctx *)tctx)->yields);
	}
	/* release: publishes the critical section to the successor */
	atomic_store_explicit(&next->locked, 0, memory_order_release);
}

static int mcs_check(void *obj, struct sl_err *err)
{
	struct mcs_lock *l = obj;

	if (atomic_load_explicit(&l->tail, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "MCS lock not free after every thread stopped: the queue's tail is not empty");
	return 0;
}

static void mcs_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	out[0] = ((const struct mcs_ctx *)tctx)->yields;
}

const struct sl_prim sl_prim_spin_mcs = {
	.name = "spin-mcs",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "MCS queue spinlock: FIFO, each waiter spins on its own node's line",
	.flags = SL_PRIM_FIFO,
	.obj_size = sizeof(struct mcs_lock),
	.tctx_size = sizeof(struct mcs_ctx),
	.init = mcs_init,
	.lock = { .lock = mcs_lock, .unlock = mcs_unlock,
		  .trylock = mcs_trylock },
	.check = mcs_check,
	.event_names = { "yields" },
	.events = mcs_events,
};

/* --- spin-clh ------------------------------------------------------------ */

struct clh_node {
	/* Two lines per node: the adjacent-line prefetcher must not pair a
	 * node someone polls with one its neighbour writes. */
	alignas(SL_SLOT_ALIGN) _Atomic uint32_t locked;
	_Atomic uint32_t claimed; /* owned by a thread or by the tail */
};

struct clh_lock {
	alignas(SL_CACHELINE) _Atomic(struct clh_node *) tail;
	struct clh_node *pool; /* [npool], owned by the lock */
	unsigned npool;
	unsigned budget;       /* sl_spinwait's, from init */
};

struct clh_ctx {
	struct clh_node *mine; /* the node this thread owns now */
	struct clh_node *pred; /* while holding: the node to leave with */
	uint64_t yields;       /* sched_yields past the spin budget */
};

static int clh_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct clh_lock *l = obj;
	unsigned n = (conf->nthreads ? conf->nthreads : 1) + 1;

	l->pool = aligned_alloc(SL_SLOT_ALIGN, n * sizeof(*l->pool));
	if (!l->pool)
		return sl_err_set(err, -ENOMEM, "out of memory for %u CLH nodes", n);
	memset(l->pool, 0, n * sizeof(*l->pool));
	l->npool = n;
	l->budget = sl_spinwait_budget(conf->nthreads);
	for (unsigned i = 0; i < n; i++) {
		atomic_init(&l->pool[i].locked, 0);
		atomic_init(&l->pool[i].claimed, 0);
	}
	/* The dummy: released, owned by the tail. */
	atomic_init(&l->pool[0].claimed, 1);
	atomic_init(&l->tail, &l->pool[0]);
	return 0;
}

static void clh_destroy(void *obj)
{
	struct clh_lock *l = obj;

	free(l->pool);
	l->pool = NULL;
}

static void clh_thread_init(void *obj, void *tctx)
{
	struct clh_lock *l = obj;
	struct clh_ctx *c = tctx;

	/* More threads than conf.nthreads at once: wait for one to leave
	 * (a runner's stall timeout reports it) rather than share a node. */
	for (;;) {
		for (unsigned i = 0; i < l->npool; i++) {
			uint32_t expected = 0;

			/* acquire: pairs with the release store in
			 * clh_thread_fini that gave the node back */
			if (atomic_compare_exchange_strong_explicit(
				    &l->pool[i].claimed, &expected, 1,
				    memory_order_acquire, memory_order_relaxed)) {
				c->mine = &l->pool[i];
				c->pred = NULL;
				return;
			}
		}
		sl_cpu_relax();
	}
}

static void clh_thread_fini(void *obj, void *tctx)
{
	struct clh_ctx *c = tctx;

	(void)obj;
	/* release: our last use of the node happens-before its next owner's */
	atomic_store_explicit(&c->mine->claimed, 0, memory_order_release);
	c->mine = NULL;
}

/* Out of line: the wait loop's call to sched_yield() would otherwise make
 * every acquisition save and restore registers it never needs. */
static __attribute__((noinline)) void clh_wait(const struct clh_lock *l,
					       struct clh_ctx *c,
					       struct clh_node *pred)
{
	unsigned spent = 0, budget = l->budget;

	/* acquire: pairs with the release store of locked in clh_unlock */
	while (atomic_load_explicit(&pred->locked, memory_order_acquire))
		sl_spinwait(&spent, 1, budget, &c->yields);
}

static void clh_lock(void *obj, void *tctx)
{
	struct clh_lock *l = obj;
	struct clh_ctx *c = tctx;
	struct clh_node *me = c->mine, *pred;

	atomic_store_explicit(&me->locked, 1, memory_order_relaxed);
	/* acq_rel: see the ordering argument at the top of the file */
	pred = atomic_exchange_explicit(&l->tail, me, memory_order_acq_rel);
	c->pred = pred; /* the node we leave with */
	/* acquire: pairs with the release store of locked in clh_unlock */
	if (atomic_load_explicit(&pred->locked, memory_order_acquire))
		clh_wait(l, c, pred);
}

static void clh_unlock(void *obj, void *tctx)
{
	struct clh_ctx *c = tctx;
	struct clh_node *me = c->mine;

	(void)obj;
	/* The successor polls our node; from here on it is not ours.
	 * release: publishes the critical section to the successor */
	c->mine = c->pred;
	c->pred = NULL;
	atomic_store_explicit(&me->locked, 0, memory_order_release);
}

static int clh_check(void *obj, struct sl_err *err)
{
	struct clh_lock *l = obj;
	struct clh_node *t = atomic_load_explicit(&l->tail, memory_order_relaxed);

	if (atomic_load_explicit(&t->locked, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "CLH lock not free after every thread stopped: the tail node is still locked");
	return 0;
}

static void clh_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	out[0] = ((const struct clh_ctx *)tctx)->yields;
}

const struct sl_prim sl_prim_spin_clh = {
	.name = "spin-clh",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "CLH queue spinlock: FIFO, each waiter spins on its predecessor's node; nodes migrate",
	.flags = SL_PRIM_FIFO,
	.obj_size = sizeof(struct clh_lock),
	.tctx_size = sizeof(struct clh_ctx),
	.init = clh_init,
	.destroy = clh_destroy,
	.thread_init = clh_thread_init,
	.thread_fini = clh_thread_fini,
	.lock = { .lock = clh_lock, .unlock = clh_unlock },
	.check = clh_check,
	.event_names = { "yields" },
	.events = clh_events,
};
