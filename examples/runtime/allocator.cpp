// Emulated tt-metal: the chip and mesh allocators (see tt-metalium/allocator.hpp).
#include <tt-metalium/allocator.hpp>

#include <stdexcept>
#include <string>

#include <tt-metalium/buffer.hpp>

#include "impl/buffer_access.hpp"

namespace tt::tt_metal {

namespace {
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

const char* type_name(BufferType t) {
    switch (t) {
        case BufferType::DRAM: return "DRAM";
        case BufferType::L1: return "L1";
        case BufferType::SYSTEM_MEMORY: return "SYSTEM_MEMORY";
        case BufferType::L1_SMALL: return "L1_SMALL";
        case BufferType::TRACE: return "TRACE";
    }
    return "?";
}

uint64_t trace_per_bank(const AllocatorConfig& c) {
    return c.trace_region_size / c.num_dram_banks / c.dram_alignment * c.dram_alignment;
}
uint64_t l1_small_per_core(const AllocatorConfig& c) { return align_up(c.l1_small_size, c.l1_alignment); }
}  // namespace

using Self = TTEMU_ALLOCATOR;

Self::TTEMU_ALLOCATOR(const AllocatorConfig& c) :
    config_(c),
    dram_(c.dram_unreserved_base, c.dram_bank_size - trace_per_bank(c), c.dram_alignment),
    l1_(c.l1_unreserved_base, c.l1_size - l1_small_per_core(c), c.l1_alignment),
    l1_small_(c.l1_size - l1_small_per_core(c), c.l1_size, c.l1_alignment),
    trace_(c.dram_bank_size - trace_per_bank(c), c.dram_bank_size, c.dram_alignment) {
    if (l1_small_per_core(c) + c.l1_unreserved_base > c.l1_size || trace_per_bank(c) >= c.dram_bank_size)
        throw std::runtime_error("Allocator: L1_SMALL or TRACE region larger than the bank");
}

Self::TTEMU_ALLOCATOR(std::vector<Self*> chips) : chips_(std::move(chips)) {
    if (chips_.empty()) throw std::runtime_error("Allocator: a mesh needs at least one chip");
    config_ = chips_.front()->config();
}

#if TTEMU_ALLOCATOR_VIEW
const std::unique_ptr<Allocator>& Self::view() const { return view_; }

uint32_t Allocator::get_num_banks(const BufferType& type) const { return impl_->num_banks(type); }
DeviceAddr Allocator::get_bank_size(const BufferType& type) const { return impl_->bank_size(type); }
uint32_t Allocator::get_alignment(BufferType type) const { return impl_->alignment(type); }
DeviceAddr Allocator::get_base_allocator_addr(const HalMemType& mem_type) const {
    return impl_->bank_base(mem_type == HalMemType::DRAM ? BufferType::DRAM : BufferType::L1);
}
#else
uint32_t Self::get_num_banks(const BufferType& type) const { return num_banks(type); }
DeviceAddr Self::get_bank_size(const BufferType& type) const { return bank_size(type); }
uint32_t Self::get_alignment(BufferType type) const { return alignment(type); }
DeviceAddr Self::get_base_allocator_addr(const HalMemType& mem_type) const {
    return bank_base(mem_type == HalMemType::DRAM ? BufferType::DRAM : BufferType::L1);
}
#endif

// From the configuration, as the constructor lays the banks out (so a mesh
// allocator, which has no banks of its own, answers its chips' geometry).
DeviceAddr Self::bank_base(BufferType type) const {
    const AllocatorConfig& c = config_;
    switch (type) {
        case BufferType::DRAM: return align_up(c.dram_unreserved_base, c.dram_alignment);
        case BufferType::TRACE: return c.dram_bank_size - trace_per_bank(c);
        case BufferType::L1: return align_up(c.l1_unreserved_base, c.l1_alignment);
        case BufferType::L1_SMALL: return c.l1_size - l1_small_per_core(c);
        case BufferType::SYSTEM_MEMORY: break;
    }
    return 0;
}

DeviceAddr Self::bank_size(BufferType type) const {
    const AllocatorConfig& c = config_;
    switch (type) {
        case BufferType::DRAM: return c.dram_bank_size - trace_per_bank(c) - bank_base(type);
        case BufferType::TRACE: return trace_per_bank(c);
        case BufferType::L1: return c.l1_size - l1_small_per_core(c) - bank_base(type);
        case BufferType::L1_SMALL: return l1_small_per_core(c);
        case BufferType::SYSTEM_MEMORY: break;
    }
    return 0;
}

Self::FreeList Self::free_list(BufferType type) const {
    std::lock_guard<std::mutex> lock(mutex_);
    FreeList fl;
    if (type == BufferType::SYSTEM_MEMORY || !chips_.empty()) return fl;
    const BankManager& b = type == BufferType::DRAM ? dram_
                           : type == BufferType::L1 ? l1_
                           : type == BufferType::L1_SMALL ? l1_small_
                                                         : trace_;
    b.each_hole([&](uint64_t, uint64_t size) {
        fl.total += size;
        if (size > fl.largest) fl.largest = size;
    });
    return fl;
}

Self::~TTEMU_ALLOCATOR() {
    // Whatever is still held dies here unreported (the G2/G3 close); the buffers
    // must not free into this allocator later.
    for (const auto& [b, placed] : allocated_buffers_) BufferAccess::mark_deallocated(*b);
}

BankManager& Self::bank(BufferType type) {
    switch (type) {
        case BufferType::DRAM: return dram_;
        case BufferType::L1: return l1_;
        case BufferType::L1_SMALL: return l1_small_;
        case BufferType::TRACE: return trace_;
        case BufferType::SYSTEM_MEMORY: break;
    }
    throw std::runtime_error("Allocator: buffers of type SYSTEM_MEMORY live in host memory");
}

uint32_t Self::num_banks(BufferType type) const {
    return (type == BufferType::DRAM || type == BufferType::TRACE) ? config_.num_dram_banks : config_.num_l1_banks;
}

uint32_t Self::alignment(BufferType type) const {
    return (type == BufferType::DRAM || type == BufferType::TRACE) ? config_.dram_alignment : config_.l1_alignment;
}

void Self::reserve_locked(BufferType type, DeviceAddr addr, uint64_t per_bank, uint64_t size) {
    bank(type).reserve(addr, per_bank);
    held_[{static_cast<int>(type), addr}] = Held{type, size, per_bank};
    const size_t t = static_cast<size_t>(type);
    live_[t] += size;
    if (live_[t] > peak_[t]) peak_[t] = live_[t];
}

void Self::release_locked(BufferType type, DeviceAddr addr) {
    bank(type).release(addr);
    const auto it = held_.find({static_cast<int>(type), addr});
    if (it == held_.end()) return;
    live_[static_cast<size_t>(type)] -= it->second.size;
    held_.erase(it);
}

DeviceAddr Self::allocate_buffer(Buffer* buffer) {
    const BufferImpl& state = BufferAccess::state(*buffer);
    const BufferType type = state.buffer_type_;
#if TTEMU_L1_SMALL_SHARDED_ONLY
    // ttnn 0.70.1's and 0.81.1's allocator refuse it (TT_FATAL).
    if (type == BufferType::L1_SMALL && state.shard_cores_ == 0)
        throw std::runtime_error("L1_SMALL only supports sharded allocations");
#endif
    const uint64_t per_bank = align_up(buffer->aligned_size_per_bank(), alignment(type));
    const bool bottom_up = state.bottom_up_;
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<uint64_t> addr;
    if (chips_.empty()) {
        addr = bank(type).find(per_bank, bottom_up);
    } else {
        // Pairs with the unlocks at scope exit; chip order avoids deadlock.
        std::vector<std::unique_lock<std::mutex>> chip_locks;
        for (Self* chip : chips_) chip_locks.emplace_back(chip->mutex_);
        // Common address: each chip moves the candidate only one way (up for
        // bottom-up, down for top-down), so this ends.
        addr = chips_.front()->bank(type).find(per_bank, bottom_up);
        bool moved = true;
        while (addr && moved) {
            moved = false;
            for (Self* chip : chips_) {
                auto a = chip->bank(type).find(per_bank, bottom_up, bottom_up ? *addr : *addr + per_bank);
                if (!a || *a != *addr) {
                    addr = a;
                    moved = true;
                    break;
                }
            }
        }
        if (addr) {
            for (Self* chip : chips_) chip->reserve_locked(type, *addr, per_bank, state.size_);
        }
    }
    if (!addr) {
        throw std::runtime_error(
            std::string("Out of Memory: Not enough space to allocate ") + std::to_string(state.size_) + " B " +
            type_name(type) + " buffer across " + std::to_string(num_banks(type)) + " banks, where each bank needs to store " +
            std::to_string(per_bank) + " B");
    }
    if (chips_.empty()) {
        reserve_locked(type, *addr, per_bank, state.size_);
    } else {
        held_[{static_cast<int>(type), *addr}] = Held{type, state.size_, per_bank};
    }
    allocated_buffers_[buffer] = Placed{type, *addr};
    return *addr;
}

void Self::deallocate_buffer(Buffer* buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Where it was placed, from what allocate_buffer kept: the G3 free runs
    // while the Buffer is being destroyed (buffer.cpp), its state not
    // reachable through it any more.
    const auto it = allocated_buffers_.find(buffer);
    if (it == allocated_buffers_.end()) return;  // already bulk-freed
    const BufferType type = it->second.type;
    const DeviceAddr addr = it->second.address;
    allocated_buffers_.erase(it);
    if (chips_.empty()) {
        release_locked(type, addr);
        return;
    }
    held_.erase({static_cast<int>(type), addr});
    for (Self* chip : chips_) {
        std::lock_guard<std::mutex> chip_lock(chip->mutex_);
        chip->release_locked(type, addr);
    }
}

void Self::abandon_buffer(Buffer* buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    allocated_buffers_.erase(buffer);
}

void Self::deallocate_buffers() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [b, placed] : allocated_buffers_) BufferAccess::mark_deallocated(*b);
    for (Self* chip : chips_) {
        std::lock_guard<std::mutex> chip_lock(chip->mutex_);
        for (const auto& [key, held] : held_) chip->release_locked(held.type, key.second);
    }
    held_.clear();
    live_ = {};
    cb_sizes_.clear();
    dram_.release_all();
    l1_.release_all();
    l1_small_.release_all();
    trace_.release_all();
    refresh_cb_floor_locked();
}

