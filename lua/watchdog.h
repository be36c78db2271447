/*
 * watchdog.h - the tick's wall-clock deadline, and the guard of the guests.
 *
 * The policy's instruction budget (policy.c) cannot stop one C call that
 * never returns (a regular expression that backtracks for ever).  A
 * watchdog thread watches the time the tick thread spends inside the
 * policy; past the deadline it takes the guard, thaws every held task,
 * stops the policy, and if the policy still does not come back ends the
 * process, the guests left to their own schedulers (sched_ext's rule: any
 * policy failure gives the guests back).  The second signal of a forced
 * exit comes here too, so that it thaws before it exits.
 *
 * The guard it takes before it thaws is guard.h's.
 */
#ifndef XDS_LUA_WATCHDOG_H
#define XDS_LUA_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#include <stdio.h>

struct xds_host;
struct xds_sched;
struct xds_policy;

/* Start the thread for s (may be NULL) on h, messages on log (signals
 * blocked in it). */
int xds_watchdog_start(struct xds_sched *s, struct xds_host *h, FILE *log, uint64_t deadline_ns,
		       struct xds_err *err);
/* Join it; a forced exit asked from now on is ignored (the caller thaws). */
void xds_watchdog_stop(void);

/* The tick thread enters policy p (releasing the guard) and leaves it
 * (taking it again): true if the watchdog fired meanwhile (every task is
 * thawed; the policy must be stopped). */
void xds_watchdog_enter_policy(struct xds_policy *p);
bool xds_watchdog_leave_policy(void);

/* From a signal handler (async-signal-safe): thaw, then _exit(128 + sig).
 * false if no watchdog runs (the caller exits on its own). */
bool xds_watchdog_force(int sig);

#endif
