/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: what each live Buffer was recorded under,
 * by the Buffer's address, and where its entry went in the table.
 *
 * Every generation: a free of a one-chip buffer removes the entry at the
 * slot its insert returned (ttmem_remove_slot: no hashing, no probe), and
 * only falls back to removing by key when that insertion is gone.
 *
 * Generations read through getters (2026 and unknown runtimes;
 * abi_frees_by_record()) also take the key itself from here: there the
 * runtime reports a free while the Buffer is being destroyed:
 * upstream's 2026 Buffer::~Buffer is `= default`, so the free runs in
 * ~BufferImpl while the Buffer's unique_ptr<BufferImpl> is being destroyed
 * (with libc++ already null), and a getter called then reads a half-gone
 * object.  So a free calls no getter: it takes the record its allocation
 * left here.
 *
 * A record outlives its buffer when the free is never reported (bulk free,
 * device close): a new buffer at the same address replaces it, and closing
 * a device drops every record on it.  Thread-safe (striped spin locks).
 */
#ifndef TTMEM_PRELOAD_BUFFER_KEYS_H
#define TTMEM_PRELOAD_BUFFER_KEYS_H

#include "ttmem/table.h"

#include "abi.h"

/* A record's where.slot when its buffer has no one entry (several chips,
 * or not inserted). */
#define BUFFER_KEYS_NO_SLOT UINT64_MAX

/* What a free reads of its buffer: the key and the chips it names, and
 * where its one entry went (copied out field by field: the caller's fast
 * path reads slot, live, chip and type only). */
struct buffer_record {
	uint64_t address;
	const void *device;
	uint64_t slot;               /* BUFFER_KEYS_NO_SLOT: no one entry */
	uint64_t live;               /* the LIVE ctl word of the entry at `slot` */
	uint32_t chip;               /* of the one entry at `slot` */
	uint8_t type, trusted;
};

/* Record (or replace) what `buffer` was recorded under, and where: its one
 * entry's slot and chip. */
void buffer_keys_put(const void *buffer, const struct abi_buffer *b,
		     const struct ttmem_where *where, uint32_t chip);
/* Copy the record of `buffer` into *r; with `take`, drop it.  0 if found. */
int buffer_keys_get(const void *buffer, struct buffer_record *r, int take);
/* Drop the record of `buffer`, if any. */
void buffer_keys_drop(const void *buffer);
/* Drop every record on `device` (closed). */
void buffer_keys_forget_device(const void *device);

/* fork: every stripe lock (prepare takes them, parent/child release them). */
void buffer_keys_atfork_prepare(void);
void buffer_keys_atfork_release(void);

#endif /* TTMEM_PRELOAD_BUFFER_KEYS_H */
