/*
 * profile_elf.c - a kernel's ELF file opened with libelf and checked.
 *
 * The file is mapped, not read: libdwarf gets the Elf (dwarf_elf_init_b)
 * and pointers into the mapping, so a scan reads only the pages it touches
 * of a vmlinux's 450 MB of DWARF.  The mapping is private and writable
 * because libdwarf applies a relocatable object's relocations in place;
 * pages only read stay the page cache's.  Every section header is checked
 * once here, so the readers above (profile_syms.c, profile_dwarf.c) never
 * meet a section outside the file; what the sections mean is theirs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/profile_elf.h"

static int elf_fail(const struct profile_elf *e, const char *what,
		    struct xds_err *err)
{
	int n = elf_errno();
	return xds_fail(err, "%s: %s: %s", e->path, what,
			n ? elf_errmsg(n) : "malformed");
}

static int check_within(const struct profile_elf *e, const char *what,
			uint64_t off, uint64_t len, struct xds_err *err)
{
	if (off <= e->size && len <= e->size - off)
		return 0;
	return xds_fail(err, "%s: %s: file offset 0x%llx+0x%llx is past "
			"the end (0x%llx)", e->path, what,
			(unsigned long long)off, (unsigned long long)len,
			(unsigned long long)e->size);
}

static int check_header(struct profile_elf *e, struct xds_err *err)
{
	const char *id = elf_kind(e->elf) == ELF_K_ELF ?
			 elf_getident(e->elf, NULL) : NULL;
	if (!id || id[EI_CLASS] != ELFCLASS64 || id[EI_DATA] != ELFDATA2LSB ||
	    !gelf_getehdr(e->elf, &e->eh))
		return xds_fail(err, "%s: not a 64-bit little-endian ELF file",
				e->path);
	if (check_within(e, "section headers", e->eh.e_shoff,
			 (uint64_t)e->eh.e_shnum * e->eh.e_shentsize, err) < 0)
		return -1;
	if (elf_getshdrnum(e->elf, &e->nsec) < 0 || e->nsec == 0)
		return elf_fail(e, "no usable section headers", err);
	return 0;
}

/* Each section named, and its contents inside the file. */
static int check_sections(struct profile_elf *e, struct xds_err *err)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(e->elf, &shstrndx) < 0)
		return elf_fail(e, "no section names", err);
	for (size_t i = 1; i < e->nsec; i++) {
		GElf_Shdr sh;
		const char *name = NULL;
		char what[80];
		snprintf(what, sizeof what, "section %zu", i);
		if (!gelf_getshdr(elf_getscn(e->elf, i), &sh) ||
		    !(name = elf_strptr(e->elf, shstrndx, sh.sh_name)))
			return elf_fail(e, what, err);
		snprintf(what, sizeof what, "section %s", name);
		if (sh.sh_type != SHT_NOBITS &&
		    check_within(e, what, sh.sh_offset, sh.sh_size, err) < 0)
			return -1;
	}
	return 0;
}

int profile_elf_open(struct profile_elf *e, const char *path,
		     struct xds_err *err)
{
	struct stat st;
	memset(e, 0, sizeof *e);
	e->path = path;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return elf_fail(e, "libelf", err);
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0 || fstat(e->fd, &st) < 0) {
		int errnum = errno;
		if (e->fd >= 0)
			close(e->fd);
		return xds_fail(err, "%s: %s", path, strerror(errnum));
	}
	e->size = (uint64_t)st.st_size;
	e->elf = elf_begin(e->fd, ELF_C_READ_MMAP_PRIVATE, NULL);
	int rc = e->elf ? check_header(e, err) :
		 xds_fail(err, "%s: not a 64-bit little-endian ELF file", path);
	if (rc == 0)
		rc = check_sections(e, err);
	if (rc < 0)
		profile_elf_close(e);
	return rc;
}

void profile_elf_close(struct profile_elf *e)
{
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	e->elf = NULL;
	e->fd = -1;
}

int profile_elf_section(struct profile_elf *e, size_t idx, GElf_Shdr *sh,
			Elf_Data **data, const char *what,
			struct xds_err *err)
{
	Elf_Scn *scn = idx > 0 && idx < e->nsec ? elf_getscn(e->elf, idx) : NULL;
	if (!scn || !gelf_getshdr(scn, sh))
		return xds_fail(err, "%s: %s: section %zu out of range",
				e->path, what, idx);
	*data = elf_getdata(scn, NULL);
	if (!*data)
		return elf_fail(e, what, err);
	if (!(*data)->d_buf && (*data)->d_size)
		return xds_fail(err, "%s: %s: section %zu has no contents in "
				"the file", e->path, what, idx);
	return 0;
}
