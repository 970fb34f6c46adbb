/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: graph capture is not device memory.
 *
 * ttnn's graph capture (RunMode::NO_DISPATCH, used for memory estimates)
 * installs a GraphTracker hook; Buffer::allocate_impl asks
 * GraphTracker::hook_allocate(this) and, when the hook takes the
 * allocation over, gives the buffer no device memory (address 0,
 * hooked_allocation_) yet still calls track_allocate(this) on the same
 * thread; the buffer's free is reported with track_deallocate as usual
 * (tenstorrent/tt-metal tt_metal/impl/buffers/buffer.cpp, see
 * abi/GENERATIONS.md "Capture and circular buffers").
 *
 * Two signals, either one suffices:
 *  - the hook_allocate wrapper notes, per thread, the buffer a hook took
 *    over; the track_allocate that follows on that thread is skipped;
 *  - address 0: no allocator hands it out (the lowest addresses of every
 *    DRAM and L1 bank are reserved), so an allocation or free reported at
 *    address 0 is a captured buffer.  This covers runtimes where
 *    hook_allocate is not exported or its call is inlined (an LTO build).
 * A captured buffer is neither recorded nor, when freed, looked up: its
 * free is not an unmatched free.  Thread-safe (per-thread state and one
 * atomic flag).
 */
#ifndef TTMEM_PRELOAD_CAPTURE_H
#define TTMEM_PRELOAD_CAPTURE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The buffer whose allocation a hook took over on this thread, until the
 * track_allocate that follows reads it. */
extern __thread const void *capture_hooked_buffer __attribute__((tls_model("initial-exec")));

/* hook_allocate(buffer) returned true on this thread. */
void capture_note_hooked(const void *buffer);

/* Whether the allocation of `buffer`, read at `address`, was captured;
 * forgets the thread's note. */
static inline int capture_allocation_swallowed(const void *buffer, uint64_t address)
{
	if (__builtin_expect(capture_hooked_buffer != NULL, 0)) {
		int hooked = capture_hooked_buffer == buffer;

		capture_hooked_buffer = NULL;
		if (hooked)
			return 1;
	}
	return address == 0;
}

/* Whether a free reported at `address` is that of a captured buffer. */
static inline int capture_free_swallowed(uint64_t address)
{
	return address == 0;
}

/*
 * A real buffer freed on a capturing thread: upstream reports its free
 * (track_deallocate), then the hook takes the free over (hook_deallocate
 * returns true) and the allocator keeps the memory until close (recent
 * trees warn; older ones abort).  While any thread has a hook installed
 * (add_hook succeeded, no clear_hook/clear since), the tracker keeps the
 * entries a free removed, per thread, until hook_deallocate says whether
 * the free really happened; if a hook took it over, they go back.
 */
extern atomic_int capture_hooks_installed;

static inline int capture_hook_installed(void)
{
	return atomic_load_explicit(&capture_hooks_installed, memory_order_relaxed) != 0;
}

/* add_hook succeeded / clear_hook or clear ran. */
void capture_hook_added(void);
void capture_hook_cleared(void);

#endif /* TTMEM_PRELOAD_CAPTURE_H */
