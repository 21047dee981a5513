/*
 * Queues: first-in first-out, any number of producers and consumers.
 *
 * queue-ms: the Michael-Scott lock-free linked-list queue (PODC 1996).  The
 * list always holds a dummy node: head points at it, the items live in the
 * nodes after it, tail points at the last node or one behind it.  Enqueue
 * links a new node after the last one with a CAS on its next pointer, then
 * swings tail with a second CAS (which any thread that finds tail lagging
 * also attempts, so a stalled enqueuer never blocks the others).  Dequeue
 * reads the value from head's successor and swings head to it with a CAS;
 * the old dummy is retired.  Two departures from the paper, both to spare
 * a cache miss: enqueue tries its CAS on the last node's next pointer
 * without reading it first (a failure returns what is there), and dequeue
 * does not read tail on every call (see ms_untail).  Each op allocates or
 * frees one node with malloc, as urcu-wfcq and queue-mutex do, so
 * comparisons among the three measure the synchronization and not the
 * allocator.
 *
 * Memory reclamation: hazard pointers (Michael, IEEE TPDS 2004), two per
 * thread.  A thread publishes the node it is about to dereference in one of
 * its hazard slots and then re-reads the pointer it came from; if that still
 * holds the node, the node was not yet unlinked when the hazard became
 * visible, and it stays protected for as long as the slot holds it, so a
 * node still in a slot is used again without a new exchange (hp_holding).
 * An enqueuer puts its new node in a slot before linking it (a node nobody
 * can reach needs no re-read), so a lone producer finds the tail, its own
 * last node, already protected.
 * Unlinked nodes go onto the retiring thread's retire list; every R
 * retirements (R = 2H + 64, H the hazard slots in use) it scans every slot
 * and frees the nodes no slot names, so at most H nodes per thread are ever
 * kept back and the scan costs O(log H) per node.  The hazard slots live in
 * records the queue owns, kept on a push-only list; thread_init claims an
 * idle record (or adds one) and thread_fini releases it with its retire
 * list still attached, for the next owner or for destroy.  Records are not
 * in the thread context because the context may be freed as soon as
 * thread_fini returns, while a scanner on another thread may still be
 * reading its slots.
 *
 * Ordering of queue-ms:
 *  - A node's value and its null next pointer are written before the CAS
 *    that links it (release); dequeuers read next pointers with acquire.
 *    The CASes on head and tail are release and the loads of head and tail
 *    are acquire, so whoever reaches a node through them sees it complete.
 *  - Hazards are a Dekker pattern.  The reader publishes with a seq_cst
 *    exchange (one xchg on x86) and re-reads the source with a seq_cst load;
 *    the scanner unlinked each retired node before a seq_cst fence that
 *    precedes its loads of the slots.  In the single total order either the
 *    fence comes first, so the re-read sees the node gone and the reader
 *    retries, or the exchange does, so the scanner sees the hazard and keeps
 *    the node.  Weaker orders allow both to miss each other.
 *  - A slot changes only by its owner's exchange or release store; the
 *    scanner loads slots with acquire, so the owner's last use of the node
 *    a slot held happens before the free.  A new node's slot is a release
 *    store sequenced before the CAS that links the node, so it happens
 *    before the scan of whoever later unlinks and retires the node.
 *
 * ring-mpmc: a bounded array queue with a sequence number per slot (after
 * Dmitry Vyukov's bounded MPMC queue).  Capacity is --capacity rounded up to
 * a power of two, at least 2 (slot index = position & mask; with one slot the
 * "full" and "empty" sequence values would coincide).  Slot i starts with
 * sequence i.  A producer at position pos may fill the slot when its sequence
 * equals pos, claims pos with a CAS on tail, writes the value and stores
 * sequence pos + 1; a consumer at pos may empty it when the sequence is
 * pos + 1, claims pos with a CAS on head, reads the value and stores
 * pos + capacity, the value the producer one lap later waits for.  Producers
 * and consumers touch only their own index word and the slots, never each
 * other's index.  Not lock-free in the strict sense: a producer preempted
 * between its claim and its sequence store holds up the consumers of that
 * slot (they see it empty) until it runs again.
 *
 * Ordering of ring-mpmc: the sequence store that hands a slot over is a
 * release and the load that checks it an acquire, in both directions: the
 * producer's value write happens before the consumer's read, and the
 * consumer's read before the next lap's write.  The index CASes only
 * allocate positions and are relaxed.
 *
 * queue-mutex: the same unbounded list queue, head and tail under synclab's
 * futex `mutex`, called through its descriptor (lockref.h) on an object
 * embedded in the queue's own cache line: the lock-based baseline.  Nodes
 * are allocated before the lock is taken and freed after it is released.
 * Ordering: the lock's; every list access is inside it.
 *
 * None of these queues uses any item value as a marker: 0 is a valid item.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "primitives/lockref.h"
#include "primitives/prim.h"
#include "primitives/records.h"
#include "util/atomics.h"

/* --- queue-ms ------------------------------------------------------------ */

