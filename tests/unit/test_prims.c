/*
 * Every registered lock primitive, through its descriptor: single-threaded
 * semantics (trylock fails while held, succeeds when free; check passes when
 * free and fails when held) and a contended torture with PLAIN, non-atomic
 * protected data, so that under ThreadSanitizer (make tsan-check) a lock
 * whose acquire/release do not order the critical sections is reported as a
 * data race.  The loop covers the registry: a new primitive is tested here
 * without new code.  Hidden (deliberately broken) and non-exclusive
 * primitives are skipped: their failure is tested in test_run.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/prim_fixture.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"

#define TORTURE_THREADS 4
#define TORTURE_ITERS 20000
/* FIFO spinlocks with more threads than CPUs hand over only when the next
 * waiter gets a CPU: a time slice per acquisition on a loaded machine.  The
 * torture stops at this many nanoseconds per thread, whichever comes first. */
#define TORTURE_NS (400 * 1000 * 1000ull)

static bool testable(const struct sl_prim *p)
{
	return p->kind == SL_KIND_LOCK &&
	       !(p->flags & (SL_PRIM_HIDDEN | SL_PRIM_NO_EXCLUSION)) &&
	       (!p->supported || p->supported((char[192]){ 0 }, 192));
}

static void test_registry(void **state)
{
	(void)state;
	assert_true(sl_prim_count() >= 4);
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		assert_non_null(p->name);
		assert_non_null(p->summary);
		assert_non_null(p->family);
		assert_ptr_equal(sl_prim_find(p->name), p);
		if (p->alias)
			assert_ptr_equal(sl_prim_find(p->alias), p);
		if (p->kind == SL_KIND_LOCK) {
			assert_non_null(p->lock.lock);
			assert_non_null(p->lock.unlock);
		}
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(sl_prim_at(j)->name, p->name);
		/* Event names go into name=count;... fields: none may hold a
		 * separator or repeat, and names come with a way to read
		 * their counts. */
		assert_true(!p->event_names[0] == !p->events);
		for (unsigned e = 0; e < sl_prim_event_count(p); e++) {
			const char *n = p->event_names[e];

			assert_true(n[0] != '\0' && !strpbrk(n, "=;, \"\n"));
			for (unsigned f = 0; f < e; f++)
				assert_string_not_equal(p->event_names[f], n);
		}
	}
	assert_null(sl_prim_find("no-such-lock"));
	assert_string_equal(sl_prim_suggest("mutx"), "mutex");
}

static void test_single_thread(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_err err;
		void *obj, *t;

		if (!testable(p))
			continue;
		obj = new_obj(p, 1);
		t = new_tctx(p, obj);
		for (int round = 0; round < 3; round++) {
			p->lock.lock(obj, t);
			if (p->lock.trylock)
				assert_false(p->lock.trylock(obj, t));
			if (p->check)
				assert_int_equal(p->check(obj, &err), -EPROTO);
			p->lock.unlock(obj, t);
			if (p->check)
				assert_int_equal(p->check(obj, &err), 0);
			if (p->lock.trylock) {
				assert_true(p->lock.trylock(obj, t));
				p->lock.unlock(obj, t);
			}
		}
		/* Alone, a thread never waits: nothing to count. */
		if (p->events) {
			uint64_t ev[SL_PRIM_EVENTS] = { 0 };

			p->events(t, ev);
			for (unsigned e = 0; e < SL_PRIM_EVENTS; e++)
				if (ev[e])
					fail_msg("%s: a lone thread counted %" PRIu64 " %s",
						 p->name, ev[e], p->event_names[e]);
		}
		if (p->thread_fini)
			p->thread_fini(obj, t);
		free(t);
		free_obj(p, obj);
	}
}

struct torture {
	const struct sl_prim *prim;
	void *obj;
	uint64_t plain_counter;     /* plain: only the lock orders it */
	_Atomic uint64_t done_iters; /* what the threads completed in all */
	uint64_t plain_shadow[8];   /* "+10, expect 10" style companion */
	int failures;
};

static void *torture_thread(void *arg)
{
	struct torture *tt = arg;
	const struct sl_prim *p = tt->prim;
	void *t = new_tctx(p, tt->obj);
	uint64_t start = sl_now_ns();
	int i;

	for (i = 0; i < TORTURE_ITERS; i++) {
		if (i % 256 == 0 && sl_now_ns() - start > TORTURE_NS)
			break;
		p->lock.lock(tt->obj, t);
		/* Inside the section the data must look exactly as the last
		 * owner left it, and every update must survive. */
		uint64_t before = tt->plain_counter;

		for (int k = 0; k < 8; k++)
			if (tt->plain_shadow[k] != before)
				tt->failures++;
		tt->plain_counter = before + 1;
		for (int k = 0; k < 8; k++)
			tt->plain_shadow[k] = before + 1;
		p->lock.unlock(tt->obj, t);
	}
	atomic_fetch_add_explicit(&tt->done_iters, (uint64_t)i, memory_order_relaxed);
	if (p->thread_fini)
		p->thread_fini(tt->obj, t);
	free(t);
	return NULL;
}

static void test_contended(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct torture tt = { .prim = p };
		pthread_t th[TORTURE_THREADS];
		struct sl_err err;

		if (!testable(p))
			continue;
		tt.obj = new_obj(p, TORTURE_THREADS);
		for (int k = 0; k < TORTURE_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, torture_thread, &tt), 0);
		for (int k = 0; k < TORTURE_THREADS; k++)
			pthread_join(th[k], NULL);
		if (tt.plain_counter != atomic_load(&tt.done_iters) || tt.failures)
			fail_msg("%s: counter %llu (expected %llu), %d inconsistent sections",
				 p->name, (unsigned long long)tt.plain_counter,
				 (unsigned long long)atomic_load(&tt.done_iters),
				 tt.failures);
		if (p->check)
			assert_int_equal(p->check(tt.obj, &err), 0);
		free_obj(p, tt.obj);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_single_thread),
		cmocka_unit_test(test_contended),
	};

	return cmocka_run_group_tests_name("primitives", tests, NULL, NULL);
}
