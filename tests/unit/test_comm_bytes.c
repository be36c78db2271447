/*
 * test_comm_bytes.c - a comm is bytes, and every path keeps them.
 *
 * tests/sim_comms.lua names three tasks: a"b\c + newline + tab + byte 1,
 * "dé€" in UTF-8, and bad\xffbyte.  Each comm must come out the same
 * through xds-sim's JSON (--run --json, and x-sim-tasks read by the QMP
 * client), through xds-lua's --report file (its rows and the truth in
 * it), and, as the bytes themselves, in Lua; ps shows them escaped.  In
 * JSON the invalid byte is U+FFFD (util/json.h's byte rule), in Lua it is
 * the byte.  When python3 is installed it must read both JSON texts too.
 */
#include "../tap.h"
#include "../simctl.h"

#define SCENARIO "tests/sim_comms.lua"

struct comm {
	int pid;
	const char *bytes;          /* as the scenario sets it, as Lua sees it */
	const char *json;           /* as JSON carries it */
	const char *shown;          /* as ps shows it */
};

static const struct comm comms[] = {
	{ 101, "a\"b\\c\n\t\x01", "a\"b\\c\n\t\x01", "a\"b\\\\c\\n\\t\\x01" },
	{ 102, "d\xc3\xa9\xe2\x82\xac", "d\xc3\xa9\xe2\x82\xac", "d\xc3\xa9\xe2\x82\xac" },
	{ 103, "bad\xff" "byte", "bad\xef\xbf\xbd" "byte", "bad\\xff" "byte" },
};
#define NR_COMMS (int)(sizeof comms / sizeof comms[0])

/* The output of a shell command; caller frees. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = simctl_slurp(p);
	if (p)
		pclose(p);
	return out;
}

/* The comm of pid in an array of task objects, NULL if absent. */
static const char *comm_of(const json_t *tasks, int pid)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t)
		if (json_integer_value(json_object_get(t, "pid")) == pid)
			return json_string_value(json_object_get(t, "comm"));
	return NULL;
}

static void same_comms(const json_t *tasks, const char *where)
{
	for (int i = 0; i < NR_COMMS; i++)
		is_str(comm_of(tasks, comms[i].pid), comms[i].json, "%s: pid %d's comm", where, comms[i].pid);
}

/* python3 reads the JSON file at path, and prints the comms it found. */
static void python_reads(const char *path, const char *rows, const char *what)
{
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP python3 is not installed (%s)", what);
		return;
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "python3 -c 'import json, sys\n"
		 "d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
		 "print(sorted((t[\"pid\"], t[\"comm\"]) for t in d%s if t[\"pid\"] > 100))' %s", rows, path);
	char *out = run(cmd);
	is_str(out, "[(101, 'a\"b\\\\c\\n\\t\\x01'), (102, 'd\xc3\xa9\xe2\x82\xac'), "
	       "(103, 'bad\xef\xbf\xbd" "byte')]\n", "python3's json reads %s", what);
	free(out);
}

static void test_sim(void)
{
	struct simctl sc;
	struct xds_err err = { "" };
	if (!ok(simctl_start(&sc, SCENARIO, NULL, &err) == 0, "xds-sim runs %s (%s)", SCENARIO, err.msg))
		return;
	simctl_step(&sc, 100000000, &err);
	json_t *t = simctl_tasks(&sc, &err);
	ok(t != NULL, "x-sim-tasks parses in the QMP client (%s)", t ? "" : err.msg);
	same_comms(json_object_get(t, "tasks"), "x-sim-tasks");
	json_decref(t);
	simctl_stop(&sc);

	char sim[256], path[] = "/tmp/xds-comms.XXXXXX", cmd[768];
	int fd = mkstemp(path);
	if (fd >= 0)
		close(fd);
	simctl_bin("xds-sim", sim, sizeof sim);
	snprintf(cmd, sizeof cmd, "%s %s --run 1s --json > %s", sim, SCENARIO, path);
	ok(system(cmd) == 0, "xds-sim --run 1s --json");
	char *text = simctl_read(path);
	t = text ? xds_json_parse(text, strlen(text), &err) : NULL;
	ok(t != NULL, "its output parses (%s)", t ? "" : err.msg);
	same_comms(json_object_get(t, "tasks"), "--run --json");
	json_decref(t);
	free(text);
	python_reads(path, "[\"tasks\"]", "xds-sim --json");
	unlink(path);
}

static void test_xds_lua(void)
{
	char xl[256], lua[256], policy[256], report[] = "/tmp/xds-report.XXXXXX", cmd[1024];
	simctl_bin("xds-lua", xl, sizeof xl);
	int fd = mkstemp(report);
	if (fd >= 0)
		close(fd);
	simctl_write_scenario("comms.lua", "local s = {}\nfor _, t in ipairs(xds.tasks{dom = 'B'}) do\n"
			      "  if t.pid > 100 then s[#s + 1] = t.pid .. '=' .. t.comm end\nend\n"
			      "print(table.concat(s, '|'))\n", lua, sizeof lua);
	simctl_write_scenario("idle.lua", "return { tick = function() end }\n", policy, sizeof policy);

	snprintf(cmd, sizeof cmd, "%s --sim %s %s", xl, SCENARIO, lua);
	char *out = run(cmd);
	is_str(out, "101=a\"b\\c\n\t\x01|102=d\xc3\xa9\xe2\x82\xac|103=bad\xff" "byte\n",
	       "Lua gets each comm's bytes, UTF-8 and all");
	free(out);

	snprintf(cmd, sizeof cmd, "%s --sim %s -e 'ps(\"B/*\")'", xl, SCENARIO);
	out = run(cmd);
	for (int i = 0; i < NR_COMMS; i++)
		ok(out && strstr(out, comms[i].shown), "ps shows pid %d's comm as %s", comms[i].pid,
		   comms[i].shown);
	free(out);

	snprintf(cmd, sizeof cmd, "%s --sim %s --journal %s.journal --duration 1s --report %s %s "
		 ">/dev/null 2>&1", xl, SCENARIO, report, report, policy);
	ok(system(cmd) == 0, "xds-lua --report runs a policy for 1 s");
	char *text = simctl_read(report);
	struct xds_err err = { "" };
	json_t *r = text ? xds_json_parse(text, strlen(text), &err) : NULL;
	ok(r != NULL, "the report parses (%s)", r ? "" : err.msg);
	same_comms(json_object_get(r, "tasks"), "--report");
	same_comms(json_object_get(json_object_get(r, "truth"), "tasks"), "--report's truth");
	json_decref(r);
	free(text);
	python_reads(report, "[\"tasks\"]", "the report");
	unlink(report);
	snprintf(cmd, sizeof cmd, "%s.journal", report);
	unlink(cmd);
	simctl_remove_scenario(lua);
	simctl_remove_scenario(policy);
}

int main(void)
{
	test_sim();
	test_xds_lua();
	return done_testing();
}
