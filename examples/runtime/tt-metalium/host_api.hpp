// Emulated tt-metal: opening and closing single chips (upstream host_api.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/device.hpp>

namespace tt::tt_metal {

// Chips that can be opened: ids 0 .. GetNumAvailableDevices() - 1.
size_t GetNumAvailableDevices();

// Opens a chip: allocator, system memory manager and command queues (whose
// system buffers are allocated now).  l1_small_size is per core,
// trace_region_size in all.  Throws std::runtime_error if the chip is already
// open (one chip, one owner) or the open fails; nothing stays allocated then.
IDevice* CreateDevice(
    ChipId device_id,
    uint8_t num_hw_cqs = 1,
    size_t l1_small_size = DEFAULT_L1_SMALL_SIZE,
    size_t trace_region_size = DEFAULT_TRACE_REGION_SIZE,
    const DispatchCoreConfig& dispatch_core_config = DispatchCoreConfig{},
    const std::vector<uint32_t>& l1_bank_remap = {},
    size_t worker_l1_size = DEFAULT_WORKER_L1_SIZE);

// Closes a chip opened with CreateDevice (through the virtual Device::close).
// Buffers still alive stay valid objects and free nothing when destroyed.
bool CloseDevice(IDevice* device);

}  // namespace tt::tt_metal
