/*
 * The environment fingerprint: facts read from /proc, /sys and CPUID under a
 * root directory, the warnings for the ones that make numbers noisy, and the
 * environment file sweeps keep beside their CSV.  See reports/env.h.
 */
#include "reports/env.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "counters/counters.h"
#include "pinning/pin.h"
#include "util/fs.h"
#include "util/text.h"

#define UNKNOWN "unknown"
#define NOT_PROBED "not probed (facts read from another root)"
#define PARANOID_UNKNOWN (-100)

/* OS indices of CPUs go up to 65535 in sysfs cpulists (sl_cpulist_parse). */
#define MAX_CPU_INDEX 65536
#define MAX_IDLE_STATES 64

/* Where files are read: the root with no trailing slash ("" for "/"). */
struct reader {
	char prefix[SL_ENV_LIST];
};

/* Copy s into dst, cut to fit: every fact has a bounded field. */
static void set_text(char *dst, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Drop trailing blanks and newlines in place. */
static void rtrim(char *s)
{
	size_t len = strlen(s);

	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
}

static FILE *open_rel(const struct reader *r, const char *rel)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s%s", r->prefix, rel) >= sizeof(path))
		return NULL;
	return fopen(path, "re");
}

static bool exists_rel(const struct reader *r, const char *rel)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s%s", r->prefix, rel) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

/* The first line of a file, trailing blanks dropped.  False when the file
 * cannot be read; an empty file is readable and gives "". */
static bool read_line(const struct reader *r, char *buf, size_t n,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool read_line(const struct reader *r, char *buf, size_t n,
		      const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	FILE *f;
	bool ok;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	f = open_rel(r, rel);
	if (!f)
		return false;
	ok = fgets(buf, (int)n, f) != NULL || !ferror(f);
	if (!ok)
		buf[0] = '\0';
	fclose(f);
	rtrim(buf);
	return ok;
}

/* A file holding one decimal integer. */
static bool read_long(const struct reader *r, long *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool read_long(const struct reader *r, long *v, const char *fmt, ...)
{
	char rel[PATH_MAX], buf[64], *end;
	va_list ap;
	long x;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (!read_line(r, buf, sizeof(buf), "%s", rel) || !buf[0])
		return false;
	errno = 0;
	x = strtol(buf, &end, 10);
	if (errno || end == buf || *end)
		return false;
	*v = x;
	return true;
}

/* A kernel cpulist into a count; -1 when it does not parse.  "" is 0. */
static int cpulist_count(const char *s, int *pus, unsigned max)
{
	struct sl_err err;
	unsigned n = 0;

	if (!s[0])
		return 0;
	if (sl_cpulist_parse(s, "cpulist", pus, max, &n, &err) < 0)
		return -1;
	return (int)n;
}

/* --- software ----------------------------------------------------------- */

static void read_software(const struct reader *r, struct sl_env *e)
{
	char version[256];

	if (!read_line(r, e->host, sizeof(e->host), "/proc/sys/kernel/hostname") || !e->host[0])
		set_text(e->host, sizeof(e->host), UNKNOWN);
	if (!read_line(r, e->kernel, sizeof(e->kernel), "/proc/sys/kernel/osrelease") || !e->kernel[0])
		set_text(e->kernel, sizeof(e->kernel), UNKNOWN);

	/* The build's version string names the preemption model it was
	 * configured with; none and voluntary leave no word there. */
	if (!read_line(r, version, sizeof(version), "/proc/sys/kernel/version") || !version[0])
		set_text(e->preemption, sizeof(e->preemption), UNKNOWN);
	else if (strstr(version, "PREEMPT_RT"))
		set_text(e->preemption, sizeof(e->preemption), "PREEMPT_RT");
	else if (strstr(version, "PREEMPT_DYNAMIC"))
		set_text(e->preemption, sizeof(e->preemption), "PREEMPT_DYNAMIC");
	else if (strstr(version, "PREEMPT"))
		set_text(e->preemption, sizeof(e->preemption), "PREEMPT");
	else
		set_text(e->preemption, sizeof(e->preemption), "none or voluntary");

	if (!e->live) {
		set_text(e->libc, sizeof(e->libc), NOT_PROBED);
		return;
	}
#ifdef _CS_GNU_LIBC_VERSION
	{
		char buf[64];
		size_t n = confstr(_CS_GNU_LIBC_VERSION, buf, sizeof(buf));

		if (n > 0 && n <= sizeof(buf)) {
			set_text(e->libc, sizeof(e->libc), buf);
			return;
		}
	}
#endif
	set_text(e->libc, sizeof(e->libc), UNKNOWN);
}

/* --- /proc/cpuinfo ------------------------------------------------------ */

struct cpuinfo {
	bool readable;
	char model[SL_ENV_TEXT], processor[SL_ENV_TEXT], power[SL_ENV_TEXT];
	char vendor[32], family[16], model_no[16], stepping[16], microcode[32];
	char impl[16], part[16], variant[16], revision[16];
	enum sl_env_tri hv_flag;  /* UNKNOWN when there is no flags line */
};

/* Whether word appears as a whole word in the blank-separated list s. */
static bool has_word(const char *s, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = s; (p = strstr(p, word)) != NULL; p += len) {
		bool start = p == s || isspace((unsigned char)p[-1]);
		bool end = p[len] == '\0' || isspace((unsigned char)p[len]);

		if (start && end)
			return true;
	}
	return false;
}

/* The first processor's block: every CPU repeats the same model. */
static void read_cpuinfo(const struct reader *r, struct cpuinfo *ci)
{
	static const struct {
		const char *key;
		size_t off, size;
	} fields[] = {
#define F(k, m) { k, offsetof(struct cpuinfo, m), sizeof(((struct cpuinfo *)0)->m) }
		F("model name", model), F("Processor", processor), F("cpu", power),
		F("vendor_id", vendor), F("cpu family", family), F("model", model_no),
		F("stepping", stepping), F("microcode", microcode),
		F("CPU implementer", impl), F("CPU part", part),
		F("CPU variant", variant), F("CPU revision", revision),
#undef F
	};
	FILE *f = open_rel(r, "/proc/cpuinfo");
	char *line = NULL;
	size_t cap = 0;
	bool seen = false;

	memset(ci, 0, sizeof(*ci));
	ci->hv_flag = SL_ENV_UNKNOWN;
	if (!f)
		return;
	ci->readable = true;
	while (getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':'), *end;
		const char *value;

		if (!colon) {
			/* A blank line ends the first block (arm64 puts the
			 * shared fields after it, so only stop once a field of
			 * the block was seen). */
			if (seen && line[strspn(line, " \t")] == '\n')
				break;
			continue;
		}
		seen = true;
		*colon = '\0';
		end = colon;
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		value = colon + 1;
		if (strcmp(line, "flags") == 0) {
			ci->hv_flag = has_word(value, "hypervisor") ? SL_ENV_YES : SL_ENV_NO;
			continue;
		}
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			char *dst = (char *)ci + fields[i].off;

			if (!dst[0] && strcmp(line, fields[i].key) == 0)
				sl_copy_squeezed(dst, fields[i].size, value);
		}
	}
	free(line);
	fclose(f);
}

