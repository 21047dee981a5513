/*
 * Every RCU primitive in the registry: a reader inside its section holds up
 * synchronize until it leaves, deferred callbacks wait for such a reader and
 * have all run after barrier, the check sees a thread left registered, and
 * end-to-end runs of the rcu shape pass at several read shares.  A broken
 * RCU defined here (synchronize returns at once) must be caught by the
 * shape's poison check.
 *
 * The handshakes are deterministic: the reader announces it is inside and
 * stays there until told to leave; "has not returned" is observed for a fixed
 * 50 ms, and every wait is bounded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/clock.h"
#include "workloads/workload.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#define BOUND_NS (5 * SL_NS_PER_SEC) /* no wait here may take longer */
#define HOLD_NS (50 * SL_NS_PER_MS)  /* how long "still blocked" is watched */

#include "machine_fixture.h"

static bool testable(const struct sl_prim *p)
{
	char why[192];

	return p->kind == SL_KIND_RCU && !(p->flags & SL_PRIM_HIDDEN) &&
	       (!p->supported || p->supported(why, sizeof(why)));
}

static void *new_obj(const struct sl_prim *p)
{
	void *obj = aligned_alloc(SL_SLOT_ALIGN, sl_prim_obj_stride(p));
	struct sl_prim_conf conf = { .nthreads = 2 };
	struct sl_err err;

	assert_non_null(obj);
	memset(obj, 0, sl_prim_obj_stride(p));
	if (p->init && p->init(obj, &conf, &err) < 0)
		fail_msg("%s: init: %s", p->name, err.msg);
	return obj;
}

static void free_obj(const struct sl_prim *p, void *obj)
{
	if (p->destroy)
		p->destroy(obj);
	free(obj);
}

static void *new_tctx(const struct sl_prim *p)
{
	size_t n = sl_prim_tctx_stride(p);
	void *t = aligned_alloc(SL_SLOT_ALIGN, n);

	assert_non_null(t);
	memset(t, 0, n);
	return t;
}

/* Wait until *flag is non-zero; false after BOUND_NS. */
static bool await_flag(atomic_int *flag)
{
	uint64_t t0 = sl_now_ns();

	/* acquire: pairs with the release store of whoever raised it */
	while (!atomic_load_explicit(flag, memory_order_acquire)) {
		if (sl_now_ns() - t0 > BOUND_NS)
			return false;
		sl_sleep_ns(50 * SL_NS_PER_US, NULL);
	}
	return true;
}

static void raise_flag(atomic_int *flag)
{
	/* release: what the raiser did before is visible to the waiter */
	atomic_store_explicit(flag, 1, memory_order_release);
}

/* --- a reader that stays inside its section until told to leave -------- */

struct gp_test {
	const struct sl_prim *prim;
	void *obj;
	atomic_int inside;   /* the reader is in its section */
	atomic_int go;       /* the reader may leave */
	atomic_int leaving;  /* the reader is about to call read_unlock */
	atomic_int started;  /* the updater is about to wait */
	atomic_int done;     /* the updater's wait returned */
	/* When synchronize returned: the reader had announced leaving; when
	 * barrier returned: every callback had run. */
	atomic_int ok_at_return;
	atomic_int reader_timeout;
	/* the defer handshake */
	atomic_int ran;       /* callbacks run */
	atomic_int bad_ptr;   /* a callback found its record changed */
	unsigned ndefer;
};

static void *reader_thread(void *arg)
{
	struct gp_test *g = arg;
	const struct sl_prim *p = g->prim;
	void *t = new_tctx(p);

	if (p->thread_init)
		p->thread_init(g->obj, t);
	p->rcu.read_lock(g->obj, t);
	raise_flag(&g->inside);
	if (!await_flag(&g->go))
		raise_flag(&g->reader_timeout);
	raise_flag(&g->leaving);
	p->rcu.read_unlock(g->obj, t);
	if (p->rcu.quiescent)
		p->rcu.quiescent(g->obj, t);
	if (p->thread_fini)
		p->thread_fini(g->obj, t);
	free(t);
	return NULL;
}

static void *sync_thread(void *arg)
{
	struct gp_test *g = arg;
	const struct sl_prim *p = g->prim;
	void *t = new_tctx(p);

	if (p->thread_init)
		p->thread_init(g->obj, t);
	raise_flag(&g->started);
	p->rcu.synchronize(g->obj, t);
	atomic_store_explicit(&g->ok_at_return,
			      atomic_load_explicit(&g->leaving, memory_order_acquire),
			      memory_order_relaxed);
	raise_flag(&g->done);
	if (p->thread_fini)
		p->thread_fini(g->obj, t);
	free(t);
	return NULL;
}

