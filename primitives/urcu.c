/*
 * liburcu 0.13 as the reference point for synclab's RCU: urcu-memb (readers
 * publish the grace-period phase in a thread-local counter; with
 * sys_membarrier available the read side has no fence) and urcu-qsbr (empty
 * read side, readers call urcu_qsbr_quiescent_state()).
 *
 * _LGPL_SOURCE inlines the read-side fast paths (read_lock, read_unlock,
 * quiescent_state), the way performance-sensitive liburcu users build;
 * liburcu's headers mark exactly these as short enough for any code to
 * inline.  Grace periods, call_rcu and rcu_barrier stay library calls.
 *
 * Registration: thread_init registers the calling thread with the flavour,
 * thread_fini unregisters it (urcu-qsbr takes the thread offline first).
 * liburcu keeps its registry and counters in globals and thread-locals, so
 * the object only counts callbacks for the check; one process can run any
 * number of objects one after another, not two at once.
 *
 * Deferred frees go through call_rcu: the record's reclaim space
 * (SL_RCU_RECLAIM_BYTES, prim.h) holds the struct rcu_head, the workload's
 * function and the object, and liburcu's call_rcu worker thread (which
 * liburcu starts on first use, outside the runner) calls the function after a
 * grace period.  barrier is rcu_barrier(): it waits for every thread's
 * callbacks, not only the caller's.
 *
 * Ordering is liburcu's (its barriers are named in its headers); the check's
 * counters are relaxed atomics read after every thread stopped.
 *
 * ThreadSanitizer cannot see liburcu's synchronisation -- the library is not
 * instrumented and orders with inline-asm fences and membarrier -- so under
 * TSan every record the call_rcu thread frees after a reader read it is
 * reported as a race.  The TSan build reports both as unsupported instead.
 */
#define _LGPL_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include <urcu/urcu-memb.h>
#include <urcu/urcu-qsbr.h>

#include "primitives/prim.h"
#include "util/tsan.h"
#include "util/atomics.h"

/* urcu/call-rcu.h is included once, under the first flavour's names, so the
 * second flavour's entry points need their own declarations. */
void urcu_qsbr_call_rcu(struct rcu_head *head,
			void (*func)(struct rcu_head *head));
void urcu_qsbr_barrier(void);


struct urcu_obj {
	/* Written by updaters and the call_rcu thread, read by the check. */
	alignas(SL_CACHELINE) _Atomic uint64_t deferred;
	alignas(SL_CACHELINE) _Atomic uint64_t ran;
	alignas(SL_CACHELINE) _Atomic int registered;
};

/* What the record's reclaim space holds while call_rcu has it. */
struct urcu_reclaim {
	struct rcu_head head;
	void (*fn)(void *);
	struct urcu_obj *obj;
};
_Static_assert(sizeof(struct urcu_reclaim) <= SL_RCU_RECLAIM_BYTES,
	       "rcu_head, fn and obj must fit the reclaim space");

static int urcu_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct urcu_obj *o = obj;

	(void)conf;
	(void)err;
	atomic_init(&o->deferred, 0);
	atomic_init(&o->ran, 0);
	atomic_init(&o->registered, 0);
	return 0;
}

static void reclaim(struct rcu_head *head)
{
	struct urcu_reclaim *r = caa_container_of(head, struct urcu_reclaim, head);
	struct urcu_obj *o = r->obj;

	/* head is the record's first byte: fn frees the whole record. */
	r->fn(r);
	atomic_fetch_add_explicit(&o->ran, 1, memory_order_relaxed);
}

static struct rcu_head *prepare(struct urcu_obj *o, void (*fn)(void *),
				void *ptr)
{
	struct urcu_reclaim *r = ptr;

	r->fn = fn;
	r->obj = o;
	atomic_fetch_add_explicit(&o->deferred, 1, memory_order_relaxed);
	return &r->head;
}

static void urcu_count_thread(void *obj, int delta)
{
	struct urcu_obj *o = obj;

	atomic_fetch_add_explicit(&o->registered, delta, memory_order_relaxed);
}

