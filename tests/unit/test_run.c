/*
 * The runner end to end on real threads: figures add up, the window is
 * timed, placement is recorded, a broken lock fails its invariant, a
 * deadlocked primitive is reported stuck (not hung), an interrupt is
 * honoured, and unsupported counters read as NAN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counters/counters.h"
#include "pinning/pin.h"
#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/clock.h"
#include "reports/report.h"
#include "workloads/workload.h"

#include "machine_fixture.h"

static struct sl_pin_spec pin_none;

static int setup_pins(void **state)
{
	struct sl_err err;

	(void)state;
	if (machine_setup() < 0)
		return -1;
	if (sl_pin_parse("none", &pin_none, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static struct sl_point point(const char *prim, unsigned threads)
{
	struct sl_point pt = {
		.prim = sl_prim_find(prim),
		.threads = threads,
		.rep = 1,
		.duration_ns = 100 * SL_NS_PER_MS,
		.warmup_ns = 10 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	assert_non_null(pt.prim);
	return pt;
}

static void test_figures_add_up(void **state)
{
	struct sl_point pt = point("mutex", 3);
	struct sl_result res;
	struct sl_err err;
	uint64_t sum = 0, lo = UINT64_MAX, hi = 0;

	(void)state;
	pt.cs_lines = 2;
	pt.cs_ns = 50;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_int_equal(res.threads, 3);
	for (unsigned i = 0; i < 3; i++) {
		sum += res.thread[i].ops;
		lo = res.thread[i].ops < lo ? res.thread[i].ops : lo;
		hi = res.thread[i].ops > hi ? res.thread[i].ops : hi;
		assert_true(res.thread[i].total_ops >= res.thread[i].ops);
		assert_true(res.thread[i].pu_bound >= 0);
	}
	assert_int_equal(sum, res.ops);
	assert_int_equal(lo, res.min_thread_ops);
	assert_int_equal(hi, res.max_thread_ops);
	assert_true(res.ops > 0);
	/* The window is timed by the main thread: at least the duration, and
	 * not wildly more even on a loaded machine. */
	assert_true(res.window_ns >= pt.duration_ns);
	assert_true(res.window_ns < pt.duration_ns + 500 * SL_NS_PER_MS);
	assert_true(fabs(res.ops_per_sec - (double)res.ops * 1e9 / (double)res.window_ns) < 1e-6 * res.ops_per_sec);
	assert_true(res.fairness > 1.0 / 3 - 1e-9 && res.fairness <= 1.0 + 1e-9);
	sl_result_release(&res);
}

/* --latency: about one op in lat_period is timed, only inside the window;
 * off, there is no histogram and no clock cost. */
static void test_latency_sampled(void **state)
{
	struct sl_point pt = point("mutex", 2);
	struct sl_result res;
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_null(res.lat);
	assert_true(isnan(res.clock_ns));
	sl_result_release(&res);

	pt.lat_period = 10;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_non_null(res.lat);
	/* Mean gap 10: well inside ops/30..ops/3 over thousands of samples;
	 * an op that started in the window and ended after it may add one
	 * sample per thread. */
	assert_true(res.lat->count > res.ops / 30);
	assert_true(res.lat->count < res.ops / 3 + res.threads);
	assert_true(res.lat->min <= res.lat->max);
	assert_true(res.clock_ns > 0.0 && res.clock_ns < 100000.0);
	sl_result_release(&res);
	assert_null(res.lat);
}

/* Hand-offs: with every op timed on a contended lock some acquires wait
 * for a release; each is classified once, and a primitive that excludes
 * nothing has none. */
static void test_handoffs_counted(void **state)
{
	struct sl_point pt = point("spin-ticket", 2);
	struct sl_result res;
	struct sl_err err;
	uint64_t placed = 0;

	(void)state;
	pt.lat_period = 1;
	pt.cs_ns = 200;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_non_null(res.handoff);
	assert_true(res.handoff->hist.count > 0);
	for (unsigned i = 0; i < SL_PU_DISTANCES; i++)
		placed += res.handoff->where[i];
	assert_int_equal(placed, res.handoff->hist.count);
	/* A hand-off is one of the sampled acquires, never more of them. */
	assert_true(res.handoff->hist.count <= res.lat->count);
	sl_result_release(&res);

	pt = point("null", 2);
	pt.lat_period = 1;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.handoff->hist.count, 0);
	sl_result_release(&res);
}

