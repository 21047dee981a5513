/*
 * The plan: grid expansion (order, counts, dials that do not apply to a
 * kind are not multiplied, refused combinations), the primitive list, the
 * loop over points (a stuck point is a result and the plan goes on unless
 * told to stop; an interrupt ends it; a point that cannot be attempted
 * becomes an error result) and the time estimate.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning/pin.h"
#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/clock.h"
#include "workloads/plan.h"

#include "machine_fixture.h"

/* The topology is not freed (no teardown): stuck threads of the tests below
 * may still be inside the calls that use it. */

/* A grid with every dial at its default, one thread count, one repetition. */
static void grid_init(struct sl_grid *g)
{
	memset(g, 0, sizeof(*g));
	for (int d = 0; d < SL_DIAL_COUNT_; d++)
		g->dial[d] = (struct sl_ulist){ 1, { sl_dial_info((enum sl_dial)d)->def } };
	g->threads = (struct sl_ulist){ 1, { 1 } };
	g->repeat = 1;
	g->duration_ns = 20 * SL_NS_PER_MS;
	g->warmup_ns = 0;
	g->stall_timeout_ns = 200 * SL_NS_PER_MS;
	g->topo = topo;
	g->pin = &pin_compact;
}

static void add(struct sl_grid *g, const char *prims)
{
	struct sl_err err;

	if (sl_grid_add_prims(g, prims, &err) < 0)
		fail_msg("%s", err.msg);
}

static void test_dials_multiply_only_their_kinds(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_err err;
	size_t mutex = 0, rw = 0;

	(void)state;
	grid_init(&g);
	add(&g, "mutex,rwlock");
	g.dial[SL_DIAL_CS_NS] = (struct sl_ulist){ 2, { 0, 100 } };
	g.dial[SL_DIAL_READ_PCT] = (struct sl_ulist){ 3, { 50, 90, 99 } };
	g.threads = (struct sl_ulist){ 2, { 1, 2 } };
	g.repeat = 2;
	assert_int_equal(sl_grid_settings(&g, SL_KIND_LOCK), 2);
	assert_int_equal(sl_grid_settings(&g, SL_KIND_RWLOCK), 6);
	assert_int_equal(sl_plan_build(&plan, &g, 0, &err), 0);
	/* mutex: 2 cs x 2 threads x 2 reps; rwlock: 2 cs x 3 reads x 2 x 2. */
	assert_int_equal(plan.n, 8 + 24);
	assert_int_equal(plan.rejected, 0);
	for (size_t i = 0; i < plan.n; i++) {
		const struct sl_point *pt = &plan.item[i].pt;

		assert_int_equal(plan.item[i].state, SL_ITEM_PENDING);
		if (strcmp(pt->prim->name, "mutex") == 0) {
			mutex++;
			/* Not multiplied: the list's first value. */
			assert_int_equal(pt->read_pct, 50);
			assert_int_equal(plan.item[i].prim_index, 0);
		} else {
			rw++;
			assert_int_equal(plan.item[i].prim_index, 1);
		}
		assert_int_equal(pt->duration_ns, g.duration_ns);
		assert_int_equal(pt->stall_timeout_ns, g.stall_timeout_ns);
		assert_ptr_equal(pt->pin, &pin_compact);
	}
	assert_int_equal(mutex, 8);
	assert_int_equal(rw, 24);

	/* Order: repetition slowest, then primitive, dials (first slowest),
	 * threads. */
	assert_int_equal(plan.item[0].pt.cs_ns, 0);
	assert_int_equal(plan.item[0].pt.threads, 1);
	assert_int_equal(plan.item[0].pt.rep, 1);
	assert_int_equal(plan.item[1].pt.threads, 2);
	assert_int_equal(plan.item[1].pt.rep, 1);
	assert_int_equal(plan.item[2].pt.cs_ns, 100);
	assert_int_equal(plan.item[4].pt.cs_ns, 0);
	assert_int_equal(plan.item[4].pt.read_pct, 50);
	assert_int_equal(plan.item[6].pt.read_pct, 90);
	assert_int_equal(plan.item[10].pt.cs_ns, 100);
	assert_int_equal(plan.item[10].pt.read_pct, 50);
	assert_int_equal(plan.item[15].pt.read_pct, 99);
	assert_int_equal(plan.item[15].pt.threads, 2);
	assert_int_equal(plan.item[15].pt.rep, 1);
	for (size_t i = 0; i < 16; i++) {
		assert_ptr_equal(plan.item[16 + i].pt.prim, plan.item[i].pt.prim);
		assert_int_equal(plan.item[16 + i].pt.threads, plan.item[i].pt.threads);
		assert_int_equal(plan.item[16 + i].pt.cs_ns, plan.item[i].pt.cs_ns);
		assert_int_equal(plan.item[16 + i].pt.read_pct, plan.item[i].pt.read_pct);
		assert_int_equal(plan.item[16 + i].pt.rep, 2);
	}
	sl_plan_free(&plan);
}

