/*
 * ipc-latency: round trips between two processes through each classic IPC
 * mechanism -- pipe, named pipe (FIFO), POSIX message queue, Unix domain
 * socket, shared memory with a futex hand-off, real-time signals -- with the
 * echo process on the same CPU as the measuring thread or on another one.
 *
 * Each mechanism is a lab descriptor: init creates the channel and forks the
 * echo process (pinned to the CPU in lab_arg), which answers every request
 * with the same 32-bit value; the runner's one thread (pinned with the
 * point's placement) does one round trip per step and times it; destroy
 * tells the child to exit and reaps it, killing it if it does not.
 *
 * Nothing outlives a run: the FIFOs' and queues' names (unique: pid and
 * object address) are unlinked as soon as both processes hold them open,
 * the shared page is an anonymous MAP_SHARED mapping, the socket a
 * socketpair, and the child dies with the parent (PR_SET_PDEATHSIG) and
 * ignores the terminal's Ctrl-C so the parent decides when it goes.  The
 * parent keeps a writable end of its own reply channel: stop() posts a stop
 * message there so a step blocked on a reply returns, whatever the child
 * does, and no write ever finds a channel without a reader (no SIGPIPE).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab/lab.h"
#include "util/clock.h"
#include "util/hist.h"

enum ipc_mech { M_PIPE, M_FIFO, M_MQUEUE, M_SOCKET, M_SHM, M_SIGNAL, NMECH };

static const char *const mech_name[NMECH] = {
	"pipe", "fifo", "mqueue", "unix-socket", "shm+futex", "signal",
};

/* Requests are 1..IPC_SEQ_MAX; the two control values lie above. */
#define IPC_SEQ_MAX 0x3fffffffu
#define IPC_READY 0x40000000u /* the child is set up */
#define IPC_STOP 0x40000001u  /* to the child: exit; to the parent: stop() */

#define IPC_START_TIMEOUT_NS (5 * SL_NS_PER_SEC)
#define IPC_EXIT_TIMEOUT_NS (1 * SL_NS_PER_SEC)

/* The page both processes map: the request and the reply word, each on its
 * own line so the two directions do not share one. */
struct ipc_shm {
	alignas(SL_CACHELINE) _Atomic uint32_t req;
	alignas(SL_CACHELINE) _Atomic uint32_t rep;
	/* Signals: the parent thread that waits for replies.  Replies are
	 * sent to it alone: a process-directed signal could be taken by any
	 * thread that does not block it (one left running by an earlier
	 * stuck point, say), and a real-time signal's default action ends
	 * the process. */
	alignas(SL_CACHELINE) _Atomic int32_t rep_tid;
};

struct ipc {
	enum ipc_mech mech;
	int child_cpu;
	pid_t child;          /* 0: none (not started, or reaped) */
	int child_status;     /* wait status once reaped early by check() */
	bool child_reaped;

	int to_child;         /* requests (pipe, FIFO, socket) */
	int from_child;       /* replies */
	int wake_self;        /* writes into from_child's channel, for stop() */
	int spare;            /* a held end that keeps a reader (no SIGPIPE) */
	mqd_t mq_req, mq_rep;
	struct ipc_shm *shm;
	uint32_t last_rep;    /* shm: the reply word as last seen */
	int sig_req, sig_rep;
	sigset_t saved_mask;  /* signals: the main thread's mask before init */
	bool mask_saved;
	char fifo_req[128], fifo_rep[128];

	atomic_int stopping;
	_Atomic bool stop_posted;

	/* The measuring thread's alone; check and figures read them after the
	 * join. */
	alignas(SL_CACHELINE) uint32_t seq;
	bool in_window;
	int error;            /* first errno of a failed round trip */
	const char *error_op;
	uint32_t bad_reply, bad_for; /* a reply that was not the request */
	struct sl_hist rtt;
};

/* --- one message each way, per mechanism ----------------------------------- */

static long futex_shared(_Atomic uint32_t *w, int op, uint32_t val,
			 const struct timespec *timeout)
{
	/* No FUTEX_PRIVATE_FLAG: the word is in a mapping shared with the
	 * other process, so the kernel must key it by the page. */
	return syscall(SYS_futex, (uint32_t *)w, op, val, timeout, NULL, 0);
}

static int write_msg(int fd, uint32_t v)
{
	ssize_t n;

	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(v) ? 0 : -EIO;
}

/* A 4-byte message from fd; with a timeout (ns, 0: block), -ETIMEDOUT. */
static int read_msg(int fd, uint32_t *v, uint64_t timeout_ns)
{
	unsigned char *b = (unsigned char *)v;
	size_t got = 0;

	while (got < sizeof(*v)) {
		ssize_t n;

		if (timeout_ns) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int r = poll(&pfd, 1, (int)(timeout_ns / SL_NS_PER_MS) + 1);

			if (r < 0 && errno != EINTR)
				return -errno;
			if (r == 0)
				return -ETIMEDOUT;
			if (r < 0)
				continue;
		}
		n = read(fd, b + got, sizeof(*v) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		got += (size_t)n;
	}
	return 0;
}

