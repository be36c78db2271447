/*
 * log.c - the log lines of a run's life, as an administrator reads them
 * in the journal: the start (every guest with its kernel and its number
 * of tasks, the policy and its tick), each guest attached, lost or back
 * later, and the stop (why, how many tasks were thawed).  The lines go
 * through runtime/util/log.h like every other layer's; the events of the
 * layers below (refusals, reloads, overruns) are logged where they happen.
 */
#include <inttypes.h>
#include <string.h>

#include "cli/observe.h"
#include "host/host.h"
#include "lua/policy.h"
#include "lua/run.h"
#include "sched/sched.h"
#include "util/log.h"

enum gstate { G_UNSEEN, G_OK, G_LOST, G_GONE };

/* What the log last said of each guest slot; the process has one run. */
static struct {
	bool started;
	enum gstate state[XDS_MAX_GUESTS];
	uint32_t gen[XDS_MAX_GUESTS];
} seen;

static enum gstate state_of(const struct xds_guest *g)
{
	return xds_guest_gone(g) ? G_GONE : xds_guest_error(g)[0] ? G_LOST : G_OK;
}

/* "U1 (Linux version 6.1.0, 87 tasks; cfs; profile vmlinux-6.1.0 (DWARF))":
 * the banner up to its first "(", the scheduler family (", read only"
 * where xds-lua cannot change it yet) and where the profile came from. */
static void describe(char *buf, size_t size, struct xds_guest *g)
{
	const char *banner = xds_guest_banner(g)[0] ? xds_guest_banner(g) : "a static snapshot";
	int n = (int)strcspn(banner, "(");
	while (n > 0 && banner[n - 1] == ' ')
		n--;
	bool writes;
	const char *family = xds_guest_family(g, &writes), *source = xds_guest_profile_source(g);
	snprintf(buf, size, "%s (%.*s, %d tasks%s%s%s%s%s)", xds_guest_name(g), n, banner,
		 xds_guest_snapshot(g)->nr_tasks, *family ? "; " : "", family,
		 *family && !writes ? ", read only" : "", *source ? "; profile " : "", source);
}

static void log_start(struct xds_run *r)
{
	char line[2048] = "", one[400];
	struct xds_host *h = r->host;
	int n = xds_host_nr_guests(h);
	for (int i = 0; i < n; i++) {
		describe(one, sizeof one, xds_host_guest(h, i));
		if (strlen(line) + strlen(one) + 3 < sizeof line)
			strcat(strcat(line, i ? ", " : ""), one);
	}
	xds_log(XDS_LOG_NOTICE, "started: policy %s, tick %.3g ms; %d guest(s): %s",
		r->policy ? xds_policy_name(r->policy) : "(none)",
		r->policy && xds_policy_tick_ms(r->policy) && !r->opt.tick_ns
			? (double)xds_policy_tick_ms(r->policy)
			: (double)(r->opt.tick_ns ? r->opt.tick_ns : 10000000u) / 1e6,
		n, n ? line : "none");
}

static void log_guest(struct xds_guest *g, enum gstate was, enum gstate now)
{
	char one[200];
	if (now == G_OK && was == G_UNSEEN) {
		describe(one, sizeof one, g);
		xds_log(XDS_LOG_NOTICE, "guest attached: %s", one);
	} else if (now == G_OK) {
		xds_log(XDS_LOG_NOTICE, "guest %s readable again", xds_guest_name(g));
	} else if (now == G_LOST) {
		xds_log(XDS_LOG_WARNING, "guest lost: %s: %s", xds_guest_name(g), xds_guest_error(g));
	}
	/* a guest gone for good was said by the host layer, with its reason */
}

void cli_log_tick(struct xds_run *r)
{
	struct xds_host *h = r->host;
	int n = xds_host_nr_guests(h);
	for (int i = 0; i < n && i < XDS_MAX_GUESTS; i++) {
		struct xds_guest *g = xds_host_guest(h, i);
		enum gstate now = state_of(g), was = seen.state[i];
		if (xds_guest_gen(g) != seen.gen[i])
			was = G_UNSEEN;         /* the slot holds another guest now */
		if (seen.started && now != was)
			log_guest(g, was, now);
		seen.state[i] = now;
		seen.gen[i] = xds_guest_gen(g);
	}
	if (!seen.started)
		log_start(r);
	seen.started = true;
}

void cli_log_stop(struct xds_run *r, const char *why, int thawed, int left)
{
	double secs = r->sched ? (double)xds_sched_elapsed(r->sched) / 1e9 : 0;
	xds_log(left ? XDS_LOG_ERR : strcmp(why, "error") == 0 ? XDS_LOG_WARNING : XDS_LOG_NOTICE,
		"stopped: %s after %.3f s (%" PRIu64 " ticks); %d task(s) thawed, %d left frozen",
		why, secs, r->ticks, thawed, left);
}
