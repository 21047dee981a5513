/*
 * adaptive: a spin-then-park mutex that spins only while spinning is likely
 * to pay, and otherwise sleeps on a futex like `mutex`.
 *
 * The word holds LOCKED, a WAITERS bit meaning "threads may be asleep on
 * the word", and a spinner's mark on the hold it is timing: the SPIN bit
 * and a tag of 29 bits that names the marking spinner and its mark; 0 is
 * free.  Uncontended, lock is one exchange (LOCKED in, 0 out) and unlock
 * one plain store (see "Release" below): no system call, no
 * read-modify-write on the way out, nothing written beyond the word and
 * nothing read back from it.  On an AMD guest a CAS acquisition cost 10-15%
 * of a lone thread's rate against an exchange, and a per-hold sequence
 * number kept in the thread's context another 15%, which is why the word
 * names neither the owner nor the hold.
 * An exchange that finds the lock held has overwritten its WAITERS bit and
 * mark with plain LOCKED.  A mark is only a hint; WAITERS is taken over:
 * that thread, which has seen it, takes the lock with WAITERS set once it
 * gets it, and its release wakes a sleeper as the cleared bit's would have.
 * trylock uses a CAS: a failed try must not clear WAITERS.
 * One acquisition in AD_SAMPLE made on the contended path times its hold
 * with a cheap clock (the TSC on x86, CNTVCT on arm64, CLOCK_MONOTONIC
 * elsewhere) and folds it into `hold_est`, an exponentially weighted moving
 * average (weight 1/8) of the critical section's length, kept in the word's
 * line.  Only contended acquisitions are sampled: the estimate matters only
 * to spinners, and sampling uncontended ones would cost the fast path.
 *
 * Policy for a thread that finds the lock held:
 *   1. If the estimated hold exceeds AD_LONG_HOLD_NS (eight times the cost
 *      of parking and being woken, AD_PARK_NS), a spinner allowed to spin
 *      for one park's cost would catch the end of fewer than one hold in
 *      eight: park at once.
 *   2. Otherwise poll the word, the pause between reads doubling from
 *      AD_PAUSE_MIN (waited once before the first read, except by a thread
 *      just woken) up to AD_PAUSE_MAX, as spin-ttas does: a spinner that
 *      polls less often leaves the line with a running owner, which can
 *      then release and retake it without a transfer (2 threads, empty
 *      sections: with a cap of 64 pauses adaptive ran at 0.6-0.7 of
 *      spin-ttas's rate, with 1024 at 0.8-1.0).  A WAITERS bit does not
 *      stop the spin: the sleepers are woken all the same (see 3.), and
 *      parking every spinner as soon as one thread slept turned the lock
 *      into a sleeping one whenever many threads contend (16 CPUs, 16
 *      threads, empty sections: 0.18 of spin-ttas's rate that way, 0.36
 *      spinning on).
 *      When every thread of the lock has a CPU of its own (the lock's
 *      threads are no more than the CPUs their affinities cover), owners
 *      run: the spinner only polls, and parks only at the cap below.  A
 *      hold that runs long then costs the spinner its own CPU's time and
 *      nothing else, while the rules that follow write to the owner's line
 *      and misjudge holds when many spin (16 CPUs, 4 to 16 threads, empty
 *      sections: 0.43-0.70 of spin-ttas's rate with them; the polls alone
 *      have not been measured there yet).  It then also polls at spin-ttas's
 *      cadence, 8 pauses before its second read where it otherwise waits 4
 *      (2 threads on a 2-vCPU Intel guest: 1.00-1.05 of spin-ttas's rate
 *      with empty sections against 0.74-0.84, but 0.96-0.98 against
 *      1.12-1.14 with 200 ns sections and as much think time, whose ends
 *      the earlier read catches).  When threads outnumber CPUs, stop and
 *      park when:
 *      - the same hold has lasted longer than the budget since the spinner
 *        first saw it -- AD_SPIN_MULT times the estimate, at least
 *        AD_SPIN_MIN_NS, at most AD_PARK_NS: the owner is in an unusually
 *        long section or not running (preempted).  That time is a lower
 *        bound on how long the owner has held the lock so far; a new hold
 *        restarts it.  Holds are told apart by marks: a spinner CASes SPIN
 *        and a tag of its own (its context's address, hashed, plus its
 *        count of marks) into the held word, and a release clears it, so
 *        an unmarked word is a hold not timed yet and a mark other than the
 *        last one seen is a new hold, however far apart the polls.  Marking
 *        starts only after AD_GRACE_NS, as no budget is shorter, so a short
 *        wait writes nothing.  A newcomer's exchange clears a mark and makes
 *        a long hold look new, so the spinner spins longer, within the cap
 *        below: safe.  An unmarked hold seen after a gap longer than half
 *        the budget may be new: it restarts the clock, and is not marked,
 *        as the next poll will be far apart too (keeping such polls reads:
 *        2 threads on the 2-vCPU AMD guest, empty sections, 0.93 and 1.03
 *        of spin-ttas's rate against 0.86 and 0.99 marking).  Without that
 *        rule spinners that had backed off to long pauses charged many
 *        short holds to one and parked (16 CPUs, 8 threads, empty sections:
 *        0.15 of spin-ttas's rate, 0.41 with it).  Before marks carried
 *        tags, every marked hold read alike, and a spinner that missed the
 *        unmarked state of a hold another spinner marked charged the old
 *        hold's time to it and parked early.  Capping the budget at the
 *        cost of a park is the classic competitive rule (never spend more
 *        waiting than blocking would have cost), and it pays even for holds
 *        longer than that: a spinner arrives at a random point of the hold
 *        and often sees its end, and every sleeper costs the owner a
 *        FUTEX_WAKE on its unlock path (2 threads, 20 us sections, 10 us
 *        park cost: parking at once when the estimate exceeded it gave 86%
 *        of mutex's throughput, spinning for up to one park 93%);
 *      - the spin has lasted its cap in all, however often the lock
 *        changed hands meanwhile (a thread that keeps losing the race to a
 *        running owner queues in the kernel instead).  It must span many
 *        polls at the slowest cadence: at 50 us, two of them, it parked the
 *        loser of an empty section long before the owner paused, and every
 *        unlock then paid a FUTEX_WAKE.  The cap is AD_SPIN_CAP_NS when the
 *        lock's threads outnumber the CPUs they run on: an owner may then
 *        be preempted, and polls far apart (above) cannot always see its
 *        hold run long.  When every thread has a CPU of its own, owners run, and
 *        losing the race for a while is what an unfair lock's waiter does:
 *        the cap is then about a time slice, AD_SPIN_CAP_DEDICATED_NS.
 *        Every such park cost a system call or two (FUTEX_WAIT, often
 *        returning at once, and in FAST mode a membarrier that interrupts
 *        every CPU running the process) and sent the lock to SLOW mode for
 *        the next AD_CALM releases (2 threads on the 2-vCPU guest, one
 *        binary, both caps alternated, 5 invocations of 7 repetitions in
 *        each order: 1.02-1.05 of the 200 us cap's rate, empty and 50 ns
 *        sections alike; 4 and 16 threads, where the cap stays 200 us,
 *        unchanged).
 *      After the first AD_GRACE_NS (a short hold's worth of polling, which
 *      costs no shared write) the spinner must count itself in the atomic
 *      spinner count, which never exceeds the CPUs the lock's threads run on
 *      less one: one more spinner could only take a CPU from the owner.  A
 *      counted spinner keeps a stamp of the time fresh (it writes it when
 *      it has aged a quarter of AD_STALE_NS, so that between writes the
 *      line stays shared), and a count whose stamps have all gone stale
 *      (its spinners were preempted) does not hold others back.  A thread that finds the count full does not spin:
 *      the owner is then likely runnable but without a CPU, so it yields its
 *      own (sched_yield) and looks again, still under the budget and the cap
 *      above.  Yielding rather than sleeping matters when threads outnumber
 *      CPUs: a sleeper costs the owner a FUTEX_WAKE at its next unlock, on
 *      the lock's critical path; with 16 threads on 2 PUs, parking at a full
 *      count slept and woke 20 to 30 times as often as yielding does and
 *      cost up to 15% of the throughput.
 *   3. Parking is `mutex`'s slow path with CASes (a mark must survive): set WAITERS, FUTEX_WAIT on the word.  unlock wakes one
 *      sleeper when it finds WAITERS.  A thread that has slept takes the
 *      lock with WAITERS set, since others may still sleep; once woken it
 *      may spin again under the same rules.
 * The owner cannot tell a spinner whether it is on a CPU; "the same hold for
 * longer than the estimate allows" is the approximation.
 *
 * Release.  A plain store of 0 cannot see a WAITERS bit set just before it,
 * and an exchange, which can, is a second locked instruction per hold.  So
 * the lock has two release modes.  In FAST mode the owner releases inside a
 * restartable sequence (rseq(2), via the area glibc registers for every
 * thread): "if the mode is FAST, store 0".  It exchanges the word with 0
 * instead, and wakes a sleeper if WAITERS was set, in SLOW mode and
 * whenever it took the lock with WAITERS (it owes a sleeper its wake-up) or
 * is timing the hold.  It knows both from its own context, so the sequence
 * does not read the word back: on a 2-vCPU Intel guest (family 6 model
 * 167) that load, right after the exchange that took the lock, held a lone
 * thread up 3.5 ns a hold (0.73 of spin-ttas's rate with it, 0.97
 * without), where a load of the mode, then on the same line, cost nothing
 * alone (the mode has a line of its own now: see ad_release_fast).  Any
 * other WAITERS bit was set during the hold by a thread about to sleep.
 * That thread, after setting it, reads the mode; unless it is SLOW it moves
 * the lock to SLOW through SWITCHING and calls membarrier(2) with
 * PRIVATE_EXPEDITED_RSEQ, which restarts every sequence in flight.  When
 * that returns, a release that read FAST has either stored (the word
 * changed, so FUTEX_WAIT returns at once and the thread looks again) or
 * will start over, read SWITCHING or SLOW, and exchange; later sequences
 * read the new mode.  A WAITERS bit reaches a later hold only through a
 * thread that took it out (back from sleep, or by an exchange that found
 * it) and so owes the wake-up.  An owner moves the lock back to FAST after
 * AD_CALM releases in a row found no WAITERS, so a lock whose threads keep
 * sleeping stays SLOW and pays no fences, and one that has calmed down
 * gets its plain-store release back.  tests/model/adaptive_release.py
 * explores every interleaving of three threads through these steps.
 * Without rseq (other architectures, ThreadSanitizer builds, which cannot
 * see the assembly's store, a kernel before 5.10 or glibc's rseq turned
 * off) the lock stays SLOW.
 *
 * Ordering: every acquisition is an acquire RMW and pairs with the release
 * (x86's plain store is a release under TSO; the exchange is release).
 * Marks order nothing (relaxed); the WAITERS CAS and the mode's load after
 * it are seq_cst, so the load cannot be satisfied before the bit is
 * visible.  `hold_est` is written only by owners (relaxed: the
 * lock orders successive owners) and read by spinners as a hint (relaxed: a
 * stale value only changes how long someone spins); the spinner count,
 * spin_beat and the calm count are relaxed hints too.  Lost wake-ups are
 * excluded as in `mutex` (the kernel compares the word with the value that
 * carried WAITERS) together with the fence above.
 *
 * Measured with --counters none, empty sections unless said; "paired" is
 * the median of rep-by-rep ratios within one invocation (repetitions of
 * 200 ms, interleaved).
 * On a 2-vCPU KVM guest on an Intel Xeon (family 6 model 167), this version
 * and the one before it in one binary, two invocations in each order of 7
 * paired repetitions (5 at 16 threads and more), the range over them:
 *   1 thread:   0.94-0.97 of spin-ttas (0.91-0.94 of spin-clh, the fastest
 *               alone); 50 ns sections 0.98-1.01.  Before: 0.72-0.74
 *   2 threads:  1.01-1.06 of spin-ttas; 50 ns sections 0.96-0.99; 50 ns
 *               sections and as much think time 0.96, 200 ns 0.99-1.00.
 *               Before: 0.87-0.89, 0.97-1.00, 0.62-0.64, 1.08-1.13
 *   16, 32, 64 threads: 1.76-2.07 of mutex; 50 ns sections 1.12-1.50;
 *               20 us sections 1.04-1.05 at 16 threads, 1.04-1.10 at 2.
 *               Before: 1.73-1.96, 1.09-1.42, 0.92-0.96 and 1.11-1.12.
 *               Against mutex since its spin-ttas cadence (two more
 *               invocations): 1.40-1.74, 1.17-1.51, 1.04 and 1.09
 * On a 2-vCPU AMD EPYC guest, earlier versions measured 0.93-1.05 of
 * spin-ttas alone, 0.86-0.96 at 2 threads and 1.04-1.24 of mutex at 16.
 * On 16 CPUs (a KVM guest on an Intel Xeon, family 6 model 207, no SMT),
 * one invocation of 5 paired repetitions, an earlier version (before the
 * time-slice cap, the tags, the read-only spin with a CPU per thread, the
 * release that reads neither the word nor its line, and the rationed time
 * stamps) missed both goals from 4 threads up:
 *   1, 2, 4, 8, 16 threads: 0.77 0.90 0.70 0.58 0.43 of spin-ttas; 50 ns
 *     sections 0.92 0.98 0.77 0.84 0.63
 *   against mutex: 0.69-0.80 at 16, 32, 64 threads; 50 ns sections
 *     0.74-0.88; 10 us sections 1.04-1.19 at 2, 16, 64
 * Before the two rules above (WAITERS no longer stops a spin, gaps restart
 * the hold's clock) it ran at 0.15 and 0.10 of spin-ttas at 8 and 16
 * threads there.  The changes since remove the costs that mutex's
 * read-only polling does not pay (with a CPU per thread, every write by a
 * spinner; with more threads, the stamps at every poll and holds misread
 * as long); this version has not run on that machine yet.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/atomics.h"
#include "util/clock.h"
#include "util/err.h"

/* The plain-store release needs a restartable sequence, written here for
 * x86-64, and is kept out of ThreadSanitizer builds, which cannot see a
 * store made in assembly. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && \
	__has_include(<sys/rseq.h>)
#define AD_RSEQ 1
#include <sys/rseq.h>

#include "primitives/membarrier.h"
#else
#define AD_RSEQ 0
#endif

/* The word: LOCKED, the WAITERS flag, and a spinner's mark: the SPIN bit
 * with the marking spinner's tag in the bits between. */
