/*
 * The runner: the only code that creates threads.  For one point it places
 * and binds the threads, lets each register with the primitive, releases them
 * together, times a warm-up and then the measured window from the main thread
 * on CLOCK_MONOTONIC, enables the counters only inside the window, raises the
 * stop flag and, once every thread has returned, verifies the invariant.
 *
 * Op counts live in each worker's own padded slot; the main thread reads them
 * at the window's two edges, so the figures cover exactly the window however
 * late a descheduled worker notices the phase change.  A thread that does not
 * return within the stall timeout after the stop flag is reported stuck and
 * the run's memory is left alone (the thread may still be inside the
 * primitive); the process is expected to exit soon after.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "primitives/futex.h"
#include "reports/report.h"
#include "util/clock.h"
#include "util/opt.h"
#include "workloads/workload.h"

extern const struct sl_shape sl_shape_lock;
extern const struct sl_shape sl_shape_queue;
extern const struct sl_shape sl_shape_sem;
extern const struct sl_shape sl_shape_cond;
extern const struct sl_shape sl_shape_barrier;
extern const struct sl_shape sl_shape_rw;
extern const struct sl_shape sl_shape_rcu;
extern const struct sl_shape sl_shape_workqueue;
extern const struct sl_shape sl_shape_lab;

/* One line per workload shape. */
static const struct sl_shape *const shapes[] = {
	&sl_shape_lock,
	&sl_shape_queue,
	&sl_shape_sem,
	&sl_shape_cond,
	&sl_shape_barrier,
	&sl_shape_rw,
	&sl_shape_rcu,
	&sl_shape_workqueue,
	&sl_shape_lab,
};

const struct sl_shape *sl_shape_for(enum sl_prim_kind kind)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		if (shapes[i]->kind == kind)
			return shapes[i];
	return NULL;
}

const char *sl_status_name(enum sl_status s)
{
	switch (s) {
	case SL_STATUS_OK: return "ok";
	case SL_STATUS_CHECK_FAILED: return "check-failed";
	case SL_STATUS_STUCK: return "stuck";
	case SL_STATUS_UNSUPPORTED: return "unsupported";
	case SL_STATUS_INTERRUPTED: return "interrupted";
	case SL_STATUS_ERROR: return "error";
	}
	return "?";
}

/* Runner-private per-thread state; the worker comes first for alignment. */
struct thread_state {
	struct sl_worker w;
	pthread_t thread;
	bool started;
	pid_t tid;      /* written before ready is released */
	int pu;         /* where it is bound; -1 unbound */
	int pu_seen;    /* sched_getcpu() when it stopped */
	bool bind_failed;
	alignas(SL_CACHELINE) _Atomic uint32_t done;
};

/* CPU time of every worker, read by the main thread at a window edge: a
 * worker that notices the edge late (descheduled, spinning) would
 * otherwise count time outside the window. */
static void sample_cpu(struct thread_state *ts, unsigned n, int edge)
{
	for (unsigned i = 0; i < n; i++) {
		struct timespec t;
		clockid_t cid;

		if (pthread_getcpuclockid(ts[i].thread, &cid) != 0 ||
		    clock_gettime(cid, &t) < 0)
			ts[i].w.cpu_ns[edge] = 0;
		else
			ts[i].w.cpu_ns[edge] = (uint64_t)t.tv_sec * SL_NS_PER_SEC +
					       (uint64_t)t.tv_nsec;
	}
}

/* The primitive's event counts over the calling worker's contexts (each
 * context is written by this thread alone). */
static void sample_prim_events(const struct sl_worker *w,
			       uint64_t out[SL_PRIM_EVENTS])
{
	const struct sl_run *run = w->run;
	uint64_t one[SL_PRIM_EVENTS];

	memset(out, 0, SL_PRIM_EVENTS * sizeof(out[0]));
	if (!run->prim->events)
		return;
	for (unsigned i = 0; i < run->instances; i++) {
		memset(one, 0, sizeof(one));
		run->prim->events(w->tctx[i], one);
		for (unsigned e = 0; e < SL_PRIM_EVENTS; e++)
			out[e] += one[e];
	}
}

bool sl_worker_phase_change(struct sl_worker *w, unsigned phase)
{
	/* Index 0 samples the window's start, 1 its end.  A worker that
	 * sleeps through the whole window keeps its warm-up sample as start. */
	const int edge = phase == SL_PHASE_WARMUP || phase == SL_PHASE_MEASURE ? 0 : 1;

	sl_rusage_self(&w->vol_cs[edge], &w->invol_cs[edge]);
	sample_prim_events(w, w->prim_events[edge]);
	w->seen_phase = phase;
	return phase < SL_PHASE_STOP;
}

