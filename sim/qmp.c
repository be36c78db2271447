/*
 * qmp.c - the simulated host seen from outside: QMP on unix sockets.
 *
 * DIR/NAME.qmp speaks the part of QEMU's QMP that xds-lua uses on a real
 * guest (greeting, qmp_capabilities, stop, cont, query-status,
 * human-monitor-command "info registers [-a]" in QEMU's own text, quit),
 * so one client serves both.  DIR/host.qmp controls the simulation:
 * x-sim-step {"ns": N} (returns when done), x-sim-status, x-sim-tasks,
 * quit.  One thread, one poll loop; in virtual time nothing moves between
 * x-sim-step calls, in real time the loop steps the host by the wall clock.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
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

static void send_sb(struct client *c, struct strbuf *sb)
{
	sb_puts(sb, "\r\n");
	send_text(c, sb_str(sb));
	sb_free(sb);
}

static void reply_error(struct client *c, const char *cls, const char *desc)
{
	struct strbuf sb = { 0 };
	sb_printf(&sb, "{\"error\": {\"class\": \"%s\", \"desc\": ", cls);
	sb_json_str(&sb, desc);
	sb_puts(&sb, "}}");
	send_sb(c, &sb);
}

static void reply_empty(struct client *c)
{
	send_text(c, "{\"return\": {}}\r\n");
}

static void send_event(struct server *sv, int dom, const char *name)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char buf[160];
	snprintf(buf, sizeof buf, "{\"timestamp\": {\"seconds\": %lld, \"microseconds\": %ld}, "
		 "\"event\": \"%s\"}\r\n", (long long)ts.tv_sec, ts.tv_nsec / 1000, name);
	for (int i = 0; i < sv->nr_cl; i++)
		if (sv->cl[i].dom == dom && sv->cl[i].negotiated)
			send_text(&sv->cl[i], buf);
}

/* One vCPU's block of "info registers", in QEMU 7.2's long-mode layout. */
static void print_vcpu(struct strbuf *sb, struct sdom *d, int cpu, bool header)
{
	struct svcpu *v = &d->vcpu[cpu];
	bool user = v->cpl == 3;
	uint64_t cr3 = d->cr3;
	if (d->pti)
		cr3 |= user ? 0x1000 | 0x801 : 0x1;
	uint64_t rip = user ? 0x401000 + (uint64_t)cpu * 0x40 : d->kimg_va + 0x1000 + (v->halted ? 0x80 : 0x200);
	uint64_t rsp = user ? 0x7ffc0000f000ULL : d->page_offset + 0x7f000 + (uint64_t)cpu * 0x4000;
	if (header)
		sb_printf(sb, "CPU#%d\r\n", cpu);
	sb_printf(sb, "RAX=0000000000000000 RBX=0000000000000000 RCX=0000000000000000 RDX=0000000000000000\r\n");
	sb_printf(sb, "RSI=0000000000000000 RDI=0000000000000000 RBP=0000000000000000 RSP=%016llx\r\n",
		  (unsigned long long)rsp);
	sb_printf(sb, "R8 =0000000000000000 R9 =0000000000000000 R10=0000000000000000 R11=0000000000000000\r\n");
	sb_printf(sb, "R12=0000000000000000 R13=0000000000000000 R14=0000000000000000 R15=0000000000000000\r\n");
	sb_printf(sb, "RIP=%016llx RFL=00000246 [---Z-P-] CPL=%d II=0 A20=1 SMM=0 HLT=%d\r\n",
		  (unsigned long long)rip, v->cpl, v->halted ? 1 : 0);
	const char *seg = user ? "ES =002b 0000000000000000 ffffffff 00c0f300 DPL=3 DS   [-WA]\r\n"
			       : "ES =0000 0000000000000000 00000000 00000000\r\n";
	sb_puts(sb, seg);
	sb_printf(sb, "CS =%s 0000000000000000 ffffffff 00a0%s00 DPL=%d CS64 [-RA]\r\n",
		  user ? "0033" : "0010", user ? "fb" : "9b", user ? 3 : 0);
	sb_printf(sb, "SS =%s 0000000000000000 ffffffff 00c0%s00 DPL=%d DS   [-WA]\r\n",
		  user ? "002b" : "0018", user ? "f3" : "93", user ? 3 : 0);
	sb_puts(sb, "DS =0000 0000000000000000 00000000 00000000\r\n");
	sb_puts(sb, "FS =0000 0000000000000000 00000000 00000000\r\n");
	sb_printf(sb, "GS =0000 %016llx 00000000 00000000\r\n",
		  (unsigned long long)d->percpu[cpu]);
	sb_puts(sb, "LDT=0000 0000000000000000 00000000 00008200 DPL=0 LDT\r\n");
	sb_puts(sb, "TR =0040 fffffe0000003000 00004087 00008900 DPL=0 TSS64-avl\r\n");
	sb_puts(sb, "GDT=     fffffe0000001000 0000007f\r\n");
	sb_puts(sb, "IDT=     fffffe0000000000 00000fff\r\n");
	sb_printf(sb, "CR0=80050033 CR2=0000000000000000 CR3=%016llx CR4=%08x\r\n",
		  (unsigned long long)cr3, d->pti ? 0x003606f0 : 0x003406f0);
	sb_puts(sb, "DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 \r\n");
	sb_puts(sb, "DR6=00000000ffff0ff0 DR7=0000000000000400\r\n");
	sb_puts(sb, "EFER=0000000000000d01\r\n");
}

