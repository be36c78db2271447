/*
 * profile_guest.c - a profile from a running guest's own memory, with no
 * file at all: the kernel's BTF blob (__start_BTF..__stop_BTF), its
 * kallsyms tables and its vmcoreinfo note, all found by scanning guest
 * physical memory (the kernel image is physically contiguous, so no page
 * tables are needed before a profile exists).
 *
 * vmcoreinfo (CONFIG_CRASH_CORE) gives OSRELEASE, BUILD-ID (the cache key),
 * KERNELOFFSET (the KASLR slide) and phys_base.  kallsyms in a running
 * kernel decodes to runtime addresses (relative_base was relocated at
 * boot): this file subtracts the slide, so that the profile holds
 * link-time addresses like every other source and attach finds (and
 * checks) the slide by the banner as usual; without vmcoreinfo the slide
 * is _text's distance from its x86-64 link address.  The banner is read
 * at linux_banner's physical address.  Guest memory is hostile: sizes are
 * bounded (util/bounds.h), BTF goes through libbpf's checks, kallsyms
 * through profile_kallsyms.c's; profile_check and attach do the rest.
 * Reading frames is the caller's (struct vmem_phys).
 */
#include <stdlib.h>
#include <string.h>

#include "profile/profile_int.h"
#include "util/bounds.h"
#include "vmem/vmem.h"

#define CHUNK (4u << 20)               /* bytes scanned at a time */
#define OVERLAP 4096u                  /* a pattern may cross a chunk */
#define KS_BEFORE (24u << 20)          /* kallsyms tables before the tokens */
#define KS_AFTER (20u << 20)           /* offsets after them (6.4+) */
#define START_KERNEL_MAP 0xffffffff80000000ull
#define LINK_TEXT 0xffffffff81000000ull /* CONFIG_PHYSICAL_START 16 MiB */
/* Candidates decoded before giving up: the kernel has one BTF blob and one
 * token table; a guest that plants thousands would otherwise make each
 * cost a window copy (up to 44 MiB). */
#define MAX_CANDIDATES 64

/* Copy len bytes of guest physical memory at pa; frames that cannot be
 * mapped read as zeros.  The number of bytes inside guest RAM. */
static size_t phys_read(const struct vmem_phys *ph, uint64_t pa, void *buf,
			size_t len)
{
	uint64_t end = (ph->max_gfn + 1) << VMEM_PAGE_SHIFT;
	if (pa >= end)
		return 0;
	if (len > end - pa)
		len = (size_t)(end - pa);
	uint8_t *out = buf;
	for (size_t done = 0; done < len;) {
		uint64_t at = pa + done, in = at & (VMEM_PAGE_SIZE - 1);
		size_t n = VMEM_PAGE_SIZE - in < len - done ?
			   VMEM_PAGE_SIZE - in : len - done;
		const uint8_t *f = ph->map(ph->ctx, at >> VMEM_PAGE_SHIFT, 0);
		if (f)
			memcpy(out + done, f + in, n);
		else
			memset(out + done, 0, n);
		done += n;
	}
	return len;
}

/* Every occurrence of pat in guest RAM, in order, to fn until it returns
 * non-zero (that value is returned; 0 when none did). */
static int phys_scan(const struct vmem_phys *ph, const void *pat, size_t plen,
		     int (*fn)(void *, uint64_t), void *ctx, uint8_t *buf)
{
	for (uint64_t pa = 0;; pa += CHUNK) {
		size_t n = phys_read(ph, pa, buf, CHUNK + OVERLAP);
		if (n < plen)
			return 0;
		for (const uint8_t *p = buf; (p = memmem(p, n - (size_t)(p - buf), pat, plen)); p++) {
			if ((size_t)(p - buf) >= CHUNK)
				break;          /* the next chunk sees it */
			int rc = fn(ctx, pa + (uint64_t)(p - buf));
			if (rc)
				return rc;
		}
		if (n < CHUNK + OVERLAP)
			return 0;
	}
}

struct scan {
	const struct vmem_phys *ph;
	struct profile *p;
	struct profile_guest_info *info;
	struct xds_err *err;
	struct profile_kallsyms ks;
	int ks_rc;
	int tries;              /* candidates decoded so far */
};

