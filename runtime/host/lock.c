/*
 * lock.c - one scheduler per guest: an exclusive flock(2) on a file that
 * stands for the guest (a QEMU guest's RAM file), held for as long as the
 * guest is attached, and the holder's pid when another run has it.
 *
 * flock locks belong to an open file and die with the process, so a
 * crashed run leaves none behind; the holder is found in /proc/locks by
 * the file's device and inode.  The kinds decide what stands for a guest;
 * this file only locks and names the holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "host/host_int.h"

/* The pid of a process holding a flock on (dev, ino), or 0. */
static long lock_holder(dev_t dev, ino_t ino)
{
	FILE *f = fopen("/proc/locks", "r");
	char line[256];
	long holder = 0;
	if (!f)
		return 0;
	while (!holder && fgets(line, sizeof line, f)) {
		char kind[16];
		long pid;
		unsigned maj, min;
		unsigned long long inode;
		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF" (or "-> ..." when waiting) */
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", kind, &pid, &maj, &min, &inode) == 5 &&
		    !strcmp(kind, "FLOCK") && maj == major(dev) && min == minor(dev) && inode == ino)
			holder = pid;
	}
	fclose(f);
	return holder;
}

int host_lock_guest(const char *path, struct stat *st, struct xds_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xds_fail(err, "cannot open %s to lock it: %s", path, strerror(errno));
	if (fstat(fd, st)) {
		int e = errno;
		close(fd);
		return xds_fail(err, "%s: %s", path, strerror(e));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e != EWOULDBLOCK)
		return xds_fail(err, "cannot lock %s: %s", path, strerror(e));
	long holder = lock_holder(st->st_dev, st->st_ino);
	if (holder)
		return xds_fail(err, "another xds-lua schedules this guest (pid %ld holds the lock "
				"on %s); one scheduler per guest", holder, path);
	return xds_fail(err, "another xds-lua schedules this guest (%s is locked); one "
			"scheduler per guest", path);
}