/* --timeline: the window in equal intervals, each thread's ops per
 * interval adding up to (nearly all of) its window ops, and the CSV rows. */
static void test_timeline(void **state)
{
	struct sl_point pt = point("mutex", 2);
	struct sl_result res;
	struct sl_err err;
	struct sl_timeline *tl;
	struct sl_row row = { .pt = &pt, .res = &res };
	char path[] = "/tmp/synclab-timeline-XXXXXX", line[256];
	unsigned lines = 0;
	int fd;
	FILE *f;

	(void)state;
	pt.timeline_ns = 20 * SL_NS_PER_MS;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_int_equal(res.timeline_n, 5);
	for (unsigned i = 0; i < 2; i++) {
		uint64_t sum = 0;

		for (unsigned k = 0; k < res.timeline_n; k++)
			sum += res.timeline_ops[k * 2 + i];
		/* The last interval closes the window: the intervals add
		 * up to the thread's ops exactly. */
		assert_int_equal(sum, res.thread[i].ops);
	}
	for (unsigned k = 1; k < res.timeline_n; k++)
		assert_true(res.timeline_end_ns[k] > res.timeline_end_ns[k - 1]);
	assert_true(res.timeline_end_ns[0] >= pt.timeline_ns);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sl_timeline_open(&tl, path, &err), 0);
	assert_int_equal(sl_timeline_write(tl, &row, &err), 0);
	assert_int_equal(sl_timeline_close(tl, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	/* The point key first, as the results CSV has it. */
	assert_string_equal(line, "primitive,threads,pin,cs_ns,think_ns,cs_lines,locks,read_pct,"
				  "writers,producers,consumers,capacity,permits,latency_period,"
				  "warmup_s,rep,interval,end_s,thread,cpu,ops,ops_per_sec\n");
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	unlink(path);
	assert_int_equal(lines, 5 * 2);
	sl_result_release(&res);
	assert_null(res.timeline_ops);
}

static void test_many_locks_and_null(void **state)
{
	const char *names[] = { "mutex", "spin", "pthread-mutex", "null", "rmw" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct sl_point pt = point(names[i], 4);
		struct sl_result res;
		struct sl_err err;

		pt.locks = 8;
		pt.cs_lines = 1;
		pt.duration_ns = 50 * SL_NS_PER_MS;
		assert_int_equal(sl_run_point(&pt, &res, &err), 0);
		if (res.status != SL_STATUS_OK)
			fail_msg("%s: %s", names[i], res.message);
		assert_true(res.ops > 0);
		sl_result_release(&res);
	}
}

static void test_broken_lock_fails(void **state)
{
	struct sl_point pt = point("broken-lock", 2);
	struct sl_result res;
	struct sl_err err;
	int tries;

	(void)state;
	pt.duration_ns = 300 * SL_NS_PER_MS;
	pt.cs_ns = 100; /* both owners inside long enough to see each other */
	/* Two PUs: on one, the race needs a preemption inside the section. */
	{
		struct sl_topo_summary ts;

		sl_topo_summarize(topo, &ts);
		if (ts.usable_pus < 2)
			skip();
	}
	/* The race is probabilistic on a loaded 2-CPU machine: a few windows
	 * must catch it; a correct lock never fails in any. */
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

static void test_deadlock_is_reported_not_hung(void **state)
{
	struct sl_point pt = point("mutex", 3);
	struct sl_result res;
	struct sl_err err;
	uint64_t t0 = sl_now_ns();

	(void)state;
	pt.prim = &deadlock_prim;
	pt.stall_timeout_ns = 200 * SL_NS_PER_MS;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_STUCK);
	assert_non_null(strstr(res.message, "made no progress"));
	assert_non_null(strstr(res.message, "test-deadlock"));
	assert_true(sl_now_ns() - t0 < 3 * SL_NS_PER_SEC);
	/* The stuck threads keep the run's memory; the result is ours. */
	sl_result_release(&res);
}

/* A lock held 40 ms a time: after the stop its waiters leave one by one,
 * slower than the stall timeout allows but never stopping. */
static void slow_lock(void *obj, void *tctx)
{
	_Atomic uint32_t *taken = obj;

	(void)tctx;
	while (atomic_exchange_explicit(taken, 1, memory_order_acquire))
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	sl_sleep_ns(40 * SL_NS_PER_MS, NULL);
}
static void slow_unlock(void *obj, void *tctx)
{
	(void)tctx;
	atomic_store_explicit((_Atomic uint32_t *)obj, 0, memory_order_release);
}
static const struct sl_prim slow_prim = {
	.name = "test-slow", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "holds 40 ms", .obj_size = sizeof(uint32_t),
	.lock = { .lock = slow_lock, .unlock = slow_unlock },
};

/* Threads that keep leaving, too slowly, are told from a deadlock: the
 * drain is waited for up to four stall timeouts and named with its pace. */
static void test_slow_drain_is_not_called_a_deadlock(void **state)
{
	struct sl_point pt = point("mutex", 16);
	struct sl_result res;
	struct sl_err err;
	uint64_t t0;

	(void)state;
	pt.prim = &slow_prim;
	pt.stall_timeout_ns = 100 * SL_NS_PER_MS;
	t0 = sl_now_ns();
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_STUCK);
	assert_non_null(strstr(res.message, "'test-slow' too slow to stop"));
	assert_non_null(strstr(res.message, " left, one every "));
	assert_null(strstr(res.message, "made no progress"));
	/* Four stall timeouts at most, plus the window. */
	assert_true(sl_now_ns() - t0 < 2 * SL_NS_PER_SEC);
	sl_result_release(&res);
}

