/* SPDX-License-Identifier: MIT */
/*
 * `ttmem buffers` and `ttmem map`: at a hold point of mesh_allocation (8
 * chips), the buffers listed add up to show's in_use and to the emulator's
 * ground truth per chip and type, and each chip's map has the largest free
 * block and the free bytes the allocator itself reports (the truth's free
 * list), on every runtime generation (each publishes the bank geometry
 * through its own path: G1's Allocator, G2's AllocatorImpl view, G3's
 * Buffer::allocator()).  Then the commands on hand-made segments: the map's
 * arithmetic, a corrupt geometry, bad command lines.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], truth[256], dir[128];

static void up(void)
{
	segfix_workdir_up("bufmap", shm, dir, truth);
}

static void down(void)
{
	segfix_workdir_down(shm, dir);
}

TestSuite(bufmap, .init = up, .fini = down, .timeout = 90);

/* `ttmem ARGS --shm SHM` into DIR/FILE; its exit status. */
static int to_file(const char *file, const char *a1, const char *a2, const char *a3,
		   const char *a4, const char *a5)
{
	char *out = NULL, *err = NULL, path[256];
	int rc = segfix_ttmem_run(&out, &err, a1, "--shm", shm, a2, a3, a4, a5, NULL);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(out ? out : "", f);
	fclose(f);
	cr_assert_eq(rc, 0, "ttmem %s %s: exit %d: %s", a1, a2 ? a2 : "", rc, err);
	free(out);
	free(err);
	return rc;
}

/* DIR/FILE, or FILE when it is a path already. */
static char *in_dir(const char *file)
{
	char *p = malloc(512);

	cr_assert_not_null(p);
	if (file[0] == '/' || !strchr(file, '.'))
		snprintf(p, 512, "%s", file);
	else
		snprintf(p, 512, "%s/%s", dir, file);
	return p;
}

/* check_buffers_map.py MODE ARGS... (files in DIR); exit 0 or the mismatches. */
static void check(const char *mode, const char *const *args)
{
	char *argv[32], *err = NULL;
	size_t n = 0, first;

	argv[n++] = (char *)"python3";
	argv[n++] = (char *)"tests/viewer/check_buffers_map.py";
	argv[n++] = (char *)mode;
	first = n;
	for (; *args && n < 30; args++)
		argv[n++] = in_dir(*args);
	argv[n] = NULL;
	cr_assert_eq(segfix_pipe(argv, "", NULL, &err), 0, "%s:\n%s", mode, err);
	free(err);
	for (size_t i = first; i < n; i++)
		free(argv[i]);
}

static void at_peak(const char *flavour)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold",
			 (char *)"60000", NULL };
	char maps[8][24];
	const char *args[12];
	struct segfix_wl w;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation"))
		cr_skip_test("the preload or the emulator is not built");
	if (flavour && !segfix_have(flavour))
		cr_skip_test("build/%s is not built", flavour);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, flavour, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0, "no 'peak' line from the workload");

	to_file("buffers.json", "buffers", "--json", "--no-symbols", NULL, NULL);
	to_file("buffers.csv", "buffers", "--format", "csv", NULL, NULL);
	to_file("show.json", "show", "--json", NULL, NULL, NULL);
	check("buffers-vs-show", (const char *const[]){ "buffers.json", "show.json", NULL });
	check("buffers-vs-truth", (const char *const[]){ "buffers.json", truth, NULL });
	check("csv-vs-json", (const char *const[]){ "buffers.csv", "buffers.json", NULL });
	for (int k = 0; k < 2; k++) {
		const char *ty = k ? "L1" : "DRAM";

		args[0] = truth;
		args[1] = ty;
		for (int d = 0; d < 8; d++) {
			char dv[8];

			snprintf(dv, sizeof(dv), "%d", d);
			snprintf(maps[d], sizeof(maps[d]), "map-%s-%d.json", ty, d);
			to_file(maps[d], "map", "-d", dv, ty, "--json");
			args[2 + d] = maps[d];
		}
		args[10] = NULL;
		check("map-vs-truth", args);
	}
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

Test(bufmap, mesh_allocation_g1_gcc)
{
	at_peak(NULL);
}

Test(bufmap, mesh_allocation_g2_2025b)
{
	at_peak("examples/2025b/gcc");
}

Test(bufmap, mesh_allocation_g3_2026)
{
	at_peak("examples/2026/clang");
}

