/*
 * xds.h - the `xds` Lua module: the host's guests, tasks and run queues as
 * Lua values.
 *
 * xds_lua_open installs the module (global `xds`, package.loaded.xds and
 * the global ps()) over a host that the caller owns and closes.  Objects
 * handed to Lua belong to one snapshot and raise an error once it expires;
 * snapshots are taken lazily by the first xds.* call after an expiry.  The
 * CLI (xds_lua.c), the REPL and the tick loop share this one entry point.
 */
#ifndef XDS_LUA_H
#define XDS_LUA_H

#include <lua.h>

struct xds_host;

/* Register the module in L over h (not owned; must outlive L). */
void xds_lua_open(lua_State *L, struct xds_host *h);

/* Expire the current snapshot: the next xds.* call takes a new one. */
void xds_lua_expire(lua_State *L);

/* The host given to xds_lua_open, or NULL if the module is not open. */
struct xds_host *xds_lua_host(lua_State *L);

#endif