bool sl_lat_resample(struct sl_worker *w)
{
	uint64_t period = w->run->pt->lat_period;

	if (!w->lat) {
		w->lat_countdown = UINT64_MAX;
		return false;
	}
	/* Uniform in 1..2*period-1: mean period, never in step with a cycle
	 * of the workload. */
	w->lat_countdown = 1 + sl_rng_next(&w->rng) % (2 * period - 1);
	return w->seen_phase == SL_PHASE_MEASURE;
}

void sl_handoff_record(struct sl_worker *w, int from_pu, int to_pu,
		       uint64_t ns)
{
	const struct sl_run *run = w->run;
	static const struct sl_pu_info unknown = { .os_index = -1 };
	const struct sl_pu_info *a = &unknown, *b = &unknown;

	if (!w->handoff)
		return;
	if (from_pu >= 0 && from_pu < run->npu_info)
		a = &run->pu_info[from_pu];
	if (to_pu >= 0 && to_pu < run->npu_info)
		b = &run->pu_info[to_pu];
	sl_hist_record(&w->handoff->hist, ns);
	w->handoff->where[sl_pu_distance(a, b)]++;
}

/*
 * Where every CPU of this machine sits, for hand-off locality.  A synthetic
 * topology describes another machine than the one running the threads, so
 * there every CPU stays unknown.
 */
static int build_pu_info(struct sl_run *run, const struct sl_topo *topo)
{
	struct sl_topo_summary sum;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	if (ncpu < 1)
		ncpu = 1;
	run->pu_info = calloc((size_t)ncpu, sizeof(*run->pu_info));
	if (!run->pu_info)
		return -ENOMEM;
	run->npu_info = (int)ncpu;
	if (topo)
		sl_topo_summarize(topo, &sum);
	for (int i = 0; i < run->npu_info; i++)
		if (!topo || sum.synthetic || sl_topo_pu_info(topo, i, &run->pu_info[i]) < 0)
			run->pu_info[i].os_index = -1;
	return 0;
}

static void handoff_merge(struct sl_handoff *dst, const struct sl_handoff *src)
{
	sl_hist_merge(&dst->hist, &src->hist);
	for (unsigned i = 0; i < SL_PU_DISTANCES; i++)
		dst->where[i] += src->where[i];
}

void sl_worker_fail(struct sl_worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->failure, sizeof(w->failure), fmt, ap);
	va_end(ap);
	/* Relaxed: the main thread reads failure only after joining. */
	atomic_store_explicit(&w->run->phase, SL_PHASE_ABORT,
			      memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct thread_state *ts = arg;
	struct sl_worker *w = &ts->w;
	struct sl_run *run = w->run;
	struct sl_err err;

	ts->tid = gettid();
	if (ts->pu >= 0 && sl_pin_bind_self(run->pt->topo, ts->pu, &err) < 0) {
		snprintf(w->failure, sizeof(w->failure), "thread %u: %.140s",
			 w->id, err.msg);
		ts->bind_failed = true;
	}
	if (run->prim->thread_init)
		for (unsigned i = 0; i < run->instances; i++)
			run->prim->thread_init(sl_run_obj(run, i), w->tctx[i]);

	/* release: publishes tid and the set-up; pairs with the acquire load
	 * of ready in wait_ready */
	atomic_fetch_add_explicit(&run->ready, 1, memory_order_release);
	while (sl_phase(run) == SL_PHASE_INIT)
		sl_futex_wait(&run->phase, SL_PHASE_INIT);

	if (!ts->bind_failed)
		run->shape->body(w);
	if (w->seen_phase < SL_PHASE_STOP)
		sl_worker_phase_change(w, SL_PHASE_STOP);

	ts->pu_seen = sched_getcpu();
	if (run->prim->thread_fini)
		for (unsigned i = 0; i < run->instances; i++)
			run->prim->thread_fini(sl_run_obj(run, i), w->tctx[i]);
	/* release: the main thread may read this worker's results once it
	 * sees done (before it joins, when some other thread is stuck) */
	atomic_store_explicit(&ts->done, 1, memory_order_release);
	return NULL;
}

/* Move the phase from `from` to `to` unless a worker already aborted. */
static bool advance_phase(struct sl_run *run, unsigned from, unsigned to)
{
	return atomic_compare_exchange_strong_explicit(
		&run->phase, &from, to, memory_order_relaxed,
		memory_order_relaxed);
}

/* Sleep for ns unless the user interrupts or a worker aborts. */
/* How often a point's tick runs while the main thread waits. */
#define TICK_NS SL_NS_PER_SEC

