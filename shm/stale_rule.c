/* SPDX-License-Identifier: MIT */
/*
 * Which unpublished files are ttmem's to re-create (see ttmem_zeros_are_ours
 * in internal.h).  A file whose first page is zeros is what a creator
 * killed after sizing its segment leaves; it is also what many other files
 * look like (a sparse data file, a disk image, a database's preallocated
 * file).  Re-creating one truncates it and loses everything past that page,
 * so a zero-headed file is ttmem's only when its name says so, by the rule
 * `ttmem ls` and `ttmem rm` apply (its last component starts with "ttmem"),
 * or when its size is exactly that of a segment a tracked program creates
 * (a geometry of the preload's: any capacity, the default registry and
 * module table).
 */
#include <string.h>

#include "internal.h"

int ttmem_zeros_are_ours(const char *name, uint64_t size)
{
	const char *base = name ? strrchr(name, '/') : NULL;

	base = base ? base + 1 : name;
	if (base && !strncmp(base, "ttmem", 5))
		return 1;
	for (uint64_t cap = TTMEM_MIN_CAPACITY; cap <= TTMEM_MAX_CAPACITY; cap <<= 1) {
		struct ttmem_layout l;

		ttmem_layout_compute(&l, cap, TTMEM_DEFAULT_PROC_CAPACITY,
				     TTMEM_DEFAULT_MODULE_CAPACITY);
		if (l.total_size == size)
			return 1;
	}
	return 0;
}
