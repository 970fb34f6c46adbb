/* SPDX-License-Identifier: MIT */
/*
 * `ttmem top`: a live ncurses view of the segment, refreshed every -r MS.
 *
 *   - one row per chip: a bar per buffer type (against the capacity when it
 *     is known, else against the largest chip), the selected chip marked;
 *   - the selected chip's usage history (one column per HIST_BUCKET_S
 *     seconds, the maximum seen in it, up to an hour back);
 *   - the processes, sortable, with their bytes on the selected chip.
 *
 * Terminal safety: SIGINT/SIGTERM/SIGHUP only set a flag (installed before
 * ncurses, so ncurses leaves them alone); every exit path goes through
 * endwin(), also registered with atexit().  Resizes arrive as KEY_RESIZE and
 * every draw clips to the current LINES x COLS, so any size is safe.
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "viewer.h"

#define HIST_BUCKET_S 5u
#define HIST_LEN 720u          /* one hour of 5 s buckets */
#define TYPES_SHOWN 5          /* DRAM, L1, L1_SMALL, TRACE, CB */

static const unsigned shown_types[TYPES_SHOWN] = {
	TTMEM_TYPE_DRAM, TTMEM_TYPE_L1, TTMEM_TYPE_L1_SMALL, TTMEM_TYPE_TRACE, TTMEM_TYPE_CB,
};

enum sort_key { SORT_LIVE, SORT_PEAK, SORT_PID, SORT_NAME, SORT_COUNT };
static const char *const sort_names[SORT_COUNT] = { "live", "peak", "pid", "name" };

struct history {
	uint32_t device;
	uint64_t bucket[HIST_LEN];     /* max in-use bytes in the bucket */
	uint64_t last_bucket;          /* absolute bucket number of the newest */
	int used;
};

struct top {
	const char *shm;
	uint64_t interval_ms;
	uint64_t iterations;           /* 0 = until quit */
	struct ttmem_table *t;
	int have_model;
	struct model m;
	char status[256];              /* the last error, shown on the title line */
	int64_t sel_device;            /* selected chip id, -1 = none yet */
	enum sort_key sort;
	size_t nhist;
	struct history *hist;
	int curses_on;
};

static volatile sig_atomic_t top_stop;
static int top_curses_active;

