/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the process's tracking state (phase,
 * segment, registry entry) and its flags, the one thing every part of the
 * preload reads.  It depends on nothing else of the preload, so the parts
 * below the start-up (runtime.c, callsite.c, cb_model.c) read it without
 * reaching up into lifecycle.c, which sets it.
 */
#ifndef TTMEM_PRELOAD_STATE_H
#define TTMEM_PRELOAD_STATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/table.h"

enum lifecycle_phase {
	PHASE_NEW = 0,        /* nothing done yet */
	PHASE_STARTING = 1,   /* one thread is starting up */
	PHASE_ON = 2,         /* tracking */
	PHASE_OFF = 3,        /* disabled or failed: pass-through */
	PHASE_FORKED = 4,     /* a fork child: registers at its first event */
	PHASE_PENDING = 5,    /* the segment is being built by another process:
			       * the attach is retried at later hooks */
};

struct lifecycle {
	atomic_int phase;
	struct ttmem_table *table;    /* valid in PHASE_ON */
	struct ttmem_proc *proc;      /* our registry entry (writable view) */
	int proc_idx;
	uint32_t pid;
};

extern struct lifecycle lc;

/* Set a TTMEM_PROC_F_* flag on our registry entry (remembered if early:
 * state_apply_flags writes it once the entry exists). */
void state_flag(uint32_t flag);
void state_apply_flags(void);

#endif /* TTMEM_PRELOAD_STATE_H */
