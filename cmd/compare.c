/*
 * synclab compare BASE.csv NEW.csv: match the points of two results files
 * by their parameters and say, per point, whether NEW is faster, slower or
 * within noise of BASE, deciding on the repetitions (a Mann-Whitney rank
 * test) and on a threshold.  The figure is ops per CPU-second when the files
 * carry cpu_s, since on a shared machine the CPU share other tenants take is
 * the largest noise; a drift common to all primitives can be divided out on
 * request.  Exit 1 when a point regressed; 2 when the input cannot be
 * compared, with nothing written.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "reports/csvread.h"
#include "reports/report.h"
#include "util/fs.h"
#include "util/opt.h"

/* Significance level of the rank test: fixed, so that a gate cannot be
 * loosened by accident; --threshold is the dial. */
#define ALPHA 0.05
#define MAX_KEY 32
/* Below this many comparable points in a group, its median says too
 * little about the machine; the median of all points stands in. */
#define DRIFT_MIN_POINTS 3

enum side { BASE, NEW };

enum verdict {
	V_WITHIN,
	V_SLOWER,
	V_FASTER,
	V_TOO_FEW,
	V_ONLY_BASE,
	V_MISSING_NEW,
	V_ONLY_NEW,
	V_FAILS_NEW,
	V_FAILS_BOTH,
	V_FIXED,
	V_NO_OK,
	V_REFERENCE,
	V_NO_REFERENCE,
};

static const struct {
	const char *csv;   /* the token in --csv output */
	const char *text;  /* what the table says */
	bool regression;
} verdicts[] = {
	[V_WITHIN] = { "within-noise", "within noise", false },
	[V_SLOWER] = { "slower", "slower: regression", true },
	[V_FASTER] = { "faster", "faster", false },
	[V_TOO_FEW] = { "too-few-reps", "too few repetitions to decide", false },
	[V_ONLY_BASE] = { "only-in-base", "only in BASE", false },
	/* A point the gate can no longer vouch for: NEW stopped early,
	 * crashed, or no longer runs it (--allow-missing when intended). */
	[V_MISSING_NEW] = { "missing-in-new", "missing in NEW: regression", true },
	[V_ONLY_NEW] = { "only-in-new", "only in NEW", false },
	[V_FAILS_NEW] = { "fails-in-new", "fails in NEW: regression", true },
	[V_FAILS_BOTH] = { "fails-in-both", "fails in both", false },
	[V_FIXED] = { "fixed-in-new", "fails in BASE, ok in NEW", false },
	[V_NO_OK] = { "no-ok-reps", "no ok repetition to compare", false },
	[V_REFERENCE] = { "reference", "reference (drift)", false },
	[V_NO_REFERENCE] = { "no-reference", "no reference point to divide by", false },
};

struct file {
	struct sl_csvdata d;
	const char *path;
	int prim, status, rate, ops, cpu, rep, message, host, version;
	int key[MAX_KEY];  /* -1: the file lacks the column (empty values) */
};

struct point {
	size_t row[2];        /* first row of the point in each file */
	bool in[2];
	double *rate[2];      /* ok repetitions' figure (--metric) */
	double *wall[2];      /* and their ops/s */
	size_t nok[2], cap[2];
	const char *fail[2];  /* status of the first failed repetition */
	const char *why[2];   /* and its message */
	const char **reps[2]; /* rep numbers seen, to tell runs apart */
	size_t nreps[2], repcap[2];
	bool reps_repeat[2];  /* a rep number seen twice: runs were joined */
	char *key;            /* canonical key */
	char *group;          /* the key without the primitive */
	double med[2], ratio, drift, change, adj, p;
	double wall_med[2];   /* median ops/s, whatever the metric */
	enum verdict v;
};

struct cmp {
	struct file f[2];
	const char *const *keycols;
	size_t nkey;
	struct point *pt;
	size_t npt, cap;
	double threshold;  /* fraction */
	const char *normalize;
	bool by_prim;      /* normalize names a primitive */
	bool per_cpu;      /* deciding on ops per CPU-second */
	const char *unit;  /* of the figure, for the table */
	char metric_note[256]; /* why auto chose ops_per_sec; "" otherwise */
	bool allow_missing; /* a point only in BASE is no regression */
};

static const char compare_usage[] = "synclab compare [options] BASE.csv NEW.csv";
static const char compare_summary[] =
	"Match the points of two results CSVs (primitive, threads and every parameter\n"
	"column) and print per point both medians, the change and a verdict: slower or\n"
	"faster when a Mann-Whitney rank test over the repetitions gives p < 0.05 and\n"
	"the change is beyond --threshold; else within noise.  Decided on ops per\n"
	"CPU-second when the files have cpu_s (other tenants' share of the CPUs\n"
	"divided out).  On a shared machine, alternate BASE and NEW runs of --repeat 1\n"
	"and join each side's files with cat (see COMPARE OPTIONS in synclab(1)).\n"
	"Exit 0: nothing regressed; 1: a point is slower beyond the threshold or fails\n"
	"in NEW; 2: the input cannot be compared.";

/* --- reading ------------------------------------------------------------- */

static bool parse_num(const char *s, double *v)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*v = strtod(s, &end);
	return *end == '\0' && errno == 0 && isfinite(*v);
}

/* A key cell in a form that compares equal when the values are: numbers
 * by value ("0.2" and "0.200000"), text as it is. */
