/*
 * Reading synclab CSV back: `compare`, `plot` and `sweep --resume` load a
 * results file into memory as text cells and look columns up by name, so a
 * file written by an older or newer synclab with other columns still reads.
 * RFC 4180 quoting ("a,b", doubled quotes); a row of the wrong width, an
 * unterminated quote or an empty file is an error naming the line.
 */
#ifndef SL_REPORTS_CSVREAD_H
#define SL_REPORTS_CSVREAD_H

#include <stddef.h>

#include "util/err.h"

struct sl_csvdata {
	size_t ncols, nrows;
	char **header;  /* [ncols] */
	char **cell;    /* [nrows * ncols], row-major; "" for empty fields */
	char *path;     /* as given, for messages */
};

/* Load path ("-" for standard input).  0, or a negative code with err
 * naming the file and line. */
int sl_csv_load(struct sl_csvdata *d, const char *path, struct sl_err *err);
void sl_csv_free(struct sl_csvdata *d);

/* Index of the column called name, or -1. */
int sl_csv_column(const struct sl_csvdata *d, const char *name);

static inline const char *sl_csv_cell(const struct sl_csvdata *d, size_t row,
				      int col)
{
	return col < 0 ? "" : d->cell[row * d->ncols + (size_t)col];
}

#endif
