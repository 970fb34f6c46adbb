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
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sanitize.h"
#include "top.h"

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
	      "history, and the processes (a last line says how many did not fit).\n"
	      "Keys: ? help, q quit, left/right (or h/l, tab) select a chip, s sort\n"
	      "(live, peak, pid, name), r reverse the order, p or space pause, / filter\n"
	      "the processes by name or pid.\n\n"
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
	struct model_opts mo = { .device = -1, .pid = -1 };
	struct timespec ts;
	uint64_t bucket;
	int rc;

	/* A segment removed and created anew (same name, another file): follow
	 * the name, as a user restarting their runs expects. */
	if (tp->t) {
		dev_t dev;
		ino_t ino;

		if (viewer_shm_identity(tp->shm, &dev, &ino) == 0 && (dev != tp->dev || ino != tp->ino)) {
			ttmem_table_close(tp->t);
			tp->t = NULL;
		}
	}
	if (!tp->t) {
		struct ttmem_open_opts oo = { .readonly = 1, .no_create = 1 };
		char err[200] = "";

		if (viewer_shm_identity(tp->shm, &tp->dev, &tp->ino) < 0)
			tp->dev = 0, tp->ino = 0;
		rc = ttmem_table_open(&tp->t, tp->shm, &oo, err, sizeof(err));
		if (rc < 0) {
			tp->t = NULL;
			snprintf(tp->status, sizeof(tp->status), "%s",
				 rc == -ENOENT ? "no segment yet: waiting for a tracked program" :
				 err[0] ? err : ttmem_strerror(rc));
			return;
		}
	}
	rc = ttmem_snapshot_refresh(tp->t, &tp->snap);
	if (rc < 0) {
		snprintf(tp->status, sizeof(tp->status), "snapshot: %s", ttmem_strerror(rc));
		return;
	}
	if (tp->have_model)
		model_release(&tp->m);
	tp->have_model = model_build(&tp->m, tp->t, &tp->snap, &mo) == 0;
	if (!tp->have_model) {
		snprintf(tp->status, sizeof(tp->status), "out of memory");
		return;
	}
	/* Shrank under us: this sample read zeros; drop it and open the name
	 * again at the next one. */
	if (!ttmem_table_intact(tp->t)) {
		model_release(&tp->m);
		tp->have_model = 0;
		ttmem_table_close(tp->t);
		tp->t = NULL;
		tp->resized++;
		snprintf(tp->status, sizeof(tp->status),
			 "the segment shrank while being read: sample dropped, re-opening");
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

/* A key while the filter line is edited: 1 when it was consumed. */
static int filter_key(struct top *tp, int ch)
{
	size_t n = strlen(tp->filter);

	if (!tp->editing)
		return 0;
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		tp->editing = 0;
	} else if (ch == 27) {
		tp->editing = 0;
		tp->filter[0] = 0;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			tp->filter[n - 1] = 0;
	} else if (ch >= 0x20 && ch < 0x7f && n + 1 < sizeof(tp->filter)) {
		tp->filter[n] = (char)ch;
		tp->filter[n + 1] = 0;
	}
	return ch != ERR;
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
		int rc;

		viewer_shm_identity(tp.shm, &tp.dev, &tp.ino);
		rc = viewer_attach_ex("top", tp.shm, 0, 1, &tp.t);

		if (rc && rc != VX_NOSEG)
			return rc;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: getch returns at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Names print as UTF-8 on a UTF-8 terminal, escaped to ASCII otherwise. */
	setlocale(LC_CTYPE, "");
	tp.term_flags = strcmp(nl_langinfo(CODESET), "UTF-8") ? SAN_ASCII : 0;
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
			if (!tp.paused)
				sample(&tp);
			done++;
			next = now + tp.interval_ms;
		}
		top_draw(&tp);
		now = now_ms();
		timeout(next > now ? (int)(next - now) : 0);
		ch = getch();
		if (filter_key(&tp, ch))
			continue;
		if (tp.help && ch != ERR && ch != KEY_RESIZE) {
			tp.help = 0; /* any key leaves the help */
			if (ch != 'q' && ch != 'Q')
				continue;
		}
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
		case 'r':
			tp.reverse = !tp.reverse;
			break;
		case 'p':
		case ' ':
			tp.paused = !tp.paused;
			break;
		case '/':
			tp.editing = 1;
			tp.filter[0] = 0;
			break;
		case '?':
			tp.help = 1;
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
	ttmem_snapshot_free(&tp.snap);
	free(tp.hist);
	ttmem_table_close(tp.t);
	if (tp.resized) {
		viewer_err("top", "%s: the segment shrank while being read %llu time%s; those "
			   "samples were dropped", tp.shm, (unsigned long long)tp.resized,
			   tp.resized == 1 ? "" : "s");
		return VX_RESIZED;
	}
	return VX_OK;
}
