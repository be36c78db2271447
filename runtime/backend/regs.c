/*
 * regs.c - parse QEMU's `info registers [-a]` text (see regs.h).
 *
 * Line by line: "CPU#N" opens a block; any other line is scanned for
 * NAME=value words.  Known names go to struct be_regs through a table of
 * offsets; segment registers take their four words (selector, base,
 * limit, flags); everything else (flag strings, FPU and XMM registers,
 * descriptor notes) is skipped word by word.  The scan only moves
 * forward inside the given text, so any input ends in a result or an
 * error.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backend/regs.h"

enum {
	HAVE_RIP = 1, HAVE_CR0 = 2, HAVE_CR3 = 4, HAVE_CR4 = 8,
	HAVE_ALL = 15,
};

struct reg_name {
	const char *name;
	size_t off;             /* of a uint64_t in struct be_regs */
	unsigned have;
};

#define R(n, f, h) { n, offsetof(struct be_regs, f), h }
static const struct reg_name reg_names[] = {
	R("RIP", rip, HAVE_RIP), R("EIP", rip, HAVE_RIP),
	R("RSP", rsp, 0), R("ESP", rsp, 0),
	R("RFL", rflags, 0), R("EFL", rflags, 0),
	R("RAX", rax, 0), R("EAX", rax, 0), R("RBX", rbx, 0), R("EBX", rbx, 0),
	R("RCX", rcx, 0), R("ECX", rcx, 0), R("RDX", rdx, 0), R("EDX", rdx, 0),
	R("RSI", rsi, 0), R("ESI", rsi, 0), R("RDI", rdi, 0), R("EDI", rdi, 0),
	R("RBP", rbp, 0), R("EBP", rbp, 0),
	R("CR0", cr0, HAVE_CR0), R("CR2", cr2, 0), R("CR3", cr3, HAVE_CR3),
	R("CR4", cr4, HAVE_CR4), R("EFER", efer, 0),
};
#undef R

/* Segment lines: "NAME=selector base limit flags". */
static const struct {
	const char *name;
	long sel_off, base_off;  /* -1: not kept */
} seg_names[] = {
	{ "CS", offsetof(struct be_regs, cs), -1 },
	{ "SS", offsetof(struct be_regs, ss), -1 },
	{ "FS", -1, offsetof(struct be_regs, fs_base) },
	{ "GS", -1, offsetof(struct be_regs, gs_base) },
	{ "ES", -1, -1 }, { "DS", -1, -1 }, { "LDT", -1, -1 }, { "TR", -1, -1 },
};

struct scan {
	const char *p, *end;    /* the current line */
	int line;
	struct xds_err *err;
};

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	       (c >= 'a' && c <= 'z');
}

static void skip_spaces(struct scan *s)
{
	while (s->p < s->end && *s->p == ' ')
		s->p++;
}

static void skip_word(struct scan *s)
{
	while (s->p < s->end && *s->p != ' ')
		s->p++;
}

