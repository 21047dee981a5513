/*
 * Thin wrappers over the futex(2) system call, private to this process
 * (FUTEX_PRIVATE_FLAG: the kernel hashes by address, no page-table walk).
 */
#ifndef SL_PRIMITIVES_FUTEX_H
#define SL_PRIMITIVES_FUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Sleep while *addr == expected.  Returns at once (EAGAIN) when the word
 * already differs, which is what closes the lost-wake-up window: the kernel
 * compares and queues the caller atomically with respect to sl_futex_wake.
 * Spurious returns happen (signals); callers always re-check in a loop.
 * true: the caller slept (woken, or interrupted); false: it did not.
 */
static inline bool sl_futex_wait(_Atomic uint32_t *addr, uint32_t expected)
{
	return syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected,
		       NULL, NULL, 0) == 0 ||
	       errno == EINTR;
}

/* As sl_futex_wait, for at most timeout (relative). */
static inline void sl_futex_wait_for(_Atomic uint32_t *addr, uint32_t expected,
				     const struct timespec *timeout)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected,
		timeout, NULL, 0);
}

/* Wake up to n waiters on addr; returns how many were woken. */
static inline int sl_futex_wake(_Atomic uint32_t *addr, int n)
{
	return (int)syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, n,
			    NULL, NULL, 0);
}

#endif
