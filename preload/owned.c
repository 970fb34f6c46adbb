/* SPDX-License-Identifier: MIT */
/*
 * The index of this process's own entries (see owned.h).
 *
 * Why an index and not one pass per close: a close of an N-chip mesh
 * releases per chip, per command queue, per memory manager and per
 * allocator, O(chips x owners) releases, each of which was a sweep over the
 * whole table.  Folding them into one pass per close would still cost
 * O(capacity) per close, 4 MiB of meta bytes at 4M slots, more than the
 * close itself; only an index makes a close cost what it releases.
 *
 * Structure (private memory, one lock):
 *   - a node per remembered key: (address, chip, space) plus what the
 *     filters of the releases look at (type, owner, flags);
 *   - a hash set of the nodes by key (linear probing, backward-shift
 *     deletion: no tombstones, so churn does not degrade it);
 *   - per chip two lists, mesh and chip-local entries (a device close takes
 *     both, an allocator's bulk free one of them), chips beyond the device
 *     table share one list;
 *   - per system owner (command queue, memory manager: kind, id) a list,
 *     found through a second hash set (the last one used is cached: its
 *     constructor allocates several buffers in a row); an owner whose list
 *     empties is dropped, so closed devices leave nothing behind.  The
 *     application owner has no list (nothing destroys it; a release by it
 *     walks all nodes), which keeps the common event cheap.
 * A release walks exactly the list its filter names and passes the keys to
 * the table's keyed sweep in chunks; the exit record walks all nodes.
 *
 * Why the index stays a superset of our live entries (never misses one):
 *   - only this process's inserts put its pid in a slot, and every insert
 *     that returned success is remembered after it returned;
 *   - a key is forgotten only (a) by owned_remove, BEFORE ttmem_remove: an
 *     insert of the same key racing with it is remembered after its insert,
 *     so it is either removed by that remove (its node then is a harmless
 *     extra) or remembered after the forget; when the remove fails for
 *     another reason than "not ours / not live" (TTMEM_ENOTFOUND), the key
 *     is remembered again; or (b) by a release that matched it, which then
 *     sweeps it from the table (under the lock, so no add interleaves);
 *   - `ttmem clear`, a key replaced by another process, a reap: they only
 *     take entries away, leaving extra nodes, which the keyed sweep skips
 *     (not live in this epoch, not our pid) and which go at the next free,
 *     insert or release of the key;
 *   - fork: the child starts empty (its parent's entries are not its own);
 *     threads: one lock around every change; the tracker's re-entry guard
 *     keeps a signal handler on a thread that holds it from re-entering.
 * So "sweep the indexed keys matching f" removes exactly what "sweep the
 * table matching f" removed, and the exit tally counts exactly the same.
 *
 * Cost per tracked event: one uncontended lock (one atomic exchange, a plain
 * release store), one hash probe, two list links or unlinks; memory ~56
 * bytes per live entry plus the hash sets at <= 50% load.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "log.h"
#include "owned.h"
#include "refset.h"
#include "spinlock.h"

/* References are index + 1, so that 0 is "none" and a zeroed index is empty. */
typedef uint32_t ref_t;

struct node {
	uint64_t address;
	uint64_t owner_id;
	uint32_t device;
	uint8_t space, type, owner_kind, flags;
	ref_t chip_prev, chip_next;      /* chip list; chip_next links the free list */
	ref_t own_prev, own_next;        /* owner list */
	ref_t owner;                     /* its list; 0: the application (no list) */
	uint8_t used;                    /* 0: on the free list */
};

struct owner {
	uint64_t id;
	uint8_t kind;
	ref_t head;                      /* 0: the record is free (next_free links it) */
	ref_t next_free;
};

#define CHIP_BUCKETS (TTMEM_MAX_DEVICES + 1)   /* the last: ids beyond the table */
#define KEY_CHUNK 256                         /* keys per keyed table call */

