/* SPDX-License-Identifier: MIT */
/*
 * The seed scenario (issue 4, part 7): mesh_allocation on the emulated
 * 8-chip mesh, 5 times in a row as separate processes and once with
 * --runs 5.  At every peak the tracked bytes per chip and type equal the
 * emulator's ground truth exactly; after every close every chip shows 0 in
 * use, and what the runtime freed without reporting it is counted as
 * released in bulk.  On every generation of the runtime (2025, 2025b, 2026),
 * each built by gcc and by clang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"


/*
 * The device table: the preload published exactly the chips of the ground
 * truth, each with the emulator's IDevice::arch() (tt::ARCH::WORMHOLE_B0 = 2),
 * and nothing else (no capacity: the arch table in the viewer supplies it).
 */
static void assert_chips_published(struct ttmem_table *t, const struct truth *tr,
				   const char *where)
{
	const struct ttmem_device_info *di = ttmem_table_devices(t);
	unsigned published = 0;

	cr_assert_eq(tr->n, 8, "%s: the emulated mesh has 8 chips in the truth", where);
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++) {
		int in_truth = 0;

		for (unsigned i = 0; i < tr->n; i++)
			in_truth |= tr->dev[i].device == d;
		cr_expect_eq(atomic_load(&di[d].state), in_truth ? 1u : 0u,
			     "%s: chip %u published", where, d);
		cr_expect_eq(di[d].arch, in_truth ? 2u : 0u, "%s: chip %u arch", where, d);
		/* Capacity: DRAM and L1 as the chip's allocator says (bank size x
		 * banks), published at the first buffer of the type; nothing
		 * else.  A closed chip's allocator may be gone (0 in the truth):
		 * what was published stays. */
		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++) {
			uint64_t want = 0, got = atomic_load(&di[d].capacity[ty]);

			for (unsigned i = 0; i < tr->n; i++)
				if (tr->dev[i].device == d && ty < TTMEM_TYPE_COUNT)
					want = tr->dev[i].capacity[ty];
			if (ty != TTMEM_TYPE_DRAM && ty != TTMEM_TYPE_L1)
				cr_expect_eq(got, 0, "%s: chip %u capacity %u", where, d, ty);
			else if (want)
				cr_expect_eq(got, want, "%s: chip %u capacity %u: %llu, allocator's %llu",
					     where, d, ty, (unsigned long long)got,
					     (unsigned long long)want);
		}
		published += atomic_load(&di[d].state) == 1;
	}
	cr_expect_eq(published, 8, "%s: chips published", where);
}

/*
 * The system buffers: every chip holds, owned by its command queue or system
 * memory manager (not the application), what the emulator allocates while
 * a chip opens with one command queue, the same in every generation
 * (examples/runtime/impl/system_buffers.hpp, abi/GENERATIONS.md): 10 DRAM
 * buffers of 15,466,496 bytes in all and 2 L1 buffers of 114,688.  On 2026
 * no owner constructor allocates: the device-open boundary attributes them.
 */
static void assert_system_owned(struct ttmem_table *t, const struct truth *tr, const char *where)
{
	struct ttmem_snapshot snap;
	uint64_t dram[TTMEM_MAX_DEVICES] = { 0 }, l1[TTMEM_MAX_DEVICES] = { 0 };

	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	for (size_t i = 0; i < snap.count; i++) {
		const struct ttmem_entry *e = &snap.entries[i];

		if (e->owner_kind == TTMEM_OWNER_APP || e->key.device >= TTMEM_MAX_DEVICES)
			continue;
		if (e->type == TTMEM_TYPE_DRAM)
			dram[e->key.device] += e->size;
		else if (e->type == TTMEM_TYPE_L1)
			l1[e->key.device] += e->size;
	}
	ttmem_snapshot_free(&snap);
	for (unsigned i = 0; i < tr->n; i++) {
		uint32_t d = tr->dev[i].device;

		cr_expect_eq(dram[d], 15466496, "%s: chip %u system DRAM %llu", where, d,
			     (unsigned long long)dram[d]);
		cr_expect_eq(l1[d], 114688, "%s: chip %u system L1 %llu", where, d,
			     (unsigned long long)l1[d]);
	}
}

