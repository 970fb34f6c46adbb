/* SPDX-License-Identifier: MIT */
/*
 * What this process published about its chips in the segment's device
 * table (see chip_notes.h): that a chip exists, with its architecture, and
 * the bank geometry of its DRAM and L1.
 */
#include <stdatomic.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "chip_notes.h"
#include "lifecycle.h"

/* Chips whose device entry (architecture) is published: one load per chip
 * for a buffer on chips not fully noted yet. */
static _Atomic uint64_t chips_noted[TTMEM_MAX_DEVICES / 64];

static __attribute__((noinline)) void note_chips_slow(const void *device,
						       const struct abi_chips *c)
{
	uint32_t arch[ABI_MAX_CHIPS];

	abi_device_arch(device, c, arch);
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t id = c->id[i];
		uint64_t bit;

		if (id >= TTMEM_MAX_DEVICES)
			continue;
		bit = UINT64_C(1) << (id % 64);
		if (atomic_load_explicit(&chips_noted[id / 64], memory_order_relaxed) & bit)
			continue;
		ttmem_device_note(lc.table, id, arch[i]);
		atomic_fetch_or_explicit(&chips_noted[id / 64], bit, memory_order_relaxed);
	}
}

void chip_notes_device(const void *device, const struct abi_chips *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t id = c->id[i];

		if (id < TTMEM_MAX_DEVICES &&
		    !(atomic_load_explicit(&chips_noted[id / 64], memory_order_relaxed) &
		      (UINT64_C(1) << (id % 64)))) {
			note_chips_slow(device, c);
			return;
		}
	}
}

/*
 * The bank geometry of DRAM and L1 per chip (segment.h, struct
 * ttmem_device_info), both published from the allocator of the first
 * buffer of any type this process sees on a chip (a chip that holds only
 * DRAM so far still has its L1 map's bounds); a chip whose allocator cannot
 * tell is tried once.  As chips_noted: one load per chip on the hot path.
 */
static _Atomic uint64_t geometry_noted[TTMEM_MAX_DEVICES / 64];

static __attribute__((noinline)) void note_geometry_slow(const struct abi_buffer *b,
							  const struct abi_chips *c)
{
	static const uint8_t types[] = { TTMEM_TYPE_DRAM, TTMEM_TYPE_L1 };

	for (unsigned k = 0; k < sizeof(types); k++) {
		struct abi_geometry gm;
		int ok = abi_allocator_geometry(b->allocator, types[k], &gm) == 0;
		struct ttmem_bank_geometry tg = { gm.base, gm.size, gm.banks, gm.alignment };

		for (uint32_t i = 0; ok && i < c->n; i++)
			if (c->id[i] < TTMEM_MAX_DEVICES)
				ttmem_device_geometry(lc.table, c->id[i], types[k], &tg);
	}
	for (uint32_t i = 0; i < c->n; i++)
		if (c->id[i] < TTMEM_MAX_DEVICES)
			atomic_fetch_or_explicit(&geometry_noted[c->id[i] / 64],
						 UINT64_C(1) << (c->id[i] % 64), memory_order_relaxed);
}

static void note_geometry(const struct abi_buffer *b, const struct abi_chips *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t id = c->id[i];

		if (id < TTMEM_MAX_DEVICES &&
		    !(atomic_load_explicit(&geometry_noted[id / 64], memory_order_relaxed) &
		      (UINT64_C(1) << (id % 64)))) {
			note_geometry_slow(b, c);
			return;
		}
	}
}

/*
 * Chips whose device entry and geometry are both published, set by the
 * allocation that saw both bits (chips_fully_note): the hot path's one
 * load (chip_notes.h).
 * A bit another thread set unseen yet leaves this one clear for now; the
 * next allocation on the chip takes the loops, finds nothing to note, and
 * sets it.
 */
_Atomic uint64_t chip_notes_full[TTMEM_MAX_DEVICES / 64];

static void chips_fully_note(const struct abi_chips *c)
{
	uint32_t id = c->id[0];
	uint64_t bit = UINT64_C(1) << (id % 64);

	if (c->n == 1 && id < TTMEM_MAX_DEVICES &&
	    (atomic_load_explicit(&chips_noted[id / 64], memory_order_relaxed) &
	     atomic_load_explicit(&geometry_noted[id / 64], memory_order_relaxed) & bit))
		atomic_fetch_or_explicit(&chip_notes_full[id / 64], bit, memory_order_relaxed);
}

void chip_notes_allocation_slow(const struct abi_buffer *b, const struct abi_chips *c)
{
	chip_notes_device(b->device, c);
	note_geometry(b, c);
	chips_fully_note(c);
}
