/* SPDX-License-Identifier: MIT */
/*
 * Hash sets of references (see refset.h).
 */
#include <stdlib.h>

#include "refset.h"

void refset_put(struct refset *st, uint64_t s)
{
	uint32_t pos = (uint32_t)(s >> 32) & st->mask;

	while (st->slot[pos])
		pos = (pos + 1) & st->mask;
	st->slot[pos] = s;
	st->used++;
}

/* Room for one more at <= 50% load; -1 out of memory. */
__attribute__((noinline)) int refset_grow(struct refset *st)
{
	uint32_t cap = st->mask ? (st->mask + 1) * 2 : 256;
	struct refset grown = { calloc(cap, sizeof(uint64_t)), cap - 1, 0 };
	if (!grown.slot)
		return -1;
	for (uint32_t i = 0; st->mask && i <= st->mask; i++)
		if (st->slot[i])
			refset_put(&grown, st->slot[i]);
	free(st->slot);
	*st = grown;
	return 0;
}


/* Backward-shift deletion: later members of the run move up, so lookups
 * never need tombstones. */
void refset_erase(struct refset *st, uint32_t pos)
{
	uint32_t i = pos, j = pos;

	for (;;) {
		j = (j + 1) & st->mask;
		uint64_t s = st->slot[j];
		if (!s)
			break;
		uint32_t home = (uint32_t)(s >> 32) & st->mask;
		/* Stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		st->slot[i] = s;
		i = j;
	}
	st->slot[i] = 0;
	st->used--;
}