/* A hex word: 1 read, 0 none here, -1 too long. */
static int read_hex(struct scan *s, uint64_t *out)
{
	skip_spaces(s);
	uint64_t v = 0;
	int n = 0;
	for (; s->p < s->end && is_hex(*s->p); s->p++, n++) {
		if (n == 16)
			return xds_fail(s->err, "regs: line %d: value longer than "
					"16 hex digits", s->line);
		char c = *s->p;
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	*out = v;
	return n > 0;
}

static void set_u64(struct be_regs *r, long off, uint64_t v)
{
	if (off >= 0)
		memcpy((char *)r + off, &v, sizeof v);
}

static int read_segment(struct scan *s, struct be_regs *r, int k)
{
	uint64_t w[4];
	for (int i = 0; i < 4; i++) {
		int got = read_hex(s, &w[i]);
		if (got <= 0)
			return got < 0 ? -1 : xds_fail(s->err, "regs: line %d: "
				"segment %s lacks selector/base/limit/flags",
				s->line, seg_names[k].name);
	}
	set_u64(r, seg_names[k].sel_off, w[0]);
	set_u64(r, seg_names[k].base_off, w[1]);
	return 0;
}

static int store(struct scan *s, const char *name, struct be_regs *r,
		 unsigned *have)
{
	for (size_t k = 0; k < sizeof seg_names / sizeof seg_names[0]; k++)
		if (strcmp(name, seg_names[k].name) == 0)
			return read_segment(s, r, (int)k);
	uint64_t v;
	int got = read_hex(s, &v);
	if (got <= 0)
		return got;     /* "NAME=" with no number: not ours, skip */
	if (strcmp(name, "CPL") == 0)
		r->cpl = (int)(v & 3);
	else if (strcmp(name, "HLT") == 0)
		r->hlt = v != 0;
	for (size_t k = 0; k < sizeof reg_names / sizeof reg_names[0]; k++)
		if (strcmp(name, reg_names[k].name) == 0) {
			set_u64(r, (long)reg_names[k].off, v);
			*have |= reg_names[k].have;
		}
	return 0;
}

/* One line of a vCPU block: NAME=value words, other words skipped. */
static int scan_line(struct scan *s, struct be_regs *r, unsigned *have)
{
	for (;;) {
		skip_spaces(s);
		if (s->p >= s->end)
			return 0;
		char name[8];
		size_t n = 0;
		while (s->p < s->end && is_alnum(*s->p) && n < sizeof name - 1)
			name[n++] = *s->p++;
		name[n] = 0;
		skip_spaces(s);
		if (n == 0 || s->p >= s->end || *s->p != '=') {
			skip_word(s);
			continue;
		}
		s->p++;
		if (store(s, name, r, have) < 0)
			return -1;
	}
}

struct block {
	struct be_regs *out;
	int max, cur;
	unsigned have;
	unsigned char *seen;
	int filled, nr_valid;
};

static void end_block(struct block *b)
{
	if (b->cur < 0)
		return;
	struct be_regs *r = &b->out[b->cur];
	r->valid = (b->have & HAVE_ALL) == HAVE_ALL;
	r->lma = (r->efer & BE_EFER_LMA) != 0;
	b->nr_valid += r->valid;
	if (b->cur + 1 > b->filled)
		b->filled = b->cur + 1;
	b->have = 0;
}

static int begin_block(struct block *b, int cpu, struct scan *s)
{
	end_block(b);
	if (cpu < 0)
		return xds_fail(s->err, "regs: line %d: malformed CPU# line",
				s->line);
	if (cpu >= b->max)
		return xds_fail(s->err, "regs: line %d: CPU#%d beyond the %d "
				"vCPUs expected", s->line, cpu, b->max);
	if (b->seen[cpu])
		return xds_fail(s->err, "regs: line %d: CPU#%d appears twice",
				s->line, cpu);
	b->seen[cpu] = 1;
	b->cur = cpu;
	b->out[cpu].cpu = cpu;
	return 0;
}

/* "CPU#N" (N decimal, short); -2 when the line is something else. */
static int cpu_header(const char *p, const char *end)
{
	if (end - p < 5 || memcmp(p, "CPU#", 4) != 0)
		return -2;
	int n = 0, digits = 0;
	for (p += 4; p < end && *p >= '0' && *p <= '9' && digits < 6; p++)
		n = n * 10 + (*p - '0'), digits++;
	while (p < end && *p == ' ')
		p++;
	return digits && p == end ? n : -1;
}

static int parse_lines(const char *text, struct block *b, struct xds_err *err)
{
	struct scan s = { .p = text, .err = err };
	for (const char *line = text; *line; ) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		s.line++;
		s.p = line;
		s.end = end > line && end[-1] == '\r' ? end - 1 : end;
		int cpu = cpu_header(s.p, s.end);
		if (cpu != -2) {
			if (begin_block(b, cpu, &s) < 0)
				return -1;
		} else if (s.p < s.end) {
			if (b->cur < 0 && begin_block(b, 0, &s) < 0)
				return -1;
			if (scan_line(&s, &b->out[b->cur], &b->have) < 0)
				return -1;
		}
		line = nl ? nl + 1 : end;
	}
	end_block(b);
	return 0;
}

int be_regs_parse(const char *text, struct be_regs *out, int max,
		  struct xds_err *err)
{
	if (!text || max <= 0)
		return xds_fail(err, "regs: no text or no room");
	memset(out, 0, (size_t)max * sizeof *out);
	struct block b = { .out = out, .max = max, .cur = -1 };
	b.seen = calloc((size_t)max, 1);
	if (!b.seen)
		return xds_fail(err, "regs: out of memory");
	int r = parse_lines(text, &b, err);
	free(b.seen);
	if (r < 0)
		return -1;
	if (b.nr_valid == 0)
		return xds_fail(err, "regs: no vCPU block with RIP, CR0, CR3 and "
				"CR4 in %zu bytes of text", strlen(text));
	return b.filled;
}
