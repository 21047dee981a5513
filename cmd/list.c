/*
 * synclab list: what this build offers -- primitives (default), the CSV
 * columns with their units, or the counters and whether this machine can
 * count them.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "counters/counters.h"
#include "primitives/prim.h"
#include "reports/report.h"
#include "util/opt.h"

static const char list_usage[] = "synclab list [--all] [primitives|columns|counters]";
static const char list_summary[] =
	"primitives: every registered primitive with its kind, properties and a\n"
	"one-line summary (--all includes deliberately broken ones used to test\n"
	"the checks).  columns: every CSV column with its unit.  counters: the\n"
	"default perf events and whether this machine can count them.";

static void flags_text(const struct sl_prim *p, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s%s",
		 p->flags & SL_PRIM_FIFO ? "fifo " : "",
		 p->flags & SL_PRIM_LIFO ? "lifo " : "",
		 p->flags & SL_PRIM_SLEEPS ? "sleeps " : "",
		 p->flags & SL_PRIM_NO_EXCLUSION ? "no-exclusion " : "");
	if (!buf[0])
		snprintf(buf, n, "-");
	else
		buf[strlen(buf) - 1] = '\0';
}

static void list_prims(bool all)
{
	const int w = sl_prim_name_width();

	printf("%-*s %-9s %-10s %-20s %s\n", w, "PRIMITIVE", "KIND", "FAMILY",
	       "PROPERTIES", "SUMMARY");
	for (size_t i = 0; i < sl_prim_count(); i++) {
		const struct sl_prim *p = sl_prim_at(i);
		char flags[64], why[192];

		if ((p->flags & SL_PRIM_HIDDEN) && !all)
			continue;
		flags_text(p, flags, sizeof(flags));
		printf("%-*s %-9s %-10s %-20s %s", w, p->name, sl_prim_kind_name(p->kind),
		       p->family, flags, p->summary);
		if (p->alias)
			printf(" (alias: %s)", p->alias);
		if (p->supported && !p->supported(why, sizeof(why)))
			printf(" [not supported here: %s]", why);
		putchar('\n');
	}
}

static void list_columns(void)
{
	printf("%-26s %-10s %s\n", "COLUMN", "UNIT", "MEANING");
	for (size_t i = 0; i < sl_column_count(); i++) {
		const struct sl_column *c = sl_column_at(i);

		printf("%-26s %-10s %s\n", c->name, c->unit[0] ? c->unit : "-", c->doc);
	}
}

static int list_counters(void)
{
	struct sl_counter_set set;
	struct sl_err err;

	if (sl_counters_resolve("default", &set, &err) < 0) {
		fprintf(stderr, "synclab list: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	printf("%-20s %s\n", "EVENT", "ON THIS MACHINE");
	for (unsigned i = 0; i < set.n; i++)
		printf("%-20s %s\n", set.ev[i].name,
		       set.ev[i].supported ? "supported" : set.ev[i].why);
	return SL_EXIT_OK;
}

int cmd_list(int argc, char **argv)
{
	bool all = false, help = false;
	const struct sl_opt opts[] = {
		{ "all", 'a', SL_OPT_FLAG, &all, 0, 0, NULL,
		  "include hidden primitives (deliberately broken ones)" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	struct sl_err err;
	int first = sl_opt_parse(opts, argc, argv, &err);
	const char *what;

	if (first < 0)
		return sl_usage_error("list", err.msg);
	if (help) {
		sl_opt_usage(stdout, list_usage, list_summary, opts);
		return SL_EXIT_OK;
	}
	if (argc - first > 1)
		return sl_usage_error("list", "takes at most one of: primitives, columns, counters");
	what = argc - first == 1 ? argv[first] : "primitives";
	if (strcmp(what, "primitives") == 0) {
		list_prims(all);
		return SL_EXIT_OK;
	}
	if (strcmp(what, "columns") == 0) {
		list_columns();
		return SL_EXIT_OK;
	}
	if (strcmp(what, "counters") == 0)
		return list_counters();
	{
		const char *const topics[] = { "primitives", "columns", "counters" };
		const char *s = sl_suggest(what, topics, 3);
		char msg[256];

		snprintf(msg, sizeof(msg),
			 "'%s' is not a list (accepted: primitives, columns, counters)%s%s%s",
			 what, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
		return sl_usage_error("list", msg);
	}
}
