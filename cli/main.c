/*
 * main.c - main() of xds-lua: the lua interpreter's command line plus
 * the host to look at.
 *
 *   xds-lua [--sim SCENARIO [--seed N]] [--qemu SPEC]... [--profile FILE]
 *           [--tick MS] [--duration D] [--dry-run] [--report FILE.json]
 *           [--journal PATH] [--trace FILE] [--unsafe] [--realtime]
 *           [-q] [--syslog] [--metrics ADDR:PORT] [--metrics-file PATH]
 *           [--timeline FILE.json] [-e STAT] [-l MOD] [-i] [-v] [--] [script [args]]
 *   xds-lua --recover [--journal PATH]
 *   xds-lua profile build|show ...
 *   xds-lua plot TIMELINE.json -o FIG.svg
 *
 * Options are checked before anything starts; then the host is attached,
 * the scheduler started, the `xds` module opened, -e and -l run in order,
 * and the script runs with its arguments in `arg`, in a sandboxed Lua
 * state of its own (lua/policy.c; --unsafe lifts the sandbox).  A script
 * that returns a policy table or defines a global tick is a policy: the
 * tick loop runs it (lua/run.c) until --duration, SIGINT or SIGTERM, then
 * the report.  -i (or no script on a terminal) opens the REPL instead.
 * Whatever happens (error, SIGINT, SIGTERM, any signal that can be caught
 * but SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) every frozen task is thawed and
 * the host closed before exit, so a simulator is never left running.  This
 * is the top of the tree: it chooses the kinds of host by name through
 * runtime/host, starts runtime/sched, and runs lua/ and repl/ on them.
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "cli/cli.h"
#include "cli/observe.h"
#include "host/host.h"
#include "lua/policy.h"
#include "lua/run.h"
#include "lua/watchdog.h"
#include "lua/xds.h"
#include "repl/repl.h"
#include "sched/sched.h"
#include "util/log.h"

#include "version.h"       /* XDS_RELEASE, XDS_COMMIT: made by the Makefile */

#define XDS_VERSION "xds-lua " XDS_RELEASE

static const char progname[] = "xds-lua";

/* What the process has one of: its Lua state, host, scheduler and tick
 * driver, for the signals and atexit. */
static lua_State *globalL;
static struct xds_host *host;
static struct xds_sched *sched;
static FILE *trace_file;            /* --trace, closed after the last thaw */
static bool trace_failed;
static struct xds_run driver;
static bool driver_open;
static volatile sig_atomic_t signalled, hangup, last_signal, status_asked;

#define MAX_CHUNKS 256

