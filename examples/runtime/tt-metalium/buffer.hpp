// Emulated tt-metal: Buffer, with upstream's object layout of each
// generation (tt-metalium/generation.hpp).
//
// A tracker outside the library reads a Buffer* it receives from
// GraphTracker::track_allocate through the exported getters or, where a
// getter is header-inline (hidden), at a fixed offset:
// - G1/G2: the fields are Buffer's own (tt-metalium/buffer_impl.hpp gives
//   the offsets); size(), buffer_type(), device() are inline, and
//   allocator() too in G1;
// - G3: Buffer is enable_shared_from_this (16 bytes) + std::unique_ptr<
//   BufferImpl> at 16, 24 bytes in all; every getter is out of line.
// Getters defined in this header are inline and, with
// -fvisibility-inlines-hidden, not exported (as upstream).
//
// TTEMU_PORTABLE_CLIENT (set for the workloads, which are built once and
// run on every generation): the header-inline field readers are deprecated,
// so a use is a compile error under -Werror.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>
#if !TTEMU_BUFFER_PIMPL
#include <tt-metalium/buffer_impl.hpp>
#endif

#if TTEMU_PORTABLE_CLIENT
#define TTEMU_INLINE_FIELD_READ \
    [[deprecated("reads a Buffer field inline: the layout differs between generations")]]
#else
#define TTEMU_INLINE_FIELD_READ
#endif

namespace tt::tt_metal {

class IDevice;
struct BufferImpl;

// Upstream carries shard specs and distribution specs here.  The emulator
// models one sharded layout, minimally: HEIGHT_SHARDED on the first
// `num_cores` L1 banks (cores), `shard_pages` pages on each, which is what
// the allocator needs (per-bank footprint = shard pages x aligned page
// size, at one address in every bank, as upstream's allocator places it).
// Constructed inline by callers (the default argument is interleaved), so
// it is the same class in every generation.
class BufferShardingArgs {
public:
    BufferShardingArgs() = default;
    BufferShardingArgs(std::nullopt_t) {}
    static BufferShardingArgs height_sharded(uint32_t num_cores, uint32_t shard_pages) {
        BufferShardingArgs a;
        a.buffer_layout_ = TensorMemoryLayout::HEIGHT_SHARDED;
        a.num_cores_ = num_cores;
        a.shard_pages_ = shard_pages;
        return a;
    }
    TensorMemoryLayout buffer_layout() const { return buffer_layout_; }
    uint32_t num_cores() const { return num_cores_; }
    uint32_t shard_pages() const { return shard_pages_; }

private:
    TensorMemoryLayout buffer_layout_ = TensorMemoryLayout::INTERLEAVED;
    uint32_t num_cores_ = 0;
    uint32_t shard_pages_ = 0;
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
    // (Upstream's 2026 public header no longer declares create(); its
    // buffer_pimpl.cpp still defines it, and the emulator keeps it in every
    // generation.)
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

#if TTEMU_BUFFER_PIMPL
    IDevice* device() const;
    Allocator* allocator() const;
    DeviceAddr size() const;
    BufferType buffer_type() const;
    TensorMemoryLayout buffer_layout() const;
    size_t unique_id() const;
    const BufferImpl& impl() const;
    BufferImpl& impl();
#else
    TTEMU_INLINE_FIELD_READ IDevice* device() const { return state_.device_; }
#if TTEMU_BUFFER_ALLOCATOR_EXPORTED
    // G2: the view of the AllocatorImpl the allocator_ field points to.
    Allocator* allocator() const;
#else
    TTEMU_INLINE_FIELD_READ DeviceAllocator* allocator() const { return state_.allocator_; }
#endif
    TTEMU_INLINE_FIELD_READ DeviceAddr size() const { return state_.size_; }
    TTEMU_INLINE_FIELD_READ BufferType buffer_type() const { return state_.buffer_type_; }
    TTEMU_INLINE_FIELD_READ TensorMemoryLayout buffer_layout() const { return state_.buffer_layout_; }
    TTEMU_INLINE_FIELD_READ bool bottom_up() const { return state_.bottom_up_; }
    TTEMU_INLINE_FIELD_READ std::optional<SubDeviceId> sub_device_id() const { return state_.sub_device_id_; }
    TTEMU_INLINE_FIELD_READ DeviceAddr root_buffer_offset() const { return state_.root_buffer_offset_; }
    TTEMU_INLINE_FIELD_READ size_t unique_id() const { return state_.unique_id_; }
    bool is_trace() const;
    // Marks the buffer deallocated without releasing device memory; the
    // allocator's bulk free uses it so later destruction reports nothing.
    void mark_as_deallocated();
#endif
    bool is_allocated() const;

    // Address in the first bank.  32 bits, as upstream.  Throws
    // std::runtime_error on a buffer whose allocation was never made, as
    // every ttnn wheel's does ("Can only query the address of a buffer that
    // has been allocated."); a deallocated buffer still answers.
    uint32_t address() const;

    DeviceAddr page_size() const;
    uint32_t num_pages() const;

    // Header-inline in every generation: no ttnn wheel exports it
    // (abi/GENERATIONS.md, "The real runtime"), so a tracker cannot call it.
#if TTEMU_BUFFER_PIMPL
    bool is_l1() const {
        const BufferType t = buffer_type();
        return t == BufferType::L1 || t == BufferType::L1_SMALL;
    }
#else
    TTEMU_INLINE_FIELD_READ bool is_l1() const {
        return state_.buffer_type_ == BufferType::L1 || state_.buffer_type_ == BufferType::L1_SMALL;
    }
#endif
    bool is_dram() const;

    uint32_t alignment() const;
    DeviceAddr aligned_page_size() const;
    DeviceAddr aligned_size() const;
    DeviceAddr aligned_size_per_bank() const;

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
    friend void DeallocateBuffer(Buffer& buffer);
    friend struct BufferAccess;
    friend struct BufferLayoutCheck;

#if TTEMU_BUFFER_PIMPL
    // The state lives behind the pointer; the allocation and free bodies
    // are internal to buffer.cpp (upstream moved them out of Buffer).
    BufferImpl& state() const { return *impl_; }
    std::unique_ptr<BufferImpl> impl_;
#else
    void allocate_impl();
    // May be called more than once.
    void deallocate();
    void deallocate_impl();
    BufferImpl& state() { return state_; }
    const BufferImpl& state() const { return state_; }

    BufferImpl state_;
    static std::atomic<size_t> next_unique_id;
#endif
};

// Frees an owning buffer now (tracked); the object stays valid.
void DeallocateBuffer(Buffer& buffer);

}  // namespace tt::tt_metal
