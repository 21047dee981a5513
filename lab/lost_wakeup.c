/*
 * lost-wakeup: the textbook race of sleep/wakeup.  A consumer checks a flag
 * and, finding it clear, goes to sleep; a producer sets the flag and wakes
 * the sleeper.  If the check and the sleep are two steps, a wake-up that
 * comes between them finds nobody asleep and is lost: the consumer sleeps
 * although the flag is set, until something else wakes it -- here a bounded
 * wait, whose expiry is how a lost wake-up is detected.  The fix is a sleep
 * that re-checks the condition atomically with going to sleep: FUTEX_WAIT
 * compares the word with the value the consumer saw and queues it only if
 * it is unchanged, under the same lock FUTEX_WAKE takes.
 *
 * Two threads hand rounds over: thread 0 (producer) waits until the
 * consumer took the last round, pauses a random moment, publishes round r
 * in the flag and wakes the consumer; thread 1 (consumer) waits until the
 * flag shows r and acknowledges it.  One step is one round on each side.
 *   naive: the consumer checks the flag, then sleeps on a separate doorbell
 *     word that the producer rings after setting the flag.  It reads the
 *     doorbell just before sleeping, so only rings after that read wake it
 *     -- the kernel cannot know about the flag: a plain sleep().
 *   futex: the consumer sleeps on the flag word itself, passing the value
 *     it checked; the kernel re-checks it.
 * Between the check and the sleep the consumer can spend a few hundred
 * nanoseconds more (the experiment's gap), which makes the race common
 * enough to count in a short run; the futex version has the same gap.
 *
 * A bounded wait that expires is a lost wake-up only when the producer had
 * finished waking for this round well before the expiry (half the timeout):
 * a producer preempted between setting the flag and waking is a late wake-up,
 * counted apart, never as lost -- so the futex version's count must be zero,
 * and a non-zero count there is a bug.
 *
 * Ordering: the flag's release store (producer) pairs with the consumer's
 * acquire load of it; the acknowledgement's release store (consumer) pairs
 * with the producer's acquire load; the "woken" stamp's release store pairs
 * with the consumer's acquire load when it classifies an expiry.  The
 * futex calls order nothing themselves; the words are re-read after them.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lab/lab.h"
#include "primitives/futex.h"
#include "util/clock.h"

/* The consumer's bounded wait: far above any wake-up latency. */
#define LW_TIMEOUT_NS (2 * SL_NS_PER_MS)
/* The producer's random pause before a round: up to this many ns. */
#define LW_PAUSE_NS 2000
#define LW_GAP_NS 500

/* lab_arg: the gap's and the pause's work-loop iterations, 32 bits each. */
#define LW_ARG(gap, pause) ((long)(((uint64_t)(pause) << 32) | (uint32_t)(gap)))

struct lw_obj {
	/* The round published by the producer (the futex version's word). */
	alignas(SL_CACHELINE) _Atomic uint32_t flag;
	/* Rung by the naive producer after setting the flag (its word). */
	alignas(SL_CACHELINE) _Atomic uint32_t doorbell;
	/* The last round the consumer took. */
	alignas(SL_CACHELINE) _Atomic uint32_t ack;
	/* The round the producer finished waking for, and when. */
	alignas(SL_CACHELINE) _Atomic uint32_t woken_round;
	_Atomic uint64_t woken_ns;
	alignas(SL_CACHELINE) _Atomic int stop;
	/* Producer only. */
	alignas(SL_CACHELINE) uint32_t p_round;
	uint64_t rng;
	/* Consumer only (read by figures after the join). */
	alignas(SL_CACHELINE) uint32_t c_round;
	uint64_t rounds, sleeps, expired, lost, late;
	/* Set at init. */
	alignas(SL_CACHELINE) uint64_t gap_iters, pause_iters;
};

static int lw_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	struct lw_obj *o = obj;

	if (conf->nthreads != 2)
		return sl_err_set(err, -EINVAL, "lost-wakeup runs with exactly 2 threads, not %u",
				  conf->nthreads);
	memset(o, 0, sizeof(*o));
	o->gap_iters = (uint64_t)conf->lab_arg & 0xffffffffu;
	o->pause_iters = (uint64_t)conf->lab_arg >> 32;
	o->rng = 0x9e3779b97f4a7c15ull;
	return 0;
}

