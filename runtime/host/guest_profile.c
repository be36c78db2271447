/*
 * guest_profile.c - where a guest's profile comes from when the user gave
 * none: the guest's own memory (profile_build_guest: BTF and kallsyms
 * found in its physical memory), cached under the cache directory by the
 * kernel's build id from vmcoreinfo.  Any kind of host may use it; it
 * reads frames through the backend and leaves the kernel to the profile
 * layer.  Also the cache directory every kind shares.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host_int.h"
#include "vmem/vmem.h"

void host_cache_dir(char *dir, size_t n)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(dir, n, "%s/xds-lua", xdg);
	else if (home && *home)
		snprintf(dir, n, "%s/.cache/xds-lua", home);
	else
		snprintf(dir, n, "/tmp/xds-lua-cache");
	char mk[PATH_MAX];
	snprintf(mk, sizeof mk, "%s", dir);
	for (char *p = mk + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(mk, 0755);
			*p = '/';
		}
	mkdir(mk, 0755);
}

struct guest_ram {
	struct backend *be;
	int dom;
};

static void *map_frame(void *ctx, uint64_t gfn, int writable)
{
	struct guest_ram *r = ctx;
	return be_map(r->be, r->dom, gfn, 1, writable, NULL);
}

static int ram_frames(struct backend *be, int dom, uint64_t *max_gfn, struct xds_err *err)
{
	struct be_dom doms[XDS_MAX_GUESTS];
	int n = be_list(be, doms, XDS_MAX_GUESTS, err);
	for (int i = 0; i < n; i++)
		if (doms[i].id == dom && doms[i].ram_bytes >= BE_FRAME_SIZE) {
			*max_gfn = doms[i].ram_bytes / BE_FRAME_SIZE - 1;
			return 0;
		}
	return n < 0 ? -1 : xds_fail(err, "domain %d has no RAM the backend lists", dom);
}

int host_guest_profile(struct backend *be, int dom, struct profile *p, struct xds_err *err)
{
	struct guest_ram r = { be, dom };
	struct vmem_phys ph = { .ctx = &r, .map = map_frame };
	struct profile_guest_info info;
	if (ram_frames(be, dom, &ph.max_gfn, err) || profile_guest_identify(&ph, &info, err))
		return -1;
	char dir[PATH_MAX], cached[PATH_MAX] = "";
	if (info.build_id[0]) {
		host_cache_dir(dir, sizeof dir);
		if (xds_format(NULL, cached, sizeof cached, "%s/guest-%s.profile", dir, info.build_id))
			cached[0] = 0;
	}
	if (cached[0] && !access(cached, R_OK) && !profile_load(cached, p, NULL))
		return 0;
	if (profile_build_guest(&ph, &info, p, err))
		return xds_err_wrap(err, "no profile given, and none from the guest's memory");
	if (cached[0])
		profile_save(p, cached, NULL);   /* a cache that cannot be written is no error */
	return 0;
}
