/*
 * repl_int.h - what the files of the REPL share, and nothing else.
 *
 * repl.c owns the loop, the terminal and SIGINT while the REPL runs;
 * complete.c the tab completion; helpers.c the global helpers (ps, top,
 * freeze, ...); history.c where the history file lives.
 */
#ifndef XDS_REPL_INT_H
#define XDS_REPL_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include <lua.h>

/* The signal (SIGINT, SIGTERM) that interrupted the running command, or
 * 0.  The tick driver's stop flag points here while the REPL runs. */
extern volatile sig_atomic_t xds_repl_signal;

/* A command took the interruption itself (top): it ends quietly. */
void xds_repl_clear_interrupt(lua_State *L);
/* quit() was called: the loop ends after this command. */
void xds_repl_request_quit(void);
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
