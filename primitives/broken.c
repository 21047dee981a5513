/*
 * broken-lock: a deliberately wrong lock, hidden from `synclab list` unless
 * --all is given.  Its acquire reads the word and then writes it as two
 * separate steps, so two threads can both see it free and both enter.  It
 * exists to prove that the invariant checks catch a broken primitive: a run
 * of it must fail, never print a throughput.
 *
 * A few pauses between the test and the set widen the window, so that two
 * threads running in parallel on different PUs collide within milliseconds.
 * Threads sharing one PU collide only when one is preempted inside the
 * critical section, which a short run may never see.
 *
 * The accesses are relaxed atomics, not plain ones, so the program has no
 * undefined behaviour; the bug is the missing atomicity of test-and-set.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "primitives/prim.h"
#include "util/atomics.h"

struct broken_lock {
	_Atomic uint32_t locked;
};

static void broken_lock_acquire(void *obj, void *tctx)
{
	struct broken_lock *b = obj;

	(void)tctx;
	while (atomic_load_explicit(&b->locked, memory_order_relaxed))
		sl_cpu_relax();
	/* The bug: another thread can pass the loop above before this store. */
	for (int i = 0; i < 8; i++)
		sl_cpu_relax();
	atomic_store_explicit(&b->locked, 1, memory_order_relaxed);
}

static void broken_lock_release(void *obj, void *tctx)
{
	struct broken_lock *b = obj;

	(void)tctx;
	atomic_store_explicit(&b->locked, 0, memory_order_relaxed);
}

const struct sl_prim sl_prim_broken_lock = {
	.name = "broken-lock",
	.family = "test",
	.kind = SL_KIND_LOCK,
	.summary = "deliberately broken: test and set as two steps (proves the checks work)",
	.flags = SL_PRIM_HIDDEN,
	.obj_size = sizeof(struct broken_lock),
	.lock = { .lock = broken_lock_acquire, .unlock = broken_lock_release },
};
