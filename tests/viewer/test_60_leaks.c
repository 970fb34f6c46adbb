/* SPDX-License-Identifier: MIT */
/*
 * leaks on table-API segments: grouping by process, owner and callsite;
 * symbolization from the module file (this test binary), and the fallbacks
 * when the file changed or is gone.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)

static char shm[128], copy[256];

static void up(void)
{
	struct ttmem_table *t;

	segfix_name(shm, sizeof(shm));
	snprintf(copy, sizeof(copy), "/tmp/ttmem-test-viewer-%d-module", (int)getpid());
	t = segfix_create(shm, 2, 0);
	cr_assert_not_null(t);
	ttmem_table_close(t);
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(copy);
}

TestSuite(leaks, .init = up, .fini = down);

static const struct segfix_alloc exited_allocs[] = {
	{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 3 * MiB },
	{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x400000, 1 * MiB },
	{ 1, TTMEM_TYPE_L1, TTMEM_OWNER_CQ, 0x1000, 4096 },
};

static char *leaks_with(const char *a1, const char *a2)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, a1, a2, NULL);

	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert_str_empty(err);
	free(err);
	return out;
}

static char *leaks(const char *a1)
{
	return leaks_with(a1, NULL);
}

Test(leaks, none_while_everyone_runs)
{
	pid_t r = segfix_child(shm, "runner", exited_allocs, 3, SEGFIX_RUN);
	char *out = leaks(NULL), want[256];

	snprintf(want, sizeof(want), "No leaks in %s: no entry of an exited or dead process.\n", shm);
	cr_assert_str_eq(out, want);
	free(out);
	segfix_stop(r);
}

Test(leaks, grouped_and_symbolized)
{
	pid_t ex = segfix_child(shm, "leaky", exited_allocs, 3, SEGFIX_EXIT);
	static const struct segfix_alloc killed_allocs[] = {
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 3 * MiB },
	};
	pid_t dead = segfix_child(shm, "killed", killed_allocs, 1, SEGFIX_KILLED);
	char *out = leaks(NULL), line[256], *err = NULL, exp[1024];

	cr_assert(strstr(out, "Leaks in "), "%s", out);
	cr_assert(strstr(out, ": 7.00 MiB in 4 entries of 2 processes that are not running\n"), "%s",
		  out);
	snprintf(line, sizeof(line), "pid %d leaky (exited): 4.00 MiB in 3 entries, still live at exit\n",
		 (int)ex);
	cr_assert(strstr(out, line), "%s", out);
	cr_assert(strstr(out, "    4.00 MiB in    2  application           segfix_leaky_function+0x4  ("),
		  "%s", out);
	cr_assert(strstr(out, "    4.00 KiB in    1  command_queue         segfix_leaky_function+0x4  ("),
		  "%s", out);
	snprintf(line, sizeof(line), "pid %d killed (dead): 3.00 MiB in 1 entries, orphaned\n", (int)dead);
	cr_assert(strstr(out, line), "%s", out);
	free(out);

	out = leaks("--json");
	snprintf(exp, sizeof(exp),
		 "{\"schema\":\"ttmem/1\",\"kind\":\"leaks\",\"entries\":4,\"bytes\":%" PRIu64 ","
		 "\"processes\":[{\"pid\":%d,\"name\":\"leaky\",\"state\":\"exited\",\"entries\":3,"
		 "\"groups\":[{\"owner\":\"application\",\"function\":\"segfix_leaky_function\","
		 "\"function_offset\":4,\"symbolization\":\"ok\",\"entries\":2,\"bytes\":%" PRIu64 ","
		 "\"types\":{\"DRAM\":%" PRIu64 ",\"L1\":0}},"
		 "{\"owner\":\"command_queue\",\"bytes\":4096,\"types\":{\"L1\":4096}},\"$exact\"]},"
		 "{\"pid\":%d,\"state\":\"dead\",\"bytes\":%" PRIu64 "},\"$exact\"]}",
		 7 * MiB + 4096, (int)ex, 4 * MiB, 4 * MiB, (int)dead, 3 * MiB);
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s\n%s", err, out);
	free(err);
	free(out);

	/* --pid keeps one process */
	{
		char spid[16];

		snprintf(spid, sizeof(spid), "%d", (int)dead);
		out = NULL;
		cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--pid", spid,
					      "--json", NULL), 0);
		free(err);
		snprintf(exp, sizeof(exp), "{\"entries\":1,\"processes\":[{\"pid\":%d},\"$exact\"]}",
			 (int)dead);
		cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
		free(err);
		free(out);
	}
}