struct ms_node {
	_Atomic(struct ms_node *) next;
	uint64_t value; /* written once, before the node is linked */
};

#define HP_PER_THREAD 2
#define HP_SCAN_SLACK 64 /* R = 2H + this */

struct hp_rec {
	/* Written by the owner on every op, read by scanners. */
	alignas(SL_SLOT_ALIGN) _Atomic(void *) hp[HP_PER_THREAD];
	_Atomic int active;      /* 1 while a thread owns the record */
	struct hp_rec *next;     /* set once, before the record is published */
	/* Owned by the thread holding the record; handed over through
	 * active (release in thread_fini, acquire in thread_init). */
	bool valid[HP_PER_THREAD]; /* slot's node was validated: protected */
	void **retired;
	size_t nretired, rcap, threshold;
	void **scratch;          /* the hazards seen by a scan, sorted */
	size_t scap;
};

struct ms_queue {
	alignas(SL_SLOT_ALIGN) _Atomic(struct ms_node *) head;
	alignas(SL_SLOT_ALIGN) _Atomic(struct ms_node *) tail;
	alignas(SL_SLOT_ALIGN) _Atomic(struct hp_rec *) recs; /* push-only */
	_Atomic unsigned nrecs;
};

struct ms_tctx {
	struct hp_rec *rec;
};

static struct hp_rec *hp_rec_new(void)
{
	struct hp_rec *r = aligned_alloc(SL_SLOT_ALIGN,
					 SL_ROUND_UP(sizeof(*r), SL_SLOT_ALIGN));

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < HP_PER_THREAD; i++)
		atomic_init(&r->hp[i], NULL);
	atomic_init(&r->active, 0);
	r->rcap = 2 * HP_SCAN_SLACK;
	r->threshold = HP_SCAN_SLACK;
	r->retired = malloc(r->rcap * sizeof(*r->retired));
	if (!r->retired) {
		free(r);
		return NULL;
	}
	return r;
}

static void hp_rec_push(struct ms_queue *q, struct hp_rec *r)
{
	SL_RECORD_PUSH(&q->recs, r);
	atomic_fetch_add_explicit(&q->nrecs, 1, memory_order_relaxed);
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return (x > y) - (x < y);
}

static bool grow(void ***arr, size_t *cap, size_t want)
{
	void **n;

	if (*cap >= want)
		return true;
	n = realloc(*arr, want * sizeof(**arr));
	if (!n)
		return false;
	*arr = n;
	*cap = want;
	return true;
}