struct options {
	const char *sim, *profile, *profile_dir;
	bool xen;
	unsigned long long seed;
	bool has_seed, has_e, interactive, version;
	uint64_t tick_ns, duration_ns;
	const char *report, *journal, *trace;
	bool dry_run, recover, unsafe, realtime, allow_protected;
	bool check;                 /* xds-lua check POLICY: findings, nothing changed */
	const char *qemu[XDS_MAX_GUESTS];
	int nr_qemu;
	int chunks[MAX_CHUNKS];     /* argv indexes of -e and -l, in order */
	int nr_chunks;
	int script;                 /* argv index of the script, 0 if none */
	struct cli_observe obs;     /* -q, -v, --syslog, --metrics, --timeline ... */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [options] [script [args]]\n"
		"       %s check [options] POLICY [args]   try a policy in a dry run (1 s unless\n"
		"                   --duration): specs that match nothing or protected tasks, the tick's cost\n"
		"       %s profile build|show ...\n"
		"       %s plot TIMELINE.json -o FIG.svg\n"
		"Available options are:\n"
		"  -e stat      execute string 'stat'\n"
		"  -i           enter interactive mode after executing 'script'\n"
		"  -l mod       require library 'mod' into global 'mod'\n"
		"  -l g=mod     require library 'mod' into global 'g'\n"
		"  -v           show version information; the log says more (-q: warnings only)\n"
		"  --           stop handling options\n"
		"  -            stop handling options and execute stdin\n"
		"  --sim SCENARIO   start xds-sim on SCENARIO (a .lua file) and attach its domains\n"
		"                   (the simulator is the xds-sim beside xds-lua, or $XDS_SIM)\n"
		"  --seed N         the simulator's random seed (with --sim)\n"
		"  --qemu NAME:ram=PATH,qmp=PATH[,profile=FILE][,vmlinux=ELF,sysmap=MAP][,vmlinuz=IMAGE]\n"
		"                   attach a QEMU guest (repeatable)\n"
		"  --profile FILE   kernel profile for --qemu guests that give none\n"
		"  --xen            attach every domU of this Xen host whose kernel has a profile\n"
		"                   (the default in a dom0 when neither --sim nor --qemu is given)\n"
		"  --profile-dir D  where --xen looks for profiles (default /etc/xds/profiles)\n"
		"A script that returns a policy (a table with tick) or defines tick() runs\n"
		"as a policy, every tick:\n"
		"  --tick MS        tick length (default: the policy's tick_ms, else 10)\n"
		"  --duration D     run that long (\"10s\", \"500ms\"); default: until SIGINT/SIGTERM\n"
		"  --dry-run        print the plan each tick, change nothing\n"
		"  --report FILE    write a JSON report at the end (per task CPU, frozen, waiting)\n"
		"  --trace FILE     one line per freeze or thaw tried, with its outcome and reason\n"
		"  --journal PATH   the journal of frozen tasks (default under $XDG_STATE_HOME)\n"
		"  --recover        thaw what the journal lists (after a crash), then exit\n"
		"  --unsafe         run scripts and policies without the sandbox\n"
		"  --allow-protected  let policies freeze init, kernel threads and idle tasks\n"
		"  --realtime       with --sim: the simulator and the ticks follow the wall clock\n"
		"  --syslog         log through syslog(3) instead of stderr\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics over HTTP (e.g. 127.0.0.1:9464)\n"
		"  --metrics-file PATH  write them for node_exporter's textfile collector\n"
		"  --timeline FILE  write a Chrome/Perfetto trace of every task's states\n"
		"  --help           show this help\n"
		"  --version        show the version\n"
		"In Lua: xds.domains(), xds.tasks([filter]), xds.runqueue(dom, cpu),\n"
		"xds.refresh(), xds.advance(duration), xds.time(), ps([filter]),\n"
		"xds.load(policy, ...), xds.unload(), xds.step([n]), xds.run(duration),\n"
		"xds.frozen(), xds.stats(); with --sim xds.sim.step{ns = N}, xds.sim.tasks(),\n"
		"xds.sim.status(); task:freeze(), task:thaw().\n",
		progname, progname, progname, progname);
}

static void print_version(void)
{
	printf("%s (%s; commit %s; hosts: %s)\n", XDS_VERSION, LUA_RELEASE, XDS_COMMIT,
	       xds_host_kinds());
	fflush(stdout);
}

/* One line on stderr, "xds-lua: ...".  Returns -1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	xds_log(XDS_LOG_ERR, "%s", msg);
	return -1;
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i] into *v, advancing *i past
 * it: 1 if it is opt, 0 if not, -1 (said) if the value is missing. */
static int optarg_of(int argc, char **argv, int *i, const char *opt, const char **v)
{
	return cli_optarg(argc, argv, i, opt, v);
}

/* Only the shape; the host layer checks the rest.  Caught here so that
 * a wrong command line starts nothing. */
static int check_qemu(const char *spec)
{
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec)
		return fail("--qemu: %s: expected NAME:ram=PATH,qmp=PATH[,...]", spec);
	if (!strstr(colon, ":ram=") && !strstr(colon, ",ram="))
		return fail("--qemu: %s: no ram=PATH (the guest's RAM file)", spec);
	if (!strstr(colon, ":qmp=") && !strstr(colon, ",qmp="))
		return fail("--qemu: %s: no qmp=PATH (the guest's QMP socket)", spec);
	return 0;
}

static int check_seed(const char *s, unsigned long long *seed)
{
	char *end;
	errno = 0;
	*seed = strtoull(s, &end, 0);
	if (!*s || *end || errno || *s == '-')
		return fail("--seed: '%s': not a non-negative integer", s);
	return 0;
}

