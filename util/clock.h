/*
 * CLOCK_MONOTONIC in nanoseconds.  The measured window is always timed with
 * this clock by the main thread; vDSO makes a read cost tens of nanoseconds,
 * and sl_clock_cost_ns() measures exactly how many on this machine.
 */
#ifndef SL_UTIL_CLOCK_H
#define SL_UTIL_CLOCK_H

#include <stdint.h>
#include <stdatomic.h>
#include <time.h>

#define SL_NS_PER_SEC 1000000000ull
#define SL_NS_PER_MS 1000000ull
#define SL_NS_PER_US 1000ull

static inline uint64_t sl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Sleep for ns nanoseconds, resuming after signals until the time has passed
 * or *cancel (if not NULL) turns non-zero.  Returns the time actually slept. */
uint64_t sl_sleep_ns(uint64_t ns, const atomic_int *cancel);

/* Median cost of one sl_now_ns() call in nanoseconds (measured now). */
double sl_clock_cost_ns(void);

#endif
