/* SPDX-License-Identifier: MIT */
/*
 * Insert and remove: the hot path (design note in segment.h).
 *
 * Fast path of an insert (ttmem_insert): one epoch load, the candidate
 * groups' meta lines scanned at once (exact free-byte masks, and whether any
 * byte equals the fingerprint), the home group while it keeps its reserve,
 * else the emptiest (ttmem_probe_pick), one CAS FREE -> BUSY on a free slot,
 * seven relaxed payload stores straight from the entry, one meta byte, one
 * release store of LIVE.  A remove: the home's meta line (fingerprint
 * matches only), the other candidates' when the key is not there, the
 * matching slots' ctl, key and owner pid (only the caller's own entry is
 * removed), one CAS LIVE -> BUSY, one release
 * store of FREE.  The ctl values of these transitions are one add each (the
 * low word is known exactly).  Anything else (the key already there, a lost
 * CAS race, full groups) hands over, before changing anything, to
 * insert_full / remove_full, the complete protocol.  A remove at a known
 * slot (ttmem_remove_slot: the writer kept where its insert went) skips
 * the lookup: one CAS from the exact LIVE word it was given.  No system call, no
 * lock; the counters go to the thread's batch (batch.c): an insert counts one
 * event and its live bytes, a remove its free, event and live bytes.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "hash.h"
#include "meta_avx2.h"

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
		       const uint64_t w[TTMEM_PAYLOAD_WORDS], uint8_t fp, uint32_t etag,
		       struct ttmem_where *where)
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
	if (where)
		*where = (struct ttmem_where){ idx, ttmem_ctl_next(busy, etag, TTMEM_SLOT_LIVE), 0 };
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
	uint32_t me = (uint32_t)t->proc_idx, my_tag = t->busy_tag;

	b->dbg.slow_paths++;
	for (int pass = 0; pass < 2; pass++) {
		for (int gi = 0; gi < p->n; gi++) {
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
				if (st == TTMEM_SLOT_BUSY && tag != my_tag && ttmem_claimer_dead(t, tag) &&
				    ttmem_slot_claim(t, idx, &c, busy)) {
					atomic_fetch_add_explicit(&cn->stuck_freed, 1, memory_order_relaxed);
					return (int64_t)idx;
				}
			}
		}
	}
	return -1;
}

/* Payload word 1 of an entry: the key word plus type, owner_kind, flags.
 * Two loads instead of five: device and space are the 5 bytes at offset 8
 * (the key's padding after them is masked off), type, owner_kind and flags
 * the 3 bytes at offset 16 (the byte after them is shifted out). */
_Static_assert(offsetof(struct ttmem_entry, key) == 0 &&
	       offsetof(struct ttmem_key, device) == 8 && offsetof(struct ttmem_key, space) == 12 &&
	       offsetof(struct ttmem_entry, type) == 16 &&
	       offsetof(struct ttmem_entry, owner_kind) == 17 &&
	       offsetof(struct ttmem_entry, flags) == 18 && sizeof(struct ttmem_key) == 16,
	       "entry_w1 reads the entry's fields as two words");
static inline uint64_t entry_w1(const struct ttmem_entry *e)
{
	uint64_t k;
	uint32_t x;
	memcpy(&k, (const char *)e + 8, sizeof(k));
	memcpy(&x, (const char *)e + 16, sizeof(x));
	return (k & TTMEM_KEYWORD_MASK) | ((uint64_t)x << 40);
}

/*
 * Publish an entry into slot `idx`, which the caller holds BUSY: payload
 * straight from the entry (the handle's identity in word 3, whatever e->pid /
 * e->proc say), meta, then `live` (the LIVE ctl value) with release, which
 * pairs with the acquire ctl loads of readers and removers.
 */
