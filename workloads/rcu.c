/*
 * The rcu shape: readers and updaters of one RCU-protected pointer, with the
 * read/update mix of the rw shape (workloads/rw.c): with --writers W the
 * first W threads only update and the others only read; with W = 0 every
 * thread reads with probability --read-pct and updates otherwise.  An op is
 * one read or one update; both count.
 *
 * The pointer leads to a record of 1 + --cs-lines cache lines: the
 * primitive's reclaim space (SL_RCU_RECLAIM_BYTES, see prim.h), a state word
 * (FILLING, LIVE, POISONED), the run's data, and the record's serial number
 * in every other word.
 *   A reader: read_lock; load-acquire the pointer; check the record is LIVE
 * and whole; spend --cs-ns inside; check the state and serial again;
 * read_unlock; then announce a quiescent state (QSBR flavours).
 *   An updater: allocate and fill a new record (--cs-ns of work before it
 * publishes), exchange it into the pointer, and hand the old one to
 * defer_free with a function that poisons it (state POISONED, every word
 * scrambled) and frees it -- or, for a primitive without defer_free,
 * synchronize, poison and free.  Then a quiescent state too: a QSBR updater
 * that never announced one would hold up every grace period.
 *
 * What is checked: a reader that finds its record POISONED, FILLING, or with
 * a word that is not the serial has used a record after the primitive let it
 * be freed (a grace period that ended too early).  The poisoning makes the
 * window visible without a sanitizer; under AddressSanitizer the free itself
 * is caught.  After the run, every record allocated was freed but the live
 * one: each thread that updated called barrier before returning (its
 * callbacks have all run) and no callback is left for teardown.
 *
 * Record words are relaxed atomics, as in the lock and rw shapes: plain
 * loads and stores on mainstream CPUs, and a broken primitive yields a
 * poisoned or torn record instead of undefined behaviour.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/workload.h"

#define RCU_WORDS (SL_CACHELINE / sizeof(uint64_t))
/* Serial-number words in the first line, after the header. */
#define RCU_HEAD_WORDS (RCU_WORDS - SL_RCU_RECLAIM_BYTES / sizeof(uint64_t) - 2)

/* Record states: unlikely values, so that reused memory does not pass. */
#define REC_FILLING 0x46494c4c494e4721ull
#define REC_LIVE 0x4c4956455245432eull
#define REC_POISONED 0xdeadbeefdeadbeefull
/* XORed into every serial word when a record is freed. */
#define POISON_MASK 0xa5a5a5a5a5a5a5a5ull

struct rcu_data;

struct rcu_rec_line {
	alignas(SL_CACHELINE) _Atomic uint64_t word[RCU_WORDS];
};

struct rcu_record {
	/* The primitive's, from defer_free until it calls the free function. */
	alignas(SL_CACHELINE) void *reclaim_space[SL_RCU_RECLAIM_BYTES / sizeof(void *)];
	_Atomic uint64_t state;
	struct rcu_data *data; /* the run it belongs to: counts its free */
	_Atomic uint64_t word[RCU_HEAD_WORDS];
	struct rcu_rec_line line[]; /* cs_lines more lines of serials */
};
_Static_assert(sizeof(struct rcu_record) == SL_CACHELINE,
	       "the record's header is one cache line");

struct rcu_data {
	/* The RCU-protected pointer: loaded by every read, exchanged by every
	 * update. */
	alignas(SL_SLOT_ALIGN) _Atomic(struct rcu_record *) shared;
	/* Updaters only: the serial source and allocation count. */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t allocs;
	/* Whoever runs the free function (an updater, liburcu's thread). */
	alignas(SL_SLOT_ALIGN) _Atomic uint64_t frees;
	unsigned lines;  /* 1 + cs_lines */
	size_t rec_size;
};

