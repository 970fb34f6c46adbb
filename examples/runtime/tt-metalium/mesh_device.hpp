// Emulated tt-metal: distributed::MeshDevice, N chips driven as one device.
//
// id() is the mesh id (0 for the first mesh of a process), which collides
// with chip ids: a tracker must tell the two apart by dynamic type (RTTI name
// N2tt8tt_metal11distributed10MeshDeviceE).  The chips are reachable through
// the exported get_devices() (std::vector<IDevice*>, returned through the
// SysV sret pointer; the caller owns the vector's storage) and num_devices().
//
// The mesh has its own allocator: each allocation is reserved at one address
// on every chip.  Buffers created on the mesh (Buffer::create(mesh, ...),
// MeshBuffer's backing buffer, mesh programs' kernel binaries) have device_
// == the mesh, so GraphTracker::track_allocate sees the mesh.
//
// close(): program cache cleared (tracked frees) -> mesh command queues
// cleared -> sub-device manager reset (bulk free of every mesh allocation on
// every chip, unreported) -> chips closed, remote chips first, MMIO chip 0
// last.  Thread-safety: allocation is; open/close are not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <tt-metalium/device.hpp>

namespace tt::tt_metal {

class Device;
class SubDeviceManager;

namespace distributed {

class MeshShape {
public:
    MeshShape(uint32_t num_rows, uint32_t num_cols) : rows_(num_rows), cols_(num_cols) {}
    uint32_t rows() const { return rows_; }
    uint32_t cols() const { return cols_; }
    size_t mesh_size() const { return static_cast<size_t>(rows_) * cols_; }

private:
    uint32_t rows_;
    uint32_t cols_;
};

class MeshDeviceConfig {
public:
    // physical_device_ids empty: chips 0 .. shape.mesh_size() - 1.
    explicit MeshDeviceConfig(const MeshShape& mesh_shape, std::vector<ChipId> physical_device_ids = {}) :
        shape_(mesh_shape), ids_(std::move(physical_device_ids)) {}
    const MeshShape& mesh_shape() const { return shape_; }
    const std::vector<ChipId>& physical_device_ids() const { return ids_; }

private:
    MeshShape shape_;
    std::vector<ChipId> ids_;
};

class MeshCommandQueue;

class MeshDevice : public IDevice, public std::enable_shared_from_this<MeshDevice> {
public:
    // Opens every chip of the mesh.  Throws std::runtime_error (after closing
    // the chips it opened) if a chip is already open or an open fails.
    static std::shared_ptr<MeshDevice> create(
        const MeshDeviceConfig& config,
        size_t l1_small_size = DEFAULT_L1_SMALL_SIZE,
        size_t trace_region_size = DEFAULT_TRACE_REGION_SIZE,
        size_t num_command_queues = 1,
        const DispatchCoreConfig& dispatch_core_config = DispatchCoreConfig{});

    MeshDevice(int mesh_id, std::vector<Device*> chips, const MeshShape& shape, uint8_t num_hw_cqs);
    ~MeshDevice() override;

    tt::ARCH arch() const override;
    int id() const override;
    ChipId build_id() const override;
    uint8_t num_hw_cqs() const override;
    bool is_initialized() const override;

    int num_dram_channels() const override;
    uint32_t l1_size_per_core() const override;
    uint32_t dram_size_per_channel() const override;

    const std::unique_ptr<DeviceAllocator>& allocator() const override;
    SystemMemoryManager& sysmem_manager() override;

    bool initialize(
        uint8_t num_hw_cqs, size_t l1_small_size, size_t trace_region_size, size_t worker_l1_size,
        bool minimal = false) override;
    void init_command_queue_host() override;
    bool close() override;

    void enable_program_cache() override;
    void clear_program_cache() override;
    void disable_and_clear_program_cache() override;
    program_cache::detail::ProgramCache& get_program_cache() override;
    std::size_t num_program_cache_entries() override;

    bool is_mmio_capable() const override;

    // The chips, row-major.
    std::vector<IDevice*> get_devices() const;
    IDevice* get_device(ChipId physical_device_id) const;
    size_t num_devices() const;
    const MeshShape& shape() const { return shape_; }

private:
    // The emulator's C API (c_api.cpp): a sub-device manager torn down mid-run.
    friend struct MeshDeviceAccess;

    int mesh_id_;
    std::vector<Device*> chips_;
    MeshShape shape_;
    uint8_t num_hw_cqs_;
    bool initialized_ = false;
    std::unique_ptr<DeviceAllocator> allocator_;
    std::unique_ptr<SubDeviceManager> sub_device_manager_;
    std::vector<std::unique_ptr<MeshCommandQueue>> mesh_command_queues_;
    std::unique_ptr<program_cache::detail::ProgramCache> program_cache_;
};

}  // namespace distributed
}  // namespace tt::tt_metal