static void wait_window(struct sl_run *run, uint64_t ns)
{
	uint64_t start = sl_now_ns(), now = start;

	while (now - start < ns) {
		uint64_t left = ns - (now - start);
		uint64_t slice = left < 5 * SL_NS_PER_MS ? left : 5 * SL_NS_PER_MS;
		struct timespec ts = { 0, (long)slice };

		if (sl_phase(run) == SL_PHASE_ABORT)
			return;
		if (run->pt->interrupt &&
		    atomic_load_explicit(run->pt->interrupt, memory_order_relaxed))
			return;
		nanosleep(&ts, NULL);
		now = sl_now_ns();
		if (run->pt->tick && now - run->last_tick_ns >= TICK_NS) {
			run->last_tick_ns = now;
			run->pt->tick(run->pt->tick_arg);
		}
	}
}

static bool interrupted(const struct sl_point *pt)
{
	return pt->interrupt &&
	       atomic_load_explicit(pt->interrupt, memory_order_relaxed);
}

/* The window in --timeline intervals: every thread's op count at each
 * interval's end (the last interval is shorter when the duration is not a
 * multiple).  The last interval's end is the window's: ops1 and *t1 are set
 * from it, so that the intervals add up to the run's figures exactly.
 * Returns 1 when they were set, 0 when the window was cut short (abort,
 * interrupt), -ENOMEM (the window is then still waited out). */
static int sample_timeline(struct sl_run *run, struct sl_result *res,
			   const struct thread_state *ts, const uint64_t *ops0,
			   uint64_t t0, uint64_t *ops1, uint64_t *t1)
{
	const struct sl_point *pt = run->pt;
	const unsigned n = pt->threads;
	const uint64_t k_max = (pt->duration_ns + pt->timeline_ns - 1) / pt->timeline_ns;
	uint64_t *prev = malloc(n * sizeof(*prev));

	res->timeline_end_ns = calloc(k_max, sizeof(*res->timeline_end_ns));
	res->timeline_ops = calloc(k_max * n, sizeof(*res->timeline_ops));
	if (!prev || !res->timeline_end_ns || !res->timeline_ops) {
		free(prev);
		wait_window(run, pt->duration_ns);
		return -ENOMEM;
	}
	memcpy(prev, ops0, n * sizeof(*prev));
	for (uint64_t k = 0; k < k_max; k++) {
		uint64_t end = (k + 1) * pt->timeline_ns, now = sl_now_ns() - t0;

		if (end > pt->duration_ns)
			end = pt->duration_ns;
		if (end > now)
			wait_window(run, end - now);
		if (sl_phase(run) == SL_PHASE_ABORT || interrupted(pt))
			break;
		res->timeline_end_ns[k] = sl_now_ns() - t0;
		for (unsigned i = 0; i < n; i++) {
			uint64_t c = atomic_load_explicit(&ts[i].w.ops, memory_order_relaxed);

			res->timeline_ops[k * n + i] = c - prev[i];
			prev[i] = c;
		}
		res->timeline_n = (unsigned)k + 1;
	}
	if (res->timeline_n == k_max) {
		memcpy(ops1, prev, n * sizeof(*ops1));
		*t1 = t0 + res->timeline_end_ns[k_max - 1];
	}
	free(prev);
	return res->timeline_n == k_max;
}

/* A drain that keeps moving may take this many stall timeouts in all: with
 * hundreds of threads on a few PUs, a lock that hands over to one chosen
 * waiter lets about one thread leave per scheduling round. */
#define SL_DRAIN_TIMEOUTS 4

/* How the threads left after the stop signal. */
struct drain {
	unsigned left;      /* threads that finished while we waited */
	uint64_t waited_ns; /* how long we waited */
	bool moving;        /* one finished within the last stall timeout */
};

/* Wait for every started thread's done flag, waking sleepers through the
 * shape as it goes: until none runs, until timeout_ns passes without one
 * finishing, or SL_DRAIN_TIMEOUTS times that in all.  Returns the number
 * still running. */
static unsigned wait_done(struct sl_run *run, struct thread_state *ts,
			  unsigned n, uint64_t timeout_ns, struct drain *d)
{
	uint64_t start = sl_now_ns(), moved = start;
	unsigned first = UINT_MAX, last = UINT_MAX;

	for (;;) {
		unsigned running = 0;
		uint64_t now;

		if (run->shape->wake_all && run->shape_data)
			run->shape->wake_all(run);

		for (unsigned i = 0; i < n; i++)
			if (ts[i].started &&
			    !atomic_load_explicit(&ts[i].done, memory_order_acquire))
				running++;
		now = sl_now_ns();
		if (first == UINT_MAX)
			first = last = running;
		if (running < last) {
			last = running;
			moved = now;
		}
		d->left = first - running;
		d->waited_ns = now - start;
		d->moving = now - moved < timeout_ns && d->left > 0;
		if (running == 0 || now - moved >= timeout_ns ||
		    now - start >= SL_DRAIN_TIMEOUTS * timeout_ns)
			return running;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	}
}

