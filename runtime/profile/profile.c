/*
 * profile.c - the profile as an object: the tables fields.def declares,
 * names and lookups by name, the flags derived from the layout and the
 * check that every required item is present.  It calls no other profile
 * file; building a profile is profile_build.c's, reading files the
 * readers' (profile_syms.c, profile_dwarf.c), the text format
 * profile_io.c's.
 */
#include <string.h>

#include "profile/profile_int.h"

#define REQ true
#define OPT false

const struct profile_struct_decl profile_struct_decls[T__COUNT] = {
#define PROFILE_STRUCT(id, name, req) [id] = { name, req },
#include "profile/fields.def"
};

const struct profile_field_decl profile_field_decls[F__COUNT] = {
#define PROFILE_FIELD(id, sid, req, ...) [id] = { sid, req, { __VA_ARGS__ } },
#include "profile/fields.def"
};

const struct profile_sym_decl profile_sym_decls[S__COUNT] = {
#define PROFILE_SYM(id, name, req) [id] = { name, req },
#include "profile/fields.def"
};

const char *profile_struct_name(enum profile_struct_id id)
{
	return profile_struct_decls[id].name;
}

const char *profile_sym_name(enum profile_sym_id id)
{
	return profile_sym_decls[id].name;
}

int profile_struct_by_name(const char *name)
{
	for (int t = 0; t < T__COUNT; t++)
		if (strcmp(name, profile_struct_decls[t].name) == 0)
			return t;
	return -1;
}

int profile_sym_by_name(const char *name)
{
	for (int s = 0; s < S__COUNT; s++)
		if (strcmp(name, profile_sym_decls[s].name) == 0)
			return s;
	return -1;
}

enum profile_struct_id profile_field_struct(enum profile_field_id id)
{
	return profile_field_decls[id].sid;
}

const char *profile_field_path(const struct profile *p,
			       enum profile_field_id id)
{
	unsigned alt = p->fields[id].present ? p->fields[id].alt : 0;
	const char *path = NULL;
	if (alt < PROFILE_MAX_ALTS)
		path = profile_field_decls[id].paths[alt];
	return path ? path : "?";
}

const char *profile_family_name(enum profile_family f)
{
	switch (f) {
	case PROFILE_FAMILY_CFS:
		return "cfs";
	case PROFILE_FAMILY_EEVDF:
		return "eevdf";
	default:
		return "unknown";
	}
}

const char *profile_state_field(const struct profile *p)
{
	return profile_field_path(p, F_TASK_STATE);
}

const char *profile_lock_field(const struct profile *p)
{
	return profile_field_path(p, F_RQ_LOCK);
}

void profile_derive(struct profile *p)
{
	const struct profile_field *f = p->fields;
	p->group_sched = f[F_SE_MY_Q].present;
	p->delayed_dequeue = f[F_SE_SCHED_DELAYED].present;
	p->psi = f[F_TASK_PSI_FLAGS].present && p->syms[S_PSI_SYSTEM].present;
	if (f[F_SE_DEADLINE].present)
		p->family = PROFILE_FAMILY_EEVDF;
	else if (f[F_CFS_RQ_MIN_VRUNTIME].present &&
		 f[F_CFS_RQ_TASKS_TIMELINE].present)
		p->family = PROFILE_FAMILY_CFS;
	else
		p->family = PROFILE_FAMILY_UNKNOWN;
}

int profile_check(const struct profile *p, struct xds_err *err)
{
	for (int t = 0; t < T__COUNT; t++)
		if (profile_struct_decls[t].required && !p->structs[t].present)
			return xds_fail(err, "%s: no struct %s", p->source,
					profile_struct_decls[t].name);
	for (int i = 0; i < F__COUNT; i++) {
		const struct profile_field_decl *d = &profile_field_decls[i];
		if (d->required && p->structs[d->sid].present &&
		    !p->fields[i].present)
			return xds_fail(err, "%s: struct %s has no field '%s'%s%s",
					p->source,
					profile_struct_decls[d->sid].name,
					d->paths[0], d->paths[1] ? " or " : "",
					d->paths[1] ? d->paths[1] : "");
	}
	for (int s = 0; s < S__COUNT; s++)
		if (profile_sym_decls[s].required && !p->syms[s].present)
			return xds_fail(err, "%s: no symbol '%s'", p->source,
					profile_sym_decls[s].name);
	/* a field lies inside its struct: a layout that says otherwise is
	 * not this kernel's, and reads through it would read the neighbour */
	for (int i = 0; i < F__COUNT; i++) {
		const struct profile_field *f = &p->fields[i];
		const struct profile_field_decl *d = &profile_field_decls[i];
		const struct profile_type *t = &p->structs[d->sid];
		if (f->present && t->present && (uint64_t)f->offset + f->size > t->size)
			return xds_fail(err, "%s: field %s.%s at %u (%u bytes) lies past the end "
					"of the struct (%u bytes)", p->source,
					profile_struct_decls[d->sid].name, d->paths[f->alt],
					f->offset, f->size, t->size);
	}
	return 0;
}
