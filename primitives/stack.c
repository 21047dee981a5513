/*
 * Stacks: last-in first-out, any number of pushers and poppers (the queue
 * kind with SL_PRIM_LIFO: no per-producer order to check).
 *
 * stack-treiber: Treiber's lock-free stack (IBM RJ 5118, 1986).  Push links
 * the new node to the current top and swings top to it with a CAS; pop
 * reads top's next and swings top to it.  Pop is exposed to ABA: between its
 * read of top (node A, next B) and its CAS, A can be popped, B popped and
 * recycled, and A pushed back, so that a CAS on the pointer alone would
 * succeed and install the recycled B.  Top is therefore a 128-bit word, the
 * node pointer and a tag that every successful CAS increments, swapped with
 * one 16-byte compare-and-swap (cmpxchg16b on x86-64).  GCC compiles the
 * __int128 atomics to calls into libatomic (-latomic) whatever -mcx16 says;
 * libatomic picks lock cmpxchg16b for the CAS, and an SSE load for the
 * 16-byte load on CPUs whose vendors guarantee its atomicity.  On a CPU
 * without cmpxchg16b libatomic would fall back to a lock, so the primitive
 * reports itself unsupported there.
 *
 * The tag only helps if a node read by a stalled pop stays readable, so
 * nodes never go back to malloc while the stack lives: a popped node goes
 * to the popping thread's cache and from there, 32 at a time, to a shared
 * pool that pushers take whole.  A pop may still read the next pointer of a
 * node that is being reused; that read is atomic, and the CAS, seeing a
 * newer tag, discards it.  Everything is freed at destroy.
 *
 * Ordering of stack-treiber: the push CAS is a release (it publishes the
 * node's value and next); the pop's load of top and its CAS (success and
 * failure) are acquires that pair with it.  Every write of top is a CAS, so
 * each push heads a release sequence that later pops continue.  The pool
 * works the same way: chains are pushed with a release CAS (only pushes
 * use CAS there, which cannot suffer ABA) and taken whole with an acquire
 * exchange.
 *
 * stack-mutex: the same list under synclab's futex `mutex`, called through
 * its descriptor (lockref.h), with the same node caches, so that the two
 * differ only in the synchronization of top: the lock-based baseline.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "primitives/lockref.h"
#include "primitives/prim.h"
#include "util/atomics.h"

struct snode {
	/* Atomic: a stalled pop may read it while the node is reused. */
	_Atomic(struct snode *) next;
	uint64_t value;
};

/* --- node recycling, shared by both stacks -------------------------------- */

#define CACHE_BATCH 32 /* nodes a thread frees before handing them on */

struct node_pool {
	/* Chains of free nodes, pushed with CAS and taken whole. */
	alignas(SL_SLOT_ALIGN) _Atomic(struct snode *) free;
};

struct node_cache {
	struct snode *freed; /* popped here, reused here first (warm) */
	unsigned nfreed;
	struct snode *taken; /* a chain taken from the pool */
};

static void pool_put_chain(struct node_pool *pool, struct snode *first,
			   struct snode *last)
{
	struct snode *old = atomic_load_explicit(&pool->free, memory_order_relaxed);

	do
		atomic_store_explicit(&last->next, old, memory_order_relaxed);
	/* release: publishes the chain's links to the taker's acquire */
	while (!atomic_compare_exchange_weak_explicit(&pool->free, &old, first,
						      memory_order_release,
						      memory_order_relaxed));
}

static struct snode *chain_last(struct snode *n)
{
	struct snode *next;

	while ((next = atomic_load_explicit(&n->next, memory_order_relaxed)))
		n = next;
	return n;
}

static struct snode *node_get(struct node_pool *pool, struct node_cache *c)
{
	struct snode *n = c->freed;

	if (n) {
		c->freed = atomic_load_explicit(&n->next, memory_order_relaxed);
		c->nfreed--;
		return n;
	}
	if (!c->taken)
		/* acquire: pairs with the release CAS in pool_put_chain */
		c->taken = atomic_exchange_explicit(&pool->free, NULL,
						    memory_order_acquire);
	n = c->taken;
	if (n) {
		c->taken = atomic_load_explicit(&n->next, memory_order_relaxed);
		return n;
	}
	return malloc(sizeof(*n));
}

static void node_put(struct node_pool *pool, struct node_cache *c,
		     struct snode *n)
{
	atomic_store_explicit(&n->next, c->freed, memory_order_relaxed);
	c->freed = n;
	if (++c->nfreed == CACHE_BATCH) {
		pool_put_chain(pool, c->freed, chain_last(c->freed));
		c->freed = NULL;
		c->nfreed = 0;
	}
}

