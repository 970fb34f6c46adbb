/* SPDX-License-Identifier: MIT */
/* Dead processes: their keys reclaimed on insert, their stuck BUSY slots
 * reset, reap of their entries and registry entries. */
#include "helpers.h"

struct child_plan {
	const char *path;
	int n;              /* entries to insert */
	uint32_t dev;
	int exit_normally;  /* ttmem_proc_exit before leaving */
	int pause;          /* signal the parent, wait to be killed */
	int fds[2];
};

static int child_run(void *arg)
{
	struct child_plan *cp = arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, cp->path, NULL, NULL, 0) != 0)
		return 1;
	int idx = ttmem_proc_register(t);
	if (idx < 0)
		return 2;
	for (int i = 0; i < cp->n; i++) {
		struct ttmem_entry e = mk_entry(cp->dev, 0, (uint64_t)(i + 1) * 4096, 100 + (uint64_t)i);
		e.owner_kind = (uint8_t)(i % 2 ? TTMEM_OWNER_CQ : TTMEM_OWNER_APP);
		e.type = (uint8_t)(i % 3 == 0 ? TTMEM_TYPE_L1 : TTMEM_TYPE_DRAM);
		if (ttmem_insert(t, &e) != TTMEM_INSERTED)
			return 3;
	}
	ttmem_flush(t);
	if (cp->exit_normally)
		ttmem_proc_exit(t, idx);
	if (cp->pause) {
		char b = (char)idx;
		if (write(cp->fds[1], &b, 1) != 1)
			return 4;
		for (;;)
			pause();
	}
	return 100 + idx;
}

/* Run a child to completion; returns its registry index. */
static int run_child(struct child_plan *cp)
{
	int rc = wait_child(fork_child(child_run, cp));
	cr_assert_geq(rc, 100, "child failed: %d", rc);
	return rc - 100;
}

/* A child that stays alive until killed; returns its pid, *idx its index. */
static pid_t start_child(struct child_plan *cp, int *idx)
{
	cr_assert_eq(pipe(cp->fds), 0);
	cp->pause = 1;
	pid_t pid = fork_child(child_run, cp);
	char b;
	cr_assert_eq(read(cp->fds[0], &b, 1), 1);
	close(cp->fds[0]);
	close(cp->fds[1]);
	*idx = b;
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	cr_assert_eq(wait_child(pid), 128 + SIGKILL);
}

/* Make a FREE slot BUSY as if claimer `idx` had died holding it. */
static uint64_t forge_busy(struct ttmem_table *t, uint32_t idx)
{
	struct ttmem_slot *s = (struct ttmem_slot *)(uintptr_t)ttmem_table_slots(t);
	uint64_t cap = ttmem_table_header(t)->capacity;
	for (uint64_t i = 0; i < cap; i++) {
		uint64_t c = atomic_load(&s[i].ctl);
		if (TTMEM_CTL_STATE(c) == TTMEM_SLOT_FREE) {
			uint64_t b = TTMEM_CTL_MAKE(TTMEM_CTL_SEQ(c) + 1, busy_tag_of(t, idx), TTMEM_SLOT_BUSY);
			cr_assert(atomic_compare_exchange_strong(&s[i].ctl, &c, b));
			return i;
		}
	}
	cr_assert_fail("no free slot");
	return 0;
}

/* A key held by a dead or exited process is its leak record: an insert of
 * that key leaves it (both are live, each process's own), a live owner's
 * key is replaced. */
Test(reap, insert_keeps_dead_owners_key)
{
	char path[128];
	seg_path(path, sizeof(path), "reclaim");
	struct ttmem_table *t = seg_writer(path, 1024);
	struct child_plan dead = { .path = path, .n = 2, .dev = 0 };
	run_child(&dead);                 /* died without exiting */
	struct child_plan exited = { .path = path, .n = 2, .dev = 1, .exit_normally = 1 };
	run_child(&exited);
	struct child_plan alive = { .path = path, .n = 2, .dev = 2 };
	int aidx;
	pid_t apid = start_child(&alive, &aidx);

	struct ttmem_entry e = mk_entry(0, 0, 4096, 5);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	e = mk_entry(1, 0, 4096, 5);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	e = mk_entry(2, 0, 4096, 5);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED_REPLACED);
	cr_assert_eq(CNT(t, reclaimed), 0);
	cr_assert_eq(CNT(t, replaced), 1);
	/* The replaced live owner's live bytes dropped by the entry's size. */
	cr_assert_eq(atomic_load(&ttmem_table_procs(t)[aidx].live_bytes), 101);

	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	/* The children's 6 but the live one's key taken over, and our 3. */
	cr_assert_eq(s.count, 8);
	int mine = 0;
	for (size_t i = 0; i < s.count; i++)
		if (s.entries[i].pid == (uint32_t)getpid()) {
			mine++;
			cr_assert_eq(s.entries[i].size, 5);
		}
	cr_assert_eq(mine, 3);
	ttmem_snapshot_free(&s);
	kill_child(apid);
	ttmem_table_close(t);
	unlink(path);
}

