// mesh_allocation: the seed scenario (test_mesh_allocation.py on a T3K).
//
// Each run opens an N-chip mesh, allocates tensors of every kind (DRAM, L1,
// L1_SMALL and TRACE mesh buffers, programs with circular buffers and kernel
// binaries, a buffer and a program on one chip of the mesh), frees some,
// keeps some alive across the close (their destruction afterwards must
// report nothing), and closes.  With --runs K the process does it K times:
// the seed's "DRAM grows by 14 MB every run" shows up here if a tracker
// misses the frees at close.
#include <cstdio>
#include <memory>
#include <vector>

#include <tt-metalium/buffer.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "common.hpp"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;

namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;

void add(wl::Expect& e, BufferType type, uint64_t size, int64_t sign) {
    uint64_t* field = type == BufferType::DRAM ? &e.dram
                      : type == BufferType::L1 ? &e.l1
                      : type == BufferType::L1_SMALL ? &e.l1_small
                                                     : &e.trace;
    *field += static_cast<uint64_t>(sign) * size;
    e.buffers += static_cast<uint64_t>(sign);
}

struct Run {
    std::shared_ptr<MeshDevice> mesh;
    wl::ExpectByChip expect;
    std::vector<std::shared_ptr<MeshBuffer>> tensors;
    std::vector<BufferType> tensor_types;  // as asked: no Buffer field is read back
    std::vector<std::shared_ptr<MeshBuffer>> kept;
    std::shared_ptr<Buffer> chip_buffer;

    void on_all_chips(BufferType type, uint64_t size, int64_t sign) {
        for (auto& [chip, e] : expect) add(e, type, size, sign);
    }

    std::shared_ptr<MeshBuffer> tensor(BufferType type, uint64_t size, uint64_t page) {
        DeviceLocalBufferConfig local;
        local.page_size = page;
        local.buffer_type = type;
        local.sharding_args = wl::layout_for(type, size, page, 8);
        auto t = MeshBuffer::create(ReplicatedBufferConfig{size}, local, mesh.get());
        on_all_chips(type, size, +1);
        tensor_types.push_back(type);
        return t;
    }

    void free_tensor(size_t i) {
        on_all_chips(tensor_types[i], tensors[i]->size(), -1);
        tensors[i]->deallocate();
    }

    // An op: its program is cached on `device` by `hash`; its CBs replace
    // those of the program last launched on the device's chips.
    void launch(IDevice* device, uint64_t hash, wl::Rng& rng, int num_cbs) {
        auto& cache = device->get_program_cache();
        std::shared_ptr<Program> program = cache.find(hash);
        bool fresh = !program;
        if (fresh) {
            program = std::make_shared<Program>();
            program->set_kernel_binary_size(rng.range(12, 32) * 2048);
            for (int i = 0; i < num_cbs; i++)
                program->add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), rng.range(2, 16) * 2048);
            cache.insert(hash, program);
        }
        detail::LaunchOp(device, *program);
        const bool on_mesh = device == mesh.get();
        if (fresh) {
            if (on_mesh) on_all_chips(BufferType::DRAM, program->kernel_binary_size(), +1);
            else add(expect[device->id()], BufferType::DRAM, program->kernel_binary_size(), +1);
        }
        if (on_mesh) {
            for (auto& [chip, e] : expect) e.cb = program->circular_buffer_bytes();
        } else {
            expect[device->id()].cb = program->circular_buffer_bytes();
        }
    }
};

void one_run(int run, uint64_t chips, const wl::Options& opts) {
    wl::Rng rng(opts.seed * 1000003u + static_cast<uint64_t>(run));
    Run r;
    r.mesh = MeshDevice::create(
        MeshDeviceConfig(MeshShape(1, static_cast<uint32_t>(chips))), 64 * KiB /* L1_SMALL per core */,
        48 * MiB /* TRACE in all */, 1);
    for (IDevice* chip : r.mesh->get_devices()) r.expect[chip->id()] = {};

    // Tensors: 4 MB per chip is the seed's typical size.
    for (int i = 0; i < 6; i++) r.tensors.push_back(r.tensor(BufferType::DRAM, rng.range(512, 2048) * 2048, 2048));
    for (int i = 0; i < 4; i++) r.tensors.push_back(r.tensor(BufferType::L1, rng.range(16, 128) * 2048, 2048));
    for (int i = 0; i < 2; i++) r.tensors.push_back(r.tensor(BufferType::L1_SMALL, rng.range(4, 32) * 1024, 1024));
    r.tensors.push_back(r.tensor(BufferType::TRACE, rng.range(512, 4096) * 2048, 2048));

    // Ops on the mesh: A, B, A again (a program-cache hit).
    r.launch(r.mesh.get(), 0xA, rng, 2);
    r.launch(r.mesh.get(), 0xB, rng, 3);
    r.launch(r.mesh.get(), 0xA, rng, 2);

    // Work on one chip of the mesh: a buffer whose device is the chip.
    IDevice* chip = r.mesh->get_devices()[rng.below(chips)];
    const uint64_t chip_buffer_size = rng.range(64, 512) * 2048;
    r.chip_buffer = Buffer::create(chip, chip_buffer_size, 2048, BufferType::DRAM);
    add(r.expect[chip->id()], BufferType::DRAM, chip_buffer_size, +1);
    r.launch(chip, 0xC, rng, 1);

    // Free some (ordinary tracked frees), keep some across the close.
    r.free_tensor(0);
    r.free_tensor(3);
    r.free_tensor(7);
    r.kept.push_back(r.tensors[1]);
    r.kept.push_back(r.tensors[6]);

    wl::hold_point("peak", run, r.expect, opts);

    r.mesh->close();
    for (auto& [id, e] : r.expect) e = {};
    wl::hold_point("closed", run, r.expect, opts);

    // Tensors that outlived the mesh: destroyed now, they must free nothing.
    r.tensors.clear();
    r.kept.clear();
    r.chip_buffer.reset();
}

}  // namespace

int main(int argc, char** argv) {
    wl::init_signals();
    wl::Options opts;
    uint64_t runs = 1, chips = 8;
    wl::parse(
        argc, argv,
        "[--runs K] [--chips N] [--seed N] [--hold MS]\n\n"
        "The seed scenario: open an N-chip mesh, allocate DRAM, L1, L1_SMALL, TRACE and CB memory,\n"
        "free some, keep some tensors alive across the close, close; K times in one process.\n"
        "Hold points: \"peak RUN\" before each close, \"closed RUN\" after it.",
        {{"runs", "open/close cycles in this process (default 1)", &runs, 1, 1000},
         {"chips", "chips in the mesh (default 8, a T3K)", &chips, 1, 64}},
        opts);
    try {
        for (uint64_t run = 0; run < runs; run++) one_run(static_cast<int>(run), chips, opts);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mesh_allocation: %s\n", e.what());
        return 1;
    }
    std::printf("runs %llu\n", (unsigned long long)runs);
    return 0;
}
