// Emulated tt-metal, private: the library's own access to a Buffer's state,
// the same in every generation (in G3 Buffer has no field but its pimpl).
// Inline members only: with -fvisibility-inlines-hidden nothing here is
// exported, so no generation exports a name upstream does not have.
#pragma once

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/buffer_impl.hpp>

namespace tt::tt_metal {

struct BufferAccess {
    static BufferImpl& state(Buffer& b) { return b.state(); }
    static const BufferImpl& state(const Buffer& b) { return b.state(); }
    // Deallocated without a report and without touching the allocator: the
    // memory went in bulk (bulk free, or the allocator was destroyed).
    static void mark_deallocated(Buffer& b) {
        b.state().allocation_status_ = BufferImpl::AllocationStatus::DEALLOCATED;
    }
    // The source of Buffer::unique_id(): a static member of Buffer in G1/G2
    // and of BufferImpl in G3, as upstream.
    static std::atomic<size_t>& next_unique_id() {
#if TTEMU_BUFFER_PIMPL
        return BufferImpl::next_unique_id;
#else
        return Buffer::next_unique_id;
#endif
    }
};

}  // namespace tt::tt_metal
