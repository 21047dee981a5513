/*
 * synclab env: the environment fingerprint and the facts behind it on
 * stdout, and on stderr the warnings for the settings that make numbers
 * noisy.  Sweeps save the same facts beside their CSV (reports/env.h).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
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
	"--measure also runs the busy-work loop on each usable PU in turn and reports\n"
	"how steady its rate is and whether the PUs differ.";

/* A spread of the work loop's rate beyond this (90th over 10th percentile,
 * each round read against its own PU's median) means the host changed the
 * CPU's speed while it ran. */
#define ENV_RATE_SPREAD_WARN 1.2
/* Rounds of 0.4 ms or longer over the longest --measure (100 s). */
#define ENV_MEASURE_MAX_ROUNDS 250000
/* Each PU gets the window over the PUs, but at least this long. */
#define ENV_MEASURE_PU_MIN_NS (2 * SL_NS_PER_MS)

/* The CPUs this thread may run on, in a set sized for the machine;
 * NULL with errno on failure.  *setsize is set for the CPU_*_S macros. */
static cpu_set_t *env_affinity(size_t *setsize, int *ncpus)
{
	for (int n = 1024; n <= 1 << 16; n *= 2) {
		cpu_set_t *set = CPU_ALLOC(n);
		size_t size = CPU_ALLOC_SIZE(n);

		if (!set)
			return NULL;
		if (sched_getaffinity(0, size, set) == 0) {
			*setsize = size;
			*ncpus = n;
			return set;
		}
		CPU_FREE(set);
		if (errno != EINVAL)
			return NULL;
	}
	errno = EINVAL;
	return NULL;
}

/* Bound to each PU this process may use in turn, the rounds of the work
 * loop: every rate into rates (at most max), each PU's median into pu[].
 * Returns the PUs measured, or -errno with the thread's affinity restored. */
static int env_measure_pus(const struct sl_calib *calib, uint64_t window_ns,
			   double *rates, size_t max, size_t *nrates,
			   struct sl_env_pu_rate **pu_out)
{
	size_t setsize, n = 0;
	int ncpus, npus, k = 0, rc = 0;
	cpu_set_t *all = env_affinity(&setsize, &ncpus), *one;
	struct sl_env_pu_rate *pu;
	uint64_t per_pu;

	if (!all)
		return -errno;
	npus = CPU_COUNT_S(setsize, all);
	one = CPU_ALLOC(ncpus);
	pu = calloc(npus > 0 ? (size_t)npus : 1, sizeof(*pu));
	if (!one || !pu || npus == 0) {
		rc = npus == 0 ? -ESRCH : -ENOMEM;
		goto out;
	}
	per_pu = window_ns / (uint64_t)npus;
	if (per_pu < ENV_MEASURE_PU_MIN_NS)
		per_pu = ENV_MEASURE_PU_MIN_NS;
	for (int cpu = 0; cpu < ncpus && n < max; cpu++) {
		size_t got;

		if (!CPU_ISSET_S(cpu, setsize, all))
			continue;
		CPU_ZERO_S(setsize, one);
		CPU_SET_S(cpu, setsize, one);
		if (sched_setaffinity(0, setsize, one) != 0) {
			rc = -errno;
			break;
		}
		got = sl_work_rate_rounds(calib, per_pu, rates + n, max - n);
		if (got == 0)
			continue;
		pu[k].pu = cpu;
		pu[k].rounds = got;
		pu[k].median = sl_stat_median(rates + n, got);
		k++;
		n += got;
	}
	if (sched_setaffinity(0, setsize, all) != 0 && rc == 0)
		rc = -errno;
out:
	CPU_FREE(all);
	if (one)
		CPU_FREE(one);
	if (rc < 0) {
		free(pu);
		return rc;
	}
	*nrates = n;
	*pu_out = pu;
	return k;
}

/*
 * --measure: the busy-work loop (the one --cs-ns and --think-ns spend) in
 * rounds of about 1 ms for window_ns, bound to each usable PU in turn: the
 * rate over every round and each PU's median as fact lines on stdout; a
 * warning when the rounds of one PU spread (the 90th percentile of the
 * rounds, each over its PU's median, exceeds the 10th by more than a fifth)
 * or when one PU's median exceeds another's by as much.  Percentiles and
 * medians rather than extremes, so that one round cut by a preemption does
 * not count.  On the 2-vCPU KVM guest the rate sat at about 2100 or 3700
 * loops/us for milliseconds to minutes at a time: the host runs the vCPU at
 * two speeds, and every figure moves with it.  A machine with cores of two
 * kinds shows up as PUs that differ.
 */
static int env_measure(uint64_t window_ns, bool warn)
{
	struct sl_calib calib;
	struct sl_err err = { "" };
	struct sl_env_pu_rate *pu = NULL;
	double *rates, lo, mid, hi, rel_lo, rel_hi;
	char line[512], pu_warn[SL_ENV_WARN_LEN * 2];
	size_t n = 0, at = 0;
	int npu;

	if (sl_calibrate(&calib, &err) < 0) {
		fprintf(stderr, "synclab env: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	rates = malloc(ENV_MEASURE_MAX_ROUNDS * sizeof(*rates));
	if (!rates) {
		fprintf(stderr, "synclab env: out of memory for --measure\n");
		return SL_EXIT_FAIL;
	}
	npu = env_measure_pus(&calib, window_ns, rates, ENV_MEASURE_MAX_ROUNDS, &n, &pu);
	if (npu < 0) {
		fprintf(stderr, "synclab env: --measure: binding to each usable PU in turn failed: %s\n",
			strerror(-npu));
		free(rates);
		return SL_EXIT_FAIL;
	}
	lo = sl_stat_quantile(rates, n, 0.10);
	mid = sl_stat_median(rates, n);
	hi = sl_stat_quantile(rates, n, 0.90);
	if (npu == 0 || !(lo > 0.0)) {
		fprintf(stderr, "synclab env: --measure: the work loop could not be timed\n");
		free(rates);
		free(pu);
		return SL_EXIT_FAIL;
	}
	/* Each round over its own PU's median: how far the speed moved under
	 * one PU, the differences between PUs taken out. */
	for (int i = 0; i < npu; i++) {
		for (size_t k = 0; k < pu[i].rounds; k++)
			rates[at + k] /= pu[i].median;
		at += pu[i].rounds;
	}
	rel_lo = sl_stat_quantile(rates, n, 0.10);
	rel_hi = sl_stat_quantile(rates, n, 0.90);
	free(rates);
	sl_env_pu_rates_text(pu, (size_t)npu, line, sizeof(line), pu_warn, sizeof(pu_warn));
	free(pu);

	printf("%-23s %.0f..%.0f loops/us (10th..90th percentile of %zu rounds of about 1 ms; median %.0f)\n",
	       "work-loop rate:", lo, hi, n, mid);
	printf("%-23s %s\n", "work-loop by PU:", line);
	fflush(stdout);
	if (warn && rel_hi > ENV_RATE_SPREAD_WARN * rel_lo)
		fprintf(stderr, "warning: the work loop's rate moved %.2fx under one PU within %.0f ms (%.0f..%.0f loops/us over all): "
				"the host changes the CPU's speed under a run (clock, a busy SMT sibling); figures move as "
				"much from run to run, so compare within one run (bench --baseline) over several repetitions\n",
			rel_hi / rel_lo, (double)window_ns / SL_NS_PER_MS, lo, hi);
	if (warn && pu_warn[0])
		fprintf(stderr, "%s\n", pu_warn);
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
		  "also run the busy-work loop for TIME here, on each usable PU in turn, and report how steady its rate is and how the PUs differ" },
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
