/*
 * The condition-variable shape: a bounded buffer (--capacity slots) under a
 * monitor, --producers threads putting items in and --consumers taking them
 * out.  Producers are workers 0..P-1, consumers the rest.
 *
 *   producer: lock; while full: wait(NOT_FULL); put; signal(NOT_EMPTY); unlock
 *   consumer: lock; while empty: wait(NOT_EMPTY); take; signal(NOT_FULL); unlock
 *
 * --cs-ns of work is spent holding the monitor after the put or take,
 * --think-ns outside it.  An op is one item produced or consumed.
 *
 * The invariant is exactly-once, in order: an item is (producer id << 40 |
 * that producer's sequence number, from 1).  The buffer is a FIFO under the
 * mutex, so each consumer must see every producer's sequence numbers
 * strictly increase; a consumer that does not stops the run.  After the run,
 * for every producer, the items consumed plus those left in the buffer must
 * equal the items it produced, in number and in the sum of their sequence
 * numbers: a lost, duplicated or invented item breaks one of the two.
 *
 * The buffer's state is only touched with the monitor's mutex held, through
 * relaxed atomics (plain loads and stores on mainstream CPUs), so a broken
 * monitor yields a failed check rather than undefined behaviour.
 *
 * Stopping: a thread blocked in wait re-checks the phase each time it wakes,
 * under the mutex; wake_all (the runner calls it after the stop flag and
 * every millisecond until every worker returned) broadcasts both queues.  It
 * does so without taking the mutex: a broadcast is allowed without it, the
 * runner repeats the call, so a waiter that read the queue's state just
 * after one broadcast is woken by the next, and the main thread can never
 * block behind a monitor whose mutex a stuck worker holds.
 *
 * Lost wake-ups are reported, not just waited out.  Under the mutex, every
 * thread counts itself as waiting on its queue around its wait, and a
 * signal given while a queue has waiters marks a wake-up owed on that queue,
 * paid when any thread returns from waiting on it (a signal must unblock at
 * least one thread blocked at the time).  A producer waits only when the
 * buffer is full and a consumer only when it is empty, so with a correct
 * monitor every thread can be waiting, with a wake-up owed, only until the
 * signalled thread runs.  If at the first wake_all that is the state and
 * nothing moves for half the stall timeout, the run fails with a lost
 * wake-up (and the broadcast then lets everyone go).  The wait is long
 * because a woken thread can be kept off a loaded machine's CPUs for a
 * hundred milliseconds and more; the stall timeout is the user's bound on
 * "no progress", as it is for reporting threads stuck.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/opt.h"
#include "workloads/workload.h"

enum { Q_NOT_FULL = 0, Q_NOT_EMPTY = 1 };

#define ITEM_PRODUCER_SHIFT 40
#define ITEM_SEQ_MASK ((1ull << ITEM_PRODUCER_SHIFT) - 1)

/* Shared state, touched only under the monitor's mutex (the main thread's
 * watch for lost wake-ups reads it without). */
struct ring {
	alignas(SL_CACHELINE) _Atomic uint64_t head; /* items taken, ever */
	_Atomic uint64_t tail;                       /* items put, ever */
	_Atomic unsigned waiting[2]; /* by queue: producers, consumers */
	_Atomic unsigned owed[2];    /* by queue: signalled since a return */
};

struct producer_slot {
	alignas(SL_SLOT_ALIGN) uint64_t seq; /* items this producer put */
};

/* What one consumer saw of one producer. */
struct tally {
	uint64_t last; /* sequence number last taken; 0: none yet */
	uint64_t count;
	uint64_t sum;  /* of sequence numbers */
};

struct cond_data {
	struct ring ring;
	unsigned capacity, producers, consumers;
	_Atomic uint64_t *slot;        /* [capacity] */
	struct producer_slot *prod;    /* [producers] */
	struct tally *tally;           /* [consumers][stride] */
	size_t tally_stride;           /* producers, rounded to whole lines */
	/* Main thread only (wake_all, verify), with its own context for the
	 * monitor's ops. */
	void *main_tctx;
	bool watched;
	char lost_wakeup[SL_ERR_MAX];
};

static enum sl_role cond_role_of(const struct sl_run *run, unsigned id)
{
	return id < run->pt->producers ? SL_ROLE_PRODUCER : SL_ROLE_CONSUMER;
}

static void cond_teardown(struct sl_run *run)
{
	struct cond_data *d = run->shape_data;

	if (d->main_tctx && run->prim->thread_fini)
		run->prim->thread_fini(sl_run_obj(run, 0), d->main_tctx);
	free(d->main_tctx);
	free(d->slot);
	free(d->prod);
	free(d->tally);
	free(d);
	run->shape_data = NULL;
}

