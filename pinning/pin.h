/*
 * Topology and placement.  The topology is this machine's (as hwloc sees it,
 * restricted to the CPUs this process may run on: taskset, cgroup cpusets) or
 * an hwloc synthetic description for machines we do not have.  A placement
 * maps thread i to one PU; with more threads than usable PUs it wraps around
 * and says it is oversubscribed.
 *
 * PUs are named by their OS index (what taskset, /proc and sched_getcpu use).
 */
#ifndef SL_PINNING_PIN_H
#define SL_PINNING_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define SL_PIN_LIST_MAX 1024

struct sl_topo; /* opaque: an hwloc topology plus the usable PU set */

/*
 * Load a topology.  synthetic: NULL for this machine, else an hwloc synthetic
 * string such as "pack:2 numa:2 core:8 pu:2".  allowed: NULL for every PU of
 * a synthetic topology or, on this machine, the CPU affinity this process
 * inherited; else a cpulist ("0,2,4-7") of OS indices that restricts it.
 * Returns 0 or -EINVAL with err naming the bad description or list.
 */
int sl_topo_load(struct sl_topo **out, const char *synthetic,
		 const char *allowed, struct sl_err *err);
void sl_topo_free(struct sl_topo *t);

struct sl_topo_summary {
	bool synthetic;
	unsigned packages, numa_nodes, l3_caches, cores, pus;
	unsigned usable_pus; /* after the affinity restriction */
	unsigned smt_per_core; /* max PUs in one core */
	unsigned long long l1d_bytes, l2_bytes, l3_bytes; /* one cache; 0 unknown */
	char usable[256];    /* cpulist of usable PUs, e.g. "0-3,8" */
};
void sl_topo_summarize(const struct sl_topo *t, struct sl_topo_summary *s);

/* One object of the tree, for printing it (cmd/topo.c formats). */
struct sl_topo_node {
	unsigned depth;      /* 0 = machine */
	const char *type;    /* "Package", "NUMANode", "L3", "Core", "PU", ... */
	int os_index;        /* -1 when none */
	unsigned logical_index;
	unsigned long long size; /* caches and NUMA memory, bytes; 0 otherwise */
	bool usable;         /* PUs: inside the usable set */
};
/* Depth-first walk over the tree including NUMA nodes and caches; the
 * callback returns non-zero to stop. */
void sl_topo_walk(const struct sl_topo *t,
		  int (*fn)(const struct sl_topo_node *n, void *arg), void *arg);

/* Where a PU sits: logical indices of its package, NUMA node, L3 and core,
 * and its rank among the PUs of its core (0 for the first SMT thread).
 * Returns -EINVAL when os_index is not a PU of this topology. */
struct sl_pu_info {
	int os_index;
	int package, numa, l3, core, smt;
};
int sl_topo_pu_info(const struct sl_topo *t, int os_index,
		    struct sl_pu_info *info);

/* How far apart two PUs are, for the hand-off locality of a lock: the
 * nearest level both share. */
enum sl_pu_distance {
	SL_PU_SAME,    /* the same PU (two threads time-sharing it) */
	SL_PU_SMT,     /* SMT siblings: one core, its L1 and L2 */
	SL_PU_CACHE,   /* other cores sharing the last-level (L3) cache */
	SL_PU_NODE,    /* the same NUMA node / package, another L3 */
	SL_PU_REMOTE,  /* another NUMA node or package */
	SL_PU_UNKNOWN, /* a PU the topology does not place */
	SL_PU_DISTANCES
};
enum sl_pu_distance sl_pu_distance(const struct sl_pu_info *a,
				   const struct sl_pu_info *b);
const char *sl_pu_distance_name(enum sl_pu_distance d);

enum sl_pin_policy {
	SL_PIN_COMPACT, /* fill a core's PUs, then its cache and package */
	SL_PIN_SCATTER, /* round-robin over packages, NUMA nodes, cores; SMT last */
	SL_PIN_NONE,    /* no binding: the scheduler decides */
	SL_PIN_LIST,    /* the PUs the user listed, in order */
};

struct sl_pin_spec {
	enum sl_pin_policy policy;
	unsigned n;                 /* SL_PIN_LIST: entries in pus */
	int pus[SL_PIN_LIST_MAX];
	char text[64];              /* as the user gave it, for reports */
};

/* "compact", "scatter", "none" or a cpulist.  -EINVAL with err naming the
 * bad word and the accepted forms ("did you mean" for a close policy). */
int sl_pin_parse(const char *s, struct sl_pin_spec *out, struct sl_err *err);

/*
 * Place nthreads threads: pus[i] is the OS index of the PU for thread i, or
 * -1 with SL_PIN_NONE.  *oversubscribed is set when nthreads exceeds the
 * number of distinct PUs the threads may run on.  A listed PU outside the
 * usable set is -EINVAL with err naming it and the usable set.
 */
int sl_pin_place(const struct sl_topo *t, const struct sl_pin_spec *spec,
		 unsigned nthreads, int *pus, bool *oversubscribed,
		 struct sl_err *err);

/* Bind the calling thread to one PU (OS index). 0 or -errno with err. */
int sl_pin_bind_self(const struct sl_topo *t, int pu, struct sl_err *err);

/* Format OS indices as a compact cpulist ("0-3,8") after sorting and
 * removing duplicates; used for the usable set and for reports. */
void sl_cpulist_format(const int *pus, size_t n, char *buf, size_t len);

/* Parse a cpulist ("0,2,4-7") of OS indices 0..65535 into pus, in the order
 * given, at most max of them; *n is set to the count.  what names the option
 * in messages.  -EINVAL with err on a malformed list, a backwards range, a
 * PU named twice or more than max PUs. */
int sl_cpulist_parse(const char *s, const char *what, int *pus, unsigned max,
		     unsigned *n, struct sl_err *err);

#endif
