/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: ownership scopes.
 *
 * While a HWCommandQueue or a SystemMemoryManager is being constructed, the
 * buffers the constructor allocates belong to that object (owner kind CQ or
 * SYSMEM, owner id = the object's address); every other allocation belongs
 * to the application.  Scopes are a per-thread stack, so nesting (a command
 * queue built inside a memory manager's constructor) and threads are right.
 *
 * Exceptions: the constructor hook opens its scope with SCOPE_OPEN, whose
 * cleanup attribute closes it however the hook's frame is left, returning or
 * unwinding (the hook file is built with -fexceptions).  Closing restores the
 * depth saved at open, so a scope can never stay open past its hook.
 */
#ifndef TTMEM_PRELOAD_SCOPE_H
#define TTMEM_PRELOAD_SCOPE_H

#include <stdint.h>

struct scope_owner {
	uint8_t kind;        /* enum ttmem_owner_kind */
	uint64_t id;         /* 0 for the application */
};

/* Push an owner; returns the depth to restore (pairs with scope_close). */
unsigned scope_open(uint8_t kind, const void *owner);
/* Pop back to `depth` (pairs with scope_open). */
void scope_close(unsigned depth);
/* The innermost owner of the calling thread. */
struct scope_owner scope_current(void);

static inline void scope_cleanup(unsigned *depth)
{
	scope_close(*depth);
}

#define SCOPE_OPEN(kind, owner) \
	unsigned scope_saved_depth_ __attribute__((cleanup(scope_cleanup), unused)) = \
		scope_open((kind), (owner))

#endif /* TTMEM_PRELOAD_SCOPE_H */
