/*
 * Reports: the column registry, the formatting of one CSV field, whole CSV
 * files, the terminal table and the gnuplot chart, all from hand-made
 * points and results so that every expected string is known.
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

#include "reports/report.h"

/* The CSV header, as the man page and users' scripts know it. */
static const char *const expected_columns[] = {
	"primitive", "threads", "rep", "status", "duration_s", "ops",
	"ops_per_sec", "ns_per_op", "fairness", "min_thread_ops",
	"max_thread_ops", "pin", "cpus", "oversubscribed", "cs_ns",
	"think_ns", "cs_lines", "locks", "read_pct", "writers", "producers",
	"consumers", "capacity", "permits", "warmup_s", "cycles_per_op",
	"instructions_per_op", "cache_misses_per_op",
	"context_switches_per_op", "cpu_migrations", "vol_ctx_switches",
	"invol_ctx_switches", "cpu_s", "prim_events", "latency_period", "lat_samples",
	"lat_p50_ns", "lat_p90_ns", "lat_p99_ns", "lat_p999_ns", "lat_max_ns",
	"clock_ns", "handoff_samples", "handoff_p50_ns", "handoff_p99_ns",
	"handoff_same_pu_pct", "handoff_smt_pct", "handoff_cache_pct",
	"handoff_node_pct", "handoff_remote_pct", "uncontended_ns", "rmw_ns", "work_loops_per_us", "host", "cpu_model",
	"kernel", "synclab_version", "env_fingerprint", "message",
};
#define NCOLS (sizeof(expected_columns) / sizeof(expected_columns[0]))

/* One hand-made point with everything a row refers to. */
struct fixture {
	struct sl_prim prim;
	struct sl_pin_spec pin;
	struct sl_counter_set set;
	struct sl_calib calib;
	struct sl_meta meta;
	struct sl_thread_result thr[2];
	struct sl_point pt;
	struct sl_result res;
	struct sl_row row;
};

static void fixture_init(struct fixture *f, const char *prim, unsigned threads,
			 unsigned rep, double rate)
{
	static const char *const events[] = {
		"cycles", "instructions", "cache-misses", "context-switches",
		"cpu-migrations",
	};

	memset(f, 0, sizeof(*f));
	f->prim.name = prim;
	snprintf(f->pin.text, sizeof(f->pin.text), "compact");
	f->set.n = 5;
	for (unsigned i = 0; i < 5; i++) {
		snprintf(f->set.ev[i].name, sizeof(f->set.ev[i].name), "%s",
			 events[i]);
		f->set.ev[i].supported = true;
	}
	f->calib.loops_per_us = 123.456;
	snprintf(f->meta.host, sizeof(f->meta.host), "box");
	snprintf(f->meta.cpu_model, sizeof(f->meta.cpu_model),
		 "Fancy CPU, rev 2");
	snprintf(f->meta.kernel, sizeof(f->meta.kernel), "6.1.0-test");
	f->meta.version = "0.1.0";
	f->meta.compiler = "cc";

	f->pt.prim = &f->prim;
	f->pt.threads = threads;
	f->pt.rep = rep;
	f->pt.duration_ns = 1500000000ull;
	f->pt.warmup_ns = 250000000ull;
	f->pt.cs_ns = 100;
	f->pt.think_ns = 0;
	f->pt.cs_lines = 1;
	f->pt.locks = 1;
	f->pt.pin = &f->pin;
	f->pt.counters = &f->set;
	f->pt.calib = &f->calib;

	f->thr[0] = (struct sl_thread_result){ .ops = 600, .pu_bound = 0,
					       .pu_seen = 0 };
	f->thr[1] = (struct sl_thread_result){ .ops = 400, .pu_bound = -1,
					       .pu_seen = 3 };
	f->res.status = SL_STATUS_OK;
	f->res.threads = 2;
	f->res.window_ns = 1500000000ull;
	for (unsigned i = 0; i < SL_PRIM_EVENTS; i++)
		f->res.events_per_sec[i] = NAN;
	f->res.ops = 1000;
	f->res.ops_per_sec = rate;
	f->res.ns_per_op = 3e6;
	f->res.fairness = sl_stat_jain((const uint64_t[]){ 600, 400 }, 2);
	f->res.min_thread_ops = 400;
	f->res.max_thread_ops = 600;
	f->res.counter[0] = NAN;     /* cycles: no PMU in this "VM" */
	f->res.counter[1] = 5000.0;
	f->res.counter[2] = 250.0;
	f->res.counter[3] = 20.0;
	f->res.counter[4] = 3.0;
	f->res.vol_cs = 7;
	f->res.invol_cs = 2;
	f->res.thread = f->thr;

	f->row.pt = &f->pt;
	f->row.res = &f->res;
	f->row.meta = &f->meta;
	f->row.calib = &f->calib;
}