static void cpu_facts(const struct cpuinfo *ci, struct sl_env *e)
{
	if (ci->model[0])
		set_text(e->cpu_model, sizeof(e->cpu_model), ci->model);
	else if (ci->processor[0])
		set_text(e->cpu_model, sizeof(e->cpu_model), ci->processor);
	else if (ci->power[0])
		set_text(e->cpu_model, sizeof(e->cpu_model), ci->power);
	else
		set_text(e->cpu_model, sizeof(e->cpu_model), UNKNOWN);

	if (ci->vendor[0])
		snprintf(e->cpu_id, sizeof(e->cpu_id), "%s family %s model %s stepping %s",
			 ci->vendor, ci->family[0] ? ci->family : "?",
			 ci->model_no[0] ? ci->model_no : "?",
			 ci->stepping[0] ? ci->stepping : "?");
	else if (ci->impl[0] || ci->part[0])
		snprintf(e->cpu_id, sizeof(e->cpu_id), "implementer %s part %s variant %s revision %s",
			 ci->impl[0] ? ci->impl : "?", ci->part[0] ? ci->part : "?",
			 ci->variant[0] ? ci->variant : "?",
			 ci->revision[0] ? ci->revision : "?");
	else
		set_text(e->cpu_id, sizeof(e->cpu_id), UNKNOWN);
	set_text(e->microcode, sizeof(e->microcode), ci->microcode[0] ? ci->microcode : UNKNOWN);
}

/* --- topology from sysfs ------------------------------------------------ */

/*
 * The lowest online CPU of a sysfs cpulist, so that a core or package is
 * counted once, by its first online CPU.  -1 when the list is unreadable.
 */
static int first_online(const struct reader *r, const bool *online, int *pus,
			int *n_online, const char *fmt, int cpu, const char *fallback)
{
	char buf[SL_ENV_LIST * 4];
	int n, low = -1;

	if (!read_line(r, buf, sizeof(buf), fmt, cpu) &&
	    !read_line(r, buf, sizeof(buf), fallback, cpu))
		return -1;
	n = cpulist_count(buf, pus, MAX_CPU_INDEX);
	if (n <= 0)
		return -1;
	*n_online = 0;
	for (int i = 0; i < n; i++) {
		if (!online[pus[i]])
			continue;
		(*n_online)++;
		if (low < 0 || pus[i] < low)
			low = pus[i];
	}
	return low;
}

static void read_topology(const struct reader *r, struct sl_env *e, int **cpus_out)
{
	int *pus = calloc(MAX_CPU_INDEX, sizeof(*pus));
	int *list = calloc(MAX_CPU_INDEX, sizeof(*list));
	bool *online = calloc(MAX_CPU_INDEX, sizeof(*online));
	char buf[SL_ENV_LIST * 4];
	int n, cores = 0, packages = 0, per_core = 0;
	bool cores_ok = true, packages_ok = true;
	long v;

	e->pus_online = e->pus_usable = e->cores = e->packages = e->numa_nodes = -1;
	e->pus_per_core = -1;
	set_text(e->online, sizeof(e->online), UNKNOWN);
	set_text(e->usable, sizeof(e->usable), UNKNOWN);
	*cpus_out = NULL;
	if (!pus || !list || !online)
		goto out;

	/* This process's affinity: taskset and cgroup cpusets shrink it. */
	{
		FILE *f = open_rel(r, "/proc/self/status");
		char line[SL_ENV_LIST * 4];

		while (f && fgets(line, sizeof(line), f)) {
			if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
				continue;
			sl_copy_squeezed(buf, sizeof(buf), line + 18);
			n = cpulist_count(buf, list, MAX_CPU_INDEX);
			if (n > 0) {
				e->pus_usable = n;
				set_text(e->usable, sizeof(e->usable), buf);
			}
			break;
		}
		if (f)
			fclose(f);
	}

	if (read_line(r, buf, sizeof(buf), "/sys/devices/system/node/online") &&
	    (n = cpulist_count(buf, list, MAX_CPU_INDEX)) > 0)
		e->numa_nodes = n;

	if (!read_line(r, buf, sizeof(buf), "/sys/devices/system/cpu/online"))
		goto out;
	n = cpulist_count(buf, pus, MAX_CPU_INDEX);
	if (n <= 0)
		goto out;
	e->pus_online = n;
	set_text(e->online, sizeof(e->online), buf);
	for (int i = 0; i < n; i++)
		online[pus[i]] = true;

	for (int i = 0; i < n; i++) {
		int cpu = pus[i], in_core = 0, in_pkg = 0, low;

		low = first_online(r, online, list, &in_core,
				   "/sys/devices/system/cpu/cpu%d/topology/core_cpus_list", cpu,
				   "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list");
		if (low < 0)
			cores_ok = false;
		else {
			cores += low == cpu;
			if (in_core > per_core)
				per_core = in_core;
		}
		low = first_online(r, online, list, &in_pkg,
				   "/sys/devices/system/cpu/cpu%d/topology/package_cpus_list", cpu,
				   "/sys/devices/system/cpu/cpu%d/topology/core_siblings_list");
		if (low < 0)
			packages_ok = false;
		else
			packages += low == cpu;
	}
	if (cores_ok) {
		e->cores = cores;
		e->pus_per_core = per_core;
	}
	if (packages_ok)
		e->packages = packages;

	/* Hand the online list on for the per-CPU reads. */
	*cpus_out = calloc((size_t)n + 1, sizeof(int));
	if (*cpus_out) {
		memcpy(*cpus_out, pus, (size_t)n * sizeof(int));
		(*cpus_out)[n] = -1;
	}
out:
	e->smt = SL_ENV_UNKNOWN;
	if (!read_line(r, e->smt_control, sizeof(e->smt_control),
		       "/sys/devices/system/cpu/smt/control") || !e->smt_control[0])
		set_text(e->smt_control, sizeof(e->smt_control), UNKNOWN);
	if (read_long(r, &v, "/sys/devices/system/cpu/smt/active"))
		e->smt = v ? SL_ENV_YES : SL_ENV_NO;
	else if (e->pus_per_core > 0)
		e->smt = e->pus_per_core > 1 ? SL_ENV_YES : SL_ENV_NO;
	free(pus);
	free(list);
	free(online);
}

/* --- frequency and idle ------------------------------------------------- */

