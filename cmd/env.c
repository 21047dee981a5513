/*
 * synclab env: the environment fingerprint and the facts behind it on
 * stdout, and on stderr the warnings for the settings that make numbers
 * noisy.  Sweeps save the same facts beside their CSV (reports/env.h).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"
#include "cmd/session.h"
#include "reports/env.h"
#include "util/fs.h"
#include "util/opt.h"

static const char env_usage[] =
	"synclab env [--root DIR] [--output FILE] [--fingerprint] [--quiet]";
static const char env_summary[] =
	"Print the environment fingerprint and the facts it is made of: kernel,\n"
	"libc, CPU, topology, frequency governor and boost, idle states, clocksource,\n"
	"huge pages, isolated CPUs, perf access, hypervisor, load.  Warnings for the\n"
	"settings that make numbers noisy go to stderr, one line each, with what to\n"
	"do.  Two results with the same fingerprint come from the same environment.";

/* Create the directories above path that do not exist yet. */
int cmd_env(int argc, char **argv)
{
	const char *root = "/", *output = NULL;
	bool help = false, only_fp = false, quiet = false;
	const struct sl_opt opts[] = {
		{ "root", 0, SL_OPT_STRING, &root, 0, 0, "DIR",
		  "read /proc and /sys under DIR (a captured tree) instead of this machine" },
		{ "output", 'o', SL_OPT_STRING, &output, 0, 0, "FILE",
		  "write the environment file (as sweeps save it) to FILE instead of stdout" },
		{ "fingerprint", 0, SL_OPT_FLAG, &only_fp, 0, 0, NULL,
		  "print only the fingerprint (16 hex digits)" },
		{ "quiet", 'q', SL_OPT_FLAG, &quiet, 0, 0, NULL,
		  "no warnings on stderr" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	char warn[SL_ENV_WARN_MAX][SL_ENV_WARN_LEN];
	struct sl_env env;
	struct sl_err err;
	size_t nw;
	int first = sl_opt_parse(opts, argc, argv, &err);

	if (first < 0)
		return sl_usage_error("env", err.msg);
	if (help) {
		sl_opt_usage(stdout, env_usage, env_summary, opts);
		return SL_EXIT_OK;
	}
	if (first < argc) {
		char msg[256];

		snprintf(msg, sizeof(msg), "unexpected argument '%s' (env takes options only)",
			 argv[first]);
		return sl_usage_error("env", msg);
	}
	if (output && only_fp)
		return sl_usage_error("env", "--fingerprint and --output exclude each other (accepted: one of them)");
	if (output) {
		struct stat st;
		char msg[SL_ERR_MAX + 16];

		if (stat(output, &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(msg, sizeof(msg), "--output: '%s' is a directory (accepted: a file name)",
				 output);
			return sl_usage_error("env", msg);
		}
		if (sl_check_creatable(output, &err) < 0) {
			snprintf(msg, sizeof(msg), "--output: %s", err.msg);
			return sl_usage_error("env", msg);
		}
	}
	if (sl_env_collect(&env, root, &err) < 0) {
		char msg[SL_ERR_MAX + 16];

		snprintf(msg, sizeof(msg), "--root: %s", err.msg);
		return sl_usage_error("env", msg);
	}

	if (output) {
		if (sl_make_parent_dirs(output, &err) < 0 || sl_env_write(output, &env, &err) < 0) {
			fprintf(stderr, "synclab env: %s\n", err.msg);
			return SL_EXIT_FAIL;
		}
	} else if (only_fp) {
		printf("%s\n", sl_env_fingerprint(&env));
	} else {
		sl_env_print(stdout, &env);
	}

	if (!quiet) {
		/* After the facts, so that a terminal shows them last. */
		fflush(stdout);
		nw = sl_env_warnings(&env, warn, SL_ENV_WARN_MAX);
		for (size_t i = 0; i < nw; i++)
			fprintf(stderr, "%s\n", warn[i]);
	}
	return SL_EXIT_OK;
}
