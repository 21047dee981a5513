/*
 * Unit tests for pinning/: cpulists, --pin parsing, topology loading and
 * the compact, scatter, none and list placements on synthetic multi-socket
 * SMT machines, plus loading and binding on the machine running the tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pinning/pin.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct sl_topo *load(const char *synthetic, const char *allowed)
{
	struct sl_err err = { "" };
	struct sl_topo *t = NULL;
	int rc = sl_topo_load(&t, synthetic, allowed, &err);

	if (rc != 0)
		print_error("sl_topo_load(%s, %s): %s\n",
			    synthetic ? synthetic : "NULL",
			    allowed ? allowed : "NULL", err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(t);
	return t;
}

static struct sl_pin_spec policy(enum sl_pin_policy p)
{
	struct sl_pin_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.policy = p;
	return spec;
}

/* Place n threads and return whether the placement is oversubscribed. */
static bool place(const struct sl_topo *t, enum sl_pin_policy p, unsigned n,
		  int *pus)
{
	struct sl_pin_spec spec = policy(p);
	struct sl_err err = { "" };
	bool over = !n; /* must be overwritten */
	int rc = sl_pin_place(t, &spec, n, pus, &over, &err);

	if (rc != 0)
		print_error("sl_pin_place: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return over;
}

static void assert_pus(const int *got, const int *want, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (got[i] != want[i])
			print_error("thread %u: PU %d, expected %d\n", i, got[i],
				    want[i]);
		assert_int_equal(got[i], want[i]);
	}
}

static struct sl_pu_info info_of(const struct sl_topo *t, int pu)
{
	struct sl_pu_info info;

	assert_int_equal(sl_topo_pu_info(t, pu, &info), 0);
	assert_int_equal(info.os_index, pu);
	return info;
}

/* Every usable PU exactly once when threads == usable PUs. */
static void assert_permutation(const int *pus, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(pus[i] >= 0);
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(pus[i], pus[j]);
	}
}

/* --- cpulists ------------------------------------------------------------ */

