// Emulated tt-metal, private: the hardware command queue of a chip.
//
// G1: the constructor has upstream's 2025 signature (a tracker hooks it
// by its mangled name to attribute what is allocated inside it to "system");
// it allocates the queue's system buffers (impl/system_buffers.hpp) and
// starts the completion-queue reader thread.  The destructor is virtual and
// out of line (exported D0/D1/D2); it stops the thread and drops the
// buffers, which the allocator's bulk free at close has already released
// without reports.
//
// G2/G3: HWCommandQueue(Device*, uint32_t, NOC) (a Device*, not the
// IDevice* of the G3 tree read: the real runtime's, ttnn 0.70.1 and 0.81.1)
// with `~HWCommandQueue() = default` (inline: no exported destructor), no
// thread, no device memory.  The chip's system buffers belong to its
// CommandQueueProgram instead, made by
// Device::init_command_queue_device_with_topology.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <tt-metalium/base_types.hpp>
#include <tt-metalium/generation.hpp>

namespace tt::tt_metal {

class Buffer;
class Device;
class IDevice;

#if TTEMU_DISPATCH_2026

class HWCommandQueue {
public:
    HWCommandQueue(Device* device, uint32_t id, NOC noc_index);
    ~HWCommandQueue() = default;

    HWCommandQueue(const HWCommandQueue&) = delete;
    HWCommandQueue& operator=(const HWCommandQueue&) = delete;

    uint32_t id() const { return id_; }
    Device* device() const { return device_; }
    NOC noc_index() const { return noc_index_; }

private:
    uint32_t id_;
    Device* device_;
    NOC noc_index_;
};

#else

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

#endif

// G2/G3: what upstream's compiled command-queue Program (Device::
// command_queue_programs_) holds on a chip: here, the chip's system buffers
// (G1 never makes one).  Allocated by Device::
// init_command_queue_device_with_topology; destroyed by Device::close after
// the allocator, so nothing is reported.
class CommandQueueProgram {
public:
    // Allocates the system buffers of a chip with `num_hw_cqs` queues.
    // Throws (after releasing what it allocated, tracked) on an injected
    // failure or when memory runs out.
    CommandQueueProgram(IDevice* device, uint8_t num_hw_cqs);

private:
    std::vector<std::shared_ptr<Buffer>> buffers_;
};

// Test knob (ttemu_inject_cq_failure): the next command-queue setup (G1:
// HWCommandQueue constructor; G2/G3: the dispatch program) throws after
// allocating this many of its system buffers; -1: never.  One-shot.
void inject_command_queue_failure(int after_buffers);
// Throws the injected failure if it is armed for `allocated` buffers
// (disarming it).  `who` names the setup step in the message.
__attribute__((visibility("hidden"))) void maybe_fail_command_queue_setup(int allocated, const std::string& who);

}  // namespace tt::tt_metal