/* Free every node on r's retire list that no hazard slot names. */
static void hp_scan(struct ms_queue *q, struct hp_rec *r)
{
	size_t nh = 0, keep = 0;
	unsigned nrecs;

	/* seq_cst: every node on the list was unlinked before this fence; it
	 * orders those unlinks before the slot loads below against the
	 * readers' seq_cst exchange and re-read (see the top comment). */
	sl_fence_seq_cst();
	nrecs = atomic_load_explicit(&q->nrecs, memory_order_relaxed);
	/* Room for the records known now and a few added while we walk. */
	if (!grow(&r->scratch, &r->scap, (size_t)HP_PER_THREAD * (nrecs + 8)))
		return; /* cannot tell which are safe: keep them all */
	/* acquire: pairs with the acq_rel push of each record */
	for (struct hp_rec *o = atomic_load_explicit(&q->recs, memory_order_acquire);
	     o; o = o->next) {
		for (int i = 0; i < HP_PER_THREAD; i++) {
			/* acquire: pairs with the owner's exchange or release
			 * store that replaced an earlier hazard */
			void *p = atomic_load_explicit(&o->hp[i], memory_order_acquire);

			if (!p)
				continue;
			if (nh == r->scap)
				return; /* records appeared: keep everything */
			r->scratch[nh++] = p;
		}
	}
	qsort(r->scratch, nh, sizeof(*r->scratch), ptr_cmp);
	for (size_t k = 0; k < r->nretired; k++) {
		void *p = r->retired[k];

		if (nh && bsearch(&p, r->scratch, nh, sizeof(*r->scratch), ptr_cmp))
			r->retired[keep++] = p;
		else
			free(p);
	}
	r->nretired = keep;
	/* The next scan after R more retirements; the list must hold them. */
	r->threshold = keep + (size_t)2 * HP_PER_THREAD * nrecs + HP_SCAN_SLACK;
	if (!grow(&r->retired, &r->rcap, r->threshold))
		r->threshold = r->rcap;
}

static void hp_retire(struct ms_queue *q, struct hp_rec *r, void *p)
{
	/* Full only when the list could not grow: at most H nodes are
	 * protected at once, so a scan frees some as soon as the readers
	 * move on. */
	while (r->nretired == r->rcap) {
		hp_scan(q, r);
		if (r->nretired == r->rcap)
			sl_cpu_relax();
	}
	r->retired[r->nretired++] = p;
	if (r->nretired >= r->threshold)
		hp_scan(q, r);
}

/* Publish p in slot i: seq_cst, the reader's half of the Dekker pattern
 * with hp_scan's fence.  An exchange, not a store: one xchg on x86.  The
 * slot protects p once the caller's re-read has validated it. */
static inline void hp_set(struct hp_rec *r, int i, struct ms_node *p)
{
	r->valid[i] = false;
	(void)atomic_exchange_explicit(&r->hp[i], p, memory_order_seq_cst);
}

/*
 * Publish a node that no other thread can reach yet: it cannot have been
 * retired, so it needs no re-read.  Release (a plain store on x86) is
 * enough: the store happens before the release CAS that links the node,
 * and so before the unlinking and the scan of whoever retires it; and it
 * releases this thread's uses of the node the slot held before.
 */
static inline void hp_set_private(struct hp_rec *r, int i, struct ms_node *p)
{
	atomic_store_explicit(&r->hp[i], p, memory_order_release);
	r->valid[i] = true;
}

/*
 * The slot that already protects p, or -1.  A validated hazard keeps its
 * node from being freed for as long as the slot holds it, so a node that
 * is still in a slot needs no new exchange: after a dequeue the new head is
 * the successor it protected, and a consumer polling an empty queue finds
 * the same head each time.
 */
static inline int hp_holding(const struct hp_rec *r, const struct ms_node *p)
{
	for (int i = 0; i < HP_PER_THREAD; i++)
		/* relaxed: the owner reads back its own last write */
		if (r->valid[i] &&
		    atomic_load_explicit(&r->hp[i], memory_order_relaxed) == p)
			return i;
	return -1;
}

static void ms_free_recs(struct ms_queue *q)
{
	struct hp_rec *r = atomic_load_explicit(&q->recs, memory_order_relaxed);

	while (r) {
		struct hp_rec *next = r->next;

		for (size_t k = 0; k < r->nretired; k++)
			free(r->retired[k]);
		free(r->retired);
		free(r->scratch);
		free(r);
		r = next;
	}
	atomic_store_explicit(&q->recs, NULL, memory_order_relaxed);
}

