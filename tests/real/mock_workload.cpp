// SPDX-License-Identifier: MIT
//
// A workload on the real tt-metal runtime's mock device: opens N chips (one
// unit mesh each), allocates and frees interleaved DRAM, L1, L1_SMALL and
// TRACE buffers of varied sizes and page sizes (from one thread or several
// at once), closes with buffers still held, reopens, R times.
//
// At every checkpoint it stops and prints what the runtime's own allocators
// hold (Allocator::get_statistics, bytes per bank) and what it asked for
// (the sum of the sizes of its live buffers), per chip and type, then waits
// for a line on stdin: tests/real/run_mock.py compares ttmem's view with
// both while the process stands still.  The protocol, one line each:
//
//   CHECKPOINT <label>
//   STAT <chip> <type> <allocator bytes per bank> <requested bytes>
//        <largest free block> <free bytes>  (per bank, the allocator's)
//   PEAK <chip> <type> <requested bytes>  (the most it held at once since it
//        started, across closes: one thread only, where the order of its
//        allocations and frees is the order the runtime saw)
//   END                       (then the runner writes a line back)
//   CLOSED <label>            (after a close: every chip must read 0)
//
// With --bench N it only times N allocate/free pairs of one DRAM buffer on
// chip 0 (the cost of an event, bench/real.sh) and prints
//   PAIR_NS <nanoseconds per pair, best of 5 rounds>
//
// Nothing here knows about ttmem.
#include "metal_api.hpp"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <time.h>

using tt::tt_metal::BufferType;
using tt::tt_metal::IDevice;
using tt::tt_metal::distributed::MeshDevice;

namespace {

constexpr BufferType kTypes[] = {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL,
                                 BufferType::TRACE};
constexpr const char* kTypeNames[] = {"DRAM", "L1", "L1_SMALL", "TRACE"};
constexpr int kNumTypes = 4;
// L1_SMALL takes sharded buffers only (the runtime refuses interleaved ones:
// "L1_SMALL only supports sharded allocations").
constexpr int kInterleaved[] = {0, 1, 3};
constexpr int kL1 = 1, kL1Small = 2;

struct Options {
    int chips = 1;
    int runs = 3;
    int threads = 1;
    int phases = 4;          // checkpoints per run, after the one at open
    int steps = 60;          // allocate/free steps per thread and phase
    unsigned seed = 1;
    int bench = 0;           // > 0: time this many allocate/free pairs instead
};

struct Live {
    std::shared_ptr<tt::tt_metal::Buffer> buffer;
    int chip;
    int type;
    uint64_t size;
};

// xorshift32: reproducible from the seed, per thread.
struct Rng {
    uint32_t s;
    uint32_t next()
    {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        return s;
    }
    uint32_t below(uint32_t n) { return next() % n; }
};

// Page sizes seen in ttnn: row-major rows, bfloat16 and bfloat8 tiles.
constexpr uint64_t kPageSizes[] = {32, 64, 1024, 1088, 2048, 4096};
// Pages per buffer, per type: small enough that nothing runs out.
constexpr uint32_t kMaxPages[] = {3000, 400, 24, 300};

struct Chips {
    std::vector<std::shared_ptr<MeshDevice>> mesh;  // index = chip id
};

// What one thread holds per chip and type, and the most it held at once.
struct Usage {
    uint64_t held[32][kNumTypes] = {};
    uint64_t peak[32][kNumTypes] = {};

