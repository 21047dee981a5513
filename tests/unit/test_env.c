/*
 * The environment collector over fixture trees in tests/data/env: a quiet
 * bare-metal box set up for benchmarking (every fact readable, no warning),
 * a noisy VM with the defaults left on (every warning), trees with files
 * missing or malformed (unknown, never guessed), the fingerprint's inputs,
 * and the environment file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/env.h"

/* tests/data/env, found from this file's path as the compiler saw it (the
 * Makefile compiles from the repository root, and the tests run there). */
static void data_dir(char *buf, size_t n, const char *tree)
{
	const char *tail = strstr(__FILE__, "tests/unit/test_env.c");
	int prefix = tail ? (int)(tail - __FILE__) : 0;

	snprintf(buf, n, "%.*stests/data/env/%s", prefix, __FILE__, tree);
	if (access(buf, R_OK) != 0)
		fail_msg("fixture tree '%s' is missing (run from the repository root)", buf);
}

static void collect(struct sl_env *e, const char *tree)
{
	char root[PATH_MAX];
	struct sl_err err;

	data_dir(root, sizeof(root), tree);
	if (sl_env_collect(e, root, &err) != 0)
		fail_msg("sl_env_collect(%s): %s", root, err.msg);
}

/* A scratch tree under /tmp, removed by rm_tree. */
static void make_tree(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/sl-env-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t warnings(const struct sl_env *e, char out[][SL_ENV_WARN_LEN])
{
	return sl_env_warnings(e, out, SL_ENV_WARN_MAX);
}

/* Whether some warning line contains text. */
static bool warned(char w[][SL_ENV_WARN_LEN], size_t n, const char *text)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(w[i], text))
			return true;
	return false;
}

