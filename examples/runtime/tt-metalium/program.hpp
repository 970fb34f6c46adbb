// Emulated tt-metal: programs, their circular buffers, and the program cache.
//
// What a program does to device memory, as upstream:
// - its kernel binaries are uploaded to a DRAM buffer (an ordinary tracked
//   Buffer on the device the program is launched on), freed when the program
//   is destroyed, e.g. when the program cache is cleared at close;
// - its circular buffers are placed at its first launch, from the base of
//   L1 on its cores, and reported one by one with
//   GraphTracker::track_allocate_cb; a launch from the program cache reports
//   nothing.  G1: no CB free is ever reported (ttnn 0.59 and 0.65 never
//   call track_deallocate_cb).  G2/G3: every launch reports
//   track_deallocate_cb(device) then every CB (ttnn 0.70.1 and 0.81.1 call
//   it, from ProgramImpl::deallocate_circular_buffers).  A chip holds the
//   CBs of the program last launched on it: the next program reuses the
//   region, a closed device holds none.  TTEMU_CB_FREE_REPORTS=1 or 0
//   forces the reports on or off in any generation.
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
// Uploads the program's kernels (once) and places its circular buffers on
// `device` (a chip or a mesh).  Throws std::runtime_error on failure.
void LaunchProgram(IDevice* device, Program& program, bool wait_until_cores_done = true);
// What ttnn's device-operation launch does around LaunchProgram:
// GraphTracker::track_program, then hook_program (a capture hook in
// NO_DISPATCH mode skips the launch: returns false), then the launch.  One
// op launch at a time per process (an emulator assumption, see
// examples/README.md).
bool LaunchOp(IDevice* device, Program& program);
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

private:
    friend void detail::LaunchProgram(IDevice*, Program&, bool);
    void allocate_circular_buffers(IDevice* device);

    std::vector<std::pair<CoreRangeSet, uint64_t>> cbs_;
    uint64_t kernel_bytes_ = 0;
    std::shared_ptr<Buffer> kernels_buffer_;
    bool cbs_placed_ = false;
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
