/*
 * The waiting policy of synclab's FIFO spinlocks (spin-ticket, spin-mcs,
 * spin-clh): spin with a pause per poll, and once a wait has lasted longer
 * than a budget, give the CPU away with sched_yield() on every further poll.
 *
 * Why: a FIFO lock goes to one particular waiter.  With more runnable
 * threads than PUs that waiter is often preempted, and every other waiter
 * -- the releasing thread too, queued again behind it -- spins out its whole
 * time slice (milliseconds) before the scheduler runs the one thread that
 * can make progress.  Yielding hands that time slice over instead.
 *
 * The budget depends on whether the lock's own threads outnumber the PUs
 * this process may run on, as told at init:
 *   - they do: about 2048 pauses (tens of microseconds, a few context
 *     switches), after which the thread whose turn it is is most likely
 *     preempted;
 *   - they do not: about 2^17 pauses (milliseconds, a time slice).  Here a
 *     long wait means *another* process took a PU from the thread being
 *     waited for, and yielding early would only hand our PU to that process
 *     too; but if all our threads share fewer PUs than the process may use
 *     (pinned by hand), the long budget still ends the stall.
 * With a thread per PU and short critical sections no wait comes near
 * either budget, and the lock is a pure spinlock.  The thread stays
 * runnable: it never sleeps on a kernel queue.
 */
#ifndef SL_PRIMITIVES_SPINWAIT_H
#define SL_PRIMITIVES_SPINWAIT_H

#include <sched.h>
#include <stdint.h>
#include <unistd.h>

#include "util/atomics.h"

#define SL_SPINWAIT_OVERSUBSCRIBED 2048u  /* pauses before the first yield */
#define SL_SPINWAIT_DEDICATED (1u << 17)

/* The budget for a lock shared by nthreads threads (call at init). */
static inline unsigned sl_spinwait_budget(unsigned nthreads)
{
	cpu_set_t set;
	long pus = sched_getaffinity(0, sizeof(set), &set) == 0
			   ? CPU_COUNT(&set)
			   : sysconf(_SC_NPROCESSORS_ONLN);

	return pus > 0 && nthreads > (unsigned long)pus ? SL_SPINWAIT_OVERSUBSCRIBED
							: SL_SPINWAIT_DEDICATED;
}

/* Wait `pauses` pause instructions, or yield once the wait that *spent
 * tracks (zero at its start) has used up budget pauses; a yield counts one
 * in *yields, the waiting thread's own count (the locks' "yields" event). */
static inline void sl_spinwait(unsigned *spent, unsigned pauses, unsigned budget,
			       uint64_t *yields)
{
	if (*spent < budget) {
		*spent += pauses;
		while (pauses--)
			sl_cpu_relax();
	} else {
		++*yields;
		sched_yield();
	}
}

#endif
