// Emulated tt-metal: GraphTracker.  Kept in its own translation unit so that
// no caller can inline it: the call from Buffer::allocate_impl must stay a
// call through the PLT, which is what makes it interposable.
#include <tt-metalium/graph_tracking.hpp>

namespace tt::tt_metal {

GraphTracker& GraphTracker::instance() {
    // Leaked on purpose: buffers may be freed from static destructors after
    // a function-local static would already be gone.
    static GraphTracker* tracker = new GraphTracker();
    return *tracker;
}

bool GraphTracker::is_enabled() const { return false; }

void GraphTracker::track_allocate(const Buffer*) { counts_[0].fetch_add(1, std::memory_order_relaxed); }

void GraphTracker::track_deallocate(Buffer*) { counts_[1].fetch_add(1, std::memory_order_relaxed); }

void GraphTracker::track_allocate_cb(const CoreRangeSet&, uint64_t, uint64_t, bool, const IDevice*) {
    counts_[2].fetch_add(1, std::memory_order_relaxed);
}

void GraphTracker::track_deallocate_cb(const IDevice*) { counts_[3].fetch_add(1, std::memory_order_relaxed); }

uint64_t GraphTracker::count(int which) const {
    return (which >= 0 && which < 4) ? counts_[which].load(std::memory_order_relaxed) : 0;
}

}  // namespace tt::tt_metal
