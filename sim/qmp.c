/*
 * qmp.c - the simulated host seen from outside: QMP on unix sockets.
 *
 * DIR/NAME.qmp speaks the part of QEMU's QMP that xds-lua uses on a real
 * guest (greeting, qmp_capabilities, stop, cont, query-status,
 * human-monitor-command "info registers [-a]" and "xp /1xg PA" in QEMU's
 * own text, quit),
 * so one client serves both.  DIR/host.qmp controls the simulation:
 * x-sim-step {"ns": N} (returns when done), x-sim-status, x-sim-tasks,
 * quit.  One thread, one poll loop; in virtual time nothing moves between
 * x-sim-step calls, in real time the loop steps the host by the wall clock.
 * Every reply is built with jansson; names, comms and messages go through
 * xds_json_bytes (util/json.h), so a reply is valid JSON and UTF-8 whatever
 * bytes a scenario put in them.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "simk.h"
#include "util/json.h"

#define MAX_CLIENTS 64
#define HOST_SOCKET (-1)

struct client {
	int fd;
	int dom;                 /* domain index, or HOST_SOCKET */
	bool negotiated;
	char *in;
	size_t len, cap;
};

struct server {
	struct sim *s;
	const char *dir;
	int listen_fd[SIM_MAX_DOMAINS + 1];   /* domains, then host */
	struct client cl[MAX_CLIENTS];
	int nr_cl;
	bool quit;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_text(struct client *c, const char *text)
{
	size_t n = strlen(text), off = 0;
	while (off < n) {
		ssize_t w = send(c->fd, text + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;           /* the peer went away; poll will see it */
		off += (size_t)w;
	}
}

/* Send v (consumed) as one line.  A reply that cannot be encoded (out of
 * memory) is an error reply, so that the client is not left waiting. */
static void send_json(struct client *c, json_t *v)
{
	if (!v)
		v = json_pack("{s:{s:s,s:s}}", "error", "class", "GenericError",
			      "desc", "xds-sim: cannot encode the reply");
	char *text = v ? json_dumps(v, 0) : NULL;
	json_decref(v);
	if (text) {
		send_text(c, text);
		send_text(c, "\r\n");
	}
	free(text);
}

static void reply_error(struct client *c, const char *cls, const char *desc)
{
	send_json(c, json_pack("{s:{s:s,s:o}}", "error", "class", cls,
			       "desc", xds_json_bytes(desc, strlen(desc))));
}

static void reply(struct client *c, json_t *ret)
{
	send_json(c, json_pack("{s:o}", "return", ret));
}

static void reply_empty(struct client *c)
{
	reply(c, json_object());
}

static void send_event(struct server *sv, int dom, const char *name)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *ev = json_pack("{s:{s:I,s:I},s:s}", "timestamp", "seconds", (json_int_t)ts.tv_sec,
			       "microseconds", (json_int_t)(ts.tv_nsec / 1000), "event", name);
	for (int i = 0; i < sv->nr_cl; i++)
		if (sv->cl[i].dom == dom && sv->cl[i].negotiated)
			send_json(&sv->cl[i], json_incref(ev));
	json_decref(ev);
}

/* One vCPU's block of "info registers", in QEMU 7.2's long-mode layout. */
static void print_vcpu(FILE *out, struct sdom *d, int cpu, bool header)
{
	struct svcpu *v = &d->vcpu[cpu];
	bool user = v->cpl == 3;
	uint64_t cr3 = d->cr3;
	if (d->pti)
		cr3 |= user ? 0x1000 | 0x801 : 0x1;
	uint64_t rip = user ? 0x401000 + (uint64_t)cpu * 0x40 : d->kimg_va + 0x1000 + (v->halted ? 0x80 : 0x200);
	uint64_t rsp = user ? 0x7ffc0000f000ULL : d->page_offset + 0x7f000 + (uint64_t)cpu * 0x4000;
	if (header)
		fprintf(out, "CPU#%d\r\n", cpu);
	fprintf(out, "RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000\r\n");
	fprintf(out, "RSI=0000000000000000 RDI=0000000000000000 RBP=0000000000000000 RSP=%016llx\r\n",
		(unsigned long long)rsp);
	fprintf(out, "R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000\r\n");
	fprintf(out, "R12=0000000000000000 R13=0000000000000000 R14=0000000000000000 R15=0000000000000000\r\n");
	fprintf(out, "RIP=%016llx RFL=00000246 [---Z-P-] CPL=%d II=0 A20=1 SMM=0 HLT=%d\r\n",
		(unsigned long long)rip, v->cpl, v->halted ? 1 : 0);
	const char *seg = user ? "ES =002b 0000000000000000 ffffffff 00c0f300 DPL=3 DS   [-WA]\r\n"
			       : "ES =0000 0000000000000000 00000000 00000000\r\n";
	fputs(seg, out);
	fprintf(out, "CS =%s 0000000000000000 ffffffff 00a0%s00 DPL=%d CS64 [-RA]\r\n",
		user ? "0033" : "0010", user ? "fb" : "9b", user ? 3 : 0);
	fprintf(out, "SS =%s 0000000000000000 ffffffff 00c0%s00 DPL=%d DS   [-WA]\r\n",
		user ? "002b" : "0018", user ? "f3" : "93", user ? 3 : 0);
	fputs("DS =0000 0000000000000000 00000000 00000000\r\n", out);
	fputs("FS =0000 0000000000000000 00000000 00000000\r\n", out);
	fprintf(out, "GS =0000 %016llx 00000000 00000000\r\n",
		(unsigned long long)d->percpu[cpu]);
	fputs("LDT=0000 0000000000000000 00000000 00008200 DPL=0 LDT\r\n", out);
	fputs("TR =0040 fffffe0000003000 00004087 00008900 DPL=0 TSS64-avl\r\n", out);
	fputs("GDT=     fffffe0000001000 0000007f\r\n", out);
	fputs("IDT=     fffffe0000000000 00000fff\r\n", out);
	fprintf(out, "CR0=80050033 CR2=0000000000000000 CR3=%016llx CR4=%08x\r\n",
		(unsigned long long)cr3, d->pti ? 0x003606f0 : 0x003406f0);
	fputs("DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 \r\n", out);
	fputs("DR6=00000000ffff0ff0 DR7=0000000000000400\r\n", out);
	fputs("EFER=0000000000000d01\r\n", out);
}

static void hmp(struct client *c, struct sdom *d, const char *line)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		reply_error(c, "GenericError", "out of memory");
		return;
	}
	while (*line == ' ')
		line++;
	if (!strcmp(line, "info registers -a")) {
		for (int cpu = 0; cpu < d->nr_vcpus; cpu++) {
			print_vcpu(out, d, cpu, true);
			fputs("\r\n", out);
		}
	} else if (!strcmp(line, "info registers")) {
		print_vcpu(out, d, 0, false);
	} else if (!strncmp(line, "xp /1xg ", 8)) {
		/* one 8-byte word of guest-physical memory, in QEMU's format */
		char *end;
		unsigned long long pa = strtoull(line + 8, &end, 0);
		uint64_t v;
		if (end == line + 8 || *end || pa > d->ram_size - 8)
			fprintf(out, "Cannot access memory\r\n");
		else {
			memcpy(&v, (const uint8_t *)d->ram + pa, 8);
			fprintf(out, "%016llx: 0x%016llx\r\n", pa, (unsigned long long)v);
		}
	} else {
		char word[64];
		snprintf(word, sizeof word, "%s", line);
		word[strcspn(word, " ")] = 0;
		fprintf(out, "unknown command: '%s'\r\n", word);
	}
	if (fclose(out) == 0)
		reply(c, xds_json_bytes(text, len));
	else
		reply_error(c, "GenericError", "out of memory");
	free(text);
}

