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

/* A cheap tick counter for intervals a primitive times on its own paths:
 * the TSC on x86, CNTVCT on arm64 (a few ns, no system call, no vDSO),
 * CLOCK_MONOTONIC elsewhere.  The unit is the counter's own: compare ticks
 * with ticks, or convert by a rate measured against sl_now_ns(). */
static inline uint64_t sl_ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return sl_now_ns();
#endif
}

/* Sleep for ns nanoseconds, resuming after signals until the time has passed
 * or *cancel (if not NULL) turns non-zero.  Returns the time actually slept. */
uint64_t sl_sleep_ns(uint64_t ns, const atomic_int *cancel);

/* Median cost of one sl_now_ns() call in nanoseconds (measured now). */
double sl_clock_cost_ns(void);

#endif
