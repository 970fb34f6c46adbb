/* SPDX-License-Identifier: MIT */
/*
 * Generation "2025" (G1): the layout of shared/RESEARCH.md section 1,
 * tenstorrent/tt-metal @00ef79b5 and @58eb2b3b (GENERATIONS.md).
 *
 * Buffer keeps its fields inline; device(), size(), buffer_type() and
 * allocator() are inline (hidden), so those are read at their offsets and
 * cross-checked against the exported address(), page_size(), num_pages().
 * Device::close() runs Allocator::deallocate_buffers() and clear() (bulk,
 * unreported), then destroys the command queues (virtual, exported
 * destructor) and the system memory manager.
 */
#include <stddef.h>

#include "abi.h"

static const char *const exports[] = {
	ABI_SYM_TRACK_ALLOCATE,
	ABI_SYM_BUFFER_ADDRESS,
	ABI_SYM_ALLOC_BULK_FREE,
	NULL,
};

static const char *const lacks[] = {
	ABI_SYM_BUFFER_DEVICE,        /* exported from 2026 on */
	ABI_SYM_ALLOCI_BULK_FREE,     /* 2025b */
	NULL,
};

const struct abi_generation abi_generation_2025 = {
	.name = "2025",
	.bit = ABI_GEN_2025,
	.marks = "Allocator::deallocate_buffers exported, Buffer::device() inline",
	.exports = exports,
	.lacks = lacks,
	.reading = ABI_READ_FIELDS_2025,
	.owners = "HWCommandQueue(IDevice*, shared_ptr<CQSharedState>, uint32_t, NOC, uint32_t) "
		  "and SystemMemoryManager(ChipId, uint8_t) constructors; command queue destructor",
	.close = "Allocator::deallocate_buffers/clear, Device::close, MeshDevice::close",
};
