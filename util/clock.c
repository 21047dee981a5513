#include "util/clock.h"

#include <errno.h>
#include <stdlib.h>

uint64_t sl_sleep_ns(uint64_t ns, const atomic_int *cancel)
{
	uint64_t start = sl_now_ns();
	uint64_t now = start;

	/* Sleep in slices of at most 10 ms so that a cancel request (a signal
	 * handler's flag) is seen promptly even when no EINTR arrives here
	 * because the signal went to another thread. */
	while (now - start < ns) {
		uint64_t left = ns - (now - start);
		uint64_t slice = left < 10 * SL_NS_PER_MS ? left : 10 * SL_NS_PER_MS;
		struct timespec ts = { (time_t)(slice / SL_NS_PER_SEC),
				       (long)(slice % SL_NS_PER_SEC) };

		if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
			break;
		nanosleep(&ts, NULL);
		now = sl_now_ns();
	}
	return now - start;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sl_clock_cost_ns(void)
{
	enum { ROUNDS = 15, READS = 2000 };
	double per_read[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = sl_now_ns(), t = t0;

		for (int i = 0; i < READS; i++)
			t = sl_now_ns();
		per_read[r] = (double)(t - t0) / READS;
	}
	qsort(per_read, ROUNDS, sizeof(per_read[0]), cmp_double);
	return per_read[ROUNDS / 2];
}
