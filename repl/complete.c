/*
 * complete.c - tab completion of Lua names for the REPL.
 *
 * The word under the cursor is a dotted name ("xds.do", "t.co", "s:up").
 * Everything before its last '.' or ':' is looked up from the globals, one
 * identifier at a time: tables with rawget (and their __index table), task
 * objects through their fields, so that no user code runs; the last part
 * is completed against the keys of what was found.  Task objects offer
 * their fields after '.', their methods after ':'; strings the string
 * library after ':'.  Without a dot, globals and Lua's keywords.  A
 * function's completion ends in '('.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <readline/readline.h>

#include "repl/repl_int.h"

#define MAX_DEPTH 16
#define MAX_KEYS  4096

static lua_State *compL;

static const char *const keywords[] = {
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
	"if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true",
	"until", "while", NULL
};

struct matches {
	char **v;
	int n, cap;
};

static void add_match(struct matches *m, const char *base, size_t blen, const char *key,
		      const char *suffix)
{
	if (m->n + 1 >= m->cap) {
		int cap = m->cap ? 2 * m->cap : 32;
		char **v = realloc(m->v, (size_t)cap * sizeof *v);
		if (!v)
			return;
		m->v = v;
		m->cap = cap;
	}
	size_t klen = strlen(key), slen = strlen(suffix);
	char *s = malloc(blen + klen + slen + 1);
	if (!s)
		return;
	memcpy(s, base, blen);
	memcpy(s + blen, key, klen);
	memcpy(s + blen + klen, suffix, slen + 1);
	m->v[m->n++] = s;
}

static bool is_identifier(const char *s, size_t len)
{
	if (len == 0 || (!isalpha((unsigned char)s[0]) && s[0] != '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* The __index table of the value at idx, pushed, or nothing (0). */
static int push_index_table(lua_State *L, int idx)
{
	if (!luaL_getmetafield(L, idx, "__index"))
		return 0;
	if (lua_istable(L, -1))
		return 1;
	lua_pop(L, 1);
	return 0;
}

static int get_task_field(lua_State *L)
{
	lua_gettable(L, 1);
	return 1;
}

/* Replace the value on top by its field name (no user code runs);
 * false (value popped) if there is none. */
static bool step_into(lua_State *L, const char *name)
{
	int depth = 0;
	while (lua_istable(L, -1) && depth++ < MAX_DEPTH) {
		lua_pushstring(L, name);
		if (lua_rawget(L, -2) != LUA_TNIL) {
			lua_remove(L, -2);
			return true;
		}
		lua_pop(L, 1);
		if (!push_index_table(L, -1))
			break;
		lua_remove(L, -2);
	}
	if (luaL_testudata(L, -1, "xds.task")) {
		lua_pushcfunction(L, get_task_field);
		lua_insert(L, -2);
		lua_pushstring(L, name);
		if (lua_pcall(L, 2, 1, 0) == LUA_OK && !lua_isnil(L, -1))
			return true;
	}
	lua_pop(L, 1);
	return false;
}

static bool has_prefix(const char *key, const char *prefix, size_t plen)
{
	return strncmp(key, prefix, plen) == 0;
}

/* Identifier keys of the table on top (and of its __index tables). */
static void table_keys(lua_State *L, struct matches *m, const char *base, size_t blen,
		       const char *part, size_t plen)
{
	for (int depth = 0; lua_istable(L, -1) && depth < MAX_DEPTH; depth++) {
		int seen = 0;
		lua_pushnil(L);
		while (lua_next(L, -2) && seen++ < MAX_KEYS) {
			size_t klen;
			const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
			if (key && is_identifier(key, klen) && has_prefix(key, part, plen))
				add_match(m, base, blen, key, lua_isfunction(L, -1) ? "(" : "");
			lua_pop(L, 1);
		}
		if (!push_index_table(L, -1))
			return;
		lua_remove(L, -2);
	}
}

static void task_keys(lua_State *L, struct matches *m, const char *base, size_t blen,
		      const char *part, size_t plen, bool method)
{
	if (!method) {
		for (int i = 0; xds_repl_task_fields[i]; i++)
			if (has_prefix(xds_repl_task_fields[i], part, plen))
				add_match(m, base, blen, xds_repl_task_fields[i], "");
		return;
	}
	if (luaL_getmetafield(L, -1, "__methods") == LUA_TTABLE)
		table_keys(L, m, base, blen, part, plen);
	lua_pop(L, 1);
}

static void value_keys(lua_State *L, struct matches *m, const char *base, size_t blen,
		       const char *part, size_t plen, bool method)
{
	if (luaL_testudata(L, -1, "xds.task")) {
		task_keys(L, m, base, blen, part, plen, method);
	} else if (lua_istable(L, -1)) {
		lua_pushvalue(L, -1);
		table_keys(L, m, base, blen, part, plen);
		lua_pop(L, 1);
	} else if (push_index_table(L, -1)) {
		table_keys(L, m, base, blen, part, plen);
		lua_pop(L, 1);
	}
}

static void global_keys(lua_State *L, struct matches *m, const char *text, size_t len)
{
	lua_pushglobaltable(L);
	table_keys(L, m, "", 0, text, len);
	lua_pop(L, 1);
	for (int i = 0; keywords[i]; i++)
		if (has_prefix(keywords[i], text, len))
			add_match(m, "", 0, keywords[i], "");
}

/* Matches for text, NULL-terminated (or NULL if none). */
static char **candidates(lua_State *L, const char *text)
{
	struct matches m = {0};
	const char *sep = strpbrk(text, ".:") ? text + strlen(text) : NULL;
	while (sep && sep > text && sep[-1] != '.' && sep[-1] != ':')
		sep--;
	int top = lua_gettop(L);
	if (!sep) {
		global_keys(L, &m, text, strlen(text));
	} else {
		bool ok = true;
		lua_pushglobaltable(L);
		for (const char *p = text; ok && p < sep - 1;) {
			size_t n = strcspn(p, ".:");
			if (p + n != sep - 1 && p[n] == ':')
				ok = false;
			char name[256];
			if (ok && (ok = is_identifier(p, n) && n < sizeof name)) {
				memcpy(name, p, n);
				name[n] = '\0';
				ok = step_into(L, name);
			}
			p += n + 1;
		}
		if (ok)
			value_keys(L, &m, text, (size_t)(sep - text), sep, strlen(sep), sep[-1] == ':');
	}
	lua_settop(L, top);
	if (m.n == 0) {
		free(m.v);
		return NULL;
	}
	m.v[m.n] = NULL;
	return m.v;
}

static char **pending;
static int pending_next;

static char *generator(const char *text, int state)
{
	(void)text;
	if (!pending)
		return NULL;
	char *s = pending[pending_next];
	if (s)
		pending_next++;
	else {
		free(pending);
		pending = NULL;
	}
	(void)state;
	return s;
}

char **xds_repl_complete(const char *text, int start, int end)
{
	(void)start;
	(void)end;
	rl_attempted_completion_over = 1;
	rl_completion_append_character = '\0';
	if (!compL)
		return NULL;
	if (pending) {
		for (int i = pending_next; pending[i]; i++)
			free(pending[i]);
		free(pending);
	}
	pending = candidates(compL, text);
	pending_next = 0;
	return pending ? rl_completion_matches(text, generator) : NULL;
}

void xds_repl_complete_init(lua_State *L)
{
	compL = L;
	rl_attempted_completion_function = xds_repl_complete;
	rl_basic_word_break_characters = " \t\n\"\\'><=;+-*/%^~#{}()[],&|";
	rl_completer_word_break_characters = (char *)rl_basic_word_break_characters;
}