static void abs_after(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ns / SL_NS_PER_SEC);
	ts->tv_nsec += (long)(ns % SL_NS_PER_SEC);
	if (ts->tv_nsec >= (long)SL_NS_PER_SEC) {
		ts->tv_sec++;
		ts->tv_nsec -= (long)SL_NS_PER_SEC;
	}
}

static int mq_put(mqd_t q, uint32_t v, bool wait)
{
	struct timespec now;
	int r;

	if (!wait) {
		/* An absolute time already past: never blocks on a full queue. */
		abs_after(&now, 0);
		return mq_timedsend(q, (const char *)&v, sizeof(v), 0, &now) < 0 ? -errno : 0;
	}
	do
		r = mq_send(q, (const char *)&v, sizeof(v), 0);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int mq_get(mqd_t q, uint32_t *v, uint64_t timeout_ns)
{
	char buf[64]; /* the queue's message size (8) or more */
	struct timespec until;
	ssize_t n;

	if (timeout_ns)
		abs_after(&until, timeout_ns);
	do
		n = timeout_ns ? mq_timedreceive(q, buf, sizeof(buf), NULL, &until)
			       : mq_receive(q, buf, sizeof(buf), NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != sizeof(*v))
		return -EIO;
	memcpy(v, buf, sizeof(*v));
	return 0;
}

static int sig_put(pid_t to, int sig, uint32_t v)
{
	union sigval sv = { .sival_int = (int)v };

	return sigqueue(to, sig, sv) < 0 ? -errno : 0;
}

/* sig_put to one thread of process pid: rt_tgsigqueueinfo, sigqueue's
 * thread-directed twin (glibc has no wrapper). */
static int sig_put_thread(pid_t pid, pid_t tid, int sig, uint32_t v)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = (int)v;
	return syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &si) < 0 ? -errno : 0;
}

/* Child: a reply to the parent thread that waits for it.  That thread may
 * have left already (a request sent as the run stopped): nobody needs the
 * reply then, and the echo goes on. */
static int sig_reply(const struct ipc *p, pid_t parent, uint32_t v)
{
	/* acquire: pairs with sig_reply_to_me */
	pid_t tid = atomic_load_explicit(&p->shm->rep_tid, memory_order_acquire);
	int rc = sig_put_thread(parent, tid, p->sig_rep, v);

	return rc == -ESRCH ? 0 : rc;
}

/* Signals: the thread that waits for replies from now on. */
static void sig_reply_to_me(struct ipc *p)
{
	/* release: the request this thread sends next carries it to the
	 * child, whose acquire load follows the request's arrival */
	atomic_store_explicit(&p->shm->rep_tid, (int32_t)gettid(), memory_order_release);
}

