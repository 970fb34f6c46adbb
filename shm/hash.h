/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to shm/: key hashing, the packed payload words, and SWAR scans of
 * the 64-byte meta lines (8 x uint64, one byte per slot).
 */
#ifndef TTMEM_SHM_HASH_H
#define TTMEM_SHM_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the packed payload words assume little endian");

/* Under ThreadSanitizer: no vector loads of the meta lines (TSan would flag
 * their by-design race with the writers' byte stores) and no standalone
 * fences (gcc's TSan rejects them): see ttmem_meta_scan, ttmem_slot_read. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TTMEM_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TTMEM_TSAN 1
#endif

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

/* Where a key may live: its home group and two other groups, distinct
 * (both groups of a two-group table: n = 2), and a non-zero fingerprint.
 * The home depends on the key's device, space and 16 MiB region of address
 * (bits 24..31) only, so the entries of one chip and region share a group
 * (locality: a process touches few pages); the other two, the fingerprint
 * and the home's region mix come from independent bits of the key's own
 * hash (segment.h, "Hashing"). */
#define TTMEM_HOME_SHIFT 24
#define TTMEM_HOME_MASK UINT64_C(0xff)

struct ttmem_probe {
	uint64_t g[3];
	uint8_t fp;
	uint8_t n;
};

static inline void ttmem_probe_init(const struct ttmem_table *t, const struct ttmem_key *k,
				    struct ttmem_probe *p)
{
	uint64_t mask = t->group_mask;
	uint64_t ds = ((uint64_t)k->device << 8) | k->space;
	uint64_t h = ttmem_mix64(k->address ^ (ds * UINT64_C(0x9e3779b97f4a7c15)));
	uint64_t region = (k->address >> TTMEM_HOME_SHIFT) & TTMEM_HOME_MASK;

	/* The chips of one space and region get distinct homes (an odd
	 * multiplier is a bijection modulo the power-of-two group count). */
	p->g[0] = (ttmem_mix64(region ^ ((uint64_t)k->space * UINT64_C(0xc2b2ae3d27d4eb4f))) +
		   (uint64_t)k->device * UINT64_C(0x9e3779b97f4a7c15)) & mask;
	p->g[1] = (h >> 28) & mask;
	if (p->g[1] == p->g[0])
		p->g[1] ^= 1;
	/* Distinct from both: at most two steps up (a two-group table keeps
	 * g2 = g1, and its loops stop at n = 2). */
	uint64_t g2 = h & mask;
	p->n = mask >= 2 ? 3 : 2;
	g2 = (g2 == p->g[0] || g2 == p->g[1]) ? (g2 + 1) & mask : g2;
	g2 = (g2 == p->g[0] || g2 == p->g[1]) ? (g2 + 1) & mask : g2;
	p->g[2] = p->n == 3 ? g2 : p->g[1];
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
	w[5] = (uint64_t)e->callsite | ((uint64_t)e->stack << 32);
	w[6] = (uint64_t)e->page_size | ((uint64_t)e->bank_bytes << 32);
}

/* The entry's layout (table.h) repeats the payload words where it can:
 * words 0, 2..6 land whole, word 1's low 40 bits (device, space) on the
 * key's device (its upper bytes on the key's padding) and its top 24 bits
 * (type, owner_kind, flags) at `type`.  So an unpack is nine stores, the
 * inner loop of a snapshot. */
