/*
 * log.c - the program's log (see log.h): a level, and a sink that is
 * stderr or syslog(3).  A line is formatted once, bounded, and written
 * with one call, so that lines of a crash are whole.  Which events are
 * logged is the callers' business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* A log line longer than this is cut: an error message with its context
 * (guest, address, file) fits many times over. */
#define LOG_LINE_MAX 1024

static struct {
	char ident[32];
	enum xds_log_level level;
	bool syslog;
	FILE *file;                     /* NULL: stderr */
} the_log = { "xds-lua", XDS_LOG_NOTICE, false, NULL };

void xds_log_to(FILE *f)
{
	the_log.file = f;
}

void xds_log_open(const char *ident, enum xds_log_level level, bool use_syslog)
{
	snprintf(the_log.ident, sizeof the_log.ident, "%s", ident ? ident : "xds-lua");
	the_log.level = level;
	if (the_log.syslog)
		closelog();
	the_log.syslog = use_syslog;
	if (use_syslog)
		openlog(the_log.ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void xds_log_close(void)
{
	if (the_log.syslog)
		closelog();
	the_log.syslog = false;
}

bool xds_log_enabled(enum xds_log_level level)
{
	return level <= the_log.level;
}

void xds_log(enum xds_log_level level, const char *fmt, ...)
{
	if (!xds_log_enabled(level))
		return;
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (the_log.syslog) {
		syslog((int)level, "%s", line);
		return;
	}
	FILE *f = the_log.file ? the_log.file : stderr;
	fprintf(f, "%s: %s\n", the_log.ident, line);
	fflush(f);
}
