/*
 * Spinlocks and FIFO locks beyond the registry-wide basics of test_prims.c,
 * each test looping over the registry by kind and flags so that a new
 * primitive is covered without new code:
 *
 *   - FIFO order: for every SL_PRIM_FIFO lock, waiters enter in the order
 *     they queued.  The order is made deterministic without timing: the
 *     main thread holds the lock and lets one waiter at a time call lock(),
 *     starting the next only once the previous one has visibly queued --
 *     its arrival changed the bytes of the lock object (a ticket taken, a
 *     tail swapped), which every FIFO lock must record somewhere shared.
 *     A LIFO lock defined here proves the check fails when order is broken.
 *   - trylock under contention: fails while another thread holds the lock
 *     or (FIFO) waits for it, succeeds once everyone left, and the
 *     sections it admits exclude each other (plain data, see tsan).
 *   - per-thread state (MCS nodes, CLH nodes): many locks held nested by
 *     many threads, contexts that come and go while others run, and runs
 *     through sl_run_point with --locks 8 and 8 threads on however few PUs.
 *   - a lock left held is caught by the primitive's .check end to end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#include "prim_fixture.h"

#define FIFO_WAITERS 6
#define WAIT_LIMIT_NS (10 * SL_NS_PER_SEC)

#include "machine_fixture.h"

/* --- helpers ------------------------------------------------------------- */

static bool usable(const struct sl_prim *p)
{
	return p->kind == SL_KIND_LOCK &&
	       !(p->flags & (SL_PRIM_HIDDEN | SL_PRIM_NO_EXCLUSION)) &&
	       (!p->supported || p->supported((char[192]){ 0 }, 192));
}

/* Locks whose waiters spin (never sleep in the kernel). */
static bool is_spinlock(const struct sl_prim *p)
{
	return usable(p) && !(p->flags & SL_PRIM_SLEEPS);
}

/*
 * Another library's FIFO spinlock (ck-ticket, ck-mcs) never yields: with
 * more threads than PUs, or on a loaded machine, each hand-off to a
 * preempted waiter costs whole time slices, so a test that must finish a
 * fixed number of ops with more threads than PUs would take minutes.
 * Such tests skip them; the time-bounded runs through the runner do not.
 */
static bool fifo_pure_spinner(const struct sl_prim *p)
{
	return (p->flags & SL_PRIM_BASELINE) && (p->flags & SL_PRIM_FIFO) &&
	       !(p->flags & SL_PRIM_SLEEPS);
}

/* Locks that keep state per thread and instance (queue nodes). */
static bool has_thread_state(const struct sl_prim *p)
{
	return usable(p) && (p->tctx_size || p->thread_init);
}

static void check_free(const struct sl_prim *p, void *obj)
{
	struct sl_err err;

	if (p->check && p->check(obj, &err) < 0)
		fail_msg("%s: %s", p->name, err.msg);
}

/* The lock object's bytes, read with relaxed atomic loads (other threads
 * write them atomically meanwhile). */
static void snapshot(const void *obj, size_t n, unsigned char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = atomic_load_explicit((const _Atomic unsigned char *)obj + i,
					      memory_order_relaxed);
}

/* Wait until the object differs from before; false after WAIT_LIMIT_NS. */
static bool wait_changed(const void *obj, size_t n, const unsigned char *before)
{
	unsigned char *now = malloc(n);
	uint64_t t0 = sl_now_ns();
	bool changed = false;

	assert_non_null(now);
	while (!changed && sl_now_ns() - t0 < WAIT_LIMIT_NS) {
		snapshot(obj, n, now);
		changed = memcmp(now, before, n) != 0;
		if (!changed)
			sched_yield();
	}
	free(now);
	return changed;
}

static void wait_flag(_Atomic unsigned *f, unsigned want)
{
	/* acquire: pairs with the release store that raised the flag */
	while (atomic_load_explicit(f, memory_order_acquire) != want)
		sched_yield();
}

static void raise_flag(_Atomic unsigned *f, unsigned v)
{
	/* release: what the raiser did before is visible to the waiter */
	atomic_store_explicit(f, v, memory_order_release);
}

