// Emulated tt-metal: the ground truth file (see ttemu_write_truth in ttemu.h).
//
// Written from what the allocators hold, not from what was reported, so a
// tracker can be checked against it.  The write is atomic (FILE.tmp, then
// rename): a reader never sees half a file.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <tt-metalium/allocator.hpp>

#include "impl/device_impl.hpp"
#include "impl/device_pool.hpp"
#include "ttemu.h"

using namespace tt::tt_metal;

namespace {

std::string truth_json() {
    std::string out = "{\"devices\":[";
    bool first = true;
    for (const auto& [id, device] : DevicePool::instance().chips()) {
        AllocatorUsage u;
        if (device->allocator()) u = device->allocator()->usage();
        char line[768];
        std::snprintf(
            line, sizeof line,
            "%s{\"device\":%d,\"DRAM\":%llu,\"L1\":%llu,\"L1_SMALL\":%llu,\"TRACE\":%llu,\"CB\":%llu,\"buffers\":%llu,"
            "\"DRAM_per_bank\":%llu,\"L1_per_bank\":%llu,\"L1_SMALL_per_bank\":%llu,\"TRACE_per_bank\":%llu}",
            first ? "" : ",", id, (unsigned long long)u.bytes[static_cast<int>(BufferType::DRAM)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::L1)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::L1_SMALL)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::TRACE)], (unsigned long long)u.cb_bytes,
            (unsigned long long)u.buffers, (unsigned long long)u.per_bank[static_cast<int>(BufferType::DRAM)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::L1)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::L1_SMALL)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::TRACE)]);
        out += line;
        first = false;
    }
    out += "]}\n";
    return out;
}

}  // namespace

extern "C" int ttemu_write_truth(void) {
    const char* path = std::getenv("TTEMU_TRUTH");
    if (path == nullptr || *path == '\0') return 0;
    const std::string json = truth_json();
    const std::string tmp = std::string(path) + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) return -errno;
    bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path) != 0) {
        int err = errno ? errno : EIO;
        std::remove(tmp.c_str());
        return -err;
    }
    return 0;
}

// At exit, after main returned and static objects were destroyed: what the
// process still holds (the leaks of a program that never closed its device).
__attribute__((destructor)) static void truth_at_exit() { ttemu_write_truth(); }
