/*
 * recover.c - thawing what a journal lists (journal.c writes it).
 *
 * The journal is read whole: its guests with the spec that finds each
 * again, and per task the last event (frozen or not).  Each guest that
 * still has frozen tasks is used where this run has it attached, else
 * attached anew through the host layer; the tasks are thawed while it is
 * paused, retried a little while a lock is held.  A batch that the crash
 * cut short ("pause" and "undo" lines with no "end") is undone first, from
 * its undo lines, newest first; a guest the crashed run left paused is
 * resumed.  A guest that is gone for good took its tasks with it; one that
 * cannot be reached now keeps them, and the journal with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "util/log.h"

#define RECOVER_TRIES 50        /* thaw tries per task, 2 ms of guest time apart */

struct jentry {
	char guest[XDS_MAX_GUEST_NAME];
	uint64_t addr;
	int pid;
	uint64_t start;         /* its start_time as the freeze saw it; 0: not known */
	bool frozen;
};

struct jwrite {
	uint64_t va, old, new;
	unsigned len;
	bool has_new;           /* "undo ... OLD NEW": undone only where NEW still is */
};

/* Per guest: a pause of ours never ended, the writes of a batch never ended
 * (open: its "pause NAME SEQ" has no "end"; seq 0: a journal of an older
 * xds-lua, whose undo records are all journal lines). */
struct jpause {
	bool paused, open;
	uint64_t seq, jiffies;          /* "pause NAME SEQ JIFFIES" (0: not known) */
	struct jwrite *w;
	int n;
};

/* Per guest: the boot its addresses belong to ("boot" line; known false for
 * a journal of an older xds-lua). */
struct jboot {
	bool known;
	uint64_t slide, banner;
};

struct journal {
	char names[XDS_MAX_GUESTS][XDS_MAX_GUEST_NAME], specs[XDS_MAX_GUESTS][1024];
	struct jpause pause[XDS_MAX_GUESTS];
	struct jboot boot[XDS_MAX_GUESTS];
	int nr_guests;
	struct jentry *e;
	int n;
	bool format2;           /* "format 2": freeze lines carry START */
};

static struct jentry *entry_of(struct journal *j, const char *name, uint64_t addr, int pid)
{
	for (int i = 0; i < j->n; i++)
		if (!strcmp(j->e[i].guest, name) && j->e[i].addr == addr && j->e[i].pid == pid)
			return &j->e[i];
	struct jentry *n = realloc(j->e, (size_t)(j->n + 1) * sizeof *j->e);
	if (!n)
		return NULL;
	j->e = n;
	struct jentry *e = &j->e[j->n++];
	snprintf(e->guest, sizeof e->guest, "%s", name);
	e->addr = addr;
	e->pid = pid;
	e->start = 0;
	e->frozen = false;
	return e;
}

static int guest_of(const struct journal *j, const char *name)
{
	for (int i = 0; i < j->nr_guests; i++)
		if (!strcmp(j->names[i], name))
			return i;
	return -1;
}

static struct jpause *pause_of(struct journal *j, const char *name)
{
	int gi = guest_of(j, name);
	return gi < 0 ? NULL : &j->pause[gi];
}

static void free_journal(struct journal *j)
{
	for (int i = 0; i < j->nr_guests; i++)
		free(j->pause[i].w);
	free(j->e);
	j->e = NULL;
}

/* "undo NAME VA LEN OLD [NEW]": 1 with *w and the name, else 0. */
static int undo_record(const char *line, char name[XDS_MAX_GUEST_NAME], struct jwrite *w)
{
	unsigned long long va, old, new;
	unsigned len;
	int n = sscanf(line, "undo %63s %llx %u %llx %llx", name, &va, &len, &old, &new);
	if (n < 4)
		return 0;
	*w = (struct jwrite){ .va = va, .old = old, .new = n == 5 ? new : 0, .len = len, .has_new = n == 5 };
	return 1;
}

static int put_write(struct jpause *p, const struct jwrite *one)
{
	struct jwrite *w = realloc(p->w, (size_t)(p->n + 1) * sizeof *w);
	if (!w)
		return -1;
	p->w = w;
	p->w[p->n++] = *one;
	return 0;
}

/* Up to max decimal numbers, one space apart, and nothing else: how many, or
 * -1 for anything else (s "" gives 0). */
static int numbers(const char *s, unsigned long long *v, int max)
{
	int n = 0;
	while (*s) {
		char *end;
		if (n == max || *s < '0' || *s > '9')
			return -1;
		v[n++] = strtoull(s, &end, 10);
		s = *end == ' ' && end[1] ? end + 1 : end;
		if (*s && s == end)
			return -1;
	}
	return n;
}

