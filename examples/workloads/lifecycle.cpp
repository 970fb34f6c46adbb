// lifecycle: processes and devices coming and going.
//
// Default mode:
//   run 0: open chip 0; allocate tensors, two of which outlive the chip;
//          fork+exec a child that uses chip 1 (one chip, one process: the
//          parent holds chip 0); fork a child WITHOUT exec that uses chip 2
//          and leaves with _exit; "peak 0"; close chip 0; "closed 0"; destroy
//          the outliving tensors (they must report nothing).
//   run 1: with no device held, fork+exec a child on chip 0 and wait for it;
//          then reopen chip 0 in this process, allocate, "peak 1", close,
//          "closed 1".
// --throw-cq: the first open fails inside the HWCommandQueue constructor,
//          after it allocated 3 of its system buffers; the exception must
//          reach this caller ("closed 0" follows, nothing held), then a normal
//          open/close ("peak 1", "closed 1").
// --child C: what the children run: open chip C, allocate, free, close.
// Children get TTEMU_TRUTH=FILE.child<C> (exec) and no TTEMU_READY_FD.
// Exit status: 0 when every child succeeded and every check held.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/host_api.hpp>

#include "common.hpp"
#include "ttemu.h"

using namespace tt::tt_metal;

namespace {

// Allocates `n` DRAM/L1 tensors on the device and records them in `e`.
std::vector<std::shared_ptr<Buffer>> allocate(IDevice* device, wl::Rng& rng, int n, wl::Expect& e) {
    std::vector<std::shared_ptr<Buffer>> out;
    for (int i = 0; i < n; i++) {
        const bool dram = i % 3 != 2;
        const uint64_t size = rng.range(4, 256) * 2048;
        out.push_back(Buffer::create(device, size, 2048, dram ? BufferType::DRAM : BufferType::L1));
        (dram ? e.dram : e.l1) += size;
        e.buffers++;
    }
    return out;
}

void child_env(int chip) {
    unsetenv("TTEMU_READY_FD");
    if (const char* truth = std::getenv("TTEMU_TRUTH")) {
        std::string own = std::string(truth) + ".child" + std::to_string(chip);
        setenv("TTEMU_TRUTH", own.c_str(), 1);
    }
}

int run_child(int chip, uint64_t seed) {
    try {
        wl::Rng rng(seed + static_cast<uint64_t>(chip));
        IDevice* device = CreateDevice(chip);
        wl::Expect e;
        auto tensors = allocate(device, rng, 5, e);
        tensors.resize(2);  // frees three now
        CloseDevice(device);
        tensors.clear();  // after close: nothing to free
        return 0;
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "lifecycle child on chip %d: %s\n", chip, ex.what());
        return 1;
    }
}

// Waits for a child; true when it exited 0.
bool reap(pid_t pid, const char* what) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return false;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    std::fprintf(stderr, "lifecycle: %s child failed (status %d)\n", what, status);
    return false;
}

bool spawn_exec(int chip, uint64_t seed) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        child_env(chip);
        std::string c = std::to_string(chip), s = std::to_string(seed);
        execl("/proc/self/exe", "lifecycle", "--child", c.c_str(), "--seed", s.c_str(), (char*)nullptr);
        _exit(127);
    }
    return reap(pid, "exec");
}

bool spawn_fork(int chip, uint64_t seed) {
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        unsetenv("TTEMU_READY_FD");
        unsetenv("TTEMU_TRUTH");  // this image's truth is the parent's
        _exit(run_child(chip, seed));
    }
    return reap(pid, "fork");
}

int default_mode(const wl::Options& opts) {
    wl::Rng rng(opts.seed);
    bool ok = true;
    {
        wl::ExpectByChip expect;
        IDevice* chip0 = CreateDevice(0);
        auto tensors = allocate(chip0, rng, 6, expect[0]);
        std::vector<std::shared_ptr<Buffer>> outliving = {tensors[0], tensors[2]};
        ok = spawn_exec(1, opts.seed) && ok;
        ok = spawn_fork(2, opts.seed) && ok;
        wl::hold_point("peak", 0, expect, opts);
        tensors.clear();  // the two outliving ones stay allocated
        CloseDevice(chip0);
        expect[0] = {};
        wl::hold_point("closed", 0, expect, opts);
        outliving.clear();
    }
    ok = spawn_exec(0, opts.seed + 100) && ok;
    {
        wl::ExpectByChip expect;
        IDevice* chip0 = CreateDevice(0);
        auto tensors = allocate(chip0, rng, 4, expect[0]);
        wl::hold_point("peak", 1, expect, opts);
        CloseDevice(chip0);
        expect[0] = {};
        wl::hold_point("closed", 1, expect, opts);
    }
    return ok ? 0 : 1;
}

int throw_cq_mode(const wl::Options& opts) {
    wl::Rng rng(opts.seed);
    wl::ExpectByChip expect;
    expect[0] = {};
    ttemu_inject_cq_failure(3);
    try {
        CreateDevice(0);
        std::fprintf(stderr, "lifecycle: the injected command-queue failure did not reach the caller\n");
        return 1;
    } catch (const std::runtime_error& ex) {
        std::printf("caught: %s\n", ex.what());
    }
    wl::hold_point("closed", 0, expect, opts);
    IDevice* chip0 = CreateDevice(0);  // the chip is free again
    auto tensors = allocate(chip0, rng, 3, expect[0]);
    wl::hold_point("peak", 1, expect, opts);
    CloseDevice(chip0);
    expect[0] = {};
    wl::hold_point("closed", 1, expect, opts);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t child = UINT64_MAX;
    bool throw_cq = false;
    wl::parse(
        argc, argv,
        "[--throw-cq] [--child C] [--seed N] [--hold MS]\n\n"
        "Fork and exec children that use other chips, buffers that outlive their chip, and (with\n"
        "--throw-cq) a device open whose command-queue setup throws.\n"
        "Hold points: \"peak 0\", \"closed 0\", \"peak 1\", \"closed 1\" (--throw-cq: no \"peak 0\").",
        {{"throw-cq", "make the first device open fail in its command-queue setup", nullptr, 0, 0, &throw_cq},
         {"child", "run as a child on chip C (used by the parent)", &child, 0, 63}},
        opts);
    try {
        if (child != UINT64_MAX) return run_child(static_cast<int>(child), opts.seed);
        return throw_cq ? throw_cq_mode(opts) : default_mode(opts);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "lifecycle: %s\n", ex.what());
        return 1;
    }
}
