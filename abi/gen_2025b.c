/* SPDX-License-Identifier: MIT */
/*
 * Generation "2025b" (G2): macan88/tt-metal @6a5832c9 (GENERATIONS.md).
 *
 * The 2025 Buffer layout and offsets, but the allocator is an AllocatorImpl
 * (Buffer::allocator() out of line and exported, so the allocator is read
 * through it) and the bulk frees Device::close runs are
 * AllocatorImpl::deallocate_buffers() and clear().
 */
#include <stddef.h>

#include "abi.h"

static const char *const exports[] = {
	ABI_SYM_TRACK_ALLOCATE,
	ABI_SYM_BUFFER_ADDRESS,
	ABI_SYM_ALLOCI_BULK_FREE,
	NULL,
};

static const char *const lacks[] = {
	ABI_SYM_BUFFER_DEVICE,        /* exported from 2026 on */
	NULL,
};

const struct abi_generation abi_generation_2025b = {
	.name = "2025b",
	.bit = ABI_GEN_2025B,
	.marks = "AllocatorImpl::deallocate_buffers exported, Buffer::device() inline",
	.exports = exports,
	.lacks = lacks,
	.reading = ABI_READ_FIELDS_2025,
	.owners = "HWCommandQueue(IDevice*, shared_ptr<CQSharedState>, uint32_t, NOC, uint32_t) "
		  "and SystemMemoryManager(ChipId, uint8_t) constructors; command queue destructor",
	.close = "AllocatorImpl::deallocate_buffers/clear, Device::close, MeshDevice::close",
};
