/*
 * Workqueues: a pool of worker threads runs deferred work items that other
 * threads submit (kind workqueue; see struct sl_workqueue_ops in prim.h).
 *
 * Both variants share how a submitter waits in flush.  Each registered
 * thread owns a flush record (an obj-owned record, not its context, because
 * pool workers complete its items after it may have left): one futex word,
 *
 *   pending = count of its items submitted and not completed (bits 0-29)
 *           | WAITER (bit 30: its flush is asleep, or about to be)
 *           | STOP   (bit 31: shutdown was called)
 *
 * submit adds 1 before the item becomes visible to the pool and stores the
 * record in the item's origin; complete subtracts 1 and calls FUTEX_WAKE
 * only when it took the count to zero with WAITER set.  flush polls the
 * count for a while, then sets WAITER with a compare-and-swap from a value
 * v it read (count non-zero, STOP clear) and sleeps in FUTEX_WAIT on
 * v | WAITER.  No wake-up is lost, by one word's modification order alone:
 * every change to the word after that CAS -- the last decrement, STOP -- is
 * a read-modify-write that sees WAITER and wakes; one that lands before the
 * CAS makes the CAS fail, and one between the CAS and the sleep makes the
 * kernel's compare fail.  Records live on a push-only list so that shutdown
 * can set STOP in every one of them; thread_init claims an idle record (or
 * adds one) and thread_fini hands it back.  flush is per thread: it waits
 * for every item the caller submitted, not for other submitters' items.
 *
 * Ordering of flush: complete's decrement is a release and flush's load of
 * the word an acquire; every earlier decrement heads a release sequence
 * that the later read-modify-writes continue, so the flusher that reads a
 * zero count synchronizes with every completion and sees everything its
 * items did.  submit's increment is relaxed: it is sequenced before the
 * release that publishes the item, and the completer's decrement comes
 * after the acquire that takes it, so the increment precedes the decrement
 * in the word's modification order.
 *
 * workqueue: an intrusive FIFO list under synclab's own futex monitor
 * `condvar`, embedded and called through its descriptor (as lockref.h does
 * for locks), so the pool runs that monitor's code and copies none of it.
 * submit appends under the mutex and signals the "work" condition queue
 * (the monitor calls the kernel only for a sleeping waiter); take waits on it
 * while the list is empty and the queue is not shut down.  Before taking
 * the mutex to sleep, an idle worker polls a count of queued items for up
 * to WQ_SPIN_POLLS pauses, as workqueue-lf does, so that the two variants
 * differ in their queue and not in how long they spin.  shutdown takes the
 * mutex, sets the stop flag and broadcasts.  Ordering: the monitor's mutex;
 * the queued count is written under it and read outside it only as a hint.
 *
 * workqueue-lf: a bounded ring of item pointers with a sequence number per
 * slot (Vyukov's bounded MPMC queue, as ring-mpmc), 2^k slots, at least
 * 1024 and 64 per thread (the workqueue workload keeps at most 64 items per
 * submitter in flight, so it never finds the ring full).  Idle workers poll
 * for WQ_SPIN_POLLS pauses, then sleep on an eventcount:
 *
 *   worker:    sleepers++; key = wake_seq (acquire); seq_cst fence;
 *              look at the ring and the stop flag again; if still nothing,
 *              FUTEX_WAIT(wake_seq, key); sleepers--
 *   submitter: publish the item (the slot's release store); seq_cst fence;
 *              if sleepers: wake_seq++ (release); FUTEX_WAKE(wake_seq, 1)
 *   shutdown:  stop = 1; wake_seq++ (release); FUTEX_WAKE(wake_seq, all)
 *
 * Why no wake-up is lost: the two fences are ordered in their single total
 * order.  If the submitter's comes first, the worker's second look (after
 * its fence) sees the published slot (or a later state, in which another
 * worker took the item).  If the worker's comes first, the submitter's
 * load (after its fence) sees the worker counted in sleepers and bumps
 * wake_seq: if the worker read its key before the bump, FUTEX_WAIT either
 * finds wake_seq changed and returns, or the worker is queued when the
 * wake comes; if the key read saw the bump, that acquire makes the
 * publication visible to the second look.  Shutdown needs no fence: its
 * bump always happens, after the stop store, so a worker whose key saw it
 * also sees the stop flag, and one whose key did not is woken or never
 * sleeps.  Ring ordering: the slot sequence store that hands a slot over is
 * a release and the load that checks it an acquire, in both directions; the
 * index compare-and-swaps only allocate positions and are relaxed.
 *
 * Both: the item's own fields are ordered by the queue (the submitter's
 * writes happen before the pool worker's take through the mutex or the
 * slot's release and acquire) and by flush (the worker's writes happen
 * before the flusher's return).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "primitives/records.h"
#include "util/atomics.h"

/* Pauses an idle worker or a flusher polls before it goes to sleep. */
#define WQ_SPIN_POLLS 128