static struct {
	struct node *nodes;
	uint32_t n_nodes, cap_nodes;
	ref_t free_nodes;
	struct owner *owners;
	uint32_t n_owners, cap_owners;
	ref_t free_owners;
	struct refset keys, owner_set;
	ref_t chip_head[CHIP_BUCKETS][2];        /* [chip][mesh] */
	struct owner last;                       /* the owner found last (head = its ref) */
	uint32_t pid;                            /* whose keys; 0: none yet */
} ix;

static atomic_int ix_lock;
static atomic_int ix_broken;   /* out of memory once: full-table operations from then on */

/* ---- the lock (spinlock.h) ------------------------------------------------------ */

static inline void lock(void)
{
	spin_lock(&ix_lock);
}

static inline void unlock(void)
{
	spin_unlock(&ix_lock);
}

/* ---- hash sets ------------------------------------------------------------------ */

static inline uint32_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= UINT64_C(0x9e3779b97f4a7c15);
	x ^= x >> 29;
	return (uint32_t)(x >> 32);
}

static inline uint32_t key_hash(uint64_t address, uint32_t device, uint8_t space)
{
	return mix(address ^ (((uint64_t)device << 8 | space) * UINT64_C(0xbf58476d1ce4e5b9)));
}

static inline uint32_t owner_hash(uint8_t kind, uint64_t id)
{
	return mix(id ^ ((uint64_t)kind * UINT64_C(0xbf58476d1ce4e5b9)));
}

static inline int node_is(const struct node *n, uint64_t address, uint32_t device, uint8_t space)
{
	return n->address == address && n->device == device && n->space == space;
}

/* Position of the node with this key in ix.keys, or -1 (then *empty, when
 * not NULL, is where it would go). */
static inline int64_t keys_find(uint32_t h, uint64_t address, uint32_t device, uint8_t space,
				uint32_t *empty)
{
	if (!ix.keys.mask)
		return -1;
	for (uint32_t pos = h & ix.keys.mask;; pos = (pos + 1) & ix.keys.mask) {
		uint64_t s = ix.keys.slot[pos];
		if (!s) {
			if (empty)
				*empty = pos;
			return -1;
		}
		if ((uint32_t)(s >> 32) == h &&
		    node_is(&ix.nodes[(uint32_t)s - 1], address, device, space))
			return pos;
	}
}

static int64_t owners_find(uint32_t h, uint8_t kind, uint64_t id)
{
	if (!ix.owner_set.mask)
		return -1;
	for (uint32_t pos = h & ix.owner_set.mask;; pos = (pos + 1) & ix.owner_set.mask) {
		uint64_t s = ix.owner_set.slot[pos];
		if (!s)
			return -1;
		const struct owner *o = &ix.owners[(uint32_t)s - 1];
		if ((uint32_t)(s >> 32) == h && o->kind == kind && o->id == id)
			return pos;
	}
}

/* ---- lists ---------------------------------------------------------------------- */

#define NODE(r) (&ix.nodes[(r) - 1])

static inline ref_t *chip_head_of(const struct node *n)
{
	uint32_t b = n->device < TTMEM_MAX_DEVICES ? n->device : TTMEM_MAX_DEVICES;
	return &ix.chip_head[b][n->flags & TTMEM_SLOT_F_MESH ? 1 : 0];
}

static inline void link_node(ref_t r)
{
	struct node *n = NODE(r);
	ref_t *ch = chip_head_of(n), *oh;

	n->chip_prev = 0;
	n->chip_next = *ch;
	if (*ch)
		NODE(*ch)->chip_prev = r;
	*ch = r;
	if (!n->owner)
		return;
	oh = &ix.owners[n->owner - 1].head;
	n->own_prev = 0;
	n->own_next = *oh;
	if (*oh)
		NODE(*oh)->own_prev = r;
	*oh = r;
}

static void owner_release(ref_t o);

