/*
 * Statistics over repetitions: known values, inputs left untouched, and the
 * empty and single-element cases that a sweep with failed points produces.
 * Student t against closed forms and published tables; Mann-Whitney against
 * distributions counted by hand and the published critical values of U.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
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

/* Quantiles interpolate between order statistics; the ends are the minimum
 * and maximum, the middle the median; the input keeps its order. */
static void test_quantile(void **state)
{
	double v[] = { 40.0, 10.0, 30.0, 20.0, 50.0 };
	double copy[5];

	(void)state;
	memcpy(copy, v, sizeof(v));
	assert_close(sl_stat_quantile(v, 5, 0.0), 10.0);
	assert_close(sl_stat_quantile(v, 5, 1.0), 50.0);
	assert_close(sl_stat_quantile(v, 5, 0.5), sl_stat_median(v, 5));
	/* 0.1 of the way over 4 gaps: 0.4 of the way from 10 to 20. */
	assert_close(sl_stat_quantile(v, 5, 0.1), 14.0);
	assert_close(sl_stat_quantile(v, 5, 0.9), 46.0);
	assert_memory_equal(v, copy, sizeof(v));
	assert_close(sl_stat_quantile(v, 1, 0.9), 40.0);
	assert_true(isnan(sl_stat_quantile(v, 0, 0.5)));
	assert_true(isnan(sl_stat_quantile(v, 5, 1.5)));
	assert_true(isnan(sl_stat_quantile(v, 5, -0.1)));
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

/* Two levels, as a host that moves a VM's vCPUs between near and far cores
 * leaves them (two-thread FIFO locks: about 4M or 20M ops/s per run), are
 * found in any order, with each level's median and size; one noisy level,
 * one outlier, an even spread or too few values are not. */
static void test_two_levels(void **state)
{
	const double moved[] = { 19.2e6, 3.9e6, 20.7e6, 3.7e6, 18.8e6, 24.1e6, 3.8e6 };
	const double noisy[] = { 10e6, 14e6, 9e6, 17e6, 12e6, 11e6 };
	const double outlier[] = { 20e6, 21e6, 4e6, 19e6, 22e6 };
	const double spread[] = { 1e6, 2e6, 4e6, 8e6, 16e6, 32e6 };
	/* A 2x jump, but the upper group itself spans more than that. */
	const double wide[] = { 1e6, 1.1e6, 2.5e6, 6e6 };
	const double zero[] = { 0.0, 0.0, 5e6, 5e6 };
	struct sl_levels lv;

	(void)state;
	assert_true(sl_stat_two_levels(moved, 7, &lv));
	assert_int_equal(lv.nlow, 3);
	assert_int_equal(lv.nhigh, 4);
	assert_close(lv.low, 3.8e6);
	assert_close(lv.high, (19.2e6 + 20.7e6) / 2.0);
	assert_false(sl_stat_two_levels(noisy, 6, &lv));
	assert_false(sl_stat_two_levels(outlier, 5, &lv));
	assert_false(sl_stat_two_levels(spread, 6, &lv));
	assert_false(sl_stat_two_levels(wide, 4, &lv));
	assert_false(sl_stat_two_levels(zero, 4, &lv));
	assert_false(sl_stat_two_levels(moved, 3, &lv));
	/* The smallest split: two and two. */
	assert_true(sl_stat_two_levels((const double[]){ 5.0, 1.0, 5.5, 1.1 }, 4, &lv));
	assert_int_equal(lv.nlow, 2);
	assert_close(lv.high, 5.25);
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
	assert_true(isnan(sl_stat_jain(zero, 3)));
	assert_close(sl_stat_jain(huge, 2), 1.0);
	assert_true(isnan(sl_stat_jain(NULL, 0)));
}

/* Within the three decimals a printed table gives. */
static void assert_table(double got, double want)
{
	if (fabs(got - want) > 0.0005 + 1e-12)
		fail_msg("got %.6f, table says %.3f", got, want);
}

static void test_t_cdf_closed_forms(void **state)
{
	(void)state;
	/* df = 1 is the Cauchy distribution: 1/2 + atan(t) / pi. */
	assert_close(sl_stat_t_cdf(1.0, 1.0), 0.75);
	assert_close(sl_stat_t_cdf(-3.0, 1.0), 0.5 + atan(-3.0) / M_PI);
	/* df = 2: 1/2 + t / (2 sqrt(2 + t^2)). */
	assert_close(sl_stat_t_cdf(2.0, 2.0), 0.5 + 2.0 / (2.0 * sqrt(6.0)));
	assert_close(sl_stat_t_cdf(0.0, 7.0), 0.5);
	assert_close(sl_stat_t_cdf(INFINITY, 3.0), 1.0);
	assert_true(isnan(sl_stat_t_cdf(1.0, 0.0)));
}

static void test_t_quantile_table(void **state)
{
	/* Two-sided 95% critical values, t(0.975, df), as every table prints
	 * them; the last stands for the normal distribution's 1.960. */
	static const struct { double df, t; } t975[] = {
		{ 1, 12.706 }, { 2, 4.303 }, { 3, 3.182 }, { 4, 2.776 },
		{ 5, 2.571 }, { 6, 2.447 }, { 7, 2.365 }, { 8, 2.306 },
		{ 9, 2.262 }, { 10, 2.228 }, { 20, 2.086 }, { 30, 2.042 },
		{ 60, 2.000 }, { 120, 1.980 }, { 1e9, 1.960 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t975) / sizeof(t975[0]); i++)
		assert_table(sl_stat_t_quantile(0.975, t975[i].df), t975[i].t);
	/* Other levels from the same tables. */
	assert_table(sl_stat_t_quantile(0.95, 10), 1.812);
	assert_table(sl_stat_t_quantile(0.995, 5), 4.032);
	/* df = 2 has a closed form: (2p - 1) / sqrt(2 p (1 - p)). */
	assert_close(sl_stat_t_quantile(0.975, 2), 0.95 / sqrt(2 * 0.975 * 0.025));
	assert_close(sl_stat_t_quantile(0.025, 4), -sl_stat_t_quantile(0.975, 4));
	assert_close(sl_stat_t_quantile(0.5, 4), 0.0);
	assert_true(isnan(sl_stat_t_quantile(0.0, 4)));
	assert_true(isnan(sl_stat_t_quantile(1.0, 4)));
}

static void test_mean_ci(void **state)
{
	double v[] = { 10.0, 12.0, 14.0 };
	double w[] = { 5.0, 5.0, 5.0, 5.0 };
	double lo, hi, half;

	(void)state;
	/* Mean 12, s = 2, t(0.975, 2) = 0.95 / sqrt(0.04875): half-width
	 * t * 2 / sqrt(3) = 4.96828. */
	half = 0.95 / sqrt(2 * 0.975 * 0.025) * 2.0 / sqrt(3.0);
	assert_int_equal(sl_stat_mean_ci(v, 3, 0.95, &lo, &hi), 0);
	assert_close(lo, 12.0 - half);
	assert_close(hi, 12.0 + half);
	assert_true(fabs(half - 4.968) < 0.001);
	/* No spread, no width. */
	assert_int_equal(sl_stat_mean_ci(w, 4, 0.95, &lo, &hi), 0);
	assert_close(lo, 5.0);
	assert_close(hi, 5.0);
	/* One value: no interval, and it says so. */
	assert_int_equal(sl_stat_mean_ci(v, 1, 0.95, &lo, &hi), -EINVAL);
	assert_true(isnan(lo) && isnan(hi));
	assert_int_equal(sl_stat_mean_ci(v, 3, 1.0, &lo, &hi), -EINVAL);
}

/* n distinct values of x, each above exactly c[i] of y = 2, 4, ..., 2n,
 * the c[i] summing to u: U = u, with no ties. */
static void samples_with_u(size_t n, unsigned u, double *x, double *y)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = u > n ? (unsigned)n : u;

		y[i] = 2.0 * (double)(i + 1);
		x[i] = 2.0 * c + 1.0 + 0.01 * (double)i;
		u -= c;
	}
}

