/*
 * plot.c - `xds-lua plot TIMELINE.json -o FIG.svg`: the paper's Fig. 2
 * drawn from a --timeline file (timeline.c's format).  One panel per
 * guest on a common time axis; per task a line that is up while the task
 * is on its run queue (running or queued) and down while off it, its
 * running time filled beneath, the time xds-lua held it frozen shaded.
 *
 * The figure is a handful of lines, rectangles and words, so it is written
 * as SVG by hand: each task's line is one <path> with an id naming the
 * task ("rq-U1-bkup-320"), which a test or a reader can find again (cairo
 * 1.16's SVG surface cannot name what it draws).  A PNG is rsvg-convert's
 * job (librsvg), as scripts/demo does.  Reading the JSON is jansson's.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/observe.h"

#define W 1000                  /* the figure's width, px */
#define LEFT 150                /* room for the task names */
#define RIGHT 30
#define ROW 30                  /* one task's row */
#define PANEL_HEAD 34           /* a guest's title above its rows */
#define TOP 78                  /* the title and the legend */
#define BOTTOM 56               /* the time axis */
#define MAX_ROWS 64             /* tasks drawn; more would be unreadable */

struct row {
	int pid, tid;
	const char *name;
	json_t *spans;          /* the track's "X" events, by ts */
};

struct fig {
	FILE *f;
	double t0, t1;          /* the time shown, s */
	int y;                  /* the next row's top */
};

static double x_of(const struct fig *g, double t)
{
	return LEFT + (t - g->t0) / (g->t1 - g->t0) * (W - LEFT - RIGHT);
}

static void text(FILE *f, double x, double y, const char *anchor, const char *cls, const char *s)
{
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor, cls);
	for (; *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:  if ((unsigned char)*s >= 0x20) fputc(*s, f);
		}
	fputs("</text>\n", f);
}

static const char *state_of(json_t *e)
{
	const char *s = json_string_value(json_object_get(e, "name"));
	return s ? s : "";
}

static double ts_of(json_t *e)
{
	return json_number_value(json_object_get(e, "ts")) / 1e6;
}

static double end_of(json_t *e)
{
	return ts_of(e) + json_number_value(json_object_get(e, "dur")) / 1e6;
}

