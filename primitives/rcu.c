/*
 * synclab's own userspace RCU, in two flavours (the epoch one in two
 * variants): rcu-qsbr, rcu-epoch and rcu-epoch-fence.
 *
 * rcu-qsbr (quiescent-state based): read_lock and read_unlock are compiler
 * barriers and nothing else.  A thread announces a quiescent state -- a point
 * where it holds no reference to shared records -- by copying the global
 * grace-period counter into its own slot; the slot is 0 while the thread is
 * offline (inside synchronize, after thread_fini).  synchronize advances the
 * counter and waits until every registered thread's slot holds the new value
 * or 0.
 *
 * rcu-epoch, rcu-epoch-fence: read_lock publishes the current global epoch
 * in the reader's own slot and read_unlock clears it; synchronize advances
 * the epoch and waits until no slot holds an older one.  The epoch is 64
 * bits and only grows, so one advance and one scan make a grace period: a
 * non-zero slot below the new epoch is a section that may predate the
 * update, one at or above it began after it.  (liburcu's memb flavour packs a one-bit phase
 * with a nesting count into its counter and so must flip the phase twice.)
 *
 * A reader writes only its own slot, in its padded per-thread context.
 * thread_init links the context into the object's registry under obj->lock
 * and thread_fini unlinks it.  synchronize holds that lock for the whole
 * grace period: it serialises updaters, and a thread registers, unregisters
 * or comes back online only between two grace periods.  A thread goes
 * offline (slot 0) before it takes the lock, so a grace period in progress
 * never waits for a thread that is waiting for the lock.
 *
 * Memory ordering.  Every store to a slot that ends read-side sections (read
 * _unlock, a quiescent state, going offline) is a release; the grace period
 * reads each slot with an acquire, so everything the reader did in those
 * sections happens before what the updater does after synchronize (poison
 * and free the old record).  advance() stores the new counter with release
 * and readers load it with acquire: a reader that sees the new value also
 * sees every pointer published before the grace period began, so it holds
 * no old record.
 *   qsbr needs nothing more and no fence anywhere: a slot still holding an
 * old value is waited for, and it only takes the new value after its owner
 * loaded it (acquire, above).  The one dangerous transition, offline to
 * online, happens under obj->lock, which the next grace period takes before
 * it reads the slot.
 *   epoch needs store->load ordering in read_lock: the slot store must be
 * visible before the section loads the shared pointer, or a grace period can
 * read the slot as 0 while the reader goes on to load the pointer it is
 * about to free (the store-buffering pattern).  One side must fence, and
 * the two epoch primitives choose differently:
 *   rcu-epoch registers MEMBARRIER_CMD_PRIVATE_EXPEDITED at init and then
 *   issues it in synchronize, which makes every running thread of the
 *   process execute a full barrier, so read_lock needs only a compiler
 *   barrier (liburcu's memb design; without the syscall it falls back to
 *   the fence);
 *   rcu-epoch-fence issues a seq_cst fence in read_lock that pairs with the
 *   one in synchronize (liburcu's mb design).
 * Measured on the 2-core KVM development machine (AMD EPYC): one membarrier
 * costs the updater about 10 us while the other CPU runs a reader (an IPI
 * into a busy vCPU; 0.4 us when nothing else runs), so an rcu-epoch grace
 * period takes about 11 us against 0.5 us for rcu-epoch-fence; the fence
 * (GCC emits `lock or` to the stack) costs a read well under 5% there.  So
 * with 100% reads the two tie, and with 1% updates at 2 threads the fence
 * variant is ahead by a few percent.  Where a fence is dear (mfence-class
 * CPUs, weakly ordered ones) and updates rare, rcu-epoch wins.
 *
 * Deferred reclamation (call_rcu-style amortisation, no helper thread):
 * defer_free links the record into the caller's own FIFO through the
 * record's reclaim space (SL_RCU_RECLAIM_BYTES, prim.h) and, every
 * RCU_BATCH callbacks, runs one synchronize and then the whole batch on the
 * calling thread.  barrier and thread_fini do the same for what is
 * pending, so each thread runs its own callbacks and none is left after it
 * unregisters.  256 rather than 64: at 2 threads and 1% updates the larger
 * batch made rcu-epoch about 20% faster (each of its grace periods costs a
 * membarrier) and changed the others by a few percent.  A batch never
 * runs inside an epoch read-side section (that grace period would wait for
 * its own caller); it waits for the next call outside one.
 *
 * The grace-period wait (await_slot) spins first: a running reader passes a
 * quiescent state or leaves its section within one op, and a grace period
 * with the other CPU busy takes about 0.5 us here (rcu-qsbr and
 * rcu-epoch-fence; rcu-epoch adds its membarrier), with no system call on
 * either side.  A reader that is not running (more threads than CPUs) needs
 * a CPU, so after 256 polls the updater yields, and after 16 yields sleeps,
 * doubling from 10 us to 1 ms; that budget is per grace period, so once
 * one reader had to be waited out the rest are not spun on first.
 * Readers never wake the updater: a futex wake across CPUs costs tens of
 * microseconds on a VM, and it would land on the read side.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "primitives/membarrier.h"
#include "primitives/prim.h"
#include "util/atomics.h"

/* Callbacks per grace period: one synchronize for this many deferred frees
 * (see the top of the file). */
