/*
 * profile_elf.c - symbols and the banner, from an ELF file and System.map.
 *
 * Reads the ELF header, the section headers and the symbol table with
 * pread, bounds-checking every offset against the file size; no libelf.
 * The banner is the bytes of linux_banner in the file: at the file's own
 * symbol (its st_shndx in a relocatable object, else the section holding
 * its address), or at System.map's address when the file has no symbol.  DWARF is left to
 * profile_dwarf.c.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/profile_int.h"

struct elf_file {
	int fd;
	const char *path;
	uint64_t size;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;         /* e_shnum entries */
};

static int elf_pread(struct elf_file *e, void *buf, uint64_t len,
		     uint64_t off, const char *what, struct xds_err *err)
{
	if (off > e->size || len > e->size - off)
		return xds_fail(err, "%s: %s at file offset 0x%llx+0x%llx is "
				"past the end (0x%llx)", e->path, what,
				(unsigned long long)off,
				(unsigned long long)len,
				(unsigned long long)e->size);
	if (pread(e->fd, buf, len, (off_t)off) != (ssize_t)len)
		return xds_fail(err, "%s: cannot read %s: %s", e->path, what,
				strerror(errno));
	return 0;
}

static int elf_open(struct elf_file *e, const char *path, struct xds_err *err)
{
	struct stat st;
	memset(e, 0, sizeof *e);
	e->path = path;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0 || fstat(e->fd, &st) < 0)
		return xds_fail(err, "%s: %s", path, strerror(errno));
	e->size = (uint64_t)st.st_size;
	if (elf_pread(e, &e->eh, sizeof e->eh, 0, "ELF header", err) < 0)
		return -1;
	const unsigned char *id = e->eh.e_ident;
	if (memcmp(id, ELFMAG, SELFMAG) != 0 || id[EI_CLASS] != ELFCLASS64 ||
	    id[EI_DATA] != ELFDATA2LSB)
		return xds_fail(err, "%s: not a 64-bit little-endian ELF file",
				path);
	if (e->eh.e_shentsize != sizeof(Elf64_Shdr) || e->eh.e_shnum == 0)
		return xds_fail(err, "%s: no usable section headers", path);
	uint64_t len = (uint64_t)e->eh.e_shnum * sizeof(Elf64_Shdr);
	e->sh = malloc(len);
	if (!e->sh)
		return xds_fail(err, "%s: out of memory", path);
	return elf_pread(e, e->sh, len, e->eh.e_shoff, "section headers", err);
}

static void elf_close(struct elf_file *e)
{
	free(e->sh);
	if (e->fd >= 0)
		close(e->fd);
}

