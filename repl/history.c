/*
 * history.c - where the REPL's history lives.
 *
 * $XDG_STATE_HOME/xds-lua/history when XDG_STATE_HOME is set (the folder
 * is created), else ~/.xds_lua_history.  Reading, appending and trimming
 * the file is readline's history library's, called from repl.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "repl/repl_int.h"

const char *xds_repl_history_path(char *buf, size_t size)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (state && *state) {
		snprintf(buf, size, "%s/xds-lua", state);
		if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
			mkdir(state, 0700);
			mkdir(buf, 0700);
		}
		snprintf(buf, size, "%s/xds-lua/history", state);
	} else if (home && *home) {
		snprintf(buf, size, "%s/.xds_lua_history", home);
	} else {
		return NULL;
	}
	return buf;
}
