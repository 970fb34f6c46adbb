/* SPDX-License-Identifier: MIT */
/*
 * Reader snapshots: copy every live entry of the current epoch without
 * writing to the segment.  The meta array (one byte per slot) says which
 * slots to read; each slot is read under its ctl seqlock (ttmem_slot_read),
 * retried a bounded number of times and never waited for.  Pages of meta
 * bytes and of slots that never held data are skipped (datamap.c), so the
 * work follows what was written, not the capacity the header claims.
 *
 * A slot still not readable after the retries is `stuck` when it is BUSY
 * and its claimer is gone (a writer killed mid-insert or mid-remove: it
 * stays so until a writer or `ttmem reap` resets it), else `unstable` (a
 * live writer rewrote it on every try: a race, rare and transient).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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

/* Whether a reaper is at work: it holds flock(LOCK_EX) on the file for its
 * pass (reap.c).  Unknown without the file: assume so. */
static int reaper_at_work(const struct ttmem_table *t)
{
	int saved = errno, busy = 1;

	if (t->fd >= 0 && flock(t->fd, LOCK_SH | LOCK_NB) == 0) {
		flock(t->fd, LOCK_UN);
		busy = 0;
	}
	errno = saved;
	return busy;
}

/* Whether the BUSY slot with ctl `c` was left by a claimer that is gone;
 * verdicts per registry index cached in *cache (allocated on first use,
 * 2 bits per index: known, dead; the reaper's verdict after them). */
static int busy_stuck(const struct ttmem_table *t, uint64_t c, uint8_t **cache)
{
	uint32_t tag = TTMEM_CTL_TAG(c), ix = TTMEM_TAG_IX(tag);
	if (!*cache && !(*cache = calloc((size_t)t->proc_capacity + 1, 1)))
		return 0;
	if (ix == TTMEM_TAG_REAPER) {
		/* An unregistered reaper's: stuck when no reaper holds the lock. */
		uint8_t *rv = &(*cache)[t->proc_capacity];
		if (!*rv)
			*rv = (uint8_t)(1 | !reaper_at_work(t) << 1);
		return *rv >> 1;
	}
	if (ix >= t->proc_capacity)
		return 1;
	const struct ttmem_proc *p = &t->procs[ix];
	uint64_t pc = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&p->ctl,
					   memory_order_acquire);
	if (TTMEM_TAG_GEN(tag) != (PCTL_GEN(pc) & 0x3fffu))
		return 1; /* its registry entry was claimed anew since */
	uint8_t *v = &(*cache)[ix];
	if (!*v) {
		int dead;
		switch (PCTL_STATE(pc)) {
		case TTMEM_PROC_RUNNING:
		case TTMEM_PROC_EXITED:
			dead = !ttmem_pid_alive(PCTL_PID(pc), __atomic_load_n(&p->start_time,
									     __ATOMIC_RELAXED));
			break;
		case TTMEM_PROC_CLAIMING:
			dead = ttmem_claiming_pid_dead(PCTL_PID(pc));
			break;
		default:
			dead = 1;
		}
		*v = (uint8_t)(1 | dead << 1);
	}
	return *v >> 1;
}

int ttmem_snapshot_refresh(const struct ttmem_table *t, struct ttmem_snapshot *out)
{
	if (!out)
		return -EINVAL;
	struct ttmem_entry *e = out->entries;
	size_t cap = e ? out->capacity : 0, n = 0;
	uint8_t *verdicts = NULL;
	out->count = 0;
	out->unstable = 0;
	out->stuck = 0;
	if (!t || t->magic != TTMEM_TABLE_MAGIC)
		return -EINVAL;

	/* The data map is the handle's: refreshed here, for this pass. */
	ttmem_datamap_refresh((struct ttmem_table *)(uintptr_t)t);
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	uint64_t groups = t->group_mask + 1;
	uint64_t meta_off = (uint64_t)(t->meta - t->base);
	uint64_t slot_off = (uint64_t)((const uint8_t *)t->slots - t->base);
	/* 4096 meta bytes (64 groups) per page: a page that is a hole has
	 * only zero bytes. */
#define META_HOLE(g) (!((g) % 64) && ttmem_datamap_hole(t, meta_off + (g) * TTMEM_GROUP_SLOTS, 4096))

	/* Size the copy from the meta bytes (an upper bound but for races).
	 * A buffer being reused (a viewer refreshing) is taken as it is:
	 * entries come and go by a few between passes, and the copy doubles
	 * it when it runs out, so the pass over every meta byte is saved. */
	size_t need = 64;
	for (uint64_t g = 0; !cap && g < groups; g++) {
		if (META_HOLE(g)) {
			g += 63;
			continue;
		}
		for (unsigned i = 0; i < 8; i++)
			need += ttmem_mask_count(ttmem_nonzero_bytes(ttmem_meta_word(t->meta, g, i)));
	}
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
		if (META_HOLE(g)) {
			g += 63;
			continue;
		}
		/* The slots of a group two ahead are fetched while this one
		 * is copied: used slots are scattered over a page, which the
		 * hardware prefetcher does not follow.  Only within this meta
		 * page (known not to be a hole: reading a hole of the file
		 * would allocate it); a prefetch of a slot page never faults. */
		if (g + 2 < groups && (g + 2) / 64 == g / 64) {
			const struct ttmem_slot *ahead = &t->slots[(g + 2) * TTMEM_GROUP_SLOTS];
			for (uint64_t u = ttmem_meta_used(t->meta, g + 2); u; u &= u - 1)
				__builtin_prefetch(&ahead[__builtin_ctzll(u)], 0, 0);
		}
		uint64_t used = ttmem_meta_used(t->meta, g);
		/* A group's 64 slots are one page (the slot array is page
		 * aligned): in a hole they are all FREE (ctl 0), not touched. */
		if (!used || ttmem_datamap_hole(t, slot_off + g * TTMEM_GROUP_SLOTS *
							      sizeof(struct ttmem_slot),
						TTMEM_GROUP_SLOTS * sizeof(struct ttmem_slot)))
			continue;
		const struct ttmem_slot *gs = &t->slots[g * TTMEM_GROUP_SLOTS];
		for (; used; used &= used - 1) {
			unsigned i = (unsigned)__builtin_ctzll(used);
			uint64_t w[TTMEM_PAYLOAD_WORDS];
			int rc = ttmem_slot_read(&gs[i], etag, w);

			if (__builtin_expect(rc <= 0, 0)) {
				if (rc == 0)
					continue;
				uint64_t c = atomic_load_explicit(&gs[i].ctl, memory_order_acquire);
				if (TTMEM_CTL_STATE(c) == TTMEM_SLOT_BUSY && busy_stuck(t, c, &verdicts))
					out->stuck++;
				else
					out->unstable++;
				continue;
			}
			if (__builtin_expect(n == cap, 0)) {
				struct ttmem_entry *ne = realloc(e, 2 * cap * sizeof(*e));
				if (!ne) {
					free(verdicts);
					free(e);
					out->entries = NULL;
					out->capacity = 0;
					return -ENOMEM;
				}
				e = ne;
				cap *= 2;
			}
			ttmem_entry_unpack(w, &e[n++], (uint32_t)(g * TTMEM_GROUP_SLOTS + i));
		}
	}
#undef META_HOLE
	free(verdicts);
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
