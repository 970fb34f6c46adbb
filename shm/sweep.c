/* SPDX-License-Identifier: MIT */
/*
 * Bulk operations over one process's entries: sweep (remove the matching
 * entries, e.g. everything of a device that is being closed) and tally (count
 * them, e.g. what is still live at exit).  O(capacity) reads of the meta
 * array plus the live slots; not for the hot path.  Their keyed forms
 * (ttmem_sweep_keys, ttmem_tally_keys) look only where given keys may live.
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

static int key_match(const struct ttmem_key *k, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	return w[0] == k->address && (w[1] & TTMEM_KEYWORD_MASK) == ttmem_keyword(k);
}

static void tally_add(struct ttmem_tally *tl, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	uint8_t type = (uint8_t)(w[1] >> 40), owner = (uint8_t)(w[1] >> 48);
	if (!tl)
		return;
	tl->entries++;
	if (owner < TTMEM_MAX_OWNERS && type < TTMEM_MAX_TYPES)
		tl->bytes[owner][type] += w[2];
	/* The key word's low 32 bits are the chip (ttmem_keyword). */
	if (tl->by_device && (uint32_t)w[1] < TTMEM_MAX_DEVICES && type < TTMEM_MAX_TYPES)
		tl->by_device[(uint32_t)w[1]][type] += w[2];
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

/*
 * Remove slot `si` if it holds, live in epoch `etag`, an entry matching `f`
 * (and, when `k` is not NULL, the key `k`): 1 when removed here.
 */
static int sweep_slot(struct ttmem_table *t, struct ttmem_batch *b, uint64_t si, uint32_t etag,
		      const struct ttmem_filter *f, const struct ttmem_key *k,
		      struct ttmem_tally *tally)
{
	struct ttmem_slot *s = &t->slots[si];
	uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
	for (int r = 0; r < 16; r++) {
		uint64_t w[TTMEM_PAYLOAD_WORDS], busy;
		if (TTMEM_CTL_STATE(c) != TTMEM_SLOT_LIVE || TTMEM_CTL_TAG(c) != etag)
			return 0;
		ttmem_payload_load(s, w);
		if (!filter_match(f, w) || (k && !key_match(k, w)))
			return 0;
		/* The CAS validates the sequence: w is the entry we claim. */
		if (!ttmem_slot_claim(t, si, &c, &busy))
			continue;
		ttmem_slot_release_free(t, si, busy);
		ttmem_owner_release(t, b, (uint16_t)(w[3] >> 32), (uint32_t)w[3], w[2]);
		tally_add(tally, w);
		return 1;
	}
	return 0;
}

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
	FOR_EACH_META_SLOT(t, si)
		n += sweep_slot(t, b, si, etag, f, NULL, tally);
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

/*
 * The keyed forms: the same filter and accounting, restricted to the slots
 * where keys[0..n) may live (their candidate groups' fingerprint matches), so they
 * cost O(n) instead of O(capacity).  The preload passes the keys of its own
 * index (preload/owned.c); the table stays the judge of what is live, whose
 * it is and in which epoch.
 */
int64_t ttmem_sweep_keys(struct ttmem_table *t, const struct ttmem_filter *f,
			 const struct ttmem_key *keys, size_t n, struct ttmem_tally *tally)
{
	if (!t || !f || (n && !keys) || !t->writable || t->proc_idx < 0)
		return -EINVAL;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	int64_t removed = 0;

	for (size_t i = 0; i < n; i++) {
		struct ttmem_probe p;
		ttmem_probe_init(t, &keys[i], &p);
		for (int gi = 0; gi < p.n; gi++) {
			uint64_t mb = ttmem_meta_match(t->meta, p.g[gi], p.fp);
			b->dbg.meta_lines++;
			for (; mb; mb &= mb - 1)
				removed += sweep_slot(t, b, p.g[gi] * TTMEM_GROUP_SLOTS +
							       (unsigned)__builtin_ctzll(mb),
						      etag, f, &keys[i], tally);
		}
	}
	ttmem_batch_flush(b);
	return removed;
}

int64_t ttmem_tally_keys(struct ttmem_table *t, const struct ttmem_filter *f,
			 const struct ttmem_key *keys, size_t n, struct ttmem_tally *tally)
{
	if (!t || !f || (n && !keys))
		return -EINVAL;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	int64_t found = 0;

	ttmem_batch_flush_for(t);
	for (size_t i = 0; i < n; i++) {
		struct ttmem_probe p;
		ttmem_probe_init(t, &keys[i], &p);
		for (int gi = 0; gi < p.n; gi++) {
			uint64_t mb = ttmem_meta_match(t->meta, p.g[gi], p.fp);
			for (; mb; mb &= mb - 1) {
				uint64_t w[TTMEM_PAYLOAD_WORDS];
				uint64_t si = p.g[gi] * TTMEM_GROUP_SLOTS +
					      (unsigned)__builtin_ctzll(mb);
				if (ttmem_slot_read(&t->slots[si], etag, w) == 1 &&
				    filter_match(f, w) && key_match(&keys[i], w)) {
					tally_add(tally, w);
					found++;
				}
			}
		}
	}
	return found;
}