/* "pause", "undo", "end", "resume": 1 if line is one (0 if not), -1 out of memory. */
static int pause_line(struct journal *j, const char *line)
{
	char name[XDS_MAX_GUEST_NAME], word[8];
	unsigned long long num[2] = { 0, 0 };          /* a pause's SEQ and JIFFIES */
	struct jwrite one;
	int end = 0;
	struct jpause *p;
	if (undo_record(line, name, &one)) {
		if (!(p = pause_of(j, name)))
			return 1;
		return put_write(p, &one) ? -1 : 1;
	}
	if (sscanf(line, "%7s %63s %n", word, name, &end) != 2 ||
	    (strcmp(word, "pause") && strcmp(word, "end") && strcmp(word, "resume")))
		return 0;
	if (numbers(line + end, num, word[0] == 'p' ? 2 : 0) < 0)
		return 0;
	if (!(p = pause_of(j, name)))
		return 1;
	if (word[0] == 'p')
		p->paused = true;
	if (word[0] == 'r')
		p->paused = false;
	p->open = word[0] == 'p';
	p->seq = num[0];
	p->jiffies = num[1];
	p->n = 0;               /* a new batch, or the last one ended */
	return 1;
}

/* The undo area (journal.c) of the batch a crash cut short: its records
 * go before the batch's journal lines (those came after the area filled).
 * An area of another batch, or none, adds nothing. */
static int read_undo_area(const char *path, struct journal *j, struct xds_err *err)
{
	char upath[PATH_MAX], line[200], name[XDS_MAX_GUEST_NAME];
	if (!journal_undo_path(path, upath, sizeof upath))
		return 0;               /* never made (journal.c) */
	FILE *f = fopen(upath, "r");
	if (!f)
		return errno == ENOENT ? 0 : xds_fail(err, "%s: %s", upath, strerror(errno));
	unsigned long long seq;
	struct jpause *p = NULL, area = { 0 };
	int rc = 0;
	if (fgets(line, sizeof line, f) && strchr(line, '\n') && sscanf(line, "batch %63s %llu", name, &seq) == 2 &&
	    (p = pause_of(j, name)) && p->open && p->seq == seq) {
		/* each record ends in a newline; the area ends at its first NUL */
		while (!rc && fgets(line, sizeof line, f) && line[0] && strchr(line, '\n')) {
			char who[XDS_MAX_GUEST_NAME];
			struct jwrite one;
			if (!undo_record(line, who, &one) || strcmp(who, name))
				break;
			if (put_write(&area, &one))
				rc = xds_fail(err, "out of memory");
		}
	}
	fclose(f);
	for (int i = 0; !rc && area.n && i < p->n; i++)   /* the journal's lines after the area's */
		if (put_write(&area, &p->w[i]))
			rc = xds_fail(err, "out of memory");
	if (!rc && area.n) {
		free(p->w);
		p->w = area.w;
		p->n = area.n;
	} else {
		free(area.w);
	}
	return rc;
}

/* START of "freeze NAME ADDR PID START COMM" (a "format 2" journal's). */
static uint64_t freeze_start(const char *line)
{
	unsigned long long start;
	int off = 0;
	char name[XDS_MAX_GUEST_NAME];
	unsigned long long addr;
	int pid;
	if (sscanf(line, "freeze %63s %llx %d %llu%n", name, &addr, &pid, &start, &off) == 4 && line[off] == ' ')
		return start;
	return 0;
}

static int read_journal(const char *path, struct journal *j, struct xds_err *err)
{
	memset(j, 0, sizeof *j);
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : xds_fail(err, "%s: %s", path, strerror(errno));
	char line[1400];
	int rc = 0;
	for (int lineno = 1; !rc && fgets(line, sizeof line, f); lineno++) {
		line[strcspn(line, "\n")] = 0;
		char name[XDS_MAX_GUEST_NAME];
		unsigned long long addr, banner;
		int pid, off = 0, pl;
		if ((pl = pause_line(j, line))) {
			if (pl < 0)
				rc = xds_fail(err, "out of memory");
		} else if (!strcmp(line, "format 2")) {
			j->format2 = true;
		} else if (sscanf(line, "guest %63s %n", name, &off) == 1 && off) {
			int gi = guest_of(j, name);     /* written again when guests change */
			if (gi < 0 && j->nr_guests < XDS_MAX_GUESTS) {
				gi = j->nr_guests++;
				snprintf(j->names[gi], XDS_MAX_GUEST_NAME, "%s", name);
			}
			if (gi >= 0) {
				snprintf(j->specs[gi], 1024, "%s", line + off);
				j->boot[gi].known = false;      /* its "boot" line follows */
			}
		} else if (sscanf(line, "boot %63s %llx %llx", name, &addr, &banner) == 3) {
			int gi = guest_of(j, name);
			if (gi >= 0)
				j->boot[gi] = (struct jboot){ true, addr, banner };
		} else if (sscanf(line, "freeze %63s %llx %d", name, &addr, &pid) == 3 ||
			   sscanf(line, "thaw %63s %llx %d", name, &addr, &pid) == 3 ||
			   sscanf(line, "gone %63s %llx %d", name, &addr, &pid) == 3) {
			struct jentry *e = entry_of(j, name, addr, pid);
			if (!e)
				rc = xds_fail(err, "out of memory");
			else if ((e->frozen = line[0] == 'f'))
				e->start = j->format2 ? freeze_start(line) : 0;
		} else if (line[0]) {
			rc = xds_fail(err, "%s:%d: not a journal line: %.60s", path, lineno, line);
		}
	}
	fclose(f);
	if (!rc)
		rc = read_undo_area(path, j, err);
	if (rc)
		free_journal(j);
	return rc;
}