/* A path id of letters, digits and dashes: "rq-U1-bkup-320". */
static void path_id(char *buf, size_t size, const char *guest, const char *task)
{
	snprintf(buf, size, "rq-%s-%s", guest, task);
	size_t n = strlen(buf);
	if (n && buf[n - 1] == ']')
		buf[n - 1] = 0;
	for (char *p = buf; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
			*p = *p == '[' ? '-' : '_';
}

/* One task: running filled, frozen shaded, then the run-queue line. */
static void draw_row(struct fig *g, const struct row *r, const char *guest)
{
	double hi = g->y + 6, lo = g->y + ROW - 6;
	size_t i;
	json_t *e;
	text(g->f, LEFT - 8, lo - 4, "end", "task", r->name);
	fprintf(g->f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>\n",
		LEFT, lo, W - RIGHT, lo);
	json_array_foreach(r->spans, i, e) {
		double a = fmax(ts_of(e), g->t0), b = fmin(end_of(e), g->t1);
		const char *s = state_of(e);
		if (b <= a || (strcmp(s, "frozen") && strcmp(s, "running")))
			continue;
		fprintf(g->f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\"/>\n", s,
			x_of(g, a), strcmp(s, "frozen") ? hi : (double)g->y + 1, x_of(g, b) - x_of(g, a),
			strcmp(s, "frozen") ? lo - hi : ROW - 2.0);
	}
	char id[96];
	path_id(id, sizeof id, guest, r->name);
	fprintf(g->f, "<path id=\"%s\" class=\"runqueue\" d=\"M%.2f %.1f", id, x_of(g, g->t0), lo);
	bool up = false;
	json_array_foreach(r->spans, i, e) {
		const char *s = state_of(e);
		bool on = !strcmp(s, "running") || !strcmp(s, "queued");
		double a = ts_of(e), b = end_of(e);
		if (b <= g->t0 || a >= g->t1)
			continue;
		a = fmax(a, g->t0);
		if (on != up || (up && i > 0 && ts_of(e) > end_of(json_array_get(r->spans, i - 1)) + 1e-9)) {
			if (up)         /* a gap in the track: down at its start */
				fprintf(g->f, " V%.1f", lo);
			fprintf(g->f, " H%.2f V%.1f", x_of(g, a), on ? hi : lo);
			up = on;
		}
		if (up)
			fprintf(g->f, " H%.2f", x_of(g, fmin(b, g->t1)));
	}
	if (up)
		fprintf(g->f, " V%.1f", lo);
	fprintf(g->f, " H%.2f\"/>\n", x_of(g, g->t1));
	g->y += ROW;
}

static double nice_step(double span)
{
	double raw = span / 10, p = pow(10, floor(log10(raw)));
	return raw / p < 2 ? 2 * p : raw / p < 5 ? 5 * p : 10 * p;
}

static void axis(struct fig *g, int top)
{
	double step = nice_step(g->t1 - g->t0);
	fprintf(g->f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", LEFT, g->y, W - RIGHT, g->y);
	for (double t = ceil(g->t0 / step) * step; t <= g->t1 + 1e-9; t += step) {
		char label[32];
		snprintf(label, sizeof label, "%g", fabs(t) < 1e-12 ? 0 : t);
		fprintf(g->f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" class=\"tick\"/>\n",
			x_of(g, t), top, x_of(g, t), g->y + 5);
		text(g->f, x_of(g, t), g->y + 20, "middle", "label", label);
	}
	text(g->f, (LEFT + W - RIGHT) / 2.0, g->y + 42, "middle", "label",
	     "time (s of host time since the start)");
}

static void legend(FILE *f, const char *title)
{
	text(f, LEFT, 26, "start", "title", title);
	fprintf(f, "<path class=\"runqueue\" d=\"M%d 58 H%d V46 H%d V58 H%d\"/>\n", LEFT, LEFT + 10, LEFT + 30, LEFT + 40);
	text(f, LEFT + 48, 57, "start", "label", "on its run queue (up) or off it (down)");
	fprintf(f, "<rect class=\"running\" x=\"%d\" y=\"46\" width=\"20\" height=\"12\"/>\n", LEFT + 330);
	text(f, LEFT + 356, 57, "start", "label", "running");
	fprintf(f, "<rect class=\"frozen\" x=\"%d\" y=\"44\" width=\"20\" height=\"16\"/>\n", LEFT + 440);
	text(f, LEFT + 466, 57, "start", "label", "frozen by xds-lua");
}

/* ---- reading the timeline ---- */

static int cmp_ts(const void *a, const void *b)
{
	double x = ts_of(*(json_t *const *)a), y = ts_of(*(json_t *const *)b);
	return x < y ? -1 : x > y;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	return x->pid != y->pid ? x->pid - y->pid : x->tid - y->tid;
}

static const char *meta_name(json_t *ev, const char *what, int pid, int tid)
{
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "ph")) ?: "", "M") ||
		    strcmp(state_of(e), what) || json_integer_value(json_object_get(e, "pid")) != pid ||
		    (tid >= 0 && json_integer_value(json_object_get(e, "tid")) != tid))
			continue;
		return json_string_value(json_object_get(json_object_get(e, "args"), "name"));
	}
	return NULL;
}

/* The tracks that were ever on a run queue or frozen, by guest then task. */
static int collect(json_t *ev, struct row *rows, double *t1)
{
	int n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(ev, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "ph")) ?: "", "X"))
			continue;
		int pid = (int)json_integer_value(json_object_get(e, "pid"));
		int tid = (int)json_integer_value(json_object_get(e, "tid"));
		*t1 = fmax(*t1, end_of(e));
		int k = 0;
		while (k < n && (rows[k].pid != pid || rows[k].tid != tid))
			k++;
		if (k == n && n == MAX_ROWS)
			continue;
		if (k == n) {
			rows[n++] = (struct row){ .pid = pid, .tid = tid, .spans = json_array() };
			const char *name = meta_name(ev, "thread_name", pid, tid);
			rows[k].name = name ? name : "?";
		}
		json_array_append(rows[k].spans, e);
	}
	int kept = 0;
	for (int k = 0; k < n; k++) {
		bool busy = false;
		json_array_foreach(rows[k].spans, i, e)
			busy |= strcmp(state_of(e), "asleep") != 0;
		if (busy)
			rows[kept++] = rows[k];
		else
			json_decref(rows[k].spans);
	}
	for (int k = 0; k < kept; k++) {
		size_t m = json_array_size(rows[k].spans);
		json_t **v = malloc((m ? m : 1) * sizeof *v);
		for (size_t j = 0; v && j < m; j++)
			v[j] = json_incref(json_array_get(rows[k].spans, j));
		if (v) {
			qsort(v, m, sizeof *v, cmp_ts);
			json_array_clear(rows[k].spans);
			for (size_t j = 0; j < m; j++)
				json_array_append_new(rows[k].spans, v[j]);
		}
		free(v);
	}
	qsort(rows, (size_t)kept, sizeof *rows, cmp_row);
	return kept;
}