/* --- deferred callbacks -------------------------------------------------- */

#define DEFER_N 600 /* over two of rcu.c's batches: defer_free itself waits */
#define DEFER_MAGIC 0x5245434f52445f31ull

/* A record as the rcu shape lays it out: the reclaim space first. */
struct test_rec {
	void *reclaim_space[SL_RCU_RECLAIM_BYTES / sizeof(void *)];
	uint64_t magic;
	struct gp_test *g;
};

static void rec_free(void *ptr)
{
	struct test_rec *r = ptr;
	struct gp_test *g = r->g;

	/* The primitive may use only the reclaim space. */
	if (r->magic != DEFER_MAGIC)
		atomic_store(&g->bad_ptr, 1);
	atomic_fetch_add_explicit(&g->ran, 1, memory_order_relaxed);
	free(r);
}

static void *defer_thread(void *arg)
{
	struct gp_test *g = arg;
	const struct sl_prim *p = g->prim;
	void *t = new_tctx(p);

	if (p->thread_init)
		p->thread_init(g->obj, t);
	raise_flag(&g->started);
	for (unsigned k = 0; k < g->ndefer; k++) {
		struct test_rec *r = aligned_alloc(SL_CACHELINE, SL_CACHELINE);

		r->magic = DEFER_MAGIC;
		r->g = g;
		p->rcu.defer_free(g->obj, t, rec_free, r);
		if (p->rcu.quiescent)
			p->rcu.quiescent(g->obj, t);
	}
	p->rcu.barrier(g->obj, t);
	atomic_store_explicit(&g->ok_at_return,
			      atomic_load_explicit(&g->ran, memory_order_relaxed) ==
				      (int)g->ndefer,
			      memory_order_relaxed);
	raise_flag(&g->done);
	if (p->thread_fini)
		p->thread_fini(g->obj, t);
	free(t);
	return NULL;
}

/*
 * One handshake: the reader enters its section, then the updater starts
 * (fn: synchronize, or defer and barrier) and must make no visible progress
 * for HOLD_NS; then the reader leaves and the updater must finish.  On a
 * failure the threads are released before the test fails, and left running
 * (with their memory) only if the updater never returns.
 */
static void handshake(const struct sl_prim *p, void *(*fn)(void *),
		      unsigned ndefer, const char *what)
{
	struct gp_test *g = calloc(1, sizeof(*g));
	pthread_t reader, updater;
	bool reader_up, updater_up = false;
	struct sl_err err;
	char msg[256] = "";

	assert_non_null(g);
	g->prim = p;
	g->ndefer = ndefer;
	g->obj = new_obj(p);
	reader_up = pthread_create(&reader, NULL, reader_thread, g) == 0;
	if (!reader_up || !await_flag(&g->inside)) {
		snprintf(msg, sizeof(msg), "the reader never entered its section");
		goto release;
	}
	updater_up = pthread_create(&updater, NULL, fn, g) == 0;
	if (!updater_up || !await_flag(&g->started)) {
		snprintf(msg, sizeof(msg), "the updater never started");
		goto release;
	}
	sl_sleep_ns(HOLD_NS, NULL);
	if (atomic_load(&g->done))
		snprintf(msg, sizeof(msg),
			 "%s returned while a reader that entered before it was still inside",
			 what);
	else if (atomic_load(&g->ran))
		snprintf(msg, sizeof(msg),
			 "%d deferred callbacks ran while a reader that predates them was inside",
			 atomic_load(&g->ran));
release:
	raise_flag(&g->go);
	if (updater_up && !await_flag(&g->done))
		fail_msg("%s: %s%s%s did not return within 5 s of the reader leaving",
			 p->name, msg, msg[0] ? "; then " : "", what);
	if (reader_up)
		pthread_join(reader, NULL);
	if (updater_up)
		pthread_join(updater, NULL);
	if (msg[0])
		goto out;
	if (!atomic_load(&g->ok_at_return) && ndefer)
		snprintf(msg, sizeof(msg), "%s returned with %d of %u callbacks run",
			 what, atomic_load(&g->ran), ndefer);
	else if (!atomic_load(&g->ok_at_return))
		snprintf(msg, sizeof(msg), "%s returned before the reader left", what);
	else if (atomic_load(&g->bad_ptr))
		snprintf(msg, sizeof(msg),
			 "a deferred record was changed beyond its reclaim space");
	else if (atomic_load(&g->reader_timeout))
		snprintf(msg, sizeof(msg), "the reader was never told to leave");
	else if (p->check && p->check(g->obj, &err) < 0)
		snprintf(msg, sizeof(msg), "check after %s: %.200s", what, err.msg);
out:
	free_obj(p, g->obj);
	free(g);
	if (msg[0])
		fail_msg("%s: %s", p->name, msg);
}