static inline uint64_t load(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static inline void store(_Atomic uint64_t *v, uint64_t x)
{
	atomic_store_explicit(v, x, memory_order_relaxed);
}

/* A filled record, not yet LIVE; NULL when out of memory. */
static struct rcu_record *new_record(struct rcu_data *d)
{
	struct rcu_record *r = aligned_alloc(SL_CACHELINE, d->rec_size);
	uint64_t s;

	if (!r)
		return NULL;
	s = atomic_fetch_add_explicit(&d->allocs, 1, memory_order_relaxed) + 1;
	store(&r->state, REC_FILLING);
	r->data = d;
	for (unsigned w = 0; w < RCU_HEAD_WORDS; w++)
		store(&r->word[w], s);
	for (unsigned i = 0; i + 1 < d->lines; i++)
		for (unsigned w = 0; w < RCU_WORDS; w++)
			store(&r->line[i].word[w], s);
	return r;
}

/* The free function handed to the primitive: poison, count, free. */
static void poison_free(void *p)
{
	struct rcu_record *r = p;
	struct rcu_data *d = r->data;

	store(&r->state, REC_POISONED);
	for (unsigned w = 0; w < RCU_HEAD_WORDS; w++)
		store(&r->word[w], load(&r->word[w]) ^ POISON_MASK);
	for (unsigned i = 0; i + 1 < d->lines; i++)
		for (unsigned w = 0; w < RCU_WORDS; w++)
			store(&r->line[i].word[w],
			      load(&r->line[i].word[w]) ^ POISON_MASK);
	atomic_fetch_add_explicit(&d->frees, 1, memory_order_relaxed);
	free(r);
}

static int rcu_setup(struct sl_run *run, struct sl_err *err)
{
	struct rcu_data *d = aligned_alloc(SL_SLOT_ALIGN, sizeof(*d));
	struct rcu_record *r;

	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	memset(d, 0, sizeof(*d));
	d->lines = 1 + run->pt->cs_lines;
	d->rec_size = (size_t)d->lines * SL_CACHELINE;
	atomic_init(&d->allocs, 0);
	atomic_init(&d->frees, 0);
	r = new_record(d);
	if (!r) {
		size_t size = d->rec_size;

		free(d);
		return sl_err_set(err, -ENOMEM, "out of memory for a %zu-byte record",
				  size);
	}
	store(&r->state, REC_LIVE);
	atomic_init(&d->shared, r);
	run->shape_data = d;
	return 0;
}

static void rcu_teardown(struct sl_run *run)
{
	struct rcu_data *d = run->shape_data;

	/* Every thread is gone: the live record has no reader left. */
	poison_free(atomic_load_explicit(&d->shared, memory_order_relaxed));
	free(d);
	run->shape_data = NULL;
}

static enum sl_role rcu_role_of(const struct sl_run *run, unsigned id)
{
	unsigned writers = run->pt->writers;

	if (writers == 0)
		return SL_ROLE_ANY;
	return id < writers ? SL_ROLE_WRITER : SL_ROLE_READER;
}

/* Say what a reader found wrong with record r (state: the bad state seen). */
static void report_bad_read(struct sl_worker *w, const struct rcu_record *r,
			    const struct rcu_data *d, uint64_t state)
{
	uint64_t s = load(&r->word[0]);

	if (state == REC_POISONED) {
		sl_worker_fail(w,
			       "use after free: thread %u read a record the RCU had already handed to its free function (grace period ended before the read-side section)",
			       w->id);
		return;
	}
	if (state != REC_LIVE) {
		sl_worker_fail(w,
			       "use after free: thread %u read a half-initialised record (state %#" PRIx64
			       "): its memory was freed and reused during the read-side section",
			       w->id, state);
		return;
	}
	for (unsigned i = 0; i < d->lines; i++)
		for (unsigned k = 0; k < RCU_WORDS; k++) {
			const _Atomic uint64_t *v =
				i ? &r->line[i - 1].word[k]
				  : k < RCU_HEAD_WORDS ? &r->word[k] : NULL;

			if (v && load(v) != s) {
				sl_worker_fail(w,
					       "use after free: record #%" PRIu64
					       " changed under thread %u's read-side section (line %u holds %#" PRIx64
					       "): it was poisoned or reused before the grace period ended",
					       s, w->id, i, load(v));
				return;
			}
		}
	sl_worker_fail(w,
		       "use after free: record #%" PRIu64
		       " changed under thread %u's read-side section", s, w->id);
}

/* Read every serial word; 0 when all equal the first. */
static inline uint64_t read_record(const struct rcu_record *r, unsigned lines)
{
	uint64_t s = load(&r->word[0]), bad = 0;

	for (unsigned w = 1; w < RCU_HEAD_WORDS; w++)
		bad |= load(&r->word[w]) ^ s;
	for (unsigned i = 0; i + 1 < lines; i++)
		for (unsigned w = 0; w < RCU_WORDS; w++)
			bad |= load(&r->line[i].word[w]) ^ s;
	return bad;
}

static void rcu_body(struct sl_worker *w)
{
	struct sl_run *run = w->run;
	const struct sl_rcu_ops *ops = &run->prim->rcu;
	struct rcu_data *d = run->shape_data;
	void *obj = sl_run_obj(run, 0);
	void *t = w->tctx[0];
	const unsigned lines = d->lines;
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	/* As in the rw shape: a read when the low 32 bits of the op's random
	 * number are below read_pct% of 2^32. */
	const uint64_t read_below =
		w->role == SL_ROLE_READER ? UINT64_MAX
		: w->role == SL_ROLE_WRITER ? 0
		: ((uint64_t)run->pt->read_pct << 32) / 100;
	const bool need_rng = w->role == SL_ROLE_ANY;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	bool updated = false;

	while (sl_worker_running(w)) {
		uint64_t r = need_rng ? sl_rng_next(&w->rng) : 0;

		if ((r & 0xffffffffu) < read_below) {
			const struct rcu_record *p;
			uint64_t s0, s1, serial, bad;

			ops->read_lock(obj, t);
			/* acquire: pairs with the updater's exchange below: the
			 * record's contents are visible before its address. */
			p = atomic_load_explicit(&d->shared, memory_order_acquire);
			s0 = load(&p->state);
			serial = load(&p->word[0]);
			bad = read_record(p, lines);
			if (cs_iters)
				sl_work_loop(cs_iters);
			/* Again at the end: a record freed and reused at the same
			 * address during the section is LIVE again, but carries
			 * another serial. */
			s1 = load(&p->state);
			bad |= load(&p->word[0]) ^ serial;
			if (__builtin_expect(bad || s0 != REC_LIVE || s1 != REC_LIVE, 0)) {
				report_bad_read(w, p, d, s0 != REC_LIVE ? s0 : s1);
				ops->read_unlock(obj, t);
				break;
			}
			ops->read_unlock(obj, t);
		} else {
			struct rcu_record *old, *fresh = new_record(d);

			if (!fresh) {
				sl_worker_fail(w, "out of memory for a %zu-byte record",
					       d->rec_size);
				break;
			}
			if (cs_iters)
				sl_work_loop(cs_iters);
			store(&fresh->state, REC_LIVE);
			/* acq_rel: the release publishes the filled record
			 * (pairs with the readers' acquire load); the acquire
			 * takes over the old one, whose contents its publisher
			 * wrote (pairs with that updater's release). */
			old = atomic_exchange_explicit(&d->shared, fresh,
						       memory_order_acq_rel);
			if (ops->defer_free) {
				ops->defer_free(obj, t, poison_free, old);
			} else {
				ops->synchronize(obj, t);
				poison_free(old);
			}
			updated = true;
		}
		if (ops->quiescent)
			ops->quiescent(obj, t);
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
	/* Run what this thread deferred before it unregisters: verify counts
	 * frees, and teardown must find no callback still queued. */
	if (updated && ops->barrier)
		ops->barrier(obj, t);
}

static int rcu_verify(struct sl_run *run, struct sl_worker *const *workers,
		      struct sl_err *err)
{
	const struct rcu_data *d = run->shape_data;
	uint64_t allocs = atomic_load_explicit(&d->allocs, memory_order_relaxed);
	uint64_t frees = atomic_load_explicit(&d->frees, memory_order_relaxed);
	const struct rcu_record *live =
		atomic_load_explicit(&d->shared, memory_order_relaxed);

	(void)workers;
	if (load(&live->state) != REC_LIVE || read_record(live, d->lines))
		return sl_err_set(err, -EPROTO,
				  "the record left published after the run is not whole (state %#" PRIx64 ")",
				  load(&live->state));
	if (frees + 1 < allocs)
		return sl_err_set(err, -EPROTO,
				  "%" PRIu64 " records allocated but only %" PRIu64
				  " freed: %" PRIu64 " deferred frees never ran (barrier returned early?)",
				  allocs, frees, allocs - frees - 1);
	if (frees + 1 > allocs)
		return sl_err_set(err, -EPROTO,
				  "%" PRIu64 " records allocated but %" PRIu64
				  " freed: a record was freed twice", allocs, frees);
	return 0;
}

const struct sl_shape sl_shape_rcu = {
	.name = "rcu",
	.kind = SL_KIND_RCU,
	.setup = rcu_setup,
	.role_of = rcu_role_of,
	.body = rcu_body,
	.verify = rcu_verify,
	.teardown = rcu_teardown,
};
