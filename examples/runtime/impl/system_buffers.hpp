// Emulated tt-metal, private: the "system buffers" of an open chip.
//
// The seed measured ~14.75 MB of DRAM in ~10 buffers per chip, allocated
// while the command queues are built and never reported freed.  The emulator
// allocates them as ordinary Buffers (so their allocation IS reported, as the
// seed saw), and never frees them one by one:
// - G1: from the SystemMemoryManager and HWCommandQueue constructors;
//   released by the allocator's bulk free at close;
// - G2/G3: from Device::init_command_queue_device_with_topology (the dispatch
//   program, CommandQueueProgram); gone with the allocator at close.
// Per chip with one command queue: 10 DRAM buffers, 15,466,496 bytes
// (14.75 MiB), and 2 L1 buffers, 114,688 bytes, in every generation.
#pragma once

#include <cstdint>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal::system_buffers {

struct Spec {
    const char* name;
    BufferType type;
    uint64_t size;
    uint64_t page_size;
};

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

// Built once per chip (G1: by SystemMemoryManager(ChipId, uint8_t)).
constexpr Spec kSysmem[] = {
    {"issue_queue", BufferType::DRAM, 2 * MiB, 2048},
    {"completion_queue", BufferType::DRAM, 2 * MiB, 2048},
    {"prefetch_q", BufferType::DRAM, 512 * KiB, 2048},
};

// Built once per command queue (G1: by HWCommandQueue's constructor).
constexpr Spec kCommandQueue[] = {
    {"ringbuffer_cache", BufferType::DRAM, 4 * MiB, 2048},
    {"config_buffer", BufferType::DRAM, 2 * MiB, 2048},
    {"dispatch_buffer", BufferType::DRAM, 1 * MiB, 2048},
    {"prefetch_cmddat_q", BufferType::DRAM, 1 * MiB, 2048},
    {"dispatch_s_buffer", BufferType::DRAM, 1 * MiB, 2048},
    {"launch_msg_buffer", BufferType::DRAM, 512 * KiB, 2048},
    {"event_buffer", BufferType::DRAM, 768 * KiB, 2048},
    {"dispatch_l1_scratch", BufferType::L1, 96 * KiB, 1024},
    {"worker_sync", BufferType::L1, 16 * KiB, 1024},
};

}  // namespace tt::tt_metal::system_buffers
