/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, fork: a forked child that frees a buffer it inherited
 * leaves the parent's entry alone (tests/preload/progs/fork_free.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"


H_BUILD_TEST(p08_fork, child_frees_inherited_buffer, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int holds = 0;
	const char *const argv[] = { bpath("tests/preload/progs/fork_free"), NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		struct ttmem_table *t = hold.t;
		const struct usage *u = &hold.usage;

		if (!strcmp(hold.what, "peak")) {
			/* The parent still holds its 64 MiB on chip 0 (and its
			 * command queue's system buffers): == the truth below. */
			cr_expect_geq(u->bytes[0][TTMEM_TYPE_DRAM], UINT64_C(64) << 20,
				     "chip 0 DRAM in use: %llu",
				     (unsigned long long)u->bytes[0][TTMEM_TYPE_DRAM]);
			char *out = run_stdout(&r);
			int child = 0;
			cr_assert_eq(sscanf(out, "child %d", &child), 1, "stdout: %s", out);
			free(out);
			const struct ttmem_proc *c = proc_of(t, (uint32_t)child);
			cr_assert_not_null(c, "the child (pid %d) did not register", child);
			cr_expect_eq(atomic_load(&c->ctl) & 0xff, TTMEM_PROC_EXITED);
			cr_expect_eq(atomic_load(&c->frees), 0, "the child freed the parent's entry");
			cr_expect_geq(atomic_load(&c->unmatched), 1);
			for (int o = 0; o < TTMEM_OWNER_COUNT; o++)
				for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
					cr_expect_eq(atomic_load(&c->live_at_exit[o][ty]), 0,
						     "child live_at_exit[%d][%d] = %llu", o, ty,
						     (unsigned long long)atomic_load(&c->live_at_exit[o][ty]));
			const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
			cr_assert_not_null(p);
			cr_expect_eq(atomic_load(&p->unmatched), 0);
		}
		hold_assert_exact(&hold);
		holds++;
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 2);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
