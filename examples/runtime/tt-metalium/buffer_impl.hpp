// Emulated tt-metal: the state of a Buffer, in upstream's member order.
//
// G1/G2 embed it as the first member of Buffer, right after the 16-byte
// enable_shared_from_this base, so the fields sit at upstream's 2025
// offsets (device_ 16, size_ 24, buffer_type_ 32, owns_data_ 43,
// allocator_ 64, allocation_status_ 72, address_ 80, page_size_ 88).  G3
// keeps it behind Buffer's std::unique_ptr<BufferImpl>, as upstream's 2026
// BufferImpl (the same members at the same offsets minus 16).  buffer.cpp
// asserts both.  Every member function here is inline: with
// -fvisibility-inlines-hidden none of it is exported.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class Buffer;
class IDevice;

struct BufferImpl {
    enum class AllocationStatus : uint8_t {
        ALLOCATION_REQUESTED,
        ALLOCATED,
        DEALLOCATED,
    };

    BufferImpl(
        IDevice* device,
        DeviceAddr size,
        DeviceAddr page_size,
        BufferType buffer_type,
        TensorMemoryLayout buffer_layout,
        bool bottom_up,
        std::optional<SubDeviceId> sub_device_id,
        bool owns_data,
        DeviceAllocator* allocator,
        size_t unique_id,
        uint32_t shard_cores = 0,
        uint32_t shard_pages = 0) :
        device_(device),
        size_(size),
        buffer_type_(buffer_type),
        buffer_layout_(buffer_layout),
        bottom_up_(bottom_up),
        sub_device_id_(sub_device_id),
        owns_data_(owns_data),
        allocator_(allocator),
        page_size_(page_size),
        unique_id_(unique_id),
        shard_cores_(shard_cores),
        shard_pages_(shard_pages) {}

    IDevice* const device_;
    const DeviceAddr size_;
    const BufferType buffer_type_;
    const TensorMemoryLayout buffer_layout_;
    const bool bottom_up_;
    const std::optional<SubDeviceId> sub_device_id_;
    const bool owns_data_;

    std::optional<SubDeviceManagerId> sub_device_manager_id_;
    DeviceAllocator* allocator_;

    AllocationStatus allocation_status_ = AllocationStatus::ALLOCATION_REQUESTED;
    bool hooked_allocation_ = false;
    DeviceAddr address_ = 0;

    DeviceAddr page_size_;
    // Upstream: shard spec, page mapping and distribution spec sit here.
    std::shared_ptr<Buffer> root_buffer_;
    DeviceAddr root_buffer_offset_ = 0;

    size_t unique_id_ = 0;
    // HEIGHT_SHARDED only (BufferShardingArgs): cores and pages per core;
    // 0 when interleaved.  After every field a tracker reads.
    uint32_t shard_cores_ = 0;
    uint32_t shard_pages_ = 0;
#if TTEMU_BUFFER_PIMPL
    // Where upstream's 2026 BufferImpl keeps it (G1/G2: Buffer's).
    static std::atomic<size_t> next_unique_id;
    // Upstream builds its BufferImpl with a back-pointer to the Buffer.
    Buffer* self_ = nullptr;
    // The free of an owning buffer runs here (buffer.cpp), while the
    // Buffer's unique_ptr<BufferImpl> is being destroyed.
    ~BufferImpl();
    BufferImpl(const BufferImpl&) = default;
#endif
};

}  // namespace tt::tt_metal
