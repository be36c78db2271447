/*
 * repl_int.h - what the files of the REPL share, and nothing else.
 *
 * repl.c owns the loop and the terminal; interrupt.c SIGINT, SIGTERM
 * and quit() while the REPL runs; complete.c the tab completion;
 * helpers.c the global helpers (ps, top, freeze, ...) and the task fields
 * they and the completion name; history.c where the history file lives.
 * Calls go one way: repl.c -> complete.c -> helpers.c -> interrupt.c,
 * and repl.c -> helpers.c, interrupt.c, history.c.
 */
#ifndef XDS_REPL_INT_H
#define XDS_REPL_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

/* interrupt.c.  The signal (SIGINT, SIGTERM) that interrupted the running
 * command, or 0.  The tick driver's stop flag points here while the REPL
 * runs. */
extern volatile sig_atomic_t xds_repl_signal;

/* Catch SIGINT and SIGTERM for a REPL on L (and see whether stdin is a
 * terminal); release them as they were before. */
void xds_repl_catch_signals(lua_State *L);
void xds_repl_release_signals(void);
/* Around each command: a signal during it stops its Lua code. */
void xds_repl_command_begin(void);
void xds_repl_command_end(lua_State *L);
/* A command took the interruption itself (top): it ends quietly. */
void xds_repl_clear_interrupt(lua_State *L);
/* quit() was called: the loop ends after this command. */
void xds_repl_request_quit(void);
/* quit() or SIGTERM: no more commands. */
bool xds_repl_quitting(void);
/* Whether stdin is the terminal the REPL prompts on. */
bool xds_repl_is_tty(void);

/* Register the helpers (ps, top, freeze, thaw, frozen, step, run, load,
 * unload, stats, help, quit) as globals of L. */
void xds_repl_helpers_open(lua_State *L);
/* Task field names, NULL-terminated, in the order help("task") lists them. */
extern const char *const xds_repl_task_fields[];

/* Readline's completion over L's globals, xds.* and task fields. */
void xds_repl_complete_init(lua_State *L);
char **xds_repl_complete(const char *text, int start, int end);

/* The history file: $XDG_STATE_HOME/xds-lua/history when XDG_STATE_HOME
 * is set, else ~/.xds_lua_history; its folder is created.  NULL if
 * neither HOME nor XDG_STATE_HOME is set. */
const char *xds_repl_history_path(char *buf, size_t size);

#endif