/* --- FIFO order ---------------------------------------------------------- */

struct fifo_run {
	const struct sl_prim *p;
	void *obj;
	_Atomic unsigned ready;           /* waiters registered */
	_Atomic unsigned go[FIFO_WAITERS];
	unsigned seq;                     /* plain: the lock protects it */
	unsigned entry[FIFO_WAITERS];     /* plain: the lock protects it */
};

struct fifo_arg {
	struct fifo_run *r;
	unsigned i;
};

static void *fifo_waiter(void *arg)
{
	struct fifo_arg *a = arg;
	struct fifo_run *r = a->r;
	void *t = new_tctx(r->p, r->obj);

	atomic_fetch_add_explicit(&r->ready, 1, memory_order_release);
	wait_flag(&r->go[a->i], 1);
	r->p->lock.lock(r->obj, t);
	r->entry[a->i] = r->seq++;
	r->p->lock.unlock(r->obj, t);
	free_tctx(r->p, r->obj, t);
	return NULL;
}

/*
 * Queue waiters in the order `order` gives (waiter order[k] arrives k-th)
 * behind the main thread, release, and check they entered in that order.
 * Returns 0, or -EPROTO with why.
 */
static int fifo_round(const struct sl_prim *p, const unsigned *order,
		      char *why, size_t n)
{
	struct fifo_run r = { .p = p };
	struct fifo_arg args[FIFO_WAITERS];
	pthread_t th[FIFO_WAITERS];
	size_t size = sl_prim_obj_stride(p);
	unsigned char *before = malloc(size);
	void *tm;
	int rc = 0;

	assert_non_null(before);
	r.obj = new_obj(p, FIFO_WAITERS + 1);
	tm = new_tctx(p, r.obj);
	for (unsigned i = 0; i < FIFO_WAITERS; i++) {
		atomic_init(&r.go[i], 0);
		args[i] = (struct fifo_arg){ &r, i };
		assert_int_equal(pthread_create(&th[i], NULL, fifo_waiter, &args[i]), 0);
	}
	/* acquire: pairs with each waiter's release increment */
	while (atomic_load_explicit(&r.ready, memory_order_acquire) < FIFO_WAITERS)
		sched_yield();

	p->lock.lock(r.obj, tm);
	for (unsigned k = 0; k < FIFO_WAITERS; k++) {
		snapshot(r.obj, size, before);
		raise_flag(&r.go[order[k]], 1);
		if (!wait_changed(r.obj, size, before) && !rc) {
			rc = -EPROTO;
			snprintf(why, n, "%s: waiter %u's arrival left the lock object unchanged for %llu s",
				 p->name, order[k],
				 (unsigned long long)(WAIT_LIMIT_NS / SL_NS_PER_SEC));
		}
	}
	p->lock.unlock(r.obj, tm);
	for (unsigned i = 0; i < FIFO_WAITERS; i++)
		pthread_join(th[i], NULL);

	for (unsigned k = 0; k < FIFO_WAITERS && !rc; k++) {
		if (r.entry[order[k]] != k) {
			rc = -EPROTO;
			snprintf(why, n, "%s: the waiter that queued as number %u entered as number %u",
				 p->name, k + 1, r.entry[order[k]] + 1);
		}
	}
	free_tctx(p, r.obj, tm);
	check_free(p, r.obj);
	free_obj(p, r.obj);
	free(before);
	return rc;
}

static int fifo_check(const struct sl_prim *p, char *why, size_t n)
{
	unsigned up[FIFO_WAITERS], down[FIFO_WAITERS], mixed[FIFO_WAITERS];
	int rc;

	for (unsigned i = 0; i < FIFO_WAITERS; i++) {
		up[i] = i;
		down[i] = FIFO_WAITERS - 1 - i;
		/* 0, 5, 1, 4, 2, 3: neither by id nor against it */
		mixed[i] = i % 2 ? FIFO_WAITERS - 1 - i / 2 : i / 2;
	}
	if ((rc = fifo_round(p, up, why, n)) < 0 ||
	    (rc = fifo_round(p, down, why, n)) < 0 ||
	    (rc = fifo_round(p, mixed, why, n)) < 0)
		return rc;
	return 0;
}