static void draw(FILE *f, json_t *ev, struct row *rows, int n, struct fig *g, const char *title)
{
	int panels = 0;
	for (int k = 0; k < n; k++)
		panels += k == 0 || rows[k].pid != rows[k - 1].pid;
	int h = TOP + panels * (PANEL_HEAD + 8) + n * ROW + BOTTOM;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
		"<style>text{font-family:DejaVu Sans,Arial,sans-serif;fill:#222}"
		".title{font-size:17px;font-weight:bold}.panel{font-size:14px;font-weight:bold}"
		".task,.label{font-size:12px}.runqueue{fill:none;stroke:#1f4e99;stroke-width:1.6}"
		".running{fill:#9cc3ee}.frozen{fill:#f2a0a0;opacity:0.75}"
		".grid{stroke:#ccc;stroke-width:0.6}.axis{stroke:#222;stroke-width:1}"
		".tick{stroke:#ddd;stroke-width:0.6}.frame{fill:none;stroke:#888}</style>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, h, W, h);
	g->f = f;
	legend(f, title);
	g->y = TOP;
	int top = TOP;
	for (int k = 0; k < n; k++) {
		const char *guest = meta_name(ev, "process_name", rows[k].pid, -1);
		if (k == 0 || rows[k].pid != rows[k - 1].pid) {
			if (k)
				g->y += 8;
			text(f, LEFT - 8, g->y + 22, "end", "panel", guest ? guest : "?");
			int m = 0;
			while (k + m < n && rows[k + m].pid == rows[k].pid)
				m++;
			fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
				LEFT, g->y + PANEL_HEAD - 4, W - LEFT - RIGHT, m * ROW + 4);
			g->y += PANEL_HEAD;
		}
		draw_row(g, &rows[k], guest ? guest : "?");
	}
	g->y += 4;
	axis(g, top);
	fputs("</svg>\n", f);
}

static int usage(void)
{
	fprintf(stderr, "usage: xds-lua plot TIMELINE.json -o FIG.svg [--from S] [--to S] [--title T]\n");
	return 2;
}

int cli_plot(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *title = NULL;
	double from = 0, to = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "-o") && has)
			out = argv[++i];
		else if (!strcmp(a, "--from") && has)
			from = atof(argv[++i]);
		else if (!strcmp(a, "--to") && has)
			to = atof(argv[++i]);
		else if (!strcmp(a, "--title") && has)
			title = argv[++i];
		else if (!strcmp(a, "--help"))
			return usage() ? 0 : 0;
		else if (a[0] != '-' && !in)
			in = a;
		else
			return usage();
	}
	if (!in || !out)
		return usage();
	size_t no = strlen(out);
	if (no < 4 || strcmp(out + no - 4, ".svg")) {
		fprintf(stderr, "xds-lua: plot: %s: the figure is SVG (FIG.svg); for a PNG: rsvg-convert FIG.svg -o FIG.png\n", out);
		return 2;
	}
	json_error_t je;
	json_t *root = json_load_file(in, 0, &je);
	json_t *ev = json_object_get(root, "traceEvents");
	if (!json_is_array(ev)) {
		fprintf(stderr, "xds-lua: plot: %s: %s\n", in, root ? "no traceEvents array" : je.text);
		json_decref(root);
		return 1;
	}
	struct row *rows = calloc(MAX_ROWS, sizeof *rows);
	double t1 = 0;
	int n = rows ? collect(ev, rows, &t1) : 0;
	struct fig g = { .t0 = from, .t1 = to > from ? to : t1 };
	FILE *f = n && g.t1 > g.t0 ? fopen(out, "w") : NULL;
	int rc = 0;
	if (!f) {
		fprintf(stderr, "xds-lua: plot: %s\n", !n || g.t1 <= g.t0 ? "nothing to draw (no task ever ran)"
			: strerror(errno));
		rc = 1;
	} else {
		draw(f, ev, rows, n, &g, title ? title : in);
		if (fclose(f) != 0)
			rc = 1;
	}
	for (int k = 0; k < n; k++)
		json_decref(rows[k].spans);
	free(rows);
	json_decref(root);
	return rc;
}