static int sig_get(int sig, uint32_t *v, uint64_t timeout_ns)
{
	sigset_t set;
	siginfo_t si;
	int r;

	sigemptyset(&set);
	sigaddset(&set, sig);
	do {
		if (timeout_ns) {
			struct timespec ts = { (time_t)(timeout_ns / SL_NS_PER_SEC),
					       (long)(timeout_ns % SL_NS_PER_SEC) };

			r = sigtimedwait(&set, &si, &ts);
		} else {
			r = sigwaitinfo(&set, &si);
		}
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	*v = (uint32_t)si.si_value.sival_int;
	return 0;
}

/* Parent: send a request. */
static int send_req(struct ipc *p, uint32_t v)
{
	switch (p->mech) {
	case M_MQUEUE:
		return mq_put(p->mq_req, v, true);
	case M_SHM:
		/* release: pairs with the child's acquire load of req */
		atomic_store_explicit(&p->shm->req, v, memory_order_release);
		return futex_shared(&p->shm->req, FUTEX_WAKE, 1, NULL) < 0 ? -errno : 0;
	case M_SIGNAL:
		sig_reply_to_me(p);
		return sig_put(p->child, p->sig_req, v);
	default:
		return write_msg(p->to_child, v);
	}
}

/* Parent: the next reply (or stop()'s message); timeout 0 blocks. */
static int recv_rep(struct ipc *p, uint32_t *v, uint64_t timeout_ns)
{
	switch (p->mech) {
	case M_MQUEUE:
		return mq_get(p->mq_rep, v, timeout_ns);
	case M_SHM: {
		struct timespec ts = { (time_t)(timeout_ns / SL_NS_PER_SEC),
				       (long)(timeout_ns % SL_NS_PER_SEC) };

		for (;;) {
			/* acquire: pairs with the child's release store of rep */
			uint32_t r = atomic_load_explicit(&p->shm->rep, memory_order_acquire);

			if (r != p->last_rep) {
				p->last_rep = r;
				*v = r;
				return 0;
			}
			if (futex_shared(&p->shm->rep, FUTEX_WAIT, r,
					 timeout_ns ? &ts : NULL) < 0 &&
			    errno == ETIMEDOUT)
				return -ETIMEDOUT;
		}
	}
	case M_SIGNAL:
		return sig_get(p->sig_rep, v, timeout_ns);
	default:
		return read_msg(p->from_child, v, timeout_ns);
	}
}

/* --- the echo process --------------------------------------------------------- */

enum { CHILD_OK, CHILD_PIN_FAILED = 3, CHILD_OPEN_FAILED, CHILD_IO_FAILED };

static _Noreturn void echo_child(struct ipc *p, pid_t parent)
{
	cpu_set_t one;
	uint32_t v, last = 0;
	int in = -1, out = -1, rc;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(CHILD_OK); /* the parent is already gone */
	if (p->child_cpu >= 0) {
		CPU_ZERO(&one);
		CPU_SET(p->child_cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			_exit(CHILD_PIN_FAILED);
	}
	switch (p->mech) {
	case M_PIPE:
		in = p->spare;       /* the request pipe's read end */
		out = p->wake_self;  /* the reply pipe's write end */
		break;
	case M_SOCKET:
		in = out = p->wake_self;
		break;
	case M_FIFO:
		/* By name, as unrelated processes would: the parent already
		 * holds both ends, so neither open blocks. */
		in = open(p->fifo_req, O_RDONLY | O_CLOEXEC);
		out = open(p->fifo_rep, O_WRONLY | O_CLOEXEC);
		if (in < 0 || out < 0)
			_exit(CHILD_OPEN_FAILED);
		break;
	default:
		break;
	}
	/* Announce readiness on the reply channel. */
	switch (p->mech) {
	case M_MQUEUE:
		rc = mq_put(p->mq_rep, IPC_READY, true);
		break;
	case M_SHM:
		atomic_store_explicit(&p->shm->rep, IPC_READY, memory_order_release);
		rc = futex_shared(&p->shm->rep, FUTEX_WAKE, 1, NULL) < 0 ? -errno : 0;
		break;
	case M_SIGNAL:
		rc = sig_reply(p, parent, IPC_READY);
		break;
	default:
		rc = write_msg(out, IPC_READY);
		break;
	}
	if (rc < 0)
		_exit(CHILD_IO_FAILED);
	for (;;) {
		switch (p->mech) {
		case M_MQUEUE:
			rc = mq_get(p->mq_req, &v, 0);
			if (rc == 0 && v != IPC_STOP)
				rc = mq_put(p->mq_rep, v, true);
			break;
		case M_SHM:
			for (;;) {
				/* acquire: pairs with send_req's release store */
				v = atomic_load_explicit(&p->shm->req, memory_order_acquire);
				if (v != last)
					break;
				futex_shared(&p->shm->req, FUTEX_WAIT, v, NULL);
			}
			last = v;
			rc = 0;
			if (v != IPC_STOP) {
				/* release: pairs with recv_rep's acquire load */
				atomic_store_explicit(&p->shm->rep, v, memory_order_release);
				rc = futex_shared(&p->shm->rep, FUTEX_WAKE, 1, NULL) < 0 ? -errno : 0;
			}
			break;
		case M_SIGNAL:
			rc = sig_get(p->sig_req, &v, 0);
			if (rc == 0 && v != IPC_STOP)
				rc = sig_reply(p, parent, v);
			break;
		default:
			rc = read_msg(in, &v, 0);
			if (rc == 0 && v != IPC_STOP)
				rc = write_msg(out, v);
			break;
		}
		if (rc < 0)
			_exit(rc == -EPIPE ? CHILD_OK : CHILD_IO_FAILED);
		if (v == IPC_STOP)
			_exit(CHILD_OK);
	}
}

/* --- set-up and tear-down ------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void describe_exit(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_PIN_FAILED)
		snprintf(buf, n, "could not pin itself to its CPU");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_OPEN_FAILED)
		snprintf(buf, n, "could not open the FIFOs by name");
	else if (WIFEXITED(st))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
	else
		snprintf(buf, n, "stopped");
}

/* Ask the child to exit, give it a moment, then kill it; always reaps. */
static void stop_child(struct ipc *p)
{
	uint64_t t0 = sl_now_ns();
	int st;

	if (p->child <= 0 || p->child_reaped)
		return;
	if (p->mech == M_MQUEUE)
		mq_put(p->mq_req, IPC_STOP, false);
	else
		send_req(p, IPC_STOP);
	while (waitpid(p->child, &st, WNOHANG) == 0) {
		if (sl_now_ns() - t0 > IPC_EXIT_TIMEOUT_NS) {
			kill(p->child, SIGKILL);
			while (waitpid(p->child, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		sl_sleep_ns(SL_NS_PER_MS, NULL);
	}
	p->child_reaped = true;
}

static void drain_signals(int sig)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	while (sigtimedwait(&set, NULL, &zero) >= 0)
		;
}

static void ipc_destroy(void *obj)
{
	struct ipc *p = obj;

	stop_child(p);
	close_fd(&p->to_child);
	close_fd(&p->from_child);
	close_fd(&p->wake_self);
	close_fd(&p->spare);
	if (p->mq_req != (mqd_t)-1)
		mq_close(p->mq_req);
	if (p->mq_rep != (mqd_t)-1)
		mq_close(p->mq_rep);
	p->mq_req = p->mq_rep = (mqd_t)-1;
	if (p->fifo_req[0])
		unlink(p->fifo_req);
	if (p->fifo_rep[0])
		unlink(p->fifo_rep);
	p->fifo_req[0] = p->fifo_rep[0] = '\0';
	if (p->shm)
		munmap(p->shm, sizeof(*p->shm));
	p->shm = NULL;
	if (p->mask_saved) {
		/* Nothing may be left pending once unblocked: a real-time
		 * signal's default action ends the process. */
		drain_signals(p->sig_req);
		drain_signals(p->sig_rep);
		pthread_sigmask(SIG_SETMASK, &p->saved_mask, NULL);
		p->mask_saved = false;
	}
}

/* The page parent and child share (MAP_SHARED survives the fork). */
static int map_shm(struct ipc *p, struct sl_err *err)
{
	p->shm = mmap(NULL, sizeof(*p->shm), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->shm == MAP_FAILED) {
		p->shm = NULL;
		return sl_err_set(err, -errno, "mmap(MAP_SHARED): %s", strerror(errno));
	}
	atomic_init(&p->shm->req, 0);
	atomic_init(&p->shm->rep, 0);
	atomic_init(&p->shm->rep_tid, 0);
	p->last_rep = 0;
	return 0;
}

static int open_channel(struct ipc *p, struct sl_err *err)
{
	int a[2], b[2];

	switch (p->mech) {
	case M_PIPE:
		if (pipe2(a, O_CLOEXEC) < 0)
			return sl_err_set(err, -errno, "pipe: %s", strerror(errno));
		if (pipe2(b, O_CLOEXEC) < 0) {
			int e = errno;

			close(a[0]);
			close(a[1]);
			return sl_err_set(err, -e, "pipe: %s", strerror(e));
		}
		p->to_child = a[1];
		p->spare = a[0];
		p->from_child = b[0];
		p->wake_self = b[1];
		return 0;
	case M_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) < 0)
			return sl_err_set(err, -errno, "socketpair(AF_UNIX): %s", strerror(errno));
		p->to_child = p->from_child = a[0];
		p->wake_self = a[1];
		return 0;
	case M_FIFO: {
		const char *dir = getenv("TMPDIR");

		if (!dir || !*dir)
			dir = "/tmp";
		/* A cut path would name a FIFO in another directory. */
		if ((size_t)snprintf(p->fifo_req, sizeof(p->fifo_req), "%s/synclab-%d-%p.req", dir,
				     (int)getpid(), (void *)p) >= sizeof(p->fifo_req) ||
		    (size_t)snprintf(p->fifo_rep, sizeof(p->fifo_rep), "%s/synclab-%d-%p.rep", dir,
				     (int)getpid(), (void *)p) >= sizeof(p->fifo_rep)) {
			p->fifo_req[0] = p->fifo_rep[0] = '\0';
			return sl_err_set(err, -ENAMETOOLONG,
					  "TMPDIR '%.100s...' is too long for a FIFO path (accepted: under %zu characters)",
					  dir, sizeof(p->fifo_req) - 40);
		}
		if (mkfifo(p->fifo_req, 0600) < 0) {
			int e = errno;

			p->fifo_req[0] = p->fifo_rep[0] = '\0';
			return sl_err_set(err, -e, "mkfifo in '%s': %s", dir, strerror(e));
		}
		if (mkfifo(p->fifo_rep, 0600) < 0) {
			int e = errno;

			p->fifo_rep[0] = '\0';
			return sl_err_set(err, -e, "mkfifo in '%s': %s", dir, strerror(e));
		}
		/* O_RDWR opens a FIFO without waiting for a peer (Linux), and
		 * the parent's own reader and writer stay for the whole run. */
		p->to_child = open(p->fifo_req, O_RDWR | O_CLOEXEC);
		p->from_child = open(p->fifo_rep, O_RDWR | O_CLOEXEC);
		if (p->to_child < 0 || p->from_child < 0)
			return sl_err_set(err, -errno, "open FIFO: %s", strerror(errno));
		p->wake_self = dup(p->from_child);
		return p->wake_self < 0 ? sl_err_set(err, -errno, "dup: %s", strerror(errno)) : 0;
	}
	case M_MQUEUE: {
		struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 8 };
		char rq[96], rp[96];

		snprintf(rq, sizeof(rq), "/synclab-%d-%p-req", (int)getpid(), (void *)p);
		snprintf(rp, sizeof(rp), "/synclab-%d-%p-rep", (int)getpid(), (void *)p);
		p->mq_req = mq_open(rq, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (p->mq_req == (mqd_t)-1)
			return sl_err_set(err, -errno, "mq_open: %s", strerror(errno));
		mq_unlink(rq);
		p->mq_rep = mq_open(rp, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (p->mq_rep == (mqd_t)-1)
			return sl_err_set(err, -errno, "mq_open: %s", strerror(errno));
		/* The child inherits both descriptors: no name is needed. */
		mq_unlink(rp);
		return 0;
	}
	case M_SHM:
		return map_shm(p, err);
	case M_SIGNAL: {
		sigset_t set;
		int rc = map_shm(p, err);

		if (rc < 0)
			return rc;
		/* The main thread waits for the child's readiness. */
		sig_reply_to_me(p);
		p->sig_req = SIGRTMIN + 4;
		p->sig_rep = SIGRTMIN + 5;
		if (p->sig_rep > SIGRTMAX)
			return sl_err_set(err, -ENOTSUP, "too few real-time signals");
		/* Blocked in this (the main) thread before the runner creates
		 * the measuring thread, which inherits the mask, and before the
		 * fork: both wait for them with sigwaitinfo, never a handler. */
		sigemptyset(&set);
		sigaddset(&set, p->sig_req);
		sigaddset(&set, p->sig_rep);
		pthread_sigmask(SIG_BLOCK, &set, &p->saved_mask);
		p->mask_saved = true;
		return 0;
	}
	default:
		return sl_err_set(err, -EINVAL, "no mechanism %d", (int)p->mech);
	}
}

static int ipc_init(void *obj, const struct sl_prim_conf *conf,
		    enum ipc_mech mech, struct sl_err *err)
{
	struct ipc *p = obj;
	pid_t parent = getpid();
	uint64_t t0;
	uint32_t v;
	int rc;

	memset(p, 0, sizeof(*p));
	p->mech = mech;
	p->child_cpu = (int)conf->lab_arg;
	p->to_child = p->from_child = p->wake_self = p->spare = -1;
	p->mq_req = p->mq_rep = (mqd_t)-1;
	atomic_init(&p->stopping, 0);
	atomic_init(&p->stop_posted, false);
	sl_hist_init(&p->rtt);
	if (conf->nthreads != 1) {
		rc = sl_err_set(err, -EINVAL, "the IPC round trip runs 1 thread, not %u", conf->nthreads);
		goto fail;
	}
	rc = open_channel(p, err);
	if (rc < 0)
		goto fail;
	p->child = fork();
	if (p->child < 0) {
		rc = sl_err_set(err, -errno, "fork: %s", strerror(errno));
		p->child = 0;
		goto fail;
	}
	if (p->child == 0)
		echo_child(p, parent);

	/* Ready: the child is pinned and holds its ends. */
	t0 = sl_now_ns();
	for (;;) {
		int st;

		rc = recv_rep(p, &v, 50 * SL_NS_PER_MS);
		if (rc == 0 && v == IPC_READY)
			break;
		if (rc < 0 && rc != -ETIMEDOUT) {
			rc = sl_err_set(err, rc, "waiting for the echo process: %s", strerror(-rc));
			goto fail;
		}
		if (waitpid(p->child, &st, WNOHANG) == p->child) {
			char why[96];

			p->child_reaped = true;
			describe_exit(st, why, sizeof(why));
			rc = sl_err_set(err, -ECHILD, "the echo process %s before it was ready", why);
			goto fail;
		}
		if (sl_now_ns() - t0 > IPC_START_TIMEOUT_NS) {
			rc = sl_err_set(err, -ETIMEDOUT, "the echo process did not start within 5 s");
			goto fail;
		}
	}
	if (p->fifo_req[0]) {
		unlink(p->fifo_req);
		unlink(p->fifo_rep);
		p->fifo_req[0] = p->fifo_rep[0] = '\0';
	}
	return 0;
fail:
	ipc_destroy(p);
	return rc;
}

#define IPC_INIT(fn, mech)                                                     \
	static int fn(void *obj, const struct sl_prim_conf *conf, struct sl_err *err) \
	{                                                                      \
		return ipc_init(obj, conf, mech, err);                         \
	}
IPC_INIT(init_pipe, M_PIPE)
IPC_INIT(init_fifo, M_FIFO)
IPC_INIT(init_mqueue, M_MQUEUE)
IPC_INIT(init_socket, M_SOCKET)
IPC_INIT(init_shm, M_SHM)
IPC_INIT(init_signal, M_SIGNAL)

/* POSIX message queues need CONFIG_POSIX_MQUEUE and may be limited. */
static bool mqueue_supported(char *why, size_t n)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 8 };
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/synclab-%d-probe", (int)getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (q == (mqd_t)-1) {
		snprintf(why, n, "POSIX message queues are not available: mq_open: %s%s",
			 strerror(errno),
			 errno == ENOSYS ? " (kernel built without CONFIG_POSIX_MQUEUE)" : "");
		return false;
	}
	mq_close(q);
	mq_unlink(name);
	return true;
}