static void read_frequency(const struct reader *r, struct sl_env *e, const int *cpus)
{
	static const int cpu0_only[] = { 0, -1 };
	char buf[64];
	int first = -1;
	long v;

	if (!cpus)
		cpus = cpu0_only;
	set_text(e->governor, sizeof(e->governor), UNKNOWN);
	e->governor_mixed = false;
	e->governor_other[0] = '\0';
	for (const int *c = cpus; *c >= 0; c++) {
		if (!read_line(r, buf, sizeof(buf),
			       "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", *c) || !buf[0])
			continue;
		if (first < 0) {
			first = *c;
			set_text(e->governor, sizeof(e->governor), buf);
		} else if (strcmp(buf, e->governor) != 0 && !e->governor_mixed) {
			e->governor_mixed = true;
			set_text(e->governor_other, sizeof(e->governor_other), buf);
		}
	}
	if (first < 0)
		first = cpus[0] >= 0 ? cpus[0] : 0;

	if (!read_line(r, e->scaling_driver, sizeof(e->scaling_driver),
		       "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_driver", first) ||
	    !e->scaling_driver[0])
		set_text(e->scaling_driver, sizeof(e->scaling_driver), UNKNOWN);
	else if (strncmp(e->scaling_driver, "intel_", 6) == 0 &&
		 read_line(r, buf, sizeof(buf), "/sys/devices/system/cpu/intel_pstate/status") && buf[0])
		snprintf(e->scaling_driver + strlen(e->scaling_driver),
			 sizeof(e->scaling_driver) - strlen(e->scaling_driver), " (%s)", buf);
	else if (strncmp(e->scaling_driver, "amd-pstate", 10) == 0 &&
		 read_line(r, buf, sizeof(buf), "/sys/devices/system/cpu/amd_pstate/status") && buf[0])
		snprintf(e->scaling_driver + strlen(e->scaling_driver),
			 sizeof(e->scaling_driver) - strlen(e->scaling_driver), " (%s)", buf);
	if (!read_line(r, e->epp, sizeof(e->epp),
		       "/sys/devices/system/cpu/cpu%d/cpufreq/energy_performance_preference", first) ||
	    !e->epp[0])
		set_text(e->epp, sizeof(e->epp), UNKNOWN);

	e->hw_min_khz = e->hw_max_khz = e->policy_min_khz = e->policy_max_khz = -1;
	if (read_long(r, &v, "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_min_freq", first))
		e->hw_min_khz = v;
	if (read_long(r, &v, "/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq", first))
		e->hw_max_khz = v;
	if (read_long(r, &v, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_min_freq", first))
		e->policy_min_khz = v;
	if (read_long(r, &v, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_max_freq", first))
		e->policy_max_khz = v;

	/* intel_pstate says "no turbo"; acpi-cpufreq and amd-pstate say
	 * "boost", globally or (newer kernels) per policy. */
	e->boost = SL_ENV_UNKNOWN;
	set_text(e->boost_source, sizeof(e->boost_source), "");
	if (read_long(r, &v, "/sys/devices/system/cpu/intel_pstate/no_turbo")) {
		e->boost = v ? SL_ENV_NO : SL_ENV_YES;
		snprintf(e->boost_source, sizeof(e->boost_source), "intel_pstate/no_turbo=%ld", v);
	} else if (read_long(r, &v, "/sys/devices/system/cpu/cpufreq/boost")) {
		e->boost = v ? SL_ENV_YES : SL_ENV_NO;
		snprintf(e->boost_source, sizeof(e->boost_source), "cpufreq/boost=%ld", v);
	} else if (read_long(r, &v, "/sys/devices/system/cpu/cpu%d/cpufreq/boost", first)) {
		e->boost = v ? SL_ENV_YES : SL_ENV_NO;
		snprintf(e->boost_source, sizeof(e->boost_source), "cpu%d/cpufreq/boost=%ld", first, v);
	}
}

static void read_idle(const struct reader *r, struct sl_env *e, const int *cpus)
{
	int cpu = cpus && cpus[0] >= 0 ? cpus[0] : 0;

	if (!read_line(r, e->idle_driver, sizeof(e->idle_driver),
		       "/sys/devices/system/cpu/cpuidle/current_driver") || !e->idle_driver[0])
		set_text(e->idle_driver, sizeof(e->idle_driver), UNKNOWN);
	if ((!read_line(r, e->idle_governor, sizeof(e->idle_governor),
			"/sys/devices/system/cpu/cpuidle/current_governor") || !e->idle_governor[0]) &&
	    (!read_line(r, e->idle_governor, sizeof(e->idle_governor),
			"/sys/devices/system/cpu/cpuidle/current_governor_ro") || !e->idle_governor[0]))
		set_text(e->idle_governor, sizeof(e->idle_governor), UNKNOWN);

	e->idle_states_enabled = -1;
	e->idle_deepest_us = -1;
	set_text(e->idle_deepest, sizeof(e->idle_deepest), UNKNOWN);
	for (int s = 0; s < MAX_IDLE_STATES; s++) {
		char name[32];
		long lat, disabled = 0;

		if (!read_line(r, name, sizeof(name),
			       "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/name", cpu, s))
			break;
		if (!read_long(r, &lat, "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/latency", cpu, s))
			break;
		if (e->idle_states_enabled < 0)
			e->idle_states_enabled = 0;
		/* A state whose disable file is unreadable counts as enabled:
		 * that is the kernel's default. */
		read_long(r, &disabled, "/sys/devices/system/cpu/cpu%d/cpuidle/state%d/disable", cpu, s);
		if (disabled)
			continue;
		e->idle_states_enabled++;
		if (lat > e->idle_deepest_us) {
			e->idle_deepest_us = lat;
			set_text(e->idle_deepest, sizeof(e->idle_deepest), name);
		}
	}
}

/* --- kernel settings ---------------------------------------------------- */

/* "always [madvise] never" -> "madvise". */
static void bracketed(const char *s, char *out, size_t n)
{
	const char *open = strchr(s, '['), *close = open ? strchr(open, ']') : NULL;

	if (open && close)
		sl_textf(out, n, "%.*s", (int)(close - open - 1), open + 1);
	else
		set_text(out, n, s);
}

static void read_mitigations(const struct reader *r, struct sl_env *e)
{
	char path[PATH_MAX];
	unsigned mitigated = 0, vulnerable = 0, unaffected = 0, other = 0;
	struct dirent *de;
	DIR *d;

	set_text(e->mitigations, sizeof(e->mitigations), UNKNOWN);
	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/vulnerabilities", r->prefix);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char text[256];

		if (de->d_name[0] == '.')
			continue;
		if (!read_line(r, text, sizeof(text),
			       "/sys/devices/system/cpu/vulnerabilities/%s", de->d_name))
			continue;
		if (strncmp(text, "Not affected", 12) == 0)
			unaffected++;
		else if (strncmp(text, "Mitigation", 10) == 0)
			mitigated++;
		else if (strncmp(text, "Vulnerable", 10) == 0)
			vulnerable++;
		else
			other++;
	}
	closedir(d);
	if (mitigated + vulnerable + unaffected + other == 0)
		return;
	snprintf(e->mitigations, sizeof(e->mitigations),
		 "%u mitigated, %u vulnerable, %u not affected", mitigated, vulnerable, unaffected);
	if (other)
		snprintf(e->mitigations + strlen(e->mitigations),
			 sizeof(e->mitigations) - strlen(e->mitigations), ", %u other", other);
}

/*
 * The CPU bandwidth limit of this process's cgroup: the tightest over the
 * cgroup and its ancestors, since a parent's quota binds its children.
 * cgroup v2 says "QUOTA PERIOD" or "max PERIOD" in cpu.max; v1 has
 * cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us.
 */
static bool quota_at(const struct reader *r, const char *dir, bool v2, double *cpus,
		     char *how, size_t n)
{
	char buf[64];
	long q, p;

	if (v2) {
		char word[32];

		if (!read_line(r, buf, sizeof(buf), "%s/cpu.max", dir))
			return false;
		if (sscanf(buf, "%31s %ld", word, &p) != 2 || p <= 0)
			return false;
		if (strcmp(word, "max") == 0) {
			*cpus = 0;
			return true;
		}
		q = strtol(word, NULL, 10);
		if (q <= 0)
			return false;
		*cpus = (double)q / (double)p;
		snprintf(how, n, "cpu.max %ld %ld", q, p);
		return true;
	}
	if (!read_long(r, &q, "%s/cpu.cfs_quota_us", dir))
		return false;
	if (q < 0) {
		*cpus = 0;
		return true;
	}
	if (!read_long(r, &p, "%s/cpu.cfs_period_us", dir) || p <= 0 || q == 0)
		return false;
	*cpus = (double)q / (double)p;
	snprintf(how, n, "cpu.cfs_quota_us %ld, cpu.cfs_period_us %ld", q, p);
	return true;
}

/* Walk from mount + path up to mount; the tightest limit wins. */
static bool quota_walk(const struct reader *r, const char *mount, const char *path,
		       bool v2, double *cpus, char *how, size_t n)
{
	char dir[PATH_MAX];
	bool any = false;

	*cpus = 0;
	snprintf(dir, sizeof(dir), "%s%s", mount, strcmp(path, "/") == 0 ? "" : path);
	for (;;) {
		char h[96];
		double c;
		char *slash;

		if (quota_at(r, dir, v2, &c, h, sizeof(h))) {
			any = true;
			if (c > 0 && (*cpus == 0 || c < *cpus)) {
				*cpus = c;
				snprintf(how, n, "%s", h);
			}
		}
		if (strlen(dir) <= strlen(mount))
			break;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < strlen(mount))
			break;
		*slash = '\0';
	}
	return any;
}

static void read_quota(const struct reader *r, struct sl_env *e)
{
	FILE *f = open_rel(r, "/proc/self/cgroup");
	char line[PATH_MAX], v2_path[PATH_MAX] = "", v1_path[PATH_MAX] = "";
	char v1_ctrl[64] = "", how[96] = "";
	double cpus = 0;
	bool known = false;

	e->quota_cpus = -1;
	set_text(e->cpu_quota, sizeof(e->cpu_quota), UNKNOWN);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *path;

		if (!ctrl || !(path = strchr(ctrl + 1, ':')))
			continue;
		*ctrl++ = '\0';
		*path++ = '\0';
		rtrim(path);
		if (strcmp(line, "0") == 0 && !ctrl[0]) {
			snprintf(v2_path, sizeof(v2_path), "%s", path);
		} else {
			char copy[64], *save = NULL;

			snprintf(copy, sizeof(copy), "%s", ctrl);
			for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
				if (strcmp(w, "cpu") == 0) {
					snprintf(v1_ctrl, sizeof(v1_ctrl), "%s", ctrl);
					snprintf(v1_path, sizeof(v1_path), "%s", path);
				}
		}
	}
	fclose(f);

	if (v2_path[0])
		known = quota_walk(r, "/sys/fs/cgroup", v2_path, true, &cpus, how, sizeof(how)) ||
			quota_walk(r, "/sys/fs/cgroup/unified", v2_path, true, &cpus, how, sizeof(how));
	if (!known && v1_ctrl[0]) {
		char mount[128];

		snprintf(mount, sizeof(mount), "/sys/fs/cgroup/%s", v1_ctrl);
		known = quota_walk(r, mount, v1_path, false, &cpus, how, sizeof(how)) ||
			quota_walk(r, "/sys/fs/cgroup/cpu", v1_path, false, &cpus, how, sizeof(how));
	}
	if (!known)
		return;
	e->quota_cpus = cpus;
	if (cpus > 0)
		sl_textf(e->cpu_quota, sizeof(e->cpu_quota), "%.2f CPUs (%s)", cpus, how);
	else
		set_text(e->cpu_quota, sizeof(e->cpu_quota), "none");
}

static void read_kernel(const struct reader *r, struct sl_env *e)
{
	char buf[SL_ENV_LIST];
	long v;

	if (!read_line(r, e->clocksource, sizeof(e->clocksource),
		       "/sys/devices/system/clocksource/clocksource0/current_clocksource") ||
	    !e->clocksource[0])
		set_text(e->clocksource, sizeof(e->clocksource), UNKNOWN);
	if (!read_line(r, e->clocksources, sizeof(e->clocksources),
		       "/sys/devices/system/clocksource/clocksource0/available_clocksource") ||
	    !e->clocksources[0])
		set_text(e->clocksources, sizeof(e->clocksources), UNKNOWN);

	if (read_line(r, buf, sizeof(buf), "/sys/kernel/mm/transparent_hugepage/enabled") && buf[0])
		bracketed(buf, e->thp, sizeof(e->thp));
	else
		set_text(e->thp, sizeof(e->thp), UNKNOWN);
	if (read_line(r, buf, sizeof(buf), "/sys/kernel/mm/transparent_hugepage/defrag") && buf[0])
		bracketed(buf, e->thp_defrag, sizeof(e->thp_defrag));
	else
		set_text(e->thp_defrag, sizeof(e->thp_defrag), UNKNOWN);

	e->numa_balancing = read_long(r, &v, "/proc/sys/kernel/numa_balancing") ? (int)v : -1;

	e->isolated_known = read_line(r, e->isolated, sizeof(e->isolated),
				      "/sys/devices/system/cpu/isolated");
	e->nohz_full_known = read_line(r, e->nohz_full, sizeof(e->nohz_full),
				       "/sys/devices/system/cpu/nohz_full");
	/* Some kernels print "(null)" when nohz_full= was not given. */
	if (strcmp(e->nohz_full, "(null)") == 0)
		e->nohz_full[0] = '\0';

	e->perf_paranoid = read_long(r, &v, "/proc/sys/kernel/perf_event_paranoid") ? (int)v
										   : PARANOID_UNKNOWN;
	e->nmi_watchdog = read_long(r, &v, "/proc/sys/kernel/nmi_watchdog") ? (int)v : -1;

	read_mitigations(r, e);
	read_quota(r, e);
}

/* Open a hardware cycles counter on this thread, through counters/, which
 * knows every reason it can fail. */
static void probe_counters(struct sl_env *e)
{
	struct sl_counter_set set;
	struct sl_err err;

	e->hw_counters = SL_ENV_UNKNOWN;
	if (!e->live) {
		set_text(e->hw_counters_text, sizeof(e->hw_counters_text), NOT_PROBED);
		return;
	}
	if (sl_counters_resolve("cycles", &set, &err) < 0) {
		snprintf(e->hw_counters_text, sizeof(e->hw_counters_text), "unknown (%.180s)", err.msg);
		return;
	}
	if (set.n != 1) {
		set_text(e->hw_counters_text, sizeof(e->hw_counters_text), "unknown (cycles did not resolve)");
		return;
	}
	if (set.ev[0].supported) {
		e->hw_counters = SL_ENV_YES;
		set_text(e->hw_counters_text, sizeof(e->hw_counters_text), "usable (cycles opened)");
	} else {
		const char *why = set.ev[0].why;

		if (strncmp(why, "not supported: ", 15) == 0)
			why += 15;
		e->hw_counters = SL_ENV_NO;
		snprintf(e->hw_counters_text, sizeof(e->hw_counters_text), "not usable: %.180s", why);
	}
}

/* Take SCHED_FIFO 1 on this thread and give it back at once: what the main
 * thread of a run does while its threads outnumber their PUs. */
static void probe_rt_priority(struct sl_env *e)
{
	const struct sched_param fifo = { .sched_priority = 1 };
	struct sched_param old;
	int policy, rc;

	e->rt_priority = SL_ENV_UNKNOWN;
	if (!e->live) {
		set_text(e->rt_priority_text, sizeof(e->rt_priority_text), NOT_PROBED);
		return;
	}
	rc = pthread_getschedparam(pthread_self(), &policy, &old);
	if (rc == 0)
		rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo);
	if (rc == 0) {
		pthread_setschedparam(pthread_self(), policy, &old);
		e->rt_priority = SL_ENV_YES;
		set_text(e->rt_priority_text, sizeof(e->rt_priority_text),
			 "permitted (SCHED_FIFO 1 for the main thread while threads outnumber PUs)");
		return;
	}
	e->rt_priority = SL_ENV_NO;
	snprintf(e->rt_priority_text, sizeof(e->rt_priority_text), "not permitted (%s)",
		 strerror(rc));
}