/* Thousands of stuck threads make one readable line: a dozen named, the rest
 * counted; the oversubscribed cause is named exactly when it applies. */
static void test_stuck_threads_listed_briefly(void **state)
{
	struct sl_point pt = point("mutex", 20);
	struct sl_result res;
	struct sl_err err;
	char expect[64];

	(void)state;
	pt.prim = &deadlock_prim;
	pt.stall_timeout_ns = 200 * SL_NS_PER_MS;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_STUCK);
	snprintf(expect, sizeof(expect), "of 20 threads (0,1,2,3,4,5,6,7,8,9,10,11 and %u more)", 8u);
	assert_non_null(strstr(res.message, expect));
	assert_true((strstr(res.message, "outnumber their PUs") != NULL) ==
		    res.oversubscribed);
	assert_true(strlen(res.message) < 400);
	sl_result_release(&res);
}

static void test_interrupt(void **state)
{
	struct sl_point pt = point("mutex", 2);
	struct sl_result res;
	struct sl_err err;
	atomic_int flag = 1;
	uint64_t t0 = sl_now_ns();

	(void)state;
	pt.duration_ns = 5 * SL_NS_PER_SEC;
	pt.interrupt = &flag;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	if (res.status != SL_STATUS_INTERRUPTED)
		fail_msg("status %s: %s", sl_status_name(res.status), res.message);
	assert_true(sl_now_ns() - t0 < 2 * SL_NS_PER_SEC);
	sl_result_release(&res);
}

static void test_oversubscribed_on_one_pu(void **state)
{
	struct sl_topo *one;
	struct sl_point pt = point("mutex", 3);
	struct sl_result res;
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_topo_load(&one, NULL, "0", &err), 0);
	pt.topo = one;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_true(res.oversubscribed);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(res.thread[i].pu_bound, 0);
		assert_int_equal(res.thread[i].pu_seen, 0);
	}
	sl_result_release(&res);
	sl_topo_free(one);
}

/* Whether this process may take a real-time priority (root, CAP_SYS_NICE,
 * an RLIMIT_RTPRIO): tried on the calling thread and undone. */