    void add(int chip, int type, uint64_t size)
    {
        held[chip][type] += size;
        if (held[chip][type] > peak[chip][type])
            peak[chip][type] = held[chip][type];
    }
};

IDevice* as_device(MeshDevice* m)
{
    // MeshDevice's first base is IDevice (the preload reads it so too).
    return reinterpret_cast<IDevice*>(m);
}

// An allocation the runtime refused (no room, mostly): counted, and the first
// reason said, so that a refusal of another kind does not go unseen.
void note_no_room(int* count, const std::exception& e)
{
    if (__atomic_fetch_add(count, 1, __ATOMIC_RELAXED) == 0)
        std::fprintf(stderr, "mock_workload: an allocation was refused: %.600s\n", e.what());
}

// One thread's steps: allocate or free at random on the open chips.
void run_steps(Chips& chips, std::vector<Live>& mine, Usage& use, Rng rng, int steps, int* oom)
{
    for (int i = 0; i < steps; i++) {
        bool alloc = mine.empty() || rng.below(100) < 60;
        if (!alloc) {
            size_t k = rng.below(static_cast<uint32_t>(mine.size()));
            use.held[mine[k].chip][mine[k].type] -= mine[k].size;
            mine[k] = std::move(mine.back());
            mine.pop_back();  // the last reference: the runtime frees it
            continue;
        }
        int chip = static_cast<int>(rng.below(static_cast<uint32_t>(chips.mesh.size())));
#if TTNN_API >= 81
        // One allocation in four is height-sharded, in L1 or L1_SMALL.
        if (rng.below(4) == 0) {
            int type = rng.below(2) ? kL1 : kL1Small;
            uint32_t cores = 1 + rng.below(8);
            uint32_t tiles = 1 + rng.below(type == kL1 ? 8 : 2);
            uint64_t tile = rng.below(2) ? 2048 : 1088;  // bfloat16, bfloat8_b
            try {
                auto b = metal_create_sharded(as_device(chips.mesh[chip].get()), kTypes[type],
                                              cores, tiles, tile);
                mine.push_back(Live{std::move(b), chip, type, cores * tiles * tile});
                use.add(chip, type, cores * tiles * tile);
            } catch (const std::exception& e) {
                note_no_room(oom, e);
            }
            continue;
        }
#endif
        int type = kInterleaved[rng.below(3)];
        uint64_t page = kPageSizes[rng.below(sizeof(kPageSizes) / sizeof(kPageSizes[0]))];
        uint64_t size = page * (1 + rng.below(kMaxPages[type]));
        try {
            auto b = metal_create_buffer(as_device(chips.mesh[chip].get()), size, page,
                                         kTypes[type]);
            mine.push_back(Live{std::move(b), chip, type, size});
            use.add(chip, type, size);
        } catch (const std::exception& e) {
            note_no_room(oom, e);  // nothing was allocated
        }
    }
}

void wait_for_runner()
{
    char line[64];
    std::fflush(stdout);
    if (!std::fgets(line, sizeof(line), stdin)) {
        std::fprintf(stderr, "mock_workload: the runner went away\n");
        std::exit(3);
    }
}

void checkpoint(const std::string& label, Chips& chips,
                const std::vector<std::vector<Live>>& held, const Usage* one)
{
    std::printf("CHECKPOINT %s\n", label.c_str());
    for (size_t c = 0; c < chips.mesh.size(); c++) {
        const tt::tt_metal::Allocator* a = chips.mesh[c]->allocator().get();
        for (int t = 0; t < kNumTypes; t++) {
            uint64_t requested = 0;
            for (const auto& list : held)
                for (const auto& l : list)
                    if (l.chip == static_cast<int>(c) && l.type == t)
                        requested += l.size;
            tt::tt_metal::Statistics s = a->get_statistics(kTypes[t]);
            std::printf("STAT %zu %s %zu %" PRIu64 " %zu %zu\n", c, kTypeNames[t],
                        s.total_allocated_bytes, requested, s.largest_free_block_bytes,
                        s.total_free_bytes);
            if (one)
                std::printf("PEAK %zu %s %" PRIu64 "\n", c, kTypeNames[t], one->peak[c][t]);
        }
    }
    std::printf("END\n");
    wait_for_runner();
}

int parse_int(const char* flag, const char* v, int lo, int hi)
{
    char* end;
    long n = std::strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
        std::fprintf(stderr, "mock_workload: %s takes a number from %d to %d, not '%s'\n", flag,
                     lo, hi, v);
        std::exit(2);
    }
    return static_cast<int>(n);
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (i + 1 >= argc) {
            std::fprintf(stderr, "mock_workload: %s needs a value\n", a.c_str());
            std::exit(2);
        }
        const char* v = argv[++i];
        if (a == "--chips")
            o.chips = parse_int("--chips", v, 1, 32);
        else if (a == "--runs")
            o.runs = parse_int("--runs", v, 1, 100);
        else if (a == "--threads")
            o.threads = parse_int("--threads", v, 1, 16);
        else if (a == "--phases")
            o.phases = parse_int("--phases", v, 1, 100);
        else if (a == "--steps")
            o.steps = parse_int("--steps", v, 1, 100000);
        else if (a == "--bench")
            o.bench = parse_int("--bench", v, 1, 10000000);
        else if (a == "--seed")
            o.seed = static_cast<unsigned>(parse_int("--seed", v, 1, 1 << 30));
        else {
            std::fprintf(stderr, "mock_workload: unknown option %s\n", a.c_str());
            std::exit(2);
        }
    }
    return o;
}