static void test_fifo_order(void **state)
{
	unsigned tested = 0;

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		char why[256];

		if (!usable(p) || !(p->flags & SL_PRIM_FIFO))
			continue;
		if (fifo_check(p, why, sizeof(why)) < 0)
			fail_msg("%s", why);
		tested++;
	}
	assert_true(tested >= 3); /* spin-ticket, spin-mcs, spin-clh at least */
}

/*
 * A lock that is correct but serves the newest waiter first: tickets as in a
 * ticket lock, but unlock grants the highest ticket not yet served.  It
 * handles at most 64 tickets, enough for the round the check drives.
 */
struct lifo_lock {
	_Atomic uint32_t next;   /* tickets handed out */
	_Atomic uint32_t grant;  /* the ticket allowed in */
	_Atomic uint64_t served; /* bit t: ticket t has been in */
};

struct lifo_ctx {
	uint32_t mine;
};

static void lifo_lock(void *obj, void *tctx)
{
	struct lifo_lock *l = obj;
	struct lifo_ctx *c = tctx;

	c->mine = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
	/* acquire: pairs with the release store of grant in lifo_unlock */
	while (atomic_load_explicit(&l->grant, memory_order_acquire) != c->mine)
		sched_yield();
}

static void lifo_unlock(void *obj, void *tctx)
{
	struct lifo_lock *l = obj;
	struct lifo_ctx *c = tctx;
	uint64_t served = atomic_load_explicit(&l->served, memory_order_relaxed) |
			  (uint64_t)1 << c->mine;
	uint32_t next = atomic_load_explicit(&l->next, memory_order_relaxed);
	uint32_t g = next; /* nobody waiting: the next arrival goes in */

	atomic_store_explicit(&l->served, served, memory_order_relaxed);
	for (uint32_t t = next; t-- > 0;)
		if (!(served >> t & 1)) {
			g = t;
			break;
		}
	/* release: publishes the section to the granted ticket */
	atomic_store_explicit(&l->grant, g, memory_order_release);
}

static const struct sl_prim lifo_prim = {
	.name = "test-lifo", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "serves the newest waiter first", .flags = SL_PRIM_FIFO,
	.obj_size = sizeof(struct lifo_lock),
	.tctx_size = sizeof(struct lifo_ctx),
	.lock = { .lock = lifo_lock, .unlock = lifo_unlock },
};

static void test_fifo_check_catches_lifo(void **state)
{
	char why[256] = "";
	unsigned up[FIFO_WAITERS];

	(void)state;
	for (unsigned i = 0; i < FIFO_WAITERS; i++)
		up[i] = i;
	assert_int_equal(fifo_round(&lifo_prim, up, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "entered"));
}

/* --- trylock under contention -------------------------------------------- */

struct probe {
	const struct sl_prim *p;
	void *obj;
	unsigned tries, successes;
};

/* A fresh thread with its own context tries the lock; a success is undone
 * at once. */
static void *probe_thread(void *arg)
{
	struct probe *pr = arg;
	void *t = new_tctx(pr->p, pr->obj);

	pr->successes = 0;
	for (unsigned i = 0; i < pr->tries; i++)
		if (pr->p->lock.trylock(pr->obj, t)) {
			pr->successes++;
			pr->p->lock.unlock(pr->obj, t);
		}
	free_tctx(pr->p, pr->obj, t);
	return NULL;
}

static unsigned probe(const struct sl_prim *p, void *obj, unsigned tries)
{
	struct probe pr = { .p = p, .obj = obj, .tries = tries };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, probe_thread, &pr), 0);
	pthread_join(th, NULL);
	return pr.successes;
}

struct holder {
	const struct sl_prim *p;
	void *obj;
	_Atomic unsigned inside, leave;
};

