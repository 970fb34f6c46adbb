// Workloads of the emulated runtime: what every workload shares.
//
// Command line: every workload takes --help, --seed N (everything it does is
// a function of N) and --hold MS; bad flags print a message on stderr and
// exit 2.
//
// Hold points (the peak of each run, and right after each close), in order:
//   1. the ground truth is written ($TTEMU_TRUTH, see ttemu.h);
//   2. "expect WHAT RUN chip C DRAM=b L1=b L1_SMALL=b TRACE=b CB=b buffers=n"
//      lines on stdout: what the workload itself allocated (system buffers
//      not included), one per chip, flushed;
//   3. if $TTEMU_READY_FD=N, the line "WHAT RUN\n" ("peak 0", "closed 0") is
//      written to fd N;
//   4. the workload holds for MS milliseconds or until it receives SIGUSR1,
//      whichever comes first (no hold with --hold 0).
// SIGUSR1 is blocked from the start, so a release sent early is not lost: it
// ends the next hold at once.  A test therefore needs no sleeps: read a line
// from the fd, inspect, send SIGUSR1.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <tt-metalium/buffer.hpp>

namespace wl {

// How a workload lays a buffer out: L1_SMALL height-sharded on `cores`
// cores (as ttnn allocates it: the real runtime refuses interleaved
// L1_SMALL, ttnn 0.70.1 and 0.81.1), everything else interleaved.
inline tt::tt_metal::BufferShardingArgs layout_for(tt::tt_metal::BufferType type, uint64_t size, uint64_t page,
                                                   uint32_t cores) {
    if (type != tt::tt_metal::BufferType::L1_SMALL) return tt::tt_metal::BufferShardingArgs();
    const uint64_t pages = size / page;
    return tt::tt_metal::BufferShardingArgs::height_sharded(cores, static_cast<uint32_t>((pages + cores - 1) / cores));
}

struct Flag {
    const char* name;  // without the leading "--"
    const char* help;
    uint64_t* value;   // nullptr: a switch, see `on`
    uint64_t min;
    uint64_t max;
    bool* on = nullptr;
};

struct Options {
    uint64_t seed = 1;
    uint64_t hold_ms = 0;
};

// Blocks SIGUSR1 in the calling thread and every thread it creates later.
// Call first in main.
void init_signals();

// Parses argv into `opts` and `flags`.  --help prints `usage` then the flags
// and exits 0; any error exits 2.
void parse(int argc, char** argv, const char* usage, std::vector<Flag> flags, Options& opts);

// What the workload holds on one chip, by the ground truth's names.
struct Expect {
    uint64_t dram = 0, l1 = 0, l1_small = 0, trace = 0, cb = 0, buffers = 0;
};
using ExpectByChip = std::map<int, Expect>;

// A hold point (see above).  `expect` lists every chip the workload uses.
void hold_point(const char* what, int run, const ExpectByChip& expect, const Options& opts);

// splitmix64: deterministic on every platform, unlike <random>'s
// distributions.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next();
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    uint64_t range(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

private:
    uint64_t s_;
};

}  // namespace wl
