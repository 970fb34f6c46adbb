// Emulated tt-metal: distributed::MeshDevice (see tt-metalium/mesh_device.hpp).
#include <tt-metalium/mesh_device.hpp>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/program.hpp>

#include "impl/device_impl.hpp"
#include "impl/device_pool.hpp"
#include "impl/sub_device_manager.hpp"

namespace tt::tt_metal::distributed {

// Upstream's mesh command queues dispatch to the chips' queues; they hold no
// device memory of their own.
class MeshCommandQueue {
public:
    MeshCommandQueue(MeshDevice* mesh, uint32_t id) : mesh_(mesh), id_(id) {}
    uint32_t id() const { return id_; }
    MeshDevice* device() const { return mesh_; }

private:
    MeshDevice* mesh_;
    uint32_t id_;
};

namespace {
std::atomic<int> next_mesh_id{0};

// Remote chips first (highest id first), the MMIO-capable ones last, chip 0
// at the very end: the order upstream's DevicePool closes them in.
std::vector<Device*> close_order(std::vector<Device*> chips) {
    std::stable_sort(chips.begin(), chips.end(), [](Device* a, Device* b) {
        if (a->is_mmio_capable() != b->is_mmio_capable()) return !a->is_mmio_capable();
        return a->id() > b->id();
    });
    return chips;
}
}  // namespace

std::shared_ptr<MeshDevice> MeshDevice::create(
    const MeshDeviceConfig& config,
    size_t l1_small_size,
    size_t trace_region_size,
    size_t num_command_queues,
    const DispatchCoreConfig&) {
    const MeshShape& shape = config.mesh_shape();
    std::vector<ChipId> ids = config.physical_device_ids();
    if (ids.empty())
        for (size_t i = 0; i < shape.mesh_size(); i++) ids.push_back(static_cast<ChipId>(i));
    if (ids.size() != shape.mesh_size() || ids.empty())
        throw std::runtime_error("MeshDevice: the mesh shape does not match the number of chips");
    std::vector<Device*> chips;
    try {
        for (ChipId id : ids)
            chips.push_back(DevicePool::instance().open(
                id, static_cast<uint8_t>(num_command_queues), l1_small_size, trace_region_size, 0));
    } catch (...) {
        for (Device* chip : close_order(chips)) DevicePool::instance().close(chip);
        throw;
    }
    auto mesh = std::make_shared<MeshDevice>(
        next_mesh_id.fetch_add(1), std::move(chips), shape, static_cast<uint8_t>(num_command_queues));
    mesh->initialize(static_cast<uint8_t>(num_command_queues), l1_small_size, trace_region_size, 0);
    mesh->init_command_queue_host();
    return mesh;
}

MeshDevice::MeshDevice(int mesh_id, std::vector<Device*> chips, const MeshShape& shape, uint8_t num_hw_cqs) :
    mesh_id_(mesh_id), chips_(std::move(chips)), shape_(shape), num_hw_cqs_(num_hw_cqs) {}

MeshDevice::~MeshDevice() {
    if (initialized_) close();
}

tt::ARCH MeshDevice::arch() const { return tt::ARCH::WORMHOLE_B0; }
int MeshDevice::id() const { return mesh_id_; }
ChipId MeshDevice::build_id() const { return mesh_id_; }
uint8_t MeshDevice::num_hw_cqs() const { return num_hw_cqs_; }
bool MeshDevice::is_initialized() const { return initialized_; }

int MeshDevice::num_dram_channels() const { return chips_.front()->num_dram_channels(); }
uint32_t MeshDevice::l1_size_per_core() const { return chips_.front()->l1_size_per_core(); }
uint32_t MeshDevice::dram_size_per_channel() const { return chips_.front()->dram_size_per_channel(); }

const std::unique_ptr<DeviceAllocator>& MeshDevice::allocator() const { return allocator_; }

SystemMemoryManager& MeshDevice::sysmem_manager() { return chips_.front()->sysmem_manager(); }

bool MeshDevice::initialize(uint8_t, size_t, size_t, size_t, bool) {
    if (initialized_) return true;
    std::vector<DeviceAllocator*> chip_allocators;
    for (Device* chip : chips_) chip_allocators.push_back(chip->allocator().get());
    allocator_ = std::make_unique<DeviceAllocator>(std::move(chip_allocators));
    sub_device_manager_ = std::make_unique<SubDeviceManager>(this, allocator_.get());
    program_cache_ = std::make_unique<program_cache::detail::ProgramCache>();
    initialized_ = true;
    return true;
}

void MeshDevice::init_command_queue_host() {
    for (uint32_t cq = 0; cq < num_hw_cqs_; cq++) mesh_command_queues_.push_back(std::make_unique<MeshCommandQueue>(this, cq));
}

bool MeshDevice::close() {
    if (!initialized_) return false;
    if (program_cache_) program_cache_->clear();
    mesh_command_queues_.clear();
    sub_device_manager_.reset();
    for (Device* chip : close_order(chips_)) DevicePool::instance().close(chip);
    initialized_ = false;
    return true;
}

void MeshDevice::enable_program_cache() { program_cache_->enable(); }
void MeshDevice::clear_program_cache() { program_cache_->clear(); }
void MeshDevice::disable_and_clear_program_cache() {
    program_cache_->disable();
    program_cache_->clear();
}
program_cache::detail::ProgramCache& MeshDevice::get_program_cache() { return *program_cache_; }
std::size_t MeshDevice::num_program_cache_entries() { return program_cache_->num_entries(); }

bool MeshDevice::is_mmio_capable() const { return true; }

std::vector<IDevice*> MeshDevice::get_devices() const { return {chips_.begin(), chips_.end()}; }

IDevice* MeshDevice::get_device(ChipId physical_device_id) const {
    for (Device* chip : chips_)
        if (chip->id() == physical_device_id) return chip;
    return nullptr;
}

size_t MeshDevice::num_devices() const { return chips_.size(); }

}  // namespace tt::tt_metal::distributed
