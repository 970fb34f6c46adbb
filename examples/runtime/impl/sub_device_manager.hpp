// Emulated tt-metal, private: a device's sub-device manager.  Upstream's
// destructor releases everything still allocated on the device in bulk
// (deallocate_buffers() then clear() of the generation's allocator class)
// with no per-buffer report: this is the runtime's unreported free path,
// hooked by a tracker through ~SubDeviceManager or the two allocator
// functions.  G1: every chip and every mesh has one; G2/G3: only a mesh (ttnn
// 0.70.1 and 0.81.1: ~SubDeviceManager is reached from the mesh's close,
// never from Device::close).
#pragma once

#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class IDevice;

class SubDeviceManager {
public:
    SubDeviceManager(IDevice* device, DeviceAllocator* allocator);
    ~SubDeviceManager();

    SubDeviceManager(const SubDeviceManager&) = delete;
    SubDeviceManager& operator=(const SubDeviceManager&) = delete;

    DeviceAllocator* allocator() const { return allocator_; }
    IDevice* device() const { return device_; }

private:
    IDevice* device_;
    DeviceAllocator* allocator_;
};

}  // namespace tt::tt_metal
