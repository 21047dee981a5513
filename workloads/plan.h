/*
 * The plan of one invocation: the points `bench` and `sweep` measure, built
 * from a grid (primitives x contention dials x thread counts x repetitions),
 * and the loop that measures them in order.  Nothing here prints or picks an
 * exit status: the command hands in hooks that report each point and write
 * its row, and reads the outcome.
 *
 * A dial multiplies a primitive's points only when the workload shape of the
 * primitive's kind reads it (--read-pct multiplies rwlock and RCU points, not
 * mutex points); a primitive of another kind gets the dial's first value, as
 * bench would record it.
 */
#ifndef SL_WORKLOADS_PLAN_H
#define SL_WORKLOADS_PLAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/opt.h"
#include "workloads/workload.h"

#define SL_PLAN_MAX_PRIMS 64
/* Most points one plan may hold: a million runs is weeks of measuring. */
#define SL_PLAN_MAX_POINTS 1000000u

/* The contention dials, in CSV column order. */
enum sl_dial {
	SL_DIAL_CS_NS,
	SL_DIAL_THINK_NS,
	SL_DIAL_CS_LINES,
	SL_DIAL_LOCKS,
	SL_DIAL_READ_PCT,
	SL_DIAL_WRITERS,
	SL_DIAL_PRODUCERS,
	SL_DIAL_CONSUMERS,
	SL_DIAL_CAPACITY,
	SL_DIAL_PERMITS,
	SL_DIAL_COUNT_
};

struct sl_dial_info {
	const char *option;  /* "cs-ns": the command-line option, no dashes */
	const char *column;  /* "cs_ns": its CSV column */
	const char *unit;    /* for messages: "ns", "%", "" */
	uint64_t min, max;   /* accepted values */
	uint64_t def;        /* the value when none is given */
	unsigned kinds;      /* 1 << kind for every kind whose shape reads it */
	const char *help;    /* one line for --help */
};

const struct sl_dial_info *sl_dial_info(enum sl_dial d);
bool sl_dial_applies(enum sl_dial d, enum sl_prim_kind kind);
/* The dial's value in a point. */
uint64_t sl_dial_get(const struct sl_point *pt, enum sl_dial d);

/* Everything a plan is built from.  Every dial list holds at least one
 * value; topo, pin, counters and interrupt are copied into each point. */
struct sl_grid {
	const struct sl_prim *prim[SL_PLAN_MAX_PRIMS];
	unsigned nprims;
	struct sl_ulist threads;
	struct sl_ulist dial[SL_DIAL_COUNT_];
	unsigned repeat;
	uint64_t duration_ns, warmup_ns, stall_timeout_ns;
	unsigned lat_period;                    /* 0: latency not sampled */
	uint64_t timeline_ns;                   /* 0: no timeline */

	const struct sl_topo *topo;
	const struct sl_pin_spec *pin;
	const struct sl_counter_set *counters;  /* NULL: none */
	const atomic_int *interrupt;
};

/* Append the primitives of a comma-separated list to the grid; every name
 * must be known and named once.  -EINVAL with err naming the bad word. */
int sl_grid_add_prims(struct sl_grid *g, const char *list, struct sl_err *err);

/* The canonical name of the grid's primitive called `name` (or one of its
 * aliases), for --baseline; NULL with err listing the grid's primitives when
 * the grid has none by that name. */
const char *sl_grid_prim_named(const struct sl_grid *g, const char *name,
			       struct sl_err *err);

/* How many settings of the dials a primitive of this kind gets: the
 * product of the lengths of the lists that apply to it. */
size_t sl_grid_settings(const struct sl_grid *g, enum sl_prim_kind kind);

enum sl_item_state {
	SL_ITEM_PENDING,   /* to be measured */
	SL_ITEM_DONE,      /* measured by an earlier invocation: not run */
	SL_ITEM_MEASURED,  /* res holds this invocation's outcome */
};

struct sl_plan_item {
	struct sl_point pt;
	struct sl_result res;
	unsigned prim_index;     /* into the grid's prim[] */
	enum sl_item_state state;
};

struct sl_plan {
	struct sl_plan_item *item;
	size_t n;
	/* With SL_PLAN_SKIP_INVALID: (primitive, dials, threads) combinations
	 * the point check refused, and the first refusal. */
	size_t rejected;
	char rejected_why[SL_ERR_MAX];
};

enum sl_plan_build_flags {
	/* Leave out combinations the point check refuses (a queue with one
	 * thread, more writers than threads) instead of failing. */
	SL_PLAN_SKIP_INVALID = 1 << 0,
};

