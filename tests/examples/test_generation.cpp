// One runtime generation against its own headers (built once per TTEMU_GEN,
// linked with that generation's gcc library; `make check` also runs it
// against the clang library of the same generation, via LD_LIBRARY_PATH):
// the Buffer layout a tracker reads, where the system buffers are allocated
// on the open path, and what the close path calls and reports.
//
// The close path is observed by interposition, as a tracker would: this
// executable exports its own deallocate_buffers() of the generation's
// allocator class (-rdynamic), counts the calls and forwards to the
// library's definition (dlsym RTLD_NEXT).
#include <criterion/criterion.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <stdexcept>
#include <string>

#include <tt-metalium/allocator.hpp>
#include <tt-metalium/buffer.hpp>
#include <tt-metalium/buffer_impl.hpp>
#include <tt-metalium/graph_tracking.hpp>
#include <tt-metalium/host_api.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "impl/command_queue.hpp"
#include "impl/device_impl.hpp"
#include "impl/system_memory_manager.hpp"
#include "runtime_probe.hpp"
#include "ttemu.h"

using namespace tt::tt_metal;
using namespace tt::tt_metal::distributed;
using BufferPtr = std::shared_ptr<Buffer>;
using th::field;

namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;
constexpr uint64_t kSystemBuffers = 12;  // per chip with one command queue

// Upstream's names (abi/GENERATIONS.md), not derived from the code under test.
#if TTEMU_GEN == 1
const char* const kBulkFreeName = "_ZN2tt8tt_metal9Allocator18deallocate_buffersEv";
#else
const char* const kBulkFreeName = "_ZN2tt8tt_metal13AllocatorImpl18deallocate_buffersEv";
#endif

int bulk_frees = 0;

}  // namespace

// The interposer: every call of the library's bulk free lands here first.
void DeviceAllocator::deallocate_buffers() {
    bulk_frees++;
    using Fn = void (*)(DeviceAllocator*);
    static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, kBulkFreeName));
    if (real == nullptr) std::abort();
    real(this);
}

Test(generation, the_expected_library_is_loaded) {
    cr_assert_str_eq(ttemu_generation(), TTEMU_GEN_NAME);
    const char* want = std::getenv("TTEMU_EXPECT_LIB");
    if (want != nullptr) {
        Dl_info info{};
        cr_assert(dladdr(reinterpret_cast<void*>(&ttemu_generation), &info) != 0);
        cr_assert(std::strstr(info.dli_fname, want) != nullptr, "loaded %s, expected %s", info.dli_fname, want);
    }
    cr_assert_neq(dlsym(RTLD_DEFAULT, kBulkFreeName), nullptr, "%s is not exported", kBulkFreeName);
}

Test(generation, buffer_layout) {
    IDevice* dev = CreateDevice(3, 1, 32 * KiB, 0);
    BufferPtr b = Buffer::create(
        dev, 40 * 2048, 2048, BufferType::L1_SMALL, BufferShardingArgs::height_sharded(8, 5));
    const Buffer* p = b.get();
#if TTEMU_BUFFER_PIMPL
    static_assert(sizeof(Buffer) == 24, "a 2026 Buffer is 24 bytes");
    // The only field: the BufferImpl pointer at 16, behind which the 2025
    // fields sit at their offsets minus 16.
    const void* impl = field<const void*>(p, 16);
    cr_assert_eq(impl, &p->impl());
    const size_t base = 0;
#else
    static_assert(sizeof(Buffer) > 96, "a 2025 Buffer holds its fields");
    const void* impl = p;
    const size_t base = 16;
#endif
    cr_assert_eq(field<IDevice*>(impl, base + 0), dev);
    cr_assert_eq(field<uint64_t>(impl, base + 8), 40 * 2048u);
    cr_assert_eq(field<int32_t>(impl, base + 16), 3, "BufferType::L1_SMALL is 3");
    cr_assert_eq(field<bool>(impl, base + 27), true, "owns_data_");
    cr_assert_eq(field<DeviceAllocator*>(impl, base + 48), dev->allocator().get());
    cr_assert_eq(field<uint8_t>(impl, base + 56), 1, "AllocationStatus::ALLOCATED");
    cr_assert_eq(static_cast<uint32_t>(field<uint64_t>(impl, base + 64)), p->address());
    cr_assert_eq(field<uint64_t>(impl, base + 72), p->page_size());
    cr_assert_eq(static_cast<uint64_t>(p->num_pages()) * p->page_size(), 40 * 2048u);
    cr_assert(p->is_l1() && !p->is_dram());
    cr_assert_null(dlsym(RTLD_DEFAULT, "_ZNK2tt8tt_metal6Buffer5is_l1Ev"), "Buffer::is_l1() is inline");
    CloseDevice(dev);
    cr_assert_eq(field<uint8_t>(impl, base + 56), 2, "close marks what the chip still held DEALLOCATED");
}

