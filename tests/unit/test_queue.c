/*
 * Every registered queue primitive (kind queue, stacks included), through
 * its descriptor: single-thread FIFO or LIFO semantics with any item value,
 * bounded queues' full and empty behaviour and capacity, destroy with items
 * still inside (AddressSanitizer's leak check), and end-to-end runs of the
 * queue workload with 1/1, 2/2 and 3/1 producers/consumers.  The loops
 * cover the registry by kind, so a new queue is tested without new code.
 * Deliberately broken queues defined here (one loses items, one hands an
 * item out twice, one reorders, one swaps an item for a copy of another)
 * prove that the workload's invariant catches each kind of fault.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#include "prim_fixture.h"

/* A queue object with the capacity bounded queues take from --capacity. */
static void *new_queue(const struct sl_prim *p, unsigned nthreads, unsigned capacity)
{
	const struct sl_prim_conf conf = { .nthreads = nthreads, .capacity = capacity };

	return new_obj_conf(p, &conf);
}

/* Items an unbounded queue must take without reporting full. */
#define UNBOUNDED_ITEMS 10000

#include "machine_fixture.h"

static bool testable(const struct sl_prim *p)
{
	char why[192];

	return p->kind == SL_KIND_QUEUE && !(p->flags & SL_PRIM_HIDDEN) &&
	       (!p->supported || p->supported(why, sizeof(why)));
}

/* Item i of a sequence: covers 0, the top bit and all-ones, so that no
 * primitive can use a value as a marker. */
static uint64_t item_at(uint64_t i)
{
	switch (i) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return UINT64_C(1) << 63;
	default: return i * UINT64_C(0x9e3779b97f4a7c15);
	}
}

/* Enqueue item_at(0 .. limit-1) until the queue is full; returns how many
 * it took. */
static uint64_t fill(const struct sl_prim *p, void *obj, void *t, uint64_t limit)
{
	uint64_t n = 0;

	while (n < limit && p->queue.enqueue(obj, t, item_at(n)))
		n++;
	return n;
}

/* Dequeue n items and check them against item_at(0 .. n-1) in FIFO or LIFO
 * order, then that the queue is empty. */
static void drain_expect(const struct sl_prim *p, void *obj, void *t, uint64_t n)
{
	bool lifo = p->flags & SL_PRIM_LIFO;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t item = 0xdead, want = item_at(lifo ? n - 1 - i : i);

		if (!p->queue.dequeue(obj, t, &item))
			fail_msg("%s: empty after %llu of %llu items", p->name,
				 (unsigned long long)i, (unsigned long long)n);
		if (item != want)
			fail_msg("%s: item %llu is %#llx, expected %#llx (%s)", p->name,
				 (unsigned long long)i, (unsigned long long)item,
				 (unsigned long long)want, lifo ? "LIFO" : "FIFO");
	}
	{
		uint64_t item;

		if (p->queue.dequeue(obj, t, &item))
			fail_msg("%s: an item (%#llx) after all %llu were taken",
				 p->name, (unsigned long long)item, (unsigned long long)n);
	}
}

static void test_registry(void **state)
{
	const char *const mine[] = { "queue-ms", "ring-mpmc", "queue-mutex",
				     "stack-treiber", "stack-mutex", "ck-ring",
				     "urcu-wfcq" };

	(void)state;
	for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		const struct sl_prim *p = sl_prim_find(mine[i]);

		assert_non_null(p);
		assert_int_equal(p->kind, SL_KIND_QUEUE);
	}
	assert_true(sl_prim_find("stack-treiber")->flags & SL_PRIM_LIFO);
	assert_true(sl_prim_find("stack-mutex")->flags & SL_PRIM_LIFO);
	assert_false(sl_prim_find("queue-ms")->flags & SL_PRIM_LIFO);
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (p->kind != SL_KIND_QUEUE)
			continue;
		assert_non_null(p->queue.enqueue);
		assert_non_null(p->queue.dequeue);
		assert_non_null(sl_shape_for(p->kind));
	}
}

