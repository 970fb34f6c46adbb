// capture: graph capture (ttnn's NO_DISPATCH mode) interleaved with real
// allocations.
//
// Opens a C-chip mesh.  The main thread allocates real tensors (mesh buffers
// of every type and buffers on single chips), then, with a capture hook
// installed on it (GraphTracker::add_hook), makes N captured allocations:
// mesh and chip buffers that take no device memory (address 0) yet are
// reported to track_allocate, half of them freed while capturing (the hook
// takes the free over), the rest kept; captured op launches (a new program,
// and one launched for real before) are skipped; two real tensors freed
// while capturing stay allocated until close.
// Meanwhile a second thread, without a hook, allocates and frees real
// buffers.  The real work is the same whatever N.
// After the capture ends, the kept captured buffers are freed (a hooked
// allocation releases nothing) and more real tensors are allocated.
// Hold points per run: "peak R" with the real tensors live, "closed R".
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/graph_tracking.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "common.hpp"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;

namespace {

// ttnn's ProcessorHooks with do_block set.
class NoDispatch : public IGraphHooks {
public:
    bool hook_allocate(const Buffer*) override { return true; }
    bool hook_deallocate(Buffer*) override { return true; }
    bool hook_program(Program*) override { return true; }
};

// A buffer and what it was created with (a workload runs on every
// generation, so it does not read Buffer fields).
template <class T>
struct Held {
    std::shared_ptr<T> buffer;
    int chip;  // -1: on every chip of the mesh
    BufferType type;
    uint64_t size;
};

struct Tensors {
    std::shared_ptr<MeshDevice> mesh;
    std::vector<IDevice*> chips;
    wl::ExpectByChip expect;
    std::vector<Held<MeshBuffer>> mesh_buffers;
    std::vector<Held<Buffer>> chip_buffers;
    bool real = true;  // false while capturing: nothing is expected

    void count(int chip, BufferType type, uint64_t size, int64_t sign) {
        if (!real) return;
        wl::Expect& e = expect[chip];
        uint64_t* field = type == BufferType::DRAM ? &e.dram : type == BufferType::L1 ? &e.l1 : &e.l1_small;
        *field += static_cast<uint64_t>(sign) * size;
        e.buffers += static_cast<uint64_t>(sign);
    }

    // One allocation: a mesh buffer, or one time in three a buffer on a chip.
    void allocate(wl::Rng& rng) {
        const uint64_t pick = rng.below(8);
        const BufferType type = pick < 4 ? BufferType::DRAM : pick < 7 ? BufferType::L1 : BufferType::L1_SMALL;
        const uint64_t page = type == BufferType::L1_SMALL ? 1024 : 2048;
        const uint64_t size = rng.range(1, 32) * page;
        if (rng.below(3) == 0) {
            IDevice* chip = chips[rng.below(chips.size())];
            chip_buffers.push_back(
                {Buffer::create(chip, size, page, type, wl::layout_for(type, size, page, 16)), chip->id(), type, size});
            count(chip->id(), type, size, +1);
        } else {
            DeviceLocalBufferConfig local;
            local.page_size = page;
            local.buffer_type = type;
            local.sharding_args = wl::layout_for(type, size, page, 16);
            mesh_buffers.push_back({MeshBuffer::create(ReplicatedBufferConfig{size}, local, mesh.get()), -1, type, size});
            for (IDevice* chip : chips) count(chip->id(), type, size, +1);
        }
    }