#define RCU_BATCH 256

/* The grace-period wait: polls with a pause (a running reader answers within
 * a few), then sched_yield() calls, then sleeps doubling from 10 us to 1 ms;
 * the budget is per grace period, not per reader. */
#define AWAIT_SPINS 256
#define AWAIT_YIELDS 16
#define AWAIT_SLEEP_MIN_NS 10000L
#define AWAIT_SLEEP_MAX_NS 1000000L

/* What a deferred record carries in its reclaim space while it waits. */
struct rcu_cb {
	struct rcu_cb *next;
	void (*fn)(void *);
};
_Static_assert(sizeof(struct rcu_cb) <= SL_RCU_RECLAIM_BYTES,
	       "the callback link must fit the reclaim space");

/* The per-thread context. */
struct rcu_thread {
	/* The only word another thread reads.  qsbr: the grace-period counter
	 * at this thread's last quiescent state, 0 offline.  epoch: the epoch
	 * its current section began in, 0 outside any. */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t ctr;
	/* Private to the thread. */
	unsigned nest;          /* epoch: read-side nesting depth */
	unsigned npending;
	struct rcu_cb *head, **tail; /* pending callbacks, oldest first */
	uint64_t deferred, ran;
	/* Registry links: written and read under obj->lock only. */
	alignas(SL_CACHELINE) struct rcu_thread *next, *prev;
};

struct rcu_obj {
	/* Read by every reader on every op, written once per grace period. */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t gp;
	bool membarrier; /* epoch: synchronize fences for the readers */
	/* Updaters only: the registry and the grace periods. */
	alignas(SL_SLOT_ALIGN) pthread_mutex_t lock;
	struct rcu_thread *threads;
	unsigned nthreads;
	unsigned left_inside;   /* threads that ended inside a section */
	uint64_t deferred, ran; /* callbacks, added up at thread_fini */
};

static int rcu_init_common(struct rcu_obj *o, struct sl_err *err)
{
	int rc;

	memset(o, 0, sizeof(*o));
	/* 0 means offline / outside a section, so counting starts at 1. */
	atomic_init(&o->gp, 1);
	rc = pthread_mutex_init(&o->lock, NULL);
	if (rc)
		return sl_err_set(err, -rc, "pthread_mutex_init: %s", strerror(rc));
	return 0;
}

static int qsbr_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	(void)conf;
	return rcu_init_common(obj, err);
}

static int epoch_init(void *obj, const struct sl_prim_conf *conf,
		      struct sl_err *err)
{
	struct rcu_obj *o = obj;
	int rc = rcu_init_common(o, err);

	(void)conf;
	if (rc == 0)
		o->membarrier = sl_membarrier_ready();
	return rc;
}

/* rcu-epoch-fence: the same epochs, the fence always on the read side. */
static int epoch_fence_init(void *obj, const struct sl_prim_conf *conf,
			    struct sl_err *err)
{
	(void)conf;
	return rcu_init_common(obj, err);
}

static void rcu_destroy(void *obj)
{
	struct rcu_obj *o = obj;

	pthread_mutex_destroy(&o->lock);
}

