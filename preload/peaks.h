/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the table operations of the tracker with
 * each chip's peak usage kept on the way (segment.h, "Peaks").
 *
 * This process's live bytes per chip and type are private counters: the
 * real runtime gives a chip to one process, so they are the chip's.  An
 * event costs one relaxed atomic add on its counter and one load of the
 * chip's shared peak; only an event that exceeds the peak takes the slow
 * path (a compare-and-swap on the peak word, the clock).  Every change of
 * what the table holds for this process goes through here, so the counters
 * follow the table: inserts that landed, matched removes, bulk releases
 * (the sweep's tally per chip), and a clear (noticed at the next raise:
 * the counters restart from zero, as the table does).
 *
 * Threads: any; the counters are atomics.  Not re-entrant (the tracker's
 * guard).  Before peaks_bind, nothing is counted.
 */
#ifndef TTMEM_PRELOAD_PEAKS_H
#define TTMEM_PRELOAD_PEAKS_H

#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "owned.h"

/*
 * The counters mirror the device table's layout: chip d's counter of type t
 * is at the same offset (d * 512 + t * 8) from `live` as its peak word from
 * `peak0` (the segment's devices[0].peak), so one offset serves both.  Only
 * the 64 bytes of a chip's counters in each 512 are used; the pages of the
 * chips a process never uses are never touched.
 */
struct peaks_chip {
	_Atomic uint64_t live[TTMEM_MAX_TYPES];           /* wrapping */
	uint8_t unused[sizeof(struct ttmem_device_info) - TTMEM_MAX_TYPES * 8];
};
struct peaks {
	struct peaks_chip chip[TTMEM_MAX_DEVICES];
	char *peak0;                             /* &devices[0].peak[0]; NULL: not bound */
	struct ttmem_device_info *devs;
};
_Static_assert(sizeof(struct peaks_chip) == sizeof(struct ttmem_device_info),
	       "a chip's counters at its device_info's offset");
extern struct peaks peaks;

/* The table `t` is this process's, registered (lifecycle.c): count from
 * zero, from the current clear epoch.  Also a fork child's re-registration
 * (none of its parent's entries are its own). */
void peaks_bind(struct ttmem_table *t);

/* Live bytes `live` on (device, type) exceed the shared peak: raise it
 * with the stack of `e`, the entry whose insert got there. */
void peaks_raise(const struct ttmem_entry *e, uint64_t live);

/* Offset of (device, type) in both arrays; -1 for a chip beyond the table
 * (TTMEM_DEVICE_UNKNOWN).  `type` is the preload's own (an enum
 * ttmem_buffer_type it chose, never read from the segment): < 8. */
static inline __attribute__((always_inline)) int64_t peaks_offset(uint32_t device, uint8_t type)
{
	if (__builtin_expect(device >= TTMEM_MAX_DEVICES, 0))
		return -1;
	return (int64_t)device * (int64_t)sizeof(struct ttmem_device_info) + (int64_t)type * 8;
}

static inline __attribute__((always_inline)) void peaks_add(const struct ttmem_entry *e)
{
	/* Bound before any event: an entry is inserted only once the
	 * process registered (lifecycle.c), which binds. */
	int64_t off = peaks_offset(e->key.device, e->type);
	uint64_t size = e->size;

	if (off < 0)
		return;
	uint64_t live = atomic_fetch_add_explicit(
				(_Atomic uint64_t *)(void *)((char *)peaks.chip + off), size,
				memory_order_relaxed) + size;
	/* Relaxed: a stale peak only sends us to the slow path, which
	 * compares again with the CAS. */
	if (__builtin_expect(live > TTMEM_PEAK_BYTES(atomic_load_explicit(
					     (_Atomic uint64_t *)(void *)(peaks.peak0 + off),
					     memory_order_relaxed)), 0))
		peaks_raise(e, live);
}

static inline __attribute__((always_inline)) void peaks_sub(uint32_t device, uint8_t type,
							      uint64_t size)
{
	int64_t off = peaks_offset(device, type);

	if (off >= 0)
		atomic_fetch_sub_explicit((_Atomic uint64_t *)(void *)((char *)peaks.chip + off), size,
					  memory_order_relaxed);
}

/* owned_insert_at (`where` as there, may be NULL), counted when it landed. */
static inline __attribute__((always_inline)) int peaks_insert(struct ttmem_table *t,
								const struct ttmem_entry *e,
								struct ttmem_where *where)
{
	int rc = owned_insert_at(t, e, where);

	if (rc >= 0)
		peaks_add(e);
	return rc;
}

/* owned_remove (`out` as there, may be NULL), counted when it matched:
 * the size is the removed entry's (the table reads it anyway; a copy of
 * the whole entry would cost more than the rest of the count), the type
 * the caller's (a buffer's type does not change between its allocation
 * and its free; the key's space already tells DRAM from L1). */
static inline __attribute__((always_inline)) int peaks_remove(struct ttmem_table *t,
								const struct ttmem_key *k,
								struct ttmem_entry *out, uint8_t type)
{
	int64_t size = owned_remove(t, k, out);

	if (size < 0)
		return (int)size;
	peaks_sub(k->device, type, (uint64_t)size);
	return 0;
}

/* owned_remove_slot, counted when it matched (the entry on `device` of
 * `type`, as its insert recorded them). */
static inline __attribute__((always_inline)) int peaks_remove_slot(struct ttmem_table *t,
								     struct ttmem_where *where,
								     uint32_t device, uint8_t type)
{
	int rc = owned_remove_slot(t, where);

	if (rc == 0)
		peaks_sub(device, type, where->size);
	return rc;
}

/* A sweep removed what `by_device` (its tally's per-chip bytes) says. */
void peaks_released(const uint64_t by_device[TTMEM_MAX_DEVICES][TTMEM_MAX_TYPES]);

#endif /* TTMEM_PRELOAD_PEAKS_H */
