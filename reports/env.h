/*
 * The environment a result was measured in: kernel, libc, CPU, topology,
 * frequency policy, idle states, perf access, hypervisor, huge pages,
 * isolated CPUs, load, and what else makes one run's numbers differ from
 * another's.  Every fact is read from /proc, /sys or CPUID; one that cannot
 * be read is "unknown", never guessed.
 *
 * Files are read under a root directory ("/" for this machine), so a tree
 * captured from another machine, or a test fixture, can be inspected.  Only
 * with root "/" are the facts that live outside the tree probed: CPUID, the
 * libc this process runs on, and whether perf_event_open grants a hardware
 * counter; elsewhere they read "not probed".
 *
 * The fingerprint is a 16-hex-digit FNV-1a hash over the facts that change
 * results (not the host name, time, load or steal time), so two CSV rows can
 * be told to come from the same environment.
 */
#ifndef SL_REPORTS_ENV_H
#define SL_REPORTS_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

#define SL_ENV_TEXT 128        /* one fact's text */
#define SL_ENV_LIST 256        /* a cpulist */
#define SL_ENV_FP_LEN 16       /* hex digits of the fingerprint */
#define SL_ENV_WARN_LEN 160    /* one warning line, with its NUL */
#define SL_ENV_WARN_MAX 24     /* more than the rules can produce */

/* A tri-state for facts that are read as yes/no but may be unreadable. */
enum sl_env_tri {
	SL_ENV_UNKNOWN = -1,
	SL_ENV_NO = 0,
	SL_ENV_YES = 1,
};

struct sl_env {
	char root[SL_ENV_LIST];   /* the tree read; "/" is this machine */
	bool live;                /* root is "/": CPUID, libc and perf probed */
	char collected[32];       /* UTC, ISO 8601; when the facts were read */

	/* Software. */
	char host[SL_ENV_TEXT];
	char kernel[SL_ENV_TEXT];      /* /proc/sys/kernel/osrelease */
	char preemption[32];           /* PREEMPT_RT, PREEMPT_DYNAMIC, PREEMPT, none */
	char libc[64];

	/* CPU and topology (sysfs, not hwloc, so that --root works). */
	char cpu_model[SL_ENV_TEXT];
	char cpu_id[SL_ENV_TEXT];      /* vendor, family, model, stepping */
	char microcode[32];
	int pus_online;                /* -1: unknown */
	char online[SL_ENV_LIST];
	int pus_usable;                /* this process's affinity; -1: unknown */
	char usable[SL_ENV_LIST];
	int cores, packages, numa_nodes; /* -1: unknown */
	int pus_per_core;              /* the most PUs in one core; -1: unknown */
	enum sl_env_tri smt;           /* SMT siblings active */
	char smt_control[32];          /* /sys/devices/system/cpu/smt/control */

	/* Frequency and idle. */
	char governor[32];
	bool governor_mixed;           /* CPUs disagree; governor is cpu0's */
	char governor_other[32];       /* one governor that differs */
	char scaling_driver[32];
	char epp[48];                  /* energy_performance_preference */
	long hw_min_khz, hw_max_khz;   /* cpuinfo_{min,max}_freq; -1: unknown */
	long policy_min_khz, policy_max_khz; /* scaling_{min,max}_freq */
	enum sl_env_tri boost;
	char boost_source[64];         /* the file and value it came from */
	char idle_driver[32], idle_governor[32];
	int idle_states_enabled;       /* -1: unknown */
	char idle_deepest[32];         /* the enabled state with the longest exit */
	long idle_deepest_us;          /* its exit latency; -1: unknown */

	/* Kernel settings. */
	char clocksource[32];
	char clocksources[SL_ENV_TEXT]; /* available ones */
	char thp[16], thp_defrag[32];  /* the bracketed choice */
	int numa_balancing;            /* -1: unknown */
	char isolated[SL_ENV_LIST];    /* "" when none; see isolated_known */
	bool isolated_known;
	char nohz_full[SL_ENV_LIST];
	bool nohz_full_known;
	char mitigations[SL_ENV_TEXT]; /* counts of mitigated / vulnerable / not affected */
	char cpu_quota[64];            /* cgroup CPU bandwidth limit as text */
	double quota_cpus;             /* > 0: limited to that many CPUs; 0: none; -1: unknown */

