/*
 * profile_build.c - the front door: a profile from a kernel's ELF file
 * and an optional System.map.  Opens the ELF once (profile_elf.c), runs
 * the symbol and DWARF readers over it, then derives and checks (profile.c).
 * What each reader finds, and how, is left to it; saving to profile_io.c.
 */
#include <string.h>

#include "profile/profile_elf.h"
#include "profile/profile_int.h"

static void set_source(struct profile *p, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	snprintf(p->source, sizeof p->source, "%s", base);
}

int profile_build(const char *elf_path, const char *sysmap_path,
		  struct profile *p, struct xds_err *err)
{
	struct profile_elf e;
	memset(p, 0, sizeof *p);
	set_source(p, elf_path);
	if (sysmap_path && profile_syms_sysmap(sysmap_path, p, err) < 0)
		return -1;
	if (profile_elf_open(&e, elf_path, err) < 0)
		return -1;
	int rc = profile_syms_elf(&e, !sysmap_path, p, err);
	if (rc == 0)
		rc = profile_dwarf_fill(&e, p, err);
	profile_elf_close(&e);
	if (rc < 0)
		return -1;
	profile_derive(p);
	return profile_check(p, err);
}