#define WQ_COUNT_MASK 0x3fffffffu
#define WQ_WAITER (1u << 30)
#define WQ_STOP (1u << 31)

/* --- flush records --------------------------------------------------------- */

struct wq_rec {
	alignas(SL_CACHELINE) _Atomic uint32_t pending;
	_Atomic int active;  /* 1 while a thread owns the record */
	struct wq_rec *next; /* set once, before the record is published */
};

struct wq_recs {
	_Atomic(struct wq_rec *) head; /* push-only */
};

struct wq_tctx {
	struct wq_rec *rec;
};

static struct wq_rec *rec_new(void)
{
	struct wq_rec *r = aligned_alloc(SL_CACHELINE,
					 SL_ROUND_UP(sizeof(*r), SL_CACHELINE));

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	atomic_init(&r->pending, 0);
	atomic_init(&r->active, 0);
	return r;
}

static void recs_free(struct wq_recs *rs)
{
	struct wq_rec *r = atomic_load_explicit(&rs->head, memory_order_relaxed);

	while (r) {
		struct wq_rec *next = r->next;

		free(r);
		r = next;
	}
	atomic_store_explicit(&rs->head, NULL, memory_order_relaxed);
}

/* One record per thread the workload announced, and one for its drain. */
static int recs_init(struct wq_recs *rs, unsigned nthreads, struct sl_err *err)
{
	atomic_init(&rs->head, NULL);
	for (unsigned i = 0; i < nthreads + 1; i++) {
		struct wq_rec *r = rec_new();

		if (!r) {
			recs_free(rs);
			return sl_err_set(err, -ENOMEM, "out of memory for %u flush records",
					  nthreads + 1);
		}
		SL_RECORD_PUSH(&rs->head, r);
	}
	return 0;
}

static void recs_claim(struct wq_recs *rs, struct wq_tctx *t)
{
	struct wq_rec *r;

	/* acquire: pairs with the push of each record (records.h) */
	for (r = atomic_load_explicit(&rs->head, memory_order_acquire); r; r = r->next)
		if (sl_record_claim(&r->active)) {
			t->rec = r;
			return;
		}
	/* More threads than init was told of. */
	r = rec_new();
	if (!r)
		SL_BUG("workqueue: out of memory for a flush record");
	atomic_store_explicit(&r->active, 1, memory_order_relaxed);
	SL_RECORD_PUSH(&rs->head, r);
	t->rec = r;
}

/* thread_fini of both variants: hand the record back. */
static void wq_thread_fini(void *obj, void *tctx)
{
	struct wq_tctx *t = tctx;

	(void)obj;
	sl_record_release(&t->rec->active);
	t->rec = NULL;
}

/* STOP in every record; wake those whose flush sleeps. */
static void recs_shutdown(struct wq_recs *rs)
{
	/* acquire: pairs with the push of each record (records.h) */
	for (struct wq_rec *r = atomic_load_explicit(&rs->head, memory_order_acquire);
	     r; r = r->next) {
		/* relaxed: a wake-up token; see the top comment */
		uint32_t old = atomic_fetch_or_explicit(&r->pending, WQ_STOP,
							memory_order_relaxed);

		if (old & WQ_WAITER)
			sl_futex_wake(&r->pending, INT_MAX);
	}
}

