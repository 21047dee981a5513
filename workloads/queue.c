/*
 * The queue shape: producers enqueue, consumers dequeue, for queue and
 * stack primitives (kind queue).
 *
 * Workers 0 .. producers-1 produce, the others consume (--producers,
 * --consumers).  Producer p's items are p << 40 | seq, with seq counting
 * 1, 2, 3, ... (so no item is 0); a producer retries with a pause while the
 * queue is full, and its op count is its successful enqueues.  A consumer
 * retries with a pause while the queue is empty and counts only successful
 * dequeues.  After 128 failures in a row every further retry yields the CPU
 * instead: with more threads than PUs, the thread the others wait for (a
 * producer preempted between claiming a ring slot and filling it) may be
 * waiting for this PU, and spinning through whole time slices would measure
 * the scheduler.  --think-ns of calibrated work follows every op on both
 * sides.
 *
 * Producers of an unbounded queue that outrun the consumers would grow it
 * without limit, so a producer keeps at most max(65536, --capacity) of its
 * items in flight: when it has used up its allowance it reads the
 * consumers' counts of its items and, if half of that is still queued,
 * pauses like a producer that found the queue full.  A bounded queue never
 * reaches this limit.
 *
 * The invariant: every item is dequeued exactly once and, unless the
 * primitive is a stack (SL_PRIM_LIFO), each producer's items in order.
 * During the run each consumer checks that the sequence numbers it takes
 * from each producer strictly increase (a repeat or a step back fails the
 * run on the spot).  After the run the main thread drains what is left in
 * the queue through a context of its own, checking the order again against
 * everything consumed, and then, per producer, compares the items that
 * came out (consumed + drained) with those that went in: their number, and
 * the sums of their sequence numbers and of their squares, so a lost item
 * and a duplicated one cannot cancel out.
 *
 * Each consumer keeps its per-producer tallies in its own lines; the only
 * cross-thread traffic the shape adds is a producer reading the consumers'
 * counts of its items once per allowance.
 *
 * Latency (--latency) is enqueue->dequeue.  An item carries 64 bits and
 * nothing else, so a timed item carries a reference to its time instead:
 * each producer owns LAT_SLOTS stamp slots, and an item that sl_lat_due
 * picks gets the next one, LAT_SAMPLED (bit 63) and the slot's index (bits
 * 52-62) -- free bits, since producer ids stay below 2^12.  The producer
 * stores sl_now_ns() in the slot just before each enqueue attempt; the
 * consumer that dequeues the item strips the tag (the sequence checks see
 * the item as it would be untimed), reads the slot, frees it and records
 * now - stamp into its own histogram.  The stamp is ordered by the queue
 * itself: stored before the enqueue's publication, read after the dequeue
 * that took it.  A producer whose next slot is still held by an item in
 * flight (LAT_SLOTS timed items of its own queued at once) leaves that
 * item untimed.  With --latency off the producer and consumer loops are
 * compiled without any of this (the `timed` variants below), so the
 * untimed run pays nothing for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

#define SEQ_BITS 40
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define QUEUE_BACKLOG (UINT64_C(1) << 16)
#define BACKLOG_PAUSES 64
/* Failed attempts in a row (queue full or empty) before each further one
 * yields the CPU (see the top comment). */
#define SPINS_BEFORE_YIELD 128
/* Timed items: the tag bits and each producer's stamp slots. */
#define LAT_SLOT_SHIFT 52
#define LAT_SLOTS 2048u /* 2^(63 - LAT_SLOT_SHIFT) */
#define LAT_SAMPLED (UINT64_C(1) << 63)
#define LAT_TAG_MASK (LAT_SAMPLED | (uint64_t)(LAT_SLOTS - 1) << LAT_SLOT_SHIFT)
#define LAT_MAX_PRODUCERS (1u << (LAT_SLOT_SHIFT - SEQ_BITS))

/* One consumer's tally of one producer's items. */
struct tally {
	uint64_t last;          /* last sequence number taken */
	_Atomic uint64_t count; /* items taken; producers read it */
	uint64_t sum, sumsq;    /* of the sequence numbers, modulo 2^64 */
};

struct queue_data {
	unsigned producers, consumers;
	bool fifo;
	uint64_t backlog;       /* items a producer keeps in flight, at most */
	struct tally **tally;   /* [consumers][producers], one block each */
	void *spare_tctx;       /* the main thread's, for the drain */
	/* --latency: [producers][LAT_SLOTS] submit times, 0 when free; NULL
	 * when latency is not sampled. */
	_Atomic uint64_t *stamps;
};

