/*
 * amdahl: throughput against threads when a fraction f of every op's time is
 * spent inside one lock.  Amdahl's law bounds the speedup on n processors at
 * 1 / (f + (1 - f) / n), never more than 1 / f however many threads: the
 * serial part runs one thread at a time.  Each op is cs_ns = f * T inside a
 * futex mutex and think_ns = (1 - f) * T outside it; the one-thread run is
 * the baseline the bound is drawn from.  The lock's own hand-offs add serial
 * time, so the measured curve falls below the bound -- the Karp-Flatt metric
 * turns each measured speedup back into the serial fraction it implies.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "lab/lab.h"

/* One op: T = 20 us of work, split by the serial fraction. */
#define AM_OP_NS 20000
#define AM_FRACS 3
#define AM_MAX_N 24

enum { C_F, C_THREADS, C_OPS, C_SPEEDUP, C_BOUND, C_OF_BOUND, C_KF, C_NCOLS };

static const double am_frac[AM_FRACS] = { 0.01, 0.10, 0.50 };

static double amdahl_bound(double f, unsigned n, unsigned pus)
{
	double p = n < pus ? n : pus; /* processors that can run at once */

	return 1.0 / (f + (1.0 - f) / p);
}

/* The serial fraction a measured speedup s on n threads implies. */
static double karp_flatt(double s, unsigned n)
{
	return n > 1 ? (1.0 / s - 1.0 / n) / (1.0 - 1.0 / n) : NAN;
}