/* After the run: every submitted item was completed exactly once. */
static int recs_check(struct wq_recs *rs, const char *name, struct sl_err *err)
{
	unsigned i = 0;

	/* acquire: pairs with the push of each record (records.h) */
	for (struct wq_rec *r = atomic_load_explicit(&rs->head, memory_order_acquire);
	     r; r = r->next, i++) {
		uint32_t n = atomic_load_explicit(&r->pending, memory_order_relaxed) &
			     WQ_COUNT_MASK;

		if (n)
			return sl_err_set(err, -EPROTO,
					  "%s: flush record %u counts %u items submitted and not completed after the run",
					  name, i, n);
	}
	return 0;
}

/* submit's first half: count the item for its submitter's flush, before the
 * pool can see it.  false: the count is full. */
static bool note_submit(struct wq_tctx *t, struct sl_work *item)
{
	struct wq_rec *r = t->rec;

	/* relaxed: the owner alone adds, so it reads its own last value's
	 * count (completions only lower it) */
	if ((atomic_load_explicit(&r->pending, memory_order_relaxed) & WQ_COUNT_MASK) ==
	    WQ_COUNT_MASK)
		return false;
	item->origin = r;
	/* relaxed: ordered before the completer's decrement by the queue's
	 * publication (see the top comment) */
	atomic_fetch_add_explicit(&r->pending, 1, memory_order_relaxed);
	return true;
}

static void unnote_submit(struct wq_tctx *t)
{
	/* relaxed: the item never became visible */
	atomic_fetch_sub_explicit(&t->rec->pending, 1, memory_order_relaxed);
}

static void wq_complete(void *obj, void *tctx, struct sl_work *item)
{
	struct wq_rec *r = item->origin;
	uint32_t old;

	(void)obj;
	(void)tctx;
	/* release: the item's run happens before the flush that sees the
	 * count reach zero (its acquire load) */
	old = atomic_fetch_sub_explicit(&r->pending, 1, memory_order_release);
	if ((old & WQ_COUNT_MASK) == 1 && (old & WQ_WAITER))
		sl_futex_wake(&r->pending, 1);
}

static bool wq_flush(void *obj, void *tctx)
{
	struct wq_rec *r = ((struct wq_tctx *)tctx)->rec;
	unsigned polls = 0;

	(void)obj;
	for (;;) {
		/* acquire: pairs with complete's release decrements */
		uint32_t v = atomic_load_explicit(&r->pending, memory_order_acquire);

		if ((v & WQ_COUNT_MASK) == 0) {
			if (v & WQ_WAITER)
				atomic_fetch_and_explicit(&r->pending, ~WQ_WAITER,
							  memory_order_relaxed);
			return true;
		}
		if (v & WQ_STOP)
			return false;
		if (polls < WQ_SPIN_POLLS) {
			polls++;
			sl_cpu_relax();
			continue;
		}
		/* relaxed: the word's modification order is the whole
		 * argument (top comment); the acquire load above orders
		 * what we read on return */
		if (!(v & WQ_WAITER) &&
		    !atomic_compare_exchange_weak_explicit(&r->pending, &v, v | WQ_WAITER,
							   memory_order_relaxed,
							   memory_order_relaxed))
			continue;
		sl_futex_wait(&r->pending, v | WQ_WAITER);
	}
}

/* --- workqueue: a list under the condvar monitor ----------------------------- */

/* Room for the embedded monitor's object (synclab's condvar: three lines). */
#define WQ_MONITOR_ROOM 512
#define WQ_Q_WORK 0 /* the monitor's condition queue workers wait on */

