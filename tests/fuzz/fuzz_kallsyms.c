/*
 * fuzz_kallsyms.c - the kallsyms decoder (profile_kallsyms.c) against a
 * hostile kernel image: the input is the image's bytes, its first byte at
 * address 0xffffffff82000000.  Besides "no crash" (ASan and UBSan watch),
 * the target checks the decoder's promises: it returns 1, 0 or -1, an
 * error has a message, and a decoded table has 1..XDS_MAX_KSYMS symbols.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target.  Built with
 * -DXDS_FUZZ_STANDALONE it is a TAP test: it encodes tables of random
 * symbols in both layouts (6.1's, offsets first and seqs_of_names before
 * the token table; 6.4's, offsets after token_index), checks that the
 * declared symbols decode to the addresses put in (and in the 6.15 and
 * 7.0 encodings, offsets last), then decodes
 * thousands of copies with bytes flipped, spans zeroed and ends cut.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile_int.h"
#include "util/bounds.h"

#define FZ_BASE 0xffffffff82000000ull

static unsigned long fz_found, fz_none, fz_failed, fz_broken;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile p;
	struct profile_kallsyms ks;
	struct xds_err err = { 0 };
	memset(&p, 0, sizeof p);
	snprintf(p.source, sizeof p.source, "fuzz");
	int rc = profile_kallsyms_scan(data, size, FZ_BASE, &ks, &p, &err);
	bool kept = rc == 1 ? ks.num_syms > 0 && ks.num_syms <= XDS_MAX_KSYMS :
		    rc == 0 || (rc == -1 && err.msg[0]);
	if (!kept) {
		fprintf(stderr, "fuzz_kallsyms: broken promise: rc %d\n", rc);
		fz_broken++;
#ifndef XDS_FUZZ_STANDALONE
		abort();
#endif
	}
	rc == 1 ? fz_found++ : rc == 0 ? fz_none++ : fz_failed++;
	return 0;
}

#ifdef XDS_FUZZ_STANDALONE
#include "tests/fuzz/rand.h"
#include "tests/tap.h"

struct img {
	uint8_t *b;
	size_t n;
};

static void put(struct img *m, const void *p, size_t len)
{
	memcpy(m->b + m->n, p, len);
	m->n += len;
}

static void put32(struct img *m, uint32_t v)
{
	put(m, &v, 4);
}

static void pad8(struct img *m)
{
	while (m->n % 8)
		m->b[m->n++] = 0;
}

#define NSYMS 700

/* Token table: every byte value its own one-character token, except that
 * 0xf0..0xff stand for pairs ("in", "it", ...) as the kernel's compressor
 * makes them; 0 and 1 are never in names so they hold "_t"/"ex". */
static const char *fz_token(int i, char buf[3])
{
	static const char *pairs[] = { "_t", "ex", "in", "it", "er", "es",
		"ta", "sk", "ru", "nq", "ue", "pe", "r_", "cp", "u_", "of", "fs",
		"et" };
	if (i < 2)
		return pairs[i];
	if (i >= 0xf0)
		return pairs[2 + (i - 0xf0)];
	buf[0] = (char)i;
	buf[1] = 0;
	return buf;
}

/* Names: the declared symbols among random ones, each "d" + name. */
static void fz_name(int i, char *out)
{
	static const char *declared[] = { "init_task", "runqueues",
		"__per_cpu_offset", "nr_cpu_ids", "linux_banner", "_text" };
	if (i % 100 == 7 && i / 100 < 6) {
		sprintf(out, "D%s", declared[i / 100]);
		return;
	}
	int len = 3 + (int)(fz_rand() % 20);
	out[0] = 't';
	for (int k = 1; k < len; k++)
		out[k] = "abcdefghijklmnopqrstuvwxyz_0123456789"[fz_rand() % 37];
	out[len] = 0;
}

/* runqueues is per-CPU: zero-based up to 6.14, an address from 6.15 */
static uint64_t fz_addr(int i, enum profile_ks_encoding enc)
{
	if (i == 107)
		return enc == PROFILE_KS_ABSOLUTE_PERCPU ? 0x31ac0 : 0xffffffff83031ac0ull;
	return 0xffffffff81000000ull + (uint64_t)i * 0x40;
}

/* A table in the 6.1 (offsets first) or 6.4 (offsets last) layout, in
 * one of the three encodings (6.15+ and 7.0+ only with offsets last). */
