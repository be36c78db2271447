/*
 * profile_kallsyms.c - symbol addresses from the kernel's kallsyms tables,
 * found by their shape in a flat image of the kernel's read-only data (a
 * section of a vmlinux without a symbol table, or the bytes of a running
 * guest's memory).
 *
 * The token table is found first: its single-character tokens "0".."9"
 * sit at indices 0x30..0x39 since digits occur in names, and the
 * token_index that follows it must give every token's offset.  The
 * markers, names and num_syms precede the token table in every layout;
 * the offsets (and relative_base) precede num_syms up to 6.3 and follow
 * token_index from 6.4.  Three address encodings: up to 6.14 absolute
 * per-CPU (a non-negative offset is the per-CPU offset itself, a negative
 * one is relative_base - 1 - offset), 6.15-6.19 relative_base + (u32)offset,
 * 7.0+ place-relative (&offsets[i] + offset; needs the image's address).
 * Every read is checked against the image: the tables are the guest's own
 * and may lie.  What the symbols mean is the caller's.
 */
#include <string.h>

#include "profile/profile_elf.h"
#include "profile/profile_int.h"
#include "util/bounds.h"

#define TOKENS 256
#define KSYM_NAME_MAX 512       /* KSYM_NAME_LEN since 6.1 */
#define NAMES_MAX (64u << 20)   /* names stream: 2.2 MB on 6.1 */

struct ks {
	const uint8_t *d;
	size_t n;
	uint64_t base;          /* address of d[0]; 0 when unknown */
	size_t tok, tok_end;    /* token table */
	size_t tidx;            /* token_index */
	uint16_t toff[TOKENS];  /* token offsets, from token_index */
	size_t markers, names, offsets, numsyms_at;
	uint32_t num_syms, nr_markers;
	uint64_t relative_base;
	enum profile_ks_encoding enc;
};

static uint32_t rd32(const struct ks *k, size_t at)
{
	uint32_t v;
	memcpy(&v, k->d + at, 4);
	return v;
}