static void domain_command(struct server *sv, struct client *c, const char *cmd, json_t *args)
{
	struct sdom *d = sv->s->doms[c->dom];
	if (!strcmp(cmd, "stop")) {
		bool was = d->paused;
		sim_pause(d);
		reply_empty(c);
		if (!was)
			send_event(sv, c->dom, "STOP");
	} else if (!strcmp(cmd, "cont")) {
		bool was = d->paused;
		sim_resume(d);
		reply_empty(c);
		if (was)
			send_event(sv, c->dom, "RESUME");
	} else if (!strcmp(cmd, "query-status")) {
		const char *st = d->crashed ? "guest-panicked" : d->paused ? "paused" : "running";
		reply(c, json_pack("{s:s,s:b,s:b}", "status", st, "singlestep", 0,
				   "running", !d->paused && !d->crashed));
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		json_t *cpus = json_array();
		for (int i = 0; i < d->nr_vcpus; i++) {
			char qom[64];
			snprintf(qom, sizeof qom, "/machine/unattached/device[%d]", i);
			json_array_append_new(cpus, json_pack("{s:i,s:s,s:i,s:s,s:{s:i,s:i,s:i}}",
							      "cpu-index", i, "qom-path", qom, "thread-id", (int)getpid(),
							      "target", "x86_64", "props", "core-id", 0, "thread-id", 0,
							      "socket-id", i));
		}
		reply(c, cpus);
	} else if (!strcmp(cmd, "human-monitor-command")) {
		const char *line = json_string_value(json_object_get(args, "command-line"));
		if (!line)
			reply_error(c, "GenericError", "Parameter 'command-line' is missing");
		else
			hmp(c, d, line);
	} else if (!strcmp(cmd, "system_powerdown")) {
		reply_empty(c);         /* the power button: the guest is told, goes on */
		send_event(sv, c->dom, "POWERDOWN");
	} else if (!strcmp(cmd, "quit")) {
		reply_empty(c);
		send_event(sv, c->dom, "SHUTDOWN");
		sim_pause(d);
		d->crashed = true;
		snprintf(d->oops, sizeof d->oops, "powered off by QMP quit");
	} else {
		char desc[128];
		snprintf(desc, sizeof desc, "The command %s has not been found", cmd);
		reply_error(c, "CommandNotFound", desc);
	}
}

