/*
 * synclab demo: the lab's experiments.  With no name, list them; with a
 * name, run that one: the experiment (lab/) prints its question, evidence
 * and explanation; this command sets up the machine context, the output
 * directory (a CSV of every run beside the experiment's own tables and
 * charts) and turns the outcome into an exit status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "lab/lab.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/opt.h"

static const char demo_usage[] = "synclab demo [options] [NAME]";
static const char demo_summary[] =
	"Run one experiment of the lab and explain what it measured; with no NAME,\n"
	"list the experiments.  Each runs its contrasting configurations with the\n"
	"ordinary runner (pinning, warm-up, window, counters), --repeat times each,\n"
	"and prints medians, then an explanation computed from them.  --out DIR\n"
	"keeps a CSV of every run, the evidence tables and charts.";

static void list_demos(FILE *f)
{
	fprintf(f, "experiments (synclab demo NAME; see synclab(1), LAB):\n");
	for (size_t i = 0; i < sl_demo_count(); i++)
		fprintf(f, "  %-20s %s\n", sl_demo_at(i)->name, sl_demo_at(i)->question);
}

int cmd_demo(int argc, char **argv)
{
	/* 0: not given (the defaults depend on --quick, filled in below). */
	uint64_t repeat = 0, duration_ns = 0, warmup_ns = 50 * SL_NS_PER_MS;
	const char *out_dir = NULL, *counters = "default";
	bool quick = false, help = false;
	const struct sl_opt opts[] = {
		{ "out", 'o', SL_OPT_STRING, &out_dir, 0, 0, "DIR",
		  "write every run's CSV row, the evidence tables and charts into DIR" },
		{ "repeat", 'r', SL_OPT_COUNT, &repeat, 1, 1000, "R",
		  "runs of each configuration (figures are medians)" },
		{ "duration", 'd', SL_OPT_DURATION, &duration_ns, SL_NS_PER_MS,
		  3600 * SL_NS_PER_SEC, "TIME", "measured window of each run" },
		{ "warmup", 'w', SL_OPT_DURATION, &warmup_ns, 0, 600 * SL_NS_PER_SEC,
		  "TIME", "excluded warm-up before each window" },
		{ "counters", 'c', SL_OPT_STRING, &counters, 0, 0, "LIST",
		  "perf events (libpfm4 names), 'default' or 'none'" },
		{ "quick", 'Q', SL_OPT_FLAG, &quick, 0, 0, NULL,
		  "short mode: fewer configurations, one 50 ms run each (for tests)" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	const struct sl_demo *demo;
	struct sl_counter_set set;
	struct sl_topo *topo = NULL;
	struct sl_topo_summary ts;
	struct sl_calib calib;
	struct sl_meta meta;
	struct sl_csv *runs = NULL;
	struct sl_demo_ctx ctx;
	struct sl_err err = { "" };
	char path[4200];
	int first, rc, status;

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("demo", err.msg);
	if (help) {
		repeat = repeat ? repeat : 3;
		duration_ns = duration_ns ? duration_ns : 300 * SL_NS_PER_MS;
		sl_opt_usage(stdout, demo_usage, demo_summary, opts);
		fputc('\n', stdout);
		list_demos(stdout);
		return SL_EXIT_OK;
	}
	if (first == argc) {
		list_demos(stdout);
		return SL_EXIT_OK;
	}
	if (argc - first > 1)
		return sl_usage_error("demo", "one experiment at a time (e.g. 'synclab demo false-sharing'; 'synclab demo' lists them)");
	demo = sl_demo_find(argv[first]);
	if (!demo) {
		const char *near = sl_demo_suggest(argv[first]);

		snprintf(err.msg, sizeof(err.msg), "unknown experiment '%s'%s%s%s (see 'synclab demo')",
			 argv[first], near ? ": did you mean '" : "", near ? near : "",
			 near ? "'?" : "");
		return sl_usage_error("demo", err.msg);
	}
	if (!repeat)
		repeat = quick ? 1 : 3;
	if (!duration_ns)
		duration_ns = (quick ? 50 : 300) * SL_NS_PER_MS;
	if (quick && warmup_ns > 10 * SL_NS_PER_MS)
		warmup_ns = 10 * SL_NS_PER_MS;
	if (sl_counters_resolve(counters, &set, &err) < 0)
		return sl_usage_error("demo", err.msg);
	if (out_dir && sl_check_output_dir("--out", out_dir, &err) < 0)
		return sl_usage_error("demo", err.msg);
	if (sl_topo_load(&topo, NULL, NULL, &err) < 0) {
		fprintf(stderr, "synclab demo: cannot read this machine's topology: %s\n", err.msg);
		return SL_EXIT_UNSUPPORTED;
	}
	sl_topo_summarize(topo, &ts);
	if (sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "synclab demo: %s\n", err.msg);
		sl_topo_free(topo);
		return SL_EXIT_FAIL;
	}
	sl_meta_collect(&meta);
	if (out_dir) {
		snprintf(path, sizeof(path), "%s/%s-runs.csv", out_dir, demo->name);
		if (sl_mkdir_p(out_dir, &err) < 0 || sl_csv_open(&runs, path, &err) < 0) {
			fprintf(stderr, "synclab demo: %s\n", err.msg);
			sl_topo_free(topo);
			return SL_EXIT_FAIL;
		}
	}
	sl_catch_interrupts();
	ctx = (struct sl_demo_ctx){
		.topo = topo,
		.calib = &calib,
		.counters = &set,
		.meta = &meta,
		.interrupt = &sl_interrupt_flag,
		.repeat = (unsigned)repeat,
		.duration_ns = duration_ns,
		.warmup_ns = warmup_ns,
		.quick = quick,
		.pus = ts.usable_pus,
		.out_dir = out_dir,
		.name = demo->name,
		.runs = runs,
	};
	printf("synclab demo %s: %s\n", demo->name, demo->question);
	printf("machine: %s, %u PU%s usable; %u run%s of %.0f ms per configuration, medians\n\n",
	       meta.cpu_model, ts.usable_pus, ts.usable_pus == 1 ? "" : "s",
	       ctx.repeat, ctx.repeat == 1 ? "" : "s", (double)duration_ns / 1e6);
	fflush(stdout);
	rc = demo->run(&ctx, stdout, &err);
	fflush(stdout);
	if (runs) {
		struct sl_err cerr;

		if (sl_csv_close(runs, &cerr) < 0 && rc == 0)
			rc = sl_err_set(&err, -EIO, "%s", cerr.msg);
		else if (rc == 0)
			printf("  wrote %s (every run, synclab's CSV columns)\n", path);
	}
	if (rc == -ENOTSUP) {
		fprintf(stderr, "synclab demo %s: this machine cannot show it: %s\n", demo->name, err.msg);
		status = SL_EXIT_UNSUPPORTED;
	} else if (rc == -EINTR || atomic_load_explicit(&sl_interrupt_flag, memory_order_relaxed)) {
		fprintf(stderr, "synclab demo %s: interrupted\n", demo->name);
		status = SL_EXIT_INTERRUPTED;
	} else if (rc < 0) {
		fprintf(stderr, "synclab demo %s: %s\n", demo->name, err.msg);
		status = SL_EXIT_FAIL;
	} else {
		status = SL_EXIT_OK;
	}
	sl_topo_free(topo);
	return status;
}
