/*
 * journal.c - the journal: what a crash would leave frozen.
 *
 * A text file, one line per event:
 * "guest NAME SPEC" (SPEC: how the host layer finds the guest again),
 * "boot NAME SLIDE BANNER" (the boot that the addresses below belong to: its
 * KASLR slide and a hash of its linux_banner, journal_boot_hash),
 * "freeze NAME ADDR PID START COMM" (START: the task's start_time, 0 if the
 * profile has none; COMM shown by util/utf8.h: never a newline),
 * "thaw NAME ADDR PID", "gone NAME ADDR PID", and around each batch
 * "pause NAME", "undo NAME VA LEN OLD" before each write into the guest,
 * "end NAME" once the batch is committed or undone, "resume NAME".
 * A tick's freezes and its "pause" are synced once, before the pause; the
 * lines written while the guest is paused are not synced (write(2) only):
 * they outlive the process (a kill -9), not a crash of the host (see the
 * README's safety section).
 * A run holds an exclusive lock on it; a clean end empties it.  Reading it
 * back after a crash is recover.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/sched_int.h"

#define JOURNAL_LINE 1400

static int mkdirs_for(const char *path)
{
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0700);
			*p = '/';
		}
	return mkdir(dir, 0700) && errno != EEXIST ? -1 : 0;
}

/* The journal is ours alone while we run: a second xds-lua on the same
 * journal would overwrite the record of what the first holds. */
int journal_open(const char *path, struct xds_err *err)
{
	if (mkdirs_for(path))
		return xds_fail(err, "journal %s: cannot create its folder: %s", path, strerror(errno));
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return xds_fail(err, "journal %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return xds_fail(err, "journal %s is in use by another xds-lua; give this one its own "
					"(--journal PATH) or stop the other", path);
		return xds_fail(err, "journal %s: lock: %s", path, strerror(e));
	}
	return fd;
}

static int vput(struct xds_sched *s, struct xds_err *err, const char *fmt, va_list ap)
{
	char line[JOURNAL_LINE];
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	if (n < 0 || n >= (int)sizeof line - 1)
		return xds_fail(err, "journal: line too long");
	line[n++] = '\n';
	if (write(s->journal_fd, line, (size_t)n) != n)
		return xds_fail(err, "journal %s: %s", s->opt.journal, errno ? strerror(errno) : "short write");
	return 0;
}

int journal_put(struct xds_sched *s, struct xds_err *err, const char *fmt, ...)
{
	if (s->journal_fd < 0)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	int rc = vput(s, err, fmt, ap);
	va_end(ap);
	return rc;
}

int journal_sync(struct xds_sched *s, struct xds_err *err)
{
	if (s->journal_fd >= 0 && fdatasync(s->journal_fd))
		return xds_fail(err, "journal %s: %s", s->opt.journal, strerror(errno));
	return 0;
}

/* FNV-1a: a kernel's banner in one word. */
uint64_t journal_boot_hash(const char *banner)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *c = (const unsigned char *)banner; *c; c++)
		h = (h ^ *c) * 0x100000001b3ULL;
	return h;
}

int journal_guests(struct xds_sched *s, struct xds_err *err)
{
	for (int i = 0; i < xds_host_nr_guests(s->host); i++) {
		const struct xds_guest *g = xds_host_guest(s->host, i);
		if (xds_guest_gone(g))
			continue;
		if (journal_put(s, err, "guest %s %s", xds_guest_name(g), xds_guest_spec(g)))
			return -1;
		const char *banner = xds_guest_banner(g);
		if (banner[0] && journal_put(s, err, "boot %s %#llx %#llx", xds_guest_name(g),
					     (unsigned long long)xds_guest_slide(g),
					     (unsigned long long)journal_boot_hash(banner)))
			return -1;
	}
	return journal_sync(s, err);
}

int journal_empty(struct xds_sched *s, struct xds_err *err)
{
	if (s->journal_fd >= 0 && ftruncate(s->journal_fd, 0))
		return xds_fail(err, "journal %s: %s", s->opt.journal, strerror(errno));
	return 0;
}
