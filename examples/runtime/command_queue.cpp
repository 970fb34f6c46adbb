// Emulated tt-metal: HWCommandQueue (see impl/command_queue.hpp).
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
    int n = 0;
    for (const auto& spec : system_buffers::kCommandQueue) {
        int expected = n;
        if (fail_after.compare_exchange_strong(expected, -1)) {
            // The buffers allocated so far are freed by unwinding (members),
            // through the normal tracked path: the device is initialized.
            throw std::runtime_error(
                "HWCommandQueue " + std::to_string(id_) + " on device " + std::to_string(device_->id()) +
                ": failed to set up the dispatch cores (injected after " + std::to_string(n) + " buffers)");
        }
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

}  // namespace tt::tt_metal