/* "10s", "250ms", "1.5min", or a number of seconds. */
static int check_duration(const char *opt, const char *s, uint64_t *ns)
{
	static const struct { const char *unit; double ns; } units[] = {
		{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"", 1e9}, {"min", 60e9}, {"h", 3600e9},
	};
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	for (size_t i = 0; end != s && !errno && v > 0 && i < sizeof units / sizeof *units; i++)
		if (strcmp(end, units[i].unit) == 0 && v * units[i].ns < 1e18) {
			*ns = (uint64_t)(v * units[i].ns);
			return *ns ? 0 : fail("%s: '%s': too short", opt, s);
		}
	return fail("%s: '%s': expected a duration such as 10s or 500ms", opt, s);
}

static int check_tick(const char *s, uint64_t *ns)
{
	char *end;
	errno = 0;
	double ms = strtod(s, &end);
	if (end == s || *end || errno || !(ms >= 0.1 && ms <= 3600e3))
		return fail("--tick: '%s': expected milliseconds (0.1 to 3600000)", s);
	*ns = (uint64_t)(ms * 1e6);
	return 0;
}

static int flag_option(const char *a, struct options *o)
{
	bool *f = !strcmp(a, "--dry-run") ? &o->dry_run : !strcmp(a, "--recover") ? &o->recover
		: !strcmp(a, "--unsafe") ? &o->unsafe : !strcmp(a, "--realtime") ? &o->realtime
		: !strcmp(a, "--allow-protected") ? &o->allow_protected : NULL;
	if (f)
		*f = true;
	return f != NULL;
}

/* Options of the tick loop: 1 if taken, 0 if not one, -1 on error. */
static int run_option(int argc, char **argv, int *i, struct options *o)
{
	const char *v;
	int r;
	if (flag_option(argv[*i], o))
		return 1;
	if ((r = optarg_of(argc, argv, i, "--tick", &v)))
		return r > 0 && check_tick(v, &o->tick_ns) == 0 ? 1 : -1;
	if ((r = optarg_of(argc, argv, i, "--duration", &v)))
		return r > 0 && check_duration("--duration", v, &o->duration_ns) == 0 ? 1 : -1;
	if ((r = optarg_of(argc, argv, i, "--report", &o->report)))
		return r;
	if ((r = optarg_of(argc, argv, i, "--trace", &o->trace)))
		return r;
	return optarg_of(argc, argv, i, "--journal", &o->journal);
}

/* A long option of ours at argv[*i]: 1 if taken, 0 if not ours, -1 on error. */
static int long_option(int argc, char **argv, int *i, struct options *o)
{
	const char *v;
	int r;
	if ((r = run_option(argc, argv, i, o)))
		return r;
	if ((r = optarg_of(argc, argv, i, "--sim", &o->sim)))
		return r;
	if ((r = optarg_of(argc, argv, i, "--profile", &o->profile)))
		return r;
	if ((r = optarg_of(argc, argv, i, "--profile-dir", &o->profile_dir)))
		return r;
	if (!strcmp(argv[*i], "--xen")) {
		o->xen = true;
		return 1;
	}
	if ((r = optarg_of(argc, argv, i, "--seed", &v)))
		return r > 0 && check_seed(v, &o->seed) == 0 ? (o->has_seed = true, 1) : -1;
	if ((r = optarg_of(argc, argv, i, "--qemu", &v))) {
		if (r < 0 || check_qemu(v) < 0)
			return -1;
		if (o->nr_qemu == XDS_MAX_GUESTS)
			return fail("--qemu: more than %d guests", XDS_MAX_GUESTS);
		o->qemu[o->nr_qemu++] = v;
		return 1;
	}
	return 0;
}

static int lua_option(int argc, char **argv, int *i, struct options *o)
{
	const char *a = argv[*i];
	switch (a[1]) {
	case 'i':
		o->interactive = true;      /* -i implies -v */
		/* fallthrough */
	case 'v':
		if (a[2])
			break;
		o->version = o->obs.verbose = true;
		return 1;
	case 'e':
		o->has_e = true;
		/* fallthrough */
	case 'l':
		if (o->nr_chunks == MAX_CHUNKS)
			return fail("%s: more than %d -e and -l options", a, MAX_CHUNKS);
		o->chunks[o->nr_chunks++] = *i;
		if (a[2] == '\0' && (++*i >= argc || argv[*i][0] == '-'))
			return fail("%s: missing argument", a);
		return 1;
	}
	return 0;
}

