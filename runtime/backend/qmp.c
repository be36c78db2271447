/*
 * qmp.c - QMP client over a unix socket (see qmp.h).
 *
 * Each wait computes what is left of one deadline and polls for at most
 * that long, so a command's total time is bounded whatever the peer does.
 * Received bytes accumulate in a buffer; xds_json_take cuts complete
 * messages off its front (QEMU ends each with CRLF, but nothing here
 * depends on it).  A message is parsed again from its start as more of it
 * arrives; the deadline bounds that work as it bounds the wait.  Replies carry no "id": commands are strictly
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
#include "util/utf8.h"

#define QMP_READ_CHUNK 65536

struct qmp {
	int fd;
	int timeout_ms;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *in;               /* received bytes (never NULL); in[off..len) not yet consumed */
	size_t off, len, cap;
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

/* A complete message at the front of the buffer: 1 and *m, 0 when more
 * bytes are needed, -1 with err. */
static int take_message(struct qmp *q, json_t **m, struct xds_err *err)
{
	const char *p = q->in + q->off;
	size_t avail = q->len - q->off, used;
	int r = xds_json_take(p, avail, m, &used, err);
	if (r < 0)
		return xds_err_wrap(err, "qmp %s: bad message '%s'", q->path,
				    utf8_shown(p, avail < 40 ? avail : 40).s);
	q->off += used;
	if (r == 0 && avail - used > QMP_MAX_MSG)
		return xds_fail(err, "qmp %s: message longer than %u bytes", q->path,
				QMP_MAX_MSG);
	return r;
}

static int fill(struct qmp *q, int64_t deadline, const char *what,
		struct xds_err *err)
{
	memmove(q->in, q->in + q->off, q->len - q->off);    /* drop consumed messages */
	q->len -= q->off;
	q->off = 0;
	if (q->cap - q->len < QMP_READ_CHUNK) {     /* here len <= QMP_MAX_MSG */
		size_t cap = q->cap * 2 > q->len + QMP_READ_CHUNK ? q->cap * 2 : q->len + QMP_READ_CHUNK;
		char *in = realloc(q->in, cap);
		if (!in)
			return xds_fail(err, "qmp %s: out of memory", q->path);
		q->in = in;
		q->cap = cap;
	}
	/* past the deadline even a peer that keeps sending has failed */
	int r = left_ms(deadline) > 0 ? wait_fd(q->fd, POLLIN, deadline) : 0;
	if (r == 0)
		return xds_fail(err, "qmp %s: no %s within %d ms", q->path, what,
				q->timeout_ms);
	ssize_t n = r < 0 ? -1 : recv(q->fd, q->in + q->len, q->cap - q->len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return xds_fail(err, "qmp %s: read: %s", q->path, strerror(errno));
	if (n == 0)
		return xds_fail(err, "qmp %s: connection closed while waiting "
				"for %s", q->path, what);
	q->len += (size_t)n;
	return 0;
}

/* 1 when m is an event (counted and remembered), else 0. */
static int note_event(struct qmp *q, const json_t *m)
{
	const char *ev = json_string_value(json_object_get(m, "event"));
	if (!ev)
		return 0;
	q->nr_events++;
	q->stop_events += (uint64_t)is_stop_event(ev);
	snprintf(q->last_event, sizeof q->last_event, "%s", ev);
	return 1;
}

/* The next message that is not an event. */
static json_t *read_reply(struct qmp *q, int64_t deadline, const char *what,
			  struct xds_err *err)
{
	for (;;) {
		json_t *m;
		int r = take_message(q, &m, err);
		if (r < 0 || (r == 0 && fill(q, deadline, what, err) < 0))
			return NULL;
		if (r > 0 && !note_event(q, m))
			return m;
		json_decref(m);
	}
}

/* No command is outstanding: a message that is not an event is stray. */
int qmp_poll(struct qmp *q, struct xds_err *err)
{
	int64_t deadline = now_ms() + q->timeout_ms;
	for (;;) {
		json_t *m;
		int r = take_message(q, &m, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			note_event(q, m);
			json_decref(m);
			continue;
		}
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			return 0;       /* a message begun waits for the next call */
		if (fill(q, deadline, "events", err) < 0)
			return -1;
	}
}

uint64_t qmp_stop_events(const struct qmp *q)
{
	return q->stop_events;
}

static int handshake(struct qmp *q, int64_t deadline, struct xds_err *err)
{
	json_t *g = read_reply(q, deadline, "QMP greeting (is another "
			       "client connected?)", err);
	if (!g)
		return -1;
	int is_qmp = json_object_get(g, "QMP") != NULL;
	json_decref(g);
	if (!is_qmp)
		return xds_fail(err, "qmp %s: first message is not a QMP greeting",
				q->path);
	json_t *r = qmp_execute(q, "qmp_capabilities", NULL, err);
	json_decref(r);
	return r ? 0 : -1;
}

static struct qmp *qmp_new(const char *path, int timeout_ms, struct xds_err *err)
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
	q->cap = QMP_READ_CHUNK;
	q->in = malloc(q->cap);
	if (!q->in) {
		xds_fail(err, "qmp %s: out of memory", path);
		qmp_close(q);
		return NULL;
	}
	return q;
}