static void hmp(struct client *c, struct sdom *d, const char *line)
{
	struct strbuf out = { 0 };
	while (*line == ' ')
		line++;
	if (!strcmp(line, "info registers -a")) {
		for (int cpu = 0; cpu < d->nr_vcpus; cpu++) {
			print_vcpu(&out, d, cpu, true);
			sb_puts(&out, "\r\n");
		}
	} else if (!strcmp(line, "info registers")) {
		print_vcpu(&out, d, 0, false);
	} else {
		char word[64];
		snprintf(word, sizeof word, "%s", line);
		word[strcspn(word, " ")] = 0;
		sb_printf(&out, "unknown command: '%s'\r\n", word);
	}
	struct strbuf sb = { 0 };
	sb_puts(&sb, "{\"return\": ");
	sb_json_str(&sb, sb_str(&out));
	sb_puts(&sb, "}");
	sb_free(&out);
	send_sb(c, &sb);
}

static void domain_command(struct server *sv, struct client *c, const char *cmd, struct json *args)
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
		char buf[160];
		snprintf(buf, sizeof buf, "{\"return\": {\"status\": \"%s\", \"singlestep\": false, "
			 "\"running\": %s}}\r\n", st, !d->paused && !d->crashed ? "true" : "false");
		send_text(c, buf);
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		struct strbuf sb = { 0 };
		sb_puts(&sb, "{\"return\": [");
		for (int i = 0; i < d->nr_vcpus; i++)
			sb_printf(&sb, "%s{\"cpu-index\": %d, \"qom-path\": \"/machine/unattached/device[%d]\", "
				  "\"thread-id\": %d, \"target\": \"x86_64\", \"props\": {\"core-id\": 0, "
				  "\"thread-id\": 0, \"socket-id\": %d}}", i ? ", " : "", i, i, (int)getpid(), i);
		sb_puts(&sb, "]}");
		send_sb(c, &sb);
	} else if (!strcmp(cmd, "human-monitor-command")) {
		const char *line = json_str(json_get(args, "command-line"));
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

static void host_status(struct client *c, struct sim *s)
{
	struct strbuf sb = { 0 };
	sb_printf(&sb, "{\"return\": {\"time_ns\": %llu, \"violations\": %llu, \"domains\": [",
		  (unsigned long long)s->now, (unsigned long long)s->violations);
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		sb_printf(&sb, "%s{\"name\": ", i ? ", " : "");
		sb_json_str(&sb, d->name);
		sb_printf(&sb, ", \"vcpus\": %d, \"paused\": %s, \"crashed\": %s, \"oops\": ", d->nr_vcpus,
			  d->paused ? "true" : "false", d->crashed ? "true" : "false");
		sb_json_str(&sb, d->oops);
		sb_puts(&sb, "}");
	}
	sb_puts(&sb, "], \"messages\": [");
	int n = s->nr_last < 8 ? s->nr_last : 8;
	for (int i = 0; i < n; i++) {
		int k = (s->nr_last - n + i) % 8;
		sb_puts(&sb, i ? ", " : "");
		sb_json_str(&sb, s->last_violation[k]);
	}
	sb_puts(&sb, "]}}");
	send_sb(c, &sb);
}

