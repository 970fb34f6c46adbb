/* SPDX-License-Identifier: MIT */
/*
 * The contended take of a spinlock (see spinlock.h).
 */
#include <sched.h>

#include "spinlock.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

__attribute__((noinline)) void spin_lock_slow(atomic_int *l)
{
	for (unsigned spins = 0;; spins++) {
		while (atomic_load_explicit(l, memory_order_relaxed)) {
			if (spins++ < 64)
				cpu_relax();
			else
				sched_yield();   /* the holder may be descheduled */
		}
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
	}
}
