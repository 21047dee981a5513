/*
 * Every registered workqueue primitive, through its descriptor: submit,
 * take, complete and flush on one thread; flush waiting for a completion
 * made on another thread; shutdown waking a worker asleep in take and a
 * submitter asleep in flush; and end-to-end runs of the workqueue workload
 * (1/1, 2/2 and 3/1 submitters/pool workers, with and without work per
 * item, with latency sampling).  The loops cover the registry by kind, so a
 * new workqueue is tested without new code.  Deliberately broken workqueues
 * defined here (one loses items, one runs an item twice, one whose flush
 * returns early) prove that the workload's invariant catches each fault.
 * Last, the queue workload's enqueue->dequeue latency: every queue
 * primitive keeps its invariant with timed items and records samples.
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

#include "machine_fixture.h"

static bool testable(const struct sl_prim *p, enum sl_prim_kind kind)
{
	char why[192];

	return p->kind == kind && !(p->flags & SL_PRIM_HIDDEN) &&
	       (!p->supported || p->supported(why, sizeof(why)));
}

/* A workqueue object as the runner makes it (queue slots: 16). */
static void *new_wq(const struct sl_prim *p, unsigned nthreads)
{
	const struct sl_prim_conf conf = { .nthreads = nthreads, .capacity = 16 };

	return new_obj_conf(p, &conf);
}

static void test_registry(void **state)
{
	unsigned n = 0;

	(void)state;
	assert_non_null(sl_prim_find("workqueue"));
	assert_non_null(sl_prim_find("workqueue-lf"));
	assert_string_equal(sl_prim_kind_name(SL_KIND_WORKQUEUE), "workqueue");
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (p->kind != SL_KIND_WORKQUEUE)
			continue;
		n++;
		assert_non_null(p->wq.submit);
		assert_non_null(p->wq.take);
		assert_non_null(p->wq.complete);
		assert_non_null(p->wq.flush);
		assert_non_null(p->wq.shutdown);
		assert_non_null(p->summary);
	}
	assert_true(n >= 2);
	assert_non_null(sl_shape_for(SL_KIND_WORKQUEUE));
}

#define ITEMS 200

/* One thread plays submitter and pool: every item comes out once, flush
 * waits for completions, and after shutdown take drains without sleeping. */
static void test_single_thread(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_work items[ITEMS], *got[ITEMS];
		unsigned seen[ITEMS] = { 0 };
		void *obj, *sub, *worker;
		struct sl_err err;

		if (!testable(p, SL_KIND_WORKQUEUE))
			continue;
		obj = new_wq(p, 2);
		sub = new_tctx(p, obj);
		worker = new_tctx(p, obj);
		assert_true(p->wq.flush(obj, sub)); /* nothing submitted */
		for (unsigned k = 0; k < ITEMS; k++)
			if (!p->wq.submit(obj, sub, &items[k]))
				fail_msg("%s: submit %u of %u reported full", p->name, k, ITEMS);
		for (unsigned k = 0; k < ITEMS; k++) {
			got[k] = p->wq.take(obj, worker);
			assert_non_null(got[k]);
			assert_true(got[k] >= items && got[k] < items + ITEMS);
			seen[got[k] - items]++;
		}
		for (unsigned k = 0; k < ITEMS; k++)
			assert_int_equal(seen[k], 1);
		for (unsigned k = 0; k < ITEMS; k++)
			p->wq.complete(obj, worker, got[k]);
		assert_true(p->wq.flush(obj, sub));

		/* Shut down with one item queued and one taken, not completed. */
		assert_true(p->wq.submit(obj, sub, &items[0]));
		assert_true(p->wq.submit(obj, sub, &items[1]));
		got[0] = p->wq.take(obj, worker);
		p->wq.shutdown(obj);
		p->wq.shutdown(obj); /* again: harmless */
		assert_false(p->wq.flush(obj, sub)); /* cut short, not hung */
		got[1] = p->wq.take(obj, worker);
		assert_true((got[0] == &items[0] && got[1] == &items[1]) ||
			    (got[0] == &items[1] && got[1] == &items[0]));
		assert_null(p->wq.take(obj, worker));
		p->wq.complete(obj, worker, got[0]);
		p->wq.complete(obj, worker, got[1]);
		assert_true(p->wq.flush(obj, sub)); /* all done wins over stop */
		if (p->check && p->check(obj, &err) < 0)
			fail_msg("%s: check after a clean run: %s", p->name, err.msg);
		free_tctx(p, obj, worker);
		free_tctx(p, obj, sub);
		free_obj(p, obj);
	}
}

