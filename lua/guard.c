/*
 * guard.c - the guard (guard.h): a recursive mutex and the stopped flag.
 * Calls nothing of ours, so that every file of lua/ may take it.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "lua/guard.h"

static pthread_mutex_t guard;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_bool stopped;

static void init(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&guard, &a);
	pthread_mutexattr_destroy(&a);
}

void xds_guard_lock(void)
{
	pthread_once(&once, init);
	pthread_mutex_lock(&guard);
}

void xds_guard_unlock(void)
{
	pthread_mutex_unlock(&guard);
}

int xds_guard_timedlock(const struct timespec *abs_realtime)
{
	pthread_once(&once, init);
	return pthread_mutex_timedlock(&guard, abs_realtime);
}

bool xds_guard_stopped(void)
{
	return atomic_load(&stopped);
}

void xds_guard_set_stopped(bool v)
{
	atomic_store(&stopped, v);
}

bool xds_guard_take_stopped(void)
{
	return atomic_exchange(&stopped, false);
}
