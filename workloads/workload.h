/*
 * One measured point and its result, and the contract between the runner
 * (workloads/run.c) and the workload shapes.
 *
 * The runner alone creates threads, binds them, releases them together,
 * times the warm-up and the measured window on CLOCK_MONOTONIC from the main
 * thread, enables counters only inside the window, raises the stop flag and
 * gathers per-thread results.  A shape owns the thread body for one kind of
 * primitive (lock, rw, rcu, queue, barrier) and the invariant that kind must
 * keep; it never creates a thread or reads a clock for the window.
 */
#ifndef SL_WORKLOADS_WORKLOAD_H
#define SL_WORKLOADS_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "counters/counters.h"
#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/err.h"
#include "util/hist.h"

/* Busy-work calibration: how many iterations of sl_work_loop() take 1 us on
 * this machine, measured at the start of every invocation. */
struct sl_calib {
	double loops_per_us;
	uint64_t measured_ns; /* time the calibration itself took */
};

/* Run iters iterations of a loop the compiler cannot remove or merge. */
void sl_work_loop(uint64_t iters);
static inline uint64_t sl_work_iters(const struct sl_calib *c, uint64_t ns)
{
	return ns ? (uint64_t)(c->loops_per_us * (double)ns / 1000.0 + 0.5) : 0;
}
int sl_calibrate(struct sl_calib *c, struct sl_err *err);

/* How steady the work loop's rate is: rounds of about 1 ms of it, back to
 * back, for window_ns; each round's rate in loops/us goes into rates (at
 * most max).  Returns the number of rounds.  A host that changes the CPU's
 * speed under a run (frequency, a busy SMT sibling) shows as a spread. */
size_t sl_work_rate_rounds(const struct sl_calib *c, uint64_t window_ns,
			   double *rates, size_t max);

/* Cost of one seq_cst atomic fetch-and-add on an uncontended line, in ns
 * (fastest of several tight loops). */
double sl_rmw_cost_ns(void);

/* A lock primitive's uncontended lock+unlock pair in a tight loop on the
 * calling thread, in ns; NAN for other kinds or when it cannot run here. */
double sl_uncontended_ns(const struct sl_prim *p);

/* Everything one measured point depends on.  Plain values, no globals. */
struct sl_point {
	const struct sl_prim *prim;
	unsigned threads;
	unsigned rep;              /* 1-based repetition number */
	uint64_t duration_ns;      /* measured window */
	uint64_t warmup_ns;        /* excluded from every figure */
	uint64_t stall_timeout_ns; /* threads still in an op this long after
				    * the stop flag are reported stuck */
	uint64_t cs_ns;            /* busy work inside the critical section */
	uint64_t think_ns;         /* busy work outside it */
	unsigned cs_lines;         /* shared cache lines written inside it */
	unsigned locks;            /* instances; each op picks one at random */
	unsigned read_pct;         /* rw: share of ops that read, 0..100 */
	unsigned writers;          /* rw: dedicated writer threads (0: every
				    * thread mixes reads and writes) */
	unsigned producers;        /* condvar: producer threads (0: half) */
	unsigned consumers;        /* condvar: consumer threads (0: the rest) */
	unsigned capacity;         /* condvar: bounded buffer slots */
	unsigned permits;          /* sem: K, threads allowed in at once */
	long lab_arg;              /* lab experiments: their own parameter */
	uint64_t timeline_ns;      /* --timeline: per-thread op counts every
				    * this long inside the window; 0: off */
	unsigned lat_period;       /* --latency: time about one op in this
				    * many (see sl_lat_due); 0: off */

	const struct sl_topo *topo;
	const struct sl_pin_spec *pin;
	const struct sl_counter_set *counters;
	const struct sl_calib *calib;
	const atomic_int *interrupt; /* non-zero: abandon this point */
	/* Called by the main thread about once a second while the point's
	 * warm-up and window run (a progress display keeps its clock
	 * current); NULL: nothing.  It must return quickly. */
	void (*tick)(void *arg);
	void *tick_arg;

