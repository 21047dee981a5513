/*
 * synclab bench: run one or more primitives at one or more thread counts,
 * with repetitions, and report a table, CSV and a chart.  Every input is
 * checked before the first thread starts: a bad one is a one-line error and
 * exit 2 with nothing written.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "counters/counters.h"
#include "pinning/pin.h"
#include "primitives/prim.h"
#include "reports/report.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/opt.h"
#include "workloads/workload.h"

#define MAX_PRIMS 64

struct bench_conf {
	struct sl_ulist threads;
	uint64_t duration_ns, warmup_ns, stall_timeout_ns;
	uint64_t repeat;
	uint64_t cs_ns, think_ns, cs_lines, locks;
	uint64_t read_pct, writers, producers, consumers, capacity, permits;
	uint64_t latency_period;
	bool latency;
	const char *pin, *counters, *csv, *plot;
	bool quiet, help;
};

static const char bench_usage[] =
	"synclab bench [options] PRIMITIVE[,PRIMITIVE...]";
static const char bench_summary[] =
	"Run each primitive at each thread count, --repeat times, and print a table\n"
	"(median over repetitions); --csv writes one row per run, --plot a chart.\n"
	"Threads are bound per --pin, released together, warmed up, then measured\n"
	"for --duration; the primitive's invariant is verified after every run.\n"
	"'synclab list' shows the primitives.";

static unsigned usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	return 1;
}

/* Split "a,b c" into primitives; every name must be known. */
static int parse_prims(int argc, char **argv, const struct sl_prim **prims,
		       unsigned *nprims, struct sl_err *err)
{
	*nprims = 0;
	for (int i = 0; i < argc; i++) {
		char buf[512], *save = NULL, *tok;

		if (strlen(argv[i]) >= sizeof(buf))
			return sl_err_set(err, -EINVAL, "primitive list too long");
		strcpy(buf, argv[i]);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const struct sl_prim *p = sl_prim_find(tok);

			if (!p) {
				const char *s = sl_prim_suggest(tok);

				if (s)
					return sl_err_set(err, -EINVAL,
							  "unknown primitive '%s' (did you mean '%s'?)",
							  tok, s);
				return sl_err_set(err, -EINVAL,
						  "unknown primitive '%s' (see 'synclab list')", tok);
			}
			for (unsigned k = 0; k < *nprims; k++)
				if (prims[k] == p)
					return sl_err_set(err, -EINVAL,
							  "primitive '%s' named twice", tok);
			if (*nprims == MAX_PRIMS)
				return sl_err_set(err, -EINVAL,
						  "more than %d primitives", MAX_PRIMS);
			prims[(*nprims)++] = p;
		}
	}
	if (*nprims == 0)
		return sl_err_set(err, -EINVAL,
				  "which primitive? (e.g. 'synclab bench mutex'; see 'synclab list')");
	return 0;
}

/* The point for one primitive, thread count and repetition; its
 * kind-specific parameters resolved (and checked) against the thread count. */
static int make_point(struct sl_point *pt, const struct bench_conf *c,
		      const struct sl_prim *prim, unsigned threads, unsigned rep,
		      struct sl_err *err)
{
	*pt = (struct sl_point){
		.prim = prim,
		.threads = threads,
		.rep = rep,
		.duration_ns = c->duration_ns,
		.warmup_ns = c->warmup_ns,
		.stall_timeout_ns = c->stall_timeout_ns,
		.cs_ns = c->cs_ns,
		.think_ns = c->think_ns,
		.cs_lines = (unsigned)c->cs_lines,
		.locks = (unsigned)c->locks,
		.read_pct = (unsigned)c->read_pct,
		.writers = (unsigned)c->writers,
		.producers = (unsigned)c->producers,
		.consumers = (unsigned)c->consumers,
		.capacity = (unsigned)c->capacity,
		.permits = (unsigned)c->permits,
		.lat_period = c->latency ? (unsigned)c->latency_period : 0,
		.interrupt = &sl_interrupt_flag,
	};
	return sl_point_resolve(pt, err);
}

/* An output file: not a directory, and creatable (missing directories
 * are made just before it is written). */