/* The first few stuck threads by index and how many more, and the likely
 * cause: nothing leaving is a deadlock or livelock; threads still leaving,
 * slowly, wait for descheduled threads when they outnumber their PUs (a FIFO
 * spinlock's next owner, a spin barrier's last arrival), else operations
 * take that long. */
static void describe_stuck(struct sl_result *res, struct thread_state *ts,
			   unsigned n, unsigned stuck, const struct sl_point *pt,
			   const struct drain *d)
{
	enum { LISTED = 12 };
	char list[128] = "";
	size_t used = 0;
	unsigned still = 0;
	char limit[32], waited[32], each[32];

	for (unsigned i = 0; i < n; i++) {
		if (!ts[i].started ||
		    atomic_load_explicit(&ts[i].done, memory_order_acquire))
			continue;
		if (still++ < LISTED)
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%u", used ? "," : "", i);
	}
	if (still < stuck) /* some finished since they were counted */
		still = stuck;
	if (still > LISTED)
		snprintf(list + used, sizeof(list) - used, " and %u more",
			 still - LISTED);
	sl_format_duration(pt->stall_timeout_ns, limit, sizeof(limit));
	sl_format_span(d->waited_ns, waited, sizeof(waited));
	if (d->moving) {
		sl_format_span(d->waited_ns / d->left, each, sizeof(each));
		snprintf(res->message, sizeof(res->message),
			 "'%s' too slow to stop: %u of %u threads (%s) still inside an operation %s after the stop signal, while %u left, one every %s (%s)",
			 pt->prim->name, still, n, list, waited, d->left, each,
			 res->oversubscribed
				 ? "each waiting for descheduled threads to run, as they outnumber their PUs: fewer threads will finish"
				 : "operations take that long: raise --stall-timeout");
		return;
	}
	snprintf(res->message, sizeof(res->message),
		 "'%s' made no progress: %u of %u threads (%s) still inside an operation %s after the stop signal, none leaving in the last %s (%s)",
		 pt->prim->name, still, n, list, waited, limit,
		 res->oversubscribed
			 ? "deadlock, livelock, or waits on descheduled threads, as they outnumber their PUs: fewer threads tell"
			 : "deadlock or livelock");
}

void sl_result_release(struct sl_result *res)
{
	free(res->thread);
	res->thread = NULL;
	free(res->lat);
	res->lat = NULL;
	free(res->handoff);
	res->handoff = NULL;
	free(res->timeline_end_ns);
	free(res->timeline_ops);
	res->timeline_end_ns = res->timeline_ops = NULL;
	res->timeline_n = 0;
}

static void *zalloc_aligned(size_t n)
{
	void *p;

	n = SL_ROUND_UP(n ? n : 1, SL_SLOT_ALIGN);
	p = aligned_alloc(SL_SLOT_ALIGN, n);
	if (p)
		memset(p, 0, n);
	return p;
}

