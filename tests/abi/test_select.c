/* SPDX-License-Identifier: MIT */
/*
 * The generation table on sets of exports (abi/abi.h): each generation of
 * abi/GENERATIONS.md is told by its exports alone, a runtime that matches
 * none is "unknown", and what the getter-only reading misses is named.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "abi.h"

/* A set of exported names, NULL-terminated. */
static int in_set(void *ctx, const char *name)
{
	for (const char *const *n = ctx; *n; n++)
		if (!strcmp(*n, name))
			return 1;
	return 0;
}

static const char *gen_of(const char *const *exports)
{
	return abi_generation_select(in_set, (void *)exports)->name;
}

#define COMMON ABI_SYM_TRACK_ALLOCATE, ABI_SYM_TRACK_DEALLOCATE, ABI_SYM_BUFFER_ADDRESS, \
	ABI_SYM_BUFFER_PAGE_SIZE, ABI_SYM_BUFFER_NUM_PAGES, ABI_SYM_BUFFER_IS_DRAM,      \
	ABI_SYM_BUFFER_IS_L1, ABI_SYM_DEVICE_CLOSE, ABI_SYM_MESH_CLOSE,                  \
	ABI_SYM_MESH_GET_DEVICES

Test(select, generation_2025)
{
	const char *const e[] = { COMMON, ABI_SYM_BUFFER_IS_TRACE, ABI_SYM_ALLOC_BULK_FREE,
				  ABI_SYM_ALLOC_CLEAR, ABI_SYM_CQ_C1, ABI_SYM_SMM_C1, NULL };
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);

	cr_assert_str_eq(g->name, "2025");
	cr_assert_eq(g->bit, ABI_GEN_2025);
	cr_assert_eq(g->reading, ABI_READ_FIELDS_2025);
}

Test(select, generation_2025b)
{
	const char *const e[] = { COMMON, ABI_SYM_BUFFER_IS_TRACE, ABI_SYM_BUFFER_ALLOCATOR,
				  ABI_SYM_ALLOCI_BULK_FREE, ABI_SYM_ALLOCI_CLEAR, ABI_SYM_CQ_C1, NULL };
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);

	cr_assert_str_eq(g->name, "2025b");
	cr_assert_eq(g->reading, ABI_READ_FIELDS_2025);
}

/* 2026 also exports AllocatorImpl's bulk free (a mesh's allocator): the
 * pimpl's getters decide, and its fields are never read. */
Test(select, generation_2026)
{
	const char *const e[] = { COMMON, ABI_SYM_BUFFER_DEVICE, ABI_SYM_BUFFER_ALLOCATOR,
				  ABI_SYM_BUFFER_SIZE, ABI_SYM_BUFFER_TYPE, ABI_SYM_BUFFER_IMPL,
				  ABI_SYM_ALLOCI_BULK_FREE, ABI_SYM_CQ26_C1, ABI_SYM_SMM26_C1, NULL };
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);
	char missing[256];

	cr_assert_str_eq(g->name, "2026");
	cr_assert_eq(g->reading, ABI_READ_GETTERS);
	cr_assert_eq(abi_getters_missing(in_set, (void *)e, missing, sizeof(missing)), 0, "%s",
		     missing);
}

/* The 2025 layout's getters inline but Buffer::device() exported: not a
 * 2025 runtime, whatever else it exports (its fields are not read). */
Test(select, device_getter_is_never_2025)
{
	const char *const e[] = { COMMON, ABI_SYM_BUFFER_DEVICE, ABI_SYM_ALLOC_BULK_FREE, NULL };

	cr_assert_str_eq(gen_of(e), "unknown");
}

/* Both allocator classes: a runtime of neither 2025 nor 2025b. */
Test(select, both_allocator_classes_is_2025b_not_2025)
{
	const char *const e[] = { COMMON, ABI_SYM_ALLOC_BULK_FREE, ABI_SYM_ALLOCI_BULK_FREE, NULL };

	cr_assert_str_eq(gen_of(e), "2025b");
}

/* Pre-2025 runtimes carry an inline namespace v0 in every name: none of
 * ours is exported, so nothing matches. */
Test(select, pre_2025_is_unknown_and_misses_everything)
{
	const char *const e[] = { "_ZNK2tt8tt_metal2v06Buffer7addressEv", NULL };
	char missing[512];

	cr_assert_str_eq(gen_of(e), "unknown");
	cr_assert_eq(abi_getters_missing(in_set, (void *)e, missing, sizeof(missing)), 6);
	cr_assert_str_eq(missing, "Buffer::address() (nothing is tracked), Buffer::device() (chips "
			 "unknown, no release at close), Buffer::size() (and num_pages()), "
			 "Buffer::buffer_type() (a coarse type), Buffer::allocator() (no bulk "
			 "frees), MeshDevice::get_devices() (mesh buffers on the mesh id only)");
}