static void test_refused_combinations(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_err err;

	(void)state;
	grid_init(&g);
	add(&g, "queue-ms");
	g.threads = (struct sl_ulist){ 3, { 1, 2, 4 } };
	/* A queue needs a producer and a consumer: bench refuses. */
	assert_int_equal(sl_plan_build(&plan, &g, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "at least 2 threads"));
	/* A sweep leaves the combination out and says why. */
	assert_int_equal(sl_plan_build(&plan, &g, SL_PLAN_SKIP_INVALID, &err), 0);
	assert_int_equal(plan.n, 2);
	assert_int_equal(plan.rejected, 1);
	assert_non_null(strstr(plan.rejected_why, "queue-ms"));
	/* Resolved: producers and consumers split the threads. */
	assert_int_equal(plan.item[1].pt.producers, 2);
	assert_int_equal(plan.item[1].pt.consumers, 2);
	sl_plan_free(&plan);

	grid_init(&g);
	add(&g, "rwlock");
	g.threads = (struct sl_ulist){ 2, { 1, 4 } };
	g.dial[SL_DIAL_WRITERS] = (struct sl_ulist){ 2, { 0, 2 } };
	assert_int_equal(sl_plan_build(&plan, &g, SL_PLAN_SKIP_INVALID, &err), 0);
	assert_int_equal(plan.n, 3); /* 2 writers among 1 thread is refused */
	assert_int_equal(plan.rejected, 1);
	assert_non_null(strstr(plan.rejected_why, "--writers"));
	sl_plan_free(&plan);
}

