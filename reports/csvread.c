#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/csvread.h"

/* A growable array of strings. */
struct strvec {
	char **v;
	size_t n, cap;
};

static int strvec_push(struct strvec *s, char *str)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = str;
	return 0;
}

static void strvec_free(struct strvec *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap + 1);

	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *b = realloc(buf, cap * 2 + 1);

			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* The field being read: a growable buffer. */
struct field {
	char *s;
	size_t n, cap;
};

static int field_put(struct field *f, char c)
{
	if (f->n + 1 >= f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		char *g = realloc(f->s, cap);

		if (!g)
			return -1;
		f->s = g;
		f->cap = cap;
	}
	f->s[f->n++] = c;
	return 0;
}

/*
 * Parse one record starting at *pos into fields; advance *pos past its line
 * end.  Returns the number of fields, -1 for an unterminated quote, -2 when
 * out of memory.
 */
static long parse_record(const char *text, size_t len, size_t *pos,
			 struct strvec *fields, unsigned long *line)
{
	size_t i = *pos;
	long nf = 0;

	for (;;) {
		struct field f = { 0 };

		if (field_put(&f, '\0') < 0)
			return -2;
		f.n = 0;
		if (i < len && text[i] == '"') {
			/* Quoted: up to the closing quote; "" is one quote. */
			for (i++;; i++) {
				if (i >= len) {
					free(f.s);
					return -1;
				}
				if (text[i] == '"') {
					if (i + 1 < len && text[i + 1] == '"') {
						i++;
					} else {
						i++;
						break;
					}
				} else if (text[i] == '\n') {
					(*line)++;
				}
				if (field_put(&f, text[i]) < 0) {
					free(f.s);
					return -2;
				}
			}
		}
		for (; i < len && text[i] != ',' && text[i] != '\n' && text[i] != '\r'; i++)
			if (field_put(&f, text[i]) < 0) {
				free(f.s);
				return -2;
			}
		f.s[f.n] = '\0';
		if (strvec_push(fields, f.s)) {
			free(f.s);
			return -2;
		}
		nf++;
		if (i < len && text[i] == ',') {
			i++;
			continue;
		}
		if (i < len && text[i] == '\r')
			i++;
		if (i < len && text[i] == '\n')
			i++;
		break;
	}
	*pos = i;
	return nf;
}

int sl_csv_load(struct sl_csvdata *d, const char *path, struct sl_err *err)
{
	struct strvec cells = { 0 };
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	unsigned long line = 1;
	size_t len, pos = 0;
	char *text;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	if (!f)
		return sl_err_set(err, -errno, "cannot open '%s': %s", path, strerror(errno));
	text = read_all(f, &len);
	/* A directory opens for reading on Linux and then fails every read:
	 * say so, rather than call it empty. */
	if (text && ferror(f)) {
		if (errno == EISDIR)
			rc = sl_err_set(err, -EISDIR,
					"'%s' is a directory (accepted: a CSV file, or - for standard input)",
					path);
		else
			rc = sl_err_set(err, -EIO, "cannot read '%s': %s", path,
					strerror(errno));
		free(text);
		text = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (rc)
		return rc;
	if (!text)
		return sl_err_set(err, -ENOMEM, "out of memory reading '%s'", path);

	while (pos < len) {
		unsigned long first = line;
		long nf;

		/* A blank line (the end of a hand-edited file, say) is skipped. */
		if (text[pos] == '\n' || text[pos] == '\r') {
			pos++;
			if (text[pos - 1] == '\n')
				line++;
			continue;
		}
		nf = parse_record(text, len, &pos, &cells, &line);
		if (nf == -1) {
			rc = sl_err_set(err, -EINVAL, "%s:%lu: unterminated quoted field", path, first);
			goto out;
		}
		if (nf < 0) {
			rc = sl_err_set(err, -ENOMEM, "out of memory reading '%s'", path);
			goto out;
		}
		line++;
		if (!d->ncols) {
			d->ncols = (size_t)nf;
			continue;
		}
		if ((size_t)nf != d->ncols) {
			rc = sl_err_set(err, -EINVAL,
					"%s:%lu: %ld fields where the header has %zu",
					path, first, nf, d->ncols);
			goto out;
		}
		d->nrows++;
	}
	if (!d->ncols) {
		rc = sl_err_set(err, -EINVAL, "'%s' is empty: expected a CSV header line", path);
		goto out;
	}
	d->header = cells.v;
	d->cell = cells.v + d->ncols;
	d->path = strdup(path);
	free(text);
	return 0;
out:
	free(text);
	strvec_free(&cells);
	memset(d, 0, sizeof(*d));
	return rc;
}

void sl_csv_free(struct sl_csvdata *d)
{
	size_t n = d->ncols * (d->nrows + 1);

	for (size_t i = 0; i < n; i++)
		free(d->header[i]);
	free(d->header);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

int sl_csv_column(const struct sl_csvdata *d, const char *name)
{
	for (size_t i = 0; i < d->ncols; i++)
		if (!strcmp(d->header[i], name))
			return (int)i;
	return -1;
}