_Static_assert(offsetof(struct ttmem_entry, key.address) == 0 &&
	       offsetof(struct ttmem_entry, key.device) == 8 &&
	       offsetof(struct ttmem_entry, key.space) == 12 &&
	       offsetof(struct ttmem_entry, type) == 16 &&
	       offsetof(struct ttmem_entry, owner_kind) == 17 &&
	       offsetof(struct ttmem_entry, flags) == 18 &&
	       offsetof(struct ttmem_entry, size) == 24 &&
	       offsetof(struct ttmem_entry, pid) == 32 && offsetof(struct ttmem_entry, proc) == 36 &&
	       offsetof(struct ttmem_entry, module) == 38 &&
	       offsetof(struct ttmem_entry, owner_id) == 40 &&
	       offsetof(struct ttmem_entry, callsite) == 48 &&
	       offsetof(struct ttmem_entry, stack) == 52 &&
	       offsetof(struct ttmem_entry, page_size) == 56 &&
	       offsetof(struct ttmem_entry, bank_bytes) == 60 &&
	       offsetof(struct ttmem_entry, slot) == 64 && sizeof(struct ttmem_key) == 16,
	       "ttmem_entry_unpack stores payload words whole");

static inline void ttmem_entry_unpack(const uint64_t w[TTMEM_PAYLOAD_WORDS], struct ttmem_entry *e,
				      uint32_t slot)
{
	char *p = (char *)e;
	uint32_t tof = (uint32_t)(w[1] >> 40);   /* type, owner_kind, flags; then padding */

	memcpy(p + 0, &w[0], 8);
	memcpy(p + 8, &w[1], 8);
	memcpy(p + 16, &tof, 4);
	memcpy(p + 24, &w[2], 8);
	memcpy(p + 32, &w[3], 8);
	memcpy(p + 40, &w[4], 8);
	memcpy(p + 48, &w[5], 8);
	memcpy(p + 56, &w[6], 8);
	e->slot = slot;
}

/* Relaxed copies: the seqlock (ctl) or the BUSY claim makes them consistent. */
static inline void ttmem_payload_load(const struct ttmem_slot *s, uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	const uint64_t *src = ttmem_slot_cwords(s);
#pragma GCC unroll 7
	for (int i = 0; i < TTMEM_PAYLOAD_WORDS; i++)
		w[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static inline void ttmem_payload_store(struct ttmem_slot *s, const uint64_t w[TTMEM_PAYLOAD_WORDS])
{
	uint64_t *dst = ttmem_slot_words(s);
#pragma GCC unroll 7
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
 * a true zero; a byte above a zero byte may be flagged falsely (borrow).
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

/* The 8 high bits of a byte mask gathered into bits 0..7 (byte k -> bit k):
 * the multiplier's partial products land on distinct bits, so no carries. */
static inline uint64_t ttmem_mask_gather(uint64_t m)
{
	return ((m >> 7) * UINT64_C(0x0102040810204080)) >> 56;
}

/*
 * Scan one group's meta line: bit i of *zero is set iff slot i's meta byte is
 * 0, bit i of *match iff it equals fp.  Both exact.
 *
 * SSE2 (x86-64 baseline) does it in ~30 instructions; the portable SWAR
 * version (8 relaxed 64-bit atomic loads) is used elsewhere and under TSan,
 * which would flag the vector loads racing with the writers' byte stores:
 * that race is by design (meta is a hint, every candidate is then checked on
 * its ctl word, see segment.h).
 */

#if defined(__SSE2__) && !defined(TTMEM_TSAN)
#include <emmintrin.h>

static inline void ttmem_meta_scan(const uint8_t *meta, uint64_t group, uint8_t fp,
				   uint64_t *zero, uint64_t *match)
{
	const __m128i *line = (const __m128i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	/* Broadcast from a register: _mm_set1_epi8 on a byte that was just
	 * stored made gcc reload it with movd, a store-forwarding stall. */
	const __m128i z = _mm_setzero_si128();
	const __m128i f = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)(fp * 0x01010101u)), 0);
	__m128i v0 = _mm_load_si128(line), v1 = _mm_load_si128(line + 1);
	__m128i v2 = _mm_load_si128(line + 2), v3 = _mm_load_si128(line + 3);
	*zero = (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, z)) |
		(uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, z)) << 16 |
		(uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, z)) << 32 |
		(uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, z)) << 48;
	*match = (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, f)) |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, f)) << 16 |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, f)) << 32 |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, f)) << 48;
}