static bool stopped(struct lw_obj *o)
{
	return atomic_load_explicit(&o->stop, memory_order_relaxed);
}

/* futex(FUTEX_WAIT) for at most LW_TIMEOUT_NS: true when the wait expired. */
static bool wait_expired(_Atomic uint32_t *word, uint32_t expected)
{
	const struct timespec ts = { .tv_sec = LW_TIMEOUT_NS / SL_NS_PER_SEC,
				     .tv_nsec = LW_TIMEOUT_NS % SL_NS_PER_SEC };

	return syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, &ts,
		       NULL, 0) < 0 && errno == ETIMEDOUT;
}

/* A wait in round r that expired at expiry_ns: lost if the producer had
 * finished waking for r well before, late otherwise.  Returns 1 when lost. */
static uint64_t classify_expiry(struct lw_obj *o, uint32_t r, uint64_t expiry_ns)
{
	o->expired++;
	/* acquire: pairs with the producer's release store of woken_round */
	if (atomic_load_explicit(&o->woken_round, memory_order_acquire) == r &&
	    atomic_load_explicit(&o->woken_ns, memory_order_relaxed) + LW_TIMEOUT_NS / 2 <=
		    expiry_ns) {
		o->lost++;
		return 1;
	}
	o->late++;
	return 0;
}

static void producer_step(struct lw_obj *o, bool naive)
{
	const uint32_t r = ++o->p_round;

	/* Spin, never yield: the producer has a PU of its own, and it must
	 * answer the acknowledgement at once for the race to be hit at all;
	 * a yield on a busy machine would hand its PU away for milliseconds
	 * and every such stall would show as a late wake-up.
	 * acquire: pairs with the consumer's release store of ack */
	while (atomic_load_explicit(&o->ack, memory_order_acquire) != r - 1) {
		if (stopped(o))
			return;
		sl_cpu_relax();
	}
	if (o->pause_iters)
		sl_work_loop(sl_rng_next(&o->rng) % (o->pause_iters + 1));
	/* release: the round's publication; pairs with the consumer's
	 * acquire load of the flag */
	atomic_store_explicit(&o->flag, r, memory_order_release);
	if (naive) {
		atomic_fetch_add_explicit(&o->doorbell, 1, memory_order_relaxed);
		sl_futex_wake(&o->doorbell, 1);
	} else {
		sl_futex_wake(&o->flag, 1);
	}
	atomic_store_explicit(&o->woken_ns, sl_now_ns(), memory_order_relaxed);
	/* release: makes woken_ns visible with the round (classify_expiry) */
	atomic_store_explicit(&o->woken_round, r, memory_order_release);
}

static uint64_t consumer_step(struct lw_obj *o, bool naive)
{
	const uint32_t r = ++o->c_round;
	uint64_t lost = 0;
	uint32_t seen;

	/* acquire: pairs with the producer's release store of the flag */
	while ((seen = atomic_load_explicit(&o->flag, memory_order_acquire)) != r) {
		if (stopped(o))
			return lost;
		if (o->gap_iters)
			sl_work_loop(o->gap_iters);
		o->sleeps++;
		if (naive) {
			/* A plain sleep: only rings from now on wake it. */
			uint32_t bell = atomic_load_explicit(&o->doorbell, memory_order_relaxed);

			if (wait_expired(&o->doorbell, bell))
				lost += classify_expiry(o, r, sl_now_ns());
		} else if (wait_expired(&o->flag, seen)) {
			lost += classify_expiry(o, r, sl_now_ns());
		}
	}
	o->rounds++;
	/* release: pairs with the producer's acquire load of ack */
	atomic_store_explicit(&o->ack, r, memory_order_release);
	return lost;
}

static uint64_t naive_step(void *obj, void *tctx, unsigned id)
{
	(void)tctx;
	if (id == 0) {
		producer_step(obj, true);
		return 0;
	}
	return consumer_step(obj, true);
}

