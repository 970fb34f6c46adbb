/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to shm/: the handle and the helpers the table's files share.
 * Nothing outside shm/ includes this; the public API is include/ttmem/table.h
 * and the layout include/ttmem/segment.h.
 */
#ifndef TTMEM_SHM_INTERNAL_H
#define TTMEM_SHM_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#define TTMEM_HIDDEN __attribute__((visibility("hidden")))

#define TTMEM_TABLE_MAGIC 0x7474626cu /* "ttbl": struct ttmem_table is alive */

/* Geometry of a segment, computed from its capacities (see segment.h). */
struct ttmem_layout {
	uint64_t device_offset, proc_offset, module_offset, stack_offset, meta_offset, slot_offset;
	uint32_t stack_capacity;
	uint64_t total_size;
};

/*
 * The handle.  Immutable after open except `proc_idx`/`pid` (set by
 * ttmem_proc_register, which callers do not run concurrently with writes on
 * the same handle) and `err`.  `live_cache` is written by many threads with
 * relaxed atomics (a verdict cache: a lost update only costs a re-check).
 */
struct ttmem_table {
	uint32_t magic;               /* TTMEM_TABLE_MAGIC */
	int writable;                 /* mapped read-write (not readonly, not image) */
	int owns_mapping;             /* munmap at close (not from_image) */
	int32_t proc_idx;             /* registry index, -1 before register */
	uint32_t pid;                 /* pid registered with proc_idx */
	uint32_t busy_tag;            /* ctl tag of the slots it holds BUSY (TTMEM_BUSY_TAG) */
	int fd;                       /* the object, kept by readers and no_create
				       * handles (data map, reap lock), else -1 */
	uint64_t dev, ino;            /* identity of the object mapped */
	int guard_ix;                 /* its entry in guard.c's table, -1: none */
	uint64_t *datamap;            /* 1 bit per page of the object: holds data
				       * (datamap.c); NULL: treat all as data */
	uint64_t datamap_pages;
	uint64_t id;                  /* unique per open in this process (batches) */

	uint8_t *base;
	size_t len;
	struct ttmem_header *hdr;
	struct ttmem_device_info *devices;
	struct ttmem_proc *procs;
	struct ttmem_module *modules;
	struct ttmem_stack *stacks;
	uint8_t *meta;
	struct ttmem_slot *slots;
	uint64_t capacity;
	uint64_t group_mask;          /* capacity / 64 - 1 */
	uint32_t proc_capacity;
	uint32_t module_capacity;
	uint32_t stack_capacity;

	_Atomic uint64_t *live_cache; /* proc_capacity verdicts, writable only */
	char recreated[64];           /* what a stale object re-created by this open
				       * was ("all zeros", ...); "" otherwise */
	char name[256];
	char err[320];
};

/* ---- stale_rule.c --------------------------------------------------------------- */
/* Whether an unpublished file whose first page is zeros, named `name`, of
 * `size` bytes, is ttmem's to re-create: its last component starts with
 * "ttmem", or its size is a segment's the preload creates.  Else it is
 * someone else's file and is never touched. */
TTMEM_HIDDEN int ttmem_zeros_are_ours(const char *name, uint64_t size);

/* ---- layout.c: geometry, validation, errors, clocks ------------------------------ */
static inline int ttmem_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}
/* Check the header of the image at base (len bytes) and copy it to *copy,
 * which the caller then trusts instead of the image: 0 or a TTMEM_E* code
 * (the reason in errbuf). */
TTMEM_HIDDEN int ttmem_validate_copy(const void *base, size_t len, struct ttmem_header *copy,
				     char *errbuf, size_t errlen);
TTMEM_HIDDEN void ttmem_layout_compute(struct ttmem_layout *l, uint64_t capacity,
				       uint32_t proc_capacity, uint32_t module_capacity);
TTMEM_HIDDEN uint64_t ttmem_now_ns(void);      /* CLOCK_REALTIME */
TTMEM_HIDDEN uint64_t ttmem_mono_ms(void);     /* CLOCK_MONOTONIC_COARSE, vDSO */

/* ---- handle.c: a handle, bound to a mapped image --------------------------------- */
/* A new handle named `name` (NULL: an image), not bound; NULL out of memory. */
TTMEM_HIDDEN struct ttmem_table *ttmem_table_alloc(const char *name);
/* Fill the geometry of `t` from the validated copy `h` of the header of
 * the image at `base` (never from the image itself).  0 or -ENOMEM. */
TTMEM_HIDDEN int ttmem_table_bind(struct ttmem_table *t, uint8_t *base, size_t len,
				  const struct ttmem_header *h);