// Buffer::allocator() answers what upstream's does (abi/GENERATIONS.md, "The
// allocator's identity"): G1 the Allocator itself (header-inline in G1: read
// here through the field a tracker reads); G2/G3 the AllocatorImpl's
// separate view object, while the allocator_ field holds the AllocatorImpl.
Test(generation, buffer_allocator_identity) {
    IDevice* dev = CreateDevice(2, 1, 0, 0);
    BufferPtr b = Buffer::create(dev, 4 * 2048, 2048, BufferType::DRAM);
    const void* impl = dev->allocator().get();
#if TTEMU_BUFFER_PIMPL
    const void* field_holder = &b->impl();
    const size_t field_at = 48;
#else
    const void* field_holder = b.get();
    const size_t field_at = 64;
#endif
    cr_assert_eq(field<const void*>(field_holder, field_at), impl, "the field holds the allocator class");
#if TTEMU_ALLOCATOR_VIEW
    const void* answered = b->allocator();
    cr_assert_neq(answered, impl, "Buffer::allocator() answered the AllocatorImpl, not its view");
    cr_assert_eq(answered, static_cast<const void*>(dev->allocator()->view().get()));
#endif
    b.reset();
    CloseDevice(dev);
}

// Where the per-chip system buffers are allocated (reported, never freed one
// by one): inside the constructors in G1, inside the dispatch-program
// entry point in G2/G3.
Test(generation, system_buffers_on_the_open_path) {
    IDevice* dev = CreateDevice(2);
    cr_assert_eq(dev->allocator()->usage().buffers, kSystemBuffers);
    auto* chip = dynamic_cast<Device*>(dev);
    cr_assert_not_null(chip);
    uint64_t before = th::tracker_count(0);
#if TTEMU_DISPATCH_2026
    {
        SystemMemoryManager sysmem(ContextId{0}, 2, 1);
        HWCommandQueue cq(chip, 1, NOC::NOC_0);
    }
    cr_assert_eq(th::tracker_count(0) - before, 0u, "the 2026 constructors allocate no device memory");
    chip->init_command_queue_device_with_topology(nullptr);
    cr_assert_eq(th::tracker_count(0) - before, kSystemBuffers, "the dispatch program holds the system buffers");
#else
    {
        SystemMemoryManager sysmem(2, 1);
        cr_assert_eq(th::tracker_count(0) - before, 3u, "SystemMemoryManager(ChipId, uint8_t) allocates 3");
        HWCommandQueue cq(dev, std::make_shared<CQSharedState>(), 1, NOC::NOC_0);
        cr_assert_eq(th::tracker_count(0) - before, kSystemBuffers, "HWCommandQueue allocates 9");
    }
#endif
    CloseDevice(dev);
}