static inline void publish_entry(struct ttmem_table *t, const struct ttmem_batch *b,
				 uint64_t idx, const struct ttmem_entry *e, uint8_t fp,
				 uint64_t live)
{
	struct ttmem_slot *s = &t->slots[idx];
	uint64_t *dst = ttmem_slot_words(s);

	__atomic_store_n(&dst[0], e->key.address, __ATOMIC_RELAXED);
	__atomic_store_n(&dst[1], entry_w1(e), __ATOMIC_RELAXED);
	__atomic_store_n(&dst[2], e->size, __ATOMIC_RELAXED);
	__atomic_store_n(&dst[3], b->self_w3 | ((uint64_t)e->module << 48), __ATOMIC_RELAXED);
	__atomic_store_n(&dst[4], e->owner_id, __ATOMIC_RELAXED);
	__atomic_store_n(&dst[5], (uint64_t)e->callsite | ((uint64_t)e->stack << 32),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&dst[6], (uint64_t)e->page_size | ((uint64_t)e->bank_bytes << 32),
			 __ATOMIC_RELAXED);
	ttmem_meta_set(t->meta, idx, fp);
	atomic_store_explicit(&s->ctl, live, memory_order_release);
}

/*
 * The whole insert, every case: the key live (replace in place) or of a
 * cleared epoch (reuse its slot), CAS races, full groups (claim_slow), drops.
 * ttmem_insert's fast path hands over here, having changed nothing, as soon
 * as its case is not the common one.
 */
