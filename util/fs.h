/*
 * Output paths, and small helpers for writing files and reading /proc.
 * Commands check every output path before anything runs (so a bad one is a
 * usage error and nothing is written), then create the missing directories
 * just before writing.
 */
#ifndef SL_UTIL_FS_H
#define SL_UTIL_FS_H

#include <stddef.h>

#include "util/err.h"

/* mkdir -p: create dir and every missing parent (mode 0755). */
int sl_mkdir_p(const char *dir, struct sl_err *err);

/* Can files be made in the directory dir (it exists)?  Tried by making and
 * removing an empty directory in it.  0, or a negative code with err naming
 * dir and the reason. */
int sl_check_writable_dir(const char *dir, struct sl_err *err);

/* Could path be created?  Its nearest existing ancestor must be a directory
 * where files can be made (sl_check_writable_dir).  0, or a negative code
 * with err naming the ancestor. */
int sl_check_creatable(const char *path, struct sl_err *err);

/* write(2) all of buf, resuming after a signal or a short write: 0 or
 * -errno. */
int sl_write_all(int fd, const char *buf, size_t len);

/* Copy s into buf (size n) with surrounding blanks removed and inner runs of
 * blanks squeezed to one ("Intel(R) Xeon(R) CPU  E5-2680" has a double
 * space), as /proc and /sys texts need. */
void sl_copy_squeezed(char *buf, size_t n, const char *s);

#endif
