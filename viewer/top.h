/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): the state of `ttmem top`, shared by its loop
 * (cmd_top.c: options, terminal, sampling, keys) and its screen (top_draw.c).
 */
#ifndef TTMEM_VIEWER_TOP_H
#define TTMEM_VIEWER_TOP_H

#include <stdint.h>
#include <sys/types.h>

#include "viewer.h"

#define HIST_BUCKET_S 5u
#define HIST_LEN 720u          /* one hour of 5 s buckets */
#define TYPES_SHOWN 5          /* DRAM, L1, L1_SMALL, TRACE, CB */

enum sort_key { SORT_LIVE, SORT_PEAK, SORT_PID, SORT_NAME, SORT_COUNT };

struct history {
	uint32_t device;
	uint64_t bucket[HIST_LEN];     /* max in-use bytes in the bucket */
	uint64_t last_bucket;          /* absolute bucket number of the newest */
	int used;
};

struct top {
	const char *shm;
	uint64_t interval_ms;
	uint64_t iterations;           /* 0 = until quit */
	struct ttmem_table *t;
	dev_t dev;                     /* identity of the file behind the name */
	ino_t ino;
	struct ttmem_snapshot snap;    /* reused every refresh (no allocation, no page faults) */
	int have_model;
	struct model m;
	char status[256];              /* the last error, shown on the title line */
	int64_t sel_device;            /* selected chip id, -1 = none yet */
	enum sort_key sort;
	int reverse;                   /* r: the sort order reversed */
	int paused;                    /* p / space: keep the last sample on screen */
	int help;                      /* ?: the key help instead of the view */
	int editing;                   /* /: keys go to the filter line */
	char filter[64];               /* processes whose name or pid contains it */
	unsigned term_flags;           /* sanitize.h flags: SAN_ASCII off a UTF-8 locale */
	size_t nhist;
	struct history *hist;
	uint64_t resized;              /* samples dropped: the segment shrank under them */
};

/* 1 when process p passes tp's filter (substring of its name or pid). */
int top_filter_match(const struct top *tp, const struct model_proc *p);

/* Draw the whole screen from tp's last model (clipped to LINES x COLS). */
void top_draw(struct top *tp);

#endif /* TTMEM_VIEWER_TOP_H */
