/*
 * observe.c - the options of what watches a run (see observe.h) and the
 * hook the tick driver calls after every tick: the log's guest lines
 * (log.c), the metrics (metrics.c) and the timeline (timeline.c).  Each
 * of those owns its output; this file only wires them to the driver.
 */
#include <string.h>

#include "cli/observe.h"
#include "lua/run.h"
#include "util/log.h"

/* What watches the run; the process has one run. */
static struct {
	struct cli_metrics *metrics;
	struct cli_timeline *timeline;
} watch;

int cli_optarg(int argc, char **argv, int *i, const char *opt, const char **v)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=')
		*v = argv[*i] + n + 1;
	else if (strcmp(argv[*i], opt) == 0)
		*v = *i + 1 < argc ? argv[++*i] : "";
	else
		return 0;
	if (**v)
		return 1;
	xds_log(XDS_LOG_ERR, "%s: missing argument", opt);
	return -1;
}

int cli_observe_option(int argc, char **argv, int *i, struct cli_observe *o)
{
	int r;
	if (!strcmp(argv[*i], "-q"))
		return o->quiet = true, 1;
	if (!strcmp(argv[*i], "--syslog"))
		return o->syslog = true, 1;
	if ((r = cli_optarg(argc, argv, i, "--metrics", &o->metrics_addr)))
		return r;
	if ((r = cli_optarg(argc, argv, i, "--metrics-file", &o->metrics_file)))
		return r;
	return cli_optarg(argc, argv, i, "--timeline", &o->timeline);
}

void cli_observe_log(const struct cli_observe *o)
{
	enum xds_log_level level = o->quiet ? XDS_LOG_WARNING : o->verbose ? XDS_LOG_DEBUG : XDS_LOG_NOTICE;
	xds_log_open("xds-lua", level, o->syslog);
}

static void on_tick(void *ctx, struct xds_run *r)
{
	(void)ctx;
	cli_log_tick(r);
	if (watch.metrics)
		cli_metrics_tick(watch.metrics, r);
	if (watch.timeline)
		cli_timeline_tick(watch.timeline, r);
}

int cli_observe_start(const struct cli_observe *o, struct xds_run_opts *ro)
{
	struct xds_err err = {""};
	ro->on_tick = on_tick;
	if ((o->metrics_addr || o->metrics_file) &&
	    !(watch.metrics = cli_metrics_new(o->metrics_addr, o->metrics_file, &err))) {
		xds_log(XDS_LOG_ERR, "%s", err.msg);
		return -1;
	}
	if (o->timeline && !(watch.timeline = cli_timeline_new(o->timeline, &err))) {
		xds_log(XDS_LOG_ERR, "%s", err.msg);
		return -1;
	}
	return 0;
}

void cli_observe_stop(struct xds_run *r, const char *why, int thawed, int left)
{
	struct xds_err err = {""};
	if (why)
		cli_log_stop(r, why, thawed, left);
	cli_metrics_free(watch.metrics, r);
	watch.metrics = NULL;
	if (cli_timeline_free(watch.timeline, r, &err) < 0)
		xds_log(XDS_LOG_ERR, "%s", err.msg);
	watch.timeline = NULL;
}
