/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, cost group: the table work of hooked events must not grow
 * with the table's capacity (counted by the table core's debug figures, not
 * timed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

struct launch {
	unsigned long long meta_lines, ops, cb_entries;
};

static struct launch launch_mode(const char *capacity_env, int k, const char *mode)
{
	struct seg s;
	struct run r;
	struct launch l = { 0, 0, 0 };
	char ks[16];
	snprintf(ks, sizeof(ks), "%d", k);
	const char *const argv[] = { bpath("tests/preload/inproc/cb_launch"), ks, mode, NULL };
	const char *const env[] = { capacity_env, NULL };

	seg_make(&s);
	run_start(&r, &s, 0, argv, env);
	int st = run_wait(&r);
	char *out = run_stdout(&r), *err = run_stderr(&r);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "cb_launch: status %#x, stderr: %s", st,
		  err);
	cr_assert_eq(sscanf(out, "meta_lines %llu ops %llu cb_entries %llu", &l.meta_lines,
			    &l.ops, &l.cb_entries), 3, "cb_launch printed: %s", out);
	free(out), free(err);
	run_cleanup(&r);
	seg_drop(&s);
	return l;
}

static struct launch launch_at(const char *capacity_env, int k)
{
	return launch_mode(capacity_env, k, NULL);
}

/* One program launch on an 8-chip mesh evicts the previous program's K CB
 * entries and inserts K new ones on every chip: O(K) meta
 * lines, about the same at 2^12 and 2^20 slots (a sweep per chip would read
 * capacity / 64 lines each: 8 x 16384 at 2^20). */
Test(p13_cost, cb_free_all_is_independent_of_capacity, .timeout = 60)
{
	const int k = 8, chips = 8;
	struct launch small = launch_at("TTMEM_CAPACITY=4096", k);
	struct launch large = launch_at("TTMEM_CAPACITY=1048576", k);

	cr_expect_eq(small.cb_entries, (unsigned long long)(k * chips),
		     "CB entries live after the launch: %llu", small.cb_entries);
	cr_expect_eq(large.cb_entries, (unsigned long long)(k * chips),
		     "CB entries live after the launch: %llu", large.cb_entries);
	/* k*chips inserts (2 lines each) and removes (1 or 2 each: which of
	 * its two groups an entry landed in depends on the geometry). */
	unsigned long long d = small.meta_lines > large.meta_lines
				       ? small.meta_lines - large.meta_lines
				       : large.meta_lines - small.meta_lines;
	cr_expect_leq(d, (unsigned long long)(k * chips),
		      "meta lines of one launch: %llu at 2^12 slots, %llu at 2^20", small.meta_lines,
		      large.meta_lines);
	cr_expect_leq(small.meta_lines, 4ull * k * chips,
		      "one launch scanned %llu meta lines at 2^12 slots", small.meta_lines);
	cr_expect_leq(large.meta_lines, 4ull * k * chips,
		      "one launch scanned %llu meta lines at 2^20 slots", large.meta_lines);
	cr_expect_geq(large.ops, 2ull * k * chips, "one launch made %llu table ops", large.ops);
}

/* A launch of the program the mesh already holds does no table work at all
 * (O(1) for the whole mesh, whatever its chips and CBs); after a clear of
 * the table the next launch of it puts its CBs back on every chip. */
Test(p13_cost, resident_launch_is_o1_and_survives_a_clear, .timeout = 60)
{
	const int k = 8, chips = 8;
	struct launch l = launch_mode("TTMEM_CAPACITY=4096", k, "resident");

	cr_expect_eq(l.ops, 0ull, "a resident launch made %llu table ops", l.ops);
	cr_expect_eq(l.meta_lines, 0ull, "a resident launch read %llu meta lines", l.meta_lines);
	cr_expect_eq(l.cb_entries, (unsigned long long)(k * chips),
		     "CB entries live after a clear and a launch: %llu", l.cb_entries);
}
