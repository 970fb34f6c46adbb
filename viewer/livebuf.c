/* SPDX-License-Identifier: MIT */
/*
 * livebuf: a snapshot's entries as buffers with their process (livebuf.h),
 * and the bank geometry a chip's allocator published.
 *
 * The classification is the model's (model.c, owner_of): an entry belongs to
 * the registry entry its slot names when that entry's pid is the slot's,
 * else to no registered process (orphaned).  Taking it from a model built on
 * the same snapshot keeps `buffers`, `map` and `show` in agreement by
 * construction: a buffer is listed as in use exactly when show counts it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "livebuf.h"

long livebuf_collect(struct livebuf **out, const struct model *m, const struct ttmem_snapshot *s,
		     const struct livebuf_filter *f)
{
	int32_t *regix = malloc((size_t)TTMEM_MAX_PROC_CAPACITY * sizeof(*regix));
	struct livebuf *v = malloc((s->count ? s->count : 1) * sizeof(*v));
	size_t n = 0;

	*out = NULL;
	if (!regix || !v) {
		free(regix);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < TTMEM_MAX_PROC_CAPACITY; i++)
		regix[i] = -1;
	for (size_t i = 0; i < m->nproc; i++)
		if (m->proc[i].reg >= 0 && m->proc[i].reg < (int32_t)TTMEM_MAX_PROC_CAPACITY)
			regix[m->proc[i].reg] = (int32_t)i;
	for (size_t i = 0; i < s->count; i++) {
		const struct ttmem_entry *e = &s->entries[i];
		const struct model_proc *p = NULL;
		struct livebuf *b;
		int state;

		if (e->type >= TTMEM_TYPE_COUNT)
			continue;
		if (e->proc < TTMEM_MAX_PROC_CAPACITY && regix[e->proc] >= 0 &&
		    m->proc[regix[e->proc]].pid == e->pid)
			p = &m->proc[regix[e->proc]];
		state = p ? p->state : TTMEM_LIVENESS_UNKNOWN;
		if (f->device >= 0 && (uint64_t)f->device != e->key.device)
			continue;
		if (f->type >= 0 && f->type != e->type)
			continue;
		if (f->pid >= 0 && (uint64_t)f->pid != e->pid)
			continue;
		if (!f->all_states && state != TTMEM_LIVENESS_RUNNING)
			continue;
		b = &v[n++];
		/* A CB's key carries a per-process sequence above its 32-bit L1
		 * address (preload/cb_model.h: CB addresses repeat across
		 * programs); the buffer is at the address. */
		b->address = e->key.space == TTMEM_SPACE_CB ? e->key.address & 0xffffffffu
							     : e->key.address;
		b->size = e->size;
		b->device = e->key.device;
		b->page_size = e->page_size;
		b->type = e->type;
		b->space = e->key.space;
		b->owner = e->owner_kind;
		b->flags = e->flags;
		b->pid = e->pid;
		b->state = state;
		b->name = p ? p->name : "?";
		b->module = e->module;
		b->callsite = e->callsite;
		b->bank_bytes = e->bank_bytes;
	}
	free(regix);
	*out = v;
	return (long)n;
}

static enum livebuf_key sort_key;

static int cmp3(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_buf(const void *pa, const void *pb)
{
	const struct livebuf *a = pa, *b = pb;
	int c = 0;

	switch (sort_key) {
	case LB_BY_SIZE:
		c = cmp3(b->size, a->size);
		break;
	case LB_BY_PID:
		c = cmp3(a->pid, b->pid);
		break;
	case LB_BY_TYPE:
		c = cmp3(a->type, b->type);
		break;
	case LB_BY_ADDRESS:
	case LB_BY_DEVICE:
		break;
	}
	if (!c && sort_key == LB_BY_ADDRESS)
		c = cmp3(a->address, b->address);
	if (!c)
		c = cmp3(a->device, b->device);
	if (!c)
		c = cmp3(a->type, b->type);
	if (!c)
		c = cmp3(a->address, b->address);
	if (!c)
		c = cmp3(a->pid, b->pid);
	return c;
}

void livebuf_sort(struct livebuf *b, size_t n, enum livebuf_key key)
{
	/* qsort has no context argument in C11; the viewer is single-threaded. */
	sort_key = key;
	if (n > 1)
		qsort(b, n, sizeof(*b), cmp_buf);
}

/* Limits far above any chip (a bank of 1 TiB, 2^16 banks, 1 MiB alignment):
 * anything beyond is a corrupt or hostile segment, not a chip. */
#define GEO_MAX_BANK  (UINT64_C(1) << 40)
#define GEO_MAX_BANKS 65536u
#define GEO_MAX_ALIGN (1u << 20)

int livebuf_geometry(const struct ttmem_table *t, uint32_t device, unsigned type,
		     struct ttmem_bank_geometry *g, const char **why)
{
	const struct ttmem_header *h = ttmem_table_header(t);
	const struct ttmem_device_info *d;
	uint32_t bits;

	*why = "the runtime did not publish this type's bank geometry";
	if (device >= TTMEM_MAX_DEVICES || device >= h->device_capacity || type >= TTMEM_TYPE_COUNT)
		return -1;
	d = &ttmem_table_devices(t)[device];
	if (ttmem_table_hole(t, d, sizeof(*d)))
		return -1;
	/* Acquire: pairs with the release in ttmem_device_geometry. */
	bits = atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&d->geometry,
				    memory_order_acquire);
	if (!(bits & (1u << type)))
		return -1;
	g->base = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&d->bank_base[type],
				       memory_order_relaxed);
	g->size = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&d->bank_size[type],
				       memory_order_relaxed);
	g->banks = atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&d->banks[type],
					memory_order_relaxed);
	g->alignment = atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&d->alignment[type],
					    memory_order_relaxed);
	if (g->alignment == 0)
		g->alignment = 1;
	*why = "the published bank geometry is absurd (corrupt segment?)";
	if (!g->size || g->size > GEO_MAX_BANK || g->base > GEO_MAX_BANK || !g->banks ||
	    g->banks > GEO_MAX_BANKS || g->alignment > GEO_MAX_ALIGN ||
	    (g->alignment & (g->alignment - 1)))
		return -1;
	*why = NULL;
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	uint64_t r = v % a;

	return r ? v + (a - r) : v;
}

uint64_t livebuf_per_bank(const struct livebuf *b, const struct ttmem_bank_geometry *g,
			  int *exact)
{
	uint64_t a = g->alignment ? g->alignment : 1, page, pages;

	if (b->type == TTMEM_TYPE_CB)
		return align_up(b->size, a);
	if (b->bank_bytes && b->bank_bytes != TTMEM_PAGE_SIZE_LARGE)
		return align_up(b->bank_bytes, a);
	if (b->page_size == 0) {
		*exact = 0;
		return align_up((b->size + g->banks - 1) / g->banks, a);
	}
	page = b->page_size == TTMEM_PAGE_SIZE_LARGE || b->page_size > b->size ? b->size
										   : b->page_size;
	if (page == 0)
		return 0;
	pages = (b->size + page - 1) / page;
	return align_up((pages + g->banks - 1) / g->banks * align_up(page, a), a);
}

int livebuf_parse_type(const char *s)
{
	for (unsigned ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
		if (!strcasecmp(s, type_name(ty)))
			return (int)ty;
	return -1;
}
