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
#include <pthread.h>
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

/* 4096 meta bytes (64 groups) per page: a page that is a hole has only
 * zero bytes. */
static inline int meta_hole(const struct ttmem_table *t, uint64_t g)
{
	return !(g % 64) &&
	       ttmem_datamap_hole(t, (uint64_t)(t->meta - t->base) + g * TTMEM_GROUP_SLOTS, 4096);
}

/* Used meta bytes (an upper bound of the live entries, but for races) of
 * groups [g0, g1). */
static size_t used_in(const struct ttmem_table *t, uint64_t g0, uint64_t g1)
{
	size_t n = 0;

	for (uint64_t g = g0; g < g1; g++) {
		if (meta_hole(t, g)) {
			g += 63;
			continue;
		}
		n += TTMEM_GROUP_SLOTS - ttmem_meta_free_count(t->meta, g);
	}
	return n;
}

/*
 * One share of a snapshot: the live entries of groups [g0, g1), in slot
 * order, into out[0 .. room) and then, when more came than counted, into
 * `spill` (grown as needed).  Shares run in parallel on disjoint parts of
 * the output.
 */
struct share {
	const struct ttmem_table *t;
	uint64_t g0, g1;
	uint32_t etag;
	struct ttmem_entry *out;
	size_t room, n;
	struct ttmem_entry *spill;
	size_t n_spill, cap_spill;
	uint64_t unstable, stuck;
	int oom;
};

static void share_copy(struct share *sh)
{
	const struct ttmem_table *t = sh->t;
	uint64_t slot_off = (uint64_t)((const uint8_t *)t->slots - t->base);
	uint8_t *verdicts = NULL;

	for (uint64_t g = sh->g0; g < sh->g1; g++) {
		if (meta_hole(t, g)) {
			g += 63;
			continue;
		}
		/* The slots of a group two ahead are fetched while this one
		 * is copied: used slots are scattered over a page, which the
		 * hardware prefetcher does not follow.  Only within this meta
		 * page (known not to be a hole: reading a hole of the file
		 * would allocate it); a prefetch of a slot page never faults. */
		if (g + 2 < sh->g1 && (g + 2) / 64 == g / 64) {
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
			int rc = ttmem_slot_read(&gs[i], sh->etag, w);

			if (__builtin_expect(rc <= 0, 0)) {
				if (rc == 0)
					continue;
				uint64_t c = atomic_load_explicit(&gs[i].ctl, memory_order_acquire);
				if (TTMEM_CTL_STATE(c) == TTMEM_SLOT_BUSY && busy_stuck(t, c, &verdicts))
					sh->stuck++;
				else
					sh->unstable++;
				continue;
			}
			struct ttmem_entry *e;
			if (__builtin_expect(sh->n < sh->room, 1)) {
				e = &sh->out[sh->n++];
			} else {
				if (sh->n_spill == sh->cap_spill) {
					size_t c = sh->cap_spill ? 2 * sh->cap_spill : 256;
					struct ttmem_entry *ns = realloc(sh->spill, c * sizeof(*ns));
					if (!ns) {
						sh->oom = 1;
						free(verdicts);
						return;
					}
					sh->spill = ns;
					sh->cap_spill = c;
				}
				e = &sh->spill[sh->n_spill++];
			}
			ttmem_entry_unpack(w, e, (uint32_t)(g * TTMEM_GROUP_SLOTS + i));
		}
	}
	free(verdicts);
}

static void *share_thread(void *arg)
{
	share_copy(arg);
	return NULL;
}

/* Tables of at least this many groups (128 Ki slots) are copied by two
 * threads: the copy is bound by the misses on the slot lines, which two
 * cores overlap (1 Mi slots, 50% full: about half the time). */
#define PARALLEL_GROUPS 2048u

