/*
 * rcu-vs-rwlock: read-side scaling as the update rate grows.  An rwlock's
 * reader writes the lock word (the reader count) on entry and exit, so even
 * a read-only load bounces that line between the readers' caches;
 * rwlock-percpu's reader writes only its CPU's own line (rwlock-biased's
 * too, until updates come often enough to turn that off), and an RCU reader
 * writes nothing shared (QSBR: nothing at all), so reads scale with the
 * cores.  The price is on the update side: an RCU update copies the
 * record and waits a grace period (or defers the free), so as updates grow
 * RCU's advantage shrinks and can reverse.  Every thread mixes reads and
 * updates at the same rate; threads = PUs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"

#define RV_PRIMS 7
#define RV_MAX_PCTS 4

enum { C_UPDATE, C_THREADS, C_OPS, C_PER_THREAD, C_NS, C_NCOLS };

/* RCU flavours first (the explanation compares the best of each group). */
static const char *const rv_prims[RV_PRIMS] = { "rcu-qsbr", "rcu-epoch", "urcu-qsbr",
						"rwlock", "rwlock-percpu", "rwlock-biased",
						"pthread-rwlock" };
#define RV_RCU 3 /* the first RV_RCU are RCU */

static int rcu_vs_rwlock_run(const struct sl_demo_ctx *ctx, FILE *out,
			     struct sl_err *err)
{
	static const char *const names[] = { "updates", "threads", "throughput",
					     "per thread", "per op" };
	static const char *const units[] = { "%", "", "ops/s", "ops/s", "ns" };
	static const unsigned read_full[] = { 100, 99, 90, 50 };
	static const unsigned read_quick[] = { 100, 90, 50 };
	const unsigned *read_pct = ctx->quick ? read_quick : read_full;
	const unsigned npct = ctx->quick ? 3 : 4;
	const unsigned threads = ctx->pus;
	struct sl_lab_measure m[RV_PRIMS][RV_MAX_PCTS];
	bool have[RV_PRIMS];
	struct sl_lab_table *t;
	char a[32], b[32], why[160];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "read-side scaling needs readers on several PUs at once; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "%u threads (one per PU), each op a read with probability read-pct, else an\n"
		     "update; no work inside or between sections.  RCU: rcu-qsbr, rcu-epoch and\n"
		     "liburcu's urcu-qsbr; rwlocks: synclab's writer-preferring rwlock, the same\n"
		     "with a reader count per CPU (rwlock-percpu) or one only while updates are\n"
		     "rare (rwlock-biased), and glibc's.\n\n",
		threads);
	for (int p = 0; p < RV_PRIMS; p++) {
		const struct sl_prim *prim = sl_lab_prim(rv_prims[p]);

		have[p] = !prim->supported || prim->supported(why, sizeof(why));
		if (!have[p]) {
			fprintf(out, "  %s cannot run here (%s): its rows are left out\n", rv_prims[p], why);
			continue;
		}
		for (unsigned i = 0; i < npct; i++) {
			struct sl_point pt = sl_lab_point(prim, threads);

			pt.read_pct = read_pct[i];
			rc = sl_lab_measure_ok(ctx, &pt, &m[p][i], err);
			if (rc < 0)
				return rc;
		}
	}
	t = sl_lab_table_new("primitive", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < RV_PRIMS; p++)
		for (unsigned i = 0; have[p] && i < npct; i++) {
			double v[C_NCOLS] = {
				[C_UPDATE] = 100 - read_pct[i],
				[C_THREADS] = threads,
				[C_OPS] = m[p][i].ops_per_sec,
				[C_PER_THREAD] = m[p][i].ops_per_sec / threads,
				[C_NS] = m[p][i].ns_per_op,
			};

			if (sl_lab_table_add(t, rv_prims[p], v) < 0) {
				sl_lab_table_free(t);
				return sl_err_set(err, -ENOMEM, "out of memory");
			}
		}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	{
		int best_rcu[RV_MAX_PCTS], best_rw[RV_MAX_PCTS];
		int first_rw_win = -1;

		for (unsigned i = 0; i < npct; i++) {
			best_rcu[i] = best_rw[i] = -1;
			for (int p = 0; p < RV_PRIMS; p++) {
				int *best = p < RV_RCU ? &best_rcu[i] : &best_rw[i];

				if (have[p] && (*best < 0 || m[p][i].ops_per_sec > m[*best][i].ops_per_sec))
					*best = p;
			}
		}
		if (best_rcu[0] < 0 || best_rw[0] < 0) {
			sl_lab_table_free(t);
			return sl_err_set(err, -ENOTSUP, "no %s flavour can run here: nothing to compare",
					  best_rcu[0] < 0 ? "RCU" : "rwlock");
		}
		for (unsigned i = 0; i < npct; i++) {
			double r = m[best_rcu[i]][i].ops_per_sec / m[best_rw[i]][i].ops_per_sec;

			fprintf(out, "  %2u%% updates: best RCU %s %s, best rwlock %s %s: %s %.2fx\n",
				100 - read_pct[i], rv_prims[best_rcu[i]],
				sl_lab_fmt(a, sizeof(a), m[best_rcu[i]][i].ops_per_sec, "ops/s"),
				rv_prims[best_rw[i]],
				sl_lab_fmt(b, sizeof(b), m[best_rw[i]][i].ops_per_sec, "ops/s"),
				r >= 1 ? "RCU ahead" : "rwlock ahead", r >= 1 ? r : 1 / r);
			if (r < 1 && first_rw_win < 0)
				first_rw_win = (int)i;
		}
		if (first_rw_win == 0)
			fprintf(out, "RCU did not beat the rwlock even read-only here: the readers' shared\n"
				     "line cost less than expected (few PUs, or PUs that share a cache).\n");
		else if (first_rw_win < 0)
			fprintf(out, "RCU stayed ahead up to %u%% updates: its updates were cheap enough\n"
				     "here to keep the lead; the read side never touched a shared line.\n",
				100 - read_pct[npct - 1]);
		else
			fprintf(out, "RCU led up to %u%% updates and the rwlock from %u%%: the crossover lies\n"
				     "between.  Read-only, RCU's readers write nothing shared while each rwlock\n"
				     "reader writes a lock line (rwlock-percpu: its CPU's own); as updates grow,\n"
				     "each one pays for a copy and a grace period (or a deferred free), and the\n"
				     "rwlock's cheap write side wins.\n",
				100 - read_pct[first_rw_win - 1], 100 - read_pct[first_rw_win]);
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "RCU vs rwlock: throughput as the update share grows (threads = PUs)",
			.style = SL_LAB_LINES,
			.x_col = C_UPDATE,
			.xlabel = "updates (% of ops)",
			.y_cols = { C_OPS },
			.ny = 1,
			.ylabel = "throughput (ops/s, all threads)",
			.log_y = true,
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_rcu_vs_rwlock = {
	.name = "rcu-vs-rwlock",
	.question = "how do RCU and rwlock readers scale as updates become more frequent?",
	.run = rcu_vs_rwlock_run,
};
