/* SPDX-License-Identifier: MIT */
/*
 * The ABI room: everything ttmem knows about the binary interface of the
 * tt-metal runtime, behind this one header.  Shared by the preload library
 * (libttmem.so) and by `ttmem probe`.
 *
 *   symbols.h      every mangled name, named once, per generation
 *   gen_2025.c     generation "2025"  (G1): the 2025 Buffer layout, Allocator bulk frees
 *   gen_2025b.c    generation "2025b" (G2): same layout, AllocatorImpl bulk frees
 *   gen_2026.c     generation "2026"  (G3): 24-byte pimpl Buffer, exported getters
 *   select.c       the table of generations and how a runtime is matched to one
 *   reader.c       reading the runtime's objects (preload only: calls into it)
 *   GENERATIONS.md the facts per generation, with their sources
 *
 * A runtime's generation is identified by the symbols it exports, never by
 * a version string (abi_generation_select).  A new generation gets a file
 * of its own and a row in select.c's table.
 *
 * Binding (reader.c): every runtime function the reader calls is looked up
 * in the runtime object and its dependencies only (dlsym on its handle),
 * never in the process's global scope, where another library's copy of an
 * inline getter of another tt-metal may answer first; ::operator delete is
 * the global scope's, used only when it comes from the same library as the
 * global scope's ::operator new.  A device pointer answered by a runtime of
 * no known generation is called through only after its vtable is found in
 * the runtime object with the RTTI name of a Device or MeshDevice.
 *
 * Trust (reader.c): where a Buffer field has an exported getter it is read
 * through the getter; only where the getter is inline (hidden) is the field
 * read at its offset, and then only on a generation whose layout is known
 * to have that field inside the object, cross-checked against the exported
 * getters (num_pages() * page_size() == size field, page_size() == page
 * size field, address() == low 32 bits of the address field, type field a
 * known buffer type; the layout field, which no getter exports there, is
 * read at the offset the runtime's own aligned_size_per_bank() reads it
 * at, and only decides whether the per-bank figure is computed from the
 * allocator's rule or asked of the runtime).  G1's address()
 * returns 32 bits of a 64-bit field: the field is read, checked against it.
 * The check is amortized: the first 256 buffers of the process are all
 * checked (a foreign layout is caught at its first buffer); after that a
 * thread checks one buffer in 64, plus every buffer whose device pointer
 * differs from the one of its last checked buffer, or that was read after a
 * device close, or whose size or type field looks wrong.  So a device
 * pointer read from a field is called through only after a buffer carrying
 * it passed the check.  The first disagreement switches field reading off
 * for the life of the process: one warning, and from then on only getter
 * values are reported (address, size, a coarse type), never the device or
 * allocator.  A generation read through getters alone (2026, or a runtime
 * that matches no known generation) never reads the object at all.
 *
 * Thread safety: every reader function may be called from any thread at any
 * time after abi_bind(); the caches inside are lock-free for readers.  The
 * generation table is constant.
 */
#ifndef TTMEM_ABI_ABI_H
#define TTMEM_ABI_ABI_H

#include <stdint.h>

#include "symbols.h"

/* ---- generations -------------------------------------------------------------- */

/* Bit per known generation, for tables that say where a name exists. */
#define ABI_GEN_2025   1u   /* G1 */
#define ABI_GEN_2025B  2u   /* G2 */
#define ABI_GEN_2026   4u   /* G3 */
#define ABI_GEN_ALL    (ABI_GEN_2025 | ABI_GEN_2025B | ABI_GEN_2026)

/* How Buffer fields are read on a generation (reader.c). */
enum abi_reading {
	/* The 2025 layout: fields at fixed offsets inside the object, each
	 * cross-checked against the exported getters; a field that has an
	 * exported getter on this generation is read through it. */
	ABI_READ_FIELDS_2025 = 0,
	/* Exported getters only: the object itself is never read. */
	ABI_READ_GETTERS = 1,
};

struct abi_generation {
	const char *name;             /* "2025", "2025b", "2026"; "unknown" */
	uint32_t bit;                 /* ABI_GEN_*, 0 for unknown */
	const char *marks;            /* one line: what identifies it */
	/* NULL-terminated: every name in `exports` is exported and none in
	 * `lacks` is. */
	const char *const *exports;
	const char *const *lacks;
	enum abi_reading reading;
	/* One line each, for `ttmem probe` and the preload's messages. */
	const char *owners;           /* how system buffers get their owner */
	const char *close;            /* how what close frees silently is released */
};