int ttmem_snapshot_refresh(const struct ttmem_table *t, struct ttmem_snapshot *out)
{
	if (!out)
		return -EINVAL;
	struct ttmem_entry *e = out->entries;
	size_t cap = e ? out->capacity : 0;
	out->count = 0;
	out->unstable = 0;
	out->stuck = 0;
	if (!t || t->magic != TTMEM_TABLE_MAGIC)
		return -EINVAL;

	/* The data map is the handle's: refreshed here, for this pass. */
	ttmem_datamap_refresh((struct ttmem_table *)(uintptr_t)t);
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint64_t groups = t->group_mask + 1;
	int two = groups >= PARALLEL_GROUPS;
	uint64_t half = two ? groups / 2 : groups;
	struct share sh[2] = {
		{ .t = t, .g0 = 0, .g1 = half, .etag = TTMEM_EPOCH_TAG(epoch) },
		{ .t = t, .g0 = half, .g1 = groups, .etag = TTMEM_EPOCH_TAG(epoch) },
	};

	/* Sizing.  One share: a buffer being reused (a viewer refreshing) is
	 * taken as it is (entries come and go by a few between passes; the
	 * rest spills), which saves the pass over every meta byte.  Two: the
	 * second starts where the first's used meta bytes end, so in a table
	 * at rest the two parts meet exactly. */
	size_t need = 64;
	if (two) {
		sh[0].room = used_in(t, 0, half);
		sh[1].room = used_in(t, half, groups) + 64;
		need = sh[0].room + sh[1].room;
	} else if (!cap) {
		need += used_in(t, 0, groups);
	}
	/* Room to grow by an eighth: a table that grows a little between
	 * refreshes does not take a new buffer (and its page faults) each. */
	if (need > cap) {
		free(e);
		out->entries = NULL;
		out->capacity = 0;
		cap = need + need / 8;
		e = entries_alloc(cap);
		if (!e)
			return -ENOMEM;
	}
	sh[0].out = e;
	if (!two) {
		sh[0].room = cap;
	} else {
		sh[1].out = e + sh[0].room;
		sh[1].room = cap - sh[0].room;
	}

	pthread_t th;
	int threaded = two && pthread_create(&th, NULL, share_thread, &sh[1]) == 0;
	share_copy(&sh[0]);
	if (threaded)
		pthread_join(th, NULL);
	else if (two)
		share_copy(&sh[1]);

	/* Join the parts: [share 0][its spill][share 1][its spill]. */
	size_t n = sh[0].n, total = n + sh[0].n_spill + sh[1].n + sh[1].n_spill;
	int oom = sh[0].oom || sh[1].oom;
	if (!oom && total > cap) {
		size_t at1 = two ? (size_t)(sh[1].out - e) : 0;   /* share 1's part moves with the block */
		size_t grown = total + total / 8;
		struct ttmem_entry *ne = realloc(e, grown * sizeof(*e));
		if (ne) {
			sh[1].out = ne + at1;
			e = ne;
			cap = grown;
		} else {
			oom = 1;
		}
	}
	if (!oom) {
		/* share 1 lands after share 0 and its spill (a memmove
		 * only when the parts do not meet: races, stale entries). */
		size_t at = n + sh[0].n_spill;
		if (two && sh[1].n && e + at != sh[1].out)
			memmove(e + at, sh[1].out, sh[1].n * sizeof(*e));
		if (sh[0].n_spill)
			memcpy(e + n, sh[0].spill, sh[0].n_spill * sizeof(*e));
		if (sh[1].n_spill)
			memcpy(e + at + sh[1].n, sh[1].spill, sh[1].n_spill * sizeof(*e));
	}
	free(sh[0].spill);
	free(sh[1].spill);
	if (oom) {
		free(e);
		out->entries = NULL;
		out->capacity = 0;
		return -ENOMEM;
	}
	out->entries = e;
	out->capacity = cap;
	out->count = total;
	out->unstable = sh[0].unstable + sh[1].unstable;
	out->stuck = sh[0].stuck + sh[1].stuck;
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