static void no_events(const void *tctx, uint64_t out[SL_PRIM_EVENTS])
{
	(void)tctx;
	(void)out;
}

/* The fixture's primitive counts sleeps and wakes; the run counted these. */
static void fixture_events(struct fixture *f, uint64_t sleeps, uint64_t wakes)
{
	f->prim.event_names[0] = "sleeps";
	f->prim.event_names[1] = "wakes";
	f->prim.events = no_events;
	f->res.prim_events[0] = sleeps;
	f->res.prim_events[1] = wakes;
	/* per second of the window, as the runner fills it in */
	f->res.events_per_sec[0] = (double)sleeps * 1e9 / (double)f->res.window_ns;
	f->res.events_per_sec[1] = (double)wakes * 1e9 / (double)f->res.window_ns;
}

static void fixture_fail(struct fixture *f)
{
	f->res.status = SL_STATUS_CHECK_FAILED;
	snprintf(f->res.message, sizeof(f->res.message),
		 "counter is 999, expected 1000: lost \"updates\"");
}

static size_t column_index(const char *name)
{
	for (size_t i = 0; i < sl_column_count(); i++)
		if (strcmp(sl_column_at(i)->name, name) == 0)
			return i;
	fail_msg("no column '%s'", name);
	return 0;
}

static const char *field(const struct sl_row *row, const char *name)
{
	static char buf[4096];

	sl_column_format(column_index(name), row, buf, sizeof(buf));
	return buf;
}

#define assert_field(row, name, want) \
	assert_string_equal(field(row, name), want)

