/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to shm/: the meta-line scans of the insert and remove fast paths
 * with 32-byte vectors (AVX2): a 64-byte meta line is two loads and two
 * compares per mask where SSE2 (hash.h) takes four of each.  Only functions
 * compiled for AVX2 (TTMEM_AVX2_FN) may call these; table.c compiles its
 * fast paths once for each instruction set and picks at run time
 * (ttmem_have_avx2, set at load from what the loader found: slot.c).
 * Not under ThreadSanitizer, for the reason hash.h gives.
 */
#ifndef TTMEM_SHM_META_AVX2_H
#define TTMEM_SHM_META_AVX2_H

#include "hash.h"

#if defined(__x86_64__) && defined(__SSE2__) && !defined(TTMEM_TSAN)
#define TTMEM_META_AVX2 1
#include <immintrin.h>

#define TTMEM_AVX2_FN __attribute__((target("avx2,popcnt")))

TTMEM_HIDDEN extern int ttmem_have_avx2;

static inline TTMEM_AVX2_FN uint64_t ttmem_mask64_avx2(__m256i lo, __m256i hi)
{
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(lo) |
	       (uint64_t)(uint32_t)_mm256_movemask_epi8(hi) << 32;
}

/* As ttmem_meta_scan_all (hash.h): the exact free-byte masks of the three
 * candidate lines, and whether any byte of any equals fp. */
static inline TTMEM_AVX2_FN int ttmem_meta_scan_all_avx2(const uint8_t *meta, const uint64_t g[3],
							 uint8_t fp, uint64_t zero[3])
{
	const __m256i f = _mm256_set1_epi8((char)fp), z = _mm256_setzero_si256();
	__m256i m = z;

#pragma GCC unroll 3
	for (int i = 0; i < 3; i++) {
		const __m256i *a = (const __m256i *)(const void *)(meta + g[i] * TTMEM_GROUP_SLOTS);
		__m256i v0 = _mm256_load_si256(a), v1 = _mm256_load_si256(a + 1);
		m = _mm256_or_si256(m, _mm256_or_si256(_mm256_cmpeq_epi8(v0, f),
						       _mm256_cmpeq_epi8(v1, f)));
		zero[i] = ttmem_mask64_avx2(_mm256_cmpeq_epi8(v0, z), _mm256_cmpeq_epi8(v1, z));
	}
	return !_mm256_testz_si256(m, m);
}

/* As ttmem_meta_match (hash.h). */
static inline TTMEM_AVX2_FN uint64_t ttmem_meta_match_avx2(const uint8_t *meta, uint64_t group,
							   uint8_t fp)
{
	const __m256i *a = (const __m256i *)(const void *)(meta + group * TTMEM_GROUP_SLOTS);
	const __m256i f = _mm256_set1_epi8((char)fp);

	return ttmem_mask64_avx2(_mm256_cmpeq_epi8(_mm256_load_si256(a), f),
				 _mm256_cmpeq_epi8(_mm256_load_si256(a + 1), f));
}
#endif

#endif /* TTMEM_SHM_META_AVX2_H */
