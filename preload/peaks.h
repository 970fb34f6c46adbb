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

struct peaks {
	_Atomic uint64_t live[TTMEM_MAX_DEVICES][TTMEM_MAX_TYPES];  /* wrapping */
	struct ttmem_device_info *devs;          /* the segment's; NULL: not bound */
};
extern struct peaks peaks;

/* The table `t` is this process's, registered (lifecycle.c): count from
 * zero, from the current clear epoch.  Also a fork child's re-registration
 * (none of its parent's entries are its own). */
void peaks_bind(struct ttmem_table *t);

/* Live bytes `live` on (device, type) exceed the shared peak: raise it. */
void peaks_raise(uint32_t device, uint32_t type, uint64_t size, uint64_t live, uint32_t stack);

static inline __attribute__((always_inline)) void peaks_add(uint32_t device, uint32_t type,
							      uint64_t size, uint32_t stack)
{
	struct ttmem_device_info *d = peaks.devs;

	if (__builtin_expect(device >= TTMEM_MAX_DEVICES || !d, 0))
		return;
	type &= TTMEM_MAX_TYPES - 1;
	uint64_t live = atomic_fetch_add_explicit(&peaks.live[device][type], size,
						  memory_order_relaxed) + size;
	/* Relaxed: a stale peak only sends us to the slow path, which
	 * compares again with the CAS. */
	if (__builtin_expect(live > TTMEM_PEAK_BYTES(atomic_load_explicit(
					     &d[device].peak[type], memory_order_relaxed)), 0))
		peaks_raise(device, type, size, live, stack);
}

static inline __attribute__((always_inline)) void peaks_sub(uint32_t device, uint32_t type,
							      uint64_t size)
{
	if (__builtin_expect(device >= TTMEM_MAX_DEVICES, 0))
		return;
	atomic_fetch_sub_explicit(&peaks.live[device][type & (TTMEM_MAX_TYPES - 1)], size,
				  memory_order_relaxed);
}

/* owned_insert, counted when it landed. */
static inline __attribute__((always_inline)) int peaks_insert(struct ttmem_table *t,
								const struct ttmem_entry *e)
{
	int rc = owned_insert(t, e);

	if (rc >= 0)
		peaks_add(e->key.device, e->type, e->size, e->stack);
	return rc;
}

/* owned_remove, counted when it matched; `out` receives the entry (the
 * caller's, or a scratch one: its size is what leaves). */
static inline __attribute__((always_inline)) int peaks_remove(struct ttmem_table *t,
								const struct ttmem_key *k,
								struct ttmem_entry *out)
{
	struct ttmem_entry scratch;
	struct ttmem_entry *e = out ? out : &scratch;
	int rc = owned_remove(t, k, e);

	if (rc == 0)
		peaks_sub(e->key.device, e->type, e->size);
	return rc;
}

/* A sweep removed what `by_device` (its tally's per-chip bytes) says. */
void peaks_released(const uint64_t by_device[TTMEM_MAX_DEVICES][TTMEM_MAX_TYPES]);

#endif /* TTMEM_PRELOAD_PEAKS_H */
