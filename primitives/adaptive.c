/*
 * adaptive: a spin-then-park mutex that spins only while spinning is likely
 * to pay, and otherwise sleeps on a futex like `mutex`.
 *
 * The word holds the owner's TID, a 9-bit hold sequence number (the owner's
 * own acquisition count) and a WAITERS bit meaning "threads may be asleep on
 * the word"; 0 is free.  Uncontended, lock is one CAS 0 -> tid|seq and unlock
 * one exchange that finds no WAITERS: no system call, and no store beyond
 * the word.  On one acquisition in AD_SAMPLE the owner times its hold with a
 * cheap clock (the TSC on x86, CNTVCT on arm64, CLOCK_MONOTONIC elsewhere)
 * and folds it into `hold_est`, an exponentially weighted moving average
 * (weight 1/8) of the critical section's length, kept in the word's line.
 * Sampling costs the fast path one thread-local increment and a predicted
 * branch.
 *
 * Policy for a thread that finds the lock held:
 *   1. If the estimated hold exceeds AD_LONG_HOLD_NS (eight times the cost
 *      of parking and being woken, AD_PARK_NS), a spinner allowed to spin
 *      for one park's cost would catch the end of fewer than one hold in
 *      eight: park at once.
 *   2. Otherwise poll the word, the pause between reads doubling up to
 *      AD_PAUSE_MAX, as spin-ttas does: a spinner that polls less often
 *      leaves the line with a running owner, which can then release and
 *      retake it without a transfer (2 threads, empty sections: with a cap
 *      of 64 pauses adaptive ran at 0.6-0.7 of spin-ttas's rate, with 1024
 *      at parity).  Stop and park when:
 *      - WAITERS is set: others already sleep, so the lock has more takers
 *        than it can serve by spinning; queue behind them;
 *      - the same hold (same owner TID and sequence) has lasted longer than
 *        the budget since the spinner first saw it -- AD_SPIN_MULT times the
 *        estimate, at least AD_SPIN_MIN_NS, at most AD_PARK_NS: the owner is
 *        in an unusually long section or not running (preempted).  That time
 *        is a lower bound on how long the owner has held the lock so far; a
 *        new hold, even by the same thread, restarts it.  Capping it at the
 *        cost of a park is the classic competitive rule (never spend more
 *        waiting than blocking would have cost), and it pays even for holds
 *        longer than that: a spinner arrives at a random point of the hold
 *        and often sees its end, and every sleeper costs the owner a
 *        FUTEX_WAKE on its unlock path (2 threads, 20 us sections, 10 us
 *        park cost: parking at once when the estimate exceeded it gave 86%
 *        of mutex's throughput, spinning for up to one park 93%);
 *      - the spin has lasted AD_SPIN_CAP_NS in all, however often the lock
 *        changed hands meanwhile (a thread that keeps losing the race to a
 *        running owner queues in the kernel instead).  It must span many
 *        polls at the slowest cadence: at 50 us, two of them, it parked the
 *        loser of an empty section long before the owner paused, and every
 *        unlock then paid a FUTEX_WAKE.
 *      After the first AD_GRACE_NS (a short hold's worth of polling, which
 *      costs no shared write) the spinner must count itself in the atomic
 *      spinner count, which never exceeds the CPUs the lock's threads run on
 *      less one: one more spinner could only take a CPU from the owner.  A
 *      counted spinner stamps the time at every poll, and a count whose
 *      stamps have all gone stale (its spinners were preempted) does not
 *      hold others back.  A thread that finds the count full does not spin:
 *      the owner is then likely runnable but without a CPU, so it yields its
 *      own (sched_yield) and looks again, still under the budget and the cap
 *      above.  Yielding rather than sleeping matters when threads outnumber
 *      CPUs: a sleeper costs the owner a FUTEX_WAKE at its next unlock, on
 *      the lock's critical path; with 16 threads on 2 PUs, parking at a full
 *      count slept and woke 20 to 30 times as often as yielding does and
 *      cost up to 15% of the throughput.
 *   3. Parking is `mutex`'s slow path with CASes (the owner's TID must
 *      survive): set WAITERS, FUTEX_WAIT on the word.  unlock wakes one
 *      sleeper when it finds WAITERS.  A thread that has slept takes the
 *      lock with WAITERS set, since others may still sleep; once woken it
 *      may spin again under the same rules.
 * The owner cannot tell a spinner whether it is on a CPU; "the same hold for
 * longer than the estimate allows" is the approximation.
 *
 * Ordering: every acquiring CAS is acquire and pairs with the release
 * exchange in ad_unlock.  `hold_est` is written only by owners (relaxed: the
 * lock orders successive owners) and read by spinners as a hint (relaxed: a
 * stale value only changes how long someone spins); the spinner count and
 * spin_beat are relaxed hints too.  Lost wake-ups are excluded as in
 * `mutex`: the kernel compares the word with the value that carried WAITERS.
 *
 * Measured on a 2-vCPU KVM guest (AMD EPYC, PAUSE ~25 ns), one invocation
 * per block, median of 7 repetitions of 300 ms, --counters none; "paired"
 * is the median of rep-by-rep ratios (repetitions run interleaved):
 *   short sections, threads <= CPUs: `bench adaptive,spin-ttas,spin-tas,
 *   spin-ticket,mutex --threads 1,2 --cs-ns 50`
 *     1 thread:  adaptive 17.4M ops/s, spin-ttas 17.2M (paired 1.00),
 *                mutex 17.2M
 *     2 threads: adaptive 16.9M, spin-ttas 16.8M (1.01), mutex 13.8M,
 *                spin-ticket 7.1M
 *   the same with empty sections (--cs-ns 0):
 *     1 thread:  adaptive 162M, spin-ttas 207M (0.77), mutex 192M (0.85):
 *                the fast path's bookkeeping (the sequence number's
 *                store) costs about 1 ns an operation
 *     2 threads: adaptive 130M, spin-ttas 120M (1.05), mutex 69.6M
 *   threads far beyond CPUs, `--threads 16`:
 *     empty section: adaptive 139M, mutex 107M (1.33); --cs-ns 50: 16.2M,
 *     14.7M (1.06)
 *   long sections, `--threads 2,16 --cs-ns 10000`:
 *     adaptive 96.2k / 90.4k, mutex 92.4k / 90.9k (1.04 / 1.04),
 *     pthread-adaptive 74.6k / 93.6k; fairness at 2 threads 0.98 against
 *     mutex's 0.93
 * The guest shares its host with other work: the same command varied by up
 * to 30% between invocations, which is why only interleaved repetitions
 * are compared.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"

/* The word: owner TID in the low 22 bits (Linux caps TIDs below 2^22,
 * PID_MAX_LIMIT), a hold sequence number in the next 9, WAITERS on top. */