Test(reap, full_groups_reclaim_dead_entries_and_stuck_slots)
{
	char path[128];
	seg_path(path, sizeof(path), "stuck");
	struct ttmem_table *t = seg_writer(path, 128);
	/* 126 of ours, 1 stuck BUSY of a dead claimer, 1 of a live child. */
	struct child_plan dead = { .path = path, .n = 0 };
	int didx = run_child(&dead);
	struct child_plan alive = { .path = path, .n = 1, .dev = 9 };
	int aidx;
	pid_t apid = start_child(&alive, &aidx);
	for (uint64_t i = 0; i < 126; i++) {
		struct ttmem_entry e = mk_entry(0, 0, (i + 1) * 64, 1);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	uint64_t stuck = forge_busy(t, (uint32_t)didx);
	struct slot_census c = census(t);
	cr_assert_eq(c.free, 0);
	cr_assert_eq(c.busy, 1);
	/* A BUSY slot of a live claimer is never taken. */
	struct ttmem_entry e = mk_entry(1, 0, 64, 1);
	struct ttmem_slot *s = (struct ttmem_slot *)(uintptr_t)ttmem_table_slots(t);
	uint64_t save = atomic_load(&s[stuck].ctl);
	atomic_store(&s[stuck].ctl, TTMEM_CTL_MAKE(TTMEM_CTL_SEQ(save), busy_tag_of(t, (uint32_t)aidx), TTMEM_SLOT_BUSY));
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_EFULL);
	atomic_store(&s[stuck].ctl, save);
	/* The dead claimer's slot is. */
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	cr_assert_eq(CNT(t, stuck_freed), 1);
	struct ttmem_entry e2 = mk_entry(1, 0, 128, 1);
	cr_assert_eq(ttmem_insert(t, &e2), TTMEM_EFULL);
	/* Once the child dies, its entry is taken (counted reclaimed), after
	 * the handle's "alive" verdict (cached 100 ms) has expired. */
	kill_child(apid);
	usleep(150 * 1000);
	cr_assert_eq(ttmem_insert(t, &e2), TTMEM_INSERTED);
	cr_assert_eq(CNT(t, reclaimed), 1);
	c = census(t);
	cr_assert_eq(c.live_current, 128);
	cr_assert_eq(c.busy, 0);
	ttmem_table_close(t);
	unlink(path);
}

Test(reap, reap_dead_and_exited)
{
	char path[128];
	seg_path(path, sizeof(path), "reap");
	struct ttmem_table *t = seg_writer(path, 1024);
	struct ttmem_entry mine = mk_entry(7, 0, 64, 1);
	cr_assert_eq(ttmem_insert(t, &mine), TTMEM_INSERTED);
	struct child_plan a = { .path = path, .n = 6, .dev = 1 };
	int aidx;
	pid_t apid = start_child(&a, &aidx);
	struct child_plan b = { .path = path, .n = 3, .dev = 2, .exit_normally = 1 };
	int bidx = run_child(&b);
	struct child_plan live = { .path = path, .n = 2, .dev = 3 };
	int lidx;
	pid_t lpid = start_child(&live, &lidx);
	kill_child(apid);
	forge_busy(t, (uint32_t)aidx);
	const struct ttmem_proc *ap = &ttmem_table_procs(t)[aidx];
	cr_assert_eq(atomic_load(&ap->live_bytes), 100 + 101 + 102 + 103 + 104 + 105);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)aidx, ap->pid), TTMEM_LIVENESS_DEAD);

	struct ttmem_tally tl;
	memset(&tl, 0, sizeof(tl));
	cr_assert_eq(ttmem_reap(t, 0, &tl), 6);
	cr_assert_eq(tl.entries, 6);
	/* i = 0..5: owner APP for even i, CQ for odd; L1 for i % 3 == 0. */
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_L1], 100);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM], 102 + 104);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_L1], 103);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM], 101 + 105);
	cr_assert_eq(CNT(t, stuck_freed), 1);
	cr_assert_eq(CNT(t, reclaimed), 6);
	cr_assert_eq(atomic_load(&ap->live_bytes), 0);
	cr_assert_eq(atomic_load(&ap->live_at_exit[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM]), 206);
	cr_assert_eq(atomic_load(&ap->live_at_exit[TTMEM_OWNER_APP][TTMEM_TYPE_L1]), 100);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)aidx, ap->pid), TTMEM_LIVENESS_EXITED);
	cr_assert(ap->flags & TTMEM_PROC_F_KILLED);
	cr_assert_neq(atomic_load(&ap->exited_ns), 0);

	/* The exited child's entries are the leak record: kept unless asked. */
	struct ttmem_filter fb = { .pid = ttmem_table_procs(t)[bidx].pid };
	cr_assert_eq(ttmem_tally(t, &fb, NULL), 3);
	cr_assert_eq(ttmem_reap(t, 0, NULL), 0);
	cr_assert_eq(ttmem_reap(t, 1, NULL), 3);
	cr_assert_eq(ttmem_tally(t, &fb, NULL), 0);
	cr_assert(!(ttmem_table_procs(t)[bidx].flags & TTMEM_PROC_F_KILLED));

	struct slot_census c = census(t);
	cr_assert_eq(c.busy, 0);
	cr_assert_eq(c.live_current, 3); /* mine + the live child's 2 */
	cr_assert_eq(c.meta_without_live, 0);
	kill_child(lpid);
	cr_assert_eq(ttmem_reap(t, 0, NULL), 2);
	c = census(t);
	cr_assert_eq(c.live_current, 1);
	ttmem_table_close(t);
	unlink(path);
}

