/*
 * main.c - the xds-sim command line.
 *
 *   xds-sim SCENARIO.lua --dir DIR [--seed N] [--realtime] [--strict]
 *       lays out every domain's RAM, QMP socket and System.map in DIR and
 *       serves QMP until quit or SIGTERM;
 *   xds-sim SCENARIO.lua --run 10s [--json] [--seed N] [--strict]
 *       runs that much virtual time untouched and prints the ground truth.
 * Exit status: 0, 1 for a usage or scenario error, 2 if invariants were
 * violated during --run, 3 when --strict stopped at a violation.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "simk.h"
#include "version.h"       /* XDS_RELEASE, XDS_COMMIT: made by the Makefile */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xds-sim SCENARIO.lua --dir DIR [--seed N] [--realtime] [--strict]\n"
		"       xds-sim SCENARIO.lua --run DURATION [--json] [--seed N] [--strict]\n"
		"  --dir DIR       write NAME.ram, NAME.qmp, NAME.System.map and host.qmp here\n"
		"                  (a folder that exists)\n"
		"  --run DURATION  run this much virtual time (\"10s\", \"500ms\") and print the truth\n"
		"  --json          print the ground truth as JSON\n"
		"  --seed N        random seed (default 1): same seed, same run\n"
		"  --realtime      time follows the wall clock instead of x-sim-step\n"
		"  --strict        stop at the first invariant violation\n"
		"  --help          show this help\n"
		"  --version       show the version\n");
}

static int remove_tree(const char *dir, struct sim *s)
{
	char path[600];
	for (int i = 0; i < s->nr_doms; i++) {
		snprintf(path, sizeof path, "%s/%s.ram", dir, s->doms[i]->name);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s.System.map", dir, s->doms[i]->name);
		unlink(path);
	}
	return rmdir(dir);
}

static int prepare(struct sim *s, const char *dir)
{
	char err[512], path[600];
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xds-sim: --dir %s: %s\n", dir, stat(dir, &st) < 0 ? strerror(errno)
			: "not a folder");
		return -1;
	}
	for (int i = 0; i < s->nr_doms; i++) {
		struct sdom *d = s->doms[i];
		if (sim_mem_create(d, dir, err, sizeof err)) {
			fprintf(stderr, "xds-sim: %s\n", err);
			return -1;
		}
		snprintf(path, sizeof path, "%s/%s.System.map", dir, d->name);
		if (sim_write_system_map(path)) {
			fprintf(stderr, "xds-sim: %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	sim_start(s);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "run", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "realtime", no_argument, NULL, 'R' }, { "strict", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *run = NULL;
	uint64_t seed = 1;
	bool json = false, realtime = false, strict = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': dir = optarg; break;
		case 'r': run = optarg; break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg) {
				fprintf(stderr, "xds-sim: --seed: '%s' is not a number\n", optarg);
				return 1;
			}
			break;
		case 'j': json = true; break;
		case 'R': realtime = true; break;
		case 'S': strict = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("xds-sim %s (commit %s)\n", XDS_RELEASE, XDS_COMMIT); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "xds-sim: %s\n", optind >= argc ? "no scenario file given" : "one scenario file, please");
		usage(stderr);
		return 1;
	}
	if (!run && !dir) {
		fprintf(stderr, "xds-sim: give --dir DIR to serve the host, or --run DURATION\n");
		return 1;
	}
	uint64_t run_ns = 0;
	if (run) {
		bool ok = true;
		run_ns = sim_parse_duration(run, &ok);
		if (!ok || !run_ns) {
			fprintf(stderr, "xds-sim: --run: '%s' is not a duration (like \"10s\")\n", run);
			return 1;
		}
	}
	char err[1024];
	struct sim *s = sim_load(argv[optind], seed, err, sizeof err);
	if (!s) {
		fprintf(stderr, "xds-sim: %s\n", err);
		return 1;
	}
	s->strict = strict;
	char tmp[] = "/tmp/xds-sim.XXXXXX";
	bool own_dir = !dir;
	if (own_dir && !(dir = mkdtemp(tmp))) {
		fprintf(stderr, "xds-sim: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	int rc = 0;
	if (prepare(s, dir)) {
		rc = 1;
	} else if (run) {
		sim_step(s, run_ns);
		sim_print_truth(s, stdout, json);
		rc = s->violations ? 2 : 0;
	} else {
		rc = sim_serve(s, dir, realtime) ? 1 : 0;
	}
	if (s->halted)
		rc = 3;
	if (own_dir)
		remove_tree(dir, s);
	sim_free(s);
	return rc;
}
