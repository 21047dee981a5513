/*
 * The calling thread's context switches from getrusage: the kernel keeps
 * them whatever perf_event_paranoid says, so they stand in where the
 * context-switches perf event is not allowed.
 */
#include "counters/counters.h"

#include <sys/resource.h>

void sl_rusage_self(long *vol_cs, long *invol_cs)
{
	struct rusage ru;

	/* A count cannot be negative: -1 marks "unknown" rather than 0. */
	if (getrusage(RUSAGE_THREAD, &ru) < 0) {
		*vol_cs = -1;
		*invol_cs = -1;
		return;
	}
	*vol_cs = ru.ru_nvcsw;
	*invol_cs = ru.ru_nivcsw;
}
