/* SPDX-License-Identifier: MIT */
/*
 * Bulk operations over one process's entries: sweep (remove the matching
 * entries, e.g. everything of a device that is being closed) and tally (count
 * them, e.g. what is still live at exit).  O(capacity) reads of the meta
 * array plus the live slots; not for the hot path.
 *
 * A sweep releases the removed bytes from their owner's live_bytes but does
 * not count them as frees, nor as events, nor add them to released_bulk:
 * whether they were released in bulk is the caller's knowledge (it adds the
 * tally there itself).
 */
#include <errno.h>

#include "hash.h"

static int filter_match(const struct ttmem_filter *f, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	if ((uint32_t)w[3] != f->pid)
		return 0;
	if (f->match_device && (uint32_t)w[1] != f->device)
		return 0;
	if (f->match_owner && ((uint8_t)(w[1] >> 48) != f->owner_kind || w[4] != f->owner_id))
		return 0;
	if (f->match_type && (uint8_t)(w[1] >> 40) != f->type)
		return 0;
	if (f->match_flags && ((uint8_t)(w[1] >> 56) & f->flags_mask) != f->flags)
		return 0;
	return 1;
}

static void tally_add(struct ttmem_tally *tl, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	uint8_t type = (uint8_t)(w[1] >> 40), owner = (uint8_t)(w[1] >> 48);
	if (!tl)
		return;
	tl->entries++;
	if (owner < TTMEM_MAX_OWNERS && type < TTMEM_MAX_TYPES)
		tl->bytes[owner][type] += w[2];
}

/* Visit every slot whose meta byte is set; stop early when fn returns < 0. */
#define FOR_EACH_META_SLOT(t, si)                                                        \
	for (uint64_t g_ = 0; g_ <= (t)->group_mask; g_++)                               \
		for (unsigned i_ = 0; i_ < 8; i_++)                                      \
			for (uint64_t nz_ = ttmem_nonzero_bytes(ttmem_meta_word((t)->meta, g_, i_)), \
				      si = 0;                                            \
			     nz_ && ((si = g_ * TTMEM_GROUP_SLOTS + i_ * 8u +            \
					   ((unsigned)__builtin_ctzll(nz_) >> 3)), 1);   \
			     nz_ &= nz_ - 1)

int64_t ttmem_sweep(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally)
{
	if (!t || !f || !t->writable || t->proc_idx < 0)
		return -EINVAL;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	int64_t n = 0;

	/* One meta line per group (ttmem_debug_thread_stats). */
	b->dbg.meta_lines += t->group_mask + 1;
	FOR_EACH_META_SLOT(t, si) {
		struct ttmem_slot *s = &t->slots[si];
		uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
		for (int r = 0; r < 16; r++) {
			uint64_t w[TTMEM_PAYLOAD_WORDS], busy;
			if (TTMEM_CTL_STATE(c) != TTMEM_SLOT_LIVE || TTMEM_CTL_TAG(c) != etag)
				break;
			ttmem_payload_load(s, w);
			if (!filter_match(f, w))
				break;
			/* The CAS validates the sequence: w is the entry we claim. */
			if (!ttmem_slot_claim(t, si, &c, &busy))
				continue;
			ttmem_slot_release_free(t, si, busy);
			ttmem_owner_release(t, b, (uint16_t)(w[3] >> 32), (uint32_t)w[3], w[2]);
			tally_add(tally, w);
			n++;
			break;
		}
	}
	ttmem_batch_flush(b);
	return n;
}

int64_t ttmem_tally(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally)
{
	if (!t || !f)
		return -EINVAL;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	int64_t n = 0;

	ttmem_batch_flush_for(t);
	FOR_EACH_META_SLOT(t, si) {
		uint64_t w[TTMEM_PAYLOAD_WORDS];
		if (ttmem_slot_read(&t->slots[si], etag, w) == 1 && filter_match(f, w)) {
			tally_add(tally, w);
			n++;
		}
	}
	return n;
}
