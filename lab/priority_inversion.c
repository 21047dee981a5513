/*
 * priority-inversion: three real-time threads share one CPU.  A
 * low-priority thread holds a lock, a high-priority thread waits for it, and
 * a medium-priority thread that never touches the lock burns CPU.  With a
 * plain mutex the medium thread preempts the holder, so the high-priority
 * thread waits for the medium one: its wait is no longer bounded by the
 * critical section but by unrelated work (the Mars Pathfinder bug).  A
 * priority-inheritance mutex (FUTEX_LOCK_PI) lends the waiter's priority to
 * the holder, which then runs before the medium thread and releases at once.
 *
 * One round, on one CPU under SCHED_FIFO (strict priorities, no time
 * slices), so its order is fixed:
 *   low (1)    waits until high and medium are parked, takes the lock, wakes
 *              high, then medium, and burns the hold time of its own CPU;
 *   high (3)   preempts low as soon as it is woken, times how long the lock
 *              takes (the figure), releases it, parks again;
 *   medium (2) woken second, burns its burst of CPU time, parks again.
 * Low then leaves the CPU idle for a gap so the real-time threads stay well
 * under the kernel's RT throttling limit and other tasks on that CPU run.
 * Every wait is a futex sleep and every burn checks the stop flag between
 * short slices, so stop() ends any role within microseconds.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lab/lab.h"
#include "primitives/futex.h"
#include "util/clock.h"
#include "util/hist.h"

enum pinv_role { ROLE_LOW, ROLE_MEDIUM, ROLE_HIGH, ROLES };

static const int role_prio[ROLES] = { 1, 2, 3 }; /* SCHED_FIFO */
static const char *const role_name[ROLES] = { "low", "medium", "high" };
#define PINV_TOP_PRIO 3

/* CPU time the low thread holds the lock per round. */
#define PINV_HOLD_NS (500 * SL_NS_PER_US)
/* The inner lock's per-thread context lives inside ours. */
#define PINV_INNER_TCTX 64
/* Pause loops between two reads of the thread's CPU clock while burning:
 * a few microseconds, so a stop is seen promptly. */
#define PINV_BURN_CHUNK 64

struct pinv {
	const struct sl_prim *lock; /* the mutex under test */
	void *lock_obj;
	uint64_t hold_ns, burst_ns, gap_ns;

	/* Round hand-shake: high and medium add to parked before they sleep
	 * for their go word; low bumps go_high, then go_medium. */
	alignas(SL_CACHELINE) _Atomic uint32_t parked;
	_Atomic uint32_t go_high;
	_Atomic uint32_t go_medium;
	atomic_int stopping;
	_Atomic bool high_waiting; /* high is inside lock() */

	/* The first thread that could not take its priority. */
	atomic_int sched_error;
	_Atomic unsigned sched_error_role;

	/* Written by the high thread only, read after the join. */
	alignas(SL_CACHELINE) struct sl_hist wait;
	/* Written by the medium thread only: rounds in the window and those
	 * whose burst started while high was blocked on the lock. */
	uint64_t medium_rounds, medium_inverted;
};

struct pinv_tctx {
	alignas(SL_CACHELINE) unsigned char lock_tctx[PINV_INNER_TCTX];
	bool prio_taken;
	bool in_window;
	uint32_t seen_go; /* the last go value this thread served */
};

