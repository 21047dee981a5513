/*
 * Counters: perf events resolved by name with libpfm4 and opened per worker
 * thread with perf_event_open, created disabled, enabled only for the
 * measured window and summed over threads.  An event this machine cannot
 * count (no PMU in a VM, perf_event_paranoid) is "not supported": it carries
 * the reason and reads as NAN, never as 0.
 *
 * The main thread does all of it: perf_event_open(pid = a worker's tid) and
 * the enable/disable ioctls work on another thread's events, so workers run
 * no counter code at all.
 */
#ifndef SL_COUNTERS_COUNTERS_H
#define SL_COUNTERS_COUNTERS_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/err.h"

#define SL_MAX_EVENTS 16

/* The default set, in this order: */
#define SL_COUNTERS_DEFAULT "cycles,instructions,cache-misses,context-switches,cpu-migrations"

struct sl_event {
	char name[64];               /* as given, e.g. "cycles" */
	struct perf_event_attr attr; /* from libpfm4 */
	bool supported;
	char why[192];               /* when not supported: the reason */
};

struct sl_counter_set {
	unsigned n;
	struct sl_event ev[SL_MAX_EVENTS];
};

/*
 * Resolve "default", "none" or a comma-separated list of event names (any
 * name libpfm4 knows, e.g. cycles, cache-misses, context-switches,
 * L1-dcache-load-misses).  An unknown name is -EINVAL with err naming it (and
 * a close known name).  Each event is then probed on the calling thread;
 * one that cannot be opened is kept, marked unsupported, with its reason.
 */
int sl_counters_resolve(const char *list, struct sl_counter_set *set,
			struct sl_err *err);

/* Index of an event by name in the set, or -1. */
int sl_counters_find(const struct sl_counter_set *set, const char *name);

/* The file descriptors of one thread's events; -1 where not open. */
struct sl_thread_counters {
	int fd[SL_MAX_EVENTS];
};

/* Open every supported event of set for thread tid, disabled.  An event
 * that fails here keeps fd -1 and the sum for it becomes NAN. */
void sl_counters_open(const struct sl_counter_set *set, pid_t tid,
		      struct sl_thread_counters *tc);
void sl_counters_enable(const struct sl_counter_set *set,
			struct sl_thread_counters *tc, unsigned nthreads);
void sl_counters_disable(const struct sl_counter_set *set,
			 struct sl_thread_counters *tc, unsigned nthreads);
/* values[i] = sum over threads of event i, scaled for multiplexing
 * (value * time_enabled / time_running); NAN when unsupported or when any
 * thread's event was not open or not read. */
void sl_counters_read(const struct sl_counter_set *set,
		      struct sl_thread_counters *tc, unsigned nthreads,
		      double *values);
void sl_counters_close(const struct sl_counter_set *set,
		       struct sl_thread_counters *tc, unsigned nthreads);

/* Voluntary and involuntary context switches of the calling thread so far
 * (getrusage(RUSAGE_THREAD)); -1 each if getrusage fails. */
void sl_rusage_self(long *vol_cs, long *invol_cs);

/* For tests: replace the perf_event_open system call (NULL restores it).
 * fn behaves like the system call: a new fd, or -1 with errno set. */
typedef int (*sl_perf_open_fn)(struct perf_event_attr *attr, pid_t pid,
			       int cpu, int group_fd, unsigned long flags);
void sl_counters_set_open_fn(sl_perf_open_fn fn);

/* perf_event_open through the function in use (the system call unless a
 * test replaced it); the probe in sl_counters_resolve goes through it too. */
int sl_counters_sys_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			 int group_fd, unsigned long flags);

#endif
