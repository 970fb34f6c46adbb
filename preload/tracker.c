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

/* An allocation failure inside uthash sets a flag instead of exiting. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (cb_index_oom = 1)
static int cb_index_oom;
#include <uthash.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "abi.h"
#include "callsite.h"
#include "lifecycle.h"
#include "log.h"
#include "owned.h"
#include "scope.h"
#include "tracker.h"

/* ---- re-entry guard ------------------------------------------------------------ */

static __thread int in_tracker __attribute__((tls_model("initial-exec")));

static inline int guard_enter(void)
{
	if (in_tracker)
		return 0;
	in_tracker = 1;
	return 1;
}

static inline void guard_leave(void)
{
	in_tracker = 0;
}

#define TRACKER_BEGIN                                   \
	int saved_errno_ = errno;                       \
	if (!guard_enter())                             \
		return;                                 \
	if (!lifecycle_ready())                         \
		goto leave_

#define TRACKER_END                                     \
	leave_:                                         \
	guard_leave();                                  \
	errno = saved_errno_

/* ---- helpers ------------------------------------------------------------------- */

static atomic_uint_fast64_t cb_sequence;

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* The coarse clock is a vDSO read without rdtsc: a few ns, at tick
	 * resolution, which is plenty for "allocated at". */
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
		lifecycle_flag(TTMEM_PROC_F_ABI_PARTIAL);
	c->n = 1;
	c->is_mesh = 0;
	c->id[0] = TTMEM_DEVICE_UNKNOWN;
	return 0;
}

/*
 * Chips this process published in the segment's device table (so a viewer
 * lists them, with their architecture, even at 0 bytes).  One bit per chip:
 * the hot path pays one load per chip; the first sighting of a chip takes the
 * slow path once (racing threads both publish, which is idempotent).
 */
static _Atomic uint64_t chips_noted[TTMEM_MAX_DEVICES / 64];

static __attribute__((noinline)) void note_chips_slow(const void *device,
						       const struct abi_chips *c)
{
	uint32_t arch[ABI_MAX_CHIPS];

	abi_device_arch(device, c, arch);
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t id = c->id[i];
		uint64_t bit;

		if (id >= TTMEM_MAX_DEVICES)
			continue;
		bit = UINT64_C(1) << (id % 64);
		if (atomic_load_explicit(&chips_noted[id / 64], memory_order_relaxed) & bit)
			continue;
		ttmem_device_note(lc.table, id, arch[i]);
		atomic_fetch_or_explicit(&chips_noted[id / 64], bit, memory_order_relaxed);
	}
}

static inline void note_chips(const void *device, const struct abi_chips *c)
{
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t id = c->id[i];

		if (id < TTMEM_MAX_DEVICES &&
		    !(atomic_load_explicit(&chips_noted[id / 64], memory_order_relaxed) &
		      (UINT64_C(1) << (id % 64)))) {
			note_chips_slow(device, c);
			return;
		}
	}
}