static __attribute__((noinline)) int insert_full(struct ttmem_table *t, const struct ttmem_entry *e,
						 struct ttmem_batch *b, struct ttmem_probe p,
						 uint32_t etag, struct ttmem_where *where)
{
	uint64_t busy = 0;
	uint64_t addr = e->key.address, kw = ttmem_keyword(&e->key);
	int res = TTMEM_INSERTED;
	int64_t idx;

	for (int attempt = 0;; attempt++) {
		uint64_t zero[3] = { 0, 0, 0 }, match[3] = { 0, 0, 0 };
		int64_t stale = -1;
		uint64_t stale_c = 0;

		res = TTMEM_INSERTED;
		for (int gi = 0; gi < p.n; gi++)
			ttmem_meta_scan(t->meta, p.g[gi], p.fp, &zero[gi], &match[gi]);
		b->dbg.meta_lines += p.n;

		/* The key: live -> replace in place; of a cleared epoch -> reuse
		 * its slot. */
		if (match[0] | match[1] | match[2]) {
			for (int gi = 0; gi < p.n; gi++) {
				for (uint64_t mb = match[gi]; mb; mb &= mb - 1) {
					uint64_t si = p.g[gi] * TTMEM_GROUP_SLOTS +
						      (unsigned)__builtin_ctzll(mb);
					struct ttmem_slot *s = &t->slots[si];
					uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
					b->dbg.slots_visited++;
					if (TTMEM_CTL_STATE(c) != TTMEM_SLOT_LIVE ||
					    !key_matches(s, addr, kw))
						continue;
					if (TTMEM_CTL_TAG(c) != etag) {
						if (stale < 0) {
							stale = (int64_t)si;
							stale_c = c;
						}
						continue;
					}
					/* The key of a process that exited or died: its
					 * leak record, kept until clear or reap (a
					 * remove only ever takes the remover's own
					 * entry, so the two keys never meet).  The new
					 * entry goes to a free slot. */
					uint64_t ow3 = __atomic_load_n(&ttmem_slot_cwords(s)[3],
								       __ATOMIC_RELAXED);
					if (ttmem_owner_dead(t, (uint16_t)(ow3 >> 32), (uint32_t)ow3))
						continue;
					uint64_t w[TTMEM_PAYLOAD_WORDS];
					ttmem_entry_pack(e, w);
					w[3] = b->self_w3 | ((uint64_t)e->module << 48);
					res = insert_over(t, b, si, c, w, p.fp, etag, where);
					if (res >= 0)
						goto counted;
					goto again;
				}
			}
			if (stale >= 0 && ttmem_slot_claim(t, (uint64_t)stale, &stale_c, &busy)) {
				idx = stale;
				goto claimed;
			}
		}
		/* The group the fast path picks first (ttmem_probe_pick), then
		 * the others in order. */
		int first = ttmem_probe_pick(zero);
		for (int k = 0; k < p.n; k++) {
			int gi = k == 0 ? first : k <= first ? k - 1 : k;
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
	publish_entry(t, b, (uint64_t)idx, e, p.fp,
		      ttmem_ctl_next_low(busy, ttmem_ctl_low(etag, TTMEM_SLOT_LIVE)));
	if (where)
		*where = (struct ttmem_where){ (uint64_t)idx,
					       ttmem_ctl_next_low(busy, ttmem_ctl_low(etag,
										      TTMEM_SLOT_LIVE)), 0 };
counted:
	ttmem_batch_live(b, (int64_t)e->size);
	ttmem_batch_event(b);
	return res;
}

/* The whole remove, every case (CAS races with retries): ttmem_remove's
 * fast path hands over here when its one claim loses a race. */
static __attribute__((noinline)) int remove_full(struct ttmem_table *t, const struct ttmem_key *k,
						 struct ttmem_entry *out, struct ttmem_batch *b,
						 struct ttmem_probe p, uint32_t etag,
						 struct ttmem_where *where)
{
	uint64_t addr = k->address, kw = ttmem_keyword(k);

	for (int gi = 0; gi < p.n; gi++) {
		uint64_t mb = ttmem_meta_match(t->meta, p.g[gi], p.fp);
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
				/* Only our own entry (see ttmem_remove). */
				uint64_t w3 = __atomic_load_n(&ttmem_slot_cwords(s)[3], __ATOMIC_RELAXED);
				if ((uint32_t)w3 != t->pid)
					break;
				if (!ttmem_slot_claim(t, si, &c, &busy))
					continue; /* c reloaded: look again */
				/* Ours (BUSY; the claim validated the sequence, so
				 * w3 is this entry's): read what we need before FREE. */
				if (out) {
					ttmem_payload_load(s, w);
				} else {
					w[2] = __atomic_load_n(&ttmem_slot_cwords(s)[2], __ATOMIC_RELAXED);
					w[3] = w3;
				}
				ttmem_slot_release_free(t, si, busy);
				if (where)
					*where = (struct ttmem_where){ si, c, w[2] };   /* c: the LIVE value claimed */
				/* A decrease: no new peak.  Wrapping, as
				 * ttmem_batch_live: a size read from a damaged
				 * segment must not overflow. */
				if (__builtin_expect(w[3] << 16 == b->self_w3 << 16, 1))
					b->live = (int64_t)((uint64_t)b->live - w[2]);
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

/* Free slot `si`, which the caller claimed BUSY from LIVE ctl `c0` (low
 * word live_low): read what the counters and `out` need, meta = 0, FREE with
 * release (as ttmem_slot_release_free), count the remove.  Returns the
 * removed entry's size. */
static inline __attribute__((always_inline)) uint64_t remove_claimed(struct ttmem_table *t,
								  struct ttmem_batch *b, uint64_t si,
								  uint64_t c0, uint64_t live_low,
								  uint64_t w3, struct ttmem_entry *out)
{
	struct ttmem_slot *s = &t->slots[si];
	uint64_t w[TTMEM_PAYLOAD_WORDS];

	if (out) {
		ttmem_payload_load(s, w);
	} else {
		w[2] = __atomic_load_n(&ttmem_slot_cwords(s)[2], __ATOMIC_RELAXED);
		w[3] = w3;
	}
	ttmem_meta_set(t->meta, si, 0);
	atomic_store_explicit(&s->ctl, c0 + 2 * TTMEM_CTL_SEQ_ONE - live_low, memory_order_release);
	/* A decrease: no new peak.  Wrapping, as ttmem_batch_live: a size
	 * read from a damaged segment must not overflow. */
	if (__builtin_expect(w[3] << 16 == b->self_w3 << 16, 1))
		b->live = (int64_t)((uint64_t)b->live - w[2]);
	else
		ttmem_owner_release(t, b, (uint16_t)(w[3] >> 32), (uint32_t)w[3], w[2]);
	b->frees++;
	ttmem_batch_event(b);
	if (out)
		ttmem_entry_unpack(w, out, (uint32_t)si);
	return w[2];
}

/* The fast paths, once with SSE2 (x86-64's baseline) or SWAR, once with
 * AVX2 where it may be built; each call takes the AVX2 one when the CPU has
 * it.  A variant is a separate function: code for AVX2 cannot be inlined
 * into code for the baseline. */
#define FAST(name) name##_base
#define FAST_ATTR
#define META_SCAN_ALL ttmem_meta_scan_all
#define META_MATCH ttmem_meta_match
#include "table_fast.h"
#undef FAST
#undef FAST_ATTR
#undef META_SCAN_ALL
#undef META_MATCH

#ifdef TTMEM_META_AVX2
#define FAST(name) name##_avx2
#define FAST_ATTR TTMEM_AVX2_FN
#define META_SCAN_ALL ttmem_meta_scan_all_avx2
#define META_MATCH ttmem_meta_match_avx2
#include "table_fast.h"
#undef FAST
#undef FAST_ATTR
#undef META_SCAN_ALL
#undef META_MATCH
#endif

/* Each variant whole in its own function, so that the choice costs a load
 * and a jump: with one inlined into the chooser, gcc saved its registers
 * before choosing. */
#define DEFINE_VARIANT(SUFFIX, ATTR)                                                              \
	static __attribute__((noinline)) ATTR int insert_at_##SUFFIX(                              \
		struct ttmem_table *t, const struct ttmem_entry *e, struct ttmem_where *where)     \
	{                                                                                          \
		return insert_##SUFFIX(t, e, where);                                               \
	}                                                                                          \
	static __attribute__((noinline)) ATTR int remove_at_##SUFFIX(                              \
		struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out,         \
		struct ttmem_where *where)                                                         \
	{                                                                                          \
		return remove_key_##SUFFIX(t, k, out, where);                                      \
	}
DEFINE_VARIANT(base, )
#ifdef TTMEM_META_AVX2
DEFINE_VARIANT(avx2, TTMEM_AVX2_FN)
#define VARIANT(name) (__builtin_expect(ttmem_have_avx2, 1) ? name##_avx2 : name##_base)
#else
#define VARIANT(name) name##_base
#endif

int ttmem_insert(struct ttmem_table *t, const struct ttmem_entry *e)
{
	return VARIANT(insert_at)(t, e, NULL);
}

int ttmem_insert_at(struct ttmem_table *t, const struct ttmem_entry *e, struct ttmem_where *where)
{
	return VARIANT(insert_at)(t, e, where);
}

int ttmem_remove_slot(struct ttmem_table *t, struct ttmem_where *where, struct ttmem_entry *out)
{
	if (__builtin_expect(!t || !where || !t->writable || t->proc_idx < 0 ||
			     where->slot >= t->capacity, 0))
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	uint64_t live_low = ttmem_ctl_low(etag, TTMEM_SLOT_LIVE);
	uint64_t si = where->slot, c = where->live;
	struct ttmem_slot *s = &t->slots[si];

	/* Of this epoch, and ours: the pid is read before the claim, and the
	 * claim then proves it is the one published with `live` (any change
	 * to the slot since would have moved its sequence on). */
	if ((uint32_t)c != live_low)
		return TTMEM_ENOTFOUND;
	uint64_t w3 = __atomic_load_n(&ttmem_slot_cwords(s)[3], __ATOMIC_RELAXED);
	if ((uint32_t)w3 != t->pid)
		return TTMEM_ENOTFOUND;
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	uint64_t busy = c + TTMEM_CTL_SEQ_ONE + ttmem_ctl_low(t->busy_tag, TTMEM_SLOT_BUSY) - live_low;
	if (!atomic_compare_exchange_strong_explicit(&s->ctl, &c, busy, memory_order_acq_rel,
						     memory_order_acquire))
		return TTMEM_ENOTFOUND;
	where->size = remove_claimed(t, b, si, where->live, live_low, w3, out);
	return 0;
}

int ttmem_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out)
{
	return VARIANT(remove_at)(t, k, out, NULL);
}

int ttmem_remove_at(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out,
		    struct ttmem_where *where)
{
	return VARIANT(remove_at)(t, k, out, where);
}