	/* Context for reports, measured once per invocation, not by the run:
	 * the primitive's uncontended pair and one atomic RMW (NAN: n/a). */
	double uncontended_ns;
	double rmw_ns;
};

/* Check the point's kind-specific parameters against its thread count and
 * fill in the derived ones (producers and consumers when only one or none
 * was given: an even split).  -EINVAL with err naming the option. */
int sl_point_resolve(struct sl_point *pt, struct sl_err *err);

enum sl_status {
	SL_STATUS_OK,
	SL_STATUS_CHECK_FAILED, /* the primitive broke its invariant */
	SL_STATUS_STUCK,        /* threads made no progress: deadlock/livelock */
	SL_STATUS_UNSUPPORTED,  /* this machine cannot run it */
	SL_STATUS_INTERRUPTED,  /* the user stopped the run */
	SL_STATUS_ERROR,        /* the harness failed (a thread, memory, ...) */
};

const char *sl_status_name(enum sl_status s);

struct sl_thread_result {
	uint64_t ops;       /* completed in the measured window */
	uint64_t total_ops; /* including warm-up and the drain after stop */
	int pu_bound;       /* OS index of the PU it was bound to; -1: unbound */
	int pu_seen;        /* sched_getcpu() when it stopped */
	long vol_cs;        /* getrusage(RUSAGE_THREAD) over the window */
	long invol_cs;
	double cpu_s;       /* CPU time (user + system) over the window */
	uint64_t lat_max_ns; /* --latency: this thread's longest sample; 0 none */
	unsigned role;      /* enum sl_role the shape gave it */
};

/*
 * Lock hand-offs seen by sampled acquires that had to wait: the time from
 * the previous owner's release to this owner's entry, and how far apart
 * their PUs were (enum sl_pu_distance).
 */
struct sl_handoff {
	struct sl_hist hist;
	uint64_t where[SL_PU_DISTANCES];
};

struct sl_result {
	enum sl_status status;
	char message[SL_ERR_MAX]; /* why, when status is not OK */

	unsigned threads;
	bool oversubscribed;      /* more threads than PUs they may run on */
	uint64_t window_ns;       /* measured window as timed */
	uint64_t ops;             /* sum of thread[].ops */
	double ops_per_sec;
	double ns_per_op;         /* window_ns * threads / ops: the time one
				   * op costs the thread doing it, waiting
				   * included (1 thread: the op's latency) */
	double fairness;          /* Jain's index over thread[].ops, 1/n..1 */
	uint64_t min_thread_ops, max_thread_ops;

	/* Counter sums over threads, in set order; NAN: not supported. */
	double counter[SL_MAX_EVENTS];
	long vol_cs, invol_cs;    /* sums of the thread values */
	double cpu_s;             /* sum of thread[].cpu_s: compare with
				   * window_ns * threads to see time burned */
	/* The primitive's own events in the window, summed over threads, in
	 * the order of its event_names (sl_prim_event_count of them). */
	uint64_t prim_events[SL_PRIM_EVENTS];
	/* The same per second of the window; NAN for slots the primitive
	 * does not name (or no window). */
	double events_per_sec[SL_PRIM_EVENTS];
	uint64_t observed;        /* lab experiments: events the shape
				   * counted (see SL_KIND_LAB); else 0 */
	double lab_figure[SL_LAB_FIGURES]; /* lab experiments' own; NAN */

	struct sl_thread_result *thread; /* [threads], owned; sl_result_release */

	/* --latency: the workers' samples merged (NULL when off), and the
	 * cost of one clock read, measured on this run's machine. */
	struct sl_hist *lat;
	struct sl_handoff *handoff; /* lock hand-offs; NULL when off */

	/* --timeline: interval k ended timeline_end_ns[k] after the window
	 * opened, and thread i completed timeline_ops[k * threads + i] ops
	 * in it.  NULL / 0 when off. */
	unsigned timeline_n;
	uint64_t *timeline_end_ns;
	uint64_t *timeline_ops;
	double clock_ns;
};