static inline void unlink_node(ref_t r)
{
	struct node *n = NODE(r);
	struct owner *o;

	if (n->chip_prev)
		NODE(n->chip_prev)->chip_next = n->chip_next;
	else
		*chip_head_of(n) = n->chip_next;
	if (n->chip_next)
		NODE(n->chip_next)->chip_prev = n->chip_prev;
	if (!n->owner)
		return;
	o = &ix.owners[n->owner - 1];
	if (n->own_prev)
		NODE(n->own_prev)->own_next = n->own_next;
	else
		o->head = n->own_next;
	if (n->own_next)
		NODE(n->own_next)->own_prev = n->own_prev;
	if (!o->head)
		owner_release(n->owner);
}

/* ---- records -------------------------------------------------------------------- */

/* Room for element n of a growable array (doubling from `first`); -1 out of
 * memory (the array is left as it was). */
static int array_room(void **a, size_t size, uint32_t n, uint32_t *cap, uint32_t first)
{
	if (n < *cap)
		return 0;
	uint32_t c = *cap ? *cap * 2 : first;
	void *grown = realloc(*a, c * size);
	if (!grown)
		return -1;
	*a = grown;
	*cap = c;
	return 0;
}

/* The owner record of (kind, id), created when needed; 0 out of memory. */
static ref_t owner_get(uint8_t kind, uint64_t id)
{
	uint32_t h;
	int64_t pos;
	ref_t r;

	if (ix.last.head && ix.last.kind == kind && ix.last.id == id)
		return ix.last.head;
	h = owner_hash(kind, id);
	pos = owners_find(h, kind, id);
	if (pos >= 0) {
		r = (ref_t)ix.owner_set.slot[pos];
		goto found;
	}
	if (refset_reserve(&ix.owner_set) != 0)
		return 0;
	if (ix.free_owners) {
		r = ix.free_owners;
		ix.free_owners = ix.owners[r - 1].next_free;
	} else {
		if (array_room((void **)&ix.owners, sizeof(*ix.owners), ix.n_owners, &ix.cap_owners,
			       64) != 0)
			return 0;
		r = ++ix.n_owners;
	}
	ix.owners[r - 1] = (struct owner){ .id = id, .kind = kind };
	refset_put(&ix.owner_set, (uint64_t)h << 32 | r);
found:
	ix.last = (struct owner){ .id = id, .kind = kind, .head = r };
	return r;
}

/* The owner's list emptied: drop its record. */
static void owner_release(ref_t r)
{
	struct owner *o = &ix.owners[r - 1];
	int64_t pos = owners_find(owner_hash(o->kind, o->id), o->kind, o->id);

	if (pos >= 0)
		refset_erase(&ix.owner_set, (uint32_t)pos);
	if (ix.last.head == r)
		ix.last.head = 0;
	o->next_free = ix.free_owners;
	ix.free_owners = r;
}

static ref_t node_alloc(void)
{
	ref_t r;

	if (ix.free_nodes) {
		r = ix.free_nodes;
		ix.free_nodes = NODE(r)->chip_next;
		return r;
	}
	if (array_room((void **)&ix.nodes, sizeof(*ix.nodes), ix.n_nodes, &ix.cap_nodes, 256) != 0)
		return 0;
	return ++ix.n_nodes;
}

/* Drop node r, whose key sits at `pos` of ix.keys. */
static void node_drop(ref_t r, uint32_t pos)
{
	unlink_node(r);
	refset_erase(&ix.keys, pos);
	NODE(r)->used = 0;
	NODE(r)->chip_next = ix.free_nodes;
	ix.free_nodes = r;
}

static void node_drop_ref(ref_t r)
{
	const struct node *n = NODE(r);
	int64_t pos = keys_find(key_hash(n->address, n->device, n->space), n->address, n->device,
				n->space, NULL);

	if (pos >= 0)
		node_drop(r, (uint32_t)pos);
}

