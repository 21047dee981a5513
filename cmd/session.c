/*
 * The parts of a measuring command that bench and sweep share: output path
 * checks, topology and placement, runnability, the context measured once per
 * invocation, the banner and the CSV rows.  See session.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "util/clock.h"
#include "util/fs.h"

unsigned sl_usable_pus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

int sl_check_output_file(const char *opt, const char *path, struct sl_err *err)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 0;
	if (!*path)
		return sl_err_set(err, -EINVAL, "%s: empty file name (accepted: a file name, or - for standard output)", opt);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return sl_err_set(err, -EINVAL, "%s: '%s' is a directory (accepted: a file name, or - for standard output)",
				  opt, path);
	if (sl_check_creatable(path, err) < 0)
		return sl_err_wrap(err, -EINVAL, "%s", opt);
	return 0;
}

int sl_check_output_dir(const char *opt, const char *dir, struct sl_err *err)
{
	struct stat st;

	if (!*dir)
		return sl_err_set(err, -EINVAL, "%s: empty directory name", opt);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return sl_err_set(err, -EINVAL, "%s: '%s' is not a directory", opt, dir);
		if (sl_check_writable_dir(dir, err) < 0)
			return sl_err_wrap(err, -EINVAL, "%s", opt);
		return 0;
	}
	if (sl_check_creatable(dir, err) < 0)
		return sl_err_wrap(err, -EINVAL, "%s", opt);
	return 0;
}

int sl_make_parent_dirs(const char *path, struct sl_err *err)
{
	char dir[PATH_MAX];
	char *slash;

	if (strcmp(path, "-") == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return sl_mkdir_p(dir, err);
}

/* Threads whose PU a placement line names one by one. */
#define PLACEMENT_LISTED 16

/* Place nt threads (the check every thread count must pass) and say where
 * they go: "2 thread(s), --pin compact: PUs 0,1". */
