/*
 * Statistics over repetitions and threads.  Inputs are never modified:
 * callers pass arrays they go on using (per-thread counts, rows' rates).
 * An empty input has no centre and no spread, so it gives NAN.
 */
#include "reports/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sl_stat_median(const double *v, size_t n)
{
	double small[64];
	double *s = small;
	double m;

	if (n == 0)
		return NAN;
	/* Repetition counts are small; the heap is only for big inputs. */
	if (n > sizeof(small) / sizeof(small[0])) {
		s = malloc(n * sizeof(*s));
		if (!s)
			return NAN;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
	if (s != small)
		free(s);
	return m;
}

double sl_stat_mean(const double *v, size_t n)
{
	double sum = 0.0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

double sl_stat_stddev(const double *v, size_t n)
{
	double mean, ss = 0.0;

	if (n == 0)
		return NAN;
	if (n == 1)
		return 0.0;
	/* Two passes: summing squares of deviations from the mean avoids the
	 * cancellation of sum(x^2) - n*mean^2 on large, close values. */
	mean = sl_stat_mean(v, n);
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - mean) * (v[i] - mean);
	return sqrt(ss / (double)(n - 1));
}

double sl_stat_min(const double *v, size_t n)
{
	double m;

	if (n == 0)
		return NAN;
	m = v[0];
	for (size_t i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double sl_stat_max(const double *v, size_t n)
{
	double m;

	if (n == 0)
		return NAN;
	m = v[0];
	for (size_t i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

double sl_stat_jain(const uint64_t *x, size_t n)
{
	/* Squares of op counts overflow 64 bits after about 4e9 ops. */
	long double sum = 0.0L, sq = 0.0L;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++) {
		long double v = (long double)x[i];

		sum += v;
		sq += v * v;
	}
	if (sq == 0.0L)
		return 1.0; /* nobody did anything: equally */
	return (double)(sum * sum / ((long double)n * sq));
}