static void ix_free_all(void)
{
	free(ix.nodes);
	free(ix.owners);
	free(ix.keys.slot);
	free(ix.owner_set.slot);
	memset(&ix, 0, sizeof(ix));
}

/* Out of memory: give the index up for good (the full-table operations
 * stay exact), under the lock. */
static void give_up(void)
{
	atomic_store_explicit(&ix_broken, 1, memory_order_relaxed);
	ix_free_all();
	log_warn_once("out of memory for the index of this process's entries: releases at "
		      "close now read the whole table");
}

/* Remember (insert or update) the entry's key; under the lock. */
static inline __attribute__((always_inline)) void remember(const struct ttmem_entry *e)
{
	const struct ttmem_key *k = &e->key;
	uint32_t h = key_hash(k->address, k->device, k->space), empty = 0;
	int64_t pos;
	ref_t r, o = 0;

	if (__builtin_expect(!ix.pid, 0))
		ix.pid = (uint32_t)getpid();
	if (refset_reserve(&ix.keys) != 0) {
		give_up();
		return;
	}
	pos = keys_find(h, k->address, k->device, k->space, &empty);
	if (pos >= 0) {
		/* The key again (replaced in place): it may have changed owner. */
		r = (ref_t)ix.keys.slot[pos];
		unlink_node(r);
	} else {
		if (!(r = node_alloc())) {
			give_up();
			return;
		}
		ix.keys.slot[empty] = (uint64_t)h << 32 | r;
		ix.keys.used++;
	}
	if (e->owner_kind != TTMEM_OWNER_APP || e->owner_id) {
		o = owner_get(e->owner_kind, e->owner_id);
		if (!o) {
			give_up();
			return;
		}
	}
	struct node *n = NODE(r);
	n->address = k->address;
	n->device = k->device;
	n->space = k->space;
	n->type = e->type;
	n->owner_kind = e->owner_kind;
	n->flags = e->flags;
	n->owner_id = e->owner_id;
	n->owner = o;
	n->used = 1;
	link_node(r);
}

/* ---- the operations ------------------------------------------------------------- */

static inline int broken(void)
{
	return atomic_load_explicit(&ix_broken, memory_order_relaxed);
}

int owned_insert(struct ttmem_table *t, const struct ttmem_entry *e)
{
	int rc = ttmem_insert(t, e);

	if (rc >= 0 && !broken()) {
		lock();
		if (!broken())
			remember(e);
		unlock();
	}
	return rc;
}

int owned_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out)
{
	struct ttmem_entry again;
	int had = 0, rc;

	if (!broken()) {
		uint32_t h = key_hash(k->address, k->device, k->space);
		lock();
		int64_t pos = broken() ? -1 : keys_find(h, k->address, k->device, k->space, NULL);
		if (pos >= 0) {
			const struct node *n = NODE((ref_t)ix.keys.slot[pos]);
			/* What remember() reads, for the rare failure below. */
			again.key = *k;
			again.type = n->type;
			again.owner_kind = n->owner_kind;
			again.owner_id = n->owner_id;
			again.flags = n->flags;
			node_drop((ref_t)ix.keys.slot[pos], (uint32_t)pos);
			had = 1;
		}
		unlock();
	}
	rc = ttmem_remove(t, k, out);
	/* Not removed, and not because the key is not ours or not live: our
	 * entry may still be there, so keep remembering it. */
	if (had && rc != 0 && rc != TTMEM_ENOTFOUND) {
		lock();
		if (!broken())
			remember(&again);
		unlock();
	}
	return rc;
}

static inline int node_matches(const struct node *n, const struct ttmem_filter *f)
{
	if (f->match_device && n->device != f->device)
		return 0;
	if (f->match_owner && (n->owner_kind != f->owner_kind || n->owner_id != f->owner_id))
		return 0;
	if (f->match_type && n->type != f->type)
		return 0;
	if (f->match_flags && (n->flags & f->flags_mask) != f->flags)
		return 0;
	return 1;
}

