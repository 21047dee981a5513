/*
 * Statistics over repetitions and threads: centres and spreads, the Student
 * t interval of a mean, and the Mann-Whitney rank test that `compare` decides
 * on.  Inputs are never modified: callers pass arrays they go on using
 * (per-thread counts, rows' rates).  An empty input has no centre and no
 * spread, so it gives NAN.
 */
#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sl_stat_quantile(const double *v, size_t n, double q)
{
	double small[64];
	double *s = small;
	double pos, r;
	size_t i;

	if (n == 0 || !(q >= 0.0 && q <= 1.0))
		return NAN;
	/* Repetition counts are small; the heap is only for big inputs. */
	if (n > sizeof(small) / sizeof(small[0])) {
		s = malloc(n * sizeof(*s));
		if (!s)
			return NAN;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	/* Linear between the two nearest order statistics; exactly one of
	 * them when the rank is whole (the middle of an odd count). */
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	if ((double)i == pos || i + 1 >= n)
		r = s[i];
	else
		r = s[i] + (pos - (double)i) * (s[i + 1] - s[i]);
	if (s != small)
		free(s);
	return r;
}

double sl_stat_median(const double *v, size_t n)
{
	return sl_stat_quantile(v, n, 0.5);
}

bool sl_stat_two_levels(const double *v, size_t n, struct sl_levels *lv)
{
	double *s;
	double gap = 0.0;
	size_t cut = 0; /* s[0..cut) low, s[cut..n) high */
	bool found;

	if (n < 4)
		return false;
	s = malloc(n * sizeof(*s));
	if (!s)
		return false;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	if (!(s[0] > 0.0)) {
		free(s);
		return false;
	}
	for (size_t i = 2; i + 2 <= n; i++)
		if (s[i] / s[i - 1] > gap) {
			gap = s[i] / s[i - 1];
			cut = i;
		}
	found = cut && gap >= SL_LEVEL_GAP && s[cut - 1] / s[0] < gap &&
		s[n - 1] / s[cut] < gap;
	if (found) {
		lv->nlow = cut;
		lv->nhigh = n - cut;
		lv->low = sl_stat_median(s, cut);
		lv->high = sl_stat_median(s + cut, n - cut);
	}
	free(s);
	return found;
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
		return NAN; /* nobody did anything: no shares to compare */
	return (double)(sum * sum / ((long double)n * sq));
}

/* --- Student's t ----------------------------------------------------------
 * The regularized incomplete beta function I_x(a, b) by its continued
 * fraction (modified Lentz), which converges fast for x < (a+1)/(a+b+2);
 * the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) covers the rest.  The t
 * distribution's tails are I_{df/(df+t^2)}(df/2, 1/2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1.0 / d;
	h = d;
	for (int m = 1; m <= 500; m++) {
		double m2 = 2.0 * m, num, delta;

		/* Even step, then odd step of the fraction. */
		num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
		d = 1.0 + num * d;
		c = 1.0 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1.0 / d;
		delta = d * c;
		h *= delta;
		if (fabs(delta - 1.0) < 1e-15)
			break;
	}
	return h;
}

static double beta_reg(double a, double b, double x)
{
	double front;

	if (x <= 0.0)
		return 0.0;
	if (x >= 1.0)
		return 1.0;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
		    b * log1p(-x));
	if (x < (a + 1.0) / (a + b + 2.0))
		return front * beta_cf(a, b, x) / a;
	return 1.0 - front * beta_cf(b, a, 1.0 - x) / b;
}

double sl_stat_t_cdf(double t, double df)
{
	double tail;

	if (isnan(t) || !(df > 0.0))
		return NAN;
	if (isinf(t))
		return t > 0 ? 1.0 : 0.0;
	/* Both tails together: P(|T| > |t|). */
	tail = beta_reg(df / 2.0, 0.5, df / (df + t * t));
	return t >= 0.0 ? 1.0 - tail / 2.0 : tail / 2.0;
}

double sl_stat_t_quantile(double p, double df)
{
	double lo = 0.0, hi = 1.0;

	if (!(p > 0.0 && p < 1.0) || !(df > 0.0))
		return NAN;
	if (p == 0.5)
		return 0.0;
	if (p < 0.5)
		return -sl_stat_t_quantile(1.0 - p, df);
	/* The CDF is increasing: bracket, then bisect to the last bit. */
	while (sl_stat_t_cdf(hi, df) < p) {
		lo = hi;
		hi *= 2.0;
		if (hi > 1e300)
			return INFINITY;
	}
	for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
		double mid = lo + (hi - lo) / 2.0;

		if (sl_stat_t_cdf(mid, df) < p)
			lo = mid;
		else
			hi = mid;
	}
	return lo + (hi - lo) / 2.0;
}

int sl_stat_mean_ci(const double *v, size_t n, double level, double *lo,
		    double *hi)
{
	double mean, half;

	*lo = *hi = NAN;
	/* One value has no spread to build an interval from. */
	if (n < 2 || !(level > 0.0 && level < 1.0))
		return -EINVAL;
	mean = sl_stat_mean(v, n);
	half = sl_stat_t_quantile(1.0 - (1.0 - level) / 2.0, (double)(n - 1)) *
	       sl_stat_stddev(v, n) / sqrt((double)n);
	*lo = mean - half;
	*hi = mean + half;
	return 0;
}