/* Order, any item value, and for bounded queues: full at capacity or
 * beyond, room again after a dequeue; wrap-around; check passes after. */
static void test_single_thread(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		const unsigned capacity = 4;
		struct sl_err err;
		uint64_t n, item;
		void *obj, *t;

		if (!testable(p))
			continue;
		obj = new_queue(p, 1, capacity);
		t = new_tctx(p, obj);
		assert_false(p->queue.dequeue(obj, t, &item));

		n = fill(p, obj, t, UNBOUNDED_ITEMS);
		if (n < UNBOUNDED_ITEMS) {
			/* Bounded: at least the capacity asked for; full stays
			 * full; one dequeue makes room for exactly one. */
			if (n < capacity)
				fail_msg("%s: full after %llu items, capacity %u",
					 p->name, (unsigned long long)n, capacity);
			assert_false(p->queue.enqueue(obj, t, 42));
			drain_expect(p, obj, t, n);
			assert_int_equal(fill(p, obj, t, n), n);
			assert_true(p->queue.dequeue(obj, t, &item));
			assert_true(p->queue.enqueue(obj, t, item));
			assert_false(p->queue.enqueue(obj, t, 42));
			while (p->queue.dequeue(obj, t, &item))
				;
		} else {
			drain_expect(p, obj, t, n);
		}
		/* Many short rounds: a ring's positions wrap many times. */
		for (int round = 0; round < 100; round++) {
			uint64_t k = 1 + (uint64_t)round % capacity;

			assert_int_equal(fill(p, obj, t, k), k);
			drain_expect(p, obj, t, k);
		}
		free_tctx(p, obj, t);
		if (p->check && p->check(obj, &err) < 0)
			fail_msg("%s: check after the test: %s", p->name, err.msg);
		free_obj(p, obj);
	}
}

/* A bounded queue holds at least --capacity items whatever the rounding. */
static void test_capacities(void **state)
{
	const unsigned caps[] = { 1, 2, 3, 5, 16, 17, 1000 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p))
			continue;
		for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
			void *obj = new_queue(p, 1, caps[c]);
			void *t = new_tctx(p, obj);
			uint64_t n = fill(p, obj, t, 4096);

			if (n < caps[c])
				fail_msg("%s: holds %llu items at capacity %u", p->name,
					 (unsigned long long)n, caps[c]);
			drain_expect(p, obj, t, n);
			free_tctx(p, obj, t);
			free_obj(p, obj);
		}
	}
}

/* Items left inside at destroy are freed (ASan's leak check sees it), and
 * so are nodes awaiting reclamation. */
static void test_destroy_nonempty(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		void *obj, *t;
		uint64_t item;

		if (!testable(p))
			continue;
		obj = new_queue(p, 2, 64);
		t = new_tctx(p, obj);
		assert_true(fill(p, obj, t, 1000) >= 64);
		for (int k = 0; k < 10; k++)
			assert_true(p->queue.dequeue(obj, t, &item));
		free_tctx(p, obj, t);
		free_obj(p, obj);
	}
}

static struct sl_point point(const struct sl_prim *p, unsigned producers,
			     unsigned consumers, unsigned capacity)
{
	struct sl_point pt = {
		.prim = p,
		.threads = producers + consumers,
		.rep = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.producers = producers,
		.consumers = consumers,
		.capacity = capacity,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};
	struct sl_err err;

	if (sl_point_resolve(&pt, &err) < 0)
		fail_msg("%s: %s", p->name, err.msg);
	return pt;
}

/* 1/1, 2/2 and 3/1 producers/consumers (4 threads on 2 CPUs preempt inside
 * operations); a small capacity keeps bounded queues full and empty by
 * turns. */