static int cond_setup(struct sl_run *run, struct sl_err *err)
{
	const struct sl_point *pt = run->pt;
	struct cond_data *d;
	size_t per_line = SL_CACHELINE / sizeof(struct tally);

	if (pt->producers == 0 || pt->consumers == 0 ||
	    pt->producers + pt->consumers != pt->threads || pt->capacity == 0)
		return sl_err_set(err, -EINVAL,
				  "the bounded buffer needs producers and consumers that add up to %u threads and a capacity (got %u + %u, %u slots)",
				  pt->threads, pt->producers, pt->consumers, pt->capacity);
	if (pt->producers >= (1u << (64 - ITEM_PRODUCER_SHIFT)))
		return sl_err_set(err, -EINVAL, "--producers: '%u' is out of range",
				  pt->producers);
	d = aligned_alloc(SL_CACHELINE, SL_ROUND_UP(sizeof(*d), SL_CACHELINE));
	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	memset(d, 0, sizeof(*d));
	d->capacity = pt->capacity;
	d->producers = pt->producers;
	d->consumers = pt->consumers;
	d->tally_stride = per_line ? SL_ROUND_UP(d->producers, per_line) : d->producers;
	d->slot = aligned_alloc(SL_CACHELINE,
				SL_ROUND_UP(d->capacity * sizeof(*d->slot), SL_CACHELINE));
	d->prod = aligned_alloc(SL_SLOT_ALIGN, d->producers * sizeof(*d->prod));
	d->tally = aligned_alloc(SL_SLOT_ALIGN,
				 SL_ROUND_UP(d->consumers * d->tally_stride * sizeof(*d->tally),
					     SL_SLOT_ALIGN));
	d->main_tctx = aligned_alloc(SL_SLOT_ALIGN, sl_prim_tctx_stride(run->prim));
	run->shape_data = d;
	if (!d->slot || !d->prod || !d->tally || !d->main_tctx) {
		if (d->main_tctx) {
			free(d->main_tctx);
			d->main_tctx = NULL;
		}
		cond_teardown(run);
		return sl_err_set(err, -ENOMEM,
				  "out of memory for a %u-slot buffer and %u x %u tallies",
				  pt->capacity, pt->consumers, pt->producers);
	}
	for (unsigned i = 0; i < d->capacity; i++)
		atomic_init(&d->slot[i], 0);
	memset(d->prod, 0, d->producers * sizeof(*d->prod));
	memset(d->tally, 0, d->consumers * d->tally_stride * sizeof(*d->tally));
	atomic_init(&d->ring.head, 0);
	atomic_init(&d->ring.tail, 0);
	for (unsigned q = 0; q < 2; q++) {
		atomic_init(&d->ring.waiting[q], 0);
		atomic_init(&d->ring.owed[q], 0);
	}
	memset(d->main_tctx, 0, sl_prim_tctx_stride(run->prim));
	if (run->prim->thread_init)
		run->prim->thread_init(sl_run_obj(run, 0), d->main_tctx);
	return 0;
}

/* Relaxed read-modify-write as two steps: only ever done under the mutex. */
static inline void add(_Atomic unsigned *v, int delta)
{
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + (unsigned)delta,
			      memory_order_relaxed);
}

static inline bool stopping(const struct sl_run *run)
{
	return sl_phase(run) >= SL_PHASE_STOP;
}

/* Wait on queue q, counted (mutex held). */
static inline void counted_wait(const struct sl_cond_ops *ops, void *obj,
				void *tctx, struct ring *r, unsigned q)
{
	add(&r->waiting[q], 1);
	ops->wait(obj, tctx, q);
	add(&r->waiting[q], -1);
	atomic_store_explicit(&r->owed[q], 0, memory_order_relaxed);
}

/* Signal queue q, noting the wake-up owed when it has waiters (mutex held). */
static inline void counted_signal(const struct sl_cond_ops *ops, void *obj,
				  void *tctx, struct ring *r, unsigned q)
{
	if (atomic_load_explicit(&r->waiting[q], memory_order_relaxed))
		atomic_store_explicit(&r->owed[q], 1, memory_order_relaxed);
	ops->signal(obj, tctx, q);
}

