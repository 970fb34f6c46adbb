// Emulated tt-metal: Device (see impl/device_impl.hpp).
#include "impl/device_impl.hpp"

#include <stdexcept>
#include <string>

#include "impl/command_queue.hpp"
#include "impl/sub_device_manager.hpp"
#include "impl/system_memory_manager.hpp"

namespace tt::tt_metal {

Device::Device(ChipId device_id, uint8_t num_hw_cqs) : id_(device_id), num_hw_cqs_(num_hw_cqs) {}

Device::~Device() {
    if (initialized_) close();
}

tt::ARCH Device::arch() const { return tt::ARCH::WORMHOLE_B0; }
ChipId Device::id() const { return id_; }
ChipId Device::build_id() const { return id_; }
uint8_t Device::num_hw_cqs() const { return num_hw_cqs_; }
bool Device::is_initialized() const { return initialized_; }

int Device::num_dram_channels() const { return static_cast<int>(AllocatorConfig{}.num_dram_banks); }
uint32_t Device::l1_size_per_core() const { return static_cast<uint32_t>(AllocatorConfig{}.l1_size); }
uint32_t Device::dram_size_per_channel() const { return static_cast<uint32_t>(AllocatorConfig{}.dram_bank_size); }

const std::unique_ptr<DeviceAllocator>& Device::allocator() const { return allocator_; }

SystemMemoryManager& Device::sysmem_manager() {
    if (!sysmem_manager_) throw std::runtime_error("device " + std::to_string(id_) + " has no system memory manager");
    return *sysmem_manager_;
}

bool Device::initialize(uint8_t num_hw_cqs, size_t l1_small_size, size_t trace_region_size, size_t, bool) {
    if (initialized_) return true;
    num_hw_cqs_ = num_hw_cqs;
    AllocatorConfig config = ttemu_bank_config();
    config.l1_small_size = l1_small_size;
    config.trace_region_size = trace_region_size;
    allocator_ = std::make_unique<DeviceAllocator>(config);
#if !TTEMU_CLOSE_DROPS_ALLOCATOR
    sub_device_manager_ = std::make_unique<SubDeviceManager>(this, allocator_.get());
#endif
    program_cache_ = std::make_unique<program_cache::detail::ProgramCache>();
    initialized_ = true;
    return true;
}

#if TTEMU_DISPATCH_2026

void Device::init_command_queue_host() {
    // One MetalContext per process in the emulator: context 0.
    sysmem_manager_ = std::make_unique<SystemMemoryManager>(ContextId{0}, id_, num_hw_cqs_);
    for (uint32_t cq = 0; cq < num_hw_cqs_; cq++)
        command_queues_.push_back(std::make_unique<HWCommandQueue>(this, cq, NOC::NOC_0));
}

void Device::init_command_queue_device_with_topology(DispatchTopology*) {
    command_queue_programs_.push_back(std::make_unique<CommandQueueProgram>(this, num_hw_cqs_));
}

#else

void Device::init_command_queue_host() {
    sysmem_manager_ = std::make_unique<SystemMemoryManager>(id_, num_hw_cqs_);
    auto shared = std::make_shared<CQSharedState>();
    for (uint32_t cq = 0; cq < num_hw_cqs_; cq++)
        command_queues_.push_back(std::make_unique<HWCommandQueue>(this, shared, cq, NOC::NOC_0, 0));
}

#endif

bool Device::close() {
    if (!initialized_) return false;
    // Before the allocator is dropped (G2/G3) or replaced at the next open (G1).
    if (allocator_) ttemu_truth_note_peaks(id_, allocator_->usage());
    if (program_cache_) program_cache_->clear();
#if TTEMU_CLOSE_DROPS_ALLOCATOR
    // Upstream's default_allocator_.reset(): whatever it still holds dies
    // with it, unreported; then the dispatch program, whose buffers are gone.
    allocator_.reset();
    command_queue_programs_.clear();
#else
    // ~SubDeviceManager: the bulk free, unreported.
    sub_device_manager_.reset();
#endif
    command_queues_.clear();
    sysmem_manager_.reset();
    initialized_ = false;
    return true;
}

void Device::enable_program_cache() { program_cache_->enable(); }
void Device::clear_program_cache() { program_cache_->clear(); }
void Device::disable_and_clear_program_cache() {
    program_cache_->disable();
    program_cache_->clear();
}
program_cache::detail::ProgramCache& Device::get_program_cache() { return *program_cache_; }
std::size_t Device::num_program_cache_entries() { return program_cache_->num_entries(); }

// T3K-like: the first four chips are on PCIe, the others behind ethernet.
bool Device::is_mmio_capable() const { return id_ < 4; }

}  // namespace tt::tt_metal