/* Fields of one CSV line, RFC 4180: quoted fields may hold commas. */
static size_t count_fields(const char *line)
{
	size_t n = 1;
	bool quoted = false;

	for (const char *p = line; *p && *p != '\n'; p++) {
		if (*p == '"')
			quoted = !quoted; /* a doubled quote toggles twice */
		else if (*p == ',' && !quoted)
			n++;
	}
	return n;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static char *make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = malloc(4096);

	assert_non_null(dir);
	snprintf(dir, 4096, "%s/synclab-test-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *dir)
{
	char cmd[4200];

	/* Only ever a directory this test made with mkdtemp. */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_columns_registry(void **state)
{
	(void)state;
	assert_int_equal(sl_column_count(), NCOLS);
	for (size_t i = 0; i < NCOLS; i++) {
		const struct sl_column *c = sl_column_at(i);

		assert_non_null(c);
		assert_string_equal(c->name, expected_columns[i]);
		assert_non_null(c->unit);
		assert_non_null(c->doc);
		assert_true(strlen(c->doc) > 10);
	}
	assert_null(sl_column_at(NCOLS));
}

static void test_row_ok(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "spin-ticket", 2, 1, 1000.0 / 1.5);
	assert_field(&f.row, "primitive", "spin-ticket");
	assert_field(&f.row, "threads", "2");
	assert_field(&f.row, "rep", "1");
	assert_field(&f.row, "status", "ok");
	assert_field(&f.row, "duration_s", "1.500000");
	assert_field(&f.row, "ops", "1000");
	assert_field(&f.row, "ops_per_sec", "666.7");
	assert_field(&f.row, "ns_per_op", "3000000.000");
	assert_field(&f.row, "fairness", "0.9615");
	assert_field(&f.row, "min_thread_ops", "400");
	assert_field(&f.row, "max_thread_ops", "600");
	assert_field(&f.row, "pin", "compact");
	/* Bound thread: its PU; unbound thread: where it was seen. */
	assert_field(&f.row, "cpus", "0;3");
	assert_field(&f.row, "oversubscribed", "0");
	assert_field(&f.row, "cs_ns", "100");
	assert_field(&f.row, "think_ns", "0");
	assert_field(&f.row, "cs_lines", "1");
	assert_field(&f.row, "locks", "1");
	assert_field(&f.row, "warmup_s", "0.250000");
	/* Not supported is empty, never 0. */
	assert_field(&f.row, "cycles_per_op", "");
	assert_field(&f.row, "instructions_per_op", "5");
	assert_field(&f.row, "cache_misses_per_op", "0.25");
	assert_field(&f.row, "context_switches_per_op", "0.02");
	assert_field(&f.row, "cpu_migrations", "3");
	assert_field(&f.row, "vol_ctx_switches", "7");
	assert_field(&f.row, "invol_ctx_switches", "2");
	assert_field(&f.row, "work_loops_per_us", "123.456");
	assert_field(&f.row, "host", "box");
	assert_field(&f.row, "cpu_model", "\"Fancy CPU, rev 2\"");
	assert_field(&f.row, "kernel", "6.1.0-test");
	assert_field(&f.row, "synclab_version", "0.1.0");
	assert_field(&f.row, "message", "");
	/* A primitive that counts nothing leaves its events empty. */
	assert_field(&f.row, "prim_events", "");
}

/* A primitive's own events: every name with its count, in its order; a
 * count of 0 is a count; a failed run shows none. */
static void test_row_prim_events(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "mutex", 2, 1, 1000.0 / 1.5);
	fixture_events(&f, 12, 0);
	assert_field(&f.row, "prim_events", "sleeps=12;wakes=0");
	fixture_fail(&f);
	assert_field(&f.row, "prim_events", "");
}

static void test_row_counter_absent(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "mutex", 2, 1, 100.0);
	/* An event the set does not hold, and one marked unsupported. */
	snprintf(f.set.ev[2].name, sizeof(f.set.ev[2].name), "branch-misses");
	f.set.ev[3].supported = false;
	assert_field(&f.row, "cache_misses_per_op", "");
	assert_field(&f.row, "context_switches_per_op", "");
	f.pt.counters = NULL;
	assert_field(&f.row, "instructions_per_op", "");
	assert_field(&f.row, "cpu_migrations", "");
}

static void test_row_check_failed(void **state)
{
	static const char *const measured[] = {
		"duration_s", "ops", "ops_per_sec", "ns_per_op", "fairness",
		"min_thread_ops", "max_thread_ops", "cycles_per_op",
		"instructions_per_op", "cache_misses_per_op",
		"context_switches_per_op", "cpu_migrations",
		"vol_ctx_switches", "invol_ctx_switches",
	};
	struct fixture f;

	(void)state;
	fixture_init(&f, "spin-broken", 2, 3, 1e9);
	fixture_fail(&f);
	assert_field(&f.row, "status", "check-failed");
	/* A broken primitive never yields a figure... */
	for (size_t i = 0; i < sizeof(measured) / sizeof(measured[0]); i++)
		assert_field(&f.row, measured[i], "");
	/* ...but the row still says what was run, where and why it failed. */
	assert_field(&f.row, "primitive", "spin-broken");
	assert_field(&f.row, "threads", "2");
	assert_field(&f.row, "rep", "3");
	assert_field(&f.row, "pin", "compact");
	assert_field(&f.row, "host", "box");
	assert_field(&f.row, "message",
		     "\"counter is 999, expected 1000: lost \"\"updates\"\"\"");
}

static void test_row_never_nan(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "null", 1, 1, NAN);
	f.res.ops = 0;
	f.res.ns_per_op = INFINITY;
	f.res.fairness = NAN;
	f.calib.loops_per_us = NAN;
	for (size_t i = 0; i < sl_column_count(); i++) {
		char buf[512];

		sl_column_format(i, &f.row, buf, sizeof(buf));
		assert_null(strstr(buf, "nan"));
		assert_null(strstr(buf, "inf"));
	}
	/* No ops: nothing per op, even for the counted events. */
	assert_field(&f.row, "instructions_per_op", "");
	assert_field(&f.row, "ops_per_sec", "");
	assert_field(&f.row, "ns_per_op", "");
}