/* --- the measured step ---------------------------------------------------------- */

static bool stopping(struct ipc *p)
{
	return atomic_load_explicit(&p->stopping, memory_order_relaxed);
}

static uint64_t ipc_step(void *obj, void *tctx, unsigned id)
{
	struct ipc *p = obj;
	uint64_t t0, t1;
	uint32_t v = 0, seq;
	int rc;

	(void)tctx;
	(void)id;
	if (stopping(p))
		return 0;
	if (p->error || p->bad_for) {
		/* Broken channel: check() reports it; do not spin meanwhile. */
		sl_sleep_ns(SL_NS_PER_MS, &p->stopping);
		return 0;
	}
	seq = p->seq = p->seq % IPC_SEQ_MAX + 1;
	t0 = sl_now_ns();
	rc = send_req(p, seq);
	if (rc == 0)
		rc = recv_rep(p, &v, 0);
	t1 = sl_now_ns();
	if (stopping(p))
		return 0;
	if (rc < 0) {
		p->error = -rc;
		p->error_op = "round trip";
		return 0;
	}
	if (v != seq) {
		p->bad_reply = v;
		p->bad_for = seq;
		return 0;
	}
	if (p->in_window)
		sl_hist_record(&p->rtt, t1 - t0);
	return 1;
}

