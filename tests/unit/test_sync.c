/*
 * Semaphores, condition variables and barriers: every registered primitive
 * of the three kinds, found by looping over the registry.
 *
 * Directly through the descriptor: a semaphore's count and its check, a
 * blocked waiter released by post, sem's and condvar's rationing of wake
 * calls; and
 * tortures with PLAIN shared data (a
 * K=1 semaphore used as a lock, a bounded buffer under the monitor, data
 * exchanged across barrier phases), so that under ThreadSanitizer (make
 * tsan-check) a primitive whose acquire/release do not order the data is
 * reported as a race.
 *
 * End to end through sl_run_point: each semaphore with 1 and 3 permits,
 * each monitor with 1/1, 3/1 and 1/3 producers/consumers and 1 and 16
 * slots, each barrier with 2, 3 and 5 threads (5 on a 2-PU machine is
 * oversubscribed: spin barriers must still make progress and stop).  And
 * deliberately broken primitives defined here must be caught: a semaphore
 * that lets K+1 in, a monitor whose signal does nothing, a barrier that lets
 * the last-but-one thread through early.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning/pin.h"
#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#include "prim_fixture.h"

#include "machine_fixture.h"

static bool testable(const struct sl_prim *p, enum sl_prim_kind kind)
{
	return p->kind == kind && !(p->flags & SL_PRIM_HIDDEN) &&
	       (!p->supported || p->supported((char[192]){ 0 }, 192));
}

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
		.permits = 1,
		.capacity = 16,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	return pt;
}

/* Run pt and return its result; the caller checks the status. */
static void run(struct sl_point *pt, struct sl_result *res)
{
	struct sl_err err;

	if (sl_point_resolve(pt, &err) < 0)
		fail_msg("%s: %s", pt->prim->name, err.msg);
	if (sl_run_point(pt, res, &err) < 0)
		fail_msg("%s: %s", pt->prim->name, err.msg);
}

/* --- semaphores, directly ---------------------------------------------- */

/* A thread that waits once on a primitive, for the tests below. */
struct waiter {
	const struct sl_prim *p;
	void *obj;
	_Atomic int passed;
};

static void *sem_waiter_thread(void *arg)
{
	struct waiter *sw = arg;
	void *t = new_tctx(sw->p, sw->obj);

	sw->p->sem.wait(sw->obj, t);
	atomic_store_explicit(&sw->passed, 1, memory_order_relaxed);
	sw->p->sem.post(sw->obj, t);
	free_tctx(sw->p, sw->obj, t);
	return NULL;
}

static void test_sem_semantics(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim_conf conf = { .nthreads = 2, .permits = 3 };
		struct waiter sw = { .p = p };
		struct sl_err err;
		pthread_t th;
		void *t;

		if (!testable(p, SL_KIND_SEM))
			continue;
		assert_non_null(p->sem.wait);
		assert_non_null(p->sem.post);
		sw.obj = new_obj_conf(p, &conf);
		t = new_tctx(p, sw.obj);
		if (p->check)
			assert_int_equal(p->check(sw.obj, &err), 0);
		for (int k = 0; k < 3; k++)
			p->sem.wait(sw.obj, t);
		if (p->check)
			assert_int_equal(p->check(sw.obj, &err), -EPROTO);
		/* No permit left: a fourth waiter must block until a post. */
		assert_int_equal(pthread_create(&th, NULL, sem_waiter_thread, &sw), 0);
		sl_sleep_ns(20 * SL_NS_PER_MS, NULL);
		if (atomic_load_explicit(&sw.passed, memory_order_relaxed))
			fail_msg("%s: a waiter passed with no permit free", p->name);
		for (int k = 0; k < 3; k++)
			p->sem.post(sw.obj, t);
		pthread_join(th, NULL);
		assert_true(atomic_load_explicit(&sw.passed, memory_order_relaxed));
		if (p->check)
			assert_int_equal(p->check(sw.obj, &err), 0);
		free_tctx(p, sw.obj, t);
		free_obj(p, sw.obj);
	}
}

