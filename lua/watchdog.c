/*
 * watchdog.c - the tick's wall-clock deadline (watchdog.h).
 *
 * One watchdog per process (the process has one tick driver).  The thread
 * wakes every WATCH_STEP_NS, or at once when a signal handler posts the
 * semaphore of a forced exit.  It owns nothing but its own state; the
 * thaw is the scheduler's (xds_sched_thaw_all), the end of helper
 * processes the host's (xds_host_kill_helpers).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lua/policy.h"
#include "lua/guard.h"
#include "lua/watchdog.h"
#include "host/host.h"
#include "sched/sched.h"

#define WATCH_STEP_NS   100000000ULL    /* how often the deadline is looked at */
#define GRACE_NS        1000000000ULL   /* after the thaw, for the policy to come back */
#define FORCE_WAIT_S    5               /* a forced exit waits this long for the guard */

static pthread_t thread;
static bool running;
static sem_t wake;
static struct xds_sched *sched;
static struct xds_host *host;
static FILE *wlog;
static struct xds_policy *policy;     /* in the current policy call */
static uint64_t deadline_ns;
static atomic_bool in_policy, quit;
static atomic_uint_fast64_t entered_ns;
static volatile sig_atomic_t forced;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void xds_watchdog_enter_policy(struct xds_policy *p)
{
	policy = p;
	xds_guard_set_stopped(false);
	atomic_store(&entered_ns, mono_ns());
	atomic_store(&in_policy, true);
	xds_guard_unlock();
}

bool xds_watchdog_leave_policy(void)
{
	xds_guard_lock();
	atomic_store(&in_policy, false);
	return xds_guard_take_stopped();
}

/* Every held task back to its guest's scheduler; the guard is held. */
static int thaw(void)
{
	struct xds_err err = {""};
	if (sched && xds_sched_thaw_all(sched, &err) < 0) {
		fprintf(wlog, "xds-lua: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* With the guard held, the host is closed (helpers stopped, their files
 * removed): nothing else reads it any more; without, helpers are killed. */
static void finish(int status, bool guarded)
{
	fflush(NULL);
	if (guarded)
		xds_host_free(host);
	else
		xds_host_kill_helpers(host);
	_exit(status);
}

/* The policy overran: thaw, then give it GRACE_NS to come back. */
/* The guard within FORCE_WAIT_S (the tick thread leaves the policy, then
 * ends its tick), or false: the thread that holds it is stuck elsewhere. */
static bool guard_within(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += FORCE_WAIT_S;
	return xds_guard_timedlock(&ts) == 0;
}

static void overrun(uint64_t since)
{
	if (!guard_within())
		return;                 /* looked at again on the next step */
	if (!atomic_load(&in_policy) || atomic_load(&entered_ns) != since) {
		xds_guard_unlock();     /* it came back meanwhile */
		return;
	}
	xds_guard_set_stopped(true);
	int rc = thaw();
	const char *name = xds_policy_name(policy);
	fprintf(wlog, "xds-lua: policy %s overran the tick's deadline (%llu ms) inside one call; %s\n",
		name, (unsigned long long)(deadline_ns / 1000000),
		rc ? "some tasks could not be thawed (the journal keeps them)"
		   : "every task is thawed, the guests run on their own schedulers");
	fflush(wlog);
	xds_policy_interrupt(policy);
	xds_guard_unlock();
	uint64_t t0 = mono_ns();
	while (mono_ns() - t0 < GRACE_NS)
		if (!atomic_load(&in_policy) || atomic_load(&quit))
			return;         /* back: the tick thread stops the policy */
		else
			usleep(10000);
	fprintf(wlog, "xds-lua: policy %s does not come back; exiting\n", name);
	finish(1, guard_within());
}

/* A second signal while the first is not delivered: thaw if the guard
 * can be had (the tick thread is in the policy, or waits), then exit. */
static void force(void)
{
	bool guarded = guard_within();
	if (guarded) {
		xds_guard_set_stopped(true);
		int rc = thaw();
		fprintf(wlog, "xds-lua: forced exit: %s\n", rc ? "some tasks could not be thawed (the journal keeps them)"
			     : "every task thawed");
	} else {
		fprintf(wlog, "xds-lua: forced exit: a guest operation does not end; tasks still held stay in "
			"the journal (xds-lua --recover)\n");
	}
	finish(128 + (int)forced, guarded);
}

static void *watch(void *arg)
{
	(void)arg;
	while (!atomic_load(&quit)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)WATCH_STEP_NS;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (sem_timedwait(&wake, &ts) < 0 && errno == EINTR)
			;
		if (atomic_load(&quit))
			break;
		if (forced && !atomic_load(&quit))
			force();
		uint64_t since = atomic_load(&entered_ns);
		if (atomic_load(&in_policy) && !xds_guard_stopped() && mono_ns() - since > deadline_ns)
			overrun(since);
	}
	return NULL;
}

int xds_watchdog_start(struct xds_sched *s, struct xds_host *h, FILE *f, uint64_t deadline,
		       struct xds_err *err)
{
	if (running)
		return 0;
	sched = s;
	host = h;
	wlog = f ? f : stderr;
	deadline_ns = deadline;
	atomic_store(&quit, false);
	if (sem_init(&wake, 0, 0))
		return xds_fail(err, "watchdog: semaphore: %s", strerror(errno));
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&thread, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		sem_destroy(&wake);
		return xds_fail(err, "watchdog: thread: %s", strerror(e));
	}
	running = true;
	return 0;
}

void xds_watchdog_stop(void)
{
	if (!running)
		return;
	atomic_store(&quit, true);     /* the caller thaws now: a forced exit waits */
	sem_post(&wake);
	pthread_join(thread, NULL);
	sem_destroy(&wake);
	running = false;
}

bool xds_watchdog_force(int sig)
{
	if (!running)
		return false;
	forced = sig;
	sem_post(&wake);
	return true;
}
