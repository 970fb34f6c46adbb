// Emulated tt-metal, private: Device, one open chip.
//
// The class name is upstream's: its RTTI name N2tt8tt_metal6DeviceE is how a
// tracker tells a chip from a mesh.
//
// Open (DevicePool::open): initialize() (allocator; G1 also the
// sub-device manager) -> init_command_queue_host() (system memory manager,
// one HWCommandQueue per CQ) -> G2/G3 only:
// init_command_queue_device_with_topology() (the dispatch program and its
// device memory).  The per-chip system buffers are allocated inside the two
// G1 constructors, or inside the G2/G3 entry point.
//
// close() runs upstream's order of the generation:
//   G1: program cache cleared (ordinary, tracked frees)
//     -> sub-device manager reset (~SubDeviceManager: bulk free, no reports)
//     -> command_queues_.clear() (~HWCommandQueue)
//     -> sysmem_manager_.reset() (~SystemMemoryManager)
//     -> initialized_ = false;
//   G2/G3: program cache cleared -> allocator_.reset() (upstream's
//     default_allocator_: destroyed with whatever it holds, no reports)
//     -> command_queue_programs_.clear() -> command_queues_.clear()
//     -> sysmem_manager_.reset() -> initialized_ = false.
#pragma once

#include <memory>
#include <vector>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/device.hpp>
#include <tt-metalium/program.hpp>

// The ground truth's peaks (truth.cpp): a chip's allocator's peaks, kept
// as the most per type the chip held in this process, across closes (its
// allocator is dropped or replaced then).
void ttemu_truth_note_peaks(int chip, const tt::tt_metal::AllocatorUsage& usage);
// The allocator geometry of the chips opened from now on: the defaults with
// the bank counts ttemu_set_banks (c_api.cpp) last set.
tt::tt_metal::AllocatorConfig ttemu_bank_config();

namespace tt::tt_metal {

class CommandQueueProgram;
class DispatchTopology;
class HWCommandQueue;
class SubDeviceManager;
class SystemMemoryManager;

class Device : public IDevice {
public:
    Device(ChipId device_id, uint8_t num_hw_cqs);
    ~Device() override;

    tt::ARCH arch() const override;
    ChipId id() const override;
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
#if TTEMU_DISPATCH_2026
    // Upstream compiles and loads the dispatch program here (a virtual of
    // IDevice upstream, called by the device manager; a plain exported
    // member here, so the IDevice vtable stays the same in every
    // generation).  The emulator's topology is always nullptr.
    void init_command_queue_device_with_topology(DispatchTopology* topology);
#endif
    bool close() override;

    void enable_program_cache() override;
    void clear_program_cache() override;
    void disable_and_clear_program_cache() override;
    program_cache::detail::ProgramCache& get_program_cache() override;
    std::size_t num_program_cache_entries() override;

    bool is_mmio_capable() const override;

private:
    ChipId id_;
    uint8_t num_hw_cqs_;
    bool initialized_ = false;
    // G1: kept after close (emptied by the bulk free), stale buffers
    // point at it.  G2/G3: destroyed by close.
    std::unique_ptr<DeviceAllocator> allocator_;
    std::unique_ptr<SubDeviceManager> sub_device_manager_;  // G1
    std::unique_ptr<SystemMemoryManager> sysmem_manager_;
    std::vector<std::unique_ptr<HWCommandQueue>> command_queues_;
    std::vector<std::unique_ptr<CommandQueueProgram>> command_queue_programs_;  // G2/G3
    std::unique_ptr<program_cache::detail::ProgramCache> program_cache_;
};

}  // namespace tt::tt_metal