static uint64_t futex_step(void *obj, void *tctx, unsigned id)
{
	(void)tctx;
	if (id == 0) {
		producer_step(obj, false);
		return 0;
	}
	return consumer_step(obj, false);
}

static void lw_stop(void *obj)
{
	struct lw_obj *o = obj;

	atomic_store_explicit(&o->stop, 1, memory_order_relaxed);
	sl_futex_wake(&o->flag, INT_MAX);
	sl_futex_wake(&o->doorbell, INT_MAX);
}

/* Over the whole run (warm-up included): the consumer's sleeps per round,
 * expiries that were late wake-ups, lost wake-ups. */
static void lw_figures(void *obj, double out[SL_LAB_FIGURES])
{
	const struct lw_obj *o = obj;

	out[0] = o->rounds ? (double)o->sleeps / (double)o->rounds : NAN;
	out[1] = (double)o->late;
	out[2] = (double)o->lost;
}

static const struct sl_prim naive_handoff = {
	.name = "wakeup-naive",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "check a flag, then sleep: a wake-up in between is lost",
	.obj_size = sizeof(struct lw_obj),
	.init = lw_init,
	.lab = { .step = naive_step, .stop = lw_stop, .figures = lw_figures },
};

static const struct sl_prim futex_handoff = {
	.name = "wakeup-futex",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "sleep on the flag word itself: the kernel re-checks it",
	.obj_size = sizeof(struct lw_obj),
	.init = lw_init,
	.lab = { .step = futex_step, .stop = lw_stop, .figures = lw_figures },
};

enum { C_GAP, C_ROUNDS, C_LOST, C_PER_K, C_SLEPT, C_LATE, C_NCOLS };

