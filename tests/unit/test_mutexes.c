/*
 * The sleeping mutexes: FIFO hand-off order of every lock that claims to be
 * FIFO and sleeping (checked deterministically: each waiter is queued and
 * asleep before the next one arrives), the priority-inheritance futex word's
 * contents, trylock against another thread's hold, and every sleeping lock
 * end to end through sl_run_point oversubscribed on two PUs and with long
 * critical sections.  Locks defined here that break their promise (a LIFO
 * lock claiming FIFO, a spin-then-park lock whose spin phase is not atomic)
 * prove that the checks catch what they are meant to catch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/prim_fixture.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pinning/pin.h"
#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#include "machine_fixture.h"

static struct sl_topo *one_pu, *two_pus; /* two_pus: NULL on a 1-PU machine */

static int setup_pus(void **state)
{
	struct sl_err err;
	cpu_set_t set;
	int first = -1, second = -1;

	(void)state;
	if (machine_setup() < 0)
		return -1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && second < 0; c++)
			if (CPU_ISSET(c, &set)) {
				if (first < 0)
					first = c;
				else
					second = c;
			}
	if (first >= 0) {
		char list[16];

		snprintf(list, sizeof(list), "%d", first);
		if (sl_topo_load(&one_pu, NULL, list, &err) < 0) {
			fprintf(stderr, "setup: %s\n", err.msg);
			return -1;
		}
	}
	if (second >= 0) {
		char list[32];

		snprintf(list, sizeof(list), "%d,%d", first, second);
		if (sl_topo_load(&two_pus, NULL, list, &err) < 0) {
			fprintf(stderr, "setup: %s\n", err.msg);
			return -1;
		}
	}
	return 0;
}

static int teardown_pus(void **state)
{
	teardown(state);
	if (one_pu)
		sl_topo_free(one_pu);
	if (two_pus)
		sl_topo_free(two_pus);
	return 0;
}

static bool runnable_here(const struct sl_prim *p)
{
	return !p->supported || p->supported((char[192]){ 0 }, 192);
}

static bool sleeping_lock(const struct sl_prim *p)
{
	return p->kind == SL_KIND_LOCK && (p->flags & SL_PRIM_SLEEPS) &&
	       !(p->flags & (SL_PRIM_HIDDEN | SL_PRIM_NO_EXCLUSION)) &&
	       runnable_here(p);
}

/* The scheduler state of thread tid ('R', 'S', 'D', ...), or 0. */
static char task_state(pid_t tid)
{
	char path[64], buf[512], *rp;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
	return rp && rp[1] == ' ' ? rp[2] : 0;
}

/* Wait until thread tid has been asleep for 10 consecutive looks 2 ms
 * apart: a blocked lock() call, not a passing page fault.  false after 10 s. */
static bool wait_asleep(pid_t tid)
{
	unsigned streak = 0;

	for (int i = 0; i < 5000 && streak < 10; i++) {
		streak = task_state(tid) == 'S' ? streak + 1 : 0;
		sl_sleep_ns(2 * SL_NS_PER_MS, NULL);
	}
	return streak >= 10;
}

/* --- FIFO hand-off -------------------------------------------------------- */

#define FIFO_WAITERS 5

struct fifo_run {
	const struct sl_prim *prim;
	void *obj;
	_Atomic pid_t tid[FIFO_WAITERS];
	unsigned served;              /* under the lock */
	unsigned order[FIFO_WAITERS]; /* under the lock */
};

struct fifo_arg {
	struct fifo_run *run;
	unsigned id;
};

static void *fifo_waiter(void *arg)
{
	struct fifo_arg *a = arg;
	struct fifo_run *r = a->run;
	void *t = new_tctx(r->prim, r->obj);

	/* release: the main thread reads the tid, nothing else */
	atomic_store_explicit(&r->tid[a->id], gettid(), memory_order_release);
	r->prim->lock.lock(r->obj, t);
	r->order[r->served++] = a->id;
	r->prim->lock.unlock(r->obj, t);
	free_tctx(r->prim, r->obj, t);
	return NULL;
}

/* Hold p, let FIFO_WAITERS threads queue behind one at a time (each asleep
 * before the next starts), release, and report the order they were served
 * in.  Deterministic: no waiter can arrive out of the intended order. */
