/*
 * The latency histogram: bucket boundaries, bounded relative error over the
 * whole range, quantiles of known distributions, and merging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "util/hist.h"

static struct sl_hist *new_hist(void)
{
	struct sl_hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	sl_hist_init(h);
	return h;
}

/* Every value lands in a bucket whose bounds hold it; buckets tile the
 * range with no gap or overlap; a bucket is at most 1/32 of its low bound. */
static void test_buckets_tile_the_range(void **state)
{
	(void)state;
	for (unsigned i = 0; i + 1 < SL_HIST_BUCKETS; i++) {
		uint64_t lo = sl_hist_bucket_low(i), hi = sl_hist_bucket_high(i);

		assert_true(lo <= hi);
		assert_int_equal(sl_hist_bucket_low(i + 1), hi + 1);
		assert_int_equal(sl_hist_index(lo), i);
		assert_int_equal(sl_hist_index(hi), i);
		if (lo >= SL_HIST_SUB)
			assert_true((double)(hi - lo + 1) <= (double)lo / SL_HIST_SUB);
	}
	assert_int_equal(sl_hist_index(UINT64_MAX), SL_HIST_BUCKETS - 1);
	assert_int_equal(sl_hist_bucket_high(SL_HIST_BUCKETS - 1), UINT64_MAX);
}

static void test_small_values_are_exact(void **state)
{
	struct sl_hist *h = new_hist();

	(void)state;
	for (uint64_t v = 0; v < SL_HIST_SUB; v++)
		sl_hist_record(h, v);
	/* 32 values 0..31: the median is the 16th smallest, 15. */
	assert_true(sl_hist_quantile(h, 0.5) == 15.0);
	assert_true(sl_hist_quantile(h, 1.0) == 31.0);
	assert_true(sl_hist_quantile(h, 0.0) == 0.0);
	assert_true(fabs(sl_hist_mean(h) - 15.5) < 1e-9);
	free(h);
}

/* 1..100000 uniformly: every quantile within 1/32 of the exact answer. */
static void test_quantiles_of_uniform_within_bound(void **state)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	struct sl_hist *h = new_hist();

	(void)state;
	for (uint64_t v = 1; v <= 100000; v++)
		sl_hist_record(h, v);
	assert_int_equal(h->count, 100000);
	assert_int_equal(h->min, 1);
	assert_int_equal(h->max, 100000);
	for (unsigned i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double want = ceil(qs[i] * 100000.0), got = sl_hist_quantile(h, qs[i]);

		if (fabs(got - want) > want / SL_HIST_SUB)
			fail_msg("q%.3f: got %.1f, want %.0f within %.1f", qs[i], got,
				 want, want / SL_HIST_SUB);
	}
	free(h);
}

/* A bimodal sample: 99% fast, 1% slow.  The p99 must not be pulled to the
 * slow mode and p99.9 must sit in it -- the tail is what the histogram is
 * for. */
static void test_tail_is_not_averaged_away(void **state)
{
	struct sl_hist *h = new_hist();

	(void)state;
	for (int i = 0; i < 9900; i++)
		sl_hist_record(h, 100);
	for (int i = 0; i < 100; i++)
		sl_hist_record(h, 1000000);
	assert_true(fabs(sl_hist_quantile(h, 0.5) - 100.0) <= 100.0 / SL_HIST_SUB);
	assert_true(fabs(sl_hist_quantile(h, 0.99) - 100.0) <= 100.0 / SL_HIST_SUB);
	assert_true(fabs(sl_hist_quantile(h, 0.999) - 1e6) <= 1e6 / SL_HIST_SUB);
	assert_true(sl_hist_quantile(h, 1.0) == 1e6);
	free(h);
}

static void test_empty_gives_nan(void **state)
{
	struct sl_hist *h = new_hist();

	(void)state;
	assert_true(isnan(sl_hist_quantile(h, 0.5)));
	assert_true(isnan(sl_hist_mean(h)));
	free(h);
}

/* Merging per-thread histograms equals recording everything in one. */
static void test_merge_equals_single(void **state)
{
	struct sl_hist *a = new_hist(), *b = new_hist(), *all = new_hist();
	uint64_t x = 88172645463325252ull;

	(void)state;
	for (int i = 0; i < 50000; i++) {
		uint64_t v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = x % 5000000;
		sl_hist_record(i % 3 ? a : b, v);
		sl_hist_record(all, v);
	}
	sl_hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->min, all->min);
	assert_int_equal(a->max, all->max);
	for (unsigned i = 0; i < SL_HIST_BUCKETS; i++)
		assert_int_equal(a->bucket[i], all->bucket[i]);
	assert_true(sl_hist_quantile(a, 0.99) == sl_hist_quantile(all, 0.99));
	free(a);
	free(b);
	free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets_tile_the_range),
		cmocka_unit_test(test_small_values_are_exact),
		cmocka_unit_test(test_quantiles_of_uniform_within_bound),
		cmocka_unit_test(test_tail_is_not_averaged_away),
		cmocka_unit_test(test_empty_gives_nan),
		cmocka_unit_test(test_merge_equals_single),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
