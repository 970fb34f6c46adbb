/* SPDX-License-Identifier: MIT */
/*
 * Insert and remove: the hot path (design note in segment.h).
 *
 * Fast path of an insert: one epoch load, two meta lines scanned with SWAR
 * (fingerprint matches and free bytes at once), one CAS FREE -> BUSY, seven
 * relaxed payload stores, one meta byte, one release store of LIVE.  A remove:
 * the meta line(s) of its groups, the matching slots' ctl and key, one CAS
 * LIVE -> BUSY, one release store of FREE.  No system call, no lock; the
 * counters go to the thread's batch (batch.c).
 */
#include <errno.h>

#include "hash.h"

#define RETRIES 16   /* CAS races on the same slot before giving up a step */

static inline int key_matches(const struct ttmem_slot *s, uint64_t addr, uint64_t kw)
{
	const uint64_t *w = ttmem_slot_cwords(s);
	return __atomic_load_n(&w[0], __ATOMIC_RELAXED) == addr &&
	       (__atomic_load_n(&w[1], __ATOMIC_RELAXED) & TTMEM_KEYWORD_MASK) == kw;
}

/* Publish a slot the caller holds BUSY (`busy`): payload, meta, then LIVE
 * with release (pairs with the acquire ctl loads of readers and removers). */
static inline void publish_live(struct ttmem_table *t, uint64_t idx, uint64_t busy,
				const uint64_t w[TTMEM_PAYLOAD_WORDS], uint8_t fp, uint32_t etag)
{
	struct ttmem_slot *s = &t->slots[idx];
	ttmem_payload_store(s, w);
	ttmem_meta_set(t->meta, idx, fp);
	atomic_store_explicit(&s->ctl, ttmem_ctl_next(busy, etag, TTMEM_SLOT_LIVE),
			      memory_order_release);
}

/*
 * The key is live in the current epoch at `idx` (ctl `c`): take it over in
 * place.  Returns the insert result, or -EAGAIN when the slot changed first.
 */
static int insert_over(struct ttmem_table *t, struct ttmem_batch *b, uint64_t idx, uint64_t c,
		       const uint64_t w[TTMEM_PAYLOAD_WORDS], uint8_t fp, uint32_t etag)
{
	uint64_t busy, old[TTMEM_PAYLOAD_WORDS];
	int res;

	if (!ttmem_slot_claim(t, idx, &c, &busy))
		return -EAGAIN;
	ttmem_payload_load(&t->slots[idx], old);
	uint32_t opid = (uint32_t)old[3];
	uint32_t oproc = (uint16_t)(old[3] >> 32);
	struct ttmem_counters *cn = &t->hdr->counters;
	if (!(oproc == (uint32_t)t->proc_idx && opid == t->pid) && ttmem_owner_dead(t, oproc, opid)) {
		res = TTMEM_INSERTED_RECLAIMED;
		atomic_fetch_add_explicit(&cn->reclaimed, 1, memory_order_relaxed);
	} else {
		res = TTMEM_INSERTED_REPLACED;
		atomic_fetch_add_explicit(&cn->replaced, 1, memory_order_relaxed);
	}
	ttmem_owner_release(t, b, oproc, opid, old[2]);
	publish_live(t, idx, busy, w, fp, etag);
	return res;
}

/*
 * Slow path of insert: neither group has a free meta byte we could claim.
 * First slots that cost nothing to take (FREE, or LIVE of a cleared epoch),
 * then entries of dead processes and slots left BUSY by dead writers.
 * Returns the claimed slot index with *busy set, or -1.
 */