// Close: G1 frees in bulk through the sub-device manager (one
// deallocate_buffers per chip and per mesh); G2/G3 destroy each chip's
// allocator instead (only the mesh's sub-device manager frees in bulk).  In
// every generation close reports only the frees of the program cache, and
// buffers destroyed after close report nothing.
Test(generation, close_paths) {
    auto mesh = MeshDevice::create(MeshDeviceConfig(MeshShape(1, 2)));
    IDevice* solo = CreateDevice(4);
    DeviceLocalBufferConfig local;
    local.page_size = 2048;
    local.buffer_type = BufferType::DRAM;
    auto kept_mesh = MeshBuffer::create(ReplicatedBufferConfig{64 * KiB}, local, mesh.get());
    BufferPtr kept = Buffer::create(solo, 64 * KiB, 2048, BufferType::L1);
    auto program = std::make_shared<Program>();
    program->set_kernel_binary_size(32 * KiB);
    detail::LaunchProgram(solo, *program);
    solo->get_program_cache().insert(1, std::move(program));

    const uint64_t frees = th::tracker_count(1);
    bulk_frees = 0;
    cr_assert(CloseDevice(solo));
    cr_assert_eq(th::tracker_count(1) - frees, 1u, "only the cached program's kernel binaries are reported freed");
#if TTEMU_CLOSE_DROPS_ALLOCATOR
    cr_assert_eq(bulk_frees, 0, "a 2025b/2026 chip close frees nothing in bulk");
    cr_assert_null(solo->allocator().get(), "the allocator is destroyed");
#else
    cr_assert_eq(bulk_frees, 1, "~SubDeviceManager frees the chip in bulk");
    cr_assert_eq(solo->allocator()->usage().buffers, 0u);
#endif
    cr_assert(!kept->is_allocated());

    cr_assert(mesh->close());
    cr_assert_eq(th::tracker_count(1) - frees, 1u, "the mesh close reports no per-buffer free");
#if TTEMU_CLOSE_DROPS_ALLOCATOR
    cr_assert_eq(bulk_frees, 1, "only the mesh's sub-device manager frees in bulk");
    for (IDevice* chip : mesh->get_devices()) cr_assert_null(chip->allocator().get());
#else
    cr_assert_eq(bulk_frees, 4, "the mesh and its two chips free in bulk");
    for (IDevice* chip : mesh->get_devices()) cr_assert_eq(chip->allocator()->usage().buffers, 0u);
#endif
    kept.reset();
    kept_mesh.reset();
    cr_assert_eq(th::tracker_count(1) - frees, 1u, "buffers destroyed after close report nothing");
}

Test(generation, command_queue_failure) {
    const uint64_t allocs = th::tracker_count(0), frees = th::tracker_count(1);
    ttemu_inject_cq_failure(4);
    try {
        CreateDevice(0);
        cr_assert_fail("no exception");
    } catch (const std::runtime_error& e) {
        cr_assert(std::strstr(e.what(), "on device 0: failed to set up the dispatch cores (injected after 4 buffers)"),
                  "%s", e.what());
    }
#if TTEMU_DISPATCH_2026
    // The dispatch program's first 4 were reported and freed by unwinding.
    cr_assert_eq(th::tracker_count(0) - allocs, 4u);
    cr_assert_eq(th::tracker_count(1) - frees, 4u);
#else
    // 3 SystemMemoryManager buffers + 4 command-queue buffers were reported;
    // the 4 were freed by unwinding (reported), the 3 by the bulk free.
    cr_assert_eq(th::tracker_count(0) - allocs, 7u);
    cr_assert_eq(th::tracker_count(1) - frees, 4u);
#endif
    IDevice* dev = CreateDevice(0);
    cr_assert_eq(dev->allocator()->usage().buffers, kSystemBuffers);
    CloseDevice(dev);
}

// CB frees: ttnn 0.70.1 and 0.81.1 report them (track_deallocate_cb from
// ProgramImpl::deallocate_circular_buffers), 0.59 and 0.65 never.  G2/G3
// report the free and the CBs anew at every launch, G1 the CBs at the
// first launch only.
Test(generation, cb_free_reports) {
    IDevice* dev = CreateDevice(1);
    Program p;
    p.add_circular_buffer(CoreRangeSet(CoreRange{{0, 0}, {7, 7}}), 64 * KiB);
    const uint64_t allocs = th::tracker_count(2), frees = th::tracker_count(3);
    detail::LaunchProgram(dev, p);
    detail::LaunchProgram(dev, p);
#if TTEMU_CB_FREE_REPORTS_DEFAULT
    cr_assert_eq(th::tracker_count(3) - frees, 2u, "every launch reports the CB free");
    cr_assert_eq(th::tracker_count(2) - allocs, 2u, "every launch reports the CBs");
#else
    cr_assert_eq(th::tracker_count(3) - frees, 0u, "a 2025 runtime never reports a CB free");
    cr_assert_eq(th::tracker_count(2) - allocs, 1u, "the CBs are reported at the first launch only");
#endif
    cr_assert_eq(dev->allocator()->usage().cb_bytes, 64 * KiB);
    CloseDevice(dev);
}