static uint64_t rd64(const struct ks *k, size_t at)
{
	uint64_t v;
	memcpy(&v, k->d + at, 8);
	return v;
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

/* The start of the token before the one at `at`, or SIZE_MAX. */
static size_t token_back(const struct ks *k, size_t at)
{
	if (at < 2 || k->d[at - 1] != 0)
		return SIZE_MAX;
	size_t s = at - 1;
	while (s > 0 && k->d[s - 1] != 0 && at - s < KSYM_NAME_MAX)
		s--;
	return s == at - 1 ? SIZE_MAX : s;
}

/* The end (after the NUL) of the token at `at`, or SIZE_MAX. */
static size_t token_fwd(const struct ks *k, size_t at)
{
	const uint8_t *z = memchr(k->d + at, 0, k->n - at);
	return z && z != k->d + at ? (size_t)(z - k->d) + 1 : SIZE_MAX;
}

/* Token table whose token 0x30 ("0") starts at `zero`: walk back to token
 * 1, forward to the end, then find the token_index that confirms it. */
static bool try_tokens(struct ks *k, size_t zero)
{
	size_t start[TOKENS];
	start['0'] = zero;
	for (int i = '0'; i > 1; i--)
		if ((start[i - 1] = token_back(k, start[i])) == SIZE_MAX)
			return false;
	for (int i = '0'; i < TOKENS; i++) {
		size_t e = token_fwd(k, start[i]);
		if (e == SIZE_MAX)
			return false;
		if (i + 1 < TOKENS)
			start[i + 1] = e;
		else
			k->tok_end = e;
	}
	/* token_index: 8-aligned, 0 first, then start[i] - table start. */
	for (size_t at = align8(k->tok_end); at + 2 * TOKENS <= k->n &&
	     at < k->tok_end + 16; at += 2) {
		uint16_t ti[TOKENS];
		memcpy(ti, k->d + at, sizeof ti);
		if (ti[0] != 0 || ti[1] < 2 || ti[1] > start[1])
			continue;
		size_t t0 = start[1] - ti[1];
		bool ok = true;
		for (int i = 1; i < TOKENS && ok; i++)
			ok = t0 + ti[i] == start[i];
		if (ok && memchr(k->d + t0, 0, ti[1]) == k->d + start[1] - 1) {
			k->tok = t0;
			k->tidx = at;
			memcpy(k->toff, ti, sizeof ti);
			return true;
		}
	}
	return false;
}

static bool find_tokens(struct ks *k)
{
	static const char digits[] = "0\0" "1\0" "2\0" "3\0" "4\0"
				     "5\0" "6\0" "7\0" "8\0" "9";
	const uint8_t *p = k->d, *end = k->d + k->n;
	while ((p = memmem(p, (size_t)(end - p), digits, sizeof digits))) {
		if (try_tokens(k, (size_t)(p - k->d)))
			return true;
		p++;
	}
	return false;
}

/* One entry of the names stream at `at`: its length (one byte, or two
 * when the first has bit 7 set, since 6.1) and where its tokens start. */
static bool name_entry(const struct ks *k, size_t at, size_t limit,
		       size_t *len, size_t *data)
{
	if (at >= limit)
		return false;
	*len = k->d[at];
	*data = at + 1;
	if (*len & 0x80) {
		if (at + 1 >= limit)
			return false;
		*len = (*len & 0x7f) | ((size_t)k->d[at + 1] << 7);
		*data = at + 2;
	}
	return *len > 0 && *data + *len <= limit;
}

/* Names stream at `names`, num_syms entries, ends before `limit` and
 * passes through every marker. */
static bool check_names(struct ks *k, size_t names, uint32_t num,
			size_t limit)
{
	size_t at = names;
	for (uint32_t i = 0; i < num; i++) {
		size_t len, data;
		if (i % 256 == 0 && at - names != rd32(k, k->markers + 4 * (i / 256)))
			return false;
		if (!name_entry(k, at, limit, &len, &data))
			return false;
		at = data + len;
	}
	return limit - at < 8;
}

/* num_syms and the names stream before the markers at m.  num_syms is
 * 8-aligned; the names follow it at the next 8-aligned place up to 6.x,
 * right after its 4 bytes in 7.x (Debian's 7.2). */
static bool find_num_syms(struct ks *k, size_t m)
{
	size_t lo = m > NAMES_MAX ? m - NAMES_MAX : 0;
	for (size_t x = (m - 8) & ~(size_t)7; x >= lo + 8; x -= 8) {
		uint32_t num = rd32(k, x);
		if (num == 0 || (num + 255) / 256 != k->nr_markers ||
		    num > XDS_MAX_KSYMS)
			continue;
		for (size_t gap = 8; gap >= 4; gap -= 4)
			if (check_names(k, x + gap, num, m)) {
				k->num_syms = num;
				k->numsyms_at = x;
				k->names = x + gap;
				return true;
			}
	}
	return false;
}

/* A run of markers at m (u32: 0, then strictly increasing by at most a
 * block of 256 longest names); its length, 0 if none. */
static uint32_t marker_run(const struct ks *k, size_t m, size_t end)
{
	if (rd32(k, m) != 0)
		return 0;
	uint32_t n = 1;
	for (size_t at = m + 4; at + 4 <= end; at += 4, n++) {
		uint32_t d = rd32(k, at) - rd32(k, at - 4);
		if (rd32(k, at) <= rd32(k, at - 4) || d > 256u * KSYM_NAME_MAX)
			break;
	}
	return n;
}

static bool markers_fit(struct ks *k, size_t m, uint32_t c)
{
	size_t gap = k->tok - (m + 4 * (size_t)c);
	bool seqs = gap >= 8;
	if (seqs && (gap < 3 * (256 * (size_t)(c - 1) + 1) ||
		     gap > align8(3 * 256 * (size_t)c) + 8))
		return false;
	k->markers = m;
	k->nr_markers = c;
	if (!find_num_syms(k, m))
		return false;
	return !seqs || (gap >= 3 * (size_t)k->num_syms &&
			 gap < 3 * (size_t)k->num_syms + 16);
}

/* Markers end before the token table, or before seqs_of_names (3 bytes a
 * symbol, 6.2+ and Debian's 6.1) which end before it. */
static bool find_names(struct ks *k)
{
	size_t lo = k->tok > 3 * (size_t)XDS_MAX_KSYMS + 64 ?
		    k->tok - 3 * (size_t)XDS_MAX_KSYMS - 64 : 16;
	for (size_t m = (k->tok - 4) & ~(size_t)7; m >= lo && m >= 16; m -= 8) {
		uint32_t run = marker_run(k, m, k->tok);
		/* seqs_of_names may continue the run by chance: try shorter */
		for (uint32_t c = run; c > 0 && c + 3 > run; c--)
			if (markers_fit(k, m, c))
				return true;
	}
	return false;
}

static bool kernel_address(uint64_t v)
{
	return v >= 0xffffffff80000000ULL;
}

/* Where the offsets are and how they encode: before num_syms up to 6.3,
 * after token_index from 6.4; relative_base beside them until 7.0. */
static bool find_offsets(struct ks *k)
{
	size_t len = align8((size_t)k->num_syms * 4);
	size_t numsyms_at = k->numsyms_at;
	if (numsyms_at >= 8 + len && kernel_address(rd64(k, numsyms_at - 8))) {
		k->relative_base = rd64(k, numsyms_at - 8);
		k->offsets = numsyms_at - 8 - len;
	} else {
		size_t o = align8(k->tidx + 2 * TOKENS);
		if (o + len + 8 > k->n)
			return false;
		k->offsets = o;
		uint64_t rb = rd64(k, o + len);
		if (kernel_address(rb))
			k->relative_base = rb;
		else if (!k->base)
			return false;   /* place-relative: needs the address */
	}
	if (!k->relative_base) {
		k->enc = PROFILE_KS_PLACE_RELATIVE;
		return true;
	}
	uint32_t neg = 0;
	for (uint32_t i = 0; i < k->num_syms; i++)
		neg += (int32_t)rd32(k, k->offsets + 4 * (size_t)i) < 0;
	k->enc = neg > k->num_syms / 2 ? PROFILE_KS_ABSOLUTE_PERCPU :
					 PROFILE_KS_RELATIVE;
	return true;
}

static uint64_t sym_address(const struct ks *k, uint32_t i)
{
	size_t at = k->offsets + 4 * (size_t)i;
	int32_t off = (int32_t)rd32(k, at);
	switch (k->enc) {
	case PROFILE_KS_ABSOLUTE_PERCPU:
		return off >= 0 ? (uint64_t)off :
		       k->relative_base - 1 - (uint64_t)(int64_t)off;
	case PROFILE_KS_RELATIVE:
		return k->relative_base + (uint32_t)off;
	default:
		return k->base + at + (uint64_t)(int64_t)off;
	}
}

/* Expand one entry into name (type letter dropped); false if too long. */
static bool expand(const struct ks *k, size_t data, size_t len, char *name)
{
	size_t o = 0;
	bool first = true;
	for (size_t i = 0; i < len; i++) {
		const char *t = (const char *)k->d + k->tok + k->toff[k->d[data + i]];
		for (; *t; t++) {
			if (first) {
				first = false;
				continue;
			}
			if (o + 1 >= KSYM_NAME_MAX)
				return false;
			name[o++] = *t;
		}
	}
	name[o] = 0;
	return true;
}

int profile_kallsyms_scan(const void *image, size_t size, uint64_t base,
			  struct profile_kallsyms *out, struct profile *p,
			  struct xds_err *err)
{
	struct ks k = { .d = image, .n = size, .base = base };
	memset(out, 0, sizeof *out);
	if (!find_tokens(&k))
		return 0;
	if (!find_names(&k) || !find_offsets(&k))
		return xds_fail(err, "%s: kallsyms token table at +0x%zx but "
				"no names or offsets around it", p->source,
				k.tok);
	char name[KSYM_NAME_MAX];
	size_t at = k.names;
	/* kallsyms is the kernel's own &var: it replaces what BTF's per-CPU
	 * DATASEC gave (a section offset, which is &var only up to 6.14; from
	 * 6.15 per-CPU symbols are ordinary addresses); the first of a name wins */
	bool seen[S__COUNT] = { false };
	for (uint32_t i = 0; i < k.num_syms; i++) {
		size_t len = 0, data = 0;
		name_entry(&k, at, k.markers, &len, &data); /* checked above */
		at = data + len;
		if (!expand(&k, data, len, name))
			continue;
		int s = profile_sym_by_name(name);
		if (s >= 0 && !seen[s]) {
			seen[s] = true;
			p->syms[s].addr = sym_address(&k, i);
			p->syms[s].present = true;
		}
		if (strcmp(name, "_text") == 0)
			out->text = sym_address(&k, i);
	}
	out->num_syms = k.num_syms;
	out->encoding = k.enc;
	out->relative_base = k.relative_base;
	out->token_table = k.tok;
	return 1;
}

int profile_kallsyms_elf(struct profile_elf *e, struct profile_kallsyms *out,
			 struct profile *p, struct xds_err *err)
{
	for (size_t i = 1; i < e->nsec; i++) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(elf_getscn(e->elf, i), &sh) ||
		    sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_ALLOC) ||
		    (sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (profile_elf_section(e, i, &sh, &d, "section", err) < 0)
			return -1;
		int rc = profile_kallsyms_scan(d->d_buf, d->d_size, sh.sh_addr,
					       out, p, err);
		if (rc != 0)
			return rc;
	}
	return xds_fail(err, "%s: no kallsyms tables", e->path);
}
