/* SL_VERSION and SL_COMPILER come from the Makefile, for this file only; it
 * is rebuilt whenever either changes. */
#include "util/version.h"

#ifndef SL_VERSION
#define SL_VERSION "unknown"
#endif
#ifndef SL_COMPILER
#define SL_COMPILER "unknown"
#endif

const char *sl_version(void)
{
	return SL_VERSION;
}

const char *sl_compiler(void)
{
	return SL_COMPILER;
}