static int urcu_check(void *obj, struct sl_err *err)
{
	struct urcu_obj *o = obj;
	uint64_t deferred = atomic_load_explicit(&o->deferred, memory_order_relaxed);
	uint64_t ran = atomic_load_explicit(&o->ran, memory_order_relaxed);
	int registered = atomic_load_explicit(&o->registered, memory_order_relaxed);

	if (registered)
		return sl_err_set(err, -EPROTO,
				  "%d threads are still registered with liburcu after the run",
				  registered);
	if (ran != deferred)
		return sl_err_set(err, -EPROTO,
				  "%" PRIu64 " of %" PRIu64 " call_rcu callbacks never ran",
				  deferred - ran, deferred);
	return 0;
}

static bool urcu_supported(char *why, size_t n)
{
#ifdef SL_TSAN
	snprintf(why, n,
		 "liburcu is not instrumented for ThreadSanitizer: its grace periods would read as races");
	return false;
#else
	(void)why;
	(void)n;
	return true;
#endif
}

/* --- urcu-memb ------------------------------------------------------------ */

static void memb_thread_init(void *obj, void *tctx)
{
	(void)tctx;
	urcu_memb_register_thread();
	urcu_count_thread(obj, 1);
}

static void memb_thread_fini(void *obj, void *tctx)
{
	(void)tctx;
	urcu_memb_unregister_thread();
	urcu_count_thread(obj, -1);
}

static void memb_read_lock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_memb_read_lock();
}

static void memb_read_unlock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_memb_read_unlock();
}

static void memb_synchronize(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_memb_synchronize_rcu();
}

static void memb_defer_free(void *obj, void *tctx, void (*fn)(void *),
			    void *ptr)
{
	(void)tctx;
	urcu_memb_call_rcu(prepare(obj, fn, ptr), reclaim);
}

static void memb_barrier(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_memb_barrier();
}

/* --- urcu-qsbr ------------------------------------------------------------ */

static void qsbr_thread_init(void *obj, void *tctx)
{
	(void)tctx;
	urcu_qsbr_register_thread();
	urcu_count_thread(obj, 1);
}

static void qsbr_thread_fini(void *obj, void *tctx)
{
	(void)tctx;
	urcu_qsbr_unregister_thread();
	urcu_count_thread(obj, -1);
}

static void qsbr_read_lock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_qsbr_read_lock();
}

static void qsbr_read_unlock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_qsbr_read_unlock();
}

static void qsbr_quiescent(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_qsbr_quiescent_state();
}

static void qsbr_synchronize(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_qsbr_synchronize_rcu();
}

static void qsbr_defer_free(void *obj, void *tctx, void (*fn)(void *),
			    void *ptr)
{
	(void)tctx;
	urcu_qsbr_call_rcu(prepare(obj, fn, ptr), reclaim);
}

static void qsbr_barrier(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	urcu_qsbr_barrier();
}

const struct sl_prim sl_prim_urcu_memb = {
	.name = "urcu-memb",
	.family = "baseline",
	.kind = SL_KIND_RCU,
	.summary = "liburcu's memb flavour: membarrier-based read side, call_rcu thread",
	.flags = SL_PRIM_BASELINE,
	.obj_size = sizeof(struct urcu_obj),
	.init = urcu_init,
	.thread_init = memb_thread_init,
	.thread_fini = memb_thread_fini,
	.rcu = {
		.read_lock = memb_read_lock,
		.read_unlock = memb_read_unlock,
		.synchronize = memb_synchronize,
		.defer_free = memb_defer_free,
		.barrier = memb_barrier,
	},
	.check = urcu_check,
	.supported = urcu_supported,
};

const struct sl_prim sl_prim_urcu_qsbr = {
	.name = "urcu-qsbr",
	.family = "baseline",
	.kind = SL_KIND_RCU,
	.summary = "liburcu's QSBR flavour: empty read side, quiescent states, call_rcu thread",
	.flags = SL_PRIM_BASELINE,
	.obj_size = sizeof(struct urcu_obj),
	.init = urcu_init,
	.thread_init = qsbr_thread_init,
	.thread_fini = qsbr_thread_fini,
	.rcu = {
		.read_lock = qsbr_read_lock,
		.read_unlock = qsbr_read_unlock,
		.synchronize = qsbr_synchronize,
		.defer_free = qsbr_defer_free,
		.quiescent = qsbr_quiescent,
		.barrier = qsbr_barrier,
	},
	.check = urcu_check,
	.supported = urcu_supported,
};
