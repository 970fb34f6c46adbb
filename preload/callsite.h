/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: callsites.
 *
 * A callsite is a return address recorded as (module index, offset in the
 * module), so it can be symbolized after the process is gone: the module
 * (path plus build-id) is interned once per loaded object in the segment's
 * module table, and cached here per object.
 *
 * The address recorded is the first return address outside the tt-metal
 * runtime on the stack of the hooked call, i.e. where the application (or
 * the library above tt-metal) asked for the memory, and with it the call
 * stack from there up (at most TTMEM_STACK_FRAMES frames), interned in the
 * segment's stack table.
 */
#ifndef TTMEM_PRELOAD_CALLSITE_H
#define TTMEM_PRELOAD_CALLSITE_H

#include <stdint.h>

/*
 * `ret` and `cfa` are the hook's own return address (inside the runtime) and
 * canonical frame address (__builtin_dwarf_cfa()).  Fills *module
 * (TTMEM_MODULE_NONE when unknown) and *callsite (offset of the first frame
 * outside the runtime in it, UINT32_MAX when too large or unknown) and
 * *stack (1 + index of the interned call stack, 0 when none; segment.h
 * "stacks").  Thread-safe.
 */
void callsite_get(void *ret, void *cfa, uint16_t *module, uint32_t *callsite, uint32_t *stack);

/* Frames recorded per allocation, 0..TTMEM_STACK_FRAMES (TTMEM_STACK_DEPTH;
 * 0 = only the first frame, no stack table).  Called once at start-up. */
void callsite_configure(int depth);

#endif /* TTMEM_PRELOAD_CALLSITE_H */