static void on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void restore_terminal(void)
{
	if (top_curses_active) {
		top_curses_active = 0;
		endwin();
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void top_usage(FILE *f)
{
	fputs("usage: ttmem top [-r MS] [-n COUNT] [--shm NAME]\n\n"
	      "Live view: per-chip bars per buffer type, the selected chip's usage\n"
	      "history, and the processes.  Keys: q quit, left/right (or h/l, tab)\n"
	      "select a chip, s change the sort order (live, peak, pid, name).\n\n"
	      "  -r, --refresh MS   refresh interval, default 1000, minimum 100\n"
	      "  -n, --iterations N exit after N refreshes (default: until q)\n"
	      "      --shm NAME     segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      version\n", f);
}

/* ---- sampling ------------------------------------------------------------------ */

static struct history *hist_for(struct top *tp, uint32_t device)
{
	struct history *n;

	for (size_t i = 0; i < tp->nhist; i++)
		if (tp->hist[i].device == device)
			return &tp->hist[i];
	if (tp->nhist >= 1024) /* bound memory whatever the segment claims */
		return NULL;
	n = realloc(tp->hist, (tp->nhist + 1) * sizeof(*n));
	if (!n)
		return NULL;
	tp->hist = n;
	n = &tp->hist[tp->nhist++];
	memset(n, 0, sizeof(*n));
	n->device = device;
	return n;
}

static void hist_add(struct history *h, uint64_t bucket, uint64_t bytes)
{
	if (!h->used) {
		h->used = 1;
		h->last_bucket = bucket;
	}
	if (bucket > h->last_bucket) {
		uint64_t gap = bucket - h->last_bucket;

		/* Buckets skipped (the view was stalled) read as empty. */
		for (uint64_t i = 1; i <= gap && i <= HIST_LEN; i++)
			h->bucket[(h->last_bucket + i) % HIST_LEN] = 0;
		h->last_bucket = bucket;
	}
	if (bucket == h->last_bucket && bytes > h->bucket[bucket % HIST_LEN])
		h->bucket[bucket % HIST_LEN] = bytes;
}

static void sample(struct top *tp)
{
	struct ttmem_snapshot snap;
	struct model_opts mo = { .device = -1, .pid = -1 };
	struct timespec ts;
	uint64_t bucket;
	int rc;

	if (!tp->t) {
		struct ttmem_open_opts oo = { .readonly = 1, .no_create = 1 };
		char err[200] = "";

		rc = ttmem_table_open(&tp->t, tp->shm, &oo, err, sizeof(err));
		if (rc < 0) {
			tp->t = NULL;
			snprintf(tp->status, sizeof(tp->status), "%s",
				 rc == -ENOENT ? "no segment yet: waiting for a tracked program" :
				 err[0] ? err : ttmem_strerror(rc));
			return;
		}
	}
	rc = ttmem_snapshot(tp->t, &snap);
	if (rc < 0) {
		snprintf(tp->status, sizeof(tp->status), "snapshot: %s", ttmem_strerror(rc));
		return;
	}
	if (tp->have_model)
		model_release(&tp->m);
	tp->have_model = model_build(&tp->m, tp->t, &snap, &mo) == 0;
	ttmem_snapshot_free(&snap);
	if (!tp->have_model) {
		snprintf(tp->status, sizeof(tp->status), "out of memory");
		return;
	}
	tp->status[0] = 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	bucket = (uint64_t)ts.tv_sec / HIST_BUCKET_S;
	for (size_t i = 0; i < tp->m.ndev; i++) {
		struct history *h = hist_for(tp, tp->m.dev[i].device);

		if (h)
			hist_add(h, bucket, model_sum(tp->m.dev[i].in_use));
	}
	if (tp->m.ndev && (tp->sel_device < 0 || model_dev_index(&tp->m, (uint32_t)tp->sel_device) < 0))
		tp->sel_device = tp->m.dev[0].device;
}

/* ---- drawing ------------------------------------------------------------------- */

/* Compact sizes for narrow cells: "14.8M", "256K", "12G". */
static const char *short_bytes(char *buf, size_t len, uint64_t b)
{
	static const char units[] = "BKMGTPE";
	double v = (double)b;
	unsigned u = 0;

	while (v >= 1024.0 && u < 6) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lluB", (unsigned long long)b);
	else
		snprintf(buf, len, v >= 100.0 ? "%.0f%c" : "%.1f%c", v, units[u]);
	return buf;
}

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
};

static struct sort_ctx sort_ctx; /* qsort has no context argument in C11 */

static int cmp_proc_ix(const void *a, const void *b)
{
	return cmp_proc(a, b, &sort_ctx);
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
	int cell = (COLS - 6) / TYPES_SHOWN, first = 0, rows;
	uint64_t maxv[TYPES_SHOWN] = { 0 };
	long sel = tp->sel_device >= 0 ? model_dev_index(m, (uint32_t)tp->sel_device) : -1;
	int bl = m->baseline_ns != 0;
	char b[32];

	if (cell < 8)
		cell = 8;
	put(y, 0, A_BOLD, "CHIP");
	for (int k = 0; k < TYPES_SHOWN; k++)
		put(y, 6 + k * cell, A_BOLD, "%s%s", type_name(shown_types[k]), bl ? " (delta)" : "");
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
	if (rows < 1)
		rows = 1;
	/* Scroll so that the selected chip is visible. */
	if (sel >= rows)
		first = (int)sel - rows + 1;
	for (int r = 0; r < rows && (size_t)(first + r) < m->ndev; r++) {
		const struct model_dev *d = &m->dev[first + r];
		int is_sel = (long)(first + r) == sel;

		put(y + r, 0, is_sel ? A_REVERSE : 0, "%c%4u", is_sel ? '>' : ' ', d->device);
		for (int k = 0; k < TYPES_SHOWN; k++) {
			unsigned ty = shown_types[k];
			int x = 6 + k * cell, barw = cell - 8;
			uint64_t scale = d->capacity[ty] ? d->capacity[ty] : maxv[k];

			if (barw >= 4)
				draw_bar(y + r, x, barw, d->in_use[ty], scale, d->capacity[ty] != 0);
			if (bl)
				put(y + r, x + (barw >= 4 ? barw : 0), 0, "%c%s",
				    d->in_use[ty] >= d->baseline[ty] ? '+' : '-',
				    short_bytes(b, sizeof(b),
						d->in_use[ty] >= d->baseline[ty] ?
							d->in_use[ty] - d->baseline[ty] :
							d->baseline[ty] - d->in_use[ty]));
			else
				put(y + r, x + (barw >= 4 ? barw : 0), 0, " %s",
				    short_bytes(b, sizeof(b), d->in_use[ty]));
		}
	}
	return 1 + ((size_t)rows < m->ndev ? rows : (int)m->ndev);
}

static int draw_history(struct top *tp, int y, int height)
{
	struct history *h = NULL;
	int width = COLS - 10;
	uint64_t maxv = 0, cap = 0;
	char b[32];
	long ix;

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
	ix = model_dev_index(&tp->m, (uint32_t)tp->sel_device);
	if (ix >= 0)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			cap += tp->m.dev[ix].capacity[ty];
	put(y, 0, A_BOLD, "chip %lld in use, last %d min (%us per column), max %s",
	    (long long)tp->sel_device, (width * (int)HIST_BUCKET_S + 59) / 60, HIST_BUCKET_S,
	    short_bytes(b, sizeof(b), maxv));
	height -= 1;
	for (int r = 0; r < height; r++) {
		uint64_t level = maxv ? maxv * (uint64_t)(height - r) / (uint64_t)height : 0;

		put(y + 1 + r, 0, 0, "%8s|", r == 0 ? short_bytes(b, sizeof(b), maxv) :
						 r == height - 1 ? "0" : "");
		for (int c = 0; c < width; c++) {
			/* Newest at the right. */
			uint64_t v = h->bucket[(h->last_bucket + HIST_LEN - (uint64_t)(width - 1 - c)) %
					       HIST_LEN];

			if (maxv && v && v >= level - level / (uint64_t)(2 * height))
				put(y + 1 + r, 9 + c, 0, "%c", '#');
		}
	}
	(void)cap;
	return 1 + height;
}

static void draw_procs(struct top *tp, int y)
{
	const struct model *m = &tp->m;
	size_t *order;
	char b1[32], b2[32], b3[32], b4[32];
	int rows = LINES - y - 1;

	if (rows < 1)
		return;
	put(y, 0, A_BOLD, "%-8s %-16s %-8s %10s %10s %10s %10s   (chip %lld; sort: %s)", "PID",
	    "NAME", "STATE", "CHIP", "LIVE", "PEAK", "RELEASED", (long long)tp->sel_device,
	    sort_names[tp->sort]);
	if (!m->nproc)
		return;
	order = malloc(m->nproc * sizeof(*order));
	if (!order)
		return;
	for (size_t i = 0; i < m->nproc; i++)
		order[i] = i;
	sort_ctx.m = m;
	sort_ctx.key = tp->sort;
	qsort(order, m->nproc, sizeof(*order), cmp_proc_ix);
	for (int r = 0; r < rows && (size_t)r < m->nproc; r++) {
		const struct model_proc *p = &m->proc[order[r]];
		uint64_t on = tp->sel_device >= 0 ? proc_on_device(m, p, (uint32_t)tp->sel_device) : 0;

		put(y + 1 + r, 0, p->state == TTMEM_LIVENESS_RUNNING ? 0 : A_DIM,
		    "%-8u %-16.16s %-8s %10s %10s %10s %10s", p->pid, p->name,
		    p->state == TTMEM_LIVENESS_RUNNING ? "running" :
		    p->state == TTMEM_LIVENESS_EXITED ? "exited" : "orphaned",
		    short_bytes(b1, sizeof(b1), on), short_bytes(b2, sizeof(b2), p->live_bytes),
		    short_bytes(b3, sizeof(b3), p->peak_bytes),
		    short_bytes(b4, sizeof(b4), p->released_total));
	}
	free(order);
}

static void draw(struct top *tp)
{
	char clock[16] = "";
	time_t now = time(NULL);
	struct tm tm;
	int y = 0, chip_rows, hist_rows;

	erase();
	if (localtime_r(&now, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	put(y++, 0, A_BOLD, "ttmem top  %s  every %llu ms  %s   q quit  <- -> chip  s sort",
	    tp->shm, (unsigned long long)tp->interval_ms, clock);
	if (tp->status[0])
		put(y++, 0, A_BOLD, "%s", tp->status);
	if (tp->have_model) {
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
		    short_bytes(b, sizeof(b), orphaned), tp->m.baseline_ns ? "  [baseline]" : "");
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

static void select_chip(struct top *tp, int dir)
{
	long ix;

	if (!tp->have_model || !tp->m.ndev)
		return;
	ix = tp->sel_device >= 0 ? model_dev_index(&tp->m, (uint32_t)tp->sel_device) : -1;
	ix = ix < 0 ? 0 : (ix + dir + (long)tp->m.ndev) % (long)tp->m.ndev;
	tp->sel_device = tp->m.dev[ix].device;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "refresh", required_argument, NULL, 'r' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "shm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct top tp;
	struct sigaction sa;
	SCREEN *scr;
	uint64_t next, done = 0;
	int c;

	memset(&tp, 0, sizeof(tp));
	tp.interval_ms = 1000;
	tp.sel_device = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:n:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (viewer_parse_u64(optarg, 86400000, &tp.interval_ms) < 0 ||
			    tp.interval_ms < 100) {
				viewer_err("top", "--refresh: '%s' is not a number of milliseconds "
					   ">= 100", optarg);
				return VX_USAGE;
			}
			break;
		case 'n':
			if (viewer_parse_u64(optarg, UINT32_MAX, &tp.iterations) < 0 ||
			    !tp.iterations) {
				viewer_err("top", "--iterations: '%s' is not a positive count", optarg);
				return VX_USAGE;
			}
			break;
		case 's':
			tp.shm = optarg;
			break;
		case 'h':
			top_usage(stdout);
			return VX_OK;
		case 'V':
			viewer_version("top");
			return VX_OK;
		case ':':
			viewer_err("top", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("top", "unknown option '%s' (try 'ttmem top --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (optind < argc) {
		viewer_err("top", "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	tp.shm = viewer_shm_name(tp.shm);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		viewer_err("top", "needs a terminal (standard %s is not a tty); "
			   "use 'ttmem show' or 'ttmem show --json' in scripts",
			   !isatty(STDIN_FILENO) ? "input" : "output");
		return VX_NOTERM;
	}
	/* A segment that exists but is refused is an error now, not a status
	 * line: the user asked for the wrong thing.  A missing one is waited for. */
	{
		struct ttmem_open_opts oo = { .readonly = 1, .no_create = 1 };
		char err[256] = "";
		int rc = ttmem_table_open(&tp.t, tp.shm, &oo, err, sizeof(err));

		if (rc < 0 && rc != -ENOENT) {
			viewer_err("top", "%s", err[0] ? err : ttmem_strerror(rc));
			return viewer_exit_code(rc);
		}
		if (rc < 0)
			tp.t = NULL;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: getch returns at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		viewer_err("top", "cannot drive this terminal (TERM=%s)",
			   getenv("TERM") ? getenv("TERM") : "unset");
		ttmem_table_close(tp.t);
		return VX_NOTERM;
	}
	top_curses_active = 1;
	atexit(restore_terminal);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_YELLOW, -1);
		init_pair(3, COLOR_RED, -1);
	}

	next = now_ms();
	while (!top_stop) {
		uint64_t now = now_ms();
		int ch;

		if (now >= next) {
			if (tp.iterations && done >= tp.iterations)
				break;
			sample(&tp);
			done++;
			next = now + tp.interval_ms;
		}
		draw(&tp);
		now = now_ms();
		timeout(next > now ? (int)(next - now) : 0);
		ch = getch();
		switch (ch) {
		case 'q':
		case 'Q':
		case 27: /* Esc */
			top_stop = 1;
			break;
		case KEY_RIGHT:
		case 'l':
		case '\t':
			select_chip(&tp, 1);
			break;
		case KEY_LEFT:
		case 'h':
		case KEY_BTAB:
			select_chip(&tp, -1);
			break;
		case 's':
			tp.sort = (enum sort_key)((tp.sort + 1) % SORT_COUNT);
			break;
		case KEY_RESIZE:
			clear();
			break;
		default:
			break;
		}
	}
	restore_terminal();
	delscreen(scr);
	if (tp.have_model)
		model_release(&tp.m);
	free(tp.hist);
	ttmem_table_close(tp.t);
	return VX_OK;
}
