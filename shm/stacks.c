/* SPDX-License-Identifier: MIT */
/*
 * The stack table (segment.h, "stacks"): allocation call stacks interned
 * once, shared by every process.  Lock-free: claim a free entry by CAS,
 * fill it, publish with release; published entries never change, so a
 * lookup that matches one can use it without further synchronisation.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

uint32_t ttmem_stack_capacity_for(uint64_t capacity)
{
	uint64_t n = capacity / 64;

	if (n < TTMEM_MIN_STACKS)
		return TTMEM_MIN_STACKS;
	if (n > TTMEM_MAX_STACKS)
		return TTMEM_MAX_STACKS;
	return (uint32_t)n;   /* capacity is a power of two, so is n */
}

uint64_t ttmem_stack_hash(const uint64_t *frames, uint32_t depth)
{
	uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ depth;

	for (uint32_t i = 0; i < depth; i++) {
		h ^= frames[i];
		h *= UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 33;
	}
	return h ? h : 1;
}

static int same_stack(const struct ttmem_stack *s, uint64_t hash, const uint64_t *frames,
		      uint32_t depth, uint32_t flags)
{
	return s->hash == hash && s->depth == depth && s->flags == flags &&
	       memcmp(s->frame, frames, depth * sizeof(*frames)) == 0;
}

int ttmem_stack_intern(struct ttmem_table *t, const uint64_t *frames, uint32_t depth,
		       uint32_t flags)
{
	uint64_t hash;
	uint32_t mask;

	if (!t || !t->writable || !frames || depth == 0 || depth > TTMEM_STACK_FRAMES)
		return -EINVAL;
	hash = ttmem_stack_hash(frames, depth);
	mask = t->stack_capacity - 1;
	for (uint32_t i = 0; i < TTMEM_STACK_PROBES; i++) {
		uint32_t idx = ((uint32_t)hash + i) & mask;
		struct ttmem_stack *s = &t->stacks[idx];
		/* Acquire: pairs with the publishing release below. */
		uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);

		if ((c & 0xff) == TTMEM_STACK_PUBLISHED) {
			if (same_stack(s, hash, frames, depth, flags))
				return (int)idx;
			continue;
		}
		if (c != TTMEM_STACK_FREE)
			continue;   /* being filled by another writer (or its killed claim) */
		if (!atomic_compare_exchange_strong_explicit(
			    &s->ctl, &c, TTMEM_STACK_CLAIMING | ((uint64_t)getpid() << 32),
			    memory_order_acq_rel, memory_order_relaxed)) {
			/* Lost the race: the winner may be interning this very stack,
			 * but waiting for it is not allowed; a twin is harmless. */
			continue;
		}
		s->hash = hash;
		s->depth = depth;
		s->flags = flags;
		memcpy(s->frame, frames, depth * sizeof(*frames));
		atomic_store_explicit(&s->ctl, TTMEM_STACK_PUBLISHED, memory_order_release);
		return (int)idx;
	}
	return -ENOSPC;
}

const struct ttmem_stack *ttmem_table_stacks(const struct ttmem_table *t)
{
	return t->stacks;
}

uint32_t ttmem_table_stack_capacity(const struct ttmem_table *t)
{
	return t->stack_capacity;
}