/* A batch cut short: its writes undone, newest first (the guest paused). */
static void undo_batch(struct lx_guest *lx, const char *name, struct jpause *p)
{
	struct xds_err e;
	int failed = 0, kept = 0;
	for (int i = p->n - 1; i >= 0; i--) {
		const struct jwrite *w = &p->w[i];
		int rc = lx_restore(lx, w->va, w->len, w->old, w->has_new, w->new, &e);
		failed += rc < 0;
		kept += rc == 1;
	}
	char also[96] = "";
	if (kept)
		snprintf(also, sizeof also, "; %d word(s) did not hold what was written, left as they are", kept);
	xds_log(failed ? XDS_LOG_ERR : XDS_LOG_NOTICE,
		"recover: %s: a batch cut short by the crash is undone (%d write(s)%s%s)",
		name, p->n - kept, also, failed ? ", some could not be restored" : "");
	p->n = 0;
}

/* The guest booted again since the journal was written: another kernel,
 * or another KASLR slide.  What the journal says of it (tasks, a batch cut
 * short, a pause) was of the old boot and went with it; nothing is written. */
static bool booted_again(struct xds_guest *g, struct journal *j)
{
	const char *name = xds_guest_name(g);
	int gi = guest_of(j, name);
	if (gi < 0 || !j->boot[gi].known)
		return false;
	const struct jboot *b = &j->boot[gi];
	uint64_t slide = xds_guest_slide(g);
	bool kernel = journal_boot_hash(xds_guest_banner(g)) != b->banner;
	/* the same kernel and slide (no KASLR): a clock set back tells a new boot */
	const struct jpause *jp = &j->pause[gi];
	uint64_t now = 0, pa;
	struct xds_err e;
	bool back = jp->open && jp->jiffies && !lx_jiffies(xds_guest_lx(g), &now, &pa, &e) && now < jp->jiffies;
	if (!kernel && slide == b->slide && !back)
		return false;
	int n = 0;
	for (int i = 0; i < j->n; i++)
		if (j->e[i].frozen && !strcmp(j->e[i].guest, name)) {
			j->e[i].frozen = false;
			n++;
		}
	const char *banner = xds_guest_banner(g);
	if (kernel)
		xds_log(XDS_LOG_NOTICE, "recover: %s runs another kernel than the journal's (%.*s): it booted "
			"again; its %d held task(s) went with the old boot, dropped from the journal", name,
			(int)strcspn(banner, "(\n"), banner, n);
	else if (slide != b->slide)
		xds_log(XDS_LOG_NOTICE, "recover: %s booted again (its KASLR slide is %#llx, the journal's "
			"%#llx); its %d held task(s) went with the old boot, dropped from the journal", name,
			(unsigned long long)slide, (unsigned long long)b->slide, n);
	else
		xds_log(XDS_LOG_NOTICE, "recover: %s booted again (its jiffies are %llu, %llu when the crashed "
			"run paused it); its %d held task(s) went with the old boot, dropped from the journal", name,
			(unsigned long long)now, (unsigned long long)jp->jiffies, n);
	j->pause[gi] = (struct jpause){ .w = j->pause[gi].w };
	return true;
}

/* How many of the journal's tasks of guest name are still held. */
static int nr_listed(const struct journal *j, const char *name)
{
	int n = 0;
	for (int i = 0; i < j->n; i++)
		n += j->e[i].frozen && !strcmp(j->e[i].guest, name);
	return n;
}

