// Emulated tt-metal: programs, their circular buffers, and the program cache.
//
// What a program does to device memory, as upstream:
// - its kernel binaries are uploaded to a DRAM buffer (an ordinary tracked
//   Buffer on the device the program is launched on), freed when the program
//   is destroyed, e.g. when the program cache is cleared at close;
// - its circular buffers are allocated when it is launched, reported one by
//   one with GraphTracker::track_allocate_cb; a device holds the CBs of one
//   program at a time, so launching a program first drops the CBs of the
//   previous one, reported once with track_deallocate_cb(device).  Destroying
//   a program reports nothing; closing the device drops its CBs unreported.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <tt-metalium/base_types.hpp>

namespace tt::tt_metal {

class Buffer;
class IDevice;
class Program;

namespace detail {
// Uploads the program's kernels (once) and allocates its circular buffers on
// `device` (a chip or a mesh).  Throws std::runtime_error on failure.
void LaunchProgram(IDevice* device, Program& program, bool wait_until_cores_done = true);
}  // namespace detail

class Program {
public:
    Program();
    ~Program();
    Program(const Program&) = delete;
    Program& operator=(const Program&) = delete;

    // Stands in for CreateCircularBuffer: `size` bytes per core on `cores`.
    void add_circular_buffer(const CoreRangeSet& cores, uint64_t size);
    // Bytes of kernel binaries, uploaded to DRAM at the first launch.
    void set_kernel_binary_size(uint64_t bytes);

    uint64_t kernel_binary_size() const { return kernel_bytes_; }
    // Sum of the CB sizes (per core).
    uint64_t circular_buffer_bytes() const;
    size_t num_circular_buffers() const { return cbs_.size(); }
    const std::shared_ptr<Buffer>& kernels_buffer() const { return kernels_buffer_; }

    // Drops this program's CBs from the device it was launched on, if they
    // are still the device's current ones (reported).  Returns whether it did.
    bool deallocate_circular_buffers();

private:
    friend void detail::LaunchProgram(IDevice*, Program&, bool);
    void allocate_circular_buffers(IDevice* device);

    std::vector<std::pair<CoreRangeSet, uint64_t>> cbs_;
    uint64_t kernel_bytes_ = 0;
    std::shared_ptr<Buffer> kernels_buffer_;
    IDevice* cb_device_ = nullptr;
    uint64_t tag_;
};

namespace program_cache::detail {
// Programs by hash, owned by a device.  Thread-safe.
struct ProgramCache {
    std::shared_ptr<Program> find(uint64_t hash) const;
    void insert(uint64_t hash, std::shared_ptr<Program> program);
    // Destroys the cached programs (their kernel buffers are freed, tracked).
    void clear();
    size_t num_entries() const;
    bool is_enabled() const;
    void enable();
    void disable();

private:
    mutable std::mutex mutex_;
    std::map<uint64_t, std::shared_ptr<Program>> entries_;
    bool enabled_ = true;
};
}  // namespace program_cache::detail

}  // namespace tt::tt_metal