static int describe_placement(const struct sl_topo *topo,
			      const struct sl_pin_spec *pin, unsigned nt,
			      char *buf, size_t len, struct sl_err *err)
{
	int *pus = malloc(nt * sizeof(*pus));
	char set[96];
	size_t used;
	bool over;
	int rc;

	if (!pus)
		return sl_err_set(err, -ENOMEM, "out of memory");
	rc = sl_pin_place(topo, pin, nt, pus, &over, err);
	if (rc < 0) {
		free(pus);
		return rc;
	}
	if (pus[0] < 0) {
		snprintf(buf, len, "%u thread(s), --pin %s: unbound, the scheduler decides%s",
			 nt, pin->text, over ? " (oversubscribed)" : "");
		free(pus);
		return 0;
	}
	/* The first threads' PUs show the order; the set they share, always
	 * shown, says the rest (4096 threads would not fit a line). */
	used = (size_t)snprintf(buf, len, "%u thread(s), --pin %s: PUs ", nt, pin->text);
	for (unsigned i = 0; i < nt && i < PLACEMENT_LISTED; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", pus[i]);
	if (nt > PLACEMENT_LISTED)
		snprintf(buf + used, len - used, ",... (%u more)", nt - PLACEMENT_LISTED);
	sl_cpulist_format(pus, nt, set, sizeof(set));
	free(pus);
	if (over)
		snprintf(buf + strlen(buf), len - strlen(buf),
			 " (oversubscribed: the threads share PUs %s)", set);
	return 0;
}

int sl_session_place(struct sl_session *s, const struct sl_ulist *threads)
{
	struct sl_err err = { "" };

	if (sl_topo_load(&s->topo, NULL, NULL, &err) < 0) {
		fprintf(stderr, "synclab %s: cannot read this machine's topology: %s\n",
			s->cmd, err.msg);
		s->topo = NULL;
		return SL_EXIT_UNSUPPORTED;
	}
	/* Every thread count must be placeable before anything runs. */
	s->nplacement = 0;
	for (unsigned i = 0; i < threads->n; i++) {
		if (describe_placement(s->topo, &s->pin, (unsigned)threads->v[i],
				       s->placement[i], sizeof(s->placement[i]), &err) < 0) {
			sl_topo_free(s->topo);
			s->topo = NULL;
			return sl_usage_error(s->cmd, err.msg);
		}
		s->nplacement++;
	}
	return SL_EXIT_OK;
}

int sl_session_runnable(const struct sl_session *s, const struct sl_prim *p,
			char *why, size_t n)
{
	char reason[192];

	if (p->supported && !p->supported(reason, sizeof(reason))) {
		if (why) {
			snprintf(why, n, "'%s' cannot run on this machine: %s",
				 p->name, reason);
			return SL_EXIT_UNSUPPORTED;
		}
		fprintf(stderr, "synclab %s: '%s' cannot run on this machine: %s\n",
			s->cmd, p->name, reason);
		return SL_EXIT_UNSUPPORTED;
	}
	if (!sl_shape_for(p->kind)) {
		if (why) {
			snprintf(why, n, "'%s' is a %s primitive, and no workload drives that kind yet",
				 p->name, sl_prim_kind_name(p->kind));
			return SL_EXIT_UNSUPPORTED;
		}
		fprintf(stderr, "synclab %s: '%s' is a %s primitive, and no workload drives that kind yet\n",
			s->cmd, p->name, sl_prim_kind_name(p->kind));
		return SL_EXIT_UNSUPPORTED;
	}
	return SL_EXIT_OK;
}

int sl_session_measure(struct sl_session *s, const struct sl_grid *g)
{
	struct sl_err err = { "" };

	sl_meta_collect(&s->meta);
	if (sl_calibrate(&s->calib, &err) < 0) {
		fprintf(stderr, "synclab %s: %s\n", s->cmd, err.msg);
		return SL_EXIT_FAIL;
	}
	s->clock_ns = sl_clock_cost_ns();
	s->rmw_ns = sl_rmw_cost_ns();
	s->ctx.calib = &s->calib;
	s->ctx.rmw_ns = s->rmw_ns;
	for (unsigned k = 0; k < g->nprims; k++)
		s->ctx.uncontended_ns[k] = sl_uncontended_ns(g->prim[k]);
	/* The pair is called through the descriptor; the null pair is that
	 * call overhead alone.  Out-of-order execution overlaps the two, so
	 * both are shown rather than their difference. */
	s->call_ns = sl_uncontended_ns(sl_prim_find("null"));
	return SL_EXIT_OK;
}

void sl_session_banner(FILE *f, const struct sl_session *s,
		       const struct sl_grid *g)
{
	const struct sl_meta *meta = &s->meta;
	const struct sl_counter_set *cs = &s->counters;
	struct sl_topo_summary t;

	sl_topo_summarize(s->topo, &t);
	fprintf(f, "synclab %s on %s: %s, kernel %s\n", meta->version, meta->host,
		meta->cpu_model, meta->kernel);
	fprintf(f, "topology: %u package(s), %u core(s), %u PU(s); usable PUs: %s (%u)\n",
		t.packages, t.cores, t.pus, t.usable, t.usable_pus);
	fprintf(f, "calibration: %.1f work loops/us (measured in %.1f ms); clock read: %.1f ns; atomic RMW: %.2f ns\n",
		s->calib.loops_per_us, (double)s->calib.measured_ns / 1e6,
		s->clock_ns, s->rmw_ns);
	for (unsigned i = 0; i < cs->n; i++)
		if (!cs->ev[i].supported)
			fprintf(f, "counter %s: %s\n", cs->ev[i].name, cs->ev[i].why);
	for (unsigned i = 0; i < s->nplacement; i++)
		fprintf(f, "placement: %s\n", s->placement[i]);
	for (unsigned k = 0; k < g->nprims; k++)
		if (!isnan(s->ctx.uncontended_ns[k]) &&
		    !(g->prim[k]->flags & SL_PRIM_NO_EXCLUSION))
			fprintf(f, "uncontended %s: %.2f ns per lock+unlock through the descriptor (null pair: %.2f ns)\n",
				g->prim[k]->name, s->ctx.uncontended_ns[k], s->call_ns);
}

struct sl_row sl_session_row(const struct sl_session *s,
			     const struct sl_plan_item *it)
{
	return (struct sl_row){ &it->pt, &it->res, &s->meta, &s->calib };
}

struct sl_row *sl_session_rows(const struct sl_session *s,
			       const struct sl_plan *plan, size_t *n)
{
	struct sl_row *rows = calloc(plan->n ? plan->n : 1, sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; i < plan->n; i++)
		if (plan->item[i].state == SL_ITEM_MEASURED)
			rows[(*n)++] = sl_session_row(s, &plan->item[i]);
	return rows;
}

void sl_session_close(struct sl_session *s, bool stuck)
{
	if (!stuck)
		sl_topo_free(s->topo);
	s->topo = NULL;
}