static void *holder_thread(void *arg)
{
	struct holder *h = arg;
	void *t = new_tctx(h->p, h->obj);

	h->p->lock.lock(h->obj, t);
	raise_flag(&h->inside, 1);
	wait_flag(&h->leave, 1);
	h->p->lock.unlock(h->obj, t);
	free_tctx(h->p, h->obj, t);
	return NULL;
}

/* --- yields past the spin budget ----------------------------------------- */

/* Position of the event named "yields", or -1. */
static int yields_event(const struct sl_prim *p)
{
	for (unsigned e = 0; e < sl_prim_event_count(p); e++)
		if (strcmp(p->event_names[e], "yields") == 0)
			return (int)e;
	return -1;
}

struct yield_waiter {
	const struct sl_prim *p;
	void *obj;
	_Atomic unsigned queued;
	uint64_t yields; /* its count once it got the lock and left */
};

static void *yield_waiter_thread(void *arg)
{
	struct yield_waiter *y = arg;
	void *t = new_tctx(y->p, y->obj);
	uint64_t ev[SL_PRIM_EVENTS] = { 0 };

	raise_flag(&y->queued, 1);
	y->p->lock.lock(y->obj, t);
	y->p->lock.unlock(y->obj, t);
	y->p->events(t, ev);
	y->yields = ev[yields_event(y->p)];
	free_tctx(y->p, y->obj, t);
	return NULL;
}

/*
 * synclab's FIFO spinlocks yield once a wait outlasts their budget (a time
 * slice's worth of pauses at most) and count each yield: a waiter behind a
 * hold of 300 ms must have yielded, and the holder, which never waited,
 * must not have.
 */
static void test_fifo_waits_count_yields(void **state)
{
	unsigned tested = 0;

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct yield_waiter y = { .p = p };
		uint64_t mine[SL_PRIM_EVENTS] = { 0 };
		pthread_t th;
		void *t;

		if (!is_spinlock(p) || !(p->flags & SL_PRIM_FIFO) ||
		    yields_event(p) < 0)
			continue;
		y.obj = new_obj(p, 2);
		t = new_tctx(p, y.obj);
		p->lock.lock(y.obj, t);
		atomic_init(&y.queued, 0);
		assert_int_equal(pthread_create(&th, NULL, yield_waiter_thread, &y), 0);
		wait_flag(&y.queued, 1);
		/* Far past the budget (a time slice's worth of pauses, some
		 * 20 ms of polling under ThreadSanitizer), CPU to spare. */
		sl_sleep_ns(300 * SL_NS_PER_MS, NULL);
		p->lock.unlock(y.obj, t);
		pthread_join(th, NULL);
		p->events(t, mine);
		if (y.yields == 0 || mine[yields_event(p)] != 0)
			fail_msg("%s: the waiter behind a 300 ms hold counted %" PRIu64 " yields, the holder %" PRIu64 " (expected some, and none)",
				 p->name, y.yields, mine[yields_event(p)]);
		check_free(p, y.obj);
		free_tctx(p, y.obj, t);
		free_obj(p, y.obj);
		tested++;
	}
	/* spin-ticket, spin-mcs and spin-clh */
	assert_true(tested >= 3);
}

