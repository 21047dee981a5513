/*
 * What `bench` and `sweep` share around a plan (workloads/plan.h): checking
 * output paths, loading the topology and placing every thread count,
 * refusing primitives this machine cannot run, measuring the context every
 * row carries (calibration, clock and RMW cost, uncontended pairs), the
 * banner, and the CSV rows.  Functions that return an exit status have
 * printed the reason, prefixed with "synclab CMD: ".
 */
#ifndef SL_CMD_SESSION_H
#define SL_CMD_SESSION_H

#include <stdio.h>

#include "counters/counters.h"
#include "pinning/pin.h"
#include "reports/report.h"
#include "util/err.h"
#include "util/opt.h"
#include "workloads/plan.h"

struct sl_session {
	const char *cmd;                /* "bench", "sweep": message prefix */
	struct sl_topo *topo;
	struct sl_pin_spec pin;
	struct sl_counter_set counters;
	struct sl_meta meta;
	struct sl_calib calib;
	double clock_ns, rmw_ns;
	double call_ns;                 /* the null pair through the descriptor */
	struct sl_plan_ctx ctx;
	/* "N thread(s), --pin P: PUs ..." by --threads entry. */
	char placement[SL_LIST_MAX][256];
	unsigned nplacement;
};

/* The number of CPUs this process may run on. */
unsigned sl_usable_pus(void);

/* Output paths, checked before anything runs (0, or -EINVAL with err naming
 * the option): a file that is not a directory and could be created ("-"
 * is standard output); a directory that exists writable or could be made. */
int sl_check_output_file(const char *opt, const char *path, struct sl_err *err);
int sl_check_output_dir(const char *opt, const char *dir, struct sl_err *err);
/* Make the directories above an output file (nothing for "-"). */
int sl_make_parent_dirs(const char *path, struct sl_err *err);

/* Load this machine's topology (exit 3 when it cannot be read) and place
 * every thread count (exit 2 when one cannot be placed).  The session
 * keeps pin, which the caller parsed into s->pin. */
int sl_session_place(struct sl_session *s, const struct sl_ulist *threads);

/* Can this machine run p, and does a workload drive its kind?  0, or exit
 * 3 with the reason printed; with why (size n) the reason goes there
 * instead and nothing is printed. */
int sl_session_runnable(const struct sl_session *s, const struct sl_prim *p,
			char *why, size_t n);

/* Measure what every row carries, for the grid's primitives: meta,
 * calibration, clock and RMW cost, uncontended pairs.  0 or exit 1. */
int sl_session_measure(struct sl_session *s, const struct sl_grid *g);

/* Machine, topology, calibration, unsupported counters, placements and
 * the uncontended pairs, one fact a line. */
void sl_session_banner(FILE *f, const struct sl_session *s,
		       const struct sl_grid *g);

/* The CSV row of a measured item. */
struct sl_row sl_session_row(const struct sl_session *s,
			     const struct sl_plan_item *it);

/* Rows of the measured items, in plan order (malloc'd; *n of them). */
struct sl_row *sl_session_rows(const struct sl_session *s,
			       const struct sl_plan *plan, size_t *n);

/* Free the topology unless some point got stuck: its threads may still be
 * inside the binding calls that use it, and the process exits soon. */
void sl_session_close(struct sl_session *s, bool stuck);

#endif
