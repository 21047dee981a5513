/*
 * synclab env: the environment fingerprint and the facts behind it on
 * stdout, and on stderr the warnings for the settings that make numbers
 * noisy.  Sweeps save the same facts beside their CSV (reports/env.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "reports/env.h"
#include "reports/report.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/opt.h"
#include "workloads/workload.h"

static const char env_usage[] =
	"synclab env [--root DIR] [--output FILE] [--fingerprint] [--measure TIME] [--quiet]";
static const char env_summary[] =
	"Print the environment fingerprint and the facts it is made of: kernel,\n"
	"libc, CPU, topology, frequency governor and boost, idle states, clocksource,\n"
	"huge pages, isolated CPUs, perf access, hypervisor, load.  Warnings for the\n"
	"settings that make numbers noisy go to stderr, one line each, with what to\n"
	"do.  Two results with the same fingerprint come from the same environment.\n"
	"--measure also runs the busy-work loop and reports how steady its rate is.";

/* A spread of the work loop's rate beyond this (90th over 10th percentile)
 * means the host changed the CPU's speed while it ran. */
#define ENV_RATE_SPREAD_WARN 1.2
/* Rounds of 0.4 ms or longer over the longest --measure (100 s). */
#define ENV_MEASURE_MAX_ROUNDS 250000

/*
 * --measure: the busy-work loop (the one --cs-ns and --think-ns spend) in
 * rounds of about 1 ms for window_ns, its rate as a fact line on stdout and,
 * when the 90th percentile exceeds the 10th by more than a fifth, a warning.
 * Percentiles rather than extremes, so that one round cut by a preemption
 * does not count.  On the 2-vCPU KVM guest the rate sat at about 2100 or
 * 3700 loops/us for milliseconds to minutes at a time: the host runs the
 * vCPU at two speeds, and every figure moves with it.
 */
static int env_measure(uint64_t window_ns, bool warn)
{
	struct sl_calib calib;
	struct sl_err err = { "" };
	double *rates, lo, mid, hi;
	size_t n;

	if (sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "synclab env: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	rates = malloc(ENV_MEASURE_MAX_ROUNDS * sizeof(*rates));
	if (!rates) {
		fprintf(stderr, "synclab env: out of memory for --measure\n");
		return SL_EXIT_FAIL;
	}
	n = sl_work_rate_rounds(&calib, window_ns, rates, ENV_MEASURE_MAX_ROUNDS);
	lo = sl_stat_quantile(rates, n, 0.10);
	mid = sl_stat_median(rates, n);
	hi = sl_stat_quantile(rates, n, 0.90);
	free(rates);
	if (n == 0 || !(lo > 0.0)) {
		fprintf(stderr, "synclab env: --measure: the work loop could not be timed\n");
		return SL_EXIT_FAIL;
	}
	printf("%-23s %.0f..%.0f loops/us (10th..90th percentile of %zu rounds of about 1 ms; median %.0f)\n",
	       "work-loop rate:", lo, hi, n, mid);
	fflush(stdout);
	if (warn && hi > ENV_RATE_SPREAD_WARN * lo)
		fprintf(stderr, "warning: the work loop's rate moved %.2fx within %.0f ms (%.0f..%.0f loops/us): "
				"the host changes this CPU's speed under a run (clock, a busy SMT sibling); figures move as "
				"much from run to run, so compare within one run (bench --baseline) over several repetitions\n",
			hi / lo, (double)window_ns / SL_NS_PER_MS, lo, hi);
	return SL_EXIT_OK;
}

/* synclab env: the facts of this machine (or of a --root tree), its
 * fingerprint, or the environment file a sweep saves. */
int cmd_env(int argc, char **argv)
{
	const char *root = "/", *output = NULL;
	bool help = false, only_fp = false, quiet = false;
	uint64_t measure_ns = 0;
	const struct sl_opt opts[] = {
		{ "root", 0, SL_OPT_STRING, &root, 0, 0, "DIR",
		  "read /proc and /sys under DIR (a captured tree) instead of this machine" },
		{ "output", 'o', SL_OPT_STRING, &output, 0, 0, "FILE",
		  "write the environment file (as sweeps save it) to FILE instead of stdout" },
		{ "fingerprint", 0, SL_OPT_FLAG, &only_fp, 0, 0, NULL,
		  "print only the fingerprint (16 hex digits)" },
		{ "measure", 0, SL_OPT_DURATION, &measure_ns, 10 * SL_NS_PER_MS,
		  100 * SL_NS_PER_SEC, "TIME",
		  "also run the busy-work loop for TIME here and report how steady its rate is" },
		{ "quiet", 'q', SL_OPT_FLAG, &quiet, 0, 0, NULL,
		  "no warnings on stderr" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	char warn[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env env;
	struct sl_err err;
	size_t nw;
	int first = sl_opt_parse(opts, argc, argv, &err);

	if (first < 0)
		return sl_usage_error("env", err.msg);
	if (help) {
		sl_opt_usage(stdout, env_usage, env_summary, opts);
		return SL_EXIT_OK;
	}
	if (first < argc) {
		char msg[256];

		snprintf(msg, sizeof(msg), "unexpected argument '%s' (env takes options only)",
			 argv[first]);
		return sl_usage_error("env", msg);
	}
	if (output && only_fp)
		return sl_usage_error("env", "--fingerprint and --output exclude each other (accepted: one of them)");
	if (measure_ns && (output || only_fp))
		return sl_usage_error("env", "--measure adds to the printed facts: not with --output or --fingerprint (accepted: one of them)");
	if (measure_ns && strcmp(root, "/") != 0)
		return sl_usage_error("env", "--measure times this machine, not a --root tree (accepted: one of them)");
	if (output) {
		struct stat st;
		char msg[SL_ERR_MAX + 16];

		if (stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(msg, sizeof(msg), "--output: '%s' is a directory (accepted: a file name)",
				 output);
			return sl_usage_error("env", msg);
		}
		if (sl_check_creatable(output, &err) < 0) {
			snprintf(msg, sizeof(msg), "--output: %s", err.msg);
			return sl_usage_error("env", msg);
		}
	}
	if (sl_env_collect(&env, root, &err) < 0) {
		char msg[SL_ERR_MAX + 16];

		snprintf(msg, sizeof(msg), "--root: %s", err.msg);
		return sl_usage_error("env", msg);
	}

	if (output) {
		if (sl_make_parent_dirs(output, &err) < 0 || sl_env_write(output, &env, &err) < 0) {
			fprintf(stderr, "synclab env: %s\n", err.msg);
			return SL_EXIT_FAIL;
		}
	} else if (only_fp) {
		printf("%s\n", sl_env_fingerprint(&env));
	} else {
		sl_env_print(stdout, &env);
		if (measure_ns) {
			int rc = env_measure(measure_ns, !quiet);

			if (rc != SL_EXIT_OK)
				return rc;
		}
	}

	if (!quiet) {
		/* After the facts, so that a terminal shows them last. */
		fflush(stdout);
		nw = sl_env_warnings(&env, warn, SL_ENV_WARN_MAX);
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "%s\n", warn[i]);
	}
	return SL_EXIT_OK;
}
