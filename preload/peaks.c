/* SPDX-License-Identifier: MIT */
/*
 * Peak usage per chip and type (see peaks.h, and "Peaks" in segment.h).
 *
 * Why private counters and not shared ones: a shared live word per chip
 * and type would be a cache line that every process using the chip writes
 * on every event; the runtime gives a chip to one process, so its own
 * count is the chip's and the only shared write is the rare raise.
 *
 * Why the clear is noticed at a raise: a clear zeroes the shared peaks, so
 * the first event after it on any chip this process counts exceeds the
 * peak and comes here, where the epoch tells that the table was emptied
 * (entries from before read as free; their frees will be unmatched and
 * leave the counters alone): the counters restart from zero.  Races, as
 * the process counters' (clear.c): an event of another thread between the
 * clear and the restart may be lost from (or, a free, taken twice from) a
 * counter; a counter that went below zero is put back to zero here rather
 * than read as a huge peak.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "peaks.h"

struct peaks peaks;

static const struct ttmem_header *hdr;
static _Atomic uint64_t seen_epoch;

/* Only counters that are not 0 are written: the pages of chips this
 * process never counted stay untouched (a read maps the zero page). */
static void counters_zero(void)
{
	for (unsigned d = 0; d < TTMEM_MAX_DEVICES; d++)
		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			if (atomic_load_explicit(&peaks.chip[d].live[ty], memory_order_relaxed))
				atomic_store_explicit(&peaks.chip[d].live[ty], 0,
						      memory_order_relaxed);
}

void peaks_bind(struct ttmem_table *t)
{
	counters_zero();
	hdr = ttmem_table_header(t);
	atomic_store_explicit(&seen_epoch,
			      atomic_load_explicit(&hdr->clear_epoch, memory_order_acquire),
			      memory_order_relaxed);
	peaks.devs = ttmem_table_devices_rw(t);
	peaks.peak0 = (char *)&peaks.devs[0].peak[0];
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) void peaks_raise(const struct ttmem_entry *e, uint64_t live)
{
	uint32_t device = e->key.device, type = e->type & (TTMEM_MAX_TYPES - 1), stack = e->stack;
	uint64_t size = e->size;
	_Atomic uint64_t *counter = &peaks.chip[device].live[type];
	uint64_t epoch = atomic_load_explicit(&hdr->clear_epoch, memory_order_acquire);
	uint64_t seen = atomic_load_explicit(&seen_epoch, memory_order_relaxed);

	/* One thread restarts the counters per clear (the exchange). */
	if (epoch != seen &&
	    atomic_compare_exchange_strong_explicit(&seen_epoch, &seen, epoch,
						    memory_order_relaxed, memory_order_relaxed)) {
		counters_zero();
		live = atomic_fetch_add_explicit(counter, size, memory_order_relaxed) + size;
	}
	if ((int64_t)live < 0) {
		/* Below zero (a race with a clear, see above): back to zero. */
		atomic_compare_exchange_strong_explicit(counter, &live, 0, memory_order_relaxed,
							memory_order_relaxed);
		return;
	}
	_Atomic uint64_t *w = &peaks.devs[device].peak[type];
	uint64_t cur = atomic_load_explicit(w, memory_order_relaxed);
	uint64_t want = TTMEM_PEAK_MAKE(live, stack <= 0xffffu ? stack : 0);

	while (TTMEM_PEAK_BYTES(cur) < TTMEM_PEAK_BYTES(want)) {
		/* Release: a reader that sees the word sees the stack entry
		 * the insert published before (stacks are published first). */
		if (atomic_compare_exchange_weak_explicit(w, &cur, want, memory_order_release,
							  memory_order_relaxed)) {
			atomic_store_explicit(&peaks.devs[device].peak_ns[type], now_ns(),
					      memory_order_relaxed);
			return;
		}
	}
}

void peaks_released(const uint64_t by_device[TTMEM_MAX_DEVICES][TTMEM_MAX_TYPES])
{
	if (!peaks.devs)
		return;
	for (uint32_t d = 0; d < TTMEM_MAX_DEVICES; d++)
		for (uint32_t ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			if (by_device[d][ty])
				peaks_sub(d, (uint8_t)ty, by_device[d][ty]);
}
