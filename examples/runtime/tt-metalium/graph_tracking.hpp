// Emulated tt-metal: GraphTracker, the runtime's allocation hook point.
//
// Upstream's track_* functions fan events out to registered graph
// processors; they never change memory.  Here they count calls (readable with
// ttemu_tracker_counts()), which keeps them cheap but real: exported,
// out of line, in their own translation unit, so the allocate and free paths
// call them through the PLT and a preloaded definition wins (except in the
// -Bsymbolic-functions build).
#pragma once

#include <atomic>
#include <cstdint>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Buffer;
class IDevice;

class GraphTracker {
public:
    GraphTracker(const GraphTracker&) = delete;
    GraphTracker(GraphTracker&&) = delete;

    static GraphTracker& instance();

    bool is_enabled() const;

    // An owning buffer was allocated (address and size are set).
    void track_allocate(const Buffer* buffer);
    // An owning buffer is about to be freed (called before the allocator
    // releases it).
    void track_deallocate(Buffer* buffer);
    // A circular buffer of `size` bytes per core at `addr` on every core of
    // core_range_set, on `device` (a chip or a mesh).
    void track_allocate_cb(
        const CoreRangeSet& core_range_set, uint64_t addr, uint64_t size, bool is_globally_allocated,
        const IDevice* device);
    // Every circular buffer of `device` is gone.
    void track_deallocate_cb(const IDevice* device);

    // Calls so far: allocate, deallocate, allocate_cb, deallocate_cb.
    uint64_t count(int which) const;

private:
    GraphTracker() = default;
    ~GraphTracker() = default;

    std::atomic<uint64_t> counts_[4] = {};
};

}  // namespace tt::tt_metal