static int unknown(const char *a)
{
	fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
	fprintf(stderr, "try '%s --help' for more information\n", progname);
	return -1;
}

/* Fills o; 1 to exit with 0 (--help, --version), -1 on error, else 0. */
static int collect_args(int argc, char **argv, struct options *o)
{
	int i, r;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || strcmp(a, "-") == 0)
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0)
			return usage(stdout), 1;
		if (strcmp(a, "--version") == 0)
			return print_version(), 1;
		r = cli_observe_option(argc, argv, &i, &o->obs);
		if (!r)
			r = a[1] == '-' ? long_option(argc, argv, &i, o) : lua_option(argc, argv, &i, o);
		if (r <= 0)
			return r < 0 ? -1 : unknown(a);
	}
	o->script = i < argc ? i : 0;
	if (o->check) {
		if (!o->script)
			return fail("check: give the policy to check (xds-lua check [options] POLICY [args])");
		if (o->interactive || o->has_e || o->recover)
			return fail("check: -i, -e, -l and --recover are not for a check");
		o->dry_run = true;      /* nothing is changed in any guest */
		if (!o->duration_ns)
			o->duration_ns = 1000000000ULL;
	}
	if (o->has_seed && !o->sim)
		return fail("--seed: only meaningful with --sim");
	if (o->realtime && !o->sim)
		return fail("--realtime: only meaningful with --sim");
	if ((o->report && cli_check_out_path("--report", o->report)) ||
	    (o->trace && cli_check_out_path("--trace", o->trace)) ||
	    (o->journal && cli_check_out_path("--journal", o->journal)))
		return -1;
	return 0;
}

/* An option of the tick loop given where no policy runs, or NULL. */
static const char *run_option_given(const struct options *o)
{
	return o->duration_ns ? "--duration" : o->report ? "--report" : o->tick_ns ? "--tick"
		: o->dry_run ? "--dry-run" : o->trace ? "--trace" : NULL;
}

/* The interruption is delivered: a later signal is a new one (REPL). */
static void lstop(lua_State *L, lua_Debug *ar)
{
	const char *msg = signalled == SIGTERM ? "terminated" : "interrupted!";
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	signalled = 0;
	luaL_error(L, "%s", msg);
}

/* A signal stops the Lua code at its next instruction (lua.c's way), so
 * that main closes the host; SIGTERM also closes stdin to end a REPL.  If
 * another comes a few seconds later, still undelivered (stuck in C), the
 * simulator is killed and the process exits now.  Quick repeats are the
 * same request sent twice (timeout(1) signals both process and group). */
static void on_signal(int sig)
{
	static struct timespec first;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (signalled) {
		if (now.tv_sec - first.tv_sec < 2)
			return;
		if (xds_watchdog_force(sig))
			return;         /* it thaws, then exits */
		if (host)
			xds_host_kill_helpers(host);
		_exit(128 + sig);
	}
	first = now;
	signalled = last_signal = sig;
	if (sig == SIGTERM)
		close(STDIN_FILENO);
	if (globalL)
		lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void on_hangup(int sig)
{
	(void)sig;
	hangup = 1;
}

/* A write to a pipe nobody reads: if it is stdout (`xds-lua ... | head`),
 * nobody wants the output any more and the run ends as on SIGTERM;
 * any other pipe or socket only sees its write fail (EPIPE). */
static void on_pipe(int sig)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR) && !signalled)
		on_signal(sig);
}

static void on_status(int sig)
{
	(void)sig;
	status_asked = 1;
}

/* SIGHUP reloads the policy between two ticks, SIGUSR1 prints a status
 * there.  Every other signal that would end the process and can be caught
 * ends it as SIGTERM does, thawing first; a closed stdout (SIGPIPE) is
 * only a failed write.  SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT are
 * left to kill: the state is not to be trusted then (the journal is). */
static void catch_signals(void)
{
	static const int fatal[] = {
		SIGINT, SIGTERM, SIGQUIT, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF,
	};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		sigaction(fatal[i], &sa, NULL);
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_status;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_pipe;
	sigaction(SIGPIPE, &sa, NULL);
	xds_policy_set_interrupt(&signalled);
}