/* The check notices an item submitted and never completed. */
static void test_check_counts_pending(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_work item;
		void *obj, *sub;
		struct sl_err err;

		if (!testable(p, SL_KIND_WORKQUEUE) || !p->check)
			continue;
		obj = new_wq(p, 1);
		sub = new_tctx(p, obj);
		assert_true(p->wq.submit(obj, sub, &item));
		assert_int_equal(p->check(obj, &err), -EPROTO);
		p->wq.shutdown(obj);
		assert_ptr_equal(p->wq.take(obj, sub), &item);
		assert_int_equal(p->check(obj, &err), -EPROTO); /* taken, not completed */
		p->wq.complete(obj, sub, &item);
		assert_int_equal(p->check(obj, &err), 0);
		free_tctx(p, obj, sub);
		free_obj(p, obj);
	}
}

/* --- threads blocked inside the primitive ---------------------------------- */

struct blocked {
	const struct sl_prim *p;
	void *obj, *tctx;
	bool flush;              /* flush, else take */
	bool flushed;            /* what flush returned */
	struct sl_work *taken;   /* what take returned */
	_Atomic int done;
};

static void *blocked_main(void *arg)
{
	struct blocked *b = arg;

	if (b->flush)
		b->flushed = b->p->wq.flush(b->obj, b->tctx);
	else
		b->taken = b->p->wq.take(b->obj, b->tctx);
	/* release: pairs with the acquire in wait_done */
	atomic_store_explicit(&b->done, 1, memory_order_release);
	return NULL;
}

static void start_blocked(struct blocked *b, pthread_t *th)
{
	atomic_init(&b->done, 0);
	assert_int_equal(pthread_create(th, NULL, blocked_main, b), 0);
}

/* Whether b returned within ms milliseconds. */
static bool returns_within(struct blocked *b, unsigned ms)
{
	uint64_t t0 = sl_now_ns();

	/* acquire: pairs with the release in blocked_main */
	while (!atomic_load_explicit(&b->done, memory_order_acquire)) {
		if (sl_now_ns() - t0 > ms * SL_NS_PER_MS)
			return false;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	}
	return true;
}

/* A worker asleep in take gets an item submitted later; a submitter asleep
 * in flush stays there until its item completes; shutdown wakes both. */
static void test_blocking(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_work item;
		void *obj, *sub, *worker;
		struct blocked b;
		pthread_t th;

		if (!testable(p, SL_KIND_WORKQUEUE))
			continue;
		obj = new_wq(p, 2);
		sub = new_tctx(p, obj);
		worker = new_tctx(p, obj);

		/* take sleeps until an item arrives. */
		b = (struct blocked){ .p = p, .obj = obj, .tctx = worker };
		start_blocked(&b, &th);
		assert_false(returns_within(&b, 30));
		assert_true(p->wq.submit(obj, sub, &item));
		if (!returns_within(&b, 2000))
			fail_msg("%s: a worker asleep in take missed a submit", p->name);
		pthread_join(th, NULL);
		assert_ptr_equal(b.taken, &item);

		/* flush waits for the completion made here. */
		b = (struct blocked){ .p = p, .obj = obj, .tctx = sub, .flush = true };
		start_blocked(&b, &th);
		if (returns_within(&b, 30))
			fail_msg("%s: flush returned before its item completed", p->name);
		p->wq.complete(obj, worker, &item);
		if (!returns_within(&b, 2000))
			fail_msg("%s: flush missed its item's completion", p->name);
		pthread_join(th, NULL);
		assert_true(b.flushed);

		/* shutdown wakes a take asleep on an empty queue and a flush
		 * asleep on an item taken and not completed. */
		{
			struct blocked f = { .p = p, .obj = obj, .tctx = sub, .flush = true };
			pthread_t fth;

			assert_true(p->wq.submit(obj, sub, &item));
			assert_ptr_equal(p->wq.take(obj, worker), &item);
			b = (struct blocked){ .p = p, .obj = obj, .tctx = worker };
			start_blocked(&b, &th);
			start_blocked(&f, &fth);
			assert_false(returns_within(&b, 30));
			assert_false(returns_within(&f, 1));
			p->wq.shutdown(obj);
			if (!returns_within(&b, 2000))
				fail_msg("%s: shutdown did not wake a worker in take", p->name);
			if (!returns_within(&f, 2000))
				fail_msg("%s: shutdown did not wake a submitter in flush", p->name);
			pthread_join(th, NULL);
			pthread_join(fth, NULL);
			assert_null(b.taken);
			assert_false(f.flushed);
			p->wq.complete(obj, worker, &item);
			assert_true(p->wq.flush(obj, sub));
		}
		free_tctx(p, obj, worker);
		free_tctx(p, obj, sub);
		free_obj(p, obj);
	}
}

