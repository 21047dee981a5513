/*
 * synclab topo: the machine as hwloc sees it (or a synthetic one), and the
 * exact PU each thread would get for a --threads / --pin choice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "pinning/pin.h"
#include "util/opt.h"

static const char topo_usage[] =
	"synclab topo [--topology DESC] [--allowed LIST] [--threads LIST] [--pin POLICY]";
static const char topo_summary[] =
	"Print the topology: packages, NUMA nodes, caches, cores and PUs, and which\n"
	"PUs this process may use (taskset and cgroup cpusets are honoured).  With\n"
	"--threads, print the placement a run would use.  --topology previews a\n"
	"machine you do not have, as an hwloc synthetic description, e.g.\n"
	"  synclab topo --topology \"pack:2 numa:2 core:8 pu:2\" --threads 24 --pin scatter";

struct print_ctx {
	unsigned pus_on_line;
};

static void human_size(unsigned long long b, char *buf, size_t n)
{
	if (b >= (1ull << 30) && b % (1ull << 30) == 0)
		snprintf(buf, n, " (%llu GiB)", b >> 30);
	else if (b >= (1ull << 20))
		snprintf(buf, n, " (%llu MiB)", b >> 20);
	else if (b >= 1024)
		snprintf(buf, n, " (%llu KiB)", b >> 10);
	else if (b)
		snprintf(buf, n, " (%llu B)", b);
	else
		buf[0] = '\0';
}

static int print_node(const struct sl_topo_node *nd, void *arg)
{
	char size[32];

	(void)arg;
	human_size(nd->size, size, sizeof(size));
	printf("%*s%s", (int)nd->depth * 2, "", nd->type);
	if (strcmp(nd->type, "PU") == 0)
		printf(" P#%d%s", nd->os_index, nd->usable ? "" : " (not usable)");
	else if (nd->os_index >= 0 && strcmp(nd->type, "Machine") != 0)
		printf(" #%d", nd->os_index);
	else if (strcmp(nd->type, "Machine") != 0)
		printf(" L#%u", nd->logical_index);
	printf("%s\n", size);
	return 0;
}

/* A logical index, or "-" where the level does not exist. */
static const char *idx(int v, char *buf)
{
	if (v < 0)
		return "-";
	snprintf(buf, 16, "%d", v);
	return buf;
}

int cmd_topo(int argc, char **argv)
{
	const char *synthetic = NULL, *allowed = NULL, *pin_text = "compact";
	struct sl_ulist threads = { 0, { 0 } };
	bool help = false, tree = false;
	const struct sl_opt opts[] = {
		{ "topology", 0, SL_OPT_STRING, &synthetic, 0, 0, "DESC",
		  "an hwloc synthetic topology instead of this machine" },
		{ "allowed", 0, SL_OPT_STRING, &allowed, 0, 0, "LIST",
		  "restrict the usable PUs to LIST, as taskset would (e.g. 0-3,8)" },
		{ "threads", 't', SL_OPT_LIST, &threads, 1, 4096, "LIST",
		  "show the placement of this many threads (each count of a list)" },
		{ "pin", 'p', SL_OPT_STRING, &pin_text, 0, 0, "POLICY",
		  "compact, scatter, none, or a PU list like 0,2,4-7" },
		{ "tree", 0, SL_OPT_FLAG, &tree, 0, 0, NULL,
		  "print the whole tree, not only the summary" },
		{ "help", 'h', SL_OPT_FLAG, &help, 0, 0, NULL, "show this help" },
		SL_OPT_END,
	};
	struct sl_topo *t = NULL;
	struct sl_topo_summary s;
	struct sl_pin_spec pin;
	struct sl_err err;
	int first = sl_opt_parse(opts, argc, argv, &err);
	int status = SL_EXIT_OK;

	if (first < 0)
		return sl_usage_error("topo", err.msg);
	if (help) {
		sl_opt_usage(stdout, topo_usage, topo_summary, opts);
		return SL_EXIT_OK;
	}
	if (first < argc) {
		char msg[256];

		snprintf(msg, sizeof(msg), "unexpected argument '%s' (topo takes options only)",
			 argv[first]);
		return sl_usage_error("topo", msg);
	}
	if (sl_pin_parse(pin_text, &pin, &err) < 0)
		return sl_usage_error("topo", err.msg);
	if (sl_topo_load(&t, synthetic, allowed, &err) < 0)
		return sl_usage_error("topo", err.msg);

	sl_topo_summarize(t, &s);
	printf("%s: %u package(s), %u NUMA node(s), %u L3 cache(s), %u core(s), %u PU(s), %u PU(s) per core\n",
	       s.synthetic ? "synthetic machine" : "this machine", s.packages,
	       s.numa_nodes, s.l3_caches, s.cores, s.pus, s.smt_per_core);
	printf("caches: L1d %llu KiB, L2 %llu KiB, L3 %llu KiB (0: unknown)\n",
	       s.l1d_bytes >> 10, s.l2_bytes >> 10, s.l3_bytes >> 10);
	printf("usable PUs: %s (%u of %u)\n", s.usable, s.usable_pus, s.pus);
	if (tree) {
		putchar('\n');
		sl_topo_walk(t, print_node, NULL);
	}

	for (unsigned i = 0; i < threads.n && status == SL_EXIT_OK; i++) {
		unsigned n = (unsigned)threads.v[i];
		int *pus = calloc(n, sizeof(*pus));
		bool over = false;

		if (!pus || sl_pin_place(t, &pin, n, pus, &over, &err) < 0) {
			status = sl_usage_error("topo", pus ? err.msg : "out of memory");
			free(pus);
			break;
		}
		printf("\nplacement of %u thread(s), --pin %s%s:\n", n, pin.text,
		       over ? " (oversubscribed: more threads than usable PUs)" : "");
		printf("  %-7s %-5s %-8s %-5s %-4s %-5s %s\n", "THREAD", "PU",
		       "PACKAGE", "NUMA", "L3", "CORE", "SMT");
		for (unsigned k = 0; k < n; k++) {
			struct sl_pu_info pi;
			char b[5][16];

			if (pus[k] < 0) {
				printf("  %-7u %-5s (unbound: the scheduler decides)\n", k, "-");
				continue;
			}
			if (sl_topo_pu_info(t, pus[k], &pi) < 0) {
				printf("  %-7u %-5d ?\n", k, pus[k]);
				continue;
			}
			printf("  %-7u %-5d %-8s %-5s %-4s %-5s %s\n", k, pus[k],
			       idx(pi.package, b[0]), idx(pi.numa, b[1]),
			       idx(pi.l3, b[2]), idx(pi.core, b[3]), idx(pi.smt, b[4]));
		}
		free(pus);
	}
	sl_topo_free(t);
	return status;
}
