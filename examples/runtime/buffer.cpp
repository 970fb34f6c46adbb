// Emulated tt-metal: Buffer.  create() and allocate_impl() share this
// translation unit on purpose: clang inlines allocate_impl into create (as
// it does upstream), g++ keeps the call through the PLT.
#include <tt-metalium/buffer.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/device.hpp>
#include <tt-metalium/graph_tracking.hpp>

namespace tt::tt_metal {

// The offsets a tracker reads (RESEARCH.md, "Reading a Buffer* from outside").
struct BufferLayoutCheck {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    static_assert(offsetof(Buffer, device_) == 16, "Buffer::device_");
    static_assert(offsetof(Buffer, size_) == 24, "Buffer::size_");
    static_assert(offsetof(Buffer, buffer_type_) == 32, "Buffer::buffer_type_");
    static_assert(offsetof(Buffer, owns_data_) == 43, "Buffer::owns_data_");
    static_assert(offsetof(Buffer, allocator_) == 64, "Buffer::allocator_");
    static_assert(offsetof(Buffer, allocation_status_) == 72, "Buffer::allocation_status_");
    static_assert(offsetof(Buffer, address_) == 80, "Buffer::address_");
    static_assert(offsetof(Buffer, page_size_) == 88, "Buffer::page_size_");
#pragma GCC diagnostic pop
    static_assert(sizeof(BufferType) == 4, "BufferType is an int enum");
};

std::atomic<size_t> Buffer::next_unique_id{0};

namespace {
void validate(IDevice* device, DeviceAddr size, DeviceAddr page_size, BufferType type) {
    if (device == nullptr) throw std::runtime_error("Buffer: no device");
    if (!device->is_initialized())
        throw std::runtime_error("Buffer: device " + std::to_string(device->id()) + " is not initialized");
    if (type == BufferType::SYSTEM_MEMORY) throw std::runtime_error("Buffer: SYSTEM_MEMORY buffers are not supported");
    if (size != 0 && (page_size == 0 || size % page_size != 0))
        throw std::runtime_error(
            "Buffer: size " + std::to_string(size) + " is not a multiple of page size " + std::to_string(page_size));
}
}  // namespace

Buffer::Buffer(
    IDevice* device,
    DeviceAddr size,
    DeviceAddr page_size,
    BufferType buffer_type,
    const BufferShardingArgs& sharding_args,
    std::optional<bool> bottom_up,
    std::optional<SubDeviceId> sub_device_id,
    bool owns_data,
    Private) :
    device_(device),
    size_(size),
    buffer_type_(buffer_type),
    buffer_layout_(sharding_args.buffer_layout()),
    // Upstream default: DRAM bottom-up, L1 top-down.
    bottom_up_(bottom_up.value_or(buffer_type == BufferType::DRAM || buffer_type == BufferType::TRACE)),
    sub_device_id_(sub_device_id),
    owns_data_(owns_data),
    allocator_(device->allocator().get()),
    page_size_(page_size),
    unique_id_(next_unique_id.fetch_add(1, std::memory_order_relaxed)) {}

std::shared_ptr<Buffer> Buffer::create(
    IDevice* device,
    DeviceAddr size,
    DeviceAddr page_size,
    BufferType buffer_type,
    const BufferShardingArgs& sharding_args,
    std::optional<bool> bottom_up,
    std::optional<SubDeviceId> sub_device_id) {
    validate(device, size, page_size, buffer_type);
    auto buffer = std::make_shared<Buffer>(
        device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, true, Private());
    if (buffer->size_ == 0) {
        buffer->allocation_status_ = AllocationStatus::ALLOCATED;
        return buffer;
    }
    buffer->allocate_impl();
    return buffer;
}

std::shared_ptr<Buffer> Buffer::create(
    IDevice* device,
    DeviceAddr address,
    DeviceAddr size,
    DeviceAddr page_size,
    BufferType buffer_type,
    const BufferShardingArgs& sharding_args,
    std::optional<bool> bottom_up,
    std::optional<SubDeviceId> sub_device_id) {
    validate(device, size, page_size, buffer_type);
    auto buffer = std::make_shared<Buffer>(
        device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, false, Private());
    buffer->address_ = address;
    buffer->allocation_status_ = AllocationStatus::ALLOCATED;
    return buffer;
}

void Buffer::allocate_impl() {
    // A graph capture hook (ttnn's NO_DISPATCH) takes the allocation over:
    // no device memory, address 0, and still reported below (as upstream).
    if (GraphTracker::instance().hook_allocate(this)) {
        address_ = 0;
        hooked_allocation_ = true;
    } else {
        address_ = allocator_->allocate_buffer(this);
    }
    allocation_status_ = AllocationStatus::ALLOCATED;
    // Reported after the address is set: a tracker reads it from the buffer.
    GraphTracker::instance().track_allocate(this);
}

void Buffer::deallocate() {
    if (!owns_data_) return;
    this->deallocate_impl();
}

void Buffer::deallocate_impl() {
    if (allocation_status_ != AllocationStatus::ALLOCATED) return;
    // After close the device's memory is already gone (bulk free): nothing to
    // report, nothing to release.  A tensor outliving its device lands here.
    if (device_->is_initialized() && size_ != 0) {
        GraphTracker::instance().track_deallocate(this);
        // A hook may take the free over; a hooked allocation holds nothing.
        if (!GraphTracker::instance().hook_deallocate(this) && !hooked_allocation_)
            allocator_->deallocate_buffer(this);
    }
    allocation_status_ = AllocationStatus::DEALLOCATED;
}

Buffer::~Buffer() { this->deallocate(); }

void DeallocateBuffer(Buffer& buffer) { buffer.deallocate(); }

void Buffer::mark_as_deallocated() { allocation_status_ = AllocationStatus::DEALLOCATED; }

bool Buffer::is_allocated() const { return allocation_status_ == AllocationStatus::ALLOCATED; }

uint32_t Buffer::address() const { return static_cast<uint32_t>(address_); }

DeviceAddr Buffer::page_size() const { return page_size_; }

uint32_t Buffer::num_pages() const { return page_size_ == 0 ? 0 : static_cast<uint32_t>(size_ / page_size_); }

bool Buffer::is_l1() const { return buffer_type_ == BufferType::L1 || buffer_type_ == BufferType::L1_SMALL; }

bool Buffer::is_dram() const { return buffer_type_ == BufferType::DRAM || buffer_type_ == BufferType::TRACE; }

bool Buffer::is_trace() const { return buffer_type_ == BufferType::TRACE; }

uint32_t Buffer::alignment() const { return allocator_->alignment(buffer_type_); }

DeviceAddr Buffer::aligned_page_size() const {
    const DeviceAddr a = alignment();
    return (page_size_ + a - 1) / a * a;
}

DeviceAddr Buffer::aligned_size_per_bank() const {
    const DeviceAddr banks = allocator_->num_banks(buffer_type_);
    return (num_pages() + banks - 1) / banks * aligned_page_size();
}

DeviceAddr Buffer::aligned_size() const { return aligned_size_per_bank() * allocator_->num_banks(buffer_type_); }

}  // namespace tt::tt_metal
