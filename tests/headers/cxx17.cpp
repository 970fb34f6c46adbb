// SPDX-License-Identifier: MIT
// The public headers in C++17, as tt-metal's users (C++) include them: they
// compile warning-free with -Wall -Wextra -Werror -pedantic, and the layout a
// C++ reader sees is the C writers' (the offsets segment.h asserts in C,
// checked again here in C++, and the sizes of the atomic words).
#include <cstddef>

#include "ttmem/segment.h"
#include "ttmem/table.h"

static_assert(sizeof(ttmem_header) == TTMEM_HEADER_SIZE, "header size in C++");
static_assert(sizeof(ttmem_slot) == 64, "slot size in C++");
static_assert(sizeof(ttmem_proc) == 1024, "proc size in C++");
static_assert(sizeof(ttmem_device_info) == 512, "device size in C++");
static_assert(sizeof(ttmem_stack) == 128, "stack size in C++");
static_assert(offsetof(ttmem_header, ready) == 116, "ready in C++");
static_assert(offsetof(ttmem_header, clear_epoch) == 168, "clear_epoch in C++");
static_assert(offsetof(ttmem_device_info, geometry) == 160, "geometry in C++");
static_assert(offsetof(ttmem_proc, live_at_exit) == 624, "live_at_exit in C++");
static_assert(offsetof(ttmem_slot, page_size) == 56, "page_size in C++");

// Reading the segment from C++ the way the header says: an acquire load of
// `ready`, relaxed loads of counters; and the table API's types.
uint32_t cxx_ready(const ttmem_header* h) { return h->ready.load(std::memory_order_acquire); }
uint64_t cxx_events(const ttmem_header* h) { return h->counters.events.load(std::memory_order_relaxed); }
int cxx_open(const char* name, ttmem_table** t) { return ttmem_table_open(t, name, nullptr, nullptr, 0); }

int main() { return 0; }
