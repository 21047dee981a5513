/*
 * Reader-writer locks: synclab's futex rwlock in four flavours, and two
 * other libraries' as reference points.
 *
 *   rwlock         writer-preferring: once a writer waits, new readers wait
 *   rwlock-rpref   reader-preferring: readers enter whenever no writer holds
 *                  it, so a steady stream of readers starves the writers
 *   rwlock-percpu  writer-preferring, with a reader count per CPU instead of
 *                  one in the state word
 *   rwlock-biased  writer-preferring, readers counted per CPU while writes
 *                  are rare and in the state word otherwise (BRAVO's bias)
 *   pthread-rwlock glibc's default pthread_rwlock_t (reader-preferring)
 *   pthread-rwlock-wpref
 *                  glibc's writer-preferring kind, the policy of rwlock
 *   ck-rwlock      Concurrency Kit's ck_rwlock_t (spins, never sleeps)
 *
 * The futex flavours share one 32-bit state word:
 *
 *   bit  0      WRITER   a writer holds the lock (rwlock-percpu: or waits
 *                        for the readers inside to leave)
 *   bit  1      RSLEEP   a reader may be asleep on the state word
 *   bit  2      WSLEEP   a writer may be asleep on the wake word
 *   bit  3      DSLEEP   rwlock-percpu: a writer may be asleep on the drain
 *                        word, waiting for the readers inside to leave
 *   bits 4..16  writers waiting (counted from their first failed attempt
 *               until they take the lock)
 *   bits 17..31 readers inside (plus, briefly, readers backing out); always
 *               0 in rwlock-percpu
 *
 * read_lock is one fetch_add of a reader: it enters when the old state shows
 * no writer (rwlock: and no writer waiting).  Otherwise it takes the reader
 * back out -- exactly as read_unlock would, since the reader it adds may be
 * the one a waiting writer is counting down to -- and waits: spins on the
 * state, then sets RSLEEP and sleeps on the state word itself (the kernel
 * compares the word, RSLEEP included, so a release that clears the writer
 * bit and reads RSLEEP cannot slip by).  Waiting readers enter by CAS.
 *
 * write_lock is one CAS 0 -> WRITER when the lock is idle.  Otherwise the
 * writer first polls a few times for the readers inside to leave on their
 * own (no writer inside, no reader: CAS in WRITER), then counts itself
 * waiting (rwlock: from here on new readers wait), spins while the lock is
 * held or readers are inside, then sets WSLEEP and sleeps on a separate
 * wake word, so that waking one writer never wakes readers.  A counted
 * writer takes the lock with one CAS that sets WRITER and uncounts it.
 *
 * read_unlock is one fetch_sub.  The last reader out, when no writer holds
 * the lock and WSLEEP is set, wakes one writer.  write_unlock is one CAS
 * WRITER -> 0 when nobody waits; else it clears WRITER and
 *   rwlock:       wakes one sleeping writer when writers wait (readers keep
 *                 waiting: the writers go first), else wakes every reader;
 *   rwlock-rpref: wakes every sleeping reader, and one sleeping writer when
 *                 no reader is inside.
 * Waking a writer means clearing WSLEEP, bumping the wake word (release) and
 * FUTEX_WAKE of one.  The writer that wakes cannot know whether others still
 * sleep, so when it takes the lock with writers still waiting it sets WSLEEP
 * again (at most one needless wake per episode, as in the mutex); WSLEEP is
 * dropped whenever no writer waits.  A sleeping writer reads the wake word
 * (acquire, pairing with the bump) before it checks the state: it either sees
 * the state the waker left, or sleeps on a wake word the kernel finds bumped.
 *
 * Writers do not starve in rwlock: a waiting writer stops new readers, the
 * readers inside leave, and each unlock with writers waiting serves a writer.
 * Readers can wait behind a stream of writers instead (writer preference).
 *
 * rwlock-percpu counts its readers in one slot per CPU, each on a line of
 * its own: a reader adds itself to the slot of the CPU it runs on, so reads
 * on different CPUs touch no common line that anyone writes -- the state
 * word's line stays Shared in every cache until a writer comes.  The writer
 * pays instead: it takes WRITER as above (the state holds no readers, so
 * that is writer against writer only), then reads every slot until each is
 * empty -- spinning, then setting DSLEEP and sleeping on a drain word that
 * the reader emptying a slot bumps (whoever clears DSLEEP wakes).  A reader
 * loads the state first and waits without touching its slot while a writer
 * holds or waits; otherwise it adds itself and loads the state again: a
 * writer seen now sends it back out (its slot leave may be the one a writer
 * waits for).  read_unlock leaves by the slot it entered by (its CPU may
 * have changed) and wakes the drainer when it empties the slot with DSLEEP
 * set.
 *
 * So a read costs two RMWs on a line no other CPU writes and a write costs
 * a read of every CPU's slot line.  With empty sections on 2-vCPU KVM
 * guests, at 99% reads and 2-16 threads it ran at 1.8-3.2x rwlock's rate on
 * one and 4.8-5.3x on another; at 90% -- a write every ten ops, each moving
 * a slot line and the state line between the CPUs -- at 0.4-0.9x and
 * 1.5-1.6x, and single-threaded, paying sched_getcpu and the extra lines, at
 * 0.8-0.97x.
 *
 * rwlock-biased is rwlock with a bias flag (BRAVO: Dice and Kogan, USENIX
 * ATC 2019) over rwlock-percpu's slots.  With the bias on, a reader adds
 * itself to its CPU's slot and loads the bias again: still on, it is inside
 * without touching the state word; turned off meanwhile, it leaves the slot
 * and reads as rwlock does.  A writer takes WRITER as rwlock does -- that
 * excludes the readers that went by the state word -- and, finding the bias
 * on, turns it off, waits for the slots to drain as rwlock-percpu's writer
 * does, and keeps the bias off for as long again as that took (a tick
 * count, not a time: TSC).  A reader inside by the state word turns the
 * bias back on once that has passed; no writer can be inside then.  So a
 * read-mostly lock reads as rwlock-percpu does, and a write-heavy one pays
 * rwlock's price plus a clock read in eight reads, without every write
 * reading every CPU's line.
 *
 * Ordering: every change to the state word is a read-modify-write, so each
 * unlock heads a release sequence that every later acquire on the word
 * continues.  read_lock's fetch_add (or CAS) is acquire and pairs with the
 * release CAS of write_unlock: the last writer's section happens-before the
 * reader's.  write_lock's CAS is acquire and pairs with the release CAS of
 * write_unlock and with the release fetch_sub of every read_unlock: all
 * earlier readers' sections and the last writer's happen-before the writer's.
 * The futex calls order nothing themselves; the wake word's bump (release)
 * and the sleeper's load of it (acquire) order the waker's state change
 * before the sleeper's re-check.
 *
 * rwlock-percpu adds two store-load pairs, all four accesses seq_cst.  A
 * reader's slot add and state load against a writer's WRITER CAS and slot
 * loads: of a reader entering and a writer taking WRITER at least one sees
 * the other (the reader backs out, or the writer waits for it).  A reader's
 * slot subtraction and state load against a writer's setting DSLEEP and
 * re-reading the slot: a writer never sleeps on a slot whose last reader
 * missed DSLEEP.  Every change to a slot is a read-modify-write: the
 * writer's load that reads a slot empty acquires from every reader that
 * left by it, so their sections happen-before the writer's, and a reader's
 * seq_cst load of the state continues write_unlock's release sequence, so
 * the last writer's section happens-before the reader's.  The drain word's
 * bump and load order as the wake word's do.
 *
 * rwlock-biased adds one store-load pair, seq_cst: a reader's slot add and
 * bias load against a writer's bias store (off) and slot loads; of the two,
 * one sees the other.  A reader that enters by the bias read the 1 that a
 * reader inside by the state word stored (release): the writers that one
 * followed happen-before this one's section.  The writer's relaxed load of
 * the bias follows its WRITER CAS, which acquired the read_unlock of
 * whoever stored the 1.  tests/model/rw_biased.py checks the hand-shake.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <ck_rwlock.h>

#include "primitives/futex.h"
#include "primitives/prim.h"
#include "util/clock.h"
#include "util/tsan.h"
#include "util/atomics.h"

#define RW_WRITER 0x1u
#define RW_RSLEEP 0x2u
#define RW_WSLEEP 0x4u
#define RW_DSLEEP 0x8u
#define RW_WWAIT 0x10u          /* one waiting writer */
#define RW_WWAIT_MASK 0x1fff0u
#define RW_READER 0x20000u      /* one reader */
#define RW_READER_MASK 0xfffe0000u
#define RW_MAX_THREADS 8191u    /* the waiting-writer field's capacity */