static int64_t claim_slow(struct ttmem_table *t, struct ttmem_batch *b,
			  const struct ttmem_probe *p, uint32_t etag, uint64_t *busy)
{
	struct ttmem_counters *cn = &t->hdr->counters;
	uint32_t me = (uint32_t)t->proc_idx;

	b->dbg.slow_paths++;
	for (int pass = 0; pass < 2; pass++) {
		for (int gi = 0; gi < 2; gi++) {
			for (unsigned j = 0; j < TTMEM_GROUP_SLOTS; j++) {
				uint64_t idx = p->g[gi] * TTMEM_GROUP_SLOTS + j;
				struct ttmem_slot *s = &t->slots[idx];
				uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
				uint32_t st = TTMEM_CTL_STATE(c), tag = TTMEM_CTL_TAG(c);
				b->dbg.slots_visited++;
				if (pass == 0) {
					if ((st == TTMEM_SLOT_FREE ||
					     (st == TTMEM_SLOT_LIVE && tag != etag)) &&
					    ttmem_slot_claim(t, idx, &c, busy))
						return (int64_t)idx;
					continue;
				}
				if (st == TTMEM_SLOT_LIVE && tag == etag) {
					uint64_t w3 = __atomic_load_n(&ttmem_slot_cwords(s)[2 + 1],
								      __ATOMIC_RELAXED);
					uint32_t opid = (uint32_t)w3, oproc = (uint16_t)(w3 >> 32);
					if (oproc == me && opid == t->pid)
						continue;
					if (!ttmem_owner_dead(t, oproc, opid) || !ttmem_slot_claim(t, idx, &c, busy))
						continue;
					/* The CAS validated the sequence: the payload is
					 * the one we judged. */
					uint64_t size = __atomic_load_n(&ttmem_slot_cwords(s)[2],
									__ATOMIC_RELAXED);
					ttmem_owner_release(t, b, oproc, opid, size);
					atomic_fetch_add_explicit(&cn->reclaimed, 1, memory_order_relaxed);
					return (int64_t)idx;
				}
				if (st == TTMEM_SLOT_BUSY && tag != me && ttmem_claimer_dead(t, tag) &&
				    ttmem_slot_claim(t, idx, &c, busy)) {
					atomic_fetch_add_explicit(&cn->stuck_freed, 1, memory_order_relaxed);
					return (int64_t)idx;
				}
			}
		}
	}
	return -1;
}

