/*
 * A primitive is one const descriptor: its name, kind, a one-line summary,
 * the size of its shared object and of its per-thread context, and the ops of
 * its kind.  Workload shapes (workloads/) drive the ops; the runner owns
 * threads, pinning, timing and counters.  No primitive has a thread loop.
 *
 * Every op takes the shared object and the calling thread's context, so that
 * queue locks (an MCS node), RCU readers (registration state) and backoff
 * state all fit one signature.  The runner allocates one context per
 * (thread, instance), zeroed and aligned to SL_SLOT_ALIGN, calls
 * thread_init on it from the thread that will use it, and thread_fini when
 * the thread is done.
 *
 * Adding a primitive:
 *   1. write primitives/<family>.c with a
 *      `const struct sl_prim sl_prim_<c_name> = { ... };` designated
 *      initialiser (name in kebab-case, C name in snake_case);
 *   2. add SL_PRIM(<c_name>) to primitives/registry.def, in listing order;
 *   3. document it in man/synclab.1 under PRIMITIVES (a test checks this);
 *   4. state its memory-ordering argument in the file: which release each
 *      acquire pairs with.
 * The per-primitive tests (tests/unit/test_prims.c) loop over the registry,
 * so a new primitive is tested without new test code.
 */
#ifndef SL_PRIMITIVES_PRIM_H
#define SL_PRIMITIVES_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

enum sl_prim_kind {
	SL_KIND_LOCK,    /* mutual exclusion: lock / unlock / trylock */
	SL_KIND_RWLOCK,  /* reader and writer sides */
	SL_KIND_RCU,     /* read-side sections, grace periods, deferred free */
	SL_KIND_QUEUE,   /* enqueue / dequeue, producer and consumer roles */
	SL_KIND_BARRIER, /* phases: every thread waits for all the others */
	SL_KIND_SEM,     /* counting semaphore: wait / post over K permits */
	SL_KIND_CONDVAR, /* a monitor: a mutex and condition queues */
	SL_KIND_LAB,     /* one step of a lab experiment (synclab demo) */
	SL_KIND_WORKQUEUE, /* deferred work: submitters and a pool of workers */
	SL_KIND_COUNT_
};

/* Properties a primitive advertises; workloads and reports read them. */
enum sl_prim_flags {
	SL_PRIM_FIFO = 1 << 0,         /* waiters are served in arrival order */
	SL_PRIM_SLEEPS = 1 << 1,       /* waiters may block in the kernel */
	SL_PRIM_NO_EXCLUSION = 1 << 2, /* gives no mutual exclusion (null) */
	SL_PRIM_HIDDEN = 1 << 3,       /* listed only with --all (broken demos) */
	SL_PRIM_BASELINE = 1 << 4,     /* another library's implementation */
	SL_PRIM_LIFO = 1 << 5,         /* queue kind served last-in first-out
					* (a stack): no per-producer order */
};

/* What a workload tells the primitive at init time. */
struct sl_prim_conf {
	unsigned nthreads; /* threads that will use this instance */
	unsigned capacity; /* bounded queues: slots; 0 when not applicable */
	unsigned permits;  /* semaphores: the initial count K */
	long lab_arg;      /* lab experiments: their own parameter */
};

struct sl_lock_ops {
	void (*lock)(void *obj, void *tctx);
	void (*unlock)(void *obj, void *tctx);
	bool (*trylock)(void *obj, void *tctx); /* NULL: has none */
};

struct sl_rw_ops {
	void (*read_lock)(void *obj, void *tctx);
	void (*read_unlock)(void *obj, void *tctx);
	void (*write_lock)(void *obj, void *tctx);
	void (*write_unlock)(void *obj, void *tctx);
};

/*
 * RCU: every op is called by a thread registered through thread_init (tctx
 * is its context); synchronize and barrier only outside any read-side
 * section.  A QSBR flavour treats the time between two quiescent calls as
 * one long read-side section; synchronize, barrier and defer_free count as
 * quiescent states for their caller (it holds no reference across them).
 *
 * Records handed to defer_free begin with SL_RCU_RECLAIM_BYTES of space the
 * primitive owns from the call until it calls fn(ptr): room for a list link
 * or liburcu's struct rcu_head plus fn.  Every workload that defers lays its
 * records out so (workloads/rcu.c); fn may overwrite that space.
 */