static void producer(struct sl_worker *w, struct cond_data *d)
{
	struct sl_run *run = w->run;
	const struct sl_cond_ops *ops = &run->prim->cond;
	struct ring *r = &d->ring;
	void *obj = sl_run_obj(run, 0);
	void *tctx = w->tctx[0];
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	const uint64_t tag = (uint64_t)w->id << ITEM_PRODUCER_SHIFT;
	uint64_t seq = d->prod[w->id].seq;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);

	while (sl_worker_running(w)) {
		uint64_t tail;

		ops->lock(obj, tctx);
		tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		while (tail - atomic_load_explicit(&r->head, memory_order_relaxed) >= d->capacity) {
			if (stopping(run))
				goto out_locked;
			counted_wait(ops, obj, tctx, r, Q_NOT_FULL);
			tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		}
		atomic_store_explicit(&d->slot[tail % d->capacity], tag | ++seq,
				      memory_order_relaxed);
		atomic_store_explicit(&r->tail, tail + 1, memory_order_relaxed);
		counted_signal(ops, obj, tctx, r, Q_NOT_EMPTY);
		if (cs_iters)
			sl_work_loop(cs_iters);
		ops->unlock(obj, tctx);
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
	d->prod[w->id].seq = seq;
	return;
out_locked:
	ops->unlock(obj, tctx);
	d->prod[w->id].seq = seq;
}

static void consumer(struct sl_worker *w, struct cond_data *d)
{
	struct sl_run *run = w->run;
	const struct sl_cond_ops *ops = &run->prim->cond;
	struct ring *r = &d->ring;
	void *obj = sl_run_obj(run, 0);
	void *tctx = w->tctx[0];
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	struct tally *t = &d->tally[(size_t)(w->id - d->producers) * d->tally_stride];
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);

	while (sl_worker_running(w)) {
		uint64_t head, item, seq;
		unsigned from;

		ops->lock(obj, tctx);
		head = atomic_load_explicit(&r->head, memory_order_relaxed);
		while (atomic_load_explicit(&r->tail, memory_order_relaxed) == head) {
			if (stopping(run)) {
				ops->unlock(obj, tctx);
				return;
			}
			counted_wait(ops, obj, tctx, r, Q_NOT_EMPTY);
			head = atomic_load_explicit(&r->head, memory_order_relaxed);
		}
		item = atomic_load_explicit(&d->slot[head % d->capacity],
					    memory_order_relaxed);
		atomic_store_explicit(&r->head, head + 1, memory_order_relaxed);
		counted_signal(ops, obj, tctx, r, Q_NOT_FULL);
		if (cs_iters)
			sl_work_loop(cs_iters);
		ops->unlock(obj, tctx);

		from = (unsigned)(item >> ITEM_PRODUCER_SHIFT);
		seq = item & ITEM_SEQ_MASK;
		if (from >= d->producers || seq == 0) {
			sl_worker_fail(w, "consumer %u took item %#" PRIx64 ", which no producer made",
				       w->id, item);
			return;
		}
		if (seq <= t[from].last) {
			sl_worker_fail(w,
				       "consumer %u took producer %u's item %" PRIu64 " after its item %" PRIu64 " (duplicated or out of order)",
				       w->id, from, seq, t[from].last);
			return;
		}
		t[from].last = seq;
		t[from].count++;
		t[from].sum += seq;
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
}

static void cond_body(struct sl_worker *w)
{
	struct cond_data *d = w->run->shape_data;

	if (w->role == SL_ROLE_PRODUCER)
		producer(w, d);
	else
		consumer(w, d);
}

/* Every thread waiting with a wake-up owed?  Also the state as a number
 * that changes with any progress. */
static bool owed_and_all_waiting(const struct cond_data *d, uint64_t *progress)
{
	const struct ring *r = &d->ring;
	unsigned wp = atomic_load_explicit(&r->waiting[Q_NOT_FULL], memory_order_relaxed);
	unsigned wc = atomic_load_explicit(&r->waiting[Q_NOT_EMPTY], memory_order_relaxed);
	bool owed = atomic_load_explicit(&r->owed[Q_NOT_FULL], memory_order_relaxed) ||
		    atomic_load_explicit(&r->owed[Q_NOT_EMPTY], memory_order_relaxed);

	*progress = atomic_load_explicit(&r->head, memory_order_relaxed) +
		    atomic_load_explicit(&r->tail, memory_order_relaxed) +
		    ((uint64_t)(wp + wc) << 48);
	return owed && wp == d->producers && wc == d->consumers;
}

