/*
 * Every registered reader-writer lock, through its descriptor: single-thread
 * semantics (check fails while either side is held, passes when free; a
 * thread may hold two read sides at once), blocking between threads
 * (readers share, a writer excludes readers and writers), the preference of
 * synclab's two flavours, and a contended torture with PLAIN protected data
 * that ThreadSanitizer judges (make tsan-check).  Then the rw workload end
 * to end through sl_run_point, and deliberately broken rwlocks defined here
 * that the workload's checks must catch.  The loops cover the registry by
 * kind: a new rwlock is tested without new code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/prim_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "workloads/workload.h"

#define TORTURE_THREADS 4
#define TORTURE_ITERS 20000
#define TORTURE_WORDS 8

/* How long a blocked thread is given to (wrongly) get through. */
#define BLOCK_NS (40 * SL_NS_PER_MS)

#include "machine_fixture.h"

static bool testable(const struct sl_prim *p)
{
	return p->kind == SL_KIND_RWLOCK &&
	       !(p->flags & (SL_PRIM_HIDDEN | SL_PRIM_NO_EXCLUSION)) &&
	       (!p->supported || p->supported((char[192]){ 0 }, 192));
}

static void test_registry(void **state)
{
	const char *ours[] = { "rwlock", "rwlock-rpref", "rwlock-percpu", "rwlock-biased",
			       "pthread-rwlock", "pthread-rwlock-wpref", "ck-rwlock" };
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		const struct sl_prim *p = sl_prim_find(ours[i]);

		assert_non_null(p);
		assert_int_equal(p->kind, SL_KIND_RWLOCK);
	}
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (p->kind != SL_KIND_RWLOCK)
			continue;
		n++;
		assert_non_null(p->rw.read_lock);
		assert_non_null(p->rw.read_unlock);
		assert_non_null(p->rw.write_lock);
		assert_non_null(p->rw.write_unlock);
		assert_null(p->lock.lock);
		if (!(p->flags & (SL_PRIM_HIDDEN | SL_PRIM_NO_EXCLUSION)))
			assert_non_null(p->check);
	}
	assert_true(n >= 5);
	assert_non_null(sl_shape_for(SL_KIND_RWLOCK));
}

static void test_single_thread(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_err err;
		void *obj, *t1, *t2;

		if (!testable(p))
			continue;
		obj = new_obj(p, 2);
		t1 = new_tctx(p, obj);
		t2 = new_tctx(p, obj);
		assert_int_equal(p->check(obj, &err), 0);
		for (int round = 0; round < 3; round++) {
			p->rw.read_lock(obj, t1);
			assert_int_equal(p->check(obj, &err), -EPROTO);
			/* Two read sides at once (two contexts of one thread). */
			p->rw.read_lock(obj, t2);
			p->rw.read_unlock(obj, t2);
			assert_int_equal(p->check(obj, &err), -EPROTO);
			p->rw.read_unlock(obj, t1);
			assert_int_equal(p->check(obj, &err), 0);

			p->rw.write_lock(obj, t1);
			assert_int_equal(p->check(obj, &err), -EPROTO);
			p->rw.write_unlock(obj, t1);
			if (p->check(obj, &err) != 0)
				fail_msg("%s: %s", p->name, err.msg);
		}
		free_tctx(p, obj, t1);
		free_tctx(p, obj, t2);
		free_obj(p, obj);
	}
}

static void test_too_many_threads(void **state)
{
	const char *ours[] = { "rwlock", "rwlock-rpref", "rwlock-percpu", "rwlock-biased" };

	(void)state;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		const struct sl_prim *p = sl_prim_find(ours[i]);
		void *obj = aligned_alloc(SL_SLOT_ALIGN, sl_prim_obj_stride(p));
		struct sl_prim_conf conf = { .nthreads = 100000 };
		struct sl_err err;

		assert_non_null(obj);
		assert_int_equal(p->init(obj, &conf, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "100000"));
		free(obj);
	}
}

/* --- blocking between threads --------------------------------------------- */

enum side { READ, WRITE };

