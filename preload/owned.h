/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the index of this process's own entries,
 * so that close-time releases, owner destruction and the exit record cost
 * O(entries the process holds there) instead of O(table capacity).
 *
 * The index is a superset of this process's live entries in the table: it
 * remembers every key this process inserted and has not removed or released
 * since.  It may hold keys whose entries are gone (a `ttmem clear`, another
 * process replacing the key, a drop); it never misses one that is live and
 * ours.  The table stays the judge: every release and tally goes through the
 * keyed table operations (ttmem_sweep_keys, ttmem_tally_keys), which skip what
 * is not live, not ours or not matching, so the result is exactly that of the
 * full sweep over the table.  See owned.c for the argument.
 *
 * Every call is safe from any thread; none is re-entrant (the tracker's guard
 * sees to that).  Out of memory, the index gives up for good (one warning)
 * and these fall back to the full-table operations: slower, still exact.
 */
#ifndef TTMEM_PRELOAD_OWNED_H
#define TTMEM_PRELOAD_OWNED_H

#include <stdint.h>

#include "ttmem/table.h"

/* ttmem_insert_at, then remember the key (when inserted); *where (may be
 * NULL) is filled when inserted. */
int owned_insert_at(struct ttmem_table *t, const struct ttmem_entry *e, struct ttmem_where *where);
static inline int owned_insert(struct ttmem_table *t, const struct ttmem_entry *e)
{
	return owned_insert_at(t, e, NULL);
}
/* ttmem_remove_slot (the entry an owned_insert_at put at *where; on
 * success where->size is its size), then forget it; TTMEM_ENOTFOUND
 * (nothing changed): remove it by key. */
int owned_remove_slot(struct ttmem_table *t, struct ttmem_where *where);
/* Forget the key, then ttmem_remove (see owned.c for the order).  Returns
 * the removed entry's size (>= 0) or ttmem_remove's error (< 0). */
int64_t owned_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out);
/* ttmem_sweep / ttmem_tally over the indexed keys that can match `f`. */
int64_t owned_sweep(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally);
int64_t owned_tally(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally);

/* pthread_atfork handlers (lifecycle.c): the child starts with an empty
 * index (none of its parent's entries are its own). */
void owned_atfork_prepare(void);
void owned_atfork_parent(void);
void owned_atfork_child(void);

#endif /* TTMEM_PRELOAD_OWNED_H */
