// Emulated tt-metal, private: the host-side manager of a chip's command
// queues' memory.  A tracker hooks its constructor by the mangled name.
//
// G1: SystemMemoryManager(ChipId, uint8_t) (ChipId is int); it allocates
// the chip's first system buffers (impl/system_buffers.hpp).  The destructor
// is out of line, so it is exported too.
// G2/G3: SystemMemoryManager(ContextId, ChipId, uint8_t), ContextId being
// ttsl::StrongType<int, ContextIdTag> (mangled as that class); it maps host
// memory only, allocates no device memory, and declares no destructor (the
// implicit one is inline: not exported).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class Buffer;

class SystemMemoryManager {
public:
#if TTEMU_DISPATCH_2026
    SystemMemoryManager(ContextId context_id, ChipId device_id, uint8_t num_hw_cqs);
#else
    // The chip must be open (registered in the device pool).
    SystemMemoryManager(ChipId device_id, uint8_t num_hw_cqs);
    ~SystemMemoryManager();
#endif

    SystemMemoryManager(const SystemMemoryManager&) = delete;
    SystemMemoryManager& operator=(const SystemMemoryManager&) = delete;

    ChipId device_id() const { return device_id_; }
    uint8_t num_hw_cqs() const { return num_hw_cqs_; }
#if TTEMU_DISPATCH_2026
    ContextId context_id() const { return context_id_; }
#endif

private:
    ChipId device_id_;
    uint8_t num_hw_cqs_;
#if TTEMU_DISPATCH_2026
    ContextId context_id_;
#else
    std::vector<std::shared_ptr<Buffer>> buffers_;
#endif
};

}  // namespace tt::tt_metal