/* --- end to end ------------------------------------------------------------- */

static struct sl_point point(const struct sl_prim *p, unsigned submitters,
			     unsigned pool, uint64_t cs_ns)
{
	struct sl_point pt = {
		.prim = p,
		.threads = submitters + pool,
		.rep = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.cs_ns = cs_ns,
		.locks = 1,
		.producers = submitters,
		.consumers = pool,
		.capacity = 16,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};
	struct sl_err err;

	if (sl_point_resolve(&pt, &err) < 0)
		fail_msg("%s: %s", p->name, err.msg);
	return pt;
}

/* 1/1, 2/2 and 3/1 submitters/pool workers, with and without work per item
 * (4 threads on 2 CPUs preempt inside operations).  Only pool workers
 * count operations: items executed. */
static void test_end_to_end(void **state)
{
	static const unsigned splits[][3] = {
		{ 1, 1, 0 }, { 2, 2, 0 }, { 3, 1, 500 }, { 1, 3, 2000 },
	};

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p, SL_KIND_WORKQUEUE))
			continue;
		for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
			struct sl_point pt = point(p, splits[s][0], splits[s][1], splits[s][2]);
			struct sl_result res;
			struct sl_err err;
			uint64_t pool_ops = 0;

			if (sl_run_point(&pt, &res, &err) < 0)
				fail_msg("%s: %s", p->name, err.msg);
			if (res.status != SL_STATUS_OK)
				fail_msg("%s %u/%u: %s: %s", p->name, splits[s][0],
					 splits[s][1], sl_status_name(res.status), res.message);
			for (unsigned k = 0; k < pt.threads; k++) {
				if (k < pt.producers)
					assert_int_equal(res.thread[k].total_ops, 0);
				else
					pool_ops += res.thread[k].total_ops;
			}
			/* Several flushes' worth of items ran. */
			if (pool_ops < 4 * 64)
				fail_msg("%s %u/%u: only %llu items ran", p->name, splits[s][0],
					 splits[s][1], (unsigned long long)pool_ops);
			assert_null(res.lat);
			/* Fairness and the per-thread extremes are the pool
			 * workers': a submitter's zero would make every run
			 * look starved. */
			if (pt.consumers == 1) {
				assert_true(res.fairness > 0.999);
				assert_true(res.min_thread_ops > 0);
			}
			assert_true(res.max_thread_ops > 0);
			sl_result_release(&res);
		}
	}
}

/* With lat_period set, pool workers record submit->start times. */
static void test_latency_sampled(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_point pt;
		struct sl_result res;
		struct sl_err err;

		if (!testable(p, SL_KIND_WORKQUEUE))
			continue;
		pt = point(p, 1, 1, 200);
		pt.lat_period = 10;
		if (sl_run_point(&pt, &res, &err) < 0)
			fail_msg("%s: %s", p->name, err.msg);
		if (res.status != SL_STATUS_OK)
			fail_msg("%s: %s: %s", p->name, sl_status_name(res.status), res.message);
		assert_non_null(res.lat);
		/* About one item in 10 of those submitted in the window; at
		 * least a few dozen in 60 ms at any speed. */
		if (res.lat->count < 30 || res.lat->count > res.ops / 3 + 64)
			fail_msg("%s: %llu samples for %llu items", p->name,
				 (unsigned long long)res.lat->count,
				 (unsigned long long)res.ops);
		/* Each includes the item's wait and one clock read. */
		assert_true(res.lat->min > 0);
		assert_true(res.lat->min <= res.lat->max);
		assert_true(res.lat->max < 10 * SL_NS_PER_SEC);
		sl_result_release(&res);
	}
}