/*
 * sem's wake rationing, white-box: a waiter the kernel no longer holds but
 * that has not yet run is covered by the wake already sent, so a second
 * post makes no FUTEX_WAKE; and the wake that found nobody must not strand
 * the waiter when it next sleeps.  The waiter is taken out of the futex's
 * queue without running by requeueing it onto a private futex (it stays
 * asleep there), as a thread woken but waiting for a CPU would be.
 */

/* sem's futex, and a condvar queue's, is the low half of a 64-bit word. */
static _Atomic uint32_t *low_half_futex(void *obj)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (_Atomic uint32_t *)((char *)obj + 4);
#else
	return obj;
#endif
}

/* FUTEX_CMP_REQUEUE while the futex reads 0: move up to n sleepers from
 * `from` to `to` (the same address only counts them).  Returns how many
 * were queued on `from`, or -1 with errno. */
static long futex_requeue(_Atomic uint32_t *from, _Atomic uint32_t *to, int n)
{
	return syscall(SYS_futex, (uint32_t *)from, FUTEX_CMP_REQUEUE_PRIVATE, 0,
		       (void *)(uintptr_t)n, (uint32_t *)to, 0);
}

/* Wait until a thread sleeps on the futex; false after 5 s. */
static bool await_sleeper(_Atomic uint32_t *f)
{
	for (int i = 0; i < 5000; i++) {
		long n = futex_requeue(f, f, 1);

		if (n < 0 && errno != EAGAIN)
			fail_msg("FUTEX_CMP_REQUEUE onto itself: %s", strerror(errno));
		if (n > 0)
			return true;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	}
	return false;
}

/* Join th; false if it has not returned within `seconds`. */
static bool joined_within(pthread_t th, int seconds)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	return pthread_timedjoin_np(th, NULL, &until) == 0;
}

/* The wakes a semaphore's or monitor's context counted (its second event). */
static uint64_t wakes_counted(const struct sl_prim *p, void *t)
{
	uint64_t ev[SL_PRIM_EVENTS] = { 0 };

	p->events(t, ev);
	return ev[1];
}

static void test_sem_wake_rationing(void **state)
{
	const struct sl_prim *p = sl_prim_find("sem");
	struct sl_prim_conf conf = { .nthreads = 2, .permits = 2 };
	struct waiter sw = { .p = p };
	_Atomic uint32_t parking = 0;
	_Atomic uint32_t *f;
	struct sl_err err;
	pthread_t th;
	void *t;

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->event_names[1], "wakes");
	sw.obj = new_obj_conf(p, &conf);
	f = low_half_futex(sw.obj);
	t = new_tctx(p, sw.obj);
	p->sem.wait(sw.obj, t);
	p->sem.wait(sw.obj, t);
	assert_int_equal(pthread_create(&th, NULL, sem_waiter_thread, &sw), 0);
	if (!await_sleeper(f))
		fail_msg("sem: the waiter never slept on the futex with no permit free");
	assert_int_equal(futex_requeue(f, &parking, 1), 1);
	/* Out of the queue, not running: the first post's wake finds nobody
	 * and stays pending; the second finds the waiter covered. */
	p->sem.post(sw.obj, t);
	assert_int_equal(wakes_counted(p, t), 1);
	p->sem.post(sw.obj, t);
	if (wakes_counted(p, t) != 1)
		fail_msg("sem: a second post woke again (%llu wakes) while the first wake was pending",
			 (unsigned long long)wakes_counted(p, t));
	/* Take both permits back, then let the waiter run: it finds none and
	 * the stale wake pending, and must sleep so that a post reaches it. */
	p->sem.wait(sw.obj, t);
	p->sem.wait(sw.obj, t);
	assert_int_equal(sl_futex_wake(&parking, 1), 1);
	if (!await_sleeper(f))
		fail_msg("sem: the waiter did not sleep again after a wake that found nobody");
	assert_false(atomic_load_explicit(&sw.passed, memory_order_relaxed));
	p->sem.post(sw.obj, t);
	assert_int_equal(wakes_counted(p, t), 2);
	if (!joined_within(th, 5))
		fail_msg("sem: the post after a stale wake left the waiter asleep (lost wake-up)");
	p->sem.post(sw.obj, t);
	assert_int_equal(p->check(sw.obj, &err), 0);
	free_tctx(p, sw.obj, t);
	free_obj(p, sw.obj);
}

