/*
 * status.c - what SIGUSR1 prints: the guests attached, the tasks held and
 * the tick figures, a few lines on the driver's log.  Reads the host and
 * the scheduler (through their public calls) and changes nothing; run.c
 * calls it between two ticks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lua/run.h"
#include "host/host.h"
#include "sched/sched.h"
#include "util/utf8.h"

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

const char *xds_run_hold_name(int h)
{
	switch (h) {
	case XH_PENDING: return "pending";
	case XH_DESCHED: return "desched";
	case XH_FROZEN:  return "frozen";
	default:         return "none";
	}
}

void xds_run_print_status(struct xds_run *r, FILE *f)
{
	int n = xds_host_nr_guests(r->host);
	fprintf(f, "xds-lua: status: policy %s, %" PRIu64 " ticks, %d guest(s)\n",
		r->policy_name[0] ? r->policy_name : "(none)", r->ticks, n);
	for (int i = 0; i < n; i++) {
		const struct xds_guest *g = xds_host_guest(r->host, i);
		const char *e = xds_guest_error(g);
		fprintf(f, "xds-lua: status: guest %s%s%s%s\n", xds_guest_name(g), xds_guest_gone(g) ? " (gone)" : "",
			e[0] ? ": " : "", e);
	}
	if (!r->sched)
		return;
	const struct xds_stats *st = xds_sched_stats(r->sched);
	int held = xds_sched_nr_held(r->sched);
	fprintf(f, "xds-lua: status: %d task(s) held; tick mean %.3f max %.3f ms, late max %.3f ms, pause max %.3f ms, "
		"%" PRIu64 " freezes, %" PRIu64 " thaws, %" PRIu64 " retries, %" PRIu64 " undone\n",
		held, st->tick.count ? ms(st->tick.total_ns) / (double)st->tick.count : 0.0, ms(st->tick.max_ns),
		ms(st->late.max_ns), ms(st->pause.max_ns), st->freezes, st->thaws, st->retries, st->undone);
	for (int i = 0; i < held; i++) {
		const struct xds_held *h = xds_sched_held_at(r->sched, i);
		struct utf8_shown c = utf8_shown(h->comm, sizeof h->comm);
		fprintf(f, "xds-lua: status: held %s/%s[%d] %s%s\n", xds_guest_name(xds_host_guest(r->host, h->guest)),
			c.s, h->pid, xds_run_hold_name(h->hold), h->want ? "" : " (to thaw)");
	}
	fflush(f);
}
