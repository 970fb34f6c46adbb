/* SPDX-License-Identifier: MIT */
/*
 * bankmap: one bank's address space from the live entries (bankmap.h).
 *
 * Nothing here trusts the entries: ranges may overlap (two processes on one
 * chip, a corrupt segment), reach outside the bank or wrap; each is clipped,
 * counted, and the holes are computed over the union, so the figures stay
 * within the bank whatever the segment says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bankmap.h"

static int cmp_range(const void *pa, const void *pb)
{
	const struct bm_range *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

/* Whether buffer b is drawn in the map of `type`. */
static int belongs(const struct livebuf *b, uint32_t device, unsigned type)
{
	if (b->device != device)
		return 0;
	return b->type == type || (type == TTMEM_TYPE_L1 && b->type == TTMEM_TYPE_CB);
}

static int add_hole(struct bankmap *bm, size_t *cap, uint64_t start, uint64_t end)
{
	if (end <= start)
		return 0;
	if (bm->nholes == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct bm_hole *h = realloc(bm->holes, c * sizeof(*h));

		if (!h)
			return -ENOMEM;
		bm->holes = h;
		*cap = c;
	}
	bm->holes[bm->nholes].start = start;
	bm->holes[bm->nholes].end = end;
	bm->nholes++;
	if (bm->have_geo) {
		bm->free_total += end - start;
		if (end - start > bm->largest) {
			bm->largest = end - start;
			bm->largest_at = start;
		}
	}
	return 0;
}

int bankmap_build(struct bankmap *bm, const struct livebuf *v, size_t n, uint32_t device,
		  unsigned type, const struct ttmem_bank_geometry *g)
{
	struct ttmem_bank_geometry unit = { 0, 0, 1, 1 };
	uint64_t lo = 0, hi = UINT64_MAX, at;
	size_t cnt = 0, hcap = 0;

	memset(bm, 0, sizeof(*bm));
	bm->device = device;
	bm->type = type;
	if (g) {
		bm->have_geo = 1;
		bm->geo = *g;
		lo = g->base;
		hi = g->base + g->size;
	}
	for (size_t i = 0; i < n; i++)
		cnt += belongs(&v[i], device, type) ? 1u : 0u;
	bm->ranges = calloc(cnt ? cnt : 1, sizeof(*bm->ranges));
	if (!bm->ranges)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct livebuf *b = &v[i];
		int exact = 1;
		uint64_t len, end;

		if (!belongs(b, device, type))
			continue;
		len = livebuf_per_bank(b, g ? g : &unit, &exact);
		bm->estimated += exact ? 0u : 1u;
		end = b->address + len;
		if (end < b->address)          /* wraps: clip at the top */
			end = UINT64_MAX;
		if (b->address < lo || end > hi)
			bm->outside++;
		bm->ranges[bm->nranges].start = b->address < lo ? lo : b->address > hi ? hi : b->address;
		bm->ranges[bm->nranges].end = end > hi ? hi : end < lo ? lo : end;
		bm->ranges[bm->nranges].b = b;
		bm->nranges++;
	}
	if (bm->nranges > 1)
		qsort(bm->ranges, bm->nranges, sizeof(*bm->ranges), cmp_range);
	/* Without geometry the map spans the ranges only. */
	at = g ? lo : bm->nranges ? bm->ranges[0].start : 0;
	for (size_t i = 0; i < bm->nranges; i++) {
		const struct bm_range *r = &bm->ranges[i];

		if (r->start < at) {
			bm->overlaps++;
			if (r->end > at) {
				bm->used += r->end - at;
				at = r->end;
			}
			continue;
		}
		if (add_hole(bm, &hcap, at, r->start) < 0)
			return -ENOMEM;
		bm->used += r->end - r->start;
		at = r->end;
	}
	if (g && add_hole(bm, &hcap, at, hi) < 0)
		return -ENOMEM;
	return 0;
}

void bankmap_release(struct bankmap *bm)
{
	free(bm->ranges);
	free(bm->holes);
	memset(bm, 0, sizeof(*bm));
}

double bankmap_fragmentation(const struct bankmap *bm)
{
	if (!bm->free_total)
		return 0.0;
	return 1.0 - (double)bm->largest / (double)bm->free_total;
}