static void queue_teardown(struct sl_run *run)
{
	struct queue_data *d = run->shape_data;

	if (d->tally)
		for (unsigned c = 0; c < d->consumers; c++)
			free(d->tally[c]);
	free(d->tally);
	free(d->spare_tctx);
	free(d->stamps);
	free(d);
	run->shape_data = NULL;
}

static int queue_setup(struct sl_run *run, struct sl_err *err)
{
	const struct sl_point *pt = run->pt;
	struct queue_data *d;
	size_t tsize, stride = sl_prim_tctx_stride(run->prim);

	if (!pt->producers || !pt->consumers ||
	    pt->producers + pt->consumers != pt->threads)
		return sl_err_set(err, -EINVAL,
				  "queue workload: %u producers and %u consumers do not split %u threads (at least one of each)",
				  pt->producers, pt->consumers, pt->threads);
	d = calloc(1, sizeof(*d));
	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	run->shape_data = d;
	d->producers = pt->producers;
	d->consumers = pt->consumers;
	d->fifo = !(run->prim->flags & SL_PRIM_LIFO);
	d->backlog = pt->capacity > QUEUE_BACKLOG ? pt->capacity : QUEUE_BACKLOG;
	tsize = SL_ROUND_UP(d->producers * sizeof(struct tally), SL_SLOT_ALIGN);
	d->tally = calloc(d->consumers, sizeof(*d->tally));
	d->spare_tctx = aligned_alloc(SL_SLOT_ALIGN, stride);
	if (!d->tally || !d->spare_tctx)
		goto oom;
	memset(d->spare_tctx, 0, stride);
	for (unsigned c = 0; c < d->consumers; c++) {
		d->tally[c] = aligned_alloc(SL_SLOT_ALIGN, tsize);
		if (!d->tally[c])
			goto oom;
		memset(d->tally[c], 0, tsize);
	}
	if (pt->lat_period) {
		size_t nstamps = (size_t)d->producers * LAT_SLOTS;

		if (d->producers > LAT_MAX_PRODUCERS) {
			queue_teardown(run);
			return sl_err_set(err, -EINVAL,
					  "queue workload: --latency takes at most %u producers, not %u",
					  LAT_MAX_PRODUCERS, pt->producers);
		}
		d->stamps = aligned_alloc(SL_CACHELINE,
					  SL_ROUND_UP(nstamps * sizeof(*d->stamps), SL_CACHELINE));
		if (!d->stamps)
			goto oom;
		for (size_t i = 0; i < nstamps; i++)
			atomic_init(&d->stamps[i], 0);
	}
	return 0;
oom:
	queue_teardown(run);
	return sl_err_set(err, -ENOMEM, "out of memory for %u consumers' tallies",
			  pt->consumers);
}

/* Pause after a failed attempt; yield once they have gone on too long. */
static inline void backoff(unsigned *fails)
{
	if (++*fails < SPINS_BEFORE_YIELD)
		sl_cpu_relax();
	else
		sched_yield();
}

static enum sl_role queue_role_of(const struct sl_run *run, unsigned id)
{
	const struct queue_data *d = run->shape_data;

	return id < d->producers ? SL_ROLE_PRODUCER : SL_ROLE_CONSUMER;
}

/* How many more items producer p may enqueue before it looks again; 0 while
 * half its allowance is still queued. */
static uint64_t backlog_room(const struct queue_data *d, unsigned p,
			     uint64_t produced)
{
	uint64_t consumed = 0, queued;

	for (unsigned c = 0; c < d->consumers; c++)
		/* relaxed: an estimate; a stale count only delays us */
		consumed += atomic_load_explicit(&d->tally[c][p].count,
						 memory_order_relaxed);
	queued = produced > consumed ? produced - consumed : 0;
	return queued >= d->backlog / 2 ? 0 : d->backlog - queued;
}

/* The stamp slot a timed item refers to. */
static inline _Atomic uint64_t *lat_slot(const struct queue_data *d, uint64_t p,
					 uint64_t item)
{
	return &d->stamps[p * LAT_SLOTS + ((item >> LAT_SLOT_SHIFT) & (LAT_SLOTS - 1))];
}

/* The producer loop; `timed` is a constant in each of its two callers, so
 * the untimed one carries none of the latency code. */