static void test_mann_whitney_separated(void **state)
{
	double x[] = { 1, 2, 3, 4, 5 }, y[] = { 6, 7, 8, 9, 10 };
	double u;

	(void)state;
	/* Complete separation: 2 of the C(10, 5) = 252 splits are as extreme. */
	assert_close(sl_stat_mann_whitney(x, 5, y, 5, &u), 2.0 / 252.0);
	assert_close(u, 0.0);
	assert_close(sl_stat_mann_whitney(y, 5, x, 5, &u), 2.0 / 252.0);
	assert_close(u, 25.0);
	/* 3 against 3: 2 / 20, so no difference is ever significant at 5%. */
	assert_close(sl_stat_mann_whitney(x, 3, y, 3, NULL), 0.1);
	assert_close(sl_stat_mann_whitney(x, 4, y, 4, NULL), 2.0 / 70.0);
	/* Unequal sizes: 2 against 5, C(7, 2) = 21. */
	assert_close(sl_stat_mann_whitney(x, 2, y, 5, NULL), 2.0 / 21.0);
	assert_close(sl_stat_mw_min_p(5, 5), 2.0 / 252.0);
	assert_close(sl_stat_mw_min_p(3, 3), 0.1);
	assert_close(sl_stat_mw_min_p(2, 5), 2.0 / 21.0);
	assert_close(sl_stat_mw_min_p(1, 1), 1.0);
	assert_close(sl_stat_mw_min_p(0, 4), 1.0);
}