static void test_end_to_end(void **state)
{
	static const unsigned splits[][3] = {
		{ 1, 1, 16 }, { 2, 2, 2 }, { 3, 1, 4 },
	};

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p))
			continue;
		for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
			struct sl_point pt = point(p, splits[s][0], splits[s][1], splits[s][2]);
			struct sl_result res;
			struct sl_err err;
			uint64_t prod = 0, cons = 0;

			if (sl_run_point(&pt, &res, &err) < 0)
				fail_msg("%s: %s", p->name, err.msg);
			if (res.status != SL_STATUS_OK)
				fail_msg("%s %u/%u: %s: %s", p->name, splits[s][0],
					 splits[s][1], sl_status_name(res.status), res.message);
			for (unsigned k = 0; k < pt.threads; k++) {
				if (k < pt.producers)
					prod += res.thread[k].total_ops;
				else
					cons += res.thread[k].total_ops;
			}
			/* Both sides made progress, and no consumer took more
			 * than was made. */
			if (prod == 0 || cons == 0 || cons > prod)
				fail_msg("%s %u/%u: %llu enqueued, %llu dequeued", p->name,
					 splits[s][0], splits[s][1],
					 (unsigned long long)prod, (unsigned long long)cons);
			sl_result_release(&res);
		}
	}
}

/* --- deliberately broken queues ------------------------------------------ */

/* A ring under a pthread mutex that misbehaves on every BROKEN_EVERY-th
 * operation in the way its mode says. */
#define BROKEN_SLOTS 1024
#define BROKEN_EVERY 100
#define SEQ_MASK ((UINT64_C(1) << 40) - 1) /* the workload's item layout */

enum broken_mode { DROP, DUPLICATE, REORDER, SUBSTITUTE };

struct broken_queue {
	pthread_mutex_t m;
	enum broken_mode mode;
	uint64_t buf[BROKEN_SLOTS];
	uint64_t head, tail, ops;
};

static int broken_init(void *obj, enum broken_mode mode)
{
	struct broken_queue *q = obj;

	memset(q, 0, sizeof(*q));
	q->mode = mode;
	return -pthread_mutex_init(&q->m, NULL);
}

#define BROKEN_INIT(mode, fn)                                                   \
	static int fn(void *obj, const struct sl_prim_conf *conf,             \
		      struct sl_err *err)                                      \
	{                                                                      \
		(void)conf;                                                    \
		(void)err;                                                     \
		return broken_init(obj, mode);                                 \
	}
BROKEN_INIT(DROP, broken_init_drop)
BROKEN_INIT(DUPLICATE, broken_init_dup)
BROKEN_INIT(REORDER, broken_init_reorder)
BROKEN_INIT(SUBSTITUTE, broken_init_subst)

static void broken_destroy(void *obj)
{
	pthread_mutex_destroy(&((struct broken_queue *)obj)->m);
}

static bool broken_enqueue(void *obj, void *tctx, uint64_t item)
{
	struct broken_queue *q = obj;
	bool ok = true;

	(void)tctx;
	pthread_mutex_lock(&q->m);
	if (q->tail - q->head == BROKEN_SLOTS) {
		ok = false;
	} else if (++q->ops % BROKEN_EVERY == 0 && q->mode == DROP) {
		/* reports success, stores nothing */
	} else if (q->ops % BROKEN_EVERY == 0 && q->mode == REORDER &&
		   q->tail - q->head >= 1) {
		/* the new item goes in front of the previous one */
		q->buf[q->tail % BROKEN_SLOTS] = q->buf[(q->tail - 1) % BROKEN_SLOTS];
		q->buf[(q->tail - 1) % BROKEN_SLOTS] = item;
		q->tail++;
	} else if (q->ops % BROKEN_EVERY == 0 && q->mode == SUBSTITUTE &&
		   (item & SEQ_MASK) > 1) {
		/* stores the producer's previous item instead: one lost, one
		 * duplicated, the count unchanged */
		q->buf[q->tail++ % BROKEN_SLOTS] = item - 1;
	} else {
		q->buf[q->tail++ % BROKEN_SLOTS] = item;
	}
	pthread_mutex_unlock(&q->m);
	return ok;
}

