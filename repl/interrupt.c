/*
 * interrupt.c - how a running REPL is interrupted: SIGINT, SIGTERM, quit().
 *
 * While the REPL runs it owns both signals.  A signal is noted in
 * xds_repl_signal (the tick driver's stop flag points there, so the tick
 * loops stop between two ticks); during a command it also sets a Lua hook
 * that raises "interrupted!" (or "terminated") at the next instruction;
 * SIGTERM and quit() end the loop after the command, and without a
 * terminal SIGTERM closes stdin so that a blocked read returns.  Whether
 * stdin is a terminal is taken here too, when the signals are caught, as
 * the handler needs it.  The loop (repl.c) and the helpers (helpers.c)
 * call this file; it calls neither.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "repl/repl_int.h"

volatile sig_atomic_t xds_repl_signal;
static lua_State *replL;                /* the state a signal stops */
static volatile sig_atomic_t running;   /* a command runs */
static volatile sig_atomic_t quitting;  /* quit() or SIGTERM */
static bool tty;
static struct sigaction old_int, old_term;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	luaL_error(L, "%s", xds_repl_signal == SIGTERM ? "terminated" : "interrupted!");
}

static void on_signal(int sig)
{
	xds_repl_signal = sig;
	if (sig == SIGTERM) {
		quitting = 1;
		if (!tty)
			close(STDIN_FILENO);
	}
	if (running && replL)
		lua_sethook(replL, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

void xds_repl_catch_signals(lua_State *L)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	tty = isatty(STDIN_FILENO);
	replL = L;
	quitting = 0;
	xds_repl_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
}

void xds_repl_release_signals(void)
{
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	replL = NULL;
}

void xds_repl_command_begin(void)
{
	if (xds_repl_signal == SIGINT)
		xds_repl_signal = 0;
	running = 1;
}

void xds_repl_command_end(lua_State *L)
{
	running = 0;
	xds_repl_clear_interrupt(L);
}

void xds_repl_clear_interrupt(lua_State *L)
{
	if (lua_gethook(L) == stop_hook)
		lua_sethook(L, NULL, 0, 0);
	if (xds_repl_signal == SIGINT)
		xds_repl_signal = 0;
}

void xds_repl_request_quit(void)
{
	quitting = 1;
}

bool xds_repl_quitting(void)
{
	return quitting;
}

bool xds_repl_is_tty(void)
{
	return tty;
}
