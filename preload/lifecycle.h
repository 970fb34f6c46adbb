/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: configuration, lazy start-up, exit.
 *
 * Start-up is lazy and idempotent: the library constructor calls
 * lifecycle_ready(), and so does every hook, because a hook can fire before
 * the constructor ran (another library's constructor creating a device).
 * The first caller reads the environment, opens the segment, registers the
 * process; concurrent callers wait for it; a hook that re-enters start-up on
 * the same thread is told "not ready" and passes through.
 *
 * Environment (read once):
 *   TTMEM_SHM       segment name, POSIX shm name "/name" (or a file path with
 *                   another '/'); default "/ttmem"
 *   TTMEM_CAPACITY  slots when this process creates the segment, a power of
 *                   two in [128, 2^26]; default 2^20
 *   TTMEM_LOG       quiet | warn | debug; default warn
 *   TTMEM_STACK_DEPTH frames recorded per allocation, 0..8 (0 = the first
 *                   frame only, no stack table); default 8
 *   TTMEM_ATTACH_WAIT_MS how long the first attach waits for a segment
 *                   another live process is building, 0..600000 (0: not
 *                   at all); default TTMEM_WRITER_WAIT_MS
 *   TTMEM_DISABLE   1 = pure pass-through (no segment, no registration);
 *                   0 or unset = track
 * Invalid values: one warning naming the variable, then the default.
 */
#ifndef TTMEM_PRELOAD_LIFECYCLE_H
#define TTMEM_PRELOAD_LIFECYCLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/table.h"

#include "state.h"

/* Slow path of lifecycle_ready.  from_hook: the caller is a hooked event,
 * which counts as missed (TTMEM_PROC_F_LATE) if tracking is not on yet. */
int lifecycle_start(int from_hook);

/* 1 when tracking is on (starting up on first use), 0 for pass-through. */
static inline int lifecycle_ready(void)
{
	int p = atomic_load_explicit(&lc.phase, memory_order_acquire);

	if (__builtin_expect(p == PHASE_ON, 1))
		return 1;
	if (p == PHASE_OFF)
		return 0;
	return lifecycle_start(1);
}

/* Whether TTMEM_DISABLE=1 (read once; lock-free, no logging): then the
 * hooks only find and call their originals. */
int lifecycle_disabled(void);

/* pthread_atfork's parts of start-up (fork.c): the start lock, and the
 * child's registration deferred to its first event. */
void lifecycle_atfork_prepare(void);
void lifecycle_atfork_parent(void);
void lifecycle_atfork_child(void);

#endif /* TTMEM_PRELOAD_LIFECYCLE_H */