/* rwlock-percpu: one reader slot per CPU up to this many; CPUs beyond it
 * share (CPU number modulo the slots). */
#define RW_MAX_SLOTS 64

/* Reads of the state before a waiter sleeps, with the pause between reads
 * doubling up to RW_SPIN_PAUSE_MAX: about 1500 pauses in all, enough to
 * outlast a short section or a writer's hand-over.  It pays with more
 * threads than CPUs too: sleeping at once instead ran at 0.46-0.77 of this
 * with 200 ns sections at 4 and 16 threads on a 2-vCPU KVM guest (90% and
 * 99% reads), and gained nothing sure with empty ones (0.94-1.31).  Only
 * with reader preference as well did sleeping at once beat pthread-rwlock's
 * oversubscribed empty sections (1.10-1.19 at 4 threads, 90% reads): its
 * writers sleep behind the readers and leave a PU idle. */
#define RW_SPIN_READS 100
#define RW_SPIN_PAUSE_MAX 16

/* Reads a writer spends waiting for the readers inside to leave on their
 * own before it counts itself waiting and so shuts new readers out: short
 * read sections often drain within it, and then no reader had to back out
 * and wait (with 4 and 16 threads at 90% reads on a 2-vCPU KVM guest this
 * raised the throughput by a third or more). */
#define RW_POLITE_READS 16

/* What a thread did, as the descriptors' events name it. */
struct rw_tctx {
	uint64_t sleeps;   /* FUTEX_WAITs that slept, readers' and writers' */
	uint64_t wakes;    /* FUTEX_WAKE calls its releases made */
	uint64_t backouts; /* read_locks that found a writer and backed out */
	uint64_t revocations; /* rwlock-biased: writes that turned bias off */
	unsigned slot;     /* rwlock-percpu, -biased: the current read's slot */
	unsigned slow_reads; /* rwlock-biased: reads by the state word */
};

