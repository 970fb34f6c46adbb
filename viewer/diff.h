/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): `ttmem diff A B`, heaptrack --diff for ttmem's files.
 *
 *   diff_load.c    reads one file, tells its kind (a `leaks --json` report,
 *                  a `record` Chrome trace or JSON lines), checks it and
 *                  reduces it: leak callsites keyed on their symbolized
 *                  frames
 *   diff_load_record.c  recordings into series with their peak and last value
 *   diff_leaks.c   compares two leak reports and renders the result
 *   diff_record.c  compares two recordings and renders the result
 *   diff_text.c    text that fits the terminal (long lines elided in the middle)
 *   cmd_diff.c     the command line
 *
 * Nothing in a file is trusted: every field is checked for its type and
 * range before use, sizes are bounded (DIFF_MAX_BYTES) so that sums and
 * changes cannot overflow, and a failure names the file and what is wrong.
 */
#ifndef TTMEM_VIEWER_DIFF_H
#define TTMEM_VIEWER_DIFF_H

#include <stdint.h>
#include <stdio.h>

#include "json_read.h"
#include "viewer.h"

/* No size, count or sum of a file may exceed this (2^53: the exact range of
 * a JSON number, SCHEMA.md), so a change fits int64 with room to spare. */
#define DIFF_MAX_BYTES (UINT64_C(1) << 53)
/* Largest file read (its tree takes a few times that in memory). */
#define DIFF_MAX_FILE (UINT64_C(1) << 30)

enum diff_kind { DIFF_LEAKS = 1, DIFF_RECORD = 2 };

/* One callsite of a leak report: an owner kind and a call stack, merged
 * over the report's processes (and over its stacks that symbolize alike). */
struct diff_site {
	char *key;                      /* owner + the frames' identity (malloc'd) */
	const char *owner;              /* in the file's tree */
	const struct jr_value *group;   /* a `groups[]` object, for its frames */
	uint64_t bytes, entries, types[MODEL_TYPES];
};

/* One series of a recording: a chip, or the processes of one name. */
struct diff_series {
	int is_chip;
	uint64_t chip;                  /* is_chip: chip id, UINT64_MAX unknown */
	char *name;                     /* !is_chip: process name (malloc'd) */
	uint64_t peak[MODEL_TYPES];     /* the most in one sample */
	uint64_t last[MODEL_TYPES];     /* in the recording's last sample */
};

struct diff_input {
	const char *path;
	enum diff_kind kind;
	const char *format;             /* "leaks", "chrome" or "jsonl" */
	struct jr_value *root;          /* leaks: the report (sites point in it) */
	/* leaks */
	struct diff_site *site;         /* sorted by key, keys unique */
	size_t nsite;
	uint64_t bytes, entries, types[MODEL_TYPES];
	/* recordings */
	struct diff_series *series;     /* chips by id, then process names */
	size_t nseries;
	size_t samples;
	uint64_t first_ns, last_ns;     /* time of the first and last sample */
};

/* Read and reduce `path`.  With `ignore_lines`, a frame with a function is
 * matched on module and function alone (a rebuilt program whose lines
 * moved).  Returns VX_OK, or prints "ttmem diff: PATH: why" and returns
 * VX_DIFF_INPUT (or VX_SYSTEM out of memory). */
int diff_load(struct diff_input *in, const char *path, int ignore_lines);
/* The same on text[0..len) read already (`path` names it in messages; the
 * input keeps no pointer into text). */
int diff_load_text(struct diff_input *in, const char *path, const char *text, size_t len,
		   int ignore_lines);
void diff_input_release(struct diff_input *in);

/* ---- for the loaders (diff_load.c) ---- */

/* "ttmem diff: PATH: why" on stderr; returns VX_DIFF_INPUT. */
int diff_bad(const struct diff_input *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "ttmem diff: out of memory"; returns VX_SYSTEM. */
int diff_oom(void);
/* obj[key], a size or count: an integer in [0, DIFF_MAX_BYTES]; 0 or -1. */
int diff_get_size(const struct jr_value *obj, const char *key, uint64_t *out);
/* obj[key], a type object into t: missing keys are 0 (a file from before a
 * type existed), present ones must be sizes; 0 or -1. */
int diff_get_types(const struct jr_value *obj, const char *key, uint64_t *t);
/* *a += b, or -1 past DIFF_MAX_BYTES (a hostile file's sums). */
int diff_add(uint64_t *a, uint64_t b);
/* A recording's tree (a Chrome trace, or one sample), or its JSON lines,
 * into in's series; VX_OK or as diff_bad. */
int diff_record_load_tree(struct diff_input *in, const struct jr_value *root);
int diff_record_load_lines(struct diff_input *in, const char *text, size_t len);

/* Compare and print (text for `width` columns, 0: no limit); *growth gets B's growth in bytes (leaks: total leaked
 * bytes, recordings: the sum over chips and types of the peaks' change). */
int diff_leaks_print(FILE *f, const struct diff_input *a, const struct diff_input *b, int json,
		     unsigned width, int64_t *growth);
int diff_record_print(FILE *f, const struct diff_input *a, const struct diff_input *b, int json,
		      unsigned width, int64_t *growth);

/* Text that fits: write `text` to f line by line, each line wider than
 * `width` columns cut in the middle ("..."), its start and end kept. */
void diff_fit(FILE *f, const char *text, size_t len, unsigned width);


/* "+1.50 MiB" / "-512 B" / "0 B"; "+3" / "-1" / "0". */
const char *diff_fmt_bytes(char *buf, size_t len, int64_t d);
const char *diff_fmt_count(char *buf, size_t len, int64_t d);

#endif /* TTMEM_VIEWER_DIFF_H */