/* Whether the runtime exports `name` (dlsym in the preload, .dynsym in probe). */
typedef int (*abi_exported_fn)(void *ctx, const char *name);

/* The known generations, newest first; NULL-terminated. */
extern const struct abi_generation *const abi_generations[];
/* The profile for a runtime that matches none: getters only. */
extern const struct abi_generation abi_generation_unknown;

/*
 * The generation of the runtime whose exports `exported` answers for: the
 * first of abi_generations whose marks all hold, else &abi_generation_unknown.
 * Never NULL.  Pure (no I/O, no allocation).
 */
const struct abi_generation *abi_generation_select(abi_exported_fn exported, void *ctx);

/*
 * Getters the getter-only reading would use but the runtime lacks, as a
 * comma-separated list of what each costs ("Buffer::device() (chips
 * unknown)"), into buf; returns the number missing.  For the one warning
 * on a runtime of an unknown generation, and for `ttmem probe`.
 */
unsigned abi_getters_missing(abi_exported_fn exported, void *ctx, char *buf, unsigned len);

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
typedef _Bool (*abi_add_hook_fn)(void *tracker, const void *hook_shared_ptr);
typedef void (*abi_tracker_fn)(void *tracker);
/* Constructors of every shape seen (CQ: 3 to 5 arguments, SMM: 2 or 3, all
 * of integer class): the hook passes every integer argument register on,
 * so one shape serves them all. */
typedef void (*abi_ctor_fn)(void *self, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			    uint64_t a5);
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
	uint64_t page_size;        /* 0 unknown (frees: not read) */
	uint64_t bank_bytes;       /* Buffer::aligned_size_per_bank(): what the
				    * allocator holds in each bank it spans;
				    * 0 where not exported (frees: not read) */
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
 * Identify the generation of the runtime object `handle` (a dlopen handle of
 * the library that defines the hooked functions) and bind its getters.
 * Returns 0, or -ENOENT when Buffer::address() is not exported: then every
 * abi_buffer_read fails and the caller stays untracked (one warning here).
 * A runtime of no known generation gets one warning naming what is missing.
 * Idempotent; the first successful bind wins.  Preload only (reader.c).
 */
int abi_bind(void *handle);

/* The generation bound by abi_bind (NULL before). */
const struct abi_generation *abi_bound_generation(void);

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

/* True when the bound generation is read through getters (2026, unknown):
 * a free must not call them (the Buffer is being destroyed), so the
 * preload keys frees on what the allocation recorded. */
int abi_frees_by_record(void);

/* The key under which the buffers of AllocatorImpl `impl` were noted (what
 * its bulk frees release): on a generation read through getters, whose
 * Buffer::allocator() answers the AllocatorImpl's view, the view (through
 * the exported AllocatorImpl::view(); NULL when it is not exported); else
 * `impl` itself (2025b reads the allocator_ field, an AllocatorImpl*). */
const void *abi_allocator_impl_key(const void *impl);

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
 * buffer), and take it back at a bulk free, when the device may be closing
 * and must not be called: abi_allocator_take returns 0 and the chips, or -1
 * if the allocator is not known, and forgets it (it holds nothing now; its
 * next buffer notes it again).  abi_device_forget forgets the allocators of
 * a closed device, so only those of open devices are remembered.
 */
void abi_allocator_note(const void *allocator, const void *device, const struct abi_chips *chips);
int abi_allocator_take(const void *allocator, struct abi_chips *out);

/*
 * The bank geometry of buffer type `type` (DRAM or L1) from `allocator` as
 * abi_buffer_read filled it: one bank's allocatable range [base, base +
 * size), through the Allocator's exported get_base_allocator_addr(
 * HalMemType) and get_bank_size(BufferType), its get_num_banks and
 * get_alignment (on 2025b through the AllocatorImpl's exported view()).
 * Returns 0, or -1 when a getter is not exported, the process is only
 * partly tracked, or the type has no base of its own (L1_SMALL and TRACE
 * share their bank with L1 and DRAM: not answered).  Same precondition as
 * abi_device_chips; slow: once per chip and type per process.
 */
struct abi_geometry {
	uint64_t base, size;
	uint32_t banks, alignment;
};
int abi_allocator_geometry(const void *allocator, uint8_t type, struct abi_geometry *out);

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

#endif /* TTMEM_ABI_ABI_H */