struct helper {
	const struct sl_prim *p;
	void *obj;
	enum side side;
	_Atomic int inside;     /* 1 once it holds the lock */
	_Atomic int release;    /* set by the main thread: let go */
	_Atomic int *order;     /* shared arrival counter, or NULL */
	int rank;               /* its value when this helper got in */
	_Atomic int tid;        /* its thread id, once started */
	pthread_t th;
};

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	void *t = new_tctx(h->p, h->obj);

	atomic_store_explicit(&h->tid, gettid(), memory_order_release);
	if (h->side == READ)
		h->p->rw.read_lock(h->obj, t);
	else
		h->p->rw.write_lock(h->obj, t);
	if (h->order)
		h->rank = atomic_fetch_add_explicit(h->order, 1, memory_order_relaxed);
	atomic_store_explicit(&h->inside, 1, memory_order_release);
	while (!atomic_load_explicit(&h->release, memory_order_acquire))
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	if (h->side == READ)
		h->p->rw.read_unlock(h->obj, t);
	else
		h->p->rw.write_unlock(h->obj, t);
	free_tctx(h->p, h->obj, t);
	return NULL;
}

static void helper_start(struct helper *h, const struct sl_prim *p, void *obj,
			 enum side side, _Atomic int *order)
{
	memset(h, 0, sizeof(*h));
	h->p = p;
	h->obj = obj;
	h->side = side;
	h->order = order;
	assert_int_equal(pthread_create(&h->th, NULL, helper_main, h), 0);
}

/* Did the helper get in within ns? */
static bool helper_in_within(struct helper *h, uint64_t ns)
{
	uint64_t t0 = sl_now_ns();

	do {
		if (atomic_load_explicit(&h->inside, memory_order_acquire))
			return true;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	} while (sl_now_ns() - t0 < ns);
	return atomic_load_explicit(&h->inside, memory_order_acquire);
}

/* Wait (up to 5 s) until the helper sleeps in the kernel, which for a
 * waiting writer means it has spun, counted itself and gone to sleep: a
 * fixed delay could end before a descheduled helper got that far. */
static bool helper_asleep(struct helper *h)
{
	uint64_t t0 = sl_now_ns();
	char path[64], buf[512];
	int tid;

	while (!(tid = atomic_load_explicit(&h->tid, memory_order_acquire)))
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	do {
		FILE *f = fopen(path, "r");
		char *paren;
		size_t n;

		if (!f)
			return false;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		/* "tid (comm) S ...": the state follows the last ')' */
		paren = strrchr(buf, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'S')
			return true;
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	} while (sl_now_ns() - t0 < 5 * SL_NS_PER_SEC);
	return false;
}

static void helper_finish(struct helper *h)
{
	atomic_store_explicit(&h->release, 1, memory_order_release);
	pthread_join(h->th, NULL);
}

/* Hold one side here, start a helper on the other thread, and see whether
 * it gets in while we hold it (it must, exactly when both read). */
static void check_blocking(const struct sl_prim *p, enum side mine,
			   enum side theirs)
{
	void *obj = new_obj(p, 2);
	void *t = new_tctx(p, obj);
	struct helper h;
	bool shares = mine == READ && theirs == READ;

	if (mine == READ)
		p->rw.read_lock(obj, t);
	else
		p->rw.write_lock(obj, t);
	helper_start(&h, p, obj, theirs, NULL);
	if (helper_in_within(&h, shares ? 5 * SL_NS_PER_SEC : BLOCK_NS) != shares)
		fail_msg("%s: a %s got in while this thread held the %s side: %s",
			 p->name, theirs == READ ? "reader" : "writer",
			 mine == READ ? "read" : "write", shares ? "no" : "yes");
	if (mine == READ)
		p->rw.read_unlock(obj, t);
	else
		p->rw.write_unlock(obj, t);
	if (!helper_in_within(&h, 5 * SL_NS_PER_SEC))
		fail_msg("%s: the helper never got in after the lock was released", p->name);
	helper_finish(&h);
	free_tctx(p, obj, t);
	free_obj(p, obj);
}

static void test_blocking(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);

		if (!testable(p))
			continue;
		check_blocking(p, READ, READ);
		check_blocking(p, READ, WRITE);
		check_blocking(p, WRITE, READ);
		check_blocking(p, WRITE, WRITE);
	}
}

/* A reader holds the lock and a writer waits: does a second reader get in
 * before the writer (reader preference) or after it (writer preference)? */