struct qmp *qmp_open(const char *path, int timeout_ms, struct xds_err *err)
{
	struct qmp *q = qmp_new(path, timeout_ms, err);
	int64_t deadline = q ? now_ms() + q->timeout_ms : 0;
	if (q && (connect_until(q, deadline, err) < 0 || handshake(q, deadline, err) < 0)) {
		qmp_close(q);
		return NULL;
	}
	return q;
}

struct qmp *qmp_open_fd(int fd, const char *name, int timeout_ms, struct xds_err *err)
{
	struct qmp *q = qmp_new(name, timeout_ms, err);
	if (!q) {
		close(fd);
		return NULL;
	}
	q->fd = fd;
	if (handshake(q, now_ms() + q->timeout_ms, err) < 0) {
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
	free(q->in);
	free(q);
}

void qmp_set_timeout(struct qmp *q, int timeout_ms)
{
	if (timeout_ms > 0)
		q->timeout_ms = timeout_ms;
}

/* {"execute": cmd, "arguments": args} and CRLF, as one text (caller frees). */
static char *build_command(const char *cmd, json_t *args, size_t *len, struct xds_err *err)
{
	if (args && !json_is_object(args)) {
		xds_fail(err, "arguments are not a JSON object");
		return NULL;
	}
	json_t *c = json_pack("{s:s}", "execute", cmd);
	if (c && args && json_object_set(c, "arguments", args) < 0) {
		json_decref(c);
		c = NULL;
	}
	*len = c ? json_dumpb(c, NULL, 0, JSON_COMPACT) : 0;
	char *text = *len ? malloc(*len + 2) : NULL;
	if (text) {
		json_dumpb(c, text, *len, JSON_COMPACT);
		memcpy(text + *len, "\r\n", 2);
		*len += 2;
	} else {
		xds_fail(err, "cannot encode the command (not UTF-8, or out of memory)");
	}
	json_decref(c);
	return text;
}

static json_t *reply_value(struct qmp *q, json_t *m, const char *cmd, struct xds_err *err)
{
	json_t *ret = json_object_get(m, "return");
	if (ret)
		return json_incref(ret);
	json_t *e = json_object_get(m, "error");
	if (e) {
		const char *desc = json_string_value(json_object_get(e, "desc"));
		const char *cls = json_string_value(json_object_get(e, "class"));
		xds_fail(err, "qmp %s: %s: %s (%s)", q->path, cmd,
			 desc ? desc : "error without desc",
			 cls ? cls : "no class");
	} else {
		xds_fail(err, "qmp %s: %s: reply has neither return nor error",
			 q->path, cmd);
	}
	return NULL;
}

json_t *qmp_execute(struct qmp *q, const char *cmd, json_t *args, struct xds_err *err)
{
	size_t len;
	char *text = build_command(cmd, args, &len, err);
	if (!text) {
		xds_err_wrap(err, "qmp %s: %s", q->path, cmd);
		return NULL;
	}
	int64_t deadline = now_ms() + q->timeout_ms;
	int r = write_all(q, text, len, deadline, err);
	free(text);
	if (r < 0)
		return NULL;
	char what[96];
	snprintf(what, sizeof what, "reply to '%s'", cmd);
	json_t *m = read_reply(q, deadline, what, err);
	if (!m)
		return NULL;
	json_t *ret = reply_value(q, m, cmd, err);
	json_decref(m);
	return ret;
}

static int run_simple(struct qmp *q, const char *cmd, struct xds_err *err)
{
	json_t *r = qmp_execute(q, cmd, NULL, err);
	json_decref(r);
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
	json_t *r = qmp_execute(q, "query-status", NULL, err);
	if (!r)
		return -1;
	json_t *run = json_object_get(r, "running");
	int rc = 0;
	if (!json_is_boolean(run))
		rc = xds_fail(err, "qmp %s: query-status: no boolean 'running'",
			      q->path);
	else
		*running = json_is_true(run);
	if (status && n) {
		const char *s = json_string_value(json_object_get(r, "status"));
		snprintf(status, n, "%s", s ? s : "");
	}
	json_decref(r);
	return rc;
}

/*
 * query-status and stop in one write, their replies in one wait: a single
 * round trip.  QMP runs a client's commands in order, and stop leaves a
 * domain that is not running as it was (QEMU's vm_stop changes nothing
 * then), so *was_running is the state our stop met.
 */
int qmp_stop_if_running(struct qmp *q, int *was_running, struct xds_err *err)
{
	static const char both[] = "{\"execute\":\"query-status\"}\r\n{\"execute\":\"stop\"}\r\n";
	int64_t deadline = now_ms() + q->timeout_ms;
	if (write_all(q, both, sizeof both - 1, deadline, err) < 0)
		return -1;
	json_t *st = read_reply(q, deadline, "reply to 'query-status'", err);
	json_t *stop = st ? read_reply(q, deadline, "reply to 'stop'", err) : NULL;
	json_t *run = st ? reply_value(q, st, "query-status", err) : NULL;
	json_t *ok = run && stop ? reply_value(q, stop, "stop", err) : NULL;
	json_t *r = run ? json_object_get(run, "running") : NULL;
	int rc = ok ? 0 : -1;
	if (ok && !json_is_boolean(r))
		rc = xds_fail(err, "qmp %s: query-status: no boolean 'running'", q->path);
	else if (ok)
		*was_running = json_is_true(r);
	json_decref(ok);
	json_decref(run);
	json_decref(stop);
	json_decref(st);
	return rc;
}

bool qmp_peer_closed(const struct qmp *q)
{
	if (q->fd < 0)
		return true;
	struct pollfd p = { .fd = q->fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

char *qmp_hmp(struct qmp *q, const char *command_line, struct xds_err *err)
{
	json_t *args = json_pack("{s:s}", "command-line", command_line);
	json_t *r = args ? qmp_execute(q, "human-monitor-command", args, err) : NULL;
	if (!args)
		xds_fail(err, "qmp %s: %s: cannot encode it", q->path, command_line);
	json_decref(args);
	if (!r)
		return NULL;
	const char *s = json_string_value(r);
	char *out = s ? strdup(s) : NULL;
	if (!out)
		xds_fail(err, "qmp %s: %s: %s", q->path, command_line,
			 s ? "out of memory" : "reply is not a string");
	json_decref(r);
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
