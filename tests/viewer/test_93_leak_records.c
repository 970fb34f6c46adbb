/* SPDX-License-Identifier: MIT */
/*
 * Leak records last until `clear` or `reap --exited`: a later run that gets
 * the same device addresses (the emulator's allocator hands them out again)
 * must not erase them.  The scenario: `leak --count 1` exits holding what
 * the emulator's truth says at its exit; then `mesh_allocation --chips 1
 * --runs 2` on the same segment; `leaks` must still report exactly the
 * leak's bytes (it reported 158 KiB of 15 MiB when the second run's inserts
 * took the keys over), `leaks --fail` must fail, and only `reap --exited`
 * drops them.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], truth[256];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(truth, sizeof(truth), "/tmp/ttmem-test-records-%d-truth.json", (int)getpid());
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(truth);
}

TestSuite(records, .init = up, .fini = down, .timeout = 90);

/* The sum of every chip's bytes in the truth file (a flat parse: the
 * keys DRAM, L1, L1_SMALL, TRACE, CB of each device object). */
static uint64_t truth_total(const char *path)
{
	char *s = segfix_read_file(path), *p;
	static const char *const keys[] = { "\"DRAM\":", "\"L1\":", "\"L1_SMALL\":", "\"TRACE\":",
					    "\"CB\":" };
	uint64_t total = 0;

	cr_assert_not_null(s, "no truth file %s", path);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (p = s; (p = strstr(p, keys[k])); p += strlen(keys[k]))
			total += strtoull(p + strlen(keys[k]), NULL, 10);
	free(s);
	return total;
}

static uint64_t leaked_bytes(pid_t pid)
{
	char *out = NULL, *err = NULL, spid[16], *p;
	uint64_t v;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--json", NULL), 0, "%s",
		     err);
	/* The process's own total: "pid":P,...,"bytes":B before its groups. */
	p = strstr(out, "\"processes\":[");
	cr_assert_not_null(p, "%s", out);
	p = strstr(p, "\"pid\":");
	if (!p || strtol(p + 6, NULL, 10) != pid) {
		free(out);
		free(err);
		return 0;
	}
	p = strstr(p, "\"bytes\":");
	cr_assert_not_null(p, "%s", out);
	v = strtoull(p + 8, NULL, 10);
	free(out);
	free(err);
	return v;
}

static pid_t run(char *const argv[], const char *truth_path)
{
	struct segfix_wl w;

	cr_assert_eq(segfix_wl_start(&w, shm, truth_path, NULL, argv), 0);
	while (segfix_wl_expect(&w, "") == 0)
		segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	return w.pid;
}

Test(records, survive_a_later_run_until_reap_exited)
{
	char *leak[] = { (char *)"examples/bin/leak", (char *)"--count", (char *)"1", NULL };
	char *mesh[] = { (char *)"examples/bin/mesh_allocation", (char *)"--chips", (char *)"1",
			 (char *)"--runs", (char *)"2", NULL };
	char *out = NULL, *err = NULL;
	uint64_t want;
	pid_t lp;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/leak") ||
	    !segfix_have("examples/bin/mesh_allocation"))
		cr_skip_test("the preload or the emulator is not built");
	lp = run(leak, truth);
	want = truth_total(truth);
	cr_assert_gt(want, 15000000u, "the leak holds its system buffers too: %" PRIu64, want);
	cr_assert_eq(leaked_bytes(lp), want, "right after the leak");
	run(mesh, NULL);
	cr_assert_eq(leaked_bytes(lp), want, "after a later run on the same chip");
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--fail", NULL), 1);
	free(out);
	free(err);
	out = err = NULL;
	/* A plain reap keeps what exited processes left; --exited drops it. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "reap", "--shm", shm, "-q", NULL), 0, "%s", err);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(leaked_bytes(lp), want, "after reap");
	cr_assert_eq(segfix_ttmem_run(&out, &err, "reap", "--shm", shm, "--exited", "-q", NULL), 0,
		     "%s", err);
	free(out);
	free(err);
	cr_assert_eq(leaked_bytes(lp), 0, "after reap --exited");
}
