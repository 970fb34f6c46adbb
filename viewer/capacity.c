/* SPDX-License-Identifier: MIT */
/*
 * What a chip can hold, when the segment does not say (device_info.capacity
 * is 0): a table per architecture.  tt::ARCH values are UMD's
 * (device/api/umd/device/tt_arch_types.h, 2025): GRAYSKULL = 1,
 * WORMHOLE_B0 = 2, BLACKHOLE = 3, QUASAR = 4.  Only DRAM is listed: the
 * usable L1 of a chip depends on its harvesting, so it must come from the
 * runtime (the segment) or stay unknown.
 */
#include "viewer.h"

#define GiB (UINT64_C(1) << 30)

static const struct {
	uint32_t arch;
	const char *name;
	uint64_t dram;
} archs[] = {
	{ 1, "grayskull", 8 * GiB },     /* e150: 8 banks x 1 GiB */
	{ 2, "wormhole_b0", 12 * GiB },  /* n150/n300 per chip: 12 banks x 1 GiB */
	{ 3, "blackhole", 32 * GiB },    /* p150: 8 banks x 4 GiB */
	{ 4, "quasar", 0 },
};

const char *arch_name(uint32_t arch)
{
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		if (archs[i].arch == arch)
			return archs[i].name;
	return NULL;
}

uint64_t arch_capacity(uint32_t arch, unsigned type)
{
	if (type != TTMEM_TYPE_DRAM)
		return 0;
	for (size_t i = 0; i < sizeof(archs) / sizeof(archs[0]); i++)
		if (archs[i].arch == arch)
			return archs[i].dram;
	return 0;
}
