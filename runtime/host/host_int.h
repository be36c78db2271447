/*
 * host_int.h - what the host's core (host.c) and its kinds (sim.c, qemu.c,
 * xen.c, static.c) share: the structs behind host.h and the table each
 * kind fills in.
 *
 * A kind attaches guests into the host's slots (host_put_guest) and may
 * keep state of its own (one `priv` per kind and host).  The core owns
 * the slots, snapshots, the clock and pause/resume; a kind says only what
 * differs: how to find its guests, whether it keeps a clock, what controls
 * it offers.  Not for use outside runtime/host.
 */
#ifndef XDS_HOST_INT_H
#define XDS_HOST_INT_H

#include "backend/backend.h"
#include "host/host.h"

struct host_kind;

struct xds_guest {
	char name[XDS_MAX_GUEST_NAME];
	bool gone;                  /* its domain went away: a free slot */
	uint32_t gen;               /* bumped when the slot is reused */
	const struct host_kind *kind;
	struct backend *be;         /* owned by its kind (NULL: static) */
	int dom;                    /* domain id within be */
	struct lx_guest *lx;
	struct lx_snapshot snap;    /* the latest snapshot */
	struct lx_snapshot fixed;   /* static: the snapshot it was given */
	char error[512];            /* why the latest snapshot failed, or "" */
	bool over_budget;           /* the latest snapshot ran past XDS_GUEST_BUDGET_NS */
	char spec[1024];            /* how to attach it again */
};

struct host_kind {
	const char *name;           /* "sim", "qemu", "xen", "static" */
	/* attach arg's guests; *priv is this kind's state on h (NULL at first) */
	int (*attach)(struct xds_host *h, void **priv, const char *arg,
		      const struct xds_attach_opts *o, struct xds_err *err);
	/* NULL: the set of guests never changes */
	int (*rescan)(struct xds_host *h, void *priv, int *changed, struct xds_err *err);
	/* a virtual clock: now, and advancing it by ns; NULL: the wall clock */
	uint64_t (*now)(const void *priv);
	int (*advance)(void *priv, uint64_t ns, struct xds_err *err);
	bool (*realtime)(const void *priv);     /* that clock follows the wall clock */
	/* controls by name (NULL-terminated), under table name `name` */
	const char *const *controls;
	json_t *(*control)(void *priv, const char *name, json_t *args, struct xds_err *err);
	json_t *(*truth)(void *priv, struct xds_err *err);
	/* does this kind own a journal spec; attach it again (host.h's 1/0/-1) */
	bool (*claims)(const char *spec);
	int (*reattach)(struct xds_host *h, void **priv, const char *name, const char *spec,
			struct xds_err *err);
	/* g's domain is gone for good (its QEMU died): drop it, true (NULL: never) */
	bool (*lost)(struct xds_guest *g);
	/* g was just paused: prove it is still the guest we write (NULL: no check) */
	int (*paused)(struct xds_guest *g, struct xds_err *err);
	bool ephemeral;             /* its guests die with the run */
	void (*kill_helpers)(const void *priv);     /* async-signal-safe */
	/* the guests are detached already; free priv and what it holds */
	void (*close)(void *priv);
	bool (*available)(void);    /* NULL: always */
};

extern const struct host_kind host_kind_sim, host_kind_qemu, host_kind_xen, host_kind_static;

#define HOST_MAX_KINDS 4

struct host_source {
	const struct host_kind *kind;
	void *priv;
};

struct xds_host {
	struct xds_guest guests[XDS_MAX_GUESTS];
	int nr_guests;
	uint64_t epoch;             /* bumped by every xds_host_snapshot */
	struct host_source src[HOST_MAX_KINDS];
	int nr_src;
};

/*
 * A new guest in a free slot (a gone one is reused with its generation
 * bumped): name must be unique among live guests.  lx may be NULL (static).
 * Returns the slot, or NULL with err.
 */
struct xds_guest *host_put_guest(struct xds_host *h, const struct host_kind *kind,
				 const char *name, struct backend *be, int dom,
				 struct lx_guest *lx, const char *spec, struct xds_err *err);
/* Detach guest g and mark its slot gone (its backend stays its kind's). */
void host_drop_guest(struct xds_guest *g, const char *why);
/* The private directory of the simulator a host started, or NULL: white-
 * box tests reach its domains' own sockets there (sim.c). */
const char *host_sim_dir(const struct xds_host *h);
/* A deep copy of a snapshot (static.c). */
int host_snapshot_copy(const struct lx_snapshot *src, struct lx_snapshot *dst, struct xds_err *err);
/* Lock the file that stands for a guest (lock.c): the open fd, to be
 * closed when the guest goes, and its stat in *st; -1 with err (naming the
 * holder's pid) when another run holds it. */
struct stat;
int host_lock_guest(const char *path, struct stat *st, struct xds_err *err);
/* Does any live guest use be. */
bool host_uses_backend(const struct xds_host *h, const struct backend *be);

/* guest_profile.c: the cache directory ($XDG_CACHE_HOME/xds-lua, made if
 * missing), and a profile from the guest's own memory, cached there by
 * build id. */
struct profile;
void host_cache_dir(char *dir, size_t n);
int host_guest_profile(struct backend *be, int dom, struct profile *p, struct xds_err *err);

#endif
