/*
 * idle-wins: a lock whose waiters sleep can run faster with more threads
 * than PUs, and faster the more of its threads are asleep.  With empty
 * critical sections nearly all of an operation's cost is moving the lock's
 * cache line between PUs: two PUs taking turns pay a transfer per operation,
 * one PU alone pays none.  When every thread of one PU sleeps -- waiting
 * writers behind a stream of readers in glibc's reader-preferring rwlock --
 * the threads left running have the line to themselves, and the lock runs
 * near one PU's uncontended rate while that PU's CPU time goes unused.  A
 * lock whose waiters spin keeps every PU busy and contended instead.  The
 * benchmark reads the idling as speed; a program with other work for those
 * PUs would not.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "lab/lab.h"

#define IW_PRIMS 3
#define IW_MAX_LOADS 4
/* A gain at least this large, with the PUs at most IW_BUSY_IDLE busy,
 * is called idling winning. */
#define IW_GAIN 1.5
#define IW_BUSY_IDLE 0.80
/* The work between operations of the last comparison. */
#define IW_THINK_NS 200

enum { C_THREADS, C_OPS, C_BUSY, C_CS_OP, C_FAIR, C_SLOW, C_FAST, C_NCOLS };

static const char *const iw_prims[IW_PRIMS] = { "pthread-rwlock", "pthread-rwlock-wpref",
						"rwlock" };
static const char *const iw_policy[IW_PRIMS] = { "reader-preferring", "writer-preferring",
						 "spins, then sleeps" };

struct iw_cell {
	unsigned threads;
	struct sl_lab_measure m;
	double busy;        /* share of the bound PUs' time the threads ran */
	double slow, fast;  /* slowest and fastest thread, share of an equal one */
};

static int measure_cell(const struct sl_demo_ctx *ctx, const char *prim,
			uint64_t think_ns, struct iw_cell *c, struct sl_err *err)
{
	struct sl_point pt = sl_lab_point(sl_lab_prim(prim), c->threads);
	unsigned pus = c->threads < ctx->pus ? c->threads : ctx->pus;
	double equal;
	int rc;

	pt.read_pct = 90;
	pt.think_ns = think_ns;
	rc = sl_lab_measure_ok(ctx, &pt, &c->m, err);
	if (rc < 0)
		return rc;
	c->busy = c->m.cpu_util * c->threads / pus;
	equal = c->m.reps ? (double)c->m.ops / c->m.reps / c->threads : NAN;
	c->slow = equal > 0 ? c->m.min_thread_ops / equal : NAN;
	c->fast = equal > 0 ? c->m.max_thread_ops / equal : NAN;
	return 0;
}

