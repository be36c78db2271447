/*
 * fuzz_linux.c - libFuzzer target: the task and run-queue reader against a
 * guest whose memory the input corrupts.
 *
 * At start-up a simulated guest runs in this process (tests/simguest.h).
 * Each input is a list of patches: which object (a task_struct, a run
 * queue, a page-table page), where in it, and the bytes to write.  The
 * patches are applied, a snapshot is taken, and the bytes are restored.
 * Whatever the input, the snapshot must return; ASan and UBSan watch every
 * read.  Built with -DXDS_FUZZ_STANDALONE it is a TAP test that runs
 * seeded random inputs instead.
 */
#include "../tap.h"
#include "../simguest.h"

static const char scenario[] =
	"host { pcpus = 2 }\n"
	"domain { name = 'F', vcpus = 2, ram = '32M' }\n"
	"group { dom = 'F', name = 'g', shares = 2048 }\n"
	"for i = 1, 12 do task { dom = 'F', comm = 'busy' .. i, run = cpu(), group = (i % 3 == 0) and 'g' or nil } end\n"
	"for i = 1, 8 do task { dom = 'F', comm = 'nap' .. i, run = periodic { run = '2ms', sleep = '30ms' } } end\n";

static struct simguest guest;
static struct lx_snapshot pristine;
static bool ready;
static uint64_t nr_errors, nr_ok;

static int setup(void)
{
	struct xds_err err;
	if (simguest_open(&guest, scenario, 300000000ULL, &err) || lx_snapshot(guest.lx, &pristine, &err)) {
		fprintf(stderr, "fuzz_linux: %s\n", err.msg);
		return -1;
	}
	ready = true;
	return 0;
}

struct saved {
	uint8_t *at;
	uint8_t bytes[32];
	size_t len;
};

/* The object a patch lands in: a task_struct, a run queue or page tables. */
static uint8_t *target(uint8_t kind, uint16_t index, uint16_t offset, size_t len)
{
	uint32_t tsize = profile_struct(&guest.prof, T_TASK_STRUCT)->size;
	uint32_t rqsize = profile_struct(&guest.prof, T_RQ)->size;
	switch (kind % 3) {
	case 0: {
		const struct lx_task *t = &pristine.tasks[index % pristine.nr_tasks];
		return simguest_host(&guest, t->addr + offset % (tsize - len + 1), len);
	}
	case 1: {
		const struct lx_rq *r = &pristine.rqs[index % pristine.nr_cpus];
		return simguest_host(&guest, r->addr + offset % (rqsize - len + 1), len);
	}
	default: {
		uint64_t pa = SIM_PT_PA + (uint64_t)(index % (2 + 8)) * 0x1000 + offset % (0x1000 - len + 1);
		return guest.d->ram + pa;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready && setup())
		abort();
	struct saved saved[8];
	int n = 0;
	size_t pos = 0;
	while (n < 8 && pos + 6 <= size) {
		uint8_t kind = data[pos];
		uint16_t index = (uint16_t)(data[pos + 1] | data[pos + 2] << 8);
		uint16_t offset = (uint16_t)(data[pos + 3] | data[pos + 4] << 8);
		size_t len = 1 + data[pos + 5] % 32;
		pos += 6;
		if (pos + len > size)
			break;
		uint8_t *at = target(kind, index, offset, len);
		if (!at)
			continue;
		saved[n].at = at;
		saved[n].len = len;
		memcpy(saved[n].bytes, at, len);
		memcpy(at, data + pos, len);
		pos += len;
		n++;
	}
	struct lx_snapshot s;
	struct xds_err err;
	lx_forget(guest.lx);
	if (lx_snapshot(guest.lx, &s, &err))
		nr_errors++;
	else
		nr_ok++;
	lx_snapshot_free(&s);
	while (n-- > 0)
		memcpy(saved[n].at, saved[n].bytes, saved[n].len);
	return 0;
}

#ifdef XDS_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	long runs = argc > 1 ? atol(argv[1]) : 20000;
	if (setup()) {
		ok(0, "the simulated guest starts");
		return done_testing();
	}
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t buf[512];
	for (long r = 0; r < runs; r++) {
		size_t len = 6 + (size_t)(x % (sizeof buf - 6));
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	ok(nr_ok + nr_errors == (uint64_t)runs, "%ld corrupted guests read without a crash or hang", runs);
	ok(nr_errors > 0 && nr_ok > 0, "some were refused (%llu), some read through (%llu)",
	   (unsigned long long)nr_errors, (unsigned long long)nr_ok);
	struct lx_snapshot s;
	struct xds_err err;
	lx_forget(guest.lx);
	ok(lx_snapshot(guest.lx, &s, &err) == 0 && s.nr_tasks == pristine.nr_tasks,
	   "restored, the guest reads as before");
	lx_snapshot_free(&s);
	lx_snapshot_free(&pristine);
	simguest_close(&guest);
	return done_testing();
}
#endif
