/*
 * Topology loading: this machine as hwloc sees it, or an hwloc synthetic
 * description of one we do not have, plus the set of PUs threads may use.
 * Also binding the calling thread to a PU, and the cpulist text form
 * ("0-3,8") used in options, messages and reports.
 *
 * Everything hwloc-specific lives here; policy.c sees the tree only through
 * sl_topo_walk().
 */
#include "pinning/pin.h"

#include <ctype.h>
#include <errno.h>
#include <hwloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Highest OS index a cpulist may name: above any kernel's NR_CPUS, low
 * enough that a seen-bitmap fits on the stack. */
#define PU_INDEX_MAX 65535

/* Synthetic machines larger than this would only exhaust memory: hwloc
 * gives every object a bitmap as wide as the highest PU index. */
#define SYNTHETIC_PU_MAX 16384

#define SYNTHETIC_EXAMPLE "\"pack:2 numa:2 core:8 pu:2\""

struct sl_topo {
	hwloc_topology_t topo;
	hwloc_bitmap_t usable;
	bool synthetic;
	char desc[128]; /* the synthetic description, for messages */
};

/* --- cpulist text ------------------------------------------------------- */

/* Appends pieces to a fixed buffer; once one does not fit, the text ends
 * in "..." so that a cut list is never mistaken for a whole one. */
struct list_buf {
	char *buf;
	size_t len, used;
	bool full;
};

static void list_put(struct list_buf *b, const char *piece)
{
	size_t n = strlen(piece);

	if (b->full || b->len == 0)
		return;
	if (b->used + n + 1 <= b->len) {
		memcpy(b->buf + b->used, piece, n + 1);
		b->used += n;
		return;
	}
	b->full = true;
	if (b->len >= 4) {
		size_t at = b->used + 4 <= b->len ? b->used : b->len - 4;

		memcpy(b->buf + at, "...", 4);
	}
}

static void list_put_range(struct list_buf *b, int lo, int hi)
{
	char piece[32];

	if (hi > lo)
		snprintf(piece, sizeof(piece), "%s%d-%d", b->used ? "," : "",
			 lo, hi);
	else
		snprintf(piece, sizeof(piece), "%s%d", b->used ? "," : "", lo);
	list_put(b, piece);
}

static void list_init(struct list_buf *b, char *buf, size_t len)
{
	b->buf = buf;
	b->len = len;
	b->used = 0;
	b->full = false;
	if (len)
		buf[0] = '\0';
}

/* Smallest value in pus greater than prev, or -1.  Quadratic over the
 * list, which stays small and needs no copy to sort. */
static int next_above(const int *pus, size_t n, int prev)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (pus[i] > prev && (best < 0 || pus[i] < best))
			best = pus[i];
	return best;
}

void sl_cpulist_format(const int *pus, size_t n, char *buf, size_t len)
{
	struct list_buf b;
	int lo, hi, v;

	list_init(&b, buf, len);
	/* Negative entries (an unbound thread) are not PUs. */
	lo = next_above(pus, n, -1);
	while (lo >= 0) {
		hi = lo;
		while ((v = next_above(pus, n, hi)) == hi + 1)
			hi = v;
		list_put_range(&b, lo, hi);
		lo = v;
	}
}

static void bitmap_format(hwloc_const_bitmap_t set, char *buf, size_t len)
{
	struct list_buf b;
	int lo = hwloc_bitmap_first(set);

	list_init(&b, buf, len);
	while (lo >= 0) {
		int hi = lo, v;

		while ((v = hwloc_bitmap_next(set, hi)) == hi + 1)
			hi = v;
		list_put_range(&b, lo, hi);
		lo = v;
	}
}

/* One PU number of a cpulist, [p, end). */
static int parse_pu_number(const char *p, const char *end, const char *what,
			   int *out, struct sl_err *err)
{
	long v = 0;

	if (p == end)
		return -EINVAL;
	for (const char *q = p; q < end; q++) {
		if (!isdigit((unsigned char)*q))
			return sl_err_set(err, -EINVAL,
					  "%s: '%.*s' is not a PU number (accepted: 0..%d, in a list like 0,2,4-7)",
					  what, (int)(end - p), p, PU_INDEX_MAX);
		if (v <= PU_INDEX_MAX)
			v = v * 10 + (*q - '0');
	}
	if (v > PU_INDEX_MAX)
		return sl_err_set(err, -EINVAL,
				  "%s: PU '%.*s' is out of range (accepted: 0..%d)",
				  what, (int)(end - p), p, PU_INDEX_MAX);
	*out = (int)v;
	return 0;
}