int ttmem_insert(struct ttmem_table *t, const struct ttmem_entry *e)
{
	if (__builtin_expect(!t || !e || !t->writable || t->proc_idx < 0, 0))
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	struct ttmem_probe p;
	uint64_t w[TTMEM_PAYLOAD_WORDS], busy = 0;
	uint64_t addr = e->key.address, kw = ttmem_keyword(&e->key);
	int res = TTMEM_INSERTED;
	int64_t idx;

	ttmem_probe_init(t, &e->key, &p);
	ttmem_entry_pack(e, w);
	/* The handle's identity, whatever e->pid / e->proc say. */
	w[3] = (uint64_t)t->pid | ((uint64_t)(uint16_t)t->proc_idx << 32) |
	       ((uint64_t)e->module << 48);
	b->dbg.ops++;

	for (int attempt = 0;; attempt++) {
		uint64_t zero[2], match[2];
		int64_t stale = -1;
		uint64_t stale_c = 0;

		res = TTMEM_INSERTED;
		ttmem_meta_scan(t->meta, p.g[0], p.fp, &zero[0], &match[0]);
		ttmem_meta_scan(t->meta, p.g[1], p.fp, &zero[1], &match[1]);
		b->dbg.meta_lines += 2;

		/* The key: live -> replace in place; of a cleared epoch -> reuse
		 * its slot. */
		for (int gi = 0; gi < 2; gi++) {
			for (uint64_t mb = match[gi]; mb; mb &= mb - 1) {
				uint64_t si = p.g[gi] * TTMEM_GROUP_SLOTS + (unsigned)__builtin_ctzll(mb);
				struct ttmem_slot *s = &t->slots[si];
				uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
				b->dbg.slots_visited++;
				if (TTMEM_CTL_STATE(c) != TTMEM_SLOT_LIVE || !key_matches(s, addr, kw))
					continue;
				if (TTMEM_CTL_TAG(c) != etag) {
					if (stale < 0) {
						stale = (int64_t)si;
						stale_c = c;
					}
					continue;
				}
				res = insert_over(t, b, si, c, w, p.fp, etag);
				if (res >= 0)
					goto counted;
				goto again;
			}
		}
		if (stale >= 0 && ttmem_slot_claim(t, (uint64_t)stale, &stale_c, &busy)) {
			idx = stale;
			goto claimed;
		}
		/* Two-choice: the emptier group first, then the other. */
		int first = ttmem_meta_free_count(t->meta, p.g[0]) >=
				    ttmem_meta_free_count(t->meta, p.g[1]) ? 0 : 1;
		for (int k = 0; k < 2; k++) {
			int gi = k ? 1 - first : first;
			for (uint64_t zb = zero[gi]; zb; zb &= zb - 1) {
				uint64_t si = p.g[gi] * TTMEM_GROUP_SLOTS + (unsigned)__builtin_ctzll(zb);
				uint64_t c = atomic_load_explicit(&t->slots[si].ctl, memory_order_relaxed);
				b->dbg.slots_visited++;
				if (TTMEM_CTL_STATE(c) == TTMEM_SLOT_FREE &&
				    ttmem_slot_claim(t, si, &c, &busy)) {
					idx = (int64_t)si;
					goto claimed;
				}
			}
		}
		idx = claim_slow(t, b, &p, etag, &busy);
		if (idx >= 0)
			goto claimed;
		b->drops++;
		ttmem_batch_event(b);
		return TTMEM_EFULL;
again:
		if (attempt >= RETRIES) {
			/* The key keeps changing under us: count a drop rather
			 * than spin (never happens with one owner per key). */
			b->drops++;
			ttmem_batch_event(b);
			return TTMEM_EFULL;
		}
	}
claimed:
	publish_live(t, (uint64_t)idx, busy, w, p.fp, etag);
counted:
	b->allocs++;
	ttmem_batch_live(b, (int64_t)e->size);
	ttmem_batch_event(b);
	return res;
}

int ttmem_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out)
{
	if (__builtin_expect(!t || !k || !t->writable || t->proc_idx < 0, 0))
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	struct ttmem_probe p;
	uint64_t addr = k->address, kw = ttmem_keyword(k);

	ttmem_probe_init(t, k, &p);
	b->dbg.ops++;

	for (int gi = 0; gi < 2; gi++) {
		uint64_t zero, mb;
		ttmem_meta_scan(t->meta, p.g[gi], p.fp, &zero, &mb);
		b->dbg.meta_lines++;
		for (; mb; mb &= mb - 1) {
			uint64_t si = p.g[gi] * TTMEM_GROUP_SLOTS + (unsigned)__builtin_ctzll(mb);
			struct ttmem_slot *s = &t->slots[si];
			uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
			uint64_t busy, w[TTMEM_PAYLOAD_WORDS];
			b->dbg.slots_visited++;
			for (int r = 0; r < RETRIES; r++) {
				if (TTMEM_CTL_STATE(c) != TTMEM_SLOT_LIVE || TTMEM_CTL_TAG(c) != etag ||
				    !key_matches(s, addr, kw))
					break;
				if (!ttmem_slot_claim(t, si, &c, &busy))
					continue; /* c reloaded: look again */
				ttmem_payload_load(s, w);
				ttmem_slot_release_free(t, si, busy);
				if (__builtin_expect(w[3] << 16 == b->self_w3 << 16, 1))
					ttmem_batch_live(b, -(int64_t)w[2]);
				else
					ttmem_owner_release(t, b, (uint16_t)(w[3] >> 32),
							    (uint32_t)w[3], w[2]);
				b->frees++;
				ttmem_batch_event(b);
				if (out)
					ttmem_entry_unpack(w, out, (uint32_t)si);
				return 0;
			}
		}
	}
	b->unmatched++;
	ttmem_batch_event(b);
	return TTMEM_ENOTFOUND;
}