static void test_row_quoting(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "mutex", 2, 1, 1.0);
	snprintf(f.meta.cpu_model, sizeof(f.meta.cpu_model), "plain");
	assert_field(&f.row, "cpu_model", "plain");
	snprintf(f.meta.cpu_model, sizeof(f.meta.cpu_model), "say \"hi\"");
	assert_field(&f.row, "cpu_model", "\"say \"\"hi\"\"\"");
	snprintf(f.meta.cpu_model, sizeof(f.meta.cpu_model), "two\nlines");
	assert_field(&f.row, "cpu_model", "\"two\nlines\"");
}

static void test_csv_open_fails(void **state)
{
	const char *path = "/nonexistent-synclab-dir/sub/results.csv";
	struct sl_csv *c = (struct sl_csv *)&c;
	struct sl_err err = { "" };
	int rc;

	(void)state;
	rc = sl_csv_open(&c, path, &err);
	assert_int_equal(rc, -ENOENT);
	assert_null(c);
	assert_non_null(strstr(err.msg, path));
}

static void test_csv_file(void **state)
{
	char *dir = make_tmpdir();
	char path[4200];
	struct sl_csv *c = NULL;
	struct sl_err err = { "" };
	struct fixture f[3];
	char *text, *line;
	size_t lines = 0;
	char header[1024] = "";

	(void)state;
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	assert_int_equal(sl_csv_open(&c, path, &err), 0);
	fixture_init(&f[0], "spin-ticket", 2, 1, 900.0);
	fixture_init(&f[1], "spin-ticket", 2, 2, 950.0);
	fixture_init(&f[2], "mutex", 2, 1, 500.0);
	fixture_fail(&f[2]);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(sl_csv_write_row(c, &f[i].row, &err), 0);
	assert_int_equal(sl_csv_close(c, &err), 0);

	for (size_t i = 0; i < NCOLS; i++) {
		strcat(header, expected_columns[i]);
		strcat(header, i + 1 < NCOLS ? "," : "\n");
	}
	text = read_file(path);
	assert_true(strncmp(text, header, strlen(header)) == 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	/* Every line whole, with one field per column.  The fixtures hold no
	 * quoted line breaks, so a newline ends a record. */
	for (line = text; *line; lines++) {
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		assert_int_equal(count_fields(line), NCOLS);
		line = nl + 1;
	}
	assert_int_equal(lines, 1 + 3);
	free(text);
	remove_tree(dir);
	free(dir);
}

/* The table sl_table_print makes of rows, as a string to free. */
static char *table_text(const struct sl_row *rows, size_t n,
			const struct sl_counter_set *set, const char *baseline)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	assert_non_null(m);
	sl_table_print(m, rows, n, set, baseline);
	assert_int_equal(fclose(m), 0);
	return out;
}

/* With a baseline, the "vs" column pairs repetitions: the median of the
 * per-repetition ratios, which here differs from the ratio of the medians
 * (20M over 20M).  The baseline's lines show 1x; a thread count the baseline
 * did not run has nothing to pair with and shows "-". */
