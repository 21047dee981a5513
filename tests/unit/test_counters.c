/*
 * Unit tests for counters/: name resolution, the fallback when the machine
 * or perf_event_paranoid forbids an event (through an injected
 * perf_event_open), the NAN rules of sl_counters_read, real per-thread
 * context switches counted from the main thread, and getrusage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "counters/counters.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = -100;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -100;
		fclose(f);
	}
	return v;
}

/* Whether this process may count kernel-side events at all. */
static bool kernel_side_allowed(void)
{
	return geteuid() == 0 || read_paranoid() <= 1;
}

static int real_open(struct perf_event_attr *attr, pid_t pid, int cpu,
		     int group_fd, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd,
			    flags);
}

static bool is_hw(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_HARDWARE || a->type == PERF_TYPE_HW_CACHE ||
	       a->type == PERF_TYPE_RAW;
}

/* Open a software task-clock in place of a hardware event, with the same
 * flags: it stands for a PMU that accepts the event. */
static int open_as_task_clock(struct perf_event_attr *attr, pid_t pid,
			      int cpu, int group_fd, unsigned long flags)
{
	struct perf_event_attr a = *attr;

	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.config1 = 0;
	a.config2 = 0;
	return real_open(&a, pid, cpu, group_fd, flags);
}

/* Every call an injected function saw. */
static struct {
	unsigned n;
	struct perf_event_attr attr[64];
} calls;

static void record(const struct perf_event_attr *attr)
{
	if (calls.n < 64)
		calls.attr[calls.n] = *attr;
	calls.n++;
}

/* A VM without a PMU: hardware fails with ENOENT, software is real. */
static int open_no_pmu(struct perf_event_attr *attr, pid_t pid, int cpu,
		       int group_fd, unsigned long flags)
{
	record(attr);
	if (is_hw(attr)) {
		errno = ENOENT;
		return -1;
	}
	return real_open(attr, pid, cpu, group_fd, flags);
}

/* A PMU that has cycles but not cache-misses. */
static int open_no_cache_misses(struct perf_event_attr *attr, pid_t pid,
				int cpu, int group_fd, unsigned long flags)
{
	if (attr->type == PERF_TYPE_HARDWARE &&
	    attr->config == PERF_COUNT_HW_CACHE_MISSES) {
		errno = ENOENT;
		return -1;
	}
	if (is_hw(attr))
		return open_as_task_clock(attr, pid, cpu, group_fd, flags);
	return real_open(attr, pid, cpu, group_fd, flags);
}

/* perf_event_paranoid=3 for an unprivileged user: nothing at all. */
static int open_eacces(struct perf_event_attr *attr, pid_t pid, int cpu,
		       int group_fd, unsigned long flags)
{
	(void)pid;
	(void)cpu;
	(void)group_fd;
	(void)flags;
	record(attr);
	errno = EACCES;
	return -1;
}

/* perf_event_paranoid=2 for an unprivileged user on a machine with a PMU:
 * user-only counting is allowed, kernel-side counting is not. */
static int open_user_only(struct perf_event_attr *attr, pid_t pid, int cpu,
			  int group_fd, unsigned long flags)
{
	record(attr);
	if (!attr->exclude_kernel) {
		errno = EACCES;
		return -1;
	}
	if (is_hw(attr))
		return open_as_task_clock(attr, pid, cpu, group_fd, flags);
	return real_open(attr, pid, cpu, group_fd, flags);
}

static int open_fail_all(struct perf_event_attr *attr, pid_t pid, int cpu,
			 int group_fd, unsigned long flags)
{
	(void)attr;
	(void)pid;
	(void)cpu;
	(void)group_fd;
	(void)flags;
	errno = EMFILE;
	return -1;
}

/*
 * A pipe whose read end holds a canned perf read (value, time_enabled,
 * time_running), or fewer bytes: it lets the scaling and NAN rules of
 * sl_counters_read be checked without a PMU.
 */
static struct {
	unsigned n, next;
	uint64_t v[8][3];
	size_t bytes[8];
} canned;

