/* SPDX-License-Identifier: MIT */
/*
 * `ttmem top` driven in tmux (a private server per test: -S, its socket in
 * the test's directory, removed with it, so no run leaves sockets behind):
 * it draws the chips and processes, keys select a chip and change the
 * sort, resizing is safe, q and Ctrl-C quit with the terminal restored
 * (stty -g before and after are equal).  Screen contents are polled with a deadline (the UI
 * refreshes on its own clock; there is nothing else to wait on).
 */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)

static char sock[160], shm[128], dir[128];
static struct ttmem_table *seg;
static pid_t runner;

static int tmux(const char *a1, const char *a2, const char *a3, const char *a4,
		const char *a5, char **out)
{
	char *argv[] = { (char *)"tmux", (char *)"-S", sock, (char *)a1, (char *)a2, (char *)a3,
			 (char *)a4, (char *)a5, NULL };

	return segfix_run(argv, out, NULL);
}

static char *screen(void)
{
	char *out = NULL;

	tmux("capture-pane", "-p", "-t", "t", NULL, &out);
	return out;
}

/* Poll the screen until `what` shows, up to 10 s. */
static char *wait_for(const char *what)
{
	for (int i = 0; i < 200; i++) {
		char *s = screen();
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (s && strstr(s, what))
			return s;
		free(s);
		nanosleep(&ts, NULL);
	}
	{
		char *s = screen();

		cr_assert_fail("'%s' never appeared; screen:\n%s", what, s ? s : "(none)");
	}
	return NULL;
}

static char *file_when_ready(const char *path)
{
	for (int i = 0; i < 200; i++) {
		char *s = segfix_read_file(path);
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (s && strchr(s, '\n'))
			return s;
		free(s);
		nanosleep(&ts, NULL);
	}
	cr_assert_fail("%s never written", path);
	return NULL;
}

static void up(void)
{
	static const struct segfix_alloc run[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_CQ, 0x1000, 14 * MiB },
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 512 * MiB },
		{ 2, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x1000, 1 * MiB },
		{ 3, TTMEM_TYPE_CB, TTMEM_OWNER_APP, 0x100, 64 * 1024 },
	};

	snprintf(dir, sizeof(dir), "/tmp/ttmem-test-viewer-%d-top", (int)getpid());
	snprintf(sock, sizeof(sock), "%s/tmux", dir);
	cr_assert(mkdir(dir, 0700) == 0 || errno == EEXIST);
	segfix_name(shm, sizeof(shm));
	seg = segfix_create(shm, 4, 12 * 1024 * MiB);
	cr_assert_not_null(seg);
	runner = segfix_child(shm, "holder", run, 4, SEGFIX_RUN);
	cr_assert_gt(runner, 0);
}

static void down(void)
{
	char cmd[256];

	tmux("kill-server", NULL, NULL, NULL, NULL, NULL);
	if (runner > 0)
		segfix_stop(runner);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(top, .init = up, .fini = down, .timeout = 60);

/* Start `ttmem top ARGS` in a W x H tmux session; the shell around it
 * records the terminal settings before and after, and top's exit status. */
static void start_sized_on(const char *seg_name, const char *args, const char *w, const char *h)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
		 "stty -g > %s/before; %s top --shm %s %s; echo $? > %s/status; "
		 "stty -g > %s/after; sleep 60",
		 dir, segfix_ttmem(), seg_name, args, dir, dir);
	{
		char *argv[] = { (char *)"tmux", (char *)"-S", sock, (char *)"new-session",
				 (char *)"-d", (char *)"-s", (char *)"t", (char *)"-x", (char *)w,
				 (char *)"-y", (char *)h, cmd, NULL };

		cr_assert_eq(segfix_run(argv, NULL, NULL), 0);
	}
}

static void start_sized(const char *args, const char *w, const char *h)
{
	start_sized_on(shm, args, w, h);
}

static void start(const char *args)
{
	start_sized(args, "120", "40");
}

static void expect_clean_exit(void)
{
	char path[256], *st, *before, *after;

	snprintf(path, sizeof(path), "%s/status", dir);
	st = file_when_ready(path);
	cr_assert_str_eq(st, "0\n");
	snprintf(path, sizeof(path), "%s/after", dir);
	after = file_when_ready(path);
	snprintf(path, sizeof(path), "%s/before", dir);
	before = segfix_read_file(path);
	cr_assert_not_null(before);
	cr_assert_str_eq(after, before, "terminal not restored");
	free(st);
	free(before);
	free(after);
}