int sl_cpulist_parse(const char *s, const char *what, int *pus, unsigned max,
		     unsigned *n, struct sl_err *err)
{
	uint64_t seen[PU_INDEX_MAX / 64 + 1] = { 0 };
	const char *p = s;
	unsigned count = 0;

	if (!s || !*s || s[0] == ',' || s[strlen(s) - 1] == ',' ||
	    strstr(s, ",,"))
		return sl_err_set(err, -EINVAL,
				  "%s: '%s' is not a PU list (accepted: PUs and ranges joined by commas, e.g. 0,2,4-7)",
				  what, s ? s : "");
	while (*p) {
		const char *end = strchrnul(p, ',');
		const char *dash = memchr(p, '-', (size_t)(end - p));
		int lo, hi, rc;

		if (dash) {
			if (dash == p || dash + 1 == end)
				return sl_err_set(err, -EINVAL,
						  "%s: '%.*s' is not a PU range (accepted: LOW-HIGH, e.g. 4-7)",
						  what, (int)(end - p), p);
			rc = parse_pu_number(p, dash, what, &lo, err);
			if (rc == 0)
				rc = parse_pu_number(dash + 1, end, what, &hi, err);
			if (rc < 0)
				return rc;
			if (hi < lo)
				return sl_err_set(err, -EINVAL,
						  "%s: range '%.*s' runs backwards (accepted: LOW-HIGH, e.g. 4-7)",
						  what, (int)(end - p), p);
		} else {
			rc = parse_pu_number(p, end, what, &lo, err);
			if (rc < 0)
				return rc;
			hi = lo;
		}
		for (int v = lo; v <= hi; v++) {
			if (seen[v / 64] & (UINT64_C(1) << (v % 64)))
				return sl_err_set(err, -EINVAL,
						  "%s: PU '%d' is listed twice in '%s' (each PU may appear once)",
						  what, v, s);
			if (count == max)
				return sl_err_set(err, -EINVAL,
						  "%s: '%s' names more than %u PUs",
						  what, s, max);
			seen[v / 64] |= UINT64_C(1) << (v % 64);
			pus[count++] = v;
		}
		p = *end ? end + 1 : end;
	}
	*n = count;
	return 0;
}

/* --- loading ------------------------------------------------------------ */

/*
 * Product of the arities in a synthetic description ("pack:2 core:8 pu:2"
 * -> 32), saturating, so that an absurd one is refused before hwloc tries
 * to build it.  Attributes in parentheses are skipped; tokens without an
 * arity (memory attachments in brackets) count once.
 */
static unsigned long long synthetic_pus(const char *s)
{
	unsigned long long total = 1;
	int paren = 0;

	for (const char *p = s; *p; p++) {
		if (*p == '(')
			paren++;
		else if (*p == ')' && paren)
			paren--;
		else if (*p == ':' && !paren && isdigit((unsigned char)p[1])) {
			unsigned long long v = strtoull(p + 1, NULL, 10);

			total = v && total > (1ULL << 40) / v ? 1ULL << 40
							    : total * v;
		}
	}
	return total;
}

static int load_synthetic(struct sl_topo *t, const char *desc,
			  struct sl_err *err)
{
	if (!*desc || strspn(desc, " \t") == strlen(desc))
		return sl_err_set(err, -EINVAL,
				  "--topology: '' is not an hwloc synthetic description (e.g. "
				  SYNTHETIC_EXAMPLE ")");
	if (synthetic_pus(desc) > SYNTHETIC_PU_MAX)
		return sl_err_set(err, -EINVAL,
				  "--topology: '%s' describes more PUs than synclab handles (accepted: up to %d)",
				  desc, SYNTHETIC_PU_MAX);
	if (hwloc_topology_set_synthetic(t->topo, desc) < 0)
		return sl_err_set(err, -EINVAL,
				  "--topology: '%s' is not an hwloc synthetic description (e.g. "
				  SYNTHETIC_EXAMPLE ")", desc);
	if (hwloc_topology_load(t->topo) < 0)
		return sl_err_set(err, -EINVAL,
				  "--topology: cannot build '%s': %s", desc,
				  strerror(errno));
	snprintf(t->desc, sizeof(t->desc), "%s", desc);
	return 0;
}

