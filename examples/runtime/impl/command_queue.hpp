// Emulated tt-metal, private: the hardware command queue of a chip.
//
// The constructor has upstream's signature (a tracker hooks it by its mangled
// name to attribute what is allocated inside it to "system"); it allocates
// the queue's system buffers (impl/system_buffers.hpp) and starts the
// completion-queue reader thread.  The destructor is virtual and out of line
// (exported D0/D1/D2); it stops the thread and drops the buffers, which the
// allocator's bulk free at close has already released without reports.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Buffer;
class IDevice;

// State the command queues of one device share (upstream: worker launch
// message buffers).
struct CQSharedState {
    uint32_t num_command_queues = 0;
};

class HWCommandQueue {
public:
    HWCommandQueue(
        IDevice* device,
        std::shared_ptr<CQSharedState> cq_shared_state,
        uint32_t id,
        NOC noc_index,
        uint32_t completion_queue_reader_core = 0);
    virtual ~HWCommandQueue();

    HWCommandQueue(const HWCommandQueue&) = delete;
    HWCommandQueue& operator=(const HWCommandQueue&) = delete;

    uint32_t id() const { return id_; }
    IDevice* device() const { return device_; }
    NOC noc_index() const { return noc_index_; }
    uint32_t completion_queue_reader_core() const { return completion_queue_reader_core_; }

private:
    void read_completion_queue();

    IDevice* device_;
    std::shared_ptr<CQSharedState> cq_shared_state_;
    uint32_t id_;
    NOC noc_index_;
    uint32_t completion_queue_reader_core_;
    std::vector<std::shared_ptr<Buffer>> system_buffers_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool exit_ = false;
    std::thread completion_queue_thread_;
};

// Test knob (ttemu_inject_cq_failure): the next HWCommandQueue constructor
// throws after allocating this many system buffers; -1: never.  One-shot.
void inject_command_queue_failure(int after_buffers);

}  // namespace tt::tt_metal
