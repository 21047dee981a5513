/*
 * synclab plot: charts from a results CSV written by bench or sweep.  The
 * input, format and output directory are checked before anything is
 * written; a bad one is one line on stderr and exit 2.  When gnuplot is
 * missing the scripts and data are still written and the exit status is 0:
 * they are the product too, and a note says how to render them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "reports/csvread.h"
#include "reports/report.h"
#include "util/fs.h"
#include "util/opt.h"

static const char plot_usage[] =
	"synclab plot [options] RESULTS.csv";
static const char plot_summary[] =
	"Draw charts against threads from a results CSV: throughput (ops/s, median\n"
	"over repetitions with min..max bars), latency percentiles (ns, with\n"
	"--latency data), counters per op (cache misses, context switches, where\n"
	"counted), fairness, and the events the primitives counted while waiting\n"
	"(sleeps, wakes, yields per second, log scale).  Each chart is NAME.dat,\n"
	"NAME.gp and the image, in the output directory; without gnuplot the\n"
	"scripts are still written.\n"
	"Only rows with status ok are drawn.";

/* The output directory exists and is writable, or can be created. */
/* The directory a file is in: "results" for results/r.csv, "." for r.csv. */
static void dir_of(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!strcmp(path, "-") || !slash)
		snprintf(out, n, ".");
	else if (slash == path)
		snprintf(out, n, "/");
	else
		snprintf(out, n, "%.*s", (int)(slash - path), path);
}

int cmd_plot(int argc, char **argv)
{
	struct {
		const char *out, *format, *title;
		bool log, help;
	} c = { .format = "png" };
	const struct sl_opt opts[] = {
		{ "output", 'o', SL_OPT_STRING, &c.out, 0, 0, "DIR",
		  "directory for the charts (created if missing; default: the CSV's directory)" },
		{ "format", 'f', SL_OPT_STRING, &c.format, 0, 0, "FORMAT",
		  "image format: png, svg or pdf" },
		{ "log", 0, SL_OPT_FLAG, &c.log, 0, 0, NULL,
		  "logarithmic y axis for throughput and counters" },
		{ "title", 0, SL_OPT_STRING, &c.title, 0, 0, "TEXT",
		  "put TEXT before every chart's title" },
		{ "help", 'h', SL_OPT_FLAG, &c.help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	static struct sl_plot_out out;
	struct sl_plot_opts po;
	struct sl_csvdata d;
	struct sl_err err = { "" };
	char dir[PATH_MAX];
	const char *csv;
	int first, rc;

	first = sl_opt_parse(opts, argc, argv, &err);
	if (first < 0)
		return sl_usage_error("plot", err.msg);
	if (c.help) {
		sl_opt_usage(stdout, plot_usage, plot_summary, opts);
		return SL_EXIT_OK;
	}
	if (argc - first != 1)
		return sl_usage_error("plot", argc == first
				      ? "which results? (e.g. 'synclab plot results/results.csv')"
				      : "takes one results CSV");
	csv = argv[first];
	if (strcmp(c.format, "png") && strcmp(c.format, "svg") && strcmp(c.format, "pdf")) {
		snprintf(err.msg, sizeof(err.msg),
			 "--format: unknown format '%s' (accepted: png, svg, pdf)", c.format);
		return sl_usage_error("plot", err.msg);
	}
	if (c.out)
		snprintf(dir, sizeof(dir), "%s", c.out);
	else
		dir_of(csv, dir, sizeof(dir));
	if (sl_check_output_dir("--output", dir, &err) < 0)
		return sl_usage_error("plot", err.msg);

	rc = sl_csv_load(&d, csv, &err);
	if (rc == -ENOMEM) {
		fprintf(stderr, "synclab plot: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	if (rc < 0)
		return sl_usage_error("plot", err.msg);

	po = (struct sl_plot_opts){ .format = c.format, .log_y = c.log, .title = c.title };
	rc = sl_plot_csvdata(&d, dir, &po, &out, &err);
	sl_csv_free(&d);
	/* The input could not be drawn: nothing was written. */
	if (rc == -EINVAL || rc == -ENODATA)
		return sl_usage_error("plot", err.msg);
	if (rc < 0 && !(rc == -ENOENT && out.gnuplot_missing)) {
		fprintf(stderr, "synclab plot: %s\n", err.msg);
		return SL_EXIT_FAIL;
	}
	sl_plot_print(stdout, &out);
	if (rc == -ENOENT)
		fprintf(stderr, "synclab plot: %s\n", err.msg);
	return SL_EXIT_OK;
}
