/*
 * profile_syms.c - symbol addresses and the banner, from an ELF file's
 * symbol table and from System.map.
 *
 * The banner is the bytes of linux_banner in the file: at the file's own
 * symbol (its st_shndx in a relocatable object, else the section holding
 * its address), or at System.map's address when the file has no symbol.
 * The file is read through profile_elf.c (libelf); DWARF is left to
 * profile_dwarf.c, the declared names to profile.c.
 */
#include <errno.h>
#include <string.h>

#include "profile/profile_elf.h"
#include "profile/profile_int.h"

/* The first defined symbol of each wanted name; a global one wins over a
 * local one of the same name. */
static void scan_symtab(struct profile_elf *e, const GElf_Shdr *sh,
			Elf_Data *d, GElf_Sym found[S__COUNT])
{
	size_t n = d->d_size / gelf_fsize(e->elf, ELF_T_SYM, 1, EV_CURRENT);
	for (size_t i = 1; i < n && i <= INT32_MAX; i++) {
		GElf_Sym y;
		const char *name;
		if (!gelf_getsym(d, (int)i, &y) || y.st_shndx == SHN_UNDEF ||
		    y.st_name == 0 ||
		    !(name = elf_strptr(e->elf, sh->sh_link, y.st_name)))
			continue;
		int id = profile_sym_by_name(name);
		if (id < 0)
			continue;
		bool global = GELF_ST_BIND(y.st_info) != STB_LOCAL;
		if (!found[id].st_name ||
		    (global && GELF_ST_BIND(found[id].st_info) == STB_LOCAL))
			found[id] = y;
	}
}

static int read_symtab(struct profile_elf *e, GElf_Sym found[S__COUNT],
		       struct xds_err *err)
{
	for (size_t i = 1; i < e->nsec; i++) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(elf_getscn(e->elf, i), &sh) ||
		    sh.sh_type != SHT_SYMTAB)
			continue;
		if (profile_elf_section(e, i, &sh, &d, "symbol table", err) < 0)
			return -1;
		scan_symtab(e, &sh, d, found);
		return 0;
	}
	return 0;
}

/* The section holding the banner, and the banner's offset in it: through
 * st_shndx in a relocatable object, else the allocated section holding
 * addr.  0 when none does. */
static size_t banner_section(struct profile_elf *e, const GElf_Sym *y,
			     uint64_t addr, uint64_t *rel)
{
	for (size_t i = 1; i < e->nsec; i++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(elf_getscn(e->elf, i), &sh) ||
		    sh.sh_type == SHT_NOBITS)
			continue;
		if (profile_elf_relocatable(e)) {
			if (!y || y->st_shndx != i)
				continue;
			*rel = y->st_value;
		} else {
			if (!(sh.sh_flags & SHF_ALLOC) || addr < sh.sh_addr)
				continue;
			*rel = addr - sh.sh_addr;
		}
		if (*rel < sh.sh_size)
			return i;
	}
	return 0;
}

static int read_banner(struct profile_elf *e, const GElf_Sym *y,
		       uint64_t addr, struct profile *p, struct xds_err *err)
{
	uint64_t rel = 0;
	size_t i = banner_section(e, y, addr, &rel);
	GElf_Shdr sh;
	Elf_Data *d;
	if (i == 0)
		return xds_fail(err, "%s: linux_banner at 0x%llx is in no "
				"section with contents", e->path,
				(unsigned long long)addr);
	if (profile_elf_section(e, i, &sh, &d, "linux_banner", err) < 0)
		return -1;
	if (rel >= d->d_size)   /* a compressed section: not the bytes */
		return xds_fail(err, "%s: linux_banner at 0x%llx is past its "
				"section's data", e->path,
				(unsigned long long)addr);
	const char *s = (const char *)d->d_buf + rel;
	size_t len = strnlen(s, d->d_size - rel);
	if (len > sizeof p->banner - 1)
		len = sizeof p->banner - 1;
	memcpy(p->banner, s, len);
	p->banner[len] = 0;
	p->banner[strcspn(p->banner, "\n")] = 0;
	return 0;
}

int profile_syms_elf(struct profile_elf *e, bool fill_syms,
		     struct profile *p, struct xds_err *err)
{
	GElf_Sym found[S__COUNT];
	memset(found, 0, sizeof found);
	if (read_symtab(e, found, err) < 0)
		return -1;
	if (fill_syms)
		for (int s = 0; s < S__COUNT; s++)
			if (found[s].st_name) {
				p->syms[s].addr = found[s].st_value;
				p->syms[s].present = true;
			}
	/* The file's own symbol locates the bytes; a System.map address
	 * (the simulator's is a guest address) only when there is none. */
	const GElf_Sym *y = found[S_LINUX_BANNER].st_name ?
			    &found[S_LINUX_BANNER] : NULL;
	if (!y && !p->syms[S_LINUX_BANNER].present)
		return 0;
	/* A vmlinux and its System.map agree on every symbol both have: a map
	 * of another build would place the kernel's objects elsewhere.  (A
	 * host executable, such as the simulator, has host addresses.) */
	for (int s = 0; !fill_syms && y && y->st_value >= 0xffff800000000000ULL && s < S__COUNT; s++)
		if (found[s].st_name && p->syms[s].present && found[s].st_value != p->syms[s].addr)
			return xds_fail(err, "%s: the System.map is not this vmlinux's: %s is at %#llx "
					"in the map but %#llx in the vmlinux (another build?)", p->source,
					profile_sym_decls[s].name, (unsigned long long)p->syms[s].addr,
					(unsigned long long)found[s].st_value);
	return read_banner(e, y, y ? y->st_value :
			   p->syms[S_LINUX_BANNER].addr, p, err);
}

int profile_syms_sysmap(const char *path, struct profile *p,
			struct xds_err *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return xds_fail(err, "%s: %s", path, strerror(errno));
	char line[512];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, f)) {
		unsigned long long addr;
		char type, name[256];
		lineno++;
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3) {
			rc = xds_fail(err, "%s:%d: not an 'address type name' "
				      "line", path, lineno);
			break;
		}
		int id = profile_sym_by_name(name);
		if (id >= 0 && !p->syms[id].present) {
			p->syms[id].addr = addr;
			p->syms[id].present = true;
		}
	}
	fclose(f);
	return rc;
}
