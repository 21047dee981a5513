/*
 * The summary over repetitions: grouping rows into points by the point key,
 * the statistics of each point against values worked out by hand, failed and
 * single repetitions, the file written whole; and the terminal table's
 * confidence interval and standard deviation columns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/report.h"

/* Rows of one primitive that share pin, meta and calibration. */
struct rowset {
	struct sl_prim prim;
	struct sl_pin_spec pin;
	struct sl_meta meta;
	struct sl_calib calib;
	struct sl_point pt[8];
	struct sl_result res[8];
	struct sl_row row[8];
	size_t n;
};

static void rowset_init(struct rowset *s, const char *prim)
{
	memset(s, 0, sizeof(*s));
	s->prim.name = prim;
	s->prim.kind = SL_KIND_LOCK;
	snprintf(s->pin.text, sizeof(s->pin.text), "0,1");
	snprintf(s->meta.host, sizeof(s->meta.host), "box");
	snprintf(s->meta.cpu_model, sizeof(s->meta.cpu_model), "cpu");
	snprintf(s->meta.kernel, sizeof(s->meta.kernel), "6.1");
	s->meta.version = "9.9.9";
	s->calib.loops_per_us = 100.0;
}

/* Add one repetition: rate ops/s, ns per op, at cs_ns. */
static struct sl_result *add(struct rowset *s, unsigned threads,
			     uint64_t cs_ns, double rate, double nsop)
{
	size_t i = s->n++;

	assert_true(i < 8);
	s->pt[i] = (struct sl_point){
		.prim = &s->prim, .threads = threads, .rep = (unsigned)i + 1,
		.warmup_ns = 50000000ull, .cs_ns = cs_ns, .locks = 1,
		.pin = &s->pin, .calib = &s->calib,
	};
	s->res[i] = (struct sl_result){
		.status = SL_STATUS_OK, .threads = threads,
		.window_ns = 100000000ull, .ops = (uint64_t)(rate / 10.0),
		.ops_per_sec = rate, .ns_per_op = nsop, .fairness = 1.0,
	};
	for (unsigned e = 0; e < SL_MAX_EVENTS; e++)
		s->res[i].counter[e] = NAN;
	s->row[i] = (struct sl_row){ &s->pt[i], &s->res[i], &s->meta, &s->calib };
	return &s->res[i];
}

static char *slurp(const char *path)
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

/* Field col (by header name) of data line `line` (1-based) of a CSV text
 * without quoted commas past the key. */
static const char *cell(const char *csv, size_t line, const char *col)
{
	static char out[4096];
	char head[4096], row[4096];
	const char *p = csv, *nl;
	size_t idx = 0, k = 0;
	char *save = NULL, *tok;

	nl = strchr(p, '\n');
	assert_non_null(nl);
	snprintf(head, sizeof(head), "%.*s", (int)(nl - p), p);
	for (tok = strtok_r(head, ",", &save); tok; tok = strtok_r(NULL, ",", &save), idx++)
		if (strcmp(tok, col) == 0)
			break;
	if (!tok)
		fail_msg("no column '%s'", col);
	for (size_t l = 0; l < line; l++) {
		p = nl + 1;
		nl = strchr(p, '\n');
		assert_non_null(nl);
	}
	snprintf(row, sizeof(row), "%.*s", (int)(nl - p), p);
	/* Split by hand: empty fields must count, and "0,1" is quoted. */
	p = row;
	for (k = 0; k < idx; k++) {
		if (*p == '"') {
			p = strchr(p + 1, '"');
			assert_non_null(p);
		}
		p = strchr(p, ',');
		assert_non_null(p);
		p++;
	}
	snprintf(out, sizeof(out), "%s", p);
	if (out[0] == '"') {
		char *q = strchr(out + 1, '"');

		assert_non_null(q);
		*q = '\0';
		memmove(out, out + 1, strlen(out + 1) + 1);
	} else if (strchr(out, ',')) {
		*strchr(out, ',') = '\0';
	}
	return out;
}

static char *write_summary(const struct sl_row *rows, size_t n)
{
	char path[] = "/tmp/synclab-summary-XXXXXX";
	struct sl_err err = { "" };
	char *text;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	if (sl_summary_write(path, rows, n, &err) < 0)
		fail_msg("%s", err.msg);
	text = slurp(path);
	unlink(path);
	return text;
}

static void test_header(void **state)
{
	struct rowset s;
	const char *const *key = sl_point_key_columns();
	char want[2048] = "";
	char *text;

	(void)state;
	rowset_init(&s, "mutex");
	add(&s, 1, 0, 1000.0, 1.0);
	text = write_summary(s.row, s.n);
	/* The key columns under their results-CSV names, then statistics. */
	assert_string_equal(key[0], "primitive");
	assert_string_equal(key[1], "threads");
	for (size_t i = 0; i < sl_summary_column_count(); i++) {
		const struct sl_column *c = sl_summary_column_at(i);

		assert_non_null(c);
		assert_non_null(c->doc);
		strcat(want, i ? "," : "");
		strcat(want, c->name);
	}
	strcat(want, "\n");
	assert_int_equal(strncmp(text, want, strlen(want)), 0);
	for (size_t i = 0; key[i]; i++)
		assert_string_equal(sl_summary_column_at(i)->name, key[i]);
	assert_null(sl_summary_column_at(sl_summary_column_count()));
	assert_non_null(strstr(want, "ops_per_sec_ci95_low,ops_per_sec_ci95_high"));
	free(text);
}

