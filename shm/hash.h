/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to shm/: key hashing, the packed payload words, and SWAR scans of
 * the 64-byte meta lines (8 x uint64, one byte per slot).
 */
#ifndef TTMEM_SHM_HASH_H
#define TTMEM_SHM_HASH_H

#include <stdint.h>

#include "internal.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the packed payload words assume little endian");

#define TTMEM_B01 UINT64_C(0x0101010101010101)
#define TTMEM_B7F UINT64_C(0x7f7f7f7f7f7f7f7f)
#define TTMEM_B80 UINT64_C(0x8080808080808080)

/* murmur3's fmix64: a bijection with full avalanche. */
static inline uint64_t ttmem_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* Where a key may live: two distinct groups and a non-zero fingerprint,
 * taken from independent bits of one 64-bit hash. */
struct ttmem_probe {
	uint64_t g[2];
	uint8_t fp;
};

static inline void ttmem_probe_init(const struct ttmem_table *t, const struct ttmem_key *k,
				    struct ttmem_probe *p)
{
	uint64_t ds = ((uint64_t)k->device << 8) | k->space;
	uint64_t h = ttmem_mix64(k->address ^ (ds * UINT64_C(0x9e3779b97f4a7c15)));
	p->g[0] = h & t->group_mask;
	p->g[1] = (h >> 28) & t->group_mask;
	if (p->g[1] == p->g[0])
		p->g[1] ^= 1;
	uint8_t fp = (uint8_t)(h >> 56);
	p->fp = (uint8_t)(fp + (fp == 0));
}

/* ---- payload words --------------------------------------------------------------
 * The slot payload is 7 words (offsets 8..63); the sub-word fields are packed
 * into word 1 (device, space, type, owner_kind, flags) and word 3 (pid, proc,
 * module) so a copy is 7 relaxed 64-bit loads or stores. */
#define TTMEM_PAYLOAD_WORDS 7
#define TTMEM_KEYWORD_MASK UINT64_C(0xffffffffff) /* device + space in word 1 */

static inline uint64_t *ttmem_slot_words(struct ttmem_slot *s)
{
	return (uint64_t *)(void *)((char *)s + 8);
}

static inline const uint64_t *ttmem_slot_cwords(const struct ttmem_slot *s)
{
	return (const uint64_t *)(const void *)((const char *)s + 8);
}

static inline uint64_t ttmem_keyword(const struct ttmem_key *k)
{
	return (uint64_t)k->device | ((uint64_t)k->space << 32);
}

static inline void ttmem_entry_pack(const struct ttmem_entry *e, uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	w[0] = e->key.address;
	w[1] = ttmem_keyword(&e->key) | ((uint64_t)e->type << 40) |
	       ((uint64_t)e->owner_kind << 48) | ((uint64_t)e->flags << 56);
	w[2] = e->size;
	w[3] = (uint64_t)e->pid | ((uint64_t)e->proc << 32) | ((uint64_t)e->module << 48);
	w[4] = e->owner_id;
	w[5] = e->callsite;
	w[6] = e->alloc_ns;
}

static inline void ttmem_entry_unpack(const uint64_t w[TTMEM_PAYLOAD_WORDS], struct ttmem_entry *e,
				      uint32_t slot)
{
	e->key.address = w[0];
	e->key.device = (uint32_t)w[1];
	e->key.space = (uint8_t)(w[1] >> 32);
	e->type = (uint8_t)(w[1] >> 40);
	e->owner_kind = (uint8_t)(w[1] >> 48);
	e->flags = (uint8_t)(w[1] >> 56);
	e->size = w[2];
	e->pid = (uint32_t)w[3];
	e->proc = (uint16_t)(w[3] >> 32);
	e->module = (uint16_t)(w[3] >> 48);
	e->owner_id = w[4];
	e->callsite = w[5];
	e->alloc_ns = w[6];
	e->slot = slot;
}