static void cache_flush(struct node_pool *pool, struct node_cache *c)
{
	if (c->freed)
		pool_put_chain(pool, c->freed, chain_last(c->freed));
	if (c->taken)
		pool_put_chain(pool, c->taken, chain_last(c->taken));
	memset(c, 0, sizeof(*c));
}

static void free_chain(struct snode *n)
{
	while (n) {
		struct snode *next = atomic_load_explicit(&n->next, memory_order_relaxed);

		free(n);
		n = next;
	}
}

/* --- stack-treiber -------------------------------------------------------- */

typedef unsigned __int128 tagged_t; /* low 64 bits: node; high 64: tag */

/* Clang warns that 16-byte atomics become libatomic calls without -mcx16:
 * that is the intent here (see the top comment). */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Watomic-alignment"
#endif

static inline struct snode *tg_node(tagged_t v)
{
	return (struct snode *)(uintptr_t)(uint64_t)v;
}

static inline tagged_t tg_make(struct snode *n, tagged_t old)
{
	return (tagged_t)(uintptr_t)n | (((old >> 64) + 1) << 64);
}

struct treiber {
	alignas(SL_SLOT_ALIGN) _Atomic tagged_t top;
	struct node_pool pool; /* on its own line (aligned) */
};

struct treiber_tctx {
	struct node_cache cache;
	/* The top as this thread last saw or left it: the expected value of
	 * its next CAS (see treiber_push). */
	tagged_t seen;
};

static int treiber_init(void *obj, const struct sl_prim_conf *conf,
			struct sl_err *err)
{
	struct treiber *s = obj;

	(void)conf;
	(void)err;
	atomic_init(&s->top, 0);
	atomic_init(&s->pool.free, NULL);
	return 0;
}

static void treiber_destroy(void *obj)
{
	struct treiber *s = obj;

	free_chain(tg_node(atomic_load_explicit(&s->top, memory_order_relaxed)));
	free_chain(atomic_load_explicit(&s->pool.free, memory_order_relaxed));
	atomic_store_explicit(&s->top, 0, memory_order_relaxed);
	atomic_store_explicit(&s->pool.free, NULL, memory_order_relaxed);
}

static void treiber_thread_fini(void *obj, void *tctx)
{
	struct treiber *s = obj;
	struct treiber_tctx *t = tctx;

	cache_flush(&s->pool, &t->cache);
}

/*
 * Both ops start with a CAS that expects the top this thread last saw,
 * not with a load of it: a load would fetch the line shared and the CAS
 * fetch it again for writing, two transfers where one does.  A wrong guess
 * costs a failed CAS, which returns the current top with the line already
 * here.  A thread running several ops in a row (its time slice, beyond the
 * PUs) usually guesses right.
 */
static bool treiber_push(void *obj, void *tctx, uint64_t item)
{
	struct treiber *s = obj;
	struct treiber_tctx *t = tctx;
	struct snode *n = node_get(&s->pool, &t->cache);
	tagged_t old = t->seen;

	if (!n)
		return false;
	n->value = item;
	do
		atomic_store_explicit(&n->next, tg_node(old), memory_order_relaxed);
	/* release: publishes n's value and next to the pop that takes it */
	while (!atomic_compare_exchange_weak_explicit(&s->top, &old, tg_make(n, old),
						      memory_order_release,
						      memory_order_relaxed));
	t->seen = tg_make(n, old);
	return true;
}

static bool treiber_pop(void *obj, void *tctx, uint64_t *item)
{
	struct treiber *s = obj;
	struct treiber_tctx *t = tctx;
	tagged_t old = t->seen, want;
	struct snode *n;

	for (;;) {
		n = tg_node(old);
		if (!n) {
			/* The guess says empty: look.
			 * acquire: pairs with the release CAS of the push that
			 * made n top */
			old = atomic_load_explicit(&s->top, memory_order_acquire);
			n = tg_node(old);
			if (!n) {
				t->seen = old;
				return false;
			}
		}
		/* Stale if n was popped since old was read; the tag then
		 * makes the CAS fail.  Every value of top this thread holds
		 * was acquired, so n's next as pushed is visible. */
		want = tg_make(atomic_load_explicit(&n->next, memory_order_relaxed), old);
		/* acquire, both ways: pairs with the push of the node we take,
		 * or of the top a failure returns */
		if (atomic_compare_exchange_weak_explicit(&s->top, &old, want,
							  memory_order_acquire,
							  memory_order_acquire))
			break;
	}
	t->seen = want;
	*item = n->value;
	node_put(&s->pool, &t->cache, n);
	return true;
}

/* GCC answers "not lock-free" for every 16-byte atomic (a load done with
 * cmpxchg16b would write), so ask the CPU what libatomic will find. */
static bool treiber_supported(char *why, size_t len)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B))
		return true;
	snprintf(why, len, "no 16-byte compare-and-swap on this CPU (cmpxchg16b)");
	return false;
