/* SPDX-License-Identifier: MIT */
/*
 * The screen of `ttmem top`: title and segment line, a row of bars per chip,
 * the selected chip's history, the process table.  Every write goes through
 * put(), which clips to the current LINES x COLS, so any terminal size (and
 * any resize between two frames) is safe.
 */
#include <curses.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sanitize.h"
#include "top.h"

#define LEFT_W 11   /* " " + the LEFT(ALL) column of the chip table */

static const unsigned shown_types[TYPES_SHOWN] = {
	TTMEM_TYPE_DRAM, TTMEM_TYPE_L1, TTMEM_TYPE_L1_SMALL, TTMEM_TYPE_TRACE, TTMEM_TYPE_CB,
};

static const char *const sort_names[SORT_COUNT] = { "live", "peak", "pid", "name" };

static void put(int y, int x, int attr, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(int y, int x, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int room = COLS - x;

	if (y < 0 || y >= LINES || x < 0 || room <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (attr)
		attron(attr);
	mvaddnstr(y, x, buf, room);
	if (attr)
		attroff(attr);
}

static int bar_color(double frac)
{
	if (!has_colors())
		return 0;
	return COLOR_PAIR(frac >= 0.9 ? 3 : frac >= 0.7 ? 2 : 1);
}

static void draw_bar(int y, int x, int width, uint64_t v, uint64_t scale, int exact)
{
	double frac = scale ? (double)v / (double)scale : 0.0;
	int fill, i;

	if (width < 3 || y >= LINES)
		return;
	if (frac > 1.0)
		frac = 1.0;
	fill = (int)(frac * (width - 2) + 0.5);
	if (v && fill == 0)
		fill = 1;
	put(y, x, 0, "[");
	for (i = 0; i < width - 2; i++)
		put(y, x + 1 + i, i < fill ? bar_color(exact ? frac : 0.0) : 0, "%c",
		    i < fill ? (exact ? '#' : '=') : ' ');
	put(y, x + width - 1, 0, "]");
}

static int cmp_proc(const void *a, const void *b, void *arg);

struct sort_ctx {
	const struct model *m;
	enum sort_key key;
	int reverse;
};

static struct sort_ctx sort_ctx; /* qsort has no context argument in C11 */

static int cmp_proc_ix(const void *a, const void *b)
{
	int c = cmp_proc(a, b, &sort_ctx);

	return sort_ctx.reverse ? -c : c;
}

static int cmp_proc(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *sc = arg;
	const struct model_proc *x = &sc->m->proc[*(const size_t *)a];
	const struct model_proc *y = &sc->m->proc[*(const size_t *)b];

	switch (sc->key) {
	case SORT_PEAK:
		if (x->peak_bytes != y->peak_bytes)
			return x->peak_bytes > y->peak_bytes ? -1 : 1;
		break;
	case SORT_PID:
		break;
	case SORT_NAME: {
		int c = strcmp(x->name, y->name);

		if (c)
			return c;
		break;
	}
	default:
		if (x->live_bytes != y->live_bytes)
			return x->live_bytes > y->live_bytes ? -1 : 1;
		if (x->table_bytes != y->table_bytes)
			return x->table_bytes > y->table_bytes ? -1 : 1;
		break;
	}
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static uint64_t proc_on_device(const struct model *m, const struct model_proc *p, uint32_t dev)
{
	for (size_t i = 0; i < p->cell_count; i++) {
		const struct model_cell *c = &m->cell[p->cell_first + i];

		if (m->dev[c->dev_ix].device == dev)
			return c->total;
	}
	return 0;
}

static int draw_chips(struct top *tp, int y, int max_rows)
{
	const struct model *m = &tp->m;
	/* LEFT: what processes no longer running still hold there (exited:
	 * their leak records; dead: orphaned), not in use, so not in the bars;
	 * when the screen has room for it beside bars of 4 columns or more. */
	int left_w = (COLS - 6 - LEFT_W) / TYPES_SHOWN >= 14 ? LEFT_W : 0;
	int cell = (COLS - 6 - left_w) / TYPES_SHOWN, first = 0, rows;
	uint64_t maxv[TYPES_SHOWN] = { 0 };
	long sel = tp->sel_device >= 0 ? model_dev_index(m, (uint32_t)tp->sel_device) : -1;
	int bl = m->baseline_ns != 0;
	char b[32];

	if (cell < 8)
		cell = 8;
	put(y, 0, A_BOLD, "CHIP");
	for (int k = 0; k < TYPES_SHOWN; k++)
		put(y, 6 + k * cell, A_BOLD, "%s%s", type_name(shown_types[k]), bl ? " (delta)" : "");
	if (left_w)
		put(y, 6 + TYPES_SHOWN * cell, A_BOLD, " %10s", "LEFT(ALL)");
	y++;
	if (!m->ndev) {
		put(y, 0, 0, "(no chip seen yet)");
		return 2;
	}
	for (size_t i = 0; i < m->ndev; i++)
		for (int k = 0; k < TYPES_SHOWN; k++)
			if (m->dev[i].in_use[shown_types[k]] > maxv[k])
				maxv[k] = m->dev[i].in_use[shown_types[k]];
	rows = max_rows - 1;
	/* What does not fit is counted on a last line, as for processes. */
	if ((size_t)rows < m->ndev && rows > 1)
		rows--;
	if (rows < 1)
		rows = 1;
	/* Scroll so that the selected chip is visible. */
	if (sel >= rows)
		first = (int)sel - rows + 1;
	for (int r = 0; r < rows && (size_t)(first + r) < m->ndev; r++) {
		const struct model_dev *d = &m->dev[first + r];
		int is_sel = (long)(first + r) == sel;

		/* "unknown" does not fit the 4-column chip field: "?" here. */
		if (d->device == TTMEM_DEVICE_UNKNOWN)
			put(y + r, 0, is_sel ? A_REVERSE : 0, "%c%4s", is_sel ? '>' : ' ', "?");
		else
			put(y + r, 0, is_sel ? A_REVERSE : 0, "%c%4u", is_sel ? '>' : ' ', d->device);
		for (int k = 0; k < TYPES_SHOWN; k++) {
			unsigned ty = shown_types[k];
			int x = 6 + k * cell, barw = cell - 10;
			uint64_t scale = d->capacity[ty] ? d->capacity[ty] : maxv[k];

			if (barw >= 4)
				draw_bar(y + r, x, barw, d->in_use[ty], scale, d->capacity[ty] != 0);
			if (bl)
				put(y + r, x + (barw >= 4 ? barw : 0), 0, "%c%8s",
				    d->in_use[ty] >= d->baseline[ty] ? '+' : '-',
				    fmt_bytes(b, sizeof(b),
						d->in_use[ty] >= d->baseline[ty] ?
							d->in_use[ty] - d->baseline[ty] :
							d->baseline[ty] - d->in_use[ty]));
			else
				put(y + r, x + (barw >= 4 ? barw : 0), 0, " %8s",
				    fmt_bytes(b, sizeof(b), d->in_use[ty]));
		}
		if (left_w) {
			uint64_t left = 0;

			for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
				left += d->exited[ty] + d->orphaned[ty];
			put(y + r, 6 + TYPES_SHOWN * cell, 0, " %10s", fmt_bytes(b, sizeof(b), left));
		}
	}
	if ((size_t)rows < m->ndev) {
		size_t more = m->ndev - (size_t)rows;

		put(y + rows, 0, A_BOLD, "... %zu more chip%s (of %zu; %d-%d shown): left/right "
		    "select and scroll", more, more == 1 ? "" : "s", m->ndev, first,
		    first + rows - 1);
		return 2 + rows;
	}
	return 1 + (int)m->ndev;
}

/* After the history's title: the selected chip's peaks per type since the
 * segment was created or cleared (segment.h, "Peaks"), as far as they fit. */
static void draw_peaks(const struct top *tp, int y)
{
	long k = model_dev_index(&tp->m, (uint32_t)tp->sel_device);
	char line[256], b[32];
	size_t n = 0;

	if (k < 0)
		return;
	for (unsigned ty = 0; ty < MODEL_TYPES && n < sizeof(line); ty++) {
		const struct model_dev *d = &tp->m.dev[k];

		if (d->peak[ty])
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s %s",
					      n ? "," : "; peak", type_name(ty),
					      fmt_bytes(b, sizeof(b), d->peak[ty]));
	}
	if (n && n < sizeof(line))
		put(y, getcurx(stdscr), A_BOLD, "%s", line);
}

static int draw_history(struct top *tp, int y, int height)
{
	struct history *h = NULL;
	int width = COLS - 10;
	uint64_t maxv = 0;
	char b[32], chip[16];

	if (tp->sel_device < 0 || height < 3 || width < 10)
		return 0;
	for (size_t i = 0; i < tp->nhist; i++)
		if (tp->hist[i].device == (uint32_t)tp->sel_device)
			h = &tp->hist[i];
	if (!h)
		return 0;
	if (width > (int)HIST_LEN)
		width = (int)HIST_LEN;
	for (int c = 0; c < width; c++)
		if (h->bucket[(h->last_bucket + HIST_LEN - (uint64_t)c) % HIST_LEN] > maxv)
			maxv = h->bucket[(h->last_bucket + HIST_LEN - (uint64_t)c) % HIST_LEN];
	put(y, 0, A_BOLD, "chip %s in use, last %d min (%us per column), max %s",
	    device_name(chip, sizeof(chip), (uint32_t)tp->sel_device),
	    (width * (int)HIST_BUCKET_S + 59) / 60, HIST_BUCKET_S, fmt_bytes(b, sizeof(b), maxv));
	draw_peaks(tp, y);
	height -= 1;
	for (int r = 0; r < height; r++) {
		uint64_t level = maxv ? maxv * (uint64_t)(height - r) / (uint64_t)height : 0;

		put(y + 1 + r, 0, 0, "%8s|", r == 0 ? fmt_bytes(b, sizeof(b), maxv) :
						 r == height - 1 ? "0" : "");
		for (int c = 0; c < width; c++) {
			/* Newest at the right. */
			uint64_t v = h->bucket[(h->last_bucket + HIST_LEN - (uint64_t)(width - 1 - c)) %
					       HIST_LEN];

			if (maxv && v && v >= level - level / (uint64_t)(2 * height))
				put(y + 1 + r, 9 + c, 0, "%c", '#');
		}
	}
	return 1 + height;
}

int top_filter_match(const struct top *tp, const struct model_proc *p)
{
	char pid[16];

	if (!tp->filter[0])
		return 1;
	snprintf(pid, sizeof(pid), "%u", p->pid);
	return strstr(p->name, tp->filter) || strstr(pid, tp->filter);
}

static void draw_procs(struct top *tp, int y)
{
	const struct model *m = &tp->m;
	size_t *order, n = 0;
	char b1[32], b2[32], b3[32], b4[32], name[80];
	int rows = LINES - y - 1;

	if (rows < 1)
		return;
	put(y, 0, A_BOLD, "%-8s %-16s %-8s %10s %10s %10s %10s   (chip %s; sort: %s%s)", "PID",
	    "NAME", "STATE", "CHIP", "LIVE", "PEAK", "RELEASED",
	    tp->sel_device < 0 ? "-1" : device_name(b1, sizeof(b1), (uint32_t)tp->sel_device),
	    sort_names[tp->sort], tp->reverse ? ", reversed" : "");
	if (!m->nproc)
		return;
	order = malloc(m->nproc * sizeof(*order));
	if (!order)
		return;
	for (size_t i = 0; i < m->nproc; i++)
		if (top_filter_match(tp, &m->proc[i]))
			order[n++] = i;
	sort_ctx.m = m;
	sort_ctx.key = tp->sort;
	sort_ctx.reverse = tp->reverse;
	qsort(order, n, sizeof(*order), cmp_proc_ix);
	/* What does not fit is said, never dropped silently. */
	if (n > (size_t)rows)
		rows--;
	for (int r = 0; r < rows && (size_t)r < n; r++) {
		const struct model_proc *p = &m->proc[order[r]];
		uint64_t on = tp->sel_device >= 0 ? proc_on_device(m, p, (uint32_t)tp->sel_device) : 0;

		put(y + 1 + r, 0, p->state == TTMEM_LIVENESS_RUNNING ? 0 : A_DIM,
		    "%-8u %s %-8s %10s %10s %10s %10s%s", p->pid,
		    san_cell(name, sizeof(name), p->name, sizeof(p->name), 16, 0, tp->term_flags),
		    liveness_name(p->state), fmt_bytes(b1, sizeof(b1), on),
		    fmt_bytes(b2, sizeof(b2), p->live_bytes), fmt_bytes(b3, sizeof(b3), p->peak_bytes),
		    fmt_bytes(b4, sizeof(b4), p->released_total),
		    p->partial ? "  PARTIAL (tracked in part)" : "");
	}
	if (n > (size_t)rows)
		put(y + 1 + rows, 0, A_BOLD, "... %zu more process%s (of %zu%s): / filter, s sort, "
		    "r reverse", n - (size_t)rows, n - (size_t)rows == 1 ? "" : "es", n,
		    tp->filter[0] ? " matching" : "");
	else if (!n)
		put(y + 1, 0, 0, "(no process matches the filter)");
	free(order);
}

static void draw_help(struct top *tp, int y)
{
	static const char *const lines[] = {
		"Keys",
		"  q, Esc, Ctrl-C     quit",
		"  left/right, h/l    select the previous / next chip (tab, shift-tab too)",
		"  s                  sort processes by live, peak, pid, name (in turn)",
		"  r                  reverse the sort order",
		"  p, space           pause / resume sampling (the screen keeps the last sample)",
		"  /                  filter processes by name or pid (Enter applies,",
		"                     Esc cancels, an empty filter shows all)",
		"  ?                  this help (any key returns)",
		"",
		"Sizes are binary: KiB, MiB, GiB (1024-based), as in 'ttmem show'.",
		"STATE: running; exited (its entries are its leak record, not in use);",
		"dead (killed: its entries are orphaned until 'ttmem reap').",
	};

	(void)tp;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		put(y + (int)i, 0, i ? 0 : A_BOLD, "%s", lines[i]);
}

void top_draw(struct top *tp)
{
	char clock[16] = "";
	time_t now = time(NULL);
	struct tm tm;
	int y = 0, chip_rows, hist_rows;

	erase();
	if (localtime_r(&now, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	{
		char shm[200];

		san_cell(shm, sizeof(shm), tp->shm, strlen(tp->shm), 24, 0, tp->term_flags);
		put(y++, 0, A_BOLD, "ttmem top  %s  every %llu ms  %s%s   ? help  q quit", shm,
		    (unsigned long long)tp->interval_ms, clock, tp->paused ? "  PAUSED" : "");
	}
	if (tp->status[0])
		put(y++, 0, A_BOLD, "%s", tp->status);
	if (tp->editing || tp->filter[0]) {
		char fl[300];

		san_cell(fl, sizeof(fl), tp->filter, sizeof(tp->filter), 60, 0, tp->term_flags);
		put(y++, 0, A_BOLD, "filter: %s%s", fl, tp->editing ? "  (Enter apply, Esc cancel)" : "");
	}
	if (tp->help) {
		draw_help(tp, y + 1);
	} else if (tp->have_model) {
		const struct model_seg *g = &tp->m.seg;
		uint64_t orphaned = 0;
		char b[32];

		for (size_t i = 0; i < tp->m.ndev; i++)
			orphaned += model_sum(tp->m.dev[i].orphaned);
		put(y++, 0, 0, "slots %llu/%llu  procs %llu  events %llu  drops %llu  unmatched %llu"
			       "  orphaned %s%s",
		    (unsigned long long)g->entries, (unsigned long long)g->capacity,
		    (unsigned long long)g->procs_registered, (unsigned long long)g->events,
		    (unsigned long long)g->drops, (unsigned long long)g->unmatched,
		    fmt_bytes(b, sizeof(b), orphaned), tp->m.baseline_ns ? "  [baseline]" : "");
		y++;
		/* Chips get up to half the screen, the history 8 rows, the rest
		 * goes to processes. */
		chip_rows = (LINES - y) / 2;
		if (chip_rows > (int)tp->m.ndev + 1)
			chip_rows = (int)tp->m.ndev + 1;
		y += draw_chips(tp, y, chip_rows < 2 ? 2 : chip_rows) + 1;
		hist_rows = LINES - y - 4 >= 8 ? 8 : LINES - y - 4;
		if (hist_rows >= 3)
			y += draw_history(tp, y, hist_rows) + 1;
		draw_procs(tp, y);
	}
	refresh();
}

