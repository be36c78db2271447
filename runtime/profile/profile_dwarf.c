/*
 * profile_dwarf.c - struct layouts from DWARF, with libdwarf.
 *
 * A vmlinux has thousands of compile units, so the scan looks only at the
 * top-level DIEs of each unit (never into functions), skips declarations,
 * and stops at the first unit that defines every required struct: in a
 * kernel that is a kernel/sched unit, and taking every struct from one unit
 * keeps optional ones consistent.  If no unit has them all, each struct
 * comes from its first definition anywhere (.debug_info, then .debug_types).
 * Members are then found by offset (dwarf_offdie_b), searching through
 * anonymous struct/union members; every walk is bounded.
 *
 * libdwarf is used through its public API only, over the Elf that
 * profile_elf.c opened and checked (dwarf_elf_init_b); relocations and
 * compressed sections are libdwarf's own.  The declared tables are
 * profile.c's.
 */
#include <dwarf.h>
#include <libdwarf.h>
#include <string.h>

#include "profile/profile_elf.h"
#include "profile/profile_int.h"

#define MAX_TYPE_CHAIN 32       /* typedef/const/volatile links followed */
#define MAX_ANON_DEPTH 8        /* nested anonymous members searched */
#define MAX_PATH_DEPTH 4        /* dotted segments in a field path */

struct dw {
	Dwarf_Debug dbg;
	const char *path;
	struct xds_err *err;
};

struct die_ref {
	Dwarf_Off off;
	Dwarf_Bool is_info;
	bool have;
};

static int dw_fail(struct dw *d, Dwarf_Error e, const char *what)
{
	xds_fail(d->err, "%s: DWARF: %s: %s", d->path, what,
		 e ? dwarf_errmsg(e) : "malformed");
	if (e)
		dwarf_dealloc(d->dbg, e, DW_DLA_ERROR);
	return -1;
}

static void die_free(struct dw *d, Dwarf_Die die)
{
	if (die)
		dwarf_dealloc(d->dbg, die, DW_DLA_DIE);
}

static bool all_required(const struct die_ref r[T__COUNT])
{
	for (int t = 0; t < T__COUNT; t++)
		if (profile_struct_decls[t].required && !r[t].have)
			return false;
	return true;
}

/* Note a top-level DIE if it defines a wanted struct not yet seen. */
static int note_die(struct dw *d, Dwarf_Die die, Dwarf_Bool is_info,
		    struct die_ref cu[T__COUNT])
{
	Dwarf_Error e = NULL;
	Dwarf_Half tag;
	char *name;
	Dwarf_Bool decl;
	if (dwarf_tag(die, &tag, &e) != DW_DLV_OK)
		return dw_fail(d, e, "tag");
	if (tag != DW_TAG_structure_type)
		return 0;
	int rc = dwarf_diename(die, &name, &e);
	if (rc == DW_DLV_ERROR)
		return dw_fail(d, e, "name");
	int t = rc == DW_DLV_OK ? profile_struct_by_name(name) : -1;
	if (t < 0 || cu[t].have)
		return 0;
	if (dwarf_hasattr(die, DW_AT_declaration, &decl, &e) != DW_DLV_OK)
		return dw_fail(d, e, "declaration");
	if (decl)
		return 0;
	if (dwarf_dieoffset(die, &cu[t].off, &e) != DW_DLV_OK)
		return dw_fail(d, e, "offset");
	cu[t].is_info = is_info;
	cu[t].have = true;
	return 0;
}

static int scan_unit(struct dw *d, Dwarf_Bool is_info,
		     struct die_ref cu[T__COUNT])
{
	Dwarf_Error e = NULL;
	Dwarf_Die unit = NULL, die = NULL, next;
	if (dwarf_siblingof_b(d->dbg, NULL, is_info, &unit, &e) != DW_DLV_OK)
		return dw_fail(d, e, "unit DIE");
	int rc = dwarf_child(unit, &die, &e);
	die_free(d, unit);
	if (rc == DW_DLV_ERROR)
		return dw_fail(d, e, "unit children");
	while (rc == DW_DLV_OK) {
		if (note_die(d, die, is_info, cu) < 0) {
			die_free(d, die);
			return -1;
		}
		rc = dwarf_siblingof_b(d->dbg, die, is_info, &next, &e);
		die_free(d, die);
		die = next;
	}
	return rc == DW_DLV_ERROR ? dw_fail(d, e, "sibling") : 0;
}