static int pinv_init(void *obj, const struct sl_prim_conf *conf,
		     const char *lock_name, struct sl_err *err)
{
	struct pinv *p = obj;
	const struct sl_prim *lock = sl_prim_find(lock_name);
	struct sl_prim_conf lc = { .nthreads = ROLES };
	int rc;

	if (!lock)
		return sl_err_set(err, -ENOENT, "no primitive '%s'", lock_name);
	if (conf->nthreads != ROLES)
		return sl_err_set(err, -EINVAL, "priority inversion runs exactly %d threads, not %u",
				  ROLES, conf->nthreads);
	if (lock->tctx_size > PINV_INNER_TCTX)
		return sl_err_set(err, -EINVAL, "'%s' needs a %zu-byte thread context (room for %d)",
				  lock_name, lock->tctx_size, PINV_INNER_TCTX);
	p->lock = lock;
	p->lock_obj = aligned_alloc(SL_SLOT_ALIGN, sl_prim_obj_stride(lock));
	if (!p->lock_obj)
		return sl_err_set(err, -ENOMEM, "out of memory");
	memset(p->lock_obj, 0, sl_prim_obj_stride(lock));
	if (lock->init && (rc = lock->init(p->lock_obj, &lc, err)) < 0) {
		free(p->lock_obj);
		p->lock_obj = NULL;
		return rc;
	}
	p->hold_ns = PINV_HOLD_NS;
	p->burst_ns = conf->lab_arg > 0 ? (uint64_t)conf->lab_arg * SL_NS_PER_US
					: 2 * SL_NS_PER_MS;
	p->gap_ns = (p->hold_ns + p->burst_ns) / 2;
	atomic_init(&p->parked, 0);
	atomic_init(&p->go_high, 0);
	atomic_init(&p->go_medium, 0);
	atomic_init(&p->stopping, 0);
	atomic_init(&p->high_waiting, false);
	atomic_init(&p->sched_error, 0);
	atomic_init(&p->sched_error_role, 0);
	sl_hist_init(&p->wait);
	p->medium_rounds = p->medium_inverted = 0;
	return 0;
}

static int init_mutex(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	return pinv_init(obj, conf, "mutex", err);
}

static int init_mutex_pi(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	return pinv_init(obj, conf, "mutex-pi", err);
}

static int init_pthread_pi(void *obj, const struct sl_prim_conf *conf, struct sl_err *err)
{
	return pinv_init(obj, conf, "pthread-pi", err);
}

static bool supported_mutex_pi(char *why, size_t n)
{
	const struct sl_prim *l = sl_lab_prim("mutex-pi");

	return !l->supported || l->supported(why, n);
}

static bool supported_pthread_pi(char *why, size_t n)
{
	const struct sl_prim *l = sl_lab_prim("pthread-pi");

	return !l->supported || l->supported(why, n);
}

static void pinv_destroy(void *obj)
{
	struct pinv *p = obj;

	if (p->lock_obj && p->lock->destroy)
		p->lock->destroy(p->lock_obj);
	free(p->lock_obj);
	p->lock_obj = NULL;
}

static void pinv_thread_init(void *obj, void *tctx)
{
	struct pinv *p = obj;

	if (p->lock->thread_init)
		p->lock->thread_init(p->lock_obj, ((struct pinv_tctx *)tctx)->lock_tctx);
}

static void pinv_thread_fini(void *obj, void *tctx)
{
	struct pinv *p = obj;

	if (p->lock->thread_fini)
		p->lock->thread_fini(p->lock_obj, ((struct pinv_tctx *)tctx)->lock_tctx);
}

static bool stopping(struct pinv *p)
{
	return atomic_load_explicit(&p->stopping, memory_order_relaxed);
}

/* Each thread takes its own real-time priority on its first step; the
 * thread dies with the run, and its priority with it. */
