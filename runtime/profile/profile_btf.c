/*
 * profile_btf.c - structs, fields and per-CPU symbols from a kernel's BTF,
 * read through libbpf: btf__parse_elf on a vmlinux's .BTF section, btf__new
 * on a blob (the bytes between __start_BTF and __stop_BTF of a running
 * guest).  libbpf checks the blob's header, string offsets and type ids;
 * this file bounds what it walks itself (typedef chains, nested anonymous
 * members, path depth), since a guest writes its own BTF.
 *
 * Plain globals (init_task, nr_cpu_ids, ...) are not in BTF: symbols are
 * profile_kallsyms.c's; only the .data..percpu DATASEC's variables are
 * taken here (their zero-based offsets, the form kallsyms gives up to 6.14).
 */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "profile/profile_int.h"

#define MAX_TYPE_CHAIN 32       /* typedef/const/volatile links followed */
#define MAX_ANON_DEPTH 8        /* nested anonymous members searched */
#define MAX_PATH_DEPTH 4        /* dotted segments in a field path */
/* Members looked at for one path: task_struct has ~250, with its anonymous
 * members a few hundred more; a guest's 65535-member unions nested eight
 * deep would otherwise take 65535^8 steps. */
#define MAX_MEMBER_VISITS (1 << 16)

/* The type id under typedefs and qualifiers, or 0. */
static uint32_t strip(const struct btf *btf, uint32_t id)
{
	for (int i = 0; i < MAX_TYPE_CHAIN; i++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t)
			return 0;
		if (!btf_is_typedef(t) && !btf_is_mod(t))
			return id;
		id = t->type;
	}
	return 0;
}

static bool is_aggregate(const struct btf *btf, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	return t && (btf_is_struct(t) || btf_is_union(t));
}

/* Member `name` of aggregate agg, searching anonymous members: its byte
 * offset (from base) and type.  1 found, 0 not. */
static int find_member(const struct btf *btf, uint32_t agg, const char *name,
		       uint64_t base, int depth, int *budget, uint64_t *off,
		       uint32_t *type)
{
	const struct btf_type *t = btf__type_by_id(btf, agg);
	if (!t || depth >= MAX_ANON_DEPTH)
		return 0;
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		if (--*budget < 0)
			return 0;
		uint64_t at = base + btf_member_bit_offset(t, i) / 8;
		const char *mname = btf__name_by_offset(btf, m->name_off);
		if (mname && *mname) {
			if (strcmp(mname, name) != 0)
				continue;
			*off = at;
			*type = m->type;
			return 1;
		}
		uint32_t sub = strip(btf, m->type);
		if (sub && is_aggregate(btf, sub) &&
		    find_member(btf, sub, name, at, depth + 1, budget, off,
				type))
			return 1;
	}
	return 0;
}

/* Offset and size of a dotted path in struct sid.  1 found, 0 absent. */
static int resolve_path(const struct btf *btf, uint32_t sid, const char *path,
			uint32_t *off, uint32_t *size, struct xds_err *err)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	uint64_t total = 0, at = 0;
	uint32_t agg = sid, type = 0;
	char *seg = strtok_r(buf, ".", &save);
	for (int depth = 0; seg; depth++) {
		int budget = MAX_MEMBER_VISITS;
		if (depth >= MAX_PATH_DEPTH ||
		    !find_member(btf, agg, seg, 0, 0, &budget, &at, &type))
			return 0;
		total += at;
		if (!(seg = strtok_r(NULL, ".", &save)))
			break;
		agg = strip(btf, type);
		if (!agg || !is_aggregate(btf, agg))
			return 0;
	}
	long long sz = btf__resolve_size(btf, type);
	if (sz < 0)
		return xds_fail(err, "BTF: %s: no size (%s)", path,
				strerror((int)-sz));
	if (total > UINT32_MAX || (unsigned long long)sz > UINT32_MAX)
		return xds_fail(err, "BTF: %s: offset or size too large",
				path);
	*off = (uint32_t)total;
	*size = (uint32_t)sz;
	return 1;
}

