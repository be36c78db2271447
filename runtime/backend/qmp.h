/*
 * qmp.h - a client of the QEMU Machine Protocol over a unix socket.
 *
 * Owns one connection: connect, greeting, capability negotiation, then
 * synchronous commands.  Asynchronous events ({"event": ...}) that arrive
 * while a reply is awaited are counted and skipped.  Every wait (connect,
 * write, read) is bounded by the connection's timeout: a silent or
 * half-dead peer is an error value, never a hang.  Messages are framed by
 * JSON structure (xds_json_take), not by newlines, and parsed by jansson;
 * a message must be valid UTF-8 (RFC 8259), or the connection fails.
 * Leaves to callers: what the commands mean (the qemu backend), and
 * parsing HMP text (regs.c).  Not thread-safe: one caller per connection.
 */
#ifndef XDS_QMP_H
#define XDS_QMP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"
#include "util/json.h"

#define QMP_TIMEOUT_MS  5000        /* default for every wait */
/* Bytes in one message.  The largest replies we ask for are x-sim-tasks
 * (about 210 bytes a task: 20000 tasks) and HMP "info registers -a"
 * (1.7 KB a vCPU: 2400 vCPUs).  A hostile message costs more parsed than
 * sent, up to 80 times ("[{},{},..." is a jansson object per 3 bytes:
 * 1.25 GB for 16 MiB, measured), and it is parsed again as it grows, so
 * the bound is also one on memory (320 MB) and on each parse (0.4 s). */
#define QMP_MAX_MSG     (4u << 20)

struct qmp;

/*
 * Connect to the QMP socket at path, read the greeting, send
 * qmp_capabilities.  While the socket is missing or refuses (QEMU still
 * starting), retry until timeout_ms (0: QMP_TIMEOUT_MS) has passed.
 */
struct qmp *qmp_open(const char *path, int timeout_ms, struct xds_err *err);
/* The same on a socket already connected (fd passed by a parent, a test's
 * socketpair); name stands for the path in messages.  The qmp owns fd,
 * and closes it on failure too. */
struct qmp *qmp_open_fd(int fd, const char *name, int timeout_ms, struct xds_err *err);
void qmp_close(struct qmp *q);

/* Timeout for every later wait, in milliseconds (> 0). */
void qmp_set_timeout(struct qmp *q, int timeout_ms);

/*
 * Execute cmd with args (a JSON object, or NULL; the caller keeps its
 * reference) and return the reply's "return" value (caller json_decref),
 * or NULL with err holding QMP's "desc" and the command.
 */
json_t *qmp_execute(struct qmp *q, const char *cmd, json_t *args, struct xds_err *err);

int qmp_stop(struct qmp *q, struct xds_err *err);
/* query-status then stop, pipelined (one round trip); *was_running is the
 * state before the stop, which left a domain not running untouched. */
int qmp_stop_if_running(struct qmp *q, int *was_running, struct xds_err *err);
int qmp_cont(struct qmp *q, struct xds_err *err);
/* *running from query-status; status (may be NULL, size n) gets its
 * "status" string ("running", "paused", "prelaunch", ...). */
int qmp_query_status(struct qmp *q, int *running, char *status, size_t n,
		     struct xds_err *err);
/* The text printed by an HMP command (human-monitor-command); caller frees. */
char *qmp_hmp(struct qmp *q, const char *command_line, struct xds_err *err);
/* The peer closed the connection (its QEMU exited or was killed): checked
 * without waiting and without sending. */
bool qmp_peer_closed(const struct qmp *q);

/* Events skipped so far, and the name of the last one ("" if none). */
uint64_t qmp_nr_events(const struct qmp *q);
/* Takes in the events waiting on the socket, without blocking (no command
 * may be outstanding).  0, or -1 with err. */
int qmp_poll(struct qmp *q, struct xds_err *err);
/* POWERDOWN, SUSPEND, RESET and SHUTDOWN events seen so far. */
uint64_t qmp_stop_events(const struct qmp *q);
const char *qmp_last_event(const struct qmp *q);

#endif
