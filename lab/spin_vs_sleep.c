/*
 * spin-vs-sleep: a spinlock (spin-ttas) against a futex mutex (mutex) as the
 * critical section grows and as the threads come to outnumber the PUs.
 * A spinning waiter takes the lock a few hundred nanoseconds after its
 * release but burns its CPU the whole time it waits; a sleeping waiter gives
 * the CPU away but pays a system call and a wake-up (microseconds) for
 * every hand-off.  Short sections favour spinning, long sections and
 * oversubscription (a spinner may be burning the very CPU the lock holder
 * needs) favour sleeping; the crossover is where the wake-up costs about as
 * much as the wait it saves.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "util/opt.h"

#define SVS_PRIMS 2
#define SVS_MAX_CS 3
#define SVS_LOADS 2
/* Within this ratio the two are called even. */
#define SVS_TIE 1.10

enum { C_THREADS, C_CS, C_OPS, C_CPUS, C_CPU_OP, C_CS_OP, C_NCOLS };

struct svs_cell {
	unsigned threads;
	uint64_t cs_ns;
	struct sl_lab_measure m[SVS_PRIMS];
};

static const char *const svs_prim_names[SVS_PRIMS] = { "spin-ttas", "mutex" };

static int measure_cell(const struct sl_demo_ctx *ctx, struct svs_cell *c,
			struct sl_err *err)
{
	for (int p = 0; p < SVS_PRIMS; p++) {
		struct sl_point pt = sl_lab_point(sl_lab_prim(svs_prim_names[p]), c->threads);
		int rc;

		pt.cs_ns = c->cs_ns;
		rc = sl_lab_measure_ok(ctx, &pt, &c->m[p], err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* One line per thread count: who won at each length, and where it flips. */
static void explain_load(FILE *out, const struct svs_cell *cells, unsigned ncs,
			 unsigned pus)
{
	char a[32], lo[32] = "", hi[32] = "";
	int prev = -2, flips = 0;

	fprintf(out, "With %u threads on %u PUs%s:\n", cells[0].threads, pus,
		cells[0].threads > pus ? " (oversubscribed)" : " (one per PU)");
	for (unsigned i = 0; i < ncs; i++) {
		const struct svs_cell *c = &cells[i];
		double s = c->m[0].ops_per_sec, mu = c->m[1].ops_per_sec;
		double r = s > mu ? s / mu : mu / s;
		int winner = r < SVS_TIE ? -1 : s > mu ? 0 : 1;

		sl_format_duration(c->cs_ns, a, sizeof(a));
		if (winner < 0)
			fprintf(out, "  cs %-6s even (within %.0f%%)", a, (SVS_TIE - 1) * 100);
		else
			fprintf(out, "  cs %-6s %s wins by %.2fx", a, svs_prim_names[winner], r);
		fprintf(out, "; CPUs busy: spinning %.2f, sleeping %.2f\n",
			c->m[0].cpu_util * c->threads, c->m[1].cpu_util * c->threads);
		if (winner >= 0) {
			if (prev >= 0 && winner != prev) {
				flips++;
				sl_format_duration(cells[i - 1].cs_ns, lo, sizeof(lo));
				sl_format_duration(c->cs_ns, hi, sizeof(hi));
			}
			prev = winner;
		}
	}
	if (flips == 1)
		fprintf(out, "  Crossover here: between a %s and a %s critical section.\n", lo, hi);
	else if (flips > 1)
		fprintf(out, "  The lead changed %d times (last between %s and %s): no single crossover\n"
			     "  in this range; more --repeat would say whether it is noise.\n",
			flips, lo, hi);
	else if (prev >= 0)
		fprintf(out, "  No crossover in this range: %s led (or tied) at every length.\n",
			svs_prim_names[prev]);
	else
		fprintf(out, "  No crossover in this range: the two were even at every length.\n");
}

static int spin_vs_sleep_run(const struct sl_demo_ctx *ctx, FILE *out,
			     struct sl_err *err)
{
	static const char *const names[] = { "threads", "cs", "throughput", "CPU busy",
					     "CPU per op", "ctx switches" };
	static const char *const units[] = { "", "ns", "ops/s", "CPUs", "ns", "/op" };
	static const uint64_t cs_full[] = { 100, 2000, 50000 };
	static const uint64_t cs_quick[] = { 100, 50000 };
	const uint64_t *cs = ctx->quick ? cs_quick : cs_full;
	const unsigned ncs = ctx->quick ? 2 : 3;
	const unsigned loads[SVS_LOADS] = { ctx->pus, 4 * ctx->pus };
	struct svs_cell cells[SVS_LOADS][SVS_MAX_CS];
	struct sl_lab_table *t;
	char lbl[64];
	int rc = 0;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "spinning only pays when the lock holder runs on another PU while the waiter spins; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "spin-ttas (waiters poll) vs mutex (waiters sleep on a futex), one lock, no\n"
		     "think time; critical sections of");
	for (unsigned i = 0; i < ncs; i++) {
		sl_format_duration(cs[i], lbl, sizeof(lbl));
		fprintf(out, "%s %s", i ? (i + 1 == ncs ? " and" : ",") : "", lbl);
	}
	fprintf(out, " of busy work;\n%u threads (one per PU) and %u threads (4 per PU).\n\n",
		loads[0], loads[1]);
	for (unsigned l = 0; l < SVS_LOADS; l++)
		for (unsigned i = 0; i < ncs; i++) {
			cells[l][i].threads = loads[l];
			cells[l][i].cs_ns = cs[i];
			rc = measure_cell(ctx, &cells[l][i], err);
			if (rc < 0)
				return rc;
		}
	t = sl_lab_table_new("lock", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int p = 0; p < SVS_PRIMS; p++)
		for (unsigned l = 0; l < SVS_LOADS; l++)
			for (unsigned i = 0; i < ncs; i++) {
				const struct svs_cell *c = &cells[l][i];
				const struct sl_lab_measure *m = &c->m[p];
				double v[C_NCOLS] = {
					[C_THREADS] = c->threads,
					[C_CS] = (double)c->cs_ns,
					[C_OPS] = m->ops_per_sec,
					[C_CPUS] = m->cpu_util * c->threads,
					[C_CPU_OP] = m->cpu_ns_per_op,
					[C_CS_OP] = m->ctx_switches_per_op,
				};

				snprintf(lbl, sizeof(lbl), "%s, %u thr", svs_prim_names[p],
					 c->threads);
				if (sl_lab_table_add(t, lbl, v) < 0) {
					sl_lab_table_free(t);
					return sl_err_set(err, -ENOMEM, "out of memory");
				}
			}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	for (unsigned l = 0; l < SVS_LOADS; l++)
		explain_load(out, cells[l], ncs, ctx->pus);
	{
		const struct svs_cell *c = &cells[1][ncs - 1];
		char a[32];

		sl_format_duration(c->cs_ns, a, sizeof(a));
		fprintf(out,
			"CPU per op is the price of waiting: at %s and %u threads spinning burned %.1f us\n"
			"of CPU per op against %.1f us sleeping (the section itself is %s), and took\n"
			"%.3f context switches per op against %.3f.  A sleeper pays a system call and a\n"
			"wake-up per hand-off instead; a spinner keeps its CPU, which only helps while\n"
			"the holder has a CPU of its own.\n",
			a, c->threads, c->m[0].cpu_ns_per_op / 1e3, c->m[1].cpu_ns_per_op / 1e3,
			a, c->m[0].ctx_switches_per_op, c->m[1].ctx_switches_per_op);
		c = &cells[0][0];
		sl_format_duration(c->cs_ns, a, sizeof(a));
		if (c->m[1].ctx_switches_per_op < 0.01)
			fprintf(out,
				"At %s with a thread per PU the mutex hardly slept (%.2g context switches\n"
				"per op): it spins for a while before sleeping, so there it waits as a spinlock does.\n",
				a, c->m[1].ctx_switches_per_op);
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "Spin vs sleep: throughput by critical-section length",
			.style = SL_LAB_LINES,
			.x_col = C_CS,
			.xlabel = "critical section (ns of busy work)",
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

const struct sl_demo sl_demo_spin_vs_sleep = {
	.name = "spin-vs-sleep",
	.question = "when does spinning beat sleeping, and what does waiting cost in CPU time?",
	.run = spin_vs_sleep_run,
};