	/* Perf. */
	int perf_paranoid;             /* -100: unknown */
	int nmi_watchdog;              /* -1: unknown */
	enum sl_env_tri hw_counters;   /* UNKNOWN also when not probed */
	char hw_counters_text[200];

	/* Scheduling: whether this process may take a real-time priority,
	 * which the main thread uses to keep time among many threads. */
	enum sl_env_tri rt_priority;   /* UNKNOWN also when not probed */
	char rt_priority_text[200];

	/* Virtualisation. */
	enum sl_env_tri hypervisor;
	char hypervisor_text[SL_ENV_TEXT];
	char hv_vendor[48];            /* KVM, Xen, Hyper-V, ...; "" when none */
	char container[SL_ENV_TEXT];
	double steal_pct;              /* since boot; < 0: unknown */

	/* Load at collection time. */
	double load[3];                /* 1, 5, 15 min; < 0: unknown */

	char fingerprint[SL_ENV_FP_LEN + 1];
};

/*
 * Read every fact under root (NULL or "/" for this machine) and compute the
 * fingerprint.  An unreadable fact is not an error; a root that is not a
 * directory is -ENOTDIR or -ENOENT with err naming it.
 */
int sl_env_collect(struct sl_env *e, const char *root, struct sl_err *err);

/* The fingerprint sl_env_collect stored: 16 lowercase hex digits. */
const char *sl_env_fingerprint(const struct sl_env *e);

/* Recompute the fingerprint from the facts as they are now into out
 * (SL_ENV_FP_LEN + 1 bytes); sl_env_collect calls it. */
void sl_env_compute_fingerprint(const struct sl_env *e, char *out);

/* "fingerprint:" and then one aligned "key: value" line per fact, values
 * with their units. */
void sl_env_print(FILE *f, const struct sl_env *e);

/*
 * The conditions that make numbers noisy, one line each: "warning: " or
 * "hint: ", what, why it matters, what to do.  Warnings come first.  Returns
 * how many were written (at most max).
 */
size_t sl_env_warnings(const struct sl_env *e, char out[][SL_ENV_WARN_LEN],
		       size_t max);

/* The busy-work loop's rate on one PU (env --measure): its median over
 * the rounds run there, bound to it. */
struct sl_env_pu_rate {
	int pu;        /* OS index */
	size_t rounds; /* rounds run on it */
	double median; /* loops/us */
};

/* PUs named one by one in the by-PU line; with more, it summarises. */
#define SL_ENV_PUS_NAMED 8
/* One PU's median over another's beyond this makes the PUs differ. */
#define SL_ENV_PU_SPREAD_WARN 1.2

/*
 * The "work-loop by PU" value for n > 0 PUs into line: each PU and its
 * median up to SL_ENV_PUS_NAMED, else the range with the slowest and fastest
 * PU.  When the fastest median exceeds the slowest by SL_ENV_PU_SPREAD_WARN,
 * a "warning: " line naming both into warn, else warn is empty.
 */
void sl_env_pu_rates_text(const struct sl_env_pu_rate *pu, size_t n,
			  char *line, size_t len, char *warn, size_t wlen);

/* The environment file sweeps save beside their CSV: a comment line, the
 * lines of sl_env_print, then the warning and hint lines.  Written to a
 * temporary file in the same directory and renamed, so a reader never sees
 * half of it.  0 or a negative errno with err naming the path. */
int sl_env_write(const char *path, const struct sl_env *e, struct sl_err *err);

/* Visit each fact as sl_env_print shows it; in_fingerprint says whether it
 * is one of the fingerprint's inputs.  The callback returns non-zero to
 * stop. */
int sl_env_each_fact(const struct sl_env *e,
		     int (*fn)(const char *key, const char *value,
			       bool in_fingerprint, void *arg),
		     void *arg);

#endif