static int ms_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct ms_queue *q = obj;
	struct ms_node *dummy = malloc(sizeof(*dummy));

	if (!dummy)
		return sl_err_set(err, -ENOMEM, "out of memory for the dummy node");
	atomic_init(&dummy->next, NULL);
	dummy->value = 0;
	atomic_init(&q->head, dummy);
	atomic_init(&q->tail, dummy);
	atomic_init(&q->recs, NULL);
	atomic_init(&q->nrecs, 0);
	/* One record per thread and one for the drain after the run, made
	 * here where a failure can be reported. */
	for (unsigned i = 0; i < conf->nthreads + 1; i++) {
		struct hp_rec *r = hp_rec_new();

		if (!r) {
			ms_free_recs(q);
			free(dummy);
			return sl_err_set(err, -ENOMEM, "out of memory for hazard-pointer records");
		}
		hp_rec_push(q, r);
	}
	return 0;
}

static void ms_destroy(void *obj)
{
	struct ms_queue *q = obj;
	struct ms_node *n = atomic_load_explicit(&q->head, memory_order_relaxed);

	while (n) {
		struct ms_node *next = atomic_load_explicit(&n->next, memory_order_relaxed);

		free(n);
		n = next;
	}
	ms_free_recs(q);
}

static void ms_thread_init(void *obj, void *tctx)
{
	struct ms_queue *q = obj;
	struct ms_tctx *t = tctx;
	struct hp_rec *r;

	/* acquire: pairs with the push of each record (records.h); the
	 * claim hands over the previous owner's retire list */
	for (r = atomic_load_explicit(&q->recs, memory_order_acquire); r; r = r->next)
		if (sl_record_claim(&r->active)) {
			t->rec = r;
			return;
		}
	/* More threads than init was told of (tests, a second drain). */
	r = hp_rec_new();
	if (!r)
		SL_BUG("queue-ms: out of memory for a hazard-pointer record");
	atomic_store_explicit(&r->active, 1, memory_order_relaxed);
	hp_rec_push(q, r);
	t->rec = r;
}

static void ms_thread_fini(void *obj, void *tctx)
{
	struct ms_queue *q = obj;
	struct ms_tctx *t = tctx;
	struct hp_rec *r = t->rec;

	for (int i = 0; i < HP_PER_THREAD; i++) {
		r->valid[i] = false;
		/* release: this thread's uses of the node happen before a
		 * scanner that reads the null frees it */
		atomic_store_explicit(&r->hp[i], NULL, memory_order_release);
	}
	hp_scan(q, r);
	/* hands the retire list to the record's next owner */
	sl_record_release(&r->active);
	t->rec = NULL;
}

/*
 * Head has just moved from h to next; tail must leave h before h is
 * retired (an enqueuer would otherwise protect and use a freed node).
 * Unlike the original algorithm, dequeue does not read tail on every call
 * (a line every enqueue writes): if next already has a successor, the
 * enqueuer that linked it saw tail at next, and tail never moves back.
 * Only when next is last may tail still be h; then swing it, as an
 * enqueuer would.  Head may so be one node past tail for a moment; an
 * enqueuer that finds tail there sees its next set and helps it on.
 */
static inline void ms_untail(struct ms_queue *q, struct ms_node *h,
			     struct ms_node *next)
{
	/* acquire: pairs with the release CAS that linked next's successor
	 * (and so with the tail swing that enqueuer saw) */
	if (atomic_load_explicit(&next->next, memory_order_acquire))
		return;
	/* relaxed: only compared; the CAS below carries the order */
	if (atomic_load_explicit(&q->tail, memory_order_relaxed) == h)
		atomic_compare_exchange_strong_explicit(&q->tail, &h, next,
							memory_order_release,
							memory_order_relaxed);
}

/*
 * The new node goes into one hazard slot before it is linked, so that once
 * it is the tail the next enqueue of this thread finds it protected: a lone
 * producer never exchanges a hazard.  The current tail goes into the other.
 */
