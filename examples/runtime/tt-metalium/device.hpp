// Emulated tt-metal: IDevice, the interface of a chip and of a mesh.
//
// The order of the virtual functions is upstream's (a subset, in the same
// relative order): a tracker calls through the vtable, so
//   slot 0, 1  destructors (complete, deleting)
//   slot 2     arch()
//   slot 3     id()            (byte offset 24 from the vptr)
//   slot 4     build_id()
//   slot 5     num_hw_cqs()
//   slot 6     is_initialized()
// The same vtable in every emulated generation: programs built against one
// generation call through it on another.
// The dynamic type is visible through the RTTI pointer at vptr[-1]:
// N2tt8tt_metal6DeviceE for a chip, N2tt8tt_metal11distributed10MeshDeviceE
// for a mesh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class SystemMemoryManager;

namespace program_cache::detail {
struct ProgramCache;
}

class IDevice {
public:
    IDevice() = default;
    virtual ~IDevice() = default;

    IDevice(const IDevice&) = delete;
    IDevice& operator=(const IDevice&) = delete;

    virtual tt::ARCH arch() const = 0;
    virtual ChipId id() const = 0;
    virtual ChipId build_id() const = 0;
    virtual uint8_t num_hw_cqs() const = 0;
    virtual bool is_initialized() const = 0;

    virtual int num_dram_channels() const = 0;
    virtual uint32_t l1_size_per_core() const = 0;
    virtual uint32_t dram_size_per_channel() const = 0;

    virtual const std::unique_ptr<DeviceAllocator>& allocator() const = 0;
    virtual SystemMemoryManager& sysmem_manager() = 0;

    virtual bool initialize(
        uint8_t num_hw_cqs, size_t l1_small_size, size_t trace_region_size, size_t worker_l1_size,
        bool minimal = false) = 0;
    virtual void init_command_queue_host() = 0;
    // Releases everything the device holds; returns true.
    virtual bool close() = 0;

    virtual void enable_program_cache() = 0;
    virtual void clear_program_cache() = 0;
    virtual void disable_and_clear_program_cache() = 0;
    virtual program_cache::detail::ProgramCache& get_program_cache() = 0;
    virtual std::size_t num_program_cache_entries() = 0;

    virtual bool is_mmio_capable() const = 0;
};

}  // namespace tt::tt_metal
