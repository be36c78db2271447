/*
 * xen.c - the "xen" kind of host: the domUs of the Xen host we run in.
 *
 * One xen backend serves every Xen guest; this kind opens it at the first
 * attach and closes it when the host is freed.  Each
 * domU not yet attached is tried against every *.profile of the profile
 * directory in name order (then, on PVH and HVM, a profile from its own
 * memory: BTF and kallsyms): lx_attach locates the profile's linux_banner
 * (with the KASLR slide search) in the guest, so the first profile whose
 * banner is found is the guest's kernel.  A domain no profile fits is
 * reported in the log once per reason and tried again on the next rescan,
 * since a booting kernel fits only once it is up: after 1 s, then twice as
 * long each time up to 4 s, and at once when the profiles change.
 * The profiles are loaded once and again only when the directory's mtime
 * changes (a profile added, removed or replaced by rename; an edit in
 * place is not seen).  Guests whose domain left the
 * list are detached and removed.  A domain is locked while attached (one
 * scheduler per domain; another xds-lua leaves it alone, saying whose it
 * is).  Leaves to others: when to rescan (the
 * tick loop), freezing and the journal (a dropped guest's entries are the
 * journal's to drop).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "backend/xen.h"
#include "host/host_int.h"

#define XEN_PROFILE_DIR "/etc/xds/profiles"
#define XEN_LOCK_DIR    "/run/xds-lua"          /* dom-ID.lock: XDS_XEN_LOCK_DIR overrides */

#define XEN_RETRY_FIRST_NS 1000000000ULL          /* a domain no profile fits: again after */
#define XEN_RETRY_MAX_NS   4000000000ULL          /* and at most this far apart: a domain
                                                   * being restored or booted is attached
                                                   * within seconds of fitting */

struct xen_profiles {
	struct profile *p;
	int n;
	const char *dir;
};

/* A domain left alone: when to try it again. */
struct xen_retry {
	int id;
	uint64_t next_ns, step_ns;
};

struct xen_host {
	struct backend *be;
	char profile_dir[PATH_MAX];
	struct xen_profiles ps;         /* loaded once, again when the folder changes */
	bool loaded;
	struct timespec mtime;          /* the folder's, when ps was loaded */
	struct xen_retry retry[XDS_MAX_GUESTS];
	int nr_retry;
	struct xen_lock { int id, fd; } locks[XDS_MAX_GUESTS];  /* one per attached domain */
	int nr_locks;
};

static uint64_t xen_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct xen_retry *xen_retry_of(struct xen_host *x, int id, bool add)
{
	for (int i = 0; i < x->nr_retry; i++)
		if (x->retry[i].id == id)
			return &x->retry[i];
	if (!add || x->nr_retry == XDS_MAX_GUESTS)
		return NULL;
	x->retry[x->nr_retry] = (struct xen_retry){ .id = id };
	return &x->retry[x->nr_retry++];
}

static void xen_retry_forget(struct xen_host *x, int id)
{
	struct xen_retry *r = xen_retry_of(x, id, false);
	if (r)
		*r = x->retry[--x->nr_retry];
}

/*
 * Each message is printed once per process: a domain left alone is tried
 * again on every rescan and would otherwise repeat its reason each tick.
 * The table of printed messages (by hash) is the one piece of state this
 * file keeps outside struct xds_host: it belongs to our log.
 */
static void xen_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void xen_note(const char *fmt, ...)
{
	static uint32_t printed[256];
	static unsigned next;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint32_t h = 2166136261u;
	for (const char *p = msg; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h |= 1u;
	for (unsigned i = 0; i < 256; i++)
		if (printed[i] == h)
			return;
	printed[next++ % 256] = h;
	xds_log(XDS_LOG_WARNING, "xen: %s", msg);
}

static int xen_is_profile_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return d->d_name[0] != '.' && n > 8 && !strcmp(d->d_name + n - 8, ".profile");
}

