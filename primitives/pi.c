/*
 * mutex-pi: a priority-inheritance mutex on the kernel's PI futexes.
 *
 * The futex word (the first member of the object, which the tests rely on)
 * holds the owner's TID, or 0 when the lock is free; the kernel adds
 * FUTEX_WAITERS while threads are blocked on it.  That is the protocol
 * FUTEX_LOCK_PI / FUTEX_UNLOCK_PI define, and it is what lets the kernel
 * find the owner of a contended lock and lend it a blocked waiter's
 * real-time priority: a low-priority owner can then no longer be starved by
 * medium-priority threads while a high-priority thread waits (priority
 * inversion).
 *
 * Uncontended, both sides stay in user space: lock is one CAS 0 -> tid,
 * unlock one CAS tid -> 0.  Any other value means the kernel is involved:
 * lock calls FUTEX_LOCK_PI, which either takes the lock (it was freed
 * meanwhile) or queues the caller on the owner's rt_mutex, sleeping until the
 * kernel hands it ownership; unlock finds FUTEX_WAITERS set and calls
 * FUTEX_UNLOCK_PI, which writes the top waiter's TID into the word and wakes
 * it.  Ownership passes directly, so a releasing thread cannot take the lock
 * straight back: every contended hand-off costs the waiter's wake-up, which
 * is where the throughput goes (see the man page).  The caller's TID comes
 * from gettid() in thread_init and lives in the thread's context.
 *
 * Ordering: the fast-path CAS in lock is acquire and pairs with the release
 * CAS in unlock.  On the slow path the kernel moves ownership, so unlock
 * first performs a release read-modify-write of the word (adding 0 changes
 * nothing the kernel sees); the kernel's hand-off cmpxchg on the same word is
 * itself an atomic read-modify-write, so it continues that release sequence,
 * and the acquire load the new owner performs when FUTEX_LOCK_PI returns
 * (it reads the TID the kernel wrote) synchronizes with the unlocker's
 * release.  The same explicit pair makes the hand-off visible to
 * ThreadSanitizer, which does not look inside system calls.
 *
 * Errors: FUTEX_LOCK_PI can return EINTR or EAGAIN (the owner is exiting);
 * both are retried.  Anything else (ENOMEM, EDEADLK, ...) is a broken
 * environment or a broken invariant: lock cannot fail, so the first such
 * error is recorded, the caller retries after yielding (a lock that can never
 * be taken is then reported stuck by the runner), and check() reports it.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "primitives/prim.h"
#include "util/atomics.h"

struct sl_mutex_pi {
	_Atomic uint32_t word; /* 0 free, else owner TID (+ FUTEX_WAITERS) */
	_Atomic int error;     /* first unexpected errno of a futex call */
	_Atomic int error_op;  /* FUTEX_LOCK_PI or FUTEX_UNLOCK_PI */
};

struct pi_tctx {
	uint32_t tid;
};

static long futex_pi(_Atomic uint32_t *word, int op)
{
	return syscall(SYS_futex, (uint32_t *)word, op | FUTEX_PRIVATE_FLAG, 0,
		       NULL, NULL, 0);
}

static void pi_record(struct sl_mutex_pi *m, int op, int e)
{
	int none = 0;

	/* relaxed: check() reads it after every thread was joined */
	if (atomic_compare_exchange_strong_explicit(&m->error, &none, e,
						    memory_order_relaxed,
						    memory_order_relaxed))
		atomic_store_explicit(&m->error_op, op, memory_order_relaxed);
}

static int pi_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_mutex_pi *m = obj;

	(void)conf;
	(void)err;
	atomic_init(&m->word, 0);
	atomic_init(&m->error, 0);
	atomic_init(&m->error_op, 0);
	return 0;
}

static void pi_thread_init(void *obj, void *tctx)
{
	struct pi_tctx *t = tctx;

	(void)obj;
	t->tid = (uint32_t)gettid();
}