static void ipc_window(void *obj, void *tctx, unsigned id)
{
	(void)tctx;
	(void)id;
	((struct ipc *)obj)->in_window = true;
}

/* Main thread, after the window: a stop message into the parent's own
 * reply channel wakes a step blocked on a reply. */
static void ipc_stop(void *obj)
{
	struct ipc *p = obj;

	atomic_store_explicit(&p->stopping, 1, memory_order_relaxed);
	/* relaxed: only this (main) thread posts */
	if (atomic_exchange_explicit(&p->stop_posted, true, memory_order_relaxed))
		return;
	switch (p->mech) {
	case M_MQUEUE:
		mq_put(p->mq_rep, IPC_STOP, false);
		break;
	case M_SHM:
		/* release: a step that reads STOP also sees stopping */
		atomic_store_explicit(&p->shm->rep, IPC_STOP, memory_order_release);
		futex_shared(&p->shm->rep, FUTEX_WAKE, INT_MAX, NULL);
		break;
	case M_SIGNAL:
		/* To the measuring thread; gone already, it needs no wake-up. */
		sig_put_thread(getpid(),
			       atomic_load_explicit(&p->shm->rep_tid, memory_order_acquire),
			       p->sig_rep, IPC_STOP);
		break;
	default:
		write_msg(p->wake_self, IPC_STOP);
		break;
	}
}