static bool ms_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct ms_queue *q = obj;
	struct hp_rec *r = ((struct ms_tctx *)tctx)->rec;
	struct ms_node *node = malloc(sizeof(*node));
	/* acquire: pairs with the release CASes on tail */
	struct ms_node *t = atomic_load_explicit(&q->tail, memory_order_acquire);
	int ts = hp_holding(r, t), ns = ts == 0 ? 1 : 0;

	if (!node)
		return false; /* "full" until memory is back */
	atomic_init(&node->next, NULL);
	node->value = item;
	hp_set_private(r, ns, node);
	for (;;) {
		struct ms_node *next = NULL;

		if (ts < 0) {
			hp_set(r, 1 - ns, t);
			/* seq_cst: the re-read half of the hazard protocol */
			if (atomic_load_explicit(&q->tail, memory_order_seq_cst) != t) {
				t = atomic_load_explicit(&q->tail, memory_order_acquire);
				continue;
			}
			r->valid[1 - ns] = true;
		}
		/* CAS without reading next first: reading would fetch the line
		 * shared and the CAS fetch it again for writing.
		 * release: publishes node's value and null next;
		 * acquire on failure: pairs with the CAS that linked next */
		if (atomic_compare_exchange_strong_explicit(&t->next, &next, node,
							    memory_order_release,
							    memory_order_acquire)) {
			/* release: so does reaching node through tail; a
			 * failure means another thread already swung it */
			atomic_compare_exchange_strong_explicit(&q->tail, &t, node,
								memory_order_release,
								memory_order_relaxed);
			return true;
		}
		/* tail lags: help the enqueuer that linked next */
		atomic_compare_exchange_strong_explicit(&q->tail, &t, next,
							memory_order_release,
							memory_order_relaxed);
		/* acquire: pairs with the release CASes on tail */
		t = atomic_load_explicit(&q->tail, memory_order_acquire);
		ts = hp_holding(r, t);
	}
}

static bool ms_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct ms_queue *q = obj;
	struct hp_rec *r = ((struct ms_tctx *)tctx)->rec;

	for (;;) {
		/* acquire: pairs with the release CAS on head */
		struct ms_node *h = atomic_load_explicit(&q->head, memory_order_acquire);
		struct ms_node *next;
		uint64_t value;
		int hs = hp_holding(r, h);

		if (hs < 0) {
			hs = 0;
			hp_set(r, hs, h);
			/* seq_cst: the re-read half of the hazard protocol */
			if (atomic_load_explicit(&q->head, memory_order_seq_cst) != h)
				continue;
			r->valid[hs] = true;
		}
		/* acquire: pairs with the release CAS that linked next */
		next = atomic_load_explicit(&h->next, memory_order_acquire);
		if (!next)
			/* h was head when read and next pointers never go
			 * back to null: the queue was empty then */
			return false;
		hp_set(r, 1 - hs, next);
		/* seq_cst: the re-read; while h is head, next is its
		 * successor and still linked */
		if (atomic_load_explicit(&q->head, memory_order_seq_cst) != h)
			continue;
		r->valid[1 - hs] = true;
		value = next->value;
		/* release: the successor, seen complete through our acquire of
		 * h->next, is handed to whoever reads head next */
		if (atomic_compare_exchange_strong_explicit(&q->head, &h, next,
							    memory_order_release,
							    memory_order_relaxed)) {
			ms_untail(q, h, next);
			*item = value;
			hp_retire(q, r, h);
			return true;
		}
	}
}

/* After the run: tail is reachable from head and is the last node (every
 * enqueue finished, and each ends by swinging tail or seeing it swung). */
static int ms_check(void *obj, struct sl_err *err)
{
	struct ms_queue *q = obj;
	struct ms_node *h = atomic_load_explicit(&q->head, memory_order_relaxed);
	struct ms_node *t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t n = 0;

	for (struct ms_node *p = h; p != t; p = atomic_load_explicit(&p->next, memory_order_relaxed), n++)
		if (!p)
			return sl_err_set(err, -EPROTO,
					  "queue-ms: tail is not reachable from head (list ends after %" PRIu64 " nodes)",
					  n);
	if (atomic_load_explicit(&t->next, memory_order_relaxed))
		return sl_err_set(err, -EPROTO,
				  "queue-ms: tail lags behind the last node after every thread stopped");
	return 0;
}

