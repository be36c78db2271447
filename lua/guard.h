/*
 * guard.h - the guard of the guests and of the scheduler's held set.
 *
 * One recursive mutex per process: whoever reads or writes a guest or the
 * held set holds it.  The tick thread holds it through a tick except while
 * the policy runs; the policy's own calls into the scheduler (task:freeze,
 * task:thaw, task.frozen) take it.  The watchdog (watchdog.c) takes it
 * before it thaws, so it never writes a guest while the tick thread does,
 * and marks the policy call stopped: its later wishes are refused.
 */
#ifndef XDS_LUA_GUARD_H
#define XDS_LUA_GUARD_H

#include <stdbool.h>

void xds_guard_lock(void);
void xds_guard_unlock(void);
/* pthread_mutex_timedlock's: 0 when held. */
struct timespec;
int xds_guard_timedlock(const struct timespec *abs_realtime);
/* The watchdog stopped the running policy call (until the call is left). */
bool xds_guard_stopped(void);
void xds_guard_set_stopped(bool stopped);
/* Reads and clears it. */
bool xds_guard_take_stopped(void);

#endif
