/*
 * Output paths.  Commands check every output path before anything runs
 * (so a bad one is a usage error and nothing is written), then create the
 * missing directories just before writing.
 */
#ifndef SL_UTIL_FS_H
#define SL_UTIL_FS_H

#include "util/err.h"

/* mkdir -p: create dir and every missing parent (mode 0755). */
int sl_mkdir_p(const char *dir, struct sl_err *err);

/* Could path be created?  Its nearest existing ancestor must be a writable
 * directory.  0, or a negative code with err naming the ancestor. */
int sl_check_creatable(const char *path, struct sl_err *err);

#endif
