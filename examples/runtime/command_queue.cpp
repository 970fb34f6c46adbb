// Emulated tt-metal: HWCommandQueue and, in G2/G3, the dispatch program (see
// impl/command_queue.hpp).
#include "impl/command_queue.hpp"

#include <atomic>
#include <stdexcept>
#include <string>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/device.hpp>

#include "impl/system_buffers.hpp"

namespace tt::tt_metal {

namespace {
std::atomic<int> fail_after{-1};
}

void inject_command_queue_failure(int after_buffers) { fail_after.store(after_buffers); }

void maybe_fail_command_queue_setup(int allocated, const std::string& who) {
    int expected = allocated;
    if (fail_after.compare_exchange_strong(expected, -1)) {
        // The buffers allocated so far are freed by unwinding, through the
        // normal tracked path: the device is initialized.
        throw std::runtime_error(
            who + ": failed to set up the dispatch cores (injected after " + std::to_string(allocated) +
            " buffers)");
    }
}

#if TTEMU_DISPATCH_2026

HWCommandQueue::HWCommandQueue(Device* device, uint32_t id, NOC noc_index) :
    id_(id), device_(device), noc_index_(noc_index) {}

CommandQueueProgram::CommandQueueProgram(IDevice* device, uint8_t num_hw_cqs) {
    const std::string who = "Device::init_command_queue_device_with_topology on device " + std::to_string(device->id());
    int n = 0;
    auto allocate = [&](const system_buffers::Spec& spec) {
        maybe_fail_command_queue_setup(n, who);
        buffers_.push_back(Buffer::create(device, spec.size, spec.page_size, spec.type));
        n++;
    };
    for (const auto& spec : system_buffers::kSysmem) allocate(spec);
    for (uint8_t cq = 0; cq < num_hw_cqs; cq++)
        for (const auto& spec : system_buffers::kCommandQueue) allocate(spec);
}

#else

HWCommandQueue::HWCommandQueue(
    IDevice* device,
    std::shared_ptr<CQSharedState> cq_shared_state,
    uint32_t id,
    NOC noc_index,
    uint32_t completion_queue_reader_core) :
    device_(device),
    cq_shared_state_(std::move(cq_shared_state)),
    id_(id),
    noc_index_(noc_index),
    completion_queue_reader_core_(completion_queue_reader_core) {
    const std::string who = "HWCommandQueue " + std::to_string(id_) + " on device " + std::to_string(device_->id());
    int n = 0;
    for (const auto& spec : system_buffers::kCommandQueue) {
        maybe_fail_command_queue_setup(n, who);
        system_buffers_.push_back(Buffer::create(device_, spec.size, spec.page_size, spec.type));
        n++;
    }
    cq_shared_state_->num_command_queues++;
    completion_queue_thread_ = std::thread(&HWCommandQueue::read_completion_queue, this);
}

HWCommandQueue::~HWCommandQueue() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        exit_ = true;
    }
    cv_.notify_all();
    if (completion_queue_thread_.joinable()) completion_queue_thread_.join();
}

void HWCommandQueue::read_completion_queue() {
    // Nothing completes on emulated hardware: the thread only exists, as
    // upstream's does, until the queue is destroyed.
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return exit_; });
}

#endif

}  // namespace tt::tt_metal
