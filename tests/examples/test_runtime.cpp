// Unit tests of the emulated runtime through its C++ API (gcc flavour):
// the allocator (no overlap, reuse, alignment, out of memory, DRAM/L1 address
// spaces), the Buffer layout a tracker reads, the call paths to GraphTracker,
// and the mesh.  Criterion runs each test in its own process, so every test
// starts with no chip open.
#include <criterion/criterion.h>

#include <algorithm>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <stdexcept>
#include <thread>
#include <typeinfo>
#include <vector>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/buffer.hpp>
#include <tt-metalium/graph_tracking.hpp>
#include <tt-metalium/host_api.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "runtime_probe.hpp"
#include "ttemu.h"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;
using BufferPtr = std::shared_ptr<Buffer>;
using th::field;

namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

bool overlap(const Buffer& a, const Buffer& b) {
    const bool same_space = a.is_dram() == b.is_dram() && a.is_trace() == b.is_trace() &&
                            (a.buffer_type() == BufferType::L1_SMALL) == (b.buffer_type() == BufferType::L1_SMALL);
    if (!same_space) return false;
    return a.address() < b.address() + b.aligned_size_per_bank() && b.address() < a.address() + a.aligned_size_per_bank();
}

void expect_no_overlap(const std::vector<BufferPtr>& v) {
    for (size_t i = 0; i < v.size(); i++)
        for (size_t j = i + 1; j < v.size(); j++)
            cr_assert(!overlap(*v[i], *v[j]), "buffers %zu and %zu overlap at %u/%u", i, j, v[i]->address(),
                      v[j]->address());
}

}  // namespace

Test(allocator, no_overlap_random) {
    IDevice* dev = CreateDevice(0, 1, 64 * KiB, 12 * MiB);
    std::vector<BufferPtr> live;
    uint64_t s = 42;
    for (int i = 0; i < 400; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const uint64_t r = s >> 33;
        if (!live.empty() && r % 3 == 0) {
            live.erase(live.begin() + static_cast<long>(r % live.size()));
            continue;
        }
        const BufferType types[] = {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL, BufferType::TRACE};
        const BufferType t = types[r % 4];
        const uint64_t page = t == BufferType::L1_SMALL ? 1024 : 2048;
        live.push_back(Buffer::create(dev, (1 + (r >> 8) % 40) * page, page, t));
    }
    expect_no_overlap(live);
    CloseDevice(dev);
}

Test(allocator, freed_address_is_reused) {
    IDevice* dev = CreateDevice(0);
    BufferPtr a = Buffer::create(dev, 1 * MiB, 2048, BufferType::DRAM);
    BufferPtr b = Buffer::create(dev, 1 * MiB, 2048, BufferType::DRAM);
    const uint32_t addr_a = a->address();
    cr_assert_gt(b->address(), addr_a, "DRAM is bottom-up");
    a.reset();
    BufferPtr c = Buffer::create(dev, 512 * KiB, 2048, BufferType::DRAM);
    cr_assert_eq(c->address(), addr_a, "first fit reuses the freed hole");
    BufferPtr l1 = Buffer::create(dev, 64 * KiB, 2048, BufferType::L1);
    const uint32_t addr_l1 = l1->address();
    l1.reset();
    BufferPtr l1b = Buffer::create(dev, 64 * KiB, 2048, BufferType::L1);
    cr_assert_eq(l1b->address(), addr_l1, "L1 (top-down) reuses the freed hole");
    CloseDevice(dev);
}

Test(allocator, alignment) {
    IDevice* dev = CreateDevice(0, 1, 64 * KiB, 12 * MiB);
    // Odd page sizes: pages are padded to the bank alignment.
    BufferPtr d = Buffer::create(dev, 100 * 13, 100, BufferType::DRAM);
    BufferPtr l = Buffer::create(dev, 100 * 13, 100, BufferType::L1);
    BufferPtr d2 = Buffer::create(dev, 100 * 13, 100, BufferType::DRAM);
    BufferPtr l2 = Buffer::create(dev, 100 * 13, 100, BufferType::L1);
    cr_assert_eq(d->alignment(), 32u);
    cr_assert_eq(l->alignment(), 16u);
    cr_assert_eq(d->aligned_page_size(), 128u);
    cr_assert_eq(l->aligned_page_size(), 112u);
    cr_assert_eq(d->aligned_size_per_bank(), 2 * 128u, "13 pages over 12 banks: 2 per bank");
    cr_assert_eq(l->aligned_size_per_bank(), 112u, "13 pages over 64 banks: 1 per bank");
    cr_assert_eq(d->aligned_size(), 12 * 2 * 128u);
    for (const BufferPtr& b : {d, d2}) cr_assert_eq(b->address() % 32, 0u);
    for (const BufferPtr& b : {l, l2}) cr_assert_eq(b->address() % 16, 0u);
    cr_assert_eq(d2->address(), d->address() + 256u, "adjacent DRAM buffers, aligned footprint apart");
    cr_assert_eq(l2->address(), l->address() - 112u, "adjacent L1 buffers, top-down");
    CloseDevice(dev);
}