#define AD_SEQ_SHIFT 22
#define AD_TID_MASK ((1u << AD_SEQ_SHIFT) - 1)
#define AD_SEQ_MASK (0x1ffu << AD_SEQ_SHIFT)
#define AD_WAITERS 0x80000000u

/* One acquisition in AD_SAMPLE (a power of two) is timed. */
#define AD_SAMPLE 32
/* What parking costs: FUTEX_WAIT, the owner's FUTEX_WAKE and the switch
 * back in.  A few microseconds on bare metal, tens under virtualisation
 * (an IPI to a halted vCPU exits to the host); spinning longer than this on
 * one hold is never cheaper than sleeping through it.  The value leans to
 * the guest: on the 2-vCPU KVM guest below, 2 threads with 20 us sections
 * ran 10-20% faster with 20 us than with 10 us, and the other cases
 * measured did not move beyond the noise. */
#define AD_PARK_NS 20000
/* Spin budget per hold: this multiple of the estimate, within
 * [AD_SPIN_MIN_NS, AD_PARK_NS]. */
#define AD_SPIN_MULT 4
#define AD_SPIN_MIN_NS 2000
/* Bound on one spin, however often the lock changes hands meanwhile. */
#define AD_SPIN_CAP_NS 200000
/* A spinner polls at first without counting itself against the limit, so
 * that waiting out one short hold costs no shared read-modify-write. */
#define AD_GRACE_NS 1000
/* A counted spinner that has not polled for this long is off its CPU. */
#define AD_STALE_NS 20000
/* Most pause instructions between two polls of the word. */
#define AD_PAUSE_MAX 1024
/* Samples are clamped here: one preempted hold must not turn spinning off
 * for thousands of acquisitions. */
#define AD_SAMPLE_MAX_NS (16 * AD_PARK_NS)
/* Holds this long are waited out asleep from the start: a spinner that may
 * spin for AD_PARK_NS would catch the end of fewer than one in eight. */