static void fifo_order(const struct sl_prim *p, unsigned *order)
{
	struct fifo_run r = { .prim = p };
	struct fifo_arg args[FIFO_WAITERS];
	pthread_t th[FIFO_WAITERS];
	struct sl_err err;
	void *t;

	r.obj = new_obj(p, FIFO_WAITERS + 1);
	t = new_tctx(p, r.obj);
	p->lock.lock(r.obj, t);
	for (unsigned i = 0; i < FIFO_WAITERS; i++) {
		pid_t tid;

		args[i] = (struct fifo_arg){ &r, i };
		assert_int_equal(pthread_create(&th[i], NULL, fifo_waiter, &args[i]), 0);
		/* acquire: pairs with the waiter's release store of its tid */
		while (!(tid = atomic_load_explicit(&r.tid[i], memory_order_acquire)))
			sched_yield();
		if (!wait_asleep(tid))
			fail_msg("%s: waiter %u never went to sleep in lock()",
				 p->name, i);
	}
	p->lock.unlock(r.obj, t);
	for (unsigned i = 0; i < FIFO_WAITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r.served, FIFO_WAITERS);
	memcpy(order, r.order, sizeof(r.order));
	free_tctx(p, r.obj, t);
	if (p->check)
		assert_int_equal(p->check(r.obj, &err), 0);
	free_obj(p, r.obj);
}

static bool in_arrival_order(const unsigned *order)
{
	for (unsigned i = 0; i < FIFO_WAITERS; i++)
		if (order[i] != i)
			return false;
	return true;
}

/* A lock that hands over directly, like a FIFO one, but to the newest
 * waiter: it claims FIFO and must be caught. */
struct lifo_waiter {
	struct lifo_waiter *below;
	_Atomic uint32_t go;
};
struct lifo_lock {
	_Atomic uint32_t guard; /* protects held and top */
	bool held;
	struct lifo_waiter *top;
};

static void lifo_guard(struct lifo_lock *l)
{
	/* acquire: pairs with the release store in lifo_unguard */
	while (atomic_exchange_explicit(&l->guard, 1, memory_order_acquire))
		sl_cpu_relax();
}

static void lifo_unguard(struct lifo_lock *l)
{
	atomic_store_explicit(&l->guard, 0, memory_order_release);
}

static void lifo_lock(void *obj, void *tctx)
{
	struct lifo_lock *l = obj;
	struct lifo_waiter *me = tctx;

	lifo_guard(l);
	if (!l->held) {
		l->held = true;
		lifo_unguard(l);
		return;
	}
	atomic_store_explicit(&me->go, 0, memory_order_relaxed);
	me->below = l->top;
	l->top = me;
	lifo_unguard(l);
	/* acquire: pairs with the release store of go in lifo_unlock */
	while (!atomic_load_explicit(&me->go, memory_order_acquire))
		sl_futex_wait(&me->go, 0);
}

static void lifo_unlock(void *obj, void *tctx)
{
	struct lifo_lock *l = obj;
	struct lifo_waiter *w;

	(void)tctx;
	lifo_guard(l);
	w = l->top;
	if (w)
		l->top = w->below;
	else
		l->held = false;
	lifo_unguard(l);
	if (w) {
		atomic_store_explicit(&w->go, 1, memory_order_release);
		sl_futex_wake(&w->go, 1);
	}
}

static const struct sl_prim lifo_prim = {
	.name = "test-lifo", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "hands over to the newest waiter while claiming FIFO",
	.flags = SL_PRIM_FIFO | SL_PRIM_SLEEPS | SL_PRIM_HIDDEN,
	.obj_size = sizeof(struct lifo_lock),
	.tctx_size = sizeof(struct lifo_waiter),
	.lock = { .lock = lifo_lock, .unlock = lifo_unlock },
};

static void test_fifo_handoff(void **state)
{
	unsigned order[FIFO_WAITERS], tested = 0;

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!sleeping_lock(p) || !(p->flags & SL_PRIM_FIFO))
			continue;
		fifo_order(p, order);
		if (!in_arrival_order(order))
			fail_msg("%s claims FIFO but served waiters %u %u %u %u %u",
				 p->name, order[0], order[1], order[2], order[3],
				 order[4]);
		tested++;
	}
	assert_non_null(sl_prim_find("mutex-fair"));
	assert_true(tested >= 1);
}

