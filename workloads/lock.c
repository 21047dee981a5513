/*
 * The lock shape: mutual exclusion under a contention level the user dials.
 *
 * Each op picks one of K lock instances (K = --locks; 1 is full contention),
 * takes it, writes the instance's protected data -- its counter line plus
 * --cs-lines further shared cache lines -- spends --cs-ns of calibrated work
 * inside, releases, then spends --think-ns outside.
 *
 * The invariant: every protected line of an instance ends equal to the
 * number of times that instance was acquired, and the instances' counters
 * add up to the ops every thread completed.  The increments are
 * read-then-write (not atomic RMWs), so two owners at once lose updates and
 * the sums disagree.  Inside the section the owner also stamps the counter
 * line with its id and checks the stamp is still its own before leaving,
 * which catches an overlap the moment it happens.
 *
 * The protected data is accessed with relaxed atomics: on every mainstream
 * CPU they compile to plain loads and stores (so the cost is that of a real
 * critical section), and a broken primitive -- or `null`, which excludes
 * nothing -- yields lost updates instead of undefined behaviour.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

struct protected_line {
	alignas(SL_CACHELINE) _Atomic uint64_t count;
	_Atomic uint64_t owner; /* id + 1 of the thread inside; 0 when none */
	/* Hand-off sampling (--latency), first line of an instance only.
	 * stamp_want counts sampled acquirers waiting; while it is non-zero
	 * every owner stamps its release (time, PU, and the count it leaves)
	 * just before unlocking.  The stamp is protected by the lock itself;
	 * stamp_want is written by waiters outside it (relaxed RMWs: it only
	 * asks for stamps, a late one costs a sample, never a wrong one,
	 * because the acquirer checks the count it finds against the stamp). */
	_Atomic uint64_t stamp_want;
	_Atomic uint64_t release_ns, release_count;
	_Atomic int release_pu;
};

struct lock_data {
	unsigned lines;               /* per instance: 1 + cs_lines */
	struct protected_line *line;  /* [instances * lines] */
};

static int lock_setup(struct sl_run *run, struct sl_err *err)
{
	struct lock_data *d = calloc(1, sizeof(*d));
	size_t n;

	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	d->lines = 1 + run->pt->cs_lines;
	n = (size_t)run->instances * d->lines;
	d->line = aligned_alloc(SL_CACHELINE, n * sizeof(*d->line));
	if (!d->line) {
		free(d);
		return sl_err_set(err, -ENOMEM, "out of memory for %zu protected lines", n);
	}
	memset(d->line, 0, n * sizeof(*d->line));
	run->shape_data = d;
	return 0;
}

static void lock_teardown(struct sl_run *run)
{
	struct lock_data *d = run->shape_data;

	free(d->line);
	free(d);
	run->shape_data = NULL;
}

static inline void bump(_Atomic uint64_t *v)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Called by the owner just before unlocking while a sampled acquirer
 * waits. */
