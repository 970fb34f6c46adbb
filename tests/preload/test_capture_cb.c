/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, graph capture and circular buffers, on every build of the
 * emulated runtime (each generation, gcc and clang; a build not present is
 * skipped, named in the skip message):
 *  - 10,000 allocations a NO_DISPATCH capture hook took over leave the
 *    table and the counters exactly as a run without them, while the real
 *    allocations around them (same thread before and after, another thread
 *    during) equal the ground truth at every hold point, also on a runtime
 *    that does not export GraphTracker::hook_allocate;
 *  - CB usage over 1,000 program launches on one 8-chip mesh (new programs
 *    and launches from the program cache) equals the truth, never holds
 *    more entries than one program's CBs per chip, and is 0 after close;
 *  - 4 threads launching on one shared mesh: exact at each of 30 peaks,
 *    through the op layer and straight through LaunchProgram;
 *  - the fork's track_deallocate_cb reports (TTEMU_CB_FREE_REPORTS=1): the
 *    same, through the preload's free-all path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

/* Largest CB count of one program in the `programs` workload. */
#define MAX_CBS_PER_PROGRAM 8

struct outcome {
	int peaks, closes;
	uint64_t max_cb_entries;           /* per chip, at any peak */
	uint64_t events, unmatched, replaced, drops;   /* segment counters */
	uint64_t allocs, frees, proc_unmatched;        /* the process's */
};

/* The runtime build `flavour` (e.g. "examples/2026/clang"), or skip. */
static const char *flavour_or_skip(const char *flavour)
{
	static char abs[512];

	if (!realpath(bpath(flavour), abs) || !file_exists(bpath(flavour)))
		cr_skip_test("%s is not built", flavour);
	return abs;
}

static uint64_t max_cb_entries_per_chip(struct ttmem_table *t)
{
	struct ttmem_snapshot s;
	uint64_t per_chip[TTMEM_MAX_DEVICES] = { 0 }, max = 0;

	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	for (size_t i = 0; i < s.count; i++)
		if (s.entries[i].type == TTMEM_TYPE_CB && s.entries[i].key.device < TTMEM_MAX_DEVICES)
			per_chip[s.entries[i].key.device]++;
	ttmem_snapshot_free(&s);
	for (unsigned d = 0; d < TTMEM_MAX_DEVICES; d++)
		max = per_chip[d] > max ? per_chip[d] : max;
	return max;
}

/* Run argv under the preload on `flavour`, checking every hold point
 * against the truth (and 0 after each close). */