/* --- Mann-Whitney U -------------------------------------------------------
 * Ranks are kept doubled so that midranks of ties stay integers and the
 * exact distribution can be counted without rounding: a tie group over
 * ranks a..b gets a + b each. */
struct ranked {
	double v;
	unsigned from_x;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->v > y->v) - (x->v < y->v);
}

double sl_stat_mw_min_p(size_t nx, size_t ny)
{
	double c = 1.0;
	size_t k = nx < ny ? nx : ny;

	if (nx == 0 || ny == 0)
		return 1.0;
	/* C(nx + ny, k), built so every partial product is an integer. */
	for (size_t i = 1; i <= k; i++)
		c = c * (double)(nx + ny - k + i) / (double)i;
	return c > 2.0 ? 2.0 / c : 1.0;
}

/* Exact two-sided p: among all ways to pick which m of the N doubled
 * ranks belong to the smaller sample, the share whose rank sum lies at
 * least as far from its mean as the observed one.  ways[k][s] counts the
 * k-subsets of the ranks seen so far with sum s (0/1 knapsack). */
static double mw_exact(const unsigned *rank2, size_t N, size_t m,
		       unsigned long w_obs)
{
	unsigned long S = 0, mean2, dev_obs;
	double *ways, hit = 0.0, all = 0.0;

	for (size_t i = 0; i < N; i++)
		S += rank2[i];
	ways = calloc((m + 1) * (S + 1), sizeof(*ways));
	if (!ways)
		return NAN;
	ways[0] = 1.0;
	for (size_t i = 0; i < N; i++) {
		size_t kmax = i + 1 < m ? i + 1 : m;

		for (size_t k = kmax; k >= 1; k--) {
			double *row = ways + k * (S + 1);
			const double *prev = ways + (k - 1) * (S + 1);

			for (unsigned long s = S; s >= rank2[i]; s--)
				row[s] += prev[s - rank2[i]];
		}
	}
	/* The rank sum of m items averages m (N + 1) / 2, doubled. */
	mean2 = (unsigned long)m * (N + 1);
	dev_obs = w_obs > mean2 ? w_obs - mean2 : mean2 - w_obs;
	for (unsigned long s = 0; s <= S; s++) {
		double c = ways[m * (S + 1) + s];
		unsigned long dev = s > mean2 ? s - mean2 : mean2 - s;

		all += c;
		if (dev >= dev_obs)
			hit += c;
	}
	free(ways);
	return all > 0.0 ? hit / all : NAN;
}

double sl_stat_mann_whitney(const double *x, size_t nx, const double *y,
			    size_t ny, double *u)
{
	size_t N = nx + ny, m;
	struct ranked *r;
	unsigned *rank2;
	unsigned long w_small = 0, w_x = 0;
	double ties = 0.0, p;
	bool x_small = nx <= ny;

	if (u)
		*u = NAN;
	if (nx == 0 || ny == 0)
		return NAN;
	for (size_t i = 0; i < nx; i++)
		if (isnan(x[i]))
			return NAN;
	for (size_t i = 0; i < ny; i++)
		if (isnan(y[i]))
			return NAN;
	r = malloc(N * sizeof(*r));
	rank2 = malloc(N * sizeof(*rank2));
	if (!r || !rank2) {
		free(r);
		free(rank2);
		return NAN;
	}
	for (size_t i = 0; i < nx; i++)
		r[i] = (struct ranked){ x[i], 1 };
	for (size_t i = 0; i < ny; i++)
		r[nx + i] = (struct ranked){ y[i], 0 };
	qsort(r, N, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < N;) {
		size_t j = i;

		while (j + 1 < N && r[j + 1].v == r[i].v)
			j++;
		/* Ranks i+1 .. j+1 share their mean; doubled: i + j + 2. */
		for (size_t k = i; k <= j; k++) {
			rank2[k] = (unsigned)(i + j + 2);
			if (r[k].from_x)
				w_x += rank2[k];
			if (r[k].from_x == (unsigned)x_small)
				w_small += rank2[k];
		}
		ties += (double)(j - i + 1) * (double)(j - i + 1) *
			(double)(j - i + 1) - (double)(j - i + 1);
		i = j + 1;
	}
	free(r);
	/* U of x: the x-over-y pairs, a tie counting one half. */
	if (u)
		*u = (double)w_x / 2.0 - (double)nx * (double)(nx + 1) / 2.0;

	m = x_small ? nx : ny;
	if (N <= SL_MW_EXACT_MAX) {
		p = mw_exact(rank2, N, m, w_small);
	} else {
		/* Normal approximation, variance reduced for ties, half a
		 * unit of continuity correction. */
		double mu = (double)nx * (double)ny / 2.0;
		double var = (double)nx * (double)ny / 12.0 *
			     ((double)(N + 1) - ties / ((double)N * (double)(N - 1)));
		double ux = (double)w_x / 2.0 - (double)nx * (double)(nx + 1) / 2.0;
		double z;

		if (var <= 0.0) {
			p = 1.0;
		} else {
			z = (fabs(ux - mu) - 0.5) / sqrt(var);
			p = z > 0.0 ? erfc(z / sqrt(2.0)) : 1.0;
		}
	}
	free(rank2);
	return p > 1.0 ? 1.0 : p;
}
