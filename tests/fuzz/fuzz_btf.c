/*
 * fuzz_btf.c - the BTF reader (profile_btf.c over libbpf's btf__new)
 * against a hostile guest's BTF blob: the input is the blob.  Besides "no
 * crash" (ASan and UBSan watch), the target checks the reader's promises:
 * 0 or -1, an error has a message, and every field it finds lies inside
 * its struct's size (a guest may lie about sizes; then the field fails
 * later checks, but the offsets it gives never overflow).
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target.  Built with
 * -DXDS_FUZZ_STANDALONE it is a TAP test: it builds a blob with libbpf
 * (task_struct with an anonymous union, a bitfield, a typedef chain, a
 * .data..percpu DATASEC), checks what the reader finds in it, then reads
 * thousands of copies with bytes flipped, counts made absurd and type ids
 * pointed back at themselves (cycles).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "profile/profile_int.h"

static unsigned long fz_ok, fz_refused, fz_broken;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile p;
	struct xds_err err = { 0 };
	memset(&p, 0, sizeof p);
	snprintf(p.source, sizeof p.source, "fuzz");
	int rc = profile_btf_blob(data, size, &p, &err);
	bool kept = rc == 0 || (rc == -1 && err.msg[0]);
	for (int i = 0; i < F__COUNT; i++)
		if (p.fields[i].present &&
		    (uint64_t)p.fields[i].offset + p.fields[i].size >
		    (uint64_t)UINT32_MAX * 2)
			kept = false;
	if (!kept) {
		fprintf(stderr, "fuzz_btf: broken promise: rc %d\n", rc);
		fz_broken++;
#ifndef XDS_FUZZ_STANDALONE
		abort();
#endif
	}
	rc == 0 ? fz_ok++ : fz_refused++;
	return 0;
}

#ifdef XDS_FUZZ_STANDALONE
#include "tests/fuzz/rand.h"
#include "tests/tap.h"

/* struct task_struct { u32 flags:3, prio:29 (bitfield); int pid (in an
 * anonymous union); struct list_head tasks; char comm[16]; } plus a
 * per-CPU variable runqueues at 0x31ac0. */
static const void *fz_blob(uint32_t *size)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	int pid_t_ = btf__add_typedef(b, "pid_t", s32);
	int cpid = btf__add_const(b, pid_t_);
	int lh = btf__add_struct(b, "list_head", 16);
	int lhp = btf__add_ptr(b, lh);
	btf__add_field(b, "next", lhp, 0, 0);
	btf__add_field(b, "prev", lhp, 64, 0);
	int comm = btf__add_array(b, u32, chr, 16);
	int un = btf__add_union(b, NULL, 4);
	btf__add_field(b, "pid", cpid, 0, 0);
	btf__add_field(b, "tgid_alias", s32, 0, 0);
	int ts = btf__add_struct(b, "task_struct", 64);
	btf__add_field(b, "flags", u32, 0, 3);
	btf__add_field(b, "prio", u32, 3, 29);
	btf__add_field(b, NULL, un, 32, 0);
	btf__add_field(b, "tasks", lh, 64, 0);
	btf__add_field(b, "comm", comm, 192, 0);
	int var = btf__add_var(b, "runqueues", BTF_VAR_GLOBAL_ALLOCATED, ts);
	btf__add_datasec(b, ".data..percpu", 0x40000);
	btf__add_datasec_var_info(b, var, 0x31ac0, 64);
	const void *raw = btf__raw_data(b, size);
	void *copy = malloc(*size);
	memcpy(copy, raw, *size);
	btf__free(b);
	return copy;
}

int main(int argc, char **argv)
{
	unsigned long runs = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000;
	uint32_t n;
	const uint8_t *blob = fz_blob(&n);
	struct profile p;
	struct xds_err err = { 0 };
	memset(&p, 0, sizeof p);
	int rc = profile_btf_blob(blob, n, &p, &err);
	ok(rc == 0 && p.structs[T_TASK_STRUCT].present &&
	   p.structs[T_TASK_STRUCT].size == 64 &&
	   p.structs[T_LIST_HEAD].size == 16, "a %u-byte blob: task_struct "
	   "and list_head with their sizes (%s)", n, rc ? err.msg : "ok");
	ok(p.fields[F_TASK_PID].present && p.fields[F_TASK_PID].offset == 4 &&
	   p.fields[F_TASK_PID].size == 4,
	   "pid found inside the anonymous union, through typedef and const");
	ok(p.fields[F_TASK_PRIO].present && p.fields[F_TASK_PRIO].offset == 0 &&
	   p.fields[F_TASK_TASKS].offset == 8 &&
	   p.fields[F_TASK_COMM].offset == 24 && p.fields[F_TASK_COMM].size == 16,
	   "bitfield at its byte, list_head and char[16] at theirs");
	ok(p.syms[S_RUNQUEUES].present && p.syms[S_RUNQUEUES].addr == 0x31ac0,
	   "runqueues from the .data..percpu DATASEC");
	uint8_t *w = malloc(n);
	for (unsigned long r = 0; r < runs; r++) {
		size_t len = n;
		memcpy(w, blob, n);
		switch (fz_rand() % 4) {
		case 0:
			for (int k = 0, c = 1 + (int)(fz_rand() % 8); k < c; k++)
				w[24 + fz_rand() % (n - 24)] = (uint8_t)fz_rand();
			break;
		case 1: {       /* a type id: itself or a neighbour (cycles) */
			size_t at = 24 + (fz_rand() % ((n - 28) / 4)) * 4;
			uint32_t v = (uint32_t)(fz_rand() % 24);
			memcpy(w + at, &v, 4);
			break;
		}
		case 2: {       /* an absurd vlen or size */
			size_t at = 24 + (fz_rand() % ((n - 28) / 4)) * 4;
			uint32_t v = (uint32_t)fz_rand() | 0xffff;
			memcpy(w + at, &v, 4);
			break;
		}
		default:
			len = fz_rand() % n;
		}
		LLVMFuzzerTestOneInput(w, len);
	}
	ok(fz_broken == 0, "%lu mutated blobs: %lu read, %lu refused, no "
	   "broken promise", runs, fz_ok, fz_refused);
	free(w);
	free((void *)blob);
	done_testing();
}
#endif
