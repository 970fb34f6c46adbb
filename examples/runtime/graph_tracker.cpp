// Emulated tt-metal: GraphTracker.  Kept in its own translation unit so that
// no caller can inline it: the call from Buffer::allocate_impl must stay a
// call through the PLT, which is what makes it interposable.
#include <tt-metalium/graph_tracking.hpp>

#include <cstdio>
#include <stdexcept>

namespace tt::tt_metal {

thread_local std::shared_ptr<IGraphHooks> GraphTracker::hook_;

GraphTracker& GraphTracker::instance() {
    // Leaked on purpose: buffers may be freed from static destructors after
    // a function-local static would already be gone.
    static GraphTracker* tracker = new GraphTracker();
    return *tracker;
}

bool GraphTracker::is_enabled() const { return false; }

bool GraphTracker::add_hook(const std::shared_ptr<IGraphHooks>& hook) {
    if (hook_) return false;
    hook_ = hook;
    return true;
}

void GraphTracker::clear_hook() {
    {
        std::lock_guard<std::mutex> lock(hooked_buffers_mutex_);
        hooked_buffers_.clear();
    }
    hook_ = nullptr;
}

void GraphTracker::track_allocate(const Buffer*) { counts_[0].fetch_add(1, std::memory_order_relaxed); }

void GraphTracker::track_deallocate(Buffer*) { counts_[1].fetch_add(1, std::memory_order_relaxed); }

void GraphTracker::track_allocate_cb(const CoreRangeSet&, uint64_t, uint64_t, bool, const IDevice*) {
    counts_[2].fetch_add(1, std::memory_order_relaxed);
}

void GraphTracker::track_deallocate_cb(const IDevice*) { counts_[3].fetch_add(1, std::memory_order_relaxed); }

void GraphTracker::track_program(Program*, const IDevice*) {}

#if TTEMU_PROGRAM_L1_EVENTS
void GraphTracker::track_allocate_scratchpad(const CoreRangeSet&, uint64_t, uint64_t, const IDevice*) {}
void GraphTracker::track_allocate_dataflow_buffer(const CoreRangeSet&, uint64_t, uint64_t, bool, const IDevice*) {}
#endif

bool GraphTracker::hook_allocate(const Buffer* buffer) {
    if (!hook_ || !hook_->hook_allocate(buffer)) return false;
    std::lock_guard<std::mutex> lock(hooked_buffers_mutex_);
    if (!hooked_buffers_.insert(buffer).second)
        throw std::runtime_error("GraphTracker: can't hook the allocation of a buffer already allocated");
    return true;
}

bool GraphTracker::hook_deallocate(Buffer* buffer) {
    if (!hook_ || !hook_->hook_deallocate(buffer)) return false;
    std::lock_guard<std::mutex> lock(hooked_buffers_mutex_);
    // Taken over all the same: the buffer's memory stays allocated.
    if (hooked_buffers_.erase(buffer) == 0)
        std::fprintf(stderr, "GraphTracker: can't hook deallocation of a buffer which allocation wasn't hooked\n");
    return true;
}

bool GraphTracker::hook_program(Program* program) { return hook_ && hook_->hook_program(program); }

uint64_t GraphTracker::count(int which) const {
    return (which >= 0 && which < 4) ? counts_[which].load(std::memory_order_relaxed) : 0;
}

}  // namespace tt::tt_metal