/* One meta line: its exact zero mask, its fp compares OR-ed into *m. */
static inline uint64_t ttmem_meta_line_scan(const uint8_t *meta, uint64_t group, __m128i f,
					    __m128i *m)
{
	const __m128i *a = (const __m128i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	const __m128i z = _mm_setzero_si128();
	__m128i v0 = _mm_load_si128(a), v1 = _mm_load_si128(a + 1);
	__m128i v2 = _mm_load_si128(a + 2), v3 = _mm_load_si128(a + 3);
	*m = _mm_or_si128(_mm_or_si128(*m, _mm_cmpeq_epi8(v0, f)),
			  _mm_or_si128(_mm_cmpeq_epi8(v1, f),
				       _mm_or_si128(_mm_cmpeq_epi8(v2, f), _mm_cmpeq_epi8(v3, f))));
	return (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v0, z)) |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v1, z)) << 16 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v2, z)) << 32 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v3, z)) << 48;
}

/*
 * Insert's scan of its three candidate groups (a two-group table's g2 is its
 * g1: scanned twice, harmless here): the exact zero masks of each, and
 * whether any byte of any equals fp (the match masks themselves are only
 * needed when one does: ttmem_meta_match then).
 */
static inline int ttmem_meta_scan_all(const uint8_t *meta, const uint64_t g[3], uint8_t fp,
				      uint64_t zero[3])
{
	const __m128i f = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)(fp * 0x01010101u)), 0);
	__m128i m = _mm_setzero_si128();
	zero[0] = ttmem_meta_line_scan(meta, g[0], f, &m);
	zero[1] = ttmem_meta_line_scan(meta, g[1], f, &m);
	zero[2] = ttmem_meta_line_scan(meta, g[2], f, &m);
	return _mm_movemask_epi8(m) != 0;
}

/* Only the fingerprint matches (remove: it needs no free bytes). */
static inline uint64_t ttmem_meta_match(const uint8_t *meta, uint64_t group, uint8_t fp)
{
	const __m128i *line = (const __m128i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	const __m128i f = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)(fp * 0x01010101u)), 0);
	return (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(line), f)) |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(line + 1), f)) << 16 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(line + 2), f)) << 32 |
	       (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(line + 3), f)) << 48;
}

/* Bit i set iff slot i's meta byte is not 0 (a snapshot's slots to read). */
static inline uint64_t ttmem_meta_used(const uint8_t *meta, uint64_t group)
{
	const __m128i *a = (const __m128i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	const __m128i z = _mm_setzero_si128();
	return ~((uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(a), z)) |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(a + 1), z)) << 16 |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(a + 2), z)) << 32 |
		 (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(a + 3), z)) << 48);
}

/* Number of zero meta bytes in a group. */
static inline unsigned ttmem_meta_free_count(const uint8_t *meta, uint64_t group)
{
	const __m128i *line = (const __m128i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	const __m128i z = _mm_setzero_si128();
	/* Each cmpeq lane is -1 for a zero byte: subtracting four of them
	 * counts 0..4 per lane, then psadbw sums the lanes. */
	__m128i acc = _mm_sub_epi8(z, _mm_cmpeq_epi8(_mm_load_si128(line), z));
	acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_load_si128(line + 1), z));
	acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_load_si128(line + 2), z));
	acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_load_si128(line + 3), z));
	__m128i sad = _mm_sad_epu8(acc, z);
	return (unsigned)_mm_cvtsi128_si32(sad) + (unsigned)_mm_extract_epi16(sad, 4);
}
#else
static inline void ttmem_meta_scan(const uint8_t *meta, uint64_t group, uint8_t fp,
				   uint64_t *zero, uint64_t *match)
{
	uint64_t fpw = fp * TTMEM_B01, zm = 0, mm = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint64_t x = ttmem_meta_word(meta, group, i), y = x ^ fpw;
		/* Exact zero-byte masks: no borrow crosses bytes. */
		uint64_t zx = ~((((x & TTMEM_B7F) + TTMEM_B7F) | x) | TTMEM_B7F);
		uint64_t zy = ~((((y & TTMEM_B7F) + TTMEM_B7F) | y) | TTMEM_B7F);
		zm |= ttmem_mask_gather(zx) << (8 * i);
		mm |= ttmem_mask_gather(zy) << (8 * i);
	}
	*zero = zm;
	*match = mm;
}