/* --- deliberately broken workqueues ---------------------------------------- */

/* A ring under a pthread mutex with a global flush (every item submitted
 * by anyone has completed), misbehaving every BROKEN_EVERY-th time in the
 * way its mode says. */
#define BROKEN_SLOTS 4096
#define BROKEN_EVERY 50

enum broken_mode { DROP, DUPLICATE, EARLY_FLUSH };

struct broken_wq {
	pthread_mutex_t m;
	pthread_cond_t work, done;
	enum broken_mode mode;
	struct sl_work *buf[BROKEN_SLOTS];
	uint64_t head, tail, ops;
	uint64_t submitted, completed;
	bool stopping;
};

static int broken_init(void *obj, enum broken_mode mode)
{
	struct broken_wq *q = obj;

	memset(q, 0, sizeof(*q));
	q->mode = mode;
	pthread_mutex_init(&q->m, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->done, NULL);
	return 0;
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
BROKEN_INIT(EARLY_FLUSH, broken_init_early)

static void broken_destroy(void *obj)
{
	struct broken_wq *q = obj;

	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->done);
	pthread_mutex_destroy(&q->m);
}

static bool broken_submit(void *obj, void *tctx, struct sl_work *item)
{
	struct broken_wq *q = obj;
	bool ok = true;

	(void)tctx;
	pthread_mutex_lock(&q->m);
	if (q->tail - q->head == BROKEN_SLOTS) {
		ok = false;
	} else {
		q->submitted++;
		/* DROP: counts the item, stores nothing */
		if (!(q->mode == DROP && ++q->ops % BROKEN_EVERY == 0))
			q->buf[q->tail++ % BROKEN_SLOTS] = item;
		pthread_cond_signal(&q->work);
	}
	pthread_mutex_unlock(&q->m);
	return ok;
}

static struct sl_work *broken_take(void *obj, void *tctx)
{
	struct broken_wq *q = obj;
	struct sl_work *item = NULL;

	(void)tctx;
	pthread_mutex_lock(&q->m);
	while (q->tail == q->head && !q->stopping)
		pthread_cond_wait(&q->work, &q->m);
	if (q->tail != q->head) {
		item = q->buf[q->head % BROKEN_SLOTS];
		/* DUPLICATE: every so often hands the item out and keeps it */
		if (!(q->mode == DUPLICATE && ++q->ops % BROKEN_EVERY == 0))
			q->head++;
	}
	pthread_mutex_unlock(&q->m);
	return item;
}

static void broken_complete(void *obj, void *tctx, struct sl_work *item)
{
	struct broken_wq *q = obj;

	(void)tctx;
	(void)item;
	pthread_mutex_lock(&q->m);
	q->completed++;
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->m);
}

static bool broken_flush(void *obj, void *tctx)
{
	struct broken_wq *q = obj;
	bool ok;

	(void)tctx;
	if (q->mode == EARLY_FLUSH)
		return true; /* waits for nothing */
	pthread_mutex_lock(&q->m);
	while (q->completed < q->submitted && !q->stopping)
		pthread_cond_wait(&q->done, &q->m);
	ok = q->completed >= q->submitted;
	pthread_mutex_unlock(&q->m);
	return ok;
}

static void broken_shutdown(void *obj)
{
	struct broken_wq *q = obj;

	pthread_mutex_lock(&q->m);
	q->stopping = true;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->done);
	pthread_mutex_unlock(&q->m);
}

#define BROKEN_PRIM(cname, str, initfn)                                        \
	static const struct sl_prim cname = {                                  \
		.name = str, .family = "test", .kind = SL_KIND_WORKQUEUE,      \
		.summary = "deliberately broken workqueue",                    \
		.flags = SL_PRIM_HIDDEN,                                       \
		.obj_size = sizeof(struct broken_wq),                          \
		.init = initfn, .destroy = broken_destroy,                     \
		.wq = { .submit = broken_submit, .take = broken_take,          \
			.complete = broken_complete, .flush = broken_flush,    \
			.shutdown = broken_shutdown },                         \
	}
