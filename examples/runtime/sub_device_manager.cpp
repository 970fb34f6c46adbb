// Emulated tt-metal: SubDeviceManager (see impl/sub_device_manager.hpp).
#include "impl/sub_device_manager.hpp"

#include <tt-metalium/allocator.hpp>

namespace tt::tt_metal {

SubDeviceManager::SubDeviceManager(IDevice* device, DeviceAllocator* allocator) : device_(device), allocator_(allocator) {}

SubDeviceManager::~SubDeviceManager() {
    if (allocator_ == nullptr) return;
    // Cross-TU calls through the PLT: interposable, like upstream's.
    allocator_->deallocate_buffers();
    allocator_->clear();
}

}  // namespace tt::tt_metal
