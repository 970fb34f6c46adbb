/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the ABI profile of the tt-metal runtime.
 *
 * Everything ttmem knows about tt-metal's binary interface is here and in the
 * one file that implements it (abi_tt_metal_2025.c): the mangled names of the
 * hooked functions and of the getters, the argument shapes of the hooks,
 * Buffer field offsets, the IDevice vtable slot of id(), and the RTTI names
 * of the chip and mesh device classes.  A future runtime with another layout
 * gets another profile file behind this same header.
 *
 * Profile "tt-metal 2025" (x86-64 SysV, Itanium C++ ABI, libstdc++, before
 * the 2026 Buffer pimpl refactor), see ../shared/RESEARCH.md section 1.
 *
 * Trust: field reads are cross-checked against the exported getters
 * (num_pages() * page_size() == size field, address() == low 32 bits of the
 * address field, type field a known buffer type).  The layout is a property
 * of the runtime binary, so the check is amortized: the first 256 buffers of
 * the process are all checked (a foreign layout is caught at its first
 * buffer); after that a thread checks one buffer in 64, plus every buffer
 * whose device pointer differs from the one of its last checked buffer, or
 * that was read after a device close, or whose size or type field looks
 * wrong.  So a device pointer read from a field is called through only after
 * a buffer carrying it passed the check.  The first disagreement switches
 * the profile off for the life of the process: one warning, and from then on
 * only getter values are reported (address, size, a coarse type), never the
 * device or allocator.
 *
 * Thread safety: every function may be called from any thread at any time
 * after abi_bind(); the caches inside are lock-free for readers.
 */
#ifndef TTMEM_PRELOAD_ABI_H
#define TTMEM_PRELOAD_ABI_H

#include <stdint.h>

/* ---- mangled names of the hooked functions ------------------------------- */

#define ABI_GT "_ZN2tt8tt_metal12GraphTracker"
#define ABI_SYM_TRACK_ALLOCATE      ABI_GT "14track_allocateEPKNS0_6BufferE"
#define ABI_SYM_TRACK_DEALLOCATE    ABI_GT "16track_deallocateEPNS0_6BufferE"
#define ABI_SYM_TRACK_ALLOCATE_CB   ABI_GT "17track_allocate_cbERKNS0_12CoreRangeSetEmmbPKNS0_7IDeviceE"
#define ABI_SYM_TRACK_DEALLOCATE_CB ABI_GT "19track_deallocate_cbEPKNS0_7IDeviceE"
/* Graph capture and program launches (see preload/capture.c, cb_model.c):
 * bool hook_allocate(const Buffer*); void track_program(Program*, const
 * IDevice*) and bool hook_program(Program*), which ttnn calls before every
 * op launch; Program's destructor (Program is a pimpl upstream, so its
 * destructor is out of line). */
#define ABI_SYM_HOOK_ALLOCATE       ABI_GT "13hook_allocateEPKNS0_6BufferE"
#define ABI_SYM_TRACK_PROGRAM       ABI_GT "13track_programEPNS0_7ProgramEPKNS0_7IDeviceE"
#define ABI_SYM_HOOK_PROGRAM        ABI_GT "12hook_programEPNS0_7ProgramE"
#define ABI_SYM_PROGRAM_D1          "_ZN2tt8tt_metal7ProgramD1Ev"
#define ABI_SYM_PROGRAM_D2          "_ZN2tt8tt_metal7ProgramD2Ev"

#define ABI_CQ "_ZN2tt8tt_metal14HWCommandQueue"
#define ABI_CQ_CTOR_ARGS "EPNS0_7IDeviceESt10shared_ptrINS0_13CQSharedStateEEjNS0_3NOCEj"
#define ABI_SYM_CQ_C1 ABI_CQ "C1" ABI_CQ_CTOR_ARGS
#define ABI_SYM_CQ_C2 ABI_CQ "C2" ABI_CQ_CTOR_ARGS
#define ABI_SYM_CQ_D0 ABI_CQ "D0Ev"
#define ABI_SYM_CQ_D1 ABI_CQ "D1Ev"
#define ABI_SYM_CQ_D2 ABI_CQ "D2Ev"

#define ABI_SMM "_ZN2tt8tt_metal19SystemMemoryManager"
#define ABI_SYM_SMM_C1 ABI_SMM "C1Eih"
#define ABI_SYM_SMM_C2 ABI_SMM "C2Eih"
#define ABI_SYM_SMM_D0 ABI_SMM "D0Ev"
#define ABI_SYM_SMM_D1 ABI_SMM "D1Ev"
#define ABI_SYM_SMM_D2 ABI_SMM "D2Ev"