#define SL_RCU_RECLAIM_BYTES 32

struct sl_rcu_ops {
	void (*read_lock)(void *obj, void *tctx);
	void (*read_unlock)(void *obj, void *tctx);
	/* Wait until every read-side section begun before the call has ended. */
	void (*synchronize)(void *obj, void *tctx);
	/* Run fn(ptr) after a grace period (ptr: a record as above); NULL: the
	 * workload synchronizes.  May wait for a grace period itself when
	 * called outside a read-side section. */
	void (*defer_free)(void *obj, void *tctx, void (*fn)(void *), void *ptr);
	/* Announce a quiescent state (QSBR flavours); NULL when not needed. */
	void (*quiescent)(void *obj, void *tctx);
	/* Wait until every callback the calling thread deferred has run
	 * (liburcu's waits for every thread's). */
	void (*barrier)(void *obj, void *tctx);
};

struct sl_queue_ops {
	/* false: full (bounded queues); the workload retries. */
	bool (*enqueue)(void *obj, void *tctx, uint64_t item);
	/* false: empty. */
	bool (*dequeue)(void *obj, void *tctx, uint64_t *item);
};

struct sl_barrier_ops {
	void (*wait)(void *obj, void *tctx);
};

struct sl_sem_ops {
	void (*wait)(void *obj, void *tctx); /* take a permit, sleeping if none */
	void (*post)(void *obj, void *tctx); /* give one back */
};

/* A monitor: one mutex and SL_COND_QUEUES condition queues over it (a
 * bounded buffer needs two: "not full" and "not empty"). */
#define SL_COND_QUEUES 2
struct sl_cond_ops {
	void (*lock)(void *obj, void *tctx);
	void (*unlock)(void *obj, void *tctx);
	/* With the mutex held: release it, sleep on queue q until signalled
	 * (or spuriously), and hold it again on return. */
	void (*wait)(void *obj, void *tctx, unsigned q);
	void (*signal)(void *obj, void *tctx, unsigned q);    /* wake one */
	void (*broadcast)(void *obj, void *tctx, unsigned q); /* wake all */
};

/*
 * Workqueues: a pool of worker threads runs deferred work items that other
 * threads submit (the kernel's deferred-work mechanism).  The workload owns
 * the items and puts a struct sl_work at the start of each; the primitive
 * owns that header from submit until complete, and the submitter may submit
 * the item again once its flush has returned true.  Submitters and pool
 * workers are registered threads (thread_init), each with its own context;
 * the pool is whoever calls take.
 */
struct sl_work {
	struct sl_work *next; /* the primitive's: a link while queued */
	void *origin;         /* the primitive's: whose flush waits for it */
};

struct sl_workqueue_ops {
	/* Queue item for the pool.  false: full (a bounded queue); the
	 * caller retries. */
	bool (*submit)(void *obj, void *tctx, struct sl_work *item);
	/* Pool worker: the next item, sleeping while none is queued.  NULL
	 * only after shutdown and with nothing queued; after shutdown take
	 * never sleeps, so the main thread can drain what is left with it. */
	struct sl_work *(*take)(void *obj, void *tctx);
	/* Pool worker, once it has run an item take returned; the caller
	 * must not touch the item afterwards. */
	void (*complete)(void *obj, void *tctx, struct sl_work *item);
	/* Wait until every item the calling thread submitted has completed:
	 * true.  false: shutdown cut the wait short. */
	bool (*flush)(void *obj, void *tctx);
	/* Wake every thread asleep in take or flush and let none sleep
	 * again.  Any thread, no context; may be called more than once. */
	void (*shutdown)(void *obj);
};

/*
 * Lab experiments (lab/, `synclab demo`) that are not synchronization
 * primitives but want the runner's pinning, timing, counters and
 * repetitions: false sharing, a litmus test, a cache line ping-pong.  Their
 * descriptors live with the experiment, not in the registry.
 */
