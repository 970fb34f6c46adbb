/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the tt-metal runtime object as loaded in
 * this process (the shared object that defines the hooked functions).
 *
 * ttmem attaches to it once: it learns where its code is (to find the first
 * frame outside it for callsites), binds the ABI profile's getters, checks
 * that the hooks the profile needs exist, and checks that the runtime's own
 * calls to GraphTracker go through its PLT/GOT.  A runtime linked with
 * -Bsymbolic or -Bsymbolic-functions binds them at link time: nothing can be
 * interposed, and ttmem says so once, clearly, instead of showing nothing.
 */
#ifndef TTMEM_PRELOAD_RUNTIME_H
#define TTMEM_PRELOAD_RUNTIME_H

#include <stdint.h>

/* Attach to the object containing `fn` (an original found by dlsym).
 * Idempotent, thread-safe and lock-free: the first call does the work;
 * concurrent ones wait for it a bounded time, then return. */
void runtime_attach(void *fn);

/* In a fork child: forget an attach another thread had under way (the
 * pthread_atfork child handler, lifecycle.c). */
void runtime_atfork_child(void);

/* Attach if a runtime is loaded but no hook fired yet (start-up, exit).
 * Returns 1 when attached. */
int runtime_probe(void);

/* `name` as defined by a loaded object other than this library, also one
 * dlopen'ed RTLD_LOCAL (not in the global scope); NULL if none.  A lookup
 * only: attaches to nothing, logs nothing. */
void *runtime_find(const char *name);

/* The runtime's dlopen handle, NULL until attached. */
void *runtime_handle(void);

/* The runtime's mapped image [lo, hi), 0/0 until attached. */
extern uintptr_t runtime_lo, runtime_hi;

/* Whether pc lies in the runtime's mapped image. */
static inline int runtime_contains(uintptr_t pc)
{
	return pc >= runtime_lo && pc < runtime_hi;
}

/* Whether the runtime's internal calls can be interposed (1), not (0), or
 * unknown yet (-1). */
int runtime_interposable(void);

/* Mangled names ttmem hooks, for the interposability check (hooks.c). */
extern const char *const runtime_hook_names[];
extern const unsigned runtime_hook_count;
extern const unsigned char runtime_hook_required[];

#endif /* TTMEM_PRELOAD_RUNTIME_H */
