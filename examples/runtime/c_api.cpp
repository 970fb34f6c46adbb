// Emulated tt-metal: the C API of ttemu.h, a thin layer over the C++ API.
#include "ttemu.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <tt-metalium/buffer.hpp>
#include "impl/device_impl.hpp"
#include <tt-metalium/graph_tracking.hpp>
#include <tt-metalium/host_api.hpp>
#include <tt-metalium/mesh_buffer.hpp>
#include <tt-metalium/mesh_device.hpp>
#include <tt-metalium/program.hpp>

#include "impl/command_queue.hpp"
#include "impl/sub_device_manager.hpp"

using namespace tt::tt_metal;

namespace tt::tt_metal::distributed {
// A mesh's sub-device manager replaced while the mesh stays open: the old
// one's destructor bulk-frees the mesh allocator (deallocate_buffers() and
// clear() through the PLT, no reports), as when upstream tears a
// sub-device manager down mid-run.  Inline: not exported.
struct MeshDeviceAccess {
    static void renew_sub_device_manager(MeshDevice& mesh) {
        mesh.sub_device_manager_.reset();
        mesh.sub_device_manager_ = std::make_unique<SubDeviceManager>(&mesh, mesh.allocator_.get());
    }
};
}  // namespace tt::tt_metal::distributed
using distributed::MeshBuffer;
using distributed::MeshDevice;

namespace {

struct DeviceHandle {
    std::shared_ptr<MeshDevice> mesh;  // set for a mesh
    IDevice* chip = nullptr;           // set for a chip
    IDevice* device() const { return mesh ? static_cast<IDevice*>(mesh.get()) : chip; }
};

struct BufferHandle {
    std::shared_ptr<Buffer> buffer;
    std::shared_ptr<MeshBuffer> mesh_buffer;
};

struct Handles {
    std::mutex mutex;
    int next_device = 1;
    int64_t next_buffer = 1;
    uint64_t next_program = 1;
    std::map<int, DeviceHandle> devices;
    std::map<int64_t, BufferHandle> buffers;
};

Handles& handles() {
    static Handles* h = new Handles();  // leaked: used until exit
    return *h;
}

thread_local std::string last_error;

// ttnn's graph capture hooks in RunMode::NO_DISPATCH: take every allocation,
// free and program launch over, so an op runs without device memory.
class NoDispatchHooks : public IGraphHooks {
public:
    bool hook_allocate(const Buffer*) override { return true; }
    bool hook_deallocate(Buffer*) override { return true; }
    bool hook_program(Program*) override { return true; }
};

int fail(int err, const std::string& what) {
    last_error = what;
    return -err;
}

// Maps a runtime exception to the errno convention of ttemu.h.
int fail_from(const std::exception& e) {
    const std::string what = e.what();
    if (what.find("Out of Memory") != std::string::npos) return fail(ENOMEM, what);
    if (what.find("already open") != std::string::npos) return fail(EBUSY, what);
    return fail(EIO, what);
}

bool find_device(int handle, DeviceHandle* out) {
    std::lock_guard<std::mutex> lock(handles().mutex);
    auto it = handles().devices.find(handle);
    if (it == handles().devices.end()) return false;
    *out = it->second;
    return true;
}

int add_device(DeviceHandle h) {
    std::lock_guard<std::mutex> lock(handles().mutex);
    int id = handles().next_device++;
    handles().devices[id] = std::move(h);
    return id;
}

bool valid_type(int t) { return t == 0 || t == 1 || t == 3 || t == 4; }

}  // namespace

