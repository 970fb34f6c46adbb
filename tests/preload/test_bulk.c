/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, bulk frees: what an allocator frees in bulk in the middle
 * of a run, unreported, is released at once on every generation
 * (tests/preload/progs/bulk_free.c): 2025 through Allocator's, 2025b
 * through AllocatorImpl's read at the allocator_ field, 2026 through
 * AllocatorImpl's mapped to the view Buffer::allocator() answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

#define MESH_DRAM (UINT64_C(32) << 20)
#define MESH_L1   (UINT64_C(64) << 10)
#define AGAIN     (UINT64_C(16) << 20)

H_BUILD_TEST(p13_bulk, mid_run_bulk_free_released_on_every_chip, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	struct truth peak = { 0 };
	struct hold hold = HOLD_INIT;
	int holds = 0;
	const char *const argv[] = { bpath("tests/preload/progs/bulk_free"), NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		const struct truth *tr = &hold.truth;

		if (!strcmp(hold.what, "peak"))
			peak = *tr;
		if (!strcmp(hold.what, "bulk")) {
			/* The ground truth itself lost the mesh buffers on both
			 * chips (the bulk free happened) ... */
			cr_assert_eq(tr->n, 2);
			for (unsigned i = 0; i < tr->n; i++) {
				cr_expect_eq(peak.dev[i].bytes[TTMEM_TYPE_DRAM] - tr->dev[i].bytes[TTMEM_TYPE_DRAM],
					     MESH_DRAM, "chip %u DRAM", tr->dev[i].device);
				cr_expect_eq(peak.dev[i].bytes[TTMEM_TYPE_L1] - tr->dev[i].bytes[TTMEM_TYPE_L1],
					     MESH_L1, "chip %u L1", tr->dev[i].device);
			}
		}
		/* ... and ttmem agrees at every hold point. */
		hold_assert_exact(&hold);
		holds++;
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 4);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