static void ipc_figures(void *obj, double out[SL_LAB_FIGURES])
{
	struct ipc *p = obj;

	out[0] = sl_hist_quantile(&p->rtt, 0.5);
	out[1] = sl_hist_quantile(&p->rtt, 0.99);
	out[2] = p->rtt.count ? (double)p->rtt.max : NAN;
	out[3] = p->rtt.count ? sl_hist_mean(&p->rtt) : NAN;
}

static int ipc_check(void *obj, struct sl_err *err)
{
	struct ipc *p = obj;
	int st;

	if (p->error)
		return sl_err_set(err, -EPROTO, "%s: %s failed: %s", mech_name[p->mech],
				  p->error_op, strerror(p->error));
	if (p->bad_for)
		return sl_err_set(err, -EPROTO, "%s: the reply to request %u was %u",
				  mech_name[p->mech], p->bad_for, p->bad_reply);
	if (p->child > 0 && !p->child_reaped && waitpid(p->child, &st, WNOHANG) == p->child) {
		char why[96];

		p->child_reaped = true;
		describe_exit(st, why, sizeof(why));
		return sl_err_set(err, -EPROTO, "%s: the echo process %s during the run",
				  mech_name[p->mech], why);
	}
	return 0;
}

#define IPC_DESC(c_name, mech, init_fn, supported_fn, what)                    \
	static const struct sl_prim c_name = {                                 \
		.name = "ipc-" what,                                            \
		.family = "lab",                                                \
		.kind = SL_KIND_LAB,                                            \
		.summary = "one round trip to an echo process through " what,   \
		.obj_size = sizeof(struct ipc),                                 \
		.init = init_fn,                                                \
		.destroy = ipc_destroy,                                         \
		.lab = { .step = ipc_step, .stop = ipc_stop,                    \
			 .figures = ipc_figures, .window = ipc_window },        \
		.check = ipc_check,                                             \
		.supported = supported_fn,                                      \
	}

IPC_DESC(ipc_pipe, M_PIPE, init_pipe, NULL, "pipe");
IPC_DESC(ipc_fifo, M_FIFO, init_fifo, NULL, "fifo");
IPC_DESC(ipc_mqueue, M_MQUEUE, init_mqueue, mqueue_supported, "mqueue");
IPC_DESC(ipc_socket, M_SOCKET, init_socket, NULL, "unix-socket");
IPC_DESC(ipc_shm, M_SHM, init_shm, NULL, "shm-futex");
IPC_DESC(ipc_signal, M_SIGNAL, init_signal, NULL, "signal");

/* --- the demo -------------------------------------------------------------------- */

enum { PL_SAME, PL_OTHER, PLACEMENTS };
static const char *const placement_name[PLACEMENTS] = { "same CPU", "other CPU" };

/* One mechanism at one placement, medians over the runs. */
struct ipc_result {
	bool ok;
	double p50_us, p99_us, rate;
};