static void test_table_baseline(void **state)
{
	static const double a_rate[3] = { 30e6, 10e6, 20e6 };
	static const double b_rate[3] = { 10e6, 20e6, 40e6 };
	struct fixture f[7];
	struct sl_row rows[7];
	char *out, *line;

	(void)state;
	for (unsigned k = 0; k < 3; k++) {
		fixture_init(&f[2 * k], "mutex", 2, k + 1, a_rate[k]);
		fixture_init(&f[2 * k + 1], "spin-ttas", 2, k + 1, b_rate[k]);
	}
	fixture_init(&f[6], "mutex", 4, 1, 5e6);
	for (size_t i = 0; i < 7; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 7, NULL, "spin-ttas");
	assert_non_null(strstr(out, "vs spin-ttas"));
	line = strstr(out, "\nmutex            2");
	assert_non_null(line);
	assert_non_null(strstr(line, "0.50x"));
	assert_true(strstr(line, "0.50x") < strchr(line + 1, '\n'));
	line = strstr(out, "\nspin-ttas        2");
	assert_non_null(line);
	assert_non_null(strstr(line, " 1x "));
	line = strstr(out, "\nmutex            4");
	assert_non_null(line);
	assert_true(strstr(line, " - ") && strstr(line, " - ") < strchr(line + 1, '\n'));
	assert_non_null(strstr(out, "vs spin-ttas: ops/s over spin-ttas's in the same repetition"));
	free(out);

	/* Without one, no such column. */
	out = table_text(rows, 7, NULL, NULL);
	assert_null(strstr(out, "vs "));
	free(out);
}

static void test_table(void **state)
{
	struct fixture f[4];
	struct sl_row rows[4];
	char *out;

	(void)state;
	fixture_init(&f[0], "spin-ticket", 2, 1, 12.3e6);
	fixture_init(&f[1], "spin-ticket", 2, 2, 12.5e6);
	fixture_init(&f[2], "spin-ticket", 2, 3, 11.9e6);
	fixture_init(&f[3], "spin-broken", 2, 1, 1e9);
	fixture_fail(&f[3]);
	for (size_t i = 0; i < 4; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 4, &f[0].set, NULL);
	assert_non_null(strstr(out, "ops/s"));
	assert_non_null(strstr(out, "ns/op"));
	assert_non_null(strstr(out, "instructions/op"));
	assert_non_null(strstr(out, "12.3M"));
	assert_non_null(strstr(out, "11.9M..12.5M"));
	assert_non_null(strstr(out, "n/s"));
	assert_non_null(strstr(out, "check-failed: counter is 999"));
	assert_null(strstr(out, "nan"));
	/* spin-ticket comes first, as it was run first. */
	assert_true(strstr(out, "spin-ticket") < strstr(out, "spin-broken"));
	free(out);
}

/* A line whose repetitions fall into two levels gets a note under the
 * table naming it and both levels; a line with one level does not. */
static void test_table_two_levels(void **state)
{
	static const double moved[6] = { 4.0e6, 20e6, 21e6, 3.9e6, 19e6, 22e6 };
	static const double steady[6] = { 20e6, 21e6, 19e6, 22e6, 20.5e6, 18e6 };
	struct fixture f[12];
	struct sl_row rows[12];
	char *out;

	(void)state;
	for (unsigned k = 0; k < 6; k++) {
		fixture_init(&f[2 * k], "spin-ticket", 2, k + 1, moved[k]);
		fixture_init(&f[2 * k + 1], "ck-ticket", 2, k + 1, steady[k]);
	}
	for (size_t i = 0; i < 12; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 12, NULL, NULL);
	assert_non_null(strstr(out, "two levels: spin-ticket at 2 threads: 2 runs near 3.95M ops/s, 4 near 20.5M\n"));
	assert_null(strstr(out, "two levels: ck-ticket"));
	assert_non_null(strstr(out, "the machine changed between repetitions"));
	free(out);

	/* Without such a line, no note at all. */
	for (unsigned k = 0; k < 6; k++)
		rows[k] = f[2 * k + 1].row;
	out = table_text(rows, 6, NULL, NULL);
	assert_null(strstr(out, "two levels"));
	free(out);
}

/* What the primitives counted goes under the table, per second of the
 * window and as the median over repetitions, for the lines that counted
 * anything. */
