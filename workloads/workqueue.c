/*
 * The workqueue shape: submitters hand deferred work items to a pool of
 * workers (kind workqueue).
 *
 * Workers 0 .. producers-1 submit (--producers), the others are the pool
 * (--consumers).  Each submitter owns a batch of WQ_FLUSH_EVERY (64) items,
 * one cache line each, carrying its id, a sequence number (1, 2, 3, ...), a
 * run counter and, when sl_lat_due picks the item, the time it was
 * submitted.  It submits the batch one item at a time (--think-ns of work
 * after each; a full queue is retried with a pause, then by yielding), then
 * flushes and checks that every item of the batch ran exactly once -- flush
 * must wait for all of them -- before it reuses the items for the next 64
 * sequence numbers.  A pool worker takes an item, bumps its run counter (a
 * second run of the same submission fails the run on the spot), records
 * now - submit time into its own latency histogram when the item carries
 * one, tallies the item under its submitter, does --cs-ns of work and
 * completes it.  The operations counted are items executed: pool workers'
 * counts; submitters count none.
 *
 * Stopping: pool workers asleep for want of work, and submitters asleep in
 * flush, are woken by the primitive's shutdown (wake_all); a flush cut
 * short by it ends its submitter's loop without a check.  Items still
 * queued then are drained by verify through the main thread's own context,
 * not counted as lost.
 *
 * The invariant, after the drain: per submitter, the items that ran plus
 * those drained equal the items it submitted, in number and in the sums of
 * their sequence numbers and of their squares (so a lost item and a
 * duplicated one cannot cancel out); a drained item must never have run;
 * and no flush returned before its items had run (checked by the submitters
 * during the run).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

/* Items a submitter has in flight between two flushes. */
#define WQ_FLUSH_EVERY 64
/* Failed submits in a row before each further try yields the CPU. */
#define SPINS_BEFORE_YIELD 128

struct wq_item {
	struct sl_work link;    /* the primitive's; first */
	unsigned submitter;     /* set once, before the threads start */
	_Atomic uint64_t seq;   /* this submission's sequence number */
	_Atomic uint64_t runs;  /* pool workers that started it */
	_Atomic uint64_t stamp; /* sl_now_ns() at submit when sampled, else 0 */
};

/* One cache line per item, so pool workers do not share them. */
struct wq_slot {
	alignas(SL_CACHELINE) struct wq_item item;
};

struct submitter {
	/* Written by the submitter alone; read by verify after the join. */
	alignas(SL_SLOT_ALIGN) uint64_t submitted;
	uint64_t flushes;
	struct wq_slot *batch;  /* [WQ_FLUSH_EVERY] */
};

/* One pool worker's tally of one submitter's items. */
struct tally {
	uint64_t count, sum, sumsq; /* sums modulo 2^64 */
};

struct wq_data {
	unsigned submitters, pool;
	struct submitter *sub;  /* [submitters] */
	struct tally **tally;   /* [pool][submitters], one block each */
	void *spare_tctx;       /* the main thread's, for the drain */
};

static void wq_teardown(struct sl_run *run)
{
	struct wq_data *d = run->shape_data;

	if (d->sub)
		for (unsigned s = 0; s < d->submitters; s++)
			free(d->sub[s].batch);
	if (d->tally)
		for (unsigned c = 0; c < d->pool; c++)
			free(d->tally[c]);
	free(d->sub);
	free(d->tally);
	free(d->spare_tctx);
	free(d);
	run->shape_data = NULL;
}

static int wq_setup(struct sl_run *run, struct sl_err *err)
{
	const struct sl_point *pt = run->pt;
	size_t stride = sl_prim_tctx_stride(run->prim), tsize;
	struct wq_data *d;

	if (!pt->producers || !pt->consumers ||
	    pt->producers + pt->consumers != pt->threads)
		return sl_err_set(err, -EINVAL,
				  "workqueue workload: %u submitters and %u pool workers do not split %u threads (at least one of each)",
				  pt->producers, pt->consumers, pt->threads);
	d = calloc(1, sizeof(*d));
	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	run->shape_data = d;
	d->submitters = pt->producers;
	d->pool = pt->consumers;
	d->sub = aligned_alloc(SL_SLOT_ALIGN,
			       SL_ROUND_UP(d->submitters * sizeof(*d->sub), SL_SLOT_ALIGN));
	d->tally = calloc(d->pool, sizeof(*d->tally));
	d->spare_tctx = aligned_alloc(SL_SLOT_ALIGN, stride);
	if (!d->sub || !d->tally || !d->spare_tctx)
		goto oom;
	memset(d->sub, 0, d->submitters * sizeof(*d->sub));
	memset(d->spare_tctx, 0, stride);
	for (unsigned s = 0; s < d->submitters; s++) {
		struct wq_slot *b = aligned_alloc(SL_CACHELINE,
						  WQ_FLUSH_EVERY * sizeof(*b));

		if (!b)
			goto oom;
		memset(b, 0, WQ_FLUSH_EVERY * sizeof(*b));
		for (unsigned i = 0; i < WQ_FLUSH_EVERY; i++) {
			b[i].item.submitter = s;
			atomic_init(&b[i].item.seq, 0);
			atomic_init(&b[i].item.runs, 0);
			atomic_init(&b[i].item.stamp, 0);
		}
		d->sub[s].batch = b;
	}
	tsize = SL_ROUND_UP(d->submitters * sizeof(struct tally), SL_SLOT_ALIGN);
	for (unsigned c = 0; c < d->pool; c++) {
		d->tally[c] = aligned_alloc(SL_SLOT_ALIGN, tsize);
		if (!d->tally[c])
			goto oom;
		memset(d->tally[c], 0, tsize);
	}
	return 0;
oom:
	wq_teardown(run);
	return sl_err_set(err, -ENOMEM, "out of memory for %u submitters and %u pool workers",
			  pt->producers, pt->consumers);
}

