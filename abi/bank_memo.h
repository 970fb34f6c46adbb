/* SPDX-License-Identifier: MIT */
/*
 * Private to reader.c: what a bank holds for a buffer, without asking the
 * runtime's Buffer::aligned_size_per_bank() for every allocation.
 *
 * What the runtime's answer depends on (abi/GENERATIONS.md, "What a bank
 * holds per buffer", for the sources and binaries): for an INTERLEAVED
 * buffer, with pages = (uint32_t)(size / page_size),
 *     pages == 0 ? 0 : (1 + (pages - 1) / banks) * round_up(page_size, alignment)
 * where banks and alignment are the buffer's allocator's for the buffer's
 * type (get_num_banks(type), get_alignment(type)), fixed for the
 * allocator's life.  So the memo is of the allocator's rule, per
 * (allocator, type): a thread's allocations on one chip hit it whatever
 * their sizes.  A sharded buffer's figure depends on its shard spec (core
 * count, shard shape), which no cheap read gives: it is never computed
 * here, the runtime is asked every time.
 *
 * The formula is the runtime's, not ttmem's: a rule is used only after
 * the runtime's own answer for a buffer agreed with it when it was learnt,
 * and again every BANK_RULE_VERIFY uses; one disagreement and that
 * allocator's type is asked of the runtime until the rule is forgotten.
 *
 * An allocator can be destroyed and another built at its address with
 * other banks: every rule is remembered with forget_generation, which is
 * bumped at every device close and every allocator bulk free (the only
 * points an allocator dies at in the trees read: Device::close, and
 * ~SubDeviceManager, which bulk-frees each allocator it owns).
 *
 * Per thread (abi_tls): nothing shared is written.  Direct-mapped.
 */
#ifndef TTMEM_ABI_BANK_MEMO_H
#define TTMEM_ABI_BANK_MEMO_H

#include "reader.h"

/* TensorMemoryLayout::INTERLEAVED (0 in every tree and wheel read; 2..5
 * are the sharded layouts the runtime counts by cores). */
#define LAYOUT_INTERLEAVED 0u
/* A rule's key: allocators are 8-aligned, BufferType is 0..4 (+ 1: never
 * 0, the empty slot's, even for a null allocator).  A rule
 * the runtime disagreed with is kept under its key with the top bit set
 * (no user-space pointer has it), which the fast path never matches. */
#define BANK_RULE_KEY(a, type) ((a) | ((uintptr_t)(type) + 1))
#define BANK_RULE_OFF ((uintptr_t)1 << 63)

/* One slot per type (DRAM and TRACE share one): a thread's allocations
 * are mostly on one allocator. */
static inline struct bank_rule *bank_rule_slot(uint8_t type)
{
	return &abi_tls.rules[type & (BANK_RULE_SLOTS - 1)];
}

/* ceil(pages / banks) pages of the aligned page size (pages 32-bit, as
 * num_pages() is; 0 pages hold 0). */
static inline uint64_t bank_rule_apply(const struct bank_rule *r, uint64_t size, uint64_t page)
{
	uint64_t pages = (uint32_t)(size / page);

	return (pages + r->banks - 1) / r->banks * (((page - 1) | r->align_mask) + 1);
}

/*
 * The runtime's answer (0 where it exports none), and the rule of the
 * buffer's allocator and type learnt, or checked, against it: a rule is
 * learnt once per allocator, type and forget_generation, and checked again
 * at every cross-check of the 2025 layout (buffer_read_checked).  A rule
 * the answer disagrees with is not used again for that allocator.
 */
static __attribute__((noinline)) uint64_t bank_rule_slow(const void *b, uintptr_t a, uint8_t type,
							 uint64_t size, uint64_t page, uint32_t layout)
{
	struct bank_rule *r = bank_rule_slot(type);
	uintptr_t key = BANK_RULE_KEY(a, type);
	/* Read before asking: a forget from now on voids what is stored. */
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);
	uint64_t v;
	uint32_t banks, align;

	if (!g.aligned_per_bank)
		return 0;
	v = g.aligned_per_bank(b);
	if (layout != LAYOUT_INTERLEAVED || page == 0 || a % 8 || type > TTMEM_TYPE_TRACE ||
	    type == TTMEM_TYPE_SYSTEM_MEMORY)
		return v;          /* SYSTEM_MEMORY has no device banks */
	if (r->generation == gen && r->key == (key | BANK_RULE_OFF))
		return v;          /* disagreed before: not relearnt */
	if (r->generation != gen || r->key != key) {
		/* After the runtime's own call, which asked the allocator the
		 * same for this type and returned. */
		if (allocator_bank_rule((const void *)a, type, &banks, &align) != 0 || banks == 0 ||
		    banks > UINT16_MAX || align == 0 || align > UINT16_MAX + 1u ||
		    (align & (align - 1)) != 0) {
			*r = (struct bank_rule){ key | BANK_RULE_OFF, gen, 0, 0 };
			return v;
		}
		*r = (struct bank_rule){ key, gen, (uint16_t)banks, (uint16_t)(align - 1u) };
	}
	if (bank_rule_apply(r, size, page) != v) {
		abi_debug("Buffer::aligned_size_per_bank() answered %llu for %llu B in pages of %llu, "
			  "not what the allocator's %u banks give: asked every time for this allocator",
			  (unsigned long long)v, (unsigned long long)size, (unsigned long long)page,
			  r->banks);
		r->key = key | BANK_RULE_OFF;
	}
	return v;
}

/* Where no cross-check runs (generations read through getters), a
 * thread's rules are checked against the runtime once in this many uses. */
#define BANK_RULE_USES 64u

/*
 * What the buffer's allocator holds per bank (0 where the runtime exports
 * no Buffer::aligned_size_per_bank).  `type` is the BufferType the runtime
 * holds (not a coarse one), `size` its size, `page` its page_size(),
 * `layout` its buffer_layout() (or anything not LAYOUT_INTERLEAVED when
 * unknown).  `count_uses` (a constant): no cross-check runs on this path,
 * count the uses (BANK_RULE_USES).
 */
static inline __attribute__((always_inline)) uint64_t
bank_bytes_of(const void *b, const void *allocator, uint8_t type, uint64_t size, uint64_t page,
	      uint32_t layout, int count_uses)
{
	struct bank_rule *r = bank_rule_slot(type);

	if (count_uses && __builtin_expect(abi_tls.bank_uses-- == 0, 0)) {
		abi_tls.bank_uses = BANK_RULE_USES - 1;
		return bank_rule_slow(b, (uintptr_t)allocator, type, size, page, layout);
	}

	/* Relaxed: a forget made on another thread happens before any buffer
	 * of an allocator built after it is allocated (the device it lives
	 * on is opened after the close or bulk free that bumped it).  An
	 * empty slot (key 0) matches no allocator. */
	if (__builtin_expect(layout == LAYOUT_INTERLEAVED && page != 0 &&
			     r->key == BANK_RULE_KEY((uintptr_t)allocator, type) &&
			     r->generation == atomic_load_explicit(&forget_generation,
								   memory_order_relaxed), 1))
		return bank_rule_apply(r, size, page);
	return bank_rule_slow(b, (uintptr_t)allocator, type, size, page, layout);
}

#endif /* TTMEM_ABI_BANK_MEMO_H */