/* Measure one point.  Returns 0 when a result was produced (whatever its
 * status: a check failure is a result); a negative code with err only when
 * the point could not be attempted at all. */
int sl_run_point(const struct sl_point *pt, struct sl_result *res,
		 struct sl_err *err);
void sl_result_release(struct sl_result *res);

/* --- the shape side ---------------------------------------------------- */

/* What one worker does in a shape with more than one kind of thread. */
enum sl_role {
	SL_ROLE_ANY,      /* every op of the shape's mix (lock, barrier) */
	SL_ROLE_READER,   /* rw / rcu: read side only */
	SL_ROLE_WRITER,   /* rw / rcu: write or update side only */
	SL_ROLE_PRODUCER, /* queues, bounded buffers: enqueue only */
	SL_ROLE_CONSUMER, /* dequeue only */
	SL_ROLE_COUNT_
};

/* Per-worker state the runner hands to a shape's body.  The ops slot is
 * written by the worker (relaxed stores to its own line) and read by the
 * main thread at the window's edges. */
struct sl_worker {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t ops;
	unsigned id;
	unsigned nthreads;
	enum sl_role role;         /* from the shape's role_of; ANY by default */
	uint64_t rng;              /* xorshift state, seeded per thread */
	struct sl_run *run;        /* shared run state */
	void **tctx;               /* [instances] contexts of this thread */
	/* The failure a worker hit (an invariant seen broken mid-run). */
	char failure[160];
	/* Latency sampling: ops left until the next timed one (never reaches
	 * 0 when sampling is off), and this worker's histogram (NULL: off). */
	uint64_t lat_countdown;
	struct sl_hist *lat;
	struct sl_handoff *handoff;
	/* Runner-owned: the phase this worker last saw, and its context
	 * switches when it saw the window open and close. */
	unsigned seen_phase;
	long vol_cs[2], invol_cs[2];
	uint64_t cpu_ns[2]; /* written by the main thread only */
	/* The primitive's own event counts (sl_prim.events), summed over
	 * this thread's contexts, at the same two edges. */
	uint64_t prim_events[2][SL_PRIM_EVENTS];
};

/* Shared state of one run: read-mostly after the start. */
struct sl_run {
	const struct sl_point *pt;
	const struct sl_prim *prim;
	unsigned instances;
	unsigned char *objs;       /* instances * obj stride */
	size_t obj_stride;
	const struct sl_shape *shape;
	void *shape_data;          /* what the shape set up */
	/* With --latency, where each CPU sits (indexed by sched_getcpu()
	 * value, os_index -1 when unknown), for hand-off locality. */
	struct sl_pu_info *pu_info;
	int npu_info;
	/* Set by a shape's verify for the result's observed count and lab
	 * figures (the runner starts the figures at NAN). */
	uint64_t observed;
	double lab_figure[SL_LAB_FIGURES];
	uint64_t cs_iters, think_iters;
	uint64_t last_tick_ns;     /* main thread: when pt->tick last ran */
	/* SL_PHASE_*: the only flag workers poll. */
	alignas(SL_SLOT_ALIGN) _Atomic unsigned phase;
	/* Runner-owned: workers that finished their set-up. */
	alignas(SL_SLOT_ALIGN) _Atomic unsigned ready;
};

enum sl_phase {
	SL_PHASE_INIT,     /* threads being created and bound */
	SL_PHASE_WARMUP,   /* released; excluded from results */
	SL_PHASE_MEASURE,  /* the window */
	SL_PHASE_STOP,     /* finish the current op and return */
	SL_PHASE_ABORT,    /* a worker failed: everyone return now */
};

static inline void *sl_run_obj(const struct sl_run *r, unsigned i)
{
	return r->objs + (size_t)i * r->obj_stride;
}

