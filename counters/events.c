/*
 * Counter event names: "default", "none" or a comma-separated list of names
 * turned into perf_event_attr values by libpfm4, then probed on the calling
 * thread so that an event this machine cannot count is marked unsupported,
 * with the reason, before any run starts.
 */
#include "counters/counters.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <perfmon/pfmlib_perf_event.h>

#include "util/opt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LIST_FORM "accepted: default, none or event names joined by commas, e.g. cycles,context-switches"

/*
 * The perf tool's names, mapped onto libpfm4's generic "perf" PMU.  Naming
 * that PMU keeps the kernel's generic event even where a CPU PMU libpfm4
 * also knows happens to have an event of the same name.  These names are
 * also the suggestions offered for a typo.
 */
static const struct {
	const char *name;
	const char *pfm;
} known[] = {
	{ "cycles", "perf::PERF_COUNT_HW_CPU_CYCLES" },
	{ "instructions", "perf::PERF_COUNT_HW_INSTRUCTIONS" },
	{ "cache-misses", "perf::PERF_COUNT_HW_CACHE_MISSES" },
	{ "context-switches", "perf::PERF_COUNT_SW_CONTEXT_SWITCHES" },
	{ "cpu-migrations", "perf::PERF_COUNT_SW_CPU_MIGRATIONS" },
	{ "cpu-cycles", "perf::PERF_COUNT_HW_CPU_CYCLES" },
	{ "cache-references", "perf::PERF_COUNT_HW_CACHE_REFERENCES" },
	{ "branches", "perf::PERF_COUNT_HW_BRANCH_INSTRUCTIONS" },
	{ "branch-instructions", "perf::PERF_COUNT_HW_BRANCH_INSTRUCTIONS" },
	{ "branch-misses", "perf::PERF_COUNT_HW_BRANCH_MISSES" },
	{ "bus-cycles", "perf::PERF_COUNT_HW_BUS_CYCLES" },
	{ "ref-cycles", "perf::PERF_COUNT_HW_REF_CPU_CYCLES" },
	{ "stalled-cycles-frontend", "perf::PERF_COUNT_HW_STALLED_CYCLES_FRONTEND" },
	{ "stalled-cycles-backend", "perf::PERF_COUNT_HW_STALLED_CYCLES_BACKEND" },
	{ "cs", "perf::PERF_COUNT_SW_CONTEXT_SWITCHES" },
	{ "migrations", "perf::PERF_COUNT_SW_CPU_MIGRATIONS" },
	{ "cpu-clock", "perf::PERF_COUNT_SW_CPU_CLOCK" },
	{ "task-clock", "perf::PERF_COUNT_SW_TASK_CLOCK" },
	{ "page-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS" },
	{ "faults", "perf::PERF_COUNT_SW_PAGE_FAULTS" },
	{ "minor-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS_MIN" },
	{ "major-faults", "perf::PERF_COUNT_SW_PAGE_FAULTS_MAJ" },
	{ "L1-dcache-loads", "perf::PERF_COUNT_HW_CACHE_L1D:READ:ACCESS" },
	{ "L1-dcache-load-misses", "perf::PERF_COUNT_HW_CACHE_L1D:READ:MISS" },
	{ "L1-dcache-stores", "perf::PERF_COUNT_HW_CACHE_L1D:WRITE:ACCESS" },
	{ "L1-icache-load-misses", "perf::PERF_COUNT_HW_CACHE_L1I:READ:MISS" },
	{ "LLC-loads", "perf::PERF_COUNT_HW_CACHE_LL:READ:ACCESS" },
	{ "LLC-load-misses", "perf::PERF_COUNT_HW_CACHE_LL:READ:MISS" },
	{ "LLC-stores", "perf::PERF_COUNT_HW_CACHE_LL:WRITE:ACCESS" },
	{ "LLC-store-misses", "perf::PERF_COUNT_HW_CACHE_LL:WRITE:MISS" },
	{ "dTLB-loads", "perf::PERF_COUNT_HW_CACHE_DTLB:READ:ACCESS" },
	{ "dTLB-load-misses", "perf::PERF_COUNT_HW_CACHE_DTLB:READ:MISS" },
	{ "iTLB-load-misses", "perf::PERF_COUNT_HW_CACHE_ITLB:READ:MISS" },
	{ "branch-load-misses", "perf::PERF_COUNT_HW_CACHE_BPU:READ:MISS" },
};