struct sl_rwlock {
	alignas(SL_CACHELINE) _Atomic uint32_t state;
	/* Writers sleep here; bumped by every writer wake-up.  Its own line:
	 * a bump must not take the state word's line from the readers. */
	alignas(SL_CACHELINE) _Atomic uint32_t wake;
};

static int rw_init(void *obj, const struct sl_prim_conf *conf,
		   struct sl_err *err)
{
	struct sl_rwlock *l = obj;

	if (conf->nthreads > RW_MAX_THREADS)
		return sl_err_set(err, -EINVAL,
				  "%u threads: at most %u can wait for one instance",
				  conf->nthreads, RW_MAX_THREADS);
	atomic_init(&l->state, 0);
	atomic_init(&l->wake, 0);
	return 0;
}

struct rw_slot {
	alignas(SL_SLOT_ALIGN) _Atomic uint32_t readers;
};

struct sl_rwlock_percpu {
	struct sl_rwlock rw;
	/* Writers waiting for readers to leave sleep here; bumped by whoever
	 * clears DSLEEP.  nslots beside it: read by every reader, written
	 * once, before the threads start. */
	alignas(SL_CACHELINE) _Atomic uint32_t drain;
	unsigned nslots;
	struct rw_slot slot[RW_MAX_SLOTS];
};

static int rwp_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct sl_rwlock_percpu *l = obj;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	int rc = rw_init(&l->rw, conf, err);

	if (rc)
		return rc;
	atomic_init(&l->drain, 0);
	l->nslots = cpus < 1 ? 1 : cpus > RW_MAX_SLOTS ? RW_MAX_SLOTS : (unsigned)cpus;
	for (unsigned i = 0; i < RW_MAX_SLOTS; i++)
		atomic_init(&l->slot[i].readers, 0);
	return 0;
}

static inline void rw_pause(unsigned *pause)
{
	for (unsigned k = 0; k < *pause; k++)
		sl_cpu_relax();
	if (*pause < RW_SPIN_PAUSE_MAX)
		*pause <<= 1;
}

static void rw_wake_writer(struct sl_rwlock *l, struct rw_tctx *t)
{
	/* release: the waker's state change happens-before the woken writer's
	 * re-check (pairs with the acquire load of wake in write_lock) */
	atomic_fetch_add_explicit(&l->wake, 1, memory_order_release);
	t->wakes++;
	sl_futex_wake(&l->wake, 1);
}

/* A reader leaves (or backs out).  The last one out, with no writer holding
 * the lock and one asleep, wakes a writer. */
static inline void rw_read_release(struct sl_rwlock *l, struct rw_tctx *t)
{
	/* release: this reader's section happens-before the next writer's
	 * (pairs with the acquire CAS in write_lock) */
	uint32_t s = atomic_fetch_sub_explicit(&l->state, RW_READER,
					       memory_order_release) - RW_READER;

	if (__builtin_expect((s & (RW_READER_MASK | RW_WRITER | RW_WSLEEP)) ==
				     RW_WSLEEP, 0)) {
		/* Claim the wake: whoever clears WSLEEP wakes one writer. */
		while ((s & (RW_READER_MASK | RW_WRITER | RW_WSLEEP)) == RW_WSLEEP) {
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s & ~RW_WSLEEP,
				    memory_order_relaxed, memory_order_relaxed)) {
				if (s & RW_WWAIT_MASK)
					rw_wake_writer(l, t);
				return;
			}
		}
		/* A reader came in or a writer took the lock: their release
		 * will find WSLEEP still set. */
	}
}

/* Wait until the state admits readers: with enter, come in by CAS; without
 * (rwlock-percpu), return and let the caller come in by its slot. */
static void rw_read_wait(struct sl_rwlock *l, struct rw_tctx *t,
			 uint32_t blocked, bool enter)
{
	unsigned pause = 1;
	uint32_t s;

	for (int i = 0; i < RW_SPIN_READS; i++) {
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
		/* A failed CAS while still admitted means another reader came
		 * in: retry at once, readers share. */
		while (!(s & blocked)) {
			if (!enter)
				return;
			/* acquire: pairs with the release CAS in write_unlock */
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s + RW_READER,
				    memory_order_acquire, memory_order_relaxed))
				return;
		}
		rw_pause(&pause);
	}
	s = atomic_load_explicit(&l->state, memory_order_relaxed);
	for (;;) {
		if (!(s & blocked)) {
			if (!enter)
				return;
			/* acquire: pairs with the release CAS in write_unlock */
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s + RW_READER,
				    memory_order_acquire, memory_order_relaxed))
				return;
			continue;
		}
		if (!(s & RW_RSLEEP)) {
			if (!atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s | RW_RSLEEP,
				    memory_order_relaxed, memory_order_relaxed))
				continue;
			s |= RW_RSLEEP;
		}
		/* Sleeps only while the word still reads s: a write_unlock
		 * after our CAS changes it and finds RSLEEP. */
		if (sl_futex_wait(&l->state, s))
			t->sleeps++;
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
	}
}

