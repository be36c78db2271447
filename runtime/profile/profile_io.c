/*
 * profile_io.c - the profile's text format: print, save and load.
 *
 *   xds-profile 1                      version line, always first
 *   source vmlinux-6.1.0-56-amd64
 *   banner Linux version 6.1.0-56-amd64 ...
 *   family cfs                         derived: checked again on load
 *   struct task_struct 9792            or "struct util_est -" when absent
 *   field task_struct.__state 24 4     offset and size; "-" when absent
 *   sym init_task 0xffffffff82a0c940   "-" when absent
 *
 * One item a line, '#' comments; what `profile show` prints is the file.
 * Loading re-derives the flags and checks required items like a build
 * (profile.c); building from an ELF is profile_build.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "profile/profile_int.h"

#define PROFILE_MAGIC "xds-profile"
#define PROFILE_VERSION 1

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void print_structs(const struct profile *p, FILE *f)
{
	for (int t = 0; t < T__COUNT; t++) {
		if (p->structs[t].present)
			fprintf(f, "struct %s %" PRIu32 "\n",
				profile_struct_name(t), p->structs[t].size);
		else
			fprintf(f, "struct %s -\n", profile_struct_name(t));
	}
}

static void print_fields(const struct profile *p, FILE *f)
{
	for (int i = 0; i < F__COUNT; i++) {
		const struct profile_field *x = &p->fields[i];
		fprintf(f, "field %s.%s",
			profile_struct_name(profile_field_struct(i)),
			profile_field_path(p, i));
		if (x->present)
			fprintf(f, " %" PRIu32 " %" PRIu32 "\n", x->offset,
				x->size);
		else
			fprintf(f, " -\n");
	}
}

static void print_syms(const struct profile *p, FILE *f)
{
	for (int s = 0; s < S__COUNT; s++) {
		if (p->syms[s].present)
			fprintf(f, "sym %s 0x%016" PRIx64 "\n",
				profile_sym_name(s), p->syms[s].addr);
		else
			fprintf(f, "sym %s -\n", profile_sym_name(s));
	}
}

int profile_print(const struct profile *p, FILE *f)
{
	fprintf(f, "%s %d\n", PROFILE_MAGIC, PROFILE_VERSION);
	fprintf(f, "source %s\n", p->source);
	fprintf(f, "banner %s\n", p->banner);
	fprintf(f, "family %s\n", profile_family_name(p->family));
	fprintf(f, "group_sched %s\n", yes_no(p->group_sched));
	fprintf(f, "delayed_dequeue %s\n", yes_no(p->delayed_dequeue));
	fprintf(f, "psi %s\n", yes_no(p->psi));
	fprintf(f, "state_field %s\n", profile_state_field(p));
	fprintf(f, "lock_field %s\n", profile_lock_field(p));
	print_structs(p, f);
	print_fields(p, f);
	print_syms(p, f);
	return ferror(f) ? -1 : 0;
}

int profile_save(const struct profile *p, const char *path,
		 struct xds_err *err)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return xds_fail(err, "%s: %s", path, strerror(errno));
	int rc = profile_print(p, f);
	if (fclose(f) != 0 || rc < 0)
		return xds_fail(err, "%s: write failed: %s", path,
				strerror(errno));
	return 0;
}

/* The parser's state: where we are, for messages. */
struct loader {
	const char *path;
	int line;
	struct profile *p;
	struct xds_err *err;
	/* derived lines as read, checked against profile_derive() */
	char derived[6][64];
	/* every declared item must be listed, "-" when absent */
	bool seen_struct[T__COUNT], seen_field[F__COUNT], seen_sym[S__COUNT];
};

static const char *const derived_keys[6] = {
	"family", "group_sched", "delayed_dequeue", "psi", "state_field",
	"lock_field",
};

static int bad(struct loader *l, const char *what, const char *arg)
{
	return xds_fail(l->err, "%s:%d: %s '%s'", l->path, l->line, what, arg);
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || x > UINT32_MAX || *s == '-')
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int load_struct(struct loader *l, char *args)
{
	char name[64], val[32], extra;
	if (sscanf(args, "%63s %31s %c", name, val, &extra) != 2)
		return bad(l, "malformed struct line", args);
	int t = profile_struct_by_name(name);
	if (t < 0)
		return bad(l, "unknown struct", name);
	l->seen_struct[t] = true;
	struct profile_type *x = &l->p->structs[t];
	x->present = strcmp(val, "-") != 0;
	if (x->present && parse_u32(val, &x->size) < 0)
		return bad(l, "bad struct size", val);
	return 0;
}

/* Which declared field, and which alternative, "struct.path" names. */
static int field_by_name(const char *name, unsigned *alt)
{
	for (int i = 0; i < F__COUNT; i++) {
		const struct profile_field_decl *d = &profile_field_decls[i];
		const char *sname = profile_struct_name(d->sid);
		size_t n = strlen(sname);
		if (strncmp(name, sname, n) != 0 || name[n] != '.')
			continue;
		for (unsigned a = 0; a < PROFILE_MAX_ALTS && d->paths[a]; a++)
			if (strcmp(name + n + 1, d->paths[a]) == 0) {
				*alt = a;
				return i;
			}
	}
	return -1;
}

