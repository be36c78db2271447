/*
 * host.c - the host's core (see host.h): guest slots, snapshots, the
 * clock, pause and resume, and the dispatch to the kinds of host.
 *
 * Each kind (sim.c, qemu.c, xen.c, static.c) fills a struct host_kind and
 * attaches guests through host_put_guest; this file never asks which kind
 * a guest is, only what its kind's table offers.  At most one attached
 * kind keeps a virtual clock; without one, host time is CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

#include "host/host_int.h"
#include "util/log.h"

static const struct host_kind *const kinds[] = {
	&host_kind_sim, &host_kind_qemu, &host_kind_xen, &host_kind_static,
};
#define NR_KINDS (sizeof kinds / sizeof *kinds)

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const struct host_kind *kind_named(const char *name)
{
	for (size_t i = 0; i < NR_KINDS; i++)
		if (!strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

const char *xds_host_kinds(void)
{
	static char list[64];
	if (!list[0])
		for (size_t i = 0; i < NR_KINDS; i++)
			if (!kinds[i]->available || kinds[i]->available() || kinds[i] == &host_kind_xen) {
				size_t n = strlen(list);
				snprintf(list + n, sizeof list - n, "%s%s", n ? " " : "", kinds[i]->name);
			}
	return list;
}

bool xds_host_kind_available(const char *kind)
{
	const struct host_kind *k = kind_named(kind);
	return k && (!k->available || k->available());
}

struct xds_host *xds_host_new(struct xds_err *err)
{
	struct xds_host *h = calloc(1, sizeof *h);
	if (!h)
		xds_fail(err, "out of memory");
	return h;
}

static struct host_source *source_of(struct xds_host *h, const struct host_kind *k, bool add)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind == k)
			return &h->src[i];
	if (!add || h->nr_src == HOST_MAX_KINDS)
		return NULL;
	h->src[h->nr_src] = (struct host_source){ .kind = k };
	return &h->src[h->nr_src++];
}

/* The source whose clock is the host's: the first kind that keeps one. */
static const struct host_source *clock_source(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind->now && h->src[i].priv)
			return &h->src[i];
	return NULL;
}

void xds_host_free(struct xds_host *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->nr_guests; i++)
		if (!h->guests[i].gone)
			host_drop_guest(&h->guests[i], "detached");
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind->close)
			h->src[i].kind->close(h->src[i].priv);
	free(h);
}

int xds_host_attach(struct xds_host *h, const char *kind, const char *arg,
		    const struct xds_attach_opts *o, struct xds_err *err)
{
	static const struct xds_attach_opts none;
	const struct host_kind *k = kind_named(kind);
	if (!k)
		return xds_fail(err, "no kind of host called '%s' (%s)", kind, xds_host_kinds());
	struct host_source *s = source_of(h, k, true);
	if (!s)
		return xds_fail(err, "%s: too many kinds of host at once", kind);
	if (k->now && clock_source(h) && clock_source(h) != s)
		return xds_fail(err, "%s: a host of another kind keeps the clock already", kind);
	return k->attach(h, &s->priv, arg, o ? o : &none, err);
}

int xds_host_rescan(struct xds_host *h, int *changed, struct xds_err *err)
{
	int rc = 0;
	if (changed)
		*changed = 0;
	for (int i = 0; i < h->nr_src; i++) {
		int c = 0;
		if (h->src[i].kind->rescan && h->src[i].kind->rescan(h, h->src[i].priv, &c, err) < 0)
			rc = -1;
		if (changed)
			*changed |= c;
	}
	return rc;
}

int xds_host_snapshot(struct xds_host *h, struct xds_err *err)
{
	h->epoch++;
	int ok = 0, live = 0, first = -1;
	for (int i = 0; i < h->nr_guests; i++) {
		struct xds_guest *g = &h->guests[i];
		struct xds_err e;
		lx_snapshot_free(&g->snap);
		if (g->gone)
			continue;
		live++;
		if (!g->lx) {                   /* static: its snapshot, again */
			ok += !g->error[0];
			if (!g->error[0] && host_snapshot_copy(&g->fixed, &g->snap, &e))
				snprintf(g->error, sizeof g->error, "%s", e.msg);
			continue;
		}
		lx_set_deadline(g->lx, mono_ns() + XDS_GUEST_BUDGET_NS);
		int rc = lx_snapshot(g->lx, &g->snap, &e);
		bool over = rc && lx_past_deadline(g->lx);
		lx_set_deadline(g->lx, 0);
		if (over && !g->over_budget)
			xds_log(XDS_LOG_WARNING, "%s: %s; skipped this tick, retried on the next "
				"(said once until it fits again)", g->name, e.msg);
		g->over_budget = over;
		if (rc) {
			snprintf(g->error, sizeof g->error, "%s", e.msg);
			if (first < 0)
				first = i;
			continue;
		}
		g->error[0] = 0;
		ok++;
	}
	if (live && !ok)
		return xds_fail(err, "%s: %s", h->guests[first < 0 ? 0 : first].name,
				h->guests[first < 0 ? 0 : first].error);
	return 0;
}