static inline void rw_read_lock(struct sl_rwlock *l, struct rw_tctx *t,
				bool prefer_writers)
{
	const uint32_t blocked = prefer_writers ? RW_WRITER | RW_WWAIT_MASK
						: RW_WRITER;
	/* acquire: pairs with the release CAS in write_unlock */
	uint32_t s = atomic_fetch_add_explicit(&l->state, RW_READER,
					       memory_order_acquire);

	if (__builtin_expect(!(s & blocked), 1))
		return;
	t->backouts++;
	rw_read_release(l, t);
	rw_read_wait(l, t, blocked, true);
}

/* The state after a waiting writer takes the lock from s.  WSLEEP stays
 * only while writers still wait; a writer that slept sets it again, since
 * others may still sleep unseen. */
static inline uint32_t rw_take(uint32_t s, bool slept)
{
	uint32_t n = (s - RW_WWAIT) | RW_WRITER;

	if (!(n & RW_WWAIT_MASK))
		return n & ~RW_WSLEEP;
	return slept ? n | RW_WSLEEP : n;
}

static void rw_write_wait(struct sl_rwlock *l, struct rw_tctx *t)
{
	unsigned pause = 1;
	bool slept = false;
	uint32_t s;

	for (int i = 0; i < RW_POLITE_READS; i++) {
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
		/* acquire: pairs with the release of write_unlock and of every
		 * read_unlock (all RMWs of one release sequence); seq_cst:
		 * rwlock-percpu's pair with read_lock */
		if (!(s & (RW_WRITER | RW_READER_MASK)) &&
		    atomic_compare_exchange_weak_explicit(&l->state, &s,
							  s | RW_WRITER,
							  memory_order_seq_cst,
							  memory_order_relaxed))
			return;
		rw_pause(&pause);
	}
	/* From here on, a writer-preferring lock admits no new reader. */
	s = atomic_fetch_add_explicit(&l->state, RW_WWAIT,
				      memory_order_relaxed) + RW_WWAIT;
	pause = 1;
	for (int i = 0; i < RW_SPIN_READS; i++) {
		/* acquire and seq_cst: as above */
		if (!(s & (RW_WRITER | RW_READER_MASK)) &&
		    atomic_compare_exchange_weak_explicit(&l->state, &s,
							  rw_take(s, false),
							  memory_order_seq_cst,
							  memory_order_relaxed))
			return;
		rw_pause(&pause);
		s = atomic_load_explicit(&l->state, memory_order_relaxed);
	}
	for (;;) {
		/* acquire: pairs with the release bump in rw_wake_writer, so the
		 * state read below is at least the one the waker left */
		uint32_t seq = atomic_load_explicit(&l->wake, memory_order_acquire);

		s = atomic_load_explicit(&l->state, memory_order_relaxed);
		for (;;) {
			if (!(s & (RW_WRITER | RW_READER_MASK))) {
				/* acquire and seq_cst: as above */
				if (atomic_compare_exchange_weak_explicit(
					    &l->state, &s, rw_take(s, slept),
					    memory_order_seq_cst,
					    memory_order_relaxed))
					return;
				continue;
			}
			if (s & RW_WSLEEP)
				break;
			if (atomic_compare_exchange_weak_explicit(
				    &l->state, &s, s | RW_WSLEEP,
				    memory_order_relaxed, memory_order_relaxed))
				break;
		}
		/* WSLEEP is set in a state that excludes us: the release that
		 * lets us in finds it, and bumps wake after we read seq. */
		if (sl_futex_wait(&l->wake, seq))
			t->sleeps++;
		slept = true;
	}
}

static inline void rw_write_lock(struct sl_rwlock *l, struct rw_tctx *t)
{
	uint32_t s = 0;

	/* acquire: pairs with the release of write_unlock and read_unlock;
	 * seq_cst: rwlock-percpu's pair with read_lock */
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &l->state, &s, RW_WRITER,
				     memory_order_seq_cst, memory_order_relaxed), 1))
		return;
	rw_write_wait(l, t);
}

static void rw_write_unlock_slow(struct sl_rwlock *l, struct rw_tctx *t,
				 uint32_t s, bool prefer_writers)
{
	bool wake_readers, wake_writer;
	uint32_t n;

	do {
		bool writers = s & RW_WWAIT_MASK;

		n = s & ~RW_WRITER;
		wake_readers = (s & RW_RSLEEP) && !(prefer_writers && writers);
		/* Readers inside now are backing out; the last of them wakes
		 * the writer. */
		wake_writer = writers && (s & RW_WSLEEP) && !(s & RW_READER_MASK);
		if (wake_readers)
			n &= ~RW_RSLEEP;
		if (wake_writer || !writers)
			n &= ~RW_WSLEEP;
		/* release: this writer's section happens-before the next
		 * reader's and writer's (pairs with their acquires) */
	} while (!atomic_compare_exchange_weak_explicit(&l->state, &s, n,
							memory_order_release,
							memory_order_relaxed));
	if (wake_writer)
		rw_wake_writer(l, t);
	if (wake_readers) {
		t->wakes++;
		sl_futex_wake(&l->state, INT_MAX);
	}
}