static void fill_figures(struct sl_result *res, const struct thread_state *ts,
			 const uint64_t *ops0, const uint64_t *ops1,
			 uint64_t window_ns)
{
	unsigned n = res->threads, counted = 0;
	uint64_t *per = malloc(n * sizeof(*per));
	const unsigned uncounted = n ? ts[0].w.run->shape->uncounted_roles : 0;

	res->window_ns = window_ns;
	res->ops = 0;
	res->min_thread_ops = UINT64_MAX;
	res->max_thread_ops = 0;
	for (unsigned i = 0; i < n; i++) {
		struct sl_thread_result *t = &res->thread[i];
		const struct sl_worker *w = &ts[i].w;

		t->ops = ops1[i] - ops0[i];
		t->total_ops = atomic_load_explicit(&w->ops, memory_order_relaxed);
		t->pu_bound = ts[i].pu;
		t->pu_seen = ts[i].pu_seen;
		t->vol_cs = w->vol_cs[1] - w->vol_cs[0];
		t->invol_cs = w->invol_cs[1] - w->invol_cs[0];
		t->cpu_s = w->cpu_ns[1] >= w->cpu_ns[0] && w->cpu_ns[0]
				   ? (double)(w->cpu_ns[1] - w->cpu_ns[0]) / 1e9
				   : NAN;
		t->lat_max_ns = w->lat && w->lat->count ? w->lat->max : 0;
		t->role = w->role;
		res->cpu_s += t->cpu_s;
		res->ops += t->ops;
		res->vol_cs += t->vol_cs;
		res->invol_cs += t->invol_cs;
		for (unsigned e = 0; e < SL_PRIM_EVENTS; e++)
			res->prim_events[e] += w->prim_events[1][e] -
					       w->prim_events[0][e];
		if (uncounted & (1u << t->role))
			continue;
		if (t->ops < res->min_thread_ops)
			res->min_thread_ops = t->ops;
		if (t->ops > res->max_thread_ops)
			res->max_thread_ops = t->ops;
		if (per)
			per[counted] = t->ops;
		counted++;
	}
	if (!counted)
		res->min_thread_ops = 0;
	res->ops_per_sec = window_ns ? (double)res->ops * 1e9 / (double)window_ns : NAN;
	for (unsigned e = 0; e < SL_PRIM_EVENTS; e++)
		res->events_per_sec[e] =
			window_ns && n && e < sl_prim_event_count(ts[0].w.run->prim)
				? (double)res->prim_events[e] * 1e9 / (double)window_ns
				: NAN;
	res->ns_per_op = res->ops ? (double)window_ns * n / (double)res->ops : NAN;
	res->fairness = per && counted ? sl_stat_jain(per, counted) : NAN;
	free(per);
}

/* A result with every figure "not measured" until the run fills it in. */
static void result_init(struct sl_result *res, unsigned n)
{
	memset(res, 0, sizeof(*res));
	res->threads = n;
	res->clock_ns = NAN;
	for (unsigned i = 0; i < SL_LAB_FIGURES; i++)
		res->lab_figure[i] = NAN;
	for (unsigned i = 0; i < SL_MAX_EVENTS; i++)
		res->counter[i] = NAN;
	for (unsigned i = 0; i < SL_PRIM_EVENTS; i++)
		res->events_per_sec[i] = NAN;
}

/* Fill in a worker's identity, seed, thread contexts and latency
 * histograms; -ENOMEM when an allocation failed. */
static int worker_prepare(struct thread_state *t, struct sl_run *run,
			  unsigned i, unsigned char *tctx_mem, size_t tstride,
			  int pu)
{
	const struct sl_point *pt = run->pt;
	const unsigned instances = run->instances;
	struct sl_worker *w = &t->w;

	w->id = i;
	w->nthreads = pt->threads;
	w->run = run;
	w->role = run->shape->role_of ? run->shape->role_of(run, i) : SL_ROLE_ANY;
	/* Distinct non-zero seeds; xorshift must never start at 0. */
	w->rng = 0x9e3779b97f4a7c15ull * (i + 1) ^ (uint64_t)pt->rep << 32;
	w->tctx = calloc(instances, sizeof(void *));
	w->lat_countdown = UINT64_MAX;
	if (pt->lat_period) {
		w->lat = zalloc_aligned(sizeof(*w->lat));
		w->handoff = zalloc_aligned(sizeof(*w->handoff));
		if (w->lat)
			sl_hist_init(w->lat);
		if (w->handoff) {
			memset(w->handoff, 0, sizeof(*w->handoff));
			sl_hist_init(&w->handoff->hist);
		}
		w->lat_countdown = 1 + sl_rng_next(&w->rng) % pt->lat_period;
	}
	if (!w->tctx || (pt->lat_period && (!w->lat || !w->handoff)))
		return -ENOMEM;
	for (unsigned k = 0; k < instances; k++)
		w->tctx[k] = tctx_mem + ((size_t)i * instances + k) * tstride;
	t->pu = pu;
	t->pu_seen = -1;
	atomic_init(&t->done, 0);
	return 0;
}

/* Initialise the run's primitive instances; *inited counts those that need
 * destroying, also on failure. */
static int init_instances(struct sl_run *run, unsigned *inited,
			  struct sl_err *err)
{
	const struct sl_point *pt = run->pt;
	const struct sl_prim *prim = run->prim;

	for (; *inited < run->instances; (*inited)++) {
		struct sl_prim_conf conf = { .nthreads = pt->threads,
					     .capacity = pt->capacity,
					     .permits = pt->permits,
					     .lab_arg = pt->lab_arg };
		int rc;

		if (prim->init &&
		    (rc = prim->init(sl_run_obj(run, *inited), &conf, err)) < 0)
			return sl_err_wrap(err, rc, "set-up");
	}
	return 0;
}

/* Stop every started thread (also one still waiting to be released) and
 * join them; false, with the result saying which are stuck, when some are
 * still inside an operation after the stall timeout (they are left
 * running: the caller must not free what they use). */