/* A bank [0x1000, 0x11000) with buffers at 0x2000 (4 KiB) and 0x8000
 * (8 KiB): holes 4 KiB, 20 KiB, 28 KiB; largest 28 KiB at 0xa000;
 * fragmentation 1 - 28/52.  Then the same geometry made absurd (an
 * alignment of 3): no bounds, no free figures, exit 0, no crash. */
Test(bufmap, map_arithmetic_and_corrupt_geometry)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	struct ttmem_bank_geometry g = { 0x1000, 0x10000, 1, 16 };
	struct segfix_alloc a[] = {
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x2000, 0x1000 },
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x8000, 0x2000 },
	};
	pid_t pid;
	char *out = NULL, *err = NULL;

	cr_assert_not_null(t);
	cr_assert_eq(ttmem_device_geometry(t, 0, TTMEM_TYPE_L1, &g), 1);
	cr_assert_eq(ttmem_device_geometry(t, 0, TTMEM_TYPE_L1, &g), 0, "published once");
	pid = segfix_child(shm, "bankuser", a, 2, SEGFIX_RUN);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "map", "--shm", shm, "-d", "0", "L1", "--json",
				      NULL), 0, "%s", err);
	cr_assert(strstr(out, "\"holes\":[{\"start\":4096,\"end\":8192},{\"start\":12288,\"end\":32768},"
			      "{\"start\":40960,\"end\":69632}]"), "%s", out);
	cr_assert(strstr(out, "\"used_per_bank\":12288,\"free_per_bank\":53248,"
			      "\"largest_free_block\":28672,\"largest_free_address\":40960,"
			      "\"fragmentation\":0.461538"), "%s", out);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "map", "--shm", shm, "-d", "0", "L1", "-w", "34",
				      NULL), 0, "%s", err);
	/* 32 columns of 2 KiB: free x2, held x2, free x10, held x4, free x14. */
	cr_assert(strstr(out, "\n[..##..........####..............]\n"), "%s", out);
	cr_assert(strstr(out, "64.0 KiB x 1 bank = 64.0 KiB, alignment 16\n"), "%s", out);
	cr_assert(strstr(out, "largest free block 28.0 KiB at 0xa000; fragmentation 46.2%"), "%s",
		  out);
	free(out);
	free(err);
	out = err = NULL;
	/* Corrupt: the writer side is hostile or broken. */
	atomic_store(&ttmem_table_devices_rw(t)[0].alignment[TTMEM_TYPE_L1], 3u);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "map", "--shm", shm, "-d", "0", "L1", "--json",
				      NULL), 0, "%s", err);
	cr_assert(strstr(out, "\"geometry\":null"), "%s", out);
	cr_assert(strstr(out, "\"largest_free_block\":null"), "%s", out);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "map", "--shm", shm, "-d", "0", "L1", NULL), 0);
	cr_assert(strstr(out, "bank bounds unknown (the published bank geometry is absurd"), "%s",
		  out);
	free(out);
	free(err);
	segfix_stop(pid);
	ttmem_table_close(t);
}

static void usage_error(int want, const char *needle, const char *a1, const char *a2,
			const char *a3, const char *a4)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, a1, "--shm", shm, a2, a3, a4, NULL);

	cr_assert_eq(rc, want, "ttmem %s %s %s: exit %d, want %d: %s", a1, a2, a3 ? a3 : "", rc,
		     want, err);
	cr_assert(err && strstr(err, needle), "ttmem %s %s: stderr %s", a1, a2, err);
	cr_assert(!out || !*out, "nothing on stdout: %s", out);
	free(out);
	free(err);
}

Test(bufmap, bad_command_lines)
{
	struct ttmem_table *t = segfix_create(shm, 2, 0);

	cr_assert_not_null(t);
	usage_error(2, "unknown buffer type 'FOO'", "buffers", "-t", "FOO", NULL);
	usage_error(2, "unknown key 'bytes'", "buffers", "--sort", "bytes", NULL);
	usage_error(2, "'xml' is not text, json or csv", "buffers", "--format", "xml", NULL);
	usage_error(2, "which chip?", "map", "L1", NULL, NULL);
	usage_error(2, "which type?", "map", "-d", "0", NULL);
	usage_error(2, "drawn in the L1 map", "map", "-d", "0", "CB");
	usage_error(2, "'300' is not a chip id", "map", "-d", "300", "L1");
	usage_error(15, "no chip 7 in the segment", "map", "-d", "7", "L1");
	usage_error(15, "no chip 7 in the segment", "buffers", "-d", "7", NULL);
	usage_error(15, "no process with pid", "buffers", "-p", "1", NULL);
	ttmem_table_close(t);
}
