// Emulated tt-metal: which runtime generation this build emulates.
//
// One source tree, three generations of upstream's ABI (abi/GENERATIONS.md).
// The build sets TTEMU_GEN (1, 2 or 3; 1 when unset); everything that
// differs between generations is selected here, by what it is about, and
// every other file asks these switches instead of the generation number
// (check-examples fails on a test of TTEMU_GEN anywhere else):
//
//                                 G1 "2025"   G2 "2025b"      G3 "2026"
//   allocator class               Allocator   AllocatorImpl   AllocatorImpl
//   allocator destructor virtual  yes         no              no
//   Buffer::allocator() answers   Allocator   the view        the view
//                                             (a distinct Allocator owned by the AllocatorImpl)
//   Buffer::allocator() exported  no          yes             yes
//   Buffer is a 24-byte pimpl     no          no              yes
//   chip close drops allocator    no          yes             yes
//   2026 dispatch (command queue, system memory manager, open path)
//                                 no          yes             yes
//   CB frees reported             no          yes             yes
//   Buffer::is_l1() exported      no          no              no
//   interleaved L1_SMALL refused  no          yes             yes
//   scratchpad, dataflow-buffer   no          no              yes
//     events exported (uncalled)
//
// G2 is what the real runtime of ttnn 0.70.1 is (abi/GENERATIONS.md, "The
// real runtime"): G1's Buffer with G3's owners, open path and chip close.
//
// What a program built against one generation can rely on in every other
// (the workloads are built once, against G1): the IDevice vtable, the
// MeshDevice, MeshBuffer, Program and host API, Buffer::create and the
// Buffer getters that are exported in all three.  Never the header-inline
// Buffer getters: they read fields that G3 moved behind a pointer.
#pragma once

#ifndef TTEMU_GEN
#define TTEMU_GEN 1
#endif

#if TTEMU_GEN == 1
#define TTEMU_GEN_NAME "2025"
#define TTEMU_ALLOCATOR Allocator
#elif TTEMU_GEN == 2
#define TTEMU_GEN_NAME "2025b"
#define TTEMU_ALLOCATOR AllocatorImpl
#elif TTEMU_GEN == 3
#define TTEMU_GEN_NAME "2026"
#define TTEMU_ALLOCATOR AllocatorImpl
#else
#error "TTEMU_GEN must be 1 (2025), 2 (2025b) or 3 (2026)"
#endif

// The allocator's destructor is virtual (G1's Allocator: exported D0, D1,
// D2) instead of plain (upstream's AllocatorImpl: D1, D2, no deleting D0).
#define TTEMU_ALLOCATOR_VIRTUAL_DTOR (TTEMU_GEN == 1)
// The AllocatorImpl owns a separate public view object, class Allocator
// (std::unique_ptr<Allocator> view_, exported view()), and Buffer::allocator()
// returns the view: its address is not the AllocatorImpl's.
#define TTEMU_ALLOCATOR_VIEW (TTEMU_GEN >= 2)
// Buffer::allocator() is out of line (exported) instead of header-inline.
#define TTEMU_BUFFER_ALLOCATOR_EXPORTED (TTEMU_GEN >= 2)
// Buffer holds only std::unique_ptr<BufferImpl> (24 bytes); every getter is
// out of line, is_trace() is gone, impl() is exported; allocate_impl and
// deallocate_impl are no Buffer members any more.
#define TTEMU_BUFFER_PIMPL (TTEMU_GEN >= 3)
// Device::close destroys the allocator with whatever it still holds (no
// bulk free, no reports); a chip has no sub-device manager.  Seen in the
// Device::close of ttnn 0.70.1 (G2) and 0.81.1 (G3).
#define TTEMU_CLOSE_DROPS_ALLOCATOR (TTEMU_GEN >= 2)
// HWCommandQueue(Device*, uint32_t, NOC) with an inline destructor,
// SystemMemoryManager(ContextId, ChipId, uint8_t); neither allocates: the
// system buffers are made by Device::init_command_queue_device_with_topology.
// Exported so by ttnn 0.70.1 (G2) and 0.81.1 (G3).
#define TTEMU_DISPATCH_2026 (TTEMU_GEN >= 2)
// ProgramImpl::deallocate_circular_buffers reports GraphTracker::
// track_deallocate_cb (called from 0.70.1 on; never in 0.59/0.65).
#define TTEMU_CB_FREE_REPORTS_DEFAULT (TTEMU_GEN >= 2)
// GraphTracker::track_allocate_scratchpad and track_allocate_dataflow_buffer
// are exported (ttnn 0.81.1), and nothing calls them (nor in its wheel).
#define TTEMU_PROGRAM_L1_EVENTS (TTEMU_GEN >= 3)
// The allocator refuses an interleaved L1_SMALL buffer ("L1_SMALL only
// supports sharded allocations": ttnn 0.70.1 and 0.81.1).
#define TTEMU_L1_SMALL_SHARDED_ONLY (TTEMU_GEN >= 2)

namespace tt::tt_metal {
class TTEMU_ALLOCATOR;
// What Buffer::allocator() returns: the allocator itself in G1, its view
// in G2/G3.
class Allocator;
// The allocator class of this generation, by the name the code uses.
using DeviceAllocator = TTEMU_ALLOCATOR;
}  // namespace tt::tt_metal