static void stamp_release(struct protected_line *pl)
{
	atomic_store_explicit(&pl->release_count,
			      atomic_load_explicit(&pl->count, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&pl->release_pu, sched_getcpu(), memory_order_relaxed);
	atomic_store_explicit(&pl->release_ns, sl_now_ns(), memory_order_relaxed);
}

/* A hand-off seen by a timed acquire, recorded once the lock is released
 * (classifying it inside the critical section would lengthen it). */
struct handoff_seen {
	int from_pu, to_pu;
	uint64_t ns;
};

/*
 * A sampled acquire, out of line so the common path stays short: ask the
 * owners to stamp their releases, time the acquire, and tell whether the
 * lock was handed over by a release that came after this thread began to
 * wait (the release stamp newer than our start, and the count unchanged
 * since that stamp).
 */
static __attribute__((noinline)) bool timed_lock(struct sl_worker *w,
						 const struct sl_lock_ops *ops,
						 void *obj, void *tctx,
						 struct protected_line *pl,
						 bool exclusive,
						 struct handoff_seen *seen)
{
	uint64_t t0, t1, rel;
	bool handed = false;

	if (exclusive)
		atomic_fetch_add_explicit(&pl->stamp_want, 1, memory_order_relaxed);
	t0 = sl_now_ns();
	ops->lock(obj, tctx);
	t1 = sl_now_ns();
	sl_lat_record(w, t1 - t0);
	if (!exclusive)
		return false;
	rel = atomic_load_explicit(&pl->release_ns, memory_order_relaxed);
	if (rel >= t0 &&
	    atomic_load_explicit(&pl->release_count, memory_order_relaxed) ==
		    atomic_load_explicit(&pl->count, memory_order_relaxed)) {
		seen->ns = t1 - rel;
		seen->from_pu = atomic_load_explicit(&pl->release_pu, memory_order_relaxed);
		seen->to_pu = sched_getcpu();
		handed = true;
	}
	atomic_fetch_sub_explicit(&pl->stamp_want, 1, memory_order_relaxed);
	return handed;
}

/*
 * The loop, compiled twice (see lock_body): without latency sampling every
 * timing branch and the release stamp fold away, so the harness costs the
 * same per op as if sampling did not exist; with it, the common op pays
 * one decrement of a register and one load of a line it already owns.
 */
static inline __attribute__((always_inline)) void lock_loop(struct sl_worker *w,
							   const bool sampling)
{
	struct sl_run *run = w->run;
	const struct sl_lock_ops *ops = &run->prim->lock;
	const struct lock_data *d = run->shape_data;
	const bool exclusive = !(run->prim->flags & SL_PRIM_NO_EXCLUSION);
	const unsigned instances = run->instances;
	const unsigned lines = d->lines;
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	const uint64_t me = w->id + 1;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	uint64_t countdown = w->lat_countdown;
	struct handoff_seen seen = { -1, -1, 0 };

	while (sl_worker_running(w)) {
		unsigned k = instances == 1
				     ? 0
				     : (unsigned)(sl_rng_next(&w->rng) % instances);
		struct protected_line *pl = &d->line[(size_t)k * lines];
		void *obj = sl_run_obj(run, k);
		bool handed = false;

		if (sampling && sl_lat_tick(w, &countdown))
			handed = timed_lock(w, ops, obj, w->tctx[k], pl, exclusive, &seen);
		else
			ops->lock(obj, w->tctx[k]);
		if (exclusive)
			atomic_store_explicit(&pl->owner, me, memory_order_relaxed);
		for (unsigned i = 0; i < lines; i++)
			bump(&pl[i].count);
		if (cs_iters)
			sl_work_loop(cs_iters);
		if (exclusive) {
			uint64_t owner = atomic_load_explicit(&pl->owner,
							      memory_order_relaxed);

			if (owner != me) {
				if (owner)
					sl_worker_fail(w,
						       "mutual exclusion violated: threads %" PRIu64
						       " and %" PRIu64 " were inside lock %u together",
						       me - 1, owner - 1, k);
				else
					sl_worker_fail(w,
						       "mutual exclusion violated: another thread left lock %u while thread %" PRIu64
						       " was inside it", k, me - 1);
				ops->unlock(obj, w->tctx[k]);
				break;
			}
			atomic_store_explicit(&pl->owner, 0, memory_order_relaxed);
			if (sampling &&
			    atomic_load_explicit(&pl->stamp_want, memory_order_relaxed))
				stamp_release(pl);
		}
		ops->unlock(obj, w->tctx[k]);
		if (sampling && handed)
			sl_handoff_record(w, seen.from_pu, seen.to_pu, seen.ns);
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
}

static void lock_body(struct sl_worker *w)
{
	if (w->lat)
		lock_loop(w, true);
	else
		lock_loop(w, false);
}

static int lock_verify(struct sl_run *run, struct sl_worker *const *workers,
		       struct sl_err *err)
{
	const struct lock_data *d = run->shape_data;
	uint64_t done = 0, counted = 0;

	if (run->prim->flags & SL_PRIM_NO_EXCLUSION)
		return 0;
	for (unsigned i = 0; i < run->pt->threads; i++)
		done += atomic_load_explicit(&workers[i]->ops, memory_order_relaxed);
	for (unsigned k = 0; k < run->instances; k++) {
		const struct protected_line *pl = &d->line[(size_t)k * d->lines];
		uint64_t c = atomic_load_explicit(&pl[0].count, memory_order_relaxed);

		for (unsigned i = 1; i < d->lines; i++) {
			uint64_t ci = atomic_load_explicit(&pl[i].count,
							   memory_order_relaxed);
			if (ci != c)
				return sl_err_set(err, -EPROTO,
						  "mutual exclusion violated: lock %u's protected line %u counts %" PRIu64
						  " but its counter %" PRIu64, k, i, ci, c);
		}
		counted += c;
	}
	if (counted != done)
		return sl_err_set(err, -EPROTO,
				  "mutual exclusion violated: %" PRIu64
				  " acquisitions completed but the protected counters add up to %" PRIu64
				  " (%" PRIu64 " updates lost)",
				  done, counted, done > counted ? done - counted : 0);
	return 0;
}

const struct sl_shape sl_shape_lock = {
	.name = "lock",
	.kind = SL_KIND_LOCK,
	.setup = lock_setup,
	.body = lock_body,
	.verify = lock_verify,
	.teardown = lock_teardown,
};
