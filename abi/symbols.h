/* SPDX-License-Identifier: MIT */
/*
 * Part of the ABI room (abi.h is its contract): every mangled tt-metal name
 * ttmem knows, named once, for every runtime generation (GENERATIONS.md).
 * The preload's hooks (preload/hooks.c) are exported under these names,
 * the generation table (select.c, gen_*.c) identifies a runtime by them,
 * and `ttmem probe` looks for the same names in a library's .dynsym.
 *
 * Each name was checked by compiling its declaration with g++ 12 (x86-64,
 * Itanium C++ ABI, libstdc++); the declarations are those of the public
 * tt-metal trees named in GENERATIONS.md.  A generation tag after a name
 * says where it exists: G1 = "2025", G2 = "2025b", G3 = "2026".
 */
#ifndef TTMEM_ABI_SYMBOLS_H
#define TTMEM_ABI_SYMBOLS_H

/* ---- GraphTracker: every allocation and free (all generations) ----------- */

#define ABI_GT "_ZN2tt8tt_metal12GraphTracker"
#define ABI_SYM_TRACK_ALLOCATE      ABI_GT "14track_allocateEPKNS0_6BufferE"
#define ABI_SYM_TRACK_DEALLOCATE    ABI_GT "16track_deallocateEPNS0_6BufferE"
#define ABI_SYM_TRACK_ALLOCATE_CB   ABI_GT "17track_allocate_cbERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE"
#define ABI_SYM_TRACK_DEALLOCATE_CB ABI_GT "19track_deallocate_cbEPKNS0_7IDeviceE"
/* The same track_allocate_cb where CoreRangeSet was declared in the global
 * namespace (ttnn 0.59.0rc58's _ttnncpp.so: `const ::CoreRangeSet&`): same
 * arguments, another name. */
#define ABI_SYM_TRACK_ALLOCATE_CB_GNS ABI_GT "17track_allocate_cbERK12CoreRangeSetmmbPKNS0_7IDeviceE"
/* Program-scope L1 of G3 (ttnn 0.81.1 exports both; nothing in its wheel
 * calls them): void track_allocate_scratchpad(const CoreRangeSet&, uint64_t
 * addr, uint64_t size, const IDevice*), void track_allocate_dataflow_buffer(
 * const CoreRangeSet&, uint64_t addr, uint64_t size, bool borrows_memory,
 * const IDevice*).  Reported by `ttmem probe`, not hooked. */
#define ABI_SYM_TRACK_ALLOCATE_SCRATCHPAD \
	ABI_GT "25track_allocate_scratchpadERKNS0_12CoreRangeSetEmmPKNS0_7IDeviceE"
#define ABI_SYM_TRACK_ALLOCATE_DFB \
	ABI_GT "30track_allocate_dataflow_bufferERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE"
/* bool hook_allocate(const Buffer*): a capture hook swallowed the buffer;
 * void track_program(Program*, const IDevice*) and bool hook_program(Program*),
 * which ttnn calls before every op launch; Program's destructor (Program is
 * a pimpl upstream: out of line). */
#define ABI_SYM_HOOK_ALLOCATE       ABI_GT "13hook_allocateEPKNS0_6BufferE"
#define ABI_SYM_TRACK_PROGRAM       ABI_GT "13track_programEPNS0_7ProgramEPKNS0_7IDeviceE"
#define ABI_SYM_HOOK_PROGRAM        ABI_GT "12hook_programEPNS0_7ProgramE"
/* bool add_hook(const std::shared_ptr<IGraphHooks>&), void clear_hook(),
 * void clear(): whether a capture hook is installed; bool
 * hook_deallocate(Buffer*): whether a hook took a free over. */
#define ABI_SYM_ADD_HOOK            ABI_GT "8add_hookERKSt10shared_ptrINS0_11IGraphHooksEE"
#define ABI_SYM_CLEAR_HOOK          ABI_GT "10clear_hookEv"
#define ABI_SYM_GT_CLEAR            ABI_GT "5clearEv"
#define ABI_SYM_HOOK_DEALLOCATE     ABI_GT "15hook_deallocateEPNS0_6BufferE"
#define ABI_SYM_PROGRAM_D1          "_ZN2tt8tt_metal7ProgramD1Ev"
#define ABI_SYM_PROGRAM_D2          "_ZN2tt8tt_metal7ProgramD2Ev"
#define ABI_SYM_GT_INSTANCE         ABI_GT "8instanceEv"

/* ---- command queues: the owners of system buffers ---------------------------
 * G1: HWCommandQueue(IDevice*, std::shared_ptr<CQSharedState>, uint32_t, NOC,
 *     uint32_t), virtual out-of-line destructor.
 * Older trees: HWCommandQueue(IDevice*, uint32_t, NOC, uint32_t).
 * G3: HWCommandQueue(IDevice*, uint32_t, NOC), destructor `= default` in the
 *     header (inline: no exported D0/D1/D2); in one tree
 *     HWCommandQueue(ContextId, IDevice*, uint32_t, NOC).
 * The real G3 runtime (ttnn 0.81.1) and the 2026 2025b one (ttnn 0.70.1):
 *     HWCommandQueue(Device*, uint32_t, NOC): a Device*, not an IDevice*;
 *     no destructor exported.
 */