/* Thaw the journal's tasks of guest g, paused. */
static int thaw_listed(struct xds_guest *g, struct journal *j, int *left)
{
	struct xds_err e;
	bool paused = false;
	const char *name = xds_guest_name(g);
	struct lx_guest *lx = xds_guest_lx(g);
	struct jpause *jp = pause_of(j, name);
	if (lx && booted_again(g, j))
		return 0;
	if (!lx || xds_guest_pause(g, &paused, &e)) {
		xds_log(XDS_LOG_WARNING, "recover: %s: %s", name, lx ? e.msg : "no kernel to thaw in");
		*left += nr_listed(j, name) + (jp && (jp->n || jp->paused));   /* the journal keeps them */
		return -1;
	}
	if (jp && jp->n)
		undo_batch(lx, name, jp);
	if (jp && jp->paused) {
		paused = false;         /* the crashed run's pause: ours to end */
		jp->paused = false;
		xds_log(XDS_LOG_NOTICE, "recover: %s: left paused by the crashed run; resuming it", name);
	}
	for (int i = 0; i < j->n; i++) {
		struct jentry *je = &j->e[i];
		if (!je->frozen || strcmp(je->guest, name))
			continue;
		int rc = LX_RETRY;
		for (int tries = 0; tries < RECOVER_TRIES && rc == LX_RETRY; tries++) {
			rc = lx_thaw(lx, je->addr, je->pid, je->start, &e);
			if (rc == LX_RETRY) {          /* a lock held: let the guest run a moment */
				bool again;
				xds_guest_resume(g, NULL);
				nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
				xds_guest_pause(g, &again, NULL);
			}
		}
		if (rc == LX_OK) {
			je->frozen = false;
			xds_log(XDS_LOG_NOTICE, "recover: thawed %s pid %d", name, je->pid);
		} else if (rc == LX_GONE) {
			je->frozen = false;    /* nothing of ours is left there */
			xds_log(XDS_LOG_NOTICE, "recover: %s pid %d is gone (%s: the task exited or "
				"the guest rebooted); dropped from the journal", name, je->pid, e.msg);
		} else {
			(*left)++;
			xds_log(XDS_LOG_WARNING, "recover: %s pid %d: %s", name, je->pid, e.msg);
		}
	}
	if (!paused)
		xds_guest_resume(g, NULL);
	int sent;
	if (lx_kick(lx, &sent, &e) < 0)
		xds_log(XDS_LOG_WARNING, "recover: %s: %s", name, e.msg);
	return 0;
}

/* Something to do in guest gi: tasks held, a pause or a batch never ended. */
static bool needs_recovery(const struct journal *j, int gi)
{
	return nr_listed(j, j->names[gi]) || j->pause[gi].paused || j->pause[gi].n;
}

/* Guest gi of the journal, attached anew on a host of its own. */
static void recover_detached(struct journal *j, int gi, int *left)
{
	struct xds_err e = { "" };
	struct xds_guest *g = NULL;
	struct xds_host *tmp = xds_host_new(&e);
	int rc = tmp ? xds_host_reattach(tmp, j->names[gi], j->specs[gi], &g, &e) : -1;
	if (rc == 1)
		thaw_listed(g, j, left);
	else if (rc == 0)
		xds_log(XDS_LOG_WARNING, "recover: %s", e.msg);
	else
		xds_log(XDS_LOG_ERR, "recover: cannot attach %s: %s", j->names[gi], e.msg);
	if (rc < 0)
		*left += nr_listed(j, j->names[gi]);
	xds_host_free(tmp);
}

int recover_journal(struct xds_host *attached, const char *path, struct xds_err *err)
{
	struct journal *j = malloc(sizeof *j);
	if (!j)
		return xds_fail(err, "out of memory");
	if (read_journal(path, j, err)) {
		free(j);
		return -1;
	}
	int left = 0;
	for (int gi = 0; gi < j->nr_guests; gi++) {
		if (!needs_recovery(j, gi))
			continue;
		struct xds_guest *g = attached ? xds_host_find(attached, j->names[gi], NULL) : NULL;
		if (g && xds_guest_may_be(g, j->specs[gi]))
			thaw_listed(g, j, &left);
		else
			recover_detached(j, gi, &left);
	}
	free_journal(j);
	free(j);
	if (left)
		return xds_fail(err, "%d task(s) in %s could not be thawed", left, path);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	char upath[PATH_MAX];
	if (journal_undo_path(path, upath, sizeof upath))
		unlink(upath);
	return 0;
}

int xds_sched_recover(const char *journal, struct xds_err *err)
{
	if (access(journal, F_OK))
		return 0;                       /* no journal: nothing left frozen */
	int fd = journal_open(journal, err);
	if (fd < 0)
		return -1;
	int rc = recover_journal(NULL, journal, err);
	close(fd);
	return rc;
}