static bool stop_and_join(struct sl_run *run, struct thread_state *ts,
			  struct sl_result *res)
{
	const struct sl_point *pt = run->pt;
	const unsigned n = pt->threads;
	struct drain drain;
	unsigned stuck;

	if (sl_phase(run) == SL_PHASE_INIT || sl_phase(run) == SL_PHASE_WARMUP) {
		advance_phase(run, SL_PHASE_INIT, SL_PHASE_STOP);
		advance_phase(run, SL_PHASE_WARMUP, SL_PHASE_STOP);
		sl_futex_wake(&run->phase, INT_MAX);
	}
	stuck = wait_done(run, ts, n, pt->stall_timeout_ns, &drain);
	if (stuck) {
		res->status = SL_STATUS_STUCK;
		describe_stuck(res, ts, n, stuck, pt, &drain);
		/* Left behind: whichever finish later free their own stacks. */
		for (unsigned i = 0; i < n; i++)
			if (ts[i].started)
				pthread_detach(ts[i].thread);
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		if (ts[i].started)
			pthread_join(ts[i].thread, NULL);
	return true;
}

/* Wait, bounded by the stall timeout, until every thread is bound and
 * registered; false (and the result says why) when some never got there. */
static bool await_ready(struct sl_run *run, struct sl_result *res)
{
	const struct sl_point *pt = run->pt;
	uint64_t t0 = sl_now_ns();

	while (atomic_load_explicit(&run->ready, memory_order_acquire) < pt->threads) {
		if (sl_now_ns() - t0 > pt->stall_timeout_ns) {
			res->status = SL_STATUS_STUCK;
			snprintf(res->message, sizeof(res->message),
				 "threads did not finish their set-up (thread_init of '%s')",
				 pt->prim->name);
			return false;
		}
		sl_sleep_ns(100 * SL_NS_PER_US, NULL);
	}
	return true;
}

/* Release the threads, let them warm up, then measure one window: ops
 * before and after it (ops0, ops1), CPU time and counters at its edges.
 * Returns < 0 only when the timeline could not be allocated. */
static int measure(struct sl_run *run, struct thread_state *ts,
		   struct sl_thread_counters *tc, uint64_t *ops0,
		   uint64_t *ops1, struct sl_result *res, struct sl_err *err)
{
	const struct sl_point *pt = run->pt;
	const unsigned n = pt->threads;
	uint64_t t0, t1 = 0;
	int rc = 0, ended = 0;

	/* Release everyone at once. */
	advance_phase(run, SL_PHASE_INIT, SL_PHASE_WARMUP);
	sl_futex_wake(&run->phase, INT_MAX);
	wait_window(run, pt->warmup_ns);

	if (pt->counters)
		sl_counters_enable(pt->counters, tc, n);
	sample_cpu(ts, n, 0);
	advance_phase(run, SL_PHASE_WARMUP, SL_PHASE_MEASURE);
	t0 = sl_now_ns();
	for (unsigned i = 0; i < n; i++)
		ops0[i] = atomic_load_explicit(&ts[i].w.ops, memory_order_relaxed);
	if (pt->timeline_ns) {
		ended = sample_timeline(run, res, ts, ops0, t0, ops1, &t1);
		if (ended < 0)
			rc = sl_err_set(err, -ENOMEM, "out of memory for the timeline");
	} else {
		wait_window(run, pt->duration_ns);
	}
	if (ended <= 0) {
		t1 = sl_now_ns();
		for (unsigned i = 0; i < n; i++)
			ops1[i] = atomic_load_explicit(&ts[i].w.ops, memory_order_relaxed);
	}
	sample_cpu(ts, n, 1);
	if (pt->counters)
		sl_counters_disable(pt->counters, tc, n);
	advance_phase(run, SL_PHASE_MEASURE, SL_PHASE_STOP);
	res->window_ns = t1 - t0;
	return rc;
}

/* The main thread keeps the time.  With more threads than PUs it waits its
 * turn among the workers at every window edge and tick: with 2048 threads
 * on two PUs a 20 ms window ran for seconds and the CPU-time edges, read
 * thread by thread, spread over them.  A real-time priority, where the
 * process may take one, puts it first at once; it sleeps but at the edges.
 * Raised after the workers exist: they would inherit it. */
struct timekeeper {
	bool raised;
	int policy;
	struct sched_param param;
};

static void timekeeper_raise(struct timekeeper *k)
{
	const struct sched_param fifo = { .sched_priority = 1 };

	k->raised = pthread_getschedparam(pthread_self(), &k->policy, &k->param) == 0 &&
		    pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) == 0;
}

