/* SPDX-License-Identifier: MIT */
/*
 * Circular buffers as upstream reports them (see cb_model.h).
 *
 * Two indexes, both private to this process and under cb_lock:
 *  - per chip, the CB entries this process has in the table (key, end of
 *    the range, mesh flag): a chip holds the CBs of one program at a time, so a few
 *    dozen at most, and eviction scans them;
 *  - per program announced by track_program, the CBs reported for it
 *    (address, size), to replay a launch from the program cache;
 *  - per device launched on, the program resident there (see cb_model.h):
 *    a fixed array of records found by the device's address; each chip
 *    points at the record whose program placed its CBs last (its holder),
 *    so a placement by anyone else voids that record in O(1).  A record
 *    reused for another device may void a record spuriously (one more
 *    replay), never keep one valid wrongly: every placement on a chip goes
 *    through its holder.
 * Allocation failures leave the table consistent: an entry that cannot be
 * indexed is removed again (it could never be evicted), a program that
 * cannot be remembered is not replayed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* An allocation failure inside uthash sets a flag instead of exiting. */
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (cb_oom = 1)
static int cb_oom;
#include <uthash.h>

#include "ttmem/table.h"

#include "cb_model.h"
#include "state.h"
#include "log.h"
#include "owned.h"
#include "peaks.h"

/* Programs remembered at most; past that the oldest half is forgotten
 * (a launch of one of them from the cache then shows the CBs last
 * reported instead). */
#define CB_MAX_PROGRAMS 4096u

struct cb_live {
	uint64_t key;            /* table key address (with the sequence) */
	uint64_t end;            /* end of its L1 range */
	uint8_t mesh;            /* inserted with TTMEM_SLOT_F_MESH */
};

struct cb_resident;

struct cb_chip {
	uint32_t chip;           /* hash key */
	uint32_t n, cap;
	struct cb_live *live;
	struct cb_resident *holder;   /* record whose program placed its CBs last */
	UT_hash_handle hh;
};

/* The program resident on a device's chips: valid while `valid` holds and
 * no sweep (cb_gen) and no clear of the table (epoch) happened since. */
struct cb_resident {
	const void *device;      /* NULL: free */
	const void *program;
	uint64_t gen, epoch;
	int valid;
};

#define CB_RESIDENT 64u          /* power of two */

struct cb_span {
	uint64_t addr, size;
};

struct cb_program {
	const void *program;     /* hash key */
	uint32_t n, cap;
	struct cb_span *spans;
	UT_hash_handle hh;
};

static struct cb_chip *cb_chip_by_id[TTMEM_MAX_DEVICES];   /* the usual chip ids */
static struct cb_chip *cb_chips;                            /* uthash: any other id */
static struct cb_program *cb_programs;   /* in insertion order (uthash keeps it) */
static unsigned cb_program_count;
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t cb_sequence;
static struct cb_resident cb_resident[CB_RESIDENT];
static uint64_t cb_gen = 1;      /* bumped by every sweep of CB entries */

/* The program track_program announced last on this thread, and whether no
 * CB was reported for it since (the first report replaces what it had). */
static __thread const void *announced __attribute__((tls_model("initial-exec")));
static __thread const void *announced_dev __attribute__((tls_model("initial-exec")));
static __thread int announced_fresh __attribute__((tls_model("initial-exec")));

static uint64_t table_epoch(void)
{
	return atomic_load_explicit(&ttmem_table_header(lc.table)->clear_epoch,
				    memory_order_acquire);
}

static inline unsigned resident_hash(const void *device)
{
	return (unsigned)(((uint64_t)(uintptr_t)device * UINT64_C(0x9e3779b97f4a7c15)) >> 58) &
	       (CB_RESIDENT - 1);
}

/* The record of `device` (under cb_lock); with `create` one is made,
 * taking over the home slot when the probe finds no free one. */
static struct cb_resident *resident_get(const void *device, int create)
{
	unsigned h = resident_hash(device);

	if (!device)
		return NULL;
	for (unsigned i = 0; i < 4; i++) {
		struct cb_resident *r = &cb_resident[(h + i) & (CB_RESIDENT - 1)];

		if (r->device == device)
			return r;
		if (!r->device) {
			if (!create)
				return NULL;
			*r = (struct cb_resident){ .device = device };
			return r;
		}
	}
	if (!create)
		return NULL;
	cb_resident[h] = (struct cb_resident){ .device = device };
	return &cb_resident[h];
}

/* Grow *v (elements of `size` bytes, *cap of them) to hold n + 1. */
static int reserve(void **v, uint32_t *cap, uint32_t n, size_t size)
{
	void *p;
	uint32_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = realloc(*v, c * size);
	if (!p)
		return -1;
	*v = p;
	*cap = c;
	return 0;
}