/* Start a grace period, with obj->lock held; returns the new counter. */
static uint64_t advance(struct rcu_obj *o)
{
	/* Only grace periods write gp, under the lock: a relaxed load suffices. */
	uint64_t g = atomic_load_explicit(&o->gp, memory_order_relaxed) + 1;

	/* release: pairs with the acquire loads in qsbr_quiescent and
	 * epoch_read_lock: a reader that sees g also sees every pointer
	 * published before this grace period began. */
	atomic_store_explicit(&o->gp, g, memory_order_release);
	return g;
}

/* How far one grace period's wait has escalated; shared by every slot it
 * scans, so that once a reader had to be waited out (not running: more
 * threads than CPUs) the others are not spun on first. */
struct await_state {
	unsigned step;
	long sleep_ns;
};

/* Wait until a slot is 0 or at least g (see the top of the file). */
static void await_slot(const _Atomic uint64_t *ctr, uint64_t g,
		       struct await_state *w)
{
	for (;;) {
		/* acquire: pairs with the release stores that end sections
		 * (epoch_read_unlock, qsbr_quiescent, going offline, and
		 * epoch_read_lock's store of a newer epoch): the reader's
		 * finished sections happen before what the caller frees. */
		uint64_t c = atomic_load_explicit(ctr, memory_order_acquire);

		if (c == 0 || c >= g)
			return;
		if (w->step < AWAIT_SPINS) {
			sl_cpu_relax();
		} else if (w->step < AWAIT_SPINS + AWAIT_YIELDS) {
			sched_yield();
		} else {
			struct timespec ts = { 0, w->sleep_ns };

			nanosleep(&ts, NULL);
			if (w->sleep_ns < AWAIT_SLEEP_MAX_NS)
				w->sleep_ns *= 2;
		}
		if (w->step < AWAIT_SPINS + AWAIT_YIELDS)
			w->step++;
	}
}

static void await_all(struct rcu_obj *o, uint64_t g)
{
	struct await_state w = { 0, AWAIT_SLEEP_MIN_NS };

	for (struct rcu_thread *t = o->threads; t; t = t->next)
		await_slot(&t->ctr, g, &w);
}

/* --- qsbr ---------------------------------------------------------------- */

static void qsbr_read_lock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	/* The whole read side: keep the section's loads below this line. */
	atomic_signal_fence(memory_order_seq_cst);
}

static void qsbr_read_unlock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
	atomic_signal_fence(memory_order_seq_cst);
}

static void qsbr_quiescent(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	struct rcu_thread *t = tctx;
	/* acquire: pairs with the release store in advance(): the sections
	 * after this point see what was published before that grace period. */
	uint64_t g = atomic_load_explicit(&o->gp, memory_order_acquire);

	/* Only this thread writes its slot; nothing new to announce is the
	 * common case and costs one load of a read-mostly line. */
	if (g == atomic_load_explicit(&t->ctr, memory_order_relaxed))
		return;
	/* release: pairs with the acquire in await_slot: the sections this
	 * thread finished happen before the updater's free. */
	atomic_store_explicit(&t->ctr, g, memory_order_release);
}

static void qsbr_synchronize(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	struct rcu_thread *self = tctx;
	uint64_t g;

	/* Offline before taking the lock, so that a grace period in progress
	 * does not wait for us while we wait for it.  release: pairs with the
	 * acquire in await_slot, ending our sections so far. */
	atomic_store_explicit(&self->ctr, 0, memory_order_release);
	pthread_mutex_lock(&o->lock);
	g = advance(o);
	await_all(o, g);
	/* Online again while still holding the lock: the next grace period
	 * takes the lock before it reads this slot, so it cannot miss the
	 * store and free a record our next section loads.  A relaxed store:
	 * the lock orders it, and there was no section to end. */
	atomic_store_explicit(&self->ctr, g, memory_order_relaxed);
	pthread_mutex_unlock(&o->lock);
}

static void qsbr_thread_init(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	struct rcu_thread *t = tctx;

	memset(t, 0, sizeof(*t));
	t->tail = &t->head;
	pthread_mutex_lock(&o->lock);
	/* Online from the start, under the lock (see qsbr_synchronize). */
	atomic_store_explicit(&t->ctr,
			      atomic_load_explicit(&o->gp, memory_order_relaxed),
			      memory_order_relaxed);
	t->next = o->threads;
	if (o->threads)
		o->threads->prev = t;
	o->threads = t;
	o->nthreads++;
	pthread_mutex_unlock(&o->lock);
}

