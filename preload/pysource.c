/* SPDX-License-Identifier: MIT */
/*
 * Python frames as stack frames (see pysource.h).
 *
 * Why a module entry per (file, function) and not a name table: a frame
 * then names its function without a bit of its own (a source-line frame's
 * offset has only its line), the segment keeps its regions, and a reader
 * that knows no names still reads the entry's path as the file
 * (segment.h, TTMEM_MODULE_F_FUNCTION).  The cost is module entries: one
 * per function that allocates instead of one per file, capped at three
 * quarters of the table (then the file's own entry, as before).
 */
#include <stdlib.h>
#include <string.h>

#include "ttmem/segment.h"

#include "pyframes.h"
#include "pysource.h"

uint64_t pysource_frame(struct ttmem_table *t, uintptr_t code, uint32_t lasti)
{
	char path[sizeof(((struct ttmem_module *)0)->path)];
	char func[sizeof(path)], real[sizeof(path)];
	char *r;
	uint32_t line = 0;
	int idx = -1;

	if (pyframes_source(code, lasti, path, sizeof(path), func, sizeof(func), &line) == 0) {
		r = realpath(path, NULL);
		if (r && strlen(r) < sizeof(real)) {
			strcpy(real, r);
			if (func[0])
				idx = ttmem_module_intern_function(t, real, func);
			if (idx < 0)
				idx = ttmem_module_intern(t, real, NULL, 0);
		}
		free(r);
	}
	if (idx < 0 || idx >= (int)TTMEM_MODULE_NONE)
		return TTMEM_FRAME(TTMEM_MODULE_NONE, TTMEM_FRAME_SOURCE_LINE | line);
	return TTMEM_FRAME(idx, TTMEM_FRAME_SOURCE_LINE | line);
}
