/*
 * static.c - the "static" kind of host: guests given as snapshots.
 *
 * A static guest has no kernel to read and no domain to pause: its
 * snapshot is the one it was given (copied), returned again by every
 * xds_host_snapshot, or an error it always reports.  Tests of the layers
 * above use it, and so can a recording played back.  It writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "host/host_int.h"

/* A deep copy of src (tasks, run queues and their trees) into dst. */
int host_snapshot_copy(const struct lx_snapshot *src, struct lx_snapshot *dst, struct xds_err *err)
{
	memset(dst, 0, sizeof *dst);
	dst->tasks = calloc(src->nr_tasks ? (size_t)src->nr_tasks : 1, sizeof *dst->tasks);
	dst->rqs = calloc(src->nr_cpus ? (size_t)src->nr_cpus : 1, sizeof *dst->rqs);
	if (!dst->tasks || !dst->rqs)
		goto oom;
	if (src->nr_tasks)
		memcpy(dst->tasks, src->tasks, (size_t)src->nr_tasks * sizeof *dst->tasks);
	dst->nr_tasks = src->nr_tasks;
	for (int i = 0; i < src->nr_cpus; i++) {
		const struct lx_rq *r = &src->rqs[i];
		dst->rqs[i] = *r;
		dst->rqs[i].tree = malloc((r->nr_tree ? (size_t)r->nr_tree : 1) * sizeof *r->tree);
		dst->nr_cpus = i + 1;
		if (!dst->rqs[i].tree)
			goto oom;
		if (r->nr_tree)
			memcpy(dst->rqs[i].tree, r->tree, (size_t)r->nr_tree * sizeof *r->tree);
	}
	return 0;
oom:
	lx_snapshot_free(dst);
	return xds_fail(err, "out of memory");
}

int xds_host_add_static(struct xds_host *h, const char *name, const struct lx_snapshot *snap,
			const char *error, struct xds_err *err)
{
	struct lx_snapshot copy = { 0 };
	if (snap && host_snapshot_copy(snap, &copy, err))
		return -1;
	struct xds_guest *g = host_put_guest(h, &host_kind_static, name, NULL, -1, NULL, "static", err);
	if (!g) {
		lx_snapshot_free(&copy);
		return -1;
	}
	g->fixed = copy;
	if (error)
		snprintf(g->error, sizeof g->error, "%s", error);
	return 0;
}

static int static_attach(struct xds_host *h, void **priv, const char *arg,
			 const struct xds_attach_opts *o, struct xds_err *err)
{
	(void)priv;
	(void)o;
	return xds_host_add_static(h, arg, NULL, NULL, err);
}

const struct host_kind host_kind_static = {
	.name = "static",
	.attach = static_attach,
	.ephemeral = true,
};