static int attach(const struct options *o)
{
	struct xds_err err = {""};
	struct xds_attach_opts ao = {
		.profile = o->profile, .profile_dir = o->profile_dir,
		.seed = o->has_seed ? o->seed : 1, .realtime = o->realtime,
	};
	if (o->sim) {
		if (access(o->sim, R_OK) < 0)
			return fail("--sim: %s: %s", o->sim, strerror(errno));
		if (xds_host_attach(host, "sim", o->sim, &ao, &err) < 0)
			return fail("%s", err.msg);     /* "--sim SCENARIO: ..." */
	}
	for (int i = 0; i < o->nr_qemu; i++)
		if (xds_host_attach(host, "qemu", o->qemu[i], &ao, &err) < 0)
			return fail("%s", err.msg);     /* "--qemu NAME: ..." */
	/* in a Xen dom0 the domUs are the default guests */
	if (o->xen || (!o->sim && !o->nr_qemu && !o->recover && xds_host_kind_available("xen")))
		if (xds_host_attach(host, "xen", NULL, &ao, &err) < 0)
			return fail("--xen: %s", err.msg);
	return 0;
}

/* Errors from Lua: one message with its traceback, on stderr. */
static int report(lua_State *L, int status)
{
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
		fflush(stderr);
		lua_pop(L, 1);
	}
	return status;
}

static int dochunk(lua_State *L, int status)
{
	if (status == LUA_OK)
		status = xds_repl_pcall(L, 0, 0);
	return report(L, status);
}