static inline __attribute__((always_inline)) void
produce_loop(struct sl_worker *w, const struct queue_data *d, const bool timed)
{
	struct sl_run *run = w->run;
	bool (*enqueue)(void *, void *, uint64_t) = run->prim->queue.enqueue;
	void *obj = sl_run_obj(run, 0), *tctx = w->tctx[0];
	const uint64_t tag = (uint64_t)w->id << SEQ_BITS;
	const uint64_t think = run->think_iters;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	uint64_t room = 0, item = 0, next_slot = 0;
	unsigned fails = 0;

	while (sl_worker_running(w)) {
		if (room == 0 && (room = backlog_room(d, w->id, n)) == 0) {
			for (int i = 0; i < BACKLOG_PAUSES; i++)
				sl_cpu_relax();
			backoff(&fails);
			continue;
		}
		if (n + 1 > SEQ_MASK) {
			sl_worker_fail(w, "producer %u ran out of sequence numbers", w->id);
			break;
		}
		if (!timed) {
			item = tag | (n + 1);
		} else if (item == 0) {
			/* A new item: time it when sampling picks it and its
			 * slot is free. */
			uint64_t slot = next_slot & (LAT_SLOTS - 1);

			item = tag | (n + 1);
			/* relaxed: the slot's own last value, freed by the
			 * consumer of the item that held it */
			if (sl_lat_due(w) &&
			    atomic_load_explicit(&d->stamps[(uint64_t)w->id * LAT_SLOTS + slot],
						 memory_order_relaxed) == 0) {
				item |= LAT_SAMPLED | slot << LAT_SLOT_SHIFT;
				next_slot++;
			}
		}
		if (timed && (item & LAT_SAMPLED))
			/* relaxed: published by the enqueue below */
			atomic_store_explicit(lat_slot(d, w->id, item), sl_now_ns(),
					      memory_order_relaxed);
		if (!enqueue(obj, tctx, item)) {
			backoff(&fails); /* full */
			continue;
		}
		item = 0;
		fails = 0;
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
		room--;
		if (think)
			sl_work_loop(think);
	}
}

static void produce(struct sl_worker *w, const struct queue_data *d)
{
	produce_loop(w, d, false);
}

static void produce_timed(struct sl_worker *w, const struct queue_data *d)
{
	produce_loop(w, d, true);
}