/* Every *.profile of dir that loads; one that does not is reported. */
static int xen_load_profiles(const char *dir, struct xen_profiles *ps,
			     struct xds_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, xen_is_profile_name, alphasort);
	memset(ps, 0, sizeof *ps);
	ps->dir = dir;
	if (n < 0)
		return xds_fail(err, "xen: profile directory %s: %s", dir,
				strerror(errno));
	ps->p = calloc(n ? (size_t)n : 1, sizeof *ps->p);
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct xds_err e;
		if (ps->p && !xds_format(&e, path, sizeof path, "%s/%s", dir,
					 names[i]->d_name) &&
		    profile_load(path, &ps->p[ps->n], &e) == 0)
			ps->n++;
		else if (ps->p)
			xen_note("profile %s/%s skipped: %s", dir,
				 names[i]->d_name, e.msg);
		free(names[i]);
	}
	free(names);
	if (!ps->p)
		return xds_fail(err, "xen: out of memory");
	return 0;
}

static int xen_guest_index(struct xds_host *h, struct backend *be, int dom)
{
	for (int i = 0; i < h->nr_guests; i++)
		if (h->guests[i].be == be && h->guests[i].dom == dom)
			return i;
	return -1;
}

/* One scheduler per domain: the lock file XEN_LOCK_DIR/dom-ID.lock,
 * held while the domain is attached (lock.c names the holder).  Domain ids
 * are not reused while a domain lives, and the folder is a tmpfs that a
 * reboot of the host empties.  0 locked, -1 refused (why says by whom). */
static int xen_lock_dom(struct xen_host *x, const struct be_dom *d, char *why, size_t n)
{
	const char *dir = getenv("XDS_XEN_LOCK_DIR");
	char path[PATH_MAX];
	struct stat st;
	struct xds_err e;
	if (!dir || !*dir)
		dir = XEN_LOCK_DIR;
	if (x->nr_locks == XDS_MAX_GUESTS) {
		snprintf(why, n, "more than %d domains attached", XDS_MAX_GUESTS);
		return -1;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, n, "cannot create %.300s for its lock: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/dom-%d.lock", dir, d->id);
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, n, "cannot create %.300s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	if ((fd = host_lock_guest(path, &st, &e)) < 0) {
		snprintf(why, n, "%s", e.msg);
		return -1;
	}
	x->locks[x->nr_locks++] = (struct xen_lock){ d->id, fd };
	return 0;
}

static void xen_unlock_dom(struct xen_host *x, int id)
{
	for (int i = 0; i < x->nr_locks; i++)
		if (x->locks[i].id == id) {
			close(x->locks[i].fd);
			x->locks[i] = x->locks[--x->nr_locks];
			return;
		}
}

static void xen_left_alone(const struct be_dom *d, const char *reason)
{
	xen_note("dom %d (%s) left alone: %s", d->id, d->name, reason);
}

/* Why a domain cannot be tried now (gone, or shut down), or NULL. */
static const char *xen_unfit(struct backend *be, const struct be_dom *d,
			     char *buf, size_t n)
{
	struct xen_dom_info di;
	struct xds_err e;
	if (backend_xen_info(be, d->id, &di, &e) < 0) {
		snprintf(buf, n, "%s", e.msg);
		return buf;
	}
	if (di.shutdown) {
		snprintf(buf, n, "shut down (reason %d)", di.shutdown_reason);
		return buf;
	}
	return NULL;
}

/*
 * Tries every profile on domain d.  1 attached, 0 left alone (reason in
 * why).  A profile whose banner is not in the guest says so in its error;
 * any other error (paging off while the kernel boots, an unreadable
 * table) is the more telling reason and is kept.
 */
static int xen_try_profiles(struct xds_host *h, struct backend *be,
			    const struct be_dom *d, const struct xen_profiles *ps,
			    char *why, size_t n);
static int xen_try_own_memory(struct xds_host *h, struct backend *be,
			      const struct be_dom *d, char *why, size_t n);

static int xen_try_attach(struct xds_host *h, struct xen_host *x,
			  const struct be_dom *d, const struct xen_profiles *ps,
			  char *why, size_t n)
{
	struct backend *be = x->be;
	if (xds_host_find(h, d->name, NULL)) {
		snprintf(why, n, "a guest named %s is already attached", d->name);
		return 0;
	}
	if (xen_unfit(be, d, why, n) || xen_lock_dom(x, d, why, n))
		return 0;
	int got = xen_try_profiles(h, be, d, ps, why, n);
	if (!got)
		xen_unlock_dom(x, d->id);
	return got;
}