/* An unknown runtime with the 2026 getters but not impl(): read through
 * them, missing nothing; one that lacks size() but has num_pages() is not
 * missing a size. */
Test(select, unknown_with_getters)
{
	const char *const e[] = { COMMON, ABI_SYM_BUFFER_DEVICE, ABI_SYM_BUFFER_ALLOCATOR,
				  ABI_SYM_BUFFER_TYPE, NULL };
	char missing[256];
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);

	cr_assert_eq(g, &abi_generation_unknown);
	cr_assert_eq(g->reading, ABI_READ_GETTERS);
	cr_assert_eq(abi_getters_missing(in_set, (void *)e, missing, sizeof(missing)), 0, "%s",
		     missing);
}

/* The table: every generation named once, each with its own bit, newest
 * first, and the bits are those of ABI_GEN_ALL. */
Test(select, table_is_well_formed)
{
	uint32_t bits = 0;
	unsigned n = 0;

	for (const struct abi_generation *const *g = abi_generations; *g; g++, n++) {
		cr_assert((*g)->bit && !((*g)->bit & bits), "%s: bit", (*g)->name);
		bits |= (*g)->bit;
		cr_assert((*g)->exports && (*g)->exports[0], "%s: no marks", (*g)->name);
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(bits, ABI_GEN_ALL);
	cr_assert_str_eq(abi_generations[0]->name, "2026");
}

/* The export sets of the real runtimes (nm -D of the ttnn wheels, marks and
 * getters only; abi/GENERATIONS.md "The real runtime").  No wheel exports
 * Buffer::is_l1() (inline in all of them). */
#define REAL_COMMON ABI_SYM_TRACK_ALLOCATE, ABI_SYM_TRACK_DEALLOCATE, ABI_SYM_BUFFER_ADDRESS, \
	ABI_SYM_BUFFER_PAGE_SIZE, ABI_SYM_BUFFER_NUM_PAGES, ABI_SYM_BUFFER_IS_DRAM,           \
	ABI_SYM_DEVICE_CLOSE, ABI_SYM_MESH_CLOSE, ABI_SYM_MESH_GET_DEVICES
Test(select, real_ttnn_0_59_is_2025)
{
	/* _ttnncpp.so: track_allocate_cb on ::CoreRangeSet. */
	const char *const e[] = { REAL_COMMON, ABI_SYM_BUFFER_IS_TRACE, ABI_SYM_ALLOC_BULK_FREE,
				  ABI_SYM_ALLOC_CLEAR, ABI_SYM_CQ_C1, ABI_SYM_CQ_D1, ABI_SYM_SMM_C1,
				  ABI_SYM_TRACK_ALLOCATE_CB_GNS, NULL };

	cr_assert_str_eq(gen_of(e), "2025");
}

Test(select, real_ttnn_0_70_1_is_2025b)
{
	/* The 2025 Buffer with allocator() exported, both allocator classes'
	 * bulk frees, and the 2026 owner constructors. */
	const char *const e[] = { REAL_COMMON, ABI_SYM_BUFFER_IS_TRACE, ABI_SYM_BUFFER_ALLOCATOR,
				  ABI_SYM_ALLOC_BULK_FREE, ABI_SYM_ALLOCI_BULK_FREE,
				  ABI_SYM_ALLOCI_CLEAR, ABI_SYM_ALLOCI_VIEW, ABI_SYM_CQDEV_C1,
				  ABI_SYM_SMM26_C1, ABI_SYM_DEVICE_INIT_CQ_TOPO, NULL };
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);

	cr_assert_str_eq(g->name, "2025b");
	cr_assert_eq(g->reading, ABI_READ_FIELDS_2025);
}

Test(select, real_ttnn_0_81_1_is_2026)
{
	const char *const e[] = { REAL_COMMON, ABI_SYM_BUFFER_DEVICE, ABI_SYM_BUFFER_ALLOCATOR,
				  ABI_SYM_BUFFER_SIZE, ABI_SYM_BUFFER_TYPE, ABI_SYM_BUFFER_IMPL,
				  ABI_SYM_ALLOC_BULK_FREE, ABI_SYM_ALLOCI_BULK_FREE,
				  ABI_SYM_ALLOCI_VIEW, ABI_SYM_CQDEV_C1, ABI_SYM_SMM26_C1,
				  ABI_SYM_TRACK_ALLOCATE_SCRATCHPAD, ABI_SYM_TRACK_ALLOCATE_DFB, NULL };
	const struct abi_generation *g = abi_generation_select(in_set, (void *)e);
	char missing[256];

	cr_assert_str_eq(g->name, "2026");
	cr_assert_eq(abi_getters_missing(in_set, (void *)e, missing, sizeof(missing)), 0, "%s",
		     missing);
}