static int load_this_machine(struct sl_topo *t, struct sl_err *err)
{
	/* By default hwloc leaves out what the cgroup cpuset disallows. */
	if (hwloc_topology_load(t->topo) < 0)
		return sl_err_set(err, errno ? -errno : -ENODEV,
				  "cannot read this machine's topology: %s",
				  strerror(errno));
	return 0;
}

/* The affinity inherited from taskset and the like, as the union over the
 * process's threads; where the OS cannot say, every allowed PU stays. */
static int restrict_to_affinity(struct sl_topo *t, struct sl_err *err)
{
	hwloc_bitmap_t bound = hwloc_bitmap_alloc();

	if (!bound)
		return sl_err_set(err, -ENOMEM, "out of memory");
	if (hwloc_get_cpubind(t->topo, bound, HWLOC_CPUBIND_PROCESS) == 0 &&
	    !hwloc_bitmap_iszero(bound))
		hwloc_bitmap_and(t->usable, t->usable, bound);
	hwloc_bitmap_free(bound);
	return 0;
}

/* Restrict the usable set to the user's list.  Naming a PU the topology
 * does not have is an error; one outside the inherited affinity is simply
 * not usable, and only a list that leaves nothing is refused. */
static int restrict_to_list(struct sl_topo *t, const char *allowed,
			    struct sl_err *err)
{
	hwloc_bitmap_t want = NULL;
	char have[256];
	unsigned n;
	int *pus, rc;

	pus = malloc((PU_INDEX_MAX + 1) * sizeof(*pus));
	if (!pus)
		return sl_err_set(err, -ENOMEM, "out of memory");
	rc = sl_cpulist_parse(allowed, "--allowed", pus, PU_INDEX_MAX + 1, &n,
			      err);
	if (rc < 0)
		goto out;
	want = hwloc_bitmap_alloc();
	if (!want) {
		rc = sl_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)pus[i])) {
			bitmap_format(hwloc_topology_get_topology_cpuset(t->topo),
				      have, sizeof(have));
			rc = sl_err_set(err, -EINVAL,
					"--allowed: PU '%d' does not exist here (PUs: %s)",
					pus[i], have);
			goto out;
		}
		hwloc_bitmap_set(want, (unsigned)pus[i]);
	}
	if (!hwloc_bitmap_intersects(t->usable, want)) {
		bitmap_format(t->usable, have, sizeof(have));
		rc = sl_err_set(err, -EINVAL,
				"--allowed: '%s' leaves no usable PU (usable: %s)",
				allowed, have);
		goto out;
	}
	hwloc_bitmap_and(t->usable, t->usable, want);
out:
	hwloc_bitmap_free(want);
	free(pus);
	return rc;
}

