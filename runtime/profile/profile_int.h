/*
 * profile_int.h - what the profile files share among themselves.  Not for
 * use outside runtime/profile.
 *
 * Calls go one way: cli/profile.c over profile_build.c (the front door)
 * and profile_io.c; the front door over the readers, profile_syms.c and
 * profile_dwarf.c; the readers over profile_elf.c (libelf); and everyone
 * over profile.c, which holds the declared tables and calls no one.
 */
#ifndef XDS_PROFILE_INT_H
#define XDS_PROFILE_INT_H

#include "profile/profile.h"

struct profile_elf;

/* profile.c: the tables fields.def declares. */
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

/* The declared struct or symbol of that name, or -1. */
int profile_struct_by_name(const char *name);
int profile_sym_by_name(const char *name);

/* profile_syms.c: symbols from the ELF symbol table (when fill_syms),
 * the banner from the ELF's bytes of linux_banner (its address from
 * p->syms when the file has no such symbol, e.g. from System.map). */
int profile_syms_elf(struct profile_elf *e, bool fill_syms,
		     struct profile *p, struct xds_err *err);
int profile_syms_sysmap(const char *path, struct profile *p,
			struct xds_err *err);

/* profile_dwarf.c: structs and fields from the ELF's DWARF. */
int profile_dwarf_fill(struct profile_elf *e, struct profile *p,
		       struct xds_err *err);

#endif
