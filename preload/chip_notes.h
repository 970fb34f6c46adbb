/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the chips this process published in the
 * segment's device table (so a viewer lists them, with their architecture
 * and bank geometry, even at 0 bytes).  One bit per chip and fact; the
 * first sighting of a chip publishes once (racing threads both publish,
 * which is idempotent).
 */
#ifndef TTMEM_PRELOAD_CHIP_NOTES_H
#define TTMEM_PRELOAD_CHIP_NOTES_H

#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/segment.h"

#include "abi.h"

/* Chips whose device entry and geometry are both published. */
extern _Atomic uint64_t chip_notes_full[TTMEM_MAX_DEVICES / 64];

/* Publish the chips of `device` (an open, a close, a circular buffer). */
void chip_notes_device(const void *device, const struct abi_chips *c);
void chip_notes_allocation_slow(const struct abi_buffer *b, const struct abi_chips *c);

/* Publish what an allocation on `c` tells (device entry, geometry from its
 * allocator).  A one-chip buffer on a chip already done, nearly every
 * event: one load. */
static inline __attribute__((always_inline)) void chip_notes_allocation(const struct abi_buffer *b,
									const struct abi_chips *c)
{
	uint32_t id = c->id[0];

	if (c->n == 1 && id < TTMEM_MAX_DEVICES &&
	    (atomic_load_explicit(&chip_notes_full[id / 64], memory_order_relaxed) &
	     (UINT64_C(1) << (id % 64))))
		return;
	chip_notes_allocation_slow(b, c);
}

#endif /* TTMEM_PRELOAD_CHIP_NOTES_H */