static inline uint64_t sl_rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A workload shape: one per primitive kind. */
struct sl_shape {
	const char *name;
	enum sl_prim_kind kind;
	/* Allocate shape_data for the run (protected data, queues of items). */
	int (*setup)(struct sl_run *run, struct sl_err *err);
	/* The role of worker id (producers first, then consumers, say); NULL:
	 * every worker is SL_ROLE_ANY. */
	enum sl_role (*role_of)(const struct sl_run *run, unsigned id);
	/* The thread body: loop over ops until the phase is STOP or ABORT,
	 * storing the running op count into w->ops after every op. */
	void (*body)(struct sl_worker *w);
	/* After every worker returned: verify the invariant.  0, or -EPROTO
	 * with err naming the violation. */
	int (*verify)(struct sl_run *run, struct sl_worker *const *workers,
		      struct sl_err *err);
	void (*teardown)(struct sl_run *run);
	/* Called by the main thread after the stop flag (and again every few
	 * milliseconds until every worker returned) to wake workers that sleep
	 * inside the primitive waiting for each other, e.g. a consumer waiting
	 * for an item no stopped producer will make.  NULL when not needed. */
	void (*wake_all)(struct sl_run *run);
	/* 1 << role for the roles whose threads complete no ops by design
	 * (workqueue submitters: ops are items executed): fairness and the
	 * per-thread min and max leave them out. */
	unsigned uncounted_roles;
};

/* The shape that drives primitives of kind; NULL when none exists yet. */
const struct sl_shape *sl_shape_for(enum sl_prim_kind kind);

/* Observe the phase without ordering anything else: the stop flag orders
 * nothing (the main thread joins workers before it reads their results). */
static inline unsigned sl_phase(const struct sl_run *r)
{
	return atomic_load_explicit(&r->phase, memory_order_relaxed);
}

/* Out of line: a phase change seen by a worker (samples its context
 * switches at the window's edges).  Returns false once it must stop. */
bool sl_worker_phase_change(struct sl_worker *w, unsigned phase);

/* The loop condition of every shape body: one relaxed load per op. */
static inline bool sl_worker_running(struct sl_worker *w)
{
	unsigned ph = sl_phase(w->run);

	if (__builtin_expect(ph != w->seen_phase, 0))
		return sl_worker_phase_change(w, ph);
	return true;
}

/*
 * Latency sampling.  A shape times an op only when sl_lat_due() says so:
 *
 *	bool timed = sl_lat_due(w);
 *	uint64_t t0 = timed ? sl_now_ns() : 0;
 *	ops->lock(obj, ctx);
 *	if (timed)
 *		sl_lat_record(w, sl_now_ns() - t0);
 *
 * One decrement and a branch per op when off; when on, about one op in
 * lat_period (the gap is drawn at random so periodic behaviour is not
 * aliased) reads the clock twice, and only ops inside the measured window
 * are recorded.  What is timed is the shape's: acquire for locks,
 * enqueue->dequeue for queues, submit->start for workqueues.
 */
bool sl_lat_resample(struct sl_worker *w);
static inline bool sl_lat_due(struct sl_worker *w)
{
	if (__builtin_expect(--w->lat_countdown != 0, 1))
		return false;
	return sl_lat_resample(w);
}
/* The same for the hottest loops: the countdown lives in the caller's local
 * (a register), started from w->lat_countdown, instead of in *w, which
 * every call through a primitive's op forces back to memory. */
static inline bool sl_lat_tick(struct sl_worker *w, uint64_t *countdown)
{
	bool due;

	if (__builtin_expect(--*countdown != 0, 1))
		return false;
	due = sl_lat_resample(w);
	*countdown = w->lat_countdown;
	return due;
}
static inline void sl_lat_record(struct sl_worker *w, uint64_t ns)
{
	sl_hist_record(w->lat, ns);
}

/* A sampled hand-off: released on PU from at release_ns, entered on PU to
 * now_ns.  PUs are sched_getcpu() values. */
void sl_handoff_record(struct sl_worker *w, int from_pu, int to_pu,
		       uint64_t ns);

/* Record a worker's failure and stop every worker. */
void sl_worker_fail(struct sl_worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
