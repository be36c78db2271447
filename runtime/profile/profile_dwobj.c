/*
 * profile_dwobj.c - libdwarf's view of a linked ELF file, through mmap.
 *
 * libdwarf's own ELF reader copies every debug section, and every .rela
 * section beside it, into memory before the first DIE is read: 450 MB for
 * a Debian 6.1 vmlinux.  This object-access table hands libdwarf pointers
 * into a read-only mapping instead, so only the pages a scan touches are
 * read.  Relocatable objects (.o) need their relocations applied and
 * compressed sections need inflating: those are left to libdwarf's reader
 * (profile_dwobj_open returns 1 and the caller uses dwarf_init_path).
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/profile_dwobj.h"

static const Elf64_Shdr *shdr(const struct profile_dwobj *o, unsigned i)
{
	const Elf64_Ehdr *eh = o->map;
	return (const Elf64_Shdr *)((const char *)o->map + eh->e_shoff) + i;
}

static int get_section_info(void *obj, Dwarf_Half i,
			    Dwarf_Obj_Access_Section *out, int *error)
{
	struct profile_dwobj *o = obj;
	(void)error;
	if (i >= o->nsec)
		return DW_DLV_NO_ENTRY;
	const Elf64_Shdr *s = shdr(o, i);
	/* libdwarf sees the .debug_ sections only: relocations of a linked
	 * file are applied already, and given .note.gnu.build-id this
	 * libdwarf reads it as if the object were its own ELF reader's. */
	const char *name = o->shstr + s->sh_name;
	bool debug = strncmp(name, ".debug_", 7) == 0;
	out->addr = s->sh_addr;
	out->type = debug ? s->sh_type : SHT_NULL;
	out->size = debug ? s->sh_size : 0;
	out->name = debug ? name : "";
	out->link = s->sh_link;
	out->info = s->sh_info;
	out->entrysize = s->sh_entsize;
	return DW_DLV_OK;
}

static Dwarf_Endianness get_byte_order(void *obj)
{
	(void)obj;
	return DW_OBJECT_LSB;
}

static Dwarf_Small get_length_size(void *obj)
{
	(void)obj;
	return 4;
}

static Dwarf_Small get_pointer_size(void *obj)
{
	(void)obj;
	return 8;
}

static Dwarf_Unsigned get_section_count(void *obj)
{
	return ((struct profile_dwobj *)obj)->nsec;
}

static int load_section(void *obj, Dwarf_Half i, Dwarf_Small **data,
			int *error)
{
	struct profile_dwobj *o = obj;
	(void)error;
	if (i >= o->nsec || shdr(o, i)->sh_type == SHT_NOBITS)
		return DW_DLV_NO_ENTRY;
	*data = (Dwarf_Small *)o->map + shdr(o, i)->sh_offset;
	return DW_DLV_OK;
}

/* Once libdwarf's own ELF reader has run in this process (dwarf_init_path,
 * used here for .o files), this hook of libdwarf 20210528 points at that
 * reader's section-flags function, and dwarf_object_init_b calls it with
 * our object as if it were the reader's own: it must be unset meanwhile. */
extern int (*_dwarf_get_elf_flags_func_ptr)(void *, Dwarf_Half,
					    Dwarf_Unsigned *, Dwarf_Unsigned *,
					    int *);

static int object_init(struct profile_dwobj *o, Dwarf_Debug *dbg,
		       Dwarf_Error *e)
{
	int (*saved)(void *, Dwarf_Half, Dwarf_Unsigned *, Dwarf_Unsigned *,
		     int *) = _dwarf_get_elf_flags_func_ptr;
	_dwarf_get_elf_flags_func_ptr = NULL;
	int rc = dwarf_object_init_b(&o->iface, NULL, NULL, DW_GROUPNUMBER_ANY,
				     dbg, e);
	_dwarf_get_elf_flags_func_ptr = saved;
	return rc;
}

static const Dwarf_Obj_Access_Methods methods = {
	get_section_info, get_byte_order, get_length_size, get_pointer_size,
	get_section_count, load_section, NULL,
};

/* Every section inside the file, names terminated, nothing compressed. */
static int check_sections(struct profile_dwobj *o)
{
	const Elf64_Ehdr *eh = o->map;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
	    eh->e_shoff > o->size ||
	    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > o->size - eh->e_shoff ||
	    eh->e_shstrndx >= eh->e_shnum)
		return -1;
	o->nsec = eh->e_shnum;
	const Elf64_Shdr *str = shdr(o, eh->e_shstrndx);
	if (str->sh_offset > o->size || str->sh_size > o->size - str->sh_offset ||
	    str->sh_size == 0)
		return -1;
	o->shstr = (const char *)o->map + str->sh_offset;
	if (o->shstr[str->sh_size - 1] != 0)
		return -1;
	for (unsigned i = 0; i < o->nsec; i++) {
		const Elf64_Shdr *s = shdr(o, i);
		if (s->sh_name >= str->sh_size || (s->sh_flags & SHF_COMPRESSED))
			return -1;
		if (s->sh_type != SHT_NOBITS && (s->sh_offset > o->size ||
		    s->sh_size > o->size - s->sh_offset))
			return -1;
	}
	return 0;
}

static bool plain_linked_elf(const struct profile_dwobj *o)
{
	const Elf64_Ehdr *eh = o->map;
	return o->size >= sizeof *eh &&
	       memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	       eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	       eh->e_ident[EI_DATA] == ELFDATA2LSB &&
	       (eh->e_type == ET_EXEC || eh->e_type == ET_DYN);
}

int profile_dwobj_open(struct profile_dwobj *o, const char *path,
		       Dwarf_Debug *dbg, struct xds_err *err)
{
	struct stat st;
	memset(o, 0, sizeof *o);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return xds_fail(err, "%s: %s", path, strerror(e));
	}
	o->size = (size_t)st.st_size;
	o->map = o->size ? mmap(NULL, o->size, PROT_READ, MAP_PRIVATE, fd, 0) :
		 MAP_FAILED;
	close(fd);
	if (o->map == MAP_FAILED) {
		o->map = NULL;
		return 1;
	}
	if (!plain_linked_elf(o) || check_sections(o) < 0) {
		profile_dwobj_close(o);
		return 1;
	}
	o->iface.object = o;
	o->iface.methods = &methods;
	Dwarf_Error e = NULL;
	int rc = object_init(o, dbg, &e);
	if (rc == DW_DLV_OK)
		return 0;
	if (rc == DW_DLV_ERROR) {
		xds_fail(err, "%s: cannot read DWARF: %s", path,
			 e ? dwarf_errmsg(e) : "unknown error");
		dwarf_dealloc(NULL, e, DW_DLA_ERROR);
	} else {
		xds_fail(err, "%s: no DWARF debug information", path);
	}
	profile_dwobj_close(o);
	return -1;
}

void profile_dwobj_close(struct profile_dwobj *o)
{
	if (o->map)
		munmap(o->map, o->size);
	o->map = NULL;
}
