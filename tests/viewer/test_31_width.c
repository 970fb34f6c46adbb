/* SPDX-License-Identifier: MIT */
/*
 * Text output fits a width: `show`, `leaks` and `buffers` on a segment filled by real
 * emulated workloads (an 8-chip mesh at its peak, two leaky processes that
 * exited), at COLUMNS=60, 80, 120 and --width 60, 80, 120: no line wider,
 * and the key figures (each chip's in-use bytes per type; each leaking
 * process's bytes, each stack's bytes per type; each buffer's size, the
 * bytes per type of all of them) still there and equal to
 * the JSON output's (tests/viewer/check_width.py).  Into a pipe with no
 * COLUMNS nothing is elided or left out.  A bad --width is a usage error; a
 * bad COLUMNS is ignored.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], dir[128], truth[256];

static void up(void)
{
	segfix_workdir_up("width", shm, dir, truth);
}

static void down(void)
{
	segfix_workdir_down(shm, dir);
}

TestSuite(width, .init = up, .fini = down, .timeout = 120);

/* `[env COLUMNS=C] ttmem SUB --shm SHM A1 A2 A3` (C NULL: COLUMNS unset);
 * its exit status, output in *out, stderr in *err. */
static int ttmem_cols(const char *columns, char **out, char **err, const char *sub,
		      const char *a1, const char *a2, const char *a3)
{
	char env[64];
	char *argv[12];
	int n = 0;

	unsetenv("COLUMNS");
	unsetenv("TTMEM_SHM");
	if (columns) {
		snprintf(env, sizeof(env), "COLUMNS=%s", columns);
		argv[n++] = (char *)"env";
		argv[n++] = env;
	}
	argv[n++] = (char *)segfix_ttmem();
	argv[n++] = (char *)sub;
	argv[n++] = (char *)"--shm";
	argv[n++] = shm;
	if (a1)
		argv[n++] = (char *)a1;
	if (a2)
		argv[n++] = (char *)a2;
	if (a3)
		argv[n++] = (char *)a3;
	argv[n] = NULL;
	return segfix_run(argv, out, err);
}

static void put(const char *file, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text ? text : "", f);
	cr_assert_eq(fclose(f), 0);
}

/* check_width.py MODE WIDTH DIR/JSON DIR/TEXT [full]. */
static void check(const char *mode, const char *width, const char *json, const char *text,
		  int full)
{
	char j[256], t[256], *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_width.py", (char *)mode,
			 (char *)width, j, t, full ? (char *)"full" : NULL, NULL };

	snprintf(j, sizeof(j), "%s/%s", dir, json);
	snprintf(t, sizeof(t), "%s/%s", dir, text);
	cr_assert_eq(segfix_pipe(argv, "", NULL, &err), 0, "%s at width %s:\n%s", mode, width, err);
	free(err);
}

/* `ttmem SUB ARGS` at each width, as COLUMNS and as --width, then into a
 * pipe with no COLUMNS: each output checked against SUB's JSON. */
static void every_width(const char *sub, const char *a1, const char *a2)
{
	static const char *const widths[] = { "60", "80", "120" };
	char *out = NULL, *err = NULL, jsonf[32], textf[48];

	snprintf(jsonf, sizeof(jsonf), "%s.json", sub);
	cr_assert_eq(ttmem_cols(NULL, &out, &err, sub, "--json", a1, a2), 0, "%s", err);
	put(jsonf, out);
	free(out);
	free(err);
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		const char *w = widths[i];

		out = err = NULL;
		cr_assert_eq(ttmem_cols(w, &out, &err, sub, a1, a2, NULL), 0, "%s", err);
		snprintf(textf, sizeof(textf), "%s-columns-%s.txt", sub, w);
		put(textf, out);
		free(out);
		free(err);
		check(sub, w, jsonf, textf, 0);

		/* --width wins over COLUMNS. */
		out = err = NULL;
		cr_assert_eq(ttmem_cols("200", &out, &err, sub, "--width", w, a1), 0, "%s", err);
		snprintf(textf, sizeof(textf), "%s-width-%s.txt", sub, w);
		put(textf, out);
		free(out);
		free(err);
		check(sub, w, jsonf, textf, 0);
	}
	/* A pipe into a file or grep: every column, nothing elided. */
	out = err = NULL;
	cr_assert_eq(ttmem_cols(NULL, &out, &err, sub, a1, a2, NULL), 0, "%s", err);
	snprintf(textf, sizeof(textf), "%s-pipe.txt", sub);
	put(textf, out);
	free(out);
	free(err);
	check(sub, "0", jsonf, textf, 1);
}