/* --- virtualisation ----------------------------------------------------- */

static const struct {
	const char *signature;
	const char *vendor;
} cpuid_vendors[] = {
	{ "KVMKVMKVM", "KVM" },
	{ "Linux KVM Hv", "KVM" },
	{ "Microsoft Hv", "Hyper-V" },
	{ "VMwareVMware", "VMware" },
	{ "XenVMMXenVMM", "Xen" },
	{ "TCGTCGTCGTCG", "QEMU (TCG)" },
	{ "VBoxVBoxVBox", "VirtualBox" },
	{ " lrpepyh  vr", "Parallels" },
	{ "bhyve bhyve ", "bhyve" },
	{ "ACRNACRNACRN", "ACRN" },
	{ "QNXQVMBSQG", "QNX" },
};

/* DMI words that only virtual machines carry ("Amazon EC2" is not one:
 * metal instances carry it too). */
static const struct {
	const char *word;
	const char *vendor;
} dmi_vendors[] = {
	{ "QEMU", "QEMU" },
	{ "KVM", "KVM" },
	{ "VMware", "VMware" },
	{ "VirtualBox", "VirtualBox" },
	{ "innotek", "VirtualBox" },
	{ "Bochs", "Bochs" },
	{ "Xen", "Xen" },
	{ "Parallels", "Parallels" },
	{ "BHYVE", "bhyve" },
	{ "Cloud Hypervisor", "Cloud Hypervisor" },
	{ "Google Compute Engine", "Google Compute Engine" },
	{ "Virtual Machine", "Hyper-V" },
};

