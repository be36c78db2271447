/*
 * qemu.c - the "qemu" kind of host: a QEMU (or KVM) guest given by its
 * RAM file and its QMP socket.
 *
 * The spec is NAME:ram=PATH,qmp=PATH[,profile=FILE][,vmlinuz=IMAGE][,vmlinux=ELF,
 * sysmap=MAP].  The kernel's profile is loaded from a file, or built from
 * a vmlinux (and its System.map) and cached by the file's size and times
 * under $XDG_CACHE_HOME/xds-lua, or the default given with the attach
 * options.  Each guest gets a backend of its own, which this kind closes.
 * A guest is found again in a later run by the same spec (the journal
 * keeps it, with the default profile written in).  One scheduler per
 * guest: its RAM file is locked while it is attached (lock.c), and a RAM
 * file or QMP socket that an attached guest has already is refused.  The
 * RAM file is proved to be the QMP socket's guest at attach and on every
 * pause, before anything is written (same_guest).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host_int.h"
#include "util/hash.h"

/* One attached guest: its backend, the lock on its RAM file (lock.c), and
 * what tells it from the others (the RAM file's inode, the QMP socket). */
struct qemu_one {
	struct backend *be;
	int lock_fd;
	dev_t dev;
	ino_t ino;
	char name[XDS_MAX_GUEST_NAME], qmp[PATH_MAX];
};

struct qemu_host {
	struct qemu_one g[XDS_MAX_GUESTS];
	int nr_be;
};

struct qemu_spec {
	char name[XDS_MAX_GUEST_NAME], ram[PATH_MAX], qmp[PATH_MAX], profile[PATH_MAX],
		vmlinux[PATH_MAX], sysmap[PATH_MAX], vmlinuz[PATH_MAX];
};

static int parse_spec(const char *spec, struct qemu_spec *q, struct xds_err *err)
{
	memset(q, 0, sizeof *q);
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof q->name)
		return xds_fail(err, "'%s': expected NAME:ram=PATH,qmp=PATH[,profile=FILE]"
				"[,vmlinux=ELF,sysmap=MAP][,vmlinuz=IMAGE]", spec);
	memcpy(q->name, spec, (size_t)(colon - spec));
	char *rest = strdup(colon + 1), *save = NULL;
	if (!rest)
		return xds_fail(err, "out of memory");
	int rc = 0;
	for (char *kv = strtok_r(rest, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			rc = xds_fail(err, "'%s': '%s' is not key=value", spec, kv);
			break;
		}
		*eq = 0;
		const char *v = eq + 1;
		char *slot = !strcmp(kv, "ram") ? q->ram : !strcmp(kv, "qmp") ? q->qmp
			: !strcmp(kv, "profile") ? q->profile : !strcmp(kv, "vmlinux") ? q->vmlinux
			: !strcmp(kv, "sysmap") ? q->sysmap : !strcmp(kv, "vmlinuz") ? q->vmlinuz : NULL;
		if (!slot)
			rc = xds_fail(err, "'%s': unknown key '%s' (ram, qmp, profile, vmlinux, sysmap, vmlinuz)", spec, kv);
		else
			snprintf(slot, PATH_MAX, "%s", v);
	}
	free(rest);
	if (!rc && (!q->ram[0] || !q->qmp[0]))
		rc = xds_fail(err, "'%s': ram= and qmp= are both needed", spec);
	return rc;
}

/* FNV-1a of a file's bytes (0 if it cannot be read): two copies of one
 * System.map, written a second apart, are the same map. */
static uint64_t file_hash(const char *path)
{
	FILE *f = path[0] ? fopen(path, "r") : NULL;
	uint64_t h = XDS_FNV1A_INIT;
	unsigned char buf[65536];
	size_t n;
	if (!f)
		return 0;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		h = xds_fnv1a(h, buf, n);
	fclose(f);
	return h;
}

/* A profile built from a vmlinux is kept in the cache, keyed by the
 * vmlinux's size and time and by the System.map's bytes. */
static void cache_path(const char *vmlinux, const char *sysmap, char *out, size_t n)
{
	struct stat st = { 0 };
	stat(vmlinux, &st);
	const char *base = strrchr(vmlinux, '/') ? strrchr(vmlinux, '/') + 1 : vmlinux;
	char dir[PATH_MAX];
	host_cache_dir(dir, sizeof dir);
	if (xds_format(NULL, out, n, "%s/%s-%llx-%llx-%llx.profile", dir, base,
		       (unsigned long long)st.st_size, (unsigned long long)st.st_mtime,
		       (unsigned long long)file_hash(sysmap)))
		out[0] = 0;
}