static void host_tasks(struct client *c, struct sim *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		reply_error(c, "GenericError", "out of memory");
		return;
	}
	sim_print_truth(s, f, true);
	fclose(f);
	struct strbuf sb = { 0 };
	sb_puts(&sb, "{\"return\": ");
	sb_append(&sb, text, len);
	while (sb.len && (sb.buf[sb.len - 1] == '\n'))
		sb.buf[--sb.len] = 0;
	sb_puts(&sb, "}");
	free(text);
	send_sb(c, &sb);
}

static void host_command(struct server *sv, struct client *c, const char *cmd, struct json *args)
{
	struct sim *s = sv->s;
	if (!strcmp(cmd, "x-sim-step")) {
		struct json *ns = json_get(args, "ns");
		if (!json_is_int(ns) || json_int(ns, -1) < 0 || json_int(ns, 0) > (int64_t)3600 * 1000000000LL) {
			reply_error(c, "GenericError", "x-sim-step needs {\"ns\": N} with 0 <= N <= 1 hour");
			return;
		}
		sim_step(s, (uint64_t)json_int(ns, 0));
		if (s->halted) {
			char desc[320];
			snprintf(desc, sizeof desc, "--strict: stopped at an invariant violation: %s",
				 s->last_violation[(s->nr_last + 7) % 8]);
			reply_error(c, "GenericError", desc);
			return;
		}
		char buf[96];
		snprintf(buf, sizeof buf, "{\"return\": {\"time_ns\": %llu}}\r\n", (unsigned long long)s->now);
		send_text(c, buf);
	} else if (!strcmp(cmd, "x-sim-status")) {
		host_status(c, s);
	} else if (!strcmp(cmd, "x-sim-tasks")) {
		host_tasks(c, s);
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

static void handle(struct server *sv, struct client *c, const char *text, size_t len)
{
	struct xds_err err;
	struct json *req = json_parse(text, len, &err);
	if (!req || json_type(req) != JSON_OBJ) {
		reply_error(c, "GenericError", req ? "QMP input must be a JSON object" : err.msg);
		json_free(req);
		return;
	}
	const char *cmd = json_str(json_get(req, "execute"));
	struct json *args = json_get(req, "arguments");
	struct json *id = json_get(req, "id");
	(void)id;
	if (!cmd) {
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
	json_free(req);
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
	send_text(c, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
		  "\"package\": \"xds-sim\"}, \"capabilities\": [\"oob\"]}}\r\n");
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
		long n = json_frame(c->in, c->len);
		if (n < 0)
			return false;
		if (n == 0)
			return true;
		handle(sv, c, c->in, (size_t)n);
		memmove(c->in, c->in + n, c->len - (size_t)n);
		c->len -= (size_t)n;
		size_t skip = 0;
		while (skip < c->len && strchr(" \t\r\n", c->in[skip]))
			skip++;
		memmove(c->in, c->in + skip, c->len - skip);
		c->len -= skip;
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