static void test_mann_whitney_counted(void **state)
{
	double x[5], y[5];
	double u;

	(void)state;
	/* 5 against 5, counted by hand: 1, 1, 2, 3 arrangements have U = 0, 1,
	 * 2, 3, so P(U <= 2) = 4/252 and P(U <= 3) = 7/252, doubled. */
	samples_with_u(5, 2, x, y);
	assert_close(sl_stat_mann_whitney(x, 5, y, 5, &u), 8.0 / 252.0);
	assert_close(u, 2.0);
	samples_with_u(5, 3, x, y);
	assert_close(sl_stat_mann_whitney(x, 5, y, 5, &u), 14.0 / 252.0);
	assert_close(u, 3.0);
	/* The middle of the distribution: nothing at all. */
	samples_with_u(5, 12, x, y);
	assert_true(sl_stat_mann_whitney(x, 5, y, 5, NULL) > 0.6);
}

static void test_mann_whitney_critical_values(void **state)
{
	/* Published critical values of U for a two-sided test at 0.05 with
	 * equal sample sizes: U at or below them is significant, one more is
	 * not. */
	static const struct { size_t n; unsigned crit; } table[] = {
		{ 5, 2 }, { 6, 5 }, { 7, 8 }, { 8, 13 }, { 9, 17 }, { 10, 23 },
		{ 20, 127 },
	};
	double x[20], y[20];

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t n = table[i].n;

		samples_with_u(n, table[i].crit, x, y);
		if (!(sl_stat_mann_whitney(x, n, y, n, NULL) <= 0.05))
			fail_msg("n = %zu: U = %u should be significant", n, table[i].crit);
		samples_with_u(n, table[i].crit + 1, x, y);
		if (!(sl_stat_mann_whitney(x, n, y, n, NULL) > 0.05))
			fail_msg("n = %zu: U = %u should not be significant", n,
				 table[i].crit + 1);
	}
}

static void test_mann_whitney_ties(void **state)
{
	/* Pooled: 1 2 2 2 3 4, midranks 1, 3, 3, 3, 5, 6.  x's rank sum is 7
	 * (U = 1: x's 2s tie y's 2), 3 from the mean 10.5.  Of the 20 ways to
	 * pick 3 ranks, {1,3,3} (3 ways) and {3,5,6} (3 ways) are that far. */
	double x[] = { 1, 2, 2 }, y[] = { 2, 3, 4 };
	double same[] = { 7, 7, 7 };
	double u;

	(void)state;
	assert_close(sl_stat_mann_whitney(x, 3, y, 3, &u), 6.0 / 20.0);
	assert_close(u, 1.0);
	/* Everything tied: no evidence either way. */
	assert_close(sl_stat_mann_whitney(same, 3, same, 3, &u), 1.0);
	assert_close(u, 4.5);
	assert_true(isnan(sl_stat_mann_whitney(x, 0, y, 3, &u)));
	assert_true(isnan(u));
}

static void test_mann_whitney_large(void **state)
{
	double x[40], y[40], lo[40], hi[40];
	double u, p;

	(void)state;
	/* 80 values: the normal approximation.  Odds against evens: U = 780,
	 * mean 800, sd sqrt(40 * 40 * 81 / 12); z = 19.5 / 103.923 = 0.18764,
	 * two-sided p = 0.85116. */
	for (size_t i = 0; i < 40; i++) {
		x[i] = 2.0 * (double)i + 1.0;
		y[i] = 2.0 * (double)i + 2.0;
		lo[i] = (double)i;
		hi[i] = 100.0 + (double)i;
	}
	p = sl_stat_mann_whitney(x, 40, y, 40, &u);
	assert_close(u, 780.0);
	assert_true(fabs(p - 0.85116) < 1e-4);
	assert_true(sl_stat_mann_whitney(lo, 40, hi, 40, NULL) < 1e-12);
	/* Both ways agree near the switch: 32 against 32 exactly. */
	p = sl_stat_mann_whitney(x, 32, y, 32, &u);
	assert_close(u, 496.0);
	assert_true(p > 0.8 && p < 0.9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median_odd),
		cmocka_unit_test(test_median_even),
		cmocka_unit_test(test_median_small_and_large),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_mean_min_max),
		cmocka_unit_test(test_stddev),
		cmocka_unit_test(test_two_levels),
		cmocka_unit_test(test_jain),
		cmocka_unit_test(test_t_cdf_closed_forms),
		cmocka_unit_test(test_t_quantile_table),
		cmocka_unit_test(test_mean_ci),
		cmocka_unit_test(test_mann_whitney_separated),
		cmocka_unit_test(test_mann_whitney_counted),
		cmocka_unit_test(test_mann_whitney_critical_values),
		cmocka_unit_test(test_mann_whitney_ties),
		cmocka_unit_test(test_mann_whitney_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
