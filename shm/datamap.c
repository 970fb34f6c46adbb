/* SPDX-License-Identifier: MIT */
/*
 * Which pages of a segment's file hold data, from lseek(SEEK_DATA /
 * SEEK_HOLE): a bitmap of one bit per page, refreshed by readers before
 * each pass.  A hole reads as zero, so readers skip it instead of touching
 * it: a read through a shared mapping of a tmpfs hole allocates the page,
 * so a sparse file claiming the largest geometry (4.4 GB) would otherwise
 * make a reader fault in, and the file grow by, every page it scans.  With
 * the map, time and memory follow the pages that were ever written (pages
 * reserved by posix_fallocate and never written are holes too).
 *
 * The walk costs two lseek calls per data extent, so it is bounded by the
 * data, not by the size the header claims; the bitmap is 1 bit per 4 KiB
 * (136 KiB for the largest geometry).  Pages written after the walk are
 * missed by that pass only, like entries inserted while a snapshot runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define PAGE 4096u

int ttmem_datamap_refresh(struct ttmem_table *t)
{
	if (t->fd < 0 || !t->len)
		return 0;
	uint64_t pages = (t->len + PAGE - 1) / PAGE, words = (pages + 63) / 64;
	if (t->datamap_pages != pages) {
		free(t->datamap);
		t->datamap = calloc(words, sizeof(uint64_t));
		t->datamap_pages = t->datamap ? pages : 0;
		if (!t->datamap)
			return -ENOMEM;
	}
	uint64_t *m = t->datamap;
	memset(m, 0, words * sizeof(uint64_t));
	int saved = errno;
	off_t end = (off_t)t->len, pos = 0;
	while (pos < end) {
		off_t d = lseek(t->fd, pos, SEEK_DATA);
		if (d < 0) {
			if (errno == ENXIO)
				break; /* no data past pos */
			/* SEEK_DATA unsupported: everything is data. */
			memset(m, 0xff, words * sizeof(uint64_t));
			break;
		}
		if (d >= end)
			break;
		off_t h = lseek(t->fd, d, SEEK_HOLE);
		if (h < 0 || h > end)
			h = end;
		for (uint64_t pg = (uint64_t)d / PAGE; pg < ((uint64_t)h + PAGE - 1) / PAGE; pg++) {
			if (!(pg & 63) && pg + 64 <= ((uint64_t)h + PAGE - 1) / PAGE) {
				m[pg / 64] = ~UINT64_C(0);
				pg += 63;
				continue;
			}
			m[pg / 64] |= UINT64_C(1) << (pg & 63);
		}
		pos = h;
	}
	errno = saved;
	return 0;
}

int ttmem_datamap_hole(const struct ttmem_table *t, uint64_t off, uint64_t len)
{
	if (!t->datamap || !len)
		return 0;
	uint64_t first = off / PAGE, last = (off + len - 1) / PAGE;
	if (last >= t->datamap_pages)
		return 0;
	for (uint64_t pg = first; pg <= last; pg++)
		if (t->datamap[pg / 64] & (UINT64_C(1) << (pg & 63)))
			return 0;
	return 1;
}