struct wq_locked {
	alignas(SL_SLOT_ALIGN) unsigned char monitor[WQ_MONITOR_ROOM];
	/* Under the monitor's mutex. */
	alignas(SL_SLOT_ALIGN) struct sl_work *head, *tail;
	bool stopping;
	/* Written under the mutex; idle workers poll it without. */
	_Atomic uint32_t queued;
	/* Read-mostly. */
	alignas(SL_SLOT_ALIGN) const struct sl_prim *cv;
	struct wq_recs recs;
};

static int wql_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct wq_locked *q = obj;
	const struct sl_prim *cv = sl_prim_find("condvar");
	int rc;

	if (!cv || cv->kind != SL_KIND_CONDVAR)
		return sl_err_set(err, -ENOENT, "monitor primitive 'condvar' is not registered");
	/* Its ops are called without a thread context (the monitor then
	 * counts no events). */
	if (cv->obj_size > WQ_MONITOR_ROOM)
		return sl_err_set(err, -EINVAL,
				  "monitor 'condvar' needs %zu bytes of object; %d are reserved",
				  cv->obj_size, WQ_MONITOR_ROOM);
	memset(q->monitor, 0, sizeof(q->monitor));
	if (cv->init && (rc = cv->init(q->monitor, conf, err)) < 0)
		return rc;
	q->cv = cv;
	q->head = q->tail = NULL;
	q->stopping = false;
	atomic_init(&q->queued, 0);
	rc = recs_init(&q->recs, conf->nthreads, err);
	if (rc < 0 && cv->destroy)
		cv->destroy(q->monitor);
	return rc;
}

static void wql_destroy(void *obj)
{
	struct wq_locked *q = obj;

	recs_free(&q->recs);
	if (q->cv && q->cv->destroy)
		q->cv->destroy(q->monitor);
}

static void wql_thread_init(void *obj, void *tctx)
{
	recs_claim(&((struct wq_locked *)obj)->recs, tctx);
}