#define AD_LOCKED 0x1u
#define AD_TAG_SHIFT 1
#define AD_TAG_MASK 0x3ffffffeu
#define AD_SPIN 0x40000000u
#define AD_MARK (AD_SPIN | AD_TAG_MASK)
#define AD_WAITERS 0x80000000u

/* One contended acquisition in AD_SAMPLE (a power of two) is timed. */
#define AD_SAMPLE 8
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
/* Bound on one spin, however often the lock changes hands meanwhile, when
 * the lock's threads outnumber their CPUs; and when each has a CPU of its
 * own, about a time slice (as sl_spinwait's budgets, spinwait.h). */
#define AD_SPIN_CAP_NS 200000
#define AD_SPIN_CAP_DEDICATED_NS 4000000
/* A spinner polls at first without counting itself against the limit, so
 * that waiting out one short hold costs no shared read-modify-write. */
#define AD_GRACE_NS 1000
/* A counted spinner that has not polled for this long is off its CPU. */
#define AD_STALE_NS 20000
/* Pause instructions between two polls of the word: the first wait (none
 * for a thread just woken) and the most.  Polling at once and then after 1,
 * 2, ... pauses took the line from a running owner several times per
 * acquisition: 2 threads, empty sections, 0.78 of spin-ttas's rate against
 * about parity starting, as spin-ttas does, at 4. */
