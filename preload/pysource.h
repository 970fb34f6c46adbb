/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: a captured Python frame (pyframes.h) as a
 * frame of the stack table: a source line (TTMEM_FRAME_SOURCE_LINE) of the
 * module entry of its file and function (TTMEM_MODULE_F_FUNCTION), or of
 * its file alone when the function has no entry (no room, a name that is
 * not plain ASCII or does not fit).  Files by their real path, so the
 * viewer finds them from anywhere.
 */
#ifndef TTMEM_PRELOAD_PYSOURCE_H
#define TTMEM_PRELOAD_PYSOURCE_H

#include <stdint.h>

#include "ttmem/table.h"

/* The frame of (code, lasti), interning its module in `t`; module
 * TTMEM_MODULE_NONE when the file is unknown or the table full.  Same
 * conditions as pyframes_source; system calls (realpath, stat): not for
 * the hot path. */
uint64_t pysource_frame(struct ttmem_table *t, uintptr_t code, uint32_t lasti);

#endif /* TTMEM_PRELOAD_PYSOURCE_H */
