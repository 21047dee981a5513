/*
 * Placement policies: which PU each thread of a run is bound to.
 *
 * The orders are computed from the tree that sl_topo_walk() shows, so this
 * file knows nothing of hwloc and behaves the same on this machine and on
 * a synthetic one.  Only usable PUs take part.
 *
 *   compact  PUs in depth-first order: the SMT siblings of a core, then the
 *            other cores under the same cache, NUMA node and package.
 *   scatter  at every object, take one PU from each child in turn, so that
 *            consecutive threads land on different packages, then NUMA
 *            nodes (or L3 caches), then cores; then every core's first
 *            PU comes before any core's second, so SMT siblings share a
 *            core only once every core has a thread.
 */
#include "pinning/pin.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/opt.h"

/* One object of the tree, flattened in depth-first order. */
struct flat_node {
	unsigned depth;
	int pu;          /* OS index when a usable PU, else -1 */
	bool core;
	size_t end;      /* one past the last node of its subtree */
	unsigned npus;   /* usable PUs in its subtree */
};

struct flat_tree {
	struct flat_node *v;
	size_t n, cap;
	int rc;          /* -ENOMEM when the walk could not be stored */
};

static int collect_node(const struct sl_topo_node *n, void *arg)
{
	struct flat_tree *f = arg;
	struct flat_node *nd;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 256;
		struct flat_node *v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			f->rc = -ENOMEM;
			return 1;
		}
		f->v = v;
		f->cap = cap;
	}
	nd = &f->v[f->n++];
	nd->depth = n->depth;
	nd->pu = strcmp(n->type, "PU") == 0 && n->usable ? n->os_index : -1;
	nd->core = strcmp(n->type, "Core") == 0;
	nd->end = 0;
	nd->npus = 0;
	return 0;
}

/* Walk the topology into f and give every node its subtree's extent and
 * usable PU count. */
static int flatten(const struct sl_topo *t, struct flat_tree *f)
{
	size_t *open, *pus_before, top = 0;
	unsigned seen = 0;

	memset(f, 0, sizeof(*f));
	sl_topo_walk(t, collect_node, f);
	if (f->rc < 0)
		return f->rc;
	open = malloc((f->n + 1) * sizeof(*open));
	pus_before = malloc((f->n + 1) * sizeof(*pus_before));
	if (!open || !pus_before) {
		free(open);
		free(pus_before);
		return -ENOMEM;
	}
	/* A node's subtree ends where the next node at its depth or above
	 * begins; a stack of the nodes still open finds that in one pass. */
	for (size_t i = 0; i <= f->n; i++) {
		unsigned d = i < f->n ? f->v[i].depth : 0;

		while (top && (i == f->n || f->v[open[top - 1]].depth >= d)) {
			struct flat_node *o = &f->v[open[--top]];

			o->end = i;
			o->npus = seen - (unsigned)pus_before[top];
		}
		if (i == f->n)
			break;
		open[top] = i;
		pus_before[top++] = seen;
		if (f->v[i].pu >= 0)
			seen++;
	}
	free(open);
	free(pus_before);
	return 0;
}

/* Usable PUs in depth-first order, which is hwloc's logical order. */
static unsigned compact_order(const struct flat_tree *f, int *out)
{
	unsigned n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].pu >= 0)
			out[n++] = f->v[i].pu;
	return n;
}

/* Fill out with the npus PUs of node i, one from each child in turn. */
static int interleave(const struct flat_tree *f, size_t i, int *out)
{
	const struct flat_node *nd = &f->v[i];
	size_t only = 0, kids = 0, k = 0;
	unsigned *start, *len, done = 0;
	int *tmp, rc = 0;

	if (nd->pu >= 0) {
		out[0] = nd->pu;
		return 0;
	}
	for (size_t c = i + 1; c < nd->end; c = f->v[c].end) {
		if (f->v[c].npus) {
			only = c;
			kids++;
		}
	}
	if (kids == 0)
		return 0;
	/* Levels with one child (private caches, a lone package) pass the
	 * order through unchanged. */
	if (kids == 1)
		return interleave(f, only, out);
	tmp = malloc(nd->npus * sizeof(*tmp));
	start = malloc(kids * sizeof(*start));
	len = malloc(kids * sizeof(*len));
	if (!tmp || !start || !len) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t c = i + 1; c < nd->end; c = f->v[c].end) {
		if (!f->v[c].npus)
			continue;
		start[k] = done;
		len[k] = f->v[c].npus;
		rc = interleave(f, c, tmp + done);
		if (rc < 0)
			goto out;
		done += len[k++];
	}
	done = 0;
	for (unsigned round = 0; done < nd->npus; round++)
		for (k = 0; k < kids; k++)
			if (round < len[k])
				out[done++] = tmp[start[k] + round];
out:
	free(tmp);
	free(start);
	free(len);
	return rc;
}

/* Rank of each usable PU among the usable PUs of its core (0 for a PU
 * outside any Core object), indexed by OS index. */
static int smt_ranks(const struct flat_tree *f, unsigned **ranks_out,
		     unsigned *max_rank)
{
	size_t core_end = 0;
	unsigned next = 0, *ranks;
	int max_os = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].pu > max_os)
			max_os = f->v[i].pu;
	ranks = calloc((size_t)max_os + 1, sizeof(*ranks));
	if (!ranks)
		return -ENOMEM;
	*max_rank = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct flat_node *nd = &f->v[i];

		if (nd->core) {
			core_end = nd->end;
			next = 0;
		}
		if (nd->pu < 0)
			continue;
		ranks[nd->pu] = i < core_end ? next++ : 0;
		if (ranks[nd->pu] > *max_rank)
			*max_rank = ranks[nd->pu];
	}
	*ranks_out = ranks;
	return 0;
}

