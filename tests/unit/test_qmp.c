/*
 * test_qmp.c - the QMP client against a scripted fake server in a thread:
 * greeting and capabilities, events interleaved with replies, replies cut
 * into pieces, error replies, and peers that stay silent, hang up or send
 * garbage, each of which must end in an error value within the timeout.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "backend/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
	"\"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define OK_REPLY "{\"return\": {}}\r\n"

/* One step: wait for a command containing `expect` (unless NULL), sleep
 * delay_ms, send `reply` (unless NULL).  close_after ends the connection. */
struct step {
	const char *expect;
	int delay_ms;
	const char *reply;
	int close_after;
};

struct server {
	int lfd;
	const struct step *steps;
	int nr_steps;
	int mismatches;
	char got[8][512];    /* commands received, in order */
	int nr_got;
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read one JSON message (framed by xds_json_take) into out. */
static int read_command(int fd, char *out, size_t n)
{
	size_t len = 0;
	for (;;) {
		json_t *m;
		size_t used;
		int got = xds_json_take(out, len, &m, &used, NULL);
		json_decref(m);
		if (got > 0) {
			out[used] = 0;
			return 0;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (len + 1 >= n || poll(&p, 1, 10000) != 1)
			return -1;
		ssize_t r = recv(fd, out + len, n - 1 - len, 0);
		if (r <= 0)
			return -1;
		len += (size_t)r;
	}
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	for (int k = 0; k < s->nr_steps; k++) {
		const struct step *st = &s->steps[k];
		if (st->expect) {
			char buf[512] = "";
			if (read_command(fd, buf, sizeof buf) < 0)
				break;
			if (s->nr_got < 8)
				snprintf(s->got[s->nr_got++], 512, "%s", buf);
			if (!strstr(buf, st->expect))
				s->mismatches++;
		}
		sleep_ms(st->delay_ms);
		if (st->reply && send(fd, st->reply, strlen(st->reply), MSG_NOSIGNAL) < 0)
			break;
		if (st->close_after) {
			close(fd);
			return NULL;
		}
	}
	/* Hold the connection open (silent) until the client hangs up. */
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (poll(&p, 1, 10000) == 1 && recv(fd, &c, 1, 0) > 0)
		;
	close(fd);
	return NULL;
}

static char sock_path[108];

static void start(struct server *s, pthread_t *t, const struct step *steps,
		  int n)
{
	memset(s, 0, sizeof *s);
	s->steps = steps;
	s->nr_steps = n;
	snprintf(sock_path, sizeof sock_path, "/tmp/xds-test-qmp-%d.sock", getpid());
	unlink(sock_path);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, sock_path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s->lfd, 4) < 0)
		diag("cannot listen on %s", sock_path);
	pthread_create(t, NULL, serve, s);
}

static void finish(struct server *s, pthread_t t)
{
	pthread_join(t, NULL);
	close(s->lfd);
	unlink(sock_path);
}