#define AD_PAUSE_MIN 4
#define AD_PAUSE_MAX 1024
/* Samples are clamped here: one preempted hold must not turn spinning off
 * for thousands of acquisitions. */
#define AD_SAMPLE_MAX_NS (16 * AD_PARK_NS)
/* Holds this long are waited out asleep from the start: a spinner that may
 * spin for AD_PARK_NS would catch the end of fewer than one in eight. */
#define AD_LONG_HOLD_NS (8 * AD_PARK_NS)

#define AD_CPU_WORDS (CPU_SETSIZE / 64)

/* How a hold is released (see "Release" in the header). */
enum {
	AD_MODE_SLOW,      /* exchange, always */
	AD_MODE_FAST,      /* plain store inside a restartable sequence */
	AD_MODE_SWITCHING, /* leaving FAST: its fence is under way */
};
/* Releases without sleepers, in SLOW mode, before FAST is tried again. */
#define AD_CALM 1024

struct sl_adaptive {
	/* Written by owners, polled by spinners. */
	alignas(SL_CACHELINE) _Atomic uint32_t word; /* 0: free */
	_Atomic uint32_t calm;      /* SLOW-mode releases that found no sleeper */
	_Atomic uint64_t hold_est;  /* EWMA of the hold, clock ticks */
	/* Read at every release, written rarely: off the word's line, so that
	 * reading it never waits for a line a spinner has taken (see
	 * ad_release_fast). */
	alignas(SL_CACHELINE) _Atomic uint32_t mode; /* AD_MODE_* */
	_Atomic bool fast_ok;       /* every thread can run the sequence */
	ptrdiff_t rseq_off;         /* glibc's __rseq_offset (read-only) */
	/* Read-only after init. */
	uint64_t park_ticks, long_hold_ticks, spin_min_ticks, spin_cap_ticks;
	uint64_t spin_cap_dedicated_ticks, sample_max_ticks;
	uint32_t nthreads; /* threads that use the lock, as told at init */
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
	uint32_t n;  /* this thread's contended acquisitions, for sampling */
	uint32_t marks; /* holds this thread has marked: its tags' sequence */
	uint64_t t0; /* clock at a sampled acquisition; 0: not sampled */
	/* The hold must be released by the exchange: it carries WAITERS
	 * (this thread took the lock with it) or is being timed. */
	bool release_slow;
	/* What this thread did (the events in the descriptor, in order). */
	uint64_t sleeps; /* FUTEX_WAITs that slept */
	uint64_t wakes;  /* FUTEX_WAKEs its unlocks made */
	uint64_t yields; /* sched_yields at a full spinner count */
	uint64_t fences; /* membarriers moving the lock to SLOW mode */
};

