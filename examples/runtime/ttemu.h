/*
 * Emulated tt-metal: a C API for clients that cannot call C++ (Python
 * through ctypes, as ttnn loads the runtime with dlopen), plus the
 * emulator's own test knobs.  Exported from libtt_metal.so.
 *
 * Errors: functions returning int or int64_t return a negative errno value
 * on failure: -EINVAL (bad argument or handle), -EBUSY (a chip is already
 * open), -ENOMEM (out of device memory), -EIO (any other runtime error);
 * ttemu_last_error() then gives the runtime's message, per thread.
 * Thread-safe.
 */
#ifndef TTEMU_H
#define TTEMU_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Buffer types: the values of tt::tt_metal::BufferType. */
enum { TTEMU_DRAM = 0, TTEMU_L1 = 1, TTEMU_L1_SMALL = 3, TTEMU_TRACE = 4 };

/* Opens chips 0..num_chips-1 as one MeshDevice.  l1_small_size is per core,
 * trace_region_size in all (0 and 0 are upstream's defaults, which leave no
 * room for L1_SMALL or TRACE buffers).  Returns a device handle >= 1. */
int ttemu_open_mesh(int num_chips, uint64_t l1_small_size, uint64_t trace_region_size);
/* Opens one chip with CreateDevice.  Returns a device handle >= 1. */
int ttemu_open_chip(int chip_id, uint64_t l1_small_size, uint64_t trace_region_size);
/* The DRAM and L1 bank counts of the chips opened from now on (0: the
 * default, 12 and 64), as a harvested part has fewer L1 banks than a full
 * one: the per-bank footprint of a buffer depends on its allocator's. */
void ttemu_set_banks(uint32_t dram_banks, uint32_t l1_banks);
/* Closes (MeshDevice::close or CloseDevice) and forgets the handle.  Buffers
 * still held stay valid handles; freeing them later reports nothing. */
int ttemu_close(int device);

/* Allocates `size` bytes (a multiple of page_size) of a type: a MeshBuffer
 * (S bytes on every chip) on a mesh, a Buffer on a chip.  Returns a buffer
 * handle >= 1.  L1_SMALL is height-sharded on 16 cores (the real runtime
 * refuses it interleaved). */
int64_t ttemu_alloc(int device, int buffer_type, uint64_t size, uint64_t page_size);
/* As ttemu_alloc, on a chip, height-sharded on `cores` L1 or L1_SMALL
 * banks (shard pages: the pages spread evenly, rounded up). */
int64_t ttemu_alloc_sharded(int device, int buffer_type, uint64_t size, uint64_t page_size,
                            uint32_t cores);
/* Drops the handle's buffer (the free is reported while the device is open). */
int ttemu_free(int64_t buffer);
/* The buffer's device address (first bank), or a negative errno. */
int64_t ttemu_address(int64_t buffer);

/* Launches a new program with num_cbs circular buffers of cb_size bytes per
 * core on the whole worker grid and kernel_bytes of kernel binaries (a DRAM
 * buffer), as a ttnn op does (track_program, hook_program, launch); the
 * program stays in the device's program cache until close.  Its CBs replace
 * those the device's chips held (see tt-metalium/program.hpp). */
int ttemu_run_program(int device, int num_cbs, uint64_t cb_size, uint64_t kernel_bytes);

/* Launches the program the caller keeps in the device's program cache under
 * `key` (any number, a stand-in for ttnn's program hash), as a ttnn op
 * whose program is cached: built with num_cbs CBs of cb_size bytes (as
 * ttemu_run_program) at the first launch under that key, launched again from
 * the cache at every later one (2025: no CB reported; 2025b/2026: the CB
 * free and the CBs reported again, as at every launch there); the arguments
 * after `key` are then ignored.  Returns 0 or a negative errno. */
int ttemu_run_cached_program(int device, uint64_t key, int num_cbs, uint64_t cb_size);

/* IDevice::id() of the handle (a mesh id for a mesh), or a negative errno. */
int ttemu_device_id(int device);
/* Number of chips behind the handle. */
int ttemu_num_chips(int device);

/* Writes the ground truth to $TTEMU_TRUTH (FILE.tmp, then renamed to FILE):
 *   {"devices":[{"device":0,"DRAM":b,"L1":b,"L1_SMALL":b,"TRACE":b,"CB":b,
 *                "buffers":n}, ...]}
 * one entry per chip this process has opened (closed ones read 0), sorted by
 * chip id; bytes are buffer sizes (a mesh buffer of S bytes counts S on every
 * chip; a circular buffer counts its per-core size); buffers counts the
 * buffers the chip's allocator holds (CBs excluded; a captured buffer holds
 * nothing and is not counted); CB is the sum of the CB sizes of the program
 * last launched on the chip (0 after close).  Per type also TYPE_peak, the
 * most the chip held at once in this process (across closes), and
 * TYPE_open_peak, its allocator's own (README.md).  Also written at exit.
 * Returns 0 (also when TTEMU_TRUTH is unset) or a negative errno. */
int ttemu_write_truth(void);

/* The last error message of the calling thread ("" if none). */
const char* ttemu_last_error(void);

/* Test knob: the next command-queue setup of a device open throws after
 * allocating after_buffers of its system buffers; -1 disarms.  One-shot.
 * G1/G2 ("2025", "2025b"): the HWCommandQueue constructor (0..8, after the
 * system memory manager's 3); G3 ("2026"): the dispatch program made by
 * Device::init_command_queue_device_with_topology (0..11, all of them). */
void ttemu_inject_cq_failure(int after_buffers);

/* Graph capture on the calling thread, as ttnn's NO_DISPATCH mode: until
 * ttemu_capture_end, a GraphTracker hook takes every allocation over (no
 * device memory, address 0; track_allocate is still called), every free of
 * such a buffer, and every program launch.  A real buffer freed while
 * capturing stays allocated until close (a warning on stderr), as upstream.
 * ttemu_capture_begin returns 0, or -EBUSY if the thread already captures.
 * Buffers captured and freed after ttemu_capture_end release nothing. */
int ttemu_capture_begin(void);
void ttemu_capture_end(void);

/* The generation this library emulates: "2025", "2025b" or "2026" (the
 * names of the build folders).  For tests of the emulator only: a tracker
 * must tell generations apart by what the library exports. */
const char* ttemu_generation(void);

/* A mesh's sub-device manager torn down mid-run and replaced: its
 * destructor frees in bulk, unreported, every mesh buffer still allocated
 * (the allocator's deallocate_buffers() and clear(), through the PLT, in
 * every generation); chip buffers stay.  Returns 0, or a negative errno
 * (-EINVAL: not a mesh handle). */
int ttemu_renew_sub_device_manager(int device);

/* GraphTracker calls so far in this process: track_allocate,
 * track_deallocate, track_allocate_cb, track_deallocate_cb. */
void ttemu_tracker_counts(uint64_t counts[4]);

#ifdef __cplusplus
}
#endif

#endif /* TTEMU_H */