/*
 * condvar's wake rationing, white-box as for sem: a waiter requeued off
 * its queue's futex (asleep elsewhere, as a woken thread waiting for a CPU
 * is out of the kernel's queue) is covered by the first signal's wake, so a
 * second signal makes no FUTEX_WAKE.  Queue 0's word starts on the line
 * after the mutex's; its futex is the word's low half.
 */
static void *cond_waiter_thread(void *arg)
{
	struct waiter *cw = arg;
	void *t = new_tctx(cw->p, cw->obj);

	cw->p->cond.lock(cw->obj, t);
	cw->p->cond.wait(cw->obj, t, 0);
	atomic_store_explicit(&cw->passed, 1, memory_order_relaxed);
	cw->p->cond.unlock(cw->obj, t);
	free_tctx(cw->p, cw->obj, t);
	return NULL;
}

static void test_cond_wake_rationing(void **state)
{
	const struct sl_prim *p = sl_prim_find("condvar");
	struct sl_prim_conf conf = { .nthreads = 2 };
	struct waiter cw = { .p = p };
	_Atomic uint32_t parking = 0;
	_Atomic uint32_t *f;
	struct sl_err err;
	pthread_t th;
	void *t;

	(void)state;
	assert_non_null(p);
	assert_string_equal(p->event_names[1], "wakes");
	cw.obj = new_obj_conf(p, &conf);
	f = low_half_futex((char *)cw.obj + SL_CACHELINE);
	t = new_tctx(p, cw.obj);
	assert_int_equal(pthread_create(&th, NULL, cond_waiter_thread, &cw), 0);
	if (!await_sleeper(f))
		fail_msg("condvar: the waiter never slept on its queue's futex");
	assert_int_equal(futex_requeue(f, &parking, 1), 1);
	p->cond.lock(cw.obj, t);
	p->cond.signal(cw.obj, t, 0);
	assert_int_equal(wakes_counted(p, t), 1);
	p->cond.signal(cw.obj, t, 0);
	if (wakes_counted(p, t) != 1)
		fail_msg("condvar: a second signal woke again (%llu wakes) while the first wake was pending",
			 (unsigned long long)wakes_counted(p, t));
	p->cond.unlock(cw.obj, t);
	assert_int_equal(sl_futex_wake(&parking, 1), 1);
	if (!joined_within(th, 5))
		fail_msg("condvar: the waiter did not return from wait after its wake");
	assert_true(atomic_load_explicit(&cw.passed, memory_order_relaxed));
	/* Nobody waits now: a signal changes nothing and calls nobody. */
	p->cond.signal(cw.obj, t, 0);
	assert_int_equal(wakes_counted(p, t), 1);
	assert_int_equal(p->check(cw.obj, &err), 0);
	free_tctx(p, cw.obj, t);
	free_obj(p, cw.obj);
}

#define TORTURE_THREADS 4
#define SEM_TORTURE_ITERS 20000

struct sem_torture {
	const struct sl_prim *p;
	void *obj;
	uint64_t plain_counter; /* plain: only the K=1 semaphore orders it */
	uint64_t plain_shadow;
	int failures;
};

static void *sem_torture_thread(void *arg)
{
	struct sem_torture *st = arg;
	void *t = new_tctx(st->p, st->obj);

	for (int i = 0; i < SEM_TORTURE_ITERS; i++) {
		st->p->sem.wait(st->obj, t);
		if (st->plain_shadow != st->plain_counter)
			st->failures++;
		st->plain_counter++;
		st->plain_shadow = st->plain_counter;
		st->p->sem.post(st->obj, t);
	}
	free_tctx(st->p, st->obj, t);
	return NULL;
}