/* Fills best[]; returns 1 when one unit held every required struct. */
static int scan_section(struct dw *d, Dwarf_Bool is_info,
			struct die_ref best[T__COUNT])
{
	Dwarf_Error e = NULL;
	Dwarf_Unsigned next_off = 0;
	Dwarf_Half unit_type = 0;
	int rc;
	while ((rc = dwarf_next_cu_header_d(d->dbg, is_info, NULL, NULL, NULL,
					    NULL, NULL, NULL, NULL, NULL,
					    &next_off, &unit_type, &e)) ==
	       DW_DLV_OK) {
		struct die_ref cu[T__COUNT];
		memset(cu, 0, sizeof cu);
		if (scan_unit(d, is_info, cu) < 0)
			return -1;
		if (all_required(cu)) {
			memcpy(best, cu, sizeof cu);
			return 1;
		}
		for (int t = 0; t < T__COUNT; t++)
			if (!best[t].have)
				best[t] = cu[t];
	}
	return rc == DW_DLV_ERROR ? dw_fail(d, e, "unit header") : 0;
}

static int offdie(struct dw *d, Dwarf_Off off, Dwarf_Bool is_info,
		  Dwarf_Die *die)
{
	Dwarf_Error e = NULL;
	if (dwarf_offdie_b(d->dbg, off, is_info, die, &e) != DW_DLV_OK)
		return dw_fail(d, e, "DIE by offset");
	return 0;
}

/* DW_AT_type of a DIE, as a global offset; 0 when it has none (void). */
static int type_of(struct dw *d, Dwarf_Die die, Dwarf_Off *off)
{
	Dwarf_Error e = NULL;
	int rc = dwarf_dietype_offset(die, off, &e);
	if (rc == DW_DLV_NO_ENTRY)
		*off = 0;
	else if (rc != DW_DLV_OK)
		return dw_fail(d, e, "DW_AT_type");
	return 0;
}

static bool is_qualifier(Dwarf_Half tag)
{
	return tag == DW_TAG_typedef || tag == DW_TAG_const_type ||
	       tag == DW_TAG_volatile_type || tag == DW_TAG_restrict_type ||
	       tag == DW_TAG_atomic_type;
}

/* Follow typedefs and qualifiers to the underlying type DIE. */
static int strip_type(struct dw *d, Dwarf_Off off, Dwarf_Bool is_info,
		      Dwarf_Die *out, Dwarf_Half *tag)
{
	Dwarf_Error e = NULL;
	for (int i = 0; i < MAX_TYPE_CHAIN; i++) {
		Dwarf_Die die;
		if (off == 0)
			return xds_fail(d->err, "%s: DWARF: member of type void",
					d->path);
		if (offdie(d, off, is_info, &die) < 0)
			return -1;
		if (dwarf_tag(die, tag, &e) != DW_DLV_OK) {
			die_free(d, die);
			return dw_fail(d, e, "type tag");
		}
		if (!is_qualifier(*tag)) {
			*out = die;
			return 0;
		}
		int rc = type_of(d, die, &off);
		die_free(d, die);
		if (rc < 0)
			return -1;
	}
	return xds_fail(d->err, "%s: DWARF: typedef chain longer than %d",
			d->path, MAX_TYPE_CHAIN);
}

/* A constant attribute; DWARF 5's implicit_const needs dwarf_formsdata in
 * this libdwarf. */
static int form_constant(Dwarf_Attribute a, Dwarf_Unsigned *val,
			 Dwarf_Error *e)
{
	Dwarf_Half form;
	Dwarf_Signed s;
	int rc = dwarf_whatform(a, &form, e);
	if (rc != DW_DLV_OK)
		return rc;
	if (form != DW_FORM_implicit_const && form != DW_FORM_sdata)
		return dwarf_formudata(a, val, e);
	rc = dwarf_formsdata(a, &s, e);
	if (rc == DW_DLV_OK && s < 0)
		return DW_DLV_NO_ENTRY;
	*val = (Dwarf_Unsigned)s;
	return rc;
}

