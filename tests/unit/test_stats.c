/*
 * Statistics over repetitions: known values, inputs left untouched, and the
 * empty and single-element cases that a sweep with failed points produces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "reports/report.h"

#define EPS 1e-9

static void assert_close(double got, double want)
{
	if (fabs(got - want) > EPS * (fabs(want) > 1.0 ? fabs(want) : 1.0))
		fail_msg("got %.12g, want %.12g", got, want);
}

static void test_median_odd(void **state)
{
	double v[] = { 9.0, 1.0, 5.0, 3.0, 7.0 };
	double copy[5];

	(void)state;
	memcpy(copy, v, sizeof(v));
	assert_close(sl_stat_median(v, 5), 5.0);
	/* The caller's order survives: the median sorts a copy. */
	assert_memory_equal(v, copy, sizeof(v));
}

static void test_median_even(void **state)
{
	double v[] = { 4.0, 1.0, 3.0, 2.0 };
	double copy[4];

	(void)state;
	memcpy(copy, v, sizeof(v));
	assert_close(sl_stat_median(v, 4), 2.5);
	assert_memory_equal(v, copy, sizeof(v));
}

static void test_median_small_and_large(void **state)
{
	double one = 42.0;
	double big[1001];

	(void)state;
	assert_true(isnan(sl_stat_median(NULL, 0)));
	assert_close(sl_stat_median(&one, 1), 42.0);
	/* More values than the on-stack copy holds: 1000, 999, ..., 0. */
	for (size_t i = 0; i < 1001; i++)
		big[i] = (double)(1000 - i);
	assert_close(sl_stat_median(big, 1001), 500.0);
	assert_close(big[0], 1000.0);
	assert_close(big[1000], 0.0);
}

static void test_mean_min_max(void **state)
{
	double v[] = { 2.0, -1.0, 8.0, 3.0 };

	(void)state;
	assert_close(sl_stat_mean(v, 4), 3.0);
	assert_close(sl_stat_min(v, 4), -1.0);
	assert_close(sl_stat_max(v, 4), 8.0);
	assert_true(isnan(sl_stat_mean(v, 0)));
	assert_true(isnan(sl_stat_min(v, 0)));
	assert_true(isnan(sl_stat_max(v, 0)));
}

static void test_stddev(void **state)
{
	/* Population deviation 2; the sample one is sqrt(32 / 7). */
	double v[] = { 2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0 };
	/* Large and close together: a one-pass formula loses it entirely. */
	double w[] = { 1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0 };

	(void)state;
	assert_close(sl_stat_stddev(v, 8), sqrt(32.0 / 7.0));
	assert_close(sl_stat_stddev(w, 4), sqrt(30.0));
	assert_close(sl_stat_stddev(v, 1), 0.0);
	assert_true(isnan(sl_stat_stddev(v, 0)));
}

static void test_jain(void **state)
{
	uint64_t equal[] = { 500, 500, 500, 500 };
	uint64_t onehot[] = { 0, 0, 1234, 0 };
	uint64_t mixed[] = { 1, 2, 3, 4 };
	uint64_t zero[] = { 0, 0, 0 };
	/* Squares of these overflow 64-bit integers. */
	uint64_t huge[] = { 10000000000ull, 10000000000ull };

	(void)state;
	assert_close(sl_stat_jain(equal, 4), 1.0);
	assert_close(sl_stat_jain(onehot, 4), 0.25);
	/* (1+2+3+4)^2 / (4 * (1+4+9+16)) = 100 / 120 */
	assert_close(sl_stat_jain(mixed, 4), 100.0 / 120.0);
	assert_close(sl_stat_jain(zero, 3), 1.0);
	assert_close(sl_stat_jain(huge, 2), 1.0);
	assert_true(isnan(sl_stat_jain(NULL, 0)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median_odd),
		cmocka_unit_test(test_median_even),
		cmocka_unit_test(test_median_small_and_large),
		cmocka_unit_test(test_mean_min_max),
		cmocka_unit_test(test_stddev),
		cmocka_unit_test(test_jain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