static void test_grace_period(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (testable(p))
			handshake(p, sync_thread, 0, "synchronize");
	}
}

static void test_defer_and_barrier(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p) || !p->rcu.defer_free)
			continue;
		assert_non_null(p->rcu.barrier);
		handshake(p, defer_thread, DEFER_N, "barrier");
	}
}

/* A thread still registered fails the check; unregistered, it passes. */
static void test_check_sees_registered_thread(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_err err;
		void *obj, *t;

		if (!testable(p) || !p->check || !p->thread_init)
			continue;
		obj = new_obj(p);
		t = new_tctx(p);
		p->thread_init(obj, t);
		p->rcu.read_lock(obj, t);
		p->rcu.read_unlock(obj, t);
		if (p->rcu.quiescent)
			p->rcu.quiescent(obj, t);
		if (p->check(obj, &err) != -EPROTO)
			fail_msg("%s: check passed with a thread still registered", p->name);
		p->thread_fini(obj, t);
		if (p->check(obj, &err) < 0)
			fail_msg("%s: %s", p->name, err.msg);
		free(t);
		free_obj(p, obj);
	}
}

/* rcu-epoch tracks sections: a thread that ends inside one is reported,
 * and nesting needs as many unlocks as locks. */
static void test_epoch_nesting_and_left_inside(void **state)
{
	const struct sl_prim *p = sl_prim_find("rcu-epoch");
	struct sl_err err;
	void *obj, *t;

	(void)state;
	assert_non_null(p);
	obj = new_obj(p);
	t = new_tctx(p);
	p->thread_init(obj, t);
	p->rcu.read_lock(obj, t);
	p->rcu.read_lock(obj, t);
	p->rcu.read_unlock(obj, t);
	p->thread_fini(obj, t);
	assert_int_equal(p->check(obj, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "inside"));
	free(t);
	free_obj(p, obj);
}

/* --- end to end through the runner --------------------------------------- */

static struct sl_point point(const struct sl_prim *p, unsigned threads)
{
	struct sl_point pt = {
		.prim = p,
		.threads = threads,
		.rep = 1,
		.duration_ns = 60 * SL_NS_PER_MS,
		.warmup_ns = 5 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	return pt;
}

static void test_end_to_end(void **state)
{
	static const struct {
		unsigned threads, read_pct, writers, cs_lines, cs_ns;
	} mixes[] = {
		{ 2, 100, 0, 0, 0 },
		{ 2, 99, 0, 0, 0 },
		{ 2, 50, 0, 1, 0 },
		{ 2, 0, 1, 0, 0 },  /* one updater, one reader */
		/* More threads than this machine's CPUs, readers mostly inside
		 * their sections: a reader preempted there holds its record
		 * while the updater runs many batches, which exposes a grace
		 * period that ends early even behind deferred frees. */
		{ 4, 90, 1, 2, 2000 },
	};

	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p))
			continue;
		for (size_t m = 0; m < sizeof(mixes) / sizeof(mixes[0]); m++) {
			struct sl_point pt = point(p, mixes[m].threads);
			struct sl_result res;
			struct sl_err err;

			unsigned idle;

			pt.read_pct = mixes[m].read_pct;
			pt.writers = mixes[m].writers;
			pt.cs_lines = mixes[m].cs_lines;
			pt.cs_ns = mixes[m].cs_ns;
			assert_int_equal(sl_point_resolve(&pt, &err), 0);
			/* Every thread must get work done.  On a loaded 2-CPU
			 * machine a thread can go 60 ms without a CPU, so a
			 * window with an idle thread is run again, longer. */
			for (int attempt = 0;; attempt++) {
				if (sl_run_point(&pt, &res, &err) < 0)
					fail_msg("%s: %s", p->name, err.msg);
				if (res.status != SL_STATUS_OK)
					fail_msg("%s (%u threads, read-pct %u, writers %u): %s: %s",
						 p->name, pt.threads, pt.read_pct,
						 pt.writers, sl_status_name(res.status),
						 res.message);
				for (idle = 0; idle < pt.threads; idle++)
					if (res.thread[idle].ops == 0)
						break;
				if (idle == pt.threads || attempt == 2)
					break;
				sl_result_release(&res);
				pt.duration_ns = SL_NS_PER_SEC;
			}
			if (idle < pt.threads)
				fail_msg("%s (%u threads, read-pct %u, writers %u): thread %u did nothing in %.1f s, three times",
					 p->name, pt.threads, pt.read_pct, pt.writers,
					 idle, (double)pt.duration_ns / 1e9);
			assert_true(res.ops > 0);
			sl_result_release(&res);
		}
	}
}

