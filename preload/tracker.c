/* SPDX-License-Identifier: MIT */
/*
 * The preload's logic: hooked events -> table operations (see tracker.h).
 *
 * Every entry point is wrapped the same way: save errno, take the per-thread
 * re-entry guard (a hook fired by ttmem's own work passes through), make
 * sure tracking is on (lazy start-up), do the work, restore errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "abi.h"
#include "buffer_keys.h"
#include "callsite.h"
#include "capture.h"
#include "cb_model.h"
#include "chip_notes.h"
#include "lifecycle.h"
#include "log.h"
#include "state.h"
#include "owned.h"
#include "peaks.h"
#include "runtime.h"
#include "scope.h"
#include "tracker.h"

/* ---- re-entry guard ------------------------------------------------------------ */

/* Beside the guard, where the thread's errno lives: its address is fixed
 * for the thread's life (and a forked child's copy of it), so an event
 * reads it here rather than calling __errno_location, a call through the
 * PLT.  A new thread's block starts zeroed: learned at its first event. */
static __thread struct {
	int busy;
	int *errno_at;
} guard __attribute__((tls_model("initial-exec")));

static inline int guard_enter(void)
{
	if (guard.busy)
		return 0;
	guard.busy = 1;
	return 1;
}

static inline void guard_leave(void)
{
	guard.busy = 0;
}

static inline int *thread_errno(void)
{
	int *e = guard.errno_at;

	if (__builtin_expect(!e, 0))
		guard.errno_at = e = &errno;
	return e;
}

#define TRACKER_BEGIN                                   \
	if (!guard_enter())                             \
		return;                                 \
	int *errno_at_ = thread_errno();                \
	int saved_errno_ = *errno_at_;                  \
	if (!lifecycle_ready())                         \
		goto leave_

#define TRACKER_END                                     \
	leave_:                                         \
	guard_leave();                                  \
	*errno_at_ = saved_errno_

/* ---- helpers ------------------------------------------------------------------- */

/* A 64-bit figure in a 32-bit slot field: UINT32_MAX stands for "4 GiB or
 * more" (segment.h). */
static inline uint32_t clamp_u32(uint64_t v)
{
	return v >= UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* `note`: remember the buffer's allocator for bulk frees (allocations only:
 * a free leaves no entry for a bulk free to release). */
static inline __attribute__((always_inline)) int chips_of(const struct abi_buffer *b,
							   struct abi_chips *c, int note)
{
	if (b->trusted & ABI_T_DEVICE) {
		if (abi_device_chips(b->device, c) != 0)
			return -1;
		if (note)
			abi_allocator_note(b->allocator, b->device, c);
		return 0;
	}
	/* The ABI profile no longer vouches for the device: partly tracked. */
	static atomic_int flagged;
	if (!atomic_exchange_explicit(&flagged, 1, memory_order_relaxed))
		state_flag(TTMEM_PROC_F_ABI_PARTIAL);
	c->n = 1;
	c->is_mesh = 0;
	c->id[0] = TTMEM_DEVICE_UNKNOWN;
	return 0;
}

static __attribute__((noinline, cold)) void table_full(void)
{
	state_flag(TTMEM_PROC_F_TABLE_FULL);
	log_warn_once("the segment's table is full: some allocations are not "
		      "recorded (recreate it with a larger TTMEM_CAPACITY)");
}

/* Insert `e` on every chip of `c`; *one (may be NULL) says where the entry
 * went when there is one chip (else, or not inserted, slot
 * BUFFER_KEYS_NO_SLOT). */
static inline __attribute__((always_inline)) void insert_on_chips(struct ttmem_entry *e,
								   const struct abi_chips *c,
								   struct ttmem_where *one)
{
	if (one)
		one->slot = BUFFER_KEYS_NO_SLOT;
	if (c->is_mesh)
		e->flags |= TTMEM_SLOT_F_MESH;
	for (uint32_t i = 0; i < c->n; i++) {
		e->key.device = c->id[i];
		if (peaks_insert(lc.table, e, c->n == 1 ? one : NULL) == TTMEM_EFULL)
			table_full();
	}
}