static bool broken_dequeue(void *obj, void *tctx, uint64_t *item)
{
	struct broken_queue *q = obj;
	bool ok = false;

	(void)tctx;
	pthread_mutex_lock(&q->m);
	if (q->tail != q->head) {
		*item = q->buf[q->head % BROKEN_SLOTS];
		ok = true;
		/* DUPLICATE: every so often hands the item out and keeps it */
		if (!(q->mode == DUPLICATE && ++q->ops % BROKEN_EVERY == 0))
			q->head++;
	}
	pthread_mutex_unlock(&q->m);
	return ok;
}

#define BROKEN_PRIM(cname, str, initfn, extra_flags)                           \
	static const struct sl_prim cname = {                                  \
		.name = str, .family = "test", .kind = SL_KIND_QUEUE,          \
		.summary = "deliberately broken queue",                        \
		.flags = SL_PRIM_HIDDEN | (extra_flags),                       \
		.obj_size = sizeof(struct broken_queue),                       \
		.init = initfn, .destroy = broken_destroy,                     \
		.queue = { .enqueue = broken_enqueue,                          \
			   .dequeue = broken_dequeue },                        \
	}
BROKEN_PRIM(broken_drop, "test-drop", broken_init_drop, 0);
BROKEN_PRIM(broken_dup, "test-duplicate", broken_init_dup, 0);
BROKEN_PRIM(broken_dup_lifo, "test-duplicate-lifo", broken_init_dup, SL_PRIM_LIFO);
BROKEN_PRIM(broken_reorder, "test-reorder", broken_init_reorder, 0);
BROKEN_PRIM(broken_subst, "test-substitute", broken_init_subst, 0);
BROKEN_PRIM(broken_subst_lifo, "test-substitute-lifo", broken_init_subst, SL_PRIM_LIFO);

static void expect_caught(const struct sl_prim *p, unsigned producers,
			  unsigned consumers, const char *words)
{
	struct sl_point pt = point(p, producers, consumers, 16);
	struct sl_result res;
	struct sl_err err;

	if (sl_run_point(&pt, &res, &err) < 0)
		fail_msg("%s: %s", p->name, err.msg);
	if (res.status != SL_STATUS_CHECK_FAILED)
		fail_msg("%s %u/%u: status %s, expected check-failed (%s)", p->name,
			 producers, consumers, sl_status_name(res.status), res.message);
	if (!strstr(res.message, words))
		fail_msg("%s %u/%u: '%s' does not say '%s'", p->name, producers,
			 consumers, res.message, words);
	sl_result_release(&res);
}

static void test_broken_queues_caught(void **state)
{
	(void)state;
	/* Lost items: the counts after the drain. */
	expect_caught(&broken_drop, 1, 1, "items lost");
	expect_caught(&broken_drop, 3, 1, "items lost");
	/* The same item twice: the consumer sees its sequence repeat. */
	expect_caught(&broken_dup, 1, 1, "twice");
	/* ... and without order checks (a stack), the counts catch it. */
	expect_caught(&broken_dup_lifo, 2, 2, "items duplicated");
	/* Swapped neighbours: a sequence steps back. */
	expect_caught(&broken_reorder, 1, 1, "out of order");
	/* One lost and one duplicated: the order check catches the repeat,
	 * and with no order to check, the sums do. */
	expect_caught(&broken_subst, 1, 1, "twice");
	expect_caught(&broken_subst_lifo, 1, 1, "not each exactly once");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_single_thread),
		cmocka_unit_test(test_capacities),
		cmocka_unit_test(test_destroy_nonempty),
		cmocka_unit_test(test_end_to_end),
		cmocka_unit_test(test_broken_queues_caught),
	};

	return cmocka_run_group_tests_name("queues", tests, setup, teardown);
}