/* Clock ticks per nanosecond, measured against CLOCK_MONOTONIC. */
static double ad_ticks_per_ns(void)
{
	uint64_t n0 = sl_now_ns(), c0 = sl_ticks(), n1, c1;

	do {
		sl_cpu_relax();
		n1 = sl_now_ns();
	} while (n1 - n0 < 20 * SL_NS_PER_US);
	c1 = sl_ticks();
	return c1 > c0 ? (double)(c1 - c0) / (double)(n1 - n0) : 1.0;
}

#if AD_RSEQ
/* The process may use the plain-store release: glibc registered an rseq
 * area for its threads and the kernel restarts sequences on request. */
static bool ad_rseq_ready(void)
{
	static _Atomic int ready; /* 0: not asked yet, 1 yes, -1 no */
	int r = atomic_load_explicit(&ready, memory_order_relaxed);

	if (r == 0) {
		r = __rseq_size > 0 && sl_membarrier_rseq_ready() ? 1 : -1;
		atomic_store_explicit(&ready, r, memory_order_relaxed);
	}
	return r > 0;
}

/* The calling thread's rseq area is registered (its cpu_id is a CPU, not
 * RSEQ_CPU_ID_UNINITIALIZED or _REGISTRATION_FAILED). */
static bool ad_rseq_thread_registered(void)
{
	int32_t cpu;

	__asm__ __volatile__("movl %%fs:4(%1), %0"
			     : "=r"(cpu)
			     : "r"(__rseq_offset));
	return cpu >= 0;
}