static inline uint64_t ttmem_meta_match(const uint8_t *meta, uint64_t group, uint8_t fp)
{
	uint64_t zero, match;
	ttmem_meta_scan(meta, group, fp, &zero, &match);
	return match;
}

static inline int ttmem_meta_scan_all(const uint8_t *meta, const uint64_t g[3], uint8_t fp,
				      uint64_t zero[3])
{
	uint64_t any = 0, m;
	for (int i = 0; i < 3; i++) {
		ttmem_meta_scan(meta, g[i], fp, &zero[i], &m);
		any |= m;
	}
	return any != 0;
}

static inline uint64_t ttmem_meta_used(const uint8_t *meta, uint64_t group)
{
	uint64_t zero, match;
	ttmem_meta_scan(meta, group, 0, &zero, &match);
	return ~zero;
}

static inline unsigned ttmem_meta_free_count(const uint8_t *meta, uint64_t group)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 8; i++) {
		uint64_t x = ttmem_meta_word(meta, group, i);
		n += ttmem_mask_count(~((((x & TTMEM_B7F) + TTMEM_B7F) | x) | TTMEM_B7F));
	}
	return n;
}
#endif

#define TTMEM_CTL_SEQ_ONE (UINT64_C(1) << 32)

/* The next ctl value of a transition from `c`: sequence + 1, new tag/state. */
static inline uint64_t ttmem_ctl_next(uint64_t c, uint32_t tag, uint32_t state)
{
	return TTMEM_CTL_MAKE(TTMEM_CTL_SEQ(c) + 1u, tag, state);
}

/* The same with the low word (tag << 2 | state) precomputed: the sequence
 * is the high word, so + 1 there wraps exactly like TTMEM_CTL_SEQ + 1. */
static inline uint64_t ttmem_ctl_next_low(uint64_t c, uint32_t low)
{
	return ((c & ~UINT64_C(0xffffffff)) + TTMEM_CTL_SEQ_ONE) | low;
}

static inline uint32_t ttmem_ctl_low(uint32_t tag, uint32_t state)
{
	return (uint32_t)TTMEM_CTL_MAKE(0, tag, state);
}

/* Bits set in a 64-bit mask (the placement decision on the scan's exact
 * zero masks).  x86-64's baseline has no popcnt instruction: use it when the
 * CPU has it (every x86-64 since 2008; checked once at load), else SWAR. */
TTMEM_HIDDEN extern int ttmem_have_popcnt;

static inline unsigned ttmem_popcount64(uint64_t x)
{
#if defined(__POPCNT__)
	return (unsigned)__builtin_popcountll(x);
#else
#if defined(__x86_64__)
	if (__builtin_expect(ttmem_have_popcnt, 1)) {
		uint64_t r;
		__asm__("popcnt %1, %0" : "=r"(r) : "r"(x) : "cc");
		return (unsigned)r;
	}
#endif
	x -= (x >> 1) & UINT64_C(0x5555555555555555);
	x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));
	x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	return (unsigned)((x * TTMEM_B01) >> 56);
#endif
}

/* Entries go home while the home group has this many free slots (half of
 * it), then to the emptiest of the three.  A home filled further would, once
 * homes are many and the table is loaded, leave keys whose three candidates
 * are all full homes: with half, a table fills to ~97% before its first drop
 * (simulated: 1 to 100,000 homes over 64 and 1,024 groups), as two-choice
 * did with random keys. */
#define TTMEM_HOME_RESERVE 32u