static void test_conversation(void)
{
	static const struct step steps[] = {
		{ NULL, 0, GREETING, 0 },
		{ "\"execute\":\"qmp_capabilities\"", 0, OK_REPLY, 0 },
		{ "query-status", 0, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2},"
		  " \"event\": \"STOP\"}\r\n{\"return\": {\"status\": \"paused\","
		  " \"singlestep\": false, \"running\": false}}\r\n", 0 },
		{ "\"execute\":\"cont\"", 0, "{\"error\": {\"class\": \"GenericError\","
		  " \"desc\": \"Resetting the Virtual Machine is required\"}}\r\n", 0 },
		/* a reply cut in three writes, an event in front of it */
		{ "human-monitor-command", 0, "{\"event\": \"RESUME\", \"timestamp\"", 0 },
		{ NULL, 50, ": {\"seconds\": 1, \"microseconds\": 2}}\r\n{\"retu", 0 },
		{ NULL, 50, "rn\": \"\\r\\nCPU#0\\r\\nRIP=00\\\"x\\\"\\r\\n\"}\r\n", 0 },
		{ "\"execute\":\"stop\"", 0, OK_REPLY, 0 },
	};
	struct server s;
	pthread_t t;
	start(&s, &t, steps, sizeof steps / sizeof steps[0]);
	struct xds_err err = {{0}};
	struct qmp *q = qmp_open(sock_path, 2000, &err);
	ok(q != NULL, "connects, reads the greeting, negotiates capabilities (%s)",
	   err.msg);
	if (!q) {
		finish(&s, t);
		return;
	}
	int running = -1;
	char status[16];
	int r = qmp_query_status(q, &running, status, sizeof status, &err);
	ok(r == 0 && running == 0, "query-status says paused (%s)", err.msg);
	is_str(status, "paused", "status string");
	is_int(qmp_nr_events(q), 1, "the STOP event before the reply was skipped");
	is_str(qmp_last_event(q), "STOP", "and remembered by name");
	r = qmp_cont(q, &err);
	ok(r < 0 && strstr(err.msg, "cont") &&
	   strstr(err.msg, "Resetting the Virtual Machine is required") &&
	   strstr(err.msg, "GenericError"),
	   "an error reply carries the command, desc and class (%s)", err.msg);
	char *text = qmp_hmp(q, "info registers -a", &err);
	is_str(text, "\r\nCPU#0\r\nRIP=00\"x\"\r\n",
	       "HMP text reassembled from pieces, escapes decoded");
	free(text);
	is_int(qmp_nr_events(q), 2, "an event split across writes was skipped too");
	ok(qmp_stop(q, &err) == 0, "stop after all that (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);
	is_int(s.mismatches, 0, "the server got the commands in the order expected");
	ok(s.nr_got >= 4 && strstr(s.got[3], "\"arguments\":{\"command-line\":"
				   "\"info registers -a\"}"),
	   "HMP command line sent as arguments: %s", s.nr_got >= 4 ? s.got[3] : "");
}

static void test_silent_peer(void)
{
	static const struct step steps[] = {
		{ NULL, 0, GREETING, 0 },
		{ "qmp_capabilities", 0, OK_REPLY, 0 },
		{ "query-status", 0, NULL, 0 },     /* never answers */
	};
	struct server s;
	pthread_t t;
	start(&s, &t, steps, 3);
	struct xds_err err = {{0}};
	struct qmp *q = qmp_open(sock_path, 300, &err);
	ok(q != NULL, "silent peer: connected (%s)", err.msg);
	if (q) {
		int running;
		int64_t t0 = now_ms();
		int r = qmp_query_status(q, &running, NULL, 0, &err);
		int64_t dt = now_ms() - t0;
		ok(r < 0 && strstr(err.msg, "no reply to 'query-status' within 300 ms"),
		   "a peer that never answers is a timeout error (%s)", err.msg);
		ok(dt >= 250 && dt < 2000, "returned after %lld ms, near the timeout",
		   (long long)dt);
		qmp_close(q);
	}
	finish(&s, t);
}

