// Emulated tt-metal, private: which chips this process has open.
//
// One chip belongs to one open Device at a time.  Device objects are never
// deleted: a buffer that outlives its chip still reads device_->
// is_initialized() (false) when it is destroyed, as upstream's DevicePool
// keeps its devices for the life of the process.  Each open gets a new Device
// object, so a stale buffer never frees into a later session's allocator.
// Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Device;
class IDevice;

class DevicePool {
public:
    static DevicePool& instance();

    static constexpr ChipId kMaxChips = 64;

    // Opens a chip (allocator, system memory manager, command queues).
    // Throws std::runtime_error if the id is out of range or the chip is
    // already open, and passes on any exception of the open itself, after
    // releasing what the open had built.
    Device* open(
        ChipId id, uint8_t num_hw_cqs, size_t l1_small_size, size_t trace_region_size, size_t worker_l1_size);
    // Closes through the virtual Device::close() and releases the id.
    bool close(Device* device);
    // The open device of a chip, or nullptr.
    Device* active(ChipId id) const;
    // Every chip opened so far by this process, with its latest Device object.
    std::vector<std::pair<ChipId, Device*>> chips() const;

private:
    DevicePool() = default;
    mutable std::mutex mutex_;
    std::map<ChipId, Device*> active_;
    std::map<ChipId, Device*> latest_;
};

}  // namespace tt::tt_metal
