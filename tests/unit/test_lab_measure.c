/*
 * The lab's measuring helper on real runs: per-role shares and longest
 * waits come from the threads the shape gave each role, hand-off figures
 * from the latency samples, and everything that was not measured is NAN,
 * never 0.  Also the time formatter the explanations use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "util/clock.h"

static struct sl_topo *topo;
static struct sl_calib calib;

static int setup(void **state)
{
	struct sl_err err;

	(void)state;
	if (sl_topo_load(&topo, NULL, NULL, &err) < 0 || sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_topo_free(topo);
	return 0;
}

static struct sl_demo_ctx context(void)
{
	struct sl_demo_ctx ctx = {
		.topo = topo,
		.calib = &calib,
		.repeat = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.quick = true,
		.pus = 2,
		.name = "test",
	};

	return ctx;
}

/* Measure pt until every thread did some operations (and, when asked, an
 * acquire that waited was sampled), at most 5 times: with the other test
 * suites running beside this one, a thread can be kept off its CPU for the
 * whole 60 ms window, and these tests judge the bookkeeping, not the
 * scheduler. */
static void measure_busy(struct sl_demo_ctx *ctx, struct sl_point *pt,
			 struct sl_lab_measure *m, bool want_handoffs)
{
	struct sl_err err;

	for (int i = 0; i < 5; i++) {
		assert_int_equal(sl_lab_measure(ctx, pt, m, &err), 0);
		assert_int_equal(m->status, SL_STATUS_OK);
		if (m->min_thread_ops > 0 &&
		    (!want_handoffs || m->handoff_p50_ns > 0))
			return;
	}
}

/* Dedicated writers: the writer and reader shares are the ops of those
 * threads and add up to all ops; no thread had the mixed role.  One writer
 * and one reader, so the two threads' op counts are the run's minimum and
 * maximum, whichever the writer's is (a loaded machine may starve it). */
static void test_roles_of_rw_threads(void **state)
{
	struct sl_demo_ctx ctx = context();
	struct sl_point pt = sl_lab_point(sl_lab_prim("rwlock"), 2);
	struct sl_lab_measure m;
	double w, r;

	(void)state;
	pt.writers = 1;
	pt.cs_ns = 200;
	pt.think_ns = 200;
	pt.lat_period = 1;
	measure_busy(&ctx, &pt, &m, false);
	assert_true(m.ops > 0);
	w = m.role_ops_share[SL_ROLE_WRITER] * (double)m.ops;
	r = m.role_ops_share[SL_ROLE_READER] * (double)m.ops;
	assert_true(fabs(w + r - (double)m.ops) < 0.5);
	assert_true((fabs(w - m.min_thread_ops) < 0.5 && fabs(r - m.max_thread_ops) < 0.5) ||
		    (fabs(w - m.max_thread_ops) < 0.5 && fabs(r - m.min_thread_ops) < 0.5));
	assert_true(isnan(m.role_ops_share[SL_ROLE_ANY]));
	assert_true(isnan(m.role_lat_max_ns[SL_ROLE_ANY]));
	/* Thread 0 is the writer (the rw shape puts writers first), thread 1
	 * the reader; a thread with no sample has no longest wait. */
	if (isnan(m.role_lat_max_ns[SL_ROLE_WRITER]))
		assert_true(m.max_thread_lat_ns[0] == 0);
	else
		assert_true(m.role_lat_max_ns[SL_ROLE_WRITER] == m.max_thread_lat_ns[0]);
	assert_true(m.role_lat_max_ns[SL_ROLE_READER] == m.max_thread_lat_ns[1]);
	assert_true(m.role_lat_max_ns[SL_ROLE_READER] > 0);
	assert_true(m.lat_max_ns >= m.role_lat_max_ns[SL_ROLE_READER]);
}

/* A lock: every thread is ANY, with its whole share; sampled acquires
 * that waited give hand-off figures. */
static void test_lock_roles_and_handoffs(void **state)
{
	struct sl_demo_ctx ctx = context();
	struct sl_point pt = sl_lab_point(sl_lab_prim("spin-ttas"), 2);
	struct sl_lab_measure m;

	(void)state;
	pt.cs_ns = 500;
	pt.lat_period = 2;
	measure_busy(&ctx, &pt, &m, true);
	assert_true(fabs(m.role_ops_share[SL_ROLE_ANY] - 1.0) < 1e-9);
	assert_true(isnan(m.role_ops_share[SL_ROLE_WRITER]));
	assert_true(m.role_lat_max_ns[SL_ROLE_ANY] == m.lat_max_ns);
	assert_true(m.handoff_p50_ns > 0);
	assert_true(m.handoff_p99_ns >= m.handoff_p50_ns);
	/* spin-ttas counts nothing of its own: no event figure, not 0. */
	for (unsigned i = 0; i < SL_PRIM_EVENTS; i++)
		assert_true(isnan(m.events_per_sec[i]));
}

/* Without latency sampling nothing latency-based is reported as 0. */
static void test_unmeasured_is_nan(void **state)
{
	struct sl_demo_ctx ctx = context();
	struct sl_point pt = sl_lab_point(sl_lab_prim("mutex"), 2);
	struct sl_lab_measure m;
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_lab_measure(&ctx, &pt, &m, &err), 0);
	assert_int_equal(m.status, SL_STATUS_OK);
	assert_true(isnan(m.handoff_p50_ns) && isnan(m.handoff_p99_ns));
	for (unsigned r = 0; r < SL_ROLE_COUNT_; r++)
		assert_true(isnan(m.role_lat_max_ns[r]));
	assert_true(m.role_ops_share[SL_ROLE_ANY] == 1.0);
	/* mutex names two events (sleeps, wakes): rates, and nothing for
	 * the slots it leaves unnamed. */
	assert_true(m.events_per_sec[0] >= 0 && isfinite(m.events_per_sec[0]));
	assert_true(m.events_per_sec[1] >= 0 && isfinite(m.events_per_sec[1]));
	assert_true(isnan(m.events_per_sec[2]) && isnan(m.events_per_sec[3]));
}

static void test_fmt_time(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(sl_lab_fmt_time(b, sizeof(b), 840), "840 ns");
	assert_string_equal(sl_lab_fmt_time(b, sizeof(b), 30100), "30.1 us");
	assert_string_equal(sl_lab_fmt_time(b, sizeof(b), 2.05e6), "2.05 ms");
	assert_string_equal(sl_lab_fmt_time(b, sizeof(b), 1.2e9), "1.2 s");
	assert_string_equal(sl_lab_fmt_time(b, sizeof(b), NAN), "n/s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_of_rw_threads),
		cmocka_unit_test(test_lock_roles_and_handoffs),
		cmocka_unit_test(test_unmeasured_is_nan),
		cmocka_unit_test(test_fmt_time),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