static void timekeeper_restore(struct timekeeper *k)
{
	if (k->raised)
		pthread_setschedparam(pthread_self(), k->policy, &k->param);
	k->raised = false;
}

/* Merge the threads' latency and hand-off histograms into the result. */
static int merge_latency(struct sl_result *res, const struct thread_state *ts,
			 unsigned n, struct sl_err *err)
{
	res->lat = zalloc_aligned(sizeof(*res->lat));
	res->handoff = zalloc_aligned(sizeof(*res->handoff));
	if (!res->lat || !res->handoff)
		return sl_err_set(err, -ENOMEM, "out of memory");
	sl_hist_init(res->lat);
	for (unsigned i = 0; i < n; i++)
		sl_hist_merge(res->lat, ts[i].w.lat);
	memset(res->handoff, 0, sizeof(*res->handoff));
	sl_hist_init(&res->handoff->hist);
	for (unsigned i = 0; i < n; i++)
		handoff_merge(res->handoff, ts[i].w.handoff);
	res->clock_ns = sl_clock_cost_ns();
	return 0;
}

/* After the threads are joined: a failure a worker reported, else the
 * shape's verify and the primitive's check on every instance.  The result
 * says what failed; < 0 only for want of memory. */
static int verify_point(struct sl_run *run, struct thread_state *ts,
			struct sl_result *res, struct sl_err *err)
{
	const struct sl_prim *prim = run->prim;
	const unsigned n = run->pt->threads;
	struct sl_worker **ws;
	struct sl_err cerr = { "" };
	int crc;

	for (unsigned i = 0; i < n; i++) {
		if (ts[i].w.failure[0]) {
			res->status = SL_STATUS_CHECK_FAILED;
			snprintf(res->message, sizeof(res->message), "%s",
				 ts[i].w.failure);
			return 0;
		}
	}
	ws = malloc(n * sizeof(*ws));
	if (!ws)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++)
		ws[i] = &ts[i].w;
	crc = run->shape->verify ? run->shape->verify(run, ws, &cerr) : 0;
	free(ws);
	res->observed = run->observed;
	memcpy(res->lab_figure, run->lab_figure, sizeof(res->lab_figure));
	for (unsigned k = 0; crc == 0 && prim->check && k < run->instances; k++)
		crc = prim->check(sl_run_obj(run, k), &cerr);
	if (crc < 0) {
		res->status = SL_STATUS_CHECK_FAILED;
		snprintf(res->message, sizeof(res->message), "%s", cerr.msg);
	}
	return 0;
}

int sl_run_point(const struct sl_point *pt, struct sl_result *res,
		 struct sl_err *err)
{
	const struct sl_prim *prim = pt->prim;
	const struct sl_shape *shape = sl_shape_for(prim->kind);
	unsigned n = pt->threads;
	struct sl_run *run = NULL;
	struct thread_state *ts = NULL;
	unsigned char *tctx_mem = NULL;
	struct sl_thread_counters *tc = NULL;
	uint64_t *ops0 = NULL, *ops1 = NULL;
	int *pus = NULL;
	unsigned instances, inited = 0;
	size_t tstride;
	bool setup_done = false, leak = false, counters_open = false;
	struct timekeeper keeper = { .raised = false };
	char why[192];
	int rc = 0;

	result_init(res, n);
	if (n == 0)
		return sl_err_set(err, -EINVAL, "a point needs at least one thread");
	if (!shape) {
		res->status = SL_STATUS_UNSUPPORTED;
		snprintf(res->message, sizeof(res->message),
			 "no workload shape drives %s primitives yet",
			 sl_prim_kind_name(prim->kind));
		return 0;
	}
	if (prim->supported && !prim->supported(why, sizeof(why))) {
		res->status = SL_STATUS_UNSUPPORTED;
		snprintf(res->message, sizeof(res->message), "%s", why);
		return 0;
	}

	res->thread = calloc(n, sizeof(*res->thread));
	pus = calloc(n, sizeof(*pus));
	ops0 = calloc(n, sizeof(*ops0));
	ops1 = calloc(n, sizeof(*ops1));
	tc = calloc(n, sizeof(*tc));
	if (!res->thread || !pus || !ops0 || !ops1 || !tc) {
		rc = sl_err_set(err, -ENOMEM, "out of memory for %u threads", n);
		goto out;
	}
	rc = sl_pin_place(pt->topo, pt->pin, n, pus, &res->oversubscribed, err);
	if (rc < 0)
		goto out;

