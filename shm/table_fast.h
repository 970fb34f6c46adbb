/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to table.c: the fast paths of insert and remove by key, included
 * once per instruction set.  The includer defines
 *   FAST(name)      the variant's name for `name`
 *   FAST_ATTR       its functions' target attribute (or nothing)
 *   META_SCAN_ALL   ttmem_meta_scan_all or its AVX2 twin (meta_avx2.h)
 *   META_MATCH      ttmem_meta_match or its AVX2 twin
 * Only the meta-line scans differ; what they find is the same.
 * Deliberately no include guard.
 */
/* Is the key live (any epoch) among the fingerprint matches `mb` of group
 * `g`?  Then the insert is not the common case. */
static inline FAST_ATTR int FAST(key_present)(struct ttmem_table *t, struct ttmem_batch *b, uint64_t g,
			      uint64_t mb, uint64_t addr, uint64_t kw)
{
	for (; mb; mb &= mb - 1) {
		const struct ttmem_slot *s = &t->slots[g * TTMEM_GROUP_SLOTS + (unsigned)__builtin_ctzll(mb)];
		uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
		b->dbg.slots_visited++;
		if (TTMEM_CTL_STATE(c) == TTMEM_SLOT_LIVE && key_matches(s, addr, kw))
			return 1;
	}
	return 0;
}

static inline FAST_ATTR int FAST(key_present_any)(struct ttmem_table *t, struct ttmem_batch *b,
				  const struct ttmem_probe *p, uint64_t addr, uint64_t kw)
{
	for (int gi = 0; gi < p->n; gi++)
		if (FAST(key_present)(t, b, p->g[gi], META_MATCH(t->meta, p->g[gi], p->fp), addr, kw))
			return 1;
	return 0;
}

/*
 * The fast path: the key is not in the table and the emptier group has a
 * FREE slot whose claim succeeds at once.  Anything else goes to
 * insert_full (nothing was changed before that hand-over).
 */
static inline FAST_ATTR __attribute__((always_inline)) int FAST(insert)(struct ttmem_table *t,
							   const struct ttmem_entry *e,
							   struct ttmem_where *where)
{
	if (__builtin_expect(!t || !e || !t->writable || t->proc_idx < 0, 0))
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	struct ttmem_probe p;
	uint64_t addr = e->key.address, kw = ttmem_keyword(&e->key);
	uint64_t zero[3], busy, idx;

	ttmem_probe_init(t, &e->key, &p);
	int any = META_SCAN_ALL(t->meta, p.g, p.fp, zero);
	/* Home while it keeps its reserve, else the emptiest candidate
	 * (ttmem_probe_pick); a free slot of it.  Its slot line is usually a
	 * cache miss: start it (for writing) before looking for the key. */
	int pick = ttmem_probe_pick(zero);
	uint64_t zb = zero[pick];
	idx = p.g[pick] * TTMEM_GROUP_SLOTS + (zb ? ttmem_free_pick(zb, p.fp) : 0);
	struct ttmem_slot *s = &t->slots[idx];
	__builtin_prefetch(s, 1, 3);
	/* dbg.slots_visited: every insert is taken to read its slot's ctl
	 * (ttmem_debug_thread_stats adds one per insert), so the fast path
	 * counts nothing and the hand-overs made before that read take their
	 * one back. */
	if (__builtin_expect(any, 0) && FAST(key_present_any)(t, b, &p, addr, kw)) {
		b->dbg.slots_visited--;
		return insert_full(t, e, b, p, etag, where);
	}
	if (__builtin_expect(!zb, 0)) {
		b->dbg.slots_visited--;
		return insert_full(t, e, b, p, etag, where);
	}
	uint64_t c = atomic_load_explicit(&s->ctl, memory_order_relaxed);
	/* FREE (tag 0): its low word is 0, so each transition is one add to
	 * the high word (sequence + 1, wrapping like TTMEM_CTL_SEQ) and the new
	 * low word.  acq_rel as ttmem_slot_claim. */
	busy = c + (TTMEM_CTL_SEQ_ONE | ttmem_ctl_low(t->busy_tag, TTMEM_SLOT_BUSY));
	if (__builtin_expect((uint32_t)c != 0 ||
			     !atomic_compare_exchange_strong_explicit(&s->ctl, &c, busy,
								      memory_order_acq_rel,
								      memory_order_acquire), 0))
		return insert_full(t, e, b, p, etag, where);

