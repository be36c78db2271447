/*
 * check.c - the command line's checks of values that name files, made
 * before anything runs: a report, a trace or a journal whose folder does
 * not exist is an error at once, not after the run, and no folder is made
 * for a path the user gave.  Which options need which check is main.c's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

int cli_check_out_path(const char *opt, const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (!*path)
		return fprintf(stderr, "xds-lua: %s: an empty path\n", opt), -1;
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return fprintf(stderr, "xds-lua: %s %s: the folder %s does not exist\n", opt, path, dir), -1;
	if (access(dir, W_OK | X_OK))
		return fprintf(stderr, "xds-lua: %s %s: cannot write in %s: %s\n", opt, path, dir,
			       strerror(errno)), -1;
	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return fprintf(stderr, "xds-lua: %s %s: is a folder\n", opt, path), -1;
	return 0;
}