static void test_trylock_contended(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct holder h = { .p = p };
		pthread_t th;
		void *obj, *tm;
		unsigned ok;

		if (!usable(p) || !p->lock.trylock)
			continue;
		/* main, the holder and one probe at a time */
		obj = new_obj(p, 3);
		h.obj = obj;
		atomic_init(&h.inside, 0);
		atomic_init(&h.leave, 0);
		tm = new_tctx(p, obj);

		p->lock.lock(obj, tm);
		if ((ok = probe(p, obj, 100)))
			fail_msg("%s: trylock succeeded %u times while another thread held the lock",
				 p->name, ok);
		if (p->flags & SL_PRIM_FIFO) {
			size_t size = sl_prim_obj_stride(p);
			unsigned char *before = malloc(size);

			assert_non_null(before);
			snapshot(obj, size, before);
			assert_int_equal(pthread_create(&th, NULL, holder_thread, &h), 0);
			if (!wait_changed(obj, size, before))
				fail_msg("%s: a waiter's arrival left the lock object unchanged",
					 p->name);
			free(before);
		} else {
			assert_int_equal(pthread_create(&th, NULL, holder_thread, &h), 0);
		}
		/* Held, with (FIFO: surely; others: maybe) a waiter queued. */
		if ((ok = probe(p, obj, 100)))
			fail_msg("%s: trylock succeeded %u times while the lock was held and awaited",
				 p->name, ok);
		p->lock.unlock(obj, tm);
		wait_flag(&h.inside, 1);
		if ((ok = probe(p, obj, 100)))
			fail_msg("%s: trylock succeeded %u times while the waiter held the lock",
				 p->name, ok);
		raise_flag(&h.leave, 1);
		pthread_join(th, NULL);
		if ((ok = probe(p, obj, 3)) != 3)
			fail_msg("%s: trylock on a free lock succeeded %u times of 3",
				 p->name, ok);
		check_free(p, obj);
		free_tctx(p, obj, tm);
		free_obj(p, obj);
	}
}

#define MIX_THREADS 4
#define MIX_ITERS 4000

struct mix {
	const struct sl_prim *p;
	void *obj;
	uint64_t counter, shadow;   /* plain: only the lock orders them */
	_Atomic uint64_t entries;   /* sections entered, by either path */
	_Atomic uint64_t tried_ok;
	int inconsistent;           /* plain: written inside the lock */
};

static void mix_section(struct mix *m)
{
	if (m->shadow != m->counter)
		m->inconsistent++;
	m->counter++;
	m->shadow = m->counter;
	atomic_fetch_add_explicit(&m->entries, 1, memory_order_relaxed);
}

static void *mix_thread(void *arg)
{
	struct mix *m = arg;
	void *t = new_tctx(m->p, m->obj);

	for (unsigned i = 0; i < MIX_ITERS; i++) {
		if (i % 2 && m->p->lock.trylock(m->obj, t)) {
			mix_section(m);
			m->p->lock.unlock(m->obj, t);
			atomic_fetch_add_explicit(&m->tried_ok, 1, memory_order_relaxed);
		} else if (!(i % 2)) {
			m->p->lock.lock(m->obj, t);
			mix_section(m);
			m->p->lock.unlock(m->obj, t);
		}
	}
	free_tctx(m->p, m->obj, t);
	return NULL;
}

/* trylock and lock mixed: every section entered by either excludes the
 * others (plain data; ThreadSanitizer sees a missing order as a race). */
static void test_trylock_mixed_torture(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct mix m = { .p = p };
		pthread_t th[MIX_THREADS];
		uint64_t entries;

		if (!is_spinlock(p) || !p->lock.trylock || fifo_pure_spinner(p))
			continue;
		m.obj = new_obj(p, MIX_THREADS);
		for (int k = 0; k < MIX_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, mix_thread, &m), 0);
		for (int k = 0; k < MIX_THREADS; k++)
			pthread_join(th[k], NULL);
		entries = atomic_load_explicit(&m.entries, memory_order_relaxed);
		if (m.counter != entries || m.inconsistent ||
		    entries != (uint64_t)MIX_THREADS * MIX_ITERS / 2 +
				       atomic_load_explicit(&m.tried_ok, memory_order_relaxed))
			fail_msg("%s: %llu sections entered, counter %llu, %d inconsistent",
				 p->name, (unsigned long long)entries,
				 (unsigned long long)m.counter, m.inconsistent);
		check_free(p, m.obj);
		free_obj(p, m.obj);
	}
}

/* --- per-thread state: many locks, many threads, contexts that come and go */

#define NEST_THREADS 8
#define NEST_LOCKS 8
#define NEST_ITERS 600

struct nest {
	const struct sl_prim *p;
	void *obj[NEST_LOCKS];
	uint64_t count[NEST_LOCKS]; /* plain: lock k protects count[k] */
};

struct nest_arg {
	struct nest *n;
	unsigned id;
};