#define SL_LAB_FIGURES 4
struct sl_lab_ops {
	/* One step by thread id (0..nthreads-1); returns the number of events
	 * of interest this step observed (a litmus outcome, a violation),
	 * summed over the run.  A step that waits for another thread must
	 * return soon after stop() was called. */
	uint64_t (*step)(void *obj, void *tctx, unsigned id);
	/* From the main thread once the window closed: make waiting steps
	 * return.  NULL when steps never wait for each other. */
	void (*stop)(void *obj);
	/* After every thread returned: up to SL_LAB_FIGURES figures of the
	 * experiment's own (e.g. mean read cost in ns); NAN where none.
	 * NULL when it has none. */
	void (*figures)(void *obj, double out[SL_LAB_FIGURES]);
	/* From each worker's own thread, once, between two of its steps, when
	 * it first sees the measured window open: lets steps keep figures of
	 * the window only (a latency distribution without the warm-up).  NULL
	 * when not needed. */
	void (*window)(void *obj, void *tctx, unsigned id);
};

#define SL_PRIM_EVENTS 4

struct sl_prim {
	const char *name;    /* kebab-case, as the user types it */
	const char *alias;   /* another accepted name, or NULL */
	const char *family;  /* e.g. "spin", "mutex", "baseline" */
	enum sl_prim_kind kind;
	const char *summary; /* one line for `synclab list` */
	unsigned flags;      /* enum sl_prim_flags */

	size_t obj_size;     /* shared object, aligned to SL_SLOT_ALIGN */
	size_t tctx_size;    /* per-thread context; 0 when none */

	int (*init)(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err);
	void (*destroy)(void *obj);
	void (*thread_init)(void *obj, void *tctx);
	void (*thread_fini)(void *obj, void *tctx);

	/* The ops of this primitive's kind; the others stay zero. */
	struct sl_lock_ops lock;
	struct sl_rw_ops rw;
	struct sl_rcu_ops rcu;
	struct sl_queue_ops queue;
	struct sl_barrier_ops barrier;
	struct sl_sem_ops sem;
	struct sl_cond_ops cond;
	struct sl_lab_ops lab;
	struct sl_workqueue_ops wq;

	/* After every thread has stopped: is the object in a consistent state
	 * (a lock is free, a queue's counts add up)?  0 or -EPROTO with err.
	 * NULL when there is nothing to check beyond the workload's invariant. */
	int (*check)(void *obj, struct sl_err *err);

	/* Can this machine run it?  NULL means always.  Otherwise returns false
	 * and fills why (one line) when it cannot. */
	bool (*supported)(char *why, size_t n);

	/* What the primitive did while waiting, as it counts it itself: up
	 * to SL_PRIM_EVENTS names of events (plural nouns: "sleeps",
	 * "yields"), NULL after the last, and the counts a thread's context
	 * holds, read by that thread (at the window's edges).  The counts
	 * are plain per-thread fields bumped on slow paths only.  No names:
	 * counts nothing. */
	const char *event_names[SL_PRIM_EVENTS];
	void (*events)(const void *tctx, uint64_t out[SL_PRIM_EVENTS]);
};

/* Events a primitive declares; 0 when it counts none. */
unsigned sl_prim_event_count(const struct sl_prim *p);

/* The registry (primitives/registry.def), in listing order. */
size_t sl_prim_count(void);
const struct sl_prim *sl_prim_at(size_t i);

/* The longest name in the registry, for columns that line every name up. */
int sl_prim_name_width(void);

/* By name or alias; NULL when unknown. */
const struct sl_prim *sl_prim_find(const char *name);

/*
 * Append the primitives a comma-separated list names (names or aliases) to
 * out[*n], at most max in all.  An unknown name (with the closest visible
 * one, else "see SEE"), a primitive named twice, or too many is -EINVAL with
 * err saying so and what is accepted.
 */
int sl_prim_parse_list(const char *list, const char *see,
		       const struct sl_prim **out, unsigned *n, unsigned max,
		       struct sl_err *err);

/* The visible name closest to an unknown one, or NULL. */
const char *sl_prim_suggest(const char *name);

const char *sl_prim_kind_name(enum sl_prim_kind kind);

/* Size of one object / context slot as the runner lays them out. */
size_t sl_prim_obj_stride(const struct sl_prim *p);
size_t sl_prim_tctx_stride(const struct sl_prim *p);

#endif
