/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, device churn: a process that opens and closes many
 * devices (tests/preload/progs/device_churn.c: a 32-chip mesh opened 12
 * times, each with a bulk free in the middle) never runs out of room for
 * the allocators it has seen, as the allocators of closed devices are
 * forgotten: no warning, and after every bulk free the tracked usage per
 * chip is the ground truth, on every generation (the mesh's sub-device
 * bulk free exists in all of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

#define CYCLES "12"
#define CHIPS  "32"

H_BUILD_TEST(p16_churn, bulk_frees_attributed_after_many_opens, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int bulks = 0, closed = 0;
	const char *const argv[] = { bpath("tests/preload/progs/device_churn"), CYCLES, CHIPS,
				     NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		if (!strcmp(hold.what, "bulk")) {
			/* The mesh's bulk free is in the truth: only the
			 * system buffers are left on every chip. */
			cr_assert_eq(hold.truth.n, (unsigned)atoi(CHIPS), "%s: chips in the truth",
				     hold.where);
			bulks++;
		}
		hold_assert_exact(&hold);
		closed += !strcmp(hold.what, "closed");
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(bulks, atoi(CYCLES));
	cr_expect_eq(closed, 1);
	cr_expect_null(strstr(err, "ttmem can remember"), "the allocator map ran out: %s", err);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * The same under concurrency (tests/preload/progs/device_churn_threads.c):
 * while three threads open, use and close chips of their own again and
 * again (the tracker forgets and learns allocators all the time), a fourth
 * bulk frees a 2-chip mesh's buffers 300 times; each bulk free must still
 * find its allocator: with the mesh open, only the system buffers are left.
 */
H_BUILD_TEST(p16_churn, bulk_frees_attributed_under_concurrent_closes, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	int holds = 0;
	const char *const argv[] = { bpath("tests/preload/progs/device_churn_threads"), "300",
				     NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = hold_follow_exact(&r, &s, &holds);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 2);
	cr_expect_null(strstr(err, "ttmem can remember"), "the allocator map ran out: %s", err);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
