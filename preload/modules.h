/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: loaded objects as modules of the
 * segment's module table, so a return address can be recorded as (module
 * index, offset) and symbolized after the process is gone.  Each object is
 * interned once (its real path and build-id); lookups are lock-free.
 */
#ifndef TTMEM_PRELOAD_MODULES_H
#define TTMEM_PRELOAD_MODULES_H

#include <stdint.h>

/* The module index of the object holding `pc` (*offset: pc minus its load
 * base), interning it on first sight; -1 when no object holds it or the
 * module table is full (warned once).  Thread-safe. */
int modules_of(uintptr_t pc, uint64_t *offset);

/* fork: the intern lock (prepare takes it, parent/child release it). */
void modules_atfork_prepare(void);
void modules_atfork_release(void);

#endif /* TTMEM_PRELOAD_MODULES_H */
