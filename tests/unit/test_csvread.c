/*
 * Reading CSV back: quoting (commas, doubled quotes, line ends inside a
 * field), CRLF, blank lines, and the errors that name the line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/csvread.h"

static char path[64];

static void write_text(const char *text)
{
	int fd;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/synclab-csvread-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_quoting_and_line_ends(void **state)
{
	struct sl_csvdata d;
	struct sl_err err;

	(void)state;
	write_text("a,b,c\r\n"
		   "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
		   "\n"
		   "2,\"two\nlines\",\n");
	assert_int_equal(sl_csv_load(&d, path, &err), 0);
	unlink(path);
	assert_int_equal(d.ncols, 3);
	assert_int_equal(d.nrows, 2);
	assert_int_equal(sl_csv_column(&d, "c"), 2);
	assert_int_equal(sl_csv_column(&d, "z"), -1);
	assert_string_equal(sl_csv_cell(&d, 0, 1), "x, y");
	assert_string_equal(sl_csv_cell(&d, 0, 2), "say \"hi\"");
	assert_string_equal(sl_csv_cell(&d, 1, 1), "two\nlines");
	assert_string_equal(sl_csv_cell(&d, 1, 2), "");
	assert_string_equal(sl_csv_cell(&d, 1, -1), "");
	sl_csv_free(&d);
}

static void test_errors_name_the_line(void **state)
{
	struct sl_csvdata d;
	struct sl_err err;

	(void)state;
	write_text("a,b\n1,2\n3\n");
	assert_true(sl_csv_load(&d, path, &err) < 0);
	unlink(path);
	assert_non_null(strstr(err.msg, ":3: 1 fields where the header has 2"));

	write_text("a,b\n1,\"open\n");
	assert_true(sl_csv_load(&d, path, &err) < 0);
	unlink(path);
	assert_non_null(strstr(err.msg, ":2: unterminated quoted field"));

	write_text("");
	assert_true(sl_csv_load(&d, path, &err) < 0);
	unlink(path);
	assert_non_null(strstr(err.msg, "is empty"));

	assert_true(sl_csv_load(&d, "/nonexistent/x.csv", &err) < 0);
	assert_non_null(strstr(err.msg, "cannot open '/nonexistent/x.csv'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting_and_line_ends),
		cmocka_unit_test(test_errors_name_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
