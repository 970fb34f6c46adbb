/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: a hash set of 32-bit references with
 * their 32-bit hashes, for the index of own entries (owned.c).  Linear
 * probing at <= 50% load, backward-shift deletion: no tombstones, so churn
 * does not degrade it.  A slot is (hash << 32) | ref, 0 when empty; the
 * caller compares what a reference names.  Not thread-safe: the caller
 * locks.
 */
#ifndef TTMEM_PRELOAD_REFSET_H
#define TTMEM_PRELOAD_REFSET_H

#include <stdint.h>

struct refset {
	uint64_t *slot;
	uint32_t mask;                   /* capacity - 1 (0 before the first add) */
	uint32_t used;
};

/* Add slot value s (its hash in the high word); room must be reserved. */
void refset_put(struct refset *st, uint64_t s);
/* Double the capacity (256 at first); -1 out of memory (unchanged). */
int refset_grow(struct refset *st);
/* Remove the slot at `pos`, moving later members of its run up. */
void refset_erase(struct refset *st, uint32_t pos);

/* Room for one more at <= 50% load; -1 out of memory. */
static inline int refset_reserve(struct refset *st)
{
	if (__builtin_expect(st->mask && (st->used + 1) * 2 <= st->mask + 1, 1))
		return 0;
	return refset_grow(st);
}

#endif /* TTMEM_PRELOAD_REFSET_H */