static int check_output_file(const char *opt, const char *path,
			     struct sl_err *err)
{
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 0;
	if (!*path)
		return sl_err_set(err, -EINVAL, "%s: empty file name", opt);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return sl_err_set(err, -EINVAL, "%s: '%s' is a directory (accepted: a file name, or - for standard output)",
				  opt, path);
	if (sl_check_creatable(path, err) < 0)
		return sl_err_wrap(err, -EINVAL, "%s", opt);
	return 0;
}

/* The chart directory may exist (then writable) or be creatable. */
static int check_output_dir(const char *opt, const char *dir, struct sl_err *err)
{
	struct stat st;

	if (!*dir)
		return sl_err_set(err, -EINVAL, "%s: empty directory name", opt);
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return sl_err_set(err, -EINVAL, "%s: '%s' is not a directory", opt, dir);
		if (access(dir, W_OK) != 0)
			return sl_err_set(err, -EINVAL, "%s: directory '%s' is not writable", opt, dir);
		return 0;
	}
	if (sl_check_creatable(dir, err) < 0)
		return sl_err_wrap(err, -EINVAL, "%s", opt);
	return 0;
}

/* Make the directories above an output file. */
static int make_parent_dirs(const char *path, struct sl_err *err)
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

/* Place nt threads (the check every thread count must pass) and say where
 * they go: "2 threads on PUs 1,1 (oversubscribed: 1 usable PU)". */
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
	used = (size_t)snprintf(buf, len, "%u thread(s), --pin %s: PUs ", nt, pin->text);
	for (unsigned i = 0; i < nt && used + 8 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", pus[i]);
	if (used + 8 >= len)
		snprintf(buf + len - 5, 5, "...");
	sl_cpulist_format(pus, nt, set, sizeof(set));
	free(pus);
	if (over && strlen(buf) + strlen(set) + 40 < len)
		snprintf(buf + strlen(buf), len - strlen(buf),
			 " (oversubscribed: the threads share PUs %s)", set);
	return 0;
}

static void print_banner(FILE *f, const struct sl_meta *meta,
			 const struct sl_topo *topo, const struct sl_calib *calib,
			 double clock_ns, double rmw_ns,
			 const struct sl_counter_set *cs)
{
	struct sl_topo_summary s;

	sl_topo_summarize(topo, &s);
	fprintf(f, "synclab %s on %s: %s, kernel %s\n", meta->version, meta->host,
		meta->cpu_model, meta->kernel);
	fprintf(f, "topology: %u package(s), %u core(s), %u PU(s); usable PUs: %s (%u)\n",
		s.packages, s.cores, s.pus, s.usable, s.usable_pus);
	fprintf(f, "calibration: %.1f work loops/us (measured in %.1f ms); clock read: %.1f ns; atomic RMW: %.2f ns\n",
		calib->loops_per_us, (double)calib->measured_ns / 1e6, clock_ns,
		rmw_ns);
	for (unsigned i = 0; i < cs->n; i++)
		if (!cs->ev[i].supported)
			fprintf(f, "counter %s: %s\n", cs->ev[i].name, cs->ev[i].why);
}

static void print_progress(FILE *f, const struct sl_point *pt,
			   const struct sl_result *res, unsigned reps)
{
	fprintf(f, "  %-16s threads %-4u rep %u/%u  ", pt->prim->name, pt->threads,
		pt->rep, reps);
	if (res->status == SL_STATUS_OK)
		fprintf(f, "%14.0f ops/s  %10.1f ns/op  fairness %.3f%s\n",
			res->ops_per_sec, res->ns_per_op, res->fairness,
			res->oversubscribed ? "  (oversubscribed)" : "");
	else
		fprintf(f, "%s: %s\n", sl_status_name(res->status), res->message);
}