static void test_cpulist_format_ranges(void **state)
{
	const int a[] = { 0, 1, 2, 3, 8 };
	const int b[] = { 5, 6 };
	const int c[] = { 7 };
	char buf[64];

	(void)state;
	sl_cpulist_format(a, N_ELEMS(a), buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8");
	sl_cpulist_format(b, N_ELEMS(b), buf, sizeof(buf));
	assert_string_equal(buf, "5-6");
	sl_cpulist_format(c, N_ELEMS(c), buf, sizeof(buf));
	assert_string_equal(buf, "7");
	sl_cpulist_format(NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_cpulist_format_unsorted_duplicates(void **state)
{
	const int a[] = { 8, 3, 1, 2, 2, 0, 3, 8 };
	const int b[] = { 8, 0, 5 };
	const int c[] = { -1, 4, -1, 10, 9, 11 };
	char buf[64];

	(void)state;
	sl_cpulist_format(a, N_ELEMS(a), buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8");
	sl_cpulist_format(b, N_ELEMS(b), buf, sizeof(buf));
	assert_string_equal(buf, "0,5,8");
	/* -1 is an unbound thread, not a PU. */
	sl_cpulist_format(c, N_ELEMS(c), buf, sizeof(buf));
	assert_string_equal(buf, "4,9-11");
}

static void test_cpulist_format_truncates(void **state)
{
	int even[21];
	char buf[32];

	(void)state;
	for (int i = 0; i < 21; i++)
		even[i] = 2 * i;
	/* A cut list ends in "..." and nothing past len is written. */
	memset(buf, '#', sizeof(buf));
	sl_cpulist_format(even, N_ELEMS(even), buf, 16);
	assert_string_equal(buf, "0,2,4,6,8,10...");
	for (size_t i = 16; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');
	sl_cpulist_format(even, N_ELEMS(even), buf, 0);
	assert_int_equal(buf[0], '0');
	/* Too short for the marker: only whole entries. */
	sl_cpulist_format(even, N_ELEMS(even), buf, 3);
	assert_string_equal(buf, "0");
}

static void test_cpulist_parse(void **state)
{
	int pus[16];
	unsigned n = 99;
	struct sl_err err = { "" };

	(void)state;
	assert_int_equal(sl_cpulist_parse("0,2,4-7", "--x", pus, 16, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_pus(pus, (const int[]){ 0, 2, 4, 5, 6, 7 }, 6);
	/* Order is kept: the user decides who goes where. */
	assert_int_equal(sl_cpulist_parse("7,1,3-4", "--x", pus, 16, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_pus(pus, (const int[]){ 7, 1, 3, 4 }, 4);

	assert_int_equal(sl_cpulist_parse("0-9", "--x", pus, 4, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "--x: '0-9' names more than 4 PUs");
	assert_int_equal(sl_cpulist_parse("1,,2", "--x", pus, 16, &n, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--x: '1,,2' is not a PU list (accepted: PUs and ranges joined by commas, e.g. 0,2,4-7)");
	assert_int_equal(sl_cpulist_parse("70000", "--x", pus, 16, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "--x: PU '70000' is out of range (accepted: 0..65535)");
	assert_int_equal(sl_cpulist_parse("1-", "--x", pus, 16, &n, &err), -EINVAL);
	assert_string_equal(err.msg, "--x: '1-' is not a PU range (accepted: LOW-HIGH, e.g. 4-7)");

	const char *bad[] = { "", "1,", ",1", "a", "-1", "1--2", "1-2-3", "2 ", " 2",
			      "0x1", "99999999999999999999" };
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		err.msg[0] = '\0';
		if (sl_cpulist_parse(bad[i], "--x", pus, 16, &n, &err) != -EINVAL)
			print_error("'%s' was accepted\n", bad[i]);
		assert_int_equal(sl_cpulist_parse(bad[i], "--x", pus, 16, &n, &err),
				 -EINVAL);
		assert_true(strncmp(err.msg, "--x: ", 5) == 0);
	}
}

/* --- --pin parsing ------------------------------------------------------- */

static void test_pin_parse_policies(void **state)
{
	struct sl_pin_spec s;
	struct sl_err err = { "" };

	(void)state;
	assert_int_equal(sl_pin_parse("compact", &s, &err), 0);
	assert_int_equal(s.policy, SL_PIN_COMPACT);
	assert_string_equal(s.text, "compact");
	assert_int_equal(sl_pin_parse("scatter", &s, &err), 0);
	assert_int_equal(s.policy, SL_PIN_SCATTER);
	assert_int_equal(sl_pin_parse("none", &s, &err), 0);
	assert_int_equal(s.policy, SL_PIN_NONE);
	assert_int_equal(sl_pin_parse("0,2,4-7", &s, &err), 0);
	assert_int_equal(s.policy, SL_PIN_LIST);
	assert_int_equal(s.n, 6);
	assert_pus(s.pus, (const int[]){ 0, 2, 4, 5, 6, 7 }, 6);
	assert_string_equal(s.text, "0,2,4-7");
}

static void test_pin_parse_errors(void **state)
{
	struct sl_pin_spec s;
	struct sl_err err = { "" };

	(void)state;
	s.policy = SL_PIN_SCATTER;
	assert_int_equal(sl_pin_parse("scater", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: 'scater' is not a placement (accepted: compact, scatter, none or a PU list like 0,2,4-7) (did you mean 'scatter'?)");
	/* A failed parse leaves the caller's spec alone. */
	assert_int_equal(s.policy, SL_PIN_SCATTER);
	assert_int_equal(sl_pin_parse("Compact", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "(did you mean 'compact'?)"));
	assert_int_equal(sl_pin_parse("bogus", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: 'bogus' is not a placement (accepted: compact, scatter, none or a PU list like 0,2,4-7)");
	assert_int_equal(sl_pin_parse("", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: '' is not a placement (accepted: compact, scatter, none or a PU list like 0,2,4-7)");
	assert_int_equal(sl_pin_parse("0,x", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: 'x' is not a PU number (accepted: 0..65535, in a list like 0,2,4-7)");
	assert_int_equal(sl_pin_parse("0-3,2", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: PU '2' is listed twice in '0-3,2' (each PU may appear once)");
	assert_int_equal(sl_pin_parse("5-3", &s, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--pin: range '5-3' runs backwards (accepted: LOW-HIGH, e.g. 4-7)");
	assert_int_equal(sl_pin_parse("0-2000", &s, &err), -EINVAL);
	assert_string_equal(err.msg, "--pin: '0-2000' names more than 1024 PUs");
	assert_int_equal(sl_pin_parse(NULL, &s, &err), -EINVAL);
	assert_int_equal(s.policy, SL_PIN_SCATTER);
}

static void test_pin_parse_long_text(void **state)
{
	char list[512];
	size_t used = 0;
	struct sl_pin_spec s;
	struct sl_err err = { "" };

	(void)state;
	for (int i = 0; i < 100; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d",
					 i ? "," : "", 2 * i);
	assert_true(used > sizeof(s.text));
	assert_int_equal(sl_pin_parse(list, &s, &err), 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(s.pus[99], 198);
	assert_int_equal(strlen(s.text), sizeof(s.text) - 1);
	assert_memory_equal(s.text, list, sizeof(s.text) - 1);
}

/* --- loading and summaries ----------------------------------------------- */

static void test_topo_bad_synthetic(void **state)
{
	struct sl_topo *t = (struct sl_topo *)&t;
	struct sl_err err = { "" };

	(void)state;
	assert_int_equal(sl_topo_load(&t, "pack:x", NULL, &err), -EINVAL);
	assert_null(t);
	assert_string_equal(err.msg,
			    "--topology: 'pack:x' is not an hwloc synthetic description (e.g. \"pack:2 numa:2 core:8 pu:2\")");
	assert_int_equal(sl_topo_load(&t, "", NULL, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--topology: '' is not an hwloc synthetic description (e.g. \"pack:2 numa:2 core:8 pu:2\")");
	assert_int_equal(sl_topo_load(&t, "pack:1000 core:1000 pu:1000", NULL, &err),
			 -EINVAL);
	assert_string_equal(err.msg,
			    "--topology: 'pack:1000 core:1000 pu:1000' describes more PUs than synclab handles (accepted: up to 16384)");
	assert_null(t);
}

static void test_topo_summary_counts(void **state)
{
	struct sl_topo_summary s;
	struct sl_topo *t;

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", NULL);
	sl_topo_summarize(t, &s);
	assert_true(s.synthetic);
	assert_int_equal(s.packages, 2);
	assert_int_equal(s.numa_nodes, 4);
	assert_int_equal(s.l3_caches, 0);
	assert_int_equal(s.cores, 32);
	assert_int_equal(s.pus, 64);
	assert_int_equal(s.usable_pus, 64);
	assert_int_equal(s.smt_per_core, 2);
	assert_int_equal(s.l3_bytes, 0);
	assert_string_equal(s.usable, "0-63");
	sl_topo_free(t);

	t = load("pack:4 core:16 pu:2", NULL);
	sl_topo_summarize(t, &s);
	assert_int_equal(s.packages, 4);
	assert_int_equal(s.numa_nodes, 1);
	assert_int_equal(s.cores, 64);
	assert_int_equal(s.pus, 128);
	assert_int_equal(s.usable_pus, 128);
	assert_int_equal(s.smt_per_core, 2);
	assert_string_equal(s.usable, "0-127");
	sl_topo_free(t);

	t = load("pack:1 core:4 pu:1", NULL);
	sl_topo_summarize(t, &s);
	assert_int_equal(s.packages, 1);
	assert_int_equal(s.numa_nodes, 1);
	assert_int_equal(s.cores, 4);
	assert_int_equal(s.pus, 4);
	assert_int_equal(s.smt_per_core, 1);
	assert_string_equal(s.usable, "0-3");
	sl_topo_free(t);

	t = load("pack:2 l3:2 core:4 pu:2", NULL);
	sl_topo_summarize(t, &s);
	assert_int_equal(s.packages, 2);
	assert_int_equal(s.l3_caches, 4);
	assert_int_equal(s.cores, 16);
	assert_int_equal(s.pus, 32);
	assert_true(s.l3_bytes > 0);
	assert_int_equal(s.l2_bytes, 0);
	sl_topo_free(t);
}

/* --- compact ------------------------------------------------------------- */

static void test_compact_fills_cores_first(void **state)
{
	int pus[128], want[128];
	struct sl_pu_info a, b;
	struct sl_topo *t;

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", NULL);
	assert_false(place(t, SL_PIN_COMPACT, 64, pus));
	for (int i = 0; i < 64; i++)
		want[i] = i;
	assert_pus(pus, want, 64);
	a = info_of(t, pus[0]);
	b = info_of(t, pus[1]);
	assert_int_equal(a.core, b.core);
	assert_int_equal(a.smt, 0);
	assert_int_equal(b.smt, 1);
	/* The first package is full before the second is touched. */
	for (int i = 0; i < 32; i++)
		assert_int_equal(info_of(t, pus[i]).package, 0);
	sl_topo_free(t);

	t = load("pack:4 core:16 pu:2", NULL);
	assert_false(place(t, SL_PIN_COMPACT, 128, pus));
	for (int i = 0; i < 128; i++)
		want[i] = i;
	assert_pus(pus, want, 128);
	sl_topo_free(t);
}

/* --- scatter ------------------------------------------------------------- */

static void test_scatter_packages_numa(void **state)
{
	int pus[64], want[64];
	struct sl_topo *t;

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", NULL);
	assert_false(place(t, SL_PIN_SCATTER, 64, pus));
	/* Package varies fastest, then NUMA node, then core; the second
	 * PU of each core only after every core has its first. */
	for (int i = 0; i < 64; i++) {
		int k = i % 32, pkg = k % 2, numa = (k / 2) % 2, core = k / 4;

		want[i] = pkg * 32 + numa * 16 + core * 2 + i / 32;
	}
	assert_pus(pus, want, 64);
	assert_permutation(pus, 64);

	assert_int_not_equal(info_of(t, pus[0]).package, info_of(t, pus[1]).package);
	/* Threads 0..3 cover every (package, NUMA node) pair. */
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			assert_int_not_equal(info_of(t, pus[i]).numa,
					     info_of(t, pus[j]).numa);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(info_of(t, pus[i]).smt, 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(info_of(t, pus[i]).core,
					     info_of(t, pus[j]).core);
	}
	sl_topo_free(t);
}

static void test_scatter_four_packages(void **state)
{
	int pus[128], want[128];
	struct sl_topo *t;

	(void)state;
	t = load("pack:4 core:16 pu:2", NULL);
	assert_false(place(t, SL_PIN_SCATTER, 128, pus));
	for (int i = 0; i < 128; i++) {
		int k = i % 64;

		want[i] = (k % 4) * 32 + (k / 4) * 2 + i / 64;
	}
	assert_pus(pus, want, 128);
	for (int i = 0; i < 4; i++)
		assert_int_equal(info_of(t, pus[i]).package, i);
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < i; j++)
			assert_int_not_equal(info_of(t, pus[i]).core,
					     info_of(t, pus[j]).core);
	sl_topo_free(t);
}

static void test_scatter_small_and_l3(void **state)
{
	int pus[32], want[32];
	struct sl_topo *t;

	(void)state;
	t = load("pack:1 core:4 pu:1", NULL);
	assert_false(place(t, SL_PIN_SCATTER, 4, pus));
	assert_pus(pus, (const int[]){ 0, 1, 2, 3 }, 4);
	sl_topo_free(t);

	/* L3 caches within a package are spread like NUMA nodes. */
	t = load("pack:2 l3:2 core:4 pu:2", NULL);
	assert_false(place(t, SL_PIN_SCATTER, 32, pus));
	for (int i = 0; i < 32; i++) {
		int k = i % 16;

		want[i] = (k % 2) * 16 + ((k / 2) % 2) * 8 + (k / 4) * 2 + i / 16;
	}
	assert_pus(pus, want, 32);
	assert_int_not_equal(info_of(t, pus[0]).l3, info_of(t, pus[2]).l3);
	sl_topo_free(t);

	/* NUMA nodes above packages: spread over NUMA nodes first. */
	t = load("numa:2 pack:2 core:2 pu:1", NULL);
	assert_false(place(t, SL_PIN_SCATTER, 8, pus));
	assert_pus(pus, (const int[]){ 0, 4, 2, 6, 1, 5, 3, 7 }, 8);
	sl_topo_free(t);
}

/* --- wrap-around and oversubscription ------------------------------------ */

static void test_wrap_oversubscribed(void **state)
{
	int pus[16];
	struct sl_topo *t;

	(void)state;
	t = load("pack:1 core:4 pu:1", NULL);
	assert_false(place(t, SL_PIN_COMPACT, 4, pus));
	assert_true(place(t, SL_PIN_COMPACT, 6, pus));
	assert_pus(pus, (const int[]){ 0, 1, 2, 3, 0, 1 }, 6);
	assert_false(place(t, SL_PIN_COMPACT, 0, pus));
	sl_topo_free(t);

	t = load("pack:2 core:2 pu:1", NULL);
	assert_true(place(t, SL_PIN_SCATTER, 9, pus));
	assert_pus(pus, (const int[]){ 0, 2, 1, 3, 0, 2, 1, 3, 0 }, 9);
	sl_topo_free(t);
}

/* --- the allowed set ------------------------------------------------------ */

static void test_allowed_single_pu(void **state)
{
	struct sl_topo_summary s;
	struct sl_topo *t;
	int pus[2];

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", "1");
	sl_topo_summarize(t, &s);
	assert_int_equal(s.pus, 64);
	assert_int_equal(s.usable_pus, 1);
	assert_string_equal(s.usable, "1");
	assert_true(place(t, SL_PIN_COMPACT, 2, pus));
	assert_pus(pus, (const int[]){ 1, 1 }, 2);
	assert_true(place(t, SL_PIN_SCATTER, 2, pus));
	assert_pus(pus, (const int[]){ 1, 1 }, 2);
	assert_false(place(t, SL_PIN_SCATTER, 1, pus));
	sl_topo_free(t);
}

static void test_allowed_mask(void **state)
{
	struct sl_topo_summary s;
	struct sl_topo *t;
	int pus[8];

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", "0-3,8");
	sl_topo_summarize(t, &s);
	assert_int_equal(s.usable_pus, 5);
	assert_string_equal(s.usable, "0-3,8");
	assert_false(place(t, SL_PIN_COMPACT, 5, pus));
	assert_pus(pus, (const int[]){ 0, 1, 2, 3, 8 }, 5);
	/* Cores 0, 1 and 4 first, then the siblings in cores 0 and 1. */
	assert_true(place(t, SL_PIN_SCATTER, 6, pus));
	assert_pus(pus, (const int[]){ 0, 2, 8, 1, 3, 0 }, 6);
	sl_topo_free(t);
}

static void test_allowed_uneven(void **state)
{
	struct sl_topo *t;
	int pus[10];

	(void)state;
	/* The second package keeps only one core: it still gets the second
	 * thread, and no SMT sibling is used while a core is idle. */
	t = load("pack:2 core:4 pu:2", "0-9");
	assert_false(place(t, SL_PIN_SCATTER, 10, pus));
	assert_pus(pus, (const int[]){ 0, 8, 2, 4, 6, 9, 1, 3, 5, 7 }, 10);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			assert_int_not_equal(info_of(t, pus[i]).core,
					     info_of(t, pus[j]).core);
	sl_topo_free(t);

	/* Only the second PU of core 0 and 1 is usable: it counts as the
	 * core's first thread. */
	t = load("pack:2 core:2 pu:2", "1,3,4");
	assert_false(place(t, SL_PIN_SCATTER, 3, pus));
	assert_pus(pus, (const int[]){ 1, 4, 3 }, 3);
	assert_false(place(t, SL_PIN_COMPACT, 3, pus));
	assert_pus(pus, (const int[]){ 1, 3, 4 }, 3);
	sl_topo_free(t);
}

static void test_allowed_errors(void **state)
{
	struct sl_topo *t = NULL;
	struct sl_err err = { "" };

	(void)state;
	assert_int_equal(sl_topo_load(&t, "pack:1 core:4 pu:1", "7", &err), -EINVAL);
	assert_null(t);
	assert_string_equal(err.msg, "--allowed: PU '7' does not exist here (PUs: 0-3)");
	assert_int_equal(sl_topo_load(&t, "pack:1 core:4 pu:1", "x", &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--allowed: 'x' is not a PU number (accepted: 0..65535, in a list like 0,2,4-7)");
	assert_int_equal(sl_topo_load(&t, "pack:1 core:4 pu:1", "", &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--allowed: '' is not a PU list (accepted: PUs and ranges joined by commas, e.g. 0,2,4-7)");
	assert_null(t);
}

/* --- list and none -------------------------------------------------------- */

static void test_list_place(void **state)
{
	struct sl_pin_spec spec;
	struct sl_err err = { "" };
	struct sl_topo *t;
	int pus[8];
	bool over = false;

	(void)state;
	t = load("pack:1 core:4 pu:1", NULL);
	assert_int_equal(sl_pin_parse("3,1", &spec, &err), 0);
	assert_int_equal(sl_pin_place(t, &spec, 5, pus, &over, &err), 0);
	assert_true(over);
	assert_pus(pus, (const int[]){ 3, 1, 3, 1, 3 }, 5);
	assert_int_equal(sl_pin_place(t, &spec, 2, pus, &over, &err), 0);
	assert_false(over);

	assert_int_equal(sl_pin_parse("1,7", &spec, &err), 0);
	assert_int_equal(sl_pin_place(t, &spec, 2, pus, &over, &err), -EINVAL);
	assert_string_equal(err.msg, "--pin: PU '7' is not usable here (usable: 0-3)");

	/* Built by hand with a repeat: two threads, one distinct PU. */
	spec = policy(SL_PIN_LIST);
	spec.n = 2;
	spec.pus[0] = spec.pus[1] = 2;
	assert_int_equal(sl_pin_place(t, &spec, 2, pus, &over, &err), 0);
	assert_true(over);
	assert_pus(pus, (const int[]){ 2, 2 }, 2);
	sl_topo_free(t);

	t = load("pack:1 core:4 pu:1", "0-1");
	assert_int_equal(sl_pin_parse("2", &spec, &err), 0);
	assert_int_equal(sl_pin_place(t, &spec, 1, pus, &over, &err), -EINVAL);
	assert_string_equal(err.msg, "--pin: PU '2' is not usable here (usable: 0-1)");
	sl_topo_free(t);
}

static void test_none_place(void **state)
{
	struct sl_topo *t;
	int pus[5] = { 7, 7, 7, 7, 7 };

	(void)state;
	t = load("pack:1 core:4 pu:1", NULL);
	assert_false(place(t, SL_PIN_NONE, 3, pus));
	assert_pus(pus, (const int[]){ -1, -1, -1, 7, 7 }, 5);
	assert_true(place(t, SL_PIN_NONE, 5, pus));
	assert_pus(pus, (const int[]){ -1, -1, -1, -1, -1 }, 5);
	sl_topo_free(t);
}

/* --- pu_info and walk ------------------------------------------------------ */

static void test_pu_info(void **state)
{
	struct sl_pu_info i;
	struct sl_topo *t;

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", NULL);
	i = info_of(t, 45);
	assert_int_equal(i.package, 1);
	assert_int_equal(i.numa, 2);
	assert_int_equal(i.l3, -1);
	assert_int_equal(i.core, 22);
	assert_int_equal(i.smt, 1);
	i = info_of(t, 0);
	assert_int_equal(i.package, 0);
	assert_int_equal(i.numa, 0);
	assert_int_equal(i.core, 0);
	assert_int_equal(i.smt, 0);
	assert_int_equal(sl_topo_pu_info(t, 64, &i), -EINVAL);
	assert_int_equal(sl_topo_pu_info(t, -1, &i), -EINVAL);
	sl_topo_free(t);

	t = load("pack:2 l3:2 core:4 pu:2", NULL);
	i = info_of(t, 13);
	assert_int_equal(i.package, 0);
	assert_int_equal(i.numa, 0);
	assert_int_equal(i.l3, 1);
	assert_int_equal(i.core, 6);
	assert_int_equal(i.smt, 1);
	sl_topo_free(t);
}

/* Hand-off locality on a two-package machine with two NUMA nodes per
 * package and two L3s per node: every distance class is reachable. */
static void test_pu_distance(void **state)
{
	struct sl_pu_info a, b, none = { .os_index = -1 };
	struct sl_topo *t;

	(void)state;
	/* 2 packages x 2 nodes x 2 L3 x 2 cores x 2 PUs = 32 PUs: PU 2k and
	 * 2k+1 share a core, 4 PUs an L3, 8 a node, 16 a package. */
	t = load("pack:2 numa:2 l3:2 core:2 pu:2", NULL);
	a = info_of(t, 0);
	b = info_of(t, 0);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_SAME);
	b = info_of(t, 1);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_SMT);
	b = info_of(t, 3);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_CACHE);
	b = info_of(t, 5);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_NODE);
	b = info_of(t, 9);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_REMOTE);
	b = info_of(t, 31);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_REMOTE);
	assert_int_equal(sl_pu_distance(&b, &a), SL_PU_REMOTE);
	assert_int_equal(sl_pu_distance(&a, &none), SL_PU_UNKNOWN);
	sl_topo_free(t);

	/* No NUMA level and no L3: packages still tell near from far. */
	t = load("pack:2 core:2 pu:2", NULL);
	a = info_of(t, 0);
	b = info_of(t, 2);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_NODE);
	b = info_of(t, 4);
	assert_int_equal(sl_pu_distance(&a, &b), SL_PU_REMOTE);
	sl_topo_free(t);
	assert_string_equal(sl_pu_distance_name(SL_PU_CACHE), "shared-cache");
}

struct walk_count {
	unsigned nodes, machine, package, numa, core, pu, usable_pu, l3;
	unsigned max_depth, pu_depth, stop_after;
	unsigned long long numa_bytes;
	bool numa_before_core;
};

static int count_node(const struct sl_topo_node *n, void *arg)
{
	struct walk_count *c = arg;

	c->nodes++;
	if (n->depth > c->max_depth)
		c->max_depth = n->depth;
	if (strcmp(n->type, "Machine") == 0) {
		assert_int_equal(n->depth, 0);
		c->machine++;
	} else if (strcmp(n->type, "Package") == 0) {
		c->package++;
	} else if (strcmp(n->type, "NUMANode") == 0) {
		if (c->core == 0)
			c->numa_before_core = true;
		c->numa++;
		c->numa_bytes += n->size;
	} else if (strcmp(n->type, "Core") == 0) {
		c->core++;
	} else if (strcmp(n->type, "L3") == 0) {
		c->l3++;
		assert_true(n->size > 0);
	} else if (strcmp(n->type, "PU") == 0) {
		assert_int_equal(n->logical_index, c->pu);
		assert_int_equal(n->os_index, (int)n->logical_index);
		c->pu++;
		c->pu_depth = n->depth;
		c->usable_pu += n->usable;
	}
	return c->stop_after && c->nodes == c->stop_after;
}

static void test_walk(void **state)
{
	struct walk_count c;
	struct sl_topo *t;

	(void)state;
	t = load("pack:2 numa:2 core:8 pu:2", "0-3,8");
	memset(&c, 0, sizeof(c));
	sl_topo_walk(t, count_node, &c);
	assert_int_equal(c.machine, 1);
	assert_int_equal(c.package, 2);
	assert_int_equal(c.numa, 4);
	assert_int_equal(c.core, 32);
	assert_int_equal(c.pu, 64);
	assert_int_equal(c.usable_pu, 5);
	assert_true(c.numa_bytes > 0);
	assert_true(c.numa_before_core);
	/* Machine, Package, Group, Core, PU. */
	assert_int_equal(c.pu_depth, 4);
	assert_int_equal(c.max_depth, 4);

	memset(&c, 0, sizeof(c));
	c.stop_after = 5;
	sl_topo_walk(t, count_node, &c);
	assert_int_equal(c.nodes, 5);
	sl_topo_free(t);

	t = load("pack:2 l3:2 core:4 pu:2", NULL);
	memset(&c, 0, sizeof(c));
	sl_topo_walk(t, count_node, &c);
	assert_int_equal(c.l3, 4);
	assert_int_equal(c.pu, 32);
	assert_int_equal(c.usable_pu, 32);
	sl_topo_free(t);
}

/* --- binding -------------------------------------------------------------- */

static void test_bind_synthetic(void **state)
{
	struct sl_err err = { "" };
	struct sl_topo *t;

	(void)state;
	t = load("pack:1 core:4 pu:1", "0-2");
	assert_int_equal(sl_pin_bind_self(t, 1, &err), -ENOTSUP);
	assert_string_equal(err.msg,
			    "cannot bind to PU '1': the topology is synthetic ('pack:1 core:4 pu:1'), not this machine");
	assert_int_equal(sl_pin_bind_self(t, 3, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "cannot bind to PU '3': it is not usable here (usable: 0-2)");
	assert_int_equal(sl_pin_bind_self(t, -1, &err), -EINVAL);
	sl_topo_free(t);
}

static void test_real_machine(void **state)
{
	struct sl_topo_summary s;
	struct sl_topo *t;
	int *pus;
	char list[256];

	(void)state;
	t = load(NULL, NULL);
	sl_topo_summarize(t, &s);
	assert_false(s.synthetic);
	assert_true(s.usable_pus >= 1);
	assert_true(s.pus >= s.usable_pus);
	assert_true(s.cores >= 1);
	assert_true(s.smt_per_core >= 1);
	pus = calloc(s.usable_pus, sizeof(*pus));
	assert_non_null(pus);
	assert_false(place(t, SL_PIN_COMPACT, s.usable_pus, pus));
	assert_permutation(pus, s.usable_pus);
	sl_cpulist_format(pus, s.usable_pus, list, sizeof(list));
	assert_string_equal(list, s.usable);
	for (unsigned i = 0; i < s.usable_pus; i++)
		info_of(t, pus[i]);
	assert_false(place(t, SL_PIN_SCATTER, s.usable_pus, pus));
	assert_permutation(pus, s.usable_pus);
	free(pus);
	sl_topo_free(t);
}

/* The inherited affinity bounds the usable set; run before any test binds
 * a thread, since the process's affinity is the union over its threads. */
static void test_real_affinity(void **state)
{
	cpu_set_t saved, one;
	struct sl_topo_summary s;
	struct sl_err err = { "" };
	struct sl_topo *t;
	char allowed[16], want[128];
	int pus[2];

	(void)state;
	t = load(NULL, NULL);
	sl_topo_summarize(t, &s);
	if (s.usable_pus < 2) {
		sl_topo_free(t);
		skip();
	}
	assert_false(place(t, SL_PIN_COMPACT, 2, pus));
	sl_topo_free(t);

	assert_int_equal(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&one);
	CPU_SET(pus[0], &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);

	t = NULL;
	int rc = sl_topo_load(&t, NULL, NULL, &err);
	if (rc == 0)
		sl_topo_summarize(t, &s);
	sl_topo_free(t);
	t = NULL;
	snprintf(allowed, sizeof(allowed), "%d", pus[1]);
	int rc2 = sl_topo_load(&t, NULL, allowed, &err);

	assert_int_equal(sched_setaffinity(0, sizeof(saved), &saved), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(s.usable_pus, 1);
	snprintf(want, sizeof(want), "%d", pus[0]);
	assert_string_equal(s.usable, want);
	assert_int_equal(rc2, -EINVAL);
	assert_null(t);
	snprintf(want, sizeof(want), "--allowed: '%d' leaves no usable PU (usable: %d)",
		 pus[1], pus[0]);
	assert_string_equal(err.msg, want);
}

struct bind_job {
	const struct sl_topo *t;
	int pu;
	int rc;
	int cpus_allowed; /* CPUs in the thread's mask after binding */
	bool pu_in_mask;
	int running_on;
	struct sl_err err;
};

static void *bind_thread(void *arg)
{
	struct bind_job *j = arg;
	cpu_set_t set;

	j->rc = sl_pin_bind_self(j->t, j->pu, &j->err);
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		j->cpus_allowed = CPU_COUNT(&set);
		j->pu_in_mask = CPU_ISSET(j->pu, &set);
	}
	j->running_on = sched_getcpu();
	return NULL;
}

static void test_real_bind(void **state)
{
	struct sl_topo_summary s;
	struct sl_err err = { "" };
	struct bind_job j;
	struct sl_topo *t;
	pthread_t th;
	int *pus;

	(void)state;
	t = load(NULL, NULL);
	sl_topo_summarize(t, &s);
	pus = calloc(s.usable_pus, sizeof(*pus));
	assert_non_null(pus);
	place(t, SL_PIN_COMPACT, s.usable_pus, pus);

	/* In a thread of its own, so the test runner's affinity is kept. */
	memset(&j, 0, sizeof(j));
	j.t = t;
	j.pu = pus[s.usable_pus - 1];
	j.rc = 1;
	assert_int_equal(pthread_create(&th, NULL, bind_thread, &j), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (j.rc != 0)
		print_error("bind to %d: %s\n", j.pu, j.err.msg);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.cpus_allowed, 1);
	assert_true(j.pu_in_mask);
	assert_int_equal(j.running_on, j.pu);

	assert_int_equal(sl_pin_bind_self(t, 65535, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cannot bind to PU '65535': it is not usable here"));
	free(pus);
	sl_topo_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist_format_ranges),
		cmocka_unit_test(test_cpulist_format_unsorted_duplicates),
		cmocka_unit_test(test_cpulist_format_truncates),
		cmocka_unit_test(test_cpulist_parse),
		cmocka_unit_test(test_pin_parse_policies),
		cmocka_unit_test(test_pin_parse_errors),
		cmocka_unit_test(test_pin_parse_long_text),
		cmocka_unit_test(test_topo_bad_synthetic),
		cmocka_unit_test(test_topo_summary_counts),
		cmocka_unit_test(test_compact_fills_cores_first),
		cmocka_unit_test(test_scatter_packages_numa),
		cmocka_unit_test(test_scatter_four_packages),
		cmocka_unit_test(test_scatter_small_and_l3),
		cmocka_unit_test(test_wrap_oversubscribed),
		cmocka_unit_test(test_allowed_single_pu),
		cmocka_unit_test(test_allowed_mask),
		cmocka_unit_test(test_allowed_uneven),
		cmocka_unit_test(test_allowed_errors),
		cmocka_unit_test(test_list_place),
		cmocka_unit_test(test_none_place),
		cmocka_unit_test(test_pu_info),
		cmocka_unit_test(test_pu_distance),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_bind_synthetic),
		cmocka_unit_test(test_real_machine),
		cmocka_unit_test(test_real_affinity),
		cmocka_unit_test(test_real_bind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
