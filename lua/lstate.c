/*
 * lstate.c - the `xds` module's per-state record (struct xds_lstate) and
 * what every part of the module needs of it: finding it, the lazy
 * snapshot, durations and domains from arguments.
 *
 * An expiry (xds.refresh, xds.advance, xds_lua_expire) only clears
 * `fresh`; the next xds.* call that reads the guests takes the new
 * snapshot, through the refresh hook a tick driver installs (so that the
 * scheduler sees every snapshot) or from the host.  This is the bottom of
 * lua/: it calls nothing above it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lua/xds.h"
#include "lua/xds_int.h"

struct xds_lstate *xds_lua_upstate(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

void xds_lua_fresh(lua_State *L, struct xds_lstate *s)
{
	struct xds_host *h = s->host;
	struct xds_err err = {""};
	if (s->fresh)
		return;
	s->fresh = true;
	if (xds_host_nr_guests(h) == 0)
		return;
	if ((s->refresh ? s->refresh(s->refresh_ctx, &err) : xds_host_snapshot(h, &err)) == 0)
		return;
	for (int i = 0; i < xds_host_nr_guests(h); i++)
		if (xds_guest_error(xds_host_guest(h, i))[0])
			return;
	luaL_error(L, "xds: snapshot failed: %s", err.msg);
}

int xds_lua_checkdom(lua_State *L, struct xds_lstate *s, int idx)
{
	const char *name;
	if (lua_istable(L, idx)) {
		lua_getfield(L, idx, "name");
		name = lua_tostring(L, -1);
		lua_pop(L, 1);
		luaL_argexpected(L, name != NULL, idx, "domain name or domain");
	} else {
		name = luaL_checkstring(L, idx);
	}
	for (int i = 0; i < xds_host_nr_guests(s->host); i++)
		if (strcmp(xds_guest_name(xds_host_guest(s->host, i)), name) == 0)
			return i;
	return luaL_error(L, "no domain named '%s'", name);
}

static const struct { const char *name; double ns; } units[] = {
	{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}, {"min", 60e9}, {NULL, 0}
};

/* A duration: a number of seconds, or a string "10ms", "2s", "1.5min". */
uint64_t xds_lua_checkduration(lua_State *L, int idx)
{
	double ns = -1;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		ns = lua_tonumber(L, idx) * 1e9;
	} else {
		const char *str = luaL_checkstring(L, idx);
		char *end;
		double v = strtod(str, &end);
		for (int i = 0; end != str && units[i].name; i++)
			if (strcmp(end, units[i].name) == 0)
				ns = v * units[i].ns;
	}
	luaL_argcheck(L, isfinite(ns) && ns >= 0 && ns < 1e18, idx,
		      "duration expected (seconds, or a string like \"10ms\", \"2s\")");
	return (uint64_t)ns;
}

struct xds_lstate *xds_lua_state(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, XDS_LUA_STATE);
	struct xds_lstate *s = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return s;
}

void xds_lua_expire(lua_State *L)
{
	struct xds_lstate *s = xds_lua_state(L);
	if (s)
		s->fresh = false;
}

struct xds_host *xds_lua_host(lua_State *L)
{
	struct xds_lstate *s = xds_lua_state(L);
	return s ? s->host : NULL;
}
