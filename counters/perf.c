/*
 * Per-thread perf events: opened by the main thread for each worker's tid,
 * enabled and disabled around the measured window, read and summed over
 * threads with multiplexing scaled out.  A count that cannot be trusted
 * reads as NAN.
 */
#include "counters/counters.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_perf_event_open(struct perf_event_attr *attr, pid_t pid,
			       int cpu, int group_fd, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd,
			    flags);
}

static sl_perf_open_fn open_fn = sys_perf_event_open;

void sl_counters_set_open_fn(sl_perf_open_fn fn)
{
	open_fn = fn ? fn : sys_perf_event_open;
}

int sl_counters_sys_open(struct perf_event_attr *attr, pid_t pid, int cpu,
			 int group_fd, unsigned long flags)
{
	int fd = open_fn(attr, pid, cpu, group_fd, flags);

	return fd < 0 ? -1 : fd;
}

void sl_counters_open(const struct sl_counter_set *set, pid_t tid,
		      struct sl_thread_counters *tc)
{
	for (unsigned i = 0; i < SL_MAX_EVENTS; i++)
		tc->fd[i] = -1;
	for (unsigned i = 0; i < set->n; i++) {
		/* The system call may write the size back; keep set const. */
		struct perf_event_attr attr = set->ev[i].attr;

		if (!set->ev[i].supported)
			continue;
		tc->fd[i] = sl_counters_sys_open(&attr, tid, -1, -1,
						 PERF_FLAG_FD_CLOEXEC);
	}
}

/*
 * An event whose enable or disable failed would report a window other than
 * the measured one: close it so that its sum reads NAN.
 */
static void ioctl_all(const struct sl_counter_set *set,
		      struct sl_thread_counters *tc, unsigned nthreads,
		      unsigned long req)
{
	for (unsigned t = 0; t < nthreads; t++) {
		for (unsigned i = 0; i < set->n; i++) {
			int *fd = &tc[t].fd[i];

			if (*fd < 0)
				continue;
			if (ioctl(*fd, req, 0) < 0) {
				close(*fd);
				*fd = -1;
			}
		}
	}
}

void sl_counters_enable(const struct sl_counter_set *set,
			struct sl_thread_counters *tc, unsigned nthreads)
{
	ioctl_all(set, tc, nthreads, PERF_EVENT_IOC_ENABLE);
}

void sl_counters_disable(const struct sl_counter_set *set,
			 struct sl_thread_counters *tc, unsigned nthreads)
{
	ioctl_all(set, tc, nthreads, PERF_EVENT_IOC_DISABLE);
}

/* One thread's count, scaled; -1 when it is unknown. */
static int read_one(int fd, double *out)
{
	uint64_t buf[3]; /* value, time_enabled, time_running */
	uint64_t value, enabled, running;
	ssize_t r;

	if (fd < 0)
		return -1;
	do {
		r = read(fd, buf, sizeof(buf));
	} while (r < 0 && errno == EINTR);
	if (r != (ssize_t)sizeof(buf))
		return -1;
	value = buf[0];
	enabled = buf[1];
	running = buf[2];
	if (running == 0) {
		/* Enabled but never on the PMU: nothing to scale from. */
		if (enabled > 0)
			return -1;
		/* Never enabled: a true zero-length window. */
		*out = (double)value;
		return 0;
	}
	if (running < enabled)
		*out = (double)value * ((double)enabled / (double)running);
	else
		*out = (double)value;
	return 0;
}

void sl_counters_read(const struct sl_counter_set *set,
		      struct sl_thread_counters *tc, unsigned nthreads,
		      double *values)
{
	for (unsigned i = 0; i < set->n; i++) {
		double sum = 0.0;

		if (!set->ev[i].supported) {
			values[i] = NAN;
			continue;
		}
		for (unsigned t = 0; t < nthreads; t++) {
			double v;

			if (read_one(tc[t].fd[i], &v) < 0) {
				sum = NAN;
				break;
			}
			sum += v;
		}
		values[i] = sum;
	}
}

void sl_counters_close(const struct sl_counter_set *set,
		       struct sl_thread_counters *tc, unsigned nthreads)
{
	for (unsigned t = 0; t < nthreads; t++) {
		for (unsigned i = 0; i < set->n; i++) {
			if (tc[t].fd[i] >= 0)
				close(tc[t].fd[i]);
			tc[t].fd[i] = -1;
		}
	}
}