#define ABI_CQ "_ZN2tt8tt_metal14HWCommandQueue"
#define ABI_CQ_ARGS_2025 "EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj"
#define ABI_CQ_ARGS_4    "EPNS0_7IDeviceEjNS0_3NOCEj"
#define ABI_CQ_ARGS_2026 "EPNS0_7IDeviceEjNS0_3NOCE"
#define ABI_SYM_CQ_C1 ABI_CQ "C1" ABI_CQ_ARGS_2025
#define ABI_SYM_CQ_C2 ABI_CQ "C2" ABI_CQ_ARGS_2025
#define ABI_SYM_CQ4_C1 ABI_CQ "C1" ABI_CQ_ARGS_4
#define ABI_SYM_CQ4_C2 ABI_CQ "C2" ABI_CQ_ARGS_4
#define ABI_SYM_CQ26_C1 ABI_CQ "C1" ABI_CQ_ARGS_2026
#define ABI_SYM_CQ26_C2 ABI_CQ "C2" ABI_CQ_ARGS_2026
#define ABI_CQ_ARGS_DEV  "EPNS0_6DeviceEjNS0_3NOCE"
#define ABI_SYM_CQDEV_C1 ABI_CQ "C1" ABI_CQ_ARGS_DEV
#define ABI_SYM_CQDEV_C2 ABI_CQ "C2" ABI_CQ_ARGS_DEV
#define ABI_CQ_ARGS_CTX  "EN4ttsl10StrongTypeIiNS0_12ContextIdTagEEEPNS0_7IDeviceEjNS0_3NOCE"
#define ABI_SYM_CQCTX_C1 ABI_CQ "C1" ABI_CQ_ARGS_CTX
#define ABI_SYM_CQCTX_C2 ABI_CQ "C2" ABI_CQ_ARGS_CTX
#define ABI_SYM_CQ_D0 ABI_CQ "D0Ev"
#define ABI_SYM_CQ_D1 ABI_CQ "D1Ev"
#define ABI_SYM_CQ_D2 ABI_CQ "D2Ev"

/* ---- system memory managers --------------------------------------------------
 * G1/G2: SystemMemoryManager(ChipId, uint8_t).  G3: SystemMemoryManager(
 * ContextId, ChipId, uint8_t) with ContextId = ttsl::StrongType<int, struct
 * ContextIdTag> (the tag declared in tt::tt_metal).  Upstream declares no
 * destructor: the implicit one may be inline and not exported.
 */
#define ABI_SMM "_ZN2tt8tt_metal19SystemMemoryManager"
#define ABI_SYM_SMM_C1 ABI_SMM "C1Eih"
#define ABI_SYM_SMM_C2 ABI_SMM "C2Eih"
#define ABI_SMM_ARGS_2026 "EN4ttsl10StrongTypeIiNS0_12ContextIdTagEEEih"
#define ABI_SYM_SMM26_C1 ABI_SMM "C1" ABI_SMM_ARGS_2026
#define ABI_SYM_SMM26_C2 ABI_SMM "C2" ABI_SMM_ARGS_2026
#define ABI_SYM_SMM_D0 ABI_SMM "D0Ev"
#define ABI_SYM_SMM_D1 ABI_SMM "D1Ev"
#define ABI_SYM_SMM_D2 ABI_SMM "D2Ev"

/* ---- device open: the boundary of "system" where no owner constructor binds.
 * void Device::init_command_queue_host() builds the system memory manager
 * and the command queues; void Device::init_command_queue_device() (G1, G2)
 * or init_command_queue_device_with_topology(DispatchTopology*) (G3) builds
 * the dispatch programs, which G3 keeps until close.
 */
#define ABI_SYM_DEVICE_INIT_CQ_HOST   "_ZN2tt8tt_metal6Device23init_command_queue_hostEv"
#define ABI_SYM_DEVICE_INIT_CQ_DEVICE "_ZN2tt8tt_metal6Device25init_command_queue_deviceEv"
#define ABI_SYM_DEVICE_INIT_CQ_TOPO \
	"_ZN2tt8tt_metal6Device39init_command_queue_device_with_topologyEPNS0_16DispatchTopologyE"

/* ---- closes and bulk frees: what the runtime frees without reporting -------- */

#define ABI_SYM_DEVICE_CLOSE      "_ZN2tt8tt_metal6Device5closeEv"
#define ABI_SYM_MESH_CLOSE        "_ZN2tt8tt_metal11distributed10MeshDevice5closeEv"
/* G1: Allocator; G2: AllocatorImpl; G3: Device::close no longer calls them. */
#define ABI_SYM_ALLOC_BULK_FREE   "_ZN2tt8tt_metal9Allocator18deallocate_buffersEv"
#define ABI_SYM_ALLOC_CLEAR       "_ZN2tt8tt_metal9Allocator5clearEv"
#define ABI_SYM_ALLOCI_BULK_FREE  "_ZN2tt8tt_metal13AllocatorImpl18deallocate_buffersEv"
#define ABI_SYM_ALLOCI_CLEAR      "_ZN2tt8tt_metal13AllocatorImpl5clearEv"
/* G2/G3: const std::unique_ptr<Allocator>& AllocatorImpl::view() const, the
 * public view object Buffer::allocator() answers (not the AllocatorImpl). */
