/*
 * Throughput charts.  The data (throughput.dat) and a plain gnuplot script
 * (throughput.gp) are always written and kept, so a user can restyle the
 * chart or render it elsewhere; gnuplot itself then runs in that directory
 * to make throughput.png.  Only successful points are plotted: a broken
 * primitive gets no line.
 */
#include "reports/report.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct series {
	const char *prim;
	size_t npts;
	unsigned *threads;  /* ascending */
	double *med, *min, *max;
};

static const char *prim_name(const struct sl_row *r)
{
	return r->pt->prim && r->pt->prim->name ? r->pt->prim->name : "?";
}

/* Statuses that mean the primitive misbehaved, not that the run was cut
 * short: they void every repetition of their point. */
static bool is_failure(enum sl_status st)
{
	return st == SL_STATUS_CHECK_FAILED || st == SL_STATUS_STUCK ||
	       st == SL_STATUS_ERROR;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

static void series_free(struct series *s, size_t ns)
{
	for (size_t i = 0; i < ns; i++) {
		free(s[i].threads);
		free(s[i].med);
		free(s[i].min);
		free(s[i].max);
	}
	free(s);
}

/* One series per primitive with at least one ok point, in order of first
 * appearance; per thread count the median and extremes over its ok
 * repetitions, NAN where it has none. */
static int build_series(const struct sl_row *rows, size_t n,
			struct series **out, size_t *nout)
{
	struct series *s = calloc(n ? n : 1, sizeof(*s));
	double *rate = calloc(n ? n : 1, sizeof(*rate));
	size_t ns = 0;

	if (!s || !rate)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const char *name = prim_name(&rows[i]);
		struct series *cur = NULL;
		size_t j;

		if (rows[i].res->status != SL_STATUS_OK)
			continue;
		for (j = 0; j < ns; j++)
			if (strcmp(s[j].prim, name) == 0)
				break;
		if (j < ns)
			continue;
		cur = &s[ns++];
		cur->prim = name;
		cur->threads = calloc(n, sizeof(*cur->threads));
		cur->med = calloc(n, sizeof(double));
		cur->min = calloc(n, sizeof(double));
		cur->max = calloc(n, sizeof(double));
		if (!cur->threads || !cur->med || !cur->min || !cur->max)
			goto nomem;
		/* Distinct thread counts of this primitive, failed ones too:
		 * they become gaps in its line rather than being bridged. */
		for (size_t k = 0; k < n; k++) {
			const struct sl_row *r = &rows[k];
			size_t t;

			if (strcmp(prim_name(r), name) != 0)
				continue;
			for (t = 0; t < cur->npts; t++)
				if (cur->threads[t] == r->pt->threads)
					break;
			if (t == cur->npts)
				cur->threads[cur->npts++] = r->pt->threads;
		}
		qsort(cur->threads, cur->npts, sizeof(unsigned), cmp_uint);
		for (size_t t = 0; t < cur->npts; t++) {
			size_t k = 0;
			bool broken = false;

			for (size_t m = 0; m < n; m++) {
				const struct sl_row *r = &rows[m];

				if (r->pt->threads != cur->threads[t] ||
				    strcmp(prim_name(r), name) != 0)
					continue;
				if (r->res->status == SL_STATUS_OK)
					rate[k++] = r->res->ops_per_sec;
				else if (is_failure(r->res->status))
					broken = true;
			}
			/* As in the table: one broken repetition and the
			 * point has no figure. */
			if (broken)
				k = 0;
			cur->med[t] = sl_stat_median(rate, k);
			cur->min[t] = sl_stat_min(rate, k);
			cur->max[t] = sl_stat_max(rate, k);
		}
	}
	free(rate);
	*out = s;
	*nout = ns;
	return 0;
nomem:
	free(rate);
	if (s)
		series_free(s, ns);
	return -ENOMEM;
}

/* A gnuplot double-quoted string: backslash and quote escaped, control
 * characters (which no label needs) blanked. */
static void gp_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
	}
	fputc('"', f);
}

static int finish_file(FILE *f, const char *path, struct sl_err *err)
{
	int bad = ferror(f);
	int rc = fclose(f);

	if (bad || rc != 0) {
		int e = errno ? errno : EIO;

		return sl_err_set(err, -e, "cannot write '%s': %s", path,
				  strerror(e));
	}
	return 0;
}

