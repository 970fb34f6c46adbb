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
 *   - a node per slot of the table, in an array mapped lazily
 *     (MAP_NORESERVE: only the pages of slots this process used are ever
 *     touched, and home groups keep those few): the table says where an
 *     insert put the entry and where a remove found it (ttmem_where), so
 *     no lookup of our own is needed.  A node holds the key plus what the
 *     filters of the releases look at (type, owner, flags), and the LIVE
 *     ctl word of the insertion it stands for (0: none; the node is
 *     "indexed" when not 0);
 *   - per chip two lists, mesh and chip-local entries (a device close takes
 *     both, an allocator's bulk free one of them), chips beyond the device
 *     table share one list; every linked node is on one of them;
 *   - per system owner (command queue, memory manager: kind, id) a list,
 *     found through a hash set (the last one used is cached: its
 *     constructor allocates several buffers in a row); an owner whose list
 *     empties at a sweep is dropped, so closed devices leave nothing
 *     behind.  The
 *     application owner has no list (nothing destroys it; a release by it
 *     walks the chip lists), which keeps the common event cheap.
 * A release walks exactly the list its filter names and passes the keys of
 * its indexed nodes to the table's keyed sweep in chunks; the exit record
 * walks the chip lists.
 *
 * Lazily unlinked: a remove only clears the node's LIVE word, and the node
 * stays on its lists.  The next insert into the slot, nearly always one on
 * the same chip for the same owner (home groups), then finds it already
 * where it belongs and only rewrites its fields; a sweep that walks past a
 * node standing for nothing takes it off its lists.  So an event touches
 * one node and no neighbour, and a release walks what it releases plus the
 * slots removed on its lists since the last sweep walked them (each once).
 *
 * Why the indexed nodes stay a superset of our live entries (never miss
 * one):
 *   - only this process's inserts put its pid in a slot, and every insert
 *     that returned success is indexed at its slot after it returned (a
 *     node still there, for an entry gone since, is rewritten or moved);
 *   - a node stops being indexed only (a) by owned_remove, after the
 *     table removed the entry, and only if the node still stands for that
 *     insertion (its LIVE ctl word is the one removed: the slot's sequence
 *     makes it unique,
 *     so a later entry another thread inserted into the freed slot, and
 *     indexed there first, stays); (b) by a release that matched it, which
 *     then sweeps its key from the table (under the lock, so no insert
 *     interleaves); or (c) by a later insert into its slot, whose entry it
 *     no longer is;
 *   - an entry removed before its insert linked it leaves a node that
 *     stands for nothing, and so do `ttmem clear`, a key replaced by
 *     another process, a reap: extra nodes, which the keyed sweep skips
 *     (not live in this epoch, not our pid) and which go at the next insert
 *     into the slot or the next release that walks them;
 *   - fork: the child starts empty (its parent's entries are not its own);
 *     threads: one lock around every change; the tracker's re-entry guard
 *     keeps a signal handler on a thread that holds it from re-entering;
 *   - the index serves one table (the first it is used with); another
 *     handle gets the plain table operations.
 * So "sweep the indexed keys matching f" removes exactly what "sweep the
 * table matching f" removed, and the exit tally counts exactly the same.
 *
 * Cost per tracked event: one uncontended lock (one atomic exchange, a plain
 * release store) and a few stores to a known node: no probe, no list
 * change (but when a slot changes chip or owner).
 * Memory: 48 bytes of address space per table slot, resident only for the
 * pages of slots this process used.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "log.h"
#include "owned.h"
#include "refset.h"
#include "spinlock.h"

/* References are slot + 1 (nodes) or index + 1 (owners), so that 0 is "none". */
typedef uint32_t ref_t;

struct node {
	uint64_t live;                   /* LIVE ctl word of its insertion; 0: none */
	uint64_t address;
	uint32_t device;
	uint8_t space, type, flags;
	uint8_t linked;                  /* on its lists (live or not) */
	ref_t chip_prev, chip_next;      /* chip list */
	ref_t own_prev, own_next;        /* owner list */
	ref_t owner;                     /* its owner (kind, id) and list; 0: the
					  * application, owner id 0 (no list) */
};
_Static_assert(sizeof(struct node) == 48, "node size (the cost model's 48 bytes)");

struct owner {
	uint64_t id;
	uint8_t kind;
	ref_t head;                      /* 0: the record is free (next_free links it) */
	ref_t next_free;
};

#define CHIP_BUCKETS (TTMEM_MAX_DEVICES + 1)   /* the last: ids beyond the table */
#define KEY_CHUNK 256                         /* keys per keyed table call */

static struct {
	const struct ttmem_table *table;         /* the table it serves; NULL: none yet */
	struct node *nodes;                      /* `capacity` of them, mapped lazily */
	uint64_t capacity;
	struct owner *owners;
	uint32_t n_owners, cap_owners;
	ref_t free_owners;
	struct refset owner_set;
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

/* ---- owners' hash set ------------------------------------------------------------ */

static inline uint32_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= UINT64_C(0x9e3779b97f4a7c15);
	x ^= x >> 29;
	return (uint32_t)(x >> 32);
}

static inline uint32_t owner_hash(uint8_t kind, uint64_t id)
{
	return mix(id ^ ((uint64_t)kind * UINT64_C(0xbf58476d1ce4e5b9)));
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
	n->linked = 1;
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

/* Unlink a linked node from its lists; it stands for nothing. */
static inline void unlink_node(ref_t r)
{
	struct node *n = NODE(r);
	struct owner *o;

	n->live = 0;
	n->linked = 0;
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

static void ix_free_all(void)
{
	if (ix.nodes)
		munmap(ix.nodes, ix.capacity * sizeof(struct node));
	free(ix.owners);
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

/* The index serves `t` (bound at its first use, under the lock): 1, or 0
 * for another handle (plain table operations) or when out of memory. */
static int bound_to(const struct ttmem_table *t)
{
	if (__builtin_expect(ix.table == t && ix.nodes, 1))
		return 1;
	if (ix.table)
		return 0;
	uint64_t cap = ttmem_table_capacity(t);
	void *p = mmap(NULL, cap * sizeof(struct node), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		give_up();
		return 0;
	}
	ix.nodes = p;
	ix.capacity = cap;
	ix.table = t;
	ix.pid = (uint32_t)getpid();
	return 1;
}

/* Is a node for `e` on the lists `n` is on (chip, mesh or not, owner)?
 * (Two chips beyond the device table share a list but answer no: the node
 * moves, which is only slower.) */
static inline int same_lists(const struct node *n, const struct ttmem_entry *e)
{
	if (n->device != e->key.device || ((n->flags ^ e->flags) & TTMEM_SLOT_F_MESH))
		return 0;
	if (!n->owner)
		return e->owner_kind == TTMEM_OWNER_APP && !e->owner_id;
	const struct owner *o = &ix.owners[n->owner - 1];
	return o->kind == e->owner_kind && o->id == e->owner_id;
}

/* Link the entry inserted at `w` (under the lock). */
static inline __attribute__((always_inline)) void remember(const struct ttmem_entry *e,
							   const struct ttmem_where *w)
{
	ref_t r = (ref_t)w->slot + 1, o = 0;
	struct node *n;

	if (__builtin_expect(w->slot >= ix.capacity, 0))
		return;
	n = NODE(r);
	/* An earlier entry of ours was here (removed, its node left on its
	 * lists; or gone unseen).  Mostly it was on the same chip for the
	 * same owner: the node stays where it is on its lists. */
	if (n->linked && !same_lists(n, e))
		unlink_node(r);
	int relink = !n->linked;
	if (relink && (e->owner_kind != TTMEM_OWNER_APP || e->owner_id)) {
		o = owner_get(e->owner_kind, e->owner_id);
		if (!o) {
			give_up();
			return;
		}
	}
	n->live = w->live;
	n->address = e->key.address;
	n->device = e->key.device;
	n->space = e->key.space;
	n->type = e->type;
	n->flags = e->flags;
	if (relink) {
		n->owner = o;
		link_node(r);
	}
}

/* ---- the operations ------------------------------------------------------------- */

static inline int broken(void)
{
	return atomic_load_explicit(&ix_broken, memory_order_relaxed);
}

/* Inlined into the tracker (LTO): one frame less on every allocation. */
__attribute__((always_inline)) inline int owned_insert_at(struct ttmem_table *t,
							   const struct ttmem_entry *e,
							   struct ttmem_where *where)
{
	struct ttmem_where own;
	/* The caller's where when it has one (filled on success only,
	 * table.h): no copy. */
	struct ttmem_where *w = where ? where : &own;
	int rc = ttmem_insert_at(t, e, w);

	if (rc >= 0) {
		lock();
		if (!broken() && bound_to(t))
			remember(e, w);
		unlock();
	}
	return rc;
}

/* Unlink the node of the insertion removed at `w`, if it still stands for it. */
static inline void forget_removed(const struct ttmem_table *t, const struct ttmem_where *w)
{
	lock();
	if (!broken() && ix.table == t && w->slot < ix.capacity &&
	    NODE((ref_t)w->slot + 1)->live == w->live)
		NODE((ref_t)w->slot + 1)->live = 0;   /* stays linked: see "Lazily" */
	unlock();
}

int owned_remove_slot(struct ttmem_table *t, struct ttmem_where *where)
{
	int rc = ttmem_remove_slot(t, where, NULL);

	if (rc == 0)
		forget_removed(t, where);
	return rc;
}

int64_t owned_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out)
{
	struct ttmem_where w;

	/* A size is never read as an error: its top bit goes (2^63 bytes or
	 * more: only in a damaged segment). */
	if (broken()) {
		int rc = ttmem_remove_at(t, k, out, &w);
		return rc == 0 ? (int64_t)(w.size & (uint64_t)INT64_MAX) : rc;
	}
	int rc = ttmem_remove_at(t, k, out, &w);
	/* Only the node of the insertion removed (see above). */
	if (rc == 0)
		forget_removed(t, &w);
	return rc == 0 ? (int64_t)(w.size & (uint64_t)INT64_MAX) : rc;
}

static inline int node_matches(const struct node *n, const struct ttmem_filter *f)
{
	if (f->match_device && n->device != f->device)
		return 0;
	if (f->match_owner) {
		const struct owner *o = n->owner ? &ix.owners[n->owner - 1] : NULL;
		if ((o ? o->kind : TTMEM_OWNER_APP) != f->owner_kind ||
		    (o ? o->id : 0) != f->owner_id)
			return 0;
	}
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

	if (!n->live) {
		/* Removed, still linked: a sweep takes it off its lists. */
		if (w->drop)
			unlink_node(r);
		return;
	}
	if (!node_matches(n, w->f))
		return;
	w->keys[w->used].address = n->address;
	w->keys[w->used].device = n->device;
	w->keys[w->used].space = n->space;
	if (++w->used == KEY_CHUNK)
		walk_flush(w);
	if (w->drop)
		unlink_node(r);
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
		/* Every linked node is on one chip list. */
		for (uint32_t b = 0; b < CHIP_BUCKETS; b++)
			for (int mesh = 0; mesh < 2; mesh++)
				for (r = ix.chip_head[b][mesh]; r; r = next) {
					next = NODE(r)->chip_next;
					walk_node(w, r);
				}
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
	if (!broken() && (!ix.table || ix.table == t) &&
	    f->pid == (ix.pid ? ix.pid : (uint32_t)getpid())) {
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