#define ABI_SYM_ALLOCI_VIEW       "_ZNK2tt8tt_metal13AllocatorImpl4viewEv"
/* Allocator's bank geometry (every generation: G1's Allocator, G2/G3's
 * view): get_num_banks(const BufferType&), get_bank_size(const
 * BufferType&), get_alignment(BufferType), get_base_allocator_addr(const
 * HalMemType&) with HalMemType L1 = 0, DRAM = 1. */
#define ABI_SYM_ALLOC_NUM_BANKS   "_ZNK2tt8tt_metal9Allocator13get_num_banksERKNS0_10BufferTypeE"
#define ABI_SYM_ALLOC_BANK_SIZE   "_ZNK2tt8tt_metal9Allocator13get_bank_sizeERKNS0_10BufferTypeE"
#define ABI_SYM_ALLOC_ALIGNMENT   "_ZNK2tt8tt_metal9Allocator13get_alignmentENS0_10BufferTypeE"
#define ABI_SYM_ALLOC_BASE_ADDR   "_ZNK2tt8tt_metal9Allocator23get_base_allocator_addrERKNS0_10HalMemTypeE"
#define HAL_MEM_L1   0u
#define HAL_MEM_DRAM 1u

/* ---- Buffer getters the preload calls ---------------------------------------
 * G1: address, page_size, num_pages, is_dram, is_l1, is_trace exported;
 *     device, size, buffer_type, allocator inline (hidden).
 * G2: as G1, plus allocator() out of line.
 * G3: pimpl; device, allocator, size, address, page_size, num_pages,
 *     buffer_type, is_dram, is_l1 and impl() exported; is_trace gone.
 * address() and num_pages() return uint32_t in every generation.
 */
#define ABI_BUF "_ZNK2tt8tt_metal6Buffer"
#define ABI_SYM_BUFFER_ADDRESS     ABI_BUF "7addressEv"
#define ABI_SYM_BUFFER_PAGE_SIZE   ABI_BUF "9page_sizeEv"
#define ABI_SYM_BUFFER_NUM_PAGES   ABI_BUF "9num_pagesEv"
#define ABI_SYM_BUFFER_IS_DRAM     ABI_BUF "7is_dramEv"
#define ABI_SYM_BUFFER_IS_L1       ABI_BUF "5is_l1Ev"
#define ABI_SYM_BUFFER_IS_TRACE    ABI_BUF "8is_traceEv"
#define ABI_SYM_BUFFER_DEVICE      ABI_BUF "6deviceEv"
#define ABI_SYM_BUFFER_ALLOCATOR   ABI_BUF "9allocatorEv"
#define ABI_SYM_BUFFER_SIZE        ABI_BUF "4sizeEv"
#define ABI_SYM_BUFFER_TYPE        ABI_BUF "11buffer_typeEv"
#define ABI_SYM_BUFFER_IMPL        ABI_BUF "4implEv"
/* DeviceAddr aligned_size_per_bank() const: exported by every wheel seen
 * (ttnn 0.65.0, 0.70.1, 0.81.1); the unit of the allocator's statistics. */
#define ABI_SYM_BUFFER_ALIGNED_PER_BANK ABI_BUF "21aligned_size_per_bankEv"
/* TensorMemoryLayout buffer_layout() const: exported by ttnn 0.81.1 (G3);
 * inline in 0.65.0 and 0.70.1, whose field is read instead (OFF_LAYOUT). */
#define ABI_SYM_BUFFER_LAYOUT      ABI_BUF "13buffer_layoutEv"

#define ABI_SYM_MESH_GET_DEVICES "_ZNK2tt8tt_metal11distributed10MeshDevice11get_devicesEv"
#define ABI_SYM_OPERATOR_DELETE  "_ZdlPv"
#define ABI_SYM_OPERATOR_NEW     "_Znwm"   /* operator new(size_t), LP64 */

/* ---- reported by `ttmem probe` for diagnosis only (never bound) ------------- */

#define ABI_SYM_SUBDEV_D1        "_ZN2tt8tt_metal16SubDeviceManagerD1Ev"
#define ABI_SYM_SUBDEV_D2        "_ZN2tt8tt_metal16SubDeviceManagerD2Ev"
#define ABI_SYM_ALLOCATE_IMPL    "_ZN2tt8tt_metal6Buffer13allocate_implEv"
#define ABI_SYM_DEALLOCATE_IMPL  "_ZN2tt8tt_metal6Buffer15deallocate_implEv"

#endif /* TTMEM_ABI_SYMBOLS_H */