static void test_sem_torture(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim_conf conf = { .nthreads = TORTURE_THREADS, .permits = 1 };
		struct sem_torture st = { .p = p };
		pthread_t th[TORTURE_THREADS];
		struct sl_err err;

		if (!testable(p, SL_KIND_SEM))
			continue;
		st.obj = new_obj_conf(p, &conf);
		for (int k = 0; k < TORTURE_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, sem_torture_thread, &st), 0);
		for (int k = 0; k < TORTURE_THREADS; k++)
			pthread_join(th[k], NULL);
		if (st.plain_counter != (uint64_t)TORTURE_THREADS * SEM_TORTURE_ITERS ||
		    st.failures)
			fail_msg("%s: counter %llu (expected %d), %d inconsistent sections",
				 p->name, (unsigned long long)st.plain_counter,
				 TORTURE_THREADS * SEM_TORTURE_ITERS, st.failures);
		if (p->check)
			assert_int_equal(p->check(st.obj, &err), 0);
		free_obj(p, st.obj);
	}
}

/* --- monitors, directly ------------------------------------------------ */

#define CT_ITEMS 5000 /* per producer */
#define CT_CAP 2
enum { CT_NOT_FULL, CT_NOT_EMPTY };

struct cond_torture {
	const struct sl_prim *p;
	void *obj;
	/* Plain: only the monitor's mutex orders them. */
	uint64_t ring[CT_CAP];
	unsigned head, tail, count;
	unsigned taken;    /* items consumed, all consumers */
	uint64_t sum;      /* of item values consumed */
};

static void *cond_producer(void *arg)
{
	struct cond_torture *ct = arg;
	const struct sl_cond_ops *o = &ct->p->cond;
	void *t = new_tctx(ct->p, ct->obj);

	for (uint64_t v = 1; v <= CT_ITEMS; v++) {
		o->lock(ct->obj, t);
		while (ct->count == CT_CAP)
			o->wait(ct->obj, t, CT_NOT_FULL);
		ct->ring[ct->tail] = v;
		ct->tail = (ct->tail + 1) % CT_CAP;
		ct->count++;
		o->signal(ct->obj, t, CT_NOT_EMPTY);
		o->unlock(ct->obj, t);
	}
	free_tctx(ct->p, ct->obj, t);
	return NULL;
}

static void *cond_consumer(void *arg)
{
	struct cond_torture *ct = arg;
	const struct sl_cond_ops *o = &ct->p->cond;
	void *t = new_tctx(ct->p, ct->obj);
	const unsigned total = 2 * CT_ITEMS;

	for (;;) {
		o->lock(ct->obj, t);
		while (ct->count == 0 && ct->taken < total)
			o->wait(ct->obj, t, CT_NOT_EMPTY);
		if (ct->taken == total) {
			/* The last item is gone: release the other consumer. */
			o->broadcast(ct->obj, t, CT_NOT_EMPTY);
			o->unlock(ct->obj, t);
			break;
		}
		ct->sum += ct->ring[ct->head];
		ct->head = (ct->head + 1) % CT_CAP;
		ct->count--;
		ct->taken++;
		o->signal(ct->obj, t, CT_NOT_FULL);
		if (ct->taken == total)
			o->broadcast(ct->obj, t, CT_NOT_EMPTY);
		o->unlock(ct->obj, t);
	}
	free_tctx(ct->p, ct->obj, t);
	return NULL;
}

static void test_cond_torture(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim_conf conf = { .nthreads = 4 };
		struct cond_torture ct = { .p = p };
		pthread_t th[4];
		struct sl_err err;

		if (!testable(p, SL_KIND_CONDVAR))
			continue;
		ct.obj = new_obj_conf(p, &conf);
		assert_int_equal(pthread_create(&th[0], NULL, cond_producer, &ct), 0);
		assert_int_equal(pthread_create(&th[1], NULL, cond_producer, &ct), 0);
		assert_int_equal(pthread_create(&th[2], NULL, cond_consumer, &ct), 0);
		assert_int_equal(pthread_create(&th[3], NULL, cond_consumer, &ct), 0);
		for (int k = 0; k < 4; k++)
			pthread_join(th[k], NULL);
		if (ct.taken != 2 * CT_ITEMS || ct.count != 0 ||
		    ct.sum != 2 * (uint64_t)CT_ITEMS * (CT_ITEMS + 1) / 2)
			fail_msg("%s: %u items taken (expected %d), %u left, sum %llu",
				 p->name, ct.taken, 2 * CT_ITEMS, ct.count,
				 (unsigned long long)ct.sum);
		if (p->check)
			assert_int_equal(p->check(ct.obj, &err), 0);
		free_obj(p, ct.obj);
	}
}

