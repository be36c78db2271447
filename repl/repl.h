/*
 * repl.h - the interactive loop of xds-lua, on the CLI's Lua state.
 *
 * On a terminal a GNU readline REPL (history, completion, the helpers of
 * help()); otherwise the same loop reading statements without prompts.
 * It behaves like `lua -i` and, on the way out, thaws every task frozen in
 * the session and says how many.
 */
#ifndef XDS_REPL_H
#define XDS_REPL_H

#include <lua.h>

/* Read, evaluate and print until end of input or quit().  Returns 0. */
int xds_repl(lua_State *L);

/* lua_pcall with a traceback added to the error message, as the REPL and
 * the CLI report errors.  The function and its narg arguments are on top. */
int xds_repl_pcall(lua_State *L, int narg, int nres);

#endif