#else
	static _Atomic tagged_t probe;

	if (atomic_is_lock_free(&probe))
		return true;
	snprintf(why, len, "no lock-free 16-byte compare-and-swap on this CPU");
	return false;
#endif
}

const struct sl_prim sl_prim_stack_treiber = {
	.name = "stack-treiber",
	.family = "stack",
	.kind = SL_KIND_QUEUE,
	.summary = "Treiber lock-free stack, 128-bit tagged top against ABA",
	.flags = SL_PRIM_LIFO,
	.obj_size = sizeof(struct treiber),
	.tctx_size = sizeof(struct treiber_tctx),
	.init = treiber_init,
	.destroy = treiber_destroy,
	.thread_fini = treiber_thread_fini,
	.queue = { .enqueue = treiber_push, .dequeue = treiber_pop },
	.supported = treiber_supported,
};

/* --- stack-mutex ---------------------------------------------------------- */

#define MS_LOCK_ROOM 48
#define MS_LOCK_TCTX_ROOM 64

struct mutex_stack {
	/* The lock, its descriptor and top share the line every op takes. */
	alignas(SL_SLOT_ALIGN) unsigned char lock_obj[MS_LOCK_ROOM];
	const struct sl_prim *lock;
	struct snode *top; /* under the lock */
	struct node_pool pool;
};

struct mutex_stack_tctx {
	alignas(SL_SLOT_ALIGN) unsigned char lock_tctx[MS_LOCK_TCTX_ROOM];
	struct node_cache cache;
};

static int mstack_init(void *obj, const struct sl_prim_conf *conf,
		       struct sl_err *err)
{
	struct mutex_stack *s = obj;

	s->top = NULL;
	atomic_init(&s->pool.free, NULL);
	return sl_lockref_init(&s->lock, "mutex", s->lock_obj, MS_LOCK_ROOM,
			       MS_LOCK_TCTX_ROOM, conf, err);
}

static void mstack_destroy(void *obj)
{
	struct mutex_stack *s = obj;

	free_chain(s->top);
	free_chain(atomic_load_explicit(&s->pool.free, memory_order_relaxed));
	s->top = NULL;
	atomic_store_explicit(&s->pool.free, NULL, memory_order_relaxed);
	sl_lockref_destroy(s->lock, s->lock_obj);
}

static void mstack_thread_init(void *obj, void *tctx)
{
	struct mutex_stack *s = obj;
	struct mutex_stack_tctx *t = tctx;

	sl_lockref_thread_init(s->lock, s->lock_obj, t->lock_tctx);
}

static void mstack_thread_fini(void *obj, void *tctx)
{
	struct mutex_stack *s = obj;
	struct mutex_stack_tctx *t = tctx;

	cache_flush(&s->pool, &t->cache);
	sl_lockref_thread_fini(s->lock, s->lock_obj, t->lock_tctx);
}

static bool mstack_push(void *obj, void *tctx, uint64_t item)
{
	struct mutex_stack *s = obj;
	struct mutex_stack_tctx *t = tctx;
	struct snode *n = node_get(&s->pool, &t->cache);

	if (!n)
		return false;
	n->value = item;
	s->lock->lock.lock(s->lock_obj, t->lock_tctx);
	atomic_store_explicit(&n->next, s->top, memory_order_relaxed);
	s->top = n;
	s->lock->lock.unlock(s->lock_obj, t->lock_tctx);
	return true;
}

static bool mstack_pop(void *obj, void *tctx, uint64_t *item)
{
	struct mutex_stack *s = obj;
	struct mutex_stack_tctx *t = tctx;
	struct snode *n;

	s->lock->lock.lock(s->lock_obj, t->lock_tctx);
	n = s->top;
	if (n)
		s->top = atomic_load_explicit(&n->next, memory_order_relaxed);
	s->lock->lock.unlock(s->lock_obj, t->lock_tctx);
	if (!n)
		return false;
	*item = n->value;
	node_put(&s->pool, &t->cache, n);
	return true;
}

static int mstack_check(void *obj, struct sl_err *err)
{
	struct mutex_stack *s = obj;

	return sl_lockref_check(s->lock, s->lock_obj, err);
}

const struct sl_prim sl_prim_stack_mutex = {
	.name = "stack-mutex",
	.family = "stack",
	.kind = SL_KIND_QUEUE,
	.summary = "list stack under synclab's futex mutex (the lock-based baseline)",
	.flags = SL_PRIM_LIFO | SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct mutex_stack),
	.tctx_size = sizeof(struct mutex_stack_tctx),
	.init = mstack_init,
	.destroy = mstack_destroy,
	.thread_init = mstack_thread_init,
	.thread_fini = mstack_thread_fini,
	.queue = { .enqueue = mstack_push, .dequeue = mstack_pop },
	.check = mstack_check,
};
