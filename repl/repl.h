/*
 * repl.h - the interactive loop of xds-lua, on the CLI's Lua state.
 *
 * For now a plain line-reading loop that behaves like `lua -i`; a readline
 * REPL (history, completion) will take its place behind the same names.
 */
#ifndef XDS_REPL_H
#define XDS_REPL_H

#include <lua.h>

/* Read, evaluate and print until end of input.  Returns 0. */
int xds_repl(lua_State *L);

/* lua_pcall with a traceback added to the error message, as the REPL and
 * the CLI report errors.  The function and its narg arguments are on top. */
int xds_repl_pcall(lua_State *L, int narg, int nres);

#endif
