/* The version and build of this binary, compiled into one object so that
 * every report names the same one. */
#ifndef SL_UTIL_VERSION_H
#define SL_UTIL_VERSION_H

/* "0.1.0+<git revision>" when built from a git checkout. */
const char *sl_version(void);
/* Compiler, its version and the flags the binary was built with. */
const char *sl_compiler(void);

#endif