#define ABI_SYM_DEVICE_CLOSE      "_ZN2tt8tt_metal6Device5closeEv"
#define ABI_SYM_MESH_CLOSE        "_ZN2tt8tt_metal11distributed10MeshDevice5closeEv"
#define ABI_SYM_ALLOC_BULK_FREE   "_ZN2tt8tt_metal9Allocator18deallocate_buffersEv"
#define ABI_SYM_ALLOC_CLEAR       "_ZN2tt8tt_metal9Allocator5clearEv"

/* ---- mangled names of the functions the preload calls ---------------------
 * The Buffer getters that cross-check every field read (abi_tt_metal_2025.c,
 * "Trust"), the ones that give a coarse type when fields are not trusted,
 * MeshDevice::get_devices (a mesh's chips) and the ::operator delete that
 * frees the vector it returns.  `ttmem probe` looks for the same names.
 */
#define ABI_BUF "_ZNK2tt8tt_metal6Buffer"
#define ABI_SYM_BUFFER_ADDRESS   ABI_BUF "7addressEv"
#define ABI_SYM_BUFFER_PAGE_SIZE ABI_BUF "9page_sizeEv"
#define ABI_SYM_BUFFER_NUM_PAGES ABI_BUF "9num_pagesEv"
#define ABI_SYM_BUFFER_IS_DRAM   ABI_BUF "7is_dramEv"
#define ABI_SYM_BUFFER_IS_L1     ABI_BUF "5is_l1Ev"
#define ABI_SYM_BUFFER_IS_TRACE  ABI_BUF "8is_traceEv"
#define ABI_SYM_MESH_GET_DEVICES "_ZNK2tt8tt_metal11distributed10MeshDevice11get_devicesEv"
#define ABI_SYM_OPERATOR_DELETE  "_ZdlPv"

/* ---- names `ttmem probe` reports for diagnosis only (never bound) --------- */

#define ABI_SYM_SUBDEV_D1        "_ZN2tt8tt_metal16SubDeviceManagerD1Ev"
#define ABI_SYM_SUBDEV_D2        "_ZN2tt8tt_metal16SubDeviceManagerD2Ev"
#define ABI_SYM_GT_INSTANCE      ABI_GT "8instanceEv"
#define ABI_SYM_ALLOCATE_IMPL    "_ZN2tt8tt_metal6Buffer13allocate_implEv"
#define ABI_SYM_DEALLOCATE_IMPL  "_ZN2tt8tt_metal6Buffer15deallocate_implEv"

/* ---- argument shapes of the hooked functions ------------------------------
 * Integer arguments narrower than a register are declared as full registers
 * (uint64_t): the hooks only pass them through, so no bits are lost whatever
 * the exact width.  A std::shared_ptr argument by value is passed by invisible
 * reference (it is not trivially copyable), hence a pointer.  A bool result
 * is returned in al.
 */
typedef void (*abi_track_fn)(void *tracker, void *buffer);
typedef void (*abi_track_cb_fn)(void *tracker, const void *core_ranges, uint64_t addr,
				uint64_t size, _Bool globally_allocated, const void *device);
typedef void (*abi_track_dev_fn)(void *tracker, const void *device);
typedef _Bool (*abi_hook_buffer_fn)(void *tracker, const void *buffer);
typedef void (*abi_track_program_fn)(void *tracker, void *program, const void *device);
typedef _Bool (*abi_hook_program_fn)(void *tracker, void *program);
typedef void (*abi_cq_ctor_fn)(void *self, void *device, void *shared_state_ref,
			       uint64_t cq_id, uint64_t noc, uint64_t reader_core);
typedef void (*abi_smm_ctor_fn)(void *self, uint64_t device_id, uint64_t num_hw_cqs);
typedef void (*abi_dtor_fn)(void *self);
typedef _Bool (*abi_close_fn)(void *self);
typedef void (*abi_allocator_fn)(void *self);

/* ---- reading the runtime's objects ---------------------------------------- */

/* Largest mesh ttmem fans out to (a Galaxy has 32-36 chips). */
#define ABI_MAX_CHIPS 64u

/* What abi_buffer_read could vouch for. */
#define ABI_T_ADDRESS    1u   /* full 64-bit address (else: 32-bit getter value) */
#define ABI_T_DEVICE     2u   /* device and allocator pointers */
#define ABI_T_TYPE       4u   /* exact buffer type (else: DRAM/L1/TRACE from getters) */