/* CPUID: the "running under a hypervisor" bit and leaf 0x40000000's
 * vendor signature.  UNKNOWN off x86 or when not probing this machine. */
static enum sl_env_tri cpuid_hypervisor(bool live, char sig[13])
{
	sig[0] = '\0';
	if (!live)
		return SL_ENV_UNKNOWN;
#if defined(__x86_64__) || defined(__i386__)
	{
		unsigned a, b, c, d;

		if (!__get_cpuid(1, &a, &b, &c, &d))
			return SL_ENV_UNKNOWN;
		if (!(c & (1u << 31)))
			return SL_ENV_NO;
		__cpuid(0x40000000, a, b, c, d);
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
		sig[12] = '\0';
		for (int i = 0; sig[i]; i++)
			if (!isprint((unsigned char)sig[i]))
				sig[i] = '.';
		return SL_ENV_YES;
	}
#else
	return SL_ENV_UNKNOWN;
#endif
}

static void read_virtualisation(const struct reader *r, const struct cpuinfo *ci,
				struct sl_env *e)
{
	char sig[13], sys_type[32] = "", vendor[128] = "", product[128] = "";
	char dmi[260] = "", evidence[SL_ENV_TEXT] = "";
	const char *name = NULL, *dmi_name = NULL;
	enum sl_env_tri bit = cpuid_hypervisor(e->live, sig);
	bool present = false, absent = false;
	double steal = -1;
	FILE *f;

	if (bit == SL_ENV_YES) {
		present = true;
		for (size_t i = 0; i < sizeof(cpuid_vendors) / sizeof(cpuid_vendors[0]); i++)
			if (strcmp(sig, cpuid_vendors[i].signature) == 0)
				name = cpuid_vendors[i].vendor;
		sl_appendf(evidence, sizeof(evidence), "cpuid '%s'", sig);
	} else if (bit == SL_ENV_NO) {
		absent = true;
	}

	if (ci->hv_flag == SL_ENV_YES) {
		present = true;
		sl_appendf(evidence, sizeof(evidence), "%scpuinfo flag", evidence[0] ? ", " : "");
	} else if (ci->hv_flag == SL_ENV_NO) {
		absent = true;
	}

	if (read_line(r, sys_type, sizeof(sys_type), "/sys/hypervisor/type") && sys_type[0]) {
		present = true;
		sl_appendf(evidence, sizeof(evidence), "%s/sys/hypervisor/type '%s'",
		       evidence[0] ? ", " : "", sys_type);
		if (!name)
			name = strcmp(sys_type, "xen") == 0 ? "Xen" : sys_type;
	}

	read_line(r, vendor, sizeof(vendor), "/sys/class/dmi/id/sys_vendor");
	read_line(r, product, sizeof(product), "/sys/class/dmi/id/product_name");
	snprintf(dmi, sizeof(dmi), "%s%s%s", vendor, vendor[0] && product[0] ? " " : "", product);
	for (size_t i = 0; dmi[0] && i < sizeof(dmi_vendors) / sizeof(dmi_vendors[0]); i++)
		if (strstr(dmi, dmi_vendors[i].word)) {
			dmi_name = dmi_vendors[i].vendor;
			break;
		}
	if (dmi_name) {
		present = true;
		sl_appendf(evidence, sizeof(evidence), "%sDMI '%.60s'", evidence[0] ? ", " : "", dmi);
		if (!name)
			name = dmi_name;
	}

	e->hv_vendor[0] = '\0';
	if (present) {
		e->hypervisor = SL_ENV_YES;
		set_text(e->hv_vendor, sizeof(e->hv_vendor), name ? name : "unknown vendor");
		sl_textf(e->hypervisor_text, sizeof(e->hypervisor_text), "%s (%s)", e->hv_vendor, evidence);
	} else if (absent) {
		e->hypervisor = SL_ENV_NO;
		set_text(e->hypervisor_text, sizeof(e->hypervisor_text), "none detected");
	} else {
		e->hypervisor = SL_ENV_UNKNOWN;
		set_text(e->hypervisor_text, sizeof(e->hypervisor_text), UNKNOWN);
	}

