/*
 * false-sharing: per-thread counters that share one cache line vs the same
 * counters padded to lines of their own.  No counter is shared -- every
 * thread increments only its own -- yet in the packed layout each increment
 * must pull the line away from the core that wrote it last, so the threads
 * serialise on the coherence protocol as if they shared a lock.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "util/atomics.h"

#define FS_MAX_THREADS 8

/* Eight 8-byte counters in one 64-byte line. */
struct packed_counters {
	alignas(SL_CACHELINE) _Atomic uint64_t c[FS_MAX_THREADS];
};

/* The same counters, each alone in a prefetch pair of lines. */
struct padded_counter {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t c;
};
struct padded_counters {
	struct padded_counter slot[FS_MAX_THREADS];
};

/* An atomic increment of the thread's own counter, as per-thread statistics
 * updated with atomics are: relaxed, since nothing else is ordered by it.
 * The read-modify-write needs the line in exclusive state at that moment,
 * so a line shared with other writers must travel for every increment.  (A
 * plain load and store would hide much of the effect: the store buffer lets
 * the thread run ahead while the line is away.) */
static inline uint64_t bump(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
	return 0;
}

static uint64_t packed_step(void *obj, void *tctx, unsigned id)
{
	(void)tctx;
	return bump(&((struct packed_counters *)obj)->c[id % FS_MAX_THREADS]);
}

static uint64_t padded_step(void *obj, void *tctx, unsigned id)
{
	(void)tctx;
	return bump(&((struct padded_counters *)obj)->slot[id % FS_MAX_THREADS].c);
}

static const struct sl_prim packed = {
	.name = "counters-packed",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "per-thread counters in one cache line",
	.obj_size = sizeof(struct packed_counters),
	.lab = { .step = packed_step },
};

static const struct sl_prim padded = {
	.name = "counters-padded",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "per-thread counters on lines of their own",
	.obj_size = sizeof(struct padded_counters),
	.lab = { .step = padded_step },
};

static int false_sharing_run(const struct sl_demo_ctx *ctx, FILE *out,
			     struct sl_err *err)
{
	static const char *const names[] = { "threads", "throughput", "per op",
					     "cache misses", "per thread" };
	static const char *const units[] = { "", "ops/s", "ns", "misses/op", "ops/s" };
	const struct sl_prim *layouts[2] = { &packed, &padded };
	struct sl_lab_measure m[2];
	struct sl_lab_table *t;
	unsigned threads = ctx->pus < FS_MAX_THREADS ? ctx->pus : FS_MAX_THREADS;
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	char a[64], b[64];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "false sharing needs two threads running at once on different cores; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "%u threads, one per PU (scatter: different cores first), each incrementing only\n"
		     "its own counter with an atomic add.\n\n", threads);
	for (int i = 0; i < 2; i++) {
		struct sl_point pt = sl_lab_point(layouts[i], threads);

		pt.pin = &scatter;
		rc = sl_lab_measure_ok(ctx, &pt, &m[i], err);
		if (rc < 0)
			return rc;
	}
	t = sl_lab_table_new("layout", 5, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < 2; i++) {
		double v[5] = { threads, m[i].ops_per_sec, m[i].ns_per_op,
				m[i].cache_misses_per_op, m[i].ops_per_sec / threads };

		sl_lab_table_add(t, i ? "padded (own lines)" : "packed (one line)", v);
	}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	{
		double ratio = m[1].ops_per_sec / m[0].ops_per_sec;

		if (ratio >= 1.5)
			fprintf(out,
				"Padding made the same work %.1fx faster (%s vs %s).  Nothing is shared\n"
				"between the threads, but in the packed layout every store needs the line in\n"
				"exclusive state, so each increment waits for the line to come back from the\n"
				"core that wrote it last: %.1f ns per increment instead of %.1f ns.\n",
				ratio, sl_lab_fmt(a, sizeof(a), m[1].ops_per_sec, "ops/s"),
				sl_lab_fmt(b, sizeof(b), m[0].ops_per_sec, "ops/s"),
				m[0].ns_per_op, m[1].ns_per_op);
		else
			fprintf(out,
				"Padding changed throughput by only %.2fx (%s vs %s): this machine did not\n"
				"show false sharing clearly.  The threads may not run on separate cores at the\n"
				"same time (a busy or virtual machine whose vCPUs share a core), or the\n"
				"window was too short; try more --repeat, a longer --duration or an idle machine.\n",
				ratio, sl_lab_fmt(a, sizeof(a), m[1].ops_per_sec, "ops/s"),
				sl_lab_fmt(b, sizeof(b), m[0].ops_per_sec, "ops/s"));
		if (isnan(m[0].cache_misses_per_op))
			fprintf(out, "Cache misses are not countable here (no hardware PMU): the effect shows in\n"
				     "time only.  On a machine with a PMU the packed layout shows about one miss per op.\n");
		else
			fprintf(out, "Cache misses per op: %.3f packed vs %.3f padded.\n",
				m[0].cache_misses_per_op, m[1].cache_misses_per_op);
	}
	{
		const struct sl_lab_chart chart = {
			.stem = "throughput",
			.title = "False sharing: per-thread counters packed in one line vs padded",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { 1 },
			.ny = 1,
			.ylabel = "throughput (ops/s, all threads)",
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_false_sharing = {
	.name = "false-sharing",
	.question = "what does it cost when per-thread data shares a cache line?",
	.run = false_sharing_run,
};