static inline void rw_write_unlock(struct sl_rwlock *l, struct rw_tctx *t,
				   bool prefer_writers)
{
	uint32_t s = RW_WRITER;

	/* release: pairs with the acquires of read_lock and write_lock */
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &l->state, &s, 0, memory_order_release,
				     memory_order_relaxed), 1))
		return;
	rw_write_unlock_slow(l, t, s, prefer_writers);
}

static int rw_check(void *obj, struct sl_err *err)
{
	struct sl_rwlock *l = obj;
	uint32_t s = atomic_load_explicit(&l->state, memory_order_relaxed);

	if (s)
		return sl_err_set(err, -EPROTO,
				  "rwlock state is 0x%08x after every thread stopped (%u readers inside, writer %s, %u writers waiting, sleep bits %u%u; expected 0)",
				  s, s / RW_READER, s & RW_WRITER ? "inside" : "out",
				  (s & RW_WWAIT_MASK) / RW_WWAIT,
				  !!(s & RW_RSLEEP), !!(s & RW_WSLEEP));
	return 0;
}

/* --- rwlock-percpu: a reader count per CPU -------------------------------- */

/* The slot of the CPU the caller runs on now. */
static inline unsigned rwp_my_slot(const struct sl_rwlock_percpu *l)
{
	int cpu = sched_getcpu();

	return cpu > 0 ? (unsigned)cpu % l->nslots : 0;
}

/* Clear DSLEEP (read in s); whoever clears it wakes the draining writer. */
static void rwp_wake_drainer(struct sl_rwlock_percpu *l, struct rw_tctx *t,
			     uint32_t s)
{
	while (s & RW_DSLEEP)
		if (atomic_compare_exchange_weak_explicit(&l->rw.state, &s,
							  s & ~RW_DSLEEP,
							  memory_order_relaxed,
							  memory_order_relaxed)) {
			/* release: pairs with the acquire load of drain in
			 * rwp_drain_slot, as the wake word's bump does */
			atomic_fetch_add_explicit(&l->drain, 1, memory_order_release);
			t->wakes++;
			sl_futex_wake(&l->drain, 1);
			return;
		}
}

/* A reader leaves slot i (or backs out of it). */
static inline void rwp_leave(struct sl_rwlock_percpu *l, struct rw_tctx *t,
			     unsigned i)
{
	/* seq_cst, with the state load below: the reader's side of the DSLEEP
	 * pair; release: this reader's section happens-before the writer's
	 * that reads the slot empty */
	uint32_t left = atomic_fetch_sub_explicit(&l->slot[i].readers, 1,
						  memory_order_seq_cst) - 1;
	uint32_t s = atomic_load_explicit(&l->rw.state, memory_order_seq_cst);

	if (__builtin_expect((s & RW_DSLEEP) && left == 0, 0))
		rwp_wake_drainer(l, t, s);
}

static void rwp_read_lock(void *obj, void *tctx)
{
	const uint32_t blocked = RW_WRITER | RW_WWAIT_MASK;
	struct sl_rwlock_percpu *l = obj;
	struct rw_tctx *t = tctx;

	for (;;) {
		unsigned i = rwp_my_slot(l);

		/* A writer seen before the slot is touched costs no back-out
		 * and leaves the slot's line to the writer. */
		if (atomic_load_explicit(&l->rw.state, memory_order_relaxed) &
		    blocked) {
			rw_read_wait(&l->rw, t, blocked, false);
			continue;
		}
		/* seq_cst, with the state load below: the reader's side of the
		 * pair with write_lock's WRITER CAS and slot loads */
		atomic_fetch_add_explicit(&l->slot[i].readers, 1,
					  memory_order_seq_cst);
		/* (acquire, as every seq_cst load: continues write_unlock's
		 * release sequence) */
		if (__builtin_expect(!(atomic_load_explicit(&l->rw.state,
							    memory_order_seq_cst) &
				       blocked), 1)) {
			t->slot = i;
			return;
		}
		t->backouts++;
		rwp_leave(l, t, i);
		rw_read_wait(&l->rw, t, blocked, false);
	}
}

static void rwp_read_unlock(void *obj, void *tctx)
{
	struct rw_tctx *t = tctx;

	rwp_leave(obj, t, t->slot);
}

/* Does slot i hold a reader?  seq_cst: the writer's side of both pairs;
 * acquire: a slot read empty makes its readers' sections happen-before. */
static inline bool rwp_slot_taken(struct sl_rwlock_percpu *l, unsigned i)
{
	return atomic_load_explicit(&l->slot[i].readers, memory_order_seq_cst);
}

/* Wait until slot i is empty: spin, then sleep on the drain word. */
static void rwp_drain_slot(struct sl_rwlock_percpu *l, struct rw_tctx *t,
			   unsigned i)
{
	unsigned pause = 1;

	for (int r = 0; r < RW_SPIN_READS; r++) {
		if (!rwp_slot_taken(l, i))
			return;
		rw_pause(&pause);
	}
	for (;;) {
		/* acquire: pairs with the release bump in rwp_wake_drainer */
		uint32_t seq = atomic_load_explicit(&l->drain, memory_order_acquire);

		/* seq_cst, with the slot load below: the writer's side of the
		 * DSLEEP pair */
		atomic_fetch_or_explicit(&l->rw.state, RW_DSLEEP,
					 memory_order_seq_cst);
		if (!rwp_slot_taken(l, i))
			return;
		if (sl_futex_wait(&l->drain, seq))
			t->sleeps++;
		if (!rwp_slot_taken(l, i))
			return;
	}
}

