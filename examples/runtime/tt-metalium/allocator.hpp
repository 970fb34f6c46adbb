// Emulated tt-metal: the per-chip device memory allocator, class Allocator
// in G1 and AllocatorImpl in G2/G3 (tt-metalium/generation.hpp; the code
// calls it DeviceAllocator).
//
// Wormhole-like geometry (see AllocatorConfig).  DRAM is 12 banks; a buffer is
// interleaved page by page over all banks, so it reserves
// ceil(pages / banks) aligned pages at one address in every bank.  L1 is one
// bank per worker core.  TRACE is a region at the top of every DRAM bank,
// L1_SMALL a region at the top of every core's L1; circular buffers grow up
// from the base of L1 and L1 buffers are placed top-down, so the two meet in
// the middle.  DRAM and L1 are separate address spaces: the same number can be
// live in both.
//
// A mesh allocator (the second constructor) owns no memory: it reserves every
// allocation at one common address on each of its chips' allocators, so a
// mesh buffer of S bytes is S bytes held on every chip.
//
// Destroyed while it still holds buffers (G3's close): they are marked
// deallocated, nothing is reported, their memory is simply gone.
//
// Thread-safe: every public member takes the allocator's mutex (a mesh
// allocator also takes its chips', in chip order).  Errors: std::runtime_error.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

#include "impl/bank_manager.hpp"

namespace tt::tt_metal {

class Buffer;
class IDevice;

// Upstream's hal memory types (tt-metalium/hal_types.hpp), as the base
// address getter takes them.
enum class HalMemType : uint8_t { L1 = 0, DRAM = 1, HOST = 2 };

// The bank geometry as upstream's Allocator answers it (exported, so a
// tracker can map a chip's bank address space): the allocatable range of one
// bank of a type starts at get_base_allocator_addr and spans get_bank_size
// bytes; get_num_banks banks hold it, get_alignment aligns what is placed.
// Answered from the configuration, so a mesh allocator answers its chips'.
#define TTEMU_GEOMETRY_GETTERS                                              \
    uint32_t get_num_banks(const BufferType& type) const;                    \
    DeviceAddr get_bank_size(const BufferType& type) const;                  \
    uint32_t get_alignment(BufferType type) const;                           \
    DeviceAddr get_base_allocator_addr(const HalMemType& mem_type) const;

struct AllocatorConfig {
    uint32_t num_dram_banks = 12;
    uint64_t dram_bank_size = 1ull << 30;  // 12 banks x 1 GiB = 12 GiB
    uint64_t dram_unreserved_base = 64;
    uint32_t dram_alignment = 32;
    uint32_t num_l1_banks = 64;            // 8x8 worker grid
    uint64_t l1_size = 1464 * 1024;        // per core
    uint64_t l1_unreserved_base = 0x19000;
    uint32_t l1_alignment = 16;
    uint64_t l1_small_size = 0;            // per core, top of L1
    uint64_t trace_region_size = 0;        // in all, split over the DRAM banks
};

// What an allocator holds, by BufferType value (index 2, SYSTEM_MEMORY, is
// unused) plus circular buffers.  `bytes` are buffer sizes; `per_bank` what
// each bank holds, the unit of upstream's Allocator::get_statistics
// (total_allocated_bytes, checked against ttnn 0.70.1 and 0.81.1).
struct AllocatorUsage {
    std::array<uint64_t, 5> bytes{};
    std::array<uint64_t, 5> per_bank{};
    uint64_t cb_bytes = 0;
    // The most `bytes` (and cb_bytes) this allocator held at once (a chip
    // allocator's; the emulator's ground truth of the peaks).
    std::array<uint64_t, 5> peak{};
    uint64_t cb_peak = 0;
    uint64_t buffers = 0;
};

#if TTEMU_ALLOCATOR_VIEW
class AllocatorImpl;

// The public face of an AllocatorImpl (upstream G2/G3: class Allocator,
// owned by the AllocatorImpl, what Buffer::allocator() returns).
class Allocator {
public:
    explicit Allocator(AllocatorImpl& impl) : impl_(&impl) {}
    Allocator(const Allocator&) = delete;
    Allocator& operator=(const Allocator&) = delete;