/* Leave FAST mode before sleeping: once the fence returns, every release
 * that read FAST has stored (so the word the caller will sleep on has
 * changed) or has been restarted and will read the new mode.  A caller
 * that finds another thread's switch under way fences for itself. */
static void ad_enter_slow(struct sl_adaptive *m)
{
	uint32_t md = AD_MODE_FAST;

	atomic_compare_exchange_strong_explicit(&m->mode, &md,
						AD_MODE_SWITCHING,
						memory_order_seq_cst,
						memory_order_seq_cst);
	if (sl_membarrier_rseq() != 0)
		SL_BUG("membarrier(PRIVATE_EXPEDITED_RSEQ) failed after registering: %s",
		       strerror(errno));
	md = AD_MODE_SWITCHING;
	atomic_compare_exchange_strong_explicit(&m->mode, &md, AD_MODE_SLOW,
						memory_order_seq_cst,
						memory_order_seq_cst);
}

/*
 * The FAST release: a restartable sequence that stores 0 only if the mode
 * is FAST; the caller has made sure the hold owes no wake-up and is not
 * timed, and the word is not read (see "Release" above).  The thread's
 * rseq_cs field must point at the sequence's descriptor; the kernel clears
 * it when it preempts the thread anywhere else, so it is checked and, when
 * cleared, set again on every release.  That check is inside the sequence:
 * a preemption between a check made before it and the sequence would
 * clear the field unnoticed (storing it unconditionally instead cost a
 * lone thread about a tenth of its rate on the guest below).  The kernel
 * restarts the sequence at `4:` when the thread is preempted, migrated or
 * signalled inside it, or when ad_enter_slow's fence reaches it; `4:` takes
 * the exchange path.  The descriptor (struct rseq_cs: version, flags, start,
 * length, abort) goes in __rseq_cs; the abort address is preceded by the
 * signature glibc registered (RSEQ_SIG, 0x53053053 on x86).  The plain
 * store is a release on x86 (TSO), and the "memory" clobber keeps the
 * compiler from sinking the critical section below it.  true: released.
 * The sequence touches the word's line only with its store, which, like
 * spin-ttas's, goes to the store buffer while the owner runs on: the mode
 * it reads lives on a line of its own that stays shared, as it is written
 * only when the mode changes.  Read from the word's line, it made the owner
 * wait whenever a spinner had just polled the line away (2 threads on the
 * Intel guest, 50 ns sections and as much think time: 0.78-0.85 of
 * spin-ttas's rate, 1.00-1.02 with the mode on its own line; PREFETCHW
 * before the sequence, which helped on the AMD guest when the sequence read
 * the word, made no difference there either way).
 */
static inline bool ad_release_fast(struct sl_adaptive *m)
{
	__asm__ goto(".pushsection __rseq_cs, \"aw\"\n\t"
		     ".balign 32\n\t"
		     "3:\n\t"
		     ".long 0, 0\n\t"
		     ".quad 1f, 2f - 1f, 4f\n\t"
		     ".popsection\n\t"
		     "leaq 3b(%%rip), %%rax\n\t"
		     "1:\n\t"
		     "cmpq %%rax, %%fs:8(%[rs])\n\t"
		     "je 5f\n\t"
		     "movq %%rax, %%fs:8(%[rs])\n\t"
		     "5:\n\t"
		     "cmpl %[fast], %[mode]\n\t"
		     "jne %l[slow]\n\t"
		     "movl $0, %[word]\n\t"
		     "2:\n\t"
		     ".pushsection __rseq_failure, \"ax\"\n\t"
		     ".long 0x53053053\n\t"
		     "4:\n\t"
		     "jmp %l[slow]\n\t"
		     ".popsection\n\t"
		     :
		     : [rs] "r"(m->rseq_off), [mode] "m"(m->mode),
		       [word] "m"(m->word), [fast] "i"(AD_MODE_FAST)
		     : "rax", "cc", "memory"
		     : slow);
	return true;
slow:
	return false;
}