static void check_preference(const char *name, bool prefer_writers)
{
	const struct sl_prim *p = sl_prim_find(name);
	void *obj = new_obj(p, 3);
	void *t = new_tctx(p, obj);
	_Atomic int order = 0;
	struct helper w, r;

	assert_non_null(p);
	p->rw.read_lock(obj, t);
	helper_start(&w, p, obj, WRITE, &order);
	assert_false(helper_in_within(&w, BLOCK_NS));
	assert_true(helper_asleep(&w));
	helper_start(&r, p, obj, READ, &order);
	if (helper_in_within(&r, prefer_writers ? BLOCK_NS : 5 * SL_NS_PER_SEC) ==
	    prefer_writers)
		fail_msg("%s: a new reader %s while a writer waited", name,
			 prefer_writers ? "got in" : "was kept out");
	p->rw.read_unlock(obj, t);
	if (prefer_writers) {
		/* The writer goes first; the reader follows it. */
		assert_true(helper_in_within(&w, 5 * SL_NS_PER_SEC));
		assert_false(helper_in_within(&r, BLOCK_NS));
		helper_finish(&w);
		assert_true(helper_in_within(&r, 5 * SL_NS_PER_SEC));
		assert_int_equal(w.rank, 0);
		assert_int_equal(r.rank, 1);
		helper_finish(&r);
	} else {
		assert_false(helper_in_within(&w, BLOCK_NS));
		helper_finish(&r);
		assert_true(helper_in_within(&w, 5 * SL_NS_PER_SEC));
		assert_int_equal(r.rank, 0);
		assert_int_equal(w.rank, 1);
		helper_finish(&w);
	}
	{
		struct sl_err err;

		if (p->check(obj, &err) != 0)
			fail_msg("%s: %s", name, err.msg);
	}
	free_tctx(p, obj, t);
	free_obj(p, obj);
}

static void test_preference(void **state)
{
	(void)state;
	check_preference("rwlock", true);
	check_preference("rwlock-rpref", false);
	check_preference("rwlock-percpu", true);
	check_preference("rwlock-biased", true);
}

static uint64_t revocations(const struct sl_prim *p, const void *t)
{
	uint64_t ev[SL_PRIM_EVENTS] = { 0 };

	p->events(t, ev);
	assert_string_equal(p->event_names[3], "revocations");
	return ev[3];
}

/* reads read sections, then one write section; the revocations after. */
static uint64_t reads_then_write(const struct sl_prim *p, void *obj, void *t,
				 int reads)
{
	for (int i = 0; i < reads; i++) {
		p->rw.read_lock(obj, t);
		p->rw.read_unlock(obj, t);
	}
	p->rw.write_lock(obj, t);
	p->rw.write_unlock(obj, t);
	return revocations(p, t);
}

/* rwlock-biased: a write revokes the readers' bias only while it is on; a
 * write right after one finds it off; reads by the state word turn it back
 * on once the inhibition (as long as the revocation took) has passed. */
static void test_bias_cycle(void **state)
{
	const struct sl_prim *p = sl_prim_find("rwlock-biased");
	void *obj, *t;
	struct sl_err err;

	(void)state;
	assert_non_null(p);
	obj = new_obj(p, 1);
	t = new_tctx(p, obj);
	p->rw.read_lock(obj, t);
	p->rw.read_unlock(obj, t);
	assert_int_equal(revocations(p, t), 0);
	assert_int_equal(reads_then_write(p, obj, t, 0), 1);
	assert_int_equal(reads_then_write(p, obj, t, 0), 1);
	sl_sleep_ns(SL_NS_PER_MS, NULL);
	assert_int_equal(reads_then_write(p, obj, t, 64), 2);
	if (p->check(obj, &err) != 0)
		fail_msg("%s", err.msg);
	free_tctx(p, obj, t);
	free_obj(p, obj);
}

/* rwlock-biased: a writer that had to wait for a reader in a slot keeps the
 * bias off for as long again as it waited: reads at once after it stay on
 * the state word (the next write revokes nothing), reads once that time has
 * passed turn the bias back on (the next write revokes it). */