/* --- barriers, directly ------------------------------------------------ */

#define BT_THREADS 2 /* no more than this VM's PUs: spin barriers */
#define BT_ROUNDS 1000

struct barrier_torture {
	const struct sl_prim *p;
	void *obj;
	uint64_t plain[BT_THREADS]; /* plain: only the barrier orders them */
	_Atomic unsigned next_id;
	_Atomic int failures;
};

static void *barrier_torture_thread(void *arg)
{
	struct barrier_torture *bt = arg;
	unsigned me = atomic_fetch_add_explicit(&bt->next_id, 1, memory_order_relaxed);
	void *t = new_tctx(bt->p, bt->obj);

	for (uint64_t r = 1; r <= BT_ROUNDS; r++) {
		bt->plain[me] = r;
		bt->p->barrier.wait(bt->obj, t);
		for (unsigned j = 0; j < BT_THREADS; j++)
			if (bt->plain[j] != r)
				atomic_fetch_add_explicit(&bt->failures, 1,
							  memory_order_relaxed);
		/* Nobody writes round r+1 before everyone read round r. */
		bt->p->barrier.wait(bt->obj, t);
	}
	free_tctx(bt->p, bt->obj, t);
	return NULL;
}

static void test_barrier_torture(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim_conf conf = { .nthreads = BT_THREADS };
		struct barrier_torture bt = { .p = p };
		pthread_t th[BT_THREADS];
		struct sl_err err;

		if (!testable(p, SL_KIND_BARRIER))
			continue;
		assert_non_null(p->barrier.wait);
		bt.obj = new_obj_conf(p, &conf);
		for (int k = 0; k < BT_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, barrier_torture_thread, &bt), 0);
		for (int k = 0; k < BT_THREADS; k++)
			pthread_join(th[k], NULL);
		if (atomic_load(&bt.failures))
			fail_msg("%s: %d reads saw another thread's data from the wrong phase",
				 p->name, atomic_load(&bt.failures));
		if (p->check)
			assert_int_equal(p->check(bt.obj, &err), 0);
		free_obj(p, bt.obj);
	}
}

/* --- end to end through the runner ------------------------------------- */

static void expect_ok(const struct sl_prim *p, struct sl_result *res,
		      const char *what)
{
	if (res->status != SL_STATUS_OK)
		fail_msg("%s (%s): %s: %s", p->name, what,
			 sl_status_name(res->status), res->message);
	if (res->ops == 0)
		fail_msg("%s (%s): no op completed in the window", p->name, what);
}

static void test_sem_runs(void **state)
{
	static const unsigned permits[] = { 1, 3 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p, SL_KIND_SEM))
			continue;
		for (size_t k = 0; k < 2; k++) {
			struct sl_point pt = point(p, 4);
			struct sl_result res;
			char what[32];

			pt.permits = permits[k];
			pt.cs_ns = 200;
			run(&pt, &res);
			snprintf(what, sizeof(what), "K=%u", permits[k]);
			expect_ok(p, &res, what);
			sl_result_release(&res);
		}
	}
}

static void test_cond_runs(void **state)
{
	static const unsigned split[][2] = { { 1, 1 }, { 3, 1 }, { 1, 3 } };
	static const unsigned caps[] = { 1, 16 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p, SL_KIND_CONDVAR))
			continue;
		for (size_t s = 0; s < 3; s++) {
			for (size_t c = 0; c < 2; c++) {
				struct sl_point pt = point(p, split[s][0] + split[s][1]);
				struct sl_result res;
				char what[64];

				pt.producers = split[s][0];
				pt.consumers = split[s][1];
				pt.capacity = caps[c];
				run(&pt, &res);
				snprintf(what, sizeof(what), "%u producers, %u consumers, %u slots",
					 split[s][0], split[s][1], caps[c]);
				expect_ok(p, &res, what);
				sl_result_release(&res);
			}
		}
	}
}