static int open_canned(struct perf_event_attr *attr, pid_t pid, int cpu,
		       int group_fd, unsigned long flags)
{
	int p[2];
	unsigned k = canned.next++;

	(void)attr;
	(void)pid;
	(void)cpu;
	(void)group_fd;
	(void)flags;
	if (k >= canned.n || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (write(p[1], canned.v[k], canned.bytes[k]) != (ssize_t)canned.bytes[k]) {
		close(p[0]);
		close(p[1]);
		errno = EIO;
		return -1;
	}
	close(p[1]);
	return p[0];
}

static void add_canned(uint64_t value, uint64_t enabled, uint64_t running,
		       size_t bytes)
{
	canned.v[canned.n][0] = value;
	canned.v[canned.n][1] = enabled;
	canned.v[canned.n][2] = running;
	canned.bytes[canned.n] = bytes;
	canned.n++;
}

static int reset(void **state)
{
	(void)state;
	sl_counters_set_open_fn(NULL);
	memset(&calls, 0, sizeof(calls));
	memset(&canned, 0, sizeof(canned));
	return 0;
}

static struct sl_counter_set set;
static struct sl_err err;

static void resolve_ok(const char *list)
{
	memset(&err, 0, sizeof(err));
	if (sl_counters_resolve(list, &set, &err) != 0)
		fail_msg("resolve '%s': %s", list ? list : "(none: the default set)", err.msg);
}

static int resolve_bad(const char *list)
{
	int rc;

	memset(&err, 0, sizeof(err));
	rc = sl_counters_resolve(list, &set, &err);
	assert_int_equal(set.n, 0);
	return rc;
}

/* ---- resolution ---- */

static void test_default_set(void **state)
{
	static const struct {
		const char *name;
		unsigned type;
		uint64_t config;
	} want[] = {
		{ "cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
		{ "instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
		{ "cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES },
		{ "context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES },
		{ "cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS },
	};

	(void)state;
	resolve_ok("default");
	assert_int_equal(set.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		const struct sl_event *ev = &set.ev[i];

		assert_string_equal(ev->name, want[i].name);
		assert_int_equal(ev->attr.type, want[i].type);
		assert_int_equal(ev->attr.config, want[i].config);
		assert_int_equal(ev->attr.disabled, 1);
		assert_int_equal(ev->attr.inherit, 0);
		assert_int_equal(ev->attr.exclude_user, 0);
		assert_int_equal(ev->attr.read_format,
				 PERF_FORMAT_TOTAL_TIME_ENABLED |
				 PERF_FORMAT_TOTAL_TIME_RUNNING);
		if (ev->supported)
			assert_string_equal(ev->why, "");
		else
			assert_non_null(strstr(ev->why, "not supported"));
	}
	/* Where allowed, scheduler events open counting the kernel side. */
	if (kernel_side_allowed()) {
		for (unsigned i = 3; i < 5; i++) {
			assert_true(set.ev[i].supported);
			assert_int_equal(set.ev[i].attr.exclude_kernel, 0);
		}
	}

	/* The macro, NULL and "default" inside a list mean the same. */
	resolve_ok(SL_COUNTERS_DEFAULT);
	assert_int_equal(set.n, 5);
	resolve_ok(NULL);
	assert_int_equal(set.n, 5);
	resolve_ok("default, page-faults");
	assert_int_equal(set.n, 6);
	assert_string_equal(set.ev[5].name, "page-faults");
}

static void test_none(void **state)
{
	(void)state;
	set.n = 3;
	resolve_ok("none");
	assert_int_equal(set.n, 0);
	resolve_ok(" none ");
	assert_int_equal(set.n, 0);
	assert_int_equal(resolve_bad("none,cycles"), -EINVAL);
	assert_non_null(strstr(err.msg, "'none'"));
	assert_int_equal(resolve_bad(""), -EINVAL);
	assert_int_equal(resolve_bad("cycles,,instructions"), -EINVAL);
	assert_non_null(strstr(err.msg, "empty event name"));
	assert_int_equal(resolve_bad("cycles,"), -EINVAL);
}

static void test_unknown_name(void **state)
{
	(void)state;
	assert_int_equal(resolve_bad("cycles,cyclez"), -EINVAL);
	assert_string_equal(err.msg,
			    "--counters: unknown event 'cyclez' (did you mean 'cycles'?)");
	assert_int_equal(resolve_bad("context-switch"), -EINVAL);
	assert_string_equal(err.msg,
			    "--counters: unknown event 'context-switch' (did you mean 'context-switches'?)");
	assert_int_equal(resolve_bad("cache-mises:u"), -EINVAL);
	assert_non_null(strstr(err.msg, "did you mean 'cache-misses'?"));

	assert_int_equal(resolve_bad("qqqqzzzz"), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown event 'qqqqzzzz'"));
	assert_null(strstr(err.msg, "did you mean"));

	/* A known event with a bad modifier is not "unknown". */
	assert_int_equal(resolve_bad("cycles:zz"), -EINVAL);
	assert_non_null(strstr(err.msg, "cannot use event 'cycles:zz'"));
}

static void test_duplicates(void **state)
{
	(void)state;
	assert_int_equal(resolve_bad("cycles,instructions,cycles"), -EINVAL);
	assert_string_equal(err.msg,
			    "--counters: 'cycles' is listed more than once (accepted: each event once)");
	assert_int_equal(resolve_bad("default,cpu-migrations"), -EINVAL);
	assert_non_null(strstr(err.msg, "'cpu-migrations'"));
	/* Two names for one event. */
	assert_int_equal(resolve_bad("cycles,cpu-cycles"), -EINVAL);
	assert_string_equal(err.msg,
			    "--counters: 'cpu-cycles' is the same event as 'cycles' (accepted: each event once)");
	assert_int_equal(resolve_bad("context-switches,cs"), -EINVAL);
	/* One event counted in two modes is two events. */
	resolve_ok("task-clock,task-clock:u");
	assert_int_equal(set.n, 2);
}

static void test_too_many(void **state)
{
	static const char sixteen[] =
		"cycles,instructions,cache-misses,context-switches,"
		"cpu-migrations,cache-references,branches,branch-misses,"
		"bus-cycles,ref-cycles,stalled-cycles-frontend,"
		"stalled-cycles-backend,cpu-clock,task-clock,page-faults,"
		"minor-faults";
	char list[sizeof(sixteen) + 32];

	(void)state;
	resolve_ok(sixteen);
	assert_int_equal(set.n, SL_MAX_EVENTS);
	snprintf(list, sizeof(list), "%s,major-faults", sixteen);
	assert_int_equal(resolve_bad(list), -EINVAL);
	assert_string_equal(err.msg,
			    "--counters: 17 events given (accepted: at most 16)");
}

static void test_other_names(void **state)
{
	(void)state;
	resolve_ok("L1-dcache-load-misses,page-faults,cycles:u,"
		   "perf::PERF_COUNT_SW_TASK_CLOCK,CPU-MIGRATIONS");
	assert_int_equal(set.n, 5);
	assert_string_equal(set.ev[0].name, "L1-dcache-load-misses");
	assert_int_equal(set.ev[0].attr.type, PERF_TYPE_HW_CACHE);
	assert_int_equal(set.ev[0].attr.config,
			 PERF_COUNT_HW_CACHE_L1D |
			 (PERF_COUNT_HW_CACHE_OP_READ << 8) |
			 (PERF_COUNT_HW_CACHE_RESULT_MISS << 16));
	assert_int_equal(set.ev[1].attr.type, PERF_TYPE_SOFTWARE);
	assert_int_equal(set.ev[1].attr.config, PERF_COUNT_SW_PAGE_FAULTS);
	assert_int_equal(set.ev[2].attr.type, PERF_TYPE_HARDWARE);
	assert_int_equal(set.ev[2].attr.exclude_kernel, 1);
	assert_int_equal(set.ev[2].attr.exclude_user, 0);
	assert_int_equal(set.ev[3].attr.config, PERF_COUNT_SW_TASK_CLOCK);
	assert_true(set.ev[3].supported);
	/* The name is kept as given. */
	assert_string_equal(set.ev[4].name, "CPU-MIGRATIONS");
	assert_int_equal(set.ev[4].attr.config, PERF_COUNT_SW_CPU_MIGRATIONS);
}

static void test_user_only_kernel_event(void **state)
{
	(void)state;
	/* Context switches happen in the kernel: ":u" could only read 0. */
	resolve_ok("context-switches:u");
	assert_int_equal(set.n, 1);
	assert_false(set.ev[0].supported);
	assert_non_null(strstr(set.ev[0].why, "always read 0"));
}

static void test_find(void **state)
{
	(void)state;
	resolve_ok("default");
	assert_int_equal(sl_counters_find(&set, "cycles"), 0);
	assert_int_equal(sl_counters_find(&set, "context-switches"), 3);
	assert_int_equal(sl_counters_find(&set, "cpu-migrations"), 4);
	assert_int_equal(sl_counters_find(&set, "cs"), -1);
	assert_int_equal(sl_counters_find(&set, ""), -1);
}

/* ---- fallback when the machine or the settings forbid an event ---- */

static void test_no_pmu(void **state)
{
	struct sl_thread_counters tc;
	double v[SL_MAX_EVENTS];

	(void)state;
	sl_counters_set_open_fn(open_no_pmu);
	resolve_ok("default");
	for (unsigned i = 0; i < 3; i++) {
		assert_false(set.ev[i].supported);
		assert_string_equal(set.ev[i].why,
				    "not supported: no hardware PMU visible (perf_event_open: No such file or directory)");
	}
	if (!kernel_side_allowed())
		skip();
	for (unsigned i = 3; i < 5; i++) {
		assert_true(set.ev[i].supported);
		assert_string_equal(set.ev[i].why, "");
	}

	sl_counters_open(&set, my_tid(), &tc);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(tc.fd[i], -1);
	for (unsigned i = 3; i < 5; i++)
		assert_true(tc.fd[i] >= 0);
	for (unsigned i = 5; i < SL_MAX_EVENTS; i++)
		assert_int_equal(tc.fd[i], -1);
	sl_counters_enable(&set, &tc, 1);
	for (int k = 0; k < 5; k++)
		sleep_ms(1);
	sl_counters_disable(&set, &tc, 1);
	sl_counters_read(&set, &tc, 1, v);
	for (unsigned i = 0; i < 3; i++)
		assert_true(isnan(v[i]));
	assert_false(isnan(v[3]));
	assert_true(v[3] >= 5);
	assert_false(isnan(v[4]));
	assert_true(v[4] >= 0);
	sl_counters_close(&set, &tc, 1);
	for (unsigned i = 0; i < SL_MAX_EVENTS; i++)
		assert_int_equal(tc.fd[i], -1);
}

static void test_pmu_without_event(void **state)
{
	(void)state;
	sl_counters_set_open_fn(open_no_cache_misses);
	resolve_ok("cycles,cache-misses");
	assert_true(set.ev[0].supported);
	assert_false(set.ev[1].supported);
	assert_string_equal(set.ev[1].why,
			    "not supported: this CPU's PMU does not provide it (perf_event_open: No such file or directory)");
}

static void test_paranoid_forbids_all(void **state)
{
	char para[48];
	bool cycles_retried = false;

	(void)state;
	snprintf(para, sizeof(para), "perf_event_paranoid=%d", read_paranoid());
	sl_counters_set_open_fn(open_eacces);
	resolve_ok("default");
	for (unsigned i = 0; i < 5; i++) {
		assert_false(set.ev[i].supported);
		assert_non_null(strstr(set.ev[i].why, para));
	}
	for (unsigned i = 0; i < 3; i++)
		assert_non_null(strstr(set.ev[i].why, "Permission denied"));
	assert_non_null(strstr(set.ev[3].why,
			       "forbids counting kernel-side events; see the vol/invol context switch columns from getrusage"));
	assert_non_null(strstr(set.ev[4].why,
			       "forbids counting kernel-side events"));

	/* Hardware retried user-only; scheduler events never user-only, since
	 * that would read a silent 0. */
	for (unsigned k = 0; k < calls.n && k < 64; k++) {
		const struct perf_event_attr *a = &calls.attr[k];

		if (a->type == PERF_TYPE_SOFTWARE)
			assert_int_equal(a->exclude_kernel, 0);
		if (a->type == PERF_TYPE_HARDWARE && a->config == 0 &&
		    a->exclude_kernel && a->exclude_hv)
			cycles_retried = true;
	}
	assert_true(cycles_retried);
}

static void test_paranoid_user_only(void **state)
{
	struct sl_thread_counters tc;
	double v[SL_MAX_EVENTS];
	volatile double x = 1.0;

	(void)state;
	sl_counters_set_open_fn(open_user_only);
	resolve_ok("cycles,context-switches,cycles:k");
	assert_true(set.ev[0].supported);
	assert_int_equal(set.ev[0].attr.exclude_kernel, 1);
	assert_int_equal(set.ev[0].attr.exclude_hv, 1);
	assert_int_equal(set.ev[0].attr.exclude_user, 0);
	assert_false(set.ev[1].supported);
	assert_non_null(strstr(set.ev[1].why, "perf_event_paranoid="));
	assert_non_null(strstr(set.ev[1].why, "getrusage"));
	/* Kernel-only asked for: nothing to narrow to. */
	assert_false(set.ev[2].supported);
	assert_non_null(strstr(set.ev[2].why, "perf_event_paranoid="));

	/* The per-thread open uses the narrowed attributes. */
	sl_counters_open(&set, my_tid(), &tc);
	assert_true(tc.fd[0] >= 0);
	sl_counters_enable(&set, &tc, 1);
	for (int k = 0; k < 2000000; k++)
		x = x * 1.0000001;
	sl_counters_disable(&set, &tc, 1);
	sl_counters_read(&set, &tc, 1, v);
	sl_counters_close(&set, &tc, 1);
	assert_false(isnan(v[0]));
	assert_true(v[0] > 0);
	assert_true(isnan(v[1]));
	assert_true(isnan(v[2]));
}

/* ---- sl_counters_read: scaling and NAN ---- */

static void test_read_scaling(void **state)
{
	struct sl_thread_counters tc[2];
	double v[SL_MAX_EVENTS];
	const size_t full = 3 * sizeof(uint64_t);

	(void)state;
	resolve_ok("task-clock");
	assert_true(set.ev[0].supported);
	sl_counters_set_open_fn(open_canned);

	/* Sum over threads; the second ran half its enabled time. */
	add_canned(100, 1000, 1000, full);
	add_canned(50, 1000, 500, full);
	sl_counters_open(&set, 1, &tc[0]);
	sl_counters_open(&set, 2, &tc[1]);
	sl_counters_read(&set, tc, 2, v);
	assert_float_equal(v[0], 200.0, 1e-9);
	sl_counters_close(&set, tc, 2);

	/* Never enabled: a true zero. */
	add_canned(0, 0, 0, full);
	sl_counters_open(&set, 1, &tc[0]);
	sl_counters_read(&set, tc, 1, v);
	assert_false(isnan(v[0]));
	assert_float_equal(v[0], 0.0, 0.0);
	sl_counters_close(&set, tc, 1);

	/* Enabled but never running: unknown, not 0. */
	add_canned(100, 1000, 1000, full);
	add_canned(0, 1000, 0, full);
	sl_counters_open(&set, 1, &tc[0]);
	sl_counters_open(&set, 2, &tc[1]);
	sl_counters_read(&set, tc, 2, v);
	assert_true(isnan(v[0]));
	sl_counters_close(&set, tc, 2);

	/* A short read. */
	add_canned(100, 1000, 1000, sizeof(uint64_t));
	sl_counters_open(&set, 1, &tc[0]);
	sl_counters_read(&set, tc, 1, v);
	assert_true(isnan(v[0]));
	sl_counters_close(&set, tc, 1);

	/* An fd the enable ioctl refuses is dropped, and reads NAN. */
	add_canned(100, 1000, 1000, full);
	sl_counters_open(&set, 1, &tc[0]);
	assert_true(tc[0].fd[0] >= 0);
	sl_counters_enable(&set, tc, 1);
	assert_int_equal(tc[0].fd[0], -1);
	sl_counters_read(&set, tc, 1, v);
	assert_true(isnan(v[0]));
	sl_counters_close(&set, tc, 1);
}

static void test_open_fails_later(void **state)
{
	struct sl_thread_counters tc[2];
	double v[SL_MAX_EVENTS];

	(void)state;
	resolve_ok("task-clock,page-faults");
	assert_true(set.ev[0].supported);
	assert_true(set.ev[1].supported);
	sl_counters_open(&set, my_tid(), &tc[0]);
	/* The second thread's open fails: its events make the sums NAN. */
	sl_counters_set_open_fn(open_fail_all);
	sl_counters_open(&set, my_tid(), &tc[1]);
	assert_int_equal(tc[1].fd[0], -1);
	sl_counters_enable(&set, tc, 2);
	sleep_ms(1);
	sl_counters_disable(&set, tc, 2);
	sl_counters_read(&set, tc, 2, v);
	assert_true(isnan(v[0]));
	assert_true(isnan(v[1]));
	/* Alone, the first thread's counts are known. */
	sl_counters_read(&set, tc, 1, v);
	assert_false(isnan(v[0]));
	assert_true(v[0] > 0);
	assert_false(isnan(v[1]));
	sl_counters_close(&set, tc, 2);
}

/* ---- a real worker thread, counted from the main thread ---- */

struct worker {
	atomic_int tid;
	atomic_int go;  /* phase the main thread allows */
	atomic_int ack; /* phase the worker finished */
	long vol0, invol0, vol1, invol1;
};

static void wait_for(atomic_int *a, int v)
{
	while (atomic_load_explicit(a, memory_order_acquire) < v)
		sleep_ms(1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store_explicit(&w->tid, (int)my_tid(), memory_order_release);

	/* Phase 1: opened but not enabled. */
	wait_for(&w->go, 1);
	for (int k = 0; k < 5; k++)
		sleep_ms(1);
	atomic_store_explicit(&w->ack, 1, memory_order_release);

	/* Phase 2: the measured window. */
	wait_for(&w->go, 2);
	sl_rusage_self(&w->vol0, &w->invol0);
	for (int k = 0; k < 20; k++) {
		sleep_ms(1);
		sched_yield();
	}
	sl_rusage_self(&w->vol1, &w->invol1);
	atomic_store_explicit(&w->ack, 2, memory_order_release);

	/* Phase 3: disabled again. */
	wait_for(&w->go, 3);
	for (int k = 0; k < 10; k++)
		sleep_ms(1);
	atomic_store_explicit(&w->ack, 3, memory_order_release);
	return NULL;
}

static void test_worker_context_switches(void **state)
{
	struct worker w = { 0 };
	struct sl_thread_counters tc;
	double before[SL_MAX_EVENTS], during[SL_MAX_EVENTS], after[SL_MAX_EVENTS];
	pthread_t th;
	double rusage_cs;
	int cs, mig, cyc;

	(void)state;
	resolve_ok("context-switches,cpu-migrations,cycles");
	cs = sl_counters_find(&set, "context-switches");
	mig = sl_counters_find(&set, "cpu-migrations");
	cyc = sl_counters_find(&set, "cycles");
	assert_int_equal(cs, 0);
	if (!set.ev[cs].supported) {
		/* Only a permission setting may stop a software event. */
		assert_false(kernel_side_allowed());
		assert_non_null(strstr(set.ev[cs].why, "perf_event_paranoid"));
		skip();
	}

	assert_int_equal(pthread_create(&th, NULL, worker_main, &w), 0);
	while (atomic_load_explicit(&w.tid, memory_order_acquire) == 0)
		sleep_ms(1);
	assert_int_not_equal(atomic_load(&w.tid), (int)my_tid());
	sl_counters_open(&set, (pid_t)atomic_load(&w.tid), &tc);
	assert_true(tc.fd[cs] >= 0);

	atomic_store_explicit(&w.go, 1, memory_order_release);
	wait_for(&w.ack, 1);
	sl_counters_read(&set, &tc, 1, before);

	sl_counters_enable(&set, &tc, 1);
	atomic_store_explicit(&w.go, 2, memory_order_release);
	/* Many short sleeps here, so that counting this thread by mistake
	 * would overshoot the worker's own count below. */
	while (atomic_load_explicit(&w.ack, memory_order_acquire) < 2) {
		struct timespec ts = { 0, 50000 };

		nanosleep(&ts, NULL);
	}
	sl_counters_disable(&set, &tc, 1);
	sl_counters_read(&set, &tc, 1, during);

	atomic_store_explicit(&w.go, 3, memory_order_release);
	wait_for(&w.ack, 3);
	assert_int_equal(pthread_join(th, NULL), 0);
	sl_counters_read(&set, &tc, 1, after);
	sl_counters_close(&set, &tc, 1);

	/* Created disabled: the sleeps before enable count nothing. */
	assert_false(isnan(before[cs]));
	assert_float_equal(before[cs], 0.0, 0.0);

	/* The window's sleeps are seen, at least as many as the worker's own
	 * getrusage saw inside it. */
	assert_false(isnan(during[cs]));
	assert_true(during[cs] >= 1);
	assert_true(w.vol1 - w.vol0 >= 20);
	rusage_cs = (double)((w.vol1 - w.vol0) + (w.invol1 - w.invol0));
	assert_true(during[cs] >= rusage_cs);
	/* The perf window is a little wider than the worker's getrusage one,
	 * by a few switches on its edges (more on a loaded machine), but far
	 * from the main thread's hundreds. */
	assert_true(during[cs] <= 2 * rusage_cs + 10);
	assert_false(isnan(during[mig]));
	assert_true(during[mig] >= 0);

	/* After disable nothing more is counted. */
	assert_float_equal(after[cs], during[cs], 0.0);
	assert_float_equal(after[mig], during[mig], 0.0);

	if (set.ev[cyc].supported) {
		assert_false(isnan(during[cyc]));
		assert_true(during[cyc] > 0);
	} else {
		assert_true(isnan(during[cyc]));
		assert_true(isnan(after[cyc]));
		assert_non_null(strstr(set.ev[cyc].why, "not supported"));
	}
}

/* ---- getrusage ---- */

static void test_rusage(void **state)
{
	long v0, i0, v1, i1;

	(void)state;
	sl_rusage_self(&v0, &i0);
	assert_true(v0 >= 0);
	assert_true(i0 >= 0);
	for (int k = 0; k < 5; k++)
		sleep_ms(1);
	sl_rusage_self(&v1, &i1);
	assert_true(v1 - v0 >= 5);
	assert_true(i1 >= i0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_default_set, reset),
		cmocka_unit_test_teardown(test_none, reset),
		cmocka_unit_test_teardown(test_unknown_name, reset),
		cmocka_unit_test_teardown(test_duplicates, reset),
		cmocka_unit_test_teardown(test_too_many, reset),
		cmocka_unit_test_teardown(test_other_names, reset),
		cmocka_unit_test_teardown(test_user_only_kernel_event, reset),
		cmocka_unit_test_teardown(test_find, reset),
		cmocka_unit_test_teardown(test_no_pmu, reset),
		cmocka_unit_test_teardown(test_pmu_without_event, reset),
		cmocka_unit_test_teardown(test_paranoid_forbids_all, reset),
		cmocka_unit_test_teardown(test_paranoid_user_only, reset),
		cmocka_unit_test_teardown(test_read_scaling, reset),
		cmocka_unit_test_teardown(test_open_fails_later, reset),
		cmocka_unit_test_teardown(test_worker_context_switches, reset),
		cmocka_unit_test_teardown(test_rusage, reset),
	};

	return cmocka_run_group_tests(tests, reset, NULL);
}