static enum sl_role wq_role_of(const struct sl_run *run, unsigned id)
{
	const struct wq_data *d = run->shape_data;

	return id < d->submitters ? SL_ROLE_PRODUCER : SL_ROLE_CONSUMER;
}

/* After a flush that returned true: every item of the batch ran once. */
static bool batch_ran(struct sl_worker *w, const struct submitter *s)
{
	for (unsigned i = 0; i < WQ_FLUSH_EVERY; i++) {
		const struct wq_item *it = &s->batch[i].item;
		/* relaxed: the flush's acquire made the runs visible */
		uint64_t runs = atomic_load_explicit(&it->runs, memory_order_relaxed);
		uint64_t seq = atomic_load_explicit(&it->seq, memory_order_relaxed);

		if (runs == 0) {
			sl_worker_fail(w, "submitter %u: flush returned before its item %" PRIu64 " had run (a flush must wait for every item submitted before it)",
				       w->id, seq);
			return false;
		}
		if (runs > 1) {
			sl_worker_fail(w, "submitter %u: its item %" PRIu64 " ran %" PRIu64 " times",
				       w->id, seq, runs);
			return false;
		}
	}
	return true;
}

static void submit_loop(struct sl_worker *w, struct wq_data *d)
{
	struct sl_run *run = w->run;
	const struct sl_workqueue_ops *ops = &run->prim->wq;
	void *obj = sl_run_obj(run, 0), *tctx = w->tctx[0];
	struct submitter *s = &d->sub[w->id];
	const uint64_t think = run->think_iters;
	unsigned used = 0, fails = 0;
	uint64_t n = s->submitted;

	while (sl_worker_running(w)) {
		struct wq_item *it = &s->batch[used].item;
		bool timed = sl_lat_due(w), queued;

		/* relaxed: published by submit (the queue's release) */
		atomic_store_explicit(&it->seq, n + 1, memory_order_relaxed);
		atomic_store_explicit(&it->runs, 0, memory_order_relaxed);
		for (;;) {
			atomic_store_explicit(&it->stamp, timed ? sl_now_ns() : 0,
					      memory_order_relaxed);
			queued = ops->submit(obj, tctx, &it->link);
			if (queued || !sl_worker_running(w))
				break;
			if (++fails < SPINS_BEFORE_YIELD)
				sl_cpu_relax();
			else
				sched_yield();
		}
		if (!queued)
			break;
		fails = 0;
		s->submitted = ++n;
		if (++used == WQ_FLUSH_EVERY) {
			if (!ops->flush(obj, tctx) || !batch_ran(w, s))
				break; /* shut down, or a failure recorded */
			used = 0;
			s->flushes++;
		}
		if (think)
			sl_work_loop(think);
	}
}

static void pool_loop(struct sl_worker *w, struct wq_data *d)
{
	struct sl_run *run = w->run;
	const struct sl_workqueue_ops *ops = &run->prim->wq;
	void *obj = sl_run_obj(run, 0), *tctx = w->tctx[0];
	struct tally *tally = d->tally[w->id - d->submitters];
	const uint64_t cs = run->cs_iters;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);

	while (sl_worker_running(w)) {
		struct sl_work *link = ops->take(obj, tctx);
		struct wq_item *it = (struct wq_item *)link;
		uint64_t runs, stamp, seq;
		struct tally *t;

		if (!link)
			continue; /* shut down: the loop condition sees the stop */
		/* relaxed: the item's fields were published by the queue */
		stamp = atomic_load_explicit(&it->stamp, memory_order_relaxed);
		if (stamp && w->lat)
			sl_lat_record(w, sl_now_ns() - stamp);
		runs = atomic_fetch_add_explicit(&it->runs, 1, memory_order_relaxed);
		seq = atomic_load_explicit(&it->seq, memory_order_relaxed);
		if (it->submitter >= d->submitters || seq == 0) {
			sl_worker_fail(w, "pool worker %u took an item no submitter submitted",
				       w->id);
			break;
		}
		if (runs != 0) {
			sl_worker_fail(w, "pool worker %u started submitter %u's item %" PRIu64 " twice (an item must run exactly once)",
				       w->id, it->submitter, seq);
			break;
		}
		t = &tally[it->submitter];
		t->count++;
		t->sum += seq;
		t->sumsq += seq * seq;
		if (cs)
			sl_work_loop(cs);
		ops->complete(obj, tctx, link);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
}