static int attr_udata(struct dw *d, Dwarf_Die die, Dwarf_Half at,
		      Dwarf_Unsigned *val, bool *have)
{
	Dwarf_Error e = NULL;
	Dwarf_Attribute a;
	*have = false;
	int rc = dwarf_attr(die, at, &a, &e);
	if (rc == DW_DLV_NO_ENTRY)
		return 0;
	if (rc != DW_DLV_OK)
		return dw_fail(d, e, "attribute");
	rc = form_constant(a, val, &e);
	dwarf_dealloc(d->dbg, a, DW_DLA_ATTR);
	if (rc != DW_DLV_OK)
		return dw_fail(d, e, "constant attribute");
	*have = true;
	return 0;
}

static int array_size(struct dw *d, Dwarf_Die arr, Dwarf_Bool is_info,
		      Dwarf_Unsigned *size);

static int type_size(struct dw *d, Dwarf_Off off, Dwarf_Bool is_info,
		     Dwarf_Unsigned *size)
{
	Dwarf_Die die;
	Dwarf_Half tag, asz = 8;
	Dwarf_Error e = NULL;
	bool have;
	if (strip_type(d, off, is_info, &die, &tag) < 0)
		return -1;
	int rc = attr_udata(d, die, DW_AT_byte_size, size, &have);
	if (rc == 0 && !have && tag == DW_TAG_array_type)
		rc = array_size(d, die, is_info, size);
	else if (rc == 0 && !have && tag == DW_TAG_pointer_type) {
		if (dwarf_get_die_address_size(die, &asz, &e) != DW_DLV_OK)
			rc = dw_fail(d, e, "address size");
		*size = asz;
	} else if (rc == 0 && !have)
		rc = xds_fail(d->err, "%s: DWARF: type at 0x%llx has no size",
			      d->path, (unsigned long long)off);
	die_free(d, die);
	return rc;
}

/* Element size times every dimension's count; a flexible array is 0. */
static int array_size(struct dw *d, Dwarf_Die arr, Dwarf_Bool is_info,
		      Dwarf_Unsigned *size)
{
	Dwarf_Error e = NULL;
	Dwarf_Off elem;
	Dwarf_Die sub = NULL, next;
	if (type_of(d, arr, &elem) < 0 || type_size(d, elem, is_info, size) < 0)
		return -1;
	int rc = dwarf_child(arr, &sub, &e);
	for (int i = 0; rc == DW_DLV_OK && i < 16; i++) {
		Dwarf_Unsigned n = 0, ub;
		bool have_n, have_ub;
		if (attr_udata(d, sub, DW_AT_count, &n, &have_n) < 0 ||
		    attr_udata(d, sub, DW_AT_upper_bound, &ub, &have_ub) < 0) {
			die_free(d, sub);
			return -1;
		}
		if (!have_n)
			n = have_ub ? ub + 1 : 0;
		*size *= n;
		rc = dwarf_siblingof_b(d->dbg, sub, is_info, &next, &e);
		die_free(d, sub);
		sub = next;
	}
	if (rc == DW_DLV_OK)
		die_free(d, sub);
	return rc == DW_DLV_ERROR ? dw_fail(d, e, "array bounds") : 0;
}

/* DW_AT_data_member_location: a constant or DW_OP_plus_uconst/constu. */
static int expr_offset(struct dw *d, const unsigned char *p, Dwarf_Unsigned n,
		       Dwarf_Unsigned *off)
{
	if (n < 2 || (p[0] != DW_OP_plus_uconst && p[0] != DW_OP_constu))
		return xds_fail(d->err, "%s: DWARF: member location is not a "
				"constant offset", d->path);
	Dwarf_Unsigned v = 0;
	unsigned shift = 0;
	for (Dwarf_Unsigned i = 1; i < n && shift < 64; i++, shift += 7) {
		v |= (Dwarf_Unsigned)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80)) {
			*off = v;
			return 0;
		}
	}
	return xds_fail(d->err, "%s: DWARF: bad member location", d->path);
}

