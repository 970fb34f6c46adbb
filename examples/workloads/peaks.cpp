// peaks: the peak usage of chips across closes.
//
// Three opens of a 2-chip mesh, one per run, at scales 4, 2 and 8 (the
// second run's peak is below the first's, the third's above both).  Each
// run allocates two L1 and two DRAM tensors on the mesh, frees the larger
// of each type and allocates a small one (so each run's peak is not what
// it holds at its hold point), after one L1 buffer on chip 1 alone (the
// chips' peaks differ); the rest is still held when the mesh closes, a bulk
// release.  Every allocation comes from allocate_tensor or
// allocate_on_chip (never inlined: the first frame of the peak's stack).
// Hold points: "peak RUN" before each close, "closed RUN" after it.
#include <cstdio>
#include <memory>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>

#include "common.hpp"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t kScale[] = {4, 2, 8};

__attribute__((noinline)) std::shared_ptr<MeshBuffer> allocate_tensor(MeshDevice* mesh, BufferType type,
                                                                      uint64_t size) {
    DeviceLocalBufferConfig local;
    local.page_size = 2048;
    local.buffer_type = type;
    auto t = MeshBuffer::create(ReplicatedBufferConfig{size}, local, mesh);
    asm volatile("" ::: "memory");  // a call, not a tail call: this frame stays
    return t;
}

__attribute__((noinline)) std::shared_ptr<Buffer> allocate_on_chip(IDevice* chip, uint64_t size) {
    auto b = Buffer::create(chip, size, 2048, BufferType::L1);
    asm volatile("" ::: "memory");
    return b;
}

void add(wl::Expect& e, BufferType type, uint64_t size, int64_t sign) {
    uint64_t* field = type == BufferType::DRAM ? &e.dram : &e.l1;
    *field += static_cast<uint64_t>(sign) * size;
    e.buffers += static_cast<uint64_t>(sign);
}

void one_run(int run, const wl::Options& opts) {
    const uint64_t s = kScale[run];
    wl::ExpectByChip expect;
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 2)), 0, 0, 1);
    for (IDevice* chip : mesh->get_devices()) expect[chip->id()] = {};
    auto all = [&](BufferType type, uint64_t size, int64_t sign) {
        for (auto& [id, e] : expect) add(e, type, size, sign);
    };

    // First, so that it is part of chip 1's peak.
    IDevice* chip1 = mesh->get_devices()[1];
    auto own = allocate_on_chip(chip1, s * 8 * KiB);
    add(expect[chip1->id()], BufferType::L1, s * 8 * KiB, +1);

    std::vector<std::shared_ptr<MeshBuffer>> held;
    for (BufferType type : {BufferType::L1, BufferType::DRAM}) {
        const uint64_t unit = type == BufferType::L1 ? 16 * KiB : 256 * KiB;
        auto big = allocate_tensor(mesh.get(), type, 4 * s * unit);
        held.push_back(allocate_tensor(mesh.get(), type, 2 * s * unit));
        all(type, 6 * s * unit, +1);
        big->deallocate();
        all(type, 4 * s * unit, -1);
        held.push_back(allocate_tensor(mesh.get(), type, s * unit));
        all(type, s * unit, +1);
    }
    wl::hold_point("peak", run, expect, opts);
    mesh->close();  // what is still held goes in bulk
    for (auto& [id, e] : expect) e = {};
    wl::hold_point("closed", run, expect, opts);
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    wl::parse(argc, argv,
              "Peaks across closes: three opens of a 2-chip mesh at scales 4, 2 and 8, each\n"
              "allocating, freeing and holding L1 and DRAM tensors, closed with some still held.\n"
              "Hold points: \"peak RUN\" before each close, \"closed RUN\" after it.",
              {}, opts);
    try {
        for (int run = 0; run < 3; run++) one_run(run, opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "peaks: %s\n", e.what());
        return 1;
    }
    std::printf("runs 3\n");
    return 0;
}
