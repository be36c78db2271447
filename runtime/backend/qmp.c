/*
 * qmp.c - QMP client over a unix socket (see qmp.h).
 *
 * Each wait computes what is left of one deadline and polls for at most
 * that long, so a command's total time is bounded whatever the peer does.
 * Received bytes accumulate in a buffer; json_frame cuts complete
 * messages off its front (QEMU ends each with CRLF, but nothing here
 * depends on it).  Replies carry no "id": commands are strictly
 * sequential, so the next "return" or "error" is the answer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "backend/qmp.h"

#define QMP_READ_CHUNK 65536

struct qmp {
	int fd;
	int timeout_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct strbuf in;       /* received, not yet consumed bytes */
	size_t in_off;          /* consumed prefix of in */
	uint64_t nr_events;
	uint64_t stop_events;   /* POWERDOWN, SUSPEND, RESET, SHUTDOWN */
	char last_event[64];
};

/* An event that tells the guest is asked to (or does) power down, suspend
 * or reset. */
static int is_stop_event(const char *ev)
{
	static const char *const stop[] = { "POWERDOWN", "SUSPEND", "RESET", "SHUTDOWN", NULL };
	for (int i = 0; stop[i]; i++)
		if (!strcmp(ev, stop[i]))
			return 1;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(int64_t deadline)
{
	int64_t d = deadline - now_ms();
	return d < 0 ? 0 : (int)d;
}

/* Poll fd for events until deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, left_ms(deadline));
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -1;
	}
}

static int try_connect(const char *path, int64_t deadline, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
		*fd_out = fd;
		return 0;
	}
	int e = errno;
	if (e == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 1) {
		socklen_t len = sizeof e;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0) {
			*fd_out = fd;
			return 0;
		}
	}
	close(fd);
	return -e;
}

/* Retry while QEMU has not created or is not yet listening on the socket. */
static int connect_until(struct qmp *q, int64_t deadline, struct xds_err *err)
{
	for (;;) {
		int r = try_connect(q->path, deadline, &q->fd);
		if (r == 0)
			return 0;
		int again = r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN;
		if (!again || left_ms(deadline) == 0)
			return xds_fail(err, "qmp %s: connect: %s", q->path,
					strerror(-r));
		struct timespec pause = { 0, 10 * 1000000 };
		nanosleep(&pause, NULL);
	}
}

static int write_all(struct qmp *q, const char *data, size_t len,
		     int64_t deadline, struct xds_err *err)
{
	while (len) {
		int r = wait_fd(q->fd, POLLOUT, deadline);
		if (r == 0)
			return xds_fail(err, "qmp %s: write timed out after %d ms",
					q->path, q->timeout_ms);
		ssize_t n = r < 0 ? -1 : send(q->fd, data, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return xds_fail(err, "qmp %s: write: %s", q->path,
					strerror(errno));
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A complete message at the front of the buffer, or NULL (need more). */
static struct json *take_message(struct qmp *q, int *bad, struct xds_err *err)
{
	const char *p = sb_str(&q->in) + q->in_off;
	size_t avail = q->in.len - q->in_off;
	long n = json_frame(p, avail);
	*bad = n < 0;
	if (n < 0) {
		char shown[41];
		size_t k;
		for (k = 0; k < avail && k < sizeof shown - 1; k++)
			shown[k] = p[k] >= 0x20 && p[k] < 0x7f ? p[k] : '.';
		shown[k] = 0;
		xds_fail(err, "qmp %s: peer sent bytes that are not JSON: '%s'",
			 q->path, shown);
		return NULL;
	}
	if (n == 0) {
		if (avail > QMP_MAX_MSG) {
			*bad = 1;
			xds_fail(err, "qmp %s: message longer than %u bytes",
				 q->path, QMP_MAX_MSG);
		}
		return NULL;
	}
	q->in_off += (size_t)n;
	struct json *v = json_parse(p, (size_t)n, err);
	if (!v) {
		*bad = 1;
		xds_err_wrap(err, "qmp %s: bad message", q->path);
	}
	return v;
}

static int fill(struct qmp *q, int64_t deadline, const char *what,
		struct xds_err *err)
{
	if (q->in_off > 0) {            /* drop consumed messages */
		size_t rest = q->in.len - q->in_off;
		memmove(q->in.buf, q->in.buf + q->in_off, rest + 1);
		q->in.len = rest;
		q->in_off = 0;
	}
	int r = wait_fd(q->fd, POLLIN, deadline);
	if (r == 0)
		return xds_fail(err, "qmp %s: no %s within %d ms", q->path, what,
				q->timeout_ms);
	char chunk[QMP_READ_CHUNK];
	ssize_t n = r < 0 ? -1 : recv(q->fd, chunk, sizeof chunk, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return xds_fail(err, "qmp %s: read: %s", q->path, strerror(errno));
	if (n == 0)
		return xds_fail(err, "qmp %s: connection closed while waiting "
				"for %s", q->path, what);
	sb_append(&q->in, chunk, (size_t)n);
	if (q->in.oom)
		return xds_fail(err, "qmp %s: out of memory", q->path);
	return 0;
}

/* The next message that is not an event. */
static struct json *read_reply(struct qmp *q, int64_t deadline,
			       const char *what, struct xds_err *err)
{
	for (;;) {
		int bad;
		struct json *m = take_message(q, &bad, err);
		if (bad)
			return NULL;
		if (!m) {
			if (fill(q, deadline, what, err) < 0)
				return NULL;
			continue;
		}
		const char *ev = json_str(json_get(m, "event"));
		if (!ev)
			return m;
		q->nr_events++;
		q->stop_events += (uint64_t)is_stop_event(ev);
		snprintf(q->last_event, sizeof q->last_event, "%s", ev);
		json_free(m);
	}
}

int qmp_poll(struct qmp *q, struct xds_err *err)
{
	for (;;) {
		int bad;
		struct json *m = take_message(q, &bad, err);
		if (bad)
			return -1;
		if (m) {
			const char *ev = json_str(json_get(m, "event"));
			if (ev) {       /* no command is outstanding: anything else is stray */
				q->nr_events++;
				q->stop_events += (uint64_t)is_stop_event(ev);
				snprintf(q->last_event, sizeof q->last_event, "%s", ev);
			}
			json_free(m);
			continue;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			return 0;
		if (fill(q, now_ms(), "events", err) < 0)
			return -1;
	}
}

uint64_t qmp_stop_events(const struct qmp *q)
{
	return q->stop_events;
}

static int handshake(struct qmp *q, int64_t deadline, struct xds_err *err)
{
	struct json *g = read_reply(q, deadline, "QMP greeting (is another "
				    "client connected?)", err);
	if (!g)
		return -1;
	int is_qmp = json_get(g, "QMP") != NULL;
	json_free(g);
	if (!is_qmp)
		return xds_fail(err, "qmp %s: first message is not a QMP greeting",
				q->path);
	struct json *r = qmp_execute(q, "qmp_capabilities", NULL, err);
	json_free(r);
	return r ? 0 : -1;
}

struct qmp *qmp_open(const char *path, int timeout_ms, struct xds_err *err)
{
	struct qmp *q = calloc(1, sizeof *q);
	if (!q) {
		xds_fail(err, "qmp %s: out of memory", path);
		return NULL;
	}
	q->fd = -1;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : QMP_TIMEOUT_MS;
	if (strlen(path) >= sizeof q->path) {
		xds_fail(err, "qmp %s: socket path too long", path);
		qmp_close(q);
		return NULL;
	}
	strcpy(q->path, path);
	int64_t deadline = now_ms() + q->timeout_ms;
	if (connect_until(q, deadline, err) < 0 ||
	    handshake(q, deadline, err) < 0) {
		qmp_close(q);
		return NULL;
	}
	return q;
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	sb_free(&q->in);
	free(q);
}

void qmp_set_timeout(struct qmp *q, int timeout_ms)
{
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
}

static int build_command(struct strbuf *sb, const char *cmd, const char *args,
			 struct xds_err *err)
{
	sb_puts(sb, "{\"execute\":");
	sb_json_str(sb, cmd);
	if (args) {
		struct json *a = json_parse(args, strlen(args), err);
		int is_obj = json_is(a, JSON_OBJ);
		json_free(a);
		if (!is_obj)
			return a ? xds_fail(err, "arguments are not a JSON object")
				 : -1;
		sb_puts(sb, ",\"arguments\":");
		sb_puts(sb, args);
	}
	sb_puts(sb, "}\r\n");
	return sb->oom ? xds_fail(err, "out of memory") : 0;
}

static struct json *reply_value(struct qmp *q, struct json *m, const char *cmd,
				struct xds_err *err)
{
	struct json *ret = json_take(m, "return");
	if (ret)
		return ret;
	struct json *e = json_get(m, "error");
	if (e) {
		const char *desc = json_str(json_get(e, "desc"));
		const char *cls = json_str(json_get(e, "class"));
		xds_fail(err, "qmp %s: %s: %s (%s)", q->path, cmd,
			 desc ? desc : "error without desc",
			 cls ? cls : "no class");
	} else {
		xds_fail(err, "qmp %s: %s: reply has neither return nor error",
			 q->path, cmd);
	}
	return NULL;
}

struct json *qmp_execute(struct qmp *q, const char *cmd, const char *args,
			 struct xds_err *err)
{
	struct strbuf sb = {0};
	if (build_command(&sb, cmd, args, err) < 0) {
		sb_free(&sb);
		xds_err_wrap(err, "qmp %s: %s", q->path, cmd);
		return NULL;
	}
	int64_t deadline = now_ms() + q->timeout_ms;
	int r = write_all(q, sb.buf, sb.len, deadline, err);
	sb_free(&sb);
	if (r < 0)
		return NULL;
	char what[96];
	snprintf(what, sizeof what, "reply to '%s'", cmd);
	struct json *m = read_reply(q, deadline, what, err);
	if (!m)
		return NULL;
	struct json *ret = reply_value(q, m, cmd, err);
	json_free(m);
	return ret;
}

static int run_simple(struct qmp *q, const char *cmd, struct xds_err *err)
{
	struct json *r = qmp_execute(q, cmd, NULL, err);
	json_free(r);
	return r ? 0 : -1;
}

int qmp_stop(struct qmp *q, struct xds_err *err)
{
	return run_simple(q, "stop", err);
}

int qmp_cont(struct qmp *q, struct xds_err *err)
{
	return run_simple(q, "cont", err);
}

int qmp_query_status(struct qmp *q, int *running, char *status, size_t n,
		     struct xds_err *err)
{
	struct json *r = qmp_execute(q, "query-status", NULL, err);
	if (!r)
		return -1;
	struct json *run = json_get(r, "running");
	int rc = 0;
	if (!json_is(run, JSON_BOOL))
		rc = xds_fail(err, "qmp %s: query-status: no boolean 'running'",
			      q->path);
	else
		*running = json_bool(run, 0);
	if (status && n) {
		const char *s = json_str(json_get(r, "status"));
		snprintf(status, n, "%s", s ? s : "");
	}
	json_free(r);
	return rc;
}

char *qmp_hmp(struct qmp *q, const char *command_line, struct xds_err *err)
{
	struct strbuf args = {0};
	sb_puts(&args, "{\"command-line\":");
	sb_json_str(&args, command_line);
	sb_putc(&args, '}');
	struct json *r = args.oom ? NULL
		: qmp_execute(q, "human-monitor-command", args.buf, err);
	if (args.oom)
		xds_fail(err, "qmp %s: out of memory", q->path);
	sb_free(&args);
	if (!r)
		return NULL;
	const char *s = json_str(r);
	char *out = s ? strdup(s) : NULL;
	if (!out)
		xds_fail(err, "qmp %s: %s: %s", q->path, command_line,
			 s ? "out of memory" : "reply is not a string");
	json_free(r);
	return out;
}

uint64_t qmp_nr_events(const struct qmp *q)
{
	return q->nr_events;
}

const char *qmp_last_event(const struct qmp *q)
{
	return q->last_event;
}