static int spec_profile(const struct qemu_spec *q, const char *default_profile, struct backend *be,
			int dom, struct profile *p, struct xds_err *err)
{
	if (q->profile[0])
		return profile_load(q->profile, p, err);
	if (q->vmlinux[0] || q->vmlinuz[0]) {
		/* vmlinuz: BTF + kallsyms from the image package alone */
		const char *image = q->vmlinuz[0] ? q->vmlinuz : q->vmlinux;
		char cached[PATH_MAX];
		cache_path(image, q->vmlinuz[0] ? "" : q->sysmap, cached, sizeof cached);
		if (cached[0] && !access(cached, R_OK) && !profile_load(cached, p, NULL))
			return 0;
		if (q->vmlinuz[0] ? profile_build_image(q->vmlinuz, p, err)
				  : profile_build(q->vmlinux, q->sysmap[0] ? q->sysmap : NULL, p, err))
			return -1;
		if (cached[0])
			profile_save(p, cached, NULL);   /* a cache that cannot be written is no error */
		return 0;
	}
	if (default_profile)
		return profile_load(default_profile, p, err);
	return host_guest_profile(be, dom, p, err);
}

/* The RAM file and QMP socket name no guest attached already: the same
 * guest under two names would be scheduled twice. */
static int check_unique(const struct qemu_host *qh, const struct qemu_spec *q, const struct stat *st,
			const char *qmp, struct xds_err *err)
{
	for (int i = 0; i < qh->nr_be; i++) {
		const struct qemu_one *o = &qh->g[i];
		if (o->dev == st->st_dev && o->ino == st->st_ino)
			return xds_fail(err, "its RAM file %s is %s's: the same guest attached twice",
					q->ram, o->name);
		if (!strcmp(o->qmp, qmp))
			return xds_fail(err, "its QMP socket %s is %s's: the same guest attached twice",
					q->qmp, o->name);
	}
	return 0;
}

/*
 * The RAM file is the memory of the guest behind the QMP socket: while the
 * guest is paused, jiffies (which a running guest bumps every tick, and
 * which differs between guests booted apart) reads the same through the
 * RAM file and through QMP's xp.  1 if the profile has no jiffies (not
 * checked), 0 if one guest, -1 with err.
 */
static int same_guest(struct backend *be, int dom, struct lx_guest *lx, struct xds_err *err)
{
	uint64_t ram, pa;
	int rc = lx_jiffies(lx, &ram, &pa, err);
	if (rc)
		return rc;
	char cmd[64];
	snprintf(cmd, sizeof cmd, "xp /1xg %#llx", (unsigned long long)pa);
	char *out = backend_qemu_hmp(be, dom, cmd, err);
	if (!out)
		return -1;
	const char *colon = strchr(out, ':');
	char *end = NULL;
	unsigned long long qmp = colon ? strtoull(colon + 1, &end, 16) : 0;
	bool read = colon && end != colon + 1;
	rc = !read ? xds_fail(err, "QMP's xp gave '%.80s'", out)
		: qmp != ram ? xds_fail(err, "jiffies at %#llx is %#llx in the RAM file but %#llx through QMP",
					(unsigned long long)pa, (unsigned long long)ram, qmp)
		: 0;
	free(out);
	return rc;
}

/* same_guest, pausing the guest for it if it runs. */
static int same_guest_paused(struct backend *be, int dom, struct lx_guest *lx, struct xds_err *err)
{
	int paused = 0;
	if (be_status(be, dom, &paused, err) || (!paused && be_pause(be, dom, err)))
		return -1;
	int rc = same_guest(be, dom, lx, err);
	if (!paused && be_resume(be, dom, rc < 0 ? NULL : err))
		rc = -1;
	return rc;
}

/* A guest whose QEMU is gone (its QMP socket closed: killed, crashed,
 * quit) is dropped with one line; the scheduler forgets its tasks. */
static bool qemu_lost(struct xds_guest *g)
{
	if (g->gone || !backend_qemu_lost(g->be, g->dom))
		return false;
	fprintf(stderr, "xds-lua: %s: its QEMU is gone (QMP socket closed): dropped\n", g->name);
	host_drop_guest(g, "its QEMU is gone (QMP socket closed)");
	return true;
}

static int qemu_rescan(struct xds_host *h, void *priv, int *changed, struct xds_err *err)
{
	(void)priv;
	(void)err;
	for (int i = 0; i < xds_host_nr_guests(h); i++) {
		struct xds_guest *g = xds_host_guest(h, i);
		if (g->kind == &host_kind_qemu && qemu_lost(g) && changed)
			*changed = 1;
	}
	return 0;
}

static int qemu_paused(struct xds_guest *g, struct xds_err *err)
{
	if (same_guest(g->be, g->dom, g->lx, err) < 0)
		return xds_err_wrap(err, "%s: its RAM file and QMP socket are not one guest; not writing", g->name);
	return 0;
}