static void test_fifo_check_catches_lifo(void **state)
{
	unsigned order[FIFO_WAITERS];

	(void)state;
	fifo_order(&lifo_prim, order);
	assert_false(in_arrival_order(order));
	assert_int_equal(order[0], FIFO_WAITERS - 1);
}

/* --- trylock against another thread's hold -------------------------------- */

struct holder {
	const struct sl_prim *prim;
	void *obj;
	_Atomic int stage; /* 1 held, 2 release it, 3 released */
	_Atomic pid_t tid;
};

static void *hold_until_told(void *arg)
{
	struct holder *h = arg;
	void *t = new_tctx(h->prim, h->obj);

	h->prim->lock.lock(h->obj, t);
	atomic_store_explicit(&h->tid, gettid(), memory_order_relaxed);
	/* release: the section so far happens-before the main thread's look */
	atomic_store_explicit(&h->stage, 1, memory_order_release);
	/* acquire: pairs with the main thread's release of stage 2 */
	while (atomic_load_explicit(&h->stage, memory_order_acquire) != 2)
		sl_sleep_ns(100 * SL_NS_PER_US, NULL);
	h->prim->lock.unlock(h->obj, t);
	atomic_store_explicit(&h->stage, 3, memory_order_release);
	free_tctx(h->prim, h->obj, t);
	return NULL;
}

static void wait_stage(struct holder *h, int stage)
{
	/* acquire: pairs with the holder's release stores of stage */
	while (atomic_load_explicit(&h->stage, memory_order_acquire) != stage)
		sl_sleep_ns(100 * SL_NS_PER_US, NULL);
}

static void test_trylock_across_threads(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct holder h = { .prim = p };
		struct sl_err err;
		pthread_t th;
		void *t;

		if (!sleeping_lock(p) || !p->lock.trylock)
			continue;
		h.obj = new_obj(p, 2);
		t = new_tctx(p, h.obj);
		assert_int_equal(pthread_create(&th, NULL, hold_until_told, &h), 0);
		wait_stage(&h, 1);
		if (p->lock.trylock(h.obj, t))
			fail_msg("%s: trylock succeeded while another thread held the lock",
				 p->name);
		if (p->check && p->check(h.obj, &err) == 0)
			fail_msg("%s: check passed while the lock was held", p->name);
		atomic_store_explicit(&h.stage, 2, memory_order_release);
		pthread_join(th, NULL);
		if (!p->lock.trylock(h.obj, t))
			fail_msg("%s: trylock failed on a free lock", p->name);
		p->lock.unlock(h.obj, t);
		if (p->check)
			assert_int_equal(p->check(h.obj, &err), 0);
		free_tctx(p, h.obj, t);
		free_obj(p, h.obj);
	}
}

/* --- mutex-pi's futex word ------------------------------------------------ */

struct pi_waiter {
	const struct sl_prim *prim;
	void *obj;
	_Atomic pid_t tid;
	_Atomic uint32_t seen; /* the word while it held the lock */
};

static _Atomic uint32_t *pi_word(void *obj)
{
	return obj; /* pi.c: the futex word is the object's first member */
}

static void *pi_block(void *arg)
{
	struct pi_waiter *w = arg;
	void *t = new_tctx(w->prim, w->obj);

	atomic_store_explicit(&w->tid, gettid(), memory_order_release);
	w->prim->lock.lock(w->obj, t);
	atomic_store_explicit(&w->seen,
			      atomic_load_explicit(pi_word(w->obj), memory_order_relaxed),
			      memory_order_relaxed);
	w->prim->lock.unlock(w->obj, t);
	free_tctx(w->prim, w->obj, t);
	return NULL;
}