uint64_t xds_host_epoch(const struct xds_host *h)
{
	return h->epoch;
}

/* ---- the clock ---- */

uint64_t xds_host_now(const struct xds_host *h)
{
	const struct host_source *c = clock_source(h);
	return c ? c->kind->now(c->priv) : mono_ns();
}

int xds_host_wait_until(struct xds_host *h, uint64_t t_ns, struct xds_err *err)
{
	const struct host_source *c = clock_source(h);
	if (c) {
		uint64_t now = c->kind->now(c->priv);
		return t_ns > now ? c->kind->advance(c->priv, t_ns - now, err) : 0;
	}
	struct timespec ts = { (time_t)(t_ns / 1000000000ULL), (long)(t_ns % 1000000000ULL) };
	int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	if (rc == EINTR)
		return xds_fail(err, "interrupted");    /* a signal: the caller decides */
	return rc ? xds_fail(err, "clock_nanosleep: %s", strerror(rc)) : 0;
}

double xds_host_time_of_day(const struct xds_host *h)
{
	const struct host_source *c = clock_source(h);
	if (c)
		return (double)c->kind->now(c->priv) / 1e9;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool xds_host_clock_virtual(const struct xds_host *h)
{
	const struct host_source *c = clock_source(h);
	return c && !(c->kind->realtime && c->kind->realtime(c->priv));
}

bool xds_host_ephemeral(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (!h->src[i].kind->ephemeral)
			return false;
	return h->nr_src > 0;
}

/* ---- a kind's own controls ---- */

static const struct host_source *control_source(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind->controls && h->src[i].priv)
			return &h->src[i];
	return NULL;
}

const char *xds_host_controls(const struct xds_host *h, const char *const **names)
{
	const struct host_source *s = control_source(h);
	if (!s)
		return NULL;
	*names = s->kind->controls;
	return s->kind->name;
}

json_t *xds_host_control(struct xds_host *h, const char *name, json_t *args,
			 struct xds_err *err)
{
	const struct host_source *s = control_source(h);
	for (int i = 0; s && s->kind->controls[i]; i++)
		if (!strcmp(s->kind->controls[i], name))
			return s->kind->control(s->priv, name, args, err);
	xds_fail(err, "this host has no control '%s'", name);
	return NULL;
}

static const struct host_source *truth_source(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind->truth && h->src[i].priv)
			return &h->src[i];
	return NULL;
}

bool xds_host_has_truth(const struct xds_host *h)
{
	return truth_source(h) != NULL;
}

json_t *xds_host_truth(struct xds_host *h, struct xds_err *err)
{
	const struct host_source *s = truth_source(h);
	if (s)
		return s->kind->truth(s->priv, err);
	xds_fail(err, "this host keeps no ground truth of its own");
	return NULL;
}

void xds_host_kill_helpers(const struct xds_host *h)
{
	for (int i = 0; i < h->nr_src; i++)
		if (h->src[i].kind->kill_helpers)
			h->src[i].kind->kill_helpers(h->src[i].priv);
}

bool xds_guest_may_be(const struct xds_guest *g, const char *spec)
{
	return !g->gone && !g->kind->ephemeral && g->kind->claims && g->kind->claims(spec);
}

int xds_host_reattach(struct xds_host *h, const char *name, const char *spec,
		      struct xds_guest **g, struct xds_err *err)
{
	*g = NULL;
	for (size_t i = 0; i < NR_KINDS; i++) {
		const struct host_kind *k = kinds[i];
		if (!k->claims || !k->claims(spec))
			continue;
		struct host_source *s = source_of(h, k, true);
		if (!s)
			return xds_fail(err, "%s: too many kinds of host at once", name);
		int rc = k->reattach(h, &s->priv, name, spec, err);
		if (rc == 1 && !(*g = xds_host_find(h, name, NULL)))
			return xds_fail(err, "%s: not found after it was attached", name);
		return rc;
	}
	return xds_fail(err, "%s: the journal's '%.100s' names no kind of host known here", name, spec);
}