Test(top, draws_chips_and_processes_then_quits)
{
	char *s, pid[64];

	start("-r 100");
	s = wait_for("holder");
	cr_assert(strstr(s, "ttmem top  "), "%s", s);
	cr_assert(strstr(s, "CHIP  DRAM"), "%s", s);
	/* the four chips, chip 0 selected */
	cr_assert(strstr(s, ">   0 ["), "%s", s);
	cr_assert(strstr(s, "    1 ["), "%s", s);
	cr_assert(strstr(s, "    3 ["), "%s", s);
	cr_assert(strstr(s, "] 14.0 MiB"), "%s", s);
	cr_assert(strstr(s, "]  512 MiB"), "%s", s);
	cr_assert(strstr(s, "chip 0 in use, last"), "%s", s);
	snprintf(pid, sizeof(pid), "%-8d holder           running", (int)runner);
	cr_assert(strstr(s, pid), "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

/* What processes no longer running left on a chip (an exited one's leak
 * record, a killed one's orphaned entries) is not in use, so not in the
 * bars: a LEFT column says it per chip. */
Test(top, chips_say_what_exited_processes_left)
{
	static const struct segfix_alloc leak[] = {
		{ 2, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x900000, 3 * MiB },
		{ 2, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x90000, 1 * MiB },
	};
	static const struct segfix_alloc orphan[] = {
		{ 3, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0xa00000, 5 * MiB },
	};
	char *s;
	const char *row;

	cr_assert_gt(segfix_child(shm, "leaker", leak, 2, SEGFIX_EXIT), 0);
	cr_assert_gt(segfix_child(shm, "victim", orphan, 1, SEGFIX_KILLED), 0);
	start("-r 100");
	s = wait_for("holder");
	cr_assert(strstr(s, "LEFT(ALL)"), "%s", s);
	/* Chip 2: 4 MiB left (DRAM and L1 of the exited process), its 1 MiB
	 * in use unchanged; chip 3: the dead one's 5 MiB; chip 0: nothing. */
	row = strstr(s, "    2 [");
	cr_assert(row && strstr(row, "4.00 MiB\n") == strchr(row, '\n') - 8, "%s", s);
	row = strstr(s, "    3 [");
	cr_assert(row && strstr(row, "5.00 MiB\n") == strchr(row, '\n') - 8, "%s", s);
	row = strstr(s, ">   0 [");
	cr_assert(row && strstr(row, " 0 B\n") == strchr(row, '\n') - 4, "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

/* The selected chip's peaks (segment.h, "Peaks") after its history's title. */
Test(top, shows_the_selected_chips_peaks)
{
	struct ttmem_device_info *d = &ttmem_table_devices_rw(seg)[0];
	char *s;

	atomic_store(&d->peak[TTMEM_TYPE_DRAM], TTMEM_PEAK_MAKE(20 * MiB, 0));
	atomic_store(&d->peak[TTMEM_TYPE_L1], TTMEM_PEAK_MAKE(512 * 1024, 0));
	start("-r 100");
	s = wait_for("holder");
	cr_assert(strstr(s, "; peak DRAM 20.0 MiB, L1 512 KiB"), "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

Test(top, keys_select_chip_and_sort)
{
	char *s;

	start("-r 100");
	free(wait_for(">   0 ["));
	tmux("send-keys", "-t", "t", "Right", NULL, NULL);
	s = wait_for(">   1 [");
	cr_assert(strstr(s, "(chip 1; sort: live)"), "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "Left", NULL, NULL);
	tmux("send-keys", "-t", "t", "Left", NULL, NULL);
	free(wait_for(">   3 ["));
	tmux("send-keys", "-t", "t", "s", NULL, NULL);
	free(wait_for("sort: peak"));
	tmux("send-keys", "-t", "t", "s", NULL, NULL);
	free(wait_for("sort: pid"));
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

Test(top, ctrl_c_restores_the_terminal)
{
	start("-r 100");
	free(wait_for("holder"));
	tmux("send-keys", "-t", "t", "C-c", NULL, NULL);
	expect_clean_exit();
}

Test(top, survives_resizes)
{
	start("-r 100");
	free(wait_for("holder"));
	{
		char *argv[] = { (char *)"tmux", (char *)"-S", sock, (char *)"resize-window",
				 (char *)"-t", (char *)"t", (char *)"-x", (char *)"20", (char *)"-y",
				 (char *)"5", NULL };
		char *argv2[] = { (char *)"tmux", (char *)"-S", sock, (char *)"resize-window",
				  (char *)"-t", (char *)"t", (char *)"-x", (char *)"200", (char *)"-y",
				  (char *)"60", NULL };

		cr_assert_eq(segfix_run(argv, NULL, NULL), 0);
		free(wait_for("ttmem top"));
		cr_assert_eq(segfix_run(argv2, NULL, NULL), 0);
	}
	free(wait_for("holder"));
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

Test(top, waits_for_a_missing_segment)
{
	/* Point top at a segment that does not exist yet. */
	ttmem_table_close(seg);
	seg = NULL;
	ttmem_table_unlink(shm);
	start("-r 100");
	free(wait_for("no segment yet: waiting for a tracked program"));
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

Test(top, eight_chips_of_a_real_workload)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold", (char *)"60000",
			 NULL };
	struct segfix_wl w;
	char *s, truth[256];

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation")) {
		down(); /* a skipped test does not run the suite's fini */
		runner = 0;
		seg = NULL;
		cr_skip_test("the preload or the emulator (issues 3, 4) is not built");
	}
	snprintf(truth, sizeof(truth), "%s/truth.json", dir);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	start("-r 100");
	s = wait_for("mesh_allocation");
	for (int chip = 0; chip < 8; chip++) {
		char row[16];

		snprintf(row, sizeof(row), "%c%4d [", chip ? ' ' : '>', chip);
		cr_assert(strstr(s, row), "chip %d missing:\n%s", chip, s);
	}
	cr_assert(strstr(s, "holder"), "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

Test(top, follows_a_segment_created_anew)
{
	static const struct segfix_alloc run[] = {
		{ 2, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 7 * MiB },
	};
	pid_t newcomer;
	char *s;

	start("-r 100");
	free(wait_for("holder"));
	/* Between two runs the segment is removed and created again. */
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	seg = segfix_create(shm, 3, 0);
	cr_assert_not_null(seg);
	newcomer = segfix_child(shm, "newcomer", run, 1, SEGFIX_RUN);
	cr_assert_gt(newcomer, 0);
	s = wait_for("newcomer");
	cr_assert_null(strstr(s, "holder"), "still showing the old segment:\n%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
	segfix_stop(newcomer);
}

/* Rows of the process table on screen (lines that start with a pid). */
static int proc_rows(const char *s)
{
	int n = 0;

	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned pid;
		char state[16];

		if (sscanf(l, "%u %*s %15s", &pid, state) == 2 &&
		    (!strcmp(state, "running") || !strcmp(state, "exited") || !strcmp(state, "dead")))
			n++;
	}
	return n;
}

/* 80x24 with 36 chips: the chips that do not fit are counted on a line of
 * their own ("N more chips"), and the rows shown plus N are all of them. */
Test(top, hidden_chips_are_counted)
{
	struct ttmem_table *big;
	char *s, *more, name[160];
	unsigned n = 0, of = 0, rows = 0;

	snprintf(name, sizeof(name), "%s-36", shm);
	big = segfix_create(name, 36, 0);
	cr_assert_not_null(big);
	start_sized_on(name, "-r 100", "80", "24");
	s = wait_for("more chip");
	more = strstr(s, "... ");
	cr_assert_not_null(more, "%s", s);
	cr_assert_eq(sscanf(more, "... %u more chips (of %u", &n, &of), 2, "%s", s);
	cr_assert_eq(of, 36, "%s", s);
	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned id;

		if (sscanf(l, "%*[ >]%u ", &id) == 1 && strchr(l, '[') && strstr(l, " B"))
			rows++;
	}
	cr_assert_eq(rows + n, 36, "%u rows + %u more:\n%s", rows, n, s);
	free(s);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	ttmem_table_close(big);
	ttmem_table_unlink(name);
}

/* 80x24 with 31 processes: what does not fit is counted on a last line; the
 * rows shown plus that count are all of them. */
Test(top, small_terminal_says_how_many_more)
{
	static const struct segfix_alloc one = { 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x40000,
						 1024 * 1024 };
	char *s, *more;
	unsigned n = 0, of = 0;

	for (int i = 0; i < 30; i++)
		cr_assert_gt(segfix_child(shm, "exiter", &one, 1, SEGFIX_EXIT), 0);
	start_sized("-r 100", "80", "24");
	s = wait_for("more process");
	more = strstr(s, "... ");
	cr_assert_not_null(more, "%s", s);
	cr_assert_eq(sscanf(more, "... %u more processes (of %u)", &n, &of), 2, "%s", s);
	cr_assert_eq(of, 31, "%s", s);
	cr_assert_eq((unsigned)proc_rows(s) + n, 31, "%d rows + %u more:\n%s", proc_rows(s), n, s);
	free(s);
	/* The filter keeps only what matches, and then everything fits. */
	tmux("send-keys", "-t", "t", "/", NULL, NULL);
	tmux("send-keys", "-t", "t", "holder", NULL, NULL);
	tmux("send-keys", "-t", "t", "Enter", NULL, NULL);
	s = wait_for("filter: holder");
	cr_assert_eq(proc_rows(s), 1, "%s", s);
	cr_assert_null(strstr(s, "more process"), "%s", s);
	free(s);
	/* Esc in the filter line clears it. */
	tmux("send-keys", "-t", "t", "/", NULL, NULL);
	tmux("send-keys", "-t", "t", "Escape", NULL, NULL);
	free(wait_for("more processes (of 31)"));
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}

Test(top, help_reverse_and_pause)
{
	static const struct segfix_alloc late = { 2, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x70000,
						  3 * 1024 * 1024 };
	static const struct segfix_alloc small = { 3, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x80000,
						   4096 };
	pid_t newcomer, other;
	char *s;
	char *h, *o;

	other = segfix_child(shm, "smaller", &small, 1, SEGFIX_EXIT);
	cr_assert_gt(other, 0);
	start("-r 100");
	free(wait_for("holder"));
	tmux("send-keys", "-t", "t", "?", NULL, NULL);
	s = wait_for("reverse the sort order");
	cr_assert_null(strstr(s, "holder"), "help replaces the view:\n%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "x", NULL, NULL);
	free(wait_for("holder"));
	/* Sorted by live bytes: holder above smaller; reversed: below. */
	s = wait_for("smaller");
	h = strstr(s, "holder");
	o = strstr(s, "smaller");
	cr_assert(h && o && h < o, "%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "r", NULL, NULL);
	s = wait_for("sort: live, reversed");
	h = strstr(s, "holder");
	o = strstr(s, "smaller");
	cr_assert(h && o && o < h, "%s", s);
	free(s);
	/* Paused: a process that arrives is not shown until resumed. */
	tmux("send-keys", "-t", "t", "p", NULL, NULL);
	free(wait_for("PAUSED"));
	newcomer = segfix_child(shm, "latecomer", &late, 1, SEGFIX_RUN);
	cr_assert_gt(newcomer, 0);
	{
		struct timespec ts = { 0, 500 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	s = screen();
	cr_assert_null(strstr(s, "latecomer"), "sampled while paused:\n%s", s);
	free(s);
	tmux("send-keys", "-t", "t", "p", NULL, NULL);
	free(wait_for("latecomer"));
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
	segfix_stop(newcomer);
}

/* A name with escape sequences is drawn escaped; the pane title (what an
 * OSC 0 sequence would set) stays untouched. */
Test(top, hostile_names_are_drawn_escaped)
{
	char *argv[] = { (char *)"tmux", (char *)"-S", sock, (char *)"display-message", (char *)"-p",
			 (char *)"-t", (char *)"t", (char *)"#{pane_title}", NULL };
	char *s, *title = NULL;

	cr_assert_eq(segfix_rename(seg, runner, "\x1b]0;owned\x07\x1b[2J"), 0);
	start("-r 100");
	s = wait_for("\\e]0;owned\\x07");
	free(s);
	cr_assert_eq(segfix_run(argv, &title, NULL), 0);
	cr_assert_null(strstr(title, "owned"), "the title was set: %s", title);
	free(title);
	tmux("send-keys", "-t", "t", "q", NULL, NULL);
	expect_clean_exit();
}
