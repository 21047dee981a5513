/*
 * Log-linear latency histogram: values below 2^SL_HIST_SUB_BITS are counted
 * exactly; above, each power of two is split into 2^SL_HIST_SUB_BITS equal
 * buckets, so any recorded value is known to within 1/32 (3.1%) of itself.
 * The counts live inline (no allocation when recording): one histogram per
 * thread, written only by that thread, merged by the main thread after the
 * threads were joined.
 */
#ifndef SL_UTIL_HIST_H
#define SL_UTIL_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define SL_HIST_SUB_BITS 5
#define SL_HIST_SUB (1u << SL_HIST_SUB_BITS)
/* Exact buckets [0, SUB) plus SUB buckets for each exponent SUB_BITS..63. */
#define SL_HIST_BUCKETS (SL_HIST_SUB * (64 - SL_HIST_SUB_BITS + 1))

struct sl_hist {
	uint64_t count;
	uint64_t min, max; /* exact; min is UINT64_MAX while empty */
	double sum;        /* for the mean */
	uint64_t bucket[SL_HIST_BUCKETS];
};

static inline unsigned sl_hist_index(uint64_t v)
{
	unsigned e;

	if (v < SL_HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	return (e - SL_HIST_SUB_BITS + 1) * SL_HIST_SUB +
	       (unsigned)((v >> (e - SL_HIST_SUB_BITS)) & (SL_HIST_SUB - 1));
}

static inline void sl_hist_record(struct sl_hist *h, uint64_t v)
{
	h->bucket[sl_hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void sl_hist_init(struct sl_hist *h);
void sl_hist_merge(struct sl_hist *dst, const struct sl_hist *src);
/* Smallest and largest value that land in bucket i. */
uint64_t sl_hist_bucket_low(unsigned i);
uint64_t sl_hist_bucket_high(unsigned i);
/* The value at quantile q (0..1): the midpoint of the bucket holding the
 * ceil(q * count)-th smallest sample, clamped to [min, max]; q >= 1 gives
 * the exact max.  NAN when empty. */
double sl_hist_quantile(const struct sl_hist *h, double q);
double sl_hist_mean(const struct sl_hist *h);

#endif
