/*
 * writer-starvation: a reader-preferring rwlock lets a reader in whenever
 * other readers hold the lock, even while a writer waits.  With enough
 * readers whose sections overlap, the read count never falls to zero and
 * the writer waits as long as the readers keep coming.  A writer-preferring
 * rwlock stops admitting new readers once a writer waits, so the writer gets
 * in after the current readers leave -- and the readers pay for it in
 * throughput.  Dedicated writer threads (the rw shape's --writers) make the
 * writers' share and their longest wait measurable on their own.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "lab/lab.h"

#define WS_PRIMS 4
#define WS_WRITERS 1
/* Readers' sections long enough to overlap; nobody pauses between ops. */
#define WS_CS_NS 1000

enum { C_THREADS, C_SHARE, C_WOPS, C_ROPS, C_FAIR, C_WWAIT, C_RWAIT, C_NCOLS };

static const char *const ws_prims[WS_PRIMS] = { "rwlock-rpref", "rwlock", "pthread-rwlock",
						"pthread-rwlock-wpref" };
static const char *const ws_policy[WS_PRIMS] = { "reader-preferring", "writer-preferring",
						 "glibc default", "glibc writer-preferring" };

struct ws_row {
	struct sl_lab_measure m;
	double share;       /* writers' share of the ops, 0..1 */
	double wwait_ns;    /* longest writer wait (a lower bound if starved) */
	bool starved;       /* no write completed in the window */
};