static void test_quiet_box(void **state)
{
	char w[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env e;

	(void)state;
	collect(&e, "quiet");
	assert_false(e.live);
	assert_string_equal(e.host, "quietbox");
	assert_string_equal(e.kernel, "6.1.0-18-amd64");
	assert_string_equal(e.preemption, "PREEMPT_DYNAMIC");
	assert_non_null(strstr(e.libc, "not probed"));
	/* The double space of the model name is squeezed. */
	assert_string_equal(e.cpu_model, "Intel(R) Xeon(R) CPU E3-1230 v6 @ 3.50GHz");
	assert_string_equal(e.cpu_id, "GenuineIntel family 6 model 158 stepping 9");
	assert_string_equal(e.microcode, "0xf4");
	assert_int_equal(e.pus_online, 4);
	assert_string_equal(e.online, "0-3");
	assert_int_equal(e.pus_usable, 4);
	assert_string_equal(e.usable, "0-3");
	assert_int_equal(e.cores, 4);
	assert_int_equal(e.packages, 1);
	assert_int_equal(e.numa_nodes, 1);
	assert_int_equal(e.pus_per_core, 1);
	assert_int_equal(e.smt, SL_ENV_NO);
	assert_string_equal(e.smt_control, "off");
	assert_string_equal(e.governor, "performance");
	assert_false(e.governor_mixed);
	assert_string_equal(e.scaling_driver, "intel_pstate (active)");
	assert_string_equal(e.epp, "performance");
	assert_int_equal(e.hw_min_khz, 800000);
	assert_int_equal(e.hw_max_khz, 3500000);
	assert_int_equal(e.policy_min_khz, 3500000);
	assert_int_equal(e.policy_max_khz, 3500000);
	assert_int_equal(e.boost, SL_ENV_NO);
	assert_string_equal(e.boost_source, "intel_pstate/no_turbo=1");
	assert_string_equal(e.idle_driver, "intel_idle");
	assert_string_equal(e.idle_governor, "menu");
	/* C6 is disabled: the deepest enabled state is C1E. */
	assert_int_equal(e.idle_states_enabled, 3);
	assert_string_equal(e.idle_deepest, "C1E");
	assert_int_equal(e.idle_deepest_us, 10);
	assert_string_equal(e.clocksource, "tsc");
	assert_string_equal(e.clocksources, "tsc hpet acpi_pm");
	assert_string_equal(e.thp, "madvise");
	assert_string_equal(e.thp_defrag, "madvise");
	assert_int_equal(e.numa_balancing, 0);
	assert_true(e.isolated_known);
	assert_string_equal(e.isolated, "2-3");
	assert_true(e.nohz_full_known);
	assert_string_equal(e.nohz_full, "2-3");
	assert_string_equal(e.mitigations, "2 mitigated, 1 vulnerable, 2 not affected");
	assert_string_equal(e.cpu_quota, "none");
	assert_true(e.quota_cpus == 0);
	assert_int_equal(e.perf_paranoid, 1);
	assert_int_equal(e.nmi_watchdog, 0);
	assert_int_equal(e.hw_counters, SL_ENV_UNKNOWN);
	assert_non_null(strstr(e.hw_counters_text, "not probed"));
	/* Supermicro is no hypervisor; no flag in cpuinfo. */
	assert_int_equal(e.hypervisor, SL_ENV_NO);
	assert_string_equal(e.hypervisor_text, "none detected");
	assert_string_equal(e.container, "none detected");
	assert_true(e.steal_pct == 0.0);
	assert_true(e.load[0] == 0.02 && e.load[1] == 0.05 && e.load[2] == 0.01);

	assert_int_equal(warnings(&e, w), 0);
}

static void test_noisy_vm(void **state)
{
	static const char *const expected[] = {
		"warning: frequency governor is 'powersave', not 'performance'",
		"warning: boost is on (cpufreq/boost=1)",
		"warning: SMT is on",
		"warning: running under a hypervisor (QEMU)",
		"warning: perf_event_paranoid is 3",
		"warning: transparent huge pages are 'always'",
		"warning: load average 6.50 on 8 PUs",
		"warning: clocksource is 'hpet'",
		"warning: NUMA balancing is on",
		"warning: the cgroup limits CPU time to 2.00 CPUs",
		"hint: no isolated CPUs",
		"hint: only 4 of 8 online PUs are usable",
		"hint: frequency capped at 2000 of 3000 MHz",
		"hint: idle state 'C2' (exit latency 400 us)",
		"hint: a hypervisor can also change a vCPU's speed mid-run",
	};
	char w[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env e;
	size_t n;

	(void)state;
	collect(&e, "noisy");
	assert_string_equal(e.preemption, "none or voluntary");
	assert_string_equal(e.cpu_model, "AMD EPYC 7B13");
	assert_int_equal(e.pus_online, 8);
	assert_int_equal(e.pus_usable, 4);
	assert_int_equal(e.cores, 4);
	assert_int_equal(e.pus_per_core, 2);
	assert_int_equal(e.packages, 1);
	assert_int_equal(e.numa_nodes, 2);
	assert_int_equal(e.smt, SL_ENV_YES);
	assert_string_equal(e.governor, "powersave");
	assert_string_equal(e.scaling_driver, "acpi-cpufreq");
	assert_string_equal(e.epp, "unknown");
	assert_int_equal(e.boost, SL_ENV_YES);
	assert_string_equal(e.idle_deepest, "C2");
	assert_int_equal(e.idle_deepest_us, 400);
	assert_string_equal(e.thp, "always");
	assert_int_equal(e.numa_balancing, 1);
	assert_true(e.isolated_known);
	assert_string_equal(e.isolated, "");
	/* "(null)" is how some kernels say none. */
	assert_true(e.nohz_full_known);
	assert_string_equal(e.nohz_full, "");
	/* The container's own cgroup limits it; its parents do not. */
	assert_true(e.quota_cpus == 2.0);
	assert_string_equal(e.cpu_quota, "2.00 CPUs (cpu.cfs_quota_us 200000, cpu.cfs_period_us 100000)");
	assert_int_equal(e.perf_paranoid, 3);
	assert_int_equal(e.nmi_watchdog, 1);
	assert_int_equal(e.hypervisor, SL_ENV_YES);
	assert_string_equal(e.hv_vendor, "QEMU");
	assert_string_equal(e.hypervisor_text,
			    "QEMU (cpuinfo flag, DMI 'QEMU Standard PC (Q35 + ICH9, 2009)')");
	assert_string_equal(e.container, "docker (/.dockerenv)");
	assert_true(e.steal_pct == 5.0);
	assert_true(e.load[0] == 6.5);

	n = warnings(&e, w);
	if (n != sizeof(expected) / sizeof(expected[0])) {
		for (size_t i = 0; i < n; i++)
			print_message("  %s\n", w[i]);
		fail_msg("%zu warnings, expected %zu", n, sizeof(expected) / sizeof(expected[0]));
	}
	for (size_t i = 0; i < n; i++) {
		/* In the expected order: warnings, then hints. */
		if (strncmp(w[i], expected[i], strlen(expected[i])) != 0)
			fail_msg("warning %zu is '%s', expected it to start '%s'", i, w[i], expected[i]);
		/* Whole: shorter than the buffer, so nothing was cut. */
		assert_true(strlen(w[i]) < SL_ENV_WARN_LEN - 1);
		/* What, why and what to do: ": " after the what, "; "
		 * before the advice. */
		assert_non_null(strstr(w[i], ": "));
		assert_non_null(strstr(strstr(w[i], ": "), "; "));
	}
}

/* Flip facts one by one: each rule fires on its own condition only. */
static void test_warning_rules(void **state)
{
	char w[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env base, e;
	size_t n;

	(void)state;
	collect(&base, "quiet");

	e = base;
	e.governor_mixed = true;
	snprintf(e.governor_other, sizeof(e.governor_other), "schedutil");
	n = warnings(&e, w);
	assert_int_equal(n, 1);
	assert_non_null(strstr(w[0], "governors differ ('performance', 'schedutil')"));

	/* powersave with the floor at the ceiling runs at one clock. */
	e = base;
	snprintf(e.governor, sizeof(e.governor), "powersave");
	assert_int_equal(warnings(&e, w), 0);
	e.policy_min_khz = 800000;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "governor is 'powersave'"));
	snprintf(e.governor, sizeof(e.governor), "userspace");
	assert_int_equal(warnings(&e, w), 0);

	/* paranoid 2 limits an unprivileged user; as a fixture the user is
	 * not known, so it warns. */
	e = base;
	e.perf_paranoid = 2;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "perf_event_paranoid is 2: counts exclude kernel time"));

	e = base;
	e.hw_counters = SL_ENV_NO;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "hardware counters are not usable"));

	/* The NMI watchdog matters where there is a PMU to share. */
	e = base;
	e.nmi_watchdog = 1;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "hint: the NMI watchdog is on"));
	e.hw_counters = SL_ENV_NO;
	n = warnings(&e, w);
	assert_false(warned(w, n, "NMI watchdog"));

	/* Real-time priority: a hint only when known to be refused. */
	e = base;
	e.rt_priority = SL_ENV_NO;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "hint: real-time priority is not permitted"));
	e.rt_priority = SL_ENV_YES;
	assert_int_equal(warnings(&e, w), 0);

	/* Load: above half the PUs only. */
	e = base;
	e.load[0] = 2.0;
	assert_int_equal(warnings(&e, w), 0);
	e.load[0] = 2.01;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "load average 2.01 on 4 PUs"));

	/* NUMA balancing on one node moves nothing. */
	e = base;
	e.numa_balancing = 1;
	assert_int_equal(warnings(&e, w), 0);
	e.numa_nodes = 2;
	assert_int_equal(warnings(&e, w), 1);

	/* kvm-clock and tsc are fast; acpi_pm is not. */
	e = base;
	snprintf(e.clocksource, sizeof(e.clocksource), "kvm-clock");
	assert_int_equal(warnings(&e, w), 0);
	snprintf(e.clocksource, sizeof(e.clocksource), "acpi_pm");
	assert_int_equal(warnings(&e, w), 1);

	/* Boost off explains a lower ceiling: no cap hint then. */
	e = base;
	e.policy_max_khz = 3000000;
	assert_int_equal(warnings(&e, w), 0);
	e.boost = SL_ENV_UNKNOWN;
	assert_int_equal(warnings(&e, w), 1);
	assert_non_null(strstr(w[0], "capped at 3000 of 3500 MHz"));

	/* Unknown facts never warn. */
	e = base;
	snprintf(e.governor, sizeof(e.governor), "unknown");
	snprintf(e.thp, sizeof(e.thp), "unknown");
	e.smt = SL_ENV_UNKNOWN;
	e.hypervisor = SL_ENV_UNKNOWN;
	e.load[0] = -1;
	e.isolated_known = false;
	e.isolated[0] = '\0';
	assert_int_equal(warnings(&e, w), 0);

	/* max bounds what is written. */
	collect(&e, "noisy");
	assert_int_equal(sl_env_warnings(&e, w, 3), 3);
}

