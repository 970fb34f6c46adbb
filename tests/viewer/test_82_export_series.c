/* SPDX-License-Identifier: MIT */
/*
 * The cardinality of `ttmem export`'s process series (--process-series): a
 * 32-chip mesh_allocation at its peak and five more processes (three of one
 * name) on its chips.  By default one set of 7 series per process name,
 * whatever the pids and chips, each equal to the sum of its processes'
 * truth (the emulator's for the mesh, the allocations made here for the
 * others); `pid` 8 per process and none per chip; `full` the per-chip set;
 * more than 64 names: the rest summed as ttmem_process_other_*.  The
 * expositions pass promtool where it is installed
 * (tests/viewer/check_series.py).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segfix.h"

#define CHIPS 32
#define KiB (UINT64_C(1) << 10)

static char shm[128], dir[128], truth[256];

static void up(void)
{
	segfix_workdir_up("series", shm, dir, truth);
}

static void down(void)
{
	segfix_workdir_down(shm, dir);
}

TestSuite(series, .init = up, .fini = down, .timeout = 120);

/* `ttmem export --shm SHM --textfile DIR --once A1` into DIR/FILE. */
static void export_to(const char *file, const char *a1)
{
	char *out = NULL, *err = NULL, from[512], to[512];
	int rc = segfix_ttmem_run(&out, &err, "export", "--shm", shm, "--textfile", dir, "--once",
				  a1, NULL);

	cr_assert_eq(rc, 0, "export %s: exit %d: %s", a1 ? a1 : "", rc, err);
	snprintf(from, sizeof(from), "%s/%s.prom", dir, strrchr(shm, '/') + 1);
	snprintf(to, sizeof(to), "%s/%s", dir, file);
	cr_assert_eq(rename(from, to), 0, "%s: %s", from, strerror(errno));
	free(out);
	free(err);
}

static void check(const char *mode, const char *file, const char *expect, int with_truth)
{
	char f[256], e[256], *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_series.py", (char *)mode, f,
			 e, with_truth ? truth : NULL, NULL };

	snprintf(f, sizeof(f), "%s/%s", dir, file);
	snprintf(e, sizeof(e), "%s/%s", dir, expect);
	cr_assert_eq(segfix_pipe(argv, "", NULL, &err), 0, "%s %s:\n%s", mode, file, err);
	free(err);
}

/* One process's bytes per type as check_series.py reads them. */
static void expect_proc(FILE *f, int first, pid_t pid, const char *name, const uint64_t *bytes)
{
	fprintf(f, "%s{\"pid\":%d,\"name\":\"%s\",\"bytes\":", first ? "" : ",", (int)pid, name);
	if (!bytes) {
		fputs("null}", f);
		return;
	}
	fprintf(f, "{\"DRAM\":%llu,\"L1\":%llu,\"SYSTEM_MEMORY\":%llu,\"L1_SMALL\":%llu,"
		   "\"TRACE\":%llu,\"CB\":%llu}}",
		(unsigned long long)bytes[TTMEM_TYPE_DRAM], (unsigned long long)bytes[TTMEM_TYPE_L1],
		(unsigned long long)bytes[TTMEM_TYPE_SYSTEM_MEMORY],
		(unsigned long long)bytes[TTMEM_TYPE_L1_SMALL],
		(unsigned long long)bytes[TTMEM_TYPE_TRACE], (unsigned long long)bytes[TTMEM_TYPE_CB]);
}

/* A process of `name` holding DRAM on every chip and L1 on some, at
 * addresses no other process here uses; its bytes per type in `bytes`. */
static pid_t holder(const char *name, unsigned k, uint64_t *bytes)
{
	struct segfix_alloc a[CHIPS + 4];
	size_t n = 0;

	memset(bytes, 0, TTMEM_TYPE_COUNT * sizeof(*bytes));
	for (uint32_t d = 0; d < CHIPS; d++) {
		a[n] = (struct segfix_alloc){ d, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP,
					      UINT64_C(0x7f0000000) + k * UINT64_C(0x1000000) + d * 0x10000,
					      (k + 1) * 64 * KiB };
		bytes[a[n].type] += a[n].size;
		n++;
	}
	for (uint32_t d = 0; d < 4; d++) {
		a[n] = (struct segfix_alloc){ d, (uint8_t)(k == 4 ? TTMEM_TYPE_TRACE : TTMEM_TYPE_L1),
					      TTMEM_OWNER_APP,
					      UINT64_C(0x3f000000) + k * UINT64_C(0x100000) + d * 0x1000,
					      (k + 1) * 4 * KiB };
		bytes[a[n].type] += a[n].size;
		n++;
	}
	return segfix_child(shm, name, a, n, SEGFIX_RUN);
}

