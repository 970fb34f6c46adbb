/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, what a bank holds per buffer (tests/preload/progs/
 * bank_rules.c): the figure ttmem records for each buffer, summed per
 * chip and type, is what the emulator's allocator reserved in a bank, on
 * every generation: a sharded buffer of the same size and pages as an
 * interleaved one is counted by its cores, and a chip reopened with other
 * bank counts is counted by its new banks, not by what ttmem remembered
 * of the allocator before it (in the 2025b builds a reopened chip's
 * allocator lands where an earlier one was; in the others the emulator's
 * heap gives it a new address).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

#define PAGE 2048u

H_BUILD_TEST(p_bank, per_bank_figures_follow_layout_and_reopened_banks, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int holds = 0;
	const char *const argv[] = { bpath("tests/preload/progs/bank_rules"), NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		const struct truth *tr = &hold.truth;

		/* What ttmem recorded per bank is what the allocator holds:
		 * 40 pages are 4 per DRAM bank of 12 and 1 per L1 bank of 64,
		 * 8 per sharded core of 5 (at "first"); 8 per DRAM bank of 5
		 * and 2 per L1 bank of 20 (at "reopened 0" and "3"). */
		cr_assert_eq(tr->n, 1);
		cr_assert(tr->dev[0].has_per_bank, "the truth has per-bank figures");
		hold_assert_exact(&hold);
		holds++;
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 7);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