const struct sl_prim sl_prim_queue_ms = {
	.name = "queue-ms",
	.family = "queue",
	.kind = SL_KIND_QUEUE,
	.summary = "Michael-Scott lock-free list queue, hazard-pointer reclamation",
	.obj_size = sizeof(struct ms_queue),
	.tctx_size = sizeof(struct ms_tctx),
	.init = ms_init,
	.destroy = ms_destroy,
	.thread_init = ms_thread_init,
	.thread_fini = ms_thread_fini,
	.queue = { .enqueue = ms_enqueue, .dequeue = ms_dequeue },
	.check = ms_check,
};

/* --- ring-mpmc ----------------------------------------------------------- */

struct ring_slot {
	_Atomic uint64_t seq;
	uint64_t value; /* handed over by seq */
};

struct ring {
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t tail; /* next position to fill */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t head; /* next position to empty */
	alignas(SL_SLOT_ALIGN) struct ring_slot *slot; /* read-only after init */
	uint64_t mask;
};

#define RING_MAX_CAPACITY (1u << 30)

static int ring_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	struct ring *q = obj;
	uint64_t cap = 2;

	if (conf->capacity == 0 || conf->capacity > RING_MAX_CAPACITY)
		return sl_err_set(err, -EINVAL,
				  "ring-mpmc: capacity '%u' is out of range (accepted: 1..%u)",
				  conf->capacity, RING_MAX_CAPACITY);
	while (cap < conf->capacity)
		cap <<= 1;
	q->slot = aligned_alloc(SL_SLOT_ALIGN,
				SL_ROUND_UP(cap * sizeof(*q->slot), SL_SLOT_ALIGN));
	if (!q->slot)
		return sl_err_set(err, -ENOMEM, "ring-mpmc: out of memory for %" PRIu64 " slots", cap);
	for (uint64_t i = 0; i < cap; i++) {
		atomic_init(&q->slot[i].seq, i);
		q->slot[i].value = 0;
	}
	q->mask = cap - 1;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	return 0;
}

static void ring_destroy(void *obj)
{
	struct ring *q = obj;

	free(q->slot);
	q->slot = NULL;
}

static bool ring_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct ring *q = obj;
	uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
	struct ring_slot *s;

	(void)tctx;
	for (;;) {
		int64_t diff;

		s = &q->slot[pos & q->mask];
		/* acquire: pairs with the consumer's release of this slot */
		diff = (int64_t)(atomic_load_explicit(&s->seq, memory_order_acquire) - pos);
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&q->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			return false; /* the slot a lap behind is still full */
		} else {
			pos = atomic_load_explicit(&q->tail, memory_order_relaxed);
		}
	}
	s->value = item;
	/* release: hands the value to the consumer of pos */
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	return true;
}

static bool ring_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct ring *q = obj;
	uint64_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);
	struct ring_slot *s;

	(void)tctx;
	for (;;) {
		int64_t diff;

		s = &q->slot[pos & q->mask];
		/* acquire: pairs with the producer's release of this slot */
		diff = (int64_t)(atomic_load_explicit(&s->seq, memory_order_acquire) - (pos + 1));
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&q->head, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			return false; /* not filled yet: empty, or its producer
				       * has not finished */
		} else {
			pos = atomic_load_explicit(&q->head, memory_order_relaxed);
		}
	}
	*item = s->value;
	/* release: our read of the value happens before the next lap's write */
	atomic_store_explicit(&s->seq, pos + q->mask + 1, memory_order_release);
	return true;
}

/* After the run: every position in [head, tail) holds an item and every
 * other slot waits for its next producer. */
static int ring_check(void *obj, struct sl_err *err)
{
	struct ring *q = obj;
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t cap = q->mask + 1;

	if (tail - head > cap)
		return sl_err_set(err, -EPROTO,
				  "ring-mpmc: %" PRIu64 " items in a ring of %" PRIu64 " slots (head %" PRIu64 ", tail %" PRIu64 ")",
				  tail - head, cap, head, tail);
	for (uint64_t pos = head; pos != head + cap; pos++) {
		uint64_t want = pos - head < tail - head ? pos + 1 : pos;
		uint64_t seq = atomic_load_explicit(&q->slot[pos & q->mask].seq,
						    memory_order_relaxed);

		if (seq != want)
			return sl_err_set(err, -EPROTO,
					  "ring-mpmc: slot %" PRIu64 " has sequence %" PRIu64 ", expected %" PRIu64,
					  pos & q->mask, seq, want);
	}
	return 0;
}

