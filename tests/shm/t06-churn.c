/* SPDX-License-Identifier: MIT */
/*
 * Churn: after >= 1,000,000 insert/remove cycles at 90% load, probe costs are
 * those of a fresh table (no tombstones: RESEARCH.md section 3).  Asserted
 * on the thread's debug counters (meta lines scanned, slots visited), never
 * on time.
 */
#include "helpers.h"

#define CAP (1u << 16)
#define LIVE (CAP * 9 / 10)

static uint64_t addr_of(uint64_t n)
{
	return (n * 0x9e3779b97f4a7c15ull) & 0xfffffffffc0ull;
}

struct window {
	double meta_per_op, visited_per_op, slow_per_op;
};

static struct window measure(struct ttmem_table *t, uint64_t *ring, uint64_t *next, size_t *head,
			     uint64_t cycles)
{
	struct ttmem_debug_stats a, b;
	ttmem_debug_thread_stats(&a);
	for (uint64_t i = 0; i < cycles; i++) {
		uint64_t n = (*next)++;
		struct ttmem_entry e = mk_entry((uint32_t)(n & 3), (uint8_t)(n >> 2 & 1), addr_of(n), n);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
		uint64_t old = ring[*head];
		struct ttmem_key k = mk_key((uint32_t)(old & 3), (uint8_t)(old >> 2 & 1), addr_of(old));
		struct ttmem_entry out;
		cr_assert_eq(ttmem_remove(t, &k, &out), 0);
		cr_assert_eq(out.size, old);
		ring[*head] = n;
		*head = (*head + 1) % LIVE;
	}
	ttmem_debug_thread_stats(&b);
	double ops = (double)(b.ops - a.ops);
	struct window w = {
		(double)(b.meta_lines - a.meta_lines) / ops,
		(double)(b.slots_visited - a.slots_visited) / ops,
		(double)(b.slow_paths - a.slow_paths) / ops,
	};
	return w;
}

Test(churn, probe_cost_bounded, .timeout = 120)
{
	char path[128];
	seg_path(path, sizeof(path), "churn");
	struct ttmem_table *t = seg_writer(path, CAP);
	uint64_t *ring = malloc(LIVE * sizeof(*ring));
	uint64_t next = 0;
	size_t head = 0;
	for (size_t i = 0; i < LIVE; i++) {
		ring[i] = next++;
		struct ttmem_entry e = mk_entry((uint32_t)(ring[i] & 3), (uint8_t)(ring[i] >> 2 & 1),
						addr_of(ring[i]), ring[i]);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	const char *scale = getenv("TTMEM_TEST_SCALE");
	uint64_t cycles = scale && strcmp(scale, "normal") ? 1000000 : 2000000;

	struct window fresh = measure(t, ring, &next, &head, 100000);
	measure(t, ring, &next, &head, cycles);
	struct window churned = measure(t, ring, &next, &head, 100000);

	cr_log_info("fresh: %.3f lines %.3f slots %.5f slow; churned: %.3f %.3f %.5f",
		    fresh.meta_per_op, fresh.visited_per_op, fresh.slow_per_op, churned.meta_per_op,
		    churned.visited_per_op, churned.slow_per_op);
	/* Insert scans exactly 3 meta lines, remove 1 to 3: never more. */
	cr_assert_leq(fresh.meta_per_op, 3.0);
	cr_assert_leq(churned.meta_per_op, 3.0);
	/* Slots whose ctl is read per op: ~1 (the slot itself) plus rare
	 * fingerprint collisions; the same before and after churn. */
	cr_assert_leq(fresh.visited_per_op, 1.6, "fresh %f", fresh.visited_per_op);
	cr_assert_leq(churned.visited_per_op, 1.6, "churned %f", churned.visited_per_op);
	cr_assert_leq(churned.visited_per_op, fresh.visited_per_op * 1.1 + 0.05,
		      "fresh %f churned %f", fresh.visited_per_op, churned.visited_per_op);
	cr_assert_leq(churned.slow_per_op, 0.001, "slow paths %f", churned.slow_per_op);

	/* Absent keys at 90% after churn: three meta lines, ~0.68 slot reads
	 * (3 x 64 x 0.9 / 255 fingerprint collisions). */
	struct ttmem_debug_stats a, b;
	ttmem_debug_thread_stats(&a);
	for (uint64_t i = 0; i < 100000; i++) {
		struct ttmem_key k = mk_key(9, 0, addr_of(i) | 1);
		cr_assert_eq(ttmem_remove(t, &k, NULL), TTMEM_ENOTFOUND);
	}
	ttmem_debug_thread_stats(&b);
	cr_assert_eq(b.meta_lines - a.meta_lines, 300000);
	cr_assert_leq((double)(b.slots_visited - a.slots_visited) / 100000.0, 0.75);

	/* Exact contents, no stuck or stray slot. */
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, LIVE);
	for (size_t i = 0; i < s.count; i++)
		cr_assert_eq(addr_of(s.entries[i].size), s.entries[i].key.address);
	ttmem_snapshot_free(&s);
	struct slot_census c = census(t);
	cr_assert_eq(c.live, LIVE);
	cr_assert_eq(c.busy, 0);
	cr_assert_eq(c.meta_without_live, 0);
	ttmem_flush(t);
	cr_assert_eq(CNT(t, drops), 0);
	free(ring);
	ttmem_table_close(t);
	unlink(path);
}
