// leak: an application that forgets device buffers, as a real leak would.
//
// It opens one chip, allocates tensors, frees the scratch ones properly and
// forgets the others, then exits without freeing them and WITHOUT closing the
// device, so the runtime never frees them either.  The forgotten buffers are
// allocated from two distinct functions that are never inlined,
// forget_dram_tensor() and forget_l1_tensor(), so a leak report can name the
// callsite; the freed ones come from make_scratch_tensor().
// Hold point: "peak 0" once everything is allocated; the ground truth is
// written again at exit (system buffers + the forgotten tensors).
#include <cstdio>
#include <memory>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/host_api.hpp>

#include "common.hpp"

using namespace tt::tt_metal;

namespace {

// Never destroyed: heap-allocated and never deleted, so not even static
// destruction at exit frees what it holds.
std::vector<std::shared_ptr<Buffer>>* forgotten = new std::vector<std::shared_ptr<Buffer>>();

__attribute__((noinline)) void forget_dram_tensor(IDevice* device, uint64_t size) {
    forgotten->push_back(Buffer::create(device, size, 2048, BufferType::DRAM));
    asm volatile("" ::: "memory");  // keeps the call a call (no tail call)
}

__attribute__((noinline)) void forget_l1_tensor(IDevice* device, uint64_t size) {
    forgotten->push_back(Buffer::create(device, size, 2048, BufferType::L1));
    asm volatile("" ::: "memory");
}

__attribute__((noinline)) std::shared_ptr<Buffer> make_scratch_tensor(IDevice* device, uint64_t size) {
    return Buffer::create(device, size, 2048, BufferType::DRAM);
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t chip = 0, count = 6;
    wl::parse(
        argc, argv,
        "[--chip C] [--count K] [--seed N] [--hold MS]\n\n"
        "Opens chip C, forgets K tensors (DRAM from forget_dram_tensor, L1 from forget_l1_tensor,\n"
        "alternating), frees its scratch tensors, and exits without closing the device.\n"
        "Hold point: \"peak 0\"; the ground truth is written again at exit.",
        {{"chip", "chip to open (default 0)", &chip, 0, 63}, {"count", "tensors to forget (default 6)", &count, 0, 1000}},
        opts);
    wl::Rng rng(opts.seed);
    wl::ExpectByChip expect;
    wl::Expect& e = expect[static_cast<int>(chip)];
    try {
        IDevice* device = CreateDevice(static_cast<int>(chip));
        for (uint64_t i = 0; i < count; i++) {
            auto scratch = make_scratch_tensor(device, rng.range(16, 256) * 2048);
            const uint64_t size = rng.range(8, 128) * 2048;
            if (i % 2 == 0) {
                forget_dram_tensor(device, size);
                e.dram += size;
            } else {
                forget_l1_tensor(device, size);
                e.l1 += size;
            }
            e.buffers++;
        }
        wl::hold_point("peak", 0, expect, opts);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "leak: %s\n", ex.what());
        return 1;
    }
    std::printf("leaked %llu buffers\n", (unsigned long long)count);
    return 0;  // no CloseDevice: the runtime never frees them
}