static int qemu_attach(struct xds_host *h, void **priv, const char *spec,
		       const struct xds_attach_opts *o, struct xds_err *err)
{
	struct qemu_host *qh = *priv;
	if (!qh && !(qh = *priv = calloc(1, sizeof *qh)))
		return xds_fail(err, "out of memory");
	struct qemu_spec *q = malloc(sizeof *q);
	struct profile *p = malloc(sizeof *p);
	struct backend *be = NULL;
	struct lx_guest *lx = NULL;
	int rc = -1, lock_fd = -1;
	struct stat st;
	char qmp[PATH_MAX];
	if (!q || !p) {
		xds_fail(err, "out of memory");
		goto out;
	}
	if (qh->nr_be == XDS_MAX_GUESTS) {
		xds_fail(err, "more than %d guests", XDS_MAX_GUESTS);
		goto out;
	}
	if (parse_spec(spec, q, err))
		goto out;
	if (!realpath(q->qmp, qmp))
		snprintf(qmp, sizeof qmp, "%s", q->qmp);
	if (stat(q->ram, &st)) {
		xds_fail(err, "RAM file %s: %s", q->ram, strerror(errno));
		goto out;
	}
	if (check_unique(qh, q, &st, qmp, err) || (lock_fd = host_lock_guest(q->ram, &st, err)) < 0)
		goto out;
	be = backend_qemu_new(err);
	if (!be)
		goto out;
	int dom = backend_qemu_add(be, q->name, q->ram, q->qmp, err);
	if (dom < 0 || spec_profile(q, o->profile, be, dom, p, err))
		goto out;
	lx = lx_attach(be, dom, p, err);
	if (!lx) {
		xds_err_wrap(err, "%s", q->name);
		goto out;
	}
	if (same_guest_paused(be, dom, lx, err) < 0) {
		xds_err_wrap(err, "%s: the RAM file %s is not the guest of QMP socket %s", q->name,
			     q->ram, q->qmp);
		goto out;
	}
	char again[sizeof ((struct xds_guest *)0)->spec];
	if (!q->profile[0] && !q->vmlinux[0] && !q->vmlinuz[0] && o->profile)
		snprintf(again, sizeof again, "%.500s,profile=%.500s", spec, o->profile);
	else
		snprintf(again, sizeof again, "%s", spec);
	if (!host_put_guest(h, &host_kind_qemu, q->name, be, dom, lx, again, err))
		goto out;
	struct qemu_one *one = &qh->g[qh->nr_be++];
	one->be = be;
	one->lock_fd = lock_fd;
	one->dev = st.st_dev;
	one->ino = st.st_ino;
	snprintf(one->name, sizeof one->name, "%s", q->name);
	snprintf(one->qmp, sizeof one->qmp, "%s", qmp);
	lock_fd = -1;
	be = NULL;
	lx = NULL;
	rc = 0;
out:
	if (rc && q)
		xds_err_wrap(err, "--qemu %s", q->name[0] ? q->name : spec);
	lx_detach(lx);
	be_close(be);
	if (lock_fd >= 0)
		close(lock_fd);
	free(q);
	free(p);
	return rc;
}

/* A journal's spec of ours is NAME:ram=...; the other kinds' are words. */
static bool qemu_claims(const char *spec)
{
	return strchr(spec, ':') != NULL;
}

static int qemu_reattach(struct xds_host *h, void **priv, const char *name, const char *spec,
			 struct xds_err *err)
{
	static const struct xds_attach_opts none;
	struct qemu_spec q;
	struct stat st;
	(void)name;
	/* no RAM file and no QMP socket: that QEMU is gone, and its tasks with it */
	if (!parse_spec(spec, &q, NULL) && stat(q.ram, &st) && errno == ENOENT && stat(q.qmp, &st))
		return xds_fail(err, "%s: its RAM file %s and QMP socket %s are gone: the guest is "
				"gone; its journal entries are dropped", q.name, q.ram, q.qmp), 0;
	return qemu_attach(h, priv, spec, &none, err) ? -1 : 1;
}

static void qemu_close(void *priv)
{
	struct qemu_host *qh = priv;
	if (!qh)
		return;
	for (int i = 0; i < qh->nr_be; i++) {
		be_close(qh->g[i].be);
		close(qh->g[i].lock_fd);
	}
	free(qh);
}

const struct host_kind host_kind_qemu = {
	.name = "qemu",
	.attach = qemu_attach,
	.claims = qemu_claims,
	.reattach = qemu_reattach,
	.paused = qemu_paused,
	.rescan = qemu_rescan,
	.lost = qemu_lost,
	.close = qemu_close,
};
