/*
 * profile_isf.c - Volatility 3's Intermediate Symbol Format (ISF JSON,
 * schema 6.x), written from a profile and read into one, with jansson.
 *
 * Written: base_types (unsigned integers of 1, 2, 4 and 8 bytes),
 * user_types (each declared struct with its size and the fields we know:
 * offset and a type of the field's width: a base type, or an array of
 * bytes), enums (none), symbols (address; linux_banner also carries the
 * banner as base64 constant_data, as dwarf2json writes it), metadata
 * (format 6.2.0, producer xds-lua, the source).  Read: any ISF 6.x, e.g.
 * dwarf2json's: fields found by dotted path through struct-typed fields
 * and anonymous members, sizes from the type descriptors, bitfields at
 * the byte holding their first bit (as profile_dwarf.c does).  The file
 * is input from elsewhere: depths are bounded, every value type-checked.
 */
#include <string.h>

#include <jansson.h>

#include "profile/profile_int.h"

#define ISF_FORMAT "6.2.0"
#define MAX_TYPE_DEPTH 16       /* nested descriptors (array of pointer of ..) */
#define MAX_ANON_DEPTH 8        /* nested anonymous members searched */

static const char *base_name(uint32_t size)
{
	switch (size) {
	case 1: return "unsigned char";
	case 2: return "unsigned short";
	case 4: return "unsigned int";
	case 8: return "unsigned long";
	default: return NULL;
	}
}

static json_t *field_type(uint32_t size)
{
	const char *b = base_name(size);
	if (b)
		return json_pack("{s:s, s:s}", "kind", "base", "name", b);
	return json_pack("{s:s, s:I, s:{s:s, s:s}}", "kind", "array",
			 "count", (json_int_t)size, "subtype", "kind", "base",
			 "name", "unsigned char");
}

static void b64(const char *in, size_t n, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(uint8_t)in[i] << 16;
		if (i + 1 < n) v |= (uint32_t)(uint8_t)in[i + 1] << 8;
		if (i + 2 < n) v |= (uint8_t)in[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? t[v & 63] : '=';
	}
	out[o] = 0;
}

static size_t unb64(const char *in, char *out, size_t max)
{
	size_t o = 0;
	uint32_t v = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *c = strchr(t, *in);
		if (!c)
			return 0;
		v = v << 6 | (uint32_t)(c - t);
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (o + 1 >= max)
				break;
			out[o++] = (char)(v >> bits & 0xff);
		}
	}
	out[o] = 0;
	return o;
}

static json_t *isf_of(const struct profile *p)
{
	json_t *base = json_object(), *user = json_object(), *syms = json_object();
	for (uint32_t s = 1; s <= 8; s *= 2)
		json_object_set_new(base, base_name(s), json_pack(
			"{s:s, s:i, s:b, s:s}", "kind", s == 1 ? "char" : "int",
			"size", (int)s, "signed", 0, "endian", "little"));
	for (int t = 0; t < T__COUNT; t++) {
		if (!p->structs[t].present)
			continue;
		json_t *fields = json_object();
		for (int f = 0; f < F__COUNT; f++)
			if (profile_field_decls[f].sid == (enum profile_struct_id)t &&
			    p->fields[f].present)
				json_object_set_new(fields, profile_field_path(p, f),
					json_pack("{s:I, s:o}", "offset",
						  (json_int_t)p->fields[f].offset,
						  "type", field_type(p->fields[f].size)));
		json_object_set_new(user, profile_struct_decls[t].name,
			json_pack("{s:s, s:I, s:o}", "kind", "struct", "size",
				  (json_int_t)p->structs[t].size, "fields", fields));
	}
	for (int s = 0; s < S__COUNT; s++) {
		if (!p->syms[s].present)
			continue;
		json_t *y = json_pack("{s:I}", "address", (json_int_t)p->syms[s].addr);
		if (s == S_LINUX_BANNER && p->banner[0]) {
			char enc[sizeof p->banner * 4 / 3 + 8];
			b64(p->banner, strlen(p->banner) + 1, enc);
			json_object_set_new(y, "constant_data", json_string(enc));
		}
		json_object_set_new(syms, profile_sym_decls[s].name, y);
	}
	return json_pack("{s:{s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}, s:o, s:o, s:{}, s:o}",
		"metadata", "format", ISF_FORMAT, "producer", "name", "xds-lua",
		"version", "1.0.0", "linux", "symbols", "kind", "symtab", "name",
		p->source, "base_types", base, "user_types", user, "enums",
		"symbols", syms);
}