#define AD_LONG_HOLD_NS (8 * AD_PARK_NS)

#define AD_CPU_WORDS (CPU_SETSIZE / 64)

struct sl_adaptive {
	/* Written by owners, polled by spinners. */
	alignas(SL_CACHELINE) _Atomic uint32_t word; /* 0: free */
	_Atomic uint64_t hold_est;  /* EWMA of the hold, clock ticks */
	/* Read-only after init. */
	uint64_t park_ticks, long_hold_ticks, spin_min_ticks, spin_cap_ticks;
	uint64_t sample_max_ticks;
	uint64_t grace_ticks, stale_ticks;
	/* CPUs the lock's threads may run on, less one; raised as threads
	 * register (their affinity is known only once they are bound). */
	_Atomic uint32_t max_spinners;
	/* Spinners' bookkeeping, kept off the owners' line. */
	alignas(SL_CACHELINE) _Atomic uint32_t spinners;
	_Atomic uint64_t spin_beat; /* clock at a counted spinner's last poll */
	/* The union of the registered threads' affinities (thread_init only). */
	alignas(SL_CACHELINE) _Atomic uint64_t cpus[AD_CPU_WORDS];
};

struct ad_tctx {
	uint32_t tid;
	uint32_t n;  /* this thread's acquisitions: sequence and sampling */
	uint64_t t0; /* clock at a sampled acquisition; 0: not sampled */
};

static inline uint64_t ad_clock(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
	uint64_t v;

	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	return sl_now_ns();
#endif
}

/* Clock ticks per nanosecond, measured against CLOCK_MONOTONIC. */
static double ad_ticks_per_ns(void)
{
	uint64_t n0 = sl_now_ns(), c0 = ad_clock(), n1, c1;

	do {
		sl_cpu_relax();
		n1 = sl_now_ns();
	} while (n1 - n0 < 20 * SL_NS_PER_US);
	c1 = ad_clock();
	return c1 > c0 ? (double)(c1 - c0) / (double)(n1 - n0) : 1.0;
}

static int ad_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_adaptive *m = obj;
	double tpn = ad_ticks_per_ns();

	(void)conf;
	(void)err;
	atomic_init(&m->word, 0);
	atomic_init(&m->hold_est, 0);
	atomic_init(&m->spinners, 0);
	atomic_init(&m->spin_beat, 0);
	atomic_init(&m->max_spinners, 0);
	for (unsigned i = 0; i < AD_CPU_WORDS; i++)
		atomic_init(&m->cpus[i], 0);
	m->park_ticks = (uint64_t)(AD_PARK_NS * tpn);
	m->long_hold_ticks = (uint64_t)(AD_LONG_HOLD_NS * tpn);
	m->spin_min_ticks = (uint64_t)(AD_SPIN_MIN_NS * tpn);
	m->spin_cap_ticks = (uint64_t)(AD_SPIN_CAP_NS * tpn);
	m->sample_max_ticks = (uint64_t)(AD_SAMPLE_MAX_NS * tpn);
	m->grace_ticks = (uint64_t)(AD_GRACE_NS * tpn);
	m->stale_ticks = (uint64_t)(AD_STALE_NS * tpn);
	return 0;
}

/* Add the calling thread's CPUs to the lock's set and raise the spinner
 * limit to match: a thread bound to one PU (as the runner binds them) adds
 * that PU, so the limit follows the PUs the run really uses. */
