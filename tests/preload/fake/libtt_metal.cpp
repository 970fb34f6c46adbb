// A stand-in tt-metal runtime whose Buffer is NOT laid out as in 2025 (as
// after the 2026 pimpl refactor): same exported names and getters, other
// field offsets.  It carries the marks of generation 2025 (an exported
// Allocator::deallocate_buffers, an inline Buffer::device()), so
// libttmem.so reads its fields and must notice at the first read (size
// field vs num_pages() * page_size()), warn once, and record only what the
// getters vouch for: 32-bit address, size, DRAM/L1 type, no device.
// Built with -DFAKE_UNKNOWN it lacks that mark: a runtime of no known
// generation, which libttmem.so must read through its getters alone
// (never its fields), with one warning naming what is missing.  Built
// also with -DFAKE_BAD_DEVICE, it exports a Buffer::device() whose answer
// is not a device: libttmem.so must never call through it.
#include <cstdint>
#include <memory>

namespace tt::tt_metal {

class IDevice {
public:
    virtual ~IDevice() = default;
    virtual int arch() const { return 0; }
    virtual int id() const = 0;
};

class Device : public IDevice {
public:
    explicit Device(int id) : id_(id) {}
    int id() const override { return id_; }
    bool close();

private:
    int id_;
};

struct BufferImpl;

class Buffer {
public:
    Buffer(IDevice* device, uint64_t address, uint64_t size, uint64_t page, int type);
    uint32_t address() const;
    uint64_t page_size() const;
    uint32_t num_pages() const;
    bool is_dram() const;
    // No is_l1(): no real runtime exports it (ttnn 0.59 to 0.81, abi/GENERATIONS.md).
    bool is_trace() const;
#ifdef FAKE_BAD_DEVICE
    const IDevice* device() const;
#endif

private:
    // 2026-style: a pimpl and a unique id where 2025 had device_ and size_.
    void* reserved_[2] = {nullptr, nullptr};
    uint64_t unique_id_;
    BufferImpl* impl_;
    uint64_t pad_[8] = {};
};

struct BufferImpl {
    IDevice* device;
    uint64_t address, size, page;
    int type;
};

Buffer::Buffer(IDevice* device, uint64_t address, uint64_t size, uint64_t page, int type)
    : unique_id_(7), impl_(new BufferImpl{device, address, size, page, type}) {}
uint32_t Buffer::address() const { return static_cast<uint32_t>(impl_->address); }
uint64_t Buffer::page_size() const { return impl_->page; }
uint32_t Buffer::num_pages() const { return static_cast<uint32_t>(impl_->size / impl_->page); }
bool Buffer::is_dram() const { return impl_->type == 0; }
bool Buffer::is_trace() const { return false; }
#ifdef FAKE_BAD_DEVICE
// Not a device: an object without a vtable, whose first word points into
// the heap (a runtime whose device() means something else).
const IDevice* Buffer::device() const { return reinterpret_cast<const IDevice*>(impl_); }
#endif

class GraphTracker {
public:
    static GraphTracker& instance();
    void track_allocate(const Buffer* buffer);
    void track_deallocate(Buffer* buffer);
};

GraphTracker& GraphTracker::instance() {
    static GraphTracker t;
    return t;
}
void GraphTracker::track_allocate(const Buffer*) {}
void GraphTracker::track_deallocate(Buffer*) {}

bool Device::close() { return true; }

#ifndef FAKE_UNKNOWN
class Allocator {
public:
    void deallocate_buffers();
};
void Allocator::deallocate_buffers() {}
#endif

// Owners: their constructors allocate "system" buffers.  The memory manager
// builds a command queue inside its own constructor (nested scopes).
enum NOC : uint8_t { NOC_0 = 0, NOC_1 = 1 };
struct CQSharedState {};

class HWCommandQueue {
public:
    HWCommandQueue(IDevice* device, std::shared_ptr<CQSharedState> state, uint32_t id, NOC noc,
                   uint32_t completion_queue_reader_core = 0);
    virtual ~HWCommandQueue();

private:
    Buffer* ring_;
    std::shared_ptr<CQSharedState> state_;
};

HWCommandQueue::HWCommandQueue(IDevice* device, std::shared_ptr<CQSharedState> state, uint32_t id, NOC,
                               uint32_t)
    : ring_(new Buffer(device, 0x20000 + id * 0x1000, 4096, 2048, 1)), state_(std::move(state)) {
    GraphTracker::instance().track_allocate(ring_);
}

// Destroyed without reporting its buffer (as upstream's system buffers).
HWCommandQueue::~HWCommandQueue() = default;

class SystemMemoryManager {
public:
    SystemMemoryManager(int device_id, uint8_t num_hw_cqs);
    ~SystemMemoryManager();

private:
    Buffer* issue_;
    HWCommandQueue* cq_;
    Buffer* completion_;
};

SystemMemoryManager::SystemMemoryManager(int device_id, uint8_t) {
    static Device device(0);
    (void)device_id;
    issue_ = new Buffer(&device, 0x40000, 8192, 2048, 0);
    GraphTracker::instance().track_allocate(issue_);
    cq_ = new HWCommandQueue(&device, std::make_shared<CQSharedState>(), 3, NOC_0);
    completion_ = new Buffer(&device, 0x50000, 2048, 2048, 0);
    GraphTracker::instance().track_allocate(completion_);
}

SystemMemoryManager::~SystemMemoryManager() { delete cq_; }

}  // namespace tt::tt_metal

using namespace tt::tt_metal;

// The "application" side: allocations reported through the PLT, as in the
// real runtime.
extern "C" void* fake_allocate(int chip, uint64_t address, uint64_t size, int type) {
    static Device* devices[4];
    if (!devices[chip]) devices[chip] = new Device(chip);
    Buffer* b = new Buffer(devices[chip], address, size, 2048, type);
    GraphTracker::instance().track_allocate(b);
    return b;
}

extern "C" void fake_free(void* b) { GraphTracker::instance().track_deallocate(static_cast<Buffer*>(b)); }

extern "C" void* fake_sysmem() { return new SystemMemoryManager(0, 1); }

// With FAKE_EARLY=1, a buffer is allocated by this library's own static
// constructor: the hook may fire before libttmem.so's constructor ran.
#include <cstdlib>
namespace {
struct Early {
    Early() {
        const char* e = std::getenv("FAKE_EARLY");
        if (e && *e == '1') fake_allocate(2, 0x7000, 2048, 0);
    }
} early;
}  // namespace
extern "C" void fake_sysmem_destroy(void* s) { delete static_cast<SystemMemoryManager*>(s); }
