// Emulated tt-metal: the device pool and the host API to open and close chips.
#include "impl/device_pool.hpp"

#include <stdexcept>
#include <string>

#include <tt-metalium/host_api.hpp>

#include "impl/device_impl.hpp"

namespace tt::tt_metal {

DevicePool& DevicePool::instance() {
    // Leaked: buffers destroyed by static destructors may still look chips up.
    static DevicePool* pool = new DevicePool();
    return *pool;
}

Device* DevicePool::open(
    ChipId id, uint8_t num_hw_cqs, size_t l1_small_size, size_t trace_region_size, size_t worker_l1_size) {
    if (id < 0 || id >= kMaxChips) throw std::runtime_error("device id " + std::to_string(id) + " is out of range");
    if (num_hw_cqs < 1 || num_hw_cqs > 2) throw std::runtime_error("num_hw_cqs must be 1 or 2");
    auto* device = new Device(id, num_hw_cqs);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (active_.count(id)) {
            delete device;
            throw std::runtime_error("device " + std::to_string(id) + " is already open");
        }
        active_[id] = device;
        latest_[id] = device;
    }
    try {
        device->initialize(num_hw_cqs, l1_small_size, trace_region_size, worker_l1_size);
        device->init_command_queue_host();
#if TTEMU_DISPATCH_2026
        device->init_command_queue_device_with_topology(nullptr);
#endif
    } catch (...) {
        // Release what the open built (bulk free at close), then give the
        // caller the original exception.
        device->close();
        std::lock_guard<std::mutex> lock(mutex_);
        active_.erase(id);
        throw;
    }
    return device;
}

bool DevicePool::close(Device* device) {
    bool closed = device->close();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(device->id());
    if (it != active_.end() && it->second == device) active_.erase(it);
    return closed;
}

Device* DevicePool::active(ChipId id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = active_.find(id);
    return it == active_.end() ? nullptr : it->second;
}

std::vector<std::pair<ChipId, Device*>> DevicePool::chips() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {latest_.begin(), latest_.end()};
}

IDevice* CreateDevice(
    ChipId device_id,
    uint8_t num_hw_cqs,
    size_t l1_small_size,
    size_t trace_region_size,
    const DispatchCoreConfig&,
    const std::vector<uint32_t>&,
    size_t worker_l1_size) {
    return DevicePool::instance().open(device_id, num_hw_cqs, l1_small_size, trace_region_size, worker_l1_size);
}

bool CloseDevice(IDevice* device) {
    auto* chip = dynamic_cast<Device*>(device);
    if (chip == nullptr) throw std::runtime_error("CloseDevice: not a chip (close a mesh with MeshDevice::close)");
    return DevicePool::instance().close(chip);
}

size_t GetNumAvailableDevices() { return static_cast<size_t>(DevicePool::kMaxChips); }

}  // namespace tt::tt_metal