static pthread_once_t pfm_once = PTHREAD_ONCE_INIT;
static int pfm_status;

static void pfm_init_once(void)
{
	pfm_status = pfm_initialize();
}

/* The names of a list, "default" expanded, before anything is encoded. */
struct name_list {
	unsigned n;     /* stored */
	unsigned total; /* seen, to report how many were too many */
	char v[SL_MAX_EVENTS][sizeof(((struct sl_event *)0)->name)];
};

static int collect(const char *list, const char *whole, struct name_list *nl,
		   struct sl_err *err)
{
	const char *p = list;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char tok[sizeof(nl->v[0])];

		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0)
			return sl_err_set(err, -EINVAL,
					  "--counters: empty event name in '%s' (" LIST_FORM ")",
					  whole);
		if (len >= sizeof(tok))
			return sl_err_set(err, -EINVAL,
					  "--counters: event name '%.*s' is too long (accepted: up to %zu characters)",
					  (int)len, p, sizeof(tok) - 1);
		memcpy(tok, p, len);
		tok[len] = '\0';

		if (strcmp(tok, "default") == 0) {
			int rc = collect(SL_COUNTERS_DEFAULT, whole, nl, err);

			if (rc < 0)
				return rc;
		} else if (strcmp(tok, "none") == 0) {
			return sl_err_set(err, -EINVAL,
					  "--counters: 'none' cannot be combined with other events in '%s' (accepted: none alone)",
					  whole);
		} else {
			for (unsigned i = 0; i < nl->n; i++) {
				if (strcmp(nl->v[i], tok) == 0)
					return sl_err_set(err, -EINVAL,
							  "--counters: '%s' is listed more than once (accepted: each event once)",
							  tok);
			}
			if (nl->n < SL_MAX_EVENTS)
				strcpy(nl->v[nl->n++], tok);
			nl->total++;
		}
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* The event part of a name, without a "pmu::" prefix or ":modifiers". */
static void base_name(const char *name, char *buf, size_t n)
{
	const char *pmu = strstr(name, "::");
	const char *ev = pmu ? pmu + 2 : name;
	size_t len = strcspn(ev, ":");

	if (len >= n)
		len = n - 1;
	memcpy(buf, ev, len);
	buf[len] = '\0';
}

static int unknown_event(const char *name, struct sl_err *err)
{
	const char *cands[ARRAY_SIZE(known)];
	char base[sizeof(((struct sl_event *)0)->name)];
	const char *s;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		cands[i] = known[i].name;
	base_name(name, base, sizeof(base));
	s = sl_suggest(base, cands, ARRAY_SIZE(cands));
	if (s)
		return sl_err_set(err, -EINVAL,
				  "--counters: unknown event '%s' (did you mean '%s'?)",
				  name, s);
	return sl_err_set(err, -EINVAL,
			  "--counters: unknown event '%s' (accepted: default, none or names libpfm4 knows, e.g. cycles, cache-misses, context-switches)",
			  name);
}

static int encode(const char *name, struct perf_event_attr *attr,
		  struct sl_err *err)
{
	char pfmname[256];
	const char *mapped = NULL;
	const char *mods = name + strcspn(name, ":");
	size_t baselen = (size_t)(mods - name);
	pfm_perf_encode_arg_t arg;
	int rc;

	/* A "pmu::event" name is libpfm4's own spelling: pass it through. */
	if (!strstr(name, "::")) {
		for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
			if (strlen(known[i].name) == baselen &&
			    strncasecmp(known[i].name, name, baselen) == 0) {
				mapped = known[i].pfm;
				break;
			}
		}
	}
	if (mapped)
		snprintf(pfmname, sizeof(pfmname), "%s%s", mapped, mods);
	else
		snprintf(pfmname, sizeof(pfmname), "%s", name);

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	/* User and kernel by default; the probe narrows it if not allowed. */
	rc = pfm_get_os_event_encoding(pfmname, PFM_PLM0 | PFM_PLM3,
				       PFM_OS_PERF_EVENT_EXT, &arg);
	if (rc == PFM_ERR_NOTFOUND)
		return unknown_event(name, err);
	if (rc != PFM_SUCCESS)
		return sl_err_set(err, -EINVAL,
				  "--counters: cannot use event '%s' (libpfm4: %s)",
				  name, pfm_strerror(rc));

	attr->size = sizeof(*attr);
	attr->disabled = 1;
	attr->inherit = 0;
	attr->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
			    PERF_FORMAT_TOTAL_TIME_RUNNING;
	return 0;
}

