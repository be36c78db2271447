/*
 * image.c - a backend over guest memory the caller already holds.
 *
 * One domain ("image", id 0) whose RAM is a buffer (a memory dump, a copy
 * of a RAM file, or a simulator's RAM in the same process) and whose vCPU
 * registers are given.  Pause and resume only flip a flag; a kick is only
 * counted (backend_image_kicks), as there is no vCPU to wake.  It serves
 * offline inspection and the hostile-memory tests and fuzzers, which
 * corrupt the buffer and check that the layers above never crash.
 */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

struct image_backend {
	struct backend be;
	uint8_t *ram;
	uint64_t size;
	int nr_vcpus;
	int paused;
	struct be_regs *regs;
	uint64_t *kicks;        /* per vCPU */
};

static struct image_backend *ib(struct backend *be)
{
	return (struct image_backend *)be;
}

static int check_dom(int dom, struct xds_err *err)
{
	return dom == 0 ? 0 : xds_fail(err, "image: no domain %d", dom);
}

static int image_list(struct backend *be, struct be_dom *out, int max, struct xds_err *err)
{
	(void)err;
	if (max < 1)
		return 0;
	memset(out, 0, sizeof *out);
	strcpy(out->name, "image");
	out->nr_vcpus = ib(be)->nr_vcpus;
	out->ram_bytes = ib(be)->size;
	return 1;
}

static int image_pause(struct backend *be, int dom, struct xds_err *err)
{
	if (check_dom(dom, err))
		return -1;
	ib(be)->paused = 1;
	return 0;
}

static int image_resume(struct backend *be, int dom, struct xds_err *err)
{
	if (check_dom(dom, err))
		return -1;
	ib(be)->paused = 0;
	return 0;
}

static int image_status(struct backend *be, int dom, int *paused, struct xds_err *err)
{
	if (check_dom(dom, err))
		return -1;
	*paused = ib(be)->paused;
	return 0;
}

static void *image_map(struct backend *be, int dom, uint64_t gfn, size_t nr, int writable,
		       struct xds_err *err)
{
	(void)writable;
	struct image_backend *b = ib(be);
	if (check_dom(dom, err))
		return NULL;
	uint64_t frames = b->size / BE_FRAME_SIZE;
	if (nr == 0 || gfn >= frames || nr > frames - gfn) {
		xds_fail(err, "image: frames %#llx+%zu outside %llu frames of RAM",
			 (unsigned long long)gfn, nr, (unsigned long long)frames);
		return NULL;
	}
	return b->ram + gfn * BE_FRAME_SIZE;
}

static int image_regs(struct backend *be, int dom, int vcpu, struct be_regs *out, struct xds_err *err)
{
	struct image_backend *b = ib(be);
	if (check_dom(dom, err))
		return -1;
	if (vcpu < 0 || vcpu >= b->nr_vcpus)
		return xds_fail(err, "image: no vCPU %d", vcpu);
	*out = b->regs[vcpu];
	return 0;
}

static int image_nr_vcpus(struct backend *be, int dom, struct xds_err *err)
{
	return check_dom(dom, err) ? -1 : ib(be)->nr_vcpus;
}

static int image_kick(struct backend *be, int dom, int vcpu, struct xds_err *err)
{
	struct image_backend *b = ib(be);
	if (check_dom(dom, err))
		return -1;
	if (vcpu < 0 || vcpu >= b->nr_vcpus)
		return xds_fail(err, "image: no vCPU %d", vcpu);
	b->kicks[vcpu]++;
	return 0;
}

static void image_close(struct backend *be)
{
	free(ib(be)->kicks);
	free(ib(be)->regs);
	free(be);
}

static const struct backend_ops image_ops = {
	.name = "image",
	.list = image_list,
	.pause = image_pause,
	.resume = image_resume,
	.status = image_status,
	.map = image_map,
	.regs = image_regs,
	.nr_vcpus = image_nr_vcpus,
	.kick = image_kick,
	.close = image_close,
};

struct backend *backend_image_new(void *ram, uint64_t size, int nr_vcpus, const struct be_regs *regs,
				  struct xds_err *err)
{
	if (nr_vcpus < 1) {
		xds_fail(err, "image: %d vCPUs", nr_vcpus);
		return NULL;
	}
	struct image_backend *b = calloc(1, sizeof *b);
	if (b) {
		b->regs = malloc((size_t)nr_vcpus * sizeof *b->regs);
		b->kicks = calloc((size_t)nr_vcpus, sizeof *b->kicks);
	}
	if (!b || !b->regs || !b->kicks) {
		if (b) {
			free(b->regs);
			free(b->kicks);
		}
		free(b);
		xds_fail(err, "out of memory");
		return NULL;
	}
	b->be.ops = &image_ops;
	b->ram = ram;
	b->size = size;
	b->nr_vcpus = nr_vcpus;
	memcpy(b->regs, regs, (size_t)nr_vcpus * sizeof *regs);
	return &b->be;
}

uint64_t backend_image_kicks(struct backend *be, int vcpu)
{
	struct image_backend *b = ib(be);
	return vcpu >= 0 && vcpu < b->nr_vcpus ? b->kicks[vcpu] : 0;
}

int backend_image_set_regs(struct backend *be, int vcpu, const struct be_regs *regs, struct xds_err *err)
{
	struct image_backend *b = ib(be);
	if (vcpu < 0 || vcpu >= b->nr_vcpus)
		return xds_fail(err, "image: no vCPU %d", vcpu);
	b->regs[vcpu] = *regs;
	return 0;
}
