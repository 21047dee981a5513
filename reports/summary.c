/*
 * The summary CSV: one line per point (rows that agree on every column of
 * the point key are repetitions of one point) with the centre, spread and
 * 95% confidence interval of its throughput over the repetitions that
 * finished ok.  The key cells are the results CSV's own, formatted by the
 * same code, so a summary line and its rows always say the same thing.
 */
#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How a point was run.  Not rep (it tells repetitions apart), not what was
 * measured, not where or by which build (host, version) and not the
 * window's length: throughput is a rate, so a 1 s and a 2 s run of the same
 * parameters are the same point.  A parameter column added to columns.def
 * belongs here too. */
static const char *const point_key[] = {
	"primitive", "threads", "pin", "cs_ns", "think_ns", "cs_lines",
	"locks", "read_pct", "writers", "producers", "consumers", "capacity",
	"permits", "latency_period", "warmup_s", NULL,
};

const char *const *sl_point_key_columns(void)
{
	return point_key;
}

static const struct sl_column summary_columns[] = {
	{ "reps", "count", "Repetitions of the point in the results, whatever their status." },
	{ "reps_ok", "count", "Repetitions that finished with status ok: every figure below is over these." },
	{ "status", "", "ok when every repetition was ok, else the status of the first that failed (check-failed, stuck, error) or, failing none, of the first that was not ok." },
	{ "ops_per_sec_median", "ops/s", "Median throughput over the ok repetitions." },
	{ "ops_per_sec_mean", "ops/s", "Mean throughput over the ok repetitions: the centre of the confidence interval." },
	{ "ops_per_sec_min", "ops/s", "Slowest ok repetition." },
	{ "ops_per_sec_max", "ops/s", "Fastest ok repetition." },
	{ "ops_per_sec_stddev", "ops/s", "Sample standard deviation (n - 1) of throughput over the ok repetitions; empty with fewer than 2." },
	{ "ops_per_sec_ci95_low", "ops/s", "Lower end of the 95% confidence interval of the mean throughput (Student t, reps_ok - 1 degrees of freedom); empty with fewer than 2 ok repetitions." },
	{ "ops_per_sec_ci95_high", "ops/s", "Upper end of that interval." },
	{ "ns_per_op_median", "ns", "Median of ns_per_op over the ok repetitions." },
	{ "lat_p99_ns_median", "ns", "Median of lat_p99_ns over the ok repetitions that sampled latency; empty when none did." },
	{ "host", "", "Host name of the machine, from the point's first row." },
	{ "synclab_version", "", "Version of synclab that produced the point's first row." },
	{ "message", "", "Why the repetition named by status did not finish ok; empty when all did." },
};
#define NSUMMARY (sizeof(summary_columns) / sizeof(summary_columns[0]))

size_t sl_summary_column_count(void)
{
	size_t n = NSUMMARY;

	for (const char *const *k = point_key; *k; k++)
		n++;
	return n;
}

/* The key columns first, under their results-CSV names and documentation. */
const struct sl_column *sl_summary_column_at(size_t i)
{
	size_t nkey = 0;

	while (point_key[nkey])
		nkey++;
	if (i < nkey) {
		for (size_t c = 0; c < sl_column_count(); c++)
			if (strcmp(sl_column_at(c)->name, point_key[i]) == 0)
				return sl_column_at(c);
		return NULL;
	}
	i -= nkey;
	return i < NSUMMARY ? &summary_columns[i] : NULL;
}

static int column_of(const char *name)
{
	for (size_t c = 0; c < sl_column_count(); c++)
		if (strcmp(sl_column_at(c)->name, name) == 0)
			return (int)c;
	return -1;
}

/* The key of a row: its key cells joined by a unit separator, which no
 * formatted cell contains. */
static char *row_key(const struct sl_row *row, const int *cols, size_t ncols)
{
	char cell[512];
	size_t len = 0, cap = 256;
	char *key = malloc(cap);

	if (!key)
		return NULL;
	key[0] = '\0';
	for (size_t i = 0; i < ncols; i++) {
		size_t l;

		cell[0] = '\0';
		if (cols[i] >= 0)
			sl_column_format((size_t)cols[i], row, cell, sizeof(cell));
		l = strlen(cell);
		if (len + l + 2 > cap) {
			char *k;

			while (len + l + 2 > cap)
				cap *= 2;
			k = realloc(key, cap);
			if (!k) {
				free(key);
				return NULL;
			}
			key = k;
		}
		memcpy(key + len, cell, l);
		len += l;
		key[len++] = '\x1f';
		key[len] = '\0';
	}
	return key;
}

static bool is_failure(enum sl_status s)
{
	return s == SL_STATUS_CHECK_FAILED || s == SL_STATUS_STUCK ||
	       s == SL_STATUS_ERROR;
}

/* A number cell; empty for NAN, as in the results CSV. */
static void put_num(FILE *f, const char *fmt, double v)
{
	fputc(',', f);
	if (isfinite(v))
		fprintf(f, fmt, v);
}

static void put_rate(FILE *f, double v)
{
	put_num(f, fabs(v) >= 1.0 || v == 0.0 ? "%.1f" : "%.6g", v);
}

static void put_cell(FILE *f, const struct sl_row *row, int col)
{
	char cell[512];

	fputc(',', f);
	if (col < 0)
		return;
	sl_column_format((size_t)col, row, cell, sizeof(cell));
	fputs(cell, f);
}