enum { C_P50, C_P99, C_RATE, NCOLS };

static void explain(FILE *out, struct ipc_result r[NMECH][PLACEMENTS],
		    unsigned placements, int cpu_a, int cpu_b)
{
	char a[64], b[64], c[64];
	double ratio[NMECH];
	unsigned nr = 0, slower = 0;

	for (unsigned k = 0; k < placements; k++) {
		int lo = -1, hi = -1;

		for (int i = 0; i < NMECH; i++) {
			if (!r[i][k].ok)
				continue;
			if (lo < 0 || r[i][k].p50_us < r[lo][k].p50_us)
				lo = i;
			if (hi < 0 || r[i][k].p50_us > r[hi][k].p50_us)
				hi = i;
		}
		if (lo < 0)
			continue;
		fprintf(out, "Echo process on the %s: %s was fastest, %s per round trip\n"
			     "(%s); %s slowest, %s (%.1fx).\n",
			placement_name[k], mech_name[lo],
			sl_lab_fmt(a, sizeof(a), r[lo][k].p50_us, "us"),
			sl_lab_fmt(b, sizeof(b), r[lo][k].rate, "round trips/s"), mech_name[hi],
			sl_lab_fmt(c, sizeof(c), r[hi][k].p50_us, "us"),
			r[hi][k].p50_us / r[lo][k].p50_us);
	}
	for (int i = 0; i < NMECH; i++) {
		if (placements < 2 || !r[i][PL_SAME].ok || !r[i][PL_OTHER].ok)
			continue;
		ratio[nr++] = r[i][PL_OTHER].p50_us / r[i][PL_SAME].p50_us;
		slower += r[i][PL_OTHER].p50_us > r[i][PL_SAME].p50_us;
	}
	if (nr) {
		double mid = sl_stat_median(ratio, nr);

		if (slower * 2 > nr)
			fprintf(out,
				"Moving the echo process from CPU %d to CPU %d made %u of %u mechanisms slower\n"
				"(median %.2fx): on one CPU a round trip is two context switches and the data\n"
				"stays in that core's caches; across CPUs every message must wake a process on\n"
				"another CPU (an inter-processor interrupt, and that CPU's way out of idle --\n"
				"on a virtual machine a halted vCPU the hypervisor has to resume).\n",
				cpu_a, cpu_b, slower, nr, mid);
		else
			fprintf(out,
				"Moving the echo process from CPU %d to CPU %d made %u of %u mechanisms slower\n"
				"and the rest faster (median %.2fx): here both processes running at once on\n"
				"their own CPUs outweighed the cross-CPU wake-up and the cache-line transfers.\n",
				cpu_a, cpu_b, slower, nr, mid);
	}
	if (r[M_PIPE][PL_SAME].ok && r[M_SHM][PL_SAME].ok) {
		double pp = r[M_PIPE][PL_SAME].p50_us, sh = r[M_SHM][PL_SAME].p50_us;

		fprintf(out,
			"Shared memory with a futex skips the kernel's copy of the data but still\n"
			"sleeps and wakes on every message: %s against the pipe's %s (%.2fx),\n"
			"so %s.\n",
			sl_lab_fmt(a, sizeof(a), sh, "us"), sl_lab_fmt(b, sizeof(b), pp, "us"),
			pp / sh,
			pp / sh < 1.5 ? "most of a round trip is the sleep and wake-up, not the copy"
				      : "the copy and the channel's own bookkeeping are a real part of it");
	}
}

/* The chart's table: one bar group per mechanism, a bar per placement. */
static int save_chart(const struct sl_demo_ctx *ctx, FILE *out,
		      struct ipc_result r[NMECH][PLACEMENTS], unsigned placements,
		      struct sl_err *err)
{
	static const char *const names[PLACEMENTS] = { "same CPU p50", "other CPU p50" };
	static const char *const units[PLACEMENTS] = { "us", "us" };
	const struct sl_lab_chart chart = {
		.stem = "round-trip",
		.title = "IPC round trip between two processes, by mechanism and placement",
		.style = SL_LAB_BARS,
		.x_col = -1,
		.y_cols = { 0, 1 },
		.ny = placements,
		.ylabel = "round trip, median (us)",
	};
	struct sl_lab_table *t = sl_lab_table_new("mechanism", PLACEMENTS, names, units);
	int rc;

	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < NMECH; i++) {
		double v[PLACEMENTS];

		for (unsigned k = 0; k < PLACEMENTS; k++)
			v[k] = r[i][k].ok ? r[i][k].p50_us : NAN;
		if (sl_lab_table_add(t, mech_name[i], v) < 0) {
			sl_lab_table_free(t);
			return sl_err_set(err, -ENOMEM, "out of memory");
		}
	}
	rc = sl_lab_save(ctx, out, t, &chart, err);
	sl_lab_table_free(t);
	return rc;
}