static int write_data(const char *path, const struct series *s, size_t ns,
		      struct sl_err *err)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", path,
				  strerror(errno));
	errno = 0;
	fprintf(f, "# synclab throughput: one block per primitive (select with 'index N')\n"
		   "# threads  median_ops_per_s  min_ops_per_s  max_ops_per_s\n");
	for (size_t i = 0; i < ns; i++) {
		/* Two blank lines end a gnuplot data block. */
		fprintf(f, "%s# index %zu: %s\n", i ? "\n\n" : "", i, s[i].prim);
		for (size_t t = 0; t < s[i].npts; t++) {
			/* A single blank line breaks the line where a
			 * thread count has no figure. */
			if (isnan(s[i].med[t]))
				fprintf(f, "# %u threads: no figure\n\n",
					s[i].threads[t]);
			else
				fprintf(f, "%u %.1f %.1f %.1f\n", s[i].threads[t],
					s[i].med[t], s[i].min[t], s[i].max[t]);
		}
	}
	return finish_file(f, path, err);
}

static int write_script(const char *path, const struct series *s, size_t ns,
			const struct sl_meta *meta, struct sl_err *err)
{
	/* Filled and open markers alternate so lines stay apart in grey. */
	static const int pts[] = { 7, 4, 9, 6, 5, 8, 11, 10, 13, 12, 1, 2, 3 };
	unsigned xt[16];
	size_t nxt = 0;
	bool xt_ok = true;
	char sub[512];
	FILE *f = fopen(path, "we");

	if (!f)
		return sl_err_set(err, -errno, "cannot create '%s': %s", path,
				  strerror(errno));
	errno = 0;
	fprintf(f, "# synclab: throughput against threads, one line per primitive\n"
		   "# (median over repetitions, error bars from min to max).\n"
		   "# Data: throughput.dat.  Render: gnuplot throughput.gp, in this directory.\n\n");
	/* Decided when the script runs, so it renders on any gnuplot. */
	fprintf(f, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
		   "\tset terminal pngcairo size 900,560 noenhanced\n"
		   "} else {\n"
		   "\tset terminal png size 900,560 noenhanced\n"
		   "}\n"
		   "set output 'throughput.png'\n\n");

	if (meta)
		snprintf(sub, sizeof(sub), "%s, %s, Linux %s", meta->host,
			 meta->cpu_model, meta->kernel);
	else
		sub[0] = '\0';
	fprintf(f, "set title \"Throughput vs threads%s\" . ", sub[0] ? "\\n" : "");
	gp_string(f, sub);
	fprintf(f, "\nset xlabel \"threads\"\n"
		   "set ylabel \"throughput (ops/s)\"\n"
		   "set format y '%%.1s%%c'\n"
		   "set grid\n"
		   "set key outside right top\n"
		   "set yrange [0:*]\n"
		   "set offsets graph 0.04, graph 0.04, graph 0.06, 0\n");

	/* Tics at the thread counts that were run, when they are few enough
	 * to label; otherwise gnuplot's own. */
	for (size_t i = 0; i < ns && xt_ok; i++) {
		for (size_t t = 0; t < s[i].npts; t++) {
			size_t k;

			for (k = 0; k < nxt; k++)
				if (xt[k] == s[i].threads[t])
					break;
			if (k < nxt)
				continue;
			if (nxt == 16) {
				xt_ok = false;
				break;
			}
			xt[nxt++] = s[i].threads[t];
		}
	}
	/* Tight x range with a margin; a single thread count has no range,
	 * so it gets one around it. */
	if (nxt == 1)
		fprintf(f, "set xrange [%u:%u]\n", xt[0] - 1, xt[0] + 1);
	else
		fprintf(f, "set autoscale xfix\n");
	if (xt_ok && nxt > 0) {
		qsort(xt, nxt, sizeof(unsigned), cmp_uint);
		fprintf(f, "set xtics (");
		for (size_t k = 0; k < nxt; k++)
			fprintf(f, "%s%u", k ? ", " : "", xt[k]);
		fprintf(f, ")\n");
	}

	fprintf(f, "\nplot ");
	for (size_t i = 0; i < ns; i++) {
		fprintf(f, "%s'throughput.dat' index %zu using 1:2:3:4 with yerrorlines \\\n"
			   "\tlw 1.5 dt %zu pt %d ps 1.2 title ",
			i ? ", \\\n     " : "", i, i % 5 + 1,
			pts[i % (sizeof(pts) / sizeof(pts[0]))]);
		gp_string(f, s[i].prim);
	}
	fprintf(f, "\n");
	return finish_file(f, path, err);
}

/* Last non-empty line of what gnuplot said: its error, without the echo of
 * the offending script line that precedes it. */
static void last_line(char *text, char *out, size_t n)
{
	char *end = text + strlen(text);
	char *start;
	size_t len;

	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	start = strrchr(text, '\n');
	start = start ? start + 1 : text;
	len = strlen(start);
	if (len >= n)
		len = n - 1; /* a long line is still worth its start */
	memcpy(out, start, len);
	out[len] = '\0';
}

