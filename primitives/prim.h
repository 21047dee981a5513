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

	/* After every thread has stopped: is the object in a consistent state
	 * (a lock is free, a queue's counts add up)?  0 or -EPROTO with err.
	 * NULL when there is nothing to check beyond the workload's invariant. */
	int (*check)(void *obj, struct sl_err *err);

	/* Can this machine run it?  NULL means always.  Otherwise returns false
	 * and fills why (one line) when it cannot. */
	bool (*supported)(char *why, size_t n);
};

/* The registry (primitives/registry.def), in listing order. */
size_t sl_prim_count(void);
const struct sl_prim *sl_prim_at(size_t i);

/* By name or alias; NULL when unknown. */
const struct sl_prim *sl_prim_find(const char *name);

/* The visible name closest to an unknown one, or NULL. */
const char *sl_prim_suggest(const char *name);

const char *sl_prim_kind_name(enum sl_prim_kind kind);

/* Size of one object / context slot as the runner lays them out. */
size_t sl_prim_obj_stride(const struct sl_prim *p);
size_t sl_prim_tctx_stride(const struct sl_prim *p);

#endif