/* KEY's value: KERNELOFFSET is hex (%lx), NUMBER(...) decimal (%ld). */
static uint64_t value(const char *s, const char *key, int base, bool *have)
{
	const char *at = strstr(s, key);
	if (!at)
		return 0;
	*have = true;
	return (uint64_t)strtoll(at + strlen(key), NULL, base);
}

/* vmcoreinfo: "OSRELEASE=" opens a page of KEY=VALUE lines. */
static int on_vmcoreinfo(void *ctx, uint64_t pa)
{
	struct scan *s = ctx;
	char text[VMEM_PAGE_SIZE + 1];
	size_t n = phys_read(s->ph, pa, text, VMEM_PAGE_SIZE);
	text[n] = 0;
	if (!strstr(text, "\nPAGESIZE=") || !strstr(text, "\nSYMBOL("))
		return 0;
	struct profile_guest_info *g = s->info;
	sscanf(text, "OSRELEASE=%63[^\n]", g->osrelease);
	const char *b = strstr(text, "\nBUILD-ID=");
	if (b)
		sscanf(b + 10, "%64[0-9a-f]", g->build_id);
	bool have = false;
	g->slide = value(text, "\nKERNELOFFSET=", 16, &have);
	g->have_slide = have;
	have = false;
	g->phys_base = value(text, "\nNUMBER(phys_base)=", 10, &have);
	g->have_phys_base = have;
	g->have_vmcoreinfo = true;
	return 1;
}

int profile_guest_identify(const struct vmem_phys *ph,
			   struct profile_guest_info *info,
			   struct xds_err *err)
{
	memset(info, 0, sizeof *info);
	uint8_t *buf = malloc(CHUNK + OVERLAP);
	if (!buf)
		return xds_fail(err, "out of memory");
	struct scan s = { .ph = ph, .info = info, .err = err };
	phys_scan(ph, "OSRELEASE=", 10, on_vmcoreinfo, &s, buf);
	free(buf);
	return 0;
}

/* A BTF header (magic 0xeB9F, version 1, 24-byte header, types then
 * strings) at pa: read the blob and fill the profile's types. */
static int on_btf(void *ctx, uint64_t pa)
{
	struct scan *s = ctx;
	uint32_t h[6];
	if (phys_read(s->ph, pa, h, sizeof h) != sizeof h ||
	    ((h[0] >> 16) & 0xff) != 1 || h[1] != 24 || h[2] != 0 ||
	    h[4] != h[3] || h[3] > XDS_MAX_BTF || h[5] > XDS_MAX_BTF ||
	    h[3] < 1024 || h[5] < 1024)
		return 0;
	if (++s->tries > MAX_CANDIDATES)
		return xds_fail(s->err, "%s: more than %d BTF headers in guest "
				"memory", s->p->source, MAX_CANDIDATES);
	size_t size = 24 + (size_t)h[4] + h[5];
	void *blob = malloc(size);
	if (!blob)
		return xds_fail(s->err, "out of memory");
	int rc = phys_read(s->ph, pa, blob, size) == size &&
		 profile_btf_blob(blob, size, s->p, s->err) == 0 &&
		 s->p->structs[T_TASK_STRUCT].present ? 1 : 0;
	free(blob);
	return rc;
}

/* A run of tokens "0".."9" at pa: decode the tables around it. */
static int on_tokens(void *ctx, uint64_t pa)
{
	struct scan *s = ctx;
	if (++s->tries > MAX_CANDIDATES)
		return xds_fail(s->err, "%s: more than %d kallsyms token tables "
				"in guest memory", s->p->source, MAX_CANDIDATES);
	/* page-aligned: the tables are 8-aligned, and so are the scan's steps */
	uint64_t from = pa > KS_BEFORE ? (pa - KS_BEFORE) & ~(uint64_t)(VMEM_PAGE_SIZE - 1) : 0;
	size_t want = (size_t)(pa - from) + KS_AFTER;
	uint8_t *w = malloc(want);
	if (!w)
		return xds_fail(s->err, "out of memory");
	size_t n = phys_read(s->ph, from, w, want);
	/* the window's kernel address, for 7.x's place-relative offsets: the
	 * image's VA is START_KERNEL_MAP + PA - phys_base (as __pa_symbol),
	 * modulo 2^64: phys_base is negative when the virtual slide exceeds
	 * the physical one (7.2 under KASLR) */
	uint64_t phys_base = s->info && s->info->have_phys_base ? s->info->phys_base : 0;
	uint64_t base = START_KERNEL_MAP + from - phys_base;
	s->ks_rc = profile_kallsyms_scan(w, n, base, &s->ks, s->p, s->err);
	free(w);
	return s->ks_rc == 1 ? 1 : 0;
}

