// churn: a multi-threaded allocate/free storm, for benchmarks.
//
// Opens a mesh of C chips; T threads each work on one chip of it (thread t
// on chip t % C) with a window of at most W live buffers, and do E events in
// all: an event is one Buffer::create or one buffer destruction on an open
// chip, i.e. exactly one GraphTracker::track_allocate or track_deallocate.
// Prints "events E elapsed_ns NS ns_per_event X" for the storm alone.
// Each thread's sequence is a function of the seed; with T <= C the
// addresses are too.
// Hold points: "peak 0" after the storm with the windows still live,
// "closed 0" after the close.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/mesh_device.hpp>

#include "common.hpp"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;

namespace {

struct Worker {
    IDevice* chip = nullptr;
    uint64_t events = 0;
    uint64_t seed = 0;
    uint64_t window = 0;
    // What it asked for is what it holds: no Buffer field is read back
    // (the workload runs on every generation's layout).
    struct Held {
        std::shared_ptr<Buffer> buffer;
        BufferType type;
        uint64_t size;
    };
    std::vector<Held> live;
    std::exception_ptr error;

    void run(const std::atomic<bool>& go) {
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        try {
            wl::Rng rng(seed);
            for (uint64_t i = 0; i < events; i++) {
                if (live.empty() || (live.size() < window && rng.below(2) == 0)) {
                    const uint64_t pick = rng.below(20);
                    const BufferType type = pick < 10 ? BufferType::DRAM : pick < 17 ? BufferType::L1 : BufferType::L1_SMALL;
                    const uint64_t page = type == BufferType::L1_SMALL ? 1024 : 2048;
                    const uint64_t size = rng.range(1, 64) * page;
                    // L1_SMALL on the whole 8x8 grid: the footprint of the
                    // interleaved layout, so that the storm's window fits.
                    live.push_back(Held{Buffer::create(chip, size, page, type, wl::layout_for(type, size, page, 64)), type, size});
                } else {
                    const size_t victim = rng.below(live.size());
                    live[victim] = std::move(live.back());
                    live.pop_back();
                }
            }
        } catch (...) {
            error = std::current_exception();
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t threads = 2, events = 200000, chips = 2, window = 64;
    wl::parse(
        argc, argv,
        "[--threads T] [--events E] [--chips C] [--window W] [--seed N] [--hold MS]\n\n"
        "A multi-threaded allocate/free storm on a C-chip mesh; prints\n"
        "\"events E elapsed_ns NS ns_per_event X\".  Hold points: \"peak 0\", \"closed 0\".",
        {{"threads", "threads (default 2)", &threads, 1, 256},
         {"events", "allocations + frees in all (default 200000)", &events, 0, 1ull << 40},
         {"chips", "chips in the mesh (default 2)", &chips, 1, 64},
         {"window", "most live buffers per thread (default 64)", &window, 1, 100000}},
        opts);
    try {
        auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, static_cast<uint32_t>(chips))), 64 * 1024, 0, 1);
        std::vector<IDevice*> devices = mesh->get_devices();
        std::vector<Worker> workers(threads);
        for (uint64_t t = 0; t < threads; t++) {
            workers[t].chip = devices[t % chips];
            workers[t].events = events / threads + (t == 0 ? events % threads : 0);
            workers[t].seed = opts.seed * 1000003u + t;
            workers[t].window = window;
        }
        std::atomic<bool> go{false};
        std::vector<std::thread> pool;
        for (auto& w : workers) pool.emplace_back(&Worker::run, &w, std::cref(go));
        const auto t0 = std::chrono::steady_clock::now();
        go.store(true, std::memory_order_release);
        for (auto& th : pool) th.join();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        for (auto& w : workers)
            if (w.error) std::rethrow_exception(w.error);
        std::printf(
            "events %llu elapsed_ns %lld ns_per_event %.1f\n", (unsigned long long)events, (long long)ns,
            events ? static_cast<double>(ns) / static_cast<double>(events) : 0.0);

        wl::ExpectByChip expect;
        for (IDevice* d : devices) expect[d->id()] = {};
        for (auto& w : workers) {
            wl::Expect& e = expect[w.chip->id()];
            for (const Worker::Held& h : w.live) {
                (h.type == BufferType::DRAM ? e.dram : h.type == BufferType::L1 ? e.l1 : e.l1_small) += h.size;
                e.buffers++;
            }
        }
        wl::hold_point("peak", 0, expect, opts);
        for (auto& w : workers) w.live.clear();
        mesh->close();
        for (auto& [id, e] : expect) e = {};
        wl::hold_point("closed", 0, expect, opts);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "churn: %s\n", ex.what());
        return 1;
    }
    return 0;
}
