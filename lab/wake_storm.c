/*
 * wake-storm: a futex semaphore whose waiters stay registered from their
 * first sleep until they hold a permit.  A post that finds a registered
 * waiter calls FUTEX_WAKE -- but the waiter it is meant for may already
 * have been woken and be waiting for a CPU, out of the kernel's queue and
 * still registered.  With a thread per PU a woken thread runs at once and
 * the window is short; with threads far beyond the PUs it waits for the
 * time slices of those queued before it, and every post in that time makes
 * a system call that finds nobody.  `sem` rations its wakes (a post wakes
 * only when registered waiters outnumber the wakes already sent and not
 * yet taken up); `sem-unrationed`, a hidden specimen, is the same code
 * without that.  The primitives count their own sleeps and wake calls.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "lab/lab.h"

#define WK_PRIMS 2
#define WK_LOADS 2
/* Threads per PU in the oversubscribed configuration. */
#define WK_OVER 8
/* A storm: this many wake calls per sleep or more. */
#define WK_STORM 20

enum { C_THREADS, C_OPS, C_SLEEPS, C_WAKES, C_PER_SLEEP, C_CS_OP, C_NCOLS };

static const char *const wk_prims[WK_PRIMS] = { "sem-unrationed", "sem" };

/* Wake calls per sleep; NAN when nothing slept. */
static double per_sleep(const struct sl_lab_measure *m)
{
	double sleeps = m->events_per_sec[0], wakes = m->events_per_sec[1];

	return sleeps > 0 ? wakes / sleeps : NAN;
}

static void explain(FILE *out, struct sl_lab_measure m[WK_LOADS][WK_PRIMS],
		    const unsigned loads[WK_LOADS], unsigned pus)
{
	const struct sl_lab_measure *calm = &m[0][0], *storm = &m[1][0];
	const struct sl_lab_measure *rationed = &m[1][1];
	double ratio_storm = per_sleep(storm), r;
	char a[32], b[32];

	sl_lab_fmt(a, sizeof(a), storm->events_per_sec[1], "wake calls/s");
	sl_lab_fmt(b, sizeof(b), storm->events_per_sec[0], "sleeps/s");
	if (!(ratio_storm >= WK_STORM)) {
		fprintf(out,
			"No storm here: unrationed, %u threads on %u PUs made %s against %s\n"
			"(%.1f per sleep).  Woken waiters found a CPU soon enough on this machine;\n"
			"more threads per PU, or a busier machine, makes the window longer.\n",
			loads[1], pus, a, b, ratio_storm);
		return;
	}
	fprintf(out,
		"Unrationed, %u threads on %u PUs made %s against %s\n"
		"(%.0f per sleep).  A call finds someone only when a sleeper is in the\n"
		"kernel's queue; the others were for registered waiters that were not:\n"
		"woken already and waiting for a CPU behind the other runnable threads, or\n"
		"running between two tries to sleep.\n",
		loads[1], pus, a, b, ratio_storm);
	sl_lab_fmt(a, sizeof(a), calm->events_per_sec[1], "calls/s");
	r = storm->events_per_sec[1] / calm->events_per_sec[1];
	if (r >= 2)
		fprintf(out,
			"With a thread per PU (%u threads) the same code made %s, %.0f times\n"
			"fewer: a woken waiter runs at once, so the window is short.\n",
			loads[0], a, r);
	else
		fprintf(out,
			"With a thread per PU (%u threads) the same code made about as many (%s):\n"
			"here even a waiter with a PU of its own waited long to run again.\n",
			loads[0], a);
	sl_lab_fmt(a, sizeof(a), rationed->events_per_sec[1], "calls/s");
	r = storm->events_per_sec[1] / rationed->events_per_sec[1];
	fprintf(out,
		"sem rations them: a post wakes only when registered waiters outnumber the\n"
		"wakes sent and not yet taken up, so a woken waiter draws one call, not one\n"
		"per post.  At %u threads it made %s",
		loads[1], a);
	if (r >= 2)
		fprintf(out, ", %.0f times fewer,", r);
	else
		fprintf(out, ", not much fewer here,");
	fprintf(out, "\nand ran at %.1fx the unrationed rate.\n",
		rationed->ops_per_sec / storm->ops_per_sec);
}

static int wake_storm_run(const struct sl_demo_ctx *ctx, FILE *out,
			  struct sl_err *err)
{
	static const char *const names[] = { "threads", "throughput", "sleeps",
					     "wake calls", "calls per sleep",
					     "ctx switches" };
	static const char *const units[] = { "", "ops/s", "/s", "/s", "", "/op" };
	const unsigned loads[WK_LOADS] = { ctx->pus, WK_OVER * ctx->pus };
	struct sl_lab_measure m[WK_LOADS][WK_PRIMS];
	struct sl_lab_table *t;
	char lbl[64];
	int rc = 0;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "the contrast needs a waiter that can run at once on a PU of its own; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "sem-unrationed (a post wakes whenever a waiter is registered) vs sem (wakes\n"
		     "rationed), 1 permit, no work inside or between; %u threads (one per PU) and\n"
		     "%u threads (%d per PU).\n\n", loads[0], loads[1], WK_OVER);
	for (unsigned l = 0; l < WK_LOADS; l++)
		for (int p = 0; p < WK_PRIMS; p++) {
			struct sl_point pt = sl_lab_point(sl_lab_prim(wk_prims[p]), loads[l]);

			pt.permits = 1;
			rc = sl_lab_measure_ok(ctx, &pt, &m[l][p], err);
			if (rc < 0)
				return rc;
		}
	t = sl_lab_table_new("semaphore", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < WK_PRIMS; p++)
		for (unsigned l = 0; l < WK_LOADS; l++) {
			const struct sl_lab_measure *x = &m[l][p];
			double v[C_NCOLS] = {
				[C_THREADS] = loads[l],
				[C_OPS] = x->ops_per_sec,
				[C_SLEEPS] = x->events_per_sec[0],
				[C_WAKES] = x->events_per_sec[1],
				[C_PER_SLEEP] = per_sleep(x),
				[C_CS_OP] = x->ctx_switches_per_op,
			};

			snprintf(lbl, sizeof(lbl), "%s, %u thr", wk_prims[p], loads[l]);
			if (sl_lab_table_add(t, lbl, v) < 0) {
				sl_lab_table_free(t);
				return sl_err_set(err, -ENOMEM, "out of memory");
			}
		}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	explain(out, m, loads, ctx->pus);
	{
		const struct sl_lab_chart chart = {
			.stem = "calls",
			.title = "Wake-up calls and sleeps, per second",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_SLEEPS, C_WAKES },
			.ny = 2,
			.ylabel = "per second",
			.log_y = true,
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_wake_storm = {
	.name = "wake-storm",
	.question = "why can a semaphore's wake-up calls outnumber its sleeps a thousandfold?",
	.run = wake_storm_run,
};
