/*
 * Concurrency Kit's spinlocks as peer baselines, called through the same
 * descriptor as synclab's own (an indirect call per op on both sides), so
 * a comparison is like with like.
 *
 * ck-ticket: ck_spinlock_ticket_t.  On x86-64 it packs both counters into
 * one 32-bit word: the acquire is one fetch-and-add that returns the ticket
 * and the current owner together, the release a locked 16-bit increment of
 * the owner half (an atomic read-modify-write where a plain store would do).
 * ck-mcs: ck_spinlock_mcs_t with a ck_spinlock_mcs_context_t per thread in
 * the thread context.
 *
 * Ordering: ck's own (ck_pr_fence_lock after the acquiring operation,
 * ck_pr_fence_unlock before the releasing one; both compile to nothing on
 * TSO x86, where every locked instruction is a full barrier).  ck
 * implements its atomics in inline assembly, which ThreadSanitizer cannot
 * see, so a ThreadSanitizer build tells it what ck guarantees: a release on
 * the lock object before each unlock, an acquire after each lock.
 */
#include <errno.h>
#include <stdbool.h>

#include <ck_spinlock.h>

#include "primitives/prim.h"
#include "util/tsan.h"


/* --- ck-ticket ----------------------------------------------------------- */

static int ckt_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	(void)conf;
	(void)err;
	ck_spinlock_ticket_init(obj);
	return 0;
}

static void ckt_lock(void *obj, void *tctx)
{
	(void)tctx;
	ck_spinlock_ticket_lock(obj);
	sl_tsan_acquire(obj);
}

#ifdef CK_F_SPINLOCK_TICKET_TRYLOCK
static bool ckt_trylock(void *obj, void *tctx)
{
	(void)tctx;
	if (!ck_spinlock_ticket_trylock(obj))
		return false;
	sl_tsan_acquire(obj);
	return true;
}
#define CKT_TRYLOCK ckt_trylock
#else
#define CKT_TRYLOCK NULL
#endif

static void ckt_unlock(void *obj, void *tctx)
{
	(void)tctx;
	sl_tsan_release(obj);
	ck_spinlock_ticket_unlock(obj);
}

static int ckt_check(void *obj, struct sl_err *err)
{
	if (ck_spinlock_ticket_locked(obj))
		return sl_err_set(err, -EPROTO,
				  "ck ticket lock not free after every thread stopped");
	return 0;
}

const struct sl_prim sl_prim_ck_ticket = {
	.name = "ck-ticket",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "Concurrency Kit's ticket spinlock (ck_spinlock_ticket_t), FIFO",
	.flags = SL_PRIM_BASELINE | SL_PRIM_FIFO,
	.obj_size = sizeof(ck_spinlock_ticket_t),
	.init = ckt_init,
	.lock = { .lock = ckt_lock, .unlock = ckt_unlock,
		  .trylock = CKT_TRYLOCK },
	.check = ckt_check,
};

/* --- ck-mcs -------------------------------------------------------------- */

static int ckm_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	(void)conf;
	(void)err;
	ck_spinlock_mcs_init(obj);
	return 0;
}

static void ckm_lock(void *obj, void *tctx)
{
	ck_spinlock_mcs_lock(obj, tctx);
	sl_tsan_acquire(obj);
}

static bool ckm_trylock(void *obj, void *tctx)
{
	if (!ck_spinlock_mcs_trylock(obj, tctx))
		return false;
	sl_tsan_acquire(obj);
	return true;
}

static void ckm_unlock(void *obj, void *tctx)
{
	sl_tsan_release(obj);
	ck_spinlock_mcs_unlock(obj, tctx);
}

static int ckm_check(void *obj, struct sl_err *err)
{
	if (ck_spinlock_mcs_locked(obj))
		return sl_err_set(err, -EPROTO,
				  "ck MCS lock not free after every thread stopped: the queue's tail is not empty");
	return 0;
}

const struct sl_prim sl_prim_ck_mcs = {
	.name = "ck-mcs",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "Concurrency Kit's MCS queue spinlock (ck_spinlock_mcs_t), FIFO",
	.flags = SL_PRIM_BASELINE | SL_PRIM_FIFO,
	.obj_size = sizeof(ck_spinlock_mcs_t),
	.tctx_size = sizeof(ck_spinlock_mcs_context_t),
	.init = ckm_init,
	.lock = { .lock = ckm_lock, .unlock = ckm_unlock,
		  .trylock = ckm_trylock },
	.check = ckm_check,
};
