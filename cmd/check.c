/*
 * synclab check: torture runs of primitives for their invariants only, no
 * figures.  Each primitive runs several short rounds that vary what provokes
 * bugs -- more threads than CPUs (preemption inside critical sections), two
 * threads truly in parallel, work inside the section, several instances, the
 * kind's own dials -- and the check fails (exit 1) on the first violation,
 * naming it.  Meant for CI: `synclab check` checks every primitive.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "pinning/pin.h"
#include "primitives/prim.h"
#include "util/clock.h"
#include "util/opt.h"
#include "workloads/workload.h"

#define MAX_CHECK_PRIMS 256

static const char check_usage[] =
	"synclab check [options] [PRIMITIVE[,PRIMITIVE...]]";
static const char check_summary[] =
	"Torture each primitive (every visible one when none is named) for its\n"
	"invariant: mutual exclusion, no lost or duplicated items, no early barrier\n"
	"exit, writer exclusivity.  Rounds vary the threads (beyond the CPUs, and\n"
	"two in parallel), the work inside the section and the kind's own dials.\n"
	"Exit 1 names the first violation; nothing is measured.";

/* One round: overrides of the base point; 0 keeps the base value. */
struct round {
	unsigned threads;  /* 0: --threads */
	bool two_pus;      /* bind two threads to different PUs */
	uint64_t cs_ns;
	unsigned cs_lines, locks;
	unsigned read_pct, writers;
	unsigned producers, capacity, permits;
};

static const struct round lock_rounds[] = {
	{ .threads = 0 },
	{ .threads = 2, .two_pus = true },
	{ .threads = 0, .cs_ns = 300, .cs_lines = 2 },
	{ .threads = 0, .locks = 4 },
};
static const struct round rw_rounds[] = {
	{ .read_pct = 50 },
	{ .threads = 2, .two_pus = true, .read_pct = 50 },
	{ .read_pct = 99, .writers = 1, .cs_ns = 200 },
	{ .read_pct = 90, .locks = 4, .cs_lines = 2 },
};
static const struct round sem_rounds[] = {
	{ .permits = 1 },
	{ .permits = 3, .cs_ns = 300 },
	{ .threads = 2, .two_pus = true, .permits = 1 },
};
static const struct round cond_rounds[] = {
	{ .capacity = 1 },
	{ .capacity = 16, .producers = 1 },
	{ .threads = 2, .two_pus = true, .capacity = 4 },
};
static const struct round rcu_rounds[] = {
	{ .read_pct = 50 },
	{ .threads = 2, .two_pus = true, .read_pct = 50 },
	{ .read_pct = 99, .writers = 1 },
};
static const struct round queue_rounds[] = {
	{ .producers = 1 },
	{ .threads = 2, .two_pus = true, .capacity = 2 },
	{ .producers = 3, .capacity = 4 },
};
static const struct round workqueue_rounds[] = {
	{ .producers = 1 },
	{ .threads = 2, .two_pus = true },
	{ .producers = 3, .cs_ns = 300 },
};
static const struct round plain_rounds[] = {
	{ .threads = 0 },
	{ .threads = 2, .two_pus = true },
	{ .threads = 0, .cs_ns = 300 },
};

static const struct round *rounds_for(enum sl_prim_kind kind, size_t *n)
{
#define ROUNDS(r) (*n = sizeof(r) / sizeof(r[0]), r)
	switch (kind) {
	case SL_KIND_LOCK: return ROUNDS(lock_rounds);
	case SL_KIND_RWLOCK: return ROUNDS(rw_rounds);
	case SL_KIND_SEM: return ROUNDS(sem_rounds);
	case SL_KIND_CONDVAR: return ROUNDS(cond_rounds);
	case SL_KIND_RCU: return ROUNDS(rcu_rounds);
	case SL_KIND_QUEUE: return ROUNDS(queue_rounds);
	case SL_KIND_WORKQUEUE: return ROUNDS(workqueue_rounds);
	default: return ROUNDS(plain_rounds);
	}
#undef ROUNDS
}

static int parse_names(int argc, char **argv, bool all,
		       const struct sl_prim **prims, unsigned *n,
		       struct sl_err *err)
{
	*n = 0;
	if (argc == 0) {
		for (size_t i = 0; i < sl_prim_count() && *n < MAX_CHECK_PRIMS; i++) {
			const struct sl_prim *p = sl_prim_at(i);

			if (all || !(p->flags & SL_PRIM_HIDDEN))
				prims[(*n)++] = p;
		}
		return 0;
	}
	for (int i = 0; i < argc; i++)
		if (sl_prim_parse_list(argv[i], "synclab list --all", prims, n,
				       MAX_CHECK_PRIMS, err) < 0)
			return -EINVAL;
	return 0;
}