    // Frees the newest allocation of either kind.
    void free_one(wl::Rng& rng) {
        if (rng.below(2) == 0 && !chip_buffers.empty()) {
            const auto& b = chip_buffers.back();
            count(b.chip, b.type, b.size, -1);
            chip_buffers.pop_back();
        } else if (!mesh_buffers.empty()) {
            const auto& m = mesh_buffers.back();
            for (IDevice* chip : chips) count(chip->id(), m.type, m.size, -1);
            mesh_buffers.pop_back();
        }
    }
};

void one_run(int run, uint64_t chips, uint64_t captures, const wl::Options& opts) {
    wl::Rng rng(opts.seed * 1000003u + static_cast<uint64_t>(run));
    Tensors real;
    real.mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, static_cast<uint32_t>(chips))), 64 * 1024, 0, 1);
    real.chips = real.mesh->get_devices();
    for (IDevice* chip : real.chips) real.expect[chip->id()] = {};
    for (int i = 0; i < 8; i++) real.allocate(rng);
    // Two real ops: y's CBs replace x's on every chip.
    Program x, y;
    x.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 96 * 1024);
    x.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 32 * 1024);
    y.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 16 * 1024);
    detail::LaunchOp(real.mesh.get(), x);
    detail::LaunchOp(real.mesh.get(), y);
    for (IDevice* chip : real.chips) real.expect[chip->id()].cb = y.circular_buffer_bytes();

    // A thread without a hook: its allocations are real while the main
    // thread captures (the hook is per thread, as upstream).
    Tensors other;
    other.mesh = real.mesh;
    other.chips = real.chips;
    std::exception_ptr other_error;
    std::thread worker([&] {
        try {
            wl::Rng r2(opts.seed * 7u + static_cast<uint64_t>(run));
            for (int i = 0; i < 256; i++) {
                other.allocate(r2);
                if (i % 3 == 2) other.free_one(r2);
            }
        } catch (...) {
            other_error = std::current_exception();
        }
    });

    Tensors captured;
    captured.mesh = real.mesh;
    captured.chips = real.chips;
    captured.real = false;
    if (!GraphTracker::instance().add_hook(std::make_shared<NoDispatch>()))
        throw std::runtime_error("capture: the thread already has a hook");
    wl::Rng crng(opts.seed * 31u + static_cast<uint64_t>(run));  // the real work does not depend on N
    for (uint64_t i = 0; i < captures; i++) {
        captured.allocate(crng);
        if (i % 2 == 1) captured.free_one(crng);  // freed while capturing
    }
    Program op;
    op.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 64 * 1024);
    op.set_kernel_binary_size(8 * 2048);
    if (detail::LaunchOp(real.mesh.get(), op)) throw std::runtime_error("capture: the captured op was launched");
    // Real tensors freed while capturing: the hook takes their frees over
    // too, so their memory stays allocated until close (as upstream, with a
    // warning); they stay in the expectation.
    real.mesh_buffers.erase(real.mesh_buffers.begin());
    if (!real.chip_buffers.empty()) real.chip_buffers.erase(real.chip_buffers.begin());
    // A cached op, captured: not launched, y's CBs stay.
    if (detail::LaunchOp(real.mesh.get(), x)) throw std::runtime_error("capture: the captured op was launched");
    GraphTracker::instance().clear_hook();
    worker.join();
    if (other_error) std::rethrow_exception(other_error);

    captured.mesh_buffers.clear();  // captured, freed after the capture
    captured.chip_buffers.clear();
    for (int i = 0; i < 8; i++) real.allocate(rng);
    real.free_one(rng);

    wl::ExpectByChip expect = real.expect;
    for (auto& [chip, e] : other.expect) {
        expect[chip].dram += e.dram;
        expect[chip].l1 += e.l1;
        expect[chip].l1_small += e.l1_small;
        expect[chip].buffers += e.buffers;
    }
    wl::hold_point("peak", run, expect, opts);
    real.mesh->close();
    for (auto& [id, e] : expect) e = {};
    wl::hold_point("closed", run, expect, opts);
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t runs = 1, chips = 8, captures = 10000;
    wl::parse(
        argc, argv,
        "[--runs K] [--chips C] [--captures N] [--seed N] [--hold MS]\n\n"
        "N captured allocations (a NO_DISPATCH graph capture hook) interleaved with real ones on a\n"
        "C-chip mesh, K times.  Hold points: \"peak RUN\" before each close, \"closed RUN\" after it.",
        {{"runs", "open/close cycles in this process (default 1)", &runs, 1, 1000},
         {"chips", "chips in the mesh (default 8)", &chips, 1, 64},
         {"captures", "captured allocations per run (default 10000)", &captures, 0, 1ull << 32}},
        opts);
    try {
        for (uint64_t run = 0; run < runs; run++) one_run(static_cast<int>(run), chips, captures, opts);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "capture: %s\n", ex.what());
        return 1;
    }
    return 0;
}