	/* Container hints: the marker files engines leave, or their names in
	 * init's cgroup path. */
	if (exists_rel(r, "/.dockerenv"))
		set_text(e->container, sizeof(e->container), "docker (/.dockerenv)");
	else if (exists_rel(r, "/run/.containerenv"))
		set_text(e->container, sizeof(e->container), "podman (/run/.containerenv)");
	else {
		static const char *const words[] = { "kubepods", "docker", "libpod", "containerd", "lxc" };
		char line[512];

		set_text(e->container, sizeof(e->container), "none detected");
		f = open_rel(r, "/proc/1/cgroup");
		while (f && fgets(line, sizeof(line), f)) {
			bool hit = false;

			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
				if (strstr(line, words[i])) {
					snprintf(e->container, sizeof(e->container),
						 "%s (/proc/1/cgroup)", words[i]);
					hit = true;
					break;
				}
			if (hit)
				break;
		}
		if (f)
			fclose(f);
	}

	/* Steal: time the host ran something else while this guest wanted to
	 * run, the 8th field of /proc/stat's cpu line. */
	f = open_rel(r, "/proc/stat");
	if (f) {
		unsigned long long t[8];

		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6], &t[7]) == 8) {
			unsigned long long sum = 0;

			for (int i = 0; i < 8; i++)
				sum += t[i];
			if (sum)
				steal = 100.0 * (double)t[7] / (double)sum;
		}
		fclose(f);
	}
	e->steal_pct = steal;
}

static void read_load(const struct reader *r, struct sl_env *e)
{
	FILE *f = open_rel(r, "/proc/loadavg");

	e->load[0] = e->load[1] = e->load[2] = -1;
	if (!f)
		return;
	if (fscanf(f, "%lf %lf %lf", &e->load[0], &e->load[1], &e->load[2]) != 3)
		e->load[0] = e->load[1] = e->load[2] = -1;
	fclose(f);
}

/* --- collect ------------------------------------------------------------ */

int sl_env_collect(struct sl_env *e, const char *root, struct sl_err *err)
{
	struct reader r;
	struct cpuinfo ci;
	struct stat st;
	char real[PATH_MAX];
	int *cpus = NULL;
	time_t now = time(NULL);
	struct tm tm;
	size_t len;

	memset(e, 0, sizeof(*e));
	if (!root || !root[0])
		root = "/";
	if (stat(root, &st) < 0) {
		int e_stat = errno;

		return sl_err_set(err, -e_stat, "'%s': %s (accepted: a directory, e.g. a captured tree holding proc/ and sys/)",
				  root, strerror(e_stat));
	}
	if (!S_ISDIR(st.st_mode))
		return sl_err_set(err, -ENOTDIR, "'%s' is not a directory (accepted: a directory, e.g. a captured tree holding proc/ and sys/)",
				  root);
	if (strlen(root) >= sizeof(r.prefix))
		return sl_err_set(err, -ENAMETOOLONG, "'%.60s...' is too long (accepted: a path under %zu bytes)",
				  root, sizeof(r.prefix));
	e->live = realpath(root, real) && strcmp(real, "/") == 0;
	set_text(e->root, sizeof(e->root), root);
	snprintf(r.prefix, sizeof(r.prefix), "%s", root);
	len = strlen(r.prefix);
	while (len && r.prefix[len - 1] == '/')
		r.prefix[--len] = '\0';

	if (gmtime_r(&now, &tm))
		strftime(e->collected, sizeof(e->collected), "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		set_text(e->collected, sizeof(e->collected), UNKNOWN);

	read_software(&r, e);
	read_cpuinfo(&r, &ci);
	cpu_facts(&ci, e);
	read_topology(&r, e, &cpus);
	read_frequency(&r, e, cpus);
	read_idle(&r, e, cpus);
	free(cpus);
	read_kernel(&r, e);
	probe_counters(e);
	probe_rt_priority(e);
	read_virtualisation(&r, &ci, e);
	read_load(&r, e);
	sl_env_compute_fingerprint(e, e->fingerprint);
	return 0;
}

/* --- facts as text ------------------------------------------------------ */

struct fact {
	const char *key;
	char value[SL_ENV_LIST + 64];
	bool fp;   /* an input of the fingerprint */
};

#define MAX_FACTS 48

static void count_and_list(char *buf, size_t n, int count, const char *list)
{
	if (count < 0)
		snprintf(buf, n, UNKNOWN);
	else
		snprintf(buf, n, "%d (%s)", count, list);
}

static void count_text(char *buf, size_t n, int v)
{
	if (v < 0)
		snprintf(buf, n, UNKNOWN);
	else
		snprintf(buf, n, "%d", v);
}

static void mhz_range(char *buf, size_t n, long lo, long hi)
{
	if (lo < 0 && hi < 0)
		snprintf(buf, n, UNKNOWN);
	else if (lo < 0)
		snprintf(buf, n, "? - %ld MHz", hi / 1000);
	else if (hi < 0)
		snprintf(buf, n, "%ld - ? MHz", lo / 1000);
	else
		snprintf(buf, n, "%ld - %ld MHz", lo / 1000, hi / 1000);
}

static const char *cpulist_or_none(const char *s, bool known)
{
	if (!known)
		return UNKNOWN;
	return s[0] ? s : "none";
}

static size_t build_facts(const struct sl_env *e, struct fact *f)
{
	size_t n = 0;

#define FACT(k, fpv, ...)                                                      \
	do {                                                                   \
		if (n >= MAX_FACTS)                                            \
			SL_BUG("more facts than the table's %d", MAX_FACTS);   \
		f[n].key = (k);                                                \
		f[n].fp = (fpv);                                               \
		snprintf(f[n].value, sizeof(f[n].value), __VA_ARGS__);         \
		n++;                                                           \
	} while (0)
#define NEXT(k, fpv)                                                           \
	(f[n].key = (k), f[n].fp = (fpv), f[n].value)

	if (!e->live)
		FACT("root", false, "%s", e->root);
	FACT("collected", false, "%s", e->collected);
	FACT("host", false, "%s", e->host);
	FACT("kernel", true, "%s", e->kernel);
	FACT("preemption", true, "%s", e->preemption);
	FACT("libc", true, "%s", e->libc);
	FACT("cpu model", true, "%s", e->cpu_model);
	FACT("cpu id", true, "%s", e->cpu_id);
	FACT("microcode", true, "%s", e->microcode);

	count_and_list(NEXT("PUs online", true), sizeof(f[n].value), e->pus_online, e->online);
	n++;
	count_and_list(NEXT("PUs usable", true), sizeof(f[n].value), e->pus_usable, e->usable);
	n++;
	count_text(NEXT("cores", true), sizeof(f[n].value), e->cores);
	n++;
	count_text(NEXT("packages", true), sizeof(f[n].value), e->packages);
	n++;
	count_text(NEXT("NUMA nodes", true), sizeof(f[n].value), e->numa_nodes);
	n++;

	if (e->smt == SL_ENV_UNKNOWN)
		FACT("SMT", true, "unknown (control '%s')", e->smt_control);
	else if (e->pus_per_core > 0)
		FACT("SMT", true, "%s (%d PU%s per core, control '%s')",
		     e->smt == SL_ENV_YES ? "on" : "off", e->pus_per_core,
		     e->pus_per_core == 1 ? "" : "s", e->smt_control);
	else
		FACT("SMT", true, "%s (control '%s')", e->smt == SL_ENV_YES ? "on" : "off",
		     e->smt_control);

	if (e->governor_mixed)
		FACT("governor", true, "mixed (%s, %s)", e->governor, e->governor_other);
	else
		FACT("governor", true, "%s", e->governor);
	FACT("scaling driver", true, "%s", e->scaling_driver);
	FACT("energy preference", true, "%s", e->epp);
	mhz_range(NEXT("frequency (hardware)", true), sizeof(f[n].value), e->hw_min_khz, e->hw_max_khz);
	n++;
	mhz_range(NEXT("frequency (policy)", true), sizeof(f[n].value), e->policy_min_khz, e->policy_max_khz);
	n++;
	if (e->boost == SL_ENV_UNKNOWN)
		FACT("boost", true, UNKNOWN);
	else
		FACT("boost", true, "%s (%s)", e->boost == SL_ENV_YES ? "on" : "off", e->boost_source);
	FACT("idle driver", true, "%s (governor %s)", e->idle_driver, e->idle_governor);
	if (e->idle_states_enabled < 0)
		FACT("idle states", true, UNKNOWN);
	else if (e->idle_deepest_us < 0)
		FACT("idle states", true, "%d enabled", e->idle_states_enabled);
	else
		FACT("idle states", true, "%d enabled, deepest '%s' (exit latency %ld us)",
		     e->idle_states_enabled, e->idle_deepest, e->idle_deepest_us);

	FACT("clocksource", true, "%s (available: %s)", e->clocksource, e->clocksources);
	FACT("transparent hugepages", true, "%s (defrag %s)", e->thp, e->thp_defrag);
	if (e->numa_balancing < 0)
		FACT("NUMA balancing", true, UNKNOWN);
	else if (e->numa_balancing <= 1)
		FACT("NUMA balancing", true, "%s", e->numa_balancing ? "on" : "off");
	else
		FACT("NUMA balancing", true, "on (mode %d)", e->numa_balancing);
	FACT("isolated CPUs", true, "%s", cpulist_or_none(e->isolated, e->isolated_known));
	FACT("nohz_full CPUs", true, "%s", cpulist_or_none(e->nohz_full, e->nohz_full_known));
	FACT("CPU mitigations", true, "%s", e->mitigations);
	FACT("CPU quota", true, "%s", e->cpu_quota);
	FACT("hardware counters", true, "%s", e->hw_counters_text);
	FACT("real-time priority", false, "%s", e->rt_priority_text);
	if (e->perf_paranoid == PARANOID_UNKNOWN)
		FACT("perf_event_paranoid", false, UNKNOWN);
	else
		FACT("perf_event_paranoid", false, "%d", e->perf_paranoid);
	if (e->nmi_watchdog < 0)
		FACT("NMI watchdog", false, UNKNOWN);
	else
		FACT("NMI watchdog", false, "%s", e->nmi_watchdog ? "on" : "off");
	FACT("hypervisor", true, "%s", e->hypervisor_text);
	FACT("container", false, "%s", e->container);
	if (e->steal_pct < 0)
		FACT("steal time", false, UNKNOWN);
	else
		FACT("steal time", false, "%.2f %% of CPU time since boot", e->steal_pct);
	if (e->load[0] < 0)
		FACT("load average", false, UNKNOWN);
	else
		FACT("load average", false, "%.2f %.2f %.2f runnable tasks (1, 5, 15 min)",
		     e->load[0], e->load[1], e->load[2]);
#undef FACT
#undef NEXT
	return n;
}

int sl_env_each_fact(const struct sl_env *e,
		     int (*fn)(const char *key, const char *value,
			       bool in_fingerprint, void *arg),
		     void *arg)
{
	struct fact f[MAX_FACTS];
	size_t n = build_facts(e, f);

	for (size_t i = 0; i < n; i++) {
		int rc = fn(f[i].key, f[i].value, f[i].fp, arg);

		if (rc)
			return rc;
	}
	return 0;
}

/* FNV-1a, 64 bits: stable across builds and machines, and enough to tell
 * environments apart (it is not a defence against forgery). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

void sl_env_compute_fingerprint(const struct sl_env *e, char *out)
{
	struct fact f[MAX_FACTS];
	size_t n = build_facts(e, f);
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		if (!f[i].fp)
			continue;
		h = fnv1a(h, f[i].key);
		h = fnv1a(h, "=");
		h = fnv1a(h, f[i].value);
		h = fnv1a(h, "\n");
	}
	snprintf(out, SL_ENV_FP_LEN + 1, "%016llx", (unsigned long long)h);
}

const char *sl_env_fingerprint(const struct sl_env *e)
{
	return e->fingerprint;
}

#define KEY_WIDTH 23

void sl_env_print(FILE *f, const struct sl_env *e)
{
	struct fact facts[MAX_FACTS];
	size_t n = build_facts(e, facts);

	fprintf(f, "%-*s %s\n", KEY_WIDTH, "fingerprint:", e->fingerprint);
	for (size_t i = 0; i < n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s:", facts[i].key);
		fprintf(f, "%-*s %s\n", KEY_WIDTH, key, facts[i].value);
	}
}

/* --- warnings ----------------------------------------------------------- */

struct warn_out {
	char (*lines)[SL_ENV_WARN_LEN];
	size_t max, n;
};

static void add(struct warn_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct warn_out *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n >= w->max)
		return;
	va_start(ap, fmt);
	vsnprintf(w->lines[w->n], SL_ENV_WARN_LEN, fmt, ap);
	va_end(ap);
	w->n++;
}

