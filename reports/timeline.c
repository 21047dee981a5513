/*
 * --timeline output: one CSV row per (point, interval, thread) with the ops
 * that thread completed in that interval of the measured window.  Warm-up
 * effects, frequency throttling, a thread starved for a while or a lock that
 * hands itself to one thread for a stretch show up as changes over time that
 * a whole-window average hides.  A point's rows are built in memory and
 * written with one write(2) when the point is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/report.h"
#include "util/fs.h"

struct sl_timeline {
	int fd;
	bool is_stdout;
	char *path;
};

static const char timeline_header[] =
	"primitive,threads,rep,interval,end_s,thread,cpu,ops,ops_per_sec\n";

int sl_timeline_open(struct sl_timeline **out, const char *path,
		     struct sl_err *err)
{
	struct sl_timeline *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	t->is_stdout = !strcmp(path, "-");
	t->fd = t->is_stdout ? STDOUT_FILENO
			     : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (t->fd < 0) {
		rc = -errno;
		free(t);
		return sl_err_set(err, rc, "cannot create '%s': %s", path, strerror(-rc));
	}
	t->path = strdup(path);
	rc = sl_write_all(t->fd, timeline_header, sizeof(timeline_header) - 1);
	if (rc < 0) {
		sl_err_set(err, rc, "cannot write '%s': %s", path, strerror(-rc));
		sl_timeline_close(t, NULL);
		return rc;
	}
	*out = t;
	return 0;
}

int sl_timeline_write(struct sl_timeline *t, const struct sl_row *row,
		      struct sl_err *err)
{
	const struct sl_result *res = row->res;
	const unsigned n = res->threads;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc = 0;

	if (!res->timeline_n)
		return 0;
	mem = open_memstream(&buf, &len);
	if (!mem)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (unsigned k = 0; k < res->timeline_n; k++) {
		uint64_t begin = k ? res->timeline_end_ns[k - 1] : 0;
		uint64_t span = res->timeline_end_ns[k] - begin;

		for (unsigned i = 0; i < n; i++) {
			uint64_t ops = res->timeline_ops[(size_t)k * n + i];
			int cpu = res->thread ? (res->thread[i].pu_bound >= 0
							 ? res->thread[i].pu_bound
							 : res->thread[i].pu_seen)
					      : -1;

			fprintf(mem, "%s,%u,%u,%u,%.6f,%u,", row->pt->prim->name, n,
				row->pt->rep, k + 1, (double)res->timeline_end_ns[k] / 1e9, i);
			if (cpu >= 0)
				fprintf(mem, "%d", cpu);
			fprintf(mem, ",%" PRIu64 ",%.1f\n", ops,
				span ? (double)ops * 1e9 / (double)span : 0.0);
		}
	}
	if (fclose(mem) != 0) {
		free(buf);
		return sl_err_set(err, -ENOMEM, "out of memory");
	}
	rc = sl_write_all(t->fd, buf, len);
	free(buf);
	if (rc < 0)
		return sl_err_set(err, rc, "cannot write '%s': %s", t->path, strerror(-rc));
	return 0;
}

int sl_timeline_close(struct sl_timeline *t, struct sl_err *err)
{
	int rc = 0;

	if (!t)
		return 0;
	if (!t->is_stdout && close(t->fd) < 0)
		rc = sl_err_set(err, -errno, "cannot close '%s': %s", t->path, strerror(errno));
	free(t->path);
	free(t);
	return rc;
}
