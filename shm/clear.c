/* SPDX-License-Identifier: MIT */
/*
 * Clear in O(1) of the table's capacity: bump the clear epoch.  Slots tagged
 * with an older epoch read as free from then on (segment.h design note) and
 * are reused lazily by inserts.  The per-process live/peak counters and the
 * chips' peaks are reset too, and exited processes leave the registry (bounded by the registry, not
 * by the table).
 *
 * Race, documented: a writer thread flushes its batch (batch.c) with the
 * epoch it accumulated in.  A flush that checked the epoch just before the
 * bump but adds to live_bytes just after the reset below leaves that process's
 * live_bytes off by at most one batch (TTMEM_BATCH_EVENTS events of one
 * thread) until the next clear; the table itself is always exact.
 */
#include <errno.h>

#include "internal.h"

int ttmem_clear(struct ttmem_table *t)
{
	if (!t || !t->writable)
		return -EINVAL;
	struct ttmem_header *h = t->hdr;
	struct ttmem_counters *c = &h->counters;

	ttmem_batch_flush_for(t);
	/* acq_rel: inserts that load the new epoch tag their entries with it;
	 * those that loaded the old one land in the cleared table. */
	atomic_fetch_add_explicit(&h->clear_epoch, 1, memory_order_acq_rel);
	atomic_store_explicit(&h->cleared_ns, ttmem_now_ns(), memory_order_relaxed);
	atomic_store_explicit(&c->events, 0, memory_order_relaxed);
	atomic_store_explicit(&c->drops, 0, memory_order_relaxed);
	atomic_store_explicit(&c->unmatched, 0, memory_order_relaxed);
	atomic_store_explicit(&c->reclaimed, 0, memory_order_relaxed);
	atomic_store_explicit(&c->replaced, 0, memory_order_relaxed);
	atomic_store_explicit(&c->stuck_freed, 0, memory_order_relaxed);
	ttmem_datamap_refresh(t);
	/* The peaks of the chips (segment.h, "Peaks"): those never published
	 * were never raised (a writer notes a chip before its first entry). */
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++) {
		struct ttmem_device_info *di = &t->devices[d];

		if (!atomic_load_explicit(&di->state, memory_order_acquire))
			continue;
		for (uint32_t ty = 0; ty < TTMEM_MAX_TYPES; ty++) {
			atomic_store_explicit(&di->peak[ty], 0, memory_order_relaxed);
			atomic_store_explicit(&di->peak_ns[ty], 0, memory_order_relaxed);
		}
	}
	uint64_t proc_off = (uint64_t)((uint8_t *)t->procs - t->base);
	for (uint32_t i = 0; i < t->proc_capacity; i++) {
		struct ttmem_proc *p = &t->procs[i];
		/* Never written: FREE (and not worth a page; datamap.c). */
		if (ttmem_datamap_hole(t, proc_off + (uint64_t)i * sizeof(*p), sizeof(*p)))
			continue;
		uint64_t pc = atomic_load_explicit(&p->ctl, memory_order_relaxed);

		/* An exited process's record (its live-at-exit entries went
		 * with the epoch) is history of the runs being cleared: free
		 * its registry entry, keeping the generation.  The CAS leaves
		 * an entry that was recycled meanwhile alone. */
		if (PCTL_STATE(pc) == TTMEM_PROC_EXITED) {
			atomic_compare_exchange_strong_explicit(
				&p->ctl, &pc, PCTL_MAKE(0, PCTL_GEN(pc), TTMEM_PROC_FREE),
				memory_order_acq_rel, memory_order_relaxed);
			continue;
		}
		if (PCTL_STATE(pc) != TTMEM_PROC_RUNNING)
			continue;
		atomic_store_explicit(&p->live_bytes, 0, memory_order_relaxed);
		atomic_store_explicit(&p->peak_bytes, 0, memory_order_relaxed);
	}
	return 0;
}