/* The holder of WRITER waits until every slot is empty. */
static void rwp_drain_all(struct sl_rwlock_percpu *l, struct rw_tctx *t)
{
	bool waited = false;

	for (unsigned i = 0; i < l->nslots; i++)
		if (rwp_slot_taken(l, i)) {
			rwp_drain_slot(l, t, i);
			waited = true;
		}
	/* The holder of WRITER is the only drainer: it drops the DSLEEP it
	 * may have left. */
	if (waited)
		atomic_fetch_and_explicit(&l->rw.state, ~RW_DSLEEP,
					  memory_order_relaxed);
}

/* Take WRITER (writer against writer: the state counts no readers), then
 * wait for the readers inside to leave; new ones stay out meanwhile. */
static void rwp_write_lock(void *obj, void *tctx)
{
	struct sl_rwlock_percpu *l = obj;

	rw_write_lock(&l->rw, tctx);
	rwp_drain_all(l, tctx);
}

static int rwp_check(void *obj, struct sl_err *err)
{
	struct sl_rwlock_percpu *l = obj;
	int rc = rw_check(&l->rw, err);

	for (unsigned i = 0; !rc && i < l->nslots; i++) {
		uint32_t r = atomic_load_explicit(&l->slot[i].readers,
						  memory_order_relaxed);

		if (r)
			rc = sl_err_set(err, -EPROTO,
					"reader slot %u (of one per CPU) counts %u readers after every thread stopped (expected 0)",
					i, r);
	}
	return rc;
}

/* --- rwlock-biased: per-CPU readers while writes stay rare ---------------- */

/* The read that went by the state word, not by a slot. */
#define RWB_CENTRAL UINT_MAX

/* After a revocation that took R ticks, readers stay on the state word for
 * RWB_INHIBIT_MULT * R: revocations then take at most 1/(1+mult) of the
 * time however often writers come.  BRAVO's 9 kept the bias off nearly
 * throughout on a 2-vCPU KVM guest with empty sections (90% reads: 0.86-0.89
 * of rwlock's rate at 2 and 16 threads; 99%: 2.2x rwlock, where 1 gave
 * 3.4-3.5x; 0, no inhibition, measured as 1).  Skipping the inhibition
 * when the writer found every slot empty ran alone at 0.81-0.85 of rwlock
 * against 0.75-0.81, but at 0.72-0.76 with 50% reads (0.88-0.94) and
 * 0.88-0.98 with 90% (0.99-1.05): under rwlock, so every revocation waits. */
#define RWB_INHIBIT_MULT 1

/* A thread reading by the state word looks at the clock on one read in
 * this many, as the clock costs about as much as the read.  Same guest, 99%
 * reads, 2-16 threads and alone: with 4, 3.8x rwlock's rate and 0.70-0.79;
 * with 16, 3.4x and 0.85-0.88; with 8 (kept), 3.0-4.3x and 0.76-0.81. */
#define RWB_CLOCK_EVERY 8

struct sl_rwlock_biased {
	struct sl_rwlock_percpu p;
	/* Read by every reader, written at each revocation and restoration:
	 * a line of its own, apart from the slots and the state word. */
	alignas(SL_SLOT_ALIGN) _Atomic uint32_t bias;
	_Atomic uint64_t inhibit_until; /* sl_ticks(): no bias before this */
};

static int rwb_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	struct sl_rwlock_biased *l = obj;
	int rc = rwp_init(&l->p, conf, err);

	if (rc)
		return rc;
	atomic_init(&l->bias, 1);
	atomic_init(&l->inhibit_until, 0);
	return 0;
}

static void rwb_read_lock(void *obj, void *tctx)
{
	struct sl_rwlock_biased *l = obj;
	struct rw_tctx *t = tctx;

	if (atomic_load_explicit(&l->bias, memory_order_relaxed)) {
		unsigned i = rwp_my_slot(&l->p);

		/* seq_cst, with the bias load below: the reader's side of the
		 * pair with the revoking writer's bias store and slot loads */
		atomic_fetch_add_explicit(&l->p.slot[i].readers, 1,
					  memory_order_seq_cst);
		/* acquire (as every seq_cst load): reading the 1 a reader
		 * stored, this read follows the writer that reader followed */
		if (__builtin_expect(atomic_load_explicit(&l->bias,
							  memory_order_seq_cst), 1)) {
			t->slot = i;
			return;
		}
		t->backouts++;
		rwp_leave(&l->p, t, i);
	}
	rw_read_lock(&l->p.rw, t, true);
	t->slot = RWB_CENTRAL;
	/* Inside by the state word, no writer can be: restore the bias once
	 * the inhibition has passed.  release: the writers this reader
	 * follows happen-before every reader that enters by the 1. */
	if (!(++t->slow_reads % RWB_CLOCK_EVERY) &&
	    !atomic_load_explicit(&l->bias, memory_order_relaxed) &&
	    sl_ticks() >= atomic_load_explicit(&l->inhibit_until,
					       memory_order_relaxed))
		atomic_store_explicit(&l->bias, 1, memory_order_release);
}