static inline __attribute__((always_inline)) void insert_on_chips(struct ttmem_entry *e,
								   const struct abi_chips *c)
{
	if (c->is_mesh)
		e->flags |= TTMEM_SLOT_F_MESH;
	for (uint32_t i = 0; i < c->n; i++) {
		e->key.device = c->id[i];
		if (owned_insert(lc.table, e) == TTMEM_EFULL)
			log_warn_once("the segment's table is full: some allocations are not "
				      "recorded (recreate it with a larger TTMEM_CAPACITY)");
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
	e->alloc_ns = now_ns();
	callsite_get(ret, cfa, &e->module, &e->callsite);
}

/* Sweep `f` and count what it removed as released in bulk. */
static void release(const struct ttmem_filter *f)
{
	struct ttmem_tally t;

	memset(&t, 0, sizeof(t));
	if (owned_sweep(lc.table, f, &t) <= 0 || !lc.proc)
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

/* ---- circular buffers: the keys this process inserted, per chip ---------------- */

/*
 * track_deallocate_cb(device) frees all of a device's circular buffers at
 * once, before every program launch: the keys we inserted for its chips are
 * kept here, so that the free removes exactly those (O(CBs)) instead of
 * sweeping the whole table (O(capacity)) once per chip.  Private to this
 * process: a fork child starts empty (its parent's CBs are not its own).
 * Touched only from inside the tracker's re-entry guard, so nothing here is
 * allocated or locked while re-entered.
 */
struct cb_key {
	uint64_t address;
	uint8_t mesh;            /* inserted with TTMEM_SLOT_F_MESH */
};

struct cb_chip {
	uint32_t chip;           /* hash key */
	uint32_t n, cap;
	struct cb_key *keys;
	UT_hash_handle hh;
};

static struct cb_chip *cb_chips;          /* uthash, under cb_lock */
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;

/* The chip's record, created if needed; NULL when out of memory. */
static struct cb_chip *cb_chip_get(uint32_t chip, int create)
{
	struct cb_chip *r;

	HASH_FIND(hh, cb_chips, &chip, sizeof(chip), r);
	if (r || !create)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->chip = chip;
	cb_index_oom = 0;
	HASH_ADD(hh, cb_chips, chip, sizeof(r->chip), r);
	if (cb_index_oom) {
		free(r);
		return NULL;
	}
	return r;
}

/* Remember `address` on `chip`; -1 when out of memory. */
static int cb_index_add(uint32_t chip, uint64_t address, int mesh)
{
	struct cb_chip *r = cb_chip_get(chip, 1);

	if (!r)
		return -1;
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;
		struct cb_key *k = realloc(r->keys, cap * sizeof(*k));
		if (!k)
			return -1;
		r->keys = k;
		r->cap = cap;
	}
	r->keys[r->n].address = address;
	r->keys[r->n].mesh = (uint8_t)mesh;
	r->n++;
	return 0;
}

/* Forget the chip's keys (their entries were released by a sweep); with
 * `only_mesh` >= 0, only the keys whose mesh flag equals it. */
static void cb_index_drop_locked(uint32_t chip, int only_mesh)
{
	struct cb_chip *r = cb_chip_get(chip, 0);
	uint32_t kept = 0;

	if (!r)
		return;
	if (only_mesh >= 0)
		for (uint32_t i = 0; i < r->n; i++)
			if (r->keys[i].mesh != only_mesh)
				r->keys[kept++] = r->keys[i];
	r->n = kept;
}

static void cb_index_drop(const struct abi_chips *c, int only_mesh)
{
	pthread_mutex_lock(&cb_lock);
	for (uint32_t i = 0; i < c->n; i++)
		cb_index_drop_locked(c->id[i], only_mesh);
	pthread_mutex_unlock(&cb_lock);
}

void tracker_atfork_prepare(void)
{
	pthread_mutex_lock(&cb_lock);
}

void tracker_atfork_parent(void)
{
	pthread_mutex_unlock(&cb_lock);
}

void tracker_atfork_child(void)
{
	struct cb_chip *r, *tmp;

	/* The child inherits none of its parent's entries. */
	HASH_ITER(hh, cb_chips, r, tmp) {
		HASH_DEL(cb_chips, r);
		free(r->keys);
		free(r);
	}
	cb_chips = NULL;
	pthread_mutex_unlock(&cb_lock);
}

/* ---- events -------------------------------------------------------------------- */

void tracker_on_alloc(const void *buffer, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	struct abi_buffer b;
	struct abi_chips c;
	struct ttmem_entry e;

	if (abi_buffer_read(buffer, &b) != 0 || chips_of(&b, &c, 1) != 0)
		goto leave_;
	if (b.device)
		note_chips(b.device, &c);
	fill_entry(&e, b.address, abi_space_of(b.type), b.type, b.size, ret, cfa);
	insert_on_chips(&e, &c);
	TRACKER_END;
}

void tracker_on_free(const void *buffer)
{
	TRACKER_BEGIN;
	struct abi_buffer b;
	struct abi_chips c;
	struct ttmem_key k;

	if (abi_buffer_key(buffer, &b) != 0 || chips_of(&b, &c, 0) != 0)
		goto leave_;
	k.address = b.address;
	k.space = abi_space_of(b.type);
	/* Only our own entries go: a forked child destroying a buffer object
	 * it inherited leaves its parent's entry alone (ttmem_remove removes
	 * only the calling process's entry; the free counts as unmatched). */
	for (uint32_t i = 0; i < c.n; i++) {
		k.device = c.id[i];
		owned_remove(lc.table, &k, NULL);
	}
	TRACKER_END;
}

void tracker_on_cb_alloc(uint64_t addr, uint64_t size, int globally_allocated,
			 const void *device, void *ret, void *cfa)
{
	TRACKER_BEGIN;
	struct abi_chips c;
	struct ttmem_entry e;
	uint64_t seq;

	(void)globally_allocated;
	if (size == 0 || abi_device_chips(device, &c) != 0)
		goto leave_;
	note_chips(device, &c);
	seq = atomic_fetch_add_explicit(&cb_sequence, 1, memory_order_relaxed) + 1;
	fill_entry(&e, (addr & 0xffffffffu) | (seq << 32), TTMEM_SPACE_CB, TTMEM_TYPE_CB,
		   size, ret, cfa);
	if (c.is_mesh)
		e.flags |= TTMEM_SLOT_F_MESH;
	pthread_mutex_lock(&cb_lock);
	for (uint32_t i = 0; i < c.n; i++) {
		int rc;

		e.key.device = c.id[i];
		rc = owned_insert(lc.table, &e);
		if (rc == TTMEM_EFULL) {
			log_warn_once("the segment's table is full: some allocations are not "
				      "recorded (recreate it with a larger TTMEM_CAPACITY)");
		} else if (rc >= 0 && cb_index_add(c.id[i], e.key.address, c.is_mesh) != 0) {
			/* Unindexed, it could only be freed by a sweep: not at all. */
			owned_remove(lc.table, &e.key, NULL);
			log_warn_once("out of memory: some circular buffers are not recorded");
		}
	}
	pthread_mutex_unlock(&cb_lock);
	TRACKER_END;
}

/* A reported free of all the device's CBs: exactly the keys we inserted. */
void tracker_on_cb_free_all(const void *device)
{
	TRACKER_BEGIN;
	struct abi_chips c;
	struct ttmem_key k = { .space = TTMEM_SPACE_CB };

	if (abi_device_chips(device, &c) != 0)
		goto leave_;
	pthread_mutex_lock(&cb_lock);
	for (uint32_t i = 0; i < c.n; i++) {
		struct cb_chip *r = cb_chip_get(c.id[i], 0);

		if (!r)
			continue;
		k.device = c.id[i];
		for (uint32_t j = 0; j < r->n; j++) {
			k.address = r->keys[j].address;
			owned_remove(lc.table, &k, NULL);
		}
		r->n = 0;
	}
	pthread_mutex_unlock(&cb_lock);
	TRACKER_END;
}

int tracker_device_closing(const void *device, struct abi_chips *chips)
{
	int saved = errno, ok = -1;

	if (guard_enter()) {
		if (lifecycle_ready()) {
			ok = abi_device_chips(device, chips);
			/* A device opened and closed without a tracked buffer
			 * is still a chip the viewer should list. */
			if (ok == 0)
				note_chips(device, chips);
		}
		guard_leave();
	}
	errno = saved;
	return ok;
}

void tracker_device_closed(const void *device, const struct abi_chips *chips)
{
	TRACKER_BEGIN;
	release_chips(chips);
	cb_index_drop(chips, -1);   /* the sweep released them */
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
	cb_index_drop(c, c->is_mesh ? 1 : 0);
}

void tracker_allocator_freed(const void *allocator)
{
	TRACKER_BEGIN;
	struct abi_chips c;

	if (abi_allocator_chips(allocator, &c) == 0)
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
