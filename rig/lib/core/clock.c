/* Monotonic clock, sleeping, wall time, interrupt flag and version. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include <rig/rig.h>

#include "core/core.h"

int64_t rig_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t rig_clock_ms(void)
{
	return rig_clock_ns() / 1000000LL;
}

void rig_sleep_ns(int64_t ns)
{
	struct timespec req;
	if (ns <= 0)
		return;
	req.tv_sec = (time_t)(ns / 1000000000LL);
	req.tv_nsec = (long)(ns % 1000000000LL);
	while (nanosleep(&req, &req) != 0 && errno == EINTR && !rig_interrupted())
		;
}

int64_t rig_wall_time_s(void)
{
	return (int64_t)time(NULL);
}

/* 0: not interrupted; -1: rig_request_interrupt; else the signal number.
 * Atomic, not only sig_atomic_t: the nests' threads read it (a lock-free
 * atomic is also safe in a signal handler). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the interrupt flag is set in a signal handler");
static atomic_int interrupt_flag;

static void set_flag(int value)
{
	int none = 0;
	atomic_compare_exchange_strong(&interrupt_flag, &none, value);
}

static void on_signal(int sig)
{
	int saved = errno;
	set_flag(sig);
	errno = saved;
}

void rig_install_interrupt_handlers(void)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* terminal closed: stop as cleanly as on Ctrl-C */
	signal(SIGPIPE, SIG_IGN);
}

/* A nest's thread stops on its own token as on Ctrl-C (rig_station), so
 * every wait below the runner honours it without knowing of nests. */
static _Thread_local const atomic_int *thread_cancel;

void rigi_set_thread_cancel(const atomic_int *token)
{
	thread_cancel = token;
}

const atomic_int *rigi_thread_cancel(void)
{
	return thread_cancel;
}

static int thread_cancelled(void)
{
	return thread_cancel && atomic_load(thread_cancel);
}

int rig_interrupted(void)
{
	return atomic_load(&interrupt_flag) != 0 || thread_cancelled();
}

void rig_request_interrupt(void)
{
	set_flag(-1);
}

const char *rig_interrupt_cause(void)
{
	int flag = atomic_load(&interrupt_flag);
	if (!flag && thread_cancelled())
		return "this nest was stopped by the operator (the others go on)";
	switch (flag) {
	case SIGINT:
		return "interrupted by the operator (Ctrl-C)";
	case SIGTERM:
		return "terminated by SIGTERM (a service manager or kill)";
	case SIGHUP:
		return "stopped: its terminal closed (SIGHUP)";
	default:
		return "stopped by the operator";
	}
}

const char *rig_version(void)
{
	return RIG_VERSION; /* project(VERSION) in CMakeLists.txt */
}

const char *rig_build_commit(void)
{
#ifdef RIG_BUILD_COMMIT
	return RIG_BUILD_COMMIT;
#else
	return "unknown";
#endif
}