/* In SLOW mode, under the lock: count a release that finds no sleeper and
 * try FAST again after AD_CALM in a row. */
static void ad_count_calm(struct sl_adaptive *m)
{
	uint32_t c = 0;

	if (!atomic_load_explicit(&m->fast_ok, memory_order_relaxed))
		return;
	if (!(atomic_load_explicit(&m->word, memory_order_relaxed) & AD_WAITERS))
		c = atomic_load_explicit(&m->calm, memory_order_relaxed) + 1;
	if (c >= AD_CALM) {
		uint32_t md = AD_MODE_SLOW;

		c = 0;
		atomic_compare_exchange_strong_explicit(&m->mode, &md,
							AD_MODE_FAST,
							memory_order_relaxed,
							memory_order_relaxed);
	}
	atomic_store_explicit(&m->calm, c, memory_order_relaxed);
}
#else
static bool ad_rseq_ready(void)
{
	return false;
}
#endif

static int ad_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_adaptive *m = obj;
	double tpn = ad_ticks_per_ns();

	(void)err;
	atomic_init(&m->word, 0);
	atomic_init(&m->hold_est, 0);
	atomic_init(&m->calm, 0);
	atomic_init(&m->fast_ok, ad_rseq_ready());
#if AD_RSEQ
	m->rseq_off = __rseq_offset;
#endif
	atomic_init(&m->mode, atomic_load_explicit(&m->fast_ok,
						   memory_order_relaxed)
				      ? AD_MODE_FAST
				      : AD_MODE_SLOW);
	atomic_init(&m->spinners, 0);
	atomic_init(&m->spin_beat, 0);
	atomic_init(&m->max_spinners, 0);
	for (unsigned i = 0; i < AD_CPU_WORDS; i++)
		atomic_init(&m->cpus[i], 0);
	m->park_ticks = (uint64_t)(AD_PARK_NS * tpn);
	m->long_hold_ticks = (uint64_t)(AD_LONG_HOLD_NS * tpn);
	m->spin_min_ticks = (uint64_t)(AD_SPIN_MIN_NS * tpn);
	m->spin_cap_ticks = (uint64_t)(AD_SPIN_CAP_NS * tpn);
	m->spin_cap_dedicated_ticks = (uint64_t)(AD_SPIN_CAP_DEDICATED_NS * tpn);
	m->nthreads = conf->nthreads;
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
	uint32_t n = 0, cur;
	cpu_set_t set;

	(void)tctx;
#if AD_RSEQ
	/* A thread without an rseq area would run the FAST release
	 * unprotected: the lock keeps to the exchange from now on. */
	if (atomic_load_explicit(&m->fast_ok, memory_order_relaxed) &&
	    !ad_rseq_thread_registered()) {
		atomic_store_explicit(&m->fast_ok, false, memory_order_relaxed);
		ad_enter_slow(m);
	}
#endif
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

/* A hold taken on the contended path, with WAITERS in the word or not:
 * count it, time one in AD_SAMPLE, and send the release of either kind of
 * hold the slow way (the exchange wakes a sleeper; the owner reads its
 * clock there). */
static void ad_acquired_contended(struct ad_tctx *t, uint32_t waiters)
{
	t->release_slow = waiters != 0;
	if ((++t->n & (AD_SAMPLE - 1)) == 0) {
		t->t0 = sl_ticks() | 1; /* never 0: 0 means "not sampled" */
		t->release_slow = true;
	}
}

/* Count the caller as a spinner unless the limit is reached by spinners
 * that still run.  A registered spinner keeps spin_beat within a quarter of
 * AD_STALE_NS of its polls; when no stamp is recent, every counted spinner
 * is off its CPU (preempted while spinning, the common case when threads
 * outnumber PUs) and leaves a CPU free, so the caller may take a place
 * beyond the limit. */
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

/* A registered spinner's poll: stamp spin_beat only when it has aged a
 * quarter of AD_STALE_NS.  Stamped at every poll, the line moved between
 * all the spinners at every one of their polls; read, it stays shared. */
static void ad_beat(struct sl_adaptive *m, uint64_t now)
{
	uint64_t beat = atomic_load_explicit(&m->spin_beat, memory_order_relaxed);

	if ((int64_t)(now - beat) > (int64_t)(m->stale_ticks / 4))
		atomic_store_explicit(&m->spin_beat, now, memory_order_relaxed);
}

/* A mark for the hold the caller is about to time: SPIN and a tag that
 * differs from the caller's last marks and, almost always, from any other
 * thread's (its context's address, hashed, plus its count of marks), so a
 * spinner can tell two marked holds apart at any distance. */
