/*
 * test_regs.c - the `info registers` parser on text captured from QEMU 7.2
 * (tests/unit/data/qemu72_regs_*.txt: at reset, in SeaBIOS, in 64-bit
 * mode) and on garbage, truncations and random corruption.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "backend/regs.h"

#define DATA "tests/unit/data/"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		diag("cannot open %s (run from the source root)", path);
		return calloc(1, 1);
	}
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void test_reset(void)
{
	char *t = slurp(DATA "qemu72_regs_reset_smp2.txt");
	struct be_regs r[4];
	struct xds_err err = {{0}};
	int n = be_regs_parse(t, r, 4, &err);
	is_int(n, 2, "reset: two vCPU blocks (%s)", err.msg);
	ok(r[0].valid && r[1].valid && !r[2].valid, "reset: both valid, CPU 2 absent");
	ok(r[0].rip == 0xfff0 && r[0].cs == 0xf000 && r[0].rflags == 2,
	   "reset: EIP=0000fff0 CS=f000 EFL=00000002");
	ok(r[0].cr0 == 0x60000010 && r[0].cr3 == 0 && r[0].cr4 == 0 &&
	   r[0].efer == 0 && !r[0].lma, "reset: CR0=60000010 CR3=0 CR4=0 EFER=0");
	ok(r[0].rdx == 0x60fb1, "reset: EDX=00060fb1");
	ok(r[0].hlt == 0 && r[1].hlt == 1, "reset: CPU 0 HLT=0, CPU 1 HLT=1");
	is_int(r[1].cpu, 1, "reset: CPU 1 numbered");
	free(t);
}

static void test_bios(void)
{
	char *t = slurp(DATA "qemu72_regs_bios_smp2.txt");
	struct be_regs r[2];
	struct xds_err err = {{0}};
	int n = be_regs_parse(t, r, 2, &err);
	is_int(n, 2, "bios: two vCPUs (%s)", err.msg);
	ok(r[0].rip == 0x12839 && r[0].rsp == 0xa1fbc && r[0].rbp == 0x9ccc2f10,
	   "bios: EIP=00012839 ESP=000a1fbc EBP=9ccc2f10");
	ok(r[0].cr0 == 0x11 && r[0].gs_base == 0x03f3d000 && r[0].cs == 8,
	   "bios: CR0=00000011, GS base 03f3d000, CS=0008");
	ok(r[1].rip == 0xfd09a && r[1].rax == 0xf49f6 && r[1].gs_base == 0,
	   "bios: CPU 1 EIP=000fd09a EAX=000f49f6 GS base 0");
	free(t);
}

static void test_long(void)
{
	char *t = slurp(DATA "qemu72_regs_long_smp2.txt");
	struct be_regs r[2];
	struct xds_err err = {{0}};
	int n = be_regs_parse(t, r, 2, &err);
	is_int(n, 2, "long: two vCPUs (%s)", err.msg);
	ok(r[0].rax == 0x1122334455667788ull, "long: RAX=1122334455667788");
	ok(r[0].rip == 0x100060 && r[0].rsp == 0x9f000 && r[0].rflags == 0x86,
	   "long: RIP=0000000000100060 RSP=000000000009f000 RFL=00000086");
	ok(r[0].cr0 == 0x80000011 && r[0].cr3 == 0x101000 && r[0].cr4 == 0x20,
	   "long: CR0=80000011 CR3=0000000000101000 CR4=00000020");
	ok(r[0].efer == 0x500 && r[0].lma, "long: EFER=0000000000000500, LMA set");
	ok(r[0].cpl == 0 && r[0].hlt == 1 && r[0].cs == 8, "long: CPL=0 HLT=1 CS=0008");
	ok(r[1].valid && !r[1].lma && r[1].rip == 0xfd09a, "long: CPU 1 still in BIOS");

	/* Without -a (or from another printer) there may be no CPU# line. */
	char *nohdr = strstr(t, "RAX=");
	char *cpu1 = strstr(t, "CPU#1");
	cpu1[0] = 0;
	n = be_regs_parse(nohdr, r, 2, &err);
	ok(n == 1 && r[0].valid && r[0].cr3 == 0x101000 && r[0].cpu == 0,
	   "no CPU# line: the block is CPU 0");
	free(t);
}

static void rejects(const char *text, int max, const char *what,
		    const char *msg_part)
{
	struct be_regs r[4];
	struct xds_err err = {{0}};
	int n = be_regs_parse(text, r, max, &err);
	ok(n == -1 && strstr(err.msg, msg_part), "%s is an error (%s)", what,
	   err.msg);
}

static void test_garbage(void)
{
	rejects("", 4, "empty text", "no vCPU block");
	rejects("hello world\n= == =x\nCPU\n", 4, "prose", "no vCPU block");
	rejects("RIP=12 CR0=1 CR3=2\n", 4, "a block without CR4", "no vCPU block");
	rejects("CPU#0\nRIP=1 CR0=1 CR3=1 CR4=1\nCPU#0\n", 4, "CPU#0 twice",
		"appears twice");
	rejects("CPU#7\nRIP=1 CR0=1 CR3=1 CR4=1\n", 4, "CPU#7 of 4", "beyond");
	rejects("CPU#x\n", 4, "CPU#x", "malformed CPU#");
	rejects("CPU#0\nRIP=11112222333344445 CR0=1 CR3=1 CR4=1\n", 4,
		"a 17-digit value", "longer than 16");
	rejects("CPU#0\nCS =0008 00000000\nRIP=1 CR0=1 CR3=1 CR4=1\n", 4,
		"a short segment line", "segment CS");

	char *t = slurp(DATA "qemu72_regs_reset_smp2.txt");
	struct be_regs r[2];
	struct xds_err err = {{0}};
	char *cut = strstr(strstr(t, "CPU#1"), "CR0=");
	*cut = 0;
	int n = be_regs_parse(t, r, 2, &err);
	ok(n == 2 && r[0].valid && !r[1].valid,
	   "text cut inside CPU 1's block: CPU 0 valid, CPU 1 not");
	cut = strstr(t, "CR0=");
	*cut = 0;
	n = be_regs_parse(t, r, 2, &err);
	ok(n == -1, "text cut before CPU 0's CR0: error (%s)", err.msg);
	free(t);

	/* Random corruption of a real dump: a result or an error, never more. */
	char *orig = slurp(DATA "qemu72_regs_long_smp2.txt");
	size_t len = strlen(orig);
	char *m = malloc(len + 1);
	int bad = 0;
	srand(1);
	for (int it = 0; it < 3000 && len; it++) {
		memcpy(m, orig, len + 1);
		for (int k = 0; k < 1 + it % 16; k++) {
			size_t at = (size_t)rand() % len;
			m[at] = (char)(1 + rand() % 255);
		}
		n = be_regs_parse(m, r, 2, &err);
		if (n != -1 && (n < 1 || n > 2))
			bad++;
	}
	is_int(bad, 0, "3000 corrupted dumps: every result is -1, 1 or 2");
	free(m);
	free(orig);
}

int main(void)
{
	test_reset();
	test_bios();
	test_long();
	test_garbage();
	return done_testing();
}
