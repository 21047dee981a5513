#include <math.h>
#include <string.h>

#include "util/hist.h"

void sl_hist_init(struct sl_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void sl_hist_merge(struct sl_hist *dst, const struct sl_hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < SL_HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t sl_hist_bucket_low(unsigned i)
{
	unsigned e;

	if (i < SL_HIST_SUB)
		return i;
	e = i / SL_HIST_SUB + SL_HIST_SUB_BITS - 1;
	return ((uint64_t)SL_HIST_SUB + i % SL_HIST_SUB) << (e - SL_HIST_SUB_BITS);
}

uint64_t sl_hist_bucket_high(unsigned i)
{
	unsigned e;

	if (i < SL_HIST_SUB)
		return i;
	e = i / SL_HIST_SUB + SL_HIST_SUB_BITS - 1;
	return sl_hist_bucket_low(i) + ((uint64_t)1 << (e - SL_HIST_SUB_BITS)) - 1;
}

double sl_hist_quantile(const struct sl_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return NAN;
	if (q >= 1.0)
		return (double)h->max;
	if (q <= 0.0)
		return (double)h->min;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < SL_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			double lo = (double)sl_hist_bucket_low(i);
			double hi = (double)sl_hist_bucket_high(i);
			double mid = lo + (hi - lo) / 2.0;

			if (mid < (double)h->min)
				mid = (double)h->min;
			if (mid > (double)h->max)
				mid = (double)h->max;
			return mid;
		}
	}
	return (double)h->max;
}

double sl_hist_mean(const struct sl_hist *h)
{
	return h->count ? h->sum / (double)h->count : NAN;
}
