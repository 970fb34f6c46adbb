/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: what each hooked event does to the table.
 * The hooks (hooks.c) call the original, then one of these; these never
 * throw, never call the originals, preserve errno, and do nothing when
 * tracking is off or when re-entered on the same thread.
 *
 * Keys: (physical chip, space, address).  A mesh buffer of S bytes on an
 * N-chip mesh is N entries of S bytes, flagged TTMEM_SLOT_F_MESH.  A circular
 * buffer's key is its L1 address with a per-process sequence number in the
 * high 32 bits (CB addresses repeat across programs); what evicts a CB
 * entry is described in cb_model.h.  Allocations that a graph capture hook
 * took over are not recorded (capture.h).
 */
#ifndef TTMEM_PRELOAD_TRACKER_H
#define TTMEM_PRELOAD_TRACKER_H

#include <stdint.h>

#include "abi.h"

/* `ret`, `cfa`: the hook's __builtin_return_address(0) and
 * __builtin_dwarf_cfa(), where the callsite search starts. */
void tracker_on_alloc(const void *buffer, void *ret, void *cfa);
void tracker_on_free(const void *buffer);
/* hook_deallocate(buffer) returned: `taken_over` when a capture hook took
 * the free over, so the memory of a real buffer stays allocated and its
 * entries go back (capture.h). */
void tracker_on_free_settled(const void *buffer, int taken_over);
/* The Buffer whose removed entries this thread holds until its
 * hook_deallocate returns (NULL: none); while it is NULL and no capture
 * hook is installed, tracker_on_free_settled would do nothing. */
extern __thread const void *tracker_held_buffer __attribute__((tls_model("initial-exec")));
void tracker_on_cb_alloc(uint64_t addr, uint64_t size, int globally_allocated,
			 const void *device, void *ret, void *cfa);
void tracker_on_cb_free_all(const void *device);
/* GraphTracker::track_program(program, device): an op is about to launch
 * `program`; hook_program(program) then said whether a capture hook took
 * the launch over. */
void tracker_on_program(const void *program, const void *device, void *ret, void *cfa);
void tracker_on_program_hooked(const void *program, int hooked, void *ret, void *cfa);
void tracker_program_destroyed(const void *program);

/*
 * Device close: resolve the chips before the original runs (the object is
 * whole then; returns 0 if known), release this process's entries on them
 * after it returned (bytes counted as released in bulk).
 */
int tracker_device_closing(const void *device, struct abi_chips *chips);
void tracker_device_closed(const void *device, const struct abi_chips *chips);

/* Allocator::deallocate_buffers / clear returned. */
void tracker_allocator_freed(const void *allocator);

/* A command queue / system memory manager was destroyed. */
void tracker_owner_destroyed(uint8_t owner_kind, const void *owner);

/* pthread_atfork handlers (lifecycle.c): the CB model's lock; the child
 * starts with an empty model. */
void tracker_atfork_prepare(void);
void tracker_atfork_parent(void);
void tracker_atfork_child(void);

#endif /* TTMEM_PRELOAD_TRACKER_H */