/* --- a broken RCU: grace periods end at once ----------------------------- */

static void nop(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}

static const struct sl_prim broken_rcu = {
	.name = "test-broken-rcu", .family = "test", .kind = SL_KIND_RCU,
	.summary = "synchronize returns at once", .obj_size = 1,
	/* No defer_free: the shape synchronizes, poisons and frees. */
	.rcu = { .read_lock = nop, .read_unlock = nop, .synchronize = nop },
};

enum { CAUGHT = 10, NOT_CAUGHT, RUN_ERROR };

/* Runs in a child: a sanitizer that sees the use after free first may end
 * the process with its own report, which must not end the test binary. */
static int run_broken(void)
{
	struct sl_point pt = point(&broken_rcu, 2);
	struct sl_err err;

	pt.writers = 1;
	pt.cs_lines = 3;
	pt.cs_ns = 200; /* the reader holds its record long enough to see it go */
	pt.duration_ns = 100 * SL_NS_PER_MS;
	if (sl_point_resolve(&pt, &err) < 0)
		return RUN_ERROR;
	for (int tries = 0; tries < 10; tries++) {
		struct sl_result res;

		if (sl_run_point(&pt, &res, &err) < 0)
			return RUN_ERROR;
		if (res.status == SL_STATUS_CHECK_FAILED &&
		    strstr(res.message, "use after free")) {
			sl_result_release(&res);
			return CAUGHT;
		}
		if (res.status != SL_STATUS_OK) {
			fprintf(stderr, "broken rcu: %s: %s\n",
				sl_status_name(res.status), res.message);
			sl_result_release(&res);
			return RUN_ERROR;
		}
		sl_result_release(&res);
	}
	return NOT_CAUGHT;
}

static void test_broken_rcu_is_caught(void **state)
{
	struct sl_topo_summary ts;
	pid_t pid;
	int status;

	(void)state;
	/* One PU: the race needs a preemption inside the tiny window. */
	sl_topo_summarize(topo, &ts);
	if (ts.usable_pus < 2)
		skip();
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
#ifdef UNDER_SANITIZER
		/* Keep the sanitizer's report of the expected use after free
		 * out of the test log. */
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
#endif
		_exit(run_broken());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CAUGHT) {
#ifdef UNDER_SANITIZER
		print_message("broken RCU caught by the poison check\n");
#endif
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == NOT_CAUGHT)
		fail_msg("a broken RCU (synchronize returns at once) passed 10 runs of the rcu shape");
	if (WIFEXITED(status) && WEXITSTATUS(status) == RUN_ERROR)
		fail_msg("the broken-RCU run could not be made");
#ifdef UNDER_SANITIZER
	/* The sanitizer saw the use after free before the poison check. */
	print_message("broken RCU caught by the sanitizer (child %s %d)\n",
		      WIFEXITED(status) ? "exit" : "signal",
		      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
#else
	fail_msg("the broken-RCU child ended with status %#x", status);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, while this process has no thread but the main one
		 * (liburcu starts its call_rcu threads on first use): the
		 * broken run happens in a forked child. */
		cmocka_unit_test(test_broken_rcu_is_caught),
		cmocka_unit_test(test_grace_period),
		cmocka_unit_test(test_defer_and_barrier),
		cmocka_unit_test(test_check_sees_registered_thread),
		cmocka_unit_test(test_epoch_nesting_and_left_inside),
		cmocka_unit_test(test_end_to_end),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