/*
 * Expand the grid, in order: repetition (every point once, then every
 * point again), primitive, dial settings (the first dial varying slowest),
 * thread count.  Each point is checked and
 * resolved (sl_point_resolve).  -EINVAL with err naming the option when a
 * point is refused and SL_PLAN_SKIP_INVALID is not given; -ENOMEM.
 */
int sl_plan_build(struct sl_plan *plan, const struct sl_grid *g,
		  unsigned flags, struct sl_err *err);
/* Release every result and the items. */
void sl_plan_free(struct sl_plan *plan);

/* What the run adds to every point: measured once per invocation. */
struct sl_plan_ctx {
	const struct sl_calib *calib;
	double rmw_ns;
	double uncontended_ns[SL_PLAN_MAX_PRIMS]; /* by the grid's prim[] */
};

struct sl_plan_hooks {
	void *arg;
	/* Before pending item i starts; NULL: nothing. */
	void (*starting)(void *arg, const struct sl_plan *plan, size_t i);
	/* Item i has a result (any status but interrupted).  A negative return
	 * (with err: a row that could not be written) stops the plan. */
	int (*finished)(void *arg, const struct sl_plan *plan, size_t i,
			struct sl_err *err);
	/* About once a second while an item runs (sl_point.tick); NULL:
	 * nothing. */
	void (*tick)(void *arg);
};

enum sl_plan_run_flags {
	/* Stop after a stuck point (its threads are left running). */
	SL_PLAN_STOP_ON_STUCK = 1 << 0,
	/* Stop when a point cannot be attempted at all (no memory, no
	 * thread, a failed binding); otherwise it becomes a result with
	 * status error and the plan goes on. */
	SL_PLAN_STOP_ON_ERROR = 1 << 1,
};

enum sl_plan_end {
	SL_PLAN_COMPLETE,      /* every pending point was attempted */
	SL_PLAN_INTERRUPTED,   /* the interrupt flag stopped it */
	SL_PLAN_STOPPED_STUCK, /* SL_PLAN_STOP_ON_STUCK after a stuck point */
	SL_PLAN_HARNESS_ERROR, /* SL_PLAN_STOP_ON_ERROR; err says why */
	SL_PLAN_HOOK_ERROR,    /* finished() failed; err says why */
};

struct sl_plan_outcome {
	enum sl_plan_end end;
	size_t at;        /* the item it ended on (a stop or an error) */
	size_t measured;  /* items that got a result */
	size_t failed;    /* of them, status not ok */
	size_t stuck;     /* of them, stuck: threads were left running */
};

/*
 * Measure the pending items in order.  An interrupted point is dropped
 * (left pending, its result released) and ends the run.  Returns 0 with the
 * outcome filled, whatever the points' statuses; negative with err only for
 * SL_PLAN_HARNESS_ERROR and SL_PLAN_HOOK_ERROR.
 */
int sl_plan_run(struct sl_plan *plan, const struct sl_grid *g,
		const struct sl_plan_ctx *ctx, unsigned flags,
		const struct sl_plan_hooks *hooks, struct sl_plan_outcome *out,
		struct sl_err *err);

/* --- time estimate ------------------------------------------------------ */

/* The harness's own cost per point beyond warm-up and window, measured by
 * thread count. */
struct sl_overhead {
	unsigned n;
	unsigned threads[SL_LIST_MAX];
	uint64_t ns[SL_LIST_MAX];
};

/*
 * Measure the per-point overhead at every thread count the pending items
 * use: five 1 ms runs of the null primitive with the grid's pinning,
 * counters and latency sampling, each timed around sl_run_point (threads
 * created, bound, stopped, joined, verified) less its window; the slowest
 * run counts.  A negative code with err when a run could not be made
 * (-EINTR when interrupted).
 */
int sl_plan_probe_overhead(const struct sl_plan *plan, const struct sl_grid *g,
			   const struct sl_calib *calib, struct sl_overhead *o,
			   struct sl_err *err);
/* Expected wall time of one item: warm-up + window + the overhead at its
 * thread count (interpolated between measured counts). */
uint64_t sl_plan_item_estimate_ns(const struct sl_plan *plan, size_t i,
				  const struct sl_overhead *o);
/* Sum over the pending items from index `from` on. */
uint64_t sl_plan_estimate_ns(const struct sl_plan *plan, size_t from,
			     const struct sl_overhead *o);

#endif