int cmd_check(int argc, char **argv)
{
	uint64_t threads = 4, duration_ns = SL_NS_PER_SEC;
	uint64_t stall_ns = 5 * SL_NS_PER_SEC;
	bool all = false, quiet = false, help = false;
	const struct sl_opt opts[] = {
		{ "threads", 't', SL_OPT_COUNT, &threads, 2, 1024, "N",
		  "threads in the main rounds (more than the CPUs provokes preemption inside sections)" },
		{ "duration", 'd', SL_OPT_DURATION, &duration_ns, SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME", "time per primitive, split over its rounds" },
		{ "stall-timeout", 0, SL_OPT_DURATION, &stall_ns, 10 * SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME",
		  "threads still inside an op this long after the stop signal are stuck" },
		{ "all", 'a', SL_OPT_FLAG, &all, 0, 0, NULL,
		  "with no names: include hidden (deliberately broken) primitives" },
		{ "quiet", 'q', SL_OPT_FLAG, &quiet, 0, 0, NULL, "print only failures" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	const struct sl_prim *prims[MAX_CHECK_PRIMS];
	unsigned nprims, failed = 0, checked = 0, skipped = 0;
	struct sl_pin_spec pin_none, pin_pair;
	struct sl_topo *topo = NULL;
	struct sl_topo_summary ts;
	struct sl_calib calib;
	struct sl_err err;
	int first = sl_opt_parse(opts, argc, argv, &err);
	int status = SL_EXIT_OK;
	bool stuck = false;

	if (first < 0)
		return sl_usage_error("check", err.msg);
	if (help) {
		sl_opt_usage(stdout, check_usage, check_summary, opts);
		return SL_EXIT_OK;
	}
	if (parse_names(argc - first, argv + first, all, prims, &nprims, &err) < 0)
		return sl_usage_error("check", err.msg);
	if (sl_topo_load(&topo, NULL, NULL, &err) < 0) {
		fprintf(stderr, "synclab check: cannot read this machine's topology: %s\n", err.msg);
		return SL_EXIT_UNSUPPORTED;
	}
	sl_topo_summarize(topo, &ts);
	if (sl_pin_parse("none", &pin_none, &err) < 0 ||
	    sl_pin_parse("compact", &pin_pair, &err) < 0 ||
	    sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "synclab check: %s\n", err.msg);
		sl_topo_free(topo);
		return SL_EXIT_FAIL;
	}
	sl_catch_interrupts();

	for (unsigned k = 0; k < nprims && !stuck; k++) {
		const struct sl_prim *p = prims[k];
		size_t nr;
		const struct round *rounds = rounds_for(p->kind, &nr);
		uint64_t ops = 0;
		char why[192];
		bool ok = true;

		if ((p->supported && !p->supported(why, sizeof(why))) ||
		    !sl_shape_for(p->kind) || (p->flags & SL_PRIM_NO_EXCLUSION)) {
			if (p->flags & SL_PRIM_NO_EXCLUSION)
				snprintf(why, sizeof(why), "a baseline that excludes nothing: no invariant to check");
			else if (!sl_shape_for(p->kind))
				snprintf(why, sizeof(why), "no workload drives %s primitives yet",
					 sl_prim_kind_name(p->kind));
			if (!quiet)
				printf("skip  %-*s %s\n", sl_prim_name_width(), p->name, why);
			skipped++;
			continue;
		}
		for (size_t r = 0; r < nr && ok; r++) {
			const struct round *rd = &rounds[r];
			struct sl_point pt = {
				.prim = p,
				.threads = rd->threads ? rd->threads : (unsigned)threads,
				.rep = (unsigned)r + 1,
				.duration_ns = duration_ns / nr ? duration_ns / nr : 1,
				.stall_timeout_ns = stall_ns,
				.cs_ns = rd->cs_ns,
				.cs_lines = rd->cs_lines,
				.locks = rd->locks ? rd->locks : 1,
				.read_pct = rd->read_pct ? rd->read_pct : 90,
				.writers = rd->writers,
				.producers = rd->producers,
				.capacity = rd->capacity ? rd->capacity : 16,
				.permits = rd->permits ? rd->permits : 2,
				.topo = topo,
				.pin = rd->two_pus && ts.usable_pus >= 2 ? &pin_pair : &pin_none,
				.calib = &calib,
				.interrupt = &sl_interrupt_flag,
			};
			struct sl_result res;

			/* A round's split must fit a smaller --threads. */
			if (pt.producers >= pt.threads)
				pt.producers = pt.threads - 1;
			if (pt.writers >= pt.threads)
				pt.writers = pt.threads - 1;
			if (sl_point_resolve(&pt, &err) < 0 ||
			    sl_run_point(&pt, &res, &err) < 0) {
				printf("FAIL  %-*s round %zu: %s\n", sl_prim_name_width(), p->name, r + 1, err.msg);
				ok = false;
				break;
			}
			if (res.status == SL_STATUS_INTERRUPTED) {
				sl_result_release(&res);
				fprintf(stderr, "synclab check: interrupted\n");
				status = SL_EXIT_INTERRUPTED;
				goto out;
			}
			if (res.status != SL_STATUS_OK) {
				printf("FAIL  %-*s round %zu (%u threads): %s: %s\n", sl_prim_name_width(), p->name,
				       r + 1, pt.threads, sl_status_name(res.status),
				       res.message);
				ok = false;
				stuck = res.status == SL_STATUS_STUCK;
			}
			ops += res.ops;
			if (!stuck)
				sl_result_release(&res);
		}
		checked++;
		if (!ok)
			failed++;
		else if (!quiet)
			printf("ok    %-*s %zu rounds, %" PRIu64 " ops checked\n", sl_prim_name_width(), p->name, nr, ops);
		fflush(stdout);
	}
	if (stuck)
		fprintf(stderr, "synclab check: a primitive is stuck; the remaining ones were not checked\n");
	printf("%u passed, %u failed, %u skipped\n", checked - failed, failed, skipped);
	if (failed)
		status = SL_EXIT_FAIL;
out:
	if (!stuck)
		sl_topo_free(topo);
	return status;
}
