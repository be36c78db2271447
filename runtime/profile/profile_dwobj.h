/*
 * profile_dwobj.h - libdwarf over an mmap of a linked ELF (profile_dwobj.c).
 * Internal to runtime/profile.
 */
#ifndef XDS_PROFILE_DWOBJ_H
#define XDS_PROFILE_DWOBJ_H

#include <libdwarf.h>
#include <stddef.h>

#include "util/err.h"

struct profile_dwobj {
	void *map;
	size_t size;
	unsigned nsec;
	const char *shstr;
	Dwarf_Obj_Access_Interface iface;
};

/* 0: *dbg is open over the mapping (close with dwarf_object_finish, then
 * profile_dwobj_close); 1: not a plain linked ELF, use dwarf_init_path;
 * -1: error in err. */
int profile_dwobj_open(struct profile_dwobj *o, const char *path,
		       Dwarf_Debug *dbg, struct xds_err *err);
void profile_dwobj_close(struct profile_dwobj *o);

#endif