static void test_bias_inhibited(void **state)
{
	const struct sl_prim *p = sl_prim_find("rwlock-biased");
	const uint64_t hold = 100 * SL_NS_PER_MS;
	void *obj, *t;
	struct helper w;

	(void)state;
	assert_non_null(p);
	obj = new_obj(p, 2);
	t = new_tctx(p, obj);
	p->rw.read_lock(obj, t);        /* by its slot: the bias starts on */
	helper_start(&w, p, obj, WRITE, NULL);
	sl_sleep_ns(hold, NULL);
	assert_false(atomic_load_explicit(&w.inside, memory_order_acquire));
	p->rw.read_unlock(obj, t);
	assert_true(helper_in_within(&w, 5 * SL_NS_PER_SEC));
	helper_finish(&w);
	assert_int_equal(reads_then_write(p, obj, t, 64), 0);
	sl_sleep_ns(3 * hold, NULL);
	assert_int_equal(reads_then_write(p, obj, t, 64), 1);
	free_tctx(p, obj, t);
	free_obj(p, obj);
}

/* Run the calling thread on CPU cpu only. */
static void run_on(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(sched_getcpu(), cpu);
}

/* A reader that the scheduler moves to another CPU inside its section
 * leaves the lock as free as it found it: rwlock-percpu must leave by the
 * slot it entered by, not by the CPU it leaves from. */
static void test_reader_migrates(void **state)
{
	cpu_set_t saved;
	int cpu[2], n = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &saved))
			cpu[n++] = c;
	if (n < 2)
		skip();
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		struct sl_err err;
		void *obj, *t;

		if (!testable(p))
			continue;
		obj = new_obj(p, 2);
		t = new_tctx(p, obj);
		run_on(cpu[0]);
		p->rw.read_lock(obj, t);
		run_on(cpu[1]);
		p->rw.read_unlock(obj, t);
		if (p->check(obj, &err) != 0)
			fail_msg("%s, entered on CPU %d, left on CPU %d: %s",
				 p->name, cpu[0], cpu[1], err.msg);
		p->rw.write_lock(obj, t);
		p->rw.write_unlock(obj, t);
		free_tctx(p, obj, t);
		free_obj(p, obj);
	}
	assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
}

/* --- contended torture with plain data ------------------------------------ */

struct torture {
	const struct sl_prim *prim;
	void *obj;
	uint64_t plain[TORTURE_WORDS];  /* plain: only the lock orders it */
	_Atomic unsigned readers_in;    /* test instrumentation */
	_Atomic unsigned writers_in;
	_Atomic uint64_t writes;
	_Atomic int failures;
	_Atomic unsigned next_id;       /* seeds each thread's choices */
};

static void *torture_thread(void *arg)
{
	struct torture *tt = arg;
	const struct sl_prim *p = tt->prim;
	void *t = new_tctx(p, tt->obj);
	uint64_t rng = 0x9e3779b97f4a7c15ull *
		       (atomic_fetch_add_explicit(&tt->next_id, 1, memory_order_relaxed) + 1);
	uint64_t writes = 0;
	int failures = 0;

	for (int i = 0; i < TORTURE_ITERS; i++) {
		sl_rng_next(&rng);
		if (rng % 4) {
			p->rw.read_lock(tt->obj, t);
			atomic_fetch_add_explicit(&tt->readers_in, 1, memory_order_relaxed);
			if (atomic_load_explicit(&tt->writers_in, memory_order_relaxed))
				failures++;
			for (int k = 1; k < TORTURE_WORDS; k++)
				if (tt->plain[k] != tt->plain[0])
					failures++;
			atomic_fetch_sub_explicit(&tt->readers_in, 1, memory_order_relaxed);
			p->rw.read_unlock(tt->obj, t);
		} else {
			uint64_t v;

			p->rw.write_lock(tt->obj, t);
			if (atomic_fetch_add_explicit(&tt->writers_in, 1,
						      memory_order_relaxed) ||
			    atomic_load_explicit(&tt->readers_in, memory_order_relaxed))
				failures++;
			v = tt->plain[0] + 1;
			for (int k = 0; k < TORTURE_WORDS; k++)
				tt->plain[k] = v;
			atomic_fetch_sub_explicit(&tt->writers_in, 1, memory_order_relaxed);
			p->rw.write_unlock(tt->obj, t);
			writes++;
		}
	}
	atomic_fetch_add_explicit(&tt->writes, writes, memory_order_relaxed);
	atomic_fetch_add_explicit(&tt->failures, failures, memory_order_relaxed);
	free_tctx(p, tt->obj, t);
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
		uint64_t writes;

		if (!testable(p))
			continue;
		tt.obj = new_obj(p, TORTURE_THREADS);
		for (int k = 0; k < TORTURE_THREADS; k++)
			assert_int_equal(pthread_create(&th[k], NULL, torture_thread, &tt), 0);
		for (int k = 0; k < TORTURE_THREADS; k++)
			pthread_join(th[k], NULL);
		writes = atomic_load_explicit(&tt.writes, memory_order_relaxed);
		if (tt.plain[0] != writes || tt.failures || writes == 0)
			fail_msg("%s: record %llu after %llu writes, %d inconsistent sections",
				 p->name, (unsigned long long)tt.plain[0],
				 (unsigned long long)writes, tt.failures);
		if (p->check(tt.obj, &err) != 0)
			fail_msg("%s: %s", p->name, err.msg);
		free_obj(p, tt.obj);
	}
}