static void test_pi_word_holds_owner_tid(void **state)
{
	const struct sl_prim *p = sl_prim_find("mutex-pi");
	struct holder h = { .prim = p };
	struct pi_waiter w = { .prim = p };
	struct sl_err err;
	pthread_t holder_th, waiter_th;
	pid_t htid, wtid;
	uint32_t word;

	(void)state;
	assert_non_null(p);
	if (!runnable_here(p))
		skip();
	h.obj = w.obj = new_obj(p, 2);
	assert_int_equal(atomic_load(pi_word(h.obj)), 0);

	/* Held without contention: exactly the owner's TID. */
	assert_int_equal(pthread_create(&holder_th, NULL, hold_until_told, &h), 0);
	wait_stage(&h, 1);
	htid = atomic_load_explicit(&h.tid, memory_order_relaxed);
	assert_int_equal(atomic_load(pi_word(h.obj)), (uint32_t)htid);
	assert_int_equal(p->check(h.obj, &err), -EPROTO);

	/* A blocked waiter: the kernel adds FUTEX_WAITERS, the TID stays. */
	assert_int_equal(pthread_create(&waiter_th, NULL, pi_block, &w), 0);
	while (!(wtid = atomic_load_explicit(&w.tid, memory_order_acquire)))
		sched_yield();
	if (!wait_asleep(wtid))
		fail_msg("mutex-pi: the waiter never blocked in FUTEX_LOCK_PI");
	word = atomic_load(pi_word(h.obj));
	assert_int_equal(word & FUTEX_TID_MASK, (uint32_t)htid);
	assert_true(word & FUTEX_WAITERS);

	/* Unlock hands the lock to the waiter: its TID while it holds it. */
	atomic_store_explicit(&h.stage, 2, memory_order_release);
	pthread_join(holder_th, NULL);
	pthread_join(waiter_th, NULL);
	assert_int_equal(atomic_load(&w.seen) & FUTEX_TID_MASK, (uint32_t)wtid);
	assert_int_equal(atomic_load(pi_word(h.obj)), 0);
	assert_int_equal(p->check(h.obj, &err), 0);
	free_obj(p, h.obj);
}

/* --- end to end through the runner ---------------------------------------- */

static struct sl_point point(const struct sl_prim *p, unsigned threads)
{
	struct sl_point pt = {
		.prim = p,
		.threads = threads,
		.rep = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.topo = two_pus ? two_pus : topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	return pt;
}

static void run_ok(const struct sl_point *pt, const char *what)
{
	struct sl_result res;
	struct sl_err err;

	if (sl_run_point(pt, &res, &err) < 0)
		fail_msg("%s, %s: %s", pt->prim->name, what, err.msg);
	if (res.status != SL_STATUS_OK)
		fail_msg("%s, %s: %s: %s", pt->prim->name, what,
			 sl_status_name(res.status), res.message);
	/* Ops of the window can be 0 for a hand-off lock on a loaded machine;
	 * counting warm-up and drain, something must have completed. */
	{
		uint64_t total = 0;

		for (unsigned i = 0; i < res.threads; i++)
			total += res.thread[i].total_ops;
		if (total == 0)
			fail_msg("%s, %s: no operation completed", pt->prim->name,
				 what);
	}
	sl_result_release(&res);
}

/* Every sleeping lock, oversubscribed four to one on two PUs (waiters sleep
 * and owners get preempted) and with sections longer than a wake-up. */
static void test_sleeping_locks_through_runner(void **state)
{
	const char *const mine[] = { "mutex-fair", "adaptive", "mutex-pi",
				     "pthread-adaptive", "pthread-pi" };

	(void)state;
	/* The loop below covers these by their flags: make sure it does. */
	for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		const struct sl_prim *p = sl_prim_find(mine[i]);

		if (!p)
			fail_msg("%s is not registered", mine[i]);
		assert_true(p->kind == SL_KIND_LOCK && (p->flags & SL_PRIM_SLEEPS));
	}
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_point pt;

		if (!sleeping_lock(p))
			continue;
		pt = point(p, 8);
		pt.cs_ns = 100;
		run_ok(&pt, "8 threads on 2 PUs");
		pt = point(p, 3);
		pt.cs_ns = 20000;
		pt.cs_lines = 2;
		run_ok(&pt, "20 us sections");
	}
}

/* adaptive in both of its regimes and across its switch: short sections
 * with threads <= PUs (it spins), 8 threads on 2 PUs (the spinner limit
 * holds most back), sections longer than a park (it spins for a park's
 * cost) and far longer (it parks at once), many instances, and every
 * thread on one PU (no spinner at all: the limit is the PUs less one). */