Test(width, show_and_leaks_fit_and_keep_their_figures)
{
	char *mesh[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold",
			 (char *)"60000", NULL };
	char *leak0[] = { (char *)"examples/bin/leak", NULL };
	char *leak1[] = { (char *)"examples/bin/leak", (char *)"--chip", (char *)"3", NULL };
	struct segfix_wl w;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation") ||
	    !segfix_have("examples/bin/leak"))
		cr_skip_test("the preload or the emulator is not built");
	/* Two processes that exit leaving memory (leaks has something to
	 * show), then a mesh held at its peak (show has every type). */
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, leak0), 0);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, leak1), 0);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, mesh), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0, "no 'peak' line from the workload");

	every_width("show", "--processes=all", "--released");
	every_width("leaks", NULL, NULL);
	every_width("buffers", "--all", NULL);

	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

Test(width, bad_width_is_a_usage_error_bad_columns_is_ignored)
{
	static const char *const bad_opt[] = { "19", "x", "-1", "80x", "", "65536" };
	static const char *const bad_env[] = { "abc", "0", "5", "-80", "99999999999999999999", "" };
	struct ttmem_table *t = segfix_create(shm, 2, UINT64_C(1) << 30);
	static const struct segfix_alloc a[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 3u << 20 },
		{ 1, TTMEM_TYPE_L1, TTMEM_OWNER_CQ, 0x2000, 1u << 16 },
	};
	char *out = NULL, *err = NULL, *pipe_out = NULL;
	pid_t pid;

	cr_assert_not_null(t);
	pid = segfix_child(shm, "a-process-with-a-name", a, 2, SEGFIX_RUN);
	for (size_t i = 0; i < sizeof(bad_opt) / sizeof(bad_opt[0]); i++) {
		for (int k = 0; k < 3; k++) {
			const char *sub = k == 2 ? "buffers" : k ? "leaks" : "show";
			char want[64];

			out = err = NULL;
			cr_assert_eq(ttmem_cols(NULL, &out, &err, sub, "--width",
						bad_opt[i], NULL), 2, "--width '%s': %s", bad_opt[i], err);
			snprintf(want, sizeof(want), "--width: '%s' is not a width", bad_opt[i]);
			cr_assert(strstr(err, want), "%s", err);
			cr_assert_eq(segfix_lines(err), 1, "%s", err);
			cr_assert_str_eq(out, "");
			free(out);
			free(err);
		}
	}
	cr_assert_eq(ttmem_cols(NULL, &pipe_out, &err, "show", NULL, NULL, NULL), 0, "%s", err);
	free(err);
	for (size_t i = 0; i < sizeof(bad_env) / sizeof(bad_env[0]); i++) {
		out = err = NULL;
		cr_assert_eq(ttmem_cols(bad_env[i], &out, &err, "show", NULL, NULL, NULL), 0,
			     "COLUMNS='%s': %s", bad_env[i], err);
		cr_assert_str_eq(err, "", "COLUMNS='%s'", bad_env[i]);
		/* Ignored: the same output as with no COLUMNS, whole lines. */
		cr_assert_str_eq(out, pipe_out, "COLUMNS='%s'", bad_env[i]);
		free(out);
		free(err);
	}
	/* --width 0: no limit, whatever COLUMNS says. */
	out = err = NULL;
	cr_assert_eq(ttmem_cols("60", &out, &err, "show", "--width", "0", NULL), 0, "%s", err);
	cr_assert_str_eq(out, pipe_out);
	free(out);
	free(err);
	free(pipe_out);
	segfix_stop(pid);
	ttmem_table_close(t);
}
