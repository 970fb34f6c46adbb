// Emulated tt-metal: Buffer.  create() and the allocation body share this
// translation unit on purpose: clang inlines allocate_impl into create (as
// it does upstream), g++ keeps the call through the PLT.  In G3 the bodies
// are no Buffer members (upstream moved them to its BufferImpl): create()
// runs them directly.
#include <tt-metalium/buffer.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/buffer_impl.hpp>
#include <tt-metalium/device.hpp>
#include <tt-metalium/graph_tracking.hpp>

#include "impl/buffer_access.hpp"

namespace tt::tt_metal {

// The offsets a tracker reads (RESEARCH.md, "Reading a Buffer* from outside";
// abi/GENERATIONS.md for G3).
struct BufferLayoutCheck {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
    static_assert(offsetof(BufferImpl, device_) == 0, "BufferImpl::device_");
    static_assert(offsetof(BufferImpl, size_) == 8, "BufferImpl::size_");
    static_assert(offsetof(BufferImpl, buffer_type_) == 16, "BufferImpl::buffer_type_");
    static_assert(offsetof(BufferImpl, owns_data_) == 27, "BufferImpl::owns_data_");
    static_assert(offsetof(BufferImpl, allocator_) == 48, "BufferImpl::allocator_");
    static_assert(offsetof(BufferImpl, allocation_status_) == 56, "BufferImpl::allocation_status_");
    static_assert(offsetof(BufferImpl, address_) == 64, "BufferImpl::address_");
    static_assert(offsetof(BufferImpl, page_size_) == 72, "BufferImpl::page_size_");
#if TTEMU_BUFFER_PIMPL
    static_assert(offsetof(Buffer, impl_) == 16, "Buffer::impl_");
    static_assert(sizeof(Buffer) == 24, "a 2026 Buffer is 24 bytes");
#else
    // The 2025 offsets: device_ 16, size_ 24, buffer_type_ 32, owns_data_
    // 43, allocator_ 64, allocation_status_ 72, address_ 80, page_size_ 88.
    static_assert(offsetof(Buffer, state_) == 16, "Buffer::state_");
#endif
#pragma GCC diagnostic pop
    static_assert(sizeof(BufferType) == 4, "BufferType is an int enum");
};

namespace {

void validate(IDevice* device, DeviceAddr size, DeviceAddr page_size, BufferType type,
              const BufferShardingArgs& sharding) {
    if (device == nullptr) throw std::runtime_error("Buffer: no device");
    if (!device->is_initialized())
        throw std::runtime_error("Buffer: device " + std::to_string(device->id()) + " is not initialized");
    if (type == BufferType::SYSTEM_MEMORY) throw std::runtime_error("Buffer: SYSTEM_MEMORY buffers are not supported");
    if (size != 0 && (page_size == 0 || size % page_size != 0))
        throw std::runtime_error(
            "Buffer: size " + std::to_string(size) + " is not a multiple of page size " + std::to_string(page_size));
    switch (sharding.buffer_layout()) {
        case TensorMemoryLayout::INTERLEAVED: return;
        case TensorMemoryLayout::HEIGHT_SHARDED: break;
        default: throw std::runtime_error("Buffer: only interleaved and height-sharded layouts are modelled");
    }
    if (type != BufferType::L1 && type != BufferType::L1_SMALL)
        throw std::runtime_error("Buffer: sharded buffers are modelled in L1 and L1_SMALL only");
    const uint64_t cores = sharding.num_cores(), pages = page_size == 0 ? 0 : size / page_size;
    if (cores == 0 || cores > device->allocator()->num_banks(type) || cores * sharding.shard_pages() < pages)
        throw std::runtime_error(
            "Buffer: " + std::to_string(pages) + " pages do not fit " + std::to_string(cores) + " shards of " +
            std::to_string(sharding.shard_pages()) + " pages on this device's " +
            std::to_string(device->allocator()->num_banks(type)) + " cores");
}

// The allocation and free bodies of every generation (G1/G2: the bodies of
// Buffer::allocate_impl and deallocate_impl, forced inline there so that
// clang's inlining of allocate_impl into create carries them along).
__attribute__((always_inline)) inline void allocate_body(Buffer* self, BufferImpl& s) {
    // A graph capture hook (ttnn's NO_DISPATCH) takes the allocation over:
    // no device memory, address 0, and still reported below (as upstream).
    if (GraphTracker::instance().hook_allocate(self)) {
        s.address_ = 0;
        s.hooked_allocation_ = true;
    } else {
        s.address_ = s.allocator_->allocate_buffer(self);
    }
    s.allocation_status_ = BufferImpl::AllocationStatus::ALLOCATED;
    // Reported after the address is set: a tracker reads it from the buffer.
    GraphTracker::instance().track_allocate(self);
}

__attribute__((always_inline)) inline void deallocate_body(Buffer* self, BufferImpl& s) {
    if (s.allocation_status_ != BufferImpl::AllocationStatus::ALLOCATED) return;
    // After close the device's memory is already gone (bulk free, or the
    // allocator destroyed): nothing to report, nothing to release.  A tensor
    // outliving its device lands here.
    if (s.device_->is_initialized() && s.size_ != 0) {
        GraphTracker::instance().track_deallocate(self);
        // A hook may take the free over; a hooked allocation holds nothing.
        // A real buffer whose free a hook took over stays allocated (upstream
        // keeps a dangling pointer to it; the allocator here forgets it).
        const bool taken_over = GraphTracker::instance().hook_deallocate(self);
        if (!s.hooked_allocation_) {
            if (taken_over) s.allocator_->abandon_buffer(self);
            else s.allocator_->deallocate_buffer(self);
        }
    }
    s.allocation_status_ = BufferImpl::AllocationStatus::DEALLOCATED;
}

BufferImpl initial_state(
    IDevice* device,
    DeviceAddr size,
    DeviceAddr page_size,
    BufferType buffer_type,
    const BufferShardingArgs& sharding_args,
    std::optional<bool> bottom_up,
    std::optional<SubDeviceId> sub_device_id,
    bool owns_data) {
    return BufferImpl(
        device, size, page_size, buffer_type, sharding_args.buffer_layout(),
        // Upstream default: DRAM bottom-up, L1 top-down.
        bottom_up.value_or(buffer_type == BufferType::DRAM || buffer_type == BufferType::TRACE), sub_device_id,
        owns_data, device->allocator().get(), BufferAccess::next_unique_id().fetch_add(1, std::memory_order_relaxed),
        sharding_args.num_cores(), sharding_args.shard_pages());
}

}  // namespace

#if TTEMU_BUFFER_PIMPL
std::atomic<size_t> BufferImpl::next_unique_id{0};
#else
std::atomic<size_t> Buffer::next_unique_id{0};
#endif

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
#if TTEMU_BUFFER_PIMPL
    impl_(std::make_unique<BufferImpl>(initial_state(
        device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, owns_data)))
#else
    state_(initial_state(device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, owns_data))
#endif
{
#if TTEMU_BUFFER_PIMPL
    impl_->self_ = this;
#endif
}

std::shared_ptr<Buffer> Buffer::create(
    IDevice* device,
    DeviceAddr size,
    DeviceAddr page_size,
    BufferType buffer_type,
    const BufferShardingArgs& sharding_args,
    std::optional<bool> bottom_up,
    std::optional<SubDeviceId> sub_device_id) {
    validate(device, size, page_size, buffer_type, sharding_args);
    auto buffer = std::make_shared<Buffer>(
        device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, true, Private());
    if (size == 0) {
        buffer->state().allocation_status_ = BufferImpl::AllocationStatus::ALLOCATED;
        return buffer;
    }
#if TTEMU_BUFFER_PIMPL
    allocate_body(buffer.get(), buffer->state());
#else
    buffer->allocate_impl();
#endif
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
    validate(device, size, page_size, buffer_type, sharding_args);
    auto buffer = std::make_shared<Buffer>(
        device, size, page_size, buffer_type, sharding_args, bottom_up, sub_device_id, false, Private());
    buffer->state().address_ = address;
    buffer->state().allocation_status_ = BufferImpl::AllocationStatus::ALLOCATED;
    return buffer;
}

#if TTEMU_BUFFER_PIMPL

// Upstream's G3 Buffer::~Buffer() is `= default` (tenstorrent/tt-metal
// @350c2acb buffer_pimpl.cpp) and its BufferImpl holds a back-pointer to the
// Buffer: the free runs in ~BufferImpl, while the unique_ptr member is being
// destroyed.  With libstdc++ the pointer is still set then; with libc++ it
// is nulled before the BufferImpl is deleted.  The emulator takes libc++'s
// order, so that track_deallocate(buffer) comes from a Buffer whose getters
// would dereference null: a tracker must not call them there.
Buffer::~Buffer() { delete impl_.release(); }

BufferImpl::~BufferImpl() {
    if (self_ != nullptr && owns_data_) deallocate_body(self_, *this);
}

void DeallocateBuffer(Buffer& buffer) {
    if (buffer.state().owns_data_) deallocate_body(&buffer, buffer.state());
}

#else

void Buffer::allocate_impl() { allocate_body(this, state_); }

void Buffer::deallocate() {
    if (!state_.owns_data_) return;
    this->deallocate_impl();
}

void Buffer::deallocate_impl() { deallocate_body(this, state_); }

Buffer::~Buffer() { this->deallocate(); }

void DeallocateBuffer(Buffer& buffer) { buffer.deallocate(); }

void Buffer::mark_as_deallocated() { state_.allocation_status_ = BufferImpl::AllocationStatus::DEALLOCATED; }

bool Buffer::is_trace() const { return state_.buffer_type_ == BufferType::TRACE; }

#endif

bool Buffer::is_allocated() const { return state().allocation_status_ == BufferImpl::AllocationStatus::ALLOCATED; }

uint32_t Buffer::address() const {
    // Upstream's TT_FATAL(allocation_status_ != ALLOCATION_REQUESTED, ...).
    if (state().allocation_status_ == BufferImpl::AllocationStatus::ALLOCATION_REQUESTED)
        throw std::runtime_error("Can only query the address of a buffer that has been allocated.");
    return static_cast<uint32_t>(state().address_);
}

DeviceAddr Buffer::page_size() const { return state().page_size_; }

uint32_t Buffer::num_pages() const {
    const BufferImpl& s = state();
    return s.page_size_ == 0 ? 0 : static_cast<uint32_t>(s.size_ / s.page_size_);
}

bool Buffer::is_dram() const {
    const BufferType t = state().buffer_type_;
    return t == BufferType::DRAM || t == BufferType::TRACE;
}

uint32_t Buffer::alignment() const { return state().allocator_->alignment(state().buffer_type_); }

DeviceAddr Buffer::aligned_page_size() const {
    const DeviceAddr a = alignment();
    return (state().page_size_ + a - 1) / a * a;
}

// Interleaved: ceil(pages / banks) pages in every bank.  Height-sharded:
// its shard in each of its cores' banks (what upstream's allocator reserves
// per bank for a sharded buffer).  Upstream (tenstorrent/tt-metal
// @00002df2, tt_metal/impl/buffers/buffer.cpp, and the wheels' code:
// abi/GENERATIONS.md, "What a bank holds per buffer") computes
// calculate_bank_size_spread(num_dev_pages * aligned page, aligned page,
// banks or cores, alignment): the same figures, pages being the 32-bit
// num_pages() and banks the allocator's get_num_banks(type).
DeviceAddr Buffer::aligned_size_per_bank() const {
    if (state().shard_cores_ != 0) return state().shard_pages_ * aligned_page_size();
    const DeviceAddr banks = state().allocator_->num_banks(state().buffer_type_);
    return (num_pages() + banks - 1) / banks * aligned_page_size();
}

DeviceAddr Buffer::aligned_size() const {
    const DeviceAddr banks =
        state().shard_cores_ != 0 ? state().shard_cores_ : state().allocator_->num_banks(state().buffer_type_);
    return aligned_size_per_bank() * banks;
}

}  // namespace tt::tt_metal