static void rwb_read_unlock(void *obj, void *tctx)
{
	struct sl_rwlock_biased *l = obj;
	struct rw_tctx *t = tctx;

	if (t->slot == RWB_CENTRAL)
		rw_read_release(&l->p.rw, t);
	else
		rwp_leave(&l->p, t, t->slot);
}

/* Take WRITER as rwlock does; with the bias on, turn it off, wait for the
 * readers in the slots to leave and keep the bias off for a while. */
static void rwb_write_lock(void *obj, void *tctx)
{
	struct sl_rwlock_biased *l = obj;
	struct rw_tctx *t = tctx;
	uint64_t t0, t1;

	rw_write_lock(&l->p.rw, t);
	/* relaxed: a 1 stored by a reader inside before us was released by
	 * its read_unlock, which our WRITER CAS acquired */
	if (!atomic_load_explicit(&l->bias, memory_order_relaxed))
		return;
	t0 = sl_ticks();
	/* seq_cst, with the slot loads: the writer's side of the pair */
	atomic_store_explicit(&l->bias, 0, memory_order_seq_cst);
	rwp_drain_all(&l->p, t);
	t1 = sl_ticks();
	atomic_store_explicit(&l->inhibit_until,
			      t1 + RWB_INHIBIT_MULT * (t1 > t0 ? t1 - t0 : 0),
			      memory_order_relaxed);
	t->revocations++;
}

/* The descriptors' ops: the preference is a constant in each. */
static void wpref_read_lock(void *obj, void *tctx)
{
	rw_read_lock(obj, tctx, true);
}

static void rpref_read_lock(void *obj, void *tctx)
{
	rw_read_lock(obj, tctx, false);
}

static void rw_read_unlock(void *obj, void *tctx)
{
	rw_read_release(obj, tctx);
}

static void any_write_lock(void *obj, void *tctx)
{
	rw_write_lock(obj, tctx);
}

static void wpref_write_unlock(void *obj, void *tctx)
{
	rw_write_unlock(obj, tctx, true);
}

static void rpref_write_unlock(void *obj, void *tctx)
{
	rw_write_unlock(obj, tctx, false);
}

static void rw_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct rw_tctx *t = tctx;

	out[0] = t->sleeps;
	out[1] = t->wakes;
	out[2] = t->backouts;
}

const struct sl_prim sl_prim_rwlock = {
	.name = "rwlock",
	.family = "rwlock",
	.kind = SL_KIND_RWLOCK,
	.summary = "futex rwlock, writer-preferring: one RMW per side when uncontended; spins, then sleeps",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_rwlock),
	.tctx_size = sizeof(struct rw_tctx),
	.init = rw_init,
	.rw = { .read_lock = wpref_read_lock, .read_unlock = rw_read_unlock,
		.write_lock = any_write_lock, .write_unlock = wpref_write_unlock },
	.check = rw_check,
	.event_names = { "sleeps", "wakes", "backouts" },
	.events = rw_events,
};

const struct sl_prim sl_prim_rwlock_rpref = {
	.name = "rwlock-rpref",
	.family = "rwlock",
	.kind = SL_KIND_RWLOCK,
	.summary = "the futex rwlock, reader-preferring: readers never wait for waiting writers (writers can starve)",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_rwlock),
	.tctx_size = sizeof(struct rw_tctx),
	.init = rw_init,
	.rw = { .read_lock = rpref_read_lock, .read_unlock = rw_read_unlock,
		.write_lock = any_write_lock, .write_unlock = rpref_write_unlock },
	.check = rw_check,
	.event_names = { "sleeps", "wakes", "backouts" },
	.events = rw_events,
};

const struct sl_prim sl_prim_rwlock_percpu = {
	.name = "rwlock-percpu",
	.family = "rwlock",
	.kind = SL_KIND_RWLOCK,
	.summary = "the futex rwlock with a reader count per CPU: reads share no written line; a write reads every CPU's",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_rwlock_percpu),
	.tctx_size = sizeof(struct rw_tctx),
	.init = rwp_init,
	.rw = { .read_lock = rwp_read_lock, .read_unlock = rwp_read_unlock,
		.write_lock = rwp_write_lock, .write_unlock = wpref_write_unlock },
	.check = rwp_check,
	.event_names = { "sleeps", "wakes", "backouts" },
	.events = rw_events,
};

static void rwb_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	const struct rw_tctx *t = tctx;

	rw_events(tctx, out);
	out[3] = t->revocations;
}

const struct sl_prim sl_prim_rwlock_biased = {
	.name = "rwlock-biased",
	.family = "rwlock",
	.kind = SL_KIND_RWLOCK,
	.summary = "the futex rwlock, readers counted per CPU while writes are rare; a writer turns that off for a while",
	.flags = SL_PRIM_SLEEPS,
	.obj_size = sizeof(struct sl_rwlock_biased),
	.tctx_size = sizeof(struct rw_tctx),
	.init = rwb_init,
	.rw = { .read_lock = rwb_read_lock, .read_unlock = rwb_read_unlock,
		.write_lock = rwb_write_lock, .write_unlock = wpref_write_unlock },
	.check = rwp_check,
	.event_names = { "sleeps", "wakes", "backouts", "revocations" },
	.events = rwb_events,
};