static void fz_encode(struct img *m, bool late_offsets, enum profile_ks_encoding enc)
{
	char names[NSYMS][32], tb[3];
	uint32_t markers[(NSYMS + 255) / 256];
	int32_t off[NSYMS];
	for (int i = 0; i < NSYMS; i++) {
		fz_name(i, names[i]);
		uint64_t a = fz_addr(i, enc);
		off[i] = enc == PROFILE_KS_RELATIVE ? (int32_t)(uint32_t)(a - 0xffffffff81000000ull) :
			 a < 0x100000 ? (int32_t)a : (int32_t)(0xffffffff81000000ull - a - 1);
	}
	for (int k = 0; k < 4096; k++)
		m->b[m->n++] = (uint8_t)fz_rand();   /* rodata before */
	pad8(m);
	uint64_t rb = 0xffffffff81000000ull;
	if (!late_offsets) {
		put(m, off, sizeof off);
		pad8(m);
		put(m, &rb, 8);
	}
	put32(m, NSYMS);
	pad8(m);
	size_t names_at = m->n;
	for (int i = 0; i < NSYMS; i++) {
		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(m->n - names_at);
		size_t len = strlen(names[i]);
		m->b[m->n++] = (uint8_t)len;
		put(m, names[i], len);      /* each byte is its own token */
	}
	pad8(m);
	put(m, markers, sizeof markers);
	pad8(m);
	if (!late_offsets) {                /* seqs_of_names */
		for (int i = 0; i < 3 * NSYMS; i++)
			m->b[m->n++] = (uint8_t)fz_rand();
		pad8(m);
	}
	size_t tok = m->n;
	uint16_t ti[256];
	for (int i = 0; i < 256; i++) {
		const char *t = fz_token(i, tb);
		ti[i] = (uint16_t)(m->n - tok);
		put(m, t, strlen(t) + 1);
	}
	pad8(m);
	put(m, ti, sizeof ti);
	pad8(m);
	if (late_offsets) {
		if (enc == PROFILE_KS_PLACE_RELATIVE)   /* &offsets[i] + offsets[i] */
			for (int i = 0; i < NSYMS; i++)
				off[i] = (int32_t)(fz_addr(i, enc) - (FZ_BASE + m->n + 4 * (size_t)i));
		put(m, off, sizeof off);
		pad8(m);
		if (enc != PROFILE_KS_PLACE_RELATIVE)
			put(m, &rb, 8);
		for (int i = 0; i < 3 * NSYMS; i++)
			m->b[m->n++] = (uint8_t)fz_rand();
	}
	for (int k = 0; k < 512; k++)
		m->b[m->n++] = (uint8_t)fz_rand();
}

static void fz_check_decode(struct img *m, const char *layout, enum profile_ks_encoding enc)
{
	struct profile p;
	struct profile_kallsyms ks;
	struct xds_err err = { 0 };
	memset(&p, 0, sizeof p);
	int rc = profile_kallsyms_scan(m->b, m->n, FZ_BASE, &ks, &p, &err);
	ok(rc == 1 && ks.num_syms == NSYMS, "%s layout: %u symbols decoded (%s)",
	   layout, ks.num_syms, rc < 0 ? err.msg : "ok");
	ok(p.syms[S_INIT_TASK].addr == fz_addr(7, enc) &&
	   p.syms[S_RUNQUEUES].addr == fz_addr(107, enc) &&
	   p.syms[S_PER_CPU_OFFSET].addr == fz_addr(207, enc) &&
	   p.syms[S_LINUX_BANNER].addr == fz_addr(407, enc) &&
	   ks.text == fz_addr(507, enc) && ks.encoding == enc,
	   "%s layout: declared symbols at their addresses (runqueues at %#llx)",
	   layout, (unsigned long long)p.syms[S_RUNQUEUES].addr);
}

int main(int argc, char **argv)
{
	unsigned long runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 3000;
	struct img m = { malloc(1 << 20), 0 }, late = { malloc(1 << 20), 0 };
	uint8_t *w = malloc(1 << 20);
	struct img e615 = { malloc(1 << 20), 0 }, e70 = { malloc(1 << 20), 0 };
	fz_encode(&e615, true, PROFILE_KS_RELATIVE);
	fz_encode(&e70, true, PROFILE_KS_PLACE_RELATIVE);
	fz_check_decode(&e615, "6.15 (relative_base + u32)", PROFILE_KS_RELATIVE);
	fz_check_decode(&e70, "7.0 (place-relative)", PROFILE_KS_PLACE_RELATIVE);
	free(e615.b);
	free(e70.b);
	fz_encode(&m, false, PROFILE_KS_ABSOLUTE_PERCPU);
	fz_encode(&late, true, PROFILE_KS_ABSOLUTE_PERCPU);
	fz_check_decode(&m, "6.1", PROFILE_KS_ABSOLUTE_PERCPU);
	fz_check_decode(&late, "6.4", PROFILE_KS_ABSOLUTE_PERCPU);
	for (unsigned long r = 0; r < runs; r++) {
		const struct img *src = r % 2 ? &late : &m;
		size_t n = src->n;
		memcpy(w, src->b, n);
		switch (fz_rand() % 4) {
		case 0:         /* flip bytes */
			for (int k = 0, c = 1 + (int)(fz_rand() % 16); k < c; k++)
				w[fz_rand() % n] = (uint8_t)fz_rand();
			break;
		case 1: {       /* zero or 0xff a span */
			size_t at = fz_rand() % n, len = fz_rand() % 256;
			memset(w + at, fz_rand() & 1 ? 0xff : 0,
			       len < n - at ? len : n - at);
			break;
		}
		case 2:         /* cut the end */
			n = fz_rand() % n;
			break;
		default:        /* a huge num_syms or marker */
			for (size_t at = fz_rand() % (n - 4) & ~(size_t)3, k = 0;
			     k < 8 && at + 4 <= n; k++, at += 4) {
				uint32_t v = (uint32_t)fz_rand();
				memcpy(w + at, &v, 4);
			}
		}
		LLVMFuzzerTestOneInput(w, n);
	}
	ok(fz_broken == 0, "%lu mutated images: %lu decoded, %lu without "
	   "tables, %lu refused, no broken promise", runs, fz_found, fz_none,
	   fz_failed);
	free(m.b);
	free(late.b);
	free(w);
	done_testing();
}
#endif
