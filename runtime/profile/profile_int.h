/*
 * profile_int.h - what the profile files share among themselves: the
 * declared tables of fields.def and the readers for DWARF, ELF symbols and
 * System.map.  Not for use outside runtime/profile.
 */
#ifndef XDS_PROFILE_INT_H
#define XDS_PROFILE_INT_H

#include "profile/profile.h"

struct profile_struct_decl {
	const char *name;
	bool required;
};

#define PROFILE_MAX_ALTS 3

struct profile_field_decl {
	enum profile_struct_id sid;
	bool required;
	const char *paths[PROFILE_MAX_ALTS + 1]; /* alternatives, NULL-ended */
};

struct profile_sym_decl {
	const char *name;
	bool required;
};

extern const struct profile_struct_decl profile_struct_decls[T__COUNT];
extern const struct profile_field_decl profile_field_decls[F__COUNT];
extern const struct profile_sym_decl profile_sym_decls[S__COUNT];

/* Fill structs and fields from the DWARF of an ELF file. */
int profile_dwarf_fill(const char *elf_path, bool relocatable,
		       struct profile *p, struct xds_err *err);

/* Symbols from the ELF symbol table, the banner from the ELF's bytes of
 * linux_banner (its address from p->syms when present, e.g. from
 * System.map).  Sets *relocatable for ET_REL objects. */
int profile_elf_symbols(const char *elf_path, bool fill_syms,
			struct profile *p, bool *relocatable,
			struct xds_err *err);
int profile_sysmap_read(const char *path, struct profile *p,
			struct xds_err *err);

#endif