/* First call after the stop flag: was a wake-up lost?  (See the top.) */
static void watch_lost_wakeup(const struct sl_run *run, struct cond_data *d)
{
	const struct ring *r = &d->ring;
	uint64_t window = run->pt->stall_timeout_ns / 2;
	uint64_t before, now, t0 = sl_now_ns();

	if (!owed_and_all_waiting(d, &before))
		return;
	while (sl_now_ns() - t0 < window) {
		if (run->pt->interrupt &&
		    atomic_load_explicit(run->pt->interrupt, memory_order_relaxed))
			return;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
		if (!owed_and_all_waiting(d, &now) || now != before)
			return;
	}
	{
		uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		bool to_consumers = atomic_load_explicit(&r->owed[Q_NOT_EMPTY],
							 memory_order_relaxed);
		char limit[32];

		sl_format_duration(window, limit, sizeof(limit));
		snprintf(d->lost_wakeup, sizeof(d->lost_wakeup),
			 "lost wake-up: a waiting %s was signalled, but no thread returned from wait in %s (every thread was waiting: %u producer%s for room, %u consumer%s for an item, %" PRIu64 " of %u slots full)",
			 to_consumers ? "consumer" : "producer", limit,
			 d->producers, d->producers == 1 ? "" : "s",
			 d->consumers, d->consumers == 1 ? "" : "s", tail - head,
			 d->capacity);
	}
}

static void cond_wake_all(struct sl_run *run)
{
	struct cond_data *d = run->shape_data;
	const struct sl_cond_ops *ops = &run->prim->cond;
	void *obj = sl_run_obj(run, 0);

	if (!d->watched) {
		d->watched = true;
		watch_lost_wakeup(run, d);
	}
	ops->broadcast(obj, d->main_tctx, Q_NOT_FULL);
	ops->broadcast(obj, d->main_tctx, Q_NOT_EMPTY);
}

static int cond_verify(struct sl_run *run, struct sl_worker *const *workers,
		       struct sl_err *err)
{
	const struct cond_data *d = run->shape_data;
	const struct ring *r = &d->ring;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t produced = 0, consumed = 0;
	struct tally *seen; /* per producer: consumed plus left in the buffer */
	int rc = 0;

	if (d->lost_wakeup[0])
		return sl_err_set(err, -EPROTO, "%s", d->lost_wakeup);
	if (tail - head > d->capacity)
		return sl_err_set(err, -EPROTO,
				  "the buffer holds %" PRIu64 " items in %u slots",
				  tail - head, d->capacity);
	seen = calloc(d->producers, sizeof(*seen));
	if (!seen)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned c = 0; c < d->consumers; c++) {
		for (unsigned i = 0; i < d->producers; i++) {
			const struct tally *t = &d->tally[(size_t)c * d->tally_stride + i];

			seen[i].count += t->count;
			seen[i].sum += t->sum;
		}
		consumed += atomic_load_explicit(&workers[d->producers + c]->ops,
						 memory_order_relaxed);
	}
	for (uint64_t k = head; k != tail; k++) {
		uint64_t item = atomic_load_explicit(&d->slot[k % d->capacity],
						     memory_order_relaxed);
		uint64_t from = item >> ITEM_PRODUCER_SHIFT;

		if (from >= d->producers) {
			rc = sl_err_set(err, -EPROTO,
					"the buffer holds item %#" PRIx64 ", which no producer made",
					item);
			goto out;
		}
		seen[from].count++;
		seen[from].sum += item & ITEM_SEQ_MASK;
	}
	for (unsigned i = 0; i < d->producers && rc == 0; i++) {
		uint64_t p = d->prod[i].seq;
		uint64_t ops = atomic_load_explicit(&workers[i]->ops, memory_order_relaxed);

		produced += p;
		if (ops != p)
			rc = sl_err_set(err, -EPROTO,
					"producer %u counted %" PRIu64 " ops but put %" PRIu64 " items",
					i, ops, p);
		else if (seen[i].count != p)
			rc = sl_err_set(err, -EPROTO,
					"producer %u put %" PRIu64 " items but %" PRIu64 " were consumed or left in the buffer (%s)",
					i, p, seen[i].count,
					seen[i].count < p ? "items lost" : "items duplicated");
		else if (seen[i].sum != p * (p + 1) / 2)
			rc = sl_err_set(err, -EPROTO,
					"producer %u's items were not each consumed exactly once (their sequence numbers add up to %" PRIu64 ", expected %" PRIu64 ")",
					i, seen[i].sum, p * (p + 1) / 2);
	}
	if (rc == 0 && (produced != consumed + (tail - head) || tail != produced))
		rc = sl_err_set(err, -EPROTO,
				"%" PRIu64 " items produced, but %" PRIu64 " consumed and %" PRIu64 " left in the buffer",
				produced, consumed, tail - head);
out:
	free(seen);
	return rc;
}

const struct sl_shape sl_shape_cond = {
	.name = "cond",
	.kind = SL_KIND_CONDVAR,
	.setup = cond_setup,
	.role_of = cond_role_of,
	.body = cond_body,
	.verify = cond_verify,
	.teardown = cond_teardown,
	.wake_all = cond_wake_all,
};