static int xen_try_profiles(struct xds_host *h, struct backend *be,
			    const struct be_dom *d, const struct xen_profiles *ps,
			    char *why, size_t n)
{
	snprintf(why, n, "no profile in %s matches its kernel's banner "
		 "(%d tried)", ps->dir, ps->n);
	int other = 0;
	for (int i = 0; i < ps->n; i++) {
		struct xds_err e;
		struct lx_guest *lx = lx_attach(be, d->id, &ps->p[i], &e);
		if (lx) {
			struct xds_err pe;
			if (host_put_guest(h, &host_kind_xen, d->name, be, d->id, lx, "xen", &pe))
				return 1;
			lx_detach(lx);          /* found again by name: "xen" */
			snprintf(why, n, "%s", pe.msg);
			return 0;
		}
		if (!other && !strstr(e.msg, "does not run the kernel of profile")) {
			snprintf(why, n, "%s", e.msg);
			other = 1;
		}
	}
	return other ? 0 : xen_try_own_memory(h, be, d, why, n);
}

/*
 * No profile of the folder fits: the kernel's own BTF and kallsyms, found
 * in the domain's memory (guest_profile.c, cached by build id).  Only
 * where frame numbers are the guest's own (PVH, HVM): a PV domain's are
 * machine frames, and a scan of them would read the whole host.
 */
static int xen_try_own_memory(struct xds_host *h, struct backend *be,
			      const struct be_dom *d, char *why, size_t n)
{
	struct xen_dom_info di;
	struct xds_err e;
	if (backend_xen_info(be, d->id, &di, &e) < 0 || di.type == XEN_GUEST_PV)
		return 0;
	struct profile *p = malloc(sizeof *p);
	if (!p)
		return 0;
	struct lx_guest *lx = NULL;
	if (host_guest_profile(be, d->id, p, &e) == 0)
		lx = lx_attach(be, d->id, p, &e);
	free(p);
	if (!lx) {
		size_t used = strlen(why);
		snprintf(why + used, n - used, "; from its own memory: %.200s", e.msg);
		return 0;
	}
	if (host_put_guest(h, &host_kind_xen, d->name, be, d->id, lx, "xen", &e))
		return 1;
	lx_detach(lx);
	snprintf(why, n, "%s", e.msg);
	return 0;
}

/* Drops the guests of be whose domain is not in doms[0..n). */
static int xen_drop_gone(struct xds_host *h, struct xen_host *x, const struct be_dom *doms, int n)
{
	int dropped = 0;
	for (int i = h->nr_guests - 1; i >= 0; i--) {
		if (h->guests[i].kind != &host_kind_xen || h->guests[i].gone)
			continue;
		int alive = 0;
		for (int k = 0; k < n; k++)
			alive |= doms[k].id == h->guests[i].dom;
		if (alive)
			continue;
		xds_log(XDS_LOG_WARNING, "xen: dom %d (%s) is gone: dropped",
			h->guests[i].dom, h->guests[i].name);
		char why[64];
		snprintf(why, sizeof why, "domain %d is gone", h->guests[i].dom);
		xen_unlock_dom(x, h->guests[i].dom);
		host_drop_guest(&h->guests[i], why);
		dropped++;
	}
	return dropped;
}