Test(allocator, out_of_memory_is_a_clean_error) {
    IDevice* dev = CreateDevice(0);
    const uint64_t before = th::tracker_count(0);
    try {
        Buffer::create(dev, 13 * GiB, 2048, BufferType::DRAM);
        cr_assert_fail("13 GiB of DRAM was allocated on a 12 GiB chip");
    } catch (const std::runtime_error& e) {
        cr_assert(std::strstr(e.what(), "Out of Memory") != nullptr, "%s", e.what());
    }
    try {
        Buffer::create(dev, 4 * KiB, 1024, BufferType::L1_SMALL);  // no L1_SMALL region asked for
        cr_assert_fail("L1_SMALL allocated without a region");
    } catch (const std::runtime_error& e) {
        cr_assert(std::strstr(e.what(), "Out of Memory") != nullptr, "%s", e.what());
    }
    cr_assert_eq(th::tracker_count(0), before, "a failed allocation is not reported");
    // Nearly all of it still works: 11 GiB in one buffer.
    BufferPtr big = Buffer::create(dev, 11 * GiB, 2048, BufferType::DRAM);
    cr_assert(big->is_allocated());
    AllocatorUsage u = dev->allocator()->usage();
    cr_assert_eq(u.bytes[0], 11 * GiB + 15466496u);
    CloseDevice(dev);
}

Test(allocator, dram_and_l1_addresses_overlap_numerically) {
    IDevice* dev = CreateDevice(0);
    // An L1 buffer (top-down) at a 32-aligned address A ...
    BufferPtr l1;
    std::vector<BufferPtr> pad;
    for (;;) {
        l1 = Buffer::create(dev, 64 * 16, 16, BufferType::L1);  // 16 bytes per core
        if (l1->address() % 32 == 0) break;
        pad.push_back(l1);
    }
    // ... and DRAM (bottom-up) filled up to A, so the next DRAM buffer is at A.
    BufferPtr probe = Buffer::create(dev, 12 * 32, 32, BufferType::DRAM);
    const uint64_t x = probe->address();
    probe.reset();
    cr_assert_lt(x, l1->address());
    const uint64_t gap = l1->address() - x;
    BufferPtr filler = Buffer::create(dev, 12 * gap, gap, BufferType::DRAM);
    BufferPtr dram = Buffer::create(dev, 12 * 32, 32, BufferType::DRAM);
    cr_assert_eq(dram->address(), l1->address(), "same number live in DRAM and L1");
    CloseDevice(dev);
}

Test(allocator, thread_safe) {
    IDevice* dev = CreateDevice(0);
    std::vector<std::vector<BufferPtr>> kept(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            std::vector<BufferPtr> live;
            for (int i = 0; i < 1000; i++) {
                if (i % 3 == 2) live.erase(live.begin() + (i * 7 % static_cast<int>(live.size())));
                else live.push_back(Buffer::create(dev, (1 + (i + t) % 17) * 2048, 2048, i % 4 == 1 ? BufferType::L1 : BufferType::DRAM));
            }
            kept[t] = live;
        });
    for (auto& th : threads) th.join();
    std::vector<BufferPtr> all;
    uint64_t dram = 0, l1 = 0;
    for (auto& v : kept)
        for (auto& b : v) {
            all.push_back(b);
            (b->is_dram() ? dram : l1) += b->size();
        }
    expect_no_overlap(all);
    AllocatorUsage u = dev->allocator()->usage();
    cr_assert_eq(u.buffers, all.size() + 12);
    cr_assert_eq(u.bytes[0], dram + 15466496u);
    cr_assert_eq(u.bytes[1], l1 + 114688u);
    CloseDevice(dev);
}