static int load_field(struct loader *l, char *args)
{
	char name[128], off[32] = "", size[32] = "", extra;
	int n = sscanf(args, "%127s %31s %31s %c", name, off, size, &extra);
	unsigned alt = 0;
	int id = n >= 2 ? field_by_name(name, &alt) : -1;
	if (n < 2 || n > 3)
		return bad(l, "malformed field line", args);
	if (id < 0)
		return bad(l, "unknown field", name);
	l->seen_field[id] = true;
	struct profile_field *f = &l->p->fields[id];
	memset(f, 0, sizeof *f);
	if (n == 2 && strcmp(off, "-") == 0)
		return 0;
	if (n != 3 || parse_u32(off, &f->offset) < 0 ||
	    parse_u32(size, &f->size) < 0)
		return bad(l, "bad field offset or size", args);
	f->alt = (uint8_t)alt;
	f->present = true;
	return 0;
}

static int load_sym(struct loader *l, char *args)
{
	char name[64], val[32], extra, *end;
	if (sscanf(args, "%63s %31s %c", name, val, &extra) != 2)
		return bad(l, "malformed sym line", args);
	int s = profile_sym_by_name(name);
	if (s < 0)
		return bad(l, "unknown symbol", name);
	l->seen_sym[s] = true;
	struct profile_sym *y = &l->p->syms[s];
	y->present = strcmp(val, "-") != 0;
	if (!y->present)
		return 0;
	errno = 0;
	y->addr = strtoull(val, &end, 16);
	if (errno || *end || strncmp(val, "0x", 2) != 0)
		return bad(l, "bad symbol address", val);
	return 0;
}

static int load_text(struct loader *l, const char *key, char *args,
		     char *dst, size_t len)
{
	if (strlen(args) >= len)
		return bad(l, "value too long for", key);
	memcpy(dst, args, strlen(args) + 1);
	return 0;
}

static int load_line(struct loader *l, char *line)
{
	char *args = strchr(line, ' ');
	if (!args)
		return bad(l, "malformed line", line);
	*args++ = 0;
	if (strcmp(line, "source") == 0)
		return load_text(l, line, args, l->p->source,
				 sizeof l->p->source);
	if (strcmp(line, "banner") == 0)
		return load_text(l, line, args, l->p->banner,
				 sizeof l->p->banner);
	if (strcmp(line, "struct") == 0)
		return load_struct(l, args);
	if (strcmp(line, "field") == 0)
		return load_field(l, args);
	if (strcmp(line, "sym") == 0)
		return load_sym(l, args);
	for (int k = 0; k < 6; k++)
		if (strcmp(line, derived_keys[k]) == 0)
			return load_text(l, line, args, l->derived[k],
					 sizeof l->derived[k]);
	return bad(l, "unknown keyword", line);
}

static int check_version(struct loader *l, const char *line)
{
	int v;
	char extra;
	if (sscanf(line, PROFILE_MAGIC " %d %c", &v, &extra) != 1)
		return bad(l, "not an xds-profile file: first line is", line);
	if (v != PROFILE_VERSION)
		return xds_fail(l->err, "%s:%d: profile version %d, this "
				"xds-lua reads version %d", l->path, l->line,
				v, PROFILE_VERSION);
	return 0;
}

/* A derived line that disagrees with the fields means a hand-edited or
 * corrupt file: refuse rather than guess. */
static int check_derived(struct loader *l)
{
	const struct profile *p = l->p;
	const char *now[6] = {
		profile_family_name(p->family), yes_no(p->group_sched),
		yes_no(p->delayed_dequeue), yes_no(p->psi),
		profile_state_field(p), profile_lock_field(p),
	};
	for (int k = 0; k < 6; k++)
		if (l->derived[k][0] && strcmp(l->derived[k], now[k]) != 0)
			return xds_fail(l->err, "%s: %s is '%s' but the fields "
					"say '%s'", l->path, derived_keys[k],
					l->derived[k], now[k]);
	return 0;
}

/* A profile from an older xds-lua lacks items this one relies on (PSI's,
 * say): refuse it rather than run without them. */
static int check_complete(struct loader *l)
{
	const char *what = NULL;
	char field[160];
	for (int i = 0; i < T__COUNT && !what; i++)
		if (!l->seen_struct[i])
			what = profile_struct_name(i);
	for (int i = 0; i < F__COUNT && !what; i++)
		if (!l->seen_field[i]) {
			snprintf(field, sizeof field, "%s.%s", profile_struct_name(profile_field_struct(i)),
				 profile_field_path(l->p, i));
			what = field;
		}
	for (int i = 0; i < S__COUNT && !what; i++)
		if (!l->seen_sym[i])
			what = profile_sym_name(i);
	if (what)
		return xds_fail(l->err, "%s: '%s' is not listed: the profile was made by an older "
				"xds-lua; build it again", l->path, what);
	return 0;
}

static int load_stream(struct loader *l, FILE *f)
{
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		l->line++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n')
			return bad(l, "line too long", "...");
		line[strcspn(line, "\r\n")] = 0;
		int rc;
		if (l->line == 1)
			rc = check_version(l, line);
		else if (line[0] == '#' || line[0] == 0)
			rc = 0;
		else
			rc = load_line(l, line);
		if (rc < 0)
			return -1;
	}
	if (l->line == 0)
		return xds_fail(l->err, "%s: empty file", l->path);
	return check_complete(l);
}

int profile_load(const char *path, struct profile *p, struct xds_err *err)
{
	struct loader l;
	memset(&l, 0, sizeof l);
	l.path = path;
	l.p = p;
	l.err = err;
	memset(p, 0, sizeof *p);
	FILE *f = fopen(path, "r");
	if (!f)
		return xds_fail(err, "%s: %s", path, strerror(errno));
	int rc = load_stream(&l, f);
	fclose(f);
	if (rc < 0)
		return -1;
	profile_derive(p);
	if (check_derived(&l) < 0 || profile_check(p, err) < 0)
		return xds_err_wrap(err, "%s", path);
	return 0;
}
