/* SPDX-License-Identifier: MIT */
/*
 * Reap: give back what dead processes left behind.
 *   - LIVE entries whose owner is dead (killed, or its registry entry
 *     recycled), and those of normally exited processes when asked: removed,
 *     counted as reclaimed, their bytes released from the owner's live_bytes
 *     and, for a killed owner, added to its live_at_exit;
 *   - slots left BUSY by a dead writer: reset to FREE (stuck_freed);
 *   - slots of a cleared epoch: freed (no count: they already read as free);
 *   - registry entries still RUNNING whose process is dead: marked EXITED
 *     with TTMEM_PROC_F_KILLED.
 * Reads every slot's ctl (a BUSY slot may have a zero meta byte), except
 * those in pages of the file that never held data (datamap.c): O(capacity)
 * at most, O(pages written) on a sparse file.
 *
 * The reaper needs no registry entry: an unregistered one tags the slots it
 * holds for a moment with the reserved index TTMEM_TAG_REAPER and holds the
 * reaper lock (flock on the segment's file) for the whole pass, so that a
 * reaper-tagged BUSY slot found under the lock was left by a reaper killed
 * mid-claim, and is reset.  Writers never judge reaper-tagged slots.  An
 * unregistered reaper that cannot take the lock (another reaper holds it
 * past REAPER_WAIT_MS) does nothing and returns -EBUSY.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

enum { V_UNKNOWN = 0, V_KEEP, V_REAP, V_REAP_KILLED };

#define REAPER_WAIT_MS 2000

void (*ttmem_reap_test_hook)(struct ttmem_table *t, int where, uint32_t proc);

/* What to do with entries of (proc, pid); verdicts of RUNNING entries cached
 * per call in v[] (pid, the registry entry's generation when judged, and the
 * verdict) since they cost system calls.  *gen: that generation. */
static int verdict(struct ttmem_table *t, uint64_t *v, uint32_t proc, uint32_t pid,
		   int include_exited, uint32_t *gen)
{
	*gen = 0;
	if (t->proc_idx >= 0 && (int32_t)proc == t->proc_idx && pid == t->pid)
		return V_KEEP;
	if (proc >= t->proc_capacity)
		return V_REAP;
	if (v && (uint32_t)(v[proc] >> 32) == pid && (v[proc] & 0xff)) {
		*gen = PCTL_GEN(v[proc]);
		return (int)(v[proc] & 0xff);
	}
	/* The generation before the verdict: if the entry is recycled after
	 * this load, liveness sees another pid (UNKNOWN: no live_at_exit). */
	uint64_t c0 = atomic_load_explicit(&t->procs[proc].ctl, memory_order_acquire);
	*gen = PCTL_GEN(c0);
	int r;
	switch (ttmem_proc_liveness(t, (uint16_t)proc, pid)) {
	case TTMEM_LIVENESS_RUNNING: r = V_KEEP; break;
	case TTMEM_LIVENESS_EXITED: r = include_exited ? V_REAP : V_KEEP; break;
	case TTMEM_LIVENESS_DEAD: r = V_REAP_KILLED; break;
	default: r = V_REAP; break;
	}
	if (v)
		v[proc] = PCTL_MAKE(pid, *gen, (uint32_t)r);
	return r;
}

/* Whether registry entry `proc` is still the one judged (pid, generation)
 * and not being re-filled: then what its process held at its death may be
 * added to its live_at_exit.  (A recycle needs the entry dead or EXITED and
 * a full registry; one between this check and the add is not excluded: that
 * would take a second recycle-worthy event within a few instructions.) */
static int still_judged(struct ttmem_table *t, uint32_t proc, uint32_t pid, uint32_t gen)
{
	uint64_t c = atomic_load_explicit(&t->procs[proc].ctl, memory_order_acquire);
	uint32_t st = PCTL_STATE(c);
	return PCTL_PID(c) == pid && PCTL_GEN(c) == gen &&
	       (st == TTMEM_PROC_RUNNING || st == TTMEM_PROC_EXITED) &&
	       __atomic_load_n(&t->procs[proc].pid, __ATOMIC_RELAXED) == pid;
}

/* The reaper lock: flock(LOCK_EX) on the segment's file, opened again by
 * name and checked to be the object mapped.  Returns the fd holding it, or
 * -1 (no lock: reaper-tagged slots are then left alone). */