    // Queries forward to the AllocatorImpl (upstream's view has many).
    TTEMU_GEOMETRY_GETTERS

private:
    AllocatorImpl* impl_;
};
#endif

class TTEMU_ALLOCATOR {
public:
    explicit TTEMU_ALLOCATOR(const AllocatorConfig& config);
    explicit TTEMU_ALLOCATOR(std::vector<TTEMU_ALLOCATOR*> chips);
#if TTEMU_ALLOCATOR_VIRTUAL_DTOR
    virtual ~TTEMU_ALLOCATOR();
#else
    // Upstream's AllocatorImpl declares a plain out-of-line destructor:
    // exported D1/D2, no deleting D0.
    ~TTEMU_ALLOCATOR();
#endif

    TTEMU_ALLOCATOR(const TTEMU_ALLOCATOR&) = delete;
    TTEMU_ALLOCATOR& operator=(const TTEMU_ALLOCATOR&) = delete;

    // Reserves room for the buffer and returns its address (first bank).
    DeviceAddr allocate_buffer(Buffer* buffer);
    // Releases what allocate_buffer reserved for this buffer.
    void deallocate_buffer(Buffer* buffer);
    // The buffer object goes away but its memory stays held until the bulk
    // free (a graph hook took its free over).
    void abandon_buffer(Buffer* buffer);
    // Bulk free: every buffer still allocated is marked deallocated and all
    // memory released.  Reports nothing (the runtime's unreported path).
    void deallocate_buffers();
    // Forgets the allocated-buffer set and resets the banks.
    void clear();

    uint32_t num_banks(BufferType type) const;
    uint32_t alignment(BufferType type) const;
    // One bank's allocatable range of a type (SYSTEM_MEMORY: 0, 0).
    DeviceAddr bank_base(BufferType type) const;
    DeviceAddr bank_size(BufferType type) const;
    // The free list of a type's banks: the largest hole and the sum of the
    // holes (bytes per bank; L1 holes start above the circular buffers).
    struct FreeList {
        uint64_t largest = 0;
        uint64_t total = 0;
    };
    FreeList free_list(BufferType type) const;
#if !TTEMU_ALLOCATOR_VIEW
    TTEMU_GEOMETRY_GETTERS
#endif
    const AllocatorConfig& config() const { return config_; }

    // Circular buffers.  A chip holds the CBs of the program last launched
    // on it (the emulator's programs cover the whole worker grid, so each
    // launch replaces all of them); they sit at the base of L1, in the
    // program-config region upstream reuses for the next program.
    //
    // Places the CBs of program `tag` (per-core sizes, from the L1 base) on
    // this chip, or on every chip of a mesh, replacing what was there, and
    // returns their addresses.  `report` is called with the addresses while
    // the allocators' locks are held: launches on one chip are then
    // reported in the order in which its CBs were replaced, across threads
    // (a tracker with no free reports relies on that order).  Throws,
    // leaving everything as it was, if they would clash with L1 buffers.
    std::vector<DeviceAddr> place_circular_buffers(
        uint64_t tag, const std::vector<uint64_t>& sizes,
        const std::function<void(const std::vector<DeviceAddr>&)>& report);

    AllocatorUsage usage() const;

#if TTEMU_ALLOCATOR_VIEW
    // Out of line (exported), as upstream declares it.
    const std::unique_ptr<Allocator>& view() const;
#endif

private:
    struct Held {
        BufferType type;
        uint64_t size;
        uint64_t per_bank;
    };
    BankManager& bank(BufferType type);
    void reserve_locked(BufferType type, DeviceAddr addr, uint64_t per_bank, uint64_t size);
    void release_locked(BufferType type, DeviceAddr addr);
    void refresh_cb_floor_locked();
    std::vector<DeviceAddr> cb_layout(const std::vector<uint64_t>& sizes) const;

    mutable std::mutex mutex_;
    AllocatorConfig config_;
    BankManager dram_, l1_, l1_small_, trace_;
    std::vector<TTEMU_ALLOCATOR*> chips_;  // non-empty: a mesh allocator
    struct Placed {
        BufferType type;
        DeviceAddr address;
    };
    std::unordered_map<Buffer*, Placed> allocated_buffers_;
    std::map<std::pair<int, DeviceAddr>, Held> held_;  // (type, address)
    // The CBs this chip holds (one program's); unused in a mesh allocator.
    std::vector<uint64_t> cb_sizes_;
    // What held_ adds up to per type, and its maximum (usage().peak).
    std::array<uint64_t, 5> live_{};
    std::array<uint64_t, 5> peak_{};
    uint64_t cb_peak_ = 0;
#if TTEMU_ALLOCATOR_VIEW
    std::unique_ptr<Allocator> view_ = std::make_unique<Allocator>(*this);
#endif
};

}  // namespace tt::tt_metal