static json_t *as_json(const char *s)
{
	return xds_json_bytes(s, strlen(s));
}

static void host_status(struct client *c, struct sim *s)
{
	json_t *doms = json_array(), *msgs = json_array();
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		json_array_append_new(doms, json_pack("{s:o,s:i,s:b,s:b,s:o}", "name", as_json(d->name),
						      "vcpus", d->nr_vcpus, "paused", d->paused,
						      "crashed", d->crashed, "oops", as_json(d->oops)));
	}
	int n = s->nr_last < 8 ? s->nr_last : 8;
	for (int i = 0; i < n; i++)
		json_array_append_new(msgs, as_json(s->last_violation[(s->nr_last - n + i) % 8]));
	reply(c, json_pack("{s:I,s:I,s:o,s:o}", "time_ns", (json_int_t)s->now,
			   "violations", (json_int_t)s->violations, "domains", doms, "messages", msgs));
}

static void host_command(struct server *sv, struct client *c, const char *cmd, json_t *args)
{
	struct sim *s = sv->s;
	if (!strcmp(cmd, "x-sim-step")) {
		json_t *ns = json_object_get(args, "ns");
		json_int_t v = json_integer_value(ns);
		if (!json_is_integer(ns) || v < 0 || v > (json_int_t)3600 * 1000000000LL) {
			reply_error(c, "GenericError", "x-sim-step needs {\"ns\": N} with 0 <= N <= 1 hour");
			return;
		}
		sim_step(s, (uint64_t)v);
		if (s->halted) {
			char desc[320];
			snprintf(desc, sizeof desc, "--strict: stopped at an invariant violation: %s",
				 s->last_violation[(s->nr_last + 7) % 8]);
			reply_error(c, "GenericError", desc);
			return;
		}
		reply(c, json_pack("{s:I}", "time_ns", (json_int_t)s->now));
	} else if (!strcmp(cmd, "x-sim-status")) {
		host_status(c, s);
	} else if (!strcmp(cmd, "x-sim-tasks")) {
		reply(c, sim_truth_json(s));
	} else if (!strcmp(cmd, "system_powerdown")) {
		reply_empty(c);         /* the power button: the guest is told, goes on */
		send_event(sv, c->dom, "POWERDOWN");
	} else if (!strcmp(cmd, "quit")) {
		reply_empty(c);
		sv->quit = true;
	} else {
		char desc[128];
		snprintf(desc, sizeof desc, "The command %s has not been found", cmd);
		reply_error(c, "CommandNotFound", desc);
	}
}

static void handle(struct server *sv, struct client *c, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "execute"));
	json_t *args = json_object_get(req, "arguments");
	if (!json_is_object(req)) {
		reply_error(c, "GenericError", "QMP input must be a JSON object");
	} else if (!cmd) {
		reply_error(c, "GenericError", "QMP input lacks member 'execute'");
	} else if (!strcmp(cmd, "qmp_capabilities")) {
		c->negotiated = true;
		reply_empty(c);
	} else if (!c->negotiated) {
		reply_error(c, "CommandNotFound",
			    "Expecting capabilities negotiation with 'qmp_capabilities'");
	} else if (c->dom == HOST_SOCKET) {
		host_command(sv, c, cmd, args);
	} else {
		domain_command(sv, c, cmd, args);
	}
}

static void drop_client(struct server *sv, int i)
{
	close(sv->cl[i].fd);
	free(sv->cl[i].in);
	sv->cl[i] = sv->cl[--sv->nr_cl];
}