static bool may_take_fifo(void)
{
	const struct sched_param fifo = { .sched_priority = 1 };
	struct sched_param old;
	int policy;

	if (pthread_getschedparam(pthread_self(), &policy, &old) != 0 ||
	    pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo) != 0)
		return false;
	pthread_setschedparam(pthread_self(), policy, &old);
	return true;
}

/* A lock whose holders note the main thread's scheduling policy and their
 * own: whether the main thread keeps time at a real-time priority while
 * the workers run, and whether any worker inherited it. */
static pthread_t main_thread;
static atomic_bool main_was_fifo, worker_was_fifo;
static void policy_lock(void *obj, void *tctx)
{
	struct sched_param param;
	int policy;

	(void)tctx;
	while (atomic_exchange_explicit((_Atomic uint32_t *)obj, 1, memory_order_acquire))
		sched_yield();
	if (pthread_getschedparam(main_thread, &policy, &param) == 0 && policy == SCHED_FIFO)
		atomic_store_explicit(&main_was_fifo, true, memory_order_relaxed);
	if (sched_getscheduler(0) == SCHED_FIFO)
		atomic_store_explicit(&worker_was_fifo, true, memory_order_relaxed);
}
static const struct sl_prim policy_prim = {
	.name = "test-policy", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "notes scheduling policies", .obj_size = sizeof(uint32_t),
	.lock = { .lock = policy_lock, .unlock = slow_unlock },
};

/* The main thread ends the window: with the threads outnumbering their PUs
 * it takes SCHED_FIFO 1 while they run (among 2048 threads on two PUs it
 * waited its turn and a 20 ms window ran for seconds), after creating them,
 * so that none inherits it, and gives it back; with a PU per thread it
 * keeps its policy. */