	/* --locks spreads lock and rwlock workloads over K instances; every
	 * other kind runs one shared object. */
	instances = (prim->kind == SL_KIND_LOCK || prim->kind == SL_KIND_RWLOCK) &&
				    pt->locks ? pt->locks : 1;
	run = zalloc_aligned(sizeof(*run));
	ts = zalloc_aligned((size_t)n * sizeof(*ts));
	tstride = sl_prim_tctx_stride(prim);
	tctx_mem = zalloc_aligned((size_t)n * instances * tstride);
	if (run)
		run->objs = zalloc_aligned(instances * sl_prim_obj_stride(prim));
	if (!run || !ts || !tctx_mem || !run->objs) {
		rc = sl_err_set(err, -ENOMEM, "out of memory for %u threads", n);
		goto out;
	}
	run->pt = pt;
	run->prim = prim;
	run->shape = shape;
	run->instances = instances;
	run->obj_stride = sl_prim_obj_stride(prim);
	run->cs_iters = sl_work_iters(pt->calib, pt->cs_ns);
	run->think_iters = sl_work_iters(pt->calib, pt->think_ns);
	run->last_tick_ns = sl_now_ns();
	atomic_init(&run->phase, SL_PHASE_INIT);
	atomic_init(&run->ready, 0);
	for (unsigned i = 0; i < SL_LAB_FIGURES; i++)
		run->lab_figure[i] = NAN;

	rc = init_instances(run, &inited, err);
	if (rc < 0)
		goto out;
	if (pt->lat_period && build_pu_info(run, pt->topo) < 0) {
		rc = sl_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = shape->setup ? shape->setup(run, err) : 0;
	if (rc < 0)
		goto out;
	setup_done = true;

	for (unsigned i = 0; i < n; i++) {
		if (worker_prepare(&ts[i], run, i, tctx_mem, tstride, pus[i]) < 0) {
			rc = sl_err_set(err, -ENOMEM, "out of memory");
			goto stop_threads;
		}
		for (unsigned c = 0; c < SL_MAX_EVENTS; c++)
			tc[i].fd[c] = -1;
	}
	for (unsigned i = 0; i < n; i++) {
		int e = pthread_create(&ts[i].thread, NULL, worker_main, &ts[i]);

		if (e) {
			rc = sl_err_set(err, -e, "cannot create thread %u of %u: %s",
					i + 1, n, strerror(e));
			goto stop_threads;
		}
		ts[i].started = true;
	}

	/* Every thread bound and registered, bounded by the stall timeout. */
	if (!await_ready(run, res)) {
		leak = true;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (ts[i].bind_failed) {
			rc = sl_err_set(err, -EINVAL, "%s", ts[i].w.failure);
			goto stop_threads;
		}
	}
	if (pt->counters) {
		for (unsigned i = 0; i < n; i++)
			sl_counters_open(pt->counters, ts[i].tid, &tc[i]);
		counters_open = true;
	}

	if (res->oversubscribed)
		timekeeper_raise(&keeper);
	rc = measure(run, ts, tc, ops0, ops1, res, err);

stop_threads:
	if (!stop_and_join(run, ts, res)) {
		leak = true;
		goto out;
	}
	timekeeper_restore(&keeper);
	if (rc < 0)
		goto out;

	if (counters_open) {
		sl_counters_read(pt->counters, tc, n, res->counter);
		sl_counters_close(pt->counters, tc, n);
		counters_open = false;
	}
	fill_figures(res, ts, ops0, ops1, res->window_ns);
	if (pt->lat_period && (rc = merge_latency(res, ts, n, err)) < 0)
		goto out;

	if (interrupted(pt)) {
		res->status = SL_STATUS_INTERRUPTED;
		snprintf(res->message, sizeof(res->message), "interrupted by the user");
		goto out;
	}
	rc = verify_point(run, ts, res, err);

out:
	timekeeper_restore(&keeper);
	if (counters_open)
		sl_counters_close(pt->counters, tc, n);
	free(tc);
	free(ops0);
	free(ops1);
	free(pus);
	if (leak)
		return rc; /* stuck threads may still touch run, ts and objects */
	if (setup_done && shape->teardown)
		shape->teardown(run);
	if (run && prim->destroy)
		for (unsigned k = 0; k < inited; k++)
			prim->destroy(sl_run_obj(run, k));
	if (ts)
		for (unsigned i = 0; i < n; i++) {
			free(ts[i].w.tctx);
			free(ts[i].w.lat);
			free(ts[i].w.handoff);
		}
	if (run) {
		free(run->objs);
		free(run->pu_info);
	}
	free(run);
	free(ts);
	free(tctx_mem);
	if (rc < 0)
		sl_result_release(res);
	return rc;
}
