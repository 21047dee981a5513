/*
 * percpu-counter: one shared atomic counter vs per-CPU shards summed on
 * read, the way kernels keep statistics (packets, page faults, ...).  The
 * shared counter makes every increment a locked read-modify-write on one
 * line that travels between the updating cores; a shard is written by its
 * own CPU only, stays in that core's cache and needs no atomic instruction.
 * The price moves to the reader: a read touches one line per CPU, and the
 * sum it returns is not the total at any single instant.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab/lab.h"
#include "util/clock.h"

/* lab_arg: the number of shards (one per usable PU) and whether the last
 * thread reads instead of updating. */
#define PC_ARG(shards, reader) ((long)(shards) << 1 | ((reader) ? 1 : 0))
#define PC_MAX_SHARDS SL_PIN_LIST_MAX

/* The reader times every PC_SAMPLE-th read, so one clock read is spread
 * over many reads. */
#define PC_SAMPLE 64

struct pc_slot {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t v;
};

/* The reader thread's own record; figures() reads it after the join. */
struct pc_reader {
	alignas(SL_SLOT_ALIGN) uint64_t reads;
	uint64_t first_ns, first_value, first_reads; /* first timed read */
	uint64_t last_ns, last_value, last_reads;    /* latest timed read */
};

struct percpu {
	struct pc_slot shared;  /* the single counter */
	struct pc_slot *shard;  /* [nshards]: shard i is updater i's */
	unsigned nshards;
	unsigned updaters;      /* threads 0..updaters-1; the reader follows */
	struct pc_reader rd;
};

static int pc_init_common(struct percpu *p, const struct sl_prim_conf *conf,
			  bool sharded, struct sl_err *err)
{
	const bool reader = conf->lab_arg & 1;

	p->nshards = (unsigned)(conf->lab_arg >> 1);
	p->updaters = conf->nthreads - (reader ? 1 : 0);
	if (p->updaters < 1 || p->updaters > p->nshards || p->nshards > PC_MAX_SHARDS)
		return sl_err_set(err, -EINVAL,
				  "per-CPU counter: '%u' updaters for %u shards (accepted: 1..shards, shards <= %u)",
				  p->updaters, p->nshards, PC_MAX_SHARDS);
	atomic_init(&p->shared.v, 0);
	memset(&p->rd, 0, sizeof(p->rd));
	p->shard = NULL;
	if (sharded) {
		p->shard = aligned_alloc(SL_SLOT_ALIGN, p->nshards * sizeof(*p->shard));
		if (!p->shard)
			return sl_err_set(err, -ENOMEM, "out of memory for %u shards", p->nshards);
		for (unsigned i = 0; i < p->nshards; i++)
			atomic_init(&p->shard[i].v, 0);
	}
	return 0;
}

static int pc_shared_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	return pc_init_common(obj, conf, false, err);
}

static int pc_sharded_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	return pc_init_common(obj, conf, true, err);
}

static void pc_destroy(void *obj)
{
	free(((struct percpu *)obj)->shard);
}

static void reader_note(struct pc_reader *rd, uint64_t value)
{
	uint64_t n = ++rd->reads, now;

	if (n % PC_SAMPLE)
		return;
	now = sl_now_ns();
	if (!rd->first_reads) {
		rd->first_ns = now;
		rd->first_value = value;
		rd->first_reads = n;
	} else {
		rd->last_ns = now;
		rd->last_value = value;
		rd->last_reads = n;
	}
}

/* Every access is relaxed: the counter orders nothing else, and readers
 * want a value, not a synchronisation point. */
static uint64_t pc_shared_step(void *obj, void *tctx, unsigned id)
{
	struct percpu *p = obj;

	(void)tctx;
	if (id < p->updaters)
		atomic_fetch_add_explicit(&p->shared.v, 1, memory_order_relaxed);
	else
		reader_note(&p->rd, atomic_load_explicit(&p->shared.v, memory_order_relaxed));
	return 0;
}