static int reaper_lock(struct ttmem_table *t)
{
	int fd = t->name[0] && strchr(t->name + 1, '/') ?
			 open(t->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) :
			 shm_open(t->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != t->dev || (uint64_t)st.st_ino != t->ino ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	/* Another reaper's pass takes milliseconds; a holder that keeps it
	 * longer is not waited for past REAPER_WAIT_MS. */
	for (uint64_t t0 = ttmem_mono_ms(); flock(fd, LOCK_EX | LOCK_NB) != 0;) {
		struct timespec ts = { 0, 1000000 };
		if (errno != EWOULDBLOCK || ttmem_mono_ms() - t0 > REAPER_WAIT_MS) {
			close(fd);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

int64_t ttmem_reap(struct ttmem_table *t, int include_exited, struct ttmem_tally *tally)
{
	if (!t || !t->writable)
		return -EINVAL;
	struct ttmem_counters *cn = &t->hdr->counters;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	uint64_t *v = calloc(t->proc_capacity, sizeof(*v));
	int registered = t->proc_idx >= 0;
	uint32_t me = registered ? (uint32_t)t->proc_idx : UINT32_MAX;
	uint32_t saved_tag = t->busy_tag;
	int lock = reaper_lock(t);
	int64_t n = 0;

	/* Without the lock, an unregistered reaper claims nothing: the
	 * reaper tag is shared, and the reaper holding the lock resets every
	 * reaper-tagged BUSY slot, ours included, which our release would
	 * then free under a writer that took it meanwhile. */
	if (!registered && lock < 0) {
		free(v);
		return -EBUSY;
	}
	if (!registered)
		t->busy_tag = TTMEM_BUSY_TAG(TTMEM_TAG_REAPER, 0);
	ttmem_datamap_refresh(t);
	uint64_t slot_off = (uint64_t)((uint8_t *)t->slots - t->base);
	for (uint64_t si = 0; si < t->capacity; si++) {
		struct ttmem_slot *s = &t->slots[si];
		/* A page of slots that never held data: all FREE. */
		if (!(si % 64) && ttmem_datamap_hole(t, slot_off + si * sizeof(*s), 64 * sizeof(*s))) {
			si += 63;
			continue;
		}
		uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
		for (int r = 0; r < 16; r++) {
			uint32_t st = TTMEM_CTL_STATE(c), tag = TTMEM_CTL_TAG(c);
			uint64_t w[TTMEM_PAYLOAD_WORDS], busy;
			if (st == TTMEM_SLOT_FREE)
				break;
			if (st == TTMEM_SLOT_BUSY) {
				/* Ours (a thread of this process holds it now), or
				 * a live claimer's; a reaper's only when a reaper
				 * killed mid-claim left it (we hold the lock). */
				if (registered && tag == t->busy_tag)
					break;
				if (TTMEM_TAG_IX(tag) == TTMEM_TAG_REAPER ? lock < 0 :
				    !ttmem_claimer_dead(t, tag))
					break;
				if (!ttmem_slot_claim(t, si, &c, &busy))
					continue;
				ttmem_slot_release_free(t, si, busy);
				atomic_fetch_add_explicit(&cn->stuck_freed, 1, memory_order_relaxed);
				break;
			}
			if (tag != etag) {
				if (!ttmem_slot_claim(t, si, &c, &busy))
					continue;
				ttmem_slot_release_free(t, si, busy);
				break;
			}
			ttmem_payload_load(s, w);
			uint32_t proc = (uint16_t)(w[3] >> 32), pid = (uint32_t)w[3], gen;
			int vd = verdict(t, v, proc, pid, include_exited, &gen);
			if (vd == V_KEEP)
				break;
			if (!ttmem_slot_claim(t, si, &c, &busy))
				continue;
			/* The claim validated the sequence: w is this entry. */
			ttmem_slot_release_free(t, si, busy);
			ttmem_owner_release(t, b, proc, pid, w[2]);
			uint8_t type = (uint8_t)(w[1] >> 40), owner = (uint8_t)(w[1] >> 48);
			if (ttmem_reap_test_hook)
				ttmem_reap_test_hook(t, TTMEM_REAP_HOOK_SLOT, proc);
			if (vd == V_REAP_KILLED && type < TTMEM_MAX_TYPES && owner < TTMEM_MAX_OWNERS &&
			    still_judged(t, proc, pid, gen))
				atomic_fetch_add_explicit(&t->procs[proc].live_at_exit[owner][type], w[2],
							  memory_order_relaxed);
			if (tally) {
				tally->entries++;
				if (type < TTMEM_MAX_TYPES && owner < TTMEM_MAX_OWNERS)
					tally->bytes[owner][type] += w[2];
			}
			atomic_fetch_add_explicit(&cn->reclaimed, 1, memory_order_relaxed);
			n++;
			break;
		}
	}

	/* Registry entries of processes that died without exiting.  Claim
	 * first, write after: the entry is taken from RUNNING (the exact ctl
	 * judged: same pid and generation) to CLAIMING by this process, which
	 * no one recycles while we live (and anyone may once we are dead), so
	 * the writes below can only land in the dead process's entry; then
	 * EXITED with its pid and generation, with release.  Writing first (as
	 * before) could mark a process that had recycled the entry meanwhile
	 * (registry full) KILLED, with its live bytes zeroed. */
	uint32_t self = (uint32_t)getpid();
	uint64_t proc_off = (uint64_t)((uint8_t *)t->procs - t->base);
	for (uint32_t i = 0; i < t->proc_capacity; i++) {
		struct ttmem_proc *p = &t->procs[i];
		if (ttmem_datamap_hole(t, proc_off + (uint64_t)i * sizeof(*p), sizeof(*p)))
			continue; /* never written: FREE */
		uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
		if (PCTL_STATE(c) != TTMEM_PROC_RUNNING || i == me)
			continue;
		if (ttmem_proc_liveness(t, (uint16_t)i, PCTL_PID(c)) != TTMEM_LIVENESS_DEAD)
			continue;
		if (ttmem_reap_test_hook)
			ttmem_reap_test_hook(t, TTMEM_REAP_HOOK_PROC, i);
		uint64_t held = PCTL_MAKE(self, PCTL_GEN(c), TTMEM_PROC_CLAIMING);
		if (!atomic_compare_exchange_strong_explicit(&p->ctl, &c, held, memory_order_acq_rel,
							     memory_order_relaxed))
			continue; /* recycled, exited or reaped meanwhile: not ours */
		__atomic_fetch_or(&p->flags, TTMEM_PROC_F_KILLED, __ATOMIC_RELAXED);
		atomic_store_explicit(&p->exited_ns, ttmem_now_ns(), memory_order_relaxed);
		atomic_store_explicit(&p->live_bytes, 0, memory_order_relaxed);
		/* Release: flags and exited_ns before the state. */
		atomic_store_explicit(&p->ctl, PCTL_MAKE(PCTL_PID(c), PCTL_GEN(c), TTMEM_PROC_EXITED),
				      memory_order_release);
	}
	free(v);
	ttmem_batch_flush(b);
	t->busy_tag = saved_tag;
	if (lock >= 0)
		close(lock);
	return n;
}