/* --- glibc ---------------------------------------------------------------- */

static int prw_init_kind(void *obj, int kind, struct sl_err *err)
{
	pthread_rwlockattr_t attr;
	int rc = pthread_rwlockattr_init(&attr);

	if (rc)
		return sl_err_set(err, -rc, "pthread_rwlockattr_init: %s", strerror(rc));
	rc = pthread_rwlockattr_setkind_np(&attr, kind);
	if (!rc)
		rc = pthread_rwlock_init(obj, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (rc)
		return sl_err_set(err, -rc, "pthread_rwlock_init: %s", strerror(rc));
	return 0;
}

static int prw_init(void *obj, const struct sl_prim_conf *conf,
		    struct sl_err *err)
{
	(void)conf;
	return prw_init_kind(obj, PTHREAD_RWLOCK_DEFAULT_NP, err);
}

static int prw_wpref_init(void *obj, const struct sl_prim_conf *conf,
			  struct sl_err *err)
{
	(void)conf;
	return prw_init_kind(obj, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, err);
}

static void prw_destroy(void *obj)
{
	pthread_rwlock_destroy(obj);
}

static void prw_read_lock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_rwlock_rdlock(obj);
}

static void prw_write_lock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_rwlock_wrlock(obj);
}

static void prw_unlock(void *obj, void *tctx)
{
	(void)tctx;
	pthread_rwlock_unlock(obj);
}

static int prw_check(void *obj, struct sl_err *err)
{
	int rc = pthread_rwlock_trywrlock(obj);

	if (rc)
		return sl_err_set(err, -EPROTO,
				  "the rwlock is still held after every thread stopped");
	pthread_rwlock_unlock(obj);
	return 0;
}

const struct sl_prim sl_prim_pthread_rwlock = {
	.name = "pthread-rwlock",
	.family = "baseline",
	.kind = SL_KIND_RWLOCK,
	.summary = "glibc's default pthread rwlock (reader-preferring; the baseline every rwlock is read against)",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_rwlock_t),
	.init = prw_init,
	.destroy = prw_destroy,
	.rw = { .read_lock = prw_read_lock, .read_unlock = prw_unlock,
		.write_lock = prw_write_lock, .write_unlock = prw_unlock },
	.check = prw_check,
};

const struct sl_prim sl_prim_pthread_rwlock_wpref = {
	.name = "pthread-rwlock-wpref",
	.family = "baseline",
	.kind = SL_KIND_RWLOCK,
	.summary = "glibc's writer-preferring pthread rwlock (PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP), the peer of rwlock",
	.flags = SL_PRIM_SLEEPS | SL_PRIM_BASELINE,
	.obj_size = sizeof(pthread_rwlock_t),
	.init = prw_wpref_init,
	.destroy = prw_destroy,
	.rw = { .read_lock = prw_read_lock, .read_unlock = prw_unlock,
		.write_lock = prw_write_lock, .write_unlock = prw_unlock },
	.check = prw_check,
};

/* --- Concurrency Kit ------------------------------------------------------ */

/*
 * ck_rwlock's operations are inline assembly, which ThreadSanitizer cannot
 * see; under it the wrappers state the lock's happens-before edges
 * themselves (a release joins the releasing thread's history into the
 * lock's, an acquire takes all of it), so the tests' plain protected data is
 * judged against the lock's real ordering.  No effect in other builds.
 */
static int ckrw_init(void *obj, const struct sl_prim_conf *conf,
		     struct sl_err *err)
{
	(void)conf;
	(void)err;
	ck_rwlock_init(obj);
	return 0;
}

static void ckrw_read_lock(void *obj, void *tctx)
{
	(void)tctx;
	ck_rwlock_read_lock(obj);
	sl_tsan_acquire(obj);
}

static void ckrw_read_unlock(void *obj, void *tctx)
{
	(void)tctx;
	sl_tsan_release(obj);
	ck_rwlock_read_unlock(obj);
}

static void ckrw_write_lock(void *obj, void *tctx)
{
	(void)tctx;
	ck_rwlock_write_lock(obj);
	sl_tsan_acquire(obj);
}

static void ckrw_write_unlock(void *obj, void *tctx)
{
	(void)tctx;
	sl_tsan_release(obj);
	ck_rwlock_write_unlock(obj);
}

static int ckrw_check(void *obj, struct sl_err *err)
{
	if (ck_rwlock_locked(obj))
		return sl_err_set(err, -EPROTO,
				  "ck_rwlock is still held (writer or readers) after every thread stopped");
	return 0;
}

const struct sl_prim sl_prim_ck_rwlock = {
	.name = "ck-rwlock",
	.family = "baseline",
	.kind = SL_KIND_RWLOCK,
	.summary = "Concurrency Kit's ck_rwlock: a writer flag and a reader count; spins, never sleeps",
	.flags = SL_PRIM_BASELINE,
	.obj_size = sizeof(ck_rwlock_t),
	.init = ckrw_init,
	.rw = { .read_lock = ckrw_read_lock, .read_unlock = ckrw_read_unlock,
		.write_lock = ckrw_write_lock, .write_unlock = ckrw_write_unlock },
	.check = ckrw_check,
};