static bool wql_submit(void *obj, void *tctx, struct sl_work *item)
{
	struct wq_locked *q = obj;
	void *m = q->monitor;

	if (!note_submit(tctx, item))
		return false;
	item->next = NULL;
	q->cv->cond.lock(m, NULL);
	if (q->tail)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	/* relaxed: under the mutex; the pollers only take it as a hint */
	atomic_store_explicit(&q->queued,
			      atomic_load_explicit(&q->queued, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	q->cv->cond.signal(m, NULL, WQ_Q_WORK);
	q->cv->cond.unlock(m, NULL);
	return true;
}

static struct sl_work *wql_take(void *obj, void *tctx)
{
	struct wq_locked *q = obj;
	void *m = q->monitor;
	struct sl_work *item;

	(void)tctx;
	/* relaxed: a hint; the list is read under the mutex */
	for (unsigned i = 0; i < WQ_SPIN_POLLS &&
			     atomic_load_explicit(&q->queued, memory_order_relaxed) == 0;
	     i++)
		sl_cpu_relax();
	q->cv->cond.lock(m, NULL);
	while (!q->head && !q->stopping)
		q->cv->cond.wait(m, NULL, WQ_Q_WORK);
	item = q->head;
	if (item) {
		q->head = item->next;
		if (!q->head)
			q->tail = NULL;
		atomic_store_explicit(&q->queued,
				      atomic_load_explicit(&q->queued, memory_order_relaxed) - 1,
				      memory_order_relaxed);
	}
	q->cv->cond.unlock(m, NULL);
	return item;
}

static void wql_shutdown(void *obj)
{
	struct wq_locked *q = obj;
	void *m = q->monitor;

	q->cv->cond.lock(m, NULL);
	q->stopping = true;
	q->cv->cond.broadcast(m, NULL, WQ_Q_WORK);
	q->cv->cond.unlock(m, NULL);
	recs_shutdown(&q->recs);
}

static int wql_check(void *obj, struct sl_err *err)
{
	struct wq_locked *q = obj;
	int rc = q->cv->check ? q->cv->check(q->monitor, err) : 0;

	if (rc < 0)
		return rc;
	if (q->head || atomic_load_explicit(&q->queued, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "workqueue: items still queued after the drain");
	return recs_check(&q->recs, "workqueue", err);
}

const struct sl_prim sl_prim_workqueue = {
	.name = "workqueue",
	.family = "workqueue",
	.kind = SL_KIND_WORKQUEUE,
	.summary = "worker pool over a FIFO list under the futex condvar monitor",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct wq_locked),
	.tctx_size = sizeof(struct wq_tctx),
	.init = wql_init,
	.destroy = wql_destroy,
	.thread_init = wql_thread_init,
	.thread_fini = wq_thread_fini,
	.wq = { .submit = wql_submit, .take = wql_take, .complete = wq_complete,
		.flush = wq_flush, .shutdown = wql_shutdown },
	.check = wql_check,
};

/* --- workqueue-lf: a lock-free ring and an eventcount ---------------------- */

#define WQ_RING_MIN 1024u
#define WQ_RING_PER_THREAD 64u

struct wq_slot {
	_Atomic uint64_t seq;
	_Atomic(struct sl_work *) item;
};

struct wq_lf {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t tail; /* submitters' */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t head; /* the pool's */
	alignas(SL_SLOT_ALIGN) _Atomic uint32_t wake_seq;
	_Atomic uint32_t sleepers;
	_Atomic uint32_t stopping;
	/* Read-mostly. */
	alignas(SL_SLOT_ALIGN) struct wq_slot *slots;
	uint64_t mask;
	struct wq_recs recs;
};

static int wqf_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct wq_lf *q = obj;
	uint64_t want = (uint64_t)WQ_RING_PER_THREAD * (conf->nthreads + 1);
	uint64_t n = WQ_RING_MIN;
	int rc;

	while (n < want)
		n <<= 1;
	q->slots = aligned_alloc(SL_CACHELINE, n * sizeof(*q->slots));
	if (!q->slots)
		return sl_err_set(err, -ENOMEM, "out of memory for %llu ring slots",
				  (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		atomic_init(&q->slots[i].seq, i);
		atomic_init(&q->slots[i].item, NULL);
	}
	q->mask = n - 1;
	atomic_init(&q->tail, 0);
	atomic_init(&q->head, 0);
	atomic_init(&q->wake_seq, 0);
	atomic_init(&q->sleepers, 0);
	atomic_init(&q->stopping, 0);
	rc = recs_init(&q->recs, conf->nthreads, err);
	if (rc < 0) {
		free(q->slots);
		q->slots = NULL;
	}
	return rc;
}

static void wqf_destroy(void *obj)
{
	struct wq_lf *q = obj;

	recs_free(&q->recs);
	free(q->slots);
	q->slots = NULL;
}

static void wqf_thread_init(void *obj, void *tctx)
{
	recs_claim(&((struct wq_lf *)obj)->recs, tctx);
}

static bool ring_push(struct wq_lf *q, struct sl_work *item)
{
	uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);

	for (;;) {
		struct wq_slot *s = &q->slots[pos & q->mask];
		/* acquire: pairs with the taker's release store that handed
		 * the slot to this lap */
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - pos);

		if (dif == 0) {
			/* relaxed: allocates the position; the slot's
			 * sequence carries the order */
			if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				atomic_store_explicit(&s->item, item, memory_order_relaxed);
				/* release: the item and its fields happen
				 * before the taker's acquire of seq */
				atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
				return true;
			}
		} else if (dif < 0) {
			return false; /* full */
		} else {
			pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
		}
	}
}

static struct sl_work *ring_pop(struct wq_lf *q)
{
	uint64_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);

	for (;;) {
		struct wq_slot *s = &q->slots[pos & q->mask];
		/* acquire: pairs with the submitter's release store of
		 * pos + 1 */
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - (pos + 1));

		if (dif == 0) {
			/* relaxed: as in ring_push */
			if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed)) {
				struct sl_work *item =
					atomic_load_explicit(&s->item, memory_order_relaxed);

				/* release: our read of the slot happens
				 * before the next lap's write */
				atomic_store_explicit(&s->seq, pos + q->mask + 1,
						      memory_order_release);
				return item;
			}
		} else if (dif < 0) {
			return NULL; /* empty, or its submitter is mid-publication */
		} else {
			pos = atomic_load_explicit(&q->head, memory_order_relaxed);
		}
	}
}

