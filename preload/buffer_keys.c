/* SPDX-License-Identifier: MIT */
/*
 * Buffer -> what it was recorded under (buffer_keys.h).  Open addressing
 * with linear probing and backward-shift deletion (no tombstones), split in
 * stripes by the Buffer address's hash, one spin lock each (held for a few
 * loads and stores; a waiter yields after a short spin): an event locks one
 * stripe.  A stripe doubles at half full (short clusters: a probe and a
 * deletion's backward shift look at one or two records); if it cannot grow
 * the record is not kept (one warning): that buffer's free is then not
 * seen, and its entries go when its device closes.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "buffer_keys.h"
#include "log.h"
#include "spinlock.h"
#include "state.h"

#define NSTRIPES      64
#define FIRST_SLOTS   256

/* 48 bytes a record, copied once in and once out per buffer. */
struct record {
	uintptr_t buffer;            /* 0: empty slot */
	struct buffer_record r;
};
_Static_assert(sizeof(struct record) == 48, "a record's size (the cost model's)");

static struct stripe {
	atomic_int busy;
	struct record *slot;
	size_t cap;                  /* a power of two, or 0 */
	size_t n;
} stripes[NSTRIPES];

/* An uncontended take is one exchange, inline on the event's path
 * (spinlock.h). */
static inline void stripe_lock(struct stripe *s)
{
	spin_lock(&s->busy);
}

/* Pairs with the acquire exchange of the next stripe_lock. */
static inline void stripe_unlock(struct stripe *s)
{
	spin_unlock(&s->busy);
}

static inline uint64_t hash_of(uintptr_t p)
{
	return (uint64_t)p * UINT64_C(0x9e3779b97f4a7c15);
}

static inline struct stripe *stripe_of(uint64_t h)
{
	return &stripes[h >> 58];   /* top 6 bits: NSTRIPES */
}

static inline size_t home_of(const struct stripe *s, uint64_t h)
{
	return (size_t)(h >> 16) & (s->cap - 1);
}

/* The slot of `buffer`, or of the empty slot that ends its probe. */
static size_t find(const struct stripe *s, uintptr_t buffer, uint64_t h)
{
	size_t i = home_of(s, h);

	while (s->slot[i].buffer != 0 && s->slot[i].buffer != buffer)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int grow(struct stripe *s)
{
	size_t cap = s->cap ? s->cap * 2 : FIRST_SLOTS;
	struct record *old = s->slot, *slot = calloc(cap, sizeof(*slot));
	size_t old_cap = s->cap;

	if (!slot)
		return -1;
	s->slot = slot;
	s->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].buffer)
			slot[find(s, old[i].buffer, hash_of(old[i].buffer))] = old[i];
	free(old);
	return 0;
}

/* Empty slot i and shift back the records of its cluster that probed past it. */
static inline __attribute__((always_inline)) void delete_at(struct stripe *s, size_t i)
{
	size_t mask = s->cap - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (s->slot[j].buffer == 0)
			break;
		size_t home = home_of(s, hash_of(s->slot[j].buffer));
		/* The record at j may fill the hole at i when its home is
		 * not cyclically inside (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			s->slot[i] = s->slot[j];
			i = j;
		}
	}
	s->slot[i].buffer = 0;
	s->n--;
}

void buffer_keys_put(const void *buffer, const struct abi_buffer *b,
		     const struct ttmem_where *where, uint32_t chip)
{
	uintptr_t p = (uintptr_t)buffer;
	uint64_t h = hash_of(p);
	struct stripe *s = stripe_of(h);

	if (!p)
		return;
	stripe_lock(s);
	if ((s->n + 1) * 2 > s->cap && grow(s) != 0) {
		stripe_unlock(s);
		state_flag(TTMEM_PROC_F_HOOK_LOST);
		log_warn_once("out of memory: the frees of some buffers are not seen until their "
			      "device closes");
		return;
	}
	size_t i = find(s, p, h);
	struct record *r = &s->slot[i];
	if (r->buffer == 0)
		s->n++;
	r->buffer = p;
	r->r.address = b->address;
	r->r.device = b->device;
	r->r.slot = where->slot;
	r->r.live = where->live;
	r->r.chip = chip;
	r->r.type = b->type;
	r->r.trusted = b->trusted;
	stripe_unlock(s);
}

/* Inlined into the tracker (LTO): one frame less on every free. */
__attribute__((always_inline)) inline int buffer_keys_get(const void *buffer,
							  struct buffer_record *out, int take)
{
	uintptr_t p = (uintptr_t)buffer;
	uint64_t h = hash_of(p);
	struct stripe *s = stripe_of(h);
	int rc = -1;

	stripe_lock(s);
	/* A null Buffer is never put: its probe ends at an empty slot. */
	if (p && s->cap) {
		size_t i = find(s, p, h);

		if (s->slot[i].buffer == p) {
			*out = s->slot[i].r;
			if (take)
				delete_at(s, i);
			rc = 0;
		}
	}
	stripe_unlock(s);
	return rc;
}

void buffer_keys_drop(const void *buffer)
{
	struct buffer_record unused;

	(void)buffer_keys_get(buffer, &unused, 1);
}

void buffer_keys_forget_device(const void *device)
{
	for (unsigned k = 0; k < NSTRIPES; k++) {
		struct stripe *s = &stripes[k];

		stripe_lock(s);
		/* A deletion shifts a later record into slot i: look at i
		 * again.  Records shifted across the end of the array come
		 * from slots already looked at, and stay. */
		for (size_t i = 0; i < s->cap;) {
			if (s->slot[i].buffer && s->slot[i].r.device == device)
				delete_at(s, i);
			else
				i++;
		}
		stripe_unlock(s);
	}
}

void buffer_keys_atfork_prepare(void)
{
	for (unsigned k = 0; k < NSTRIPES; k++)
		stripe_lock(&stripes[k]);
}

void buffer_keys_atfork_release(void)
{
	for (unsigned k = NSTRIPES; k-- > 0;)
		stripe_unlock(&stripes[k]);
}