/* ---- access.c: sharing a segment with a group ------------------------------- */
struct stat;
/* At creation: set exactly opts' mode (default 0600) and group.  0 or -errno. */
TTMEM_HIDDEN int ttmem_access_apply(int fd, const char *name, const struct ttmem_open_opts *o,
				    char *eb, size_t el);
/* 1 when a writer may attach a segment owned (or created) by `owner_uid`
 * whose file is `st`: its own, or shared with the group it asked for. */
TTMEM_HIDDEN int ttmem_access_writer_ok(uint32_t owner_uid, const struct stat *st,
					const struct ttmem_open_opts *o);

/* ---- batch.c: per-thread batching of the counters (segment.h "Counters") ------ */

/*
 * The calling thread's pending counter updates for one handle.  Plain
 * (non-atomic) fields: only the owning thread touches them; they reach the
 * segment in ttmem_batch_flush().
 */
struct ttmem_batch {
	uint64_t handle_id;           /* 0: unbound */
	struct ttmem_table *t;
	int32_t proc_idx;
	uint32_t left;                /* events before the next flush (counts down) */
	uint64_t self_w3;             /* payload word 3 (pid | proc << 32) of ours */
	uint64_t epoch;               /* clear epoch the live delta belongs to */
	int64_t live;                 /* live-bytes delta since the last flush */
	int64_t live_max;             /* max prefix of `live` (peak candidate) */
	/* The events since the last flush are TTMEM_BATCH_EVENTS - left: the
	 * allocs are those that are none of the others (ttmem_batch_allocs),
	 * so an insert counts nothing but its event. */
	uint64_t frees, unmatched, drops;
	int registered_key;           /* pthread key destructor armed */
	/* Never flushed: the thread's own figures (ttmem_debug_thread_stats).
	 * The fast paths count no op of their own: inserts (allocs + drops)
	 * and removes (frees + unmatched) are taken from the batch when it is
	 * flushed or dropped (dbg_ins, dbg_rm) and read; an insert scans 3
	 * meta lines, a remove 1 plus `dbg_rm_more` further ones, and an insert
	 * reads one slot's ctl; dbg.ops / dbg.meta_lines / dbg.slots_visited
	 * hold only what the rest adds (slots_visited: the inserts that hand
	 * over before reading it subtract their one). */
	uint64_t dbg_ins, dbg_rm, dbg_rm_more;
	struct ttmem_debug_stats dbg;
};

#define TTMEM_BATCH_EVENTS 64u        /* flush after this many events */

TTMEM_HIDDEN extern __thread struct ttmem_batch ttmem_tl_batch
	__attribute__((tls_model("initial-exec")));

/* Bind the calling thread's batch to `t` (flushing what it held for another
 * handle) and, if the clear epoch moved, drop the pending live delta (the
 * clear zeroed live_bytes).  Cheap when already bound: one compare. */
TTMEM_HIDDEN void ttmem_batch_rebind(struct ttmem_table *t, uint64_t epoch);

static inline struct ttmem_batch *ttmem_batch_get(struct ttmem_table *t, uint64_t epoch)
{
	struct ttmem_batch *b = &ttmem_tl_batch;
	if (__builtin_expect(b->handle_id != t->id || b->epoch != epoch, 0))
		ttmem_batch_rebind(t, epoch);
	return b;
}

TTMEM_HIDDEN void ttmem_batch_flush(struct ttmem_batch *b);

/* Install the SIGBUS guard again if the host replaced it (guard.c). */
TTMEM_HIDDEN void ttmem_guard_recheck(void);

static inline void ttmem_batch_live(struct ttmem_batch *b, int64_t delta)
{
	/* Wrapping, not overflowing: a size read back from a corrupted slot
	 * may be anything. */
	b->live = (int64_t)((uint64_t)b->live + (uint64_t)delta);
	if (b->live > b->live_max)
		b->live_max = b->live;
}

static inline void ttmem_batch_event(struct ttmem_batch *b)
{
	if (__builtin_expect(--b->left == 0, 0))
		ttmem_batch_flush(b);
}

/* Inserts since the last flush: every event that is not one of the others. */
static inline uint64_t ttmem_batch_allocs(const struct ttmem_batch *b)
{
	return TTMEM_BATCH_EVENTS - b->left - b->frees - b->unmatched - b->drops;
}

/* Drop the calling thread's batch if it belongs to `t` (after fork / on
 * re-register: the counts belong to another registry entry). */
TTMEM_HIDDEN void ttmem_batch_discard(struct ttmem_table *t);
/* Flush the calling thread's batch if it is bound to `t`. */
TTMEM_HIDDEN void ttmem_batch_flush_for(struct ttmem_table *t);
TTMEM_HIDDEN void ttmem_handles_add(struct ttmem_table *t);
TTMEM_HIDDEN void ttmem_handles_remove(struct ttmem_table *t);