uint64_t now_ns()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Best of five rounds of `pairs` allocate/free pairs: the runtime's own
// work (allocator, Buffer objects) plus whatever tracks it.
int bench(int pairs)
{
    auto meshes = MeshDevice::create_unit_meshes({0}, 64 * 1024, 8 << 20, 1,
                                                 tt::tt_metal::DispatchCoreConfig(), {}, 0);
    IDevice* dev = as_device(meshes.at(0).get());
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 5; round++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < pairs; i++)
            metal_create_buffer(dev, 64 * 2048, 2048, BufferType::DRAM).reset();
        uint64_t t = now_ns() - t0;
        best = t < best ? t : best;
    }
    std::printf("PAIR_NS %.1f\n", static_cast<double>(best) / pairs);
    meshes.at(0)->close();
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o = parse(argc, argv);
    if (o.bench)
        return bench(o.bench);
    int oom = 0;
    std::vector<int> ids;
    for (int c = 0; c < o.chips; c++)
        ids.push_back(c);

    std::vector<Usage> use(static_cast<size_t>(o.threads));
    for (int run = 1; run <= o.runs; run++) {
        Chips chips;
        // L1_SMALL and TRACE regions must be asked for at open; worker L1 0
        // is the default (all of it).
        auto meshes = MeshDevice::create_unit_meshes(ids, 64 * 1024, 8 << 20, 1,
                                                     tt::tt_metal::DispatchCoreConfig(), {}, 0);
        for (int c = 0; c < o.chips; c++)
            chips.mesh.push_back(meshes.at(c));

        std::vector<std::vector<Live>> held(static_cast<size_t>(o.threads));
        const Usage* one = o.threads == 1 ? &use[0] : nullptr;
        checkpoint("run" + std::to_string(run) + "-open", chips, held, one);
        for (int p = 1; p <= o.phases; p++) {
            std::vector<std::thread> workers;
            for (int t = 0; t < o.threads; t++) {
                Rng rng{o.seed * 2654435761u + static_cast<uint32_t>(run * 1000 + p * 16 + t)};
                if (rng.s == 0)
                    rng.s = 1;
                // One thread: the thread that opened the chips, as in most
                // programs (the runtime's own tracker sees only that one).
                if (o.threads == 1)
                    run_steps(chips, held[t], use[t], rng, o.steps, &oom);
                else
                    workers.emplace_back(run_steps, std::ref(chips), std::ref(held[t]),
                                         std::ref(use[t]), rng, o.steps, &oom);
            }
            for (auto& w : workers)
                w.join();
            checkpoint("run" + std::to_string(run) + "-phase" + std::to_string(p), chips, held,
                       one);
        }
        // Close with buffers still held: they outlive their chips and are
        // destroyed after the close, which reports no free for them.
        for (auto& m : chips.mesh)
            m->close();
        std::printf("CLOSED run%d\n", run);
        wait_for_runner();
        // The close freed what they held, in bulk.
        for (auto& u : use)
            std::memset(u.held, 0, sizeof(u.held));
        held.clear();
        chips.mesh.clear();
        meshes.clear();
    }
    std::fprintf(stderr, "mock_workload: done (%d allocations found no room)\n", oom);
    return 0;
}
