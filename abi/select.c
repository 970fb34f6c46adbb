/* SPDX-License-Identifier: MIT */
/*
 * The table of known tt-metal generations and how a runtime is matched to
 * one (see abi.h).  Newest first: a generation's marks are chosen so that
 * at most one matches any runtime seen (GENERATIONS.md), and the order only
 * decides for a runtime that carries the marks of two.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"

extern const struct abi_generation abi_generation_2025;
extern const struct abi_generation abi_generation_2025b;
extern const struct abi_generation abi_generation_2026;

const struct abi_generation *const abi_generations[] = {
	&abi_generation_2026,
	&abi_generation_2025b,
	&abi_generation_2025,
	NULL,
};

const struct abi_generation abi_generation_unknown = {
	.name = "unknown",
	.bit = 0,
	.marks = "matches no known generation",
	.exports = NULL,
	.lacks = NULL,
	.reading = ABI_READ_GETTERS,
	.owners = "whatever owner constructors and device-open entry points bind",
	.close = "Device::close, MeshDevice::close where they bind",
};

static int all_exported(const char *const *names, abi_exported_fn exported, void *ctx)
{
	for (; names && *names; names++)
		if (!exported(ctx, *names))
			return 0;
	return 1;
}

static int none_exported(const char *const *names, abi_exported_fn exported, void *ctx)
{
	for (; names && *names; names++)
		if (exported(ctx, *names))
			return 0;
	return 1;
}

const struct abi_generation *abi_generation_select(abi_exported_fn exported, void *ctx)
{
	for (const struct abi_generation *const *g = abi_generations; *g; g++)
		if (all_exported((*g)->exports, exported, ctx) &&
		    none_exported((*g)->lacks, exported, ctx))
			return *g;
	return &abi_generation_unknown;
}

/* What the getter-only reading needs, and what it costs to miss it. */
static const struct {
	const char *sym;
	const char *alt;      /* another way to the same value, or NULL */
	const char *what;
} getters[] = {
	{ ABI_SYM_BUFFER_ADDRESS, NULL, "Buffer::address() (nothing is tracked)" },
	{ ABI_SYM_BUFFER_DEVICE, NULL, "Buffer::device() (chips unknown, no release at close)" },
	{ ABI_SYM_BUFFER_SIZE, ABI_SYM_BUFFER_NUM_PAGES, "Buffer::size() (and num_pages())" },
	{ ABI_SYM_BUFFER_TYPE, ABI_SYM_BUFFER_IS_DRAM, "Buffer::buffer_type() (a coarse type)" },
	{ ABI_SYM_BUFFER_ALLOCATOR, NULL, "Buffer::allocator() (no bulk frees)" },
	{ ABI_SYM_MESH_GET_DEVICES, NULL,
	  "MeshDevice::get_devices() (mesh buffers on the mesh id only)" },
};

unsigned abi_getters_missing(abi_exported_fn exported, void *ctx, char *buf, unsigned len)
{
	unsigned n = 0;
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(getters) / sizeof(getters[0]); i++) {
		if (exported(ctx, getters[i].sym) || (getters[i].alt && exported(ctx, getters[i].alt)))
			continue;
		n++;
		if (used < len) {
			int w = snprintf(buf + used, len - used, "%s%s", n > 1 ? ", " : "",
					 getters[i].what);
			if (w > 0)
				used += (size_t)w;
		}
	}
	return n;
}