/* Runtime kernel addresses to link-time ones; per-CPU offsets stay. */
static void unslide(struct profile *p, uint64_t slide)
{
	for (int i = 0; i < S__COUNT; i++)
		if (p->syms[i].present && p->syms[i].addr >= START_KERNEL_MAP)
			p->syms[i].addr -= slide;
}

/* Before unslide: linux_banner's address is the runtime one. */
static int read_banner(const struct vmem_phys *ph, struct profile *p,
		       const struct profile_guest_info *g, struct xds_err *err)
{
	uint64_t va = p->syms[S_LINUX_BANNER].addr;
	uint64_t pa = va - START_KERNEL_MAP + (g->have_phys_base ?
					       g->phys_base : 0);
	char b[sizeof p->banner];
	if (phys_read(ph, pa, b, sizeof b - 1) != sizeof b - 1)
		return xds_fail(err, "%s: linux_banner at 0x%llx is outside "
				"guest RAM", p->source, (unsigned long long)pa);
	b[sizeof b - 1] = 0;
	b[strcspn(b, "\n")] = 0;
	if (strncmp(b, "Linux version ", 14) != 0)
		return xds_fail(err, "%s: no banner at linux_banner (0x%llx)",
				p->source, (unsigned long long)va);
	if (g->osrelease[0] && strncmp(b + 14, g->osrelease,
				       strlen(g->osrelease)) != 0)
		return xds_fail(err, "%s: banner '%.60s' and vmcoreinfo's "
				"OSRELEASE %s disagree", p->source, b,
				g->osrelease);
	memcpy(p->banner, b, sizeof b);
	return 0;
}

int profile_build_guest(const struct vmem_phys *ph,
			const struct profile_guest_info *g,
			struct profile *p, struct xds_err *err)
{
	static const char digits[] = "0\0" "1\0" "2\0" "3\0" "4\0"
				     "5\0" "6\0" "7\0" "8\0" "9";
	static const uint8_t btf_magic[] = { 0x9f, 0xeb, 0x01, 0x00 };
	memset(p, 0, sizeof *p);
	snprintf(p->source, sizeof p->source, "guest memory %.64s "
		 "(BTF + kallsyms)", g->osrelease[0] ? g->osrelease : "");
	uint8_t *buf = malloc(CHUNK + OVERLAP);
	if (!buf)
		return xds_fail(err, "out of memory");
	struct scan s = { .ph = ph, .p = p, .info = (struct profile_guest_info *)g, .err = err };
	int rc = phys_scan(ph, btf_magic, sizeof btf_magic, on_btf, &s, buf);
	if (rc == 0)
		rc = xds_fail(err, "%s: no BTF found in guest memory (a kernel "
			      "without CONFIG_DEBUG_INFO_BTF needs a vmlinux)",
			      p->source);
	if (rc > 0) {
		s.tries = 0;
		rc = phys_scan(ph, digits, sizeof digits, on_tokens, &s, buf);
		if (rc == 0)    /* none held; err names the last that failed */
			rc = s.ks_rc < 0 ? -1 :
			     xds_fail(err, "%s: no kallsyms tables found in "
				      "guest memory", p->source);
	}
	free(buf);
	if (rc < 0)
		return -1;
	/* The slide: vmcoreinfo's KERNELOFFSET, else _text's distance. */
	uint64_t slide = g->have_slide ? g->slide :
			 s.ks.text >= LINK_TEXT ? s.ks.text - LINK_TEXT : 0;
	if (!p->syms[S_LINUX_BANNER].present)
		return xds_fail(err, "%s: kallsyms has no linux_banner",
				p->source);
	if (read_banner(ph, p, g, err) < 0)
		return -1;
	unslide(p, slide);
	profile_derive(p);
	return profile_check(p, err);
}