Test(series, bounded_per_name_and_per_pid_on_a_32_chip_mesh)
{
	static const char *const names[] = { "worker", "worker", "worker", "loner", "tracer" };
	char chips[8], *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--chips", chips,
				   (char *)"--hold", (char *)"60000", NULL };
	uint64_t bytes[5][TTMEM_TYPE_COUNT];
	pid_t pids[5];
	struct segfix_wl w;
	char path[256];
	FILE *f;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation"))
		cr_skip_test("the preload or the emulator is not built");
	snprintf(chips, sizeof(chips), "%d", CHIPS);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0, "no 'peak' line from the workload");
	for (unsigned k = 0; k < 5; k++) {
		pids[k] = holder(names[k], k, bytes[k]);
		cr_assert(pids[k] > 0);
	}
	snprintf(path, sizeof(path), "%s/expect.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"names_max\":64,\"procs\":[", f);
	expect_proc(f, 1, w.pid, "mesh_allocation", NULL);
	for (unsigned k = 0; k < 5; k++)
		expect_proc(f, 0, pids[k], names[k], bytes[k]);
	fputs("]}\n", f);
	cr_assert_eq(fclose(f), 0);

	export_to("default.prom", NULL);
	check("name", "default.prom", "expect.json", 1);
	export_to("name.prom", "--process-series=name");
	check("name", "name.prom", "expect.json", 1);
	export_to("pid.prom", "--process-series=pid");
	check("pid", "pid.prom", "expect.json", 1);
	export_to("full.prom", "--process-series=full");
	check("full", "full.prom", "expect.json", 1);

	for (unsigned k = 0; k < 5; k++)
		segfix_stop(pids[k]);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

Test(series, names_beyond_the_largest_64_are_summed)
{
	enum { N = 70 };
	struct ttmem_open_opts o = { .capacity = 4096, .proc_capacity = 128, .module_capacity = 16 };
	struct ttmem_table *t = NULL;
	pid_t pids[N];
	char err[256], path[256], name[16];
	FILE *f;

	ttmem_table_unlink(shm);
	cr_assert_eq(ttmem_table_open(&t, shm, &o, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/expect.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"names_max\":64,\"procs\":[", f);
	for (int i = 0; i < N; i++) {
		/* Sizes all different: which names are the largest is plain. */
		struct segfix_alloc a = { (uint32_t)(i % 4), TTMEM_TYPE_DRAM, TTMEM_OWNER_APP,
					  0x100000 + (uint64_t)i * 0x10000, (uint64_t)(i + 1) * KiB };
		uint64_t b[TTMEM_TYPE_COUNT] = { 0 };

		snprintf(name, sizeof(name), "n%02d", i);
		pids[i] = segfix_child(shm, name, &a, 1, SEGFIX_RUN);
		cr_assert(pids[i] > 0);
		b[TTMEM_TYPE_DRAM] = a.size;
		expect_proc(f, i == 0, pids[i], name, b);
	}
	fputs("]}\n", f);
	cr_assert_eq(fclose(f), 0);
	export_to("many.prom", NULL);
	check("name", "many.prom", "expect.json", 0);
	for (int i = 0; i < N; i++)
		segfix_stop(pids[i]);
	ttmem_table_close(t);
}

Test(series, bad_process_series_is_one_clear_error)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "export", "--shm", shm, "--textfile", dir,
				      "--once", "--process-series=pids", NULL), 2, "%s", err);
	cr_assert(strstr(err, "--process-series: 'pids' is not name, pid, full or none"), "%s", err);
	cr_assert_eq(segfix_lines(err), 1, "%s", err);
	free(out);
	free(err);
}
