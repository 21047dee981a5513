/*
 * The lab shape's window hook: each worker is told once, from its own
 * thread and between two of its steps, that the measured window opened, so
 * that an experiment can keep figures of the window only.  The steps a
 * worker takes after the hook are exactly those the shape counts as
 * observed; the warm-up's steps come before it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#define MAX_THREADS 4

/* Each slot is written by its own worker only and read after the join. */
struct slot {
	alignas(SL_SLOT_ALIGN) uint64_t window_calls;
	uint64_t steps_before, steps_after;
};

struct counts {
	struct slot slot[MAX_THREADS];
};

/* The runner frees the object after the run, so the counts live in the
 * test; lab_arg carries their address to init. */
struct counting_obj {
	struct counts *c;
};

struct wctx {
	bool in_window;
};

static int count_init(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	(void)err;
	((struct counting_obj *)obj)->c = (struct counts *)(intptr_t)conf->lab_arg;
	return 0;
}

static uint64_t count_step(void *obj, void *tctx, unsigned id)
{
	struct slot *s = &((struct counting_obj *)obj)->c->slot[id % MAX_THREADS];
	struct wctx *t = tctx;

	if (!t->in_window) {
		s->steps_before++;
		return 0;
	}
	s->steps_after++;
	return 1;
}

static void count_window(void *obj, void *tctx, unsigned id)
{
	((struct counting_obj *)obj)->c->slot[id % MAX_THREADS].window_calls++;
	((struct wctx *)tctx)->in_window = true;
}

static const struct sl_prim counting = {
	.name = "window-counter",
	.family = "lab",
	.kind = SL_KIND_LAB,
	.summary = "counts steps before and after the window hook",
	.obj_size = sizeof(struct counting_obj),
	.tctx_size = sizeof(struct wctx),
	.init = count_init,
	.lab = { .step = count_step, .window = count_window },
};

static struct sl_topo *topo;
static struct sl_calib calib;
static struct sl_pin_spec pin_none;

static int setup(void **state)
{
	struct sl_err err;

	(void)state;
	if (sl_topo_load(&topo, NULL, NULL, &err) < 0 || sl_calibrate(&calib, &err) < 0 ||
	    sl_pin_parse("none", &pin_none, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sl_topo_free(topo);
	return 0;
}

static void run_counting(unsigned threads, uint64_t warmup_ns)
{
	static struct counts c;
	struct sl_point pt = {
		.prim = &counting,
		.threads = threads,
		.rep = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = warmup_ns,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.lab_arg = (long)(intptr_t)&c,
		.topo = topo,
		.pin = &pin_none,
		.calib = &calib,
	};
	struct sl_result res;
	struct sl_err err;
	uint64_t after = 0;

	memset(&c, 0, sizeof(c));
	assert_int_equal(sl_point_resolve(&pt, &err), 0);
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	for (unsigned i = 0; i < threads; i++) {
		assert_int_equal(c.slot[i].window_calls, 1);
		if (warmup_ns)
			assert_true(c.slot[i].steps_before > 0);
		assert_true(c.slot[i].steps_after > 0);
		after += c.slot[i].steps_after;
	}
	/* The steps after the hook are exactly the window's as the shape
	 * counts them. */
	assert_int_equal(after, res.observed);
	sl_result_release(&res);
}

static void test_hook_once_per_thread_at_the_window(void **state)
{
	(void)state;
	run_counting(1, 20 * SL_NS_PER_MS);
	run_counting(3, 20 * SL_NS_PER_MS);
	run_counting(2, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_once_per_thread_at_the_window),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