Test(allocator, circular_buffers_and_clash) {
    IDevice* dev = CreateDevice(0);
    const uint64_t cb_before = th::tracker_count(2), cb_free_before = th::tracker_count(3);
    Program p1, p2, empty;
    p1.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 64 * KiB);
    p1.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 32 * KiB);
    p2.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 16 * KiB);
    detail::LaunchProgram(dev, p1);
    cr_assert_eq(dev->allocator()->usage().cb_bytes, 96 * KiB);
    cr_assert_eq(th::tracker_count(2) - cb_before, 2u);
    detail::LaunchProgram(dev, p2);  // p2's CBs replace p1's
    cr_assert_eq(dev->allocator()->usage().cb_bytes, 16 * KiB);
    cr_assert_eq(th::tracker_count(2) - cb_before, 3u);
    detail::LaunchProgram(dev, p1);  // from the cache: held again, not reported
    cr_assert_eq(dev->allocator()->usage().cb_bytes, 96 * KiB);
    cr_assert_eq(th::tracker_count(2) - cb_before, 3u);
    detail::LaunchProgram(dev, empty);  // no CB region claimed: p1's stay
    cr_assert_eq(dev->allocator()->usage().cb_bytes, 96 * KiB);
    cr_assert_eq(th::tracker_count(3) - cb_free_before, 0u, "a 2025 runtime never reports a CB free");
    // CBs grow up from the L1 base, L1 buffers down from the top: they clash.
    Program huge;
    huge.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 1400 * KiB);
    try {
        detail::LaunchProgram(dev, huge);
        cr_assert_fail("CBs overlapping L1 buffers were allocated");
    } catch (const std::runtime_error& e) {
        cr_assert(std::strstr(e.what(), "clash") != nullptr, "%s", e.what());
    }
    CloseDevice(dev);
}

// A NO_DISPATCH-style hook: no device memory, address 0, still reported;
// the free is taken over too, and after the hook is gone a hooked
// allocation releases nothing.
namespace {
struct Swallow : IGraphHooks {
    bool hook_allocate(const Buffer*) override { return true; }
    bool hook_deallocate(Buffer*) override { return true; }
    bool hook_program(Program*) override { return true; }
};
}  // namespace

Test(graph, capture_hook_takes_no_device_memory) {
    IDevice* dev = CreateDevice(2);
    BufferPtr held = Buffer::create(dev, 16 * 2048, 2048, BufferType::DRAM);
    const AllocatorUsage before = dev->allocator()->usage();
    const uint64_t allocs = th::tracker_count(0), frees = th::tracker_count(1);
    cr_assert(GraphTracker::instance().add_hook(std::make_shared<Swallow>()));
    cr_assert(!GraphTracker::instance().add_hook(std::make_shared<Swallow>()), "one hook per thread");
    BufferPtr kept = Buffer::create(dev, 64 * 2048, 2048, BufferType::DRAM);
    BufferPtr freed = Buffer::create(dev, 8 * 2048, 2048, BufferType::L1);
    cr_assert_eq(kept->address(), 0u);
    cr_assert_eq(field<bool>(kept.get(), 73), true, "hooked_allocation_");
    cr_assert_eq(th::tracker_count(0) - allocs, 2u, "track_allocate is still called");
    // Another thread has no hook: its allocation is real.
    std::thread([&] {
        BufferPtr real = Buffer::create(dev, 4 * 2048, 2048, BufferType::DRAM);
        cr_assert_neq(real->address(), 0u);
    }).join();
    freed.reset();
    held.reset();  // a real buffer freed while capturing: reported, still held
    cr_assert_eq(th::tracker_count(1) - frees, 3u);
    Program op;
    op.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 16 * KiB);
    cr_assert(!detail::LaunchOp(dev, op), "a captured op is not launched");
    GraphTracker::instance().clear_hook();
    kept.reset();
    const AllocatorUsage after = dev->allocator()->usage();
    cr_assert_eq(after.buffers, before.buffers);
    cr_assert(after.bytes == before.bytes);
    cr_assert_eq(after.cb_bytes, before.cb_bytes);
    CloseDevice(dev);
}