/* ---- registry.c ------------------------------------------------------------------ */

/* A registry entry's ctl: state, generation, pid (segment.h). */
#define PCTL_STATE(c) ((uint32_t)((c) & 0xffu))
#define PCTL_GEN(c) ((uint32_t)(((c) >> 8) & 0xffffffu))
#define PCTL_PID(c) ((uint32_t)((c) >> 32))
#define PCTL_MAKE(pid, gen, state) \
	(((uint64_t)(pid) << 32) | ((uint64_t)((gen) & 0xffffffu) << 8) | (uint64_t)(state))

/* ---- BUSY tags (segment.h): the claimer's registry index and the low
 * bits of that entry's generation, so that a recycled entry never makes a
 * dead writer's slot look like the new owner's.  The reserved index
 * TTMEM_TAG_REAPER marks slots held by an unregistered reaper. */
#define TTMEM_TAG_IX(tag) ((uint32_t)(tag) & 0xffffu)
#define TTMEM_TAG_GEN(tag) (((uint32_t)(tag) >> 16) & 0x3fffu)
#define TTMEM_BUSY_TAG(ix, gen) (((uint32_t)(ix) & 0xffffu) | (((uint32_t)(gen) & 0x3fffu) << 16))
#define TTMEM_TAG_REAPER 0xffffu

/* ---- guard.c: SIGBUS on a segment that shrank under its mapping ------------ */
TTMEM_HIDDEN void ttmem_guard_add(struct ttmem_table *t);
TTMEM_HIDDEN void ttmem_guard_remove(struct ttmem_table *t);

/* ---- datamap.c: which pages of the object hold data ------------------------- */
/* Refresh t->datamap from t->fd (no-op without one).  0 or -errno. */
TTMEM_HIDDEN int ttmem_datamap_refresh(struct ttmem_table *t);
/* 1 when [off, off + len) of the object lies in holes only (reads as zero
 * and is not worth touching: a read would allocate the pages). */
TTMEM_HIDDEN int ttmem_datamap_hole(const struct ttmem_table *t, uint64_t off, uint64_t len);

/* ---- reap.c ---------------------------------------------------------------------- */

/* Test hook (NULL in production): called by ttmem_reap at its check-then-act
 * points, so that a test can recycle a registry entry exactly there.
 * `where`: TTMEM_REAP_HOOK_SLOT after a dead owner's slot was claimed, before
 * its live_at_exit is added; TTMEM_REAP_HOOK_PROC after registry entry
 * `proc` was judged dead, before it is claimed and marked. */
enum { TTMEM_REAP_HOOK_SLOT = 1, TTMEM_REAP_HOOK_PROC = 2 };
extern TTMEM_HIDDEN void (*ttmem_reap_test_hook)(struct ttmem_table *t, int where, uint32_t proc);

/* ---- liveness.c ------------------------------------------------------------------ */

/* 1 when the process that owns slot entries (registry `proc`, `pid`) is gone:
 * exited, killed, its registry entry recycled.  Never for the caller itself.
 * Cached per handle (dead: for good; alive: ~100 ms).  Syscalls: slow path. */
TTMEM_HIDDEN int ttmem_owner_dead(struct ttmem_table *t, uint32_t proc, uint32_t pid);
/* 1 when the claimer of a BUSY slot (its ctl tag: registry index and
 * generation, TTMEM_BUSY_TAG) is gone: dead, or its entry claimed anew
 * since.  0 for an unregistered reaper's tag (reap.c judges those). */
TTMEM_HIDDEN int ttmem_claimer_dead(struct ttmem_table *t, uint32_t tag);
/* kill(pid, 0) plus /proc start time: 1 alive, 0 dead. */
TTMEM_HIDDEN int ttmem_pid_alive(uint32_t pid, uint64_t start_time);
/* 1 when the process claiming a registry entry (ctl pid `pid`, no start time
 * published yet) is gone: kill(pid, 0) alone.  errno preserved. */
TTMEM_HIDDEN int ttmem_claiming_pid_dead(uint32_t pid);

/* ---- slot.c: the transitions shared by table, sweep, reap ------------------------ */

/* Subtract `size` from the live bytes of the entry's owner: through the
 * caller's batch when it is the caller, else directly when the registry entry
 * still belongs to `pid`. */
TTMEM_HIDDEN void ttmem_owner_release(struct ttmem_table *t, struct ttmem_batch *b,
				      uint32_t proc, uint32_t pid, uint64_t size);

/* ---- errors --------------------------------------------------------------------- */
TTMEM_HIDDEN int ttmem_set_err(char *buf, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* TTMEM_SHM_INTERNAL_H */