/* Relaxed copies: the seqlock (ctl) or the BUSY claim makes them consistent. */
static inline void ttmem_payload_load(const struct ttmem_slot *s, uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	const uint64_t *src = ttmem_slot_cwords(s);
	for (int i = 0; i < TTMEM_PAYLOAD_WORDS; i++)
		w[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static inline void ttmem_payload_store(struct ttmem_slot *s, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	uint64_t *dst = ttmem_slot_words(s);
	for (int i = 0; i < TTMEM_PAYLOAD_WORDS; i++)
		__atomic_store_n(&dst[i], w[i], __ATOMIC_RELAXED);
}

/* ---- meta lines ----------------------------------------------------------------- */

static inline uint64_t ttmem_meta_word(const uint8_t *meta, uint64_t group, unsigned i)
{
	const uint64_t *line = (const uint64_t *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	return __atomic_load_n(&line[i], __ATOMIC_RELAXED);
}

static inline void ttmem_meta_set(uint8_t *meta, uint64_t slot, uint8_t v)
{
	__atomic_store_n(&meta[slot], v, __ATOMIC_RELAXED);
}

/*
 * High bit of each byte of x that is zero.  The lowest flagged byte is always
 * a true zero; a byte above a zero byte may be flagged falsely (borrow), which
 * only costs a ctl check: every candidate is verified on its ctl word.
 */
static inline uint64_t ttmem_zero_bytes(uint64_t x)
{
	return (x - TTMEM_B01) & ~x & TTMEM_B80;
}

/* Exact: high bit of each byte of x that is not zero. */
static inline uint64_t ttmem_nonzero_bytes(uint64_t x)
{
	return (((x & TTMEM_B7F) + TTMEM_B7F) | x) & TTMEM_B80;
}

/* Number of flagged bytes in a mask of high bits (0..8), without popcnt. */
static inline unsigned ttmem_mask_count(uint64_t m)
{
	return (unsigned)(((m >> 7) * TTMEM_B01) >> 56);
}

#define TTMEM_CTL_SEQ_ONE (UINT64_C(1) << 32)

/* The next ctl value of a transition from `c`: sequence + 1, new tag/state. */
static inline uint64_t ttmem_ctl_next(uint64_t c, uint32_t tag, uint32_t state)
{
	return TTMEM_CTL_MAKE(TTMEM_CTL_SEQ(c) + 1u, tag, state);
}

/* CAS ctl `*c` -> BUSY(me).  acq_rel: the acquire pairs with the release
 * that made *c (so the payload we read or overwrite is that writer's); the
 * release keeps our earlier relaxed key reads before the claim.  On failure
 * *c holds the current value. */
static inline int ttmem_slot_claim(struct ttmem_table *t, uint64_t idx, uint64_t *c, uint64_t *busy)
{
	*busy = ttmem_ctl_next(*c, (uint32_t)t->proc_idx, TTMEM_SLOT_BUSY);
	return atomic_compare_exchange_strong_explicit(&t->slots[idx].ctl, c, *busy,
						       memory_order_acq_rel, memory_order_acquire);
}

#if defined(__x86_64__) || defined(__i386__)
#define ttmem_cpu_relax() __builtin_ia32_pause()
#else
#define ttmem_cpu_relax() ((void)0)
#endif

#define TTMEM_READ_TRIES 4

/*
 * Seqlock read of a slot (readers never write): 1 with the payload in w when
 * LIVE in epoch `etag`, 0 when free / cleared, -1 when it changed (or stayed
 * BUSY) on every try.  Pairs with publish_live's release store.
 */
static inline int ttmem_slot_read(const struct ttmem_slot *s, uint32_t etag,
				  uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	for (int r = 0; r < TTMEM_READ_TRIES; r++) {
		uint64_t c1 = atomic_load_explicit(&s->ctl, memory_order_acquire);
		uint32_t st = TTMEM_CTL_STATE(c1);
		if (st == TTMEM_SLOT_FREE || (st == TTMEM_SLOT_LIVE && TTMEM_CTL_TAG(c1) != etag))
			return 0;
		if (st != TTMEM_SLOT_LIVE) {
			ttmem_cpu_relax();
			continue;
		}
		ttmem_payload_load(s, w);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->ctl, memory_order_relaxed) == c1)
			return 1;
	}
	return -1;
}

#endif /* TTMEM_SHM_HASH_H */