Test(buffer, field_offsets_and_getters) {
    IDevice* dev = CreateDevice(3, 1, 32 * KiB, 0);
    BufferPtr b = Buffer::create(dev, 40 * 2048, 2048, BufferType::L1_SMALL);
    const Buffer* p = b.get();
    cr_assert_eq(field<IDevice*>(p, 16), dev);
    cr_assert_eq(field<uint64_t>(p, 24), 40 * 2048u);
    cr_assert_eq(field<int32_t>(p, 32), 3, "BufferType::L1_SMALL is 3");
    cr_assert_eq(field<bool>(p, 43), true, "owns_data_");
    cr_assert_eq(field<Allocator*>(p, 64), dev->allocator().get());
    cr_assert_eq(field<uint8_t>(p, 72), 1, "AllocationStatus::ALLOCATED");
    cr_assert_eq(static_cast<uint32_t>(field<uint64_t>(p, 80)), p->address());
    cr_assert_eq(field<uint64_t>(p, 88), p->page_size());
    cr_assert_eq(static_cast<uint64_t>(p->num_pages()) * p->page_size(), field<uint64_t>(p, 24));
    cr_assert(p->is_l1() && !p->is_dram() && !p->is_trace());
    BufferPtr view = Buffer::create(dev, p->address(), p->size(), p->page_size(), BufferType::L1_SMALL);
    cr_assert_eq(field<bool>(view.get(), 43), false, "a view does not own its data");
    CloseDevice(dev);
    cr_assert_eq(field<uint8_t>(p, 72), 2, "the bulk free at close marks it DEALLOCATED");
}

Test(buffer, vtable_slots_and_dynamic_types) {
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 2)));
    IDevice* chip1 = mesh->get_devices()[1];
    using IdFn = int (*)(const IDevice*);
    using ArchFn = int (*)(const IDevice*);
    auto slot = [](const IDevice* d, int i) { return (*reinterpret_cast<void* const* const*>(d))[i]; };
    cr_assert_eq(reinterpret_cast<IdFn>(slot(chip1, 3))(chip1), 1, "slot 3 is id()");
    cr_assert_eq(reinterpret_cast<IdFn>(slot(mesh.get(), 3))(mesh.get()), 0, "the first mesh's id collides with chip 0");
    cr_assert_eq(reinterpret_cast<ArchFn>(slot(chip1, 2))(chip1), 2, "slot 2 is arch(): WORMHOLE_B0 = 2");
    using BoolFn = bool (*)(const IDevice*);
    cr_assert(reinterpret_cast<BoolFn>(slot(chip1, 6))(chip1), "slot 6 is is_initialized()");
    auto rtti = [](const IDevice* d) {
        return static_cast<const std::type_info*>((*reinterpret_cast<void* const* const*>(d))[-1])->name();
    };
    cr_assert_str_eq(rtti(chip1), "N2tt8tt_metal6DeviceE");
    cr_assert_str_eq(rtti(mesh.get()), "N2tt8tt_metal11distributed10MeshDeviceE");
    mesh->close();
    cr_assert(!reinterpret_cast<BoolFn>(slot(chip1, 6))(chip1));
}

// A C tracker calls get_devices() by its mangled name: the vector comes back
// through the SysV sret pointer (rdi), `this` in rsi, and the caller frees
// the storage with operator delete.
Test(mesh, get_devices_through_the_c_abi) {
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(2, 2)));
    struct RawVector {
        void** begin;
        void** end;
        void** cap;
    };
    using GetDevices = void (*)(RawVector*, const void*);
    using NumDevices = size_t (*)(const void*);
    auto get = reinterpret_cast<GetDevices>(dlsym(RTLD_DEFAULT, "_ZNK2tt8tt_metal11distributed10MeshDevice11get_devicesEv"));
    auto num = reinterpret_cast<NumDevices>(dlsym(RTLD_DEFAULT, "_ZNK2tt8tt_metal11distributed10MeshDevice11num_devicesEv"));
    cr_assert(get && num);
    RawVector v{};
    get(&v, mesh.get());
    cr_assert_eq(static_cast<size_t>(v.end - v.begin), 4u);
    cr_assert_eq(num(mesh.get()), 4u);
    for (int i = 0; i < 4; i++) cr_assert_eq(static_cast<IDevice*>(v.begin[i])->id(), i);
    auto del = reinterpret_cast<void (*)(void*)>(dlsym(RTLD_DEFAULT, "_ZdlPv"));
    cr_assert(del);
    del(v.begin);
    mesh->close();
}