int profile_export_isf(const struct profile *p, const char *path,
		       struct xds_err *err)
{
	json_t *doc = isf_of(p);
	if (!doc)
		return xds_fail(err, "%s: cannot build the ISF document", path);
	int rc = json_dump_file(doc, path, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	return rc ? xds_fail(err, "%s: cannot write", path) : 0;
}

struct isf {
	json_t *base, *user, *enums;
};

static json_t *user_type(const struct isf *f, json_t *desc)
{
	const char *kind = json_string_value(json_object_get(desc, "kind"));
	const char *name = json_string_value(json_object_get(desc, "name"));
	if (!kind || !name || (strcmp(kind, "struct") && strcmp(kind, "union") &&
			       strcmp(kind, "class")))
		return NULL;
	return json_object_get(f->user, name);
}

/* Bytes a type descriptor takes; 0 when it cannot tell. */
static uint64_t type_size(const struct isf *f, json_t *desc, int depth)
{
	const char *kind = json_string_value(json_object_get(desc, "kind"));
	const char *name = json_string_value(json_object_get(desc, "name"));
	if (!kind || depth > MAX_TYPE_DEPTH)
		return 0;
	if (!strcmp(kind, "pointer")) {
		json_int_t s = json_integer_value(json_object_get(
			json_object_get(f->base, "pointer"), "size"));
		return s > 0 ? (uint64_t)s : 8;
	}
	if (!strcmp(kind, "array")) {
		json_int_t n = json_integer_value(json_object_get(desc, "count"));
		uint64_t e = type_size(f, json_object_get(desc, "subtype"), depth + 1);
		return n >= 0 && n < (1 << 24) ? (uint64_t)n * e : 0;
	}
	if (!strcmp(kind, "bitfield"))
		return type_size(f, json_object_get(desc, "type"), depth + 1);
	json_t *table = !strcmp(kind, "base") ? f->base :
			!strcmp(kind, "enum") ? f->enums : f->user;
	json_int_t s = name ? json_integer_value(json_object_get(
			json_object_get(table, name), "size")) : 0;
	return s > 0 ? (uint64_t)s : 0;
}

/* Member `name` of user type ut (through anonymous members): its offset
 * from base and its type descriptor. */
static json_t *find_member(const struct isf *f, json_t *ut, const char *name,
			   uint64_t base, int depth, uint64_t *off)
{
	json_t *fields = json_object_get(ut, "fields");
	json_t *m = json_object_get(fields, name);
	if (m && json_is_integer(json_object_get(m, "offset"))) {
		json_t *t = json_object_get(m, "type");
		uint64_t bits = (uint64_t)json_integer_value(json_object_get(t, "bit_position"));
		*off = base + (uint64_t)json_integer_value(json_object_get(m, "offset")) +
		       bits / 8;
		return t;
	}
	const char *k;
	json_t *v;
	if (depth >= MAX_ANON_DEPTH)
		return NULL;
	json_object_foreach(fields, k, v) {
		json_t *sub;
		if (!json_is_true(json_object_get(v, "anonymous")) ||
		    !(sub = user_type(f, json_object_get(v, "type"))))
			continue;
		json_t *t = find_member(f, sub, name, base + (uint64_t)json_integer_value(
				json_object_get(v, "offset")), depth + 1, off);
		if (t)
			return t;
	}
	return NULL;
}

static bool resolve(const struct isf *f, json_t *ut, const char *path,
		    uint32_t *off, uint32_t *size)
{
	char buf[128], *save = NULL;
	snprintf(buf, sizeof buf, "%s", path);
	uint64_t total = 0, at;
	json_t *t = NULL;
	json_t *whole = json_object_get(json_object_get(ut, "fields"), path);
	if (strchr(path, '.') && whole && json_is_integer(json_object_get(whole, "offset"))) {
		t = json_object_get(whole, "type");    /* ours: "thread_info.cpu" */
		total = (uint64_t)json_integer_value(json_object_get(whole, "offset"));
		ut = NULL;
		save = NULL;
		buf[0] = 0;
	}
	for (char *seg = strtok_r(buf, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
		if (!ut || !(t = find_member(f, ut, seg, 0, 0, &at)))
			return false;
		total += at;
		ut = user_type(f, t);
	}
	uint64_t sz = t ? type_size(f, t, 0) : 0;
	if (!sz || total > UINT32_MAX || sz > UINT32_MAX)
		return false;
	*off = (uint32_t)total;
	*size = (uint32_t)sz;
	return true;
}

static void fill(const struct isf *f, json_t *syms, struct profile *p)
{
	for (int t = 0; t < T__COUNT; t++) {
		json_t *ut = json_object_get(f->user, profile_struct_decls[t].name);
		json_int_t size = json_integer_value(json_object_get(ut, "size"));
		if (!ut || size <= 0 || size > UINT32_MAX)
			continue;
		p->structs[t].size = (uint32_t)size;
		p->structs[t].present = true;
		for (int i = 0; i < F__COUNT; i++) {
			const struct profile_field_decl *d = &profile_field_decls[i];
			for (unsigned a = 0; d->sid == (enum profile_struct_id)t &&
			     a < PROFILE_MAX_ALTS && d->paths[a]; a++)
				if (resolve(f, ut, d->paths[a], &p->fields[i].offset,
					    &p->fields[i].size)) {
					p->fields[i].alt = (uint8_t)a;
					p->fields[i].present = true;
					break;
				}
		}
	}
	for (int s = 0; s < S__COUNT; s++) {
		json_t *y = json_object_get(syms, profile_sym_decls[s].name);
		json_t *a = json_object_get(y, "address");
		if (!json_is_number(a))
			continue;
		p->syms[s].addr = json_is_integer(a) ? (uint64_t)json_integer_value(a) :
				  (uint64_t)json_real_value(a);
		p->syms[s].present = true;
	}
	const char *cd = json_string_value(json_object_get(
		json_object_get(syms, "linux_banner"), "constant_data"));
	if (cd && unb64(cd, p->banner, sizeof p->banner))
		p->banner[strcspn(p->banner, "\n")] = 0;
}

int profile_build_isf(const char *path, struct profile *p, struct xds_err *err)
{
	json_error_t je;
	json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return xds_fail(err, "%s:%d: %s", path, je.line, je.text);
	memset(p, 0, sizeof *p);
	const char *base = strrchr(path, '/');
	snprintf(p->source, sizeof p->source, "%.100s (ISF)", base ? base + 1 : path);
	const char *fmt = json_string_value(json_object_get(json_object_get(doc, "metadata"), "format"));
	struct isf f = { json_object_get(doc, "base_types"), json_object_get(doc, "user_types"),
			 json_object_get(doc, "enums") };
	int rc = 0;
	if (!fmt || strncmp(fmt, "6.", 2) != 0)
		rc = xds_fail(err, "%s: ISF format '%s', this reads 6.x", path, fmt ? fmt : "none");
	else if (!json_is_object(f.base) || !json_is_object(f.user))
		rc = xds_fail(err, "%s: ISF without base_types or user_types", path);
	else
		fill(&f, json_object_get(doc, "symbols"), p);
	json_decref(doc);
	if (rc < 0)
		return -1;
	if (!p->banner[0])
		return xds_fail(err, "%s: ISF has no linux_banner constant_data "
				"(the banner names the build)", path);
	profile_derive(p);
	return profile_check(p, err);
}