static struct outcome run_exact(const char *flavour, const char *const argv[],
				const char *extra_env)
{
	struct seg s;
	struct run r;
	struct outcome o;
	struct hold hold = HOLD_INIT;
	char libpath[600], ctx[600];

	memset(&o, 0, sizeof(o));
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s", flavour_or_skip(flavour));
	const char *const env[] = { libpath, "TTMEM_LOG=debug", "TTMEM_CAPACITY=262144", extra_env,
				    NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	snprintf(ctx, sizeof(ctx), "%s: %s", flavour, argv[0]);
	while (hold_next(&r, &s, &hold, ctx)) {
		hold_assert_exact(&hold);
		if (!strcmp(hold.what, "peak")) {
			uint64_t m = max_cb_entries_per_chip(hold.t);

			o.peaks++;
			o.max_cb_entries = m > o.max_cb_entries ? m : o.max_cb_entries;
		} else {
			o.closes++;
			assert_usage_zero(&hold.usage, hold.where);
		}
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x: %s", flavour, st, err);
	cr_expect(strstr(err, flavour) != NULL, "the %s runtime was not the one attached: %s",
		  flavour, err);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_header *h = ttmem_table_header(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p, "pid %d not registered", (int)r.pid);
	o.events = atomic_load(&h->counters.events);
	o.unmatched = atomic_load(&h->counters.unmatched);
	o.replaced = atomic_load(&h->counters.replaced);
	o.drops = atomic_load(&h->counters.drops);
	o.allocs = atomic_load(&p->allocs);
	o.frees = atomic_load(&p->frees);
	o.proc_unmatched = atomic_load(&p->unmatched);
	ttmem_table_close(t);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
	cr_expect_eq(o.unmatched, 0, "%s: frees of keys not in the table", flavour);
	cr_expect_eq(o.replaced, 0, "%s: inserts over live keys", flavour);
	cr_expect_eq(o.drops, 0, "%s: inserts dropped", flavour);
	cr_expect_eq(o.proc_unmatched, 0, "%s: unmatched frees of the process", flavour);
	return o;
}

static void captured_allocations_leave_no_trace(const char *flavour)
{
	const char *const none[] = { bpath("examples/bin/capture"), "--captures", "0",
				     "--runs", "2", "--seed", "5", "--hold", "60000", NULL };
	const char *const many[] = { bpath("examples/bin/capture"), "--captures", "10000",
				     "--runs", "2", "--seed", "5", "--hold", "60000", NULL };
	struct outcome a = run_exact(flavour, none, NULL);
	struct outcome b = run_exact(flavour, many, NULL);

	cr_expect_eq(a.peaks, 2);
	cr_expect_eq(b.peaks, 2);
	cr_expect_gt(a.allocs, 0, "no real allocation recorded");
	cr_expect_eq(b.allocs, a.allocs, "%s: inserts with 10,000 captured allocations %llu, "
		     "without %llu", flavour, (unsigned long long)b.allocs,
		     (unsigned long long)a.allocs);
	cr_expect_eq(b.frees, a.frees, "%s: matched frees %llu vs %llu", flavour,
		     (unsigned long long)b.frees, (unsigned long long)a.frees);
	cr_expect_eq(b.events, a.events, "%s: table events %llu vs %llu", flavour,
		     (unsigned long long)b.events, (unsigned long long)a.events);
}

static void cb_flat_over_1000_launches(const char *flavour)
{
	const char *const argv[] = { bpath("examples/bin/programs"), "--launches", "1000",
				     "--chips", "8", "--runs", "2", "--seed", "3", "--hold",
				     "60000", NULL };
	struct outcome o = run_exact(flavour, argv, NULL);

	cr_expect_eq(o.peaks, 2);
	cr_expect_eq(o.closes, 2);
	cr_expect_gt(o.max_cb_entries, 0, "%s: no CB tracked", flavour);
	cr_expect_leq(o.max_cb_entries, MAX_CBS_PER_PROGRAM,
		      "%s: %llu CB entries on one chip after 1000 launches", flavour,
		      (unsigned long long)o.max_cb_entries);
}

static void cb_four_threads_shared_mesh(const char *flavour)
{
	const char *const argv[] = { bpath("examples/bin/programs"), "--threads", "4",
				     "--launches", "200", "--chips", "4", "--runs", "30",
				     "--seed", "9", "--hold", "60000", NULL };
	struct outcome o = run_exact(flavour, argv, NULL);

	cr_expect_eq(o.peaks, 30);
	cr_expect_leq(o.max_cb_entries, MAX_CBS_PER_PROGRAM);
}

/* Launches straight from 4 threads, unserialized (detail::LaunchProgram):
 * the runtime reports each launch's CBs inside the critical section that
 * replaces a chip's CBs, and the table follows that order. */
static void cb_four_threads_direct(const char *flavour)
{
	const char *const argv[] = { bpath("examples/bin/programs"), "--direct", "--threads", "4",
				     "--launches", "200", "--chips", "4", "--runs", "30",
				     "--seed", "10", "--hold", "60000", NULL };
	struct outcome o = run_exact(flavour, argv, NULL);

	cr_expect_eq(o.peaks, 30);
	cr_expect_leq(o.max_cb_entries, MAX_CBS_PER_PROGRAM);
}

#define ON_EVERY_BUILD(suite, name, fn)                                                     \
	Test(suite, name##_gcc, .timeout = 120) { fn("examples/gcc"); }                      \
	Test(suite, name##_clang, .timeout = 120) { fn("examples/clang"); }                  \
	Test(suite, name##_2025b_gcc, .timeout = 120) { fn("examples/2025b/gcc"); }          \
	Test(suite, name##_2025b_clang, .timeout = 120) { fn("examples/2025b/clang"); }      \
	Test(suite, name##_2026_gcc, .timeout = 120) { fn("examples/2026/gcc"); }            \
	Test(suite, name##_2026_clang, .timeout = 120) { fn("examples/2026/clang"); }

ON_EVERY_BUILD(p14_capture, captured_allocations_leave_no_trace, captured_allocations_leave_no_trace)
ON_EVERY_BUILD(p15_cb, flat_over_1000_launches, cb_flat_over_1000_launches)
ON_EVERY_BUILD(p15_cb, four_threads_shared_mesh, cb_four_threads_shared_mesh)
ON_EVERY_BUILD(p15_cb, four_threads_direct, cb_four_threads_direct)

/* A runtime that does not export GraphTracker::hook_allocate (linked with
 * it local): captured allocations are told apart by their address 0 alone,
 * as exactly. */
Test(p14_capture, without_an_exported_hook_allocate, .timeout = 120)
{
	captured_allocations_leave_no_trace("tests/preload/flavours/nohook");
}

/* The fork's reports (track_deallocate_cb before every launch) through the
 * preload's free-all path: as exact. */
Test(p15_cb, fork_free_reports, .timeout = 120)
{
	const char *const argv[] = { bpath("examples/bin/programs"), "--threads", "2",
				     "--launches", "300", "--chips", "4", "--runs", "3",
				     "--seed", "4", "--hold", "60000", NULL };
	struct outcome o = run_exact("examples/gcc", argv, "TTEMU_CB_FREE_REPORTS=1");

	cr_expect_eq(o.peaks, 3);
	cr_expect_leq(o.max_cb_entries, MAX_CBS_PER_PROGRAM);
}