Test(mesh, buffer_is_reserved_at_one_address_on_every_chip) {
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 4)), 0, 0);
    // Make the chips differ first: chip 2 has an extra DRAM buffer.
    BufferPtr only_on_2 = Buffer::create(mesh->get_devices()[2], 64 * KiB, 2048, BufferType::DRAM);
    const uint64_t allocs = th::tracker_count(0);
    DeviceLocalBufferConfig local;
    local.page_size = 2048;
    local.buffer_type = BufferType::DRAM;
    auto mb = MeshBuffer::create(ReplicatedBufferConfig{4 * MiB}, local, mesh.get());
    cr_assert_eq(th::tracker_count(0) - allocs, 1u, "one report: the backing buffer on the mesh");
    cr_assert_eq(mb->get_backing_buffer()->device(), mesh.get());
    cr_assert_gt(mb->address(), only_on_2->address(), "above chip 2's extra buffer");
    for (size_t i = 0; i < 4; i++) {
        auto view = mb->get_device_buffer(i);
        cr_assert_eq(view->address(), mb->address());
        cr_assert_eq(view->device(), mesh->get_devices()[i]);
        const AllocatorUsage u = mesh->get_devices()[i]->allocator()->usage();
        cr_assert_eq(u.bytes[0], 15466496u + 4 * MiB + (i == 2 ? 64 * KiB : 0));
    }
    const uint64_t frees = th::tracker_count(1);
    mb->deallocate();
    cr_assert_eq(th::tracker_count(1) - frees, 1u);
    for (size_t i = 0; i < 4; i++)
        cr_assert_eq(mesh->get_devices()[i]->allocator()->usage().bytes[0], 15466496u + (i == 2 ? 64 * KiB : 0));
    mesh->close();
}

Test(lifecycle, close_frees_in_bulk_without_reports) {
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 2)));
    DeviceLocalBufferConfig local;
    local.page_size = 2048;
    local.buffer_type = BufferType::L1;
    auto kept = MeshBuffer::create(ReplicatedBufferConfig{64 * KiB}, local, mesh.get());
    BufferPtr chip_kept = Buffer::create(mesh->get_devices()[0], 64 * KiB, 2048, BufferType::DRAM);
    const uint64_t frees = th::tracker_count(1);
    cr_assert(mesh->close());
    cr_assert_eq(th::tracker_count(1), frees, "close reports no per-buffer free");
    for (IDevice* chip : mesh->get_devices()) {
        cr_assert(!chip->is_initialized());
        const AllocatorUsage u = chip->allocator()->usage();
        cr_assert_eq(u.buffers, 0u);
        cr_assert_eq(u.bytes[0] + u.bytes[1] + u.cb_bytes, 0u);
    }
    kept.reset();
    chip_kept.reset();
    cr_assert_eq(th::tracker_count(1), frees, "buffers destroyed after close report nothing");
    // The chips can be opened again, by a new mesh.
    auto again = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 2)));
    cr_assert_eq(again->id(), 1, "mesh ids count up");
    again->close();
}

Test(lifecycle, one_chip_one_owner) {
    IDevice* dev = CreateDevice(5);
    try {
        CreateDevice(5);
        cr_assert_fail("chip 5 opened twice");
    } catch (const std::runtime_error& e) {
        cr_assert(std::strstr(e.what(), "already open") != nullptr, "%s", e.what());
    }
    CloseDevice(dev);
    IDevice* again = CreateDevice(5);
    cr_assert_neq(again, dev, "a new Device object per open");
    CloseDevice(again);
}

// The injected command-queue failure: test_generation.cpp, per generation.

Test(c_api, errors_are_negative_errno) {
    cr_assert_eq(ttemu_close(12345), -22);
    cr_assert_str_eq(ttemu_last_error(), "no such device handle");
    int chip = ttemu_open_chip(1, 0, 0);
    cr_assert_geq(chip, 1);
    cr_assert_eq(ttemu_open_chip(1, 0, 0), -16, "EBUSY");
    cr_assert_eq(ttemu_alloc(chip, TTEMU_DRAM, 13 * GiB, 2048), -12, "ENOMEM");
    cr_assert_eq(ttemu_alloc(chip, 2, 2048, 2048), -22, "SYSTEM_MEMORY is not a device type");
    int64_t b = ttemu_alloc(chip, TTEMU_L1, 4096, 2048);
    cr_assert_geq(b, 1);
    cr_assert_geq(ttemu_address(b), 0x19000);
    cr_assert_eq(ttemu_device_id(chip), 1);
    cr_assert_eq(ttemu_close(chip), 0);
    cr_assert_eq(ttemu_free(b), 0);
}
