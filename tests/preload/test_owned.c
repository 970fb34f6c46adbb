/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, the index of a process's own entries (preload/owned.c):
 * releases at close, owner destruction and the exit record go through it,
 * so a key it lost would stay in the table after a close (the chip would
 * not read 0), a key it kept wrongly would take what is not ours, and its
 * bulk-release and live-at-exit figures would be off.  Checked against the
 * emulator's ground truth and against the bytes the workload itself says it
 * held, after threads, fork, `ttmem clear`, another process taking our keys,
 * a reap and a full table.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

#define UNIT 65536ull

/* Entries of `pid` live in the table's current epoch, whatever its state. */
static uint64_t entries_of(struct ttmem_table *t, uint32_t pid)
{
	struct ttmem_snapshot snap;
	uint64_t n = 0;

	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	for (size_t i = 0; i < snap.count; i++)
		n += snap.entries[i].pid == pid;
	ttmem_snapshot_free(&snap);
	return n;
}

static unsigned long long stdout_value(const struct run *r, const char *name)
{
	char *out = run_stdout(r), *p = strstr(out, name);
	unsigned long long v = 0;

	cr_assert_not_null(p, "no '%s' in stdout: %s", name, out);
	cr_assert_eq(sscanf(p + strlen(name), " %llu", &v), 1, "stdout: %s", out);
	free(out);
	return v;
}

