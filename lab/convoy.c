/*
 * convoy: a lock convoy.  A FIFO lock hands itself to the waiter at the head
 * of its queue.  With more runnable threads than PUs that waiter is often
 * not running -- asleep in the kernel or preempted -- and the lock sits
 * unowned until the scheduler gets round to it, while every thread behind it
 * waits too: the lock's rate drops to the scheduler's.  A barging lock (the
 * futex mutex) lets whichever running thread comes first take a free lock,
 * so the threads that are on a CPU keep it busy.  The same locks with a
 * thread per PU show that the collapse is the oversubscription's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "lab/lab.h"

#define CV_PRIMS 3
#define CV_LOADS 2
/* A short, hot critical section and a little work between acquires. */
#define CV_CS_NS 200
#define CV_THINK_NS 500
/* Time about one acquire in this many (hand-offs come from the samples). */
#define CV_LAT_PERIOD 16

enum { C_THREADS, C_OPS, C_CS_OP, C_HANDOFF, C_P99, C_FAIR, C_NCOLS };

static const char *const cv_prims[CV_PRIMS] = { "mutex", "mutex-fair", "spin-ticket" };
static const char *const cv_kind[CV_PRIMS] = { "barging", "FIFO, sleeps", "FIFO, spins" };

/* The FIFO lock that fell furthest behind the barging one at load l. */
static int worst_fifo(struct sl_lab_measure m[CV_LOADS][CV_PRIMS], unsigned l)
{
	return m[l][1].ops_per_sec <= m[l][2].ops_per_sec ? 1 : 2;
}

static int convoy_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[] = { "threads", "throughput", "ctx switches",
					     "hand-off p50", "acquire p99", "fairness" };
	static const char *const units[] = { "", "ops/s", "/op", "ns", "ns", "" };
	const unsigned loads[CV_LOADS] = { ctx->pus, 4 * ctx->pus };
	struct sl_lab_measure m[CV_LOADS][CV_PRIMS];
	struct sl_lab_table *t;
	char lbl[64], a[32], b[32], c[32], d[32];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "a convoy is told from plain serialisation by comparing a thread per PU with oversubscription; with %u PU every run is oversubscribed (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "One lock, %d ns critical section, %d ns between acquires; %u threads (one per\n"
		     "PU) and %u threads (4 per PU).  mutex lets a running thread barge in; mutex-fair\n"
		     "and spin-ticket hand the lock to the longest waiter, running or not.\n\n",
		CV_CS_NS, CV_THINK_NS, loads[0], loads[1]);
	for (unsigned l = 0; l < CV_LOADS; l++)
		for (int p = 0; p < CV_PRIMS; p++) {
			struct sl_point pt = sl_lab_point(sl_lab_prim(cv_prims[p]), loads[l]);

			pt.cs_ns = CV_CS_NS;
			pt.think_ns = CV_THINK_NS;
			pt.lat_period = CV_LAT_PERIOD;
			rc = sl_lab_measure_ok(ctx, &pt, &m[l][p], err);
			if (rc < 0)
				return rc;
		}
	t = sl_lab_table_new("lock", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < CV_PRIMS; p++)
		for (unsigned l = 0; l < CV_LOADS; l++) {
			const struct sl_lab_measure *x = &m[l][p];
			double v[C_NCOLS] = {
				[C_THREADS] = loads[l],
				[C_OPS] = x->ops_per_sec,
				[C_CS_OP] = x->ctx_switches_per_op,
				[C_HANDOFF] = x->handoff_p50_ns,
				[C_P99] = x->lat_p99_ns,
				[C_FAIR] = x->fairness,
			};

			snprintf(lbl, sizeof(lbl), "%s (%s), %u thr", cv_prims[p], cv_kind[p], loads[l]);
			if (sl_lab_table_add(t, lbl, v) < 0) {
				sl_lab_table_free(t);
				return sl_err_set(err, -ENOMEM, "out of memory");
			}
		}
	sl_lab_table_print(out, t);
	fprintf(out, "  (hand-off: from the owner's release to the next owner's entry, for sampled\n"
		     "  acquires that waited; n/s: no sampled acquire waited for a hand-off)\n\n");
	{
		const unsigned over = 1, fit = 0;
		const int w = worst_fifo(m, over);
		const struct sl_lab_measure *bo = &m[over][0], *fo = &m[over][w];
		const struct sl_lab_measure *bf = &m[fit][0], *ff = &m[fit][w];
		double slow_over = bo->ops_per_sec / fo->ops_per_sec;
		double slow_fit = bf->ops_per_sec / ff->ops_per_sec;

		if (slow_over >= 2 && slow_over >= 2 * slow_fit) {
			fprintf(out,
				"A convoy formed: with %u threads on %u PUs, %s ran %.1fx slower than\n"
				"the barging mutex (%s against %s); with a thread per PU it\n"
				"ran at %.2fx the mutex's speed.  Each hand-off waits for the next thread in\n"
				"line to be scheduled: the median hand-off took %s against %s\n"
				"for the mutex, with %.2f context switches per op against %.3f.\n",
				loads[over], ctx->pus, cv_prims[w], slow_over,
				sl_lab_fmt(a, sizeof(a), fo->ops_per_sec, "ops/s"),
				sl_lab_fmt(b, sizeof(b), bo->ops_per_sec, "ops/s"),
				ff->ops_per_sec / bf->ops_per_sec,
				sl_lab_fmt_time(c, sizeof(c), fo->handoff_p50_ns),
				sl_lab_fmt_time(d, sizeof(d), bo->handoff_p50_ns),
				fo->ctx_switches_per_op, bo->ctx_switches_per_op);
			if (bo->fairness < fo->fairness - 0.05)
				fprintf(out,
					"What FIFO buys is fairness: Jain's index %.3f for %s against\n"
					"%.3f for the mutex, whose running threads take the lock again and again.\n",
					fo->fairness, cv_prims[w], bo->fairness);
			else
				fprintf(out,
					"What FIFO should buy, fairness, hardly differed here: Jain's index %.3f\n"
					"for %s against %.3f for the mutex.\n",
					fo->fairness, cv_prims[w], bo->fairness);
		} else {
			fprintf(out,
				"No convoy showed here: with %u threads on %u PUs the slowest FIFO lock,\n"
				"%s, ran at %.2fx the barging mutex's speed (%.2fx with a thread per PU).\n"
				"A convoy needs the next waiter to be off-CPU at hand-off time; a machine\n"
				"whose other load leaves our threads idle PUs, or a longer think time, hides it.\n",
				loads[over], ctx->pus, cv_prims[w], 1 / slow_over, 1 / slow_fit);
		}
		{
			const int other = w == 1 ? 2 : 1;

			fprintf(out, "The other FIFO lock, %s, ran at %.2fx the mutex's speed when oversubscribed.\n",
				cv_prims[other], m[over][other].ops_per_sec / bo->ops_per_sec);
		}
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "Lock convoy: FIFO hand-off vs barging, one thread per PU and 4 per PU",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_OPS },
			.ny = 1,
			.ylabel = "throughput (ops/s, all threads)",
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_convoy = {
	.name = "convoy",
	.question = "why does a fair lock collapse when threads outnumber CPUs?",
	.run = convoy_run,
};
