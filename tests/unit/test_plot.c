/*
 * Charts' data: grouping a results table into series and points (which
 * parameters tell lines apart, which go into the subtitle), statistics per
 * point, rows left out by status, and the files sl_plot_csvdata writes and
 * skips, all from small hand-written CSV files whose answers are known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/csvread.h"
#include "reports/plotdata.h"
#include "reports/report.h"

struct table {
	char dir[64];
	char path[128];
	struct sl_csvdata d;
};

/* Write text to a fresh temporary CSV and load it. */
static void table_load(struct table *t, const char *text)
{
	struct sl_err err = { "" };
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "/tmp/sl-test-plot-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/r.csv", t->dir);
	f = fopen(t->path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	if (sl_csv_load(&t->d, t->path, &err) < 0)
		fail_msg("sl_csv_load: %s", err.msg);
}

static void table_free(struct table *t)
{
	char cmd[160];

	sl_csv_free(&t->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

static void assert_close(double got, double want)
{
	if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
		fail_msg("got %.12g, want %.12g", got, want);
}

static const char basic_csv[] =
	"primitive,threads,rep,status,ops_per_sec,fairness,cs_ns,locks,producers,host,cpu_model,kernel,synclab_version,lat_p50_ns\n"
	"spin,4,1,ok,40,0.9,0,1,2,box,CPU X,6.1,1.0,\n"
	"spin,1,1,ok,10,1,0,1,0,box,CPU X,6.1,1.0,\n"
	"spin,1,2,ok,30,1,0,1,0,box,CPU X,6.1,1.0,\n"
	"spin,1,3,ok,20,1,0,1,0,box,CPU X,6.1,1.0,\n"
	"mutex,1,1,ok,5,1,0,1,0,box,CPU X,6.1,1.0,\n"
	"mutex,4,1,ok,7,0.5,0,1,2,box,CPU X,6.1,1.0,\n";

/* Series in order of first appearance, points by ascending threads, and
 * the median, min and max of each point's repetitions. */
static void test_group_basic(void **state)
{
	struct table t;
	struct sl_plot_groups g;
	struct sl_err err = { "" };
	double med, lo, hi;
	int rate;

	(void)state;
	table_load(&t, basic_csv);
	assert_int_equal(sl_plot_group(&t.d, &g, &err), 0);
	rate = sl_csv_column(&t.d, "ops_per_sec");
	assert_int_equal(g.nseries, 2);
	assert_string_equal(g.series[0].label, "spin");
	assert_string_equal(g.series[1].label, "mutex");
	assert_int_equal(g.series[0].npts, 2);
	assert_int_equal(g.series[0].pt[0].threads, 1);
	assert_int_equal(g.series[0].pt[1].threads, 4);
	assert_int_equal(g.series[0].pt[0].nrows, 3);
	assert_int_equal(sl_plot_stat(&g, &g.series[0].pt[0], rate, &med, &lo, &hi), 3);
	assert_close(med, 20);
	assert_close(lo, 10);
	assert_close(hi, 30);
	assert_int_equal(sl_plot_stat(&g, &g.series[1].pt[1], rate, &med, &lo, &hi), 1);
	assert_close(med, 7);
	assert_int_equal(g.rows_ok, 6);
	assert_int_equal(g.rows_not_ok, 0);
	assert_int_equal(g.nthreads, 2);
	assert_int_equal(g.threads[0], 1);
	assert_int_equal(g.threads[1], 4);
	/* Nothing varies at a fixed thread count: labels are the names. */
	assert_string_equal(g.varying, "");
	assert_string_equal(g.machine, "box: CPU X, Linux 6.1, synclab 1.0");
	/* producers follows the thread count: neither a label nor a shared
	 * parameter. */
	assert_null(strstr(g.params, "producers"));
	assert_non_null(strstr(g.params, "cs_ns=0"));
	assert_non_null(strstr(g.params, "locks=1"));
	/* An empty column has no value anywhere. */
	assert_false(sl_plot_has(&g, NULL, sl_csv_column(&t.d, "lat_p50_ns")));
	assert_true(sl_plot_has(&g, &g.series[1], sl_csv_column(&t.d, "fairness")));
	assert_false(sl_plot_has(&g, NULL, -1));
	sl_plot_groups_free(&g);
	table_free(&t);
}

/* A parameter with two values at one primitive and thread count splits the
 * primitive's line, and the legend names the value. */
static void test_group_varying(void **state)
{
	struct table t;
	struct sl_plot_groups g;
	struct sl_err err = { "" };

	(void)state;
	table_load(&t,
		   "primitive,threads,status,ops_per_sec,cs_ns,read_pct,locks\n"
		   "rw,1,ok,1,0,50,1\n"
		   "rw,1,ok,2,100,50,1\n"
		   "rw,2,ok,3,0,50,1\n"
		   "rw,2,ok,4,100,50,1\n"
		   "rw,1,ok,5,0,90,1\n"
		   "mutex,1,ok,6,0,,1\n");
	assert_int_equal(sl_plot_group(&t.d, &g, &err), 0);
	assert_string_equal(g.varying, "cs_ns, read_pct");
	assert_int_equal(g.nseries, 4);
	assert_string_equal(g.series[0].label, "rw cs_ns=0 read_pct=50");
	assert_string_equal(g.series[1].label, "rw cs_ns=100 read_pct=50");
	assert_string_equal(g.series[2].label, "rw cs_ns=0 read_pct=90");
	/* A value that does not apply shows as "-". */
	assert_string_equal(g.series[3].label, "mutex cs_ns=0 read_pct=-");
	assert_int_equal(g.series[0].npts, 2);
	assert_int_equal(g.series[2].npts, 1);
	/* Varying parameters are not claimed as shared; locks is. */
	assert_null(strstr(g.params, "cs_ns"));
	assert_non_null(strstr(g.params, "locks=1"));
	sl_plot_groups_free(&g);
	table_free(&t);
}

/* Rows that are not ok are counted and left out; a failed repetition voids
 * its point (a gap), a primitive with no ok row gets no line, and an ok
 * row without a throughput number is counted apart. */
static void test_group_status(void **state)
{
	struct table t;
	struct sl_plot_groups g;
	struct sl_err err = { "" };
	double med, lo, hi;

	(void)state;
	table_load(&t,
		   "primitive,threads,status,ops_per_sec\n"
		   "mutex,1,ok,10\n"
		   "mutex,2,ok,20\n"
		   "mutex,2,check-failed,\n"
		   "mutex,4,unsupported,\n"
		   "mutex,8,ok,\n"
		   "broken,1,check-failed,\n"
		   "broken,2,stuck,\n"
		   "spin,1,interrupted,\n");
	assert_int_equal(sl_plot_group(&t.d, &g, &err), 0);
	assert_int_equal(g.nseries, 1);
	assert_string_equal(g.series[0].label, "mutex");
	assert_int_equal(g.rows_ok, 2);
	assert_int_equal(g.rows_not_ok, 5);
	assert_int_equal(g.rows_unreadable, 1);
	/* 1 and 2 threads: the unsupported and unreadable ones are not
	 * points at all, the failed one is a gap. */
	assert_int_equal(g.series[0].npts, 2);
	assert_false(g.series[0].pt[0].broken);
	assert_true(g.series[0].pt[1].broken);
	assert_int_equal(sl_plot_stat(&g, &g.series[0].pt[1],
				      sl_csv_column(&t.d, "ops_per_sec"),
				      &med, &lo, &hi), 0);
	assert_true(isnan(med) && isnan(lo) && isnan(hi));
	sl_plot_groups_free(&g);
	table_free(&t);
}

static void test_group_missing_column(void **state)
{
	struct table t;
	struct sl_plot_groups g;
	struct sl_err err = { "" };

	(void)state;
	table_load(&t, "primitive,ops_per_sec\nmutex,10\n");
	assert_int_equal(sl_plot_group(&t.d, &g, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'threads'"));
	assert_non_null(strstr(err.msg, "required: primitive, threads, ops_per_sec"));
	table_free(&t);
}

/* Two machines in one file: said so, and the host tells lines apart. */
static void test_group_two_hosts(void **state)
{
	struct table t;
	struct sl_plot_groups g;
	struct sl_err err = { "" };

	(void)state;
	table_load(&t,
		   "primitive,threads,status,ops_per_sec,host,kernel\n"
		   "mutex,1,ok,10,a,6.1\n"
		   "mutex,1,ok,20,b,6.1\n");
	assert_int_equal(sl_plot_group(&t.d, &g, &err), 0);
	assert_string_equal(g.machine, "several hosts, Linux 6.1");
	assert_int_equal(g.nseries, 2);
	assert_string_equal(g.series[1].label, "mutex host=b");
	sl_plot_groups_free(&g);
	table_free(&t);
}

static bool exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && st.st_size > 0;
}

static char *slurp(const char *dir, const char *name)
{
	char path[256];
	FILE *f;
	char *buf = calloc(1, 1 << 16);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(buf);
	(void)!fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	return buf;
}

/* sl_plot_csvdata with no gnuplot on the PATH: the data and scripts are
 * written and nothing is rendered. */
static int plot_without_gnuplot(const struct table *t, const char *dir,
				const struct sl_plot_opts *o,
				struct sl_plot_out *out, struct sl_err *err)
{
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	int rc;

	setenv("PATH", "/nonexistent-synclab-bin", 1);
	rc = sl_plot_csvdata(&t->d, dir, o, out, err);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
	return rc;
}

/* Without gnuplot: the charts the data fills are written (data and a
 * script that reads it by relative path), the others are skipped with a
 * reason and their old files removed, and the return says how to render. */
static void test_files_without_gnuplot(void **state)
{
	struct table t;
	static struct sl_plot_out out;
	struct sl_plot_opts o = { .format = "svg" };
	struct sl_err err = { "" };
	char dir[160], stale[200];
	char *text;
	FILE *f;
	int rc;

	(void)state;
	table_load(&t, basic_csv);
	snprintf(dir, sizeof(dir), "%s/charts/a b", t.dir);
	/* A latency chart of an earlier run that this data cannot redraw. */
	snprintf(stale, sizeof(stale), "%s/charts", t.dir);
	assert_int_equal(mkdir(stale, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(stale, sizeof(stale), "%s/latency.gp", dir);
	f = fopen(stale, "w");
	assert_non_null(f);
	fputs("old\n", f);
	fclose(f);

	rc = plot_without_gnuplot(&t, dir, &o, &out, &err);
	assert_int_equal(rc, -ENOENT);
	assert_true(out.gnuplot_missing);
	assert_false(out.rendered);
	assert_non_null(strstr(err.msg, "gnuplot not found"));
	/* The directory has a space: the hint quotes it for the shell. */
	assert_non_null(strstr(err.msg, "&& gnuplot *.gp"));
	assert_non_null(strstr(err.msg, "cd '"));

	assert_true(out.chart[0].written);   /* throughput */
	assert_false(out.chart[1].written);  /* latency: the column is empty */
	assert_non_null(strstr(out.chart[1].note, "--latency"));
	assert_false(out.chart[2].written);  /* counters: no such columns */
	assert_true(out.chart[3].written);   /* fairness */
	assert_false(out.chart[4].written);  /* events: no prim_events column */
	assert_non_null(strstr(out.chart[4].note, "prim_events"));
	assert_true(exists(dir, "throughput.dat"));
	assert_true(exists(dir, "throughput.gp"));
	assert_true(exists(dir, "fairness.gp"));
	assert_false(exists(dir, "latency.gp"));
	assert_false(exists(dir, "counters.gp"));

	text = slurp(dir, "throughput.gp");
	assert_non_null(strstr(text, "'throughput.dat' index 0"));
	assert_non_null(strstr(text, "set output 'throughput.svg'"));
	assert_non_null(strstr(text, "ops/s"));
	assert_non_null(strstr(text, "key outside"));
	assert_null(strstr(text, t.dir));  /* relative paths only */
	free(text);
	text = slurp(dir, "throughput.dat");
	/* spin at 1 thread: median 20 of 10, 30, 20; then 4 threads. */
	assert_non_null(strstr(text, "# index 0: spin\n1 20 10 30\n4 40 40 40\n"));
	assert_non_null(strstr(text, "# index 1: mutex\n1 5 5 5\n4 7 7 7\n"));
	free(text);
	table_free(&t);
}

/* The events chart: each primitive's own events per second of the window
 * (count over duration_s), the median over repetitions, NaN where a
 * primitive does not count that event; a line per event a series counts,
 * and a legend entry per series and per event. */
static void test_events_chart(void **state)
{
	struct table t;
	static struct sl_plot_out out;
	struct sl_err err = { "" };
	char dir[160], *text;

	(void)state;
	table_load(&t,
		   "primitive,threads,rep,status,ops_per_sec,duration_s,prim_events\n"
		   "mutex,2,1,ok,10,0.5,sleeps=10;wakes=20\n"
		   "mutex,2,2,ok,10,0.5,sleeps=30;wakes=40\n"
		   "mutex,2,3,ok,10,0.5,sleeps=20;wakes=30\n"
		   "spin-ticket,2,1,ok,10,2,yields=8\n"
		   "spin-ttas,2,1,ok,10,2,\n");
	snprintf(dir, sizeof(dir), "%s/ev", t.dir);
	assert_int_equal(plot_without_gnuplot(&t, dir, NULL, &out, &err), -ENOENT);
	assert_true(out.chart[4].written);
	text = slurp(dir, "events.dat");
	assert_non_null(strstr(text, "# threads  sleeps_median sleeps_min sleeps_max  wakes_median wakes_min wakes_max  yields_median yields_min yields_max\n"));
	/* mutex: sleeps 20, 60, 40 per second; wakes 40, 80, 60. */
	assert_non_null(strstr(text, "# index 0: mutex\n2 40 20 60 60 40 80 NaN NaN NaN\n"));
	assert_non_null(strstr(text, "# index 1: spin-ticket\n2 NaN NaN NaN NaN NaN NaN 4 4 4\n"));
	assert_non_null(strstr(text, "# index 2: spin-ttas\n2 NaN NaN NaN NaN NaN NaN NaN NaN NaN\n"));
	free(text);
	text = slurp(dir, "events.gp");
	assert_non_null(strstr(text, "'events.dat' index 0 using 1:2 "));
	assert_non_null(strstr(text, "'events.dat' index 0 using 1:5 "));
	assert_non_null(strstr(text, "'events.dat' index 1 using 1:8 "));
	assert_null(strstr(text, "index 1 using 1:2 "));
	assert_null(strstr(text, "index 2 using"));   /* counts nothing */
	assert_non_null(strstr(text, "set logscale y"));
	assert_non_null(strstr(text, "title 'yields'"));
	free(text);
	table_free(&t);

	/* Counted, but nothing to count: no chart (a log axis has no place
	 * for 0), and the note says why. */
	table_load(&t,
		   "primitive,threads,rep,status,ops_per_sec,duration_s,prim_events\n"
		   "mutex,1,1,ok,10,0.5,sleeps=0;wakes=0\n");
	snprintf(dir, sizeof(dir), "%s/ev", t.dir);
	assert_int_equal(plot_without_gnuplot(&t, dir, NULL, &out, &err), -ENOENT);
	assert_false(out.chart[4].written);
	assert_non_null(strstr(out.chart[4].note, "is 0"));
	table_free(&t);
}

/* Nothing is written when no row can be drawn. */
static void test_nothing_ok(void **state)
{
	struct table t;
	static struct sl_plot_out out;
	struct sl_err err = { "" };
	char dir[160];
	struct stat st;

	(void)state;
	table_load(&t, "primitive,threads,status,ops_per_sec\nmutex,1,error,\n");
	snprintf(dir, sizeof(dir), "%s/out", t.dir);
	assert_int_equal(sl_plot_csvdata(&t.d, dir, NULL, &out, &err), -ENODATA);
	assert_non_null(strstr(err.msg, "no row has status ok"));
	assert_int_not_equal(stat(dir, &st), 0);
	struct sl_plot_opts bad = { .format = "gif" };
	assert_int_equal(sl_plot_csvdata(&t.d, dir, &bad, &out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'gif'"));
	table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_basic),
		cmocka_unit_test(test_group_varying),
		cmocka_unit_test(test_group_status),
		cmocka_unit_test(test_group_missing_column),
		cmocka_unit_test(test_group_two_hosts),
		cmocka_unit_test(test_files_without_gnuplot),
		cmocka_unit_test(test_events_chart),
		cmocka_unit_test(test_nothing_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