static int lost_wakeup_run(const struct sl_demo_ctx *ctx, FILE *out,
			   struct sl_err *err)
{
	static const char *const names[] = { "gap", "hand-offs", "lost wake-ups",
					     "lost", "sleeps", "late wake-ups" };
	static const char *const units[] = { "ns", "rounds/s", "count", "per 1k rounds",
					     "/round", "count" };
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	const struct {
		const struct sl_prim *prim;
		const char *label;
		uint64_t gap_ns;
	} cfg[3] = {
		{ &naive_handoff, "naive: check, then sleep", 0 },
		{ &naive_handoff, "naive, wider gap", LW_GAP_NS },
		{ &futex_handoff, "futex: kernel re-checks", LW_GAP_NS },
	};
	const uint64_t pause_iters = sl_work_iters(ctx->calib, LW_PAUSE_NS);
	struct sl_lab_measure m[3];
	double rounds[3], lost[3];
	struct sl_lab_table *t;
	char a[32], b[32];
	int rc;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "the race needs the producer and the consumer running at the same moment on different PUs; this process may use %u PU (run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	fprintf(out, "A producer and a consumer on different PUs hand rounds over: set a flag and\n"
		     "wake; check the flag and sleep.  The consumer's sleep is bounded at %s: an\n"
		     "expiry although the producer had woken it is a lost wake-up.\n\n",
		sl_lab_fmt_time(a, sizeof(a), LW_TIMEOUT_NS));
	for (int i = 0; i < 3; i++) {
		struct sl_point pt = sl_lab_point(cfg[i].prim, 2);

		pt.pin = &scatter;
		pt.lab_arg = LW_ARG(sl_work_iters(ctx->calib, cfg[i].gap_ns), pause_iters);
		rc = sl_lab_measure_ok(ctx, &pt, &m[i], err);
		if (rc < 0)
			return rc;
		/* Each round is one step of each thread. */
		rounds[i] = (double)m[i].ops / 2;
		lost[i] = (double)m[i].observed;
	}
	t = sl_lab_table_new("sleep/wakeup", C_NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < 3; i++) {
		double v[C_NCOLS] = {
			[C_GAP] = (double)cfg[i].gap_ns,
			[C_ROUNDS] = m[i].ops_per_sec / 2,
			[C_LOST] = lost[i],
			[C_PER_K] = rounds[i] > 0 ? 1000 * lost[i] / rounds[i] : NAN,
			[C_SLEPT] = m[i].lab_figure[0],
			[C_LATE] = m[i].lab_figure[1],
		};

		if (sl_lab_table_add(t, cfg[i].label, v) < 0) {
			sl_lab_table_free(t);
			return sl_err_set(err, -ENOMEM, "out of memory");
		}
	}
	sl_lab_table_print(out, t);
	fprintf(out, "  (gap: extra time between the check and the sleep; lost wake-ups: in the\n"
		     "  windows of all runs; sleeps and late wake-ups -- expiries before the\n"
		     "  producer had woken, so not lost -- over whole runs, medians)\n\n");
	if (lost[2] > 0 || m[2].lab_figure[2] > 0) {
		sl_lab_table_free(t);
		return sl_err_set(err, -EPROTO,
				  "the futex hand-off lost %.0f wake-up(s): FUTEX_WAIT re-checks the word, so this is a bug in the experiment or the kernel",
				  lost[2] > 0 ? lost[2] : m[2].lab_figure[2]);
	}
	if (lost[1] > 0) {
		fprintf(out,
			"The naive consumer lost %.0f wake-ups in %.0f rounds with the wider gap (%.1f per\n"
			"1000): each time the producer set the flag and rang between the consumer's\n"
			"check and its sleep, the ring found nobody asleep and the consumer slept on\n"
			"until its %s timeout -- %s of waiting for nothing in all.\n",
			lost[1], rounds[1], 1000 * lost[1] / rounds[1],
			sl_lab_fmt_time(a, sizeof(a), LW_TIMEOUT_NS),
			sl_lab_fmt_time(b, sizeof(b), lost[1] * LW_TIMEOUT_NS));
		if (lost[0] > 0)
			fprintf(out, "Without the added gap the window is a few instructions, yet %.0f of\n"
				     "%.0f rounds still lost theirs.\n", lost[0], rounds[0]);
		else
			fprintf(out, "Without the added gap the window is a few instructions: none lost in %.0f\n"
				     "rounds this time.  Rare is not never, which is what makes the race dangerous.\n",
				rounds[0]);
	} else {
		fprintf(out,
			"No wake-up was lost by the naive consumer in %.0f + %.0f rounds: the producer's\n"
			"ring never fell between check and sleep here (%.2f sleeps per round).\n"
			"The race is timing-dependent; a longer --duration or more --repeat gives it more\n"
			"chances.\n",
			rounds[0], rounds[1], m[1].lab_figure[0]);
	}
	fprintf(out,
		"The futex consumer, with the same gap, lost none in %.0f rounds (%.2f sleeps\n"
		"per round): FUTEX_WAIT compares the flag with the value the consumer checked\n"
		"and queues it only if unchanged, atomically with respect to FUTEX_WAKE, so a\n"
		"flag set in the gap makes the wait return at once.  Hand-offs: %s\n"
		"against %s for the naive one with the same gap.\n",
		rounds[2], m[2].lab_figure[0],
		sl_lab_fmt(a, sizeof(a), m[2].ops_per_sec / 2, "rounds/s"),
		sl_lab_fmt(b, sizeof(b), m[1].ops_per_sec / 2, "rounds/s"));
	if (m[2].lab_figure[1] > 0)
		fprintf(out,
			"%.0f of the futex consumer's sleeps per run expired before the producer had\n"
			"woken it at all (late, not lost): the producer was off its PU that long,\n"
			"most likely another process's turn on a busy machine.\n",
			m[2].lab_figure[1]);
	{
		const struct sl_lab_chart chart = {
			.stem = "lost",
			.title = "Lost wake-ups: check-then-sleep vs a futex that re-checks the word",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_PER_K },
			.ny = 1,
			.ylabel = "lost wake-ups (per 1000 rounds)",
		};

		rc = sl_lab_save(ctx, out, t, &chart, err);
	}
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_lost_wakeup = {
	.name = "lost-wakeup",
	.question = "how does check-then-sleep lose a wake-up, and how does a futex avoid it?",
	.run = lost_wakeup_run,
};
