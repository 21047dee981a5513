/*
 * A registered lock used as a component of another primitive.  The
 * lock-based queue and stack baselines embed the object and per-thread
 * context of a lock primitive (synclab's futex `mutex`) and call it through
 * its descriptor, so they run that lock's own code, copy none of it, and
 * would run any other lock named instead.
 */
#ifndef SL_PRIMITIVES_LOCKREF_H
#define SL_PRIMITIVES_LOCKREF_H

#include <errno.h>
#include <string.h>

#include "primitives/prim.h"

/* Find lock `name`, check that its object and context fit the room the
 * embedding primitive reserved, and initialise its object in place. */
static inline int sl_lockref_init(const struct sl_prim **lockp, const char *name,
				  void *obj, size_t obj_room, size_t tctx_room,
				  const struct sl_prim_conf *conf,
				  struct sl_err *err)
{
	const struct sl_prim *p = sl_prim_find(name);
	char why[192];

	if (!p || p->kind != SL_KIND_LOCK)
		return sl_err_set(err, -ENOENT, "lock primitive '%s' is not registered", name);
	if (p->obj_size > obj_room || p->tctx_size > tctx_room)
		return sl_err_set(err, -EINVAL,
				  "lock '%s' needs %zu bytes of object and %zu of thread context; %zu and %zu are reserved",
				  name, p->obj_size, p->tctx_size, obj_room, tctx_room);
	if (p->supported && !p->supported(why, sizeof(why)))
		return sl_err_set(err, -ENOTSUP, "lock '%s': %s", name, why);
	memset(obj, 0, obj_room);
	if (p->init) {
		int rc = p->init(obj, conf, err);

		if (rc < 0)
			return rc;
	}
	*lockp = p;
	return 0;
}

static inline void sl_lockref_destroy(const struct sl_prim *p, void *obj)
{
	if (p && p->destroy)
		p->destroy(obj);
}

static inline void sl_lockref_thread_init(const struct sl_prim *p, void *obj,
					  void *tctx)
{
	if (p->thread_init)
		p->thread_init(obj, tctx);
}

static inline void sl_lockref_thread_fini(const struct sl_prim *p, void *obj,
					  void *tctx)
{
	if (p->thread_fini)
		p->thread_fini(obj, tctx);
}

/* The lock's own post-run check (it must be free), or 0 when it has none. */
static inline int sl_lockref_check(const struct sl_prim *p, void *obj,
				   struct sl_err *err)
{
	return p->check ? p->check(obj, err) : 0;
}

#endif
