/*
 * CSV output: the header from columns.def, then one row per measured point.
 * Each row is assembled in memory and handed to the kernel with one write(2)
 * as soon as the point is done, so a crash or Ctrl-C between points loses
 * nothing already measured and never leaves a partial line behind.
 */
#include "reports/report.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sl_csv {
	int fd;
	bool is_stdout;
	bool regular;   /* a regular file: a failed row can be cut off again */
	off_t good;     /* bytes of whole lines written so far */
	char *path;
	char *line;     /* the row being built, reused between rows */
	size_t line_cap;
	char *field;
	size_t field_cap;
};

static int grow(char **p, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 256;
	char *q;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return 0;
	q = realloc(*p, c);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int emit(struct sl_csv *c, const char *buf, size_t len,
		struct sl_err *err)
{
	int rc;

	/* Anything already printed through stdio on the same stream goes
	 * first, so that table and CSV lines keep their order. */
	if (c->is_stdout)
		fflush(stdout);
	rc = sl_write_all(c->fd, buf, len);
	if (rc < 0) {
		/* Cut a partly written line so the file stays valid CSV. */
		if (c->regular && ftruncate(c->fd, c->good) == 0)
			lseek(c->fd, c->good, SEEK_SET);
		return sl_err_set(err, rc, "cannot write '%s': %s", c->path,
				  strerror(-rc));
	}
	c->good += (off_t)len;
	return 0;
}

static void csv_free(struct sl_csv *c)
{
	free(c->path);
	free(c->line);
	free(c->field);
	free(c);
}

/* The header line, names from columns.def, into c->line; *len its bytes. */
static int build_header(struct sl_csv *c, size_t *len, struct sl_err *err)
{
	size_t n = 0;

	for (size_t i = 0; i < sl_column_count(); i++)
		n += strlen(sl_column_at(i)->name) + 1;
	if (grow(&c->line, &c->line_cap, n + 1) < 0)
		return sl_err_set(err, -ENOMEM, "out of memory");
	n = 0;
	for (size_t i = 0; i < sl_column_count(); i++) {
		const char *name = sl_column_at(i)->name;
		size_t l = strlen(name);

		memcpy(c->line + n, name, l);
		n += l;
		c->line[n++] = i + 1 < sl_column_count() ? ',' : '\n';
	}
	*len = n;
	return 0;
}

static struct sl_csv *csv_alloc(const char *path)
{
	struct sl_csv *c = calloc(1, sizeof(*c));

	/* The name messages use; "-" would say nothing. */
	if (!c || !(c->path = strdup(strcmp(path, "-") ? path
						     : "standard output"))) {
		free(c);
		return NULL;
	}
	return c;
}

int sl_csv_open(struct sl_csv **out, const char *path, struct sl_err *err)
{
	struct sl_csv *c = csv_alloc(path);
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!c)
		return sl_err_set(err, -ENOMEM, "out of memory");
	if (strcmp(path, "-") == 0) {
		c->fd = STDOUT_FILENO;
		c->is_stdout = true;
	} else {
		struct stat st;

		c->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0644);
		if (c->fd < 0) {
			rc = -errno;
			csv_free(c);
			return sl_err_set(err, rc, "cannot create '%s': %s",
					  path, strerror(-rc));
		}
		c->regular = fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode);
	}

	rc = build_header(c, &len, err);
	if (rc < 0)
		goto fail;
	rc = emit(c, c->line, len, err);
	if (rc < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	if (!c->is_stdout)
		close(c->fd);
	csv_free(c);
	return rc;
}

int sl_csv_open_append(struct sl_csv **out, const char *path,
		       struct sl_err *err)
{
	struct sl_csv *c = csv_alloc(path);
	struct stat st;
	size_t len = 0;
	char *head = NULL;
	int rc;

	*out = NULL;
	if (!c)
		return sl_err_set(err, -ENOMEM, "out of memory");
	/* O_APPEND: every row lands at the end, whatever the offset. */
	c->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		rc = -errno;
		csv_free(c);
		return sl_err_set(err, rc, "cannot open '%s': %s", path,
				  strerror(-rc));
	}
	if (fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = sl_err_set(err, -EINVAL, "cannot append to '%s': not a regular file", path);
		goto fail;
	}
	c->regular = true;
	rc = build_header(c, &len, err);
	if (rc < 0)
		goto fail;
	if (st.st_size == 0) {
		rc = emit(c, c->line, len, err);
		if (rc < 0)
			goto fail;
		*out = c;
		return 0;
	}

	head = malloc(len);
	if (!head) {
		rc = sl_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((size_t)st.st_size < len ||
	    pread(c->fd, head, len, 0) != (ssize_t)len ||
	    memcmp(head, c->line, len) != 0) {
		rc = sl_err_set(err, -EPROTO,
				"'%s' has other columns than this synclab writes (its first line is not the header of 'synclab list columns'): rows cannot be appended to it",
				path);
		goto fail;
	}
	/* Rows are written whole, line end included; a file that does not
	 * end in one was cut or edited, and a row appended would merge. */
	if (pread(c->fd, head, 1, st.st_size - 1) != 1 || head[0] != '\n') {
		rc = sl_err_set(err, -EPROTO,
				"'%s' does not end with a line end (a row cut short?): rows cannot be appended to it",
				path);
		goto fail;
	}
	free(head);
	c->good = st.st_size;
	*out = c;
	return 0;
fail:
	free(head);
	close(c->fd);
	csv_free(c);
	return rc;
}

/* Format one field into c->field, growing it until the value fits: a
 * field cut short by the buffer would be a wrong value, not a short one. */
static int format_field(struct sl_csv *c, size_t i, const struct sl_row *row)
{
	for (;;) {
		sl_column_format(i, row, c->field, c->field_cap);
		if (strlen(c->field) + 1 < c->field_cap)
			return 0;
		if (c->field_cap >= ((size_t)1 << 24))
			return 0; /* no real field is this long */
		if (grow(&c->field, &c->field_cap, c->field_cap * 2) < 0)
			return -ENOMEM;
	}
}

int sl_csv_write_row(struct sl_csv *c, const struct sl_row *row,
		     struct sl_err *err)
{
	size_t len = 0;

	if (grow(&c->field, &c->field_cap, 1024) < 0)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sl_column_count(); i++) {
		size_t l;

		if (format_field(c, i, row) < 0)
			return sl_err_set(err, -ENOMEM, "out of memory");
		l = strlen(c->field);
		if (grow(&c->line, &c->line_cap, len + l + 2) < 0)
			return sl_err_set(err, -ENOMEM, "out of memory");
		memcpy(c->line + len, c->field, l);
		len += l;
		c->line[len++] = i + 1 < sl_column_count() ? ',' : '\n';
	}
	return emit(c, c->line, len, err);
}

int sl_csv_close(struct sl_csv *c, struct sl_err *err)
{
	int rc = 0;

	if (!c)
		return 0;
	/* Standard output belongs to the caller, which checks it at exit. */
	if (!c->is_stdout && close(c->fd) < 0) {
		rc = -errno;
		sl_err_set(err, rc, "cannot write '%s': %s", c->path,
			   strerror(-rc));
	}
	csv_free(c);
	return rc;
}