/* Run gnuplot throughput.gp in dir.  No shell: nothing in dir's name can
 * be interpreted. */
static int run_gnuplot(const char *dir, const char *gp, struct sl_err *err)
{
	int errpipe[2], outpipe[2];
	int report[2] = { 0, 0 }; /* stage (1 chdir, 2 exec), errno */
	char said[2048], line[256];
	size_t got = 0;
	ssize_t r;
	pid_t pid;
	int status;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return sl_err_set(err, -errno, "cannot run gnuplot: %s",
				  strerror(errno));
	if (pipe2(outpipe, O_CLOEXEC) < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		return sl_err_set(err, -e, "cannot run gnuplot: %s", strerror(e));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(errpipe[0]);
		close(errpipe[1]);
		close(outpipe[0]);
		close(outpipe[1]);
		return sl_err_set(err, -e, "cannot run gnuplot: %s", strerror(e));
	}
	if (pid == 0) {
		char *argv[] = { "gnuplot", "throughput.gp", NULL };
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* stdin and stdout away from ours: a CSV may be on stdout. */
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		dup2(outpipe[1], STDERR_FILENO);
		if (chdir(dir) < 0) {
			report[0] = 1;
		} else {
			execvp(argv[0], argv);
			report[0] = 2;
		}
		report[1] = errno;
		if (write(errpipe[1], report, sizeof(report)) < 0)
			_exit(126);
		_exit(127);
	}
	close(errpipe[1]);
	close(outpipe[1]);

	/* Drain stderr first: gnuplot could block on a full pipe. */
	for (;;) {
		char chunk[512];

		r = read(outpipe[0], chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got + 1 < sizeof(said)) {
			size_t take = (size_t)r;

			if (take > sizeof(said) - 1 - got)
				take = sizeof(said) - 1 - got;
			memcpy(said + got, chunk, take);
			got += take;
		}
	}
	said[got] = '\0';
	close(outpipe[0]);
	do
		r = read(errpipe[0], report, sizeof(report));
	while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return sl_err_set(err, -errno, "cannot run gnuplot: %s",
					  strerror(errno));
	}

	if (r == (ssize_t)sizeof(report)) {
		if (report[0] == 1)
			return sl_err_set(err, -report[1],
					  "cannot enter '%s': %s", dir,
					  strerror(report[1]));
		if (report[1] == ENOENT)
			return sl_err_set(err, -ENOENT,
					  "gnuplot not found: the script is at %s; "
					  "install gnuplot and run 'gnuplot throughput.gp' in %s",
					  gp, dir);
		return sl_err_set(err, -report[1], "cannot run gnuplot: %s",
				  strerror(report[1]));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	last_line(said, line, sizeof(line));
	if (WIFSIGNALED(status))
		return sl_err_set(err, -EIO, "gnuplot was killed by signal %d on '%s'%s%s",
				  WTERMSIG(status), gp, line[0] ? ": " : "", line);
	return sl_err_set(err, -EIO, "gnuplot failed on '%s' (exit status %d)%s%s",
			  gp, WEXITSTATUS(status), line[0] ? ": " : "", line);
}

int sl_plot_throughput(const char *dir, const struct sl_row *rows, size_t n,
		       char *png_path, size_t png_len, struct sl_err *err)
{
	char dat[PATH_MAX], gp[PATH_MAX], png[PATH_MAX];
	const struct sl_meta *meta = NULL;
	struct series *s;
	size_t ns;
	int rc;

	if ((size_t)snprintf(dat, sizeof(dat), "%s/throughput.dat", dir) >= sizeof(dat) ||
	    (size_t)snprintf(gp, sizeof(gp), "%s/throughput.gp", dir) >= sizeof(gp) ||
	    (size_t)snprintf(png, sizeof(png), "%s/throughput.png", dir) >= sizeof(png))
		return sl_err_set(err, -ENAMETOOLONG, "'%s': %s", dir,
				  strerror(ENAMETOOLONG));
	if (png_path && png_len)
		snprintf(png_path, png_len, "%s", png);

	if (build_series(rows, n, &s, &ns) < 0)
		return sl_err_set(err, -ENOMEM, "out of memory");
	if (ns == 0) {
		series_free(s, ns);
		return sl_err_set(err, -ENODATA,
				  "nothing to plot: no point finished with status ok");
	}
	for (size_t i = 0; i < n && !meta; i++)
		meta = rows[i].meta;

	rc = sl_mkdir_p(dir, err);
	if (rc == 0)
		rc = write_data(dat, s, ns, err);
	if (rc == 0)
		rc = write_script(gp, s, ns, meta, err);
	series_free(s, ns);
	if (rc < 0)
		return rc;
	return run_gnuplot(dir, gp, err);
}
