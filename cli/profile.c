/*
 * profile.c - the `profile` subcommand of xds-lua:
 *
 *   profile build --vmlinux ELF [--system-map MAP] -o FILE
 *   profile build --vmlinuz IMAGE -o FILE     (BTF + kallsyms, no DWARF)
 *   profile build --isf ISF.json -o FILE       (Volatility 3's ISF 6.x)
 *   profile export FILE --isf OUT.json
 *   profile show FILE
 *
 * Parses its own arguments and prints errors once, on stderr; the main
 * program only dispatches argv[0] == "profile" here.
 */
#include <string.h>

#include "cli/cli.h"
#include "profile/profile.h"

#define USAGE "usage: xds-lua profile build --vmlinux ELF " \
	      "[--system-map MAP] -o FILE\n" \
	      "       xds-lua profile build --vmlinuz IMAGE -o FILE\n" \
	      "       xds-lua profile build --isf ISF.json -o FILE\n" \
	      "       xds-lua profile export FILE --isf OUT.json\n" \
	      "       xds-lua profile show FILE\n"

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "xds-lua profile: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n" USAGE);
	return 2;
}

struct build_args {
	const char *vmlinux, *sysmap, *vmlinuz, *isf, *out;
};

static int parse_build(int argc, char **argv, struct build_args *a)
{
	for (int i = 2; i < argc; i++) {
		const char **dst = NULL;
		if (strcmp(argv[i], "--vmlinux") == 0)
			dst = &a->vmlinux;
		else if (strcmp(argv[i], "--vmlinuz") == 0)
			dst = &a->vmlinuz;
		else if (strcmp(argv[i], "--isf") == 0)
			dst = &a->isf;
		else if (strcmp(argv[i], "--system-map") == 0)
			dst = &a->sysmap;
		else if (strcmp(argv[i], "-o") == 0)
			dst = &a->out;
		else
			return usage("build: unknown argument '%s'", argv[i]);
		if (i + 1 >= argc)
			return usage("build: %s needs a file name", argv[i]);
		*dst = argv[++i];
	}
	if ((a->vmlinuz || a->isf) && (a->vmlinux || a->sysmap || (a->vmlinuz && a->isf)))
		return usage("build: %s", "--vmlinuz and --isf stand alone");
	if (!a->vmlinux && !a->vmlinuz && !a->isf)
		return usage("build: %s is missing", "--vmlinux ELF");
	if (!a->out)
		return usage("build: %s is missing", "-o FILE");
	return 0;
}

static int cli_build(int argc, char **argv)
{
	struct build_args a = { NULL, NULL, NULL, NULL, NULL };
	struct profile p;
	struct xds_err err;
	int rc = parse_build(argc, argv, &a);
	if (rc)
		return rc;
	if ((a.vmlinuz ? profile_build_image(a.vmlinuz, &p, &err) :
	     a.isf ? profile_build_isf(a.isf, &p, &err) :
	     profile_build(a.vmlinux, a.sysmap, &p, &err)) < 0 ||
	    profile_save(&p, a.out, &err) < 0) {
		fprintf(stderr, "xds-lua profile: %s\n", err.msg);
		return 1;
	}
	printf("%s: %s, %s scheduler\n", a.out, p.banner,
	       profile_family_name(p.family));
	return 0;
}

static int cli_show(int argc, char **argv)
{
	struct profile p;
	struct xds_err err;
	if (argc != 3)
		return usage("show: %s", argc < 3 ? "missing FILE" :
			     "too many arguments");
	if (profile_load(argv[2], &p, &err) < 0) {
		fprintf(stderr, "xds-lua profile: %s\n", err.msg);
		return 1;
	}
	return profile_print(&p, stdout) < 0 ? 1 : 0;
}

static int cli_export(int argc, char **argv)
{
	struct profile p;
	struct xds_err err;
	if (argc != 5 || strcmp(argv[3], "--isf") != 0)
		return usage("export: %s", "expected FILE --isf OUT.json");
	if (profile_load(argv[2], &p, &err) < 0 ||
	    profile_export_isf(&p, argv[4], &err) < 0) {
		fprintf(stderr, "xds-lua profile: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int cli_profile(int argc, char **argv)
{
	if (argc < 2)
		return usage("%s", "missing command (build, show or export)");
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return fputs(USAGE, stdout), 0;
	if (strcmp(argv[1], "build") == 0)
		return cli_build(argc, argv);
	if (strcmp(argv[1], "show") == 0)
		return cli_show(argc, argv);
	if (strcmp(argv[1], "export") == 0)
		return cli_export(argc, argv);
	return usage("unknown command '%s' (build, show or export)", argv[1]);
}
