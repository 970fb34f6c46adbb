// Emulated tt-metal, private: the host-side manager of a chip's command
// queues' memory.  Upstream's constructor takes only the chip id (ChipId is
// int); a tracker hooks it by its mangled name.  It allocates the chip's
// first system buffers (impl/system_buffers.hpp).  The destructor is out of
// line, so it is exported too.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Buffer;

class SystemMemoryManager {
public:
    // The chip must be open (registered in the device pool).
    SystemMemoryManager(ChipId device_id, uint8_t num_hw_cqs);
    ~SystemMemoryManager();

    SystemMemoryManager(const SystemMemoryManager&) = delete;
    SystemMemoryManager& operator=(const SystemMemoryManager&) = delete;

    ChipId device_id() const { return device_id_; }
    uint8_t num_hw_cqs() const { return num_hw_cqs_; }

private:
    ChipId device_id_;
    uint8_t num_hw_cqs_;
    std::vector<std::shared_ptr<Buffer>> buffers_;
};

}  // namespace tt::tt_metal
