/*
 * Process-private expedited membarrier(2): an asymmetric fence.  The caller
 * pays a system call (IPIs to the CPUs running this process's threads) so
 * that every running thread executes a full memory barrier; those threads'
 * hot paths then need only a compiler barrier where a store must be ordered
 * before a later load.  Used by rcu-epoch (the grace period pays).  The
 * RSEQ flavour also restarts every restartable sequence (rseq(2)) in flight
 * on those threads: adaptive's plain-store unlock runs in one, and a thread
 * about to sleep pays for the fence so that the unlock does not.
 */
#ifndef SL_PRIMITIVES_MEMBARRIER_H
#define SL_PRIMITIVES_MEMBARRIER_H

#include <linux/membarrier.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Register the process; false when the kernel (or a seccomp filter) offers
 * no expedited private membarrier: the caller must then fence both sides. */
static inline bool sl_membarrier_ready(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) ||
	    !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		return false;
	return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		       0, 0) == 0;
}

/* A full barrier on every running thread of the process (after
 * sl_membarrier_ready() said yes); 0 or -1 with errno. */
static inline int sl_membarrier(void)
{
	return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* Register for the RSEQ flavour; false when the kernel lacks it (before
 * Linux 5.10) or a seccomp filter refuses membarrier. */
static inline bool sl_membarrier_rseq_ready(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) ||
	    !(cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ))
		return false;
	return syscall(__NR_membarrier,
		       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0;
}

/* Restart the restartable sequence, if any, that each running thread of
 * the process is in (after sl_membarrier_rseq_ready() said yes); a thread
 * off its CPU restarts its own when it resumes.  0 or -1 with errno. */
static inline int sl_membarrier_rseq(void)
{
	return (int)syscall(__NR_membarrier,
			    MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
}

#endif