int sl_topo_load(struct sl_topo **out, const char *synthetic,
		 const char *allowed, struct sl_err *err)
{
	struct sl_topo *t;
	int rc;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	if (hwloc_topology_init(&t->topo) < 0) {
		free(t);
		return sl_err_set(err, -ENOMEM, "cannot set up hwloc: out of memory");
	}
	t->synthetic = synthetic != NULL;
	t->usable = hwloc_bitmap_alloc();
	if (!t->usable) {
		rc = sl_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	rc = synthetic ? load_synthetic(t, synthetic, err)
		       : load_this_machine(t, err);
	if (rc < 0)
		goto fail;
	hwloc_bitmap_and(t->usable, hwloc_topology_get_topology_cpuset(t->topo),
			 hwloc_topology_get_allowed_cpuset(t->topo));
	if (!synthetic) {
		rc = restrict_to_affinity(t, err);
		if (rc < 0)
			goto fail;
	}
	if (hwloc_bitmap_iszero(t->usable)) {
		rc = sl_err_set(err, -ENODEV,
				"no usable PU: the CPUs this process may run on are not in the topology");
		goto fail;
	}
	if (allowed) {
		rc = restrict_to_list(t, allowed, err);
		if (rc < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	sl_topo_free(t);
	return rc;
}

void sl_topo_free(struct sl_topo *t)
{
	if (!t)
		return;
	hwloc_bitmap_free(t->usable);
	hwloc_topology_destroy(t->topo);
	free(t);
}

/* --- queries ------------------------------------------------------------ */

static unsigned count_type(const struct sl_topo *t, hwloc_obj_type_t type)
{
	int n = hwloc_get_nbobjs_by_type(t->topo, type);

	/* -1: the type sits at several depths, e.g. Groups; count them all. */
	if (n < 0) {
		hwloc_obj_t o = NULL;

		n = 0;
		while ((o = hwloc_get_next_obj_by_type(t->topo, type, o)))
			n++;
	}
	return (unsigned)n;
}

static unsigned long long cache_size(const struct sl_topo *t,
				     hwloc_obj_type_t type)
{
	hwloc_obj_t o = hwloc_get_next_obj_by_type(t->topo, type, NULL);

	return o ? (unsigned long long)o->attr->cache.size : 0;
}

void sl_topo_summarize(const struct sl_topo *t, struct sl_topo_summary *s)
{
	hwloc_obj_t core = NULL;
	int w;

	memset(s, 0, sizeof(*s));
	s->synthetic = t->synthetic;
	s->packages = count_type(t, HWLOC_OBJ_PACKAGE);
	s->numa_nodes = count_type(t, HWLOC_OBJ_NUMANODE);
	s->l3_caches = count_type(t, HWLOC_OBJ_L3CACHE);
	s->cores = count_type(t, HWLOC_OBJ_CORE);
	s->pus = count_type(t, HWLOC_OBJ_PU);
	w = hwloc_bitmap_weight(t->usable);
	s->usable_pus = w > 0 ? (unsigned)w : 0;
	/* Without Core objects every PU stands alone. */
	s->smt_per_core = 1;
	while ((core = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_CORE, core))) {
		w = hwloc_bitmap_weight(core->cpuset);
		if (w > 0 && (unsigned)w > s->smt_per_core)
			s->smt_per_core = (unsigned)w;
	}
	s->l1d_bytes = cache_size(t, HWLOC_OBJ_L1CACHE);
	s->l2_bytes = cache_size(t, HWLOC_OBJ_L2CACHE);
	s->l3_bytes = cache_size(t, HWLOC_OBJ_L3CACHE);
	bitmap_format(t->usable, s->usable, sizeof(s->usable));
}

static int walk_obj(const struct sl_topo *t, hwloc_obj_t o, unsigned depth,
		    int (*fn)(const struct sl_topo_node *n, void *arg), void *arg)
{
	struct sl_topo_node n;
	char type[32];
	hwloc_obj_t c;
	int rc;

	hwloc_obj_type_snprintf(type, sizeof(type), o, 0);
	n.depth = depth;
	n.type = type;
	n.os_index = o->os_index == HWLOC_UNKNOWN_INDEX ? -1 : (int)o->os_index;
	n.logical_index = o->logical_index;
	n.size = 0;
	if (hwloc_obj_type_is_cache(o->type))
		n.size = o->attr->cache.size;
	else if (o->type == HWLOC_OBJ_NUMANODE)
		n.size = o->attr->numanode.local_memory;
	/* Other objects: usable when they hold a usable PU. */
	if (o->type == HWLOC_OBJ_PU)
		n.usable = hwloc_bitmap_isset(t->usable, o->os_index);
	else
		n.usable = o->cpuset && hwloc_bitmap_intersects(o->cpuset, t->usable);
	rc = fn(&n, arg);
	if (rc)
		return rc;
	/* Memory first: a NUMA node belongs to the object it hangs from, and
	 * listing it before the CPUs reads like lstopo. */
	for (c = o->memory_first_child; c; c = c->next_sibling) {
		rc = walk_obj(t, c, depth + 1, fn, arg);
		if (rc)
			return rc;
	}
	for (c = o->first_child; c; c = c->next_sibling) {
		rc = walk_obj(t, c, depth + 1, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void sl_topo_walk(const struct sl_topo *t,
		  int (*fn)(const struct sl_topo_node *n, void *arg), void *arg)
{
	walk_obj(t, hwloc_get_root_obj(t->topo), 0, fn, arg);
}

static int ancestor_index(const struct sl_topo *t, hwloc_obj_type_t type,
			  hwloc_obj_t pu)
{
	hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(t->topo, type, pu);

	return a ? (int)a->logical_index : -1;
}

enum sl_pu_distance sl_pu_distance(const struct sl_pu_info *a,
				   const struct sl_pu_info *b)
{
	if (a->os_index < 0 || b->os_index < 0)
		return SL_PU_UNKNOWN;
	if (a->os_index == b->os_index)
		return SL_PU_SAME;
	/* Logical indices are machine-wide, so equal means the same object;
	 * -1 (the topology has no such level) never matches. */
	if (a->core >= 0 && a->core == b->core)
		return SL_PU_SMT;
	if (a->l3 >= 0 && a->l3 == b->l3)
		return SL_PU_CACHE;
	/* A package boundary is remote even where one NUMA node spans the
	 * machine (no NUMA information). */
	if (a->package >= 0 && b->package >= 0 && a->package != b->package)
		return SL_PU_REMOTE;
	if (a->numa >= 0 && b->numa >= 0)
		return a->numa == b->numa ? SL_PU_NODE : SL_PU_REMOTE;
	if (a->package >= 0 && b->package >= 0)
		return SL_PU_NODE;
	return SL_PU_UNKNOWN;
}

const char *sl_pu_distance_name(enum sl_pu_distance d)
{
	static const char *const names[SL_PU_DISTANCES] = {
		"same-pu", "smt", "shared-cache", "same-node", "remote", "unknown",
	};

	return (unsigned)d < SL_PU_DISTANCES ? names[d] : "unknown";
}

int sl_topo_pu_info(const struct sl_topo *t, int os_index,
		    struct sl_pu_info *info)
{
	hwloc_obj_t pu, core, numa = NULL;

	if (os_index < 0)
		return -EINVAL;
	pu = hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)os_index);
	if (!pu)
		return -EINVAL;
	info->os_index = os_index;
	info->package = ancestor_index(t, HWLOC_OBJ_PACKAGE, pu);
	info->l3 = ancestor_index(t, HWLOC_OBJ_L3CACHE, pu);
	info->core = ancestor_index(t, HWLOC_OBJ_CORE, pu);
	/* NUMA nodes hang off the tree as memory children (in a synthetic
	 * topology, of a Group hwloc adds per "numa" level), so they are not
	 * ancestors: take the first whose cpuset holds this PU. */
	info->numa = -1;
	while ((numa = hwloc_get_next_obj_by_type(t->topo, HWLOC_OBJ_NUMANODE, numa))) {
		if (numa->cpuset && hwloc_bitmap_isset(numa->cpuset, pu->os_index)) {
			info->numa = (int)numa->logical_index;
			break;
		}
	}
	info->smt = 0;
	core = hwloc_get_ancestor_obj_by_type(t->topo, HWLOC_OBJ_CORE, pu);
	if (core) {
		hwloc_obj_t first = hwloc_get_next_obj_inside_cpuset_by_type(
			t->topo, core->cpuset, HWLOC_OBJ_PU, NULL);

		if (first)
			info->smt = (int)(pu->logical_index - first->logical_index);
	}
	return 0;
}

/* --- binding ------------------------------------------------------------ */

int sl_pin_bind_self(const struct sl_topo *t, int pu, struct sl_err *err)
{
	hwloc_obj_t o = NULL;
	char have[256];

	if (pu >= 0)
		o = hwloc_get_pu_obj_by_os_index(t->topo, (unsigned)pu);
	if (!o || !hwloc_bitmap_isset(t->usable, (unsigned)pu)) {
		bitmap_format(t->usable, have, sizeof(have));
		return sl_err_set(err, -EINVAL,
				  "cannot bind to PU '%d': it is not usable here (usable: %s)",
				  pu, have);
	}
	/* hwloc would accept the call and do nothing: the synthetic machine is
	 * not the one we run on. */
	if (t->synthetic)
		return sl_err_set(err, -ENOTSUP,
				  "cannot bind to PU '%d': the topology is synthetic ('%s'), not this machine",
				  pu, t->desc);
	/* o->cpuset is only read, so workers may bind concurrently. */
	if (hwloc_set_cpubind(t->topo, o->cpuset, HWLOC_CPUBIND_THREAD) < 0) {
		int e = errno ? errno : EINVAL;

		return sl_err_set(err, -e, "cannot bind to PU '%d': %s", pu,
				  strerror(e));
	}
	return 0;
}