static void test_statistics(void **state)
{
	struct rowset s;
	char *text;

	(void)state;
	rowset_init(&s, "mutex");
	/* 1000, 1200, 1400: median and mean 1200, s = 200, half-width of the
	 * 95% interval t(0.975, 2) * 200 / sqrt(3) = 496.8. */
	add(&s, 2, 0, 1400.0, 30.0);
	add(&s, 2, 0, 1000.0, 10.0);
	add(&s, 2, 0, 1200.0, 20.0);
	text = write_summary(s.row, s.n);
	assert_string_equal(cell(text, 1, "primitive"), "mutex");
	assert_string_equal(cell(text, 1, "threads"), "2");
	assert_string_equal(cell(text, 1, "pin"), "0,1");
	assert_string_equal(cell(text, 1, "reps"), "3");
	assert_string_equal(cell(text, 1, "reps_ok"), "3");
	assert_string_equal(cell(text, 1, "status"), "ok");
	assert_string_equal(cell(text, 1, "ops_per_sec_median"), "1200.0");
	assert_string_equal(cell(text, 1, "ops_per_sec_mean"), "1200.0");
	assert_string_equal(cell(text, 1, "ops_per_sec_min"), "1000.0");
	assert_string_equal(cell(text, 1, "ops_per_sec_max"), "1400.0");
	assert_string_equal(cell(text, 1, "ops_per_sec_stddev"), "200.0");
	assert_string_equal(cell(text, 1, "ops_per_sec_ci95_low"), "703.2");
	assert_string_equal(cell(text, 1, "ops_per_sec_ci95_high"), "1696.8");
	assert_string_equal(cell(text, 1, "ns_per_op_median"), "20.000");
	/* No latency sampled: empty, never 0. */
	assert_string_equal(cell(text, 1, "lat_p99_ns_median"), "");
	assert_string_equal(cell(text, 1, "host"), "box");
	assert_string_equal(cell(text, 1, "synclab_version"), "9.9.9");
	assert_string_equal(cell(text, 1, "message"), "");
	free(text);
}

static void test_points_and_failures(void **state)
{
	struct rowset s;
	struct sl_result *bad;
	char *text;

	(void)state;
	rowset_init(&s, "spin-ticket");
	/* Two points told apart by cs_ns alone, their rows interleaved; a
	 * third with one repetition. */
	add(&s, 1, 0, 500.0, 2.0);
	add(&s, 1, 100, 50.0, 20.0);
	add(&s, 1, 0, 700.0, 1.0);
	bad = add(&s, 1, 100, 1e9, 1.0);
	bad->status = SL_STATUS_CHECK_FAILED;
	snprintf(bad->message, sizeof(bad->message), "counter is 9, expected 10");
	add(&s, 4, 0, 900.0, 3.0);
	text = write_summary(s.row, s.n);
	/* In the order the points were first run. */
	assert_string_equal(cell(text, 1, "cs_ns"), "0");
	assert_string_equal(cell(text, 1, "threads"), "1");
	assert_string_equal(cell(text, 1, "reps"), "2");
	assert_string_equal(cell(text, 1, "ops_per_sec_median"), "600.0");
	assert_string_equal(cell(text, 2, "cs_ns"), "100");
	assert_string_equal(cell(text, 2, "reps"), "2");
	assert_string_equal(cell(text, 2, "reps_ok"), "1");
	/* The broken repetition's figures never enter the statistics. */
	assert_string_equal(cell(text, 2, "status"), "check-failed");
	assert_string_equal(cell(text, 2, "ops_per_sec_median"), "50.0");
	assert_string_equal(cell(text, 2, "ops_per_sec_max"), "50.0");
	assert_string_equal(cell(text, 2, "message"), "counter is 9, expected 10");
	/* One ok repetition: no spread, no interval; empty, not 0. */
	assert_string_equal(cell(text, 2, "ops_per_sec_stddev"), "");
	assert_string_equal(cell(text, 2, "ops_per_sec_ci95_low"), "");
	assert_string_equal(cell(text, 3, "threads"), "4");
	assert_string_equal(cell(text, 3, "ops_per_sec_ci95_high"), "");
	/* Three points, three lines after the header. */
	{
		size_t lines = 0;

		for (const char *p = text; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 4);
	}
	free(text);
}

static void test_write_errors(void **state)
{
	struct rowset s;
	struct sl_err err = { "" };

	(void)state;
	rowset_init(&s, "mutex");
	add(&s, 1, 0, 1000.0, 1.0);
	assert_true(sl_summary_write("/nonexistent-dir/summary.csv", s.row, s.n, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/summary.csv"));
}

static void test_table_ci(void **state)
{
	struct rowset s;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	(void)state;
	assert_non_null(m);
	rowset_init(&s, "mutex");
	add(&s, 2, 0, 1400.0, 30.0);
	add(&s, 2, 0, 1000.0, 10.0);
	add(&s, 2, 0, 1200.0, 20.0);
	add(&s, 4, 0, 1000.0, 10.0);
	sl_table_print(m, s.row, s.n, NULL, NULL);
	fclose(m);
	assert_non_null(strstr(out, "ci95"));
	assert_non_null(strstr(out, "sd"));
	/* 496.8 / 1200 = 41%; 200 / 1200 = 17%. */
	assert_non_null(strstr(out, "41%"));
	assert_non_null(strstr(out, "17%"));
	/* One repetition at 4 threads: "-", never a made-up 0%. */
	assert_null(strstr(out, " 0%"));
	assert_null(strstr(out, "nan"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_statistics),
		cmocka_unit_test(test_points_and_failures),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_table_ci),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