static inline __attribute__((always_inline)) void fill_entry(struct ttmem_entry *e, uint64_t address, uint8_t space, uint8_t type,
		       uint64_t size, void *ret, void *cfa)
{
	struct scope_owner o = scope_current();

	memset(e, 0, sizeof(*e));
	e->key.address = address;
	e->key.space = space;
	e->type = type;
	e->owner_kind = o.kind;
	e->owner_id = o.id;
	e->size = size;
	e->pid = lc.pid;
	e->proc = (uint16_t)lc.proc_idx;
	callsite_get(ret, cfa, &e->module, &e->callsite, &e->stack);
}

/* Sweep `f` and count what it removed as released in bulk (and as gone
 * from the chips' live bytes of the peaks). */
static void release(const struct ttmem_filter *f)
{
	uint64_t by_device[TTMEM_MAX_DEVICES][TTMEM_MAX_TYPES];   /* 16 KiB, at close only */
	struct ttmem_tally t;

	memset(&t, 0, sizeof(t));
	memset(by_device, 0, sizeof(by_device));
	t.by_device = by_device;
	if (owned_sweep(lc.table, f, &t) <= 0)
		return;
	peaks_released((const uint64_t (*)[TTMEM_MAX_TYPES])by_device);
	cb_model_invalidate();   /* it may have taken CB entries */
	if (!lc.proc)
		return;
	for (unsigned o = 0; o < TTMEM_MAX_OWNERS; o++)
		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			if (t.bytes[o][ty])
				atomic_fetch_add_explicit(&lc.proc->released_bulk[o][ty],
							  t.bytes[o][ty], memory_order_relaxed);
}

static void release_chips(const struct abi_chips *c)
{
	struct ttmem_filter f = { .pid = lc.pid, .match_device = 1 };

	for (uint32_t i = 0; i < c->n; i++) {
		f.device = c->id[i];
		release(&f);
	}
}

/* ---- fork: the circular-buffer model's state ------------------------------------ */

void tracker_atfork_prepare(void)
{
	cb_model_atfork_prepare();
	buffer_keys_atfork_prepare();
}

void tracker_atfork_parent(void)
{
	buffer_keys_atfork_release();
	cb_model_atfork_parent();
}

void tracker_atfork_child(void)
{
	buffer_keys_atfork_release();
	cb_model_atfork_child();
}

/* ---- events -------------------------------------------------------------------- */

void tracker_on_alloc(const void *buffer, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	struct abi_buffer b;
	struct abi_chips c;
	struct ttmem_entry e;
	struct ttmem_where w;

	if (abi_buffer_read(buffer, &b) != 0 || capture_allocation_swallowed(buffer, b.address) ||
	    chips_of(&b, &c, 1) != 0)
		goto leave_;
	if (b.device)
		chip_notes_allocation(&b, &c);
	fill_entry(&e, b.address, abi_space_of(b.type), b.type, b.size, ret, cfa);
	e.page_size = clamp_u32(b.page_size);
	e.bank_bytes = clamp_u32(b.bank_bytes);
	if (__builtin_expect(c.n == 1 && !c.is_mesh, 1)) {
		/* A chip's own buffer, nearly every event: no loop. */
		w.slot = BUFFER_KEYS_NO_SLOT;
		e.key.device = c.id[0];
		if (peaks_insert(lc.table, &e, &w) == TTMEM_EFULL)
			table_full();
	} else {
		insert_on_chips(&e, &c, &w);
	}
	/* Its free then removes the entry where it is (buffer_keys.h); a
	 * runtime whose frees cannot read the Buffer needs the key as well.
	 * Always put: a record left by an earlier Buffer at this address
	 * whose free was never seen must not stand for this one. */
	buffer_keys_put(buffer, &b, &w, c.id[0]);
	TRACKER_END;
}

/* The entries the last free on this thread removed while a capture hook
 * was installed (capture.h), until hook_deallocate says whether the free
 * happened. */
static __thread struct {
	struct ttmem_entry e;
	struct abi_chips chips;
} held_free __attribute__((tls_model("initial-exec")));
__thread const void *tracker_held_buffer __attribute__((tls_model("initial-exec")));