/* Each op holds two locks at once (always lower index first: no cycle), so
 * a thread has a live queue node in two queues at the same time. */
static void *nest_thread(void *arg)
{
	struct nest_arg *a = arg;
	struct nest *n = a->n;
	const struct sl_prim *p = n->p;
	void *t[NEST_LOCKS];
	uint64_t rng = 0x9e3779b97f4a7c15ull * (a->id + 1);

	for (unsigned k = 0; k < NEST_LOCKS; k++)
		t[k] = new_tctx(p, n->obj[k]);
	for (unsigned i = 0; i < NEST_ITERS; i++) {
		unsigned x = (unsigned)(sl_rng_next(&rng) % NEST_LOCKS);
		unsigned y = (unsigned)(sl_rng_next(&rng) % (NEST_LOCKS - 1));
		unsigned lo, hi;

		y += y >= x; /* a second, different lock */
		lo = x < y ? x : y;
		hi = x < y ? y : x;
		p->lock.lock(n->obj[lo], t[lo]);
		p->lock.lock(n->obj[hi], t[hi]);
		n->count[lo]++;
		n->count[hi]++;
		p->lock.unlock(n->obj[hi], t[hi]);
		p->lock.unlock(n->obj[lo], t[lo]);
	}
	for (unsigned k = 0; k < NEST_LOCKS; k++)
		free_tctx(p, n->obj[k], t[k]);
	return NULL;
}

static void test_nested_many_locks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct nest n = { .p = p };
		struct nest_arg args[NEST_THREADS];
		pthread_t th[NEST_THREADS];
		uint64_t sum = 0;

		if (!has_thread_state(p) || !is_spinlock(p) || fifo_pure_spinner(p))
			continue;
		for (unsigned k = 0; k < NEST_LOCKS; k++)
			n.obj[k] = new_obj(p, NEST_THREADS);
		for (unsigned k = 0; k < NEST_THREADS; k++) {
			args[k] = (struct nest_arg){ &n, k };
			assert_int_equal(pthread_create(&th[k], NULL, nest_thread, &args[k]), 0);
		}
		for (unsigned k = 0; k < NEST_THREADS; k++)
			pthread_join(th[k], NULL);
		for (unsigned k = 0; k < NEST_LOCKS; k++) {
			sum += n.count[k];
			check_free(p, n.obj[k]);
			free_obj(p, n.obj[k]);
		}
		if (sum != 2ull * NEST_THREADS * NEST_ITERS)
			fail_msg("%s: %llu protected increments, expected %llu",
				 p->name, (unsigned long long)sum,
				 2ull * NEST_THREADS * NEST_ITERS);
	}
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS 5
#define CHURN_ITERS 1000

struct churn {
	const struct sl_prim *p;
	void *obj;
	uint64_t counter; /* plain: only the lock orders it */
};

/* Register, use the lock, unregister and free the context, again: a
 * context may go away while other threads keep using the lock (CLH nodes
 * migrate between threads: freeing one must not pull a node from under
 * another thread). */
static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (unsigned r = 0; r < CHURN_ROUNDS; r++) {
		void *t = new_tctx(c->p, c->obj);

		for (unsigned i = 0; i < CHURN_ITERS; i++) {
			c->p->lock.lock(c->obj, t);
			c->counter++;
			c->p->lock.unlock(c->obj, t);
		}
		free_tctx(c->p, c->obj, t);
	}
	return NULL;
}

static void test_contexts_come_and_go(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct churn c = { .p = p };
		pthread_t th[CHURN_THREADS];

		if (!has_thread_state(p) || fifo_pure_spinner(p))
			continue;
		c.obj = new_obj(p, CHURN_THREADS);
		for (unsigned k = 0; k < CHURN_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, churn_thread, &c), 0);
		for (unsigned k = 0; k < CHURN_THREADS; k++)
			pthread_join(th[k], NULL);
		if (c.counter != (uint64_t)CHURN_THREADS * CHURN_ROUNDS * CHURN_ITERS)
			fail_msg("%s: counter %llu, expected %llu", p->name,
				 (unsigned long long)c.counter,
				 (unsigned long long)CHURN_THREADS * CHURN_ROUNDS * CHURN_ITERS);
		check_free(p, c.obj);
		free_obj(p, c.obj);
	}
}