/* One point's line: rows[members[0..n)] are its repetitions. */
static void write_point(FILE *f, const struct sl_row *rows,
			const size_t *members, size_t n, const int *keycols,
			size_t nkey, double *scratch)
{
	double *rate = scratch, *nsop = scratch + n, *p99 = scratch + 2 * n;
	const struct sl_row *first = &rows[members[0]], *bad = NULL;
	int p99_col = column_of("lat_p99_ns");
	size_t k = 0, nlat = 0;
	double lo, hi;

	for (size_t i = 0; i < n; i++) {
		const struct sl_row *r = &rows[members[i]];
		char cell[64], *end;

		if (r->res->status != SL_STATUS_OK) {
			if (!bad || (is_failure(r->res->status) &&
				     !is_failure(bad->res->status)))
				bad = r;
			continue;
		}
		rate[k] = r->res->ops_per_sec;
		nsop[k] = r->res->ns_per_op;
		k++;
		/* The p99 as the results CSV has it, so both agree. */
		if (p99_col < 0)
			continue;
		sl_column_format((size_t)p99_col, r, cell, sizeof(cell));
		if (cell[0]) {
			double v = strtod(cell, &end);

			if (*end == '\0' && isfinite(v))
				p99[nlat++] = v;
		}
	}
	for (size_t i = 0; i < nkey; i++) {
		char cell[512];

		if (i)
			fputc(',', f);
		cell[0] = '\0';
		if (keycols[i] >= 0)
			sl_column_format((size_t)keycols[i], first, cell, sizeof(cell));
		fputs(cell, f);
	}
	fprintf(f, ",%zu,%zu,%s", n, k,
		bad ? sl_status_name(bad->res->status) : "ok");
	put_rate(f, sl_stat_median(rate, k));
	put_rate(f, sl_stat_mean(rate, k));
	put_rate(f, sl_stat_min(rate, k));
	put_rate(f, sl_stat_max(rate, k));
	/* One repetition has no spread: empty, not 0. */
	put_rate(f, k >= 2 ? sl_stat_stddev(rate, k) : NAN);
	sl_stat_mean_ci(rate, k, 0.95, &lo, &hi);
	put_rate(f, lo);
	put_rate(f, hi);
	put_num(f, "%.3f", sl_stat_median(nsop, k));
	put_num(f, "%.0f", sl_stat_median(p99, nlat));
	put_cell(f, first, column_of("host"));
	put_cell(f, first, column_of("synclab_version"));
	put_cell(f, bad ? bad : first, bad ? column_of("message") : -1);
	fputc('\n', f);
}

static int write_all(FILE *f, const struct sl_row *rows, size_t n,
		     struct sl_err *err)
{
	int keycols[sizeof(point_key) / sizeof(point_key[0])];
	size_t nkey = 0;
	char **keys = calloc(n ? n : 1, sizeof(*keys));
	size_t *group = calloc(n ? n : 1, sizeof(*group));
	size_t *members = calloc(n ? n : 1, sizeof(*members));
	double *scratch = calloc(3 * (n ? n : 1), sizeof(*scratch));
	int rc = 0;

	if (!keys || !group || !members || !scratch) {
		rc = sl_err_set(err, -ENOMEM, "out of memory for the summary");
		goto out;
	}
	for (; point_key[nkey]; nkey++)
		keycols[nkey] = column_of(point_key[nkey]);
	for (size_t i = 0; i < sl_summary_column_count(); i++)
		fprintf(f, "%s%s", i ? "," : "", sl_summary_column_at(i)->name);
	fputc('\n', f);

	/* group[i]: the first row with row i's key, so points come out in the
	 * order they were first run. */
	for (size_t i = 0; i < n; i++) {
		keys[i] = row_key(&rows[i], keycols, nkey);
		if (!keys[i]) {
			rc = sl_err_set(err, -ENOMEM, "out of memory for the summary");
			goto out;
		}
		group[i] = i;
		for (size_t j = 0; j < i; j++)
			if (group[j] == j && strcmp(keys[j], keys[i]) == 0) {
				group[i] = j;
				break;
			}
	}
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;

		if (group[i] != i)
			continue;
		for (size_t j = i; j < n; j++)
			if (group[j] == i)
				members[m++] = j;
		write_point(f, rows, members, m, keycols, nkey, scratch);
	}
out:
	if (keys)
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
	free(keys);
	free(group);
	free(members);
	free(scratch);
	return rc;
}

int sl_summary_write(const char *path, const struct sl_row *rows, size_t n,
		     struct sl_err *err)
{
	char tmp[4096];
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0) {
		rc = write_all(stdout, rows, n, err);
		if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
			rc = sl_err_set(err, -EIO, "cannot write the summary to standard output: %s",
					strerror(errno));
		return rc;
	}
	/* Written beside its place and renamed over it: a reader never sees
	 * half a summary, and an old one survives a failed write. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return sl_err_set(err, -ENAMETOOLONG, "summary path '%s' is too long", path);
	f = fopen(tmp, "w");
	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", tmp,
				  strerror(errno));
	rc = write_all(f, rows, n, err);
	if (rc == 0 && (fflush(f) != 0 || ferror(f))) {
		int e = errno ? errno : EIO;

		rc = sl_err_set(err, -e, "cannot write '%s': %s", tmp, strerror(e));
	}
	if (fclose(f) != 0 && rc == 0)
		rc = sl_err_set(err, -errno, "cannot write '%s': %s", tmp,
				strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = sl_err_set(err, -errno, "cannot rename '%s' to '%s': %s",
				tmp, path, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}