static void canon(const char *cell, char *buf, size_t n)
{
	double v;

	if (parse_num(cell, &v))
		snprintf(buf, n, "%.17g", v);
	else
		snprintf(buf, n, "%s", cell);
}

/* Key columns from `from` on: the whole key (0) or the group (1: all but
 * the primitive). */
static char *make_key(const struct cmp *c, const struct file *f, size_t row,
		      size_t from)
{
	size_t len = 1, o = 0;
	char *key;

	for (size_t k = from; k < c->nkey; k++)
		len += strlen(sl_csv_cell(&f->d, row, f->key[k])) + 32;
	key = malloc(len);
	if (!key)
		return NULL;
	for (size_t k = from; k < c->nkey; k++) {
		canon(sl_csv_cell(&f->d, row, f->key[k]), key + o, len - o);
		o += strlen(key + o);
		key[o++] = '\x1f';
	}
	key[o] = '\0';
	return key;
}

static int load_file(struct cmp *c, enum side s, const char *path,
		     struct sl_err *err)
{
	static const char *const required[] = {
		"primitive", "threads", "status", "ops_per_sec",
	};
	struct file *f = &c->f[s];
	int rc;

	f->path = path;
	rc = sl_csv_load(&f->d, path, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (sl_csv_column(&f->d, required[i]) < 0)
			return sl_err_set(err, -EINVAL,
					  "'%s' has no '%s' column (accepted: a results CSV of synclab bench or sweep)",
					  path, required[i]);
	f->prim = sl_csv_column(&f->d, "primitive");
	f->status = sl_csv_column(&f->d, "status");
	f->rate = sl_csv_column(&f->d, "ops_per_sec");
	f->ops = sl_csv_column(&f->d, "ops");
	f->cpu = sl_csv_column(&f->d, "cpu_s");
	f->rep = sl_csv_column(&f->d, "rep");
	f->message = sl_csv_column(&f->d, "message");
	f->host = sl_csv_column(&f->d, "host");
	f->version = sl_csv_column(&f->d, "synclab_version");
	for (size_t k = 0; k < c->nkey; k++)
		f->key[k] = sl_csv_column(&f->d, c->keycols[k]);
	return 0;
}

/* A header line repeated inside the file: two CSVs joined with cat. */
static bool is_header_again(const struct file *f, size_t row)
{
	for (size_t i = 0; i < f->d.ncols; i++)
		if (strcmp(sl_csv_cell(&f->d, row, (int)i), f->d.header[i]) != 0)
			return false;
	return true;
}

/* Repetitions are failed when the primitive or the harness broke; a
 * repetition that was interrupted or could not run says nothing either
 * way. */
static bool is_failure(const char *status)
{
	return strcmp(status, "ok") != 0 && strcmp(status, "unsupported") != 0 &&
	       strcmp(status, "interrupted") != 0;
}

static struct point *find_or_add(struct cmp *c, const char *key)
{
	for (size_t i = 0; i < c->npt; i++)
		if (strcmp(c->pt[i].key, key) == 0)
			return &c->pt[i];
	if (c->npt == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct point *p = realloc(c->pt, cap * sizeof(*p));

		if (!p)
			return NULL;
		c->pt = p;
		c->cap = cap;
	}
	memset(&c->pt[c->npt], 0, sizeof(c->pt[0]));
	return &c->pt[c->npt++];
}

static int push_rate(struct point *p, enum side s, double v, double wall)
{
	if (p->nok[s] == p->cap[s]) {
		size_t cap = p->cap[s] ? p->cap[s] * 2 : 8;
		double *r = realloc(p->rate[s], cap * sizeof(*r));
		double *w;

		if (!r)
			return -ENOMEM;
		p->rate[s] = r;
		w = realloc(p->wall[s], cap * sizeof(*w));
		if (!w)
			return -ENOMEM;
		p->wall[s] = w;
		p->cap[s] = cap;
	}
	p->wall[s][p->nok[s]] = wall;
	p->rate[s][p->nok[s]++] = v;
	return 0;
}

/* Note rep number rep of file s for p; a number seen before means the
 * file joins several runs of the point. */
static int note_rep(struct point *p, enum side s, const char *rep)
{
	for (size_t i = 0; i < p->nreps[s]; i++)
		if (strcmp(p->reps[s][i], rep) == 0) {
			p->reps_repeat[s] = true;
			return 0;
		}
	if (p->nreps[s] == p->repcap[s]) {
		size_t cap = p->repcap[s] ? p->repcap[s] * 2 : 8;
		const char **r = realloc(p->reps[s], cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		p->reps[s] = r;
		p->repcap[s] = cap;
	}
	p->reps[s][p->nreps[s]++] = rep;
	return 0;
}

/* Operations per second of CPU time the workers got: what is left of
 * throughput when the share of the CPUs other tenants took is divided out. */
static int row_per_cpu(const struct file *f, size_t r, double *v,
		       struct sl_err *err)
{
	const char *ops = sl_csv_cell(&f->d, r, f->ops);
	const char *cpu = sl_csv_cell(&f->d, r, f->cpu);
	double o, t;

	if (!parse_num(ops, &o) || o < 0.0)
		return sl_err_set(err, -EINVAL,
				  "'%s' line %zu: ops '%s' is not a count (accepted: a number on every ok row)",
				  f->path, r + 2, ops);
	/* No CPU time and no ops: a worker that never ran, 0 ops/cpu-s. */
	if (!parse_num(cpu, &t) || t < 0.0 || (t == 0.0 && o > 0.0))
		return sl_err_set(err, -EINVAL,
				  "'%s' line %zu: cpu_s '%s' is not a positive time (accepted: seconds on every ok row, or --metric ops_per_sec)",
				  f->path, r + 2, cpu);
	*v = t > 0.0 ? o / t : 0.0;
	return 0;
}

static int gather(struct cmp *c, enum side s, struct sl_err *err)
{
	struct file *f = &c->f[s];
	size_t rows = 0;

	for (size_t r = 0; r < f->d.nrows; r++) {
		const char *status, *cell;
		struct point *p;
		char *key;
		double v;

		if (is_header_again(f, r))
			continue;
		rows++;
		key = make_key(c, f, r, 0);
		if (!key)
			return sl_err_set(err, -ENOMEM, "out of memory");
		p = find_or_add(c, key);
		if (!p) {
			free(key);
			return sl_err_set(err, -ENOMEM, "out of memory");
		}
		if (p->key) {
			free(key);
		} else {
			p->key = key;
			p->group = make_key(c, f, r, 1);
			if (!p->group)
				return sl_err_set(err, -ENOMEM, "out of memory");
		}
		if (!p->in[s]) {
			p->in[s] = true;
			p->row[s] = r;
		}
		if (f->rep >= 0 && note_rep(p, s, sl_csv_cell(&f->d, r, f->rep)) < 0)
			return sl_err_set(err, -ENOMEM, "out of memory");
		status = sl_csv_cell(&f->d, r, f->status);
		if (strcmp(status, "ok") == 0) {
			double wall;

			/* Data row r is line r + 2 when no field spans lines. */
			cell = sl_csv_cell(&f->d, r, f->rate);
			if (!parse_num(cell, &wall) || wall < 0.0)
				return sl_err_set(err, -EINVAL,
						  "'%s' line %zu: ops_per_sec '%s' is not a rate (accepted: a number of ops/s on every ok row)",
						  f->path, r + 2, cell);
			v = wall;
			if (c->per_cpu && row_per_cpu(f, r, &v, err) < 0)
				return -EINVAL;
			if (push_rate(p, s, v, wall) < 0)
				return sl_err_set(err, -ENOMEM, "out of memory");
		} else if (is_failure(status) && !p->fail[s]) {
			p->fail[s] = status;
			p->why[s] = sl_csv_cell(&f->d, r, f->message);
		}
	}
	if (rows == 0)
		return sl_err_set(err, -EINVAL, "'%s' has a header but no results rows",
				  f->path);
	return 0;
}

/* --- deciding ------------------------------------------------------------ */

static bool comparable(const struct point *p)
{
	return p->in[BASE] && p->in[NEW] && p->nok[BASE] && p->nok[NEW] &&
	       !p->fail[BASE] && !p->fail[NEW];
}

/*
 * The machine's drift between the runs, per group (same threads and
 * parameters): the median over the group's points of new/base, or the
 * reference primitive's ratio.  A group too small for a median borrows the
 * median of all points.  NAN: no reference point in the group.
 */
static int set_drift(struct cmp *c, bool *borrowed, struct sl_err *err)
{
	double *v = malloc((c->npt ? c->npt : 1) * sizeof(*v));
	double all;
	size_t n = 0;

	if (!v)
		return sl_err_set(err, -ENOMEM, "out of memory");
	*borrowed = false;
	for (size_t i = 0; i < c->npt; i++)
		if (comparable(&c->pt[i]))
			v[n++] = c->pt[i].ratio;
	all = n >= DRIFT_MIN_POINTS ? sl_stat_median(v, n) : 1.0;
	for (size_t i = 0; i < c->npt; i++) {
		struct point *p = &c->pt[i];

		p->drift = 1.0;
		if (!comparable(p) || strcmp(c->normalize, "none") == 0)
			continue;
		n = 0;
		p->drift = NAN;
		for (size_t j = 0; j < c->npt; j++) {
			const struct point *q = &c->pt[j];

			if (!comparable(q) || strcmp(q->group, p->group) != 0)
				continue;
			if (c->by_prim) {
				const struct file *f = &c->f[BASE];

				if (strcmp(sl_csv_cell(&f->d, q->row[BASE], f->prim),
					   c->normalize) == 0)
					p->drift = q->ratio;
			} else {
				v[n++] = q->ratio;
			}
		}
		if (c->by_prim)
			continue;
		if (n >= DRIFT_MIN_POINTS) {
			p->drift = sl_stat_median(v, n);
		} else {
			p->drift = all;
			*borrowed = true;
		}
	}
	free(v);
	return 0;
}

static int decide(struct cmp *c, struct point *p)
{
	const struct file *b = &c->f[BASE];
	double *adj;

	p->change = p->adj = p->p = NAN;
	if (!p->in[NEW]) {
		p->v = c->allow_missing ? V_ONLY_BASE : V_MISSING_NEW;
		return 0;
	}
	if (!p->in[BASE]) {
		p->v = V_ONLY_NEW;
		return 0;
	}
	/* One broken invariant or hang in NEW is a regression, whatever the
	 * figures of the other repetitions. */
	if (p->fail[NEW]) {
		p->v = p->fail[BASE] ? V_FAILS_BOTH : V_FAILS_NEW;
		return 0;
	}
	if (p->fail[BASE]) {
		p->v = V_FIXED;
		return 0;
	}
	if (!p->nok[BASE] || !p->nok[NEW]) {
		p->v = V_NO_OK;
		return 0;
	}
	p->change = p->ratio - 1.0;
	if (c->by_prim &&
	    strcmp(sl_csv_cell(&b->d, p->row[BASE], b->prim), c->normalize) == 0) {
		p->adj = 0.0;
		p->v = V_REFERENCE;
		return 0;
	}
	if (isnan(p->drift)) {
		p->v = V_NO_REFERENCE;
		return 0;
	}
	p->adj = p->ratio / p->drift - 1.0;
	if (sl_stat_mw_min_p(p->nok[BASE], p->nok[NEW]) >= ALPHA) {
		p->v = V_TOO_FEW;
		return 0;
	}
	adj = malloc(p->nok[NEW] * sizeof(*adj));
	if (!adj)
		return -ENOMEM;
	for (size_t i = 0; i < p->nok[NEW]; i++)
		adj[i] = p->rate[NEW][i] / p->drift;
	p->p = sl_stat_mann_whitney(adj, p->nok[NEW], p->rate[BASE],
				    p->nok[BASE], NULL);
	free(adj);
	if (p->p < ALPHA && p->adj < -c->threshold)
		p->v = V_SLOWER;
	else if (p->p < ALPHA && p->adj > c->threshold)
		p->v = V_FASTER;
	else
		p->v = V_WITHIN;
	return 0;
}

/* --- output -------------------------------------------------------------- */

/* Three significant digits with an SI suffix, as the bench table. */
static void fmt_si(char *buf, size_t n, double v)
{
	static const char suffix[] = " kMGTPE";
	int k = 0;

	if (!isfinite(v)) {
		snprintf(buf, n, "-");
		return;
	}
	while (fabs(v) >= 999.5 && k < 6) {
		v /= 1000.0;
		k++;
	}
	if (fabs(v) >= 99.95 || v == 0.0)
		snprintf(buf, n, "%.0f", v);
	else if (fabs(v) >= 9.995)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.2f", v);
	if (k && strlen(buf) + 1 < n) {
		size_t l = strlen(buf);

		buf[l] = suffix[k];
		buf[l + 1] = '\0';
	}
}

static void fmt_pct(char *buf, size_t n, double frac)
{
	if (!isfinite(frac))
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%+.1f%%", 100.0 * frac);
}

static const char *point_cell(const struct cmp *c, const struct point *p,
			      size_t k)
{
	enum side s = p->in[BASE] ? BASE : NEW;
	const struct file *f = &c->f[s];

	return sl_csv_cell(&f->d, p->row[s], f->key[k]);
}

/* Key columns past primitive and threads whose value differs between
 * points: they go into the table; the others are the same everywhere. */
static bool key_varies(const struct cmp *c, size_t k)
{
	char a[256], b[256];

	for (size_t i = 1; i < c->npt; i++) {
		canon(point_cell(c, &c->pt[0], k), a, sizeof(a));
		canon(point_cell(c, &c->pt[i], k), b, sizeof(b));
		if (strcmp(a, b) != 0)
			return true;
	}
	return false;
}

#define NCELLS 9

static void print_row(FILE *out, char cells[][256], const int *width,
		      const bool *show)
{
	bool first = true;

	for (int i = 0; i < NCELLS; i++) {
		if (!show[i])
			continue;
		if (!first)
			fputs("  ", out);
		/* Names left, figures right; the verdict last, unpadded. */
		if (i == NCELLS - 1)
			fputs(cells[i], out);
		else if (i == 0 || i == 2)
			fprintf(out, "%-*s", width[i], cells[i]);
		else
			fprintf(out, "%*s", width[i], cells[i]);
		first = false;
	}
	fputc('\n', out);
}

static void fill_cells(const struct cmp *c, const struct point *p,
		       char cells[][256], const bool *vary)
{
	size_t o = 0;

	snprintf(cells[0], 256, "%s", point_cell(c, p, 0));
	snprintf(cells[1], 256, "%s", point_cell(c, p, 1));
	cells[2][0] = '\0';
	for (size_t k = 2; k < c->nkey; k++) {
		const char *v = point_cell(c, p, k);

		if (!vary[k] || o + strlen(c->keycols[k]) + strlen(v) + 3 >= 256)
			continue;
		o += (size_t)snprintf(cells[2] + o, 256 - o, "%s%s=%s", o ? " " : "",
				      c->keycols[k], *v ? v : "-");
	}
	fmt_si(cells[3], 256, p->in[BASE] && p->nok[BASE] ? p->med[BASE] : NAN);
	fmt_si(cells[4], 256, p->in[NEW] && p->nok[NEW] ? p->med[NEW] : NAN);
	fmt_pct(cells[5], 256, p->change);
	fmt_pct(cells[6], 256, p->adj);
	fmt_pct(cells[7], 256, p->wall_med[NEW] / p->wall_med[BASE] - 1.0);
	if (p->v == V_FAILS_NEW || p->v == V_FAILS_BOTH || p->v == V_FIXED) {
		int s = p->v == V_FIXED ? BASE : NEW;

		snprintf(cells[8], 256, "%s (%s%s%s)", verdicts[p->v].text,
			 p->fail[s], p->why[s] && *p->why[s] ? ": " : "",
			 p->why[s] ? p->why[s] : "");
	} else if (isfinite(p->p)) {
		snprintf(cells[8], 256, "%s (p=%.3f)", verdicts[p->v].text, p->p);
	} else {
		snprintf(cells[8], 256, "%s", verdicts[p->v].text);
	}
}

static void describe_file(FILE *out, const char *label, const struct cmp *c,
			  enum side s)
{
	const struct file *f = &c->f[s];
	size_t npts = 0, lo = SIZE_MAX, hi = 0;

	for (size_t i = 0; i < c->npt; i++) {
		const struct point *p = &c->pt[i];

		if (!p->in[s])
			continue;
		npts++;
		if (p->nok[s] < lo)
			lo = p->nok[s];
		if (p->nok[s] > hi)
			hi = p->nok[s];
	}
	fprintf(out, "%s %s: %zu point(s), ", label, f->path, npts);
	if (lo == hi)
		fprintf(out, "%zu ok repetition(s) each", lo);
	else
		fprintf(out, "%zu..%zu ok repetitions each", lo, hi);
	if (f->d.nrows && f->host >= 0)
		fprintf(out, ", host %s", sl_csv_cell(&f->d, 0, f->host));
	if (f->d.nrows && f->version >= 0)
		fprintf(out, ", synclab %s", sl_csv_cell(&f->d, 0, f->version));
	fputc('\n', out);
}

/* The drift of each group, once, in the order groups first appear: the
 * group named by its thread count and the parameters that vary. */
static void describe_drift(FILE *out, const struct cmp *c, const bool *vary,
			   bool borrowed)
{
	size_t shown = 0;

	if (strcmp(c->normalize, "none") == 0) {
		fprintf(out, "drift: not divided out (--normalize none)\n");
		return;
	}
	if (c->by_prim)
		fprintf(out, "drift divided out: new/base of '%s' at the same threads and parameters:",
			c->normalize);
	else
		fprintf(out, "drift divided out: median new/base of the points at the same threads and parameters:");
	for (size_t i = 0; i < c->npt; i++) {
		const struct point *p = &c->pt[i];
		bool seen = false;

		if (!comparable(p))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = comparable(&c->pt[j]) && !strcmp(c->pt[j].group, p->group);
		if (seen)
			continue;
		if (shown == 8) {
			fprintf(out, " ...");
			break;
		}
		fprintf(out, "%s threads %s", shown ? ";" : "", point_cell(c, p, 1));
		for (size_t k = 2; k < c->nkey; k++)
			if (vary[k])
				fprintf(out, " %s=%s", c->keycols[k], point_cell(c, p, k));
		if (isnan(p->drift))
			fprintf(out, ": -");
		else
			fprintf(out, ": x%.3f", p->drift);
		shown++;
	}
	fputc('\n', out);
	if (borrowed)
		fprintf(out, "note: a group with fewer than %d points took the median of all points as its drift\n",
			DRIFT_MIN_POINTS);
}

/* Points whose repetitions fell into two levels in either file: the machine
 * changed state between them, and a verdict on such a point may be that
 * change rather than the code's. */
static void describe_levels(FILE *out, const struct cmp *c, const bool *vary)
{
	static const char *const side[2] = { "base", "new" };
	char cells[NCELLS][256], lo[32], hi[32];
	bool any = false;

	for (size_t i = 0; i < c->npt; i++) {
		const struct point *p = &c->pt[i];

		for (int s = 0; s < 2; s++) {
			struct sl_levels lv;

			if (!p->in[s] || !sl_stat_two_levels(p->rate[s], p->nok[s], &lv))
				continue;
			if (!any)
				fputc('\n', out);
			any = true;
			fill_cells(c, p, cells, vary);
			fmt_si(lo, sizeof(lo), lv.low);
			fmt_si(hi, sizeof(hi), lv.high);
			fprintf(out, "two levels: %s at %s threads%s%s in %s: %zu runs near %s %s, %zu near %s\n",
				cells[0], cells[1], cells[2][0] ? ", " : "", cells[2],
				side[s], lv.nlow, lo, c->unit, lv.nhigh, hi);
		}
	}
	if (any)
		fprintf(out, "  the machine changed between repetitions (a VM's host may move its vCPUs):\n"
			     "  a verdict on such a point may be that change, not the code's\n");
}

static void print_table(FILE *out, const struct cmp *c, bool borrowed)
{
	const char *head[NCELLS] = {
		"primitive", "threads", "parameters", "base ops/s", "new ops/s",
		"change", "vs drift", "ops/s", "verdict",
	};
	char cells[NCELLS][256];
	int width[NCELLS];
	bool show[NCELLS], vary[MAX_KEY] = { false };
	size_t nslow = 0, nfast = 0, nfail = 0, nwithin = 0, nother = 0;
	bool back_to_back = true, any_vary = false;

	if (c->per_cpu) {
		head[3] = "base ops/cpu-s";
		head[4] = "new ops/cpu-s";
	}
	for (size_t k = 2; k < c->nkey; k++)
		any_vary |= vary[k] = key_varies(c, k);
	for (int i = 0; i < NCELLS; i++) {
		width[i] = (int)strlen(head[i]);
		show[i] = true;
	}
	show[2] = any_vary;
	show[6] = strcmp(c->normalize, "none") != 0;
	show[7] = c->per_cpu;
	for (size_t i = 0; i < c->npt; i++) {
		fill_cells(c, &c->pt[i], cells, vary);
		for (int k = 0; k < NCELLS; k++)
			if ((int)strlen(cells[k]) > width[k])
				width[k] = (int)strlen(cells[k]);
	}

	describe_file(out, "base", c, BASE);
	describe_file(out, "new ", c, NEW);
	if (c->metric_note[0])
		fprintf(out, "%s\n", c->metric_note);
	describe_drift(out, c, vary, borrowed);
	fputc('\n', out);
	for (int k = 0; k < NCELLS; k++)
		snprintf(cells[k], 256, "%s", head[k]);
	print_row(out, cells, width, show);
	for (size_t i = 0; i < c->npt; i++) {
		const struct point *p = &c->pt[i];

		fill_cells(c, p, cells, vary);
		print_row(out, cells, width, show);
		switch (p->v) {
		case V_SLOWER: nslow++; break;
		case V_FASTER: nfast++; break;
		case V_FAILS_NEW:
		case V_MISSING_NEW: nfail++; break;
		case V_WITHIN: nwithin++; break;
		default: nother++; break;
		}
		for (int s = 0; s < 2; s++)
			if (p->in[s] && (p->reps_repeat[s] || c->f[s].rep < 0))
				back_to_back = false;
	}
	describe_levels(out, c, vary);
	fputc('\n', out);
	if (c->per_cpu)
		fprintf(out, "ops/cpu-s: median over ok repetitions of ops per second of CPU time the\n"
			     "workers got (the share of the CPUs other tenants took divided out); ops/s: the\n"
			     "change of the median throughput, shown, not decided on\n");
	else
		fprintf(out, "ops/s: median over ok repetitions\n");
	fprintf(out, "change: new/base - 1%s\np: two-sided Mann-Whitney rank test over the repetitions\n",
		show[6] ? "; vs drift: the change with the drift divided out, decided on" : "");
	if (back_to_back && c->npt)
		fprintf(out, "note: in both files all repetitions came from one run each: they do not\n"
			     "sample run-to-run noise, so a verdict may be that noise (see COMPARE OPTIONS\n"
			     "in synclab(1): alternate single-repetition runs of BASE and NEW)\n");
	fprintf(out, "%zu slower beyond %g%% (regression), %zu failing or missing in NEW (regression), "
		     "%zu faster, %zu within noise, %zu not compared\n",
		nslow, 100.0 * c->threshold, nfail, nfast, nwithin, nother);
}

static void csv_text(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void csv_num(FILE *out, const char *fmt, double v)
{
	fputc(',', out);
	if (isfinite(v))
		fprintf(out, fmt, v);
}

static void write_csv(FILE *out, const struct cmp *c)
{
	for (size_t k = 0; k < c->nkey; k++)
		fprintf(out, "%s,", c->keycols[k]);
	fprintf(out, "base_reps_ok,new_reps_ok,metric,base_median,new_median,"
		     "change_pct,drift,change_vs_drift_pct,p_value,verdict,"
		     "regression,base_median_ops_per_sec,new_median_ops_per_sec,"
		     "ops_per_sec_change_pct,message\n");
	for (size_t i = 0; i < c->npt; i++) {
		const struct point *p = &c->pt[i];
		const char *why = "";

		for (size_t k = 0; k < c->nkey; k++) {
			csv_text(out, point_cell(c, p, k));
			fputc(',', out);
		}
		if (p->in[BASE])
			fprintf(out, "%zu", p->nok[BASE]);
		fputc(',', out);
		if (p->in[NEW])
			fprintf(out, "%zu", p->nok[NEW]);
		fprintf(out, ",%s", c->per_cpu ? "ops_per_cpu_s" : "ops_per_sec");
		csv_num(out, "%.1f", p->in[BASE] && p->nok[BASE] ? p->med[BASE] : NAN);
		csv_num(out, "%.1f", p->in[NEW] && p->nok[NEW] ? p->med[NEW] : NAN);
		csv_num(out, "%.2f", 100.0 * p->change);
		csv_num(out, "%.6f", isfinite(p->change) ? p->drift : NAN);
		csv_num(out, "%.2f", 100.0 * p->adj);
		csv_num(out, "%.6g", p->p);
		fprintf(out, ",%s,%d", verdicts[p->v].csv,
			verdicts[p->v].regression ? 1 : 0);
		csv_num(out, "%.1f", p->wall_med[BASE]);
		csv_num(out, "%.1f", p->wall_med[NEW]);
		csv_num(out, "%.2f", 100.0 * (p->wall_med[NEW] / p->wall_med[BASE] - 1.0));
		fputc(',', out);
		if (p->v == V_FAILS_NEW || p->v == V_FAILS_BOTH)
			why = p->why[NEW] ? p->why[NEW] : "";
		else if (p->v == V_FIXED)
			why = p->why[BASE] ? p->why[BASE] : "";
		csv_text(out, why);
		fputc('\n', out);
	}
}

/* --- the command --------------------------------------------------------- */

static int parse_threshold(const char *s, double *out, struct sl_err *err)
{
	char buf[64];
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof(buf))
		return sl_err_set(err, -EINVAL, "--threshold: '%s' is not a percentage (accepted: 0 or more and below 100, e.g. 5 or 2.5)", s);
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == '%')
		buf[n - 1] = '\0';
	if (!parse_num(buf, out) || *out < 0.0 || *out >= 100.0)
		return sl_err_set(err, -EINVAL, "--threshold: '%s' is not a percentage (accepted: 0 or more and below 100, e.g. 5 or 2.5)", s);
	*out /= 100.0;
	return 0;
}

/* Is prim a primitive of both files? */
static bool in_both(const struct cmp *c, const char *prim)
{
	for (int s = 0; s < 2; s++) {
		const struct file *f = &c->f[s];
		bool found = false;

		for (size_t r = 0; r < f->d.nrows && !found; r++)
			found = strcmp(sl_csv_cell(&f->d, r, f->prim), prim) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* ops_per_cpu_s needs ops and cpu_s in both files; auto falls back to
 * ops_per_sec without them, and says so. */
static int pick_metric(struct cmp *c, const char *metric, struct sl_err *err)
{
	static const char *const need[] = { "ops", "cpu_s" };

	c->per_cpu = strcmp(metric, "ops_per_sec") != 0;
	for (int s = 0; s < 2 && c->per_cpu; s++)
		for (size_t i = 0; i < 2; i++) {
			if (sl_csv_column(&c->f[s].d, need[i]) >= 0)
				continue;
			if (strcmp(metric, "auto") != 0)
				return sl_err_set(err, -EINVAL,
						  "'%s' has no '%s' column, which --metric ops_per_cpu_s needs (accepted: a results CSV with ops and cpu_s, or --metric ops_per_sec)",
						  c->f[s].path, need[i]);
			snprintf(c->metric_note, sizeof(c->metric_note),
				 "note: deciding on ops/s: '%s' has no '%s' column for ops per CPU-second",
				 c->f[s].path, need[i]);
			c->per_cpu = false;
			break;
		}
	/* auto: a row without CPU time (not measurable there: left empty,
	 * as every unsupported figure is) makes the per-CPU rate undefined
	 * for its point; decide everything on ops/s instead. */
	for (int s = 0; s < 2 && c->per_cpu && strcmp(metric, "auto") == 0; s++) {
		const struct sl_csvdata *d = &c->f[s].d;
		int st = sl_csv_column(d, "status"), cpu = sl_csv_column(d, "cpu_s");

		for (size_t r = 0; r < d->nrows; r++) {
			double t;

			if (strcmp(sl_csv_cell(d, r, st), "ok") != 0 ||
			    (parse_num(sl_csv_cell(d, r, cpu), &t) && t >= 0.0))
				continue;
			snprintf(c->metric_note, sizeof(c->metric_note),
				 "note: deciding on ops/s: '%s' line %zu has no CPU time (cpu_s empty) for ops per CPU-second",
				 c->f[s].path, r + 2);
			c->per_cpu = false;
			break;
		}
	}
	c->unit = c->per_cpu ? "ops/cpu-s" : "ops/s";
	return 0;
}

static void cmp_free(struct cmp *c)
{
	for (size_t i = 0; i < c->npt; i++) {
		for (int s = 0; s < 2; s++) {
			free(c->pt[i].rate[s]);
			free(c->pt[i].wall[s]);
			free(c->pt[i].reps[s]);
		}
		free(c->pt[i].key);
		free(c->pt[i].group);
	}
	free(c->pt);
	sl_csv_free(&c->f[BASE].d);
	sl_csv_free(&c->f[NEW].d);
}

int cmd_compare(int argc, char **argv)
{
	struct {
		const char *threshold, *normalize, *metric, *csv;
		bool allow_missing, help;
	} o = { .threshold = "5", .normalize = "none", .metric = "auto" };
	const struct sl_opt opts[] = {
		{ "threshold", 't', SL_OPT_STRING, &o.threshold, 0, 0, "PCT",
		  "a change counts beyond this many % of the base median" },
		{ "normalize", 'n', SL_OPT_STRING, &o.normalize, 0, 0, "MODE",
		  "drift to divide out: none, median (of the points at the same threads and parameters), or a primitive" },
		{ "metric", 'm', SL_OPT_STRING, &o.metric, 0, 0, "METRIC",
		  "decide on ops_per_cpu_s (ops per second of CPU time the workers got), ops_per_sec, or auto: the first when both files have cpu_s" },
		{ "csv", 'o', SL_OPT_STRING, &o.csv, 0, 0, "FILE",
		  "write one CSV row per point to FILE (- for standard output)" },
		{ "allow-missing", 0, SL_OPT_FLAG, &o.allow_missing, 0, 0, NULL,
		  "a point in BASE that NEW lacks is listed, not a regression (a primitive removed on purpose)" },
		{ "help", 'h', SL_OPT_FLAG, &o.help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	struct cmp c = { 0 };
	struct sl_err err = { "" };
	bool borrowed = false, regressed = false, decided = false;
	FILE *table_out = stdout, *csv_out = NULL;
	int first, status = SL_EXIT_OK;
	size_t common = 0;

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("compare", err.msg);
	if (o.help) {
		sl_opt_usage(stdout, compare_usage, compare_summary, opts);
		return SL_EXIT_OK;
	}
	if (argc - first != 2)
		return sl_usage_error("compare", argc - first < 2
				      ? "which files? (accepted: synclab compare BASE.csv NEW.csv)"
				      : "takes two files (accepted: synclab compare BASE.csv NEW.csv)");
	if (parse_threshold(o.threshold, &c.threshold, &err) < 0 ||
	    (o.csv && sl_check_output_file("--csv", o.csv, &err) < 0))
		return sl_usage_error("compare", err.msg);
	if (strcmp(argv[first], "-") == 0 && strcmp(argv[first + 1], "-") == 0)
		return sl_usage_error("compare", "BASE and NEW cannot both be standard input");
	c.keycols = sl_point_key_columns();
	while (c.keycols[c.nkey])
		c.nkey++;
	if (c.nkey > MAX_KEY)
		SL_BUG("point key of %zu columns", c.nkey);
	c.normalize = o.normalize;
	c.allow_missing = o.allow_missing;
	if (strcmp(o.metric, "auto") && strcmp(o.metric, "ops_per_sec") &&
	    strcmp(o.metric, "ops_per_cpu_s")) {
		snprintf(err.msg, sizeof(err.msg),
			 "--metric: '%s' is not a metric (accepted: auto, ops_per_cpu_s, ops_per_sec)",
			 o.metric);
		return sl_usage_error("compare", err.msg);
	}
	c.by_prim = strcmp(o.normalize, "median") != 0 && strcmp(o.normalize, "none") != 0;

	if (load_file(&c, BASE, argv[first], &err) < 0 ||
	    load_file(&c, NEW, argv[first + 1], &err) < 0 ||
	    pick_metric(&c, o.metric, &err) < 0 ||
	    gather(&c, BASE, &err) < 0 || gather(&c, NEW, &err) < 0) {
		status = sl_usage_error("compare", err.msg);
		goto out;
	}
	if (c.by_prim && !in_both(&c, o.normalize)) {
		snprintf(err.msg, sizeof(err.msg),
			 "--normalize: '%s' is not a primitive of both files (accepted: median, none, or a primitive both files measured)",
			 o.normalize);
		status = sl_usage_error("compare", err.msg);
		goto out;
	}
	for (size_t i = 0; i < c.npt; i++) {
		struct point *p = &c.pt[i];

		for (int s = 0; s < 2; s++) {
			p->med[s] = sl_stat_median(p->rate[s], p->nok[s]);
			p->wall_med[s] = sl_stat_median(p->wall[s], p->nok[s]);
		}
		p->ratio = p->med[NEW] / p->med[BASE];
		common += p->in[BASE] && p->in[NEW];
	}
	if (common == 0) {
		char keys[512];
		size_t used = 0;

		keys[0] = '\0';
		for (size_t k = 0; k < c.nkey && used < sizeof(keys); k++)
			used += (size_t)snprintf(keys + used, sizeof(keys) - used, "%s%s",
						 k ? ", " : "", c.keycols[k]);
		fprintf(stderr, "synclab compare: no point of '%s' matches a point of '%s' (points match on %s)\n",
			c.f[NEW].path, c.f[BASE].path, keys);
		status = SL_EXIT_USAGE;
		goto out;
	}
	if (set_drift(&c, &borrowed, &err) < 0) {
		fprintf(stderr, "synclab compare: %s\n", err.msg);
		status = SL_EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < c.npt; i++) {
		struct point *p = &c.pt[i];

		if (decide(&c, p) < 0) {
			fprintf(stderr, "synclab compare: out of memory\n");
			status = SL_EXIT_FAIL;
			goto out;
		}
		regressed |= verdicts[p->v].regression;
		decided |= p->v == V_SLOWER || p->v == V_FASTER || p->v == V_WITHIN ||
			   verdicts[p->v].regression;
	}
	/* Points that are all too thin to test are no comparison at all. */
	if (!decided) {
		bool thin = false;

		for (size_t i = 0; i < c.npt; i++)
			thin |= c.pt[i].v == V_TOO_FEW;
		status = sl_usage_error("compare", thin
			? "no matching point has enough ok repetitions for the rank test to reach p < 0.05 (accepted: 4 or more on each side, e.g. --repeat 5)"
			: "no matching point has ok repetitions in both files to compare");
		goto out;
	}

	if (o.csv) {
		if (strcmp(o.csv, "-") == 0) {
			csv_out = stdout;
			table_out = stderr;
		} else {
			csv_out = fopen(o.csv, "w");
			if (!csv_out) {
				fprintf(stderr, "synclab compare: cannot create '%s': %s\n",
					o.csv, strerror(errno));
				status = SL_EXIT_FAIL;
				goto out;
			}
		}
	}
	print_table(table_out, &c, borrowed);
	if (csv_out) {
		write_csv(csv_out, &c);
		if (fflush(csv_out) != 0 || ferror(csv_out)) {
			fprintf(stderr, "synclab compare: cannot write '%s': %s\n",
				o.csv, strerror(errno));
			status = SL_EXIT_FAIL;
		}
		if (csv_out != stdout && fclose(csv_out) != 0 && status == SL_EXIT_OK) {
			fprintf(stderr, "synclab compare: cannot write '%s': %s\n",
				o.csv, strerror(errno));
			status = SL_EXIT_FAIL;
		}
	}
	if (status == SL_EXIT_OK && regressed)
		status = SL_EXIT_FAIL;
out:
	cmp_free(&c);
	return status;
}