static int xen_scan(struct xds_host *h, struct xen_host *x, const struct xen_profiles *ps,
		    int *changed, struct xds_err *err)
{
	struct backend *be = x->be;
	uint64_t now = xen_mono_ns();
	struct be_dom doms[XDS_MAX_GUESTS];
	int n = be_list(be, doms, XDS_MAX_GUESTS, err);
	if (n < 0)
		return -1;
	int delta = xen_drop_gone(h, x, doms, n);
	for (int k = 0; k < n; k++) {
		char why[512];
		if (xen_guest_index(h, be, doms[k].id) >= 0)
			continue;
		struct xen_retry *r = xen_retry_of(x, doms[k].id, false);
		if (r && now < r->next_ns)
			continue;       /* left alone a moment ago: not yet */
		if (xen_try_attach(h, x, &doms[k], ps, why, sizeof why)) {
			xds_log(XDS_LOG_NOTICE, "xen: dom %d (%s) attached",
				doms[k].id, doms[k].name);
			xen_retry_forget(x, doms[k].id);
			delta++;
		} else {
			xen_left_alone(&doms[k], why);
			if ((r = xen_retry_of(x, doms[k].id, true))) {
				r->step_ns = r->step_ns ? r->step_ns * 2 : XEN_RETRY_FIRST_NS;
				if (r->step_ns > XEN_RETRY_MAX_NS)
					r->step_ns = XEN_RETRY_MAX_NS;
				r->next_ns = now + r->step_ns;
			}
		}
	}
	if (changed)
		*changed = delta > 0;
	return 0;
}

/* The profiles, loaded again only if the folder changed since; a change
 * makes every domain left alone worth a try at once. */
static int xen_current_profiles(struct xen_host *x, struct xds_err *err)
{
	struct stat st;
	if (stat(x->profile_dir, &st) < 0)
		return xds_fail(err, "xen: profile directory %s: %s", x->profile_dir, strerror(errno));
	if (x->loaded && st.st_mtim.tv_sec == x->mtime.tv_sec && st.st_mtim.tv_nsec == x->mtime.tv_nsec)
		return 0;
	struct xen_profiles ps;
	if (xen_load_profiles(x->profile_dir, &ps, err) < 0)
		return -1;
	free(x->ps.p);
	x->ps = ps;
	x->ps.dir = x->profile_dir;
	x->loaded = true;
	x->mtime = st.st_mtim;
	x->nr_retry = 0;
	return 0;
}

static int xen_rescan(struct xds_host *h, void *priv, int *changed, struct xds_err *err)
{
	struct xen_host *x = priv;
	if (changed)
		*changed = 0;
	if (!x)
		return 0;
	if (xen_current_profiles(x, err) < 0)
		return xds_err_wrap(err, "xen");
	int rc = xen_scan(h, x, &x->ps, changed, err);
	return rc < 0 ? xds_err_wrap(err, "xen") : 0;
}

static int xen_attach(struct xds_host *h, void **priv, const char *arg,
		      const struct xds_attach_opts *o, struct xds_err *err)
{
	(void)arg;
	struct xen_host *x = *priv;
	if (!x) {
		if (!(x = calloc(1, sizeof *x)))
			return xds_fail(err, "out of memory");
		snprintf(x->profile_dir, sizeof x->profile_dir, "%s",
			 o->profile_dir ? o->profile_dir : XEN_PROFILE_DIR);
		if (!(x->be = backend_xen_new(err))) {
			free(x);
			return xds_err_wrap(err, "xen");
		}
		*priv = x;
	}
	return xen_rescan(h, x, NULL, err);
}

static bool xen_claims(const char *spec)
{
	return !strcmp(spec, "xen");
}

/* A domU is found again by name; one that is gone took its tasks along. */
static int xen_reattach(struct xds_host *h, void **priv, const char *name, const char *spec,
			struct xds_err *err)
{
	static const struct xds_attach_opts none;
	(void)spec;
	if (xen_attach(h, priv, NULL, &none, err) < 0)
		return 0;
	if (!xds_host_find(h, name, NULL)) {
		xds_fail(err, "%s: not found on this Xen host", name);
		return 0;
	}
	return 1;
}

static void xen_close(void *priv)
{
	struct xen_host *x = priv;
	if (x) {
		while (x->nr_locks)
			xen_unlock_dom(x, x->locks[0].id);
		be_close(x->be);
		free(x->ps.p);
	}
	free(x);
}

static bool xen_available(void)
{
	return backend_xen_available();
}

const struct host_kind host_kind_xen = {
	.name = "xen",
	.attach = xen_attach,
	.rescan = xen_rescan,
	.claims = xen_claims,
	.reattach = xen_reattach,
	.close = xen_close,
	.available = xen_available,
};
