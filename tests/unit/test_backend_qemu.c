/*
 * test_backend_qemu.c - the qemu backend against a real qemu-system-x86_64
 * started here with -S (no kernel needed), its RAM in a shared file and a
 * QMP socket: pause/resume seen by query-status, vCPU registers as QEMU
 * prints them, bytes moving both ways between map() and the RAM file (and
 * into the guest's own view, through HMP xp), frames past the end refused.
 * QEMU is killed on every exit path (atexit, signals, PDEATHSIG).
 * Skipped only when qemu-system-x86_64 is not installed.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/tap.h"
#include "backend/backend.h"

#define QEMU "qemu-system-x86_64"
#define RAM_MB 64

static pid_t qemu_pid;
static char ram_path[64], qmp_path[64], log_path[64];

static void kill_qemu(void)
{
	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
		qemu_pid = 0;
	}
	unlink(ram_path);
	unlink(qmp_path);
	unlink(log_path);
}

static void on_signal(int sig)
{
	kill_qemu();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int have_qemu(void)
{
	const char *path = getenv("PATH");
	char dir[4096];
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof dir, "%.*s/" QEMU, (int)n, path);
		if (access(dir, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

static void start_qemu(void)
{
	char mem[256], qmp[128];
	snprintf(mem, sizeof mem, "memory-backend-file,id=mem,size=%dM,"
		 "mem-path=%s,share=on", RAM_MB, ram_path);
	snprintf(qmp, sizeof qmp, "unix:%s,server=on,wait=off", qmp_path);
	qemu_pid = fork();
	if (qemu_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(QEMU, QEMU, "-S", "-display", "none", "-nodefaults",
		       "-no-user-config", "-smp", "2", "-m", "64",
		       "-object", mem, "-machine", "pc,memory-backend=mem",
		       "-qmp", qmp, (char *)NULL);
		_exit(127);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int is_paused(struct backend *be, struct xds_err *err)
{
	int paused = -1;
	if (be_status(be, 0, &paused, err) < 0)
		return -1;
	return paused;
}

static void test_guest_and_status(struct backend *be)
{
	struct xds_err err = {{0}};
	struct be_dom d[4];
	int n = be_list(be, d, 4, &err);
	is_int(n, 1, "one guest listed");
	ok(n == 1 && d[0].id == 0 && strcmp(d[0].name, "g0") == 0 &&
	   d[0].nr_vcpus == 2 && d[0].ram_bytes == RAM_MB * 1048576ull,
	   "guest g0: id 0, 2 vCPUs, %d MiB of RAM", RAM_MB);
	is_int(is_paused(be, &err), 1, "started with -S: paused (%s)", err.msg);
	ok(be_pause(be, 1, &err) < 0 && strstr(err.msg, "no domain 1"),
	   "domain 1 does not exist (%s)", err.msg);
}

static void test_regs_at_reset(struct backend *be)
{
	struct xds_err err = {{0}};
	struct be_regs r;
	int rc = be_regs(be, 0, 0, &r, &err);
	ok(rc == 0 && r.valid, "vCPU 0 registers (%s)", err.msg);
	ok(r.cr0 == 0x60000010 && r.cr3 == 0 && r.cr4 == 0,
	   "vCPU 0 at reset: CR0=60000010 CR3=0 CR4=0 as QEMU prints them");
	ok(r.rip == 0xfff0 && r.cs == 0xf000 && r.cpl == 0,
	   "vCPU 0 at the reset vector f000:fff0");
	rc = be_regs(be, 0, 1, &r, &err);
	ok(rc == 0 && r.cpu == 1 && r.cr0 == 0x60000010, "vCPU 1 registers");
	ok(be_regs(be, 0, 2, &r, &err) < 0 && strstr(err.msg, "no vCPU 2"),
	   "vCPU 2 does not exist (%s)", err.msg);
}

static void test_map(struct backend *be)
{
	struct xds_err err = {{0}};
	const uint64_t gfn = 0x2000;            /* 32 MiB, untouched by BIOS */
	const uint64_t frames = RAM_MB * 256ull;
	uint8_t *p = be_map(be, 0, gfn, 2, 1, &err);
	ok(p != NULL, "map two frames at 32 MiB writable (%s)", err.msg);
	if (!p)
		return;
	uint64_t pat = 0x1122334455667788ull;
	memcpy(p, &pat, 8);
	memcpy(p + 4096 + 100, "xds-lua!", 8);
	int fd = open(ram_path, O_RDWR);
	uint64_t back = 0;
	char s[9] = "";
	ssize_t r1 = pread(fd, &back, 8, (off_t)(gfn * 4096));
	ssize_t r2 = pread(fd, s, 8, (off_t)(gfn * 4096 + 4096 + 100));
	ok(r1 == 8 && r2 == 8 && back == pat && strcmp(s, "xds-lua!") == 0,
	   "bytes written through map() are in the file at offset gpa");
	ssize_t w = pwrite(fd, "from-file", 9, (off_t)(gfn * 4096 + 0x800));
	ok(w == 9 && memcmp(p + 0x800, "from-file", 9) == 0,
	   "bytes written into the file are seen through map()");
	close(fd);
	char *xp = backend_qemu_hmp(be, 0, "xp /1xg 0x2000000", &err);
	ok(xp && strstr(xp, "0x1122334455667788"),
	   "the guest sees the same bytes at that physical address: %s",
	   xp ? strtok(xp, "\r\n") : err.msg);
	free(xp);

	ok(be_map(be, 0, frames - 1, 1, 0, &err) != NULL, "the last frame maps");
	ok(be_map(be, 0, frames, 1, 0, &err) == NULL && strstr(err.msg, "outside"),
	   "a gfn past the end is an error (%s)", err.msg);
	ok(be_map(be, 0, frames - 1, 2, 0, &err) == NULL,
	   "a range running past the end is an error");
	ok(be_map(be, 0, UINT64_MAX, 2, 0, &err) == NULL,
	   "a gfn that would overflow is an error");
	ok(be_map(be, 0, 0, 0, 0, &err) == NULL, "zero frames is an error");
}

