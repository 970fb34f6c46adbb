/* SPDX-License-Identifier: MIT */
/*
 * The process's tracking state and flags (see state.h).
 */
#include <stdatomic.h>

#include "ttmem/segment.h"

#include "state.h"

struct lifecycle lc = { .phase = PHASE_NEW, .proc_idx = -1 };

static atomic_uint pending_flags;

void state_apply_flags(void)
{
	uint32_t f = atomic_load(&pending_flags);

	/* Only this process writes its entry, but maybe from several threads. */
	if (lc.proc && f)
		__atomic_fetch_or(&lc.proc->flags, f, __ATOMIC_RELAXED);
}

void state_flag(uint32_t flag)
{
	atomic_fetch_or(&pending_flags, flag);
	state_apply_flags();
}