static uint32_t ad_mark(struct ad_tctx *t)
{
	uint32_t tag = (uint32_t)((uintptr_t)t >> 6) * 0x9e3779b1u + ++t->marks;

	return AD_SPIN | ((tag << AD_TAG_SHIFT) & AD_TAG_MASK);
}

/* Spin for the lock under the policy in the header; false: park instead.
 * waiters is AD_WAITERS once the caller has slept or its exchange cleared
 * the bit (others may sleep); woken: it has just been woken, and looks at
 * once rather than after the first pause. */
static bool ad_spin(struct sl_adaptive *m, struct ad_tctx *t, uint32_t waiters,
		    bool woken)
{
	uint64_t est = atomic_load_explicit(&m->hold_est, memory_order_relaxed);
	uint32_t max = atomic_load_explicit(&m->max_spinners, memory_order_relaxed);
	uint64_t budget, cap, start, since, now, prev;
	uint32_t hold = 0; /* the mark of the hold being timed; 0: none */
	unsigned pause = AD_PAUSE_MIN;
	bool dedicated, got = false, registered = false, far;

	if (est >= m->long_hold_ticks || max == 0)
		return false;
	/* Every thread of the lock has a CPU of its own: owners run, so
	 * only the cap ends a spin, and polls stay reads. */
	dedicated = m->nthreads <= max + 1;
	cap = dedicated ? m->spin_cap_dedicated_ticks : m->spin_cap_ticks;
	budget = est * AD_SPIN_MULT;
	if (budget < m->spin_min_ticks)
		budget = m->spin_min_ticks;
	if (budget > m->park_ticks)
		budget = m->park_ticks;
	start = since = prev = sl_ticks();
	if (!woken) {
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (dedicated)
			pause <<= 1; /* spin-ttas's cadence: see the header */
	}
	for (;;) {
		uint32_t s = atomic_load_explicit(&m->word, memory_order_relaxed);

		if (s == 0) {
			/* acquire: pairs with the release in ad_unlock */
			if (atomic_compare_exchange_strong_explicit(
				    &m->word, &s, AD_LOCKED | waiters,
				    memory_order_acquire, memory_order_relaxed)) {
				got = true;
				break;
			}
		}
		now = sl_ticks();
		if (now - start > cap)
			break;
		far = now - prev > budget / 2;
		prev = now;
		if (!dedicated && now - start > m->grace_ticks) {
			if (s & AD_SPIN) {
				if ((s & AD_MARK) != hold) {
					hold = s & AD_MARK; /* a new hold */
					since = now;
				} else if (now - since > budget) {
					break; /* it runs long, or its owner is off-CPU */
				}
			} else if (far) {
				/* Unmarked holds all read alike: one seen
				 * after a long pause may be new.  Leave the
				 * word alone, as the next poll will be far
				 * too. */
				hold = 0;
				since = now;
			} else {
				/* A hold not timed yet: mark it. */
				uint32_t mark = ad_mark(t);

				if (!atomic_compare_exchange_strong_explicit(
					    &m->word, &s, s | mark,
					    memory_order_relaxed,
					    memory_order_relaxed))
					continue; /* the word moved: look again */
				hold = mark;
				since = now;
			}
			if (registered) {
				ad_beat(m, now);
			} else if (!(registered = ad_register(m, now))) {
				/* Running spinners fill the CPUs less one, so
				 * the owner may well be waiting for a CPU,
				 * often this one's: offer it, then look
				 * again.  The budget and the cap still decide
				 * when to park. */
				t->yields++;
				sched_yield();
				continue;
			}
		}
		for (unsigned k = 0; k < pause; k++)
			sl_cpu_relax();
		if (pause < AD_PAUSE_MAX)
			pause <<= 1;
	}
	if (registered)
		atomic_fetch_sub_explicit(&m->spinners, 1, memory_order_relaxed);
	if (got)
		ad_acquired_contended(t, waiters);
	return got;
}

/* Sleep once on the word, or take the lock if it is free.  true: taken. */
static bool ad_park(struct sl_adaptive *m, struct ad_tctx *t)
{
	uint32_t s = atomic_load_explicit(&m->word, memory_order_relaxed);

	for (;;) {
		if (s == 0) {
			/* acquire: pairs with the release in ad_unlock.
			 * WAITERS: others may still sleep. */
			if (atomic_compare_exchange_weak_explicit(
				    &m->word, &s, AD_LOCKED | AD_WAITERS,
				    memory_order_acquire, memory_order_relaxed)) {
				ad_acquired_contended(t, AD_WAITERS);
				return true;
			}
			continue;
		}
		if (!(s & AD_WAITERS)) {
			/* seq_cst: ordered before the mode's load below */
			if (!atomic_compare_exchange_weak_explicit(
				    &m->word, &s, s | AD_WAITERS,
				    memory_order_seq_cst, memory_order_relaxed))
				continue;
			s |= AD_WAITERS;
		}
#if AD_RSEQ
		/* A FAST release that read the word before WAITERS was set
		 * would store 0 over it: fence such releases out first. */
		if (atomic_load_explicit(&m->mode, memory_order_seq_cst) !=
		    AD_MODE_SLOW) {
			ad_enter_slow(m);
			t->fences++;
		}
#endif
		if (sl_futex_wait(&m->word, s))
			t->sleeps++;
		return false;
	}
}