/* The candidate an insert tries first, from the free-slot masks: home while
 * it keeps its reserve, else the one with most free slots (ties: the
 * earlier, so a two-group table's g2 = g1 is never picked). */
static inline int ttmem_probe_pick(const uint64_t zero[3])
{
	unsigned f0 = ttmem_popcount64(zero[0]);
	if (f0 >= TTMEM_HOME_RESERVE)
		return 0;
	unsigned f1 = ttmem_popcount64(zero[1]);
	unsigned f2 = ttmem_popcount64(zero[2]);
	int best = f1 > f0 ? 1 : 0;
	unsigned fb = best ? f1 : f0;
	return f2 > fb ? 2 : best;
}

/* A free slot of a group's free mask `zb` (non-zero), searched from a
 * position taken from the fingerprint: threads inserting into the same home
 * at once mostly claim different slots. */
static inline unsigned ttmem_free_pick(uint64_t zb, uint8_t fp)
{
	unsigned r = fp & 63u;
	uint64_t rot = r ? (zb >> r) | (zb << (64 - r)) : zb;
	return (r + (unsigned)__builtin_ctzll(rot)) & 63u;
}

/* CAS ctl `*c` -> BUSY(me).  acq_rel: the acquire pairs with the release
 * that made *c (so the payload we read or overwrite is that writer's); the
 * release keeps our earlier relaxed key reads before the claim.  On failure
 * *c holds the current value. */
static inline int ttmem_slot_claim(struct ttmem_table *t, uint64_t idx, uint64_t *c, uint64_t *busy)
{
	*busy = ttmem_ctl_next_low(*c, ttmem_ctl_low(t->busy_tag, TTMEM_SLOT_BUSY));
	return atomic_compare_exchange_strong_explicit(&t->slots[idx].ctl, c, *busy,
						       memory_order_acq_rel, memory_order_acquire);
}

/* Free a slot the caller holds BUSY with ctl value `busy`: meta = 0 first (a
 * FREE slot always has meta 0), then ctl = FREE with release, which pairs
 * with the acquire ctl loads of readers and of the next claimer. */
static inline void ttmem_slot_release_free(struct ttmem_table *t, uint64_t idx, uint64_t busy)
{
	ttmem_meta_set(t->meta, idx, 0);
	atomic_store_explicit(&t->slots[idx].ctl,
			      ttmem_ctl_next_low(busy, ttmem_ctl_low(0, TTMEM_SLOT_FREE)),
			      memory_order_release);
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
	/* LIVE in epoch `etag` is one exact low word (the common case: one
	 * compare); anything else is sorted out below. */
	const uint32_t live_low = (uint32_t)TTMEM_CTL_MAKE(0, etag, TTMEM_SLOT_LIVE);

	for (int r = 0; r < TTMEM_READ_TRIES; r++) {
		uint64_t c1 = atomic_load_explicit(&s->ctl, memory_order_acquire);
		if (__builtin_expect((uint32_t)c1 != live_low, 0)) {
			uint32_t st = TTMEM_CTL_STATE(c1);
			if (st == TTMEM_SLOT_FREE || st == TTMEM_SLOT_LIVE)
				return 0;   /* free, or live in another epoch */
			ttmem_cpu_relax();
			continue;
		}
#ifdef TTMEM_TSAN
		/* Acquire loads: same ordering as relaxed loads + the fence. */
		const uint64_t *src = ttmem_slot_cwords(s);
		for (int i = 0; i < TTMEM_PAYLOAD_WORDS; i++)
			w[i] = __atomic_load_n(&src[i], __ATOMIC_ACQUIRE);
#else
		ttmem_payload_load(s, w);
		atomic_thread_fence(memory_order_acquire);
#endif
		if (atomic_load_explicit(&s->ctl, memory_order_relaxed) == c1)
			return 1;
	}
	return -1;
}

#endif /* TTMEM_SHM_HASH_H */