static void test_barrier_runs(void **state)
{
	static const unsigned threads[] = { 2, 3, 5 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p, SL_KIND_BARRIER))
			continue;
		for (size_t k = 0; k < 3; k++) {
			struct sl_point pt = point(p, threads[k]);
			struct sl_result res;
			char what[32];

			/* A spin barrier completes a phase only while every one
			 * of its threads runs: on a loaded 2-CPU machine (a
			 * sanitizer build beside other tests) a 60 ms window
			 * may see none even with a PU per thread.  Such a
			 * window is run again, up to three times in all. */
			run(&pt, &res);
			for (int again = 0; again < 2 && !(p->flags & SL_PRIM_SLEEPS) &&
					    res.status == SL_STATUS_OK && res.ops == 0;
			     again++) {
				sl_result_release(&res);
				run(&pt, &res);
			}
			snprintf(what, sizeof(what), "%u threads", threads[k]);
			/* Oversubscribed, every window may see none: it must
			 * still end cleanly, every thread in step. */
			if (res.oversubscribed && !(p->flags & SL_PRIM_SLEEPS) &&
			    res.status == SL_STATUS_OK && res.ops == 0)
				print_message("%s, %s: no phase in the window (oversubscribed spin barrier)\n",
					      p->name, what);
			else
				expect_ok(p, &res, what);
			/* Everyone left after the same phase. */
			for (unsigned t = 1; t < threads[k]; t++)
				assert_int_equal(res.thread[t].total_ops,
						 res.thread[0].total_ops);
			sl_result_release(&res);
		}
	}
}

/* --- broken primitives must be caught ---------------------------------- */

/* A semaphore that hands out one permit too many. */
static int sem_plus_one_init(void *obj, const struct sl_prim_conf *conf,
			     struct sl_err *err)
{
	struct sl_prim_conf more = *conf;

	more.permits++;
	return sl_prim_find("sem")->init(obj, &more, err);
}

static void test_broken_sem_caught(void **state)
{
	struct sl_prim broken = *sl_prim_find("sem");
	struct sl_result res;
	int tries;

	(void)state;
	broken.name = "test-sem-plus-one";
	broken.init = sem_plus_one_init;
	/* Two holders at once needs two threads inside together: certain on
	 * two PUs within milliseconds, a matter of preemption on one. */
	for (tries = 0; tries < 5; tries++) {
		struct sl_point pt = point(&broken, 4);

		pt.permits = 1;
		pt.cs_ns = 500;
		run(&pt, &res);
		if (res.status != SL_STATUS_OK)
			break;
		sl_result_release(&res);
	}
	assert_true(tries < 5);
	if (res.status != SL_STATUS_CHECK_FAILED)
		fail_msg("%s: %s", sl_status_name(res.status), res.message);
	assert_non_null(strstr(res.message, "threads in at once"));
	sl_result_release(&res);
}

/* A monitor whose signal does nothing (broadcast still works). */
static void no_signal(void *obj, void *tctx, unsigned q)
{
	(void)obj;
	(void)tctx;
	(void)q;
}

static void test_lost_wakeup_caught(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_prim broken;
		struct sl_point pt;
		struct sl_result res;
		uint64_t t0 = sl_now_ns();

		if (!testable(p, SL_KIND_CONDVAR))
			continue;
		broken = *p;
		broken.cond.signal = no_signal;
		pt = point(&broken, 2);
		pt.producers = 1;
		pt.consumers = 1;
		pt.capacity = 4;
		pt.stall_timeout_ns = SL_NS_PER_SEC;
		run(&pt, &res);
		if (res.status != SL_STATUS_CHECK_FAILED && res.status != SL_STATUS_STUCK)
			fail_msg("%s without signal: %s, %llu ops: %s", p->name,
				 sl_status_name(res.status),
				 (unsigned long long)res.ops, res.message);
		if (res.status == SL_STATUS_CHECK_FAILED)
			assert_non_null(strstr(res.message, "lost wake-up"));
		assert_true(sl_now_ns() - t0 < 3 * SL_NS_PER_SEC);
		sl_result_release(&res);
	}
}

