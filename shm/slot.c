/* SPDX-License-Identifier: MIT */
/*
 * Slot transitions shared by insert/remove, sweep and reap (the protocol is
 * the design note in segment.h).
 */
#include "hash.h"

void ttmem_owner_release(struct ttmem_table *t, struct ttmem_batch *b, uint32_t proc,
			 uint32_t pid, uint64_t size)
{
	if (b && (int32_t)proc == b->proc_idx && pid == t->pid) {
		ttmem_batch_live(b, -(int64_t)size);
		return;
	}
	if (proc >= t->proc_capacity)
		return;
	struct ttmem_proc *p = &t->procs[proc];
	uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
	if ((uint32_t)(c >> 32) != pid || __atomic_load_n(&p->pid, __ATOMIC_RELAXED) != pid)
		return; /* entry recycled: the totals went with it */
	/* Never below zero (a clear may have zeroed it meanwhile). */
	uint64_t cur = atomic_load_explicit(&p->live_bytes, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&p->live_bytes, &cur,
						      cur >= size ? cur - size : 0,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

int ttmem_have_popcnt;
int ttmem_have_avx2;

/* From what glibc's loader found at start (<sys/platform/x86.h>, glibc
 * 2.33+), not __builtin_cpu_init(): that runs a dozen CPUID instructions,
 * each a VM exit on a virtual machine (~8 us each here), ~100 us of every
 * tracked program's start for one bit.  Older glibc: the SWAR count. */
#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
__attribute__((constructor)) static void ttmem_detect_popcnt(void)
{
	ttmem_have_popcnt = CPU_FEATURE_ACTIVE(POPCNT) != 0;
	/* Active: the CPU has it and the kernel saves the ymm registers. */
	ttmem_have_avx2 = CPU_FEATURE_ACTIVE(AVX2) != 0 && ttmem_have_popcnt;
}
#endif
#endif