static int member_location(struct dw *d, Dwarf_Die m, Dwarf_Unsigned *off)
{
	Dwarf_Error e = NULL;
	Dwarf_Attribute a;
	Dwarf_Half form;
	bool have;
	int rc = dwarf_attr(m, DW_AT_data_member_location, &a, &e);
	if (rc == DW_DLV_NO_ENTRY) {    /* union member or bitfield */
		if (attr_udata(d, m, DW_AT_data_bit_offset, off, &have) < 0)
			return -1;
		*off = have ? *off / 8 : 0;
		return 0;
	}
	if (rc != DW_DLV_OK)
		return dw_fail(d, e, "member location");
	rc = dwarf_whatform(a, &form, &e);
	if (rc == DW_DLV_OK && form == DW_FORM_exprloc) {
		Dwarf_Unsigned n;
		Dwarf_Ptr p;
		rc = dwarf_formexprloc(a, &n, &p, &e);
		if (rc == DW_DLV_OK)
			rc = expr_offset(d, p, n, off) < 0 ? -2 : DW_DLV_OK;
	} else if (rc == DW_DLV_OK && (form == DW_FORM_block1 ||
		   form == DW_FORM_block2 || form == DW_FORM_block4 ||
		   form == DW_FORM_block)) {
		Dwarf_Block *b;
		rc = dwarf_formblock(a, &b, &e);
		if (rc == DW_DLV_OK) {
			rc = expr_offset(d, b->bl_data, b->bl_len, off) < 0 ?
			     -2 : DW_DLV_OK;
			dwarf_dealloc(d->dbg, b, DW_DLA_BLOCK);
		}
	} else if (rc == DW_DLV_OK)
		rc = form_constant(a, off, &e);
	dwarf_dealloc(d->dbg, a, DW_DLA_ATTR);
	if (rc == -2)
		return -1;
	return rc == DW_DLV_OK ? 0 : dw_fail(d, e, "member location value");
}

struct member {
	Dwarf_Unsigned off;     /* from the start of the outer struct */
	Dwarf_Off type;
};

static int find_member(struct dw *d, Dwarf_Die agg, Dwarf_Bool is_info,
		       const char *name, Dwarf_Unsigned base, int depth,
		       struct member *out);

/* An anonymous member: search its struct/union type too. Returns 1 if found. */
static int search_anon(struct dw *d, Dwarf_Die m, Dwarf_Bool is_info,
		       const char *name, Dwarf_Unsigned base, int depth,
		       struct member *out)
{
	Dwarf_Off t;
	Dwarf_Die agg;
	Dwarf_Half tag;
	if (depth >= MAX_ANON_DEPTH || type_of(d, m, &t) < 0)
		return depth >= MAX_ANON_DEPTH ? 0 : -1;
	if (t == 0)
		return 0;
	if (strip_type(d, t, is_info, &agg, &tag) < 0)
		return -1;
	int rc = 0;
	if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type)
		rc = find_member(d, agg, is_info, name, base, depth + 1, out);
	die_free(d, agg);
	return rc;
}

/* Returns 1 and fills out when agg has the named member, 0 when not. */
static int check_member(struct dw *d, Dwarf_Die m, Dwarf_Bool is_info,
			const char *name, Dwarf_Unsigned base, int depth,
			struct member *out)
{
	Dwarf_Error e = NULL;
	Dwarf_Half tag;
	char *mname;
	Dwarf_Unsigned loc;
	if (dwarf_tag(m, &tag, &e) != DW_DLV_OK)
		return dw_fail(d, e, "member tag");
	if (tag != DW_TAG_member)
		return 0;
	int rc = dwarf_diename(m, &mname, &e);
	if (rc == DW_DLV_ERROR)
		return dw_fail(d, e, "member name");
	if (rc == DW_DLV_OK && strcmp(mname, name) != 0)
		return 0;
	if (member_location(d, m, &loc) < 0)
		return -1;
	if (rc == DW_DLV_NO_ENTRY)
		return search_anon(d, m, is_info, name, base + loc, depth, out);
	out->off = base + loc;
	return type_of(d, m, &out->type) < 0 ? -1 : 1;
}