static int starts_unknown(const char *key, const char *value, bool fp, void *arg)
{
	static const char *const exempt[] = { "root", "collected", "libc",
					      "hardware counters", "real-time priority",
					      "container" };

	(void)fp;
	(void)arg;
	for (size_t i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++)
		if (strcmp(key, exempt[i]) == 0)
			return 0;
	if (strncmp(value, "unknown", 7) != 0)
		fail_msg("with no files, '%s' reads '%s', not unknown", key, value);
	return 0;
}

static void test_empty_tree_is_unknown(void **state)
{
	char dir[64], w[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env e;
	struct sl_err err;

	(void)state;
	make_tree(dir, sizeof(dir));
	assert_int_equal(sl_env_collect(&e, dir, &err), 0);
	assert_false(e.live);
	assert_int_equal(e.pus_online, -1);
	assert_int_equal(e.cores, -1);
	assert_int_equal(e.packages, -1);
	assert_int_equal(e.numa_nodes, -1);
	assert_int_equal(e.smt, SL_ENV_UNKNOWN);
	assert_int_equal(e.boost, SL_ENV_UNKNOWN);
	assert_int_equal(e.hypervisor, SL_ENV_UNKNOWN);
	assert_int_equal(e.numa_balancing, -1);
	assert_false(e.isolated_known);
	assert_true(e.quota_cpus < 0);
	assert_true(e.load[0] < 0);
	assert_true(e.steal_pct < 0);
	sl_env_each_fact(&e, starts_unknown, NULL);
	assert_string_equal(e.container, "none detected");
	/* Nothing known, nothing to warn about. */
	assert_int_equal(warnings(&e, w), 0);
	rm_tree(dir);
}

/* Malformed files read as unknown, never as 0. */
static void test_malformed_files(void **state)
{
	char dir[64];
	struct sl_env e;
	struct sl_err err;

	(void)state;
	make_tree(dir, sizeof(dir));
	put(dir, "/proc/loadavg", "busy\n");
	put(dir, "/proc/sys/kernel/perf_event_paranoid", "two\n");
	put(dir, "/proc/sys/kernel/numa_balancing", "\n");
	put(dir, "/sys/devices/system/cpu/online", "0-\n");
	put(dir, "/sys/devices/system/cpu/smt/active", "1x\n");
	put(dir, "/sys/devices/system/cpu/intel_pstate/no_turbo", "\n");
	put(dir, "/proc/stat", "intr 1 2 3\n");
	/* cpuinfo with no flags line (an arm64 box): hypervisor unknown. */
	put(dir, "/proc/cpuinfo",
	    "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
	    "CPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n");
	assert_int_equal(sl_env_collect(&e, dir, &err), 0);
	assert_true(e.load[0] < 0);
	assert_int_equal(e.perf_paranoid, -100);
	assert_int_equal(e.numa_balancing, -1);
	assert_int_equal(e.pus_online, -1);
	assert_int_equal(e.smt, SL_ENV_UNKNOWN);
	assert_int_equal(e.boost, SL_ENV_UNKNOWN);
	assert_true(e.steal_pct < 0);
	assert_int_equal(e.hypervisor, SL_ENV_UNKNOWN);
	assert_string_equal(e.hypervisor_text, "unknown");
	assert_string_equal(e.cpu_model, "unknown");
	assert_string_equal(e.cpu_id, "implementer 0x41 part 0xd0c variant 0x3 revision 1");
	rm_tree(dir);
}

/* cgroup v2: a parent's cpu.max binds the child; the tightest wins. */
static void test_cgroup_v2_quota(void **state)
{
	char dir[64];
	struct sl_env e;
	struct sl_err err;

	(void)state;
	make_tree(dir, sizeof(dir));
	put(dir, "/proc/self/cgroup", "0::/a/b\n");
	put(dir, "/sys/fs/cgroup/a/cpu.max", "150000 100000\n");
	put(dir, "/sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
	assert_int_equal(sl_env_collect(&e, dir, &err), 0);
	assert_true(e.quota_cpus == 1.5);
	assert_string_equal(e.cpu_quota, "1.50 CPUs (cpu.max 150000 100000)");
	put(dir, "/sys/fs/cgroup/a/b/cpu.max", "50000 100000\n");
	assert_int_equal(sl_env_collect(&e, dir, &err), 0);
	assert_true(e.quota_cpus == 0.5);
	rm_tree(dir);
}

/* A tree where some CPUs are offline: cores and packages count online
 * CPUs only, each once. */
static void test_offline_siblings(void **state)
{
	char dir[64], rel[128];
	struct sl_env e;
	struct sl_err err;

	(void)state;
	make_tree(dir, sizeof(dir));
	/* 2 packages x 2 cores x 2 PUs; cpu0's sibling (1) and the whole
	 * first core of package 1 (4, 5) are offline. */
	put(dir, "/sys/devices/system/cpu/online", "0,2-3,6-7\n");
	for (int c = 0; c < 8; c++) {
		char core[32], pkg[16];

		snprintf(core, sizeof(core), "%d-%d\n", c & ~1, (c & ~1) + 1);
		snprintf(pkg, sizeof(pkg), "%s\n", c < 4 ? "0-3" : "4-7");
		snprintf(rel, sizeof(rel), "/sys/devices/system/cpu/cpu%d/topology/core_cpus_list", c);
		put(dir, rel, core);
		snprintf(rel, sizeof(rel), "/sys/devices/system/cpu/cpu%d/topology/package_cpus_list", c);
		put(dir, rel, pkg);
	}
	assert_int_equal(sl_env_collect(&e, dir, &err), 0);
	assert_int_equal(e.pus_online, 5);
	assert_int_equal(e.cores, 3);
	assert_int_equal(e.packages, 2);
	assert_int_equal(e.pus_per_core, 2);
	/* No smt/active file: siblings online say SMT is on. */
	assert_int_equal(e.smt, SL_ENV_YES);
	rm_tree(dir);
}

static bool is_hex16(const char *s)
{
	if (strlen(s) != SL_ENV_FP_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

struct fnv {
	uint64_t h;
	unsigned inputs;
};

/* The documented algorithm, written out again: FNV-1a 64 over
 * "key=value\n" of each input in print order. */
static int fnv_fact(const char *key, const char *value, bool fp, void *arg)
{
	struct fnv *f = arg;
	char line[512];

	if (!fp)
		return 0;
	f->inputs++;
	snprintf(line, sizeof(line), "%s=%s\n", key, value);
	for (const char *p = line; *p; p++) {
		f->h ^= (unsigned char)*p;
		f->h *= 0x100000001b3ull;
	}
	return 0;
}

static void fp_of(const struct sl_env *e, char *out)
{
	sl_env_compute_fingerprint(e, out);
}

static void test_fingerprint(void **state)
{
	struct sl_env a, b, e;
	char fp[SL_ENV_FP_LEN + 1], want[SL_ENV_FP_LEN + 1];
	struct fnv f = { 0xcbf29ce484222325ull, 0 };
	char root[PATH_MAX + 1];
	struct sl_err err;

	(void)state;
	collect(&a, "quiet");
	collect(&b, "quiet");
	assert_true(is_hex16(sl_env_fingerprint(&a)));
	assert_string_equal(sl_env_fingerprint(&a), sl_env_fingerprint(&b));

	/* The same tree named with a trailing slash is the same tree. */
	data_dir(root, sizeof(root) - 1, "quiet");
	strcat(root, "/");
	assert_int_equal(sl_env_collect(&b, root, &err), 0);
	assert_string_equal(sl_env_fingerprint(&a), sl_env_fingerprint(&b));

	sl_env_each_fact(&a, fnv_fact, &f);
	assert_true(f.inputs >= 25);
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)f.h);
	assert_string_equal(sl_env_fingerprint(&a), want);

	/*
	 * Pinned: a CSV written by an older synclab must keep matching this
	 * tree.  If this changes, the inputs or their text changed, and
	 * fingerprints in existing results no longer compare.
	 */
	assert_string_equal(sl_env_fingerprint(&a), "c3f57f85e3d1d267");

	collect(&b, "noisy");
	assert_string_not_equal(sl_env_fingerprint(&a), sl_env_fingerprint(&b));

	/* What varies from minute to minute or names the box is left out. */
	e = a;
	e.load[0] = 9.0;
	e.steal_pct = 12.0;
	snprintf(e.host, sizeof(e.host), "otherbox");
	snprintf(e.collected, sizeof(e.collected), "2001-01-01T00:00:00Z");
	snprintf(e.container, sizeof(e.container), "docker (/.dockerenv)");
	snprintf(e.root, sizeof(e.root), "/elsewhere");
	e.perf_paranoid = 2;
	e.nmi_watchdog = 1;
	fp_of(&e, fp);
	assert_string_equal(fp, sl_env_fingerprint(&a));

	/* What changes results changes it. */
#define CHANGES(stmt)                                                  \
	do {                                                           \
		e = a;                                                 \
		stmt;                                                  \
		fp_of(&e, fp);                                         \
		if (strcmp(fp, sl_env_fingerprint(&a)) == 0)           \
			fail_msg("fingerprint ignores: %s", #stmt);    \
	} while (0)
	CHANGES(snprintf(e.kernel, sizeof(e.kernel), "6.1.0-19-amd64"));
	CHANGES(snprintf(e.governor, sizeof(e.governor), "powersave"));
	CHANGES(e.boost = SL_ENV_YES);
	CHANGES(e.smt = SL_ENV_YES);
	CHANGES(snprintf(e.thp, sizeof(e.thp), "always"));
	CHANGES(snprintf(e.isolated, sizeof(e.isolated), "3"));
	CHANGES(e.pus_usable = 2);
	CHANGES(e.policy_max_khz = 3000000);
	CHANGES(e.hypervisor = SL_ENV_YES; snprintf(e.hypervisor_text, sizeof(e.hypervisor_text), "KVM (cpuinfo flag)"));
	CHANGES(snprintf(e.microcode, sizeof(e.microcode), "0xf8"));
	CHANGES(snprintf(e.clocksource, sizeof(e.clocksource), "hpet"));
	CHANGES(e.numa_balancing = 1);
	CHANGES(e.quota_cpus = 2; snprintf(e.cpu_quota, sizeof(e.cpu_quota), "2.00 CPUs"));
#undef CHANGES
}

static void test_print_aligned(void **state)
{
	struct sl_env e;
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	int lines = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	collect(&e, "noisy");
	sl_env_print(f, &e);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strstr(line, ": ");

		if (!colon)
			fail_msg("not 'key: value': %s", line);
		/* Values start in one column. */
		assert_int_equal(line[23], ' ');
		assert_true(line[24] != ' ' && line[24] != '\0');
		if (lines == 0)
			assert_int_equal(strncmp(line, "fingerprint:", 12), 0);
		lines++;
	}
	assert_true(lines >= 30);
	free(buf);
	/* Units on the numbers. */
	f = open_memstream(&buf, &len);
	sl_env_print(f, &e);
	fclose(f);
	assert_non_null(strstr(buf, "frequency (hardware):   1500 - 3000 MHz\n"));
	assert_non_null(strstr(buf, "idle states:            3 enabled, deepest 'C2' (exit latency 400 us)\n"));
	assert_non_null(strstr(buf, "steal time:             5.00 % of CPU time since boot\n"));
	assert_non_null(strstr(buf, "root:                   "));
	free(buf);
}

static void test_write_file(void **state)
{
	char dir[64], path[128], line[512];
	struct sl_env e;
	struct sl_err err;
	bool fp_seen = false;
	int warnings_seen = 0, entries = 0;
	FILE *f;
	DIR *d;
	struct dirent *de;

	(void)state;
	collect(&e, "noisy");
	make_tree(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/env.txt", dir);
	put(dir, "/env.txt", "old contents\n");
	assert_int_equal(sl_env_write(path, &e, &err), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(strncmp(line, "# synclab environment", 21), 0);
	while (fgets(line, sizeof(line), f)) {
		char want[64];

		snprintf(want, sizeof(want), "fingerprint:            %s\n", e.fingerprint);
		if (strcmp(line, want) == 0)
			fp_seen = true;
		if (strncmp(line, "warning: ", 9) == 0 || strncmp(line, "hint: ", 6) == 0)
			warnings_seen++;
		assert_null(strstr(line, "old contents"));
	}
	fclose(f);
	assert_true(fp_seen);
	assert_int_equal(warnings_seen, 15);
	/* No temporary file left beside it. */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			entries++;
	closedir(d);
	assert_int_equal(entries, 1);

	snprintf(path, sizeof(path), "%s/no/such/dir/env.txt", dir);
	assert_int_equal(sl_env_write(path, &e, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "env.txt"));
	rm_tree(dir);
}

static void test_bad_root(void **state)
{
	struct sl_env e;
	struct sl_err err;
	char file[PATH_MAX];

	(void)state;
	assert_int_equal(sl_env_collect(&e, "/no/such/root", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "'/no/such/root'"));
	data_dir(file, sizeof(file), "quiet/proc/loadavg");
	assert_int_equal(sl_env_collect(&e, file, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "is not a directory"));
}

/* This machine: whatever it is, the live probes ran. */
static void test_live(void **state)
{
	struct sl_env e;
	struct sl_err err;

	(void)state;
	assert_int_equal(sl_env_collect(&e, NULL, &err), 0);
	assert_true(e.live);
	assert_null(strstr(e.libc, "not probed"));
	assert_null(strstr(e.hw_counters_text, "not probed"));
	assert_true(e.rt_priority == SL_ENV_YES || e.rt_priority == SL_ENV_NO);
	assert_true(e.hw_counters != SL_ENV_UNKNOWN || strncmp(e.hw_counters_text, "unknown", 7) == 0);
	assert_true(is_hex16(e.fingerprint));
	assert_true(e.pus_online > 0);
	assert_string_not_equal(e.kernel, "unknown");
	/* A hypervisor flag in cpuinfo is always detected. */
	{
		FILE *f = fopen("/proc/cpuinfo", "r");
		char line[4096];
		bool flag = false;

		while (f && fgets(line, sizeof(line), f))
			if (strncmp(line, "flags", 5) == 0) {
				flag = strstr(line, " hypervisor") != NULL;
				break;
			}
		if (f)
			fclose(f);
		if (flag)
			assert_int_equal(e.hypervisor, SL_ENV_YES);
	}
}

/* The by-PU line names up to eight PUs, summarises more, and warns when
 * one PU's median exceeds another's by more than a fifth. */
static void test_pu_rates_text(void **state)
{
	struct sl_env_pu_rate pu[16];
	char line[512], warn[2 * SL_ENV_WARN_LEN];

	(void)state;
	for (int i = 0; i < 16; i++)
		pu[i] = (struct sl_env_pu_rate){ .pu = 2 * i, .rounds = 5, .median = 7000 + i };
	sl_env_pu_rates_text(pu, 2, line, sizeof(line), warn, sizeof(warn));
	assert_string_equal(line, "PU 0 7000, PU 2 7001 loops/us (median of each PU's rounds, bound to it in turn)");
	assert_string_equal(warn, "");
	sl_env_pu_rates_text(pu, 8, line, sizeof(line), warn, sizeof(warn));
	assert_non_null(strstr(line, "PU 14 7007 loops/us"));

	/* A slow PU among sixteen: the range, both PUs, and the warning. */
	pu[5].median = 3500;
	sl_env_pu_rates_text(pu, 16, line, sizeof(line), warn, sizeof(warn));
	assert_string_equal(line, "3500..7015 loops/us over 16 PUs (median of each PU's rounds, bound to it in turn; slowest PU 10, fastest PU 30)");
	assert_non_null(strstr(warn, "warning: the PUs run the work loop at different rates: PU 10 at 3500 loops/us, PU 30 at 7015 (2.00x)"));
	assert_non_null(strstr(warn, "pin runs to like PUs"));

	/* Within a fifth: no warning; one PU alone never differs. */
	pu[5].median = 7015 / 1.19;
	sl_env_pu_rates_text(pu, 16, line, sizeof(line), warn, sizeof(warn));
	assert_string_equal(warn, "");
	sl_env_pu_rates_text(&pu[5], 1, line, sizeof(line), warn, sizeof(warn));
	assert_string_equal(line, "PU 10 5895 loops/us (median of each PU's rounds, bound to it in turn)");
	assert_string_equal(warn, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_box),
		cmocka_unit_test(test_noisy_vm),
		cmocka_unit_test(test_warning_rules),
		cmocka_unit_test(test_empty_tree_is_unknown),
		cmocka_unit_test(test_malformed_files),
		cmocka_unit_test(test_cgroup_v2_quota),
		cmocka_unit_test(test_offline_siblings),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_print_aligned),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_bad_root),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_pu_rates_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