static int ipc_latency_run(const struct sl_demo_ctx *ctx, FILE *out, struct sl_err *err)
{
	static const char *const names[NCOLS] = { "round trip p50", "p99", "rate" };
	static const char *const units[NCOLS] = { "us", "us", "round trips/s" };
	static const struct sl_pin_spec scatter = { .policy = SL_PIN_SCATTER,
						    .text = "scatter" };
	const struct sl_prim *descs[NMECH] = { &ipc_pipe, &ipc_fifo, &ipc_mqueue,
					       &ipc_socket, &ipc_shm, &ipc_signal };
	struct ipc_result res[NMECH][PLACEMENTS];
	struct sl_lab_table *t;
	struct sl_lab_pin pin;
	unsigned ran = 0, placements = ctx->pus >= 2 ? 2 : 1;
	char failed[SL_ERR_MAX] = "";
	int cpu[PLACEMENTS] = { 0, -1 }, rc = 0;
	bool over;

	memset(res, 0, sizeof(res));
	rc = sl_pin_place(ctx->topo, &scatter, placements, cpu, &over, err);
	if (rc < 0)
		return rc;
	if (placements == 2)
		fprintf(out,
			"One thread pinned to CPU %d sends a 4-byte request to an echo process and waits\n"
			"for the answer, through each mechanism; the echo process runs on CPU %d (same\n"
			"CPU) or on CPU %d (other CPU).  Every round trip is timed.\n\n",
			cpu[0], cpu[0], cpu[1]);
	else
		fprintf(out,
			"One thread pinned to CPU %d sends a 4-byte request to an echo process on the\n"
			"same CPU and waits for the answer, through each mechanism; every round trip is\n"
			"timed.  The other-CPU placement needs a second CPU: skipped.\n\n",
			cpu[0]);
	fflush(out);
	sl_lab_pin_list(&pin, &cpu[PL_SAME], 1);
	t = sl_lab_table_new("configuration", NCOLS, names, units);
	if (!t)
		return sl_err_set(err, -ENOMEM, "out of memory");
	for (int i = 0; i < NMECH; i++) {
		bool ok = false;

		for (unsigned k = 0; k < placements; k++) {
			struct sl_point pt = sl_lab_point(descs[i], 1);
			struct sl_lab_measure m;
			struct sl_err merr = { "" };
			char label[64];
			double v[NCOLS] = { NAN, NAN, NAN };

			pt.pin = &pin.spec;
			pt.lab_arg = cpu[k];
			rc = sl_lab_measure(ctx, &pt, &m, &merr);
			if (rc == -EINTR) {
				sl_err_set(err, rc, "%s", merr.msg);
				goto done;
			}
			if (rc < 0)
				fprintf(out, "  %s, %s: n/s, cannot run here: %s\n", mech_name[i],
					placement_name[k], merr.msg);
			else if (m.status == SL_STATUS_UNSUPPORTED)
				fprintf(out, "  %s, %s: n/s, %s\n", mech_name[i], placement_name[k],
					m.message);
			else if (m.status != SL_STATUS_OK) {
				fprintf(out, "  %s, %s: failed: %s\n", mech_name[i],
					placement_name[k], m.message);
				if (!failed[0])
					snprintf(failed, sizeof(failed), "%s", m.message);
			} else if (isnan(m.lab_figure[0])) {
				fprintf(out, "  %s, %s: no round trip finished inside the window; give a longer --duration\n",
					mech_name[i], placement_name[k]);
			} else {
				res[i][k] = (struct ipc_result){ true, m.lab_figure[0] / 1000.0,
								  m.lab_figure[1] / 1000.0,
								  m.ops_per_sec };
				v[C_P50] = res[i][k].p50_us;
				v[C_P99] = res[i][k].p99_us;
				v[C_RATE] = res[i][k].rate;
				ok = true;
			}
			rc = 0;
			snprintf(label, sizeof(label), "%s, %s", mech_name[i], placement_name[k]);
			if (sl_lab_table_add(t, label, v) < 0) {
				rc = sl_err_set(err, -ENOMEM, "out of memory");
				goto done;
			}
		}
		ran += ok;
	}
	fputc('\n', out);
	sl_lab_table_print(out, t);
	fputc('\n', out);
	if (ran) {
		explain(out, res, placements, cpu[0], cpu[1]);
		rc = sl_lab_save(ctx, out, t, NULL, err);
		if (rc == 0)
			rc = save_chart(ctx, out, res, placements, err);
	}
	if (rc == 0 && !ran)
		rc = sl_err_set(err, -ENOTSUP, "no IPC mechanism could run here");
	else if (rc == 0 && placements < 2)
		rc = sl_err_set(err, -ENOTSUP,
				"the other-CPU placement needs 2 CPUs (this process may use 1; run it where at least 2 CPUs are allowed)");
	else if (rc == 0 && failed[0])
		rc = sl_err_set(err, -EIO, "%s", failed);
done:
	sl_lab_table_free(t);
	return rc;
}

const struct sl_demo sl_demo_ipc_latency = {
	.name = "ipc-latency",
	.question = "how long does a round trip between two processes take, by IPC mechanism?",
	.run = ipc_latency_run,
};