static void *elf_section(struct elf_file *e, unsigned idx, const char *what,
			 struct xds_err *err)
{
	if (idx >= e->eh.e_shnum) {
		xds_fail(err, "%s: %s: section %u out of range", e->path,
			 what, idx);
		return NULL;
	}
	const Elf64_Shdr *s = &e->sh[idx];
	void *buf = malloc(s->sh_size ? s->sh_size : 1);
	if (!buf) {
		xds_fail(err, "%s: out of memory for %s", e->path, what);
		return NULL;
	}
	if (elf_pread(e, buf, s->sh_size, s->sh_offset, what, err) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int sym_id(const char *name)
{
	for (int s = 0; s < S__COUNT; s++)
		if (strcmp(name, profile_sym_decls[s].name) == 0)
			return s;
	return -1;
}

/* The first defined symbol of each wanted name; a global one wins over a
 * local one of the same name. */
static void scan_symtab(const Elf64_Sym *syms, size_t n, const char *str,
			size_t strsz, Elf64_Sym found[S__COUNT])
{
	for (size_t i = 1; i < n; i++) {
		const Elf64_Sym *y = &syms[i];
		if (y->st_shndx == SHN_UNDEF || y->st_name >= strsz ||
		    !memchr(str + y->st_name, 0, strsz - y->st_name))
			continue;
		int id = sym_id(str + y->st_name);
		if (id < 0)
			continue;
		bool global = ELF64_ST_BIND(y->st_info) != STB_LOCAL;
		if (!found[id].st_name ||
		    (global && ELF64_ST_BIND(found[id].st_info) == STB_LOCAL))
			found[id] = *y;
	}
}

static int read_symtab(struct elf_file *e, Elf64_Sym found[S__COUNT],
		       struct xds_err *err)
{
	unsigned i;
	for (i = 0; i < e->eh.e_shnum; i++)
		if (e->sh[i].sh_type == SHT_SYMTAB)
			break;
	if (i == e->eh.e_shnum)
		return 0;
	Elf64_Sym *syms = elf_section(e, i, "symbol table", err);
	if (!syms)
		return -1;
	char *str = elf_section(e, e->sh[i].sh_link, "symbol names", err);
	if (!str) {
		free(syms);
		return -1;
	}
	scan_symtab(syms, e->sh[i].sh_size / sizeof *syms, str,
		    e->sh[e->sh[i].sh_link].sh_size, found);
	free(str);
	free(syms);
	return 0;
}

/* File offset of the banner: through st_shndx in a relocatable object,
 * else through the allocated section that holds the address. */
static int banner_offset(struct elf_file *e, const Elf64_Sym *y,
			 uint64_t addr, uint64_t *off, uint64_t *max,
			 struct xds_err *err)
{
	for (unsigned i = 0; i < e->eh.e_shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];
		if (s->sh_type == SHT_NOBITS)
			continue;
		uint64_t rel;
		if (e->eh.e_type == ET_REL) {
			if (!y || y->st_shndx != i)
				continue;
			rel = y->st_value;
		} else {
			if (!(s->sh_flags & SHF_ALLOC) || addr < s->sh_addr)
				continue;
			rel = addr - s->sh_addr;
		}
		if (rel >= s->sh_size)
			continue;
		*off = s->sh_offset + rel;
		*max = s->sh_size - rel;
		return 0;
	}
	return xds_fail(err, "%s: linux_banner at 0x%llx is in no section "
			"with contents", e->path, (unsigned long long)addr);
}

static int read_banner(struct elf_file *e, const Elf64_Sym *y, uint64_t addr,
		       struct profile *p, struct xds_err *err)
{
	uint64_t off = 0, max = 0;
	if (banner_offset(e, y, addr, &off, &max, err) < 0)
		return -1;
	uint64_t len = sizeof p->banner - 1;
	if (max < len)
		len = max;
	if (e->size - off < len)
		len = e->size - off;
	char buf[sizeof p->banner] = "";
	if (elf_pread(e, buf, len, off, "linux_banner", err) < 0)
		return -1;
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	memcpy(p->banner, buf, sizeof buf);
	return 0;
}

int profile_elf_symbols(const char *elf_path, bool fill_syms,
			struct profile *p, bool *relocatable,
			struct xds_err *err)
{
	struct elf_file e;
	Elf64_Sym found[S__COUNT];
	memset(found, 0, sizeof found);
	int rc = elf_open(&e, elf_path, err);
	if (rc == 0)
		rc = read_symtab(&e, found, err);
	if (rc == 0 && fill_syms)
		for (int s = 0; s < S__COUNT; s++)
			if (found[s].st_name) {
				p->syms[s].addr = found[s].st_value;
				p->syms[s].present = true;
			}
	*relocatable = e.eh.e_type == ET_REL;
	/* The file's own symbol locates the bytes; a System.map address
	 * (the simulator's is a guest address) only when there is none. */
	const Elf64_Sym *y = found[S_LINUX_BANNER].st_name ?
			     &found[S_LINUX_BANNER] : NULL;
	if (rc == 0 && (y || p->syms[S_LINUX_BANNER].present))
		rc = read_banner(&e, y, y ? y->st_value :
				 p->syms[S_LINUX_BANNER].addr, p, err);
	elf_close(&e);
	return rc;
}

int profile_sysmap_read(const char *path, struct profile *p,
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
		int id = sym_id(name);
		if (id >= 0 && !p->syms[id].present) {
			p->syms[id].addr = addr;
			p->syms[id].present = true;
		}
	}
	fclose(f);
	return rc;
}
