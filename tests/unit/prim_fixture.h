/*
 * Shared by the per-family cmocka tests: a primitive's object and per-thread
 * context, allocated as the runner lays them out (aligned, zeroed, init and
 * thread_init called), for tests that drive the ops directly.  Include after
 * <cmocka.h>; a failing init fails the test.
 */
#ifndef SL_TESTS_PRIM_FIXTURE_H
#define SL_TESTS_PRIM_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "primitives/prim.h"
#include "util/atomics.h"

static inline void *new_obj_conf(const struct sl_prim *p,
				 const struct sl_prim_conf *conf)
{
	void *obj = aligned_alloc(SL_SLOT_ALIGN, sl_prim_obj_stride(p));
	struct sl_err err;

	assert_non_null(obj);
	memset(obj, 0, sl_prim_obj_stride(p));
	if (p->init && p->init(obj, conf, &err) < 0)
		fail_msg("%s: init: %s", p->name, err.msg);
	return obj;
}

static inline void *new_obj(const struct sl_prim *p, unsigned nthreads)
{
	const struct sl_prim_conf conf = { .nthreads = nthreads };

	return new_obj_conf(p, &conf);
}

static inline void *new_tctx(const struct sl_prim *p, void *obj)
{
	void *t = aligned_alloc(SL_SLOT_ALIGN, sl_prim_tctx_stride(p));

	assert_non_null(t);
	memset(t, 0, sl_prim_tctx_stride(p));
	if (p->thread_init)
		p->thread_init(obj, t);
	return t;
}

static inline void free_tctx(const struct sl_prim *p, void *obj, void *t)
{
	if (p->thread_fini)
		p->thread_fini(obj, t);
	free(t);
}

static inline void free_obj(const struct sl_prim *p, void *obj)
{
	if (p->destroy)
		p->destroy(obj);
	free(obj);
}

#endif
