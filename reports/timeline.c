/*
 * --timeline output: one CSV row per (point, interval, thread) with the ops
 * that thread completed in that interval of the measured window.  Warm-up
 * effects, frequency throttling, a thread starved for a while or a lock that
 * hands itself to one thread for a stretch show up as changes over time that
 * a whole-window average hides.  Each row starts with the point key, the
 * columns that tell the points of a sweep apart (sl_point_key_columns), as
 * the results CSV formats them.  A point's rows are built in memory and
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

/* The point key has this many columns at most. */
#define MAX_KEY 32

struct sl_timeline {
	int fd;
	bool is_stdout;
	char *path;
	size_t nkey;
	size_t key[MAX_KEY]; /* the key's columns, as results column indices */
};

/* After the point key. */
static const char timeline_tail[] = "rep,interval,end_s,thread,cpu,ops,ops_per_sec\n";

/* The point key as results column indices; the header into *header. */
static int key_columns(struct sl_timeline *t, char **header, size_t *len)
{
	FILE *mem = open_memstream(header, len);

	if (!mem)
		return -ENOMEM;
	for (const char *const *k = sl_point_key_columns(); *k; k++) {
		size_t i = 0;

		while (i < sl_column_count() && strcmp(sl_column_at(i)->name, *k))
			i++;
		if (i == sl_column_count() || t->nkey == MAX_KEY)
			SL_BUG("point key column '%s' is not a results column", *k);
		t->key[t->nkey++] = i;
		fprintf(mem, "%s,", *k);
	}
	fputs(timeline_tail, mem);
	return fclose(mem) == 0 ? 0 : -ENOMEM;
}

int sl_timeline_open(struct sl_timeline **out, const char *path,
		     struct sl_err *err)
{
	struct sl_timeline *t = calloc(1, sizeof(*t));
	char *header = NULL;
	size_t len = 0;
	int rc;

	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	if (key_columns(t, &header, &len) < 0) {
		free(header);
		free(t);
		return sl_err_set(err, -ENOMEM, "out of memory");
	}
	t->is_stdout = !strcmp(path, "-");
	t->fd = t->is_stdout ? STDOUT_FILENO
			     : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (t->fd < 0) {
		rc = -errno;
		free(header);
		free(t);
		return sl_err_set(err, rc, "cannot create '%s': %s", path, strerror(-rc));
	}
	t->path = strdup(path);
	rc = sl_write_all(t->fd, header, len);
	free(header);
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
	char *buf = NULL, *key = NULL, field[256];
	size_t len = 0, keylen = 0;
	FILE *mem;
	int rc = 0;

	if (!res->timeline_n)
		return 0;
	/* The point key once: it is the same on every row of the point. */
	mem = open_memstream(&key, &keylen);
	if (!mem)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (size_t c = 0; c < t->nkey; c++) {
		sl_column_format(t->key[c], row, field, sizeof(field));
		fprintf(mem, "%s,", field);
	}
	if (fclose(mem) != 0) {
		free(key);
		return sl_err_set(err, -ENOMEM, "out of memory");
	}
	mem = open_memstream(&buf, &len);
	if (!mem) {
		free(key);
		return sl_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned k = 0; k < res->timeline_n; k++) {
		uint64_t begin = k ? res->timeline_end_ns[k - 1] : 0;
		uint64_t span = res->timeline_end_ns[k] - begin;

		for (unsigned i = 0; i < n; i++) {
			uint64_t ops = res->timeline_ops[(size_t)k * n + i];
			int cpu = res->thread ? (res->thread[i].pu_bound >= 0
							 ? res->thread[i].pu_bound
							 : res->thread[i].pu_seen)
					      : -1;

			fprintf(mem, "%s%u,%u,%.6f,%u,", key, row->pt->rep, k + 1,
				(double)res->timeline_end_ns[k] / 1e9, i);
			if (cpu >= 0)
				fprintf(mem, "%d", cpu);
			fprintf(mem, ",%" PRIu64 ",%.1f\n", ops,
				span ? (double)ops * 1e9 / (double)span : 0.0);
		}
	}
	free(key);
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
