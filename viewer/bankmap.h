/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE header of the viewer: the address space of one bank of one buffer
 * type on one chip, as the live entries occupy it (bankmap.c).
 *
 * tt-metal interleaves a buffer page by page over all banks of its type, so
 * every bank holds the same layout: each buffer takes ceil(pages / banks)
 * aligned pages at its address in every bank.  One bank's address space is
 * therefore the chip's map of that type, and its holes are what the
 * allocator can still hand out: an allocation fails when its per-bank size
 * exceeds the largest hole, however much is free in all.  Circular buffers
 * sit at the base of L1 (their size per core), so they are drawn in the L1
 * map.
 */
#ifndef TTMEM_VIEWER_BANKMAP_H
#define TTMEM_VIEWER_BANKMAP_H

#include "livebuf.h"

struct bm_range {
	uint64_t start, end;         /* [start, end) in one bank */
	const struct livebuf *b;     /* the buffer (in the caller's array) */
};

struct bm_hole {
	uint64_t start, end;
};

struct bankmap {
	uint32_t device;
	unsigned type;
	int have_geo;                /* geo valid: holes at the edges, free figures */
	struct ttmem_bank_geometry geo;
	const char *why;             /* why there is no geometry */
	struct bm_range *ranges;     /* sorted by start */
	size_t nranges;
	struct bm_hole *holes;       /* sorted; with geo, over the whole bank */
	size_t nholes;
	uint64_t used;               /* bytes per bank the ranges cover (overlaps once) */
	uint64_t free_total;         /* sum of the holes (with geo) */
	uint64_t largest, largest_at;/* the largest hole and its address */
	size_t overlaps;             /* ranges that overlap an earlier one */
	size_t outside;              /* ranges reaching outside the bank's range */
	size_t estimated;            /* ranges whose page size was unknown */
};

/*
 * The map of `type` on chip `device` from buffers v[0..n) (livebuf_collect,
 * in use only): type's own buffers, and for L1 also the chip's CBs; with
 * geometry `g` (NULL: not published; then no edges, no free figures).
 * Returns 0 or -ENOMEM; free with bankmap_release (safe on a failed map).
 */
int bankmap_build(struct bankmap *bm, const struct livebuf *v, size_t n, uint32_t device,
		  unsigned type, const struct ttmem_bank_geometry *g);
void bankmap_release(struct bankmap *bm);

/* 1 - largest hole / free bytes (0 when nothing is free): the share of the
 * free bytes no single allocation can use. */
double bankmap_fragmentation(const struct bankmap *bm);

#endif /* TTMEM_VIEWER_BANKMAP_H */
