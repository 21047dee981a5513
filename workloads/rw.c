/*
 * The rw shape: reader-writer locks under a read share the user dials.
 *
 * Each op picks one of K instances (K = --locks) and either reads or writes
 * the instance's record: 1 + --cs-lines cache lines of words.  With
 * --writers W the first W threads only write and the others only read;
 * with W = 0 every thread reads with probability --read-pct and writes
 * otherwise.  A writer stores one new value -- the record's value plus one --
 * into every word; a reader reads every word.  Both spend --cs-ns inside the
 * section and --think-ns outside.  An op is one read or one write.
 *
 * What is checked, as it happens:
 *   - a reader must see every word equal: two values mean it read a record
 *     half written;
 *   - a reader must see no writer inside (the writer's stamp, written by
 *     writers only, in the record's first line) both when it starts and when
 *     it ends, and the record must hold the same value at its end as at its
 *     start: a write section that began and ended inside the read section
 *     would have changed it.  Together these catch every overlap of a read
 *     section with a write section, from the reader's side;
 *   - a writer stamps its id and checks the stamp is still its own before
 *     leaving (two writers at once), as in the lock shape.
 * And after the run: every instance's record is whole, its value equals the
 * writes it took (the value is read-then-written, so overlapping writers
 * lose updates), the values add up to the writes every thread counted, and
 * every thread's reads and writes add up to its ops.
 *
 * Readers write nothing shared: the overlap checks above are all loads, so a
 * read section costs what a real one does (the lock's own cache traffic plus
 * reading lines that stay Shared until a writer changes them); a shared
 * reader count would make every read a write to a contended line and
 * measure the instrumentation instead of the lock.
 *
 * The record is accessed with relaxed atomics, as in the lock shape: plain
 * loads and stores on mainstream CPUs, and a broken primitive yields a torn
 * record or lost updates instead of undefined behaviour.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "workloads/workload.h"

#define RW_WORDS (SL_CACHELINE / sizeof(uint64_t))

/* One line of an instance's record.  Word 0 of an instance's first line is
 * the writer's stamp (id + 1, 0 when none); every other word holds the
 * record's value. */
struct rw_line {
	alignas(SL_CACHELINE) _Atomic uint64_t word[RW_WORDS];
};

/* Per thread, written once when its body returns, read after the join. */
struct rw_counts {
	alignas(SL_SLOT_ALIGN) uint64_t reads;
	uint64_t writes;
};

struct rw_data {
	unsigned lines;         /* per instance: 1 + cs_lines */
	struct rw_line *line;   /* [instances * lines] */
	struct rw_counts *count; /* [threads] */
};

static int rw_setup(struct sl_run *run, struct sl_err *err)
{
	struct rw_data *d = calloc(1, sizeof(*d));
	size_t n;

	if (!d)
		return sl_err_set(err, -ENOMEM, "out of memory");
	d->lines = 1 + run->pt->cs_lines;
	n = (size_t)run->instances * d->lines;
	d->line = aligned_alloc(SL_CACHELINE, n * sizeof(*d->line));
	d->count = aligned_alloc(SL_SLOT_ALIGN,
				 run->pt->threads * sizeof(*d->count));
	if (!d->line || !d->count) {
		free(d->line);
		free(d->count);
		free(d);
		return sl_err_set(err, -ENOMEM, "out of memory for %zu record lines", n);
	}
	memset(d->line, 0, n * sizeof(*d->line));
	memset(d->count, 0, run->pt->threads * sizeof(*d->count));
	run->shape_data = d;
	return 0;
}

static void rw_teardown(struct sl_run *run)
{
	struct rw_data *d = run->shape_data;

	free(d->line);
	free(d->count);
	free(d);
	run->shape_data = NULL;
}

static enum sl_role rw_role_of(const struct sl_run *run, unsigned id)
{
	unsigned writers = run->pt->writers;

	if (writers == 0)
		return SL_ROLE_ANY;
	return id < writers ? SL_ROLE_WRITER : SL_ROLE_READER;
}

