// Tests of the emulated runtime that run in-process: what they read from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ttemu.h"

namespace th {

// GraphTracker calls so far: 0 allocate, 1 deallocate, 2 allocate_cb,
// 3 deallocate_cb.
inline uint64_t tracker_count(int which) {
    uint64_t c[4];
    ttemu_tracker_counts(c);
    return c[which];
}

// The bytes at base + offset, as a tracker reads an object it does not know.
template <typename T>
T field(const void* base, size_t offset) {
    T v;
    std::memcpy(&v, static_cast<const char*>(base) + offset, sizeof v);
    return v;
}

}  // namespace th