static void test_table_prim_events(void **state)
{
	static const uint64_t sleeps[3] = { 150, 450, 300 }; /* 1.5 s windows */
	struct fixture f[6];
	struct sl_row rows[6];
	char *out;

	(void)state;
	for (unsigned k = 0; k < 3; k++) {
		fixture_init(&f[k], "mutex", 4, k + 1, 1e6);
		fixture_events(&f[k], sleeps[k], 3);
		fixture_init(&f[3 + k], "adaptive", 2, k + 1, 1e6);
		fixture_events(&f[3 + k], 0, 0);
	}
	for (size_t i = 0; i < 6; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 6, NULL, NULL);
	assert_non_null(strstr(out, "what the primitives counted themselves"));
	assert_non_null(strstr(out, "  mutex at 4 threads: 200 sleeps/s, 2.00 wakes/s\n"));
	assert_null(strstr(out, "adaptive at 2 threads:"));
	free(out);

	/* Nothing counted anywhere: no such section. */
	out = table_text(rows + 3, 3, NULL, NULL);
	assert_null(strstr(out, "what the primitives counted"));
	free(out);
}

/* A line whose threads ran for under 80% of their PUs' time gets a note
 * with its PUs and busy share (the median over repetitions); a line that
 * kept them busy, or one with an unbound thread (its PUs unknown), gets
 * none. */
static void test_table_idle_pus(void **state)
{
	static const double cpu[3] = { 1.2, 1.5, 2.1 }; /* 1.5 s windows */
	struct fixture f[9];
	struct sl_row rows[9];
	char *out;

	(void)state;
	for (unsigned k = 0; k < 3; k++) {
		fixture_init(&f[k], "pthread-rwlock", 2, k + 1, 1e6);
		f[k].thr[1].pu_bound = 1;
		f[k].res.cpu_s = cpu[k];
		fixture_init(&f[3 + k], "rwlock", 2, k + 1, 1e6);
		f[3 + k].thr[1].pu_bound = 1;
		f[3 + k].res.cpu_s = 2.95;
		fixture_init(&f[6 + k], "mutex", 2, k + 1, 1e6);
		f[6 + k].res.cpu_s = 0.3; /* thread 1 unbound */
	}
	for (size_t i = 0; i < 9; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 9, NULL, NULL);
	assert_non_null(strstr(out, "\nidle PUs: "));
	assert_non_null(strstr(out, "  pthread-rwlock at 2 threads: 2 PUs, 50% busy\n"));
	assert_null(strstr(out, "\n  rwlock at 2 threads:"));
	assert_null(strstr(out, "\n  mutex at 2 threads:"));
	free(out);

	/* Busy lines only: no such section. */
	out = table_text(rows + 3, 3, NULL, NULL);
	assert_null(strstr(out, "idle PUs"));
	free(out);
}

/* A window without an operation has no time per op and no fairness: the
 * table shows "-" for both, never "nan" or a made-up 1, and says under its
 * legend that no operation completed. */
static void test_table_no_ops(void **state)
{
	struct fixture f[2];
	struct sl_row rows[2];
	char *out, *line, word[12][32];
	int nw;

	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		fixture_init(&f[k], "barrier-sense", 2, k + 1, 0.0);
		f[k].res.ops = 0;
		f[k].thr[0].ops = f[k].thr[1].ops = 0;
		f[k].res.ns_per_op = NAN;
		f[k].res.fairness = NAN;
		rows[k] = f[k].row;
	}
	out = table_text(rows, 2, NULL, NULL);
	assert_null(strstr(out, "nan"));
	line = strstr(out, "\nbarrier-sense ");
	assert_non_null(line);
	nw = sscanf(line, "%31s %31s %31s %31s %31s %31s %31s %31s %31s",
		    word[0], word[1], word[2], word[3], word[4], word[5],
		    word[6], word[7], word[8]);
	assert_int_equal(nw, 9);
	/* primitive threads reps ops/s ci95 sd min..max ns/op fairness */
	assert_string_equal(word[7], "-");
	assert_string_equal(word[8], "-");
	assert_non_null(strstr(out, "\nno operation completed in any window:\n  barrier-sense at 2 threads\n"));
	free(out);

	/* One repetition with operations: the line has figures, no note. */
	f[1].res.ops = 10;
	f[1].res.ops_per_sec = 10.0 / 1.5;
	f[1].res.ns_per_op = 3e8;
	f[1].res.fairness = 0.5;
	rows[1] = f[1].row;
	out = table_text(rows, 2, NULL, NULL);
	assert_null(strstr(out, "no operation completed"));
	free(out);
}