/* --- end to end through the runner --------------------------------------- */

static struct sl_point point(const struct sl_prim *p, unsigned threads,
			     unsigned locks)
{
	struct sl_point pt = {
		.prim = p,
		.threads = threads,
		.rep = 1,
		.duration_ns = 50 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.stall_timeout_ns = 5 * SL_NS_PER_SEC,
		.cs_lines = 1,
		.locks = locks,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	return pt;
}

/* --locks 8 and 8 threads on however few PUs: every spinlock keeps its
 * invariant and ends free in every instance. */
static void test_runner_many_locks_threads(void **state)
{
	static const unsigned locks[] = { 8, 1 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!is_spinlock(p))
			continue;
		for (size_t k = 0; k < sizeof(locks) / sizeof(locks[0]); k++) {
			struct sl_point pt = point(p, 8, locks[k]);
			struct sl_result res;
			struct sl_err err;

			if (sl_run_point(&pt, &res, &err) < 0)
				fail_msg("%s: %s", p->name, err.msg);
			if (res.status != SL_STATUS_OK)
				fail_msg("%s, %u locks: %s: %s", p->name, locks[k],
					 sl_status_name(res.status), res.message);
			{
				uint64_t total = 0;

				for (unsigned t = 0; t < 8; t++)
					total += res.thread[t].total_ops;
				assert_true(total > 0);
			}
			sl_result_release(&res);
		}
	}
}

/* A spinlock whose last thread to finish takes the lock on its way out
 * and never gives it back: the primitive's .check must catch it.  The last
 * one: every other thread has left its last op, so nobody waits forever. */
#define LEAK_THREADS 2
static const struct sl_prim *leak_base;
static _Atomic unsigned finished;

static void leak_fini(void *obj, void *tctx)
{
	if (atomic_fetch_add_explicit(&finished, 1, memory_order_relaxed) ==
	    LEAK_THREADS - 1)
		leak_base->lock.lock(obj, tctx);
	if (leak_base->thread_fini)
		leak_base->thread_fini(obj, tctx);
}

static void test_check_catches_lock_left_held(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim broken;
		struct sl_point pt;
		struct sl_result res;
		struct sl_err err;

		/* Another library's object may refuse to be destroyed while
		 * held (ThreadSanitizer reports pthread_spin_destroy of a held
		 * lock), and the runner destroys it after the failed check. */
		if (!is_spinlock(p) || !p->check ||
		    (p->destroy && (p->flags & SL_PRIM_BASELINE)))
			continue;
		broken = *p;
		broken.thread_fini = leak_fini;
		leak_base = p;
		atomic_store_explicit(&finished, 0, memory_order_relaxed);
		pt = point(&broken, LEAK_THREADS, 1);
		pt.duration_ns = 20 * SL_NS_PER_MS;
		if (sl_run_point(&pt, &res, &err) < 0)
			fail_msg("%s: %s", p->name, err.msg);
		if (res.status != SL_STATUS_CHECK_FAILED)
			fail_msg("%s: a lock left held ended %s (%s)", p->name,
				 sl_status_name(res.status), res.message);
		assert_true(res.message[0] != '\0');
		sl_result_release(&res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_order),
		cmocka_unit_test(test_fifo_check_catches_lifo),
		cmocka_unit_test(test_trylock_contended),
		cmocka_unit_test(test_fifo_waits_count_yields),
		cmocka_unit_test(test_trylock_mixed_torture),
		cmocka_unit_test(test_nested_many_locks),
		cmocka_unit_test(test_contexts_come_and_go),
		cmocka_unit_test(test_runner_many_locks_threads),
		cmocka_unit_test(test_check_catches_lock_left_held),
	};

	return cmocka_run_group_tests_name("spinlocks", tests, setup, teardown);
}