static void test_adaptive_regimes(void **state)
{
	const struct sl_prim *p = sl_prim_find("adaptive");
	struct sl_point pt;

	(void)state;
	assert_non_null(p);
	pt = point(p, 2);
	pt.cs_ns = 50;
	run_ok(&pt, "2 threads, 50 ns sections");
	pt = point(p, 8);
	pt.cs_ns = 50;
	pt.duration_ns = 150 * SL_NS_PER_MS;
	run_ok(&pt, "8 threads on 2 PUs");
	pt = point(p, 8);
	pt.cs_ns = 30000;
	pt.think_ns = 2000;
	run_ok(&pt, "8 threads, 30 us sections");
	pt = point(p, 3);
	pt.cs_ns = 250000;
	pt.duration_ns = 100 * SL_NS_PER_MS;
	run_ok(&pt, "3 threads, 250 us sections");
	pt = point(p, 4);
	pt.cs_ns = 200;
	pt.locks = 3;
	run_ok(&pt, "4 threads, 3 locks");
	if (one_pu) {
		pt = point(p, 3);
		pt.topo = one_pu;
		pt.cs_ns = 50;
		run_ok(&pt, "3 threads on 1 PU");
	}
}

/* A thread that takes the lock once, behind the main thread's hold. */
struct park_run {
	const struct sl_prim *prim;
	void *obj;
	_Atomic pid_t tid;
	_Atomic int done;
	unsigned inside; /* under the lock */
	uint64_t events[SL_PRIM_EVENTS]; /* the waiter's, summed over rounds */
};

/* Position of the primitive's event called name; fails the test if it
 * counts no such event. */
static unsigned event_index(const struct sl_prim *p, const char *name)
{
	for (unsigned e = 0; e < sl_prim_event_count(p); e++)
		if (strcmp(p->event_names[e], name) == 0)
			return e;
	fail_msg("%s counts no %s", p->name, name);
	return 0;
}

static void *park_behind(void *arg)
{
	struct park_run *r = arg;
	void *t = new_tctx(r->prim, r->obj);

	/* release: the main thread reads the tid, nothing else */
	atomic_store_explicit(&r->tid, gettid(), memory_order_release);
	r->prim->lock.lock(r->obj, t);
	r->inside++;
	r->prim->lock.unlock(r->obj, t);
	if (r->prim->events) {
		uint64_t ev[SL_PRIM_EVENTS] = { 0 };

		r->prim->events(t, ev);
		for (unsigned e = 0; e < SL_PRIM_EVENTS; e++)
			r->events[e] += ev[e];
	}
	free_tctx(r->prim, r->obj, t);
	atomic_store_explicit(&r->done, 1, memory_order_release);
	return NULL;
}

/* Park a thread behind a held lock `rounds` times: it must stop spinning and
 * sleep, and the release must wake it.  Each round first takes and releases
 * the lock 4096 times uncontended (for adaptive: back to its plain-store
 * release mode).  A primitive that counts sleeps and wakes must have
 * counted each: one sleep at least per round for the waiter, one wake per
 * round for the holder, which alone releases while the waiter sleeps. */
static void park_and_wake(const char *name, unsigned rounds)
{
	struct park_run r = { .prim = sl_prim_find(name) };
	const struct sl_lock_ops *ops;
	struct sl_err err;
	void *t;

	if (!r.prim)
		fail_msg("%s is not registered", name);
	ops = &r.prim->lock;
	r.obj = new_obj(r.prim, 2);
	t = new_tctx(r.prim, r.obj);
	for (unsigned round = 0; round < rounds; round++) {
		pthread_t th;
		pid_t tid;

		for (int i = 0; i < 4096; i++) {
			ops->lock(r.obj, t);
			ops->unlock(r.obj, t);
		}
		ops->lock(r.obj, t);
		atomic_store_explicit(&r.tid, 0, memory_order_relaxed);
		atomic_store_explicit(&r.done, 0, memory_order_relaxed);
		assert_int_equal(pthread_create(&th, NULL, park_behind, &r), 0);
		while (!(tid = atomic_load_explicit(&r.tid, memory_order_acquire)))
			sl_sleep_ns(100 * SL_NS_PER_US, NULL);
		if (!wait_asleep(tid))
			fail_msg("%s, round %u: the waiter did not go to sleep behind the held lock",
				 name, round);
		ops->unlock(r.obj, t);
		for (int i = 0; i < 5000 &&
				!atomic_load_explicit(&r.done, memory_order_acquire);
		     i++)
			sl_sleep_ns(2 * SL_NS_PER_MS, NULL);
		if (!atomic_load_explicit(&r.done, memory_order_acquire))
			fail_msg("%s, round %u: the sleeper was still asleep 10 s after the release (lost wake-up)",
				 name, round);
		pthread_join(th, NULL);
	}
	assert_int_equal(r.inside, rounds);
	assert_int_equal(r.prim->check(r.obj, &err), 0);
	if (r.prim->events) {
		uint64_t mine[SL_PRIM_EVENTS] = { 0 };
		unsigned sleeps = event_index(r.prim, "sleeps");
		unsigned wakes = event_index(r.prim, "wakes");

		r.prim->events(t, mine);
		if (r.events[sleeps] < rounds || mine[wakes] != rounds)
			fail_msg("%s: %u rounds counted %" PRIu64 " sleeps by the waiter and %" PRIu64 " wakes by the holder (expected at least %u and exactly %u)",
				 name, rounds, r.events[sleeps], mine[wakes],
				 rounds, rounds);
	}
	free_tctx(r.prim, r.obj, t);
	free_obj(r.prim, r.obj);
}