/* Clocksources whose reads leave the vDSO or touch a slow device. */
static bool slow_clocksource(const char *cs)
{
	static const char *const slow[] = { "hpet", "acpi_pm", "jiffies", "refined-jiffies", "pit" };

	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (strcmp(cs, slow[i]) == 0)
			return true;
	return false;
}

/* A policy whose floor is its ceiling runs at one clock whatever the
 * governor: that is the steadiest set-up there is. */
static bool frequency_pinned(const struct sl_env *e)
{
	return e->policy_min_khz > 0 && e->policy_min_khz == e->policy_max_khz;
}

size_t sl_env_warnings(const struct sl_env *e, char out[][SL_ENV_WARN_LEN], size_t max)
{
	struct warn_out w = { out, max, 0 };

	/* Warnings: each makes run-to-run numbers differ. */
	if (e->governor_mixed)
		add(&w, "warning: frequency governors differ ('%s', '%s'): threads run at different clocks; set one: cpupower frequency-set -g performance",
		    e->governor, e->governor_other);
	else if (strcmp(e->governor, UNKNOWN) != 0 && strcmp(e->governor, "performance") != 0 &&
		 strcmp(e->governor, "userspace") != 0 && !frequency_pinned(e))
		add(&w, "warning: frequency governor is '%s', not 'performance': the clock follows the load, so ops/s drift; cpupower frequency-set -g performance",
		    e->governor);
	if (e->boost == SL_ENV_YES)
		add(&w, "warning: boost is on (%s): the clock depends on temperature and busy cores, so scaling curves bend; turn it off for stable numbers",
		    e->boost_source);
	if (e->smt == SL_ENV_YES)
		add(&w, "warning: SMT is on: sibling PUs share one core, so results depend on placement; compare --pin choices or turn SMT off");
	if (e->hypervisor == SL_ENV_YES)
		add(&w, "warning: running under a hypervisor (%s): the host can preempt vCPUs and may hide the PMU; take final numbers on bare metal",
		    e->hv_vendor);
	if (e->perf_paranoid >= 3)
		add(&w, "warning: perf_event_paranoid is %d: unprivileged runs get no perf events, so counter columns stay empty; sysctl kernel.perf_event_paranoid=1",
		    e->perf_paranoid);
	else if (e->perf_paranoid == 2 && !(e->live && geteuid() == 0))
		add(&w, "warning: perf_event_paranoid is 2: counts exclude kernel time (futex waits, context switches); sysctl kernel.perf_event_paranoid=1");
	if (e->hw_counters == SL_ENV_NO)
		add(&w, "warning: hardware counters are not usable: cycles, instructions and cache-misses stay empty; 'synclab list counters' says why");
	if (strcmp(e->thp, "always") == 0)
		add(&w, "warning: transparent huge pages are 'always': faults and khugepaged collapses vary run to run; echo madvise > .../transparent_hugepage/enabled");
	if (e->load[0] >= 0 && e->pus_online > 0 && e->load[0] > 0.5 * e->pus_online)
		add(&w, "warning: load average %.2f on %d PUs: other work competes for the CPUs, so numbers vary; wait for a quiet machine or stop that work",
		    e->load[0], e->pus_online);
	if (strcmp(e->clocksource, UNKNOWN) != 0 && slow_clocksource(e->clocksource))
		add(&w, "warning: clocksource is '%s': every clock read is slow, so latency samples inflate; use tsc if the kernel trusts it (clocksource=tsc)",
		    e->clocksource);
	if (e->numa_balancing > 0 && e->numa_nodes > 1)
		add(&w, "warning: NUMA balancing is on: the kernel migrates pages and threads between nodes mid-run; sysctl kernel.numa_balancing=0");
	if (e->quota_cpus > 0)
		add(&w, "warning: the cgroup limits CPU time to %.2f CPUs: threads are throttled every period, so ops/s drop in steps; run outside the quota",
		    e->quota_cpus);

	/* Hints: worth knowing, common on good set-ups too. */
	if (e->isolated_known && !e->isolated[0])
		add(&w, "hint: no isolated CPUs: the scheduler, timers and interrupts share every PU with the run; isolcpus= and nohz_full= give quieter PUs");
	if (e->pus_usable > 0 && e->pus_online > 0 && e->pus_usable < e->pus_online)
		add(&w, "hint: only %d of %d online PUs are usable (taskset or cpuset): thread counts above %d oversubscribe; widen the affinity to use them all",
		    e->pus_usable, e->pus_online, e->pus_usable);
	/* Turning boost off lowers the top frequency too; that cap is the
	 * advice above, not news. */
	if (e->hw_max_khz > 0 && e->policy_max_khz > 0 && e->policy_max_khz < e->hw_max_khz &&
	    e->boost != SL_ENV_NO)
		add(&w, "hint: frequency capped at %ld of %ld MHz (scaling_max_freq): steadier, but below the machine's peak; cpupower frequency-set -u raises it",
		    e->policy_max_khz / 1000, e->hw_max_khz / 1000);
	if (e->idle_deepest_us >= 50)
		add(&w, "hint: idle state '%s' (exit latency %ld us) is enabled: sleeping waiters wake that much later; cpupower idle-set -D 10 limits it",
		    e->idle_deepest, e->idle_deepest_us);
	if (e->nmi_watchdog > 0 && e->hw_counters != SL_ENV_NO && e->hypervisor != SL_ENV_YES)
		add(&w, "hint: the NMI watchdog is on: it holds one hardware counter, so more events multiplex; sysctl kernel.nmi_watchdog=0");
	if (e->hypervisor == SL_ENV_YES)
		add(&w, "hint: a hypervisor can also change a vCPU's speed mid-run; 'synclab env --measure 1s' shows whether it does here");
	if (e->rt_priority == SL_ENV_NO)
		add(&w, "hint: real-time priority is not permitted: with hundreds of threads per PU the main thread waits for a PU and windows run long; run as root, or grant CAP_SYS_NICE or an RLIMIT_RTPRIO of 1");
	return w.n;
}

