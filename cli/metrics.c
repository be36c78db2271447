/*
 * metrics.c - the run's figures in Prometheus' text exposition format
 * (version 0.0.4): served over HTTP (--metrics ADDR:PORT) and written for
 * node_exporter's textfile collector (--metrics-file PATH).
 *
 * The figures are the scheduler's (runtime/sched: stats, per-task
 * accounting) and the driver's (policy errors, reloads); this file only
 * names and formats them.  The server is a small HTTP/1.0 responder on a
 * non-blocking socket, polled after every tick from the tick loop itself:
 * no thread, no lock, and no call that can block a tick.  A scrape gets the
 * figures of the latest tick, built when its request is complete; at most
 * MAX_CLIENTS connections are kept, each with a bounded request and a
 * deadline.  A library (libmicrohttpd) would bring its own threads to keep
 * in step with the tick loop for a handful of lines of HTTP/1.0.  The file
 * is written anew every FILE_EVERY_NS of wall time, to a temporary file in
 * its folder and renamed over the old one, so a reader never sees half.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/observe.h"
#include "host/host.h"
#include "lua/run.h"
#include "sched/sched.h"
#include "util/log.h"
#include "util/json.h"

#define MAX_CLIENTS 8                   /* scrapers at once; more wait in the backlog */
#define MAX_REQUEST 4096                /* a scrape's request line and headers */
#define CLIENT_TIMEOUT_NS 10000000000ull        /* Prometheus' default scrape timeout */
#define FILE_EVERY_NS 5000000000ull     /* the textfile collector reads when scraped */

struct client {
	int fd;                         /* -1: free */
	uint64_t since;                 /* accepted (monotonic ns) */
	char req[MAX_REQUEST];
	size_t nreq;
	char *resp;                     /* the answer, once the request is whole */
	size_t nresp, sent;
};