/* --- epoch --------------------------------------------------------------- */

static void epoch_read_lock(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	struct rcu_thread *t = tctx;
	uint64_t e;

	if (t->nest++)
		return;
	/* acquire: pairs with the release store in advance(): a section that
	 * starts in the newest epoch sees what was published before it. */
	e = atomic_load_explicit(&o->gp, memory_order_acquire);
	/* release: ends this thread's earlier sections for a grace period
	 * that reads this store instead of read_unlock's 0 (await_slot). */
	atomic_store_explicit(&t->ctr, e, memory_order_release);
	if (o->membarrier)
		atomic_signal_fence(memory_order_seq_cst);
	else
		/* seq_cst: store->load ordering, the slot before the section's
		 * loads; pairs with the fence in epoch_synchronize. */
		sl_fence_seq_cst();
}

static void epoch_read_unlock(void *obj, void *tctx)
{
	struct rcu_thread *t = tctx;

	(void)obj;
	if (--t->nest)
		return;
	/* release: pairs with the acquire in await_slot: the section's loads
	 * happen before the updater's free. */
	atomic_store_explicit(&t->ctr, 0, memory_order_release);
}

static void epoch_synchronize(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	uint64_t g;

	(void)tctx;
	pthread_mutex_lock(&o->lock);
	g = advance(o);
	/* The updater's side of read_lock's store->load ordering: the new
	 * pointer and epoch are visible before we read any slot. */
	if (o->membarrier) {
		if (sl_membarrier() != 0)
			SL_BUG("membarrier failed after registering: %s",
			       strerror(errno));
	} else {
		/* seq_cst: pairs with the fence in epoch_read_lock. */
		sl_fence_seq_cst();
	}
	await_all(o, g);
	pthread_mutex_unlock(&o->lock);
}

static void epoch_thread_init(void *obj, void *tctx)
{
	struct rcu_obj *o = obj;
	struct rcu_thread *t = tctx;

	memset(t, 0, sizeof(*t));
	atomic_init(&t->ctr, 0);
	t->tail = &t->head;
	pthread_mutex_lock(&o->lock);
	t->next = o->threads;
	if (o->threads)
		o->threads->prev = t;
	o->threads = t;
	o->nthreads++;
	pthread_mutex_unlock(&o->lock);
}

/* --- deferred reclamation, registry exit, check ------------------------- */

typedef void (*sync_fn)(void *obj, void *tctx);

/* One grace period, then every callback pending on this thread. */
static void run_pending(struct rcu_obj *o, struct rcu_thread *t, sync_fn sync)
{
	struct rcu_cb *cb = t->head;

	if (!cb || t->nest)
		return;
	/* Detach first: a callback may defer again. */
	t->head = NULL;
	t->tail = &t->head;
	t->npending = 0;
	sync(o, t);
	while (cb) {
		struct rcu_cb *next = cb->next;

		cb->fn(cb);
		t->ran++;
		cb = next;
	}
}

static inline void defer(struct rcu_obj *o, struct rcu_thread *t,
			 void (*fn)(void *), void *ptr, sync_fn sync)
{
	struct rcu_cb *cb = ptr;

	cb->next = NULL;
	cb->fn = fn;
	*t->tail = cb;
	t->tail = &cb->next;
	t->deferred++;
	if (++t->npending >= RCU_BATCH)
		run_pending(o, t, sync);
}

static void qsbr_defer_free(void *obj, void *tctx, void (*fn)(void *),
			    void *ptr)
{
	defer(obj, tctx, fn, ptr, qsbr_synchronize);
}

static void epoch_defer_free(void *obj, void *tctx, void (*fn)(void *),
			     void *ptr)
{
	defer(obj, tctx, fn, ptr, epoch_synchronize);
}

static void qsbr_barrier(void *obj, void *tctx)
{
	run_pending(obj, tctx, qsbr_synchronize);
}

static void epoch_barrier(void *obj, void *tctx)
{
	run_pending(obj, tctx, epoch_synchronize);
}

