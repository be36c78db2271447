/*
 * repl.c - the read-eval-print loop, the way `lua -i` behaves.
 *
 * A line is first tried as an expression ("return " prepended) so that its
 * values are printed; an incomplete statement (the parser stops at <eof>)
 * continues on the next line under the second prompt; errors are printed
 * with a traceback and the loop goes on.  On a terminal lines come from
 * GNU readline's callback interface, so that the loop itself waits in
 * poll() and sees Ctrl-C: at the prompt it drops the line, during a
 * command it stops the Lua code at its next instruction and the tick
 * loops between two ticks (the driver's stop flag points at ours while the
 * REPL runs).  Without a terminal, statements are read without prompts.
 * On the way out every task frozen in the session is thawed and counted.
 * Completion is complete.c's, the helpers helpers.c's, the signals and
 * quit() interrupt.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "lua/run.h"
#include "lua/policy.h"
#include "repl/repl.h"
#include "repl/repl_int.h"

#define HISTORY_MAX 1000

enum { LINE_EOF = -1, LINE_INTR = -2 };

static char history_file[4096];

int xds_repl_pcall(lua_State *L, int narg, int nres)
{
	int base = lua_gettop(L) - narg;
	lua_pushcfunction(L, xds_lua_msghandler);
	lua_insert(L, base);
	int status = lua_pcall(L, narg, nres, base);
	lua_remove(L, base);
	return status;
}

/* ---- reading lines ---- */

static char *rl_line;
static int rl_state;                    /* 0 waiting, 1 a line, LINE_EOF */

static void on_rl_line(char *line)
{
	rl_callback_handler_remove();
	rl_line = line;
	rl_state = line ? 1 : LINE_EOF;
}

static void remember_line(const char *line)
{
	HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
	if (!*line || (last && strcmp(last->line, line) == 0))
		return;
	add_history(line);
	if (history_file[0])
		append_history(1, history_file);
}

/* One line from readline: 1 (in *out, malloc'd), LINE_EOF or LINE_INTR. */
static int tty_line(const char *prompt, char **out)
{
	rl_state = 0;
	rl_callback_handler_install(prompt, on_rl_line);
	while (rl_state == 0) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno == EINTR) {
			if (xds_repl_quitting())
				break;
			if (xds_repl_signal == SIGINT) {
				xds_repl_signal = 0;
				rl_free_line_state();
				rl_callback_sigcleanup();
				rl_callback_handler_remove();
				fputs("\n", stdout);
				return LINE_INTR;
			}
			continue;
		}
		if (!(p.revents & POLLIN))
			break;
		rl_callback_read_char();
	}
	rl_callback_handler_remove();
	if (rl_state != 1)
		return LINE_EOF;
	*out = rl_line;
	remember_line(rl_line);
	return 1;
}

static int plain_line(char **out)
{
	size_t cap = 0;
	*out = NULL;
	ssize_t n = getline(out, &cap, stdin);
	if (n < 0) {
		free(*out);
		return LINE_EOF;
	}
	if (n > 0 && (*out)[n - 1] == '\n')
		(*out)[n - 1] = '\0';
	return 1;
}

static const char *prompt(lua_State *L, int first)
{
	const char *name = first ? "_PROMPT" : "_PROMPT2";
	lua_getglobal(L, name);
	const char *p = lua_tostring(L, -1);
	lua_pop(L, 1);
	return p ? p : first ? "> " : ">> ";
}

/* Push the next line: 1, or LINE_EOF / LINE_INTR with nothing pushed. */
static int pushline(lua_State *L, int first)
{
	char *line = NULL;
	int rc = xds_repl_quitting() ? LINE_EOF :
		xds_repl_is_tty() ? tty_line(prompt(L, first), &line) : plain_line(&line);
	if (rc != 1)
		return rc;
	lua_pushstring(L, line);
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

/* The statement at 1, extended line by line while it is incomplete. */
static int multiline(lua_State *L)
{
	for (;;) {
		size_t len;
		const char *code = lua_tolstring(L, 1, &len);
		int status = luaL_loadbuffer(L, code, len, "=stdin");
		if (!incomplete(L, status)) {
			lua_remove(L, 1);
			return status;
		}
		int rc = pushline(L, 0);
		if (rc != 1) {
			lua_settop(L, 0);
			return rc;
		}
		lua_remove(L, -2);
		lua_pushliteral(L, "\n");
		lua_insert(L, -2);
		lua_concat(L, 3);
	}
}

/* A chunk (on top) and its load status, or LINE_EOF / LINE_INTR. */
static int loadline(lua_State *L)
{
	lua_settop(L, 0);
	int rc = pushline(L, 1);
	if (rc != 1)
		return rc;
	if (addreturn(L) == LUA_OK)
		return LUA_OK;
	return multiline(L);
}

/* ---- evaluating ---- */

static void report(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "xds-lua: %s\n", msg ? msg : "(error object is not a string)");
	fflush(stderr);
	lua_pop(L, 1);
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

/* The chunk on top runs; a signal from now on stops it. */
static void run_command(lua_State *L)
{
	xds_repl_command_begin();
	int status = xds_repl_pcall(L, 0, LUA_MULTRET);
	if (status == LUA_OK)
		print_results(L);
	xds_repl_command_end(L);
	if (status != LUA_OK)
		report(L);
	fflush(stdout);
}

/* ---- the session ---- */

struct session {
	struct xds_run *run;
	volatile sig_atomic_t *old_stop;
};

static void open_history(void)
{
	if (!xds_repl_history_path(history_file, sizeof history_file)) {
		history_file[0] = '\0';
		return;
	}
	if (read_history(history_file) != 0) {
		int fd = open(history_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0)
			history_file[0] = '\0';
		else
			close(fd);
	}
}

static void begin(lua_State *L, struct session *s)
{
	xds_repl_catch_signals(L);
	s->run = xds_run_of(L);
	if (s->run) {
		s->old_stop = s->run->opt.stop;
		s->run->opt.stop = &xds_repl_signal;
	}
	xds_repl_helpers_open(L);
	if (!xds_repl_is_tty())
		return;
	rl_readline_name = "xds-lua";
	rl_catch_signals = 0;
	using_history();
	open_history();
	xds_repl_complete_init(L);
	printf("help() lists the helpers; Ctrl-D or quit() leaves\n");
	fflush(stdout);
}

/* Every task frozen in the session is thawed, and counted. */
static void thaw_session(struct session *s)
{
	struct xds_err err = {""};
	int n = 0;
	if (!s->run)
		return;
	if (xds_run_thaw_all(s->run, &n, &err) < 0)
		fprintf(stderr, "xds-lua: %s\n", err.msg);
	if (n > 0)
		printf("thawed %d task%s\n", n, n == 1 ? "" : "s");
	fflush(stdout);
}

static void end(lua_State *L, struct session *s)
{
	lua_settop(L, 0);
	if (xds_repl_is_tty()) {
		fputs("\n", stdout);
		if (history_file[0])
			history_truncate_file(history_file, HISTORY_MAX);
		clear_history();
	}
	thaw_session(s);
	if (s->run)
		s->run->opt.stop = s->old_stop;
	xds_repl_release_signals();
}

int xds_repl(lua_State *L)
{
	struct session s = {0};
	int status;
	begin(L, &s);
	while (!xds_repl_quitting() && (status = loadline(L)) != LINE_EOF) {
		if (status == LINE_INTR)
			continue;
		if (status == LUA_OK)
			run_command(L);
		else
			report(L);
	}
	end(L, &s);
	return 0;
}
