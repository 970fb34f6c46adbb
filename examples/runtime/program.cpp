// Emulated tt-metal: programs and the program cache (see tt-metalium/program.hpp).
#include <tt-metalium/program.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/buffer.hpp>
#include <tt-metalium/device.hpp>
#include <tt-metalium/generation.hpp>
#include <tt-metalium/graph_tracking.hpp>

namespace tt::tt_metal {

namespace {
constexpr uint64_t kKernelPage = 2048;
std::atomic<uint64_t> next_program_tag{1};
}  // namespace

Program::Program() : tag_(next_program_tag.fetch_add(1, std::memory_order_relaxed)) {}

Program::~Program() = default;

void Program::add_circular_buffer(const CoreRangeSet& cores, uint64_t size) { cbs_.emplace_back(cores, size); }

void Program::set_kernel_binary_size(uint64_t bytes) { kernel_bytes_ = (bytes + kKernelPage - 1) / kKernelPage * kKernelPage; }

uint64_t Program::circular_buffer_bytes() const {
    uint64_t n = 0;
    for (const auto& cb : cbs_) n += cb.second;
    return n;
}

namespace {
// Whether a launch reports track_deallocate_cb(device) then every CB (the
// CB frees of ProgramImpl::deallocate_circular_buffers): the default of G2/G3
// (ttnn 0.70.1 and 0.81.1 call it), never by default in G1 (0.59, 0.65 do
// not).  TTEMU_CB_FREE_REPORTS=1 or 0 forces it either way (a test knob:
// G1's =1 is the fork the seed comes from).  Read once.
bool cb_free_reports() {
    static const bool on = [] {
        const char* v = std::getenv("TTEMU_CB_FREE_REPORTS");
        if (v != nullptr && std::strcmp(v, "1") == 0) return true;
        if (v != nullptr && std::strcmp(v, "0") == 0) return false;
        return static_cast<bool>(TTEMU_CB_FREE_REPORTS_DEFAULT);
    }();
    return on;
}

// One launch at a time per process: the op layer's track_program and the
// launch it announces are not interleaved with another thread's (see
// detail::LaunchOp).
std::mutex op_launch_mutex;
}  // namespace

void Program::allocate_circular_buffers(IDevice* device) {
    // A program without CBs claims no CB region: what the cores hold stays.
    if (cbs_.empty()) return;
    const bool frees = cb_free_reports();
    // Without CB free reports (G1) a program's CBs are placed and reported
    // once, at its first launch, and a launch from the program cache reports
    // nothing; with them (G2/G3) every launch frees and reports them anew.
    const bool report = frees || !cbs_placed_;
    std::vector<uint64_t> sizes;
    for (const auto& cb : cbs_) sizes.push_back(cb.second);
    device->allocator()->place_circular_buffers(tag_, sizes, [&](const std::vector<DeviceAddr>& addrs) {
        if (frees) GraphTracker::instance().track_deallocate_cb(device);
        if (!report) return;
        for (size_t i = 0; i < cbs_.size(); i++)
            GraphTracker::instance().track_allocate_cb(cbs_[i].first, addrs[i], cbs_[i].second, false, device);
    });
    cbs_placed_ = true;
}

namespace detail {
void LaunchProgram(IDevice* device, Program& program, bool) {
    if (device == nullptr || !device->is_initialized())
        throw std::runtime_error("LaunchProgram: the device is not initialized");
    if (!program.kernels_buffer_ && program.kernel_bytes_ != 0)
        program.kernels_buffer_ = Buffer::create(device, program.kernel_bytes_, kKernelPage, BufferType::DRAM);
    program.allocate_circular_buffers(device);
}

bool LaunchOp(IDevice* device, Program& program) {
    std::lock_guard<std::mutex> lock(op_launch_mutex);
    GraphTracker::instance().track_program(&program, device);
    if (GraphTracker::instance().hook_program(&program)) return false;
    LaunchProgram(device, program);
    return true;
}
}  // namespace detail

namespace program_cache::detail {

std::shared_ptr<Program> ProgramCache::find(uint64_t hash) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(hash);
    return it == entries_.end() ? nullptr : it->second;
}

void ProgramCache::insert(uint64_t hash, std::shared_ptr<Program> program) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (enabled_) entries_[hash] = std::move(program);
}

void ProgramCache::clear() {
    std::map<uint64_t, std::shared_ptr<Program>> doomed;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        doomed.swap(entries_);
    }
    // Destroyed outside the lock: their buffers' frees call into the tracker.
}

size_t ProgramCache::num_entries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

bool ProgramCache::is_enabled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return enabled_;
}

void ProgramCache::enable() {
    std::lock_guard<std::mutex> lock(mutex_);
    enabled_ = true;
}

void ProgramCache::disable() {
    std::lock_guard<std::mutex> lock(mutex_);
    enabled_ = false;
}

}  // namespace program_cache::detail
}  // namespace tt::tt_metal
