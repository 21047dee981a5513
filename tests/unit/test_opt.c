/* Option tables and value parsing: every accepted form and every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util/opt.h"

static void test_count(void **state)
{
	struct sl_err err;
	uint64_t v = 0;

	(void)state;
	assert_int_equal(sl_parse_count("16", 1, 4096, "--threads", &v, &err), 0);
	assert_int_equal(v, 16);
	assert_int_equal(sl_parse_count("0", 1, 4096, "--threads", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "--threads: '0' is out of range (accepted: 1..4096)");
	assert_int_equal(sl_parse_count("abc", 1, 10, "--repeat", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "--repeat: 'abc' is not a number (accepted: 1..10)");
	assert_int_equal(sl_parse_count("12x", 1, 100, "--repeat", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_count("-3", 0, 100, "--repeat", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_count("", 0, 100, "--repeat", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_count("99999999999999999999999", 0, UINT64_MAX, "x", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "out of range"));
}

static void test_duration(void **state)
{
	struct sl_err err;
	uint64_t v = 0;
	const uint64_t max = 3600ull * 1000000000ull;

	(void)state;
	assert_int_equal(sl_parse_duration("500ms", 1, max, "--duration", &v, &err), 0);
	assert_int_equal(v, 500000000ull);
	assert_int_equal(sl_parse_duration("2s", 1, max, "--duration", &v, &err), 0);
	assert_int_equal(v, 2000000000ull);
	assert_int_equal(sl_parse_duration("1.5s", 1, max, "--duration", &v, &err), 0);
	assert_int_equal(v, 1500000000ull);
	assert_int_equal(sl_parse_duration("250us", 1, max, "--duration", &v, &err), 0);
	assert_int_equal(v, 250000ull);
	assert_int_equal(sl_parse_duration("40ns", 1, max, "--duration", &v, &err), 0);
	assert_int_equal(v, 40ull);

	assert_int_equal(sl_parse_duration("5", 1, max, "--duration", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'5' needs a unit"));
	/* A bare 0 is 0 in any unit, where 0 is allowed at all. */
	v = 7;
	assert_int_equal(sl_parse_duration("0", 0, max, "--warmup", &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sl_parse_duration("0", 1, max, "--duration", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_duration("5min", 1, max, "--duration", &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'5min' is not a duration"));
	assert_int_equal(sl_parse_duration("fast", 1, max, "--duration", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_duration("2h", 1, max, "--duration", &v, &err), -EINVAL);
	assert_int_equal(sl_parse_duration("0ms", 1000000, max, "--duration", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "--duration: '0ms' is out of range (accepted: 1ms..3600s)");
}

static void test_ulist(void **state)
{
	struct sl_err err;
	struct sl_ulist l;

	(void)state;
	assert_int_equal(sl_parse_ulist("16", 1, 4096, "--threads", &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0], 16);
	assert_int_equal(sl_parse_ulist("1,2,4,16", 1, 4096, "--threads", &l, &err), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[3], 16);
	assert_int_equal(sl_parse_ulist("1-8", 1, 4096, "--threads", &l, &err), 0);
	assert_int_equal(l.n, 8);
	assert_int_equal(l.v[7], 8);
	assert_int_equal(sl_parse_ulist("1-3,8,10-11", 1, 4096, "--threads", &l, &err), 0);
	assert_int_equal(l.n, 6);
	assert_int_equal(l.v[3], 8);
	assert_int_equal(l.v[5], 11);

	assert_int_equal(sl_parse_ulist("8-1", 1, 4096, "--threads", &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "runs backwards"));
	assert_int_equal(sl_parse_ulist("1,,2", 1, 4096, "--threads", &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'1,,2' is not a list"));
	assert_int_equal(sl_parse_ulist("1,0", 1, 4096, "--threads", &l, &err), -EINVAL);
	assert_string_equal(err.msg, "--threads: '0' is out of range (accepted: 1..4096)");
	assert_int_equal(sl_parse_ulist("1-5000", 1, 10000, "--threads", &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "more than"));
	/* A value twice, listed or inside a range, is refused. */
	assert_int_equal(sl_parse_ulist("2,2", 1, 4096, "--threads", &l, &err), -EINVAL);
	assert_string_equal(err.msg, "--threads: 2 appears twice in '2,2' (accepted: each value once, e.g. 1,2,4 or 1-8)");
	assert_int_equal(sl_parse_ulist("1-4,3", 1, 4096, "--threads", &l, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "3 appears twice"));
	assert_int_equal(sl_parse_ulist("4,1-3", 1, 4096, "--threads", &l, &err), 0);
	assert_int_equal(l.n, 4);
}

static void test_suggest(void **state)
{
	const char *const names[] = { "mutex", "spin", "pthread-mutex", "null" };

	(void)state;
	assert_string_equal(sl_suggest("mutx", names, 4), "mutex");
	assert_string_equal(sl_suggest("spn", names, 4), "spin");
	assert_string_equal(sl_suggest("pthread-mutx", names, 4), "pthread-mutex");
	assert_null(sl_suggest("zzzzzzzz", names, 4));
}

static void test_parse_table(void **state)
{
	struct sl_ulist threads = { 1, { 1 } };
	uint64_t dur = 1000, reps = 1;
	const char *name = NULL;
	bool quiet = false;
	const struct sl_opt opts[] = {
		{ "threads", 't', SL_OPT_LIST, &threads, 1, 64, "LIST", "threads" },
		{ "duration", 'd', SL_OPT_DURATION, &dur, 1, 1000000000000ull, "T", "window" },
		{ "repeat", 'r', SL_OPT_COUNT, &reps, 1, 100, "R", "reps" },
		{ "csv", 0, SL_OPT_STRING, &name, 0, 0, "FILE", "csv" },
		{ "quiet", 'q', SL_OPT_FLAG, &quiet, 0, 0, NULL, "quiet" },
		SL_OPT_END,
	};
	char *argv1[] = { "bench", "mutex", "--threads", "1,2", "-d", "2s",
			  "--csv=out.csv", "-q", "spin", NULL };
	char *argv2[] = { "bench", "--thread", "4", NULL };
	char *argv3[] = { "bench", "--repeat", NULL };
	char *argv4[] = { "bench", "--repeat", "0", NULL };
	char *argv5[] = { "bench", "-x", NULL };
	struct sl_err err;
	int first;

	(void)state;
	first = sl_opt_parse(opts, 9, argv1, &err);
	assert_true(first > 0);
	assert_int_equal(9 - first, 2); /* mutex, spin permuted to the end */
	assert_string_equal(argv1[first], "mutex");
	assert_string_equal(argv1[first + 1], "spin");
	assert_int_equal(threads.n, 2);
	assert_int_equal(dur, 2000000000ull);
	assert_string_equal(name, "out.csv");
	assert_true(quiet);

	assert_int_equal(sl_opt_parse(opts, 3, argv2, &err), -EINVAL);
	assert_string_equal(err.msg, "unknown option '--thread' (did you mean '--threads'?)");
	assert_int_equal(sl_opt_parse(opts, 2, argv3, &err), -EINVAL);
	assert_string_equal(err.msg, "option '--repeat' needs a value (R)");
	assert_int_equal(sl_opt_parse(opts, 3, argv4, &err), -EINVAL);
	assert_string_equal(err.msg, "--repeat: '0' is out of range (accepted: 1..100)");
	assert_int_equal(sl_opt_parse(opts, 2, argv5, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown option '-x'"));
}

static void test_format_duration(void **state)
{
	char buf[32];

	(void)state;
	sl_format_duration(500000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "500ms");
	sl_format_duration(2000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "2s");
	sl_format_duration(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ns");
}

/* A measured span, to two or three figures in the unit that reads best. */
static void test_format_span(void **state)
{
	char buf[32];

	(void)state;
	sl_format_span(840000ull, buf, sizeof(buf));
	assert_string_equal(buf, "840us");
	sl_format_span(217400000ull, buf, sizeof(buf));
	assert_string_equal(buf, "217ms");
	sl_format_span(20040000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "20.0s");
	sl_format_span(65000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "1m 05s");
	sl_format_span(7380000000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "2h 03m");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_ulist),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_span),
	};

	return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
