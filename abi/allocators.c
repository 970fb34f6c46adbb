/* SPDX-License-Identifier: MIT */
/*
 * The map of allocators (see abi.h, abi_allocator_note/take): which device
 * and chips an allocator's bulk free releases.  Built into the preload only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/segment.h"

#include "abi.h"
#include "abi_log.h"
#include "reader.h"

/* ---- allocators ----------------------------------------------------------------
 * Allocator::deallocate_buffers() says nothing about its device, and runs
 * while the device is closing (no virtual calls then).  So every tracked
 * buffer notes allocator -> device, with the chip id (or -1 for a mesh,
 * whose chips are in the mesh cache), in an open-addressed map.
 *
 * The map holds the allocators of open devices only: a device's entries go
 * at its close (abi_device_forget), an allocator's at its bulk free (it
 * then holds nothing; its next buffer notes it again).  So a process that
 * opens and closes devices for hours never fills it: that takes more than
 * NALLOCATORS allocators of devices open at once, four per chip the
 * segment can name (a chip has one, a mesh one more, sub-device managers
 * may add some).
 *
 * Entries never move.  Writers (inserts, updates, deletions: the slow path
 * of a note, closes, bulk frees) hold alloc_lock; readers are lock-free,
 * each entry behind a sequence counter (odd while written), as the mesh
 * cache.  A deletion just empties its slot: a lookup does not stop at an
 * empty slot but scans the max_probe + 1 slots from the hash, max_probe
 * being the longest displacement an insert ever used (it only grows).  No
 * tombstones, no shifting under a reader, and at the loads of real hosts a
 * lookup reads a few slots.
 */
#define NALLOCATORS (4u * TTMEM_MAX_DEVICES)
struct allocator_entry {
	_Atomic uint32_t seq;
	_Atomic uintptr_t allocator;   /* 0: a free slot */
	_Atomic uintptr_t device;
	_Atomic int64_t chip;          /* chip id, or -1 for a mesh */
};
static struct allocator_entry allocators[NALLOCATORS];
pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint max_probe;          /* written under alloc_lock */
/* Bumped after every deletion: voids every thread's last note
 * (abi_tls.note_*), as the allocator and device addresses it names may
 * come back for a new device, or the same allocator after a bulk free. */
static atomic_uint allocator_forgets;

struct allocator_seen {
	uintptr_t device;
	int64_t chip;
};

static inline unsigned alloc_hash(uintptr_t a)
{
	uint64_t h = (uint64_t)a * UINT64_C(0x9e3779b97f4a7c15);
	return (unsigned)(h >> 32) % NALLOCATORS;
}

static inline struct allocator_entry *alloc_slot(unsigned h, unsigned i)
{
	return &allocators[(h + i) % NALLOCATORS];
}

/* The entry of `a` (lock-free): 1 on a consistent hit. */
static int allocator_peek(uintptr_t a, struct allocator_seen *out)
{
	unsigned h = alloc_hash(a);
	unsigned probe = atomic_load_explicit(&max_probe, memory_order_acquire);

	for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++) {
		struct allocator_entry *e = alloc_slot(h, i);

		if (atomic_load_explicit(&e->allocator, memory_order_acquire) != a)
			continue;
		for (int tries = 0; tries < 16; tries++) {
			uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
			if (s1 & 1)
				continue;
			uintptr_t key = atomic_load_explicit(&e->allocator, memory_order_relaxed);
			out->device = atomic_load_explicit(&e->device, memory_order_relaxed);
			out->chip = atomic_load_explicit(&e->chip, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
				continue;
			if (key == a)
				return 1;
			break;   /* emptied or taken over meanwhile: look further */
		}
	}
	return 0;
}

/* Under alloc_lock. */
static void entry_write(struct allocator_entry *e, uintptr_t a, uintptr_t device, int64_t chip)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_relaxed);   /* odd: writing */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->device, device, memory_order_relaxed);
	atomic_store_explicit(&e->chip, chip, memory_order_relaxed);
	atomic_store_explicit(&e->allocator, a, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_release);   /* even: done */
}

/* Under alloc_lock: `a` serves `device`.  0, or -1 when the map is full. */
static int allocator_store(uintptr_t a, uintptr_t device, int64_t chip)
{
	unsigned h = alloc_hash(a);
	unsigned probe = atomic_load_explicit(&max_probe, memory_order_relaxed);
	struct allocator_entry *free_slot = NULL;
	unsigned free_at = 0;

	/* An entry of `a` is within max_probe of its hash. */
	for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++) {
		struct allocator_entry *e = alloc_slot(h, i);
		uintptr_t key = atomic_load_explicit(&e->allocator, memory_order_relaxed);

		if (key == a) {
			if (atomic_load_explicit(&e->device, memory_order_relaxed) != device ||
			    atomic_load_explicit(&e->chip, memory_order_relaxed) != chip)
				entry_write(e, a, device, chip);
			return 0;
		}
		if (key == 0 && !free_slot) {
			free_slot = e;
			free_at = i;
		}
	}
	for (unsigned i = probe + 1; !free_slot && i < NALLOCATORS; i++)
		if (atomic_load_explicit(&alloc_slot(h, i)->allocator, memory_order_relaxed) == 0) {
			free_slot = alloc_slot(h, i);
			free_at = i;
		}
	if (!free_slot)
		return -1;
	/* Before the entry is published, so that whoever sees it scans far
	 * enough to find it. */
	if (free_at > probe)
		atomic_store_explicit(&max_probe, free_at, memory_order_release);
	entry_write(free_slot, a, device, chip);
	return 0;
}

/* Empty the entries of allocator `a` (any device) or, when `a` is 0, of
 * `device`, then void every thread's last note. */
