/* SPDX-License-Identifier: MIT */
/*
 * The leak report reads largest first and merges across processes: a
 * process that left 1 MiB is listed before one that left 4 KiB, its 1 MiB
 * group before its 4 KiB one, and one call stack left by two processes is
 * one line of the merged view with both their bytes.  And a Python
 * comprehension (a frame of its own on its caller's line) shows its line
 * once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], script[256];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(script, sizeof(script), "/tmp/ttmem-test-pyleak-%d.py", (int)getpid());
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(script);
}

TestSuite(report, .init = up, .fini = down, .timeout = 60);

static char *leaks(const char *fmt)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, fmt, NULL), 0, "%s", err);
	free(err);
	return out;
}

Test(report, largest_first_and_merged_across_processes)
{
	static const struct segfix_alloc small[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4096 },
	};
	static const struct segfix_alloc big[] = {
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_CQ, 0x8000, 4096 },
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x100000, 1 << 20 },
	};
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char *out, *err = NULL, want[256];
	const char *a, *b;
	pid_t ps, pb;

	cr_assert_not_null(t);
	ps = segfix_child(shm, "small", small, 1, SEGFIX_EXIT);
	pb = segfix_child(shm, "big", big, 2, SEGFIX_EXIT);
	out = leaks(NULL);
	cr_assert(strstr(out, "in 3 entries of 2 processes that are not running\n"), "%s", out);
	snprintf(want, sizeof(want), "\npid %d big (exited)", (int)pb);
	a = strstr(out, want);
	snprintf(want, sizeof(want), "\npid %d small (exited)", (int)ps);
	b = strstr(out, want);
	cr_assert(a && b && a < b, "the 1 MiB process first:\n%s", out);
	cr_assert(strstr(a, "application") < strstr(a, "command_queue"), "its 1 MiB group first:\n%s",
		  out);
	a = strstr(out, "\nBy call stack, all 2 processes (largest first):\n  from 2 processes:\n"
			"    1.00 MiB in    2  application ");
	cr_assert_not_null(a, "the application stack of both, merged:\n%s", out);
	cr_assert(strstr(a, "  from 1 process:\n    4.00 KiB in    1  command_queue "), "%s", out);
	free(out);
	out = leaks("--json");
	cr_assert_eq(segfix_check(out, &err, "subset",
		"{\"stacks\":[{\"processes\":2,\"group\":{\"owner\":\"application\",\"entries\":2,"
		"\"bytes\":1052672}},{\"processes\":1,\"group\":{\"owner\":\"command_queue\","
		"\"entries\":1,\"bytes\":4096}},\"$exact\"]}", NULL), 0, "%s\n%s", err, out);
	free(err);
	free(out);
	ttmem_table_close(t);
}

Test(report, python_comprehension_line_shown_once)
{
	char lib[4096], *out = NULL, *err = NULL;
	FILE *f;
	int rc;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/gcc/libtt_metal.so"))
		cr_skip_test("the preload or the emulator is not built");
	cr_assert_not_null(realpath(segfix_build_path("examples/gcc/libtt_metal.so"), lib));
	f = fopen(script, "w");
	cr_assert_not_null(f);
	fputs("import ctypes, sys\n"
	      "lib = ctypes.CDLL(sys.argv[1])\n"
	      "lib.ttemu_open_mesh.argtypes = [ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64]\n"
	      "lib.ttemu_alloc.restype = ctypes.c_int64\n"
	      "lib.ttemu_alloc.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64]\n"
	      "def forget(mesh):\n"
	      "    return [lib.ttemu_alloc(mesh, 0, 65536, 2048) for _ in range(2)]\n"
	      "mesh = lib.ttemu_open_mesh(1, 0, 0)\n"
	      "forget(mesh)\n"
	      "sys.exit(0)\n", f);
	fclose(f);
	rc = segfix_ttmem_run(&out, &err, "run", "-q", "--shm", shm, "--", "python3", script, lib,
			      NULL);
	cr_assert_eq(rc, 0, "%s", err);
	free(out);
	free(err);
	out = leaks(NULL);
	{
		char line[300];
		const char *p = out;
		int n = 0;

		snprintf(line, sizeof(line), "%s:7 ", script);
		if (!strstr(out, line))
			cr_skip_test("no Python source lines (another CPython than the preload's):\n%s",
				     out);
		while ((p = strstr(p, line))) {
			n++;
			p++;
		}
		cr_assert_eq(n, 1, "the comprehension's line once:\n%s", out);
		snprintf(line, sizeof(line), "from %s:9 ", script);
		cr_assert(strstr(out, line), "then its caller:\n%s", out);
	}
	free(out);
}