static void take_priority(struct pinv *p, struct pinv_tctx *t, enum pinv_role r)
{
	struct sched_param sp = { .sched_priority = role_prio[r] };
	int e, none = 0;

	t->prio_taken = true;
	e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	/* relaxed: check() reads it after every thread was joined */
	if (e && atomic_compare_exchange_strong_explicit(&p->sched_error, &none, e,
							 memory_order_relaxed,
							 memory_order_relaxed))
		atomic_store_explicit(&p->sched_error_role, (unsigned)r,
				      memory_order_relaxed);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * SL_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Burn ns of this thread's own CPU time: time spent preempted does not
 * count, so a preempted holder still owes its whole hold. */
static void burn(struct pinv *p, uint64_t ns)
{
	uint64_t start = thread_cpu_ns();

	while (thread_cpu_ns() - start < ns && !stopping(p))
		for (int i = 0; i < PINV_BURN_CHUNK; i++)
			sl_cpu_relax();
}

/* Sleep until *go moves past t->seen_go.  false: stop() was called. */
static bool wait_go(struct pinv *p, struct pinv_tctx *t, _Atomic uint32_t *go)
{
	for (;;) {
		/* acquire: pairs with the release bump in low_round or
		 * pinv_stop, so a bump by stop() shows its stopping flag */
		uint32_t v = atomic_load_explicit(go, memory_order_acquire);

		if (stopping(p))
			return false;
		if (v != t->seen_go) {
			t->seen_go = v;
			return true;
		}
		sl_futex_wait(go, v);
	}
}

static void park(struct pinv *p)
{
	/* release: this thread's previous round is over before low may start
	 * the next one; pairs with the acquire load in wait_parked */
	atomic_fetch_add_explicit(&p->parked, 1, memory_order_release);
	sl_futex_wake(&p->parked, 1);
}

static bool wait_parked(struct pinv *p)
{
	for (;;) {
		uint32_t v = atomic_load_explicit(&p->parked, memory_order_acquire);

		if (stopping(p))
			return false;
		if (v >= 2)
			return true;
		sl_futex_wait(&p->parked, v);
	}
}

static uint64_t low_round(struct pinv *p, struct pinv_tctx *t)
{
	if (!wait_parked(p))
		return 0;
	p->lock->lock.lock(p->lock_obj, t->lock_tctx);
	/* relaxed: high and medium add to it only after the go bumps below,
	 * whose release orders this store before their additions */
	atomic_store_explicit(&p->parked, 0, memory_order_relaxed);
	/* High preempts this thread inside the wake and blocks on the lock;
	 * only then is medium woken, so every round is the same race. */
	atomic_fetch_add_explicit(&p->go_high, 1, memory_order_release);
	sl_futex_wake(&p->go_high, 1);
	atomic_fetch_add_explicit(&p->go_medium, 1, memory_order_release);
	sl_futex_wake(&p->go_medium, 1);
	burn(p, p->hold_ns);
	p->lock->lock.unlock(p->lock_obj, t->lock_tctx);
	sl_sleep_ns(p->gap_ns, &p->stopping);
	return 0;
}

static uint64_t high_round(struct pinv *p, struct pinv_tctx *t)
{
	uint64_t t0, t1;

	park(p);
	if (!wait_go(p, t, &p->go_high))
		return 0;
	atomic_store_explicit(&p->high_waiting, true, memory_order_relaxed);
	t0 = sl_now_ns();
	p->lock->lock.lock(p->lock_obj, t->lock_tctx);
	t1 = sl_now_ns();
	atomic_store_explicit(&p->high_waiting, false, memory_order_relaxed);
	p->lock->lock.unlock(p->lock_obj, t->lock_tctx);
	/* A round cut short by stop() is not a wait of the experiment. */
	if (!t->in_window || stopping(p))
		return 0;
	sl_hist_record(&p->wait, t1 - t0);
	return 1;
}

static uint64_t medium_round(struct pinv *p, struct pinv_tctx *t)
{
	bool inverted;

	park(p);
	if (!wait_go(p, t, &p->go_medium))
		return 0;
	/* relaxed: a snapshot; on one CPU under strict priorities high has
	 * either blocked on the lock or finished its round by now */
	inverted = atomic_load_explicit(&p->high_waiting, memory_order_relaxed);
	burn(p, p->burst_ns);
	if (t->in_window && !stopping(p)) {
		p->medium_rounds++;
		p->medium_inverted += inverted;
	}
	return 0;
}

static uint64_t pinv_step(void *obj, void *tctx, unsigned id)
{
	struct pinv *p = obj;
	struct pinv_tctx *t = tctx;
	enum pinv_role r = id < ROLES ? (enum pinv_role)id : ROLE_LOW;

	if (!t->prio_taken)
		take_priority(p, t, r);
	switch (r) {
	case ROLE_MEDIUM:
		return medium_round(p, t);
	case ROLE_HIGH:
		return high_round(p, t);
	default:
		return low_round(p, t);
	}
}

static void pinv_window(void *obj, void *tctx, unsigned id)
{
	(void)obj;
	(void)id;
	((struct pinv_tctx *)tctx)->in_window = true;
}

static void pinv_stop(void *obj)
{
	struct pinv *p = obj;

	atomic_store_explicit(&p->stopping, 1, memory_order_relaxed);
	/* release: a sleeper that sees a bumped word also sees stopping
	 * (acquire loads in wait_go and wait_parked) */
	atomic_fetch_add_explicit(&p->go_high, 1, memory_order_release);
	atomic_fetch_add_explicit(&p->go_medium, 1, memory_order_release);
	atomic_fetch_add_explicit(&p->parked, 1, memory_order_release);
	sl_futex_wake(&p->go_high, INT32_MAX);
	sl_futex_wake(&p->go_medium, INT32_MAX);
	sl_futex_wake(&p->parked, INT32_MAX);
}

static void pinv_figures(void *obj, double out[SL_LAB_FIGURES])
{
	struct pinv *p = obj;

	out[0] = sl_hist_quantile(&p->wait, 0.5);
	out[1] = sl_hist_quantile(&p->wait, 0.99);
	out[2] = p->wait.count ? (double)p->wait.max : NAN;
	out[3] = p->medium_rounds ? 100.0 * (double)p->medium_inverted /
					    (double)p->medium_rounds
				  : NAN;
}

static int pinv_check(void *obj, struct sl_err *err)
{
	struct pinv *p = obj;
	int e = atomic_load_explicit(&p->sched_error, memory_order_relaxed);

	if (e) {
		unsigned r = atomic_load_explicit(&p->sched_error_role, memory_order_relaxed);

		return sl_err_set(err, -EPROTO, "the %s-priority thread could not take SCHED_FIFO priority %d: %s",
				  role_name[r % ROLES], role_prio[r % ROLES], strerror(e));
	}
	return p->lock->check ? p->lock->check(p->lock_obj, err) : 0;
}

#define PINV_DESC(c_name, lock_name, init_fn, supported_fn)                   \
	static const struct sl_prim c_name = {                                 \
		.name = "inversion-" lock_name,                                 \
		.family = "lab",                                                \
		.kind = SL_KIND_LAB,                                            \
		.summary = "low holder, medium burner, high waiter over " lock_name, \
		.obj_size = sizeof(struct pinv),                                \
		.tctx_size = sizeof(struct pinv_tctx),                          \
		.init = init_fn,                                                \
		.destroy = pinv_destroy,                                        \
		.thread_init = pinv_thread_init,                                \
		.thread_fini = pinv_thread_fini,                                \
		.lab = { .step = pinv_step, .stop = pinv_stop,                  \
			 .figures = pinv_figures, .window = pinv_window },      \
		.check = pinv_check,                                            \
		.supported = supported_fn,                                      \
	}

PINV_DESC(inv_mutex, "mutex", init_mutex, NULL);
PINV_DESC(inv_mutex_pi, "mutex-pi", init_mutex_pi, supported_mutex_pi);
PINV_DESC(inv_pthread_pi, "pthread-pi", init_pthread_pi, supported_pthread_pi);

/* --- the demo -------------------------------------------------------------- */

/* Can this process use SCHED_FIFO at the top priority the run needs?  Tried
 * on the calling thread and put back at once: only the kernel knows (a
 * capability, RLIMIT_RTPRIO, a container's or cgroup's limits). */
static int probe_rt(struct sl_err *err)
{
	struct sched_param old, sp = { .sched_priority = PINV_TOP_PRIO };
	struct rlimit rl;
	char lim[32];
	int policy, e;

	if (pthread_getschedparam(pthread_self(), &policy, &old) != 0) {
		policy = SCHED_OTHER;
		old.sched_priority = 0;
	}
	e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (e == 0) {
		pthread_setschedparam(pthread_self(), policy, &old);
		return 0;
	}
	if (getrlimit(RLIMIT_RTPRIO, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		snprintf(lim, sizeof(lim), "%llu", (unsigned long long)rl.rlim_cur);
	else
		snprintf(lim, sizeof(lim), "unlimited");
	return sl_err_set(err, -ENOTSUP,
			  "real-time scheduling is not permitted (SCHED_FIFO priority %d: %s): it needs CAP_SYS_NICE (run as root, or 'sudo setcap cap_sys_nice+ep synclab'; in a container, --cap-add=SYS_NICE) or an RLIMIT_RTPRIO of at least %d (now %s; 'ulimit -r %d' or rtprio in /etc/security/limits.conf)",
			  PINV_TOP_PRIO, strerror(e), PINV_TOP_PRIO, lim, PINV_TOP_PRIO);
}

/* The kernel's RT throttling: a line for the reader. */
static void print_rt_throttle(FILE *out)
{
	long runtime = 0, period = 0;
	FILE *f = fopen("/proc/sys/kernel/sched_rt_runtime_us", "r");
	bool ok = f && fscanf(f, "%ld", &runtime) == 1;

	if (f)
		fclose(f);
	f = fopen("/proc/sys/kernel/sched_rt_period_us", "r");
	ok = ok && f && fscanf(f, "%ld", &period) == 1;
	if (f)
		fclose(f);
	if (!ok)
		fprintf(out, "RT throttling: /proc/sys/kernel/sched_rt_runtime_us is not readable here.\n");
	else if (runtime < 0)
		fprintf(out, "RT throttling is off (sched_rt_runtime_us = -1): only the idle gap of each\n"
			     "round leaves the CPU to other tasks.\n");
	else
		fprintf(out, "RT throttling: sched_rt_runtime_us = %ld of sched_rt_period_us = %ld\n"
			     "(real-time threads get at most %.0f%% of a CPU); each round's idle gap keeps\n"
			     "them near 67%%.\n",
			runtime, period, period > 0 ? 100.0 * (double)runtime / (double)period : NAN);
}

struct pinv_config {
	const struct sl_prim *desc;
	const char *lock;
	uint64_t burst_us;
};

enum { C_BURST, C_P50, C_P99, C_MAX, C_INV, C_SAMPLES, NCOLS };

/* Row of the table for lock at burst, or -1. */
static int find_row(const struct pinv_config *cf, unsigned n, const char *lock,
		    uint64_t burst_us)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(cf[i].lock, lock) && cf[i].burst_us == burst_us)
			return (int)i;
	return -1;
}

static void explain(FILE *out, const struct sl_lab_table *t,
		    const struct pinv_config *cf, unsigned n,
		    const uint64_t *bursts, unsigned nb)
{
	char a[64], b[64], c[64];
	unsigned shown = 0, inverted = 0;

	for (unsigned k = 0; k < nb; k++) {
		int pl = find_row(cf, n, "mutex", bursts[k]);
		int pi = find_row(cf, n, "mutex-pi", bursts[k]);
		double w_pl, w_pi, inv_pl, inv_pi;
		bool showed;

		if (pl < 0 || pi < 0)
			continue;
		w_pl = sl_lab_table_get(t, (unsigned)pl, C_P50);
		w_pi = sl_lab_table_get(t, (unsigned)pi, C_P50);
		inv_pl = sl_lab_table_get(t, (unsigned)pl, C_INV);
		inv_pi = sl_lab_table_get(t, (unsigned)pi, C_INV);
		if (isnan(w_pl) || isnan(w_pi))
			continue;
		shown++;
		showed = w_pl >= 2 * w_pi && inv_pl >= 50 && !(inv_pi >= 10);
		inverted += showed;
		fprintf(out,
			"Medium burst %s: high waited a median %s with the plain mutex,\n"
			"%.1fx the %s with mutex-pi; medium ran while high was blocked in\n"
			"%.0f%% of plain rounds and %.0f%% of PI rounds%s\n",
			sl_lab_fmt(a, sizeof(a), (double)bursts[k] / 1000.0, "ms"),
			sl_lab_fmt(b, sizeof(b), w_pl, "us"), w_pl / w_pi,
			sl_lab_fmt(c, sizeof(c), w_pi, "us"), isnan(inv_pl) ? 0.0 : inv_pl,
			isnan(inv_pi) ? 0.0 : inv_pi, showed ? "." : ": the inversion did not show.");
	}
	if (inverted)
		fprintf(out,
			"With the plain mutex the medium thread, which never touches the lock, preempts\n"
			"the low holder while high is blocked: high waits for medium's whole burst plus\n"
			"the rest of the hold.  With FUTEX_LOCK_PI the kernel lends the holder high's\n"
			"priority while high waits, medium cannot preempt it, and high waits only for the\n"
			"rest of the %.0f us critical section.\n",
			PINV_HOLD_NS / 1000.0);
	else if (shown)
		fprintf(out,
			"The plain mutex did not make high wait clearly longer here: the three threads\n"
			"may not have shared one CPU under strict priorities (a hypervisor, RT throttling\n"
			"or a cgroup's real-time limit in the way).\n");
	if (nb >= 2) {
		int pl0 = find_row(cf, n, "mutex", bursts[0]), pl1 = find_row(cf, n, "mutex", bursts[nb - 1]);
		int pi0 = find_row(cf, n, "mutex-pi", bursts[0]), pi1 = find_row(cf, n, "mutex-pi", bursts[nb - 1]);

		if (pl0 >= 0 && pl1 >= 0 && pi0 >= 0 && pi1 >= 0) {
			double g_pl = sl_lab_table_get(t, (unsigned)pl1, C_P50) /
				      sl_lab_table_get(t, (unsigned)pl0, C_P50);
			double g_pi = sl_lab_table_get(t, (unsigned)pi1, C_P50) /
				      sl_lab_table_get(t, (unsigned)pi0, C_P50);

			if (!isnan(g_pl) && !isnan(g_pi))
				fprintf(out,
					"A %.0fx longer burst made the plain mutex's wait %.1fx longer and mutex-pi's\n"
					"%.2fx: %s.\n",
					(double)bursts[nb - 1] / (double)bursts[0], g_pl, g_pi,
					g_pl > 1.5 * g_pi
						? "without inheritance the wait is set by a thread that has nothing to do\n"
						  "with the lock (unbounded inversion); with it, by the critical section alone"
						: "the burst length did not move the waits apart as expected here");
		}
	}
	for (unsigned k = 0; k < nb; k++) {
		int a_pi = find_row(cf, n, "mutex-pi", bursts[k]);
		int a_pt = find_row(cf, n, "pthread-pi", bursts[k]);
		double w1, w2;

		if (a_pi < 0 || a_pt < 0)
			continue;
		w1 = sl_lab_table_get(t, (unsigned)a_pi, C_P50);
		w2 = sl_lab_table_get(t, (unsigned)a_pt, C_P50);
		if (isnan(w1) || isnan(w2))
			continue;
		fprintf(out, "glibc's PTHREAD_PRIO_INHERIT mutex rests on the same FUTEX_LOCK_PI: median wait\n"
			     "%s against %s for mutex-pi (burst %s).\n",
			sl_lab_fmt(a, sizeof(a), w2, "us"), sl_lab_fmt(b, sizeof(b), w1, "us"),
			sl_lab_fmt(c, sizeof(c), (double)bursts[k] / 1000.0, "ms"));
		break;
	}
	if (!shown && n && sl_lab_table_get(t, 0, C_SAMPLES) == 0)
		fprintf(out, "No wait was timed inside the window (a round takes 4 ms or more): give a\n"
			     "longer --duration.\n");
	else if (!shown)
		fprintf(out, "No pair of plain and PI runs timed a wait, so nothing can be compared.\n");
}

static int measure_all(const struct sl_demo_ctx *ctx, FILE *out, int rt_pu,
		       const struct pinv_config *cf, unsigned n,
		       const uint64_t *bursts, unsigned nb, struct sl_err *err)
{
	static const char *const names[NCOLS] = { "medium burst", "high wait p50", "p99",
						  "max", "inverted rounds", "waits timed" };
	static const char *const units[NCOLS] = { "ms", "us", "us", "us", "%", "" };
	const int pus[ROLES] = { rt_pu, rt_pu, rt_pu };
	struct sl_lab_pin pin;
	struct sl_lab_table *t = sl_lab_table_new("lock", NCOLS, names, units);
	int rc = 0;

	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	sl_lab_pin_list(&pin, pus, ROLES);
	for (unsigned i = 0; i < n; i++) {
		struct sl_point pt = sl_lab_point(cf[i].desc, ROLES);
		struct sl_lab_measure m;
		double v[NCOLS];

		pt.pin = &pin.spec;
		pt.lab_arg = (long)cf[i].burst_us;
		rc = sl_lab_measure(ctx, &pt, &m, err);
		if (rc < 0)
			goto done;
		v[C_BURST] = (double)cf[i].burst_us / 1000.0;
		if (m.status == SL_STATUS_UNSUPPORTED) {
			fprintf(out, "  %s: not supported here: %s\n", cf[i].lock, m.message);
			for (unsigned c = 1; c < NCOLS; c++)
				v[c] = NAN;
		} else if (m.status != SL_STATUS_OK) {
			rc = sl_err_set(err, -EIO, "%s: %s", cf[i].desc->name, m.message);
			goto done;
		} else {
			v[C_P50] = m.lab_figure[0] / 1000.0;
			v[C_P99] = m.lab_figure[1] / 1000.0;
			v[C_MAX] = m.lab_figure[2] / 1000.0;
			v[C_INV] = m.lab_figure[3];
			v[C_SAMPLES] = (double)m.observed;
		}
		if (sl_lab_table_add(t, cf[i].lock, v) < 0) {
			rc = sl_err_set(err, -ENOMEM, "out of memory");
			goto done;
		}
	}
	sl_lab_table_print(out, t);
	fputc('\n', out);
	explain(out, t, cf, n, bursts, nb);
	{
		/* Bar labels must tell the bursts apart. */
		struct sl_lab_table *c = sl_lab_table_new("configuration", NCOLS, names, units);
		const struct sl_lab_chart chart = {
			.stem = "wait",
			.title = "Priority inversion: high-priority thread's wait for the lock",
			.style = SL_LAB_BARS,
			.x_col = -1,
			.y_cols = { C_P50, C_MAX },
			.ny = 2,
			.ylabel = "high-priority wait (us)",
		};

		if (!c) {
			rc = sl_err_set(err, -ENOMEM, "out of memory");
			goto done;
		}
		for (unsigned r = 0; r < sl_lab_table_rows(t); r++) {
			char label[96];
			double v[NCOLS];

			for (unsigned k = 0; k < NCOLS; k++)
				v[k] = sl_lab_table_get(t, r, k);
			snprintf(label, sizeof(label), "%s, %g ms burst", sl_lab_table_label(t, r),
				 v[C_BURST]);
			if (sl_lab_table_add(c, label, v) < 0) {
				sl_lab_table_free(c);
				rc = sl_err_set(err, -ENOMEM, "out of memory");
				goto done;
			}
		}
		rc = sl_lab_save(ctx, out, c, &chart, err);
		sl_lab_table_free(c);
	}
done:
	sl_lab_table_free(t);
	return rc;
}

static int priority_inversion_run(const struct sl_demo_ctx *ctx, FILE *out,
				  struct sl_err *err)
{
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	static const uint64_t bursts_full[] = { 2000, 8000 }, bursts_quick[] = { 2000 };
	const struct sl_prim *descs[] = { &inv_mutex, &inv_mutex_pi, &inv_pthread_pi };
	const char *locks[] = { "mutex", "mutex-pi", "pthread-pi" };
	const uint64_t *bursts = ctx->quick ? bursts_quick : bursts_full;
	unsigned nb = ctx->quick ? 1 : 2, n = 0;
	struct pinv_config cf[6];
	cpu_set_t saved, others;
	int two[2], rc;
	bool over;

	if (ctx->pus < 2)
		return sl_err_set(err, -ENOTSUP,
				  "priority inversion needs 2 CPUs: one shared by the three real-time threads, another for the thread that times the run (this process may use %u PU; run it where at least 2 CPUs are allowed)",
				  ctx->pus);
	rc = sl_pin_place(ctx->topo, &scatter, 2, two, &over, err);
	if (rc < 0)
		return rc;
	rc = probe_rt(err);
	if (rc < 0) {
		fprintf(out, "Three SCHED_FIFO threads would share PU %d: nothing was run.\n", two[1]);
		return rc;
	}
	for (unsigned k = 0; k < nb; k++)
		for (unsigned i = 0; i < 3; i++)
			cf[n++] = (struct pinv_config){ descs[i], locks[i], bursts[k] };

	fprintf(out,
		"Three SCHED_FIFO threads on PU %d: low (priority 1) holds the lock for %.0f us of\n"
		"CPU, high (3) then waits for it, medium (2) burns %s of CPU without touching it.\n"
		"High's wait is timed with a plain futex mutex and with priority-inheritance\n"
		"mutexes (FUTEX_LOCK_PI); the main thread keeps off PU %d.\n",
		two[1], PINV_HOLD_NS / 1000.0, ctx->quick ? "2 ms" : "2 ms or 8 ms", two[1]);
	print_rt_throttle(out);
	fputc('\n', out);
	fflush(out);

	/* The main thread times the window and calls stop(): it must never
	 * queue behind the real-time threads on their CPU. */
	if (sched_getaffinity(0, sizeof(saved), &saved) < 0)
		return sl_err_set(err, -errno, "sched_getaffinity: %s", strerror(errno));
	others = saved;
	CPU_CLR(two[1], &others);
	if (CPU_COUNT(&others) == 0 || sched_setaffinity(0, sizeof(others), &others) < 0)
		return sl_err_set(err, -ENOTSUP, "cannot keep the main thread off PU %d (needs another CPU in this process's affinity)",
				  two[1]);
	rc = measure_all(ctx, out, two[1], cf, n, bursts, nb, err);
	sched_setaffinity(0, sizeof(saved), &saved);
	return rc;
}

const struct sl_demo sl_demo_priority_inversion = {
	.name = "priority-inversion",
	.question = "how long does a high-priority thread wait when a low one holds its lock?",
	.run = priority_inversion_run,
};