static void test_no_greeting(void)
{
	static const struct step steps[] = { { NULL, 0, NULL, 0 } };
	struct server s;
	pthread_t t;
	start(&s, &t, steps, 1);
	struct xds_err err = {{0}};
	int64_t t0 = now_ms();
	struct qmp *q = qmp_open(sock_path, 200, &err);
	ok(q == NULL && strstr(err.msg, "no QMP greeting") && now_ms() - t0 < 2000,
	   "no greeting: error within the timeout (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);
}

static void test_hangup_and_garbage(void)
{
	static const struct step hangup[] = {
		{ NULL, 0, GREETING, 0 },
		{ "qmp_capabilities", 0, OK_REPLY, 0 },
		{ "stop", 0, "{\"return\"", 1 },
	};
	struct server s;
	pthread_t t;
	start(&s, &t, hangup, 3);
	struct xds_err err = {{0}};
	struct qmp *q = qmp_open(sock_path, 2000, &err);
	int r = q ? qmp_stop(q, &err) : -1;
	ok(q && r < 0 && strstr(err.msg, "connection closed while waiting for "
				"reply to 'stop'"),
	   "peer hanging up mid-reply is an error (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);

	static const struct step garbage[] = {
		{ NULL, 0, "QEMU says hello\r\n", 0 },
	};
	start(&s, &t, garbage, 1);
	q = qmp_open(sock_path, 2000, &err);
	ok(q == NULL && strstr(err.msg, "not JSON"),
	   "a non-JSON greeting is an error (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);

	static const struct step notqmp[] = {
		{ NULL, 0, "{\"hello\": 1}\r\n", 0 },
	};
	start(&s, &t, notqmp, 1);
	q = qmp_open(sock_path, 2000, &err);
	ok(q == NULL && strstr(err.msg, "not a QMP greeting"),
	   "a JSON greeting without \"QMP\" is an error (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);

	static const struct step badjson[] = {
		{ NULL, 0, GREETING, 0 },
		{ "qmp_capabilities", 0, OK_REPLY, 0 },
		{ "query-status", 0, "{\"return\": [1 2]}\r\n", 0 },
	};
	start(&s, &t, badjson, 3);
	q = qmp_open(sock_path, 2000, &err);
	int running;
	r = q ? qmp_query_status(q, &running, NULL, 0, &err) : -1;
	ok(q && r < 0 && strstr(err.msg, "bad message"),
	   "a malformed reply is an error (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);
}

/* A reply that never ends within QMP_MAX_MSG: an error, soon, with the
 * memory it took bounded by the message size. */
static void test_huge_message(void)
{
	size_t n = QMP_MAX_MSG + (1u << 20);
	char *huge = malloc(n + 1);
	memset(huge, 'x', n);
	memcpy(huge, "{\"return\": \"", 12);
	huge[n] = 0;
	struct step steps[] = {
		{ NULL, 0, GREETING, 0 },
		{ "qmp_capabilities", 0, OK_REPLY, 0 },
		{ "query-status", 0, huge, 0 },
	};
	struct server s;
	pthread_t t;
	start(&s, &t, steps, 3);
	struct xds_err err = {{0}};
	struct qmp *q = qmp_open(sock_path, 5000, &err);
	int running;
	int64_t t0 = now_ms();
	int r = q ? qmp_query_status(q, &running, NULL, 0, &err) : 0;
	/* the size limit, not the deadline, ended it: no timed assertion,
	 * which a loaded machine would break */
	ok(q && r < 0 && strstr(err.msg, "message longer than"),
	   "a message over QMP_MAX_MSG is an error, not a timeout (%s)", err.msg);
	diag("it took %lld ms", (long long)(now_ms() - t0));
	qmp_close(q);
	finish(&s, t);
	free(huge);
}

static void test_no_socket(void)
{
	struct xds_err err = {{0}};
	int64_t t0 = now_ms();
	struct qmp *q = qmp_open("/tmp/xds-test-qmp-no-such.sock", 150, &err);
	int64_t dt = now_ms() - t0;
	ok(q == NULL && strstr(err.msg, "connect") && dt >= 140 && dt < 2000,
	   "a missing socket is retried until the timeout, then an error "
	   "(%lld ms: %s)", (long long)dt, err.msg);
	char longpath[200];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	q = qmp_open(longpath, 100, &err);
	ok(q == NULL && strstr(err.msg, "too long"), "an over-long path is an error");
}

static void test_bad_arguments(void)
{
	static const struct step steps[] = {
		{ NULL, 0, GREETING, 0 },
		{ "qmp_capabilities", 0, OK_REPLY, 0 },
	};
	struct server s;
	pthread_t t;
	start(&s, &t, steps, 2);
	struct xds_err err = {{0}};
	struct qmp *q = qmp_open(sock_path, 2000, &err);
	json_t *list = json_pack("[i]", 1);
	json_t *r = q ? qmp_execute(q, "x", list, &err) : NULL;
	ok(q && !r && strstr(err.msg, "not a JSON object"),
	   "arguments that are not an object are refused before sending (%s)",
	   err.msg);
	json_decref(list);
	r = q ? qmp_execute(q, "x\xff", NULL, &err) : NULL;
	ok(q && !r && strstr(err.msg, "cannot encode"),
	   "a command name that is not UTF-8 is refused before sending (%s)", err.msg);
	qmp_close(q);
	finish(&s, t);
}

int main(void)
{
	test_conversation();
	test_silent_peer();
	test_no_greeting();
	test_hangup_and_garbage();
	test_huge_message();
	test_no_socket();
	test_bad_arguments();
	return done_testing();
}
