/*
 * fuzz_qmp.c - the QMP client's reader against a hostile QEMU.
 *
 * The input is all a QMP server sends: greeting, replies and events, in
 * any bytes.  Its first byte picks the commands the client runs; the rest
 * is written into one end of a socketpair, which is then shut for
 * writing, so the stream ends where the input does and no wait outlives
 * it.  The client (qmp_open_fd) negotiates, then runs query-status, HMP,
 * query-cpus-fast, stop and qmp_poll as the first byte says, each after
 * the other whatever the one before returned.  Besides "no crash" (ASan
 * and UBSan watch), the target checks the client's promises: every error
 * message starts with "qmp fuzz: ", a success returns what its type says
 * (a string, a running flag, a status that fits), and the event count
 * never runs backwards.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target.  Built with
 * -DXDS_FUZZ_STANDALONE it is a TAP test that runs random streams from a
 * fixed seed: plausible conversations, then pieces of them cut, spliced,
 * mutated, nested deep, stretched long or made invalid UTF-8.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend/qmp.h"

#define FZ_MAX_INPUT (1u << 20)

static unsigned long fz_broken, fz_opened, fz_ok, fz_failed, fz_events;

static void fz_violation(const char *what, const char *msg)
{
	fprintf(stderr, "fuzz_qmp: broken promise: %s (%s)\n", what, msg);
	fz_broken++;
#ifndef XDS_FUZZ_STANDALONE
	abort();
#endif
}

static void fz_check_err(const struct xds_err *err)
{
	fz_failed++;
	if (strncmp(err->msg, "qmp fuzz: ", 10) != 0)
		fz_violation("error message without the qmp fuzz: prefix", err->msg);
}

/* One command, chosen by k; its result checked. */
static void fz_command(struct qmp *q, int k)
{
	struct xds_err err = { "" };
	int running = -1, rc = 0;
	char status[16], *text;
	json_t *v;
	memset(status, 'x', sizeof status);
	switch (k) {
	case 0:
		rc = qmp_query_status(q, &running, status, sizeof status, &err);
		if (rc == 0 && ((running != 0 && running != 1) || !memchr(status, 0, sizeof status)))
			fz_violation("query-status: running not 0/1 or status unterminated", "");
		break;
	case 1:
		text = qmp_hmp(q, "info registers -a", &err);
		rc = text ? 0 : -1;
		free(text);
		break;
	case 2:
		v = qmp_execute(q, "query-cpus-fast", NULL, &err);
		rc = v ? 0 : -1;
		json_decref(v);
		break;
	case 3:
		rc = qmp_stop(q, &err);
		break;
	default:
		rc = qmp_poll(q, &err);
		break;
	}
	if (rc < 0)
		fz_check_err(&err);
	else
		fz_ok++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > FZ_MAX_INPUT)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return 0;
	int buf = 4 * FZ_MAX_INPUT;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	size_t off = 1;
	while (off < size) {
		ssize_t w = send(sv[1], data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			break;          /* what does not fit is not sent */
		off += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	struct xds_err err = { "" };
	struct qmp *q = qmp_open_fd(sv[0], "fuzz", 1000, &err);
	if (!q) {
		fz_check_err(&err);
	} else {
		fz_opened++;
		uint64_t events = qmp_nr_events(q);
		for (int i = 0; i < 6; i++) {
			fz_command(q, (data[0] + i * (1 + (data[0] >> 5))) % 5);
			if (qmp_nr_events(q) < events || qmp_stop_events(q) > qmp_nr_events(q) ||
			    strlen(qmp_last_event(q)) > 63)
				fz_violation("event counts run backwards or the last event overflows", "");
			events = qmp_nr_events(q);
		}
		fz_events += events;
		qmp_close(q);
	}
	close(sv[1]);
	return 0;
}

#ifdef XDS_FUZZ_STANDALONE
#include "tests/fuzz/rand.h"
#include "tests/tap.h"

struct fz_buf {
	uint8_t b[1u << 17];
	size_t n;
};

static void put(struct fz_buf *s, const void *p, size_t n)
{
	if (n > sizeof s->b - s->n)
		n = sizeof s->b - s->n;
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void puts_(struct fz_buf *s, const char *t)
{
	put(s, t, strlen(t));
}

static void put_repeat(struct fz_buf *s, const char *t, size_t times)
{
	while (times-- && s->n < sizeof s->b)
		puts_(s, t);
}

/* A string member's value: text with escapes, UTF-8, or bytes that are not. */
static void put_string(struct fz_buf *s)
{
	static const char *const pieces[] = {
		"RIP=0000", "\\r\\n", "\\\"", "\\u00e9", "\\ud83d\\ude00", "d\xc3\xa9\xe2\x82\xac",
		"\\ud800", "\xff", "\xc3", "\xed\xa0\x80", "\\u0000", "\\x", "\t", "CPU#0",
	};
	puts_(s, "\"");
	for (uint64_t k = fz_rand() % 8; k > 0; k--)
		puts_(s, pieces[fz_rand() % (sizeof pieces / sizeof *pieces)]);
	puts_(s, "\"");
}

static void put_event(struct fz_buf *s)
{
	static const char *const names[] = { "STOP", "RESUME", "POWERDOWN", "SHUTDOWN", "RESET",
		"SUSPEND", "A_VERY_LONG_EVENT_NAME_THAT_DOES_NOT_FIT_IN_SIXTY_FOUR_BYTES_AT_ALL_REALLY" };
	puts_(s, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"");
	puts_(s, names[fz_rand() % 7]);
	puts_(s, "\"}\r\n");
}

/* One reply, mostly of the shape some command expects. */
static void put_reply(struct fz_buf *s)
{
	switch (fz_rand() % 9) {
	case 0: puts_(s, "{\"return\": {}}\r\n"); break;
	case 1:
		puts_(s, "{\"return\": {\"status\": ");
		put_string(s);
		puts_(s, fz_rand() % 2 ? ", \"running\": false}}\r\n" : ", \"running\": 7}}\r\n");
		break;
	case 2:
		puts_(s, "{\"return\": ");
		put_string(s);
		puts_(s, "}\r\n");
		break;
	case 3:
		puts_(s, "{\"return\": [");
		put_repeat(s, "{\"cpu-index\": 0},", fz_rand() % 8);
		puts_(s, "{}]}\r\n");
		break;
	case 4: puts_(s, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n"); break;
	case 5: puts_(s, "{\"error\": 5}\r\n"); break;
	case 6: puts_(s, "{\"neither\": 1}\r\n"); break;
	case 7: puts_(s, "[\"return\"]\r\n"); break;
	default: put_event(s); break;
	}
}

/* Something hostile in the middle of the stream. */
static void put_hostile(struct fz_buf *s)
{
	size_t k = fz_rand() % 3000;
	switch (fz_rand() % 8) {
	case 0: put_repeat(s, "[", k); put_repeat(s, "]", fz_rand() % 3000); break;
	case 1: put_repeat(s, "{\"a\":", k % 2100); puts_(s, "1"); put_repeat(s, "}", k % 2100); break;
	case 2: puts_(s, "{\"return\": \""); put_repeat(s, "xxxxxxxxxxxxxxxx", k * 4); puts_(s, "\"}"); break;
	case 3: puts_(s, "{\"return\": 123456789012345678901234567890}"); break;
	case 4: puts_(s, "{\"return\": -1e999}"); break;
	case 5: puts_(s, "{\"return\": [1 2]}"); break;
	case 6: for (; k > 0; k--) { uint8_t c = (uint8_t)fz_rand(); put(s, &c, 1); } break;
	default: puts_(s, "QEMU says hello\r\n"); break;
	}
}

static void fz_stream(struct fz_buf *s)
{
	s->n = 0;
	uint8_t pick = (uint8_t)fz_rand();
	put(s, &pick, 1);
	if (fz_rand() % 8) {
		puts_(s, "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n");
		if (fz_rand() % 8)
			puts_(s, "{\"return\": {}}\r\n");        /* to qmp_capabilities */
	}
	for (uint64_t k = fz_rand() % 12; k > 0; k--) {
		uint64_t r = fz_rand() % 16;
		if (r < 10)
			put_reply(s);
		else if (r < 13)
			put_event(s);
		else
			put_hostile(s);
	}
	if (s->n > 1 && fz_rand() % 4 == 0)
		s->n = 1 + fz_rand() % (s->n - 1);     /* cut anywhere */
	for (uint64_t k = fz_rand() % 4 == 0 ? fz_rand() % 6 : 0; k > 0 && s->n > 1; k--)
		s->b[1 + fz_rand() % (s->n - 1)] = (uint8_t)fz_rand();     /* flip a byte */
}

int main(int argc, char **argv)
{
	unsigned long runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	static struct fz_buf s;
	LLVMFuzzerTestOneInput((const uint8_t *)"\0", 1);
	for (unsigned long i = 0; i < runs; i++) {
		fz_stream(&s);
		LLVMFuzzerTestOneInput(s.b, s.n);
	}
	ok(fz_broken == 0, "%lu random QMP streams: no promise broken (%lu)", runs, fz_broken);
	ok(fz_opened > runs / 2, "most streams got past the greeting (%lu)", fz_opened);
	ok(fz_ok > 0 && fz_failed > 0, "commands both succeeded (%lu) and failed (%lu)", fz_ok, fz_failed);
	ok(fz_events > 0, "events were skipped (%lu)", fz_events);
	return done_testing();
}
#endif
