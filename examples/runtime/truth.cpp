// Emulated tt-metal: the ground truth file (see ttemu_write_truth in ttemu.h).
//
// Written from what the allocators hold, not from what was reported, so a
// tracker can be checked against it.  The write is atomic (FILE.tmp, then
// rename): a reader never sees half a file.
#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include <tt-metalium/allocator.hpp>

#include "impl/device_impl.hpp"
#include "impl/device_pool.hpp"
#include "ttemu.h"

using namespace tt::tt_metal;

namespace {

// Per chip: the peaks of the allocators it had, DRAM..TRACE then CB.
// Never destroyed: the truth is also written at exit, after static
// objects are gone (truth_at_exit below).
struct Peaks {
    std::mutex mutex;
    std::map<int, std::array<uint64_t, 6>> by_chip;
};
Peaks& peaks() {
    static Peaks* p = new Peaks;
    return *p;
}

std::array<uint64_t, 6> merge_peaks(int chip, const AllocatorUsage* u) {
    Peaks& all = peaks();
    std::lock_guard<std::mutex> lock(all.mutex);
    std::array<uint64_t, 6>& p = all.by_chip[chip];
    if (u) {
        for (size_t t = 0; t < 5; t++) p[t] = std::max(p[t], u->peak[t]);
        p[5] = std::max(p[5], u->cb_peak);
    }
    return p;
}

std::string truth_json() {
    std::string out = "{\"devices\":[";
    bool first = true;
    for (const auto& [id, device] : DevicePool::instance().chips()) {
        AllocatorUsage u;
        if (device->allocator()) u = device->allocator()->usage();
        // TYPE_peak: the most of the type the chip held at once in this
        // process, across its opens.
        const std::array<uint64_t, 6> pk = merge_peaks(id, device->allocator() ? &u : nullptr);
        // Per bank type, flat (every reader parses "key":number pairs):
        // TYPE_largest_free and TYPE_free, one bank's largest hole and the
        // sum of its holes (every bank of a type holds the same layout),
        // and TYPE_capacity, one bank's allocatable bytes x the banks.
        std::string per_type;
        static const BufferType kinds[] = {BufferType::DRAM, BufferType::L1, BufferType::L1_SMALL,
                                           BufferType::TRACE};
        static const char* const names[] = {"DRAM", "L1", "L1_SMALL", "TRACE"};
        for (size_t k = 0; k < 4; k++) {
            DeviceAllocator::FreeList fl;
            uint64_t cap = 0;
            if (const auto& a = device->allocator()) {
                fl = a->free_list(kinds[k]);
                cap = a->bank_size(kinds[k]) * a->num_banks(kinds[k]);
            }
            char part[256];
            std::snprintf(part, sizeof part, ",\"%s_largest_free\":%llu,\"%s_free\":%llu,\"%s_capacity\":%llu",
                          names[k], (unsigned long long)fl.largest, names[k], (unsigned long long)fl.total, names[k],
                          (unsigned long long)cap);
            per_type += part;
        }
        char line[768];
        std::snprintf(
            line, sizeof line,
            "%s{\"device\":%d,\"DRAM\":%llu,\"L1\":%llu,\"L1_SMALL\":%llu,\"TRACE\":%llu,\"CB\":%llu,\"buffers\":%llu,"
            "\"DRAM_per_bank\":%llu,\"L1_per_bank\":%llu,\"L1_SMALL_per_bank\":%llu,\"TRACE_per_bank\":%llu",
            first ? "" : ",", id, (unsigned long long)u.bytes[static_cast<int>(BufferType::DRAM)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::L1)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::L1_SMALL)],
            (unsigned long long)u.bytes[static_cast<int>(BufferType::TRACE)], (unsigned long long)u.cb_bytes,
            (unsigned long long)u.buffers, (unsigned long long)u.per_bank[static_cast<int>(BufferType::DRAM)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::L1)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::L1_SMALL)],
            (unsigned long long)u.per_bank[static_cast<int>(BufferType::TRACE)]);
        // TYPE_open_peak: the same, of the chip's allocator alone (its
        // current open's; while closed, 0 or the last open's where the
        // generation keeps the allocator).
        char peak_part[512];
        std::snprintf(peak_part, sizeof peak_part,
                      ",\"DRAM_peak\":%llu,\"L1_peak\":%llu,\"L1_SMALL_peak\":%llu,\"TRACE_peak\":%llu,\"CB_peak\":%llu"
                      ",\"DRAM_open_peak\":%llu,\"L1_open_peak\":%llu,\"L1_SMALL_open_peak\":%llu"
                      ",\"TRACE_open_peak\":%llu,\"CB_open_peak\":%llu",
                      (unsigned long long)pk[0], (unsigned long long)pk[1], (unsigned long long)pk[3],
                      (unsigned long long)pk[4], (unsigned long long)pk[5], (unsigned long long)u.peak[0],
                      (unsigned long long)u.peak[1], (unsigned long long)u.peak[3], (unsigned long long)u.peak[4],
                      (unsigned long long)u.cb_peak);
        out += line;
        out += per_type + peak_part + "}";
        first = false;
    }
    out += "]}\n";
    return out;
}

}  // namespace

void ttemu_truth_note_peaks(int chip, const AllocatorUsage& usage) { merge_peaks(chip, &usage); }

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