static void wq_body(struct sl_worker *w)
{
	struct wq_data *d = w->run->shape_data;

	if (w->role == SL_ROLE_PRODUCER)
		submit_loop(w, d);
	else
		pool_loop(w, d);
}

static void wq_wake_all(struct sl_run *run)
{
	run->prim->wq.shutdown(sl_run_obj(run, 0));
}

/* What became of one submitter's items, over the pool and the drain. */
struct outcome {
	uint64_t count, sum, sumsq;
	uint64_t drained;
};

/* 1 + 2 + ... + n and 1 + 4 + ... + n^2, modulo 2^64 like the tallies. */
static uint64_t sum_to(uint64_t n)
{
	return (uint64_t)((unsigned __int128)n * (n + 1) / 2);
}

static uint64_t sumsq_to(uint64_t n)
{
	return (uint64_t)((unsigned __int128)n * (n + 1) * (2 * n + 1) / 6);
}

/* Take what is still queued from the main thread (the queue is shut down,
 * so take never sleeps); at most `limit` items may come out. */
static int drain(struct sl_run *run, struct wq_data *d, struct outcome *o,
		 uint64_t limit, struct sl_err *err)
{
	const struct sl_prim *prim = run->prim;
	void *obj = sl_run_obj(run, 0), *tctx = d->spare_tctx;
	struct sl_work *link;
	uint64_t n = 0;
	int rc = 0;

	prim->wq.shutdown(obj);
	if (prim->thread_init)
		prim->thread_init(obj, tctx);
	while ((link = prim->wq.take(obj, tctx)) != NULL) {
		struct wq_item *it = (struct wq_item *)link;
		uint64_t seq = atomic_load_explicit(&it->seq, memory_order_relaxed);
		uint64_t runs = atomic_load_explicit(&it->runs, memory_order_relaxed);
		struct outcome *op;

		if (++n > limit) {
			rc = sl_err_set(err, -EPROTO,
					"items duplicated: more than the %" PRIu64 " items submitted and not run were left in the queue",
					limit);
			break;
		}
		if (it->submitter >= d->submitters || seq == 0) {
			rc = sl_err_set(err, -EPROTO,
					"an item no submitter submitted was left in the queue");
			break;
		}
		if (runs != 0) {
			rc = sl_err_set(err, -EPROTO,
					"items duplicated: submitter %u's item %" PRIu64 " ran and was still left in the queue",
					it->submitter, seq);
			break;
		}
		op = &o[it->submitter];
		op->drained++;
		op->count++;
		op->sum += seq;
		op->sumsq += seq * seq;
		prim->wq.complete(obj, tctx, link);
	}
	if (prim->thread_fini)
		prim->thread_fini(obj, tctx);
	return rc;
}

static int wq_verify(struct sl_run *run, struct sl_worker *const *workers,
		     struct sl_err *err)
{
	struct wq_data *d = run->shape_data;
	struct outcome *o = calloc(d->submitters, sizeof(*o));
	uint64_t submitted = 0, ran = 0;
	int rc;

	(void)workers;
	if (!o)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned s = 0; s < d->submitters; s++)
		submitted += d->sub[s].submitted;
	for (unsigned c = 0; c < d->pool; c++) {
		for (unsigned s = 0; s < d->submitters; s++) {
			const struct tally *t = &d->tally[c][s];

			o[s].count += t->count;
			o[s].sum += t->sum;
			o[s].sumsq += t->sumsq;
			ran += t->count;
		}
	}
	rc = drain(run, d, o, submitted > ran ? submitted - ran : 0, err);
	for (unsigned s = 0; rc == 0 && s < d->submitters; s++) {
		uint64_t in = d->sub[s].submitted, out = o[s].count;

		if (out < in)
			rc = sl_err_set(err, -EPROTO,
					"items lost: submitter %u submitted %" PRIu64 " items but %" PRIu64 " ran or were left queued (%" PRIu64 " ran, %" PRIu64 " left)",
					s, in, out, out - o[s].drained, o[s].drained);
		else if (out > in)
			rc = sl_err_set(err, -EPROTO,
					"items duplicated: submitter %u submitted %" PRIu64 " items but %" PRIu64 " ran or were left queued (%" PRIu64 " ran, %" PRIu64 " left)",
					s, in, out, out - o[s].drained, o[s].drained);
		else if (o[s].sum != sum_to(in) || o[s].sumsq != sumsq_to(in))
			rc = sl_err_set(err, -EPROTO,
					"items lost and others duplicated: submitter %u's %" PRIu64 " items ran or were left queued as many times in all, but not each exactly once",
					s, in);
	}
	free(o);
	return rc;
}

const struct sl_shape sl_shape_workqueue = {
	.name = "workqueue",
	.kind = SL_KIND_WORKQUEUE,
	.setup = wq_setup,
	.role_of = wq_role_of,
	.body = wq_body,
	.verify = wq_verify,
	.teardown = wq_teardown,
	.wake_all = wq_wake_all,
	.uncounted_roles = 1u << SL_ROLE_PRODUCER,
};