/* One process: `runs` runs, each checked at its peak and after its close. */
static void one_process(const struct seg *s, const char *flavour, int seed, int runs)
{
	char seed_s[16], runs_s[16], libpath[600], abs[512], ctx[32];
	struct run r;
	struct hold hold = HOLD_INIT;
	int peaks = 0, closes = 0;

	snprintf(seed_s, sizeof(seed_s), "%d", seed);
	snprintf(runs_s, sizeof(runs_s), "%d", runs);
	cr_assert(realpath(bpath(flavour), abs), "%s missing", flavour);
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s", abs);
	const char *const env[] = { libpath, "TTMEM_LOG=debug", "TTMEM_CAPACITY=65536", NULL };
	const char *const argv[] = { bpath("examples/bin/mesh_allocation"), "--seed", seed_s,
				     "--runs", runs_s, "--hold", "60000", NULL };

	run_start(&r, s, 1, argv, env);
	snprintf(ctx, sizeof(ctx), "seed %d", seed);
	while (hold_next(&r, s, &hold, ctx)) {
		hold_assert_exact(&hold);
		if (!strcmp(hold.what, "peak")) {
			peaks++;
			cr_expect_gt(hold.usage.entries, 0, "%s: nothing tracked", hold.where);
			assert_system_owned(hold.t, &hold.truth, hold.where);
		} else {
			closes++;
			assert_usage_zero(&hold.usage, hold.where);
			assert_chips_published(hold.t, &hold.truth, hold.where);
		}
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(peaks, runs, "peaks seen");
	cr_expect_eq(closes, runs, "closes seen");
	cr_expect(strstr(err, flavour) != NULL, "the %s runtime was not the one attached: %s",
		  flavour, err);
	cr_expect(strstr(err, "(interposable)") != NULL, "%s not found interposable: %s", flavour,
		  err);

	struct ttmem_table *t = seg_open(s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p, "pid %d not registered", (int)r.pid);
	cr_expect_eq(atomic_load(&p->ctl) & 0xff, TTMEM_PROC_EXITED, "not marked exited");
	/* Every free the runtime reported matched an entry: the bulk releases
	 * took nothing the runtime frees (and reports) later. */
	cr_expect_eq(atomic_load(&p->unmatched), 0, "unmatched frees");
	/* The command queues' system buffers were freed at close, unreported. */
	cr_expect_gt(atomic_load(&p->released_bulk[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM]), 0,
		     "no system buffer DRAM released in bulk");
	for (int o = 0; o < TTMEM_OWNER_COUNT; o++)
		for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
			cr_expect_eq(atomic_load(&p->live_at_exit[o][ty]), 0,
				     "owner %d type %d live at exit", o, ty);
	ttmem_table_close(t);
	free(err);
	run_cleanup(&r);
}

static void five_processes(const char *flavour)
{
	struct seg s;

	seg_make(&s);
	for (int i = 1; i <= 5; i++)
		one_process(&s, flavour, i, 1);
	seg_drop(&s);
}

static void five_runs(const char *flavour)
{
	struct seg s;

	seg_make(&s);
	one_process(&s, flavour, 7, 5);
	seg_drop(&s);
}

H_BUILD_TEST(p03_seed, five_processes, .timeout = 120)
{
	five_processes(build);
}

H_BUILD_TEST(p03_seed, runs_5, .timeout = 120)
{
	five_runs(build);
}

/* Many threads allocating and freeing at once: still exact at the peak. */
H_BUILD_TEST(p09_threads, churn_exact_at_peak, .timeout = 120)
{
	struct seg s;
	struct run r;
	int holds = 0;
	(void)build;
	const char *const argv[] = { bpath("examples/bin/churn"), "--threads", "4", "--chips", "2",
				     "--events", "200000", "--hold", "60000", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = hold_follow_exact(&r, &s, &holds);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect_eq(holds, 2);
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_header *h = ttmem_table_header(t);
	cr_expect_eq(atomic_load(&h->counters.unmatched), 0, "frees of keys not in the table");
	cr_expect_eq(atomic_load(&h->counters.replaced), 0, "inserts over live keys");
	cr_expect_eq(atomic_load(&h->counters.drops), 0, "inserts dropped");
	ttmem_table_close(t);
	run_cleanup(&r);
	seg_drop(&s);
}

/* The runtime linked -z now, and compiled -fno-plt (its calls through the
 * GOT, GLOB_DAT relocations): still interposed, still exact. */
Test(p03_seed, gcc_znow_runs_2, .timeout = 120)
{
	struct seg s;

	seg_make(&s);
	one_process(&s, "tests/preload/flavours/znow", 11, 2);
	seg_drop(&s);
}

Test(p03_seed, gcc_noplt_runs_2, .timeout = 120)
{
	struct seg s;

	seg_make(&s);
	one_process(&s, "tests/preload/flavours/noplt", 12, 2);
	seg_drop(&s);
}
