/*
 * glibc's own primitives as reference points.  pthread-mutex is the default
 * (PTHREAD_MUTEX_NORMAL-like) mutex: a futex word with lock elision off,
 * no spinning before it sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "primitives/prim.h"

static int pmutex_init(void *obj, const struct sl_prim_conf *conf,
		       struct sl_err *err)
{
	int rc = pthread_mutex_init(obj, NULL);

	(void)conf;
	if (rc)
		return sl_err_set(err, -rc, "pthread_mutex_init: %s", strerror(rc));
	return 0;
}

static void pmutex_destroy(void *obj)
{
	pthread_mutex_destroy(obj);
}

static void pmutex_lock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_mutex_lock(obj);
}

static void pmutex_unlock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_mutex_unlock(obj);
}

static bool pmutex_trylock(void *obj, void *tctx)
{
	(void)tctx;
	return pthread_mutex_trylock(obj) == 0;
}

static int pmutex_check(void *obj, struct sl_err *err)
{
	int rc = pthread_mutex_trylock(obj);

	if (rc)
		return sl_err_set(err, -EPROTO,
				  "the mutex is still held after every thread stopped");
	pthread_mutex_unlock(obj);
	return 0;
}

const struct sl_prim sl_prim_pthread_mutex = {
	.name = "pthread-mutex",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "glibc's default pthread mutex (the baseline every mutex is read against)",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_mutex_t),
	.init = pmutex_init,
	.destroy = pmutex_destroy,
	.lock = { .lock = pmutex_lock, .unlock = pmutex_unlock,
		  .trylock = pmutex_trylock },
	.check = pmutex_check,
};
