/*
 * Calibrated busy work for the contention dials (--cs-ns, --think-ns).
 *
 * The work is a counted loop with an empty asm statement in its body, so the
 * compiler can neither delete it nor collapse it into one addition; it touches
 * no memory, so it measures time without adding cache traffic of its own.
 * The rate is measured at the start of every invocation because the host's
 * clock speed drifts (boost, power states, a noisy neighbour on a VM).
 */
#include <errno.h>

#include "util/clock.h"
#include "workloads/workload.h"

__attribute__((noinline)) void sl_work_loop(uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ __volatile__("" : : "r"(i));
}

int sl_calibrate(struct sl_calib *c, struct sl_err *err)
{
	/* Fastest of several short rounds: interference only ever slows a
	 * round down, so the minimum is the undisturbed rate. */
	enum { ROUNDS = 7 };
	uint64_t iters = 200000;
	uint64_t best = UINT64_MAX;
	uint64_t start = sl_now_ns();

	/* Grow the round until it lasts at least 200 us, so the clock's own
	 * cost and resolution are noise. */
	for (;;) {
		uint64_t t0 = sl_now_ns();

		sl_work_loop(iters);
		if (sl_now_ns() - t0 >= 200 * SL_NS_PER_US || iters > (1ull << 34))
			break;
		iters *= 2;
	}
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = sl_now_ns(), dt;

		sl_work_loop(iters);
		dt = sl_now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	if (best == 0 || best == UINT64_MAX)
		return sl_err_set(err, -EIO, "busy-work calibration failed: the clock did not advance");
	c->loops_per_us = (double)iters * 1000.0 / (double)best;
	c->measured_ns = sl_now_ns() - start;
	return 0;
}