/* adaptive releases with a plain store while nobody sleeps and with an
 * exchange once someone has: a thread that parks behind a holder in the
 * plain-store mode must still be woken by that holder's release.  Each
 * round first returns the lock to that mode (uncontended holds, more than
 * the 1024 it waits before trying the plain store again). */
static void test_adaptive_wakes_sleeper_in_every_release_mode(void **state)
{
	(void)state;
	park_and_wake("adaptive", 5);
}

/* The futex mutexes spin for a bounded time only: a waiter behind a lock
 * held for good ends up asleep, and the release wakes it. */
static void test_mutex_spin_is_bounded(void **state)
{
	(void)state;
	park_and_wake("mutex", 3);
	park_and_wake("mutex-fair", 3);
}

/* A spin-then-park lock whose spin phase takes a free lock with a load and
 * a separate store: two spinners can both see it free. */
static void bad_lock(void *obj, void *tctx)
{
	_Atomic uint32_t *w = obj;

	(void)tctx;
	for (int i = 0; i < 1000; i++) {
		if (atomic_load_explicit(w, memory_order_acquire) == 0) {
			for (int k = 0; k < 4; k++)
				sl_cpu_relax(); /* widen the window */
			atomic_store_explicit(w, 1, memory_order_relaxed);
			return;
		}
		sl_cpu_relax();
	}
	while (atomic_exchange_explicit(w, 2, memory_order_acquire) != 0)
		sl_futex_wait(w, 2);
}

static void bad_unlock(void *obj, void *tctx)
{
	_Atomic uint32_t *w = obj;

	(void)tctx;
	if (atomic_exchange_explicit(w, 0, memory_order_release) == 2)
		sl_futex_wake(w, 1);
}

static const struct sl_prim bad_adaptive_prim = {
	.name = "test-bad-adaptive", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "spin phase not atomic", .flags = SL_PRIM_SLEEPS | SL_PRIM_HIDDEN,
	.obj_size = sizeof(uint32_t),
	.lock = { .lock = bad_lock, .unlock = bad_unlock },
};

static void test_runner_catches_bad_spin_phase(void **state)
{
	struct sl_point pt = point(&bad_adaptive_prim, 2);
	struct sl_result res;
	struct sl_err err;
	int tries;

	(void)state;
	if (!two_pus)
		skip();
	pt.cs_ns = 100;
	pt.duration_ns = 200 * SL_NS_PER_MS;
	for (tries = 0; tries < 10; tries++) {
		assert_int_equal(sl_run_point(&pt, &res, &err), 0);
		if (res.status != SL_STATUS_OK)
			break;
		sl_result_release(&res);
	}
	assert_true(tries < 10);
	assert_int_equal(res.status, SL_STATUS_CHECK_FAILED);
	assert_non_null(strstr(res.message, "mutual exclusion violated"));
	sl_result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_handoff),
		cmocka_unit_test(test_fifo_check_catches_lifo),
		cmocka_unit_test(test_trylock_across_threads),
		cmocka_unit_test(test_pi_word_holds_owner_tid),
		cmocka_unit_test(test_sleeping_locks_through_runner),
		cmocka_unit_test(test_adaptive_regimes),
		cmocka_unit_test(test_adaptive_wakes_sleeper_in_every_release_mode),
		cmocka_unit_test(test_mutex_spin_is_bounded),
		cmocka_unit_test(test_runner_catches_bad_spin_phase),
	};

	return cmocka_run_group_tests_name("mutexes", tests, setup_pus, teardown_pus);
}