/* The consumer loop; `timed` as in produce_loop. */
static inline __attribute__((always_inline)) void
consume_loop(struct sl_worker *w, const struct queue_data *d, const bool timed)
{
	struct sl_run *run = w->run;
	bool (*dequeue)(void *, void *, uint64_t *) = run->prim->queue.dequeue;
	void *obj = sl_run_obj(run, 0), *tctx = w->tctx[0];
	struct tally *tally = d->tally[w->id - d->producers];
	const uint64_t think = run->think_iters;
	const bool fifo = d->fifo;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	unsigned fails = 0;

	while (sl_worker_running(w)) {
		uint64_t item, p, seq;
		struct tally *t;

		if (!dequeue(obj, tctx, &item)) {
			backoff(&fails); /* empty */
			continue;
		}
		fails = 0;
		if (timed && (item & LAT_SAMPLED)) {
			uint64_t now = sl_now_ns(), tagged = item;

			item &= ~LAT_TAG_MASK;
			p = item >> SEQ_BITS;
			if (p < d->producers) {
				_Atomic uint64_t *slot = lat_slot(d, p, tagged);
				/* relaxed: the queue ordered the producer's
				 * store before our dequeue */
				uint64_t t0 = atomic_load_explicit(slot, memory_order_relaxed);

				atomic_store_explicit(slot, 0, memory_order_relaxed);
				if (t0 && w->lat)
					sl_lat_record(w, now > t0 ? now - t0 : 0);
			}
		}
		p = item >> SEQ_BITS;
		seq = item & SEQ_MASK;
		if (p >= d->producers || seq == 0) {
			sl_worker_fail(w, "consumer %u dequeued %#" PRIx64 ", an item no producer enqueued",
				       w->id, item);
			break;
		}
		t = &tally[p];
		if (fifo && seq <= t->last) {
			if (seq == t->last)
				sl_worker_fail(w, "consumer %u dequeued producer %" PRIu64 "'s item %" PRIu64 " twice",
					       w->id, p, seq);
			else
				sl_worker_fail(w, "consumer %u dequeued producer %" PRIu64 "'s item %" PRIu64 " after its item %" PRIu64 " (out of order or duplicated)",
					       w->id, p, seq, t->last);
			break;
		}
		t->last = seq;
		atomic_store_explicit(&t->count,
				      atomic_load_explicit(&t->count, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		t->sum += seq;
		t->sumsq += seq * seq;
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
		if (think)
			sl_work_loop(think);
	}
}

static void consume(struct sl_worker *w, const struct queue_data *d)
{
	consume_loop(w, d, false);
}

static void consume_timed(struct sl_worker *w, const struct queue_data *d)
{
	consume_loop(w, d, true);
}

static void queue_body(struct sl_worker *w)
{
	const struct queue_data *d = w->run->shape_data;

	if (w->role == SL_ROLE_PRODUCER)
		(d->stamps ? produce_timed : produce)(w, d);
	else
		(d->stamps ? consume_timed : consume)(w, d);
}

/* What came out of the queue from one producer, over every consumer and the
 * drain. */
struct outcome {
	uint64_t count, sum, sumsq;
	uint64_t last;   /* highest sequence number consumed during the run */
	uint64_t drained, drained_last;
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

/* Empty the queue from the main thread, checking each item as a consumer
 * would; at most `limit` items may come out. */
static int drain(struct sl_run *run, struct queue_data *d, struct outcome *o,
		 uint64_t limit, struct sl_err *err)
{
	const struct sl_prim *prim = run->prim;
	void *obj = sl_run_obj(run, 0), *tctx = d->spare_tctx;
	uint64_t item, n = 0;
	int rc = 0;

	if (prim->thread_init)
		prim->thread_init(obj, tctx);
	while (prim->queue.dequeue(obj, tctx, &item)) {
		uint64_t p, seq;
		struct outcome *op;

		if (d->stamps && (item & LAT_SAMPLED))
			item &= ~LAT_TAG_MASK; /* a timed item; its time is moot */
		p = item >> SEQ_BITS;
		seq = item & SEQ_MASK;

		if (++n > limit) {
			rc = sl_err_set(err, -EPROTO,
					"items duplicated: more than the %" PRIu64 " items enqueued and not consumed were left in the queue",
					limit);
			break;
		}
		if (p >= d->producers || seq == 0) {
			rc = sl_err_set(err, -EPROTO,
					"%#" PRIx64 " was left in the queue, an item no producer enqueued",
					item);
			break;
		}
		op = &o[p];
		if (d->fifo && (seq <= op->last || seq <= op->drained_last)) {
			rc = sl_err_set(err, -EPROTO,
					"producer %" PRIu64 "'s item %" PRIu64 " was left in the queue behind its item %" PRIu64 " (out of order or duplicated)",
					p, seq,
					op->last > op->drained_last ? op->last : op->drained_last);
			break;
		}
		op->drained_last = seq;
		op->drained++;
		op->count++;
		op->sum += seq;
		op->sumsq += seq * seq;
	}
	if (prim->thread_fini)
		prim->thread_fini(obj, tctx);
	return rc;
}

static int queue_verify(struct sl_run *run, struct sl_worker *const *workers,
			struct sl_err *err)
{
	struct queue_data *d = run->shape_data;
	struct outcome *o = calloc(d->producers, sizeof(*o));
	uint64_t produced = 0, consumed = 0;
	int rc;

	if (!o)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned p = 0; p < d->producers; p++)
		produced += atomic_load_explicit(&workers[p]->ops, memory_order_relaxed);
	for (unsigned c = 0; c < d->consumers; c++) {
		for (unsigned p = 0; p < d->producers; p++) {
			const struct tally *t = &d->tally[c][p];

			o[p].count += atomic_load_explicit(&t->count, memory_order_relaxed);
			o[p].sum += t->sum;
			o[p].sumsq += t->sumsq;
			if (t->last > o[p].last)
				o[p].last = t->last;
		}
	}
	for (unsigned p = 0; p < d->producers; p++)
		consumed += o[p].count;
	rc = drain(run, d, o, produced > consumed ? produced - consumed : 0, err);
	for (unsigned p = 0; rc == 0 && p < d->producers; p++) {
		uint64_t in = atomic_load_explicit(&workers[p]->ops, memory_order_relaxed);
		uint64_t out = o[p].count;

		if (out < in)
			rc = sl_err_set(err, -EPROTO,
					"items lost: producer %u enqueued %" PRIu64 " items but %" PRIu64 " came out (%" PRIu64 " consumed, %" PRIu64 " left in the queue)",
					p, in, out, out - o[p].drained, o[p].drained);
		else if (out > in)
			rc = sl_err_set(err, -EPROTO,
					"items duplicated: producer %u enqueued %" PRIu64 " items but %" PRIu64 " came out (%" PRIu64 " consumed, %" PRIu64 " left in the queue)",
					p, in, out, out - o[p].drained, o[p].drained);
		else if (o[p].sum != sum_to(in) || o[p].sumsq != sumsq_to(in))
			rc = sl_err_set(err, -EPROTO,
					"items lost and others duplicated: producer %u's %" PRIu64 " items came out as many times in all, but not each exactly once",
					p, in);
	}
	free(o);
	return rc;
}

const struct sl_shape sl_shape_queue = {
	.name = "queue",
	.kind = SL_KIND_QUEUE,
	.setup = queue_setup,
	.role_of = queue_role_of,
	.body = queue_body,
	.verify = queue_verify,
	.teardown = queue_teardown,
};
