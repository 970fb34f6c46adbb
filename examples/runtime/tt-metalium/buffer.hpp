// Emulated tt-metal: Buffer, with the upstream 2025 object layout.
//
// A tracker outside the library reads a Buffer* it receives from
// GraphTracker::track_allocate either through the exported getters or, for
// the inline ones (size(), buffer_type(), device()), at fixed offsets.  The
// member order below is upstream's, so the offsets are upstream's; buffer.cpp
// asserts them:
//   device_ 16, size_ 24, buffer_type_ 32, owns_data_ 43, allocator_ 64,
//   allocation_status_ 72, address_ 80, page_size_ 88.
// Getters defined in this header are inline and, with
// -fvisibility-inlines-hidden, not exported (as upstream).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Allocator;
class IDevice;

// Upstream carries shard specs and distribution specs here; the emulator
// only lays buffers out interleaved, so this keeps the signature of
// Buffer::create and nothing else.
class BufferShardingArgs {
public:
    BufferShardingArgs() = default;
    BufferShardingArgs(std::nullopt_t) {}
    TensorMemoryLayout buffer_layout() const { return buffer_layout_; }

private:
    TensorMemoryLayout buffer_layout_ = TensorMemoryLayout::INTERLEAVED;
};

class Buffer final : public std::enable_shared_from_this<Buffer> {
    // Keeps the public constructor (needed by make_shared) private in effect.
    struct Private {
        explicit Private() = default;
    };

public:
    // Owning buffer: reserves memory from the device's allocator and reports
    // it to GraphTracker::track_allocate.  Throws std::runtime_error when the
    // device is closed, the arguments are invalid, or memory is exhausted.
    static std::shared_ptr<Buffer> create(
        IDevice* device,
        DeviceAddr size,
        DeviceAddr page_size,
        BufferType buffer_type,
        const BufferShardingArgs& sharding_args = std::nullopt,
        std::optional<bool> bottom_up = std::nullopt,
        std::optional<SubDeviceId> sub_device_id = std::nullopt);
    // Non-owning view of memory at a fixed address (reserved by someone
    // else, e.g. a mesh buffer): no allocation, no report, no free.
    static std::shared_ptr<Buffer> create(
        IDevice* device,
        DeviceAddr address,
        DeviceAddr size,
        DeviceAddr page_size,
        BufferType buffer_type,
        const BufferShardingArgs& sharding_args = std::nullopt,
        std::optional<bool> bottom_up = std::nullopt,
        std::optional<SubDeviceId> sub_device_id = std::nullopt);

    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&&) = delete;
    Buffer& operator=(Buffer&&) = delete;
    ~Buffer();

    IDevice* device() const { return device_; }
    Allocator* allocator() const { return allocator_; }
    DeviceAddr size() const { return size_; }
    bool is_allocated() const;

    // Address in the first bank.  32 bits, as upstream.
    uint32_t address() const;

    DeviceAddr page_size() const;
    uint32_t num_pages() const;

    BufferType buffer_type() const { return buffer_type_; }
    bool is_l1() const;
    bool is_dram() const;
    bool is_trace() const;

    TensorMemoryLayout buffer_layout() const { return buffer_layout_; }
    bool bottom_up() const { return bottom_up_; }

    uint32_t alignment() const;
    DeviceAddr aligned_page_size() const;
    DeviceAddr aligned_size() const;
    DeviceAddr aligned_size_per_bank() const;

    std::optional<SubDeviceId> sub_device_id() const { return sub_device_id_; }
    DeviceAddr root_buffer_offset() const { return root_buffer_offset_; }
    size_t unique_id() const { return unique_id_; }

    // Marks the buffer deallocated without releasing device memory; the
    // allocator's bulk free uses it so later destruction reports nothing.
    void mark_as_deallocated();

    Buffer(
        IDevice* device,
        DeviceAddr size,
        DeviceAddr page_size,
        BufferType buffer_type,
        const BufferShardingArgs& sharding_args,
        std::optional<bool> bottom_up,
        std::optional<SubDeviceId> sub_device_id,
        bool owns_data,
        Private);

private:
    enum class AllocationStatus : uint8_t {
        ALLOCATION_REQUESTED,
        ALLOCATED,
        DEALLOCATED,
    };

    void allocate_impl();

    // May be called more than once.
    void deallocate();
    void deallocate_impl();
    friend void DeallocateBuffer(Buffer& buffer);
    friend struct BufferLayoutCheck;

    IDevice* const device_;
    const DeviceAddr size_;
    const BufferType buffer_type_;
    const TensorMemoryLayout buffer_layout_;
    const bool bottom_up_;
    const std::optional<SubDeviceId> sub_device_id_;
    const bool owns_data_;

    std::optional<SubDeviceManagerId> sub_device_manager_id_;
    Allocator* allocator_;

    AllocationStatus allocation_status_ = AllocationStatus::ALLOCATION_REQUESTED;
    bool hooked_allocation_ = false;
    DeviceAddr address_ = 0;

    DeviceAddr page_size_;
    // Upstream: shard spec, page mapping and distribution spec sit here.
    std::shared_ptr<Buffer> root_buffer_;
    DeviceAddr root_buffer_offset_ = 0;

    size_t unique_id_ = 0;
    static std::atomic<size_t> next_unique_id;
};

// Frees an owning buffer now (tracked); the object stays valid.
void DeallocateBuffer(Buffer& buffer);

}  // namespace tt::tt_metal
