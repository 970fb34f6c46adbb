/* SPDX-License-Identifier: MIT */
/*
 * The device table (segment.h, "devices"): chips published by the writers
 * that see them, so that a reader lists every chip, with its architecture
 * (and so its capacity), even when nothing is allocated on it.
 *
 * Lock-free and crash-safe without a claim state: a writer stores `arch`
 * (when it knows it), then `state` = 1 with release.  Writers racing on one
 * chip store the same facts (one physical chip has one architecture), so
 * whichever store lands last is right, and one that does not know the
 * architecture never overwrites it with 0; a writer killed between the two
 * stores leaves state 0 and the next one redoes both.
 */
#include <errno.h>

#include "internal.h"

/* `arch` is a plain field in the layout (written once, read after the
 * acquire of `state`); racing writers reach it through an atomic view of the
 * same word, so they never tear it.  Same size and alignment: segment.h
 * asserts 32-bit atomics are lock-free, i.e. plain words. */
static _Atomic uint32_t *arch_word(struct ttmem_device_info *d)
{
	return (_Atomic uint32_t *)(void *)&d->arch;
}

int ttmem_device_note(struct ttmem_table *t, uint32_t device, uint32_t arch)
{
	struct ttmem_device_info *d;
	uint32_t cur;

	if (!t || !t->writable)
		return -EINVAL;
	if (device >= TTMEM_MAX_DEVICES)
		return 0;
	d = &t->devices[device];
	if (atomic_load_explicit(&d->state, memory_order_acquire) == 1) {
		/* Published without an architecture (a writer that could not
		 * read it): a writer that can fills it in, once. */
		cur = 0;
		if (arch != 0)
			atomic_compare_exchange_strong_explicit(arch_word(d), &cur, arch,
								memory_order_relaxed,
								memory_order_relaxed);
		return 0;
	}
	if (arch != 0)
		atomic_store_explicit(arch_word(d), arch, memory_order_relaxed);
	atomic_store_explicit(&d->state, 1, memory_order_release);
	return 1;
}

int ttmem_device_geometry(struct ttmem_table *t, uint32_t device, unsigned type,
			  const struct ttmem_bank_geometry *g)
{
	struct ttmem_device_info *d;
	uint32_t bit = 1u << type;

	if (!t || !t->writable || !g || type >= TTMEM_TYPE_COUNT || !g->size || !g->banks)
		return -EINVAL;
	if (device >= TTMEM_MAX_DEVICES)
		return 0;
	d = &t->devices[device];
	/* Acquire: pairs with the release below (another writer's). */
	if (atomic_load_explicit(&d->geometry, memory_order_acquire) & bit)
		return 0;
	atomic_store_explicit(&d->bank_base[type], g->base, memory_order_relaxed);
	atomic_store_explicit(&d->bank_size[type], g->size, memory_order_relaxed);
	atomic_store_explicit(&d->banks[type], g->banks, memory_order_relaxed);
	atomic_store_explicit(&d->alignment[type], g->alignment, memory_order_relaxed);
	atomic_store_explicit(&d->capacity[type], g->size * g->banks, memory_order_relaxed);
	/* Release: pairs with the acquire of readers that test the bit. */
	atomic_fetch_or_explicit(&d->geometry, bit, memory_order_release);
	return 1;
}