BROKEN_PRIM(broken_drop, "test-drop", broken_init_drop);
BROKEN_PRIM(broken_dup, "test-duplicate", broken_init_dup);
BROKEN_PRIM(broken_early, "test-early-flush", broken_init_early);

/* The run fails its check with a message holding one of words[]. */
static void expect_caught(const struct sl_prim *p, unsigned submitters,
			  unsigned pool, uint64_t cs_ns, const char *const *words)
{
	struct sl_point pt = point(p, submitters, pool, cs_ns);
	struct sl_result res;
	struct sl_err err;
	bool named = false;

	if (sl_run_point(&pt, &res, &err) < 0)
		fail_msg("%s: %s", p->name, err.msg);
	if (res.status != SL_STATUS_CHECK_FAILED)
		fail_msg("%s %u/%u: status %s, expected check-failed (%s)", p->name,
			 submitters, pool, sl_status_name(res.status), res.message);
	for (const char *const *w = words; *w; w++)
		named |= strstr(res.message, *w) != NULL;
	if (!named)
		fail_msg("%s %u/%u: '%s' does not name the fault (%s...)", p->name,
			 submitters, pool, res.message, words[0]);
	sl_result_release(&res);
}

static void test_broken_caught(void **state)
{
	static const char *const lost[] = { "items lost", NULL };
	static const char *const twice[] = { "twice", "times", "items duplicated", NULL };
	static const char *const early[] = { "flush returned before", NULL };

	(void)state;
	/* A dropped item: its submitter's flush waits until the stop, and
	 * the counts after the drain come up one short. */
	expect_caught(&broken_drop, 1, 1, 0, lost);
	expect_caught(&broken_drop, 2, 2, 0, lost);
	/* An item handed out twice: its run counter says so. */
	expect_caught(&broken_dup, 1, 1, 0, twice);
	expect_caught(&broken_dup, 1, 3, 0, twice);
	/* A flush that waits for nothing: the submitter finds an item of
	 * its batch not yet run (each takes 20 us, so the last of 64 cannot
	 * have run). */
	expect_caught(&broken_early, 1, 1, 20000, early);
	expect_caught(&broken_early, 2, 1, 20000, early);
}

/* --- the queue workload's enqueue->dequeue latency -------------------------- */

/* Timed items keep every queue's invariant (the sequence checks see them
 * untimed) and yield samples; with every item timed, the producers run out
 * of stamp slots in flight and leave some untimed, never corrupting one. */
static bool bounded_queue(const struct sl_prim *p)
{
	return !strcmp(p->name, "ring-mpmc") || !strcmp(p->name, "ck-ring");
}

static void test_queue_latency(void **state)
{
	static const unsigned periods[] = { 10, 1 };

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p, SL_KIND_QUEUE))
			continue;
		for (size_t k = 0; k < sizeof(periods) / sizeof(periods[0]); k++) {
			struct sl_point pt = point(p, 2, 2, 0);
			struct sl_result res;
			struct sl_err err;

			pt.capacity = 64;
			pt.lat_period = periods[k];
			if (sl_run_point(&pt, &res, &err) < 0)
				fail_msg("%s: %s", p->name, err.msg);
			if (res.status != SL_STATUS_OK)
				fail_msg("%s period %u: %s: %s", p->name, periods[k],
					 sl_status_name(res.status), res.message);
			assert_non_null(res.lat);
			/* An unbounded queue may still be draining the backlog
			 * of the warm-up (untimed items) when the window ends,
			 * so only the bounded rings must yield samples. */
			if (res.lat->count < 30 && bounded_queue(p))
				fail_msg("%s period %u: only %llu samples", p->name, periods[k],
					 (unsigned long long)res.lat->count);
			/* No more samples than items enqueued. */
			assert_true(res.lat->count <= res.ops);
			assert_true(res.lat->count == 0 || res.lat->min > 0);
			assert_true(res.lat->max < 10 * SL_NS_PER_SEC);
			sl_result_release(&res);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_single_thread),
		cmocka_unit_test(test_check_counts_pending),
		cmocka_unit_test(test_blocking),
		cmocka_unit_test(test_end_to_end),
		cmocka_unit_test(test_latency_sampled),
		cmocka_unit_test(test_broken_caught),
		cmocka_unit_test(test_queue_latency),
	};

	return cmocka_run_group_tests_name("workqueues", tests, setup, teardown);
}