static inline uint64_t load(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Read every value word of a record into *v (the first) and return the OR
 * of each word XOR the first: 0 when the record is whole. */
static inline uint64_t read_record(const struct rw_line *rec, unsigned lines,
				   uint64_t *v)
{
	uint64_t first = load(&rec[0].word[1]), bad = 0;

	for (unsigned w = 2; w < RW_WORDS; w++)
		bad |= load(&rec[0].word[w]) ^ first;
	for (unsigned i = 1; i < lines; i++)
		for (unsigned w = 0; w < RW_WORDS; w++)
			bad |= load(&rec[i].word[w]) ^ first;
	*v = first;
	return bad;
}

/* For a message: the first value word that differs from v (v if none). */
static uint64_t other_value(const struct rw_line *rec, unsigned lines,
			    uint64_t v)
{
	for (unsigned i = 0; i < lines; i++)
		for (unsigned w = i ? 0 : 1; w < RW_WORDS; w++)
			if (load(&rec[i].word[w]) != v)
				return load(&rec[i].word[w]);
	return v;
}

static void write_record(struct rw_line *rec, unsigned lines, uint64_t v)
{
	for (unsigned w = 1; w < RW_WORDS; w++)
		atomic_store_explicit(&rec[0].word[w], v, memory_order_relaxed);
	for (unsigned i = 1; i < lines; i++)
		for (unsigned w = 0; w < RW_WORDS; w++)
			atomic_store_explicit(&rec[i].word[w], v, memory_order_relaxed);
}

/* One checked read section; false (after reporting) when it saw a writer. */
static bool checked_read(struct sl_worker *w, struct rw_line *rec,
			 unsigned lines, unsigned k, uint64_t cs_iters)
{
	uint64_t stamp0 = load(&rec[0].word[0]);
	uint64_t v, bad = read_record(rec, lines, &v);
	uint64_t v1, stamp1;

	if (cs_iters)
		sl_work_loop(cs_iters);
	v1 = load(&rec[0].word[1]);
	stamp1 = load(&rec[0].word[0]);
	if (__builtin_expect(!(stamp0 | bad | stamp1 | (v ^ v1)), 1))
		return true;
	if (stamp0 || stamp1)
		sl_worker_fail(w,
			       "reader-writer exclusion violated: thread %u read rwlock %u's record while writer thread %" PRIu64
			       " was inside", w->id, k, (stamp0 ? stamp0 : stamp1) - 1);
	else if (bad)
		sl_worker_fail(w,
			       "reader-writer exclusion violated: thread %u read a half-written record of rwlock %u (values %" PRIu64
			       " and %" PRIu64 " in one record)", w->id, k, v,
			       other_value(rec, lines, v));
	else
		sl_worker_fail(w,
			       "reader-writer exclusion violated: rwlock %u's record changed from %" PRIu64
			       " to %" PRIu64 " while thread %u was reading it", k, v, v1, w->id);
	return false;
}

static void rw_body(struct sl_worker *w)
{
	struct sl_run *run = w->run;
	const struct sl_rw_ops *ops = &run->prim->rw;
	struct rw_data *d = run->shape_data;
	const bool checked = !(run->prim->flags & SL_PRIM_NO_EXCLUSION);
	const unsigned instances = run->instances;
	const unsigned lines = d->lines;
	const uint64_t cs_iters = run->cs_iters, think_iters = run->think_iters;
	const uint64_t me = w->id + 1;
	/* A read when the low 32 bits of the op's random number are below
	 * this: read_pct% of 2^32, so 100 always reads and 0 never does. */
	const uint64_t read_below =
		w->role == SL_ROLE_READER ? UINT64_MAX
		: w->role == SL_ROLE_WRITER ? 0
		: ((uint64_t)run->pt->read_pct << 32) / 100;
	const bool need_rng = instances > 1 || w->role == SL_ROLE_ANY;
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	uint64_t reads = 0, writes = 0;

	while (sl_worker_running(w)) {
		uint64_t r = need_rng ? sl_rng_next(&w->rng) : 0;
		unsigned k = instances == 1 ? 0 : (unsigned)((r >> 32) % instances);
		struct rw_line *rec = &d->line[(size_t)k * lines];
		void *obj = sl_run_obj(run, k);
		const bool timed = sl_lat_due(w);
		const uint64_t t0 = timed ? sl_now_ns() : 0;

		if ((r & 0xffffffffu) < read_below) {
			ops->read_lock(obj, w->tctx[k]);
			if (timed)
				sl_lat_record(w, sl_now_ns() - t0);
			if (checked) {
				if (!checked_read(w, rec, lines, k, cs_iters)) {
					ops->read_unlock(obj, w->tctx[k]);
					break;
				}
			} else if (cs_iters) {
				sl_work_loop(cs_iters);
			}
			ops->read_unlock(obj, w->tctx[k]);
			reads++;
		} else {
			ops->write_lock(obj, w->tctx[k]);
			if (timed)
				sl_lat_record(w, sl_now_ns() - t0);
			if (checked)
				atomic_store_explicit(&rec[0].word[0], me,
						      memory_order_relaxed);
			write_record(rec, lines, load(&rec[0].word[1]) + 1);
			if (cs_iters)
				sl_work_loop(cs_iters);
			if (checked) {
				uint64_t seen = load(&rec[0].word[0]);

				if (seen != me) {
					if (seen)
						sl_worker_fail(w,
							       "writer exclusion violated: threads %" PRIu64
							       " and %" PRIu64 " were inside rwlock %u as writers together",
							       me - 1, seen - 1, k);
					else
						sl_worker_fail(w,
							       "writer exclusion violated: another writer left rwlock %u while thread %" PRIu64
							       " was inside it", k, me - 1);
					ops->write_unlock(obj, w->tctx[k]);
					break;
				}
				atomic_store_explicit(&rec[0].word[0], 0,
						      memory_order_relaxed);
			}
			ops->write_unlock(obj, w->tctx[k]);
			writes++;
		}
		if (think_iters)
			sl_work_loop(think_iters);
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
	d->count[w->id].reads = reads;
	d->count[w->id].writes = writes;
}

static int rw_verify(struct sl_run *run, struct sl_worker *const *workers,
		     struct sl_err *err)
{
	const struct rw_data *d = run->shape_data;
	uint64_t writes = 0, counted = 0;

	if (run->prim->flags & SL_PRIM_NO_EXCLUSION)
		return 0;
	for (unsigned i = 0; i < run->pt->threads; i++) {
		const struct rw_counts *c = &d->count[i];
		uint64_t ops = atomic_load_explicit(&workers[i]->ops,
						    memory_order_relaxed);

		if (c->reads + c->writes != ops)
			return sl_err_set(err, -EPROTO,
					  "thread %u counted %" PRIu64 " reads and %" PRIu64
					  " writes but %" PRIu64 " ops", i, c->reads,
					  c->writes, ops);
		writes += c->writes;
	}
	for (unsigned k = 0; k < run->instances; k++) {
		const struct rw_line *rec = &d->line[(size_t)k * d->lines];
		uint64_t v, stamp = load(&rec[0].word[0]);

		if (stamp)
			return sl_err_set(err, -EPROTO,
					  "writer exclusion violated: rwlock %u still carries writer thread %" PRIu64
					  "'s stamp after every thread stopped", k, stamp - 1);
		if (read_record(rec, d->lines, &v))
			return sl_err_set(err, -EPROTO,
					  "writer exclusion violated: rwlock %u's record is torn after every thread stopped (values %" PRIu64
					  " and %" PRIu64 ")", k, v,
					  other_value(rec, d->lines, v));
		counted += v;
	}
	if (counted != writes)
		return sl_err_set(err, -EPROTO,
				  "writer exclusion violated: %" PRIu64
				  " writes completed but the records count %" PRIu64
				  " (%" PRIu64 " updates lost)",
				  writes, counted, writes > counted ? writes - counted : 0);
	return 0;
}

const struct sl_shape sl_shape_rw = {
	.name = "rw",
	.kind = SL_KIND_RWLOCK,
	.setup = rw_setup,
	.role_of = rw_role_of,
	.body = rw_body,
	.verify = rw_verify,
	.teardown = rw_teardown,
};