static void ad_thread_init(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	struct ad_tctx *t = tctx;
	uint32_t n = 0, cur;
	cpu_set_t set;

	t->tid = (uint32_t)gettid() & AD_TID_MASK;
	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		n = CPU_SETSIZE; /* more CPUs than a cpu_set_t holds */
	} else {
		for (unsigned i = 0; i < AD_CPU_WORDS; i++) {
			uint64_t bits = 0;

			for (unsigned b = 0; b < 64; b++)
				if (CPU_ISSET(i * 64 + b, &set))
					bits |= (uint64_t)1 << b;
			bits |= atomic_fetch_or_explicit(&m->cpus[i], bits,
							 memory_order_relaxed);
			n += (uint32_t)__builtin_popcountll(bits);
		}
	}
	if (n == 0)
		n = 1;
	/* A racing thread may have counted fewer: only ever raise it. */
	cur = atomic_load_explicit(&m->max_spinners, memory_order_relaxed);
	while (n - 1 > cur &&
	       !atomic_compare_exchange_weak_explicit(&m->max_spinners, &cur,
						      n - 1, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* The word this thread installs for its next hold. */
static inline uint32_t ad_next(const struct ad_tctx *t)
{
	return t->tid | ((t->n + 1) << AD_SEQ_SHIFT & AD_SEQ_MASK);
}

/* A new hold: count it, and time one in AD_SAMPLE. */
static inline void ad_acquired(struct ad_tctx *t)
{
	if (__builtin_expect((++t->n & (AD_SAMPLE - 1)) == 0, 0))
		t->t0 = ad_clock() | 1; /* never 0: 0 means "not sampled" */
}

/* Count the caller as a spinner unless the limit is reached by spinners
 * that still run.  A registered spinner stamps spin_beat at every poll; when
 * no stamp is recent, every counted spinner is off its CPU (preempted while
 * spinning, the common case when threads outnumber PUs) and leaves a CPU
 * free, so the caller may take a place beyond the limit. */
static bool ad_register(struct sl_adaptive *m, uint64_t now)
{
	uint32_t max = atomic_load_explicit(&m->max_spinners, memory_order_relaxed);

	if (atomic_load_explicit(&m->spinners, memory_order_relaxed) < max) {
		if (atomic_fetch_add_explicit(&m->spinners, 1,
					      memory_order_relaxed) < max)
			goto counted;
		atomic_fetch_sub_explicit(&m->spinners, 1, memory_order_relaxed);
	}
	if ((int64_t)(now - atomic_load_explicit(&m->spin_beat,
						 memory_order_relaxed)) <
	    (int64_t)m->stale_ticks)
		return false;
	atomic_fetch_add_explicit(&m->spinners, 1, memory_order_relaxed);
counted:
	atomic_store_explicit(&m->spin_beat, now, memory_order_relaxed);
	return true;
}

/* Spin for the lock under the policy in the header; false: park instead.
 * waiters is AD_WAITERS once the caller has slept (others may sleep too). */
static bool ad_spin(struct sl_adaptive *m, struct ad_tctx *t, uint32_t waiters)
{
	uint64_t est = atomic_load_explicit(&m->hold_est, memory_order_relaxed);
	uint64_t budget, start, since, now;
	uint32_t hold = 0;
	unsigned pause = 1;
	bool got = false, registered = false;

	if (est >= m->long_hold_ticks ||
	    atomic_load_explicit(&m->max_spinners, memory_order_relaxed) == 0)
		return false;
	budget = est * AD_SPIN_MULT;
	if (budget < m->spin_min_ticks)
		budget = m->spin_min_ticks;
	if (budget > m->park_ticks)
		budget = m->park_ticks;
	start = since = ad_clock();
	for (;;) {
		uint32_t s = atomic_load_explicit(&m->word, memory_order_relaxed);

		if (s == 0) {
			/* acquire: pairs with the release exchange in ad_unlock */
			if (atomic_compare_exchange_strong_explicit(
				    &m->word, &s, ad_next(t) | waiters,
				    memory_order_acquire, memory_order_relaxed)) {
				got = true;
				break;
			}
		}
		if (s & AD_WAITERS)
			break; /* others sleep: queue behind them */
		now = ad_clock();
		if ((s & ~AD_WAITERS) != hold) {
			hold = s & ~AD_WAITERS; /* a new hold: a new budget */
			since = now;
		} else if (now - since > budget) {
			break; /* this hold runs long, or its owner is off-CPU */
		}
		if (now - start > m->spin_cap_ticks)
			break;
		if (registered) {
			atomic_store_explicit(&m->spin_beat, now,
					      memory_order_relaxed);
		} else if (now - start > m->grace_ticks &&
			   !(registered = ad_register(m, now))) {
			/* Running spinners fill the CPUs less one, so the
			 * owner may well be waiting for a CPU, often this
			 * one's: offer it, then look again.  The budget and
			 * the cap still decide when to park. */
			sched_yield();
			continue;
		}
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < AD_PAUSE_MAX)
			pause <<= 1;
	}
	if (registered)
		atomic_fetch_sub_explicit(&m->spinners, 1, memory_order_relaxed);
	if (got)
		ad_acquired(t);
	return got;
}

/* Sleep once on the word, or take the lock if it is free.  true: taken. */
static bool ad_park(struct sl_adaptive *m, struct ad_tctx *t)
{
	uint32_t s = atomic_load_explicit(&m->word, memory_order_relaxed);

	for (;;) {
		if (s == 0) {
			/* acquire: pairs with the release exchange in
			 * ad_unlock.  WAITERS: others may still sleep. */
			if (atomic_compare_exchange_weak_explicit(
				    &m->word, &s, ad_next(t) | AD_WAITERS,
				    memory_order_acquire, memory_order_relaxed)) {
				ad_acquired(t);
				return true;
			}
			continue;
		}
		if (!(s & AD_WAITERS)) {
			if (!atomic_compare_exchange_weak_explicit(
				    &m->word, &s, s | AD_WAITERS,
				    memory_order_relaxed, memory_order_relaxed))
				continue;
			s |= AD_WAITERS;
		}
		sl_futex_wait(&m->word, s);
		return false;
	}
}

/* Out of line: inlined, its spin loop's registers made every uncontended
 * acquisition save and restore six of them (1 thread, empty section: 0.76
 * of mutex's rate). */
static __attribute__((noinline)) void ad_lock_slow(struct sl_adaptive *m,
						   struct ad_tctx *t)
{
	uint32_t waiters = 0;

	for (;;) {
		if (ad_spin(m, t, waiters))
			return;
		if (ad_park(m, t))
			return;
		waiters = AD_WAITERS; /* slept: others may sleep too */
	}
}

static void ad_lock(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	struct ad_tctx *t = tctx;
	uint32_t expected = 0;

	/* acquire: pairs with the release exchange in ad_unlock */
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &m->word, &expected, ad_next(t),
				     memory_order_acquire, memory_order_relaxed),
			     1)) {
		ad_acquired(t);
		return;
	}
	ad_lock_slow(m, t);
}