static uint64_t pc_sharded_step(void *obj, void *tctx, unsigned id)
{
	struct percpu *p = obj;

	(void)tctx;
	if (id < p->updaters) {
		_Atomic uint64_t *mine = &p->shard[id].v;

		/* The shard's only writer: a load and a store, no locked
		 * instruction -- the kernel's this_cpu_inc.  The reader
		 * sees the old or the new value, never a torn one. */
		atomic_store_explicit(mine, atomic_load_explicit(mine, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	} else {
		uint64_t sum = 0;

		for (unsigned i = 0; i < p->nshards; i++)
			sum += atomic_load_explicit(&p->shard[i].v, memory_order_relaxed);
		reader_note(&p->rd, sum);
	}
	return 0;
}

/*
 * From the reader's timed reads: ns per read; how far the total moved
 * while one read ran (increments between the values of back-to-back reads,
 * averaged); the update rate the reader saw.  NAN without a reader.
 */
static void pc_figures(void *obj, double out[SL_LAB_FIGURES])
{
	const struct pc_reader *rd = &((const struct percpu *)obj)->rd;
	double reads, span;

	if (rd->last_reads <= rd->first_reads)
		return;
	reads = (double)(rd->last_reads - rd->first_reads);
	span = (double)(rd->last_ns - rd->first_ns);
	out[0] = span / reads;
	out[1] = (double)(rd->last_value - rd->first_value) / reads;
	out[2] = span > 0 ? (double)(rd->last_value - rd->first_value) / span * 1e9 : NAN;
}

static const struct sl_prim pc_shared = {
	.name = "counter-shared",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "one atomic counter every CPU increments",
	.obj_size = sizeof(struct percpu),
	.init = pc_shared_init,
	.destroy = pc_destroy,
	.lab = { .step = pc_shared_step, .figures = pc_figures },
};

static const struct sl_prim pc_sharded = {
	.name = "counter-percpu",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "per-CPU counter shards summed on read",
	.obj_size = sizeof(struct percpu),
	.init = pc_sharded_init,
	.destroy = pc_destroy,
	.lab = { .step = pc_sharded_step, .figures = pc_figures },
};

/* --- the experiment ------------------------------------------------------ */

enum { U_UPDATERS, U_OPS, U_NS, U_PER, U_COUNT };
enum { R_UPDATERS, R_LINES, R_NS, R_MOVED, R_RATE, R_COUNT };

static const char *const layout_name[2] = { "shared atomic", "per-CPU shards" };

static int measure(const struct sl_demo_ctx *ctx, const struct sl_prim *prim,
		   unsigned threads, bool reader, struct sl_lab_measure *m,
		   struct sl_err *err)
{
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	struct sl_point pt = sl_lab_point(prim, threads);
	int rc;

	pt.pin = &scatter;
	pt.lab_arg = PC_ARG(ctx->pus, reader);
	rc = sl_lab_measure_ok(ctx, &pt, m, err);
	if (rc < 0)
		return rc;
	return 0;
}

static int update_table(const struct sl_demo_ctx *ctx, struct sl_lab_table *t,
			double top[2], double one[2], struct sl_err *err)
{
	const struct sl_prim *layout[2] = { &pc_shared, &pc_sharded };
	unsigned counts[32], n = 0;
	int rc;

	/* Powers of two up to every PU; --quick: every PU only. */
	if (!ctx->quick)
		for (unsigned u = 1; u < ctx->pus && n < 31; u *= 2)
			counts[n++] = u;
	counts[n++] = ctx->pus;
	for (int l = 0; l < 2; l++) {
		for (unsigned i = 0; i < n; i++) {
			struct sl_lab_measure m;
			double v[U_COUNT];

			rc = measure(ctx, layout[l], counts[i], false, &m, err);
			if (rc < 0)
				return rc;
			v[U_UPDATERS] = counts[i];
			v[U_OPS] = m.ops_per_sec;
			v[U_NS] = m.ns_per_op;
			v[U_PER] = m.ops_per_sec / counts[i];
			if (sl_lab_table_add(t, layout_name[l], v) < 0)
				return sl_err_set(err, -ENOMEM, "out of memory");
			if (counts[i] == 1)
				one[l] = m.ops_per_sec;
			top[l] = m.ops_per_sec;
		}
	}
	return 0;
}

static int pc_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const unames[U_COUNT] = { "updaters", "updates", "per update",
						     "per updater" };
	static const char *const uunits[U_COUNT] = { "", "ops/s", "ns", "ops/s" };
	static const char *const rnames[R_COUNT] = { "updaters", "lines read", "read cost",
						     "moved during a read", "updates seen" };
	static const char *const runits[R_COUNT] = { "", "count", "ns", "increments", "ops/s" };
	const struct sl_prim *layout[2] = { &pc_shared, &pc_sharded };
	struct sl_lab_table *ut, *rt = NULL;
	struct sl_lab_measure rm[2];
	double top[2] = { NAN, NAN }, one[2] = { NAN, NAN };
	char a[64], b[64];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "a shared counter is contended only by updaters running at once on different CPUs; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	if (ctx->pus > PC_MAX_SHARDS)
		return sl_err_set(err, -ENOTSUP, "more than %u usable PUs (restrict it with taskset)",
				  PC_MAX_SHARDS);
	fprintf(out, "Updaters increment one shared atomic counter, or each its own shard of a\n"
		     "per-CPU counter (%u shards, one per usable PU, each on its own lines); then\n"
		     "one thread reads while %u update%s.\n\n",
		ctx->pus, ctx->pus - 1, ctx->pus - 1 == 1 ? "s" : "");
	ut = sl_lab_table_new("layout", U_COUNT, unames, uunits);
	if (!ut)
		return sl_err_set(err, -ENOMEM, "out of memory");
	rc = update_table(ctx, ut, top, one, err);
	for (int l = 0; rc == 0 && l < 2; l++)
		rc = measure(ctx, layout[l], ctx->pus, true, &rm[l], err);
	if (rc == 0) {
		rt = sl_lab_table_new("layout", R_COUNT, rnames, runits);
		if (!rt)
			rc = sl_err_set(err, -ENOMEM, "out of memory");
	}
	for (int l = 0; rc == 0 && l < 2; l++) {
		double v[R_COUNT] = {
			[R_UPDATERS] = ctx->pus - 1,
			[R_LINES] = l ? ctx->pus : 1,
			[R_NS] = rm[l].lab_figure[0],
			[R_MOVED] = rm[l].lab_figure[1],
			[R_RATE] = rm[l].lab_figure[2],
		};

		if (sl_lab_table_add(rt, layout_name[l], v) < 0)
			rc = sl_err_set(err, -ENOMEM, "out of memory");
	}
	if (rc < 0) {
		sl_lab_table_free(ut);
		sl_lab_table_free(rt);
		return rc;
	}
	fprintf(out, "Updates (every thread updating):\n");
	sl_lab_table_print(out, ut);
	fprintf(out, "\nReads (the last thread summing while the others update):\n");
	sl_lab_table_print(out, rt);
	fputc('\n', out);
	{
		double r = top[1] / top[0];

		if (r >= 1.5)
			fprintf(out,
				"At %u updaters the shards took %s against %s for the shared\n"
				"counter (%.1fx).  Each shared increment is a locked read-modify-write that\n"
				"needs the one line exclusively, so the updaters queue for it; a shard is\n"
				"written by one CPU only, stays in its cache and needs no locked instruction.\n",
				ctx->pus, sl_lab_fmt(a, sizeof(a), top[1], "ops/s"),
				sl_lab_fmt(b, sizeof(b), top[0], "ops/s"), r);
		else
			fprintf(out,
				"At %u updaters the shards took %s against %s for the shared\n"
				"counter, only %.2fx: the updaters did not contend much for the one line here\n"
				"(a busy or virtual machine whose vCPUs rarely run at once?).  The gap grows\n"
				"with the number of CPUs updating at the same time.\n",
				ctx->pus, sl_lab_fmt(a, sizeof(a), top[1], "ops/s"),
				sl_lab_fmt(b, sizeof(b), top[0], "ops/s"), r);
		if (!isnan(one[0]) && one[1] > 1.1 * one[0])
			fprintf(out, "With one updater (no contention) the shards still won, %s vs %s:\n"
				     "the price of the locked instruction alone.\n",
				sl_lab_fmt(a, sizeof(a), one[1], "ops/s"),
				sl_lab_fmt(b, sizeof(b), one[0], "ops/s"));
		else if (!isnan(one[0]))
			fprintf(out, "With one updater (no contention) the two were close, %s vs %s:\n"
				     "an uncontended locked add costs little here; the gap is contention.\n",
				sl_lab_fmt(a, sizeof(a), one[1], "ops/s"),
				sl_lab_fmt(b, sizeof(b), one[0], "ops/s"));
	}
	if (!isnan(rm[0].lab_figure[0]) && !isnan(rm[1].lab_figure[0])) {
		double r = rm[1].lab_figure[0] / rm[0].lab_figure[0];

		fprintf(out,
			"A read of the shards touched %u lines and cost %.0f ns against %.0f ns for the\n"
			"one load of the shared counter (%.2fx).\n%s\n",
			ctx->pus, rm[1].lab_figure[0], rm[0].lab_figure[0], r,
			r > 1.1 ? "The cost grows with the number of CPUs, which is why kernels read such\n"
				  "statistics rarely and keep the hot path for the update."
				: "With this few shards the sum is no dearer, but its cost grows with the\n"
				  "number of CPUs, which is why kernels read such statistics rarely.");
		fprintf(out,
			"While one read ran the total moved by %.2f increments (shards) and %.2f\n"
			"(shared).  A load of the shared counter is the exact total at the instant it\n"
			"runs; a sum of shards is the total at no instant -- it lies between the totals\n"
			"at the start and the end of its read, so it is off by up to about that much.\n"
			"Once the updates stop, both are exact: every increment lands in one place.\n",
			rm[1].lab_figure[1], rm[0].lab_figure[1]);
	} else {
		fprintf(out, "The reader made too few reads to time (fewer than %d): no read figures.\n",
			2 * PC_SAMPLE);
	}
	{
		const struct sl_lab_chart uchart = {
			.stem = "updates",
			.title = "Shared atomic counter vs per-CPU shards: update throughput",
			/* --quick measures one thread count: bars, not a line. */
			.style = ctx->quick ? SL_LAB_BARS : SL_LAB_LINES,
			.x_col = ctx->quick ? -1 : U_UPDATERS,
			.xlabel = "updater threads",
			.y_cols = { U_OPS },
			.ny = 1,
			.ylabel = "increments (ops/s, all updaters)",
			.log_x = ctx->pus > 4,
		};
		const struct sl_lab_chart rchart = {
			.stem = "reads",
			.title = "Shared atomic counter vs per-CPU shards: cost of one read",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { R_NS },
			.ny = 1,
			.ylabel = "read cost (ns)",
		};

		rc = sl_lab_save(ctx, out, ut, &uchart, err);
		if (rc == 0)
			rc = sl_lab_save(ctx, out, rt, &rchart, err);
	}
	sl_lab_table_free(ut);
	sl_lab_table_free(rt);
	return rc;
}

const struct sl_demo sl_demo_percpu_counter = {
	.name = "percpu-counter",
	.question = "why do kernels keep statistics in per-CPU counters?",
	.run = pc_run,
};
