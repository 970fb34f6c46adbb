/* SPDX-License-Identifier: MIT */
/* A snapshot of a large table is copied by two threads, each into its part
 * of the buffer, sized from the meta bytes; the parts are then joined.
 * Whatever the sizing missed (stale entries of a cleared epoch, entries
 * coming and going during the copy), the result is the live entries of the
 * epoch, each once, in slot order, as from one pass. */
#include <pthread.h>

#include "helpers.h"

#define CAP (1u << 17)   /* 2,048 groups: copied in two parts */

static struct ttmem_table *t;
static char path[128];

/* Each test opens and closes its table itself (no suite fixtures: this
 * file also runs under TSan on tests/shm/mini-criterion.h). */
static void table_up(void)
{
	seg_path(path, sizeof(path), "snap-parts");
	t = seg_writer(path, CAP);
}

static void table_down(void)
{
	ttmem_table_close(t);
	unlink(path);
}

/* Sizes tell the entries apart: size = address / 64 + device. */
static struct ttmem_entry entry(uint32_t dev, uint64_t addr)
{
	return mk_entry(dev, TTMEM_SPACE_DRAM, addr, addr / 64 + dev);
}

static uint64_t addr_of(unsigned i)
{
	return ((uint64_t)i * 0x9e3779b1u) & 0xffffffc0u;
}

/* In slot order, each entry whole. */
static void assert_whole_and_ordered(const struct ttmem_snapshot *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct ttmem_entry *e = &s->entries[i];
		cr_assert_eq(e->size, e->key.address / 64 + e->key.device, "entry %zu torn", i);
		if (i)
			cr_assert_gt(e->slot, s->entries[i - 1].slot, "entry %zu out of slot order", i);
	}
}

Test(snapshot_parts, every_entry_once_in_slot_order)
{
	table_up();
	/* Half the table, over both halves of the groups. */
	for (unsigned i = 0; i < CAP / 2; i++) {
		struct ttmem_entry e = entry(i % 4, addr_of(i));
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, CAP / 2);
	assert_whole_and_ordered(&s);
	ttmem_snapshot_free(&s);
	table_down();
}

/* After a clear, the old epoch's entries still have meta bytes: the first
 * part is sized for more than it finds and the second moves down to meet
 * it. */
Test(snapshot_parts, parts_meet_past_stale_entries)
{
	table_up();
	for (unsigned i = 0; i < 20000; i++) {
		struct ttmem_entry e = entry(1, addr_of(i));
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	cr_assert_eq(ttmem_clear(t), 0);
	for (unsigned i = 20000; i < 30000; i++) {
		struct ttmem_entry e = entry(2, addr_of(i));
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	struct ttmem_snapshot s;
	memset(&s, 0, sizeof(s));
	for (int pass = 0; pass < 2; pass++) {   /* fresh, then the buffer reused */
		cr_assert_eq(ttmem_snapshot_refresh(t, &s), 0);
		cr_assert_eq(s.count, 10000, "pass %d: %zu entries", pass, s.count);
		assert_whole_and_ordered(&s);
		for (size_t i = 0; i < s.count; i++)
			cr_assert_eq(s.entries[i].key.device, 2);
	}
	ttmem_snapshot_free(&s);
	table_down();
}

struct churner {
	atomic_int stop;
	atomic_uint rounds;
};

/* Keys 0..N-1 stay; keys N.. come and go, so both parts see entries appear
 * after they were sized and vanish before they were copied. */
#define STAYING 30000u
#define COMING 20000u

static void *churn(void *arg)
{
	struct churner *c = arg;
	while (!atomic_load(&c->stop)) {
		for (unsigned i = STAYING; i < STAYING + COMING; i++) {
			struct ttmem_entry e = entry(3, addr_of(i));
			ttmem_insert(t, &e);
		}
		for (unsigned i = STAYING; i < STAYING + COMING; i++) {
			struct ttmem_key k = mk_key(3, TTMEM_SPACE_DRAM, addr_of(i));
			ttmem_remove(t, &k, NULL);
		}
		atomic_fetch_add(&c->rounds, 1);
	}
	ttmem_flush(t);
	return NULL;
}

Test(snapshot_parts, whole_while_entries_come_and_go)
{
	table_up();
	for (unsigned i = 0; i < STAYING; i++) {
		struct ttmem_entry e = entry(0, addr_of(i));
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	struct churner c = { .stop = 0, .rounds = 0 };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, churn, &c), 0);

	struct ttmem_snapshot s;
	memset(&s, 0, sizeof(s));
	size_t most = 0, least = SIZE_MAX;
	for (int i = 0; i < 60 || atomic_load(&c.rounds) < 2; i++) {
		cr_assert_eq(ttmem_snapshot_refresh(t, &s), 0);
		assert_whole_and_ordered(&s);
		size_t staying = 0;
		for (size_t j = 0; j < s.count; j++)
			staying += s.entries[j].key.device == 0;
		cr_assert_eq(staying, STAYING, "refresh %d: %zu of the staying entries", i, staying);
		cr_assert_leq(s.count, STAYING + COMING);
		most = s.count > most ? s.count : most;
		least = s.count < least ? s.count : least;
	}
	atomic_store(&c.stop, 1);
	pthread_join(th, NULL);
	ttmem_snapshot_free(&s);
	/* The copies did run while the table changed. */
	cr_assert_gt(most, least);
	table_down();
}
