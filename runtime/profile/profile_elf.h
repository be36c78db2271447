/*
 * profile_elf.h - one ELF file opened with libelf, its headers checked
 * (profile_elf.c).  The symbol and DWARF readers read through it; what
 * the sections mean is theirs.  Internal to runtime/profile.
 */
#ifndef XDS_PROFILE_ELF_H
#define XDS_PROFILE_ELF_H

#include <gelf.h>
#include <stdbool.h>

#include "util/err.h"

struct profile_elf {
	const char *path;       /* as given, for messages */
	int fd;
	uint64_t size;          /* of the file, bytes */
	Elf *elf;
	GElf_Ehdr eh;
	size_t nsec;            /* section headers, including index 0 */
};

/* Open and check a 64-bit little-endian ELF file: every section header
 * readable, named, and (unless SHT_NOBITS) inside the file.  On error
 * nothing is left open. */
int profile_elf_open(struct profile_elf *e, const char *path,
		     struct xds_err *err);
void profile_elf_close(struct profile_elf *e);

static inline bool profile_elf_relocatable(const struct profile_elf *e)
{
	return e->eh.e_type == ET_REL;
}

/* Section idx's header and contents; what names it in an error. */
int profile_elf_section(struct profile_elf *e, size_t idx, GElf_Shdr *sh,
			Elf_Data **data, const char *what,
			struct xds_err *err);

#endif