/* --- the rw workload end to end -------------------------------------------- */

static struct sl_point point(const struct sl_prim *p, unsigned threads)
{
	struct sl_point pt = {
		.prim = p,
		.threads = threads,
		.rep = 1,
		.duration_ns = 40 * SL_NS_PER_MS,
		.warmup_ns = 5 * SL_NS_PER_MS,
		.stall_timeout_ns = 3 * SL_NS_PER_SEC,
		.locks = 1,
		.read_pct = 90,
		.topo = topo,
		.pin = &pin_compact,
		.calib = &calib,
	};

	return pt;
}

static void run_ok(struct sl_point *pt, const char *what)
{
	struct sl_result res;
	struct sl_err err;

	assert_int_equal(sl_point_resolve(pt, &err), 0);
	if (sl_run_point(pt, &res, &err) < 0)
		fail_msg("%s, %s: %s", pt->prim->name, what, err.msg);
	if (res.status != SL_STATUS_OK)
		fail_msg("%s, %s: %s: %s", pt->prim->name, what,
			 sl_status_name(res.status), res.message);
	/* Some op must have been verified; counted over the whole run, since
	 * a sanitizer can stop the world for longer than the window. */
	{
		uint64_t total = 0;

		for (unsigned i = 0; i < res.threads; i++)
			total += res.thread[i].total_ops;
		if (total == 0)
			fail_msg("%s, %s: no op completed", pt->prim->name, what);
	}
	sl_result_release(&res);
}

static void test_workload(void **state)
{
	(void)state;
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		const unsigned pcts[] = { 0, 50, 100 };
		struct sl_point pt;

		if (!testable(p))
			continue;
		for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
			char what[32];

			pt = point(p, 3);
			pt.read_pct = pcts[k];
			snprintf(what, sizeof(what), "read-pct %u", pcts[k]);
			run_ok(&pt, what);
		}
		pt = point(p, 4);
		pt.writers = 1;
		run_ok(&pt, "one writer");
		pt = point(p, 4);
		pt.read_pct = 75;
		pt.locks = 4;
		pt.cs_lines = 3;
		pt.cs_ns = 50;
		pt.think_ns = 50;
		run_ok(&pt, "4 instances, 3 more lines");
	}
}

/* --- broken rwlocks the workload must catch -------------------------------- */

struct broken_rw {
	_Atomic uint32_t writer;  /* a writer holds it */
	_Atomic uint32_t readers;
};

static void bw_spin_writer(struct broken_rw *b)
{
	uint32_t z;

	do {
		z = 0;
		while (atomic_load_explicit(&b->writer, memory_order_relaxed))
			sl_cpu_relax();
	} while (!atomic_compare_exchange_weak_explicit(&b->writer, &z, 1,
							memory_order_acquire,
							memory_order_relaxed));
}

static void bw_write_unlock(void *obj, void *tctx)
{
	struct broken_rw *b = obj;

	(void)tctx;
	atomic_store_explicit(&b->writer, 0, memory_order_release);
}

/* Readers walk in whatever a writer does: write_lock lets readers in. */
static void nr_read_lock(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}

static void nr_write_lock(void *obj, void *tctx)
{
	(void)tctx;
	bw_spin_writer(obj);
}

/* Writers exclude each other and new readers, but do not wait for the
 * readers already inside. */