static bool same_event(const struct perf_event_attr *a,
		       const struct perf_event_attr *b)
{
	return a->type == b->type && a->config == b->config &&
	       a->config1 == b->config1 && a->config2 == b->config2 &&
	       a->exclude_user == b->exclude_user &&
	       a->exclude_kernel == b->exclude_kernel &&
	       a->exclude_hv == b->exclude_hv;
}

/* Events that happen in kernel context: with exclude_kernel they read 0. */
static bool kernel_side(const struct perf_event_attr *a)
{
	if (a->type == PERF_TYPE_TRACEPOINT)
		return true;
	return a->type == PERF_TYPE_SOFTWARE &&
	       (a->config == PERF_COUNT_SW_CONTEXT_SWITCHES ||
		a->config == PERF_COUNT_SW_CPU_MIGRATIONS ||
		a->config == PERF_COUNT_SW_CGROUP_SWITCHES);
}

static bool hardware(const struct perf_event_attr *a)
{
	return a->type == PERF_TYPE_HARDWARE || a->type == PERF_TYPE_HW_CACHE ||
	       a->type == PERF_TYPE_RAW || a->type >= PERF_TYPE_MAX;
}

/* "perf_event_paranoid=N", for messages about permission. */
static void paranoid(char *buf, size_t n)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v;

	if (f && fscanf(f, "%d", &v) == 1)
		snprintf(buf, n, "perf_event_paranoid=%d", v);
	else
		snprintf(buf, n, "perf_event_paranoid (unreadable)");
	if (f)
		fclose(f);
}

/* Open on the calling thread, disabled, and close at once: fd or -errno. */
static int try_open(const struct perf_event_attr *attr)
{
	struct perf_event_attr a = *attr;
	int fd;

	errno = 0;
	fd = sl_counters_sys_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno ? -errno : -EINVAL;
	close(fd);
	return 0;
}

/*
 * An ENOENT for one hardware event may mean no PMU at all (a VM) or a PMU
 * without that event: cycles, which every PMU has, tells the two apart.
 */
static bool pmu_visible(const struct perf_event_attr *attr)
{
	struct perf_event_attr cyc = *attr;

	if (attr->type == PERF_TYPE_HARDWARE &&
	    attr->config == PERF_COUNT_HW_CPU_CYCLES)
		return false;
	cyc.type = PERF_TYPE_HARDWARE;
	cyc.config = PERF_COUNT_HW_CPU_CYCLES;
	cyc.config1 = 0;
	cyc.config2 = 0;
	return try_open(&cyc) == 0;
}

static void unsupported(struct sl_event *ev, int e)
{
	const struct perf_event_attr *a = &ev->attr;
	char para[48];

	ev->supported = false;
	switch (e) {
	case EACCES:
	case EPERM:
		paranoid(para, sizeof(para));
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: %s forbids it for this user (perf_event_open: %s); root or CAP_PERFMON may count it",
			 para, strerror(e));
		return;
	case ENOENT:
	case EOPNOTSUPP:
	case ENODEV:
		if (hardware(a) && !pmu_visible(a))
			snprintf(ev->why, sizeof(ev->why),
				 "not supported: no hardware PMU visible (perf_event_open: %s)",
				 strerror(e));
		else if (hardware(a))
			snprintf(ev->why, sizeof(ev->why),
				 "not supported: this CPU's PMU does not provide it (perf_event_open: %s)",
				 strerror(e));
		else
			snprintf(ev->why, sizeof(ev->why),
				 "not supported: this kernel does not provide it (perf_event_open: %s)",
				 strerror(e));
		return;
	case EINVAL:
	case E2BIG:
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: the kernel rejected its settings (perf_event_open: %s)",
			 strerror(e));
		return;
	case EMFILE:
	case ENFILE:
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: out of file descriptors (perf_event_open: %s)",
			 strerror(e));
		return;
	case ENOSYS:
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: this kernel has no perf events (perf_event_open: %s)",
			 strerror(e));
		return;
	default:
		snprintf(ev->why, sizeof(ev->why),
			 "not supported (perf_event_open: %s)", strerror(e));
		return;
	}
}