static bool pi_trylock(void *obj, void *tctx)
{
	struct sl_mutex_pi *m = obj;
	struct pi_tctx *t = tctx;
	uint32_t expected = 0;

	/* acquire: pairs with the release CAS or release RMW in pi_unlock */
	return atomic_compare_exchange_strong_explicit(&m->word, &expected,
						       t->tid,
						       memory_order_acquire,
						       memory_order_relaxed);
}

static void pi_lock(void *obj, void *tctx)
{
	struct sl_mutex_pi *m = obj;
	struct pi_tctx *t = tctx;

	while (!pi_trylock(obj, tctx)) {
		if (futex_pi(&m->word, FUTEX_LOCK_PI) == 0) {
			/* acquire: reads the TID the kernel's hand-off wrote,
			 * continuing the release sequence of pi_unlock's RMW */
			uint32_t w = atomic_load_explicit(&m->word,
							  memory_order_acquire);

			if ((w & FUTEX_TID_MASK) == t->tid)
				return;
			pi_record(m, FUTEX_LOCK_PI, EPROTO);
		} else if (errno != EINTR && errno != EAGAIN) {
			pi_record(m, FUTEX_LOCK_PI, errno);
			sched_yield();
		}
	}
}

static void pi_unlock(void *obj, void *tctx)
{
	struct sl_mutex_pi *m = obj;
	struct pi_tctx *t = tctx;
	uint32_t expected = t->tid;

	/* release: pairs with the acquire CAS in pi_trylock */
	if (atomic_compare_exchange_strong_explicit(&m->word, &expected, 0,
						    memory_order_release,
						    memory_order_relaxed))
		return;
	/* Waiters: the kernel hands the lock over.  This RMW heads the release
	 * sequence the kernel's cmpxchg continues (see the header). */
	atomic_fetch_add_explicit(&m->word, 0, memory_order_release);
	while (futex_pi(&m->word, FUTEX_UNLOCK_PI) != 0) {
		if (errno != EINTR && errno != EAGAIN) {
			pi_record(m, FUTEX_UNLOCK_PI, errno);
			break;
		}
	}
}

static int pi_check(void *obj, struct sl_err *err)
{
	struct sl_mutex_pi *m = obj;
	uint32_t w = atomic_load_explicit(&m->word, memory_order_relaxed);
	int e = atomic_load_explicit(&m->error, memory_order_relaxed);

	if (e)
		return sl_err_set(err, -EPROTO, "%s failed: %s",
				  atomic_load_explicit(&m->error_op,
						       memory_order_relaxed) ==
						  FUTEX_LOCK_PI
					  ? "FUTEX_LOCK_PI"
					  : "FUTEX_UNLOCK_PI",
				  e == EPROTO ? "returned without giving ownership"
					      : strerror(e));
	if (w != 0)
		return sl_err_set(err, -EPROTO,
				  "mutex-pi word is 0x%x (owner TID %u%s) after every thread stopped (expected 0, free)",
				  w, w & FUTEX_TID_MASK,
				  w & FUTEX_WAITERS ? ", waiters" : "");
	return 0;
}

/* The kernel may lack PI futexes (CONFIG_FUTEX_PI off, some emulators):
 * FUTEX_LOCK_PI on a free word takes it, FUTEX_UNLOCK_PI frees it. */
static bool pi_supported(char *why, size_t n)
{
	_Atomic uint32_t word = 0;

	if (futex_pi(&word, FUTEX_LOCK_PI) != 0) {
		snprintf(why, n, "FUTEX_LOCK_PI is not available: %s",
			 strerror(errno));
		return false;
	}
	futex_pi(&word, FUTEX_UNLOCK_PI);
	return true;
}

const struct sl_prim sl_prim_mutex_pi = {
	.name = "mutex-pi",
	.family = "mutex",
	.kind = SL_KIND_LOCK,
	.summary = "priority-inheritance futex mutex: word holds the owner TID; FUTEX_LOCK_PI/UNLOCK_PI when contended",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_mutex_pi),
	.tctx_size = sizeof(struct pi_tctx),
	.init = pi_init,
	.thread_init = pi_thread_init,
	.lock = { .lock = pi_lock, .unlock = pi_unlock,
		  .trylock = pi_trylock },
	.check = pi_check,
	.supported = pi_supported,
};