void Self::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    allocated_buffers_.clear();
    held_.clear();
    live_ = {};
    dram_.release_all();
    l1_.release_all();
    l1_small_.release_all();
    trace_.release_all();
}

std::vector<DeviceAddr> Self::cb_layout(const std::vector<uint64_t>& sizes) const {
    std::vector<DeviceAddr> addrs;
    DeviceAddr a = align_up(config_.l1_unreserved_base, config_.l1_alignment);
    for (uint64_t s : sizes) {
        addrs.push_back(a);
        a += align_up(s, config_.l1_alignment);
    }
    addrs.push_back(a);  // end
    return addrs;
}

void Self::refresh_cb_floor_locked() { l1_.set_floor(cb_sizes_.empty() ? 0 : cb_layout(cb_sizes_).back()); }

std::vector<DeviceAddr> Self::place_circular_buffers(
    uint64_t, const std::vector<uint64_t>& sizes, const std::function<void(const std::vector<DeviceAddr>&)>& report) {
    std::vector<DeviceAddr> addrs = cb_layout(sizes);
    const DeviceAddr end = addrs.back();
    addrs.pop_back();
    std::lock_guard<std::mutex> lock(mutex_);
    // Pairs with the unlocks at scope exit; chip order avoids deadlock.
    std::vector<std::unique_lock<std::mutex>> chip_locks;
    for (Self* chip : chips_) chip_locks.emplace_back(chip->mutex_);
    std::vector<Self*> targets = chips_;
    if (targets.empty()) targets.push_back(this);
    for (Self* t : targets) {
        if (end > t->l1_.lowest_used() || end > t->l1_.limit())
            throw std::runtime_error(
                "Statically allocated circular buffers clash with L1 buffers: CBs end at " + std::to_string(end) +
                ", lowest L1 buffer at " + std::to_string(t->l1_.lowest_used()));
    }
    for (Self* t : targets) {
        t->cb_sizes_ = sizes;
        uint64_t cb = 0;
        for (uint64_t sz : sizes) cb += sz;
        if (cb > t->cb_peak_) t->cb_peak_ = cb;
        t->refresh_cb_floor_locked();
    }
    if (report) report(addrs);
    return addrs;
}

AllocatorUsage Self::usage() const {
    std::lock_guard<std::mutex> lock(mutex_);
    AllocatorUsage u;
    for (const auto& [key, held] : held_) {
        u.bytes[static_cast<size_t>(held.type)] += held.size;
        u.per_bank[static_cast<size_t>(held.type)] += held.per_bank;
    }
    u.buffers = held_.size();
    for (uint64_t s : cb_sizes_) u.cb_bytes += s;
    u.peak = peak_;
    u.cb_peak = cb_peak_;
    return u;
}

}  // namespace tt::tt_metal