static void nd_read_lock(void *obj, void *tctx)
{
	struct broken_rw *b = obj;

	(void)tctx;
	for (;;) {
		while (atomic_load_explicit(&b->writer, memory_order_relaxed))
			sl_cpu_relax();
		/* seq_cst, both: the increment must be ordered before the
		 * load of writer (a store-load pair), as in a correct rwlock */
		atomic_fetch_add_explicit(&b->readers, 1, memory_order_seq_cst);
		if (!atomic_load_explicit(&b->writer, memory_order_seq_cst))
			return;
		atomic_fetch_sub_explicit(&b->readers, 1, memory_order_relaxed);
	}
}

static void nd_read_unlock(void *obj, void *tctx)
{
	struct broken_rw *b = obj;

	(void)tctx;
	atomic_fetch_sub_explicit(&b->readers, 1, memory_order_release);
}

/* Writers exclude nobody; readers take nothing. */
static void nothing(void *obj, void *tctx)
{
	(void)obj;
	(void)tctx;
}

static const struct sl_prim broken_readers_in = {
	.name = "test-readers-in", .family = "test", .kind = SL_KIND_RWLOCK,
	.summary = "write_lock lets readers in", .obj_size = sizeof(struct broken_rw),
	.rw = { .read_lock = nr_read_lock, .read_unlock = nothing,
		.write_lock = nr_write_lock, .write_unlock = bw_write_unlock },
};

static const struct sl_prim broken_no_drain = {
	.name = "test-no-drain", .family = "test", .kind = SL_KIND_RWLOCK,
	.summary = "write_lock does not wait for readers inside",
	.obj_size = sizeof(struct broken_rw),
	.rw = { .read_lock = nd_read_lock, .read_unlock = nd_read_unlock,
		.write_lock = nr_write_lock, .write_unlock = bw_write_unlock },
};

static const struct sl_prim broken_writers_together = {
	.name = "test-writers-together", .family = "test", .kind = SL_KIND_RWLOCK,
	.summary = "nobody is excluded", .obj_size = sizeof(struct broken_rw),
	.rw = { .read_lock = nothing, .read_unlock = nothing,
		.write_lock = nothing, .write_unlock = nothing },
};

static void check_caught(const struct sl_prim *p, unsigned read_pct,
			 unsigned writers, const char *expect)
{
	struct sl_point pt = point(p, 2);
	struct sl_result res;
	struct sl_err err;
	int tries;

	pt.read_pct = read_pct;
	pt.writers = writers;
	pt.duration_ns = 100 * SL_NS_PER_MS;
	pt.cs_ns = 200; /* sections long enough to overlap */
	/* Probabilistic on a loaded 2-CPU machine: a few windows must catch
	 * it; a correct rwlock never fails in any. */
	for (tries = 0; tries < 10; tries++) {
		assert_int_equal(sl_run_point(&pt, &res, &err), 0);
		if (res.status != SL_STATUS_OK)
			break;
		sl_result_release(&res);
	}
	if (tries == 10)
		fail_msg("%s: 10 runs passed", p->name);
	if (res.status != SL_STATUS_CHECK_FAILED || !strstr(res.message, expect))
		fail_msg("%s: %s: %s (expected check-failed, '%s')", p->name,
			 sl_status_name(res.status), res.message, expect);
	sl_result_release(&res);
}

static void test_broken_caught(void **state)
{
	struct sl_topo_summary ts;

	(void)state;
	/* Two PUs: on one, overlap needs a preemption inside a section. */
	sl_topo_summarize(topo, &ts);
	if (ts.usable_pus < 2)
		skip();
	check_caught(&broken_readers_in, 50, 0, "reader-writer exclusion violated");
	check_caught(&broken_readers_in, 0, 1, "reader-writer exclusion violated");
	check_caught(&broken_no_drain, 50, 0, "reader-writer exclusion violated");
	check_caught(&broken_writers_together, 0, 0, "writer exclusion violated");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_single_thread),
		cmocka_unit_test(test_too_many_threads),
		cmocka_unit_test(test_blocking),
		cmocka_unit_test(test_preference),
		cmocka_unit_test(test_bias_cycle),
		cmocka_unit_test(test_bias_inhibited),
		cmocka_unit_test(test_reader_migrates),
		cmocka_unit_test(test_contended),
		cmocka_unit_test(test_workload),
		cmocka_unit_test(test_broken_caught),
	};

	return cmocka_run_group_tests_name("rwlocks", tests, setup, teardown);
}