static void test_run_and_stop(struct backend *be)
{
	struct xds_err err = {{0}};
	ok(be_resume(be, 0, &err) == 0, "resume (cont) (%s)", err.msg);
	is_int(is_paused(be, &err), 0, "query-status: running after resume");
	/* The vCPU leaves the reset vector at once: SeaBIOS switches to
	 * protected mode, and with nothing to boot ends back in real mode
	 * (RIP elsewhere), so a fresh read sees one or the other. */
	struct be_regs r = {0};
	int tries = 0;
	for (; tries < 300; tries++) {
		if (be_regs(be, 0, 0, &r, &err) < 0 || (r.cr0 & 1) || (r.valid && r.rip != 0xfff0))
			break;
		sleep_ms(100);
	}
	ok(r.valid && ((r.cr0 & 1) || r.rip != 0xfff0),
	   "registers read while running are fresh: the vCPU left the reset vector "
	   "(CR0=%llx RIP=%llx after %d polls)", (unsigned long long)r.cr0,
	   (unsigned long long)r.rip, tries);
	ok(be_pause(be, 0, &err) == 0, "pause (stop) (%s)", err.msg);
	is_int(is_paused(be, &err), 1, "query-status: paused after pause");
	struct be_regs a, b;
	int rc = be_regs(be, 0, 0, &a, &err) | be_regs(be, 0, 0, &b, &err);
	ok(rc == 0 && a.valid && memcmp(&a, &b, sizeof a) == 0,
	   "two reads in one pause agree");
}

int main(void)
{
	if (!have_qemu()) {
		printf("ok 1 # SKIP %s not installed\n", QEMU);
		printf("1..1\n");
		return 0;
	}
	snprintf(ram_path, sizeof ram_path, "/tmp/xds-test-qemu-%d.ram", getpid());
	snprintf(qmp_path, sizeof qmp_path, "/tmp/xds-test-qemu-%d.sock", getpid());
	snprintf(log_path, sizeof log_path, "/tmp/xds-test-qemu-%d.log", getpid());
	atexit(kill_qemu);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	alarm(120);
	start_qemu();

	struct xds_err err = {{0}};
	struct backend *be = backend_qemu_new(&err);
	int id = backend_qemu_add(be, "bad", "/nonexistent/ram", qmp_path, &err);
	ok(id < 0 && strstr(err.msg, "RAM file /nonexistent/ram"),
	   "a missing RAM file is an error (%s)", err.msg);
	err.msg[0] = 0;
	id = backend_qemu_add(be, "g0", ram_path, qmp_path, &err);
	is_int(id, 0, "first guest is domain 0 (%s)", err.msg);
	if (id == 0) {
		test_guest_and_status(be);
		test_regs_at_reset(be);
		test_map(be);
		test_run_and_stop(be);
	}
	be_close(be);
	kill_qemu();
	return done_testing();
}