static bool wqf_submit(void *obj, void *tctx, struct sl_work *item)
{
	struct wq_lf *q = obj;

	if (!note_submit(tctx, item))
		return false;
	if (!ring_push(q, item)) {
		unnote_submit(tctx);
		return false;
	}
	/* seq_cst: the submitter's half of the Dekker pattern with a worker
	 * going to sleep (top comment): the publication above is ordered
	 * before the load of sleepers below */
	sl_fence_seq_cst();
	if (atomic_load_explicit(&q->sleepers, memory_order_relaxed)) {
		/* release: a worker whose key reads this bump sees the item */
		atomic_fetch_add_explicit(&q->wake_seq, 1, memory_order_release);
		sl_futex_wake(&q->wake_seq, 1);
	}
	return true;
}

static struct sl_work *wqf_take(void *obj, void *tctx)
{
	struct wq_lf *q = obj;
	unsigned polls = 0;

	(void)tctx;
	for (;;) {
		struct sl_work *item = ring_pop(q);
		uint32_t key;

		if (item)
			return item;
		/* relaxed: shutdown's bump of wake_seq carries the order
		 * where it matters (below) */
		if (atomic_load_explicit(&q->stopping, memory_order_relaxed))
			return NULL;
		if (polls < WQ_SPIN_POLLS) {
			polls++;
			sl_cpu_relax();
			continue;
		}
		/* relaxed: the fence below orders it before the second look */
		atomic_fetch_add_explicit(&q->sleepers, 1, memory_order_relaxed);
		/* acquire: pairs with the release bumps of submit and
		 * shutdown */
		key = atomic_load_explicit(&q->wake_seq, memory_order_acquire);
		/* seq_cst: the worker's half of the Dekker pattern: sleepers
		 * above is ordered before the second look below */
		sl_fence_seq_cst();
		item = ring_pop(q);
		if (!item && !atomic_load_explicit(&q->stopping, memory_order_relaxed))
			sl_futex_wait(&q->wake_seq, key);
		atomic_fetch_sub_explicit(&q->sleepers, 1, memory_order_relaxed);
		if (item)
			return item;
	}
}

static void wqf_shutdown(void *obj)
{
	struct wq_lf *q = obj;

	/* relaxed: published by the release bump below */
	atomic_store_explicit(&q->stopping, 1, memory_order_relaxed);
	/* release: a worker whose key reads this bump sees stopping */
	atomic_fetch_add_explicit(&q->wake_seq, 1, memory_order_release);
	sl_futex_wake(&q->wake_seq, INT_MAX);
	recs_shutdown(&q->recs);
}

static int wqf_check(void *obj, struct sl_err *err)
{
	struct wq_lf *q = obj;
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (head != tail)
		return sl_err_set(err, -EPROTO,
				  "workqueue-lf: %llu items still in the ring after the drain",
				  (unsigned long long)(tail - head));
	return recs_check(&q->recs, "workqueue-lf", err);
}

const struct sl_prim sl_prim_workqueue_lf = {
	.name = "workqueue-lf",
	.family = "workqueue",
	.kind = SL_KIND_WORKQUEUE,
	.summary = "worker pool over a lock-free ring; idle workers sleep on a futex eventcount",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct wq_lf),
	.tctx_size = sizeof(struct wq_tctx),
	.init = wqf_init,
	.destroy = wqf_destroy,
	.thread_init = wqf_thread_init,
	.thread_fini = wq_thread_fini,
	.wq = { .submit = wqf_submit, .take = wqf_take, .complete = wq_complete,
		.flush = wq_flush, .shutdown = wqf_shutdown },
	.check = wqf_check,
};