extern "C" {

int ttemu_open_mesh(int num_chips, uint64_t l1_small_size, uint64_t trace_region_size) {
    if (num_chips < 1 || num_chips > 64) return fail(EINVAL, "num_chips must be 1..64");
    try {
        DeviceHandle h;
        h.mesh = MeshDevice::create(
            distributed::MeshDeviceConfig(distributed::MeshShape(1, static_cast<uint32_t>(num_chips))), l1_small_size,
            trace_region_size);
        return add_device(std::move(h));
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

namespace {
std::atomic<uint32_t> g_dram_banks{0}, g_l1_banks{0};
}  // namespace

extern "C++" tt::tt_metal::AllocatorConfig ttemu_bank_config() {
    tt::tt_metal::AllocatorConfig c;
    if (const uint32_t d = g_dram_banks.load()) c.num_dram_banks = d;
    if (const uint32_t l = g_l1_banks.load()) c.num_l1_banks = l;
    return c;
}

void ttemu_set_banks(uint32_t dram_banks, uint32_t l1_banks) {
    g_dram_banks.store(dram_banks);
    g_l1_banks.store(l1_banks);
}

int ttemu_open_chip(int chip_id, uint64_t l1_small_size, uint64_t trace_region_size) {
    try {
        DeviceHandle h;
        h.chip = CreateDevice(chip_id, 1, l1_small_size, trace_region_size);
        return add_device(std::move(h));
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

int ttemu_close(int device) {
    DeviceHandle h;
    {
        std::lock_guard<std::mutex> lock(handles().mutex);
        auto it = handles().devices.find(device);
        if (it == handles().devices.end()) return fail(EINVAL, "no such device handle");
        h = it->second;
        handles().devices.erase(it);
    }
    try {
        if (h.mesh) h.mesh->close();
        else CloseDevice(h.chip);
        return 0;
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

namespace {
// A new buffer's handle.
int64_t add_buffer(BufferHandle&& b) {
    std::lock_guard<std::mutex> lock(handles().mutex);
    int64_t id = handles().next_buffer++;
    handles().buffers[id] = std::move(b);
    return id;
}
}  // namespace

int64_t ttemu_alloc_sharded(int device, int buffer_type, uint64_t size, uint64_t page_size, uint32_t cores) {
    DeviceHandle h;
    if (!find_device(device, &h) || !h.chip) return fail(EINVAL, "no such chip handle");
    if (!valid_type(buffer_type) || page_size == 0 || cores == 0) return fail(EINVAL, "bad sharded buffer");
    BufferHandle b;
    try {
        const uint64_t pages = size / page_size;
        b.buffer = Buffer::create(h.chip, size, page_size, static_cast<BufferType>(buffer_type),
                                  BufferShardingArgs::height_sharded(cores, static_cast<uint32_t>((pages + cores - 1) / cores)));
    } catch (const std::exception& e) {
        return fail_from(e);
    }
    return add_buffer(std::move(b));
}

int64_t ttemu_alloc(int device, int buffer_type, uint64_t size, uint64_t page_size) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    if (!valid_type(buffer_type)) return fail(EINVAL, "buffer_type must be 0 (DRAM), 1 (L1), 3 (L1_SMALL) or 4 (TRACE)");
    BufferHandle b;
    try {
        const auto type = static_cast<BufferType>(buffer_type);
        // L1_SMALL height-sharded on 16 cores, as ttnn allocates it (the real
        // runtime refuses interleaved L1_SMALL).
        BufferShardingArgs sharding;
        if (type == BufferType::L1_SMALL && page_size != 0) {
            const uint64_t pages = size / page_size;
            sharding = BufferShardingArgs::height_sharded(16, static_cast<uint32_t>((pages + 15) / 16));
        }
        if (h.mesh) {
            distributed::DeviceLocalBufferConfig local;
            local.page_size = page_size;
            local.buffer_type = type;
            local.sharding_args = sharding;
            b.mesh_buffer = MeshBuffer::create(distributed::ReplicatedBufferConfig{size}, local, h.mesh.get());
        } else {
            b.buffer = Buffer::create(h.chip, size, page_size, type, sharding);
        }
    } catch (const std::exception& e) {
        return fail_from(e);
    }
    return add_buffer(std::move(b));
}

int ttemu_free(int64_t buffer) {
    BufferHandle doomed;
    {
        std::lock_guard<std::mutex> lock(handles().mutex);
        auto it = handles().buffers.find(buffer);
        if (it == handles().buffers.end()) return fail(EINVAL, "no such buffer handle");
        doomed = std::move(it->second);
        handles().buffers.erase(it);
    }
    // Destroyed here, outside the handle lock.
    return 0;
}

int64_t ttemu_address(int64_t buffer) {
    std::lock_guard<std::mutex> lock(handles().mutex);
    auto it = handles().buffers.find(buffer);
    if (it == handles().buffers.end()) return fail(EINVAL, "no such buffer handle");
    const BufferHandle& b = it->second;
    return b.mesh_buffer ? static_cast<int64_t>(b.mesh_buffer->address()) : static_cast<int64_t>(b.buffer->address());
}

int ttemu_run_program(int device, int num_cbs, uint64_t cb_size, uint64_t kernel_bytes) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    if (num_cbs < 0 || num_cbs > 32) return fail(EINVAL, "num_cbs must be 0..32");
    try {
        auto program = std::make_shared<Program>();
        const CoreRangeSet grid(CoreRange{{0, 0}, {7, 7}});
        for (int i = 0; i < num_cbs; i++) program->add_circular_buffer(grid, cb_size);
        program->set_kernel_binary_size(kernel_bytes);
        detail::LaunchOp(h.device(), *program);
        uint64_t hash;
        {
            std::lock_guard<std::mutex> lock(handles().mutex);
            hash = handles().next_program++;
        }
        h.device()->get_program_cache().insert(hash, std::move(program));
        return 0;
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

int ttemu_run_cached_program(int device, uint64_t key, int num_cbs, uint64_t cb_size) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    if (num_cbs < 0 || num_cbs > 32) return fail(EINVAL, "num_cbs must be 0..32");
    // Keys of their own, apart from ttemu_run_program's counter.
    const uint64_t hash = key | (uint64_t{1} << 63);
    try {
        auto& cache = h.device()->get_program_cache();
        std::shared_ptr<Program> program = cache.find(hash);
        if (!program) {
            program = std::make_shared<Program>();
            const CoreRangeSet grid(CoreRange{{0, 0}, {7, 7}});
            for (int i = 0; i < num_cbs; i++) program->add_circular_buffer(grid, cb_size);
            cache.insert(hash, program);
        }
        detail::LaunchOp(h.device(), *program);
        return 0;
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

int ttemu_device_id(int device) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    return h.device()->id();
}

int ttemu_num_chips(int device) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    return h.mesh ? static_cast<int>(h.mesh->num_devices()) : 1;
}

const char* ttemu_last_error(void) { return last_error.c_str(); }

void ttemu_inject_cq_failure(int after_buffers) { inject_command_queue_failure(after_buffers); }

int ttemu_capture_begin(void) {
    if (!GraphTracker::instance().add_hook(std::make_shared<NoDispatchHooks>()))
        return fail(EBUSY, "this thread already has a graph hook");
    return 0;
}

void ttemu_capture_end(void) { GraphTracker::instance().clear_hook(); }

const char* ttemu_generation(void) { return TTEMU_GEN_NAME; }

int ttemu_renew_sub_device_manager(int device) {
    DeviceHandle h;
    if (!find_device(device, &h)) return fail(EINVAL, "no such device handle");
    if (!h.mesh) return fail(EINVAL, "not a mesh");
    try {
        distributed::MeshDeviceAccess::renew_sub_device_manager(*h.mesh);
        return 0;
    } catch (const std::exception& e) {
        return fail_from(e);
    }
}

void ttemu_tracker_counts(uint64_t counts[4]) {
    for (int i = 0; i < 4; i++) counts[i] = GraphTracker::instance().count(i);
}

}  // extern "C"