/* A window that ran over 1.5 times the one asked for is named, with the
 * longest; one within it, and a failed repetition's, are not. */
static void test_table_long_windows(void **state)
{
	struct fixture f[5];
	struct sl_row rows[5];
	char *out;

	(void)state;
	fixture_init(&f[0], "null", 2, 1, 1e6);
	f[0].res.window_ns = 2000000000ull; /* 1.33 times: within */
	fixture_init(&f[1], "null", 2, 2, 1e6);
	f[1].res.window_ns = 4000000000ull;
	fixture_init(&f[2], "null", 2, 3, 1e6);
	f[2].res.window_ns = 3000000000ull;
	fixture_init(&f[3], "mutex", 2, 1, 1e6);
	f[3].res.window_ns = 2200000000ull; /* 1.47 times: within */
	fixture_init(&f[4], "mutex", 2, 2, 1e6);
	f[4].res.window_ns = 9000000000ull;
	fixture_fail(&f[4]);
	for (size_t i = 0; i < 5; i++)
		rows[i] = f[i].row;
	out = table_text(rows, 5, NULL, NULL);
	assert_non_null(strstr(out, "\nlong windows: "));
	assert_non_null(strstr(out, "\n  null at 2 threads: 4 s for 1.5 s\n"));
	assert_null(strstr(out, "\n  mutex at 2 threads:"));
	free(out);

	out = table_text(rows, 1, NULL, NULL);
	assert_null(strstr(out, "long windows"));
	free(out);
}

/* Two primitives at 1, 2 and 4 threads, two repetitions each, and a
 * failed point that must not be plotted. */
struct plot_rows {
	struct fixture f[13];
	struct sl_row rows[13];
};

static void plot_rows_init(struct plot_rows *p)
{
	static const char *const prims[] = { "spin-ticket", "mutex" };
	static const unsigned threads[] = { 1, 2, 4 };
	size_t k = 0;

	for (size_t i = 0; i < 2; i++)
		for (size_t t = 0; t < 3; t++)
			for (unsigned rep = 1; rep <= 2; rep++) {
				double rate = 1e6 * (double)(i + 1) /
					      (double)threads[t] + rep * 1e4;

				fixture_init(&p->f[k], prims[i], threads[t], rep,
					     rate);
				k++;
			}
	fixture_init(&p->f[k], "spin-broken", 2, 1, 1e12);
	fixture_fail(&p->f[k]);
	k++;
	for (size_t i = 0; i < k; i++)
		p->rows[i] = p->f[i].row;
}

static bool exists(const char *dir, const char *name)
{
	char path[8300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 && st.st_size > 0;
}

static void test_plot(void **state)
{
	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G',
						  '\r', '\n', 0x1a, '\n' };
	struct plot_rows *p = malloc(sizeof(*p));
	char *dir = make_tmpdir();
	char out[4200], png[4200], path[4300];
	unsigned char sig[8];
	struct sl_err err = { "" };
	char *dat;
	FILE *f;
	int rc;

	(void)state;
	assert_non_null(p);
	plot_rows_init(p);
	/* Two levels that do not exist yet. */
	snprintf(out, sizeof(out), "%s/plots/run1", dir);
	rc = sl_plot_throughput(out, p->rows, 13, png, sizeof(png), &err);
	assert_true(exists(out, "throughput.dat"));
	assert_true(exists(out, "throughput.gp"));
	snprintf(path, sizeof(path), "%s/throughput.dat", out);
	dat = read_file(path);
	assert_non_null(strstr(dat, "spin-ticket"));
	assert_non_null(strstr(dat, "mutex"));
	assert_null(strstr(dat, "spin-broken"));
	free(dat);
	if (rc == -ENOENT) {
		/* Rendering needs gnuplot; the files above did not. */
		remove_tree(dir);
		free(dir);
		free(p);
		skip();
	}
	if (rc != 0)
		fail_msg("sl_plot_throughput: %d %s", rc, err.msg);
	snprintf(path, sizeof(path), "%s/throughput.png", out);
	assert_string_equal(png, path);
	f = fopen(png, "rb");
	assert_non_null(f);
	assert_int_equal(fread(sig, 1, 8, f), 8);
	fclose(f);
	assert_memory_equal(sig, png_sig, 8);
	remove_tree(dir);
	free(dir);
	free(p);
}