static void accept_client(struct server *sv, int lfd, int dom)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (sv->nr_cl == MAX_CLIENTS) {
		close(fd);
		return;
	}
	struct client *c = &sv->cl[sv->nr_cl++];
	*c = (struct client){ .fd = fd, .dom = dom };
	send_json(c, json_pack("{s:{s:{s:{s:i,s:i,s:i},s:s},s:[s]}}", "QMP", "version", "qemu",
			       "micro", 0, "minor", 2, "major", 7, "package", "xds-sim",
			       "capabilities", "oob"));
}

/* Reads what the client sent and answers every complete command in it. */
static bool serve_client(struct server *sv, struct client *c)
{
	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? 2 * c->cap : 8192;
		if (cap > (16u << 20))
			return false;        /* a client that never finishes a command */
		char *n = realloc(c->in, cap);
		if (!n)
			return false;
		c->in = n;
		c->cap = cap;
	}
	ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
	if (r <= 0)
		return r < 0 && errno == EINTR;
	c->len += (size_t)r;
	for (;;) {
		json_t *req;
		size_t used;
		struct xds_err err;
		int got = xds_json_take(c->in, c->len, &req, &used, &err);
		if (got < 0)
			reply_error(c, "GenericError", err.msg);
		memmove(c->in, c->in + used, c->len - used);
		c->len -= used;
		if (got <= 0)
			return got == 0;    /* bad JSON: answered, and the client dropped */
		handle(sv, c, req);
		json_decref(req);
	}
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SIM_NSEC + (uint64_t)ts.tv_nsec;
}

static int open_sockets(struct server *sv)
{
	char path[600];
	struct sim *s = sv->s;
	for (int i = 0; i <= s->nr_doms; i++) {
		if (i < s->nr_doms)
			snprintf(path, sizeof path, "%s/%s.qmp", sv->dir, s->doms[i]->name);
		else
			snprintf(path, sizeof path, "%s/host.qmp", sv->dir);
		sv->listen_fd[i] = listen_unix(path);
		if (sv->listen_fd[i] < 0) {
			fprintf(stderr, "xds-sim: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void close_sockets(struct server *sv)
{
	char path[600];
	struct sim *s = sv->s;
	while (sv->nr_cl)
		drop_client(sv, 0);
	for (int i = 0; i <= s->nr_doms; i++) {
		if (sv->listen_fd[i] < 0)
			continue;
		close(sv->listen_fd[i]);
		if (i < s->nr_doms)
			snprintf(path, sizeof path, "%s/%s.qmp", sv->dir, s->doms[i]->name);
		else
			snprintf(path, sizeof path, "%s/host.qmp", sv->dir);
		unlink(path);
	}
}

int sim_serve(struct sim *s, const char *dir, bool realtime)
{
	struct server sv = { .s = s, .dir = dir };
	for (int i = 0; i <= SIM_MAX_DOMAINS; i++)
		sv.listen_fd[i] = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (open_sockets(&sv)) {
		close_sockets(&sv);
		return -1;
	}
	printf("ready %s\n", dir);
	fflush(stdout);
	uint64_t last = wall_ns();
	while (!sv.quit && !stop_signal && !s->halted) {
		struct pollfd pfd[SIM_MAX_DOMAINS + 1 + MAX_CLIENTS];
		int n = 0;
		for (int i = 0; i <= s->nr_doms; i++)
			pfd[n++] = (struct pollfd){ .fd = sv.listen_fd[i], .events = POLLIN };
		for (int i = 0; i < sv.nr_cl; i++)
			pfd[n++] = (struct pollfd){ .fd = sv.cl[i].fd, .events = POLLIN };
		int timeout = realtime ? (int)(s->slice_ns / 1000000 ? s->slice_ns / 1000000 : 1) : -1;
		int r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (realtime) {
			uint64_t now = wall_ns(), dt = now - last;
			if (dt > 100000000)
				dt = 100000000;      /* a stalled host does not jump ahead */
			sim_step(s, dt);
			last = now;
		}
		if (r <= 0)
			continue;
		int ncl = sv.nr_cl;
		for (int i = ncl - 1; i >= 0; i--) {
			short ev = pfd[s->nr_doms + 1 + i].revents;
			if (ev && !serve_client(&sv, &sv.cl[i]))
				drop_client(&sv, i);
		}
		for (int i = 0; i <= s->nr_doms; i++)
			if (pfd[i].revents & POLLIN)
				accept_client(&sv, sv.listen_fd[i], i < s->nr_doms ? i : HOST_SOCKET);
	}
	close_sockets(&sv);
	return 0;
}