static int scatter_order(const struct flat_tree *f, int *out)
{
	unsigned *ranks = NULL, max_rank = 0, n = f->v[0].npus, k = 0;
	int *rr;
	int rc;

	rr = malloc(n * sizeof(*rr));
	if (!rr)
		return -ENOMEM;
	rc = interleave(f, 0, rr);
	if (rc == 0)
		rc = smt_ranks(f, &ranks, &max_rank);
	if (rc < 0) {
		free(rr);
		return rc;
	}
	/* Stable by SMT rank: the round-robin order among first PUs of cores,
	 * then among second PUs, and so on. */
	for (unsigned r = 0; r <= max_rank; r++)
		for (unsigned i = 0; i < n; i++)
			if (ranks[rr[i]] == r)
				out[k++] = rr[i];
	free(ranks);
	free(rr);
	return 0;
}

static bool contains(const int *v, unsigned n, int x)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static int place_list(const struct sl_pin_spec *spec, const int *usable,
		      unsigned nusable, unsigned nthreads, int *pus,
		      bool *oversubscribed, struct sl_err *err)
{
	unsigned distinct = 0;

	if (spec->n == 0 || spec->n > SL_PIN_LIST_MAX)
		return sl_err_set(err, -EINVAL,
				  "--pin: '%s' lists no PU (accepted: a PU list like 0,2,4-7)",
				  spec->text);
	for (unsigned i = 0; i < spec->n; i++) {
		if (!contains(usable, nusable, spec->pus[i])) {
			char have[256];

			sl_cpulist_format(usable, nusable, have, sizeof(have));
			return sl_err_set(err, -EINVAL,
					  "--pin: PU '%d' is not usable here (usable: %s)",
					  spec->pus[i], have);
		}
		/* sl_pin_parse refuses duplicates, but a spec built by hand
		 * may repeat a PU: count each once. */
		if (!contains(spec->pus, i, spec->pus[i]))
			distinct++;
	}
	for (unsigned i = 0; i < nthreads; i++)
		pus[i] = spec->pus[i % spec->n];
	*oversubscribed = nthreads > distinct;
	return 0;
}

int sl_pin_place(const struct sl_topo *t, const struct sl_pin_spec *spec,
		 unsigned nthreads, int *pus, bool *oversubscribed,
		 struct sl_err *err)
{
	struct flat_tree f;
	int *usable = NULL, *order = NULL;
	unsigned n;
	int rc;

	rc = flatten(t, &f);
	if (rc < 0)
		goto nomem;
	n = f.n ? f.v[0].npus : 0;
	if (n == 0) {
		free(f.v);
		return sl_err_set(err, -ENODEV, "--pin: no usable PU to place threads on");
	}
	usable = malloc(n * sizeof(*usable));
	if (!usable) {
		rc = -ENOMEM;
		goto nomem;
	}
	compact_order(&f, usable);
	switch (spec->policy) {
	case SL_PIN_NONE:
		for (unsigned i = 0; i < nthreads; i++)
			pus[i] = -1;
		*oversubscribed = nthreads > n;
		break;
	case SL_PIN_LIST:
		rc = place_list(spec, usable, n, nthreads, pus, oversubscribed,
				err);
		break;
	case SL_PIN_COMPACT:
	case SL_PIN_SCATTER:
		if (spec->policy == SL_PIN_SCATTER) {
			order = malloc(n * sizeof(*order));
			rc = order ? scatter_order(&f, order) : -ENOMEM;
			if (rc < 0)
				goto nomem;
		}
		for (unsigned i = 0; i < nthreads; i++)
			pus[i] = (order ? order : usable)[i % n];
		*oversubscribed = nthreads > n;
		break;
	default:
		SL_BUG("placement policy %d", (int)spec->policy);
	}
	free(order);
	free(usable);
	free(f.v);
	return rc;
nomem:
	free(order);
	free(usable);
	free(f.v);
	return sl_err_set(err, -ENOMEM, "--pin: out of memory placing threads");
}

static const char *const policy_names[] = { "compact", "scatter", "none" };
static const enum sl_pin_policy policy_values[] = {
	SL_PIN_COMPACT, SL_PIN_SCATTER, SL_PIN_NONE,
};

int sl_pin_parse(const char *s, struct sl_pin_spec *out, struct sl_err *err)
{
	struct sl_pin_spec spec;
	const char *close;
	int rc;

	memset(&spec, 0, sizeof(spec));
	if (!s)
		s = "";
	/* Keeps what fits: text is for reports, the parse uses s itself. */
	snprintf(spec.text, sizeof(spec.text), "%s", s);
	for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++) {
		if (strcmp(s, policy_names[i]) == 0) {
			spec.policy = policy_values[i];
			*out = spec;
			return 0;
		}
	}
	if (isdigit((unsigned char)s[0])) {
		rc = sl_cpulist_parse(s, "--pin", spec.pus, SL_PIN_LIST_MAX,
				      &spec.n, err);
		if (rc < 0)
			return rc;
		spec.policy = SL_PIN_LIST;
		*out = spec;
		return 0;
	}
	close = sl_suggest(s, policy_names,
			   sizeof(policy_names) / sizeof(policy_names[0]));
	if (close)
		return sl_err_set(err, -EINVAL,
				  "--pin: '%s' is not a placement (accepted: compact, scatter, none or a PU list like 0,2,4-7) (did you mean '%s'?)",
				  s, close);
	return sl_err_set(err, -EINVAL,
			  "--pin: '%s' is not a placement (accepted: compact, scatter, none or a PU list like 0,2,4-7)",
			  s);
}