static int fill_fields(const struct btf *btf, uint32_t sid,
		       enum profile_struct_id t, struct profile *p,
		       struct xds_err *err)
{
	for (int i = 0; i < F__COUNT; i++) {
		const struct profile_field_decl *decl = &profile_field_decls[i];
		if (decl->sid != t)
			continue;
		for (unsigned alt = 0; alt < PROFILE_MAX_ALTS &&
		     decl->paths[alt]; alt++) {
			struct profile_field *f = &p->fields[i];
			int rc = resolve_path(btf, sid, decl->paths[alt],
					      &f->offset, &f->size, err);
			if (rc < 0)
				return xds_err_wrap(err, "%s: struct %s",
						    p->source,
						    profile_struct_decls[t].name);
			if (rc == 1) {
				f->alt = (uint8_t)alt;
				f->present = true;
				break;
			}
		}
	}
	return 0;
}

/* The struct of that name with a body: the first such (BTF is deduplicated,
 * a kernel has one). */
static uint32_t find_struct(const struct btf *btf, const char *name)
{
	uint32_t n = btf__type_cnt(btf);
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t || !btf_is_struct(t) || t->size == 0)
			continue;
		const char *tn = btf__name_by_offset(btf, t->name_off);
		if (tn && strcmp(tn, name) == 0)
			return id;
	}
	return 0;
}

/* Per-CPU variables: .data..percpu's DATASEC gives their offsets. */
static void fill_percpu(const struct btf *btf, struct profile *p)
{
	int32_t id = btf__find_by_name_kind(btf, ".data..percpu",
					    BTF_KIND_DATASEC);
	const struct btf_type *ds = id > 0 ? btf__type_by_id(btf, id) : NULL;
	if (!ds)
		return;
	const struct btf_var_secinfo *v = btf_var_secinfos(ds);
	for (uint16_t i = 0; i < btf_vlen(ds); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);
		const char *name = var && btf_is_var(var) ?
				   btf__name_by_offset(btf, var->name_off) :
				   NULL;
		int s = name ? profile_sym_by_name(name) : -1;
		if (s >= 0 && !p->syms[s].present) {
			p->syms[s].addr = v->offset;
			p->syms[s].present = true;
		}
	}
}

int profile_btf_fill(const struct btf *btf, struct profile *p,
		     struct xds_err *err)
{
	for (int t = 0; t < T__COUNT; t++) {
		uint32_t sid = find_struct(btf, profile_struct_decls[t].name);
		if (!sid)
			continue;
		p->structs[t].size = btf__type_by_id(btf, sid)->size;
		p->structs[t].present = true;
		if (fill_fields(btf, sid, t, p, err) < 0)
			return -1;
	}
	fill_percpu(btf, p);
	return 0;
}

/* libbpf's own messages go nowhere: its failures come back as errors. */
static void quiet(void)
{
	libbpf_set_print(NULL);
}

int profile_btf_elf(const char *path, struct profile *p, struct xds_err *err)
{
	quiet();
	struct btf *btf = btf__parse_elf(path, NULL);
	if (!btf)
		return xds_fail(err, "%s: no usable BTF (%s)", path,
				strerror(errno));
	int rc = profile_btf_fill(btf, p, err);
	btf__free(btf);
	return rc;
}

int profile_btf_blob(const void *data, size_t size, struct profile *p,
		     struct xds_err *err)
{
	if (size == 0 || size > UINT32_MAX)
		return xds_fail(err, "%s: BTF of %zu bytes", p->source, size);
	quiet();
	struct btf *btf = btf__new(data, (uint32_t)size);
	if (!btf)
		return xds_fail(err, "%s: BTF rejected by libbpf (%s)",
				p->source, strerror(errno));
	int rc = profile_btf_fill(btf, p, err);
	btf__free(btf);
	return rc;
}