	uint64_t live = c + (2 * TTMEM_CTL_SEQ_ONE | ttmem_ctl_low(etag, TTMEM_SLOT_LIVE));
	publish_entry(t, b, idx, e, p.fp, live);
	if (where)
		*where = (struct ttmem_where){ idx, live, 0 };
	ttmem_batch_live(b, (int64_t)e->size);
	ttmem_batch_event(b);
	return TTMEM_INSERTED;
}

/* The slot of group `g` among the fingerprint matches `mb` that holds the
 * key live in the current epoch and owned by this process (ctl in *c, payload
 * word 3 in *w3), or -1. */
static inline FAST_ATTR int64_t FAST(find_live)(struct ttmem_table *t, struct ttmem_batch *b, uint64_t g,
				uint64_t mb, uint64_t addr, uint64_t kw, uint32_t etag, uint64_t *c,
				uint64_t *w3)
{
	for (; mb; mb &= mb - 1) {
		uint64_t si = g * TTMEM_GROUP_SLOTS + (unsigned)__builtin_ctzll(mb);
		const struct ttmem_slot *s = &t->slots[si];
		*c = atomic_load_explicit(&s->ctl, memory_order_acquire);
		b->dbg.slots_visited++;
		/* LIVE in this epoch: the low word is exactly LIVE(etag). */
		if ((uint32_t)*c == ttmem_ctl_low(etag, TTMEM_SLOT_LIVE) &&
		    key_matches(s, addr, kw)) {
			*w3 = __atomic_load_n(&ttmem_slot_cwords(s)[3], __ATOMIC_RELAXED);
			if ((uint32_t)*w3 == t->pid)
				return (int64_t)si;
		}
	}
	return -1;
}

/* The fast path: find the key (group 0's meta line first, group 1's only
 * when not there), claim it at the first try, free it.  Only an entry of
 * this process (its pid in payload word 3, read with the key: one compare)
 * is removed; another process's entry of the key is left alone and the
 * remove is unmatched. */
static inline FAST_ATTR __attribute__((always_inline)) int FAST(remove_key)(struct ttmem_table *t,
							       const struct ttmem_key *k,
							       struct ttmem_entry *out,
							       struct ttmem_where *where)
{
	if (__builtin_expect(!t || !k || !t->writable || t->proc_idx < 0, 0))
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	struct ttmem_probe p;
	uint64_t addr = k->address, kw = ttmem_keyword(k), c = 0, w3 = 0, busy;

	ttmem_probe_init(t, k, &p);
	int64_t si = FAST(find_live)(t, b, p.g[0], META_MATCH(t->meta, p.g[0], p.fp), addr, kw, etag,
			       &c, &w3);
	for (int gi = 1; si < 0 && gi < p.n; gi++) {
		b->dbg_rm_more++;
		si = FAST(find_live)(t, b, p.g[gi], META_MATCH(t->meta, p.g[gi], p.fp), addr, kw,
			       etag, &c, &w3);
	}
	if (si < 0) {
		b->unmatched++;
		ttmem_batch_event(b);
		return TTMEM_ENOTFOUND;
	}
	/* LIVE in this epoch: c's low word is exactly live_low, so each
	 * transition is one add (see the insert).  acq_rel as
	 * ttmem_slot_claim. */
	struct ttmem_slot *s = &t->slots[si];
	uint64_t live_low = ttmem_ctl_low(etag, TTMEM_SLOT_LIVE);
	uint64_t c0 = c;
	busy = c + TTMEM_CTL_SEQ_ONE + ttmem_ctl_low(t->busy_tag, TTMEM_SLOT_BUSY) - live_low;
	if (__builtin_expect(!atomic_compare_exchange_strong_explicit(&s->ctl, &c, busy,
								      memory_order_acq_rel,
								      memory_order_acquire), 0))
		return remove_full(t, k, out, b, p, etag, where);

	/* Ours (BUSY; the claim validated the sequence, so w3 is this
	 * entry's). */
	uint64_t size = remove_claimed(t, b, (uint64_t)si, c0, live_low, w3, out);
	if (where)
		*where = (struct ttmem_where){ (uint64_t)si, c0, size };
	return 0;
}