static int dolibrary(lua_State *L, const char *spec)
{
	const char *eq = strchr(spec, '=');
	const char *mod = eq ? eq + 1 : spec;
	lua_getglobal(L, "require");
	lua_pushstring(L, mod);
	int status = xds_repl_pcall(L, 1, 1);
	if (status == LUA_OK) {
		if (eq)
			lua_pushlstring(L, spec, (size_t)(eq - spec));
		else
			lua_pushstring(L, mod);
		lua_insert(L, -2);
		lua_setglobal(L, lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	return report(L, status);
}

/* -e and -l, in command-line order. */
static int runargs(lua_State *L, char **argv, const struct options *o)
{
	for (int k = 0; k < o->nr_chunks; k++) {
		const char *a = argv[o->chunks[k]];
		const char *v = a[2] ? a + 2 : argv[o->chunks[k] + 1];
		int status = a[1] == 'e'
			? dochunk(L, luaL_loadbuffer(L, v, strlen(v), "=(command line)"))
			: dolibrary(L, v);
		if (status != LUA_OK)
			return status;
	}
	return LUA_OK;
}

/* arg[0] is the script, its arguments 1..n, the interpreter's before it. */
static void createargtable(lua_State *L, char **argv, int argc, int script)
{
	lua_createtable(L, argc - script - 1, script + 1);
	for (int i = 0; i < argc; i++) {
		lua_pushstring(L, argv[i]);
		lua_rawseti(L, -2, i - script);
	}
	lua_setglobal(L, "arg");
}

/* xds-lua check: what the policy found, and its tick's cost against the
 * tick and the deadline; exit 2 when something was found, else 0. */
static int check_summary(const struct options *o)
{
	const struct xds_stats *st = sched ? xds_sched_stats(sched) : NULL;
	uint64_t tick = o->tick_ns ? o->tick_ns : 10000000ULL;
	int found = driver.nr_findings;
	for (int i = 0; i < driver.nr_findings; i++)
		printf("finding: %s\n", driver.findings[i]);
	if (!driver.ticks) {
		printf("finding: the policy ran no tick\n");
		found++;
	} else if (st && st->policy.count) {
		double mean = st->policy.total_ns / 1e6 / (double)st->policy.count, max = st->policy.max_ns / 1e6;
		bool over = st->policy.total_ns > tick * st->policy.count;  /* the mean: one preemption is no finding */
		printf("%spolicy tick: mean %.3f ms, max %.3f ms over %llu ticks: %s the tick of %.0f ms "
		       "(deadline %.0f ms)\n", over ? "finding: " : "", mean, max,
		       (unsigned long long)st->policy.count, over ? "more than" : "within", tick / 1e6,
		       XDS_POLICY_DEADLINE_NS / 1e6);
		found += over;
	}
	if (st)
		printf("dry run: the policy asked for %llu freeze(s) and %llu thaw(s); nothing was changed\n",
		       (unsigned long long)st->planned_freezes, (unsigned long long)st->planned_thaws);
	printf("%s: %d finding(s)\n", driver.policy_name[0] ? driver.policy_name : "policy", found);
	return found ? 2 : 0;
}

/* The policy runs until --duration or a signal; then the report, and
 * the table (on stderr under --dry-run, whose stdout is the plan). */
static int run_policy(const struct options *o)
{
	struct xds_err err = {""};
	int status = 0;
	if (xds_run_loop(&driver, o->duration_ns, &err) < 0)
		status = fail("%s", err.msg) ? 1 : 1;
	const char *why = last_signal == SIGTERM ? "SIGTERM" : last_signal == SIGINT ? "SIGINT"
		: status ? "error" : "duration reached";
	uint64_t thaws = sched ? xds_sched_stats(sched)->thaws : 0;
	if (xds_run_unload(&driver, &err) < 0)
		status = fail("%s", err.msg) ? 1 : 1;
	cli_observe_stop(&driver, why, sched ? (int)(xds_sched_stats(sched)->thaws - thaws) : 0,
			 sched ? xds_sched_nr_held(sched) : 0);
	if (o->report && xds_run_report(&driver, o->report, &err) < 0)
		status = fail("%s", err.msg) ? 1 : 1;
	if (o->check)
		return status ? status : check_summary(o);
	if (driver.ticks)
		xds_run_print_table(&driver, o->dry_run ? stderr : stdout);
	return status;
}

/* The script in a state of its own (sandboxed unless --unsafe); a policy
 * becomes the tick driver's.  1 if it is a policy, 0 if not, -1 on error. */
static int handle_script(int argc, char **argv, const struct options *o)
{
	struct xds_err err = {""};
	const char *fname = argv[o->script];
	int nargs = argc - o->script - 1;
	if (strcmp(fname, "-") == 0 && strcmp(argv[o->script - 1], "--") != 0)
		fname = NULL;
	struct xds_policy_opts po;
	xds_run_policy_opts(&driver, &po);
	struct xds_policy *p = xds_policy_new(fname, &po, &err);
	if (p)
		xds_policy_set_argv(p, argc, argv, o->script);
	int is = p ? xds_policy_exec(p, nargs, argv + o->script + 1, false, &err) : -1;
	if (is == 1 && xds_run_set_policy(&driver, p, nargs, argv + o->script + 1, &err) == 0)
		return 1;
	if (is < 0 || is == 1) {
		fprintf(stderr, "%s: %s\n", progname, err.msg);
		fflush(stderr);
	}
	xds_policy_free(p);
	return is == 1 ? -1 : is;
}

static int run(lua_State *L, int argc, char **argv, const struct options *o)
{
	int script = o->script, is = 0;
	createargtable(L, argv, argc, script);
	if (o->version)
		print_version();
	if (runargs(L, argv, o) != LUA_OK)
		return 1;
	if (script && (is = handle_script(argc, argv, o)) < 0)
		return 1;
	/* a run option that nothing used: no policy, and no tick run by the
	 * chunks (xds.step and xds.run tick at --tick, with --trace) */
	if (is != 1 && !o->interactive && run_option_given(o) && driver.ticks == 0)
		return fail("%s: only meaningful with a policy or a script that runs ticks (%s)",
			    run_option_given(o), script
			    ? "the script returns no table with a tick function, defines no tick() and ran no tick"
			    : "no script given, and no tick ran"), 1;
	if (is == 1 && xds_host_nr_guests(host) == 0)
		return fail("no guest to schedule: give --sim SCENARIO or --qemu SPEC, or run in a "
			    "Xen dom0"), 1;
	if (o->interactive)
		return xds_repl(L);
	if (is == 1)
		return run_policy(o);
	if (!script && !o->has_e && !o->version) {
		if (isatty(STDIN_FILENO)) {
			print_version();
			return xds_repl(L);
		}
		return dochunk(L, luaL_loadfile(L, NULL)) == LUA_OK ? 0 : 1;
	}
	return 0;
}

/* $XDG_STATE_HOME/xds-lua/journal, ~/.local/state/xds-lua/journal, or
 * /var/lib/xds-lua/journal as root. */
static const char *default_journal(char *buf, size_t size)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (geteuid() == 0)
		snprintf(buf, size, "/var/lib/xds-lua/journal");
	else if (state && *state)
		snprintf(buf, size, "%s/xds-lua/journal", state);
	else if (home && *home)
		snprintf(buf, size, "%s/.local/state/xds-lua/journal", home);
	else
		return NULL;
	return buf;
}



/* --recover: thaw what a crashed run's journal lists. */
static int recover(const char *journal)
{
	struct xds_err err = {""};
	if (!journal)
		return fail("--recover: no journal (give --journal PATH)");
	return xds_sched_recover(journal, &err) == 0 ? 0 : fail("--recover: %s", err.msg);
}

static int start_sched(const struct options *o, const char *journal)
{
	struct xds_err err = {""};
	struct xds_sched_opts so = {
		.tick_ns = o->tick_ns ? o->tick_ns : 10000000u,
		.journal = journal,
		.dry_run = o->dry_run,
		.plan = o->dry_run && !o->check ? stdout : NULL,
		.allow_protected = o->allow_protected,
		.trace = trace_file,
	};
	struct xds_run_opts ro = {
		.tick_ns = o->tick_ns, .unsafe = o->unsafe, .realtime = o->realtime,
		.dry_run = o->dry_run, .check = o->check,
		.stop = &signalled, .reload = &hangup, .status = &status_asked,
	};
	if (cli_observe_start(&o->obs, &ro) < 0)
		return -1;
	/* xds_sched_new thaws first what a crashed run's journal lists */
	if (xds_host_nr_guests(host) > 0 && !(sched = xds_sched_new(host, &so, &err)))
		return fail("%s", err.msg);
	xds_run_init(&driver, host, sched, &ro);
	driver_open = true;
	if (xds_watchdog_start(sched, host, stderr, XDS_POLICY_DEADLINE_NS, &err) < 0)
		return fail("%s", err.msg);
	return 0;
}

/* Also at exit(): os.exit must leave no task frozen, no simulator running. */
static void close_host(void)
{
	struct xds_err err = {""};
	xds_watchdog_stop();
	cli_observe_stop(&driver, NULL, 0, 0);
	if (driver_open)
		xds_run_fini(&driver);
	driver_open = false;
	if (sched && xds_sched_free(sched, &err) < 0)
		fail("%s", err.msg);
	sched = NULL;
	if (trace_file && (ferror(trace_file) | fclose(trace_file)))
		trace_failed = true;       /* a write failed (a full disk, /dev/full) */
	trace_file = NULL;
	struct xds_host *h = host;
	host = NULL;
	xds_host_free(h);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		o.check = true;         /* the rest as for a run, which check makes dry */
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (argc > 1 && strcmp(argv[1], "profile") == 0)
		return cli_profile(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "plot") == 0)
		return cli_plot(argc - 1, argv + 1);
	int r = collect_args(argc, argv, &o);
	cli_observe_log(&o.obs);
	if (r != 0)
		return r > 0 ? 0 : 1;
	char jbuf[PATH_MAX];
	const char *journal = o.journal ? o.journal : default_journal(jbuf, sizeof jbuf);
	if (o.recover)
		return recover(journal) < 0 ? 1 : 0;
	if (o.trace && !(trace_file = fopen(o.trace, "w"))) {
		fail("--trace %s: %s", o.trace, strerror(errno));
		return 1;
	}
	lua_State *L = luaL_newstate();
	if (!L)
		return fprintf(stderr, "%s: cannot create a Lua state\n", progname), 1;
	luaL_openlibs(L);
	xds_policy_open_path(L);
	globalL = L;
	struct xds_err err = {""};
	if (!(host = xds_host_new(&err)))
		return fail("%s", err.msg), 1;
	atexit(close_host);
	catch_signals();
	int status = attach(&o) < 0 ? 1 : 0;
	/* a private simulated host dies with us: no journal could thaw it later,
	 * and none is shared with other runs */
	if (!status && !o.journal && xds_host_ephemeral(host))
		journal = NULL;
	status = status || start_sched(&o, journal) < 0 ? 1
		: (xds_lua_open(L, host), xds_run_open(L, &driver), run(L, argc, argv, &o));
	globalL = NULL;
	close_host();
	lua_close(L);
	if (trace_failed)
		status = fail("--trace %s: could not be written whole", o.trace) ? 1 : 1;
	return status;
}
