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

/* profile_btf.c: structs, fields and per-CPU symbols from BTF (libbpf). */
struct btf;
int profile_btf_fill(const struct btf *btf, struct profile *p,
		     struct xds_err *err);
int profile_btf_elf(const char *path, struct profile *p, struct xds_err *err);
int profile_btf_blob(const void *data, size_t size, struct profile *p,
		     struct xds_err *err);

/* profile_kallsyms.c: what the decoder found, besides p->syms. */
enum profile_ks_encoding {
	PROFILE_KS_ABSOLUTE_PERCPU,     /* up to 6.14 */
	PROFILE_KS_RELATIVE,            /* 6.15-6.19 */
	PROFILE_KS_PLACE_RELATIVE,      /* 7.0+ */
};

struct profile_kallsyms {
	uint32_t num_syms;
	enum profile_ks_encoding encoding;
	uint64_t relative_base; /* 0 when place-relative */
	uint64_t text;          /* _text's address, 0 if not found */
	size_t token_table;     /* offset in the image */
};

/* Scan image (whose first byte is at address base, 0 if unknown) for the
 * kallsyms tables and fill the declared symbols not yet present.
 * 1 found and decoded, 0 no token table, -1 tables that do not hold. */
int profile_kallsyms_scan(const void *image, size_t size, uint64_t base,
			  struct profile_kallsyms *out, struct profile *p,
			  struct xds_err *err);
/* The same over every allocated section of an ELF file. */
int profile_kallsyms_elf(struct profile_elf *e, struct profile_kallsyms *out,
			 struct profile *p, struct xds_err *err);

/* profile_vmlinuz.c: the vmlinux inside a bzImage, decompressed into an
 * anonymous file; *path names it (/proc/self/fd/N) until close(*fd). */
int profile_vmlinuz_open(const char *vmlinuz, int *fd, char *path,
			 size_t pathsz, struct xds_err *err);

#endif