/* ---- a registry entry recycled in the middle of a reap ---------------------- */

/* The library's test hook and its points (shm/internal.h; NULL in
 * production). */
extern void (*ttmem_reap_test_hook)(struct ttmem_table *t, int where, uint32_t proc);
enum { HOOK_SLOT = 1, HOOK_PROC = 2 };

static struct {
	int where;                /* HOOK_SLOT or HOOK_PROC */
	uint32_t target;          /* registry index to recycle */
	int fired;
	struct child_plan plan;   /* the recycler */
	pid_t pid;
	int idx;
} rh;

/* At the chosen point, once: start a live process that registers into the
 * full registry, recycling the dead process's entry `target`. */
static void recycle_hook(struct ttmem_table *t, int where, uint32_t proc)
{
	(void)t;
	if (rh.fired || where != rh.where || proc != rh.target)
		return;
	rh.fired = 1;
	rh.pid = start_child(&rh.plan, &rh.idx);
}

/* Registry of 2: this process and A.  A dies; at `where` the reap has judged
 * A (its registry entry, or one of its slots) and a new process takes A's
 * entry before the reap writes anything about A.  The recycler's entry must
 * stay exactly what it made of it: not marked, its live bytes its own,
 * nothing added to its live_at_exit. */
static void recycled_during_reap(int where, int a_entries)
{
	char path[128];
	seg_path(path, sizeof(path), "recyc");
	struct ttmem_table *t = seg_open_cap(path, 1024, 2);
	cr_assert_geq(ttmem_proc_register(t), 0);
	struct child_plan a = { .path = path, .n = a_entries, .dev = 1 };
	int aidx;
	pid_t apid = start_child(&a, &aidx);
	kill_child(apid);
	memset(&rh, 0, sizeof(rh));
	rh.where = where;
	rh.target = (uint32_t)aidx;
	rh.plan.path = path;
	rh.plan.n = 1;   /* one entry of 100 bytes */
	rh.plan.dev = 5;
	ttmem_reap_test_hook = recycle_hook;
	int64_t n = ttmem_reap(t, 0, NULL);
	ttmem_reap_test_hook = NULL;
	cr_assert(rh.fired, "the hook did not run");

	/* Read it all while the recycler lives, then end it (before any
	 * assertion: a failing one must not leave it behind). */
	const struct ttmem_proc *p = &ttmem_table_procs(t)[rh.idx];
	uint64_t ctl = atomic_load(&p->ctl);
	uint32_t flags = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
	uint64_t exited = atomic_load(&p->exited_ns), live = atomic_load(&p->live_bytes);
	uint64_t at_exit = 0;
	for (unsigned o = 0; o < TTMEM_MAX_OWNERS; o++)
		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			at_exit += atomic_load(&p->live_at_exit[o][ty]);
	enum ttmem_liveness lv = ttmem_proc_liveness(t, (uint16_t)rh.idx, (uint32_t)rh.pid);
	kill_child(rh.pid);

	cr_assert_eq(n, a_entries);
	cr_assert_eq((uint32_t)rh.idx, rh.target, "the recycler did not take the dead entry");
	cr_assert_eq((uint32_t)(ctl >> 32), (uint32_t)rh.pid);
	cr_assert_eq(ctl & 0xff, TTMEM_PROC_RUNNING);
	cr_assert_eq(lv, TTMEM_LIVENESS_RUNNING);
	cr_assert(!(flags & TTMEM_PROC_F_KILLED), "recycled entry marked killed");
	cr_assert_eq(exited, 0, "recycled entry given an exit time");
	cr_assert_eq(live, 100, "recycled entry's live bytes: %llu", (unsigned long long)live);
	cr_assert_eq(at_exit, 0, "recycled entry's live_at_exit: %llu", (unsigned long long)at_exit);
	ttmem_table_close(t);
	unlink(path);
}

Test(reap, entry_recycled_before_marking)
{
	recycled_during_reap(HOOK_PROC, 0);
}

Test(reap, entry_recycled_before_live_at_exit)
{
	recycled_during_reap(HOOK_SLOT, 2);
}