static void test_plot_no_gnuplot(void **state)
{
	struct plot_rows *p = malloc(sizeof(*p));
	char *dir = make_tmpdir();
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char empty[4200], out[4200], gp[4300];
	struct sl_err err = { "" };
	int rc;

	(void)state;
	assert_non_null(p);
	plot_rows_init(p);
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	assert_int_equal(mkdir(empty, 0700), 0);
	setenv("PATH", empty, 1);
	rc = sl_plot_throughput(out, p->rows, 13, NULL, 0, &err);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	} else {
		unsetenv("PATH");
	}
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(err.msg, "gnuplot not found"));
	snprintf(gp, sizeof(gp), "%s/throughput.gp", out);
	assert_non_null(strstr(err.msg, gp));
	assert_true(exists(out, "throughput.gp"));
	assert_true(exists(out, "throughput.dat"));
	remove_tree(dir);
	free(dir);
	free(p);
}

static void test_plot_gnuplot_fails(void **state)
{
	struct plot_rows *p = malloc(sizeof(*p));
	char *dir = make_tmpdir();
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char bin[4200], fake[4300], out[4200];
	struct sl_err err = { "" };
	FILE *f;
	int rc;

	(void)state;
	assert_non_null(p);
	plot_rows_init(p);
	/* A gnuplot that rejects every script the way the real one does. */
	snprintf(bin, sizeof(bin), "%s/bin", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	assert_int_equal(mkdir(bin, 0700), 0);
	snprintf(fake, sizeof(fake), "%s/gnuplot", bin);
	f = fopen(fake, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho '         ^' >&2\n"
	      "echo '\"throughput.gp\" line 9: boom' >&2\nexit 1\n", f);
	fclose(f);
	assert_int_equal(chmod(fake, 0700), 0);
	setenv("PATH", bin, 1);
	rc = sl_plot_throughput(out, p->rows, 13, NULL, 0, &err);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	} else {
		unsetenv("PATH");
	}
	assert_int_equal(rc, -EIO);
	assert_non_null(strstr(err.msg, "line 9: boom"));
	remove_tree(dir);
	free(dir);
	free(p);
}

static void test_plot_nothing_ok(void **state)
{
	struct fixture f;
	struct sl_err err = { "" };

	(void)state;
	fixture_init(&f, "spin-broken", 2, 1, 1.0);
	fixture_fail(&f);
	assert_int_equal(sl_plot_throughput("/nonexistent-synclab-dir", &f.row,
					    1, NULL, 0, &err), -ENODATA);
}

static void test_meta(void **state)
{
	struct sl_meta m;

	(void)state;
	sl_meta_collect(&m);
	assert_true(m.host[0] != '\0');
	assert_true(m.cpu_model[0] != '\0');
	assert_true(m.kernel[0] != '\0');
	assert_non_null(m.version);
	assert_true(m.version[0] != '\0');
	assert_non_null(m.compiler);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_registry),
		cmocka_unit_test(test_row_ok),
		cmocka_unit_test(test_row_counter_absent),
		cmocka_unit_test(test_row_check_failed),
		cmocka_unit_test(test_row_never_nan),
		cmocka_unit_test(test_row_quoting),
		cmocka_unit_test(test_csv_open_fails),
		cmocka_unit_test(test_csv_file),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_baseline),
		cmocka_unit_test(test_table_two_levels),
		cmocka_unit_test(test_table_prim_events),
		cmocka_unit_test(test_table_idle_pus),
		cmocka_unit_test(test_table_long_windows),
		cmocka_unit_test(test_table_no_ops),
		cmocka_unit_test(test_row_prim_events),
		cmocka_unit_test(test_plot),
		cmocka_unit_test(test_plot_no_gnuplot),
		cmocka_unit_test(test_plot_gnuplot_fails),
		cmocka_unit_test(test_plot_nothing_ok),
		cmocka_unit_test(test_meta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
