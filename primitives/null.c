/*
 * Baselines that are not locks.  `null` runs the lock workload with no
 * synchronization at all: its ns/op is the harness's own cost per op (the
 * loop, the indirect calls, the op counter), to be read against every other
 * result.  `rmw` performs one atomic read-modify-write on the instance's
 * shared word per op, the unit every lock's uncontended path is built from.
 * Neither excludes anything, so the lock workload skips its mutual-exclusion
 * invariant for them.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "primitives/prim.h"

static void null_op(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}

const struct sl_prim sl_prim_null = {
	.name = "null",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "no synchronization: the harness's own cost per op",
	.flags = SL_PRIM_NO_EXCLUSION,
	.lock = { .lock = null_op, .unlock = null_op },
};

struct rmw_word {
	_Atomic uint64_t word;
};

static void rmw_op(void *obj, void *tctx)
{
	struct rmw_word *r = obj;

	(void)tctx;
	/* Relaxed: the point is the cost of the locked instruction itself; on
	 * x86 every RMW is a full barrier whatever order is asked for. */
	atomic_fetch_add_explicit(&r->word, 1, memory_order_relaxed);
}

const struct sl_prim sl_prim_rmw = {
	.name = "rmw",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "one atomic fetch-and-add per op, no exclusion: the cost of one RMW",
	.flags = SL_PRIM_NO_EXCLUSION,
	.obj_size = sizeof(struct rmw_word),
	.lock = { .lock = rmw_op, .unlock = null_op },
};