static int amdahl_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[] = { "serial", "threads", "throughput", "speedup",
					     "Amdahl bound", "of bound", "implied serial" };
	static const char *const units[] = { "%", "", "ops/s", "x", "x", "%", "%" };
	unsigned ns[AM_MAX_N], nn = 0;
	struct sl_lab_measure m[AM_FRACS][AM_MAX_N];
	struct sl_lab_table *t;
	char extra[1024], lbl[64];
	size_t used = 0;
	unsigned top = 0; /* index of the largest thread count within the PUs */
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "a speedup needs threads running in parallel; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	/* 1, 2, 4, ... up to the PUs, the PUs themselves, and (not --quick)
	 * twice as many, where the bound stays flat. */
	ns[nn++] = 1;
	for (unsigned n = 2; n < ctx->pus && nn < AM_MAX_N - 2; n *= 2)
		if (!ctx->quick)
			ns[nn++] = n;
	ns[nn++] = ctx->pus;
	top = nn - 1;
	if (!ctx->quick)
		ns[nn++] = 2 * ctx->pus;
	fprintf(out, "Each op is %d us of work, a fraction f of it inside one futex mutex (f = 1%%,\n"
		     "10%%, 50%%); threads", AM_OP_NS / 1000);
	for (unsigned i = 0; i < nn; i++)
		fprintf(out, "%s%u", i ? ", " : " ", ns[i]);
	fprintf(out, " on %u PUs.\n\n", ctx->pus);
	for (unsigned k = 0; k < AM_FRACS; k++)
		for (unsigned i = 0; i < nn; i++) {
			struct sl_point pt = sl_lab_point(sl_lab_prim("mutex"), ns[i]);

			pt.cs_ns = (uint64_t)(am_frac[k] * AM_OP_NS + 0.5);
			pt.think_ns = AM_OP_NS - pt.cs_ns;
			rc = sl_lab_measure_ok(ctx, &pt, &m[k][i], err);
			if (rc < 0)
				return rc;
		}
	t = sl_lab_table_new("serial fraction", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned k = 0; k < AM_FRACS; k++)
		for (unsigned i = 0; i < nn; i++) {
			double s = m[k][i].ops_per_sec / m[k][0].ops_per_sec;
			double bound = amdahl_bound(am_frac[k], ns[i], ctx->pus);
			double v[C_NCOLS] = {
				[C_F] = am_frac[k] * 100,
				[C_THREADS] = ns[i],
				[C_OPS] = m[k][i].ops_per_sec,
				[C_SPEEDUP] = s,
				[C_BOUND] = bound,
				[C_OF_BOUND] = 100 * s / bound,
				[C_KF] = ns[i] <= ctx->pus ? 100 * karp_flatt(s, ns[i]) : NAN,
			};

			snprintf(lbl, sizeof(lbl), "f = %.0f%%", am_frac[k] * 100);
			if (sl_lab_table_add(t, lbl, v) < 0) {
				sl_lab_table_free(t);
				return sl_err_set(err, -ENOMEM, "out of memory");
			}
		}
	sl_lab_table_print(out, t);
	fprintf(out, "  (speedup: against the same f with 1 thread; Amdahl bound: 1/(f+(1-f)/n) with n\n"
		     "  capped at the %u PUs; implied serial: the Karp-Flatt metric of the speedup;\n"
		     "  n/s past the PUs, where it is not defined)\n\n", ctx->pus);
	for (unsigned k = 0; k < AM_FRACS; k++) {
		double s = m[k][top].ops_per_sec / m[k][0].ops_per_sec;
		double bound = amdahl_bound(am_frac[k], ns[top], ctx->pus);
		double kf = karp_flatt(s, ns[top]);

		fprintf(out, "f = %2.0f%%: %u threads ran %.2fx the 1-thread rate; Amdahl allows %.2fx here\n"
			     "  and never more than %.0fx however many threads.\n  ",
			am_frac[k] * 100, ns[top], s, bound, 1 / am_frac[k]);
		if (s <= 1.0)
			fprintf(out, "No speedup at all: the threads queued on the lock (or other load\n"
				     "  took the PUs).\n");
		else if (s > bound * 1.05)
			fprintf(out, "Above the bound: the 1-thread baseline ran slow (a busy machine);\n"
				     "  try more --repeat.\n");
		else
			fprintf(out, "%.0f%% of the bound reached; that implies a serial fraction of %.1f%%\n"
				     "  (Karp-Flatt)%s.\n",
				100 * s / bound, 100 * kf,
				kf > am_frac[k] * 1.25 + 0.005
					? ", more than set: lock hand-offs and other load add serial time"
					: ", close to the fraction set");
	}
	{
		double s_lo = m[0][top].ops_per_sec / m[0][0].ops_per_sec;
		double s_hi = m[AM_FRACS - 1][top].ops_per_sec / m[AM_FRACS - 1][0].ops_per_sec;

		if (s_lo > s_hi * 1.1)
			fprintf(out, "The serial fraction decides the scaling: %u threads gave %.2fx with f = 1%%\n"
				     "but %.2fx with f = 50%%.\n", ns[top], s_lo, s_hi);
		else
			fprintf(out, "Here f = 1%% (%.2fx) did not scale clearly better than f = 50%% (%.2fx) with\n"
				     "%u threads: the runs were too noisy to show the law; try more --repeat\n"
				     "or a quieter machine.\n", s_lo, s_hi, ns[top]);
		if (nn > top + 1) {
			double s_over = m[AM_FRACS - 1][top + 1].ops_per_sec /
					m[AM_FRACS - 1][0].ops_per_sec;

			fprintf(out, "Past the PUs (%u threads) the bound stays where it was: f = 50%% gave %.2fx\n"
				     "against %.2fx with %u threads%s.\n",
				ns[top + 1], s_over, s_hi, ns[top],
				s_over > s_hi * 1.1 ? " -- more, which only noise explains"
						    : ", no gain from threads that cannot run at once");
		}
	}
	/* The bounds, drawn as functions of the thread count x. */
	for (unsigned k = 0; k < AM_FRACS && used < sizeof(extra); k++)
		used += (size_t)snprintf(extra + used, sizeof(extra) - used,
					 "%s%.6g/(%g+(1-%g)/(x<%u?x:%u)) with lines dt 3 lw 1 lc rgb '#888888' title \"f = %.0f%% Amdahl bound\"",
					 k ? ", \\\n     " : "", m[k][0].ops_per_sec, am_frac[k],
					 am_frac[k], ctx->pus, ctx->pus, am_frac[k] * 100);
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "Amdahl's law: one mutex, serial fraction f of each op",
			.style = SL_LAB_LINES,
			.x_col = C_THREADS,
			.xlabel = "threads",
			.y_cols = { C_OPS },
			.ny = 1,
			.ylabel = "throughput (ops/s, all threads)",
			.log_x = true,
			.extra = extra,
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_amdahl = {
	.name = "amdahl",
	.question = "how far can threads speed up work that spends a fraction of its time in one lock?",
	.run = amdahl_run,
};
