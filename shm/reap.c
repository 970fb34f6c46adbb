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
 * Reads every slot's ctl (a BUSY slot may have a zero meta byte): O(capacity).
 */
#include <errno.h>
#include <stdlib.h>

#include "hash.h"

enum { V_UNKNOWN = 0, V_KEEP, V_REAP, V_REAP_KILLED };

/* What to do with entries of (proc, pid); verdicts of RUNNING entries cached
 * per call in v[] (pid + verdict) since they cost system calls. */
static int verdict(struct ttmem_table *t, uint64_t *v, uint32_t proc, uint32_t pid,
		   int include_exited)
{
	if ((int32_t)proc == t->proc_idx && pid == t->pid)
		return V_KEEP;
	if (proc >= t->proc_capacity)
		return V_REAP;
	if (v && (uint32_t)(v[proc] >> 32) == pid && (v[proc] & 0xff))
		return (int)(v[proc] & 0xff);
	int r;
	switch (ttmem_proc_liveness(t, (uint16_t)proc, pid)) {
	case TTMEM_LIVENESS_RUNNING: r = V_KEEP; break;
	case TTMEM_LIVENESS_EXITED: r = include_exited ? V_REAP : V_KEEP; break;
	case TTMEM_LIVENESS_DEAD: r = V_REAP_KILLED; break;
	default: r = V_REAP; break;
	}
	if (v)
		v[proc] = ((uint64_t)pid << 32) | (uint64_t)r;
	return r;
}

int64_t ttmem_reap(struct ttmem_table *t, int include_exited, struct ttmem_tally *tally)
{
	if (!t || !t->writable || t->proc_idx < 0)
		return -EINVAL;
	struct ttmem_counters *cn = &t->hdr->counters;
	uint64_t epoch = atomic_load_explicit(&t->hdr->clear_epoch, memory_order_acquire);
	uint32_t etag = TTMEM_EPOCH_TAG(epoch);
	struct ttmem_batch *b = ttmem_batch_get(t, epoch);
	uint64_t *v = calloc(t->proc_capacity, sizeof(*v));
	uint32_t me = (uint32_t)t->proc_idx;
	int64_t n = 0;

	for (uint64_t si = 0; si < t->capacity; si++) {
		struct ttmem_slot *s = &t->slots[si];
		uint64_t c = atomic_load_explicit(&s->ctl, memory_order_acquire);
		for (int r = 0; r < 16; r++) {
			uint32_t st = TTMEM_CTL_STATE(c), tag = TTMEM_CTL_TAG(c);
			uint64_t w[TTMEM_PAYLOAD_WORDS], busy;
			if (st == TTMEM_SLOT_FREE)
				break;
			if (st == TTMEM_SLOT_BUSY) {
				if (tag == me || !ttmem_claimer_dead(t, tag))
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
			uint32_t proc = (uint16_t)(w[3] >> 32), pid = (uint32_t)w[3];
			int vd = verdict(t, v, proc, pid, include_exited);
			if (vd == V_KEEP)
				break;
			if (!ttmem_slot_claim(t, si, &c, &busy))
				continue;
			/* The claim validated the sequence: w is this entry. */
			ttmem_slot_release_free(t, si, busy);
			ttmem_owner_release(t, b, proc, pid, w[2]);
			uint8_t type = (uint8_t)(w[1] >> 40), owner = (uint8_t)(w[1] >> 48);
			if (vd == V_REAP_KILLED && type < TTMEM_MAX_TYPES && owner < TTMEM_MAX_OWNERS)
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

	/* Registry entries of processes that died without exiting. */
	for (uint32_t i = 0; i < t->proc_capacity; i++) {
		struct ttmem_proc *p = &t->procs[i];
		uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
		if ((c & 0xff) != TTMEM_PROC_RUNNING || i == me)
			continue;
		if (ttmem_proc_liveness(t, (uint16_t)i, (uint32_t)(c >> 32)) != TTMEM_LIVENESS_DEAD)
			continue;
		__atomic_fetch_or(&p->flags, TTMEM_PROC_F_KILLED, __ATOMIC_RELAXED);
		atomic_store_explicit(&p->exited_ns, ttmem_now_ns(), memory_order_relaxed);
		atomic_store_explicit(&p->live_bytes, 0, memory_order_relaxed);
		/* Release: flags and exited_ns before the state. */
		atomic_compare_exchange_strong_explicit(&p->ctl, &c,
							(c & ~UINT64_C(0xff)) | TTMEM_PROC_EXITED,
							memory_order_release, memory_order_relaxed);
	}
	free(v);
	ttmem_batch_flush(b);
	return n;
}
