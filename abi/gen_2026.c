/* SPDX-License-Identifier: MIT */
/*
 * Generation "2026" (G3): filipkarlov-alt/tt-metal @95a51eff (GENERATIONS.md).
 *
 * Buffer is a 24-byte pimpl (enable_shared_from_this, 16 bytes, then
 * std::unique_ptr<BufferImpl> impl_): nothing of the 2025 layout is inside
 * it, so it is never read; device(), allocator(), size(), address(),
 * buffer_type() are exported and every field comes from them.
 * Device::close() no longer calls the bulk frees: it destroys the allocator
 * with whatever it holds (silently), then the command queues (inline
 * destructor, not exported) and the system memory manager, so everything a
 * chip still holds is released when Device::close / MeshDevice::close
 * return.  System buffers are owned by the HWCommandQueue(Device*,
 * uint32_t, NOC) (ttnn 0.81.1; IDevice* in the tree read) and
 * SystemMemoryManager(ContextId, ChipId, uint8_t)
 * constructors where they bind; else by Device::init_command_queue_host(),
 * the device-open entry point that builds both.
 */
#include <stddef.h>

#include "abi.h"

static const char *const exports[] = {
	ABI_SYM_TRACK_ALLOCATE,
	ABI_SYM_BUFFER_ADDRESS,
	ABI_SYM_BUFFER_DEVICE,
	ABI_SYM_BUFFER_IMPL,
	NULL,
};

static const char *const lacks[] = {
	NULL,
};

const struct abi_generation abi_generation_2026 = {
	.name = "2026",
	.bit = ABI_GEN_2026,
	.marks = "Buffer::device() and Buffer::impl() exported (24-byte pimpl Buffer)",
	.exports = exports,
	.lacks = lacks,
	.reading = ABI_READ_GETTERS,
	.owners = "HWCommandQueue(Device*, uint32_t, NOC) (IDevice* in one tree) and "
		  "SystemMemoryManager(ContextId, ChipId, uint8_t) constructors, else "
		  "Device::init_command_queue_host()",
	.close = "Device::close, MeshDevice::close (the allocator is destroyed silently inside)",
};
