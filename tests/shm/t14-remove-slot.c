/* SPDX-License-Identifier: MIT */
/* ttmem_remove_slot: a remove at the slot an insert returned takes exactly
 * that insertion and nothing else; whatever happened to it since (a clear,
 * a replacement, a reuse of the slot, another process's table) leaves the
 * table and the counters untouched, so the caller's remove by key judges. */
#include "helpers.h"

static struct ttmem_table *t;
static char path[128];

static void setup(void)
{
	seg_path(path, sizeof(path), "rmslot");
	t = seg_writer(path, 4096);
}

static void teardown(void)
{
	ttmem_table_close(t);
	unlink(path);
}

TestSuite(remove_slot, .init = setup, .fini = teardown);

static const struct ttmem_proc *me(void)
{
	ttmem_flush(t);
	return &ttmem_table_procs(t)[ttmem_table_proc_index(t)];
}

static uint64_t live_bytes(void)
{
	return atomic_load(&me()->live_bytes);
}

static uint64_t frees_counted(void)
{
	return atomic_load(&me()->frees);
}

Test(remove_slot, takes_the_insertion_once)
{
	struct ttmem_entry e = mk_entry(3, TTMEM_SPACE_L1, 0x40000, 4096), out;
	struct ttmem_where w;

	cr_assert_eq(ttmem_insert_at(t, &e, &w), TTMEM_INSERTED);
	cr_assert_eq(live_bytes(), 4096);
	uint64_t frees = frees_counted();
	cr_assert_eq(ttmem_remove_slot(t, &w, &out), 0);
	cr_assert_eq(w.size, 4096, "where->size is the removed entry's");
	cr_assert_eq(out.key.address, e.key.address);
	cr_assert_eq(out.key.device, 3);
	cr_assert_eq(out.size, 4096);
	cr_assert_eq(out.slot, w.slot);
	cr_assert_eq(live_bytes(), 0);
	cr_assert_eq(frees_counted(), frees + 1);
	cr_assert_eq(census(t).live, 0);
	cr_assert_eq(census(t).meta_without_live, 0);

	/* Again: gone, nothing counted (no unmatched free either). */
	uint64_t unmatched = atomic_load(&me()->unmatched), events = CNT(t, events);
	cr_assert_eq(ttmem_remove_slot(t, &w, NULL), TTMEM_ENOTFOUND);
	cr_assert_eq(frees_counted(), frees + 1);
	cr_assert_eq(atomic_load(&me()->unmatched), unmatched);
	cr_assert_eq(CNT(t, events), events);
}

Test(remove_slot, leaves_a_later_insertion_into_the_same_slot)
{
	struct ttmem_entry e = mk_entry(0, TTMEM_SPACE_DRAM, 0x1000, 100);
	struct ttmem_where w1, w2;

	cr_assert_eq(ttmem_insert_at(t, &e, &w1), TTMEM_INSERTED);
	cr_assert_eq(ttmem_remove(t, &e.key, NULL), 0);
	/* Fill until the old slot is taken again by another key. */
	uint64_t a = 0x2000;
	do {
		struct ttmem_entry o = mk_entry(0, TTMEM_SPACE_DRAM, a, 7);
		cr_assert_eq(ttmem_insert_at(t, &o, &w2), TTMEM_INSERTED);
		a += 0x1000;
	} while (w2.slot != w1.slot && a < 0x1000 * 4096);
	cr_assert_eq(w2.slot, w1.slot, "the slot was never reused");
	uint64_t live = census(t).live;
	cr_assert_eq(ttmem_remove_slot(t, &w1, NULL), TTMEM_ENOTFOUND);
	cr_assert_eq(census(t).live, live);
	cr_assert_eq(ttmem_remove_slot(t, &w2, NULL), 0);
	cr_assert_eq(census(t).live, live - 1);
}

Test(remove_slot, leaves_a_replaced_key)
{
	struct ttmem_entry e = mk_entry(1, TTMEM_SPACE_DRAM, 0x9000, 100);
	struct ttmem_where w1, w2;

	cr_assert_eq(ttmem_insert_at(t, &e, &w1), TTMEM_INSERTED);
	e.size = 200;   /* the same key again, no free between */
	cr_assert_eq(ttmem_insert_at(t, &e, &w2), TTMEM_INSERTED_REPLACED);
	cr_assert_eq(ttmem_remove_slot(t, &w1, NULL), TTMEM_ENOTFOUND);
	cr_assert_eq(live_bytes(), 200);
	cr_assert_eq(ttmem_remove_slot(t, &w2, NULL), 0);
	cr_assert_eq(live_bytes(), 0);
}

Test(remove_slot, leaves_a_cleared_entry)
{
	struct ttmem_entry e = mk_entry(2, TTMEM_SPACE_L1, 0x8000, 64);
	struct ttmem_where w;

	cr_assert_eq(ttmem_insert_at(t, &e, &w), TTMEM_INSERTED);
	cr_assert_eq(ttmem_clear(t), 0);
	uint64_t frees = frees_counted();
	cr_assert_eq(ttmem_remove_slot(t, &w, NULL), TTMEM_ENOTFOUND);
	cr_assert_eq(frees_counted(), frees);
	/* The slot still holds the cleared epoch's entry, untouched. */
	cr_assert_eq(TTMEM_CTL_STATE(atomic_load(&ttmem_table_slots(t)[w.slot].ctl)),
		     TTMEM_SLOT_LIVE);
}

Test(remove_slot, refuses_nonsense)
{
	struct ttmem_where w = { ttmem_table_capacity(t), 0, 0 };

	cr_assert_eq(ttmem_remove_slot(t, &w, NULL), -EINVAL);
	cr_assert_eq(ttmem_remove_slot(t, NULL, NULL), -EINVAL);
	w.slot = 5;
	w.live = 0;   /* a FREE word: never an insertion's */
	cr_assert_eq(ttmem_remove_slot(t, &w, NULL), TTMEM_ENOTFOUND);
}

/* A forked child (another pid, its own registration) is handed its parent's
 * where: the parent's entry stays. */
static struct ttmem_where parent_where;

static int child_removes(void *arg)
{
	struct ttmem_table *c = NULL;
	char err[256];
	(void)arg;
	if (ttmem_table_open(&c, path, NULL, err, sizeof(err)) != 0 || ttmem_proc_register(c) < 0)
		return 2;
	int rc = ttmem_remove_slot(c, &parent_where, NULL);
	ttmem_table_close(c);
	return rc == TTMEM_ENOTFOUND ? 0 : 1;
}

Test(remove_slot, another_process_cannot_take_ours)
{
	struct ttmem_entry e = mk_entry(0, TTMEM_SPACE_DRAM, 0x77000, 512);

	cr_assert_eq(ttmem_insert_at(t, &e, &parent_where), TTMEM_INSERTED);
	ttmem_flush(t);
	cr_assert_eq(wait_child(fork_child(child_removes, NULL)), 0);
	cr_assert_eq(census(t).live_current, 1);
	cr_assert_eq(live_bytes(), 512);
}
