// Emulated tt-metal: SystemMemoryManager (see impl/system_memory_manager.hpp).
#include "impl/system_memory_manager.hpp"

#include <stdexcept>
#include <string>

#include <tt-metalium/buffer.hpp>

#include "impl/device_impl.hpp"
#include "impl/device_pool.hpp"
#include "impl/system_buffers.hpp"

namespace tt::tt_metal {

#if TTEMU_DISPATCH_2026

SystemMemoryManager::SystemMemoryManager(ContextId context_id, ChipId device_id, uint8_t num_hw_cqs) :
    device_id_(device_id), num_hw_cqs_(num_hw_cqs), context_id_(context_id) {}

#else

SystemMemoryManager::SystemMemoryManager(ChipId device_id, uint8_t num_hw_cqs) :
    device_id_(device_id), num_hw_cqs_(num_hw_cqs) {
    IDevice* device = DevicePool::instance().active(device_id);
    if (device == nullptr)
        throw std::runtime_error("SystemMemoryManager: device " + std::to_string(device_id) + " is not open");
    for (const auto& spec : system_buffers::kSysmem)
        buffers_.push_back(Buffer::create(device, spec.size, spec.page_size, spec.type));
}

SystemMemoryManager::~SystemMemoryManager() = default;

#endif

}  // namespace tt::tt_metal