static int idle_wins_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[] = { "threads", "throughput", "PUs busy", "ctx switches",
					     "fairness", "slowest thread", "fastest thread" };
	static const char *const units[] = { "", "ops/s", "%", "/op", "", "% of equal",
					     "% of equal" };
	const unsigned loads[IW_MAX_LOADS] = { 1, ctx->pus, 2 * ctx->pus, 8 * ctx->pus };
	const unsigned nloads = ctx->quick ? 3 : 4;
	struct iw_cell cell[IW_PRIMS][IW_MAX_LOADS], worked[IW_PRIMS];
	struct sl_lab_table *t;
	char lbl[96], a[32], b[32], c[32];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "idling pays only where one PU's threads can sleep while another PU's run; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "Three rwlocks, 90%% reads, every thread mixing reads and writes, empty\n"
		     "sections, no think time: 1 thread, one per PU (%u), and ", ctx->pus);
	for (unsigned l = 2; l < nloads; l++)
		fprintf(out, "%s%u", l > 2 ? " and " : "", loads[l]);
	fprintf(out, " (more threads than PUs).\n\n");
	for (int p = 0; p < IW_PRIMS; p++)
		for (unsigned l = 0; l < nloads; l++) {
			cell[p][l].threads = loads[l];
			rc = measure_cell(ctx, iw_prims[p], 0, &cell[p][l], err);
			if (rc < 0)
				return rc;
		}
	/* The same oversubscribed load with a little work between operations. */
	for (int p = 0; p < IW_PRIMS; p += IW_PRIMS - 1) {
		worked[p].threads = loads[2];
		rc = measure_cell(ctx, iw_prims[p], IW_THINK_NS, &worked[p], err);
		if (rc < 0)
			return rc;
	}
	t = sl_lab_table_new("rwlock", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < IW_PRIMS; p++)
		for (unsigned l = 0; l < nloads; l++) {
			const struct iw_cell *x = &cell[p][l];
			double v[C_NCOLS] = {
				[C_THREADS] = x->threads,
				[C_OPS] = x->m.ops_per_sec,
				[C_BUSY] = x->busy * 100,
				[C_CS_OP] = x->m.ctx_switches_per_op,
				[C_FAIR] = x->m.fairness,
				[C_SLOW] = x->slow * 100,
				[C_FAST] = x->fast * 100,
			};

			snprintf(lbl, sizeof(lbl), "%s (%s)", iw_prims[p], iw_policy[p]);
			if (sl_lab_table_add(t, lbl, v) < 0) {
				sl_lab_table_free(t);
				return sl_err_set(err, -ENOMEM, "out of memory");
			}
		}
	sl_lab_table_print(out, t);
	fprintf(out, "  (PUs busy: the threads' CPU time over the window and the PUs they were\n"
		     "  bound to; slowest and fastest thread: its operations against an equal\n"
		     "  share of all of them)\n\n");
	{
		const struct iw_cell *one = &cell[0][0], *full = &cell[0][1], *over = &cell[0][2];
		const struct iw_cell *most = &cell[0][nloads - 1];
		const struct iw_cell *spin_full = &cell[2][1], *spin_over = &cell[2][2];
		const struct iw_cell *g = &worked[0], *r = &worked[IW_PRIMS - 1];
		double gain = over->m.ops_per_sec / full->m.ops_per_sec;
		double lead = r->m.ops_per_sec / g->m.ops_per_sec;

		if (gain >= IW_GAIN && over->busy <= IW_BUSY_IDLE) {
			fprintf(out,
				"Idling won: with %u threads on %u PUs pthread-rwlock ran %.1fx as fast\n"
				"as with one thread per PU (%s against %s)\n"
				"while its PUs were only %.0f%% busy; alone on one PU it ran %s,\n"
				"so oversubscribed it reached %.0f%% of one PU's uncontended rate.\n"
				"Its waiting writers sleep behind the readers, and when all the threads of\n"
				"one PU sleep, the threads left running have the lock's line to themselves:\n"
				"no transfer between PUs per operation.\n",
				over->threads, ctx->pus, gain,
				sl_lab_fmt(a, sizeof(a), over->m.ops_per_sec, "ops/s"),
				sl_lab_fmt(b, sizeof(b), full->m.ops_per_sec, "ops/s"),
				over->busy * 100,
				sl_lab_fmt(c, sizeof(c), one->m.ops_per_sec, "ops/s"),
				100 * over->m.ops_per_sec / one->m.ops_per_sec);
		} else {
			fprintf(out,
				"Idling did not win here: with %u threads on %u PUs pthread-rwlock ran\n"
				"%.2fx its rate with one thread per PU (%s against %s),\n"
				"its PUs %.0f%% busy.\n",
				over->threads, ctx->pus, gain,
				sl_lab_fmt(a, sizeof(a), over->m.ops_per_sec, "ops/s"),
				sl_lab_fmt(b, sizeof(b), full->m.ops_per_sec, "ops/s"),
				over->busy * 100);
		}
		if (most->slow < 0.5)
			fprintf(out,
				"The price is paid by the threads that sleep: at %u threads its slowest\n"
				"thread did %.2g%% of an equal share of the operations, its fastest %.0f%%\n"
				"(Jain's index %.3f).\n",
				most->threads, most->slow * 100, most->fast * 100, most->m.fairness);
		else
			fprintf(out,
				"Its threads still took turns at %u threads: the slowest did %.0f%% of an\n"
				"equal share, the fastest %.0f%% (Jain's index %.3f).\n",
				most->threads, most->slow * 100, most->fast * 100, most->m.fairness);
		fprintf(out,
			"rwlock, whose waiters spin before they sleep, kept its PUs %.0f%% busy and\n"
			"ran %.2fx its one-per-PU rate (%s against %s);\n"
			"glibc's writer-preferring kind, whose readers sleep behind waiting writers,\n"
			"ran %.1fx its rate with its PUs %.0f%% busy.\n",
			spin_over->busy * 100, spin_over->m.ops_per_sec / spin_full->m.ops_per_sec,
			sl_lab_fmt(a, sizeof(a), spin_over->m.ops_per_sec, "ops/s"),
			sl_lab_fmt(b, sizeof(b), spin_full->m.ops_per_sec, "ops/s"),
			cell[1][2].m.ops_per_sec / cell[1][1].m.ops_per_sec, cell[1][2].busy * 100);
		fprintf(out,
			"With %d ns of work between operations at %u threads, rwlock ran %s\n"
			"and pthread-rwlock %s (its PUs %.0f%% busy): %s.\n",
			IW_THINK_NS, g->threads,
			sl_lab_fmt(a, sizeof(a), r->m.ops_per_sec, "ops/s"),
			sl_lab_fmt(b, sizeof(b), g->m.ops_per_sec, "ops/s"), g->busy * 100,
			lead >= 1.05 ? "once the threads have work\nof their own, idling PUs no longer pays"
			: lead > 1 / 1.05 ? "even; the work left\nless to gain from idling"
			: "idling still paid at this\nmuch work");
		fprintf(out,
			"Read ops/s with the CPU time beside it: a lock can top a benchmark by leaving\n"
			"PUs idle that a program would use for other work (bench lists such lines\n"
			"under \"idle PUs\").\n");
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "Idle wins: rwlock throughput as threads outnumber PUs (empty sections)",
			.style = SL_LAB_LINES,
			.x_col = C_THREADS,
			.xlabel = "threads",
			.y_cols = { C_OPS },
			.ny = 1,
			.ylabel = "throughput (ops/s, all threads)",
			.log_x = true,
			.log_y = true,
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_idle_wins = {
	.name = "idle-wins",
	.question = "why can a lock run faster when its threads outnumber the CPUs and some sleep?",
	.run = idle_wins_run,
};