static int writer_starvation_run(const struct sl_demo_ctx *ctx, FILE *out,
				 struct sl_err *err)
{
	static const char *const names[] = { "threads", "writer share", "writes",
					     "reads", "fairness", "max writer wait",
					     "max reader wait" };
	static const char *const units[] = { "", "%", "ops/s", "ops/s", "", "ms", "ms" };
	const unsigned threads = ctx->pus > 4 ? ctx->pus : 4;
	struct ws_row row[WS_PRIMS];
	struct sl_lab_table *t;
	char lbl[64], a[32], b[32], c[32], d[32];
	bool any_starved = false;
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "starvation needs read sections that overlap, on PUs of their own; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "%d writer thread and %u reader threads on one rwlock%s;\n"
		     "every section is %d ns of work, nobody pauses between ops, every acquire is timed.\n\n",
		WS_WRITERS, threads - WS_WRITERS,
		threads > ctx->pus ? " (more threads than PUs)" : "", WS_CS_NS);
	for (int p = 0; p < WS_PRIMS; p++) {
		struct sl_point pt = sl_lab_point(sl_lab_prim(ws_prims[p]), threads);
		struct ws_row *r = &row[p];

		pt.writers = WS_WRITERS;
		pt.cs_ns = WS_CS_NS;
		pt.lat_period = 1;
		rc = sl_lab_measure_ok(ctx, &pt, &r->m, err);
		if (rc < 0)
			return rc;
		r->share = r->m.role_ops_share[SL_ROLE_WRITER];
		r->starved = !(r->share > 0);
		/* A writer that never got in was never timed: its wait is at
		 * least the window. */
		r->wwait_ns = r->starved || isnan(r->m.role_lat_max_ns[SL_ROLE_WRITER])
				      ? (double)ctx->duration_ns
				      : r->m.role_lat_max_ns[SL_ROLE_WRITER];
		any_starved |= r->starved;
	}
	t = sl_lab_table_new("rwlock (policy)", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < WS_PRIMS; p++) {
		const struct ws_row *r = &row[p];
		double v[C_NCOLS] = {
			[C_THREADS] = threads,
			[C_SHARE] = r->share * 100,
			[C_WOPS] = r->share * r->m.ops_per_sec,
			[C_ROPS] = r->m.role_ops_share[SL_ROLE_READER] * r->m.ops_per_sec,
			[C_FAIR] = r->m.fairness,
			[C_WWAIT] = r->wwait_ns / 1e6,
			[C_RWAIT] = r->m.role_lat_max_ns[SL_ROLE_READER] / 1e6,
		};

		snprintf(lbl, sizeof(lbl), "%s (%s)%s", ws_prims[p], ws_policy[p],
			 r->starved ? " *" : "");
		if (sl_lab_table_add(t, lbl, v) < 0) {
			sl_lab_table_free(t);
			return sl_err_set(err, -ENOMEM, "out of memory");
		}
	}
	sl_lab_table_print(out, t);
	fprintf(out, "  (an equal share would be %.0f%%; waits are the longest acquire of the\n"
		     "  writer threads and of the reader threads, medians over runs",
		100.0 * WS_WRITERS / threads);
	if (any_starved)
		fprintf(out, ";\n  * no write completed in the window: the wait shown is the window, a lower bound");
	fprintf(out, ")\n\n");
	{
		const struct ws_row *rp = &row[0], *wp = &row[1];
		bool starved = rp->starved ||
			       (rp->share < 0.25 * wp->share && rp->wwait_ns > 4 * wp->wwait_ns);

		if (rp->starved)
			fprintf(out,
				"Writer starvation: under the reader-preferring rwlock the writer completed\n"
				"not one write in the %s window -- new readers kept joining the readers\n"
				"inside, so the read count never fell to zero.  The writer-preferring rwlock\n"
				"gave it %.1f%% of the ops (%s), its longest wait %s.\n",
				sl_lab_fmt_time(a, sizeof(a), (double)ctx->duration_ns),
				wp->share * 100, sl_lab_fmt(b, sizeof(b), wp->share * wp->m.ops_per_sec, "writes/s"),
				sl_lab_fmt_time(c, sizeof(c), wp->wwait_ns));
		else if (starved)
			fprintf(out,
				"Writer starvation: under the reader-preferring rwlock the writer got %.2f%% of\n"
				"the ops and waited up to %s for the readers to drain; the writer-preferring\n"
				"rwlock gave it %.1f%% and a longest wait of %s (%.0fx shorter).\n",
				rp->share * 100, sl_lab_fmt_time(a, sizeof(a), rp->wwait_ns),
				wp->share * 100, sl_lab_fmt_time(b, sizeof(b), wp->wwait_ns),
				rp->wwait_ns / wp->wwait_ns);
		else
			fprintf(out,
				"No starvation showed here: the reader-preferring rwlock's writer got %.1f%% of\n"
				"the ops (longest wait %s) against %.1f%% (%s) writer-preferring.\n"
				"The readers' sections did not overlap enough to keep the lock read-held;\n"
				"more reader threads on PUs of their own would.\n",
				rp->share * 100, sl_lab_fmt_time(a, sizeof(a), rp->wwait_ns),
				wp->share * 100, sl_lab_fmt_time(b, sizeof(b), wp->wwait_ns));
		{
			double wr = wp->m.role_ops_share[SL_ROLE_READER] * wp->m.ops_per_sec;
			double rr = rp->m.role_ops_share[SL_ROLE_READER] * rp->m.ops_per_sec;

			fprintf(out, "%s:\n%s of reads writer-preferring against %s reader-preferring,\n",
				wr < 0.95 * rr ? "Preferring writers cost the readers throughput"
					       : "The readers lost no throughput to the writer",
				sl_lab_fmt(a, sizeof(a), wr, "ops/s"),
				sl_lab_fmt(b, sizeof(b), rr, "ops/s"));
		}
		fprintf(out, "and the longest reader wait was %s against %s: %s.\n",
			sl_lab_fmt_time(c, sizeof(c), wp->m.role_lat_max_ns[SL_ROLE_READER]),
			sl_lab_fmt_time(d, sizeof(d), rp->m.role_lat_max_ns[SL_ROLE_READER]),
			wp->m.role_lat_max_ns[SL_ROLE_READER] > 1.5 * rp->m.role_lat_max_ns[SL_ROLE_READER]
				? "readers\nqueue behind a waiting writer"
				: "other delays,\nsuch as preemption, outweighed the writer's");
		fprintf(out, "Jain's index over all threads: %.3f reader-preferring, %.3f writer-preferring.\n",
			rp->m.fairness, wp->m.fairness);
		fprintf(out, "glibc's default rwlock, also reader-preferring, gave its writer %.2g%% of the ops%s;\n"
			     "its writer-preferring kind %.2g%%%s.\n",
			row[2].share * 100, row[2].starved ? " (starved)" : "",
			row[3].share * 100, row[3].starved ? " (starved)" : "");
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "writer-share",
			.title = "Writer starvation: the writer thread's share of all ops",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_SHARE },
			.ny = 1,
			.ylabel = "writer share (% of ops)",
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_writer_starvation = {
	.name = "writer-starvation",
	.question = "can readers keep a writer out forever?",
	.run = writer_starvation_run,
};