static void test_prims_list(void **state)
{
	struct sl_grid g;
	struct sl_err err;

	(void)state;
	grid_init(&g);
	assert_int_equal(sl_grid_add_prims(&g, "mutex,,spin", &err), 0);
	assert_int_equal(g.nprims, 2);
	assert_string_equal(g.prim[1]->name, "spin-ttas"); /* the alias */
	assert_int_equal(sl_grid_add_prims(&g, "mutx", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'mutx'"));
	assert_non_null(strstr(err.msg, "did you mean 'mutex'"));
	assert_int_equal(sl_grid_add_prims(&g, "mutex", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "named twice"));
	assert_int_equal(sl_grid_add_prims(&g, "nosuchthing", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "synclab list"));
}

/* A lock that is never released: the second acquirer sleeps forever. */
static _Atomic uint32_t never_changes;
static void deadlock_lock(void *obj, void *tctx)
{
	_Atomic uint32_t *taken = obj;

	(void)tctx;
	if (atomic_exchange_explicit(taken, 1, memory_order_acquire) == 0)
		return;
	for (;;)
		sl_futex_wait(&never_changes, 0);
}
static void deadlock_unlock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}
static const struct sl_prim deadlock_prim = {
	.name = "test-deadlock", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "never releases", .obj_size = sizeof(uint32_t),
	.lock = { .lock = deadlock_lock, .unlock = deadlock_unlock },
};

/* A primitive whose set-up fails: the point cannot be attempted. */
static int failing_init(void *obj, const struct sl_prim_conf *conf,
			struct sl_err *err)
{
	(void)obj;
	(void)conf;
	return sl_err_set(err, -ENOMEM, "no room for the test");
}
static void nop(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}
static const struct sl_prim failing_prim = {
	.name = "test-failing", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "init fails", .obj_size = sizeof(uint32_t),
	.init = failing_init, .lock = { .lock = nop, .unlock = nop },
};

struct calls {
	size_t starting, finished;
	enum sl_status status[8];
};

static void on_starting(void *arg, const struct sl_plan *plan, size_t i)
{
	struct calls *c = arg;

	assert_int_equal(plan->item[i].state, SL_ITEM_PENDING);
	c->starting++;
}

static int on_finished(void *arg, const struct sl_plan *plan, size_t i,
		       struct sl_err *err)
{
	struct calls *c = arg;

	(void)err;
	assert_int_equal(plan->item[i].state, SL_ITEM_MEASURED);
	c->status[c->finished++] = plan->item[i].res.status;
	return 0;
}

/* Plan: [first, mutex at 2 threads], built by hand from the grid. */
static void two_point_plan(struct sl_grid *g, struct sl_plan *plan,
			   const struct sl_prim *first)
{
	struct sl_err err;

	grid_init(g);
	g->prim[0] = first;
	g->prim[1] = sl_prim_find("mutex");
	g->nprims = 2;
	g->threads = (struct sl_ulist){ 1, { 2 } };
	assert_int_equal(sl_plan_build(plan, g, 0, &err), 0);
	assert_int_equal(plan->n, 2);
	/* The healthy point gets time to finish on a loaded machine (a
	 * sanitizer build beside other tests); the first keeps the grid's
	 * short timeout, so a stuck one is found quickly. */
	plan->item[1].pt.stall_timeout_ns = 5 * SL_NS_PER_SEC;
}

static void test_stuck_point_is_a_row_and_the_plan_goes_on(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_plan_ctx ctx = { .calib = &calib, .rmw_ns = NAN };
	struct calls calls = { 0 };
	struct sl_plan_hooks hooks = { .arg = &calls, .starting = on_starting,
				      .finished = on_finished };
	struct sl_plan_outcome out;
	struct sl_err err;

	(void)state;
	two_point_plan(&g, &plan, &deadlock_prim);
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, 0, &hooks, &out, &err), 0);
	assert_int_equal(out.end, SL_PLAN_COMPLETE);
	assert_int_equal(out.measured, 2);
	assert_int_equal(out.failed, 1);
	assert_int_equal(out.stuck, 1);
	assert_int_equal(calls.starting, 2);
	assert_int_equal(calls.finished, 2);
	assert_int_equal(calls.status[0], SL_STATUS_STUCK);
	assert_non_null(strstr(plan.item[0].res.message, "made no progress"));
	assert_int_equal(calls.status[1], SL_STATUS_OK);
	assert_true(plan.item[1].res.ops > 0);
	sl_plan_free(&plan);

	/* bench stops after a stuck point. */
	memset(&calls, 0, sizeof(calls));
	two_point_plan(&g, &plan, &deadlock_prim);
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, SL_PLAN_STOP_ON_STUCK, &hooks,
				     &out, &err), 0);
	assert_int_equal(out.end, SL_PLAN_STOPPED_STUCK);
	assert_int_equal(out.at, 0);
	assert_int_equal(out.measured, 1);
	assert_int_equal(calls.finished, 1);
	assert_int_equal(plan.item[1].state, SL_ITEM_PENDING);
	sl_plan_free(&plan);
}

static void test_point_that_cannot_start(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_plan_ctx ctx = { .calib = &calib, .rmw_ns = NAN };
	struct calls calls = { 0 };
	struct sl_plan_hooks hooks = { .arg = &calls, .finished = on_finished };
	struct sl_plan_outcome out;
	struct sl_err err;

	(void)state;
	two_point_plan(&g, &plan, &failing_prim);
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, 0, &hooks, &out, &err), 0);
	assert_int_equal(out.end, SL_PLAN_COMPLETE);
	assert_int_equal(out.measured, 2);
	assert_int_equal(out.failed, 1);
	assert_int_equal(calls.status[0], SL_STATUS_ERROR);
	assert_non_null(strstr(plan.item[0].res.message, "no room for the test"));
	assert_null(plan.item[0].res.thread);
	assert_int_equal(calls.status[1], SL_STATUS_OK);
	sl_plan_free(&plan);

	memset(&calls, 0, sizeof(calls));
	two_point_plan(&g, &plan, &failing_prim);
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, SL_PLAN_STOP_ON_ERROR, &hooks,
				     &out, &err), -ENOMEM);
	assert_int_equal(out.end, SL_PLAN_HARNESS_ERROR);
	assert_non_null(strstr(err.msg, "no room for the test"));
	assert_int_equal(calls.finished, 0);
	sl_plan_free(&plan);
}

static int failing_hook(void *arg, const struct sl_plan *plan, size_t i,
			struct sl_err *err)
{
	(void)arg;
	(void)plan;
	(void)i;
	return sl_err_set(err, -ENOSPC, "disk full");
}