int cmd_bench(int argc, char **argv)
{
	struct bench_conf c = {
		.threads = { 1, { usable_cpus() } },
		.duration_ns = SL_NS_PER_SEC,
		.warmup_ns = 200 * SL_NS_PER_MS,
		.stall_timeout_ns = 5 * SL_NS_PER_SEC,
		.repeat = 1,
		.locks = 1,
		.read_pct = 90,
		.capacity = 16,
		.permits = 2,
		.latency_period = 100,
		.pin = "compact",
		.counters = "default",
	};
	const struct sl_opt opts[] = {
		{ "threads", 't', SL_OPT_LIST, &c.threads, 1, 4096, "LIST",
		  "thread counts: N, a list 1,2,4,16 or a range 1-8; each is run" },
		{ "duration", 'd', SL_OPT_DURATION, &c.duration_ns, SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME", "measured window per run (e.g. 500ms, 2s)" },
		{ "warmup", 'w', SL_OPT_DURATION, &c.warmup_ns, 0, 600 * SL_NS_PER_SEC,
		  "TIME", "excluded warm-up before each window" },
		{ "repeat", 'r', SL_OPT_COUNT, &c.repeat, 1, 1000, "R",
		  "repetitions of every point" },
		{ "cs-ns", 0, SL_OPT_COUNT, &c.cs_ns, 0, 100000000, "NS",
		  "calibrated work inside the critical section, in ns" },
		{ "think-ns", 0, SL_OPT_COUNT, &c.think_ns, 0, 100000000, "NS",
		  "calibrated work outside it, between ops, in ns" },
		{ "cs-lines", 0, SL_OPT_COUNT, &c.cs_lines, 0, 4096, "N",
		  "shared cache lines written inside the critical section, beyond the counter" },
		{ "locks", 0, SL_OPT_COUNT, &c.locks, 1, 65536, "K",
		  "lock instances; each op picks one at random (1: full contention)" },
		{ "read-pct", 0, SL_OPT_COUNT, &c.read_pct, 0, 100, "P",
		  "rwlocks, RCU: percentage of ops that read" },
		{ "writers", 0, SL_OPT_COUNT, &c.writers, 0, 4095, "W",
		  "rwlocks, RCU: threads that only write (0: every thread mixes)" },
		{ "producers", 0, SL_OPT_COUNT, &c.producers, 0, 4095, "N",
		  "condvars, queues: producer threads (0: half the threads)" },
		{ "consumers", 0, SL_OPT_COUNT, &c.consumers, 0, 4095, "N",
		  "condvars, queues: consumer threads (0: the others)" },
		{ "capacity", 0, SL_OPT_COUNT, &c.capacity, 1, 1048576, "N",
		  "condvars, bounded queues: buffer slots" },
		{ "permits", 0, SL_OPT_COUNT, &c.permits, 1, 65536, "K",
		  "semaphores: permits, the threads allowed in at once" },
		{ "latency", 'L', SL_OPT_FLAG, &c.latency, 0, 0, NULL,
		  "sample latency (lock acquire, queue enqueue->dequeue, workqueue submit->start) into histograms: lat_* columns" },
		{ "latency-period", 0, SL_OPT_COUNT, &c.latency_period, 1, 1000000, "N",
		  "with --latency: time about one op in N (1: every op)" },
		{ "pin", 'p', SL_OPT_STRING, &c.pin, 0, 0, "POLICY",
		  "compact, scatter, none, or a PU list like 0,2,4-7" },
		{ "counters", 'c', SL_OPT_STRING, &c.counters, 0, 0, "LIST",
		  "perf events (libpfm4 names), 'default' or 'none'" },
		{ "csv", 'o', SL_OPT_STRING, &c.csv, 0, 0, "FILE",
		  "write one CSV row per run to FILE (- for standard output)" },
		{ "plot", 0, SL_OPT_STRING, &c.plot, 0, 0, "DIR",
		  "write a throughput chart (PNG, gnuplot script and data) into DIR" },
		{ "stall-timeout", 0, SL_OPT_DURATION, &c.stall_timeout_ns,
		  10 * SL_NS_PER_MS, 3600 * SL_NS_PER_SEC, "TIME",
		  "threads still inside an op this long after the stop signal are stuck" },
		{ "quiet", 'q', SL_OPT_FLAG, &c.quiet, 0, 0, NULL,
		  "no banner, progress or notes: only the table and errors" },
		{ "help", 'h', SL_OPT_FLAG, &c.help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	const struct sl_prim *prims[MAX_PRIMS];
	unsigned nprims;
	struct sl_pin_spec pin;
	struct sl_counter_set counters;
	struct sl_topo *topo = NULL;
	struct sl_calib calib;
	struct sl_meta meta;
	struct sl_csv *csv = NULL;
	struct sl_point *points = NULL;
	struct sl_result *results = NULL;
	struct sl_row *rows = NULL;
	size_t npoints, done = 0;
	struct sl_err err = { "" };
	FILE *info, *table_out;
	int first, status = SL_EXIT_OK;
	bool stop_all = false;
	double clock_ns, rmw_ns, uncontended_ns[MAX_PRIMS];
	static char placement[SL_LIST_MAX][160];

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("bench", err.msg);
	if (c.help) {
		sl_opt_usage(stdout, bench_usage, bench_summary, opts);
		return SL_EXIT_OK;
	}
	if (parse_prims(argc - first, argv + first, prims, &nprims, &err) < 0 ||
	    sl_pin_parse(c.pin, &pin, &err) < 0 ||
	    (c.csv && check_output_file("--csv", c.csv, &err) < 0) ||
	    (c.plot && check_output_dir("--plot", c.plot, &err) < 0))
		return sl_usage_error("bench", err.msg);
	if (sl_counters_resolve(c.counters, &counters, &err) < 0)
		return sl_usage_error("bench", err.msg);
	if (sl_topo_load(&topo, NULL, NULL, &err) < 0) {
		fprintf(stderr, "synclab bench: cannot read this machine's topology: %s\n", err.msg);
		return SL_EXIT_UNSUPPORTED;
	}
	/* Every thread count must be placeable before anything runs. */
	for (unsigned i = 0; i < c.threads.n; i++) {
		if (describe_placement(topo, &pin, (unsigned)c.threads.v[i],
				       placement[i], sizeof(placement[i]), &err) < 0) {
			sl_topo_free(topo);
			return sl_usage_error("bench", err.msg);
		}
	}
	for (unsigned k = 0; k < nprims; k++) {
		char why[192];

		if (prims[k]->supported && !prims[k]->supported(why, sizeof(why))) {
			fprintf(stderr, "synclab bench: '%s' cannot run on this machine: %s\n",
				prims[k]->name, why);
			sl_topo_free(topo);
			return SL_EXIT_UNSUPPORTED;
		}
		if (!sl_shape_for(prims[k]->kind)) {
			fprintf(stderr, "synclab bench: '%s' is a %s primitive, and no workload drives that kind yet\n",
				prims[k]->name, sl_prim_kind_name(prims[k]->kind));
			sl_topo_free(topo);
			return SL_EXIT_UNSUPPORTED;
		}
		for (unsigned i = 0; i < c.threads.n; i++) {
			struct sl_point probe;

			if (make_point(&probe, &c, prims[k], (unsigned)c.threads.v[i], 1, &err) < 0) {
				sl_topo_free(topo);
				return sl_usage_error("bench", err.msg);
			}
		}
	}

	npoints = (size_t)nprims * c.threads.n * c.repeat;
	points = calloc(npoints, sizeof(*points));
	results = calloc(npoints, sizeof(*results));
	rows = calloc(npoints, sizeof(*rows));
	if (!points || !results || !rows) {
		fprintf(stderr, "synclab bench: out of memory for %zu runs\n", npoints);
		status = SL_EXIT_FAIL;
		goto out;
	}

	info = c.csv && strcmp(c.csv, "-") == 0 ? stderr : stdout;
	table_out = info;
	if (c.quiet)
		info = NULL;
	else if (info == stdout)
		info = stderr; /* banner and progress never mix with the table */

	sl_meta_collect(&meta);
	if (sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	clock_ns = sl_clock_cost_ns();
	rmw_ns = sl_rmw_cost_ns();
	for (unsigned k = 0; k < nprims; k++)
		uncontended_ns[k] = sl_uncontended_ns(prims[k]);
	if (info) {
		/* The pair is called through the descriptor; the null pair is
		 * that call overhead alone.  Out-of-order execution overlaps
		 * the two, so both are shown rather than their difference. */
		double call_ns = sl_uncontended_ns(sl_prim_find("null"));

		print_banner(info, &meta, topo, &calib, clock_ns, rmw_ns, &counters);
		for (unsigned i = 0; i < c.threads.n; i++)
			fprintf(info, "placement: %s\n", placement[i]);
		for (unsigned k = 0; k < nprims; k++)
			if (!isnan(uncontended_ns[k]) &&
			    !(prims[k]->flags & SL_PRIM_NO_EXCLUSION))
				fprintf(info, "uncontended %s: %.2f ns per lock+unlock through the descriptor (null pair: %.2f ns)\n",
					prims[k]->name, uncontended_ns[k], call_ns);
	}

	if (c.csv && (make_parent_dirs(c.csv, &err) < 0 ||
		      sl_csv_open(&csv, c.csv, &err) < 0)) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	sl_catch_interrupts();

	/* A failed check does not stop the other points (their figures are
	 * still worth having); a stuck, interrupted or failing harness does. */
	for (unsigned k = 0; k < nprims && !stop_all; k++) {
		for (unsigned t = 0; t < c.threads.n && !stop_all; t++) {
			for (unsigned r = 1; r <= c.repeat && !stop_all; r++) {
				struct sl_point *pt = &points[done];
				struct sl_result *res = &results[done];

				if (make_point(pt, &c, prims[k], (unsigned)c.threads.v[t], r, &err) < 0)
					SL_BUG("point validated earlier: %s", err.msg);
				pt->topo = topo;
				pt->pin = &pin;
				pt->counters = counters.n ? &counters : NULL;
				pt->calib = &calib;
				pt->uncontended_ns = uncontended_ns[k];
				pt->rmw_ns = rmw_ns;
				if (sl_run_point(pt, res, &err) < 0) {
					fprintf(stderr, "synclab bench: %s: %s\n", prims[k]->name, err.msg);
					status = SL_EXIT_FAIL;
					stop_all = true;
					break;
				}
				if (res->status == SL_STATUS_INTERRUPTED) {
					sl_result_release(res);
					status = SL_EXIT_INTERRUPTED;
					stop_all = true;
					break;
				}
				rows[done] = (struct sl_row){ pt, res, &meta, &calib };
				done++;
				if (info)
					print_progress(info, pt, res, (unsigned)c.repeat);
				if (csv && sl_csv_write_row(csv, &rows[done - 1], &err) < 0) {
					fprintf(stderr, "synclab bench: %s\n", err.msg);
					status = SL_EXIT_FAIL;
					stop_all = true;
					break;
				}
				if (res->status != SL_STATUS_OK) {
					fprintf(stderr, "synclab bench: %s with %u threads: %s: %s\n",
						pt->prim->name, pt->threads,
						sl_status_name(res->status), res->message);
					status = SL_EXIT_FAIL;
					/* Stuck threads still hold CPUs and memory:
					 * nothing after them would be trustworthy. */
					if (res->status == SL_STATUS_STUCK)
						stop_all = true;
				}
			}
		}
	}

	if (csv && sl_csv_close(csv, &err) < 0) {
		fprintf(stderr, "synclab bench: %s\n", err.msg);
		if (status == SL_EXIT_OK)
			status = SL_EXIT_FAIL;
	}
	csv = NULL;
	if (info) {
		for (size_t i = 0; i < done; i++)
			if (results[i].oversubscribed) {
				fprintf(info, "note: some runs had more threads than usable PUs (oversubscribed): threads shared PUs\n");
				break;
			}
	}
	if (done && !(c.quiet && table_out == stderr)) {
		if (info)
			fputc('\n', info);
		sl_table_print(table_out, rows, done, &counters);
		fflush(table_out);
	}
	if (c.plot && done && status != SL_EXIT_INTERRUPTED) {
		char png[PATH_MAX];
		int rc = sl_plot_throughput(c.plot, rows, done, png, sizeof(png), &err);

		if (rc == -ENOENT) {
			fprintf(stderr, "synclab bench: %s\n", err.msg);
		} else if (rc < 0) {
			fprintf(stderr, "synclab bench: chart failed: %s\n", err.msg);
			if (status == SL_EXIT_OK)
				status = SL_EXIT_FAIL;
		} else if (info) {
			fprintf(info, "chart: %s\n", png);
		}
	}
	if (status == SL_EXIT_INTERRUPTED)
		fprintf(stderr, "synclab bench: interrupted; %zu completed run(s) kept\n", done);

out:
	if (csv)
		sl_csv_close(csv, &err);
	/* A stuck run leaves threads inside the topology's binding calls'
	 * reach; the process is about to exit, so keep everything alive. */
	for (size_t i = 0; i < done; i++)
		if (results[i].status == SL_STATUS_STUCK)
			return status;
	for (size_t i = 0; i < done; i++)
		sl_result_release(&results[i]);
	free(points);
	free(results);
	free(rows);
	sl_topo_free(topo);
	return status;
}