static void kernel_side_forbidden(struct sl_event *ev)
{
	char para[48];

	paranoid(para, sizeof(para));
	ev->supported = false;
	/* getrusage counts context switches whatever the setting says. */
	if (ev->attr.type == PERF_TYPE_SOFTWARE &&
	    ev->attr.config == PERF_COUNT_SW_CONTEXT_SWITCHES)
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: %s forbids counting kernel-side events; see the vol/invol context switch columns from getrusage",
			 para);
	else
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: %s forbids counting kernel-side events",
			 para);
}

static void probe(struct sl_event *ev)
{
	struct perf_event_attr *a = &ev->attr;
	int rc;

	ev->supported = true;
	ev->why[0] = '\0';
	if (kernel_side(a) && a->exclude_kernel) {
		ev->supported = false;
		snprintf(ev->why, sizeof(ev->why),
			 "not supported: it happens in kernel context, so a user-only count would always read 0 (drop the :u modifier)");
		return;
	}
	rc = try_open(a);
	if ((rc == -EACCES || rc == -EPERM) && !a->exclude_kernel) {
		if (kernel_side(a)) {
			kernel_side_forbidden(ev);
			return;
		}
		/* Kernel-only was asked for: nothing is left to narrow to. */
		if (!a->exclude_user) {
			a->exclude_kernel = 1;
			a->exclude_hv = 1;
			rc = try_open(a);
		}
	}
	if (rc < 0)
		unsupported(ev, -rc);
}

/* Whether s is word, give or take surrounding blanks. */
static bool is_only(const char *s, const char *word)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	return len == strlen(word) && strncmp(s, word, len) == 0;
}

int sl_counters_resolve(const char *list, struct sl_counter_set *set,
			struct sl_err *err)
{
	struct name_list nl = { 0 };
	int rc;

	set->n = 0;
	if (!list)
		list = "default";
	if (is_only(list, "none"))
		return 0;
	if (is_only(list, ""))
		return sl_err_set(err, -EINVAL,
				  "--counters: no event given (" LIST_FORM ")");
	rc = collect(list, list, &nl, err);
	if (rc < 0)
		return rc;
	if (nl.total > SL_MAX_EVENTS)
		return sl_err_set(err, -EINVAL,
				  "--counters: %u events given (accepted: at most %d)",
				  nl.total, SL_MAX_EVENTS);

	pthread_once(&pfm_once, pfm_init_once);
	if (pfm_status != PFM_SUCCESS)
		return sl_err_set(err, -ENODEV,
				  "--counters: cannot start libpfm4 (%s)",
				  pfm_strerror(pfm_status));

	/* Encode all first, so that a bad name fails before any probing. */
	for (unsigned i = 0; i < nl.n; i++) {
		struct sl_event *ev = &set->ev[i];

		memset(ev, 0, sizeof(*ev));
		strcpy(ev->name, nl.v[i]);
		rc = encode(ev->name, &ev->attr, err);
		if (rc < 0)
			return rc;
		for (unsigned j = 0; j < i; j++) {
			if (same_event(&set->ev[j].attr, &ev->attr))
				return sl_err_set(err, -EINVAL,
						  "--counters: '%s' is the same event as '%s' (accepted: each event once)",
						  ev->name, set->ev[j].name);
		}
	}
	for (unsigned i = 0; i < nl.n; i++)
		probe(&set->ev[i]);
	set->n = nl.n;
	return 0;
}

int sl_counters_find(const struct sl_counter_set *set, const char *name)
{
	for (unsigned i = 0; i < set->n; i++) {
		if (strcmp(set->ev[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}
