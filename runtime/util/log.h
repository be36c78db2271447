/*
 * log.h - the program's log: one line per event that an administrator
 * reads (start, guests attached, lost or refused, policy errors and
 * reloads, tick overruns, stop), for every layer.
 *
 * The process has one log, so its sink is process state: stderr (the
 * journal's under systemd) by default, syslog(3) after xds_log_open with
 * syslog set.  Levels are syslog's; a line below the chosen level is
 * dropped.  Output meant for the user (ps, the --dry-run plan, the
 * report) is not a log line and does not come through here.
 */
#ifndef XDS_UTIL_LOG_H
#define XDS_UTIL_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <syslog.h>

enum xds_log_level {
	XDS_LOG_ERR = LOG_ERR,
	XDS_LOG_WARNING = LOG_WARNING,
	XDS_LOG_NOTICE = LOG_NOTICE,    /* the default: start, stop, guests, reloads */
	XDS_LOG_INFO = LOG_INFO,        /* -v: every task lost, every retry given up */
	XDS_LOG_DEBUG = LOG_DEBUG,
};

/* Lines at level and more urgent are kept; to syslog (ident, facility
 * daemon) when use_syslog, else to stderr as "ident: message". */
void xds_log_open(const char *ident, enum xds_log_level level, bool use_syslog);
void xds_log_close(void);
/* Lines not for syslog go to f (NULL: stderr), e.g. a test's buffer. */
void xds_log_to(FILE *f);
bool xds_log_enabled(enum xds_log_level level);
void xds_log(enum xds_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