/*
 * A barrier that lets the last-but-one arriver through without waiting.
 * Otherwise it keeps its phases straight -- a thread first waits for the
 * previous phase to complete, and arrivals are counted from 0 forever, so
 * phase ph's are ph*n .. ph*n+n-1 -- so the run still ends and the shape
 * reports the early pass rather than hanging.  Waiters sleep on the
 * generation word.
 */
struct early_barrier {
	_Atomic uint32_t arrivals;
	_Atomic uint32_t gen; /* phases completed */
	unsigned n;
};

struct early_tctx {
	uint32_t phase;
};

static int early_init(void *obj, const struct sl_prim_conf *conf,
		      struct sl_err *err)
{
	struct early_barrier *b = obj;

	(void)err;
	atomic_init(&b->arrivals, 0);
	atomic_init(&b->gen, 0);
	b->n = conf->nthreads;
	return 0;
}

static void early_wait_gen(struct early_barrier *b, uint32_t until)
{
	uint32_t g;

	/* acquire: pairs with the release store of gen below */
	while ((g = atomic_load_explicit(&b->gen, memory_order_acquire)) < until)
		sl_futex_wait(&b->gen, g);
}

static void early_wait(void *obj, void *tctx)
{
	struct early_barrier *b = obj;
	struct early_tctx *t = tctx;
	uint32_t ph = t->phase++, pos;

	early_wait_gen(b, ph);
	pos = atomic_fetch_add_explicit(&b->arrivals, 1, memory_order_acq_rel) -
	      ph * b->n;
	if (pos == b->n - 1) {
		atomic_store_explicit(&b->gen, ph + 1, memory_order_release);
		sl_futex_wake(&b->gen, INT_MAX);
		return;
	}
	if (pos + 2 == b->n)
		return; /* the bug */
	early_wait_gen(b, ph + 1);
}

static const struct sl_prim early_barrier = {
	.name = "test-early-barrier", .family = "test", .kind = SL_KIND_BARRIER,
	.summary = "lets the last-but-one thread through early",
	.obj_size = sizeof(struct early_barrier),
	.tctx_size = sizeof(struct early_tctx),
	.init = early_init,
	.barrier = { .wait = early_wait },
};

static void test_early_barrier_caught(void **state)
{
	static const unsigned threads[] = { 2, 3 };

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct sl_result res;
		int tries;

		for (tries = 0; tries < 5; tries++) {
			struct sl_point pt = point(&early_barrier, threads[k]);

			pt.think_ns = 200; /* the late thread is late */
			run(&pt, &res);
			if (res.status != SL_STATUS_OK)
				break;
			sl_result_release(&res);
		}
		assert_true(tries < 5);
		if (res.status != SL_STATUS_CHECK_FAILED)
			fail_msg("%u threads: %s: %s", threads[k],
				 sl_status_name(res.status), res.message);
		assert_non_null(strstr(res.message, "before thread"));
		sl_result_release(&res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sem_semantics),
		cmocka_unit_test(test_sem_wake_rationing),
		cmocka_unit_test(test_cond_wake_rationing),
		cmocka_unit_test(test_sem_torture),
		cmocka_unit_test(test_cond_torture),
		cmocka_unit_test(test_barrier_torture),
		cmocka_unit_test(test_sem_runs),
		cmocka_unit_test(test_cond_runs),
		cmocka_unit_test(test_barrier_runs),
		cmocka_unit_test(test_broken_sem_caught),
		cmocka_unit_test(test_lost_wakeup_caught),
		cmocka_unit_test(test_early_barrier_caught),
	};

	return cmocka_run_group_tests_name("sync", tests, setup, teardown);
}
