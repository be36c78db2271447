/*
 * profile.h - a kernel profile: what the runtime knows about one kernel build.
 *
 * The offsets and sizes of the fields declared in fields.def, the addresses
 * of the symbols declared there, the banner that names the build, and flags
 * derived from the layout (scheduler family, group scheduling, ...).  Built
 * once from the kernel's DWARF (a vmlinux or the simulator's binary) plus an
 * optional System.map, saved as a small versioned text file, loaded at
 * attach time.  Lookups on the hot path are array indexing by enum id.
 * This module reads files only; guest memory and KASLR are the caller's.
 */
#ifndef XDS_PROFILE_H
#define XDS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

enum profile_struct_id {
#define PROFILE_STRUCT(id, name, req) id,
#include "profile/fields.def"
	T__COUNT
};

enum profile_field_id {
#define PROFILE_FIELD(id, sid, req, ...) id,
#include "profile/fields.def"
	F__COUNT
};

enum profile_sym_id {
#define PROFILE_SYM(id, name, req) id,
#include "profile/fields.def"
	S__COUNT
};

enum profile_family {
	PROFILE_FAMILY_UNKNOWN,
	PROFILE_FAMILY_CFS,
	PROFILE_FAMILY_EEVDF,
};

struct profile_type {
	uint32_t size;          /* sizeof the struct, bytes */
	bool present;
};

struct profile_field {
	uint32_t offset;        /* from the start of the struct, nested or not */
	uint32_t size;          /* bytes: the width to read an integer at */
	uint8_t alt;            /* which alternative of the declared paths */
	bool present;
};

struct profile_sym {
	uint64_t addr;          /* link-time address, before any KASLR slide */
	bool present;
};

struct profile {
	char source[128];       /* file name the profile was built from */
	char banner[512];       /* linux_banner, trimmed at NUL or newline */
	struct profile_type structs[T__COUNT];
	struct profile_field fields[F__COUNT];
	struct profile_sym syms[S__COUNT];
	/* derived from the above by profile_derive() */
	enum profile_family family;
	bool group_sched;       /* sched_entity.my_q */
	bool delayed_dequeue;   /* sched_entity.sched_delayed */
	bool psi;               /* task_struct.psi_flags and psi_system */
};

static inline const struct profile_field *
profile_field(const struct profile *p, enum profile_field_id id)
{
	return &p->fields[id];
}

static inline const struct profile_sym *
profile_sym(const struct profile *p, enum profile_sym_id id)
{
	return &p->syms[id];
}

static inline const struct profile_type *
profile_struct(const struct profile *p, enum profile_struct_id id)
{
	return &p->structs[id];
}

/* Build from an ELF with DWARF; symbols from sysmap when not NULL, else
 * from the ELF's symbol table.  A missing required type, field or symbol
 * is an error that names it. */
int profile_build(const char *elf_path, const char *sysmap_path,
		  struct profile *p, struct xds_err *err);

/* Build from a kernel image without DWARF: a bzImage (xz, gzip or zstd
 * payload) or a vmlinux ELF; types from its BTF, symbols from its kallsyms
 * tables (link-time addresses), the banner from its bytes. */
int profile_build_image(const char *image, struct profile *p,
			struct xds_err *err);

/* What a running guest's vmcoreinfo says, found by scanning its physical
 * memory (profile_guest_identify; all zero/false without vmcoreinfo). */
struct profile_guest_info {
	bool have_vmcoreinfo, have_slide, have_phys_base;
	char osrelease[64];
	char build_id[65];      /* hex, the profile cache's key */
	uint64_t slide;         /* KERNELOFFSET: the KASLR slide */
	uint64_t phys_base;
};

struct vmem_phys;
int profile_guest_identify(const struct vmem_phys *phys,
			   struct profile_guest_info *info,
			   struct xds_err *err);
/* Build from the guest's own memory: BTF blob and kallsyms tables found by
 * scanning physical memory.  Symbols are stored link-time (the runtime
 * addresses kallsyms gives, less the slide) so the profile can be cached
 * and attach finds the slide by the banner as for any other source. */
int profile_build_guest(const struct vmem_phys *phys,
			const struct profile_guest_info *info,
			struct profile *p, struct xds_err *err);

/* Volatility 3's ISF JSON (schema 6.x): write this profile's structs,
 * fields and symbols (the banner as linux_banner's constant_data); build
 * a profile from any ISF 6.x file (e.g. dwarf2json's). */
int profile_export_isf(const struct profile *p, const char *path,
		       struct xds_err *err);
int profile_build_isf(const char *path, struct profile *p, struct xds_err *err);

int profile_save(const struct profile *p, const char *path,
		 struct xds_err *err);
int profile_load(const char *path, struct profile *p, struct xds_err *err);
/* The text format profile_save writes (profile_print(p, f) == the file). */
int profile_print(const struct profile *p, FILE *f);

/* Names from fields.def. */
const char *profile_struct_name(enum profile_struct_id id);
const char *profile_sym_name(enum profile_sym_id id);
enum profile_struct_id profile_field_struct(enum profile_field_id id);
/* The matched path of a present field ("__state"), else the first declared. */
const char *profile_field_path(const struct profile *p,
			       enum profile_field_id id);
const char *profile_family_name(enum profile_family f);
/* Name of the task state field ("__state" or "state") and rq lock field. */
const char *profile_state_field(const struct profile *p);
const char *profile_lock_field(const struct profile *p);

/* Recompute the derived flags from fields and symbols. */
void profile_derive(struct profile *p);
/* Every required struct, field and symbol present; errors name the first
 * missing one, prefixed with p->source. */
int profile_check(const struct profile *p, struct xds_err *err);

/* Offset and size of TYPE.PATH (dotted, through anonymous members) in an
 * ELF's DWARF: the lookup profile_build uses, for one member. */
int profile_dwarf_member(const char *elf_path, const char *type,
			 const char *path, uint32_t *offset, uint32_t *size,
			 struct xds_err *err);

#endif