static bool ad_trylock(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	struct ad_tctx *t = tctx;
	uint32_t expected = 0;

	/* acquire: pairs with the release exchange in ad_unlock */
	if (!atomic_compare_exchange_strong_explicit(&m->word, &expected,
						     ad_next(t),
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	ad_acquired(t);
	return true;
}

/* Fold a sampled hold into the estimate (the owner alone writes it). */
static void ad_sample(struct sl_adaptive *m, struct ad_tctx *t)
{
	uint64_t d = (ad_clock() | 1) - t->t0;
	int64_t est = (int64_t)atomic_load_explicit(&m->hold_est,
						    memory_order_relaxed);

	t->t0 = 0;
	if (d > m->sample_max_ticks)
		d = m->sample_max_ticks;
	est += ((int64_t)d - est) / 8;
	atomic_store_explicit(&m->hold_est, (uint64_t)est, memory_order_relaxed);
}

static void ad_unlock(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	struct ad_tctx *t = tctx;

	if (__builtin_expect(t->t0 != 0, 0))
		ad_sample(m, t);
	/* release: publishes the section to the next acquirer */
	if (atomic_exchange_explicit(&m->word, 0, memory_order_release) &
	    AD_WAITERS)
		sl_futex_wake(&m->word, 1);
}

static int ad_check(void *obj, struct sl_err *err)
{
	struct sl_adaptive *m = obj;
	uint32_t w = atomic_load_explicit(&m->word, memory_order_relaxed);
	uint32_t sp = atomic_load_explicit(&m->spinners, memory_order_relaxed);

	if (w != 0)
		return sl_err_set(err, -EPROTO,
				  "adaptive word is 0x%x (owner TID %u%s) after every thread stopped (expected 0, free)",
				  w, w & AD_TID_MASK,
				  w & AD_WAITERS ? ", waiters" : "");
	if (sp != 0)
		return sl_err_set(err, -EPROTO,
				  "adaptive counts %u spinners after every thread stopped",
				  sp);
	return 0;
}

const struct sl_prim sl_prim_adaptive = {
	.name = "adaptive",
	.family = "mutex",
	.kind = SL_KIND_LOCK,
	.summary = "spin-then-park futex mutex: spins while the hold-time estimate and free CPUs say it pays",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_adaptive),
	.tctx_size = sizeof(struct ad_tctx),
	.init = ad_init,
	.thread_init = ad_thread_init,
	.lock = { .lock = ad_lock, .unlock = ad_unlock,
		  .trylock = ad_trylock },
	.check = ad_check,
};