static void test_main_thread_keeps_time_at_rt_priority(void **state)
{
	struct sl_topo *one;
	struct sl_point over = point("mutex", 3), alone = point("mutex", 1);
	struct sched_param param;
	struct sl_result res;
	struct sl_err err;
	int policy;

	(void)state;
	if (!may_take_fifo())
		skip();
	main_thread = pthread_self();
	assert_int_equal(sl_topo_load(&one, NULL, "0", &err), 0);
	over.topo = one;
	over.prim = &policy_prim;
	assert_int_equal(sl_run_point(&over, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_true(res.oversubscribed);
	assert_true(atomic_load(&main_was_fifo));
	assert_false(atomic_load(&worker_was_fifo));
	assert_int_equal(pthread_getschedparam(pthread_self(), &policy, &param), 0);
	assert_int_equal(policy, SCHED_OTHER);
	sl_result_release(&res);

	atomic_store(&main_was_fifo, false);
	alone.prim = &policy_prim;
	assert_int_equal(sl_run_point(&alone, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	assert_false(res.oversubscribed);
	assert_false(atomic_load(&main_was_fifo));
	sl_result_release(&res);
	sl_topo_free(one);
}

static void test_counters_window(void **state)
{
	struct sl_counter_set cs;
	struct sl_point pt = point("mutex", 4);
	struct sl_result res;
	struct sl_err err;
	int cyc, ctx;

	(void)state;
	assert_int_equal(sl_counters_resolve("default", &cs, &err), 0);
	cyc = sl_counters_find(&cs, "cycles");
	ctx = sl_counters_find(&cs, "context-switches");
	assert_true(cyc >= 0 && ctx >= 0);
	pt.counters = &cs;
	pt.pin = &pin_none;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	if (!cs.ev[cyc].supported)
		assert_true(isnan(res.counter[cyc]));
	else
		assert_true(res.counter[cyc] > 0);
	if (cs.ev[ctx].supported)
		assert_false(isnan(res.counter[ctx]));
	else
		assert_true(isnan(res.counter[ctx]));
	sl_result_release(&res);
}

/* A spinlock that counts, per thread, every acquisition and every
 * acquisition made with more than one instance: events the runner must
 * report for the window only, summed over threads and instances. */
struct counting_ctx {
	uint64_t locks;
};
static void counting_lock(void *obj, void *tctx)
{
	_Atomic uint32_t *w = obj;

	while (atomic_exchange_explicit(w, 1, memory_order_acquire))
		sl_cpu_relax();
	((struct counting_ctx *)tctx)->locks++;
}
static void counting_unlock(void *obj, void *tctx)
{
	(void)tctx;
	atomic_store_explicit((_Atomic uint32_t *)obj, 0, memory_order_release);
}
static void counting_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	out[0] = ((const struct counting_ctx *)tctx)->locks;
	out[1] = 7; /* the same at both edges: 0 in the window */
}
static const struct sl_prim counting_prim = {
	.name = "test-counting", .family = "test", .kind = SL_KIND_LOCK,
	.summary = "counts its acquisitions", .obj_size = sizeof(uint32_t),
	.tctx_size = sizeof(struct counting_ctx),
	.lock = { .lock = counting_lock, .unlock = counting_unlock },
	.event_names = { "locks", "constants" },
	.events = counting_events,
};

/* The primitive's own counts cover the window: with a warm-up as long as
 * the window, counts since the start would be about twice the window's
 * ops.  Each thread samples at the edges it sees and the main thread reads
 * ops at its own, so the two differ by the ops in between: a few, or, when
 * the main thread loses its PU between the two (three workers on two PUs,
 * slowed by ThreadSanitizer, beside other tests), a time slice's worth --
 * hence the bounds, which still tell the window from twice it. */
static void test_prim_events_cover_the_window(void **state)
{
	struct sl_point pt = point("mutex", 3);
	struct sl_result res;
	struct sl_err err;
	double ratio;

	(void)state;
	pt.prim = &counting_prim;
	pt.locks = 2;
	pt.warmup_ns = pt.duration_ns;
	assert_int_equal(sl_prim_event_count(&counting_prim), 2);
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_OK);
	ratio = (double)res.prim_events[0] / (double)res.ops;
	if (ratio < 0.67 || ratio > 1.5)
		fail_msg("%" PRIu64 " locks counted in a window of %" PRIu64 " ops",
			 res.prim_events[0], res.ops);
	assert_int_equal(res.prim_events[1], 0);
	assert_int_equal(res.prim_events[2], 0);
	/* The same per second of the window; nothing for unnamed slots. */
	assert_true(fabs(res.events_per_sec[0] -
			 (double)res.prim_events[0] * 1e9 / (double)res.window_ns) <
		    1e-6 * res.events_per_sec[0]);
	assert_true(res.events_per_sec[1] == 0.0);
	assert_true(isnan(res.events_per_sec[2]) && isnan(res.events_per_sec[3]));
	sl_result_release(&res);
}

static bool never_supported(char *why, size_t n)
{
	snprintf(why, n, "needs a feature this test pretends is missing");
	return false;
}

static void test_unsupported(void **state)
{
	struct sl_prim p = *sl_prim_find("mutex");
	struct sl_point pt = point("mutex", 2);
	struct sl_result res;
	struct sl_err err;

	(void)state;
	p.supported = never_supported;
	pt.prim = &p;
	assert_int_equal(sl_run_point(&pt, &res, &err), 0);
	assert_int_equal(res.status, SL_STATUS_UNSUPPORTED);
	assert_non_null(strstr(res.message, "pretends"));
	sl_result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_add_up),
		cmocka_unit_test(test_latency_sampled),
		cmocka_unit_test(test_handoffs_counted),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_many_locks_and_null),
		cmocka_unit_test(test_broken_lock_fails),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_oversubscribed_on_one_pu),
		cmocka_unit_test(test_main_thread_keeps_time_at_rt_priority),
		cmocka_unit_test(test_counters_window),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_prim_events_cover_the_window),
		/* Last: it leaves threads asleep forever. */
		cmocka_unit_test(test_deadlock_is_reported_not_hung),
		cmocka_unit_test(test_stuck_threads_listed_briefly),
		cmocka_unit_test(test_slow_drain_is_not_called_a_deadlock),
	};

	return cmocka_run_group_tests_name("runner", tests, setup_pins, teardown);
}