/* A free not taken at its slot: by key on every chip of the buffer (out of
 * line: the common free does not pay for its frame).  `r`: the buffer's
 * record, NULL when none. */
static __attribute__((noinline)) void free_by_key(const void *buffer,
						  const struct buffer_record *r, int keep)
{
	struct abi_buffer b;
	struct abi_chips c;
	struct ttmem_key k;

	if (abi_frees_by_record()) {
		if (!r)
			return;
		b.address = r->address;
		b.device = r->device;
		b.type = r->type;
		b.trusted = r->trusted;
	} else if (abi_buffer_key(buffer, &b) != 0) {
		return;
	}
	if (capture_free_swallowed(b.address) || chips_of(&b, &c, 0) != 0)
		return;
	k.address = b.address;
	k.space = abi_space_of(b.type);
	/* Only our own entries go: a forked child destroying a buffer object
	 * it inherited leaves its parent's entry alone (ttmem_remove removes
	 * only the calling process's entry; the free counts as unmatched). */
	for (uint32_t i = 0; i < c.n; i++) {
		k.device = c.id[i];
		if (keep && peaks_remove(lc.table, &k, &held_free.e, b.type) == 0) {
			tracker_held_buffer = buffer;
			held_free.chips = c;
			keep = 0;
		} else {
			peaks_remove(lc.table, &k, NULL, b.type);
		}
	}
}

void tracker_on_free(const void *buffer)
{
	TRACKER_BEGIN;
	struct buffer_record r;
	int keep = 0, recorded;

	if (__builtin_expect(capture_hook_installed(), 0)) {
		tracker_held_buffer = NULL;
		keep = 1;
	}
	/* The entry of a one-chip buffer goes from where its insert put it
	 * (buffer_keys.h); while a capture hook may still take the free over,
	 * the record stays until the free settles, and the free goes by key.
	 * By key: where the Buffer is being destroyed when its free is
	 * reported, the key is what its allocation recorded. */
	recorded = buffer_keys_get(buffer, &r, !keep) == 0;
	if (__builtin_expect(recorded && !keep && r.slot != BUFFER_KEYS_NO_SLOT, 1)) {
		struct ttmem_where w = { .slot = r.slot, .live = r.live };

		if (__builtin_expect(peaks_remove_slot(lc.table, &w, r.chip, r.type) == 0, 1))
			goto leave_;
	}
	free_by_key(buffer, recorded ? &r : NULL, keep);
	TRACKER_END;
}

void tracker_on_free_settled(const void *buffer, int taken_over)
{
	if (!taken_over) {
		/* Freed for real: what the free removed stays removed. */
		tracker_held_buffer = NULL;
		buffer_keys_drop(buffer);
		return;
	}
	TRACKER_BEGIN;
	struct abi_chips c;

	if (!buffer || tracker_held_buffer != buffer)
		goto leave_;
	tracker_held_buffer = NULL;
	/* Every chip had the same entry but for its device. */
	c = held_free.chips;
	held_free.e.flags &= (uint8_t)~TTMEM_SLOT_F_MESH;
	insert_on_chips(&held_free.e, &c, NULL);
	TRACKER_END;
}

void tracker_on_cb_alloc(uint64_t addr, uint64_t size, int globally_allocated,
			 const void *device, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	struct abi_chips c;
	struct ttmem_entry e;

	/* A globally allocated CB lives in an L1 buffer, tracked as that
	 * buffer (upstream does not report it; the argument is false). */
	if (size == 0 || globally_allocated || abi_device_chips(device, &c) != 0)
		goto leave_;
	chip_notes_device(device, &c);
	fill_entry(&e, 0, TTMEM_SPACE_CB, TTMEM_TYPE_CB, size, ret, cfa);
	cb_model_place(&c, &e, addr);
	TRACKER_END;
}

/* A reported free of all the device's CBs (a fork's report). */
void tracker_on_cb_free_all(const void *device)
{
	TRACKER_BEGIN;
	struct abi_chips c;

	if (abi_device_chips(device, &c) == 0)
		cb_model_free_all(&c);
	TRACKER_END;
}

