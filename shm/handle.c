/* SPDX-License-Identifier: MIT */
/*
 * A table handle: made and bound to a mapped image (by the opens in open.c,
 * or over a copy the caller holds), closed, and its accessors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/* ---- handles --------------------------------------------------------------------- */

struct ttmem_table *ttmem_table_alloc(const char *name)
{
	struct ttmem_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->magic = TTMEM_TABLE_MAGIC;
	t->proc_idx = -1;
	t->fd = -1;
	t->guard_ix = -1;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "(image)");
	return t;
}

/* Fill the geometry fields of `t` from the validated copy `h` of the header
 * of the image at `base` (never from the image itself). */
int ttmem_table_bind(struct ttmem_table *t, uint8_t *base, size_t len, const struct ttmem_header *h)
{
	t->base = base;
	t->len = len;
	t->hdr = (struct ttmem_header *)(void *)base;
	t->devices = (struct ttmem_device_info *)(void *)(base + h->device_offset);
	t->procs = (struct ttmem_proc *)(void *)(base + h->proc_offset);
	t->modules = (struct ttmem_module *)(void *)(base + h->module_offset);
	t->stacks = (struct ttmem_stack *)(void *)(base + h->stack_offset);
	t->meta = base + h->meta_offset;
	t->slots = (struct ttmem_slot *)(void *)(base + h->slot_offset);
	t->capacity = h->capacity;
	t->group_mask = t->capacity / TTMEM_GROUP_SLOTS - 1;
	t->proc_capacity = h->proc_capacity;
	t->module_capacity = h->module_capacity;
	t->stack_capacity = h->stack_capacity;
	if (t->writable) {
		t->live_cache = calloc(t->proc_capacity, sizeof(*t->live_cache));
		if (!t->live_cache)
			return -ENOMEM;
	}
	if (t->owns_mapping)
		ttmem_guard_add(t);
	return 0;
}

int ttmem_table_from_image(struct ttmem_table **out, const void *base, size_t len,
			   char *errbuf, size_t errlen)
{
	struct ttmem_table *t;
	struct ttmem_header copy;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = ttmem_validate_copy(base, len, &copy, errbuf, errlen);
	if (rc)
		return rc;
	t = ttmem_table_alloc(NULL);
	if (!t)
		return -ENOMEM;
	ttmem_table_bind(t, (uint8_t *)(uintptr_t)base, len, &copy);
	ttmem_handles_add(t);
	*out = t;
	return 0;
}

void ttmem_table_close(struct ttmem_table *t)
{
	if (!t)
		return;
	ttmem_handles_remove(t);
	ttmem_guard_remove(t);
	if (t->owns_mapping)
		munmap(t->base, t->len);
	if (t->fd >= 0)
		close(t->fd);
	free(t->datamap);
	free(t->live_cache);
	t->magic = 0;
	free(t);
}

uint64_t ttmem_table_capacity(const struct ttmem_table *t) { return t->capacity; }
uint32_t ttmem_table_proc_capacity(const struct ttmem_table *t) { return t->proc_capacity; }
uint32_t ttmem_table_module_capacity(const struct ttmem_table *t) { return t->module_capacity; }

int ttmem_table_hole(const struct ttmem_table *t, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)t->base;

	if (a < b || a - b > t->len || len > t->len - (a - b))
		return 0;
	return ttmem_datamap_hole(t, a - b, len);
}

const struct ttmem_header *ttmem_table_header(const struct ttmem_table *t) { return t->hdr; }
const struct ttmem_proc *ttmem_table_procs(const struct ttmem_table *t) { return t->procs; }
const struct ttmem_module *ttmem_table_modules(const struct ttmem_table *t) { return t->modules; }
const struct ttmem_device_info *ttmem_table_devices(const struct ttmem_table *t) { return t->devices; }
const struct ttmem_slot *ttmem_table_slots(const struct ttmem_table *t) { return t->slots; }
const uint8_t *ttmem_table_meta(const struct ttmem_table *t) { return t->meta; }
int ttmem_table_proc_index(const struct ttmem_table *t) { return t->proc_idx; }

const char *ttmem_table_recreated(const struct ttmem_table *t)
{
	return t->recreated[0] ? t->recreated : NULL;
}

struct ttmem_header *ttmem_table_header_rw(struct ttmem_table *t)
{
	return t->writable ? t->hdr : NULL;
}

struct ttmem_proc *ttmem_table_procs_rw(struct ttmem_table *t)
{
	return t->writable ? t->procs : NULL;
}

struct ttmem_device_info *ttmem_table_devices_rw(struct ttmem_table *t)
{
	return t->writable ? t->devices : NULL;
}
