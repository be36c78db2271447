/*
 * observe.h - what the command line offers an administrator to watch a
 * run with: the log's level and sink (log.c), Prometheus metrics over
 * HTTP or in a file (metrics.c), a Trace Event timeline (timeline.c), and
 * the figure drawn from one (plot.c).  observe.c owns their options and
 * calls each after every tick; main.c only hands them the driver.
 */
#ifndef XDS_CLI_OBSERVE_H
#define XDS_CLI_OBSERVE_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

struct xds_run;
struct xds_run_opts;

struct cli_observe {
	bool quiet, verbose, syslog;    /* -q, -v, --syslog */
	const char *metrics_addr;       /* --metrics ADDR:PORT */
	const char *metrics_file;       /* --metrics-file PATH */
	const char *timeline;           /* --timeline FILE.json */
};

/* "--opt VALUE" or "--opt=VALUE" at argv[*i] into *v, advancing *i past
 * it: 1 if it is opt, 0 if not, -1 (said) if the value is missing.  The
 * command line's one way of reading an option's value (main.c's too). */
int cli_optarg(int argc, char **argv, int *i, const char *opt, const char **v);
/* An option of ours at argv[*i] (advanced past its value): 1 if taken,
 * 0 if not ours, -1 (said) if wrong. */
int cli_observe_option(int argc, char **argv, int *i, struct cli_observe *o);
/* The log as the options ask (before anything is attached). */
void cli_observe_log(const struct cli_observe *o);
/* Open what the options ask for and hook it into ro; -1 (said) if one
 * cannot be opened. */
int cli_observe_start(const struct cli_observe *o, struct xds_run_opts *ro);
/* The run is over (why: "duration reached", "SIGTERM", ...): the stop
 * line, the last metrics file, the timeline closed. */
void cli_observe_stop(struct xds_run *r, const char *why, int thawed, int left);

/* ---- log.c: the lines of a run's life ---- */
void cli_log_tick(struct xds_run *r);
void cli_log_stop(struct xds_run *r, const char *why, int thawed, int left);

/* ---- metrics.c ---- */
struct cli_metrics;
struct cli_metrics *cli_metrics_new(const char *addr, const char *file, struct xds_err *err);
/* After a tick: answer waiting scrapes (never blocking), rewrite the file
 * when it is due. */
void cli_metrics_tick(struct cli_metrics *m, struct xds_run *r);
/* The file one last time; the socket closed. */
void cli_metrics_free(struct cli_metrics *m, struct xds_run *r);
/* The exposition text of r's figures into f. */
void cli_metrics_write(FILE *f, struct xds_run *r);

/* ---- timeline.c ---- */
struct cli_timeline;
struct cli_timeline *cli_timeline_new(const char *path, struct xds_err *err);
void cli_timeline_tick(struct cli_timeline *t, struct xds_run *r);
/* Closes every open span and writes the file; -1 with err. */
int cli_timeline_free(struct cli_timeline *t, struct xds_run *r, struct xds_err *err);

/* ---- plot.c: `xds-lua plot FILE.json -o FIG.svg|FIG.png`; exit status ---- */
int cli_plot(int argc, char **argv);

#endif