/* --- the work loop on each PU --------------------------------------------- */

void sl_env_pu_rates_text(const struct sl_env_pu_rate *pu, size_t n,
			  char *line, size_t len, char *warn, size_t wlen)
{
	size_t slow = 0, fast = 0, at = 0;

	for (size_t i = 1; i < n; i++) {
		if (pu[i].median < pu[slow].median)
			slow = i;
		if (pu[i].median > pu[fast].median)
			fast = i;
	}
	line[0] = '\0';
	warn[0] = '\0';
	if (n <= SL_ENV_PUS_NAMED) {
		for (size_t i = 0; i < n && at < len; i++)
			at += (size_t)snprintf(line + at, len - at, "%sPU %d %.0f", i ? ", " : "",
					       pu[i].pu, pu[i].median);
		if (at < len)
			snprintf(line + at, len - at,
				 " loops/us (median of each PU's rounds, bound to it in turn)");
	} else {
		snprintf(line, len,
			 "%.0f..%.0f loops/us over %zu PUs (median of each PU's rounds, bound to it in turn; slowest PU %d, fastest PU %d)",
			 pu[slow].median, pu[fast].median, n, pu[slow].pu, pu[fast].pu);
	}
	if (n > 0 && pu[fast].median > SL_ENV_PU_SPREAD_WARN * pu[slow].median)
		snprintf(warn, wlen,
			 "warning: the PUs run the work loop at different rates: PU %d at %.0f loops/us, PU %d at %.0f (%.2fx): "
			 "cores of different kinds, or a host that slows some vCPUs; a thread's speed depends on where it runs, "
			 "so pin runs to like PUs (--pin LIST, taskset -c) and read placements with that in mind",
			 pu[slow].pu, pu[slow].median, pu[fast].pu, pu[fast].median,
			 pu[fast].median / pu[slow].median);
}

/* --- the environment file ----------------------------------------------- */

int sl_env_write(const char *path, const struct sl_env *e, struct sl_err *err)
{
	char tmp[PATH_MAX], warn[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	size_t nw = sl_env_warnings(e, warn, SL_ENV_WARN_MAX);
	FILE *f;
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp))
		return sl_err_set(err, -ENAMETOOLONG, "'%s': path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return sl_err_set(err, -errno, "cannot create a file beside '%s': %s", path,
				  strerror(errno));
	/* mkstemp makes it private; an environment file is for everyone. */
	(void)fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return sl_err_set(err, rc, "cannot write '%s': %s", tmp, strerror(-rc));
	}
	fprintf(f, "# synclab environment (synclab env): the facts, then what makes numbers noisy\n");
	sl_env_print(f, e);
	for (size_t i = 0; i < nw; i++)
		fprintf(f, "%s\n", warn[i]);
	rc = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0 ? 0 : -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return sl_err_set(err, rc, "cannot write '%s': %s", path, strerror(-rc));
	}
	return 0;
}
