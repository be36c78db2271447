/*
 * profile_build.c - the front door: a profile from a kernel's ELF file
 * and an optional System.map.  Opens the ELF once (profile_elf.c), runs
 * the symbol and DWARF readers over it, then derives and checks (profile.c).
 * What each reader finds, and how, is left to it; saving to profile_io.c.
 * profile_build_image does the same for a kernel without its debug
 * package: BTF (profile_btf.c) and kallsyms (profile_kallsyms.c) from the
 * image package's vmlinuz (profile_vmlinuz.c) or the vmlinux inside it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

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

/* Types from BTF and symbols from kallsyms in one ELF file (a vmlinux
 * without DWARF or symbol table); the banner from its bytes. */
static int build_btf_elf(const char *elf_path, struct profile *p,
			 struct xds_err *err)
{
	struct profile_elf e;
	struct profile_kallsyms ks;
	if (profile_btf_elf(elf_path, p, err) < 0 ||
	    profile_elf_open(&e, elf_path, err) < 0)
		return -1;
	int rc = profile_kallsyms_elf(&e, &ks, p, err);
	if (rc >= 0)
		rc = profile_syms_elf(&e, false, p, err);
	profile_elf_close(&e);
	return rc < 0 ? -1 : 0;
}

int profile_build_image(const char *image, struct profile *p,
			struct xds_err *err)
{
	uint8_t magic[4] = { 0 };
	FILE *f = fopen(image, "rb");
	if (!f)
		return xds_fail(err, "%s: %s", image, strerror(errno));
	size_t got = fread(magic, 1, sizeof magic, f);
	fclose(f);
	memset(p, 0, sizeof *p);
	set_source(p, image);
	char tag[sizeof p->source];
	snprintf(tag, sizeof tag, "%.100s (BTF + kallsyms)", p->source);
	memcpy(p->source, tag, sizeof p->source);
	int rc;
	if (got == 4 && memcmp(magic, "\177ELF", 4) == 0) {
		rc = build_btf_elf(image, p, err);
	} else {
		int fd;
		char path[64];
		if (profile_vmlinuz_open(image, &fd, path, sizeof path, err) < 0)
			return -1;
		rc = build_btf_elf(path, p, err);
		close(fd);
	}
	if (rc < 0)
		return -1;
	profile_derive(p);
	return profile_check(p, err);
}