struct abi_buffer {
	uint64_t address;
	uint64_t size;             /* bytes per chip */
	const void *device;        /* IDevice*, NULL unless ABI_T_DEVICE */
	const void *allocator;     /* Allocator*, NULL unless ABI_T_DEVICE */
	uint8_t type;              /* enum ttmem_buffer_type */
	uint8_t trusted;           /* ABI_T_* */
};

/* The physical chips behind an IDevice*: one for a chip, N for a mesh. */
struct abi_chips {
	uint32_t n;
	uint8_t is_mesh;
	uint32_t id[ABI_MAX_CHIPS];
};

/*
 * Bind the getters of the runtime object `handle` (a dlopen handle of the
 * library that defines the hooked functions).  Returns 0, or -ENOENT when
 * the getters ttmem needs to validate reads are missing: then every
 * abi_buffer_read fails and the caller stays untracked (one warning here).
 * Idempotent; the first successful bind wins.
 */
int abi_bind(void *handle);

/*
 * Read a Buffer* reported by the runtime.  Returns 0 and fills *out, or -1
 * when nothing can be trusted (profile unbound, or size 0).  After the first
 * failed cross-check, out->trusted lacks ABI_T_DEVICE: the caller records the
 * entry under TTMEM_DEVICE_UNKNOWN.
 */
int abi_buffer_read(const void *buffer, struct abi_buffer *out);

/*
 * The same for a buffer being freed: only what its table key needs
 * (address, type, device), checked (when a check is due) against
 * address(); out->size is 0.
 */
int abi_buffer_key(const void *buffer, struct abi_buffer *out);

/* True once a cross-check failed (the process is only partly tracked). */
int abi_degraded(void);

/*
 * The physical chips of a device pointer.  Chips: id() through the vtable.
 * Meshes (told apart by the RTTI name of the dynamic type): the chips from
 * MeshDevice::get_devices(), cached per mesh and checked against id() on
 * every call.  Returns 0, or -1 when the pointer's type is not a known
 * device class and has no usable id() (never for real tt-metal objects).
 * Must not be called on a device that is being destroyed.
 */
int abi_device_chips(const void *device, struct abi_chips *out);

/*
 * The architecture (tt::ARCH value: WORMHOLE_B0 = 2; 0 = unknown) of each
 * chip of `chips`, as abi_device_chips() filled it for `device`, into
 * arch[0 .. chips->n).  Chips: IDevice::arch() through the vtable.  Meshes:
 * arch() of each chip get_devices() returns, matched by id(); the mesh's own
 * arch() for any chip not matched.  Devices of an unknown class get 0 (only
 * id() is vouched for there), and so does a value outside the tt::ARCH
 * values this profile knows (one warning).  Slow (virtual calls, and a heap
 * vector for a mesh): meant for once per chip per process.  Same
 * precondition as abi_device_chips.
 */
void abi_device_arch(const void *device, const struct abi_chips *chips, uint32_t *arch);

/*
 * Forget what the caches hold for `device` (call after a close: the object
 * may be destroyed and its address reused by a new device).
 */
void abi_device_forget(const void *device);

/*
 * Remember that `allocator` serves `device` (called for every tracked
 * buffer), and look it up again at a bulk free, when the device may be
 * closing and must not be called.  Returns 0 and the chips, or -1 if the
 * allocator was never seen.
 */
void abi_allocator_note(const void *allocator, const void *device, const struct abi_chips *chips);
int abi_allocator_chips(const void *allocator, struct abi_chips *out);

/* Space of the table key for a buffer type (enum ttmem_space): TRACE lives
 * in DRAM, L1_SMALL in L1; circular buffers have their own space. */
static inline uint8_t abi_space_of(uint8_t type)
{
	switch (type) {
	case 0: /* TTMEM_TYPE_DRAM */
	case 4: /* TTMEM_TYPE_TRACE */
		return 0; /* TTMEM_SPACE_DRAM */
	case 1: /* TTMEM_TYPE_L1 */
	case 3: /* TTMEM_TYPE_L1_SMALL */
		return 1; /* TTMEM_SPACE_L1 */
	case 5: /* TTMEM_TYPE_CB */
		return 3; /* TTMEM_SPACE_CB */
	default:
		return 2; /* TTMEM_SPACE_SYSTEM */
	}
}

/* fork: the mesh-cache lock (prepare takes it, parent/child release it). */
void abi_atfork_prepare(void);
void abi_atfork_release(void);

#endif /* TTMEM_PRELOAD_ABI_H */