const struct sl_prim sl_prim_ring_mpmc = {
	.name = "ring-mpmc",
	.family = "queue",
	.kind = SL_KIND_QUEUE,
	.summary = "bounded MPMC ring, a sequence number per slot; capacity rounded up to a power of two",
	.obj_size = sizeof(struct ring),
	.init = ring_init,
	.destroy = ring_destroy,
	.queue = { .enqueue = ring_enqueue, .dequeue = ring_dequeue },
	.check = ring_check,
};

/* --- queue-mutex --------------------------------------------------------- */

struct mq_node {
	struct mq_node *next;
	uint64_t value;
};

#define MQ_LOCK_ROOM 40
#define MQ_LOCK_TCTX_ROOM 64

/* The lock word, the lock's descriptor and both ends share one line: every
 * op takes the lock and then touches them all. */
struct mutex_queue {
	alignas(SL_SLOT_ALIGN) unsigned char lock_obj[MQ_LOCK_ROOM];
	const struct sl_prim *lock;
	struct mq_node *head, *tail; /* NULL, NULL when empty */
};

struct mq_tctx {
	alignas(SL_SLOT_ALIGN) unsigned char lock_tctx[MQ_LOCK_TCTX_ROOM];
};

static int mq_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct mutex_queue *q = obj;

	q->head = q->tail = NULL;
	return sl_lockref_init(&q->lock, "mutex", q->lock_obj, MQ_LOCK_ROOM,
			       MQ_LOCK_TCTX_ROOM, conf, err);
}

static void mq_destroy(void *obj)
{
	struct mutex_queue *q = obj;

	for (struct mq_node *n = q->head, *next; n; n = next) {
		next = n->next;
		free(n);
	}
	q->head = q->tail = NULL;
	sl_lockref_destroy(q->lock, q->lock_obj);
}

static void mq_thread_init(void *obj, void *tctx)
{
	struct mutex_queue *q = obj;

	sl_lockref_thread_init(q->lock, q->lock_obj, tctx);
}

static void mq_thread_fini(void *obj, void *tctx)
{
	struct mutex_queue *q = obj;

	sl_lockref_thread_fini(q->lock, q->lock_obj, tctx);
}

static bool mq_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct mutex_queue *q = obj;
	struct mq_node *n = malloc(sizeof(*n));

	if (!n)
		return false;
	n->next = NULL;
	n->value = item;
	q->lock->lock.lock(q->lock_obj, tctx);
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->lock->lock.unlock(q->lock_obj, tctx);
	return true;
}

static bool mq_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct mutex_queue *q = obj;
	struct mq_node *n;

	q->lock->lock.lock(q->lock_obj, tctx);
	n = q->head;
	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
	}
	q->lock->lock.unlock(q->lock_obj, tctx);
	if (!n)
		return false;
	*item = n->value;
	free(n);
	return true;
}

static int mq_check(void *obj, struct sl_err *err)
{
	struct mutex_queue *q = obj;
	struct mq_node *last = NULL;

	for (struct mq_node *n = q->head; n; n = n->next)
		last = n;
	if (last != q->tail)
		return sl_err_set(err, -EPROTO, "queue-mutex: tail is not the last node");
	return sl_lockref_check(q->lock, q->lock_obj, err);
}

const struct sl_prim sl_prim_queue_mutex = {
	.name = "queue-mutex",
	.family = "queue",
	.kind = SL_KIND_QUEUE,
	.summary = "unbounded list queue under synclab's futex mutex (the lock-based baseline)",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct mutex_queue),
	.tctx_size = sizeof(struct mq_tctx),
	.init = mq_init,
	.destroy = mq_destroy,
	.thread_init = mq_thread_init,
	.thread_fini = mq_thread_fini,
	.queue = { .enqueue = mq_enqueue, .dequeue = mq_dequeue },
	.check = mq_check,
};