namespace {
// Asks Buffer::address() of the buffer a hook is shown before it is
// allocated (the only moment a Buffer of the public API is unallocated).
struct AddressProbe : IGraphHooks {
    bool threw = false;
    std::string what;
    bool hook_allocate(const Buffer* buffer) override {
        try {
            (void)buffer->address();
        } catch (const std::runtime_error& e) {
            threw = true;
            what = e.what();
        }
        return false;
    }
    bool hook_deallocate(Buffer*) override { return false; }
    bool hook_program(Program*) override { return false; }
};
}  // namespace

// Buffer::address() throws on a buffer never allocated, as every ttnn
// wheel's does, and answers once it is allocated or freed.
Test(generation, address_of_an_unallocated_buffer_throws) {
    IDevice* dev = CreateDevice(1);
    auto probe = std::make_shared<AddressProbe>();
    cr_assert(GraphTracker::instance().add_hook(probe));
    BufferPtr b = Buffer::create(dev, 4 * 2048, 2048, BufferType::DRAM);
    GraphTracker::instance().clear_hook();
    cr_assert(probe->threw, "address() answered before the allocation");
    cr_assert_str_eq(probe->what.c_str(), "Can only query the address of a buffer that has been allocated.");
    const uint32_t addr = b->address();
    cr_assert_neq(addr, 0u);
    DeallocateBuffer(*b);
    cr_assert_eq(b->address(), addr, "a freed buffer still answers");
    CloseDevice(dev);
}

// L1_SMALL: ttnn 0.70.1 and 0.81.1 refuse it interleaved ("L1_SMALL only
// supports sharded allocations"); G1 takes it.  Height-sharded on N cores it
// holds its shard (shard pages x aligned page size) in every bank, at one
// address, as upstream's allocator places it.
Test(generation, l1_small_layouts) {
    IDevice* dev = CreateDevice(3, 1, 32 * KiB, 0);
#if TTEMU_L1_SMALL_SHARDED_ONLY
    const uint64_t allocs = th::tracker_count(0);
    try {
        Buffer::create(dev, 8 * 1024, 1024, BufferType::L1_SMALL);
        cr_assert_fail("an interleaved L1_SMALL buffer was allocated");
    } catch (const std::runtime_error& e) {
        cr_assert_str_eq(e.what(), "L1_SMALL only supports sharded allocations");
    }
    cr_assert_eq(th::tracker_count(0) - allocs, 0u, "a refused buffer is not reported");
#else
    BufferPtr interleaved = Buffer::create(dev, 8 * 1024, 1024, BufferType::L1_SMALL);
    cr_assert_eq(interleaved->aligned_size_per_bank(), 1024u, "8 pages over 64 banks: one page per bank");
    interleaved.reset();
#endif
    const uint64_t base = dev->allocator()->usage().per_bank[3];
    // 13 pages of 1000 bytes (aligned to 1008) on 4 cores: 4 pages per core.
    BufferPtr sharded = Buffer::create(
        dev, 13 * 1000, 1000, BufferType::L1_SMALL, BufferShardingArgs::height_sharded(4, 4));
    cr_assert_eq(sharded->aligned_size_per_bank(), 4 * 1008u);
    cr_assert_eq(sharded->aligned_size(), 4 * 4 * 1008u);
    cr_assert_eq(dev->allocator()->usage().per_bank[3] - base, 4 * 1008u);
    cr_assert_eq(dev->allocator()->usage().bytes[3], 13 * 1000u);
    // Shards that cannot hold the pages, or more cores than the grid has.
    for (const BufferShardingArgs& bad : {BufferShardingArgs::height_sharded(4, 3),
                                          BufferShardingArgs::height_sharded(65, 1),
                                          BufferShardingArgs::height_sharded(0, 13)}) {
        try {
            Buffer::create(dev, 13 * 1000, 1000, BufferType::L1_SMALL, bad);
            cr_assert_fail("a shard layout that does not fit was allocated");
        } catch (const std::runtime_error& e) {
            cr_assert(std::strstr(e.what(), "do not fit") != nullptr, "%s", e.what());
        }
    }
    sharded.reset();
    CloseDevice(dev);
}
