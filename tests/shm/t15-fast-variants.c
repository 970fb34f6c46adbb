/* SPDX-License-Identifier: MIT */
/* The insert and remove fast paths exist twice (table.c: the baseline's
 * SSE2 scans and AVX2's), and a call takes the AVX2 one when the CPU has
 * it, so the rest of this suite only ever runs one of them.  Here the same
 * script of operations (duplicate keys, keys sharing homes until they
 * spill, unmatched removes, a table driven past full) runs once with each:
 * every result and where, and the slots and meta bytes at the end, must be
 * identical: the variants only differ in how they read the meta lines. */
#include "helpers.h"

extern int ttmem_have_avx2;   /* shm/slot.c (hidden: this program links the table statically) */

#define CAP 1024u
#define OPS 40000u

struct trace {
	int rc[OPS];
	uint64_t slot[OPS], live[OPS];
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Keys from a small space, so they repeat: 4 chips, 2 spaces, 6 regions of
 * 16 MiB (a region's keys share a home group) with 96 addresses each. */
static struct ttmem_entry pick(uint64_t *s)
{
	uint64_t r = rng_next(s);
	uint32_t dev = (uint32_t)(r & 3);
	uint8_t space = (r >> 2) & 1 ? TTMEM_SPACE_L1 : TTMEM_SPACE_DRAM;
	uint64_t addr = ((r >> 8) % 6) << 24 | ((r >> 16) % 96) << 12;
	return mk_entry(dev, space, addr, 64 + (r >> 40) % 4096);
}

static void run(struct ttmem_table *t, struct trace *tr)
{
	uint64_t s = 0x9e3779b97f4a7c15u;

	for (unsigned i = 0; i < OPS; i++) {
		struct ttmem_entry e = pick(&s);
		struct ttmem_where w = { 0, 0, 0 };
		uint64_t op = rng_next(&s) % 8;

		if (op < 5)
			tr->rc[i] = ttmem_insert_at(t, &e, &w);
		else if (op < 7)
			tr->rc[i] = ttmem_remove_at(t, &e.key, NULL, &w);
		else
			tr->rc[i] = ttmem_remove(t, &e.key, NULL);
		tr->slot[i] = w.slot;
		tr->live[i] = w.live;
	}
}

Test(fast_variants, agree_on_every_result_and_slot)
{
	int had_avx2 = ttmem_have_avx2;
	if (!had_avx2)
		cr_skip_test("this CPU runs the baseline variant only");

	static struct trace a, b;
	char pa[128], pb[128];
	seg_path(pa, sizeof(pa), "variant-avx2");
	seg_path(pb, sizeof(pb), "variant-base");
	struct ttmem_table *ta = seg_writer(pa, CAP), *tb = seg_writer(pb, CAP);

	run(ta, &a);
	ttmem_have_avx2 = 0;
	run(tb, &b);
	ttmem_have_avx2 = had_avx2;

	unsigned inserted = 0, replaced = 0, full = 0, unmatched = 0;
	for (unsigned i = 0; i < OPS; i++) {
		cr_assert_eq(a.rc[i], b.rc[i], "op %u: %d with AVX2, %d without", i, a.rc[i], b.rc[i]);
		cr_assert_eq(a.slot[i], b.slot[i], "op %u: slot %llu vs %llu", i,
			     (unsigned long long)a.slot[i], (unsigned long long)b.slot[i]);
		cr_assert_eq(a.live[i], b.live[i], "op %u: ctl word differs", i);
		inserted += a.rc[i] == TTMEM_INSERTED;
		replaced += a.rc[i] == TTMEM_INSERTED_REPLACED;
		full += a.rc[i] == TTMEM_EFULL;
		unmatched += a.rc[i] == TTMEM_ENOTFOUND;
	}
	/* The script reached every case it is there for. */
	cr_assert_gt(inserted, 1000);
	cr_assert_gt(replaced, 100);
	cr_assert_gt(full, 10);
	cr_assert_gt(unmatched, 100);

	cr_assert_eq(memcmp(ttmem_table_meta(ta), ttmem_table_meta(tb), CAP), 0);
	cr_assert_eq(memcmp(ttmem_table_slots(ta), ttmem_table_slots(tb),
			    CAP * sizeof(struct ttmem_slot)), 0);

	ttmem_table_close(ta);
	ttmem_table_close(tb);
	unlink(pa);
	unlink(pb);
}
