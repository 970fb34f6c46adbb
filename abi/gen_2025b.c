/* SPDX-License-Identifier: MIT */
/*
 * Generation "2025b" (G2): macan88/tt-metal @6a5832c9 (GENERATIONS.md).
 *
 * The 2025 Buffer layout and offsets, but the allocator is an AllocatorImpl
 * (Buffer::allocator() out of line and exported, so the allocator is read
 * through it) and the bulk frees Device::close runs are
 * AllocatorImpl::deallocate_buffers() and clear().
 *
 * The real ttnn 0.70.1 is this generation with the owner shapes of 2026:
 * HWCommandQueue(Device*, uint32_t, NOC) (no destructor exported),
 * SystemMemoryManager(ContextId, ChipId, uint8_t) (GENERATIONS.md, "The
 * real runtime"); its Buffer getters load the 2025 offsets.
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
		  "or (Device*, uint32_t, NOC), SystemMemoryManager(ChipId, uint8_t) or (ContextId, "
		  "ChipId, uint8_t) constructors, whichever exist; command queue destructor",
	.close = "AllocatorImpl::deallocate_buffers/clear, Device::close, MeshDevice::close",
};
