// programs: op launches from several threads on one mesh, for circular
// buffers.
//
// Opens a C-chip mesh; T threads each launch L ops (detail::LaunchOp, as
// ttnn does).  An op runs on the mesh or, one time in four, on one chip of
// it; half of the time it is one of the thread's P cached programs launched
// again (upstream reports no CB for it), otherwise a new program with 1-8
// CBs of 2-32 KiB per core and a few KiB of kernel binaries (DRAM).  New
// programs that do not enter the thread's cache are destroyed after their
// launch; their CBs stay on the chips until the next launch (as upstream).
// Everything is a function of the seed except, with T > 1, which launch on a
// chip comes last.  With --direct, every launch is a new program launched
// with detail::LaunchProgram (tt-metal's own entry, no op layer, no cache)
// from all threads at once: which one a chip holds last is decided inside
// the allocators' locks, so the expect lines say CB=0 (unknown) and only
// the ground truth knows.
// Hold points per run: "peak R" after every thread finished, "closed R".
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "common.hpp"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;

namespace {

constexpr uint64_t KiB = 1024;

struct Cached {
    std::shared_ptr<Program> program;
    std::vector<int> kernel_chips;  // where its kernel binaries live
};

struct Shared {
    std::shared_ptr<MeshDevice> mesh;
    std::vector<IDevice*> chips;
    std::mutex mutex;                 // the CB expectations below
    std::map<int, uint64_t> cb;       // chip -> CB bytes of its last launch
};

struct Worker {
    uint64_t seed = 0, launches = 0, cache = 0;
    bool direct = false;
    std::vector<Cached> cached;
    std::exception_ptr error;

    void run(Shared& s) {
        try {
            wl::Rng rng(seed);
            for (uint64_t i = 0; i < launches; i++) {
                const bool on_chip = rng.below(4) == 0;
                IDevice* device = on_chip ? s.chips[rng.below(s.chips.size())] : s.mesh.get();
                Cached c;
                const bool again = !direct && !cached.empty() && rng.below(2) == 0;
                if (again) {
                    c = cached[rng.below(cached.size())];
                } else {
                    c.program = std::make_shared<Program>();
                    c.program->set_kernel_binary_size(rng.range(1, 8) * 2048);
                    const uint64_t n = rng.range(1, 8);
                    for (uint64_t k = 0; k < n; k++)
                        c.program->add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), rng.range(1, 16) * 2 * KiB);
                    if (on_chip) c.kernel_chips.push_back(device->id());
                    else for (IDevice* chip : s.chips) c.kernel_chips.push_back(chip->id());
                }
                if (direct) {
                    detail::LaunchProgram(device, *c.program);
                    continue;
                }
                {
                    // LaunchOp runs one op at a time anyway; the lock only
                    // makes "last launch on a chip" known here too.
                    std::lock_guard<std::mutex> lock(s.mutex);
                    detail::LaunchOp(device, *c.program);
                    const uint64_t bytes = c.program->circular_buffer_bytes();
                    if (on_chip) s.cb[device->id()] = bytes;
                    else for (IDevice* chip : s.chips) s.cb[chip->id()] = bytes;
                }
                if (!again && cached.size() < cache) cached.push_back(std::move(c));
            }
        } catch (...) {
            error = std::current_exception();
        }
    }
};

void one_run(
    int run, uint64_t chips, uint64_t threads, uint64_t launches, uint64_t cache, bool direct, const wl::Options& opts) {
    Shared s;
    s.mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, static_cast<uint32_t>(chips))), 0, 0, 1);
    s.chips = s.mesh->get_devices();
    std::vector<Worker> workers(threads);
    for (uint64_t t = 0; t < threads; t++) {
        workers[t].seed = (opts.seed * 1000003u + static_cast<uint64_t>(run)) * 7919u + t;
        workers[t].launches = launches;
        workers[t].cache = cache;
        workers[t].direct = direct;
    }
    std::vector<std::thread> pool;
    for (auto& w : workers) pool.emplace_back(&Worker::run, &w, std::ref(s));
    for (auto& th : pool) th.join();
    for (auto& w : workers)
        if (w.error) std::rethrow_exception(w.error);

    wl::ExpectByChip expect;
    for (IDevice* chip : s.chips) expect[chip->id()].cb = s.cb[chip->id()];
    for (auto& w : workers)
        for (auto& c : w.cached)
            for (int chip : c.kernel_chips) {
                expect[chip].dram += c.program->kernel_binary_size();
                expect[chip].buffers++;
            }
    wl::hold_point("peak", run, expect, opts);
    s.mesh->close();
    for (auto& [id, e] : expect) e = {};
    wl::hold_point("closed", run, expect, opts);
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t runs = 1, chips = 8, threads = 1, launches = 1000, cache = 8;
    bool direct = false;
    wl::parse(
        argc, argv,
        "[--runs K] [--chips C] [--threads T] [--launches L] [--cache P] [--direct] [--seed N] [--hold MS]\n\n"
        "T threads launch L ops each on a C-chip mesh (or on one of its chips): new programs with\n"
        "circular buffers, or one of the thread's P cached programs again.  K open/close cycles.\n"
        "Hold points: \"peak RUN\" after the launches, \"closed RUN\" after the close.",
        {{"runs", "open/close cycles in this process (default 1)", &runs, 1, 1000},
         {"chips", "chips in the mesh (default 8)", &chips, 1, 64},
         {"threads", "threads launching ops (default 1)", &threads, 1, 64},
         {"launches", "launches per thread (default 1000)", &launches, 0, 1ull << 32},
         {"cache", "programs each thread keeps and launches again (default 8)", &cache, 0, 1024},
         {"direct", "new programs only, launched with detail::LaunchProgram, unserialized (CB=0 in expect lines)",
          nullptr, 0, 0, &direct}},
        opts);
    try {
        for (uint64_t run = 0; run < runs; run++) one_run(static_cast<int>(run), chips, threads, launches, cache, direct, opts);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "programs: %s\n", ex.what());
        return 1;
    }
    return 0;
}
