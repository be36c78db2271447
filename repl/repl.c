/*
 * repl.c - a minimal read-eval-print loop, the way `lua -i` behaves.
 *
 * Lines are read from stdin with getline.  A line is first tried as an
 * expression ("return " prepended) so that its values are printed; an
 * incomplete statement (the parser stops at <eof>) continues on the next
 * line; errors are printed with a traceback and the loop goes on.  Prompts
 * come from the globals _PROMPT and _PROMPT2 as in lua.  History and
 * completion are the readline REPL's business, not this file's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "repl/repl.h"

static int msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

int xds_repl_pcall(lua_State *L, int narg, int nres)
{
	int base = lua_gettop(L) - narg;
	lua_pushcfunction(L, msghandler);
	lua_insert(L, base);
	int status = lua_pcall(L, narg, nres, base);
	lua_remove(L, base);
	return status;
}

static void report(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "xds-lua: %s\n", msg ? msg : "(error object is not a string)");
	fflush(stderr);
	lua_pop(L, 1);
}

static const char *prompt(lua_State *L, int first)
{
	const char *name = first ? "_PROMPT" : "_PROMPT2";
	lua_getglobal(L, name);
	const char *p = lua_tostring(L, -1);
	lua_pop(L, 1);
	return p ? p : first ? "> " : ">> ";
}

/* Push the next line without its newline; 0 at end of input. */
static int pushline(lua_State *L, int first)
{
	char *line = NULL;
	size_t cap = 0;
	fputs(prompt(L, first), stdout);
	fflush(stdout);
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		return 0;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	lua_pushlstring(L, line, (size_t)n);
	free(line);
	return 1;
}

static int incomplete(lua_State *L, int status)
{
	static const char eof[] = "<eof>";
	size_t len;
	const char *msg = lua_tolstring(L, -1, &len);
	if (status != LUA_ERRSYNTAX || len < sizeof eof - 1)
		return 0;
	return strcmp(msg + len - (sizeof eof - 1), eof) == 0;
}

/* The line on top as an expression; on success replaces it by a chunk. */
static int addreturn(lua_State *L)
{
	const char *line = lua_tostring(L, -1);
	const char *ret = lua_pushfstring(L, "return %s;", line);
	int status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
	lua_remove(L, -2);
	if (status == LUA_OK)
		lua_remove(L, -2);
	else
		lua_pop(L, 1);
	return status;
}

/* The statement on top, extended line by line while it is incomplete. */
static int multiline(lua_State *L)
{
	for (;;) {
		size_t len;
		const char *code = lua_tolstring(L, 1, &len);
		int status = luaL_loadbuffer(L, code, len, "=stdin");
		if (!incomplete(L, status) || !pushline(L, 0)) {
			lua_remove(L, 1);
			return status;
		}
		lua_remove(L, -2);
		lua_pushliteral(L, "\n");
		lua_insert(L, -2);
		lua_concat(L, 3);
	}
}

/* Read a chunk: -1 at end of input, else the load status (chunk or error
 * message on top). */
static int loadline(lua_State *L)
{
	lua_settop(L, 0);
	if (!pushline(L, 1))
		return -1;
	if (addreturn(L) == LUA_OK)
		return LUA_OK;
	return multiline(L);
}

static void print_results(lua_State *L)
{
	int n = lua_gettop(L);
	if (n == 0)
		return;
	luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
	lua_getglobal(L, "print");
	lua_insert(L, 1);
	if (lua_pcall(L, n, 0, 0) != LUA_OK)
		fprintf(stderr, "xds-lua: error calling 'print' (%s)\n", lua_tostring(L, -1));
}

int xds_repl(lua_State *L)
{
	int status;
	while ((status = loadline(L)) != -1) {
		if (status == LUA_OK)
			status = xds_repl_pcall(L, 0, LUA_MULTRET);
		if (status == LUA_OK)
			print_results(L);
		else
			report(L);
	}
	lua_settop(L, 0);
	fputs("\n", stdout);
	fflush(stdout);
	return 0;
}