static void clear_table(const struct seg *s)
{
	struct ttmem_table *w = NULL;
	char err[256] = "";

	cr_assert_eq(ttmem_table_open(&w, s->name, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ttmem_clear(w), 0);
	ttmem_table_close(w);
}

static void assert_nothing_live_at_exit(const struct ttmem_proc *p, const char *who)
{
	cr_expect_eq(atomic_load(&p->ctl) & 0xff, TTMEM_PROC_EXITED, "%s not marked exited", who);
	for (int o = 0; o < TTMEM_OWNER_COUNT; o++)
		for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
			cr_expect_eq(atomic_load(&p->live_at_exit[o][ty]), 0,
				     "%s: live_at_exit[%d][%d] = %llu", who, o, ty,
				     (unsigned long long)atomic_load(&p->live_at_exit[o][ty]));
}

/*
 * Threads, a fork and a clear (tests/preload/progs/owned_stress.c): at every
 * hold point the table equals the truth (after the clear: what was
 * allocated since, as the workload reports it); after each close nothing of the
 * process is left; what each close released in bulk is exactly what the
 * workload held (4 chips x its bytes), in the parent and in the child.
 */
Test(p14_owned, threads_fork_clear, .timeout = 120)
{
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int holds = 0;
	unsigned long long kept0 = 0, kept2 = 0;
	const char *const argv[] = { bpath("tests/preload/progs/owned_stress"), NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		struct ttmem_table *t = hold.t;
		const struct usage *u = &hold.usage;
		const char *where = hold.where;

		if (strcmp(where, "peak 2") != 0) {
			assert_usage_is_truth(u, &hold.truth, where);
		} else {
			/* Since the clear: exactly the buffers allocated after
			 * it (the command queues' system buffers, allocated at
			 * open, were cleared with the rest). */
			kept2 = stdout_value(&r, "kept2");
			for (uint32_t d = 0; d < 4; d++)
				for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
					cr_expect_eq(u->bytes[d][ty], ty == TTMEM_TYPE_DRAM ? kept2 : 0,
						     "%s: chip %u type %d: %llu bytes, kept %llu", where, d,
						     ty, (unsigned long long)u->bytes[d][ty], kept2);
		}
		const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
		cr_assert_not_null(p);
		if (!strcmp(where, "peak 0")) {
			int child = (int)stdout_value(&r, "child");
			kept0 = stdout_value(&r, "kept0");
			cr_assert_gt(kept0, 0, "the threads kept nothing: no release to check");
			const struct ttmem_proc *c = proc_of(t, (uint32_t)child);
			cr_assert_not_null(c, "the child (pid %d) did not register", child);
			assert_nothing_live_at_exit(c, "child");
			/* It closed chip 6 holding the buffers of 2, 4, .. 16 units. */
			cr_expect_eq(atomic_load(&c->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     72 * UNIT, "child released in bulk %llu, held %llu",
				     (unsigned long long)atomic_load(
					     &c->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     72 * UNIT);
			cr_expect_eq(entries_of(t, (uint32_t)child), 0, "child entries left");
		}
		if (!strcmp(hold.what, "closed")) {
			assert_usage_zero(u, where);
			cr_expect_eq(entries_of(t, (uint32_t)r.pid), 0, "%s: entries left", where);
		}
		if (!strcmp(where, "closed 0"))
			cr_expect_eq(atomic_load(&p->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     4 * kept0, "%s: released %llu, held 4 x %llu", where,
				     (unsigned long long)atomic_load(
					     &p->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     kept0);
		if (!strcmp(where, "closed 2"))
			cr_expect_eq(atomic_load(&p->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     4 * (kept0 + kept2), "%s: released %llu, held 4 x (%llu + %llu)",
				     where,
				     (unsigned long long)atomic_load(
					     &p->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]),
				     kept0, kept2);
		if (!strcmp(where, "peak 1")) {
			/* Cleared with no reader of ours on it. */
			ttmem_table_close(hold.t);
			hold.t = NULL;
			clear_table(&s);
		}
		holds++;
	}
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 5, "hold points seen");
	cr_expect_gt(kept2, 0, "nothing allocated after the clear");
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p);
	assert_nothing_live_at_exit(p, "parent");
	ttmem_table_close(t);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * A table of 128 slots on an 8-chip mesh: most inserts are dropped.  What
 * did get in is still released exactly at each close and nothing is left.
 */
Test(p14_owned, full_table, .timeout = 60)
{
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int holds = 0;
	const char *const argv[] = { bpath("examples/bin/mesh_allocation"), "--seed", "5", "--runs",
				     "2", "--hold", "60000", NULL };
	const char *const env[] = { "TTMEM_CAPACITY=128", "TTMEM_LOG=quiet", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	while (hold_next(&r, &s, &hold, NULL)) {
		const struct truth *tr = &hold.truth;

		for (unsigned i = 0; i < tr->n; i++)
			for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
				cr_expect_leq(hold.usage.bytes[tr->dev[i].device][ty],
					      tr->dev[i].bytes[ty], "%s: chip %u type %d over the truth",
					      hold.where, tr->dev[i].device, ty);
		if (!strcmp(hold.what, "closed")) {
			assert_usage_zero(&hold.usage, hold.where);
			cr_expect_eq(entries_of(hold.t, (uint32_t)r.pid), 0, "%s: entries left",
				     hold.where);
		}
		holds++;
	}
	int st = run_wait(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect_eq(holds, 4);
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p);
	cr_expect_gt(atomic_load(&p->drops), 0, "the table never filled: the test proves nothing");
	cr_expect_gt(atomic_load(&p->allocs), 0);
	assert_nothing_live_at_exit(p, "mesh_allocation");
	cr_expect_eq(entries_of(t, (uint32_t)r.pid), 0, "entries left at exit");
	ttmem_table_close(t);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * Another process with the same seed allocates the same keys on the same
 * chips while A holds them: its inserts take A's entries over.  A's close
 * must then release only what is still A's (B's entries stay, equal to B's
 * truth); B is killed and reaped; A's next run is exact again.
 */
Test(p14_owned, keys_taken_by_another_process_then_reaped, .timeout = 60)
{
	struct seg s;
	struct run a, b;
	char what[16];
	int n;
	const char *const argv_a[] = { bpath("examples/bin/mesh_allocation"), "--seed", "8",
				       "--runs", "2", "--hold", "60000", NULL };
	const char *const argv_b[] = { bpath("examples/bin/mesh_allocation"), "--seed", "8",
				       "--hold", "60000", NULL };

	seg_make(&s);
	run_start(&a, &s, 1, argv_a, NULL);
	cr_assert_eq(run_next(&a, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "peak");

	run_start(&b, &s, 1, argv_b, NULL);
	cr_assert_eq(run_next(&b, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "peak");
	struct truth tb;
	truth_load(b.truth, &tb);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	cr_expect_gt(atomic_load(&ttmem_table_header(t)->counters.replaced), 0,
		     "B took none of A's keys: the test proves nothing");
	ttmem_table_close(t);

	/* A closes while B holds the keys. */
	run_continue(&a);
	cr_assert_eq(run_next(&a, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "closed");
	t = seg_open(&s);
	cr_assert_not_null(t);
	struct usage ua, ub;
	usage_read(t, (uint32_t)a.pid, &ua);
	usage_read(t, (uint32_t)b.pid, &ub);
	assert_usage_zero(&ua, "A closed");
	assert_usage_is_truth(&ub, &tb, "B at its peak, after A's close");
	ttmem_table_close(t);

	/* B killed, then reaped. */
	cr_assert_eq(kill(b.pid, SIGKILL), 0);
	int st = run_wait(&b);
	cr_assert(WIFSIGNALED(st), "B status %#x", st);
	struct ttmem_table *w = NULL;
	char err[256] = "";
	cr_assert_eq(ttmem_table_open(&w, s.name, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(ttmem_proc_register(w), 0);
	cr_expect_gt(ttmem_reap(w, 0, NULL), 0, "nothing of B reaped");
	cr_expect_eq(entries_of(w, (uint32_t)b.pid), 0, "B's entries left after the reap");
	ttmem_table_close(w);

	/* A's second run, exact at its peak and after its close. */
	run_continue(&a);
	struct hold hold = HOLD_INIT;
	while (hold_next(&a, &s, &hold, "A")) {
		assert_usage_is_truth(&hold.usage, &hold.truth, hold.where);
		if (!strcmp(hold.what, "closed"))
			cr_expect_eq(entries_of(hold.t, (uint32_t)a.pid), 0, "%s: entries left",
				     hold.where);
	}
	st = run_wait(&a);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "A status %#x", st);
	t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)a.pid);
	cr_assert_not_null(p);
	assert_nothing_live_at_exit(p, "A");
	ttmem_table_close(t);
	run_cleanup(&a);
	run_cleanup(&b);
	seg_drop(&s);
}