static void thread_exit(struct rcu_obj *o, struct rcu_thread *t, sync_fn sync)
{
	bool inside = t->nest != 0;

	if (inside) {
		/* A bug in the caller, reported by check; a thread that is gone
		 * must not hold up grace periods forever. */
		t->nest = 0;
		atomic_store_explicit(&t->ctr, 0, memory_order_release);
	}
	run_pending(o, t, sync);
	/* Offline before taking the lock, as in qsbr_synchronize.  release:
	 * pairs with the acquire in await_slot. */
	atomic_store_explicit(&t->ctr, 0, memory_order_release);
	pthread_mutex_lock(&o->lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		o->threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = t->prev = NULL;
	o->nthreads--;
	o->left_inside += inside;
	o->deferred += t->deferred;
	o->ran += t->ran;
	pthread_mutex_unlock(&o->lock);
}

static void qsbr_thread_fini(void *obj, void *tctx)
{
	thread_exit(obj, tctx, qsbr_synchronize);
}

static void epoch_thread_fini(void *obj, void *tctx)
{
	thread_exit(obj, tctx, epoch_synchronize);
}

static int rcu_check(void *obj, struct sl_err *err)
{
	struct rcu_obj *o = obj;
	int rc = 0;

	pthread_mutex_lock(&o->lock);
	if (o->nthreads)
		rc = sl_err_set(err, -EPROTO,
				"%u threads are still registered with the RCU after the run",
				o->nthreads);
	else if (o->left_inside)
		rc = sl_err_set(err, -EPROTO,
				"%u threads ended inside an RCU read-side section",
				o->left_inside);
	else if (o->ran != o->deferred)
		rc = sl_err_set(err, -EPROTO,
				"%" PRIu64 " of %" PRIu64 " deferred callbacks never ran",
				o->deferred - o->ran, o->deferred);
	pthread_mutex_unlock(&o->lock);
	return rc;
}

const struct sl_prim sl_prim_rcu_qsbr = {
	.name = "rcu-qsbr",
	.family = "rcu",
	.kind = SL_KIND_RCU,
	.summary = "quiescent-state RCU: empty read side, readers announce quiescent states",
	.obj_size = sizeof(struct rcu_obj),
	.tctx_size = sizeof(struct rcu_thread),
	.init = qsbr_init,
	.destroy = rcu_destroy,
	.thread_init = qsbr_thread_init,
	.thread_fini = qsbr_thread_fini,
	.rcu = {
		.read_lock = qsbr_read_lock,
		.read_unlock = qsbr_read_unlock,
		.synchronize = qsbr_synchronize,
		.defer_free = qsbr_defer_free,
		.quiescent = qsbr_quiescent,
		.barrier = qsbr_barrier,
	},
	.check = rcu_check,
};

const struct sl_prim sl_prim_rcu_epoch = {
	.name = "rcu-epoch",
	.family = "rcu",
	.kind = SL_KIND_RCU,
	.summary = "epoch RCU: readers publish the epoch in their own slot (membarrier, else a fence)",
	.obj_size = sizeof(struct rcu_obj),
	.tctx_size = sizeof(struct rcu_thread),
	.init = epoch_init,
	.destroy = rcu_destroy,
	.thread_init = epoch_thread_init,
	.thread_fini = epoch_thread_fini,
	.rcu = {
		.read_lock = epoch_read_lock,
		.read_unlock = epoch_read_unlock,
		.synchronize = epoch_synchronize,
		.defer_free = epoch_defer_free,
		.barrier = epoch_barrier,
	},
	.check = rcu_check,
};

const struct sl_prim sl_prim_rcu_epoch_fence = {
	.name = "rcu-epoch-fence",
	.family = "rcu",
	.kind = SL_KIND_RCU,
	.summary = "epoch RCU with a seq_cst fence in read_lock: no system call per grace period",
	.obj_size = sizeof(struct rcu_obj),
	.tctx_size = sizeof(struct rcu_thread),
	.init = epoch_fence_init,
	.destroy = rcu_destroy,
	.thread_init = epoch_thread_init,
	.thread_fini = epoch_thread_fini,
	.rcu = {
		.read_lock = epoch_read_lock,
		.read_unlock = epoch_read_unlock,
		.synchronize = epoch_synchronize,
		.defer_free = epoch_defer_free,
		.barrier = epoch_barrier,
	},
	.check = rcu_check,
};
