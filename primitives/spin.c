/*
 * Spinlocks.
 *
 * spin (test-and-test-and-set with bounded exponential backoff): try the
 * exchange once; when it fails, wait by *reading* the word, which keeps the
 * line Shared in every waiter's cache instead of bouncing it in Modified
 * state with each attempt, and back off exponentially between reads so that
 * a release is not followed by every waiter's exchange at the same instant.
 * The backoff is bounded (SPIN_BACKOFF_MAX pauses) so a waiter notices a
 * free lock within a few hundred nanoseconds.  Unfair: a releasing thread can
 * take the lock right back.  Never sleeps: with more threads than CPUs a
 * preempted owner makes every waiter burn its time slice.
 *
 * Ordering: the successful exchange is acquire and pairs with the release
 * store in spin_unlock.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "primitives/prim.h"
#include "util/atomics.h"

#define SPIN_BACKOFF_MIN 4
#define SPIN_BACKOFF_MAX 1024

struct sl_spin {
	_Atomic uint32_t locked;
};

static void spin_lock(void *obj, void *tctx)
{
	struct sl_spin *s = obj;
	unsigned backoff = SPIN_BACKOFF_MIN;

	(void)tctx;
	/* acquire: pairs with the release store in spin_unlock */
	while (atomic_exchange_explicit(&s->locked, 1, memory_order_acquire)) {
		do {
			for (unsigned i = 0; i < backoff; i++)
				sl_cpu_relax();
			if (backoff < SPIN_BACKOFF_MAX)
				backoff <<= 1;
		} while (atomic_load_explicit(&s->locked, memory_order_relaxed));
	}
}

static bool spin_trylock(void *obj, void *tctx)
{
	struct sl_spin *s = obj;

	(void)tctx;
	return atomic_load_explicit(&s->locked, memory_order_relaxed) == 0 &&
	       atomic_exchange_explicit(&s->locked, 1, memory_order_acquire) == 0;
}

static void spin_unlock(void *obj, void *tctx)
{
	struct sl_spin *s = obj;

	(void)tctx;
	atomic_store_explicit(&s->locked, 0, memory_order_release);
}

static int spin_check(void *obj, struct sl_err *err)
{
	struct sl_spin *s = obj;

	if (atomic_load_explicit(&s->locked, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "spinlock still held after every thread stopped");
	return 0;
}

const struct sl_prim sl_prim_spin = {
	.name = "spin",
	.family = "spin",
	.kind = SL_KIND_LOCK,
	.summary = "test-and-test-and-set spinlock with bounded exponential backoff",
	.obj_size = sizeof(struct sl_spin),
	.lock = { .lock = spin_lock, .unlock = spin_unlock,
		  .trylock = spin_trylock },
	.check = spin_check,
};