static int find_member(struct dw *d, Dwarf_Die agg, Dwarf_Bool is_info,
		       const char *name, Dwarf_Unsigned base, int depth,
		       struct member *out)
{
	Dwarf_Error e = NULL;
	Dwarf_Die m = NULL, next;
	int found = 0;
	int rc = dwarf_child(agg, &m, &e);
	while (rc == DW_DLV_OK && found == 0) {
		found = check_member(d, m, is_info, name, base, depth, out);
		rc = dwarf_siblingof_b(d->dbg, m, is_info, &next, &e);
		die_free(d, m);
		m = next;
	}
	if (rc == DW_DLV_OK)
		die_free(d, m);
	if (found != 0)
		return found;
	return rc == DW_DLV_ERROR ? dw_fail(d, e, "members") : 0;
}

/* Resolve a dotted path inside the struct at off.  1 found, 0 absent. */
static int resolve_path(struct dw *d, struct die_ref ref, const char *path,
			uint32_t *off, uint32_t *size)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	Dwarf_Die agg;
	Dwarf_Half tag;
	Dwarf_Unsigned total = 0, sz;
	struct member m = { 0, 0 };
	if (offdie(d, ref.off, ref.is_info, &agg) < 0)
		return -1;
	char *seg = strtok_r(buf, ".", &save);
	for (int depth = 0; seg; depth++) {
		int rc = depth < MAX_PATH_DEPTH ?
			 find_member(d, agg, ref.is_info, seg, 0, 0, &m) : 0;
		die_free(d, agg);
		if (rc <= 0)
			return rc;
		total += m.off;
		seg = strtok_r(NULL, ".", &save);
		if (!seg)
			break;
		if (strip_type(d, m.type, ref.is_info, &agg, &tag) < 0)
			return -1;
		if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type) {
			die_free(d, agg);
			return 0;
		}
	}
	if (type_size(d, m.type, ref.is_info, &sz) < 0)
		return -1;
	if (total > UINT32_MAX || sz > UINT32_MAX)
		return xds_fail(d->err, "%s: %s: offset or size too large",
				d->path, path);
	*off = (uint32_t)total;
	*size = (uint32_t)sz;
	return 1;
}

static int fill_field(struct dw *d, struct die_ref ref,
		      enum profile_field_id id, struct profile_field *f)
{
	const struct profile_field_decl *decl = &profile_field_decls[id];
	for (unsigned alt = 0; alt < PROFILE_MAX_ALTS && decl->paths[alt];
	     alt++) {
		int rc = resolve_path(d, ref, decl->paths[alt], &f->offset,
				      &f->size);
		if (rc < 0)
			return xds_err_wrap(d->err, "struct %s field %s",
					    profile_struct_decls[decl->sid].name,
					    decl->paths[alt]);
		if (rc == 1) {
			f->alt = (uint8_t)alt;
			f->present = true;
			return 0;
		}
	}
	return 0;
}

static int fill_struct(struct dw *d, struct die_ref ref,
		       enum profile_struct_id t, struct profile *p)
{
	Dwarf_Die die;
	Dwarf_Unsigned size;
	bool have;
	if (offdie(d, ref.off, ref.is_info, &die) < 0)
		return -1;
	int rc = attr_udata(d, die, DW_AT_byte_size, &size, &have);
	die_free(d, die);
	if (rc < 0)
		return -1;
	if (!have || size > UINT32_MAX)
		return xds_fail(d->err, "%s: struct %s has no usable size",
				d->path, profile_struct_decls[t].name);
	p->structs[t].size = (uint32_t)size;
	p->structs[t].present = true;
	for (int i = 0; i < F__COUNT; i++)
		if (profile_field_decls[i].sid == t &&
		    fill_field(d, ref, i, &p->fields[i]) < 0)
			return -1;
	return 0;
}

static int dw_open(struct dw *d, struct profile_elf *e)
{
	Dwarf_Error de = NULL;
	/* Relocations are applied in .o files only; a vmlinux linked with
	 * --emit-relocs carries them too, already applied.  libdwarf reads
	 * the setting as it loads each section: set it for every open. */
	dwarf_set_reloc_application(profile_elf_relocatable(e));
	int rc = dwarf_elf_init_b(e->elf, DW_DLC_READ, DW_GROUPNUMBER_ANY,
				  NULL, NULL, &d->dbg, &de);
	if (rc == DW_DLV_NO_ENTRY)
		return xds_fail(d->err, "%s: no DWARF debug information",
				e->path);
	if (rc != DW_DLV_OK) {
		xds_fail(d->err, "%s: cannot read DWARF: %s", e->path,
			 de ? dwarf_errmsg(de) : "unknown error");
		if (de)
			dwarf_dealloc(NULL, de, DW_DLA_ERROR);
		return -1;
	}
	return 0;
}

