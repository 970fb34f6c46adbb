/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: a lock for short critical sections on
 * the hot path (the index of own entries): an uncontended take is one
 * atomic exchange and a release is a plain store, where a mutex costs a
 * call and more; waiters spin briefly, then yield (the holder may be
 * descheduled).  Not re-entrant, no owner: the tracker's re-entry guard
 * keeps a signal handler on the holding thread out.
 */
#ifndef TTMEM_PRELOAD_SPINLOCK_H
#define TTMEM_PRELOAD_SPINLOCK_H

#include <stdatomic.h>

void spin_lock_slow(atomic_int *l);

static inline void spin_lock(atomic_int *l)
{
	if (__builtin_expect(atomic_exchange_explicit(l, 1, memory_order_acquire), 0))
		spin_lock_slow(l);
}

/* Pairs with the acquire exchange of the next spin_lock. */
static inline void spin_unlock(atomic_int *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

#endif /* TTMEM_PRELOAD_SPINLOCK_H */
