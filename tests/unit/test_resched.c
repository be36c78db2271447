/*
 * test_resched.c - the x86 details of asking a CPU to reschedule, per
 * kernel (KERNELS.md): TIF_NEED_RESCHED's bit by version, and where each
 * CPU's preempt count lives: the per-CPU __preempt_count (an offset into
 * the per-CPU area up to 6.14, so KASLR leaves it; an ordinary address
 * moved by the slide from 6.15) or pcpu_hot.preempt_count (6.2-6.14).
 * The sim models 6.1 only; these are the other layouts, by hand.
 */
#include "../tap.h"
#include "linux/linux_int.h"

static void is_u64(uint64_t got, uint64_t want, const char *what)
{
	ok(got == want, "%s: %#" PRIx64 " (want %#" PRIx64 ")", what, got, want);
}

int main(void)
{
	static const struct { const char *banner; int bit; } tif[] = {
		{ "Linux version 5.10.0-46-amd64 (debian-kernel@lists.debian.org)", 3 },
		{ "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)", 3 },
		{ "Linux version 6.12.118+deb13-amd64 (debian-kernel@lists.debian.org)", 3 },
		{ "Linux version 6.17.9 (x@y)", 3 },
		{ "Linux version 6.18.2 (x@y)", 4 },
		{ "Linux version 7.2.13+deb14-amd64 (debian-kernel@lists.debian.org)", 4 },
		{ "Linux version 10.0.1 (x@y)", 4 },
		{ "FreeBSD 14.1-RELEASE", -1 },
		{ "Linux version x.y", -1 },
		{ "", -1 },
	};
	for (size_t i = 0; i < sizeof tif / sizeof tif[0]; i++)
		ok(lx_tif_need_resched_bit(tif[i].banner) == tif[i].bit, "TIF_NEED_RESCHED is bit %d for \"%.40s\"",
		   tif[i].bit, tif[i].banner);

	static struct lx_guest g;       /* large: not on the stack */
	g.slide = 0x1e000000;
	g.pco[0] = 0xffff88807da00000ull;
	g.pco[1] = 0xffff88807dc00000ull;
	is_u64(lx_preempt_count_va(&g, 1), 0, "a profile with neither __preempt_count nor pcpu_hot");

	g.prof.syms[S_PCPU_HOT] = (struct profile_sym){ 0x21d00, true };
	g.prof.fields[F_PCPU_HOT_PREEMPT_COUNT] = (struct profile_field){ .offset = 8, .size = 4, .present = true };
	is_u64(lx_preempt_count_va(&g, 1), 0xffff88807dc00000ull + 0x21d08,
	       "6.2-6.14: pcpu_hot.preempt_count of CPU 1 (a per-CPU offset, not slid)");
	g.prof.fields[F_PCPU_HOT_PREEMPT_COUNT].size = 8;
	is_u64(lx_preempt_count_va(&g, 1), 0, "a pcpu_hot.preempt_count that is not an int is not used");
	g.prof.fields[F_PCPU_HOT_PREEMPT_COUNT].size = 4;

	g.prof.syms[S_PREEMPT_COUNT] = (struct profile_sym){ 0x1c3c0, true };
	is_u64(lx_preempt_count_va(&g, 0), 0xffff88807da00000ull + 0x1c3c0,
	       "up to 6.1: __preempt_count of CPU 0 (a per-CPU offset, not slid), before pcpu_hot");
	g.prof.syms[S_PREEMPT_COUNT] = (struct profile_sym){ 0xffffffff83412340ull, true };
	is_u64(lx_preempt_count_va(&g, 1), 0xffffffff83412340ull + 0x1e000000 + 0xffff88807dc00000ull,
	       "6.15+: __preempt_count is an ordinary address: slid, then CPU 1's offset");
	is_u64(lx_percpu(&g, 0x2c3c0, 0), 0xffff88807da00000ull + 0x2c3c0, "runqueues as an offset: not slid");
	return done_testing();
}