static void allocators_forget(uintptr_t a, uintptr_t device)
{
	pthread_mutex_lock(&alloc_lock);
	if (a) {
		unsigned h = alloc_hash(a);
		unsigned probe = atomic_load_explicit(&max_probe, memory_order_relaxed);

		for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++)
			if (atomic_load_explicit(&alloc_slot(h, i)->allocator,
						 memory_order_relaxed) == a)
				entry_write(alloc_slot(h, i), 0, 0, 0);
	} else {
		for (unsigned i = 0; i < NALLOCATORS; i++) {
			struct allocator_entry *e = &allocators[i];

			if (atomic_load_explicit(&e->allocator, memory_order_relaxed) &&
			    atomic_load_explicit(&e->device, memory_order_relaxed) == device)
				entry_write(e, 0, 0, 0);
		}
	}
	atomic_fetch_add_explicit(&allocator_forgets, 1, memory_order_release);
	pthread_mutex_unlock(&alloc_lock);
}

/* The same allocator and device as this thread's last buffer, with no
 * deletion since: known (abi_tls.note_*).  Else a lock-free look; the lock
 * only to write, about once per allocator and device. */
static __attribute__((noinline)) void allocator_note_slow(uintptr_t a, const void *device,
							  const struct abi_chips *c)
{
	int64_t chip = c->is_mesh ? -1 : (int64_t)c->id[0];
	struct allocator_seen seen;
	int full;

	/* Read first: a deletion from now on makes the next note slow again. */
	abi_tls.note_forgets = atomic_load_explicit(&allocator_forgets, memory_order_acquire);
	abi_tls.note_a = a;
	abi_tls.note_d = (uintptr_t)device;
	if (!a)
		return;
	if (allocator_peek(a, &seen) && seen.device == (uintptr_t)device && seen.chip == chip)
		return;
	pthread_mutex_lock(&alloc_lock);
	full = allocator_store(a, (uintptr_t)device, chip) != 0;
	pthread_mutex_unlock(&alloc_lock);
	if (full)
		abi_warn_once("more tt-metal allocators of open devices than ttmem can remember "
			      "(%u): bulk frees of some are released at device close only",
			      NALLOCATORS);
}

/* Inlined into the tracker (LTO): the hit is three compares and the load
 * of a word written only at closes and bulk frees. */
__attribute__((always_inline)) inline void abi_allocator_note(const void *allocator,
							       const void *device,
							       const struct abi_chips *c)
{
	uintptr_t a = (uintptr_t)allocator;

	if (__builtin_expect(a == abi_tls.note_a && (uintptr_t)device == abi_tls.note_d &&
			     !c->is_mesh &&
			     abi_tls.note_forgets ==
				     atomic_load_explicit(&allocator_forgets, memory_order_relaxed),
			     1))
		return;
	allocator_note_slow(a, device, c);
}

int abi_allocator_take(const void *allocator, struct abi_chips *out)
{
	uintptr_t a = (uintptr_t)allocator;
	struct allocator_seen seen;
	int32_t mesh_id;
	int found;

	/* Before anything else, whether the allocator is known or not: a bulk
	 * free is how an allocator's life ends short of a device close (a
	 * sub-device manager's), and another may be built at its address
	 * with other banks: the per-bank memo (bank_memo.h) must not answer
	 * for it. */
	atomic_fetch_add_explicit(&forget_generation, 1, memory_order_release);
	if (!a || !allocator_peek(a, &seen))
		return -1;
	if (seen.chip >= 0) {
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = (uint32_t)seen.chip;
		found = 1;
	} else {
		found = mesh_peek(seen.device, out, &mesh_id);
	}
	allocators_forget(a, 0);
	return found ? 0 : -1;
}

void allocators_forget_device(const void *device)
{
	if (device)
		allocators_forget(0, (uintptr_t)device);
}

/* The view the Allocator getters take: 2025b's allocator_ field is the
 * AllocatorImpl (2026's Buffer::allocator() answers the view already). */
static const void *allocator_view(const void *allocator, int mode)
{
	if (mode == MODE_FIELDS && g.alloc_view) {
		void *const *v = g.alloc_view(allocator);

		return v ? *v : NULL;
	}
	return allocator;
}

int allocator_bank_rule(const void *allocator, uint32_t type, uint32_t *banks, uint32_t *align)
{
	int mode = atomic_load_explicit(&g.mode, memory_order_acquire);
	const void *view;
	uint32_t bt = type;

	if (!allocator || mode == MODE_NONE || !g.num_banks || !g.alignment)
		return -1;
	view = allocator_view(allocator, mode);
	if (!view)
		return -1;
	*banks = g.num_banks(view, &bt);
	*align = g.alignment(view, bt);
	return 0;
}

/* ---- bank geometry ------------------------------------------------------------
 * What one bank of a type spans, from the Allocator's exported getters
 * (abi.h, abi_allocator_geometry). */
int abi_allocator_geometry(const void *allocator, uint8_t type, struct abi_geometry *out)
{
	int mode = atomic_load_explicit(&g.mode, memory_order_acquire);
	const void *view;
	uint32_t bt = type, hal = type == TTMEM_TYPE_DRAM ? HAL_MEM_DRAM : HAL_MEM_L1;

	if (!allocator || mode == MODE_NONE || abi_degraded() ||
	    (type != TTMEM_TYPE_DRAM && type != TTMEM_TYPE_L1) || !g.num_banks || !g.bank_size ||
	    !g.base_addr || !g.alignment)
		return -1;
	view = allocator_view(allocator, mode);
	if (!view)
		return -1;
	out->banks = g.num_banks(view, &bt);
	out->size = g.bank_size(view, &bt);
	out->base = g.base_addr(view, &hal);
	out->alignment = g.alignment(view, bt);
	return out->banks && out->size ? 0 : -1;
}