struct cli_metrics {
	int listen_fd;                  /* -1: no server */
	struct client c[MAX_CLIENTS];
	char *file;                     /* NULL: no file */
	uint64_t written;               /* when the file was last written */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the exposition text ---- */

/* A label value: \\, \" and \n escaped, as the format asks. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type, const char *help, double v)
{
	head(f, name, type, help);
	fprintf(f, "%s %.9g\n", name, v);
}

static void histogram(FILE *f, const char *name, const char *help, const struct xds_phase *p)
{
	head(f, name, "histogram", help);
	for (int i = 0; i < XDS_HIST_BUCKETS; i++)
		fprintf(f, "%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", name, (double)xds_hist_le_ns[i] / 1e9, p->le[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, p->count);
	fprintf(f, "%s_sum %.9g\n%s_count %" PRIu64 "\n", name, (double)p->total_ns / 1e9, name, p->count);
}

/* Tasks a policy named (wished frozen or thawed), that were held, or that
 * were ever on a run queue: the end-of-run table's, and a task that only
 * ever slept adds nothing. */
static bool task_shown(const struct xds_acct *a)
{
	return a->named || a->frozen_ns || a->wait_ns || a->cpu_last != a->cpu_first;
}

enum task_fig { CPU, FROZEN, WAITING };

static double task_value(const struct xds_acct *a, enum task_fig k)
{
	uint64_t ns = k == CPU ? a->cpu_last - a->cpu_first : k == FROZEN ? a->frozen_ns : a->wait_ns;
	return (double)ns / 1e9;
}

static void task_metric(FILE *f, struct xds_sched *s, const char *name, const char *help,
			enum task_fig k)
{
	head(f, name, "counter", help);
	for (int i = 0; s && i < xds_sched_nr_acct(s); i++) {
		const struct xds_acct *a = xds_sched_acct_at(s, i);
		if (!task_shown(a))
			continue;
		fprintf(f, "%s{dom=", name);
		label(f, a->dom);
		fputs(",comm=", f);
		json_t *comm = xds_json_bytes(a->comm, strnlen(a->comm, sizeof a->comm));
		label(f, comm ? json_string_value(comm) : "");  /* the comm as UTF-8 (json.h's rule) */
		json_decref(comm);
		fprintf(f, ",pid=\"%d\"} %.9g\n", a->pid, task_value(a, k));
	}
}

/* A guest slot that a later slot of the same name replaced is not shown. */
static bool guest_shown(struct xds_host *h, int gi)
{
	const char *name = xds_guest_name(xds_host_guest(h, gi));
	for (int k = gi + 1; k < xds_host_nr_guests(h); k++)
		if (!strcmp(name, xds_guest_name(xds_host_guest(h, k))))
			return false;
	return true;
}

enum guest_fig { TASKS, ATTACHED, PAUSES, PAUSE_SECONDS };

static double guest_value(const struct xds_stats *st, struct xds_guest *g, int gi, enum guest_fig k)
{
	bool up = !xds_guest_gone(g) && !xds_guest_error(g)[0];
	switch (k) {
	case TASKS:    return up ? xds_guest_snapshot(g)->nr_tasks : 0;
	case ATTACHED: return up;
	case PAUSES:   return st ? (double)st->guest_pause[gi].count : 0;
	default:       return st ? (double)st->guest_pause[gi].total_ns / 1e9 : 0;
	}
}

static void guest_metric(FILE *f, struct xds_run *r, const char *name, const char *type,
			 const char *help, enum guest_fig k)
{
	const struct xds_stats *st = r->sched ? xds_sched_stats(r->sched) : NULL;
	head(f, name, type, help);
	for (int gi = 0; gi < xds_host_nr_guests(r->host) && gi < XDS_MAX_GUESTS; gi++) {
		struct xds_guest *g = xds_host_guest(r->host, gi);
		if (!guest_shown(r->host, gi))
			continue;
		fprintf(f, "%s{dom=", name);
		label(f, xds_guest_name(g));
		fprintf(f, "} %.9g\n", guest_value(st, g, gi, k));
	}
}

static int nr_frozen(struct xds_sched *s)
{
	int n = 0;
	for (int i = 0; s && i < xds_sched_nr_held(s); i++)
		n += xds_sched_held_at(s, i)->hold == XH_FROZEN;
	return n;
}

void cli_metrics_write(FILE *f, struct xds_run *r)
{
	struct xds_stats none = {0};
	const struct xds_stats *st = r->sched ? xds_sched_stats(r->sched) : &none;
	task_metric(f, r->sched, "xds_task_cpu_seconds_total",
		    "CPU time of the task (se.sum_exec_runtime) since xds-lua first saw it.", CPU);
	task_metric(f, r->sched, "xds_task_frozen_seconds_total",
		    "Host time the task was held frozen (off its run queue) by xds-lua.", FROZEN);
	task_metric(f, r->sched, "xds_task_waiting_seconds_total",
		    "Host time the task was runnable (on its run queue) but not running.", WAITING);
	guest_metric(f, r, "xds_guest_tasks", "gauge", "Tasks in the guest's latest snapshot.", TASKS);
	guest_metric(f, r, "xds_guest_attached", "gauge",
		     "1 while the guest is attached and readable, 0 when lost or gone.", ATTACHED);
	guest_metric(f, r, "xds_guest_pauses_total", "counter",
		     "Pauses of the guest to change its run queues.", PAUSES);
	guest_metric(f, r, "xds_guest_pause_seconds_total", "counter",
		     "Wall time the guest was paused by xds-lua.", PAUSE_SECONDS);
	histogram(f, "xds_tick_duration_seconds",
		  "Wall time of a tick's work (snapshot, policy, apply), without the wait for it.", &st->tick);
	histogram(f, "xds_pause_duration_seconds", "Wall time of one pause of one guest.", &st->pause);
	scalar(f, "xds_ticks_total", "counter", "Ticks run.", (double)st->ticks);
	scalar(f, "xds_freezes_total", "counter", "Freezes completed.", (double)st->freezes);
	scalar(f, "xds_thaws_total", "counter", "Thaws completed.", (double)st->thaws);
	scalar(f, "xds_retries_total", "counter",
	       "Changes deferred to the next tick (a lock held, kernel mode).", (double)st->retries);
	scalar(f, "xds_refusals_total", "counter",
	       "Changes refused (layout, corruption, a failed check).", (double)st->refusals);
	scalar(f, "xds_policy_errors_total", "counter",
	       "Policies stopped by an error, and reloads refused.", (double)r->policy_errors);
	scalar(f, "xds_policy_reloads_total", "counter", "Policy reloads (SIGHUP) that took.",
	       (double)r->reloads);
	scalar(f, "xds_frozen_tasks", "gauge", "Tasks held frozen now.", nr_frozen(r->sched));
}

/* ---- the file ---- */

static void write_file(struct cli_metrics *m, struct xds_run *r)
{
	size_t n = strlen(m->file);
	char *tmp = malloc(n + 16);
	if (!tmp)
		return;
	snprintf(tmp, n + 16, "%s.XXXXXX", m->file);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		xds_log(XDS_LOG_WARNING, "--metrics-file %s: %s", m->file, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return;
	}
	fchmod(fd, 0644);
	cli_metrics_write(f, r);
	if (fclose(f) != 0 || rename(tmp, m->file) != 0) {
		xds_log(XDS_LOG_WARNING, "--metrics-file %s: %s", m->file, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	m->written = mono_ns();
}

/* ---- the server ---- */

static int listen_on(const char *spec, struct xds_err *err)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof host)
		return xds_fail(err, "--metrics %s: expected ADDR:PORT", spec);
	snprintf(host, sizeof host, "%.*s", (int)(colon - spec), spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']')
		memmove(host, host + 1, strlen(host)), host[strlen(host) - 1] = 0;
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc)
		return xds_fail(err, "--metrics %s: %s", spec, gai_strerror(rc));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		xds_fail(err, "--metrics %s: %s", spec, strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char name[128], port[16];
	if (!getsockname(fd, (struct sockaddr *)&sa, &len) &&
	    !getnameinfo((struct sockaddr *)&sa, len, name, sizeof name, port, sizeof port,
			 NI_NUMERICHOST | NI_NUMERICSERV))
		xds_log(XDS_LOG_NOTICE, "metrics: serving http://%s:%s/metrics", name, port);
	return fd;
}

static void drop(struct client *c)
{
	close(c->fd);
	free(c->resp);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* The answer to a whole request: the figures for GET /metrics (or /). */
static void answer(struct client *c, struct xds_run *r)
{
	char *body = NULL;
	size_t nbody = 0;
	const char *status = "200 OK";
	FILE *f = open_memstream(&body, &nbody);
	if (!f)
		return;
	if (strncmp(c->req, "GET ", 4) != 0) {
		status = "405 Method Not Allowed";
		fputs("only GET\n", f);
	} else if (strncmp(c->req + 4, "/metrics ", 9) && strncmp(c->req + 4, "/ ", 2) &&
		   strncmp(c->req + 4, "/metrics?", 9)) {
		status = "404 Not Found";
		fputs("try /metrics\n", f);
	} else {
		cli_metrics_write(f, r);
	}
	fclose(f);
	FILE *g = open_memstream(&c->resp, &c->nresp);
	if (g) {
		fprintf(g, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			"Content-Length: %zu\r\nConnection: close\r\n\r\n", status, nbody);
		fwrite(body, 1, nbody, g);
		fclose(g);
	}
	free(body);
}

/* Read what came, answer when the headers are whole, write what fits. */
static void serve(struct client *c, struct xds_run *r, uint64_t now)
{
	if (now - c->since > CLIENT_TIMEOUT_NS)
		return drop(c);
	while (!c->resp) {
		ssize_t n = read(c->fd, c->req + c->nreq, sizeof c->req - 1 - c->nreq);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0)
			return drop(c);
		c->nreq += (size_t)n;
		c->req[c->nreq] = 0;
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
			answer(c, r);
		else if (c->nreq == sizeof c->req - 1)
			return drop(c);         /* too long a request */
		if (!c->resp && strstr(c->req, "\n\n"))
			return drop(c);
	}
	while (c->sent < c->nresp) {
		ssize_t n = send(c->fd, c->resp + c->sent, c->nresp - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0)
			return drop(c);
		c->sent += (size_t)n;
	}
	drop(c);
}

static void accept_new(struct cli_metrics *m, uint64_t now)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (m->c[i].fd >= 0)
			continue;
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		m->c[i].fd = fd;
		m->c[i].since = now;
	}
}

struct cli_metrics *cli_metrics_new(const char *addr, const char *file, struct xds_err *err)
{
	struct cli_metrics *m = calloc(1, sizeof *m);
	if (!m) {
		xds_fail(err, "out of memory");
		return NULL;
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		m->c[i].fd = -1;
	m->listen_fd = -1;
	if (addr && (m->listen_fd = listen_on(addr, err)) < 0) {
		free(m);
		return NULL;
	}
	if (file && !(m->file = strdup(file))) {
		cli_metrics_free(m, NULL);
		xds_fail(err, "out of memory");
		return NULL;
	}
	return m;
}

void cli_metrics_tick(struct cli_metrics *m, struct xds_run *r)
{
	uint64_t now = mono_ns();
	if (m->listen_fd >= 0) {
		accept_new(m, now);
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (m->c[i].fd >= 0)
				serve(&m->c[i], r, now);
	}
	if (m->file && (!m->written || now - m->written >= FILE_EVERY_NS))
		write_file(m, r);
}

void cli_metrics_free(struct cli_metrics *m, struct xds_run *r)
{
	if (!m)
		return;
	if (m->file && r)
		write_file(m, r);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (m->c[i].fd >= 0)
			drop(&m->c[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	free(m->file);
	free(m);
}
