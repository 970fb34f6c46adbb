// Emulated tt-metal, private: a device's sub-device manager.  Upstream's
// destructor releases everything still allocated on the device in bulk
// (Allocator::deallocate_buffers() then clear()) with no per-buffer report:
// this is the runtime's unreported free path, hooked by a tracker through
// ~SubDeviceManager or the two Allocator functions.
#pragma once

namespace tt::tt_metal {

class Allocator;
class IDevice;

class SubDeviceManager {
public:
    SubDeviceManager(IDevice* device, Allocator* allocator);
    ~SubDeviceManager();

    SubDeviceManager(const SubDeviceManager&) = delete;
    SubDeviceManager& operator=(const SubDeviceManager&) = delete;

    Allocator* allocator() const { return allocator_; }
    IDevice* device() const { return device_; }

private:
    IDevice* device_;
    Allocator* allocator_;
};

}  // namespace tt::tt_metal
