/*
 * The lab shape: drives the steps of a lab experiment (SL_KIND_LAB, see
 * primitives/prim.h) so that `synclab demo` measures them with the same
 * runner as every primitive -- binding, release together, warm-up, window,
 * counters, repetitions.  Each worker sums what its steps observed; verify
 * adds the sums up and collects the experiment's own figures.  The
 * experiment keeps its own invariants: a lab run is evidence, and a
 * broken outcome (a litmus result, a lost update) is what it counts.
 */
#include <errno.h>
#include <stdlib.h>

#include "workloads/workload.h"

struct lab_slot {
	alignas(SL_SLOT_ALIGN) uint64_t observed; /* written by its worker only */
};

static int lab_setup(struct sl_run *run, struct sl_err *err)
{
	struct lab_slot *slot = aligned_alloc(SL_SLOT_ALIGN,
					      run->pt->threads * sizeof(*slot));

	if (!slot)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < run->pt->threads; i++)
		slot[i].observed = 0;
	run->shape_data = slot;
	return 0;
}

static void lab_teardown(struct sl_run *run)
{
	free(run->shape_data);
	run->shape_data = NULL;
}

static void lab_body(struct sl_worker *w)
{
	struct sl_run *run = w->run;
	uint64_t (*const step)(void *, void *, unsigned) = run->prim->lab.step;
	void *obj = sl_run_obj(run, 0);
	void *tctx = w->tctx[0];
	struct lab_slot *slot = &((struct lab_slot *)run->shape_data)[w->id];
	uint64_t n = atomic_load_explicit(&w->ops, memory_order_relaxed);
	uint64_t seen = 0;
	bool told_window = false;

	while (sl_worker_running(w)) {
		uint64_t o;

		if (!told_window && w->seen_phase == SL_PHASE_MEASURE) {
			told_window = true;
			if (run->prim->lab.window)
				run->prim->lab.window(obj, tctx, w->id);
		}
		o = step(obj, tctx, w->id);

		/* Events count only inside the window, like the ops. */
		if (w->seen_phase == SL_PHASE_MEASURE)
			seen += o;
		atomic_store_explicit(&w->ops, ++n, memory_order_relaxed);
	}
	slot->observed = seen; /* read by verify after the join */
}

static int lab_verify(struct sl_run *run, struct sl_worker *const *workers,
		      struct sl_err *err)
{
	const struct lab_slot *slot = run->shape_data;

	(void)workers;
	(void)err;
	run->observed = 0;
	for (unsigned i = 0; i < run->pt->threads; i++)
		run->observed += slot[i].observed;
	if (run->prim->lab.figures)
		run->prim->lab.figures(sl_run_obj(run, 0), run->lab_figure);
	return 0;
}

static void lab_wake_all(struct sl_run *run)
{
	if (run->prim->lab.stop)
		run->prim->lab.stop(sl_run_obj(run, 0));
}

const struct sl_shape sl_shape_lab = {
	.name = "lab",
	.kind = SL_KIND_LAB,
	.setup = lab_setup,
	.body = lab_body,
	.verify = lab_verify,
	.teardown = lab_teardown,
	.wake_all = lab_wake_all,
};
