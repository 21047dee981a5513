/*
 * Appending to a results CSV (sweep --resume): a new file gets the header,
 * an existing one keeps its rows and gets more, and a file with other
 * columns or a last line without its line end is refused untouched.
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
#include <unistd.h>

#include "primitives/prim.h"
#include "reports/csvread.h"
#include "reports/report.h"

static char dir[] = "/tmp/synclab-csvappend-XXXXXX";
static char path[sizeof(dir) + 32];

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void put_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get_file(void)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Write one row for a mutex point at this repetition. */
static void write_row(struct sl_csv *c, unsigned rep)
{
	struct sl_point pt = { .prim = sl_prim_find("mutex"), .threads = 2,
			       .rep = rep, .uncontended_ns = NAN, .rmw_ns = NAN };
	struct sl_result res = { .status = SL_STATUS_OK, .threads = 2,
				 .clock_ns = NAN };
	struct sl_row row = { &pt, &res, NULL, NULL };
	struct sl_err err = { "" };

	for (unsigned i = 0; i < SL_MAX_EVENTS; i++)
		res.counter[i] = NAN;
	assert_int_equal(sl_csv_write_row(c, &row, &err), 0);
}

static void test_append_keeps_rows(void **state)
{
	struct sl_csvdata d;
	struct sl_csv *c;
	struct sl_err err = { "" };
	int rep;

	(void)state;
	unlink(path);
	/* Missing: created with the header. */
	assert_int_equal(sl_csv_open_append(&c, path, &err), 0);
	write_row(c, 1);
	assert_int_equal(sl_csv_close(c, &err), 0);
	/* Existing: rows go after the ones there. */
	assert_int_equal(sl_csv_open_append(&c, path, &err), 0);
	write_row(c, 2);
	write_row(c, 3);
	assert_int_equal(sl_csv_close(c, &err), 0);

	assert_int_equal(sl_csv_load(&d, path, &err), 0);
	assert_int_equal(d.ncols, sl_column_count());
	assert_int_equal(d.nrows, 3);
	rep = sl_csv_column(&d, "rep");
	assert_string_equal(sl_csv_cell(&d, 0, rep), "1");
	assert_string_equal(sl_csv_cell(&d, 2, rep), "3");
	for (size_t i = 0; i < d.ncols; i++)
		assert_string_equal(d.header[i], sl_column_at(i)->name);
	sl_csv_free(&d);

	/* Empty: gets the header too. */
	put_file("");
	assert_int_equal(sl_csv_open_append(&c, path, &err), 0);
	assert_int_equal(sl_csv_close(c, &err), 0);
	assert_int_equal(sl_csv_load(&d, path, &err), 0);
	assert_int_equal(d.ncols, sl_column_count());
	assert_int_equal(d.nrows, 0);
	sl_csv_free(&d);
}

static void test_append_refuses(void **state)
{
	struct sl_csv *c = NULL;
	struct sl_err err = { "" };
	char *before, *after;

	(void)state;
	put_file("primitive,threads,rep\nmutex,1,1\n");
	assert_int_equal(sl_csv_open_append(&c, path, &err), -EPROTO);
	assert_null(c);
	assert_non_null(strstr(err.msg, "other columns"));
	after = get_file();
	assert_string_equal(after, "primitive,threads,rep\nmutex,1,1\n");
	free(after);

	/* This build's header, then a row cut short. */
	unlink(path);
	assert_int_equal(sl_csv_open_append(&c, path, &err), 0);
	write_row(c, 1);
	assert_int_equal(sl_csv_close(c, &err), 0);
	before = get_file();
	before[strlen(before) - 1] = '\0';
	put_file(before);
	assert_int_equal(sl_csv_open_append(&c, path, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "line end"));
	after = get_file();
	assert_string_equal(after, before);
	free(before);
	free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_keeps_rows),
		cmocka_unit_test(test_append_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
