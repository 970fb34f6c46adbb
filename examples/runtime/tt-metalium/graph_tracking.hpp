// Emulated tt-metal: GraphTracker, the runtime's allocation hook point.
//
// Upstream's track_* functions fan events out to registered graph
// processors; they never change memory.  Here they count calls (readable with
// ttemu_tracker_counts()), which keeps them cheap but real: exported,
// out of line, in their own translation unit, so the allocate and free paths
// call them through the PLT and a preloaded definition wins (except in the
// -Bsymbolic-functions build).
//
// Hooks (upstream's IGraphHooks, installed with add_hook) do change memory:
// when hook_allocate returns true, Buffer::allocate_impl takes no device
// memory (address 0, hooked allocation) yet still calls track_allocate.
// ttnn's graph capture in NO_DISPATCH mode installs such a hook to estimate
// an op's memory without running it.  As in upstream's later trees the hook
// is per thread, and the set of hooked buffers is process-wide; a hook that
// takes over the free of a buffer whose allocation was not hooked (a real
// buffer freed while capturing) gets a warning on stderr and the buffer's
// memory stays allocated until close (older trees: TT_FATAL).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_set>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class Buffer;
class IDevice;
class Program;

// Upstream's hook interface (the read/write hooks are left out: the emulator
// moves no data).  Each returns true to take the operation over.
class IGraphHooks {
public:
    IGraphHooks() = default;
    virtual bool hook_allocate(const Buffer* buffer) = 0;
    virtual bool hook_deallocate(Buffer* buffer) = 0;
    virtual bool hook_program(Program* program) = 0;
    virtual ~IGraphHooks() = default;
};

class GraphTracker {
public:
    GraphTracker(const GraphTracker&) = delete;
    GraphTracker(GraphTracker&&) = delete;

    static GraphTracker& instance();

    bool is_enabled() const;

    // Installs `hook` for the calling thread; false if it already has one.
    bool add_hook(const std::shared_ptr<IGraphHooks>& hook);
    // Removes the calling thread's hook and forgets every hooked buffer.
    void clear_hook();

    // An owning buffer was allocated (address and size are set; address 0
    // if a hook took the allocation over).
    void track_allocate(const Buffer* buffer);
    // An owning buffer is about to be freed (called before the allocator
    // releases it, and before hook_deallocate).
    void track_deallocate(Buffer* buffer);
    // A circular buffer of `size` bytes per core at `addr` on every core of
    // core_range_set, on `device` (a chip or a mesh).  Upstream calls it when
    // a program's CBs are placed: at its first launch and after its CB sizes
    // changed, not on a launch from the program cache.
    void track_allocate_cb(
        const CoreRangeSet& core_range_set, uint64_t addr, uint64_t size, bool is_globally_allocated,
        const IDevice* device);
    // Every circular buffer of `device` is gone.  Called at every launch in
    // G2/G3 (ttnn 0.70.1 on), never in G1 unless TTEMU_CB_FREE_REPORTS=1
    // (see program.hpp).
    void track_deallocate_cb(const IDevice* device);
#if TTEMU_PROGRAM_L1_EVENTS
    // G3's program-scope L1 events: exported, never called (as in ttnn
    // 0.81.1), so that a tracker sees them and finds no caller.
    void track_allocate_scratchpad(const CoreRangeSet& core_range_set, uint64_t addr, uint64_t size,
                                   const IDevice* device);
    void track_allocate_dataflow_buffer(const CoreRangeSet& core_range_set, uint64_t addr, uint64_t size,
                                        bool borrows_memory, const IDevice* device);
#endif
    // An op is about to launch `program` on `device` (ttnn calls it before
    // every launch, from the program cache or not).
    void track_program(Program* program, const IDevice* device);

    // Ask the calling thread's hook; false without one.
    bool hook_allocate(const Buffer* buffer);
    bool hook_deallocate(Buffer* buffer);
    bool hook_program(Program* program);

    // Calls so far: allocate, deallocate, allocate_cb, deallocate_cb.
    uint64_t count(int which) const;

private:
    GraphTracker() = default;
    ~GraphTracker() = default;

    std::atomic<uint64_t> counts_[4] = {};
    static thread_local std::shared_ptr<IGraphHooks> hook_;
    std::mutex hooked_buffers_mutex_;
    std::unordered_set<const Buffer*> hooked_buffers_;
};

}  // namespace tt::tt_metal