static void test_interrupt_and_hook_error(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_plan_ctx ctx = { .calib = &calib, .rmw_ns = NAN };
	struct calls calls = { 0 };
	struct sl_plan_hooks hooks = { .arg = &calls, .starting = on_starting,
				      .finished = on_finished };
	struct sl_plan_hooks bad = { .finished = failing_hook };
	struct sl_plan_outcome out;
	struct sl_err err;
	atomic_int flag = 1;

	(void)state;
	two_point_plan(&g, &plan, sl_prim_find("spin"));
	g.interrupt = &flag;
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, 0, &hooks, &out, &err), 0);
	assert_int_equal(out.end, SL_PLAN_INTERRUPTED);
	assert_int_equal(out.measured, 0);
	assert_int_equal(calls.starting, 0);
	assert_int_equal(plan.item[0].state, SL_ITEM_PENDING);
	sl_plan_free(&plan);

	two_point_plan(&g, &plan, sl_prim_find("spin"));
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, 0, &bad, &out, &err), -ENOSPC);
	assert_int_equal(out.end, SL_PLAN_HOOK_ERROR);
	assert_int_equal(out.measured, 1);
	assert_int_equal(plan.item[1].state, SL_ITEM_PENDING);
	assert_string_equal(err.msg, "disk full");
	sl_plan_free(&plan);
}

static void test_done_items_are_skipped(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_plan_ctx ctx = { .calib = &calib, .rmw_ns = NAN };
	struct calls calls = { 0 };
	struct sl_plan_hooks hooks = { .arg = &calls, .starting = on_starting,
				      .finished = on_finished };
	struct sl_plan_outcome out;
	struct sl_err err;

	(void)state;
	two_point_plan(&g, &plan, sl_prim_find("spin"));
	plan.item[0].state = SL_ITEM_DONE;
	assert_int_equal(sl_plan_run(&plan, &g, &ctx, 0, &hooks, &out, &err), 0);
	assert_int_equal(out.measured, 1);
	assert_int_equal(calls.starting, 1);
	assert_int_equal(plan.item[0].state, SL_ITEM_DONE);
	assert_int_equal(plan.item[1].state, SL_ITEM_MEASURED);
	sl_plan_free(&plan);
}

static void test_estimate(void **state)
{
	struct sl_grid g;
	struct sl_plan plan;
	struct sl_overhead o = { 2, { 1, 4 }, { 1000000, 4000000 } };
	struct sl_err err;
	uint64_t t0, measured;

	(void)state;
	grid_init(&g);
	add(&g, "mutex");
	g.threads = (struct sl_ulist){ 3, { 1, 2, 8 } };
	g.duration_ns = 30 * SL_NS_PER_MS;
	g.warmup_ns = 5 * SL_NS_PER_MS;
	assert_int_equal(sl_plan_build(&plan, &g, 0, &err), 0);
	/* Measured, interpolated, and beyond the last measured count. */
	assert_int_equal(sl_plan_item_estimate_ns(&plan, 0, &o), 35000000 + 1000000);
	assert_int_equal(sl_plan_item_estimate_ns(&plan, 1, &o), 35000000 + 2000000);
	assert_int_equal(sl_plan_item_estimate_ns(&plan, 2, &o), 35000000 + 4000000);
	assert_int_equal(sl_plan_estimate_ns(&plan, 0, &o), 3 * 35000000 + 7000000);
	plan.item[0].state = SL_ITEM_DONE;
	assert_int_equal(sl_plan_estimate_ns(&plan, 0, &o), 2 * 35000000 + 6000000);
	assert_int_equal(sl_plan_estimate_ns(&plan, 2, &o), 35000000 + 4000000);

	/* The probe measures each thread count the pending points use. */
	t0 = sl_now_ns();
	assert_int_equal(sl_plan_probe_overhead(&plan, &g, &calib, &o, &err), 0);
	measured = sl_now_ns() - t0;
	assert_int_equal(o.n, 2);
	assert_int_equal(o.threads[0], 2);
	assert_int_equal(o.threads[1], 8);
	for (unsigned i = 0; i < o.n; i++) {
		assert_true(o.ns[i] > 0);
		assert_true(o.ns[i] < measured);
	}
	sl_plan_free(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dials_multiply_only_their_kinds),
		cmocka_unit_test(test_refused_combinations),
		cmocka_unit_test(test_prims_list),
		cmocka_unit_test(test_stuck_point_is_a_row_and_the_plan_goes_on),
		cmocka_unit_test(test_point_that_cannot_start),
		cmocka_unit_test(test_interrupt_and_hook_error),
		cmocka_unit_test(test_done_items_are_skipped),
		cmocka_unit_test(test_estimate),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
