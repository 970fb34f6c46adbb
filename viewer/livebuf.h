/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE header of the viewer: the entries of a snapshot as a flat list of
 * buffers, each with the process it belongs to as the model classified it
 * (livebuf.c), and a chip's bank geometry read from the device table
 * (segment.h, struct ttmem_device_info) and validated.  Shared by `buffers`
 * and `map`, so that the two, and `show`, count the same entries.
 */
#ifndef TTMEM_VIEWER_LIVEBUF_H
#define TTMEM_VIEWER_LIVEBUF_H

#include "viewer.h"

struct livebuf {
	uint64_t address, size;
	uint32_t device;
	uint32_t page_size;          /* 0 unknown, TTMEM_PAGE_SIZE_LARGE: >= 4 GiB */
	uint8_t type, space, owner, flags;
	uint32_t pid;
	int state;                   /* enum ttmem_liveness of its process */
	const char *name;            /* its process's name (in the model), "?" */
	uint16_t module;             /* callsite: module index and offset */
	uint32_t callsite;
	uint32_t bank_bytes;         /* per bank, as the runtime said; 0 unknown,
				      * TTMEM_PAGE_SIZE_LARGE: >= 4 GiB */
};

struct livebuf_filter {
	int64_t device;              /* -1 all */
	int type;                    /* -1 all, else enum ttmem_buffer_type */
	int64_t pid;                 /* -1 all */
	int all_states;              /* 0: in use only (running processes), as show's in_use */
};

/*
 * The buffers of snapshot `s` that `f` selects, each classified through model
 * `m` (built from the same snapshot with all_procs, unfiltered): an entry
 * belongs to the registry entry it names when the pid matches (as
 * model_build decides), else it is orphaned.  Entries of unknown types are
 * skipped (the model counts them as invalid).  *out is malloc'd (free it);
 * returns the count, or -ENOMEM.
 */
long livebuf_collect(struct livebuf **out, const struct model *m, const struct ttmem_snapshot *s,
		     const struct livebuf_filter *f);

/* Sort keys for livebuf_sort. */
enum livebuf_key { LB_BY_ADDRESS = 0, LB_BY_SIZE, LB_BY_DEVICE, LB_BY_PID, LB_BY_TYPE };

/* Sort by key (size: largest first), ties by chip, type, address. */
void livebuf_sort(struct livebuf *b, size_t n, enum livebuf_key key);

/* The bank geometry of one type of a chip, validated: 0 and *g when the
 * runtime published a sane one, -1 when it did not or it is absurd (then
 * *why says which). */
int livebuf_geometry(const struct ttmem_table *t, uint32_t device, unsigned type,
		     struct ttmem_bank_geometry *g, const char **why);

/* Bytes one buffer holds in each bank of its type: ceil(pages / banks)
 * aligned pages (a buffer is interleaved page by page over the banks),
 * rounded up to the alignment; a CB holds its size on every core.  The
 * runtime's own figure (Buffer::aligned_size_per_bank(), slot.bank_bytes)
 * when recorded, else computed from the page size; `*exact` is cleared when
 * neither is known (then the size is spread evenly over the banks: an
 * estimate). */
uint64_t livebuf_per_bank(const struct livebuf *b, const struct ttmem_bank_geometry *g,
			  int *exact);

/* "-t TYPE": a type name as type_name() spells it, case-insensitive;
 * -1 when unknown. */
int livebuf_parse_type(const char *s);

#endif /* TTMEM_VIEWER_LIVEBUF_H */