/* Out of line: inlined, its spin loop's registers made every uncontended
 * acquisition save and restore six of them (1 thread, empty section: 0.76
 * of mutex's rate). */
static __attribute__((noinline)) void ad_lock_slow(struct sl_adaptive *m,
						   struct ad_tctx *t,
						   uint32_t waiters)
{
	for (bool woken = false;; woken = true) {
		if (ad_spin(m, t, waiters, woken))
			return;
		if (ad_park(m, t))
			return;
		waiters = AD_WAITERS; /* slept: others may sleep too */
	}
}

static void ad_lock(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	uint32_t old;

	/* No test first: a load that brings the line in shared and an
	 * exchange that must then own it are two transfers where the
	 * exchange alone is one (2 threads, empty sections: testing first
	 * ran at a third of the rate). */
	/* acquire: pairs with the release in ad_unlock */
	old = atomic_exchange_explicit(&m->word, AD_LOCKED, memory_order_acquire);
	if (__builtin_expect(old == 0, 1))
		return;
	/* Held.  The exchange may have cleared WAITERS (and a SPIN mark):
	 * this thread then owes the sleepers their wake-up, and will take
	 * the lock with WAITERS set. */
	ad_lock_slow(m, tctx, old & AD_WAITERS);
}

static bool ad_trylock(void *obj, void *tctx)
{
	struct sl_adaptive *m = obj;
	uint32_t expected = 0;

	(void)tctx;
	/* acquire: pairs with the release in ad_unlock; a CAS, as a failed
	 * try must not clear WAITERS */
	return atomic_compare_exchange_strong_explicit(&m->word, &expected,
						       AD_LOCKED,
						       memory_order_acquire,
						       memory_order_relaxed);
}

/* Fold a sampled hold into the estimate (the owner alone writes it). */
static void ad_sample(struct sl_adaptive *m, struct ad_tctx *t)
{
	uint64_t d = (sl_ticks() | 1) - t->t0;
	int64_t est = (int64_t)atomic_load_explicit(&m->hold_est,
						    memory_order_relaxed);

	if (d > m->sample_max_ticks)
		d = m->sample_max_ticks;
	est += ((int64_t)d - est) / 8;
	atomic_store_explicit(&m->hold_est, (uint64_t)est, memory_order_relaxed);
}

/* The exchange release: finish a timed hold's sample, then release and
 * wake a sleeper if WAITERS was set. */
static __attribute__((noinline)) void ad_release(struct sl_adaptive *m,
						 struct ad_tctx *t)
{
	if (t->t0 != 0) {
		ad_sample(m, t);
		t->t0 = 0;
	}
	t->release_slow = false;
#if AD_RSEQ
	if (atomic_load_explicit(&m->mode, memory_order_relaxed) == AD_MODE_SLOW)
		ad_count_calm(m);
#endif
	/* release: publishes the section to the next acquirer */
	if (atomic_exchange_explicit(&m->word, 0, memory_order_release) &
	    AD_WAITERS) {
		t->wakes++;
		sl_futex_wake(&m->word, 1);
	}
}

static void ad_unlock(void *obj, void *tctx)
{
#if AD_RSEQ
	const struct ad_tctx *t = tctx;

	if (__builtin_expect(!t->release_slow, 1) && ad_release_fast(obj))
		return;
#endif
	ad_release(obj, tctx);
}

static int ad_check(void *obj, struct sl_err *err)
{
	struct sl_adaptive *m = obj;
	uint32_t w = atomic_load_explicit(&m->word, memory_order_relaxed);
	uint32_t sp = atomic_load_explicit(&m->spinners, memory_order_relaxed);

	if (w != 0)
		return sl_err_set(err, -EPROTO,
				  "adaptive word is 0x%x (%s%s%s) after every thread stopped (expected 0, free)",
				  w, w & AD_LOCKED ? "locked" : "not locked",
				  w & AD_WAITERS ? ", waiters" : "",
				  w & AD_SPIN ? ", spin mark" : "");
	if (sp != 0)
		return sl_err_set(err, -EPROTO,
				  "adaptive counts %u spinners after every thread stopped",
				  sp);
	return 0;
}

static void ad_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct ad_tctx *t = tctx;

	out[0] = t->sleeps;
	out[1] = t->wakes;
	out[2] = t->yields;
	out[3] = t->fences;
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
	.event_names = { "sleeps", "wakes", "yields", "fences" },
	.events = ad_events,
};