static void copy_self(void)
{
	char self[4096], cmd[8300];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = 0;
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", self, copy);
	cr_assert_eq(system(cmd), 0);
}

Test(leaks, module_changed_falls_back_to_offset, .timeout = 30)
{
	char *out, *err = NULL;

	copy_self();
	segfix_child_ex(shm, "leaky", exited_allocs, 1, SEGFIX_EXIT, copy);
	out = leaks(NULL);
	cr_assert(strstr(out, "segfix_leaky_function+0x4  ("), "same file: symbolized\n%s", out);
	free(out);
	/* The library was rebuilt: another size (and mtime). */
	{
		FILE *f = fopen(copy, "a");

		cr_assert_not_null(f);
		fputs("rebuilt", f);
		fclose(f);
	}
	out = leaks(NULL);
	cr_assert(strstr(out, "[file-changed]"), "%s", out);
	cr_assert(strstr(out, copy), "%s", out);
	cr_assert_null(strstr(out, "segfix_leaky_function"), "%s", out);
	free(out);
	out = leaks("--json");
	cr_assert_eq(segfix_check(out, &err, "subset",
				  "{\"processes\":[{\"name\":\"leaky\",\"groups\":[{\"function\":null,"
				  "\"symbolization\":\"file-changed\"}]}]}", NULL), 0, "%s", err);
	free(err);
	free(out);
	/* And gone. */
	unlink(copy);
	out = leaks(NULL);
	cr_assert(strstr(out, "[no-file]"), "%s", out);
	free(out);
	/* Replaced by a FIFO nobody writes: opening it must not hang the
	 * viewer (leaks() fails the test if ttmem does not exit). */
	cr_assert_eq(mkfifo(copy, 0600), 0);
	out = leaks(NULL);
	cr_assert(strstr(out, "[not-regular]"), "%s", out);
	free(out);
	unlink(copy);
}

/* A pid or chip the segment does not have is an error, as for show (exit
 * 15, the value named, nothing on stdout), not an empty "No leaks". */
Test(leaks, unknown_filters_are_errors)
{
	static const char *const fmts[] = { NULL, "--json" };
	pid_t ex = segfix_child(shm, "leaky", exited_allocs, 3, SEGFIX_EXIT), r;
	char *out = NULL, *err = NULL, exp[256], spid[16];

	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--pid",
					      "999999999", fmts[i], NULL), 15, "%s", err);
		snprintf(exp, sizeof(exp),
			 "ttmem leaks: %s: no process with pid 999999999 in the segment\n", shm);
		cr_assert_str_eq(err, exp);
		cr_assert_str_empty(out);
		free(out);
		free(err);
		cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "-d", "7", fmts[i],
					      NULL), 15, "%s", err);
		snprintf(exp, sizeof(exp),
			 "ttmem leaks: %s: no chip 7 in the segment ('ttmem show' lists the chips)\n",
			 shm);
		cr_assert_str_eq(err, exp);
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
	/* Known ones: the leak on chip 1; a running process left nothing. */
	out = leaks_with("--device", "1");
	snprintf(exp, sizeof(exp), "pid %d leaky (exited): 4.00 KiB in 1 entries", (int)ex);
	cr_assert(strstr(out, exp), "%s", out);
	free(out);
	r = segfix_child(shm, "runner", exited_allocs, 3, SEGFIX_RUN);
	snprintf(spid, sizeof(spid), "%d", (int)r);
	out = leaks_with("--pid", spid);
	segfix_stop(r);
	snprintf(exp, sizeof(exp), "No leaks in %s: no entry of an exited or dead process.\n", shm);
	cr_assert_str_eq(out, exp);
	free(out);
}
