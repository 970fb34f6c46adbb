/* SPDX-License-Identifier: MIT */
/*
 * Figures per buffer type, not sums of unlike memories: at the peak of an
 * 8-chip mesh_allocation, the process's bytes per type in `show --json`
 * (live_by_type, table_by_type, per chip), in CSV (used_memory.TYPE per
 * chip, live_memory.TYPE) and in the text's process row equal the
 * emulator's ground truth per type; the all-types figures (new names and
 * the deprecated old ones) equal the sum of the per-type ones
 * (tests/viewer/check_per_type.py).
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
	segfix_workdir_up("pertype", shm, dir, truth);
}

static void down(void)
{
	segfix_workdir_down(shm, dir);
}

TestSuite(pertype, .init = up, .fini = down, .timeout = 90);

/* `ttmem show --shm SHM A1 A2 A3` into DIR/FILE. */
static void show_to(const char *file, const char *a1, const char *a2, const char *a3)
{
	char *out = NULL, *err = NULL, path[256];
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", shm, a1, a2, a3, NULL);
	FILE *f;

	cr_assert_eq(rc, 0, "show %s: exit %d: %s", a1 ? a1 : "", rc, err);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(out ? out : "", f);
	cr_assert_eq(fclose(f), 0);
	free(out);
	free(err);
}

Test(pertype, process_figures_per_type_equal_the_truth)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold",
			 (char *)"60000", NULL };
	char pid[16], p_truth[256], p_json[256], p_used[256], p_live[256], p_text[256];
	char *check[] = { (char *)"python3", (char *)"tests/viewer/check_per_type.py", pid,
			  p_truth, p_json, p_used, p_live, p_text, NULL };
	char *err = NULL;
	struct segfix_wl w;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation"))
		cr_skip_test("the preload or the emulator is not built");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0, "no 'peak' line from the workload");

	show_to("show.json", "--json", NULL, NULL);
	show_to("used.csv", "--query",
		"pid,index,used_memory.dram,used_memory.l1,used_memory.system_memory,"
		"used_memory.l1_small,used_memory.trace,used_memory.cb,used_memory.all_types,"
		"used_memory", "--format=csv,noheader,nounits");
	show_to("live.csv", "--query-compute-apps",
		"pid,live_memory.dram,live_memory.l1,live_memory.system_memory,"
		"live_memory.l1_small,live_memory.trace,live_memory.cb,live_memory.all_types,"
		"live_memory", "--format=csv,noheader,nounits");
	show_to("show.txt", NULL, NULL, NULL);

	snprintf(pid, sizeof(pid), "%d", (int)w.pid);
	snprintf(p_truth, sizeof(p_truth), "%s", truth);
	snprintf(p_json, sizeof(p_json), "%s/show.json", dir);
	snprintf(p_used, sizeof(p_used), "%s/used.csv", dir);
	snprintf(p_live, sizeof(p_live), "%s/live.csv", dir);
	snprintf(p_text, sizeof(p_text), "%s/show.txt", dir);
	cr_assert_eq(segfix_pipe(check, "", NULL, &err), 0, "%s", err);
	free(err);

	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}
