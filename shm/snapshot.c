/* SPDX-License-Identifier: MIT */
/*
 * Reader snapshots: copy every live entry of the current epoch without
 * writing to the segment.  The meta array (one byte per slot) says which
 * slots to read; each slot is read under its ctl seqlock (ttmem_slot_read),
 * retried a bounded number of times and never waited for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"

/*
 * A large fresh buffer costs one page fault per 4 KiB page as the copy
 * writes it (more than the copy itself at a million slots).  Large buffers
 * are therefore 2 MiB aligned and asked for transparent huge pages (plain
 * malloc memory: free() works on it).  Best effort.
 */
#define HUGE_MIN (4u << 20)

static void *entries_alloc(size_t n)
{
	size_t len = n * sizeof(struct ttmem_entry);
	if (len < HUGE_MIN)
		return malloc(len);
	void *p = NULL;
	if (posix_memalign(&p, 2u << 20, len) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	int saved = errno;
	madvise(p, len & ~(size_t)((2u << 20) - 1), MADV_HUGEPAGE);
	errno = saved;
#endif
	return p;
}

int ttmem_snapshot_refresh(const struct ttmem_table *t, struct ttmem_snapshot *out)
{
	if (!out)
		return -EINVAL;
	struct ttmem_entry *e = out->entries;
	size_t cap = e ? out->capacity : 0, n = 0;
	out->count = 0;
	out->unstable = 0;
	if (!t || t->magic != TTMEM_TABLE_MAGIC)
		return -EINVAL;

	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	uint64_t groups = t->group_mask + 1;

	/* Size the copy from the meta bytes (an upper bound but for races). */
	size_t need = 64;
	for (uint64_t g = 0; g < groups; g++)
		for (unsigned i = 0; i < 8; i++)
			need += ttmem_mask_count(ttmem_nonzero_bytes(ttmem_meta_word(t->meta, g, i)));
	if (need > cap) {
		free(e);
		out->entries = NULL;
		out->capacity = 0;
		e = entries_alloc(need);
		if (!e)
			return -ENOMEM;
		cap = need;
	}

	for (uint64_t g = 0; g < groups; g++) {
		for (unsigned i = 0; i < 8; i++) {
			uint64_t nz = ttmem_nonzero_bytes(ttmem_meta_word(t->meta, g, i));
			for (; nz; nz &= nz - 1) {
				uint64_t si = g * TTMEM_GROUP_SLOTS + i * 8u +
					      ((unsigned)__builtin_ctzll(nz) >> 3);
				uint64_t w[TTMEM_PAYLOAD_WORDS];
				int rc = ttmem_slot_read(&t->slots[si], etag, w);
				if (rc < 0) {
					out->unstable++;
					continue;
				}
				if (rc == 0)
					continue;
				if (n == cap) {
					struct ttmem_entry *ne = realloc(e, 2 * cap * sizeof(*e));
					if (!ne) {
						free(e);
						out->entries = NULL;
						out->capacity = 0;
						return -ENOMEM;
					}
					e = ne;
					cap *= 2;
				}
				ttmem_entry_unpack(w, &e[n++], (uint32_t)si);
			}
		}
	}
	out->entries = e;
	out->capacity = cap;
	out->count = n;
	out->epoch = epoch;
	out->taken_ns = ttmem_now_ns();
	return 0;
}

int ttmem_snapshot(const struct ttmem_table *t, struct ttmem_snapshot *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	return ttmem_snapshot_refresh(t, out);
}

void ttmem_snapshot_free(struct ttmem_snapshot *s)
{
	if (!s)
		return;
	free(s->entries);
	s->entries = NULL;
	s->count = 0;
	s->capacity = 0;
}