/* The chip's record (created if `create`); NULL when absent or out of
 * memory.  Looked up once per chip per CB report: a direct index for ids
 * below TTMEM_MAX_DEVICES. */
static struct cb_chip *chip_get(uint32_t chip, int create)
{
	struct cb_chip *r;

	if (chip < TTMEM_MAX_DEVICES)
		r = cb_chip_by_id[chip];
	else
		HASH_FIND(hh, cb_chips, &chip, sizeof(chip), r);
	if (r || !create)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->chip = chip;
	if (chip < TTMEM_MAX_DEVICES) {
		cb_chip_by_id[chip] = r;
		return r;
	}
	cb_oom = 0;
	HASH_ADD(hh, cb_chips, chip, sizeof(r->chip), r);
	if (cb_oom) {
		free(r);
		return NULL;
	}
	return r;
}

static void program_free(struct cb_program *p)
{
	HASH_DEL(cb_programs, p);
	free(p->spans);
	free(p);
	cb_program_count--;
}

static struct cb_program *program_get(const void *program, int create)
{
	struct cb_program *p, *tmp;

	HASH_FIND_PTR(cb_programs, &program, p);
	if (p || !create)
		return p;
	if (cb_program_count >= CB_MAX_PROGRAMS) {
		unsigned drop = cb_program_count / 2;

		HASH_ITER(hh, cb_programs, p, tmp) {
			if (!drop--)
				break;
			program_free(p);
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->program = program;
	cb_oom = 0;
	HASH_ADD_PTR(cb_programs, program, p);
	if (cb_oom) {
		free(p);
		return NULL;
	}
	cb_program_count++;
	return p;
}

/* Evict this process's CB entries on `r`'s chip that end above `addr`. */
static void evict_from(struct cb_chip *r, uint64_t addr)
{
	struct ttmem_key k = { .device = r->chip, .space = TTMEM_SPACE_CB };
	uint32_t kept = 0;

	for (uint32_t i = 0; i < r->n; i++) {
		if (r->live[i].end > addr) {
			k.address = r->live[i].key;
			peaks_remove(lc.table, &k, NULL, TTMEM_TYPE_CB);
		} else {
			r->live[kept++] = r->live[i];
		}
	}
	r->n = kept;
}

/* Place one CB on every chip of `c` (under cb_lock) for the program
 * resident by `cur` (NULL: a launch nothing announced). */
static void place_locked(const struct abi_chips *c, struct ttmem_entry *e, uint64_t addr,
			 struct cb_resident *cur)
{
	uint64_t seq = atomic_fetch_add_explicit(&cb_sequence, 1, memory_order_relaxed) + 1;

	e->key.address = (addr & 0xffffffffu) | (seq << 32);
	e->key.space = TTMEM_SPACE_CB;
	for (uint32_t i = 0; i < c->n; i++) {
		struct cb_chip *r = chip_get(c->id[i], 1);
		int rc;

		if (r) {
			evict_from(r, addr);
			if (r->holder != cur) {
				if (r->holder)
					r->holder->valid = 0;
				r->holder = cur;
			}
		}
		e->key.device = c->id[i];
		rc = peaks_insert(lc.table, e, NULL);
		if (rc < 0 && cur)
			cur->valid = 0;   /* not all there: replay at the next launch */
		if (rc == TTMEM_EFULL) {
			state_flag(TTMEM_PROC_F_TABLE_FULL);
			log_warn_once("the segment's table is full: some allocations are not "
				      "recorded (recreate it with a larger TTMEM_CAPACITY)");
			continue;
		}
		if (rc < 0)
			continue;
		if (!r || reserve((void **)&r->live, &r->cap, r->n, sizeof(*r->live)) != 0) {
			if (cur)
				cur->valid = 0;
			/* Unindexed, it could never be evicted: not at all. */
			peaks_remove(lc.table, &e->key, NULL, TTMEM_TYPE_CB);
			state_flag(TTMEM_PROC_F_HOOK_LOST);
			log_warn_once("out of memory: some circular buffers are not recorded");
			continue;
		}
		r->live[r->n++] = (struct cb_live){ .key = e->key.address, .end = addr + e->size,
						    .mesh = (uint8_t)!!c->is_mesh };
	}
}

void cb_model_place(const struct abi_chips *c, struct ttmem_entry *e, uint64_t addr)
{
	if (c->is_mesh)
		e->flags |= TTMEM_SLOT_F_MESH;
	pthread_mutex_lock(&cb_lock);
	place_locked(c, e, addr, announced ? resident_get(announced_dev, 1) : NULL);
	if (announced) {
		struct cb_program *p = program_get(announced, 1);

		if (p && announced_fresh)
			p->n = 0;
		announced_fresh = 0;
		if (p && reserve((void **)&p->spans, &p->cap, p->n, sizeof(*p->spans)) == 0)
			p->spans[p->n++] = (struct cb_span){ .addr = addr, .size = e->size };
	}
	pthread_mutex_unlock(&cb_lock);
}

/* The launch track_program announced on this thread, until hook_program
 * says whether the program runs. */
static __thread struct {
	const void *program;
	const void *device;
} pending __attribute__((tls_model("initial-exec")));

void cb_model_program_announced(const void *program, const void *device)
{
	announced = program;
	announced_dev = device;
	announced_fresh = 1;
	pending.program = program;
	pending.device = device;
}

const void *cb_model_program_dispatched(const void *program, int launched)
{
	const struct cb_resident *r;
	const void *device = pending.device;
	int resident;

	if (!program || pending.program != program)
		return NULL;
	pending.program = NULL;
	if (!launched)
		return NULL;
	pthread_mutex_lock(&cb_lock);
	r = resident_get(device, 0);
	resident = r && r->program == program && r->valid && r->gen == cb_gen &&
		   r->epoch == table_epoch();
	pthread_mutex_unlock(&cb_lock);
	return resident ? NULL : device;
}

void cb_model_program_replay(const void *program, const void *device,
			     const struct abi_chips *c, const struct ttmem_entry *e)
{
	struct ttmem_entry tmpl = *e;
	struct cb_resident *r;
	struct cb_program *p;

	if (c->is_mesh)
		tmpl.flags |= TTMEM_SLOT_F_MESH;
	pthread_mutex_lock(&cb_lock);
	r = resident_get(device, 1);
	/* Valid from here on unless a placement below fails (place_locked);
	 * a program without CBs yet places them at this launch, reported. */
	if (r)
		*r = (struct cb_resident){ .device = device, .program = program, .gen = cb_gen,
					   .epoch = table_epoch(), .valid = 1 };
	p = program_get(program, 0);
	for (uint32_t i = 0; p && i < p->n; i++) {
		tmpl.size = p->spans[i].size;
		place_locked(c, &tmpl, p->spans[i].addr, r);
	}
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_invalidate(void)
{
	pthread_mutex_lock(&cb_lock);
	cb_gen++;
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_program_gone(const void *program)
{
	struct cb_program *p;

	if (announced == program)
		announced = NULL;
	if (pending.program == program)
		pending.program = NULL;
	pthread_mutex_lock(&cb_lock);
	p = program_get(program, 0);
	if (p)
		program_free(p);
	/* Another program may be made at its address. */
	for (unsigned i = 0; i < CB_RESIDENT; i++)
		if (cb_resident[i].program == program)
			cb_resident[i].valid = 0;
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_free_all(const struct abi_chips *c)
{
	pthread_mutex_lock(&cb_lock);
	for (uint32_t i = 0; i < c->n; i++) {
		struct cb_chip *r = chip_get(c->id[i], 0);

		if (r)
			evict_from(r, 0);
	}
	cb_gen++;
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_forget(const struct abi_chips *c, int only_mesh)
{
	pthread_mutex_lock(&cb_lock);
	for (uint32_t i = 0; i < c->n; i++) {
		struct cb_chip *r = chip_get(c->id[i], 0);
		uint32_t kept = 0;

		if (!r)
			continue;
		if (only_mesh >= 0)
			for (uint32_t j = 0; j < r->n; j++)
				if (r->live[j].mesh != only_mesh)
					r->live[kept++] = r->live[j];
		r->n = kept;
	}
	cb_gen++;
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_atfork_prepare(void)
{
	pthread_mutex_lock(&cb_lock);
}

void cb_model_atfork_parent(void)
{
	pthread_mutex_unlock(&cb_lock);
}

void cb_model_atfork_child(void)
{
	struct cb_chip *r, *rt;
	struct cb_program *p, *pt;

	for (unsigned i = 0; i < TTMEM_MAX_DEVICES; i++) {
		if (cb_chip_by_id[i]) {
			free(cb_chip_by_id[i]->live);
			free(cb_chip_by_id[i]);
			cb_chip_by_id[i] = NULL;
		}
	}
	HASH_ITER(hh, cb_chips, r, rt) {
		HASH_DEL(cb_chips, r);
		free(r->live);
		free(r);
	}
	HASH_ITER(hh, cb_programs, p, pt)
		program_free(p);
	cb_chips = NULL;
	cb_programs = NULL;
	memset(cb_resident, 0, sizeof(cb_resident));
	announced = NULL;
	pending.program = NULL;
	pthread_mutex_unlock(&cb_lock);
}