static void dw_close(struct dw *d)
{
	dwarf_finish(d->dbg, NULL);
}

static int find_structs(struct dw *d, struct die_ref best[T__COUNT])
{
	memset(best, 0, sizeof(struct die_ref) * T__COUNT);
	int rc = scan_section(d, true, best);
	if (rc == 0 && !all_required(best))
		rc = scan_section(d, false, best);
	return rc < 0 ? -1 : 0;
}

int profile_dwarf_fill(struct profile_elf *e, struct profile *p,
		       struct xds_err *err)
{
	struct dw d = { .path = p->source, .err = err };
	struct die_ref best[T__COUNT];
	if (dw_open(&d, e) < 0)
		return -1;
	int rc = find_structs(&d, best);
	for (int t = 0; rc == 0 && t < T__COUNT; t++)
		if (best[t].have)
			rc = fill_struct(&d, best[t], t, p);
	dw_close(&d);
	return rc;
}

/* One member of any named struct: a linear scan for the first definition. */
static int find_named(struct dw *d, const char *type, Dwarf_Bool is_info,
		      struct die_ref *ref)
{
	Dwarf_Error e = NULL;
	Dwarf_Unsigned next_off;
	Dwarf_Half unit_type;
	int rc;
	while ((rc = dwarf_next_cu_header_d(d->dbg, is_info, NULL, NULL, NULL,
					    NULL, NULL, NULL, NULL, NULL,
					    &next_off, &unit_type, &e)) ==
	       DW_DLV_OK) {
		Dwarf_Die unit, die = NULL, next;
		if (ref->have)
			continue;       /* drain: libdwarf restarts after the end */
		if (dwarf_siblingof_b(d->dbg, NULL, is_info, &unit, &e) !=
		    DW_DLV_OK)
			return dw_fail(d, e, "unit DIE");
		int r = dwarf_child(unit, &die, &e);
		die_free(d, unit);
		while (r == DW_DLV_OK && !ref->have) {
			Dwarf_Half tag;
			char *name;
			Dwarf_Bool decl = 1;
			if (dwarf_tag(die, &tag, &e) == DW_DLV_OK &&
			    (tag == DW_TAG_structure_type ||
			     tag == DW_TAG_union_type) &&
			    dwarf_diename(die, &name, &e) == DW_DLV_OK &&
			    strcmp(name, type) == 0 &&
			    dwarf_hasattr(die, DW_AT_declaration, &decl, &e) ==
			    DW_DLV_OK && !decl) {
				dwarf_dieoffset(die, &ref->off, &e);
				ref->is_info = is_info;
				ref->have = true;
			}
			r = dwarf_siblingof_b(d->dbg, die, is_info, &next, &e);
			die_free(d, die);
			die = next;
		}
		if (r == DW_DLV_OK)
			die_free(d, die);
	}
	return rc == DW_DLV_ERROR ? dw_fail(d, e, "unit header") : 0;
}

int profile_dwarf_member(const char *elf_path, const char *type,
			 const char *path, uint32_t *offset, uint32_t *size,
			 struct xds_err *err)
{
	const char *base = strrchr(elf_path, '/');
	struct dw d = { .path = base ? base + 1 : elf_path, .err = err };
	struct die_ref ref = { 0, 0, false };
	struct profile_elf e;
	if (profile_elf_open(&e, elf_path, err) < 0)
		return -1;
	if (dw_open(&d, &e) < 0) {
		profile_elf_close(&e);
		return -1;
	}
	int rc = find_named(&d, type, true, &ref);
	if (rc == 0 && !ref.have)
		rc = xds_fail(err, "%s: no struct %s", d.path, type);
	if (rc == 0) {
		rc = resolve_path(&d, ref, path, offset, size);
		if (rc == 0)
			rc = xds_fail(err, "%s: struct %s has no field '%s'",
				      d.path, type, path);
	}
	dw_close(&d);
	profile_elf_close(&e);
	return rc < 0 ? -1 : 0;
}
