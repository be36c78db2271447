/*
 * journal.c - the journal: what a crash would leave frozen.
 *
 * A text file, one line per event:
 * "format 2" first (the lines below; a journal without it is an older
 * xds-lua's: "freeze NAME ADDR PID COMM", "undo NAME VA LEN OLD"),
 * "guest NAME SPEC" (SPEC: how the host layer finds the guest again),
 * "boot NAME SLIDE BANNER" (the boot that the addresses below belong to: its
 * KASLR slide and a hash of its linux_banner, journal_boot_hash),
 * "freeze NAME ADDR PID START COMM" (START: the task's start_time, 0 if the
 * profile has none; COMM shown by util/utf8.h: never a newline),
 * "thaw NAME ADDR PID", "gone NAME ADDR PID", and around each batch
 * "pause NAME SEQ" (SEQ: the batch's number), "undo NAME VA LEN OLD NEW"
 * before each write into the guest (in the undo area below, or here when
 * the area is missing or full), "end NAME" once the batch is committed or
 * undone, "resume NAME".
 * A tick's freezes and its "pause" are synced once, before the pause; the
 * lines written while the guest is paused are not synced (write(2) only):
 * they outlive the process (a kill -9), not a crash of the host (see the
 * README's safety section).
 * A run holds an exclusive lock on it; a clean end empties it.  Reading it
 * back after a crash is recover.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "util/hash.h"
#include "util/log.h"

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

/* A kernel's banner in one word. */
uint64_t journal_boot_hash(const char *banner)
{
	return xds_fnv1a(XDS_FNV1A_INIT, banner, strlen(banner));
}

int journal_guests(struct xds_sched *s, struct xds_err *err)
{
	if (journal_put(s, err, "format 2"))
		return -1;
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

/* ---- the undo area ----
 *
 * A batch's undo records go to PATH.undo, a file mapped shared: a record
 * is in the page cache, as write(2) would put it, once it is stored, so it
 * outlives a kill -9 of this process, without a system call per write
 * into the guest.  The area holds the batch under way: "batch NAME SEQ",
 * then its "undo NAME VA LEN OLD" lines, ended by the first NUL.  A record
 * shows whole or not at all: the NUL after it is stored first, then its
 * bytes but the first, then its first byte over the NUL that ended the
 * area.  SEQ ties the area to the journal's "pause NAME SEQ" (recover.c);
 * a batch whose records do not fit goes on in the journal.
 */
#define UNDO_AREA_MIN (256u << 10)
#define UNDO_AREA_MAX (64u << 20)

bool journal_undo_path(const char *path, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s.undo", path);
	return n > 0 && (size_t)n < size;
}

void journal_undo_open(struct xds_sched *s)
{
	char path[PATH_MAX];
	s->undo_fd = -1;
	s->undo_map = NULL;
	if (s->journal_fd < 0)
		return;
	if (!journal_undo_path(s->opt.journal, path, sizeof path)) {
		xds_log(XDS_LOG_NOTICE, "journal %s: its name is too long for an undo area beside it; undo "
			"records go to the journal itself", s->opt.journal);
		return;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	void *m = MAP_FAILED;
	/* the blocks reserved: a store into a hole of a full disk would be a SIGBUS */
	int e = fd < 0 ? errno : posix_fallocate(fd, 0, UNDO_AREA_MIN);
	if (!e)
		m = mmap(NULL, UNDO_AREA_MIN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		xds_log(XDS_LOG_NOTICE, "%s: %s; undo records go to the journal itself", path,
			strerror(e ? e : errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	s->undo_fd = fd;
	s->undo_map = m;
	s->undo_size = UNDO_AREA_MIN;
	s->undo_used = 0;
}

void journal_undo_close(struct xds_sched *s, bool clean)
{
	if (s->undo_fd < 0)
		return;
	munmap(s->undo_map, s->undo_size);
	close(s->undo_fd);
	s->undo_fd = -1;
	s->undo_map = NULL;
	char path[PATH_MAX];
	if (clean && journal_undo_path(s->opt.journal, path, sizeof path))
		unlink(path);
}

static bool undo_grow(struct xds_sched *s, size_t need)
{
	size_t size = s->undo_size;
	while (size < need)
		size *= 2;
	if (size > UNDO_AREA_MAX || posix_fallocate(s->undo_fd, 0, (off_t)size))
		return false;
	void *m = mremap(s->undo_map, s->undo_size, size, MREMAP_MAYMOVE);
	if (m == MAP_FAILED)
		return false;
	s->undo_map = m;
	s->undo_size = size;
	return true;
}

static bool undo_append(struct xds_sched *s, const char *line, size_t n)
{
	if (s->undo_used + n + 1 > s->undo_size && !undo_grow(s, s->undo_used + n + 1))
		return false;
	volatile uint8_t *at = s->undo_map + s->undo_used;
	at[n] = 0;
	atomic_signal_fence(memory_order_seq_cst);
	for (size_t i = 1; i < n; i++)
		at[i] = (uint8_t)line[i];
	atomic_signal_fence(memory_order_seq_cst);
	at[0] = (uint8_t)line[0];
	s->undo_used += n;
	return true;
}

void journal_undo_begin(struct xds_sched *s, const char *name, uint64_t seq)
{
	s->undo_spilled = s->undo_map == NULL;
	if (!s->undo_map)
		return;
	char line[128];
	int n = snprintf(line, sizeof line, "batch %s %llu\n", name, (unsigned long long)seq);
	((volatile uint8_t *)s->undo_map)[0] = 0;       /* the last batch is gone */
	s->undo_used = 0;
	if (n <= 0 || (size_t)n >= sizeof line || !undo_append(s, line, (size_t)n))
		s->undo_spilled = true;
}

int journal_undo_put(struct xds_sched *s, const char *name, uint64_t va, unsigned len, uint64_t old,
		     uint64_t val, struct xds_err *err)
{
	char line[200];
	int n = snprintf(line, sizeof line, "undo %s %#llx %u %#llx %#llx\n", name, (unsigned long long)va, len,
			 (unsigned long long)old, (unsigned long long)val);
	if (n <= 0 || (size_t)n >= sizeof line)
		return xds_fail(err, "undo record too long");
	if (!s->undo_spilled && undo_append(s, line, (size_t)n))
		return 0;
	s->undo_spilled = true;         /* the rest of the batch: after the area's, in order */
	line[n - 1] = 0;
	return journal_put(s, err, "%s", line);
}