/* What a walk does with the keys of the matching nodes. */
struct walk {
	struct ttmem_table *t;
	const struct ttmem_filter *f;
	struct ttmem_tally *tally;
	int drop;                        /* sweep (and forget) rather than tally */
	int64_t n;
	size_t used;
	struct ttmem_key keys[KEY_CHUNK];
};

static void walk_flush(struct walk *w)
{
	int64_t n;

	if (!w->used)
		return;
	n = w->drop ? ttmem_sweep_keys(w->t, w->f, w->keys, w->used, w->tally)
		    : ttmem_tally_keys(w->t, w->f, w->keys, w->used, w->tally);
	if (n > 0)
		w->n += n;
	w->used = 0;
}

static void walk_node(struct walk *w, ref_t r)
{
	const struct node *n = NODE(r);

	if (!node_matches(n, w->f))
		return;
	w->keys[w->used].address = n->address;
	w->keys[w->used].device = n->device;
	w->keys[w->used].space = n->space;
	if (++w->used == KEY_CHUNK)
		walk_flush(w);
	if (w->drop)
		node_drop_ref(r);
}

/* Visit the nodes that can match w->f: the owner's list, the chip's
 * list(s), or all of them.  Under the lock; the next link is read before a
 * node is dropped. */
static void walk_index(struct walk *w)
{
	const struct ttmem_filter *f = w->f;
	ref_t r, next;

	if (f->match_owner && (f->owner_kind != TTMEM_OWNER_APP || f->owner_id)) {
		int64_t pos = owners_find(owner_hash(f->owner_kind, f->owner_id), f->owner_kind,
					  f->owner_id);
		for (r = pos >= 0 ? ix.owners[(uint32_t)ix.owner_set.slot[pos] - 1].head : 0; r;
		     r = next) {
			next = NODE(r)->own_next;
			walk_node(w, r);
		}
	} else if (f->match_device) {
		uint32_t b = f->device < TTMEM_MAX_DEVICES ? f->device : TTMEM_MAX_DEVICES;
		for (int mesh = 0; mesh < 2; mesh++) {
			if (f->match_flags && (f->flags_mask & TTMEM_SLOT_F_MESH) &&
			    !!(f->flags & TTMEM_SLOT_F_MESH) != mesh)
				continue;
			for (r = ix.chip_head[b][mesh]; r; r = next) {
				next = NODE(r)->chip_next;
				walk_node(w, r);
			}
		}
	} else {
		for (r = 1; r <= ix.n_nodes; r++)
			if (NODE(r)->used)
				walk_node(w, r);
	}
	walk_flush(w);
}

static int64_t walk(struct ttmem_table *t, const struct ttmem_filter *f, struct ttmem_tally *tally,
		    int drop)
{
	struct walk w;
	int64_t n = -1;

	w.t = t;
	w.f = f;
	w.tally = tally;
	w.drop = drop;
	w.n = 0;
	w.used = 0;
	lock();
	/* Another pid's entries (an exec'ed predecessor's, say) were never
	 * ours to index: only the table knows them.  (Close time: getpid's
	 * system call is fine here.) */
	if (!broken() && f->pid == (ix.pid ? ix.pid : (uint32_t)getpid())) {
		walk_index(&w);
		n = w.n;
	}
	unlock();
	if (n >= 0)
		return n;
	return drop ? ttmem_sweep(t, f, tally) : ttmem_tally(t, f, tally);
}

int64_t owned_sweep(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally)
{
	return walk(t, f, tally, 1);
}

int64_t owned_tally(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally)
{
	return walk(t, f, tally, 0);
}

void owned_atfork_prepare(void)
{
	lock();
}

void owned_atfork_parent(void)
{
	unlock();
}

void owned_atfork_child(void)
{
	ix_free_all();
	atomic_store_explicit(&ix_broken, 0, memory_order_relaxed);
	unlock();
}
