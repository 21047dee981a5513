/*
 * glibc's own primitives as reference points.  pthread-mutex is the default
 * (PTHREAD_MUTEX_NORMAL-like) mutex: a futex word with lock elision off,
 * no spinning before it sleeps.  pthread-adaptive is
 * PTHREAD_MUTEX_ADAPTIVE_NP: before sleeping, a contender polls the word
 * with exponential backoff for up to twice a per-mutex running average of
 * past spins plus 10 rounds, capped at 100 (glibc.pthread.mutex_spin_count).
 * pthread-pi is a
 * PTHREAD_PRIO_INHERIT mutex: the futex word holds the owner's TID and every
 * contended lock or unlock goes through FUTEX_LOCK_PI / FUTEX_UNLOCK_PI, where
 * the kernel hands the lock directly to the top waiter and lends a blocked
 * real-time waiter's priority to the owner.
 *
 * Ordering is glibc's: its lock and unlock are acquire and release
 * operations (POSIX memory synchronization); ThreadSanitizer knows them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
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

/* A mutex of type (-1: default) and protocol (-1: default). */
static int pmutex_init_attr(void *obj, int type, int protocol,
			    struct sl_err *err)
{
	pthread_mutexattr_t attr;
	int rc = pthread_mutexattr_init(&attr);

	if (rc)
		return sl_err_set(err, -rc, "pthread_mutexattr_init: %s", strerror(rc));
	if (type >= 0 && (rc = pthread_mutexattr_settype(&attr, type))) {
		pthread_mutexattr_destroy(&attr);
		return sl_err_set(err, -rc, "pthread_mutexattr_settype: %s",
				  strerror(rc));
	}
	if (protocol >= 0 &&
	    (rc = pthread_mutexattr_setprotocol(&attr, protocol))) {
		pthread_mutexattr_destroy(&attr);
		return sl_err_set(err, -rc, "pthread_mutexattr_setprotocol: %s",
				  strerror(rc));
	}
	rc = pthread_mutex_init(obj, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc)
		return sl_err_set(err, -rc, "pthread_mutex_init: %s", strerror(rc));
	return 0;
}

static int padaptive_init(void *obj, const struct sl_prim_conf *conf,
			  struct sl_err *err)
{
	(void)conf;
	return pmutex_init_attr(obj, PTHREAD_MUTEX_ADAPTIVE_NP, -1, err);
}

static int ppi_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	(void)conf;
	return pmutex_init_attr(obj, -1, PTHREAD_PRIO_INHERIT, err);
}

/* A PI mutex needs FUTEX_LOCK_PI in the kernel; try one lock and unlock. */
static bool ppi_supported(char *why, size_t n)
{
	pthread_mutex_t m;
	struct sl_err err;
	int rc;

	if (ppi_init(&m, NULL, &err) < 0) {
		snprintf(why, n, "priority-inheritance mutexes unavailable: %s",
			 err.msg);
		return false;
	}
	rc = pthread_mutex_lock(&m);
	if (rc == 0)
		pthread_mutex_unlock(&m);
	pthread_mutex_destroy(&m);
	if (rc) {
		snprintf(why, n, "priority-inheritance mutexes unavailable: %s",
			 strerror(rc));
		return false;
	}
	return true;
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

const struct sl_prim sl_prim_pthread_adaptive = {
	.name = "pthread-adaptive",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "glibc's PTHREAD_MUTEX_ADAPTIVE_NP mutex: polls for an adaptive count, then sleeps",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_mutex_t),
	.init = padaptive_init,
	.destroy = pmutex_destroy,
	.lock = { .lock = pmutex_lock, .unlock = pmutex_unlock,
		  .trylock = pmutex_trylock },
	.check = pmutex_check,
};

const struct sl_prim sl_prim_pthread_pi = {
	.name = "pthread-pi",
	.family = "baseline",
	.kind = SL_KIND_LOCK,
	.summary = "glibc's priority-inheritance mutex (PTHREAD_PRIO_INHERIT): contended ops are FUTEX_LOCK_PI/UNLOCK_PI",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_mutex_t),
	.init = ppi_init,
	.destroy = pmutex_destroy,
	.lock = { .lock = pmutex_lock, .unlock = pmutex_unlock,
		  .trylock = pmutex_trylock },
	.check = pmutex_check,
	.supported = ppi_supported,
};
