/*
 * The machine and build a result came from, carried by every CSV row so
 * that a number can be traced to where it was measured: host, CPU model,
 * kernel release, synclab's version and the compiler and flags it was built
 * with (both compiled in by the Makefile).
 */
#include "reports/env.h"
#include "reports/report.h"
#include "util/fs.h"
#include "util/version.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>


/* Split a "key<TAB>: value" line of /proc/cpuinfo in place. */
static bool cpuinfo_field(char *line, char **key, char **value)
{
	char *colon = strchr(line, ':');
	char *end;

	if (!colon)
		return false;
	*colon = '\0';
	end = colon;
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = '\0';
	*key = line;
	*value = colon + 1;
	(*value)[strcspn(*value, "\n")] = '\0';
	return true;
}

/*
 * x86 names the model in "model name".  arm64 kernels print only numeric
 * IDs, so the implementer and part codes are the best there is; older arm
 * and some SoC kernels add "Processor" or "Hardware"; POWER uses "cpu".
 */
static void cpu_model(char *buf, size_t n)
{
	char model[128] = "", processor[128] = "", hardware[128] = "";
	char power[128] = "", impl[32] = "", part[32] = "";
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *key, *value;

		if (!cpuinfo_field(line, &key, &value))
			continue;
		if (!model[0] && strcmp(key, "model name") == 0)
			sl_copy_squeezed(model, sizeof(model), value);
		else if (!processor[0] && strcmp(key, "Processor") == 0)
			sl_copy_squeezed(processor, sizeof(processor), value);
		else if (!hardware[0] && strcmp(key, "Hardware") == 0)
			sl_copy_squeezed(hardware, sizeof(hardware), value);
		else if (!power[0] && strcmp(key, "cpu") == 0)
			sl_copy_squeezed(power, sizeof(power), value);
		else if (!impl[0] && strcmp(key, "CPU implementer") == 0)
			sl_copy_squeezed(impl, sizeof(impl), value);
		else if (!part[0] && strcmp(key, "CPU part") == 0)
			sl_copy_squeezed(part, sizeof(part), value);
	}
	fclose(f);

	if (model[0])
		snprintf(buf, n, "%s", model);
	else if (processor[0])
		snprintf(buf, n, "%s", processor);
	else if (hardware[0])
		snprintf(buf, n, "%s", hardware);
	else if (power[0])
		snprintf(buf, n, "%s", power);
	else if (part[0] && impl[0])
		snprintf(buf, n, "implementer %s part %s", impl, part);
	else if (part[0])
		snprintf(buf, n, "part %s", part);
}

void sl_meta_collect(struct sl_meta *m)
{
	struct utsname u;

	memset(m, 0, sizeof(*m));
	if (gethostname(m->host, sizeof(m->host) - 1) < 0 || !m->host[0])
		snprintf(m->host, sizeof(m->host), "unknown");
	cpu_model(m->cpu_model, sizeof(m->cpu_model));
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	else
		snprintf(m->kernel, sizeof(m->kernel), "unknown");
	m->version = sl_version();
	m->compiler = sl_compiler();
	{
		struct sl_env *e = malloc(sizeof(*e));
		struct sl_err err;

		if (e && sl_env_collect(e, NULL, &err) == 0)
			snprintf(m->env_fingerprint, sizeof(m->env_fingerprint), "%s",
				 sl_env_fingerprint(e));
		free(e);
	}
}
