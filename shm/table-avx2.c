/* SPDX-License-Identifier: MIT */
/*
 * table.c again, for CPUs with AVX2 and popcnt (the baseline ttmem_insert /
 * ttmem_remove hand over here when slot.c's load-time check found both):
 * the meta scans become 32-byte three-operand compares (hash.h), popcount
 * one instruction.  Same code, same protocol, same results.
 */
#include "internal.h"

#ifdef TTMEM_TABLE_AVX2
#pragma GCC target("avx2,popcnt")
#define TTMEM_TABLE_VARIANT 1
#define TTMEM_TABLE_FN(name) name##_avx2
#include "table.c"
#else
typedef int ttmem_table_avx2_unused;
#endif