/* Whether the runtime exports GraphTracker::hook_program (looked up once). */
static int hook_program_seen(void)
{
	static atomic_int seen = -1;
	int v = atomic_load_explicit(&seen, memory_order_relaxed);

	if (v < 0) {
		v = runtime_find(ABI_SYM_HOOK_PROGRAM) != NULL;
		atomic_store_explicit(&seen, v, memory_order_relaxed);
	}
	return v;
}

/* A launch hook_program (or track_program) let run: nothing when the
 * program is resident on the device, else its CBs replayed there. */
static void program_launched(const void *program, int launched, void *ret, void *cfa)
{
	const void *device = cb_model_program_dispatched(program, launched);
	struct abi_chips c;
	struct ttmem_entry e;

	if (!device || abi_device_chips(device, &c) != 0)
		return;
	fill_entry(&e, 0, TTMEM_SPACE_CB, TTMEM_TYPE_CB, 0, ret, cfa);
	cb_model_program_replay(program, device, &c, &e);
}

void tracker_on_program(const void *program, const void *device, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	if (!program || !device)
		goto leave_;
	cb_model_program_announced(program, device);
	/* Without an interposable hook_program nothing will say whether the
	 * program runs: assume it does. */
	if (!hook_program_seen())
		program_launched(program, 1, ret, cfa);
	TRACKER_END;
}

/* `ret`, `cfa`: of the hook_program call, made by the same op launch as
 * track_program, so its stack leads to the same application frames. */
void tracker_on_program_hooked(const void *program, int hooked, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	program_launched(program, !hooked, ret, cfa);
	TRACKER_END;
}

void tracker_program_destroyed(const void *program)
{
	TRACKER_BEGIN;
	cb_model_program_gone(program);
	TRACKER_END;
}

int tracker_device_closing(const void *device, struct abi_chips *chips)
{
	int *errno_at = thread_errno();
	int saved = *errno_at, ok = -1;

	if (guard_enter()) {
		if (lifecycle_ready()) {
			ok = abi_device_chips(device, chips);
			/* A device opened and closed without a tracked buffer
			 * is still a chip the viewer should list. */
			if (ok == 0)
				chip_notes_device(device, chips);
		}
		guard_leave();
	}
	*errno_at = saved;
	return ok;
}

void tracker_device_closed(const void *device, const struct abi_chips *chips)
{
	TRACKER_BEGIN;
	release_chips(chips);
	cb_model_forget(chips, -1);   /* the sweep released them */
	buffer_keys_forget_device(device);
	abi_device_forget(device);
	TRACKER_END;
}

/*
 * An allocator's bulk free releases only what that allocator held: a mesh
 * allocator the mesh entries on its chips, a chip allocator the chip's own
 * entries.  (A mesh's bulk free runs before its chips close, and the chips
 * then report the frees of their own buffers normally.)  One sweep per chip,
 * filtered on the mesh flag; this runs at close time only.
 */
static void release_allocator_entries(const struct abi_chips *c)
{
	struct ttmem_filter f = { .pid = lc.pid, .match_device = 1, .match_flags = 1,
				  .flags_mask = TTMEM_SLOT_F_MESH,
				  .flags = c->is_mesh ? TTMEM_SLOT_F_MESH : 0 };

	for (uint32_t i = 0; i < c->n; i++) {
		f.device = c->id[i];
		release(&f);
	}
	cb_model_forget(c, c->is_mesh ? 1 : 0);
}

void tracker_allocator_freed(const void *allocator)
{
	TRACKER_BEGIN;
	struct abi_chips c;

	if (abi_allocator_take(allocator, &c) == 0)
		release_allocator_entries(&c);
	TRACKER_END;
}

void tracker_owner_destroyed(uint8_t owner_kind, const void *owner)
{
	TRACKER_BEGIN;
	struct ttmem_filter f = { .pid = lc.pid, .match_owner = 1, .owner_kind = owner_kind,
				  .owner_id = (uint64_t)(uintptr_t)owner };
	release(&f);
	TRACKER_END;
}
