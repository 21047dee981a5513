/*
 * The summary CSV: one line per point (rows that agree on every column of
 * the point key are repetitions of one point) with the centre, spread and
 * 95% confidence interval of its throughput over the repetitions that
 * finished ok.  The key cells are the results CSV's own, formatted by the
 * same code, so a summary line and its rows always say the same thing.
 */
#include "reports/csvread.h"
#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
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

/* The key of a row: its key cells joined by a unit separator, which no
 * cell contains. */
static char *row_key(const struct sl_csvdata *d, size_t r, const int *cols,
		     size_t ncols)
{
	size_t len = 1;
	char *key;

	for (size_t i = 0; i < ncols; i++)
		len += strlen(sl_csv_cell(d, r, cols[i])) + 1;
	key = malloc(len);
	if (!key)
		return NULL;
	key[0] = '\0';
	for (size_t i = 0; i < ncols; i++) {
		strcat(key, sl_csv_cell(d, r, cols[i]));
		strcat(key, "\x1f");
	}
	return key;
}

/* A status that voids a point (as opposed to unsupported or interrupted,
 * which only leave a repetition out). */
static bool is_failure(const char *status)
{
	return !strcmp(status, "check-failed") || !strcmp(status, "stuck") ||
	       !strcmp(status, "error");
}

static bool cell_num(const char *cell, double *v)
{
	char *end;

	if (!cell[0])
		return false;
	*v = strtod(cell, &end);
	return *end == '\0' && isfinite(*v);
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

/* A text cell, quoted again where CSV needs it. */
static void put_text(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* The columns a summary reads, looked up once. */
struct summary_cols {
	int status, rate, nsop, p99, host, version, message;
};

/* One point's line: rows members[0..n) of d are its repetitions. */
static void write_point(FILE *f, const struct sl_csvdata *d,
			const struct summary_cols *c, const size_t *members,
			size_t n, const int *keycols, size_t nkey, double *scratch)
{
	double *rate = scratch, *nsop = scratch + n, *p99 = scratch + 2 * n;
	const size_t first = members[0];
	size_t k = 0, nlat = 0, bad = SIZE_MAX;
	double lo, hi, v;

	for (size_t i = 0; i < n; i++) {
		const size_t r = members[i];
		const char *st = sl_csv_cell(d, r, c->status);

		if (strcmp(st, "ok") != 0 || !cell_num(sl_csv_cell(d, r, c->rate), &rate[k])) {
			if (bad == SIZE_MAX ||
			    (is_failure(st) && !is_failure(sl_csv_cell(d, bad, c->status))))
				bad = r;
			continue;
		}
		nsop[k] = cell_num(sl_csv_cell(d, r, c->nsop), &v) ? v : NAN;
		k++;
		if (cell_num(sl_csv_cell(d, r, c->p99), &v))
			p99[nlat++] = v;
	}
	for (size_t i = 0; i < nkey; i++) {
		if (i)
			fputc(',', f);
		put_text(f, sl_csv_cell(d, first, keycols[i]));
	}
	fprintf(f, ",%zu,%zu,", n, k);
	put_text(f, bad == SIZE_MAX ? "ok" : sl_csv_cell(d, bad, c->status));
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
	fputc(',', f);
	put_text(f, sl_csv_cell(d, first, c->host));
	fputc(',', f);
	put_text(f, sl_csv_cell(d, first, c->version));
	fputc(',', f);
	if (bad != SIZE_MAX)
		put_text(f, sl_csv_cell(d, bad, c->message));
	fputc('\n', f);
}

static int write_all(FILE *f, const struct sl_csvdata *d, struct sl_err *err)
{
	const size_t n = d->nrows;
	int keycols[sizeof(point_key) / sizeof(point_key[0])];
	struct summary_cols c = {
		sl_csv_column(d, "status"), sl_csv_column(d, "ops_per_sec"),
		sl_csv_column(d, "ns_per_op"), sl_csv_column(d, "lat_p99_ns"),
		sl_csv_column(d, "host"), sl_csv_column(d, "synclab_version"),
		sl_csv_column(d, "message"),
	};
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
	if (c.status < 0 || c.rate < 0 || sl_csv_column(d, "primitive") < 0) {
		rc = sl_err_set(err, -EINVAL,
				"'%s' has no primitive, status or ops_per_sec column (accepted: a synclab results CSV)",
				d->path);
		goto out;
	}
	for (; point_key[nkey]; nkey++)
		keycols[nkey] = sl_csv_column(d, point_key[nkey]);
	for (size_t i = 0; i < sl_summary_column_count(); i++)
		fprintf(f, "%s%s", i ? "," : "", sl_summary_column_at(i)->name);
	fputc('\n', f);

	/* group[i]: the first row with row i's key, so points come out in the
	 * order they were first run. */
	for (size_t i = 0; i < n; i++) {
		keys[i] = row_key(d, i, keycols, nkey);
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
		write_point(f, d, &c, members, m, keycols, nkey, scratch);
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

int sl_summary_write_csvdata(const char *path, const struct sl_csvdata *d,
			     struct sl_err *err)
{
	char tmp[4096];
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0) {
		rc = write_all(stdout, d, err);
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
	rc = write_all(f, d, err);
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

int sl_summary_write(const char *path, const struct sl_row *rows, size_t n,
		     struct sl_err *err)
{
	struct sl_csvdata d;
	int rc = sl_rows_to_csvdata(rows, n, &d, err);

	if (rc < 0)
		return rc;
	rc = sl_summary_write_csvdata(path, &d, err);
	sl_csv_free(&d);
	return rc;
}
