/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: circular buffers as upstream reports them.
 *
 * Upstream reports a program's CBs (track_allocate_cb, per CB, locally
 * allocated ones only) when it places them: at the program's first launch,
 * and again only after its CB sizes changed; never their free (no caller
 * of track_deallocate_cb upstream; a fork adds one).  A CB lives in the
 * program-config region at the base of L1 on its cores, which the next
 * program launched there reuses; a closed device holds none.  So:
 *
 *  - Eviction.  A CB reported at `addr` on a chip evicts this process's CB
 *    entries on that chip that end above `addr` (they overlap it or lie
 *    above it).  A program's CBs are placed upwards from the L1 base, in
 *    the order they are reported, so the first CB of a new program evicts
 *    every CB of the previous one and the following ones only older ones
 *    (this also drops the tail of a larger predecessor, which mere overlap
 *    would keep).  Usage never grows with the number of launches.
 *    Limitation: programs on disjoint core sets of one chip hold CBs at the
 *    same addresses at once; the report carries the cores but ttmem does
 *    not read them, so it keeps only the last one's (an undercount).
 *  - Launches from the program cache.  ttnn calls
 *    GraphTracker::track_program(program, device) then hook_program(program)
 *    before every op launch; the CBs reported on that thread after it are
 *    remembered per program, and a later launch of that program replays
 *    them (it holds its CBs on the device again, unreported) once
 *    hook_program said it will run (a graph capture in NO_DISPATCH mode
 *    skips it; where hook_program cannot be hooked, at track_program).  A program destroyed
 *    (~Program hooked when exported) is forgotten.
 *  - Resident programs.  Most launches are of the program the device's
 *    chips already hold: per device the program last launched there is
 *    kept, valid while nothing changed the CB entries of its chips since
 *    (another program's CB placed on one of them, a sweep, a clear of the
 *    table); such a launch costs one lookup, whatever the number of chips
 *    (upstream's own fix, PR #53721, makes it a pointer comparison too).
 *    A launch that changes what the chips hold replays O(CBs x chips) once.  Without track_program
 *    (launches outside ttnn, older trees with a one-argument track_program)
 *    a cached launch shows the CBs last reported on those cores.
 *  - Order.  Entries are evicted and inserted in report order; the runtime
 *    reports each launch's CBs after it placed them, so across threads the
 *    table follows the order of the runtime's own operations as long as the
 *    runtime does not interleave two launches on one chip between placing
 *    and reporting (it places and reports in one step).
 *  - Close: the device's entries are released by the close sweep.
 *  - The fork's track_deallocate_cb(device), where a runtime calls it,
 *    removes every CB entry of the device's chips.
 *
 * Keys: (chip, CB space, L1 address | per-process sequence << 32): CB
 * addresses repeat across programs.  All functions are called from inside
 * the tracker's re-entry guard; they lock the model's own mutex and never
 * call into the runtime.
 */
#ifndef TTMEM_PRELOAD_CB_MODEL_H
#define TTMEM_PRELOAD_CB_MODEL_H

#include <stdint.h>

#include "ttmem/segment.h"

#include "abi.h"

/* A CB of e->size bytes at `addr` was reported on the chips `c`: evict,
 * insert `e` (its key address is set here; the rest filled by the caller)
 * and remember it for the program this thread announced last. */
void cb_model_place(const struct abi_chips *c, struct ttmem_entry *e, uint64_t addr);

/* track_program(program, device): makes it the program the CBs reported
 * next on this thread belong to, and keeps its launch on `device` pending
 * until cb_model_program_dispatched.  O(1), no lock. */
void cb_model_program_announced(const void *program, const void *device);

/* hook_program(program) returned: `launched` = 0 when a capture hook took
 * the launch over (the program will not run: nothing to replay).  Returns
 * the device the pending launch of `program` on this thread must be
 * replayed on (cb_model_program_replay), or NULL when there is nothing to
 * do: not pending, not launched, or the program is resident there (its
 * CBs are what the device's chips hold in the table: O(1), the common
 * launch of a model's op). */
const void *cb_model_program_dispatched(const void *program, int launched);

/* The replay cb_model_program_dispatched asked for: the remembered CBs of
 * `program` on the chips `c` of `device` (each from the template `e`),
 * after which the program is resident there. */
void cb_model_program_replay(const void *program, const void *device,
			     const struct abi_chips *c, const struct ttmem_entry *e);

/* Entries of this process were released by a sweep (which may have taken
 * CB entries): no program is taken as resident until launched again. */
void cb_model_invalidate(void);

/* The program was destroyed: forget its CBs. */
void cb_model_program_gone(const void *program);

/* track_deallocate_cb(device) (a fork's report): remove every CB entry of
 * this process on the chips `c`. */
void cb_model_free_all(const struct abi_chips *c);

/* A sweep released this process's entries on the chips `c` (all of them,
 * or with only_mesh >= 0 those whose mesh flag equals it): forget their CB
 * keys. */
void cb_model_forget(const struct abi_chips *c, int only_mesh);

/* pthread_atfork handlers: the model's lock; the child starts empty (its
 * parent's entries are not its own). */
void cb_model_atfork_prepare(void);
void cb_model_atfork_parent(void);
void cb_model_atfork_child(void);

#endif /* TTMEM_PRELOAD_CB_MODEL_H */
