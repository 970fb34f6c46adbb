/* SPDX-License-Identifier: MIT */
/*
 * Private to the ABI room's reader (reader.c: binding and buffers;
 * devices.c: device classes, meshes, chips, closes; allocators.c: the map
 * of allocators): the layout facts of the 2025 profile, the getters bound
 * at attach, and the state the three parts share.  Nothing outside abi/
 * includes it; the contract is abi.h.
 */
#ifndef TTMEM_ABI_READER_H
#define TTMEM_ABI_READER_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ttmem/segment.h"

#include "abi.h"
#include "abi_log.h"

_Static_assert(TTMEM_TYPE_DRAM == 0 && TTMEM_TYPE_L1 == 1 && TTMEM_TYPE_L1_SMALL == 3 &&
	       TTMEM_TYPE_TRACE == 4 && TTMEM_TYPE_CB == 5, "abi_space_of (abi.h) types");
_Static_assert(TTMEM_SPACE_DRAM == 0 && TTMEM_SPACE_L1 == 1 && TTMEM_SPACE_SYSTEM == 2 &&
	       TTMEM_SPACE_CB == 3, "abi_space_of (abi.h) spaces");

#define OFF_DEVICE     16
#define OFF_SIZE       24
#define OFF_TYPE       32
#define OFF_LAYOUT     36   /* buffer_layout_ (TensorMemoryLayout, int) */
#define OFF_ALLOCATOR  64
#define OFF_ADDRESS    80
#define OFF_PAGE_SIZE  88   /* page_size_ (uint64) */
#define VSLOT_ARCH     2
#define VSLOT_ID       3

/* The tt::ARCH values this profile knows (umd's arch.hpp, 2025). */
#define ARCH_FIRST     1   /* GRAYSKULL */
#define ARCH_LAST      4   /* QUASAR */

#define RTTI_CHIP "N2tt8tt_metal6DeviceE"
#define RTTI_MESH "N2tt8tt_metal11distributed10MeshDeviceE"

/* Getter results are read as full registers and narrowed here: address()
 * and num_pages() are 32-bit, the is_*() are bool. */
typedef uint64_t (*getter_fn)(const void *self);
struct std_vector { void **begin, **end, **cap; };
typedef struct std_vector (*get_devices_fn)(const void *mesh);
typedef void (*op_delete_fn)(void *p);
typedef int (*id_fn)(const void *dev);
typedef uint32_t (*arch_fn)(const void *dev);
typedef void *const *(*view_fn)(const void *impl);
/* Allocator geometry getters: the enum argument by reference (a pointer)
 * or, for get_alignment, by value. */
typedef uint64_t (*geo_u64_fn)(const void *alloc, const void *arg);
typedef uint32_t (*geo_u32_fn)(const void *alloc, const void *arg);
typedef uint32_t (*geo_val_fn)(const void *alloc, uint32_t arg);

enum read_mode { MODE_NONE = 0, MODE_FIELDS = 1, MODE_GETTERS = 2 };

struct reader_bound {
	_Atomic int bound;
	/* How buffers are read, published with `bound`: MODE_NONE until a
	 * generation is bound, so that nothing reads an object of a layout
	 * not yet known. */
	_Atomic int mode;
	const struct abi_generation *gen;
	int getters_only;                        /* gen->reading == ABI_READ_GETTERS */
	/* Read through getters, a known generation, and every getter an
	 * allocation asks exported: buffer_read_all_getters, no test each.
	 * Published (release) after mode, so that 1 implies MODE_GETTERS. */
	_Atomic int getters_all;
	getter_fn address, page_size, num_pages, is_dram, is_l1, is_trace;
	getter_fn device, allocator, size, type; /* exported from 2025b / 2026 on */
	getter_fn aligned_per_bank;              /* 0 where not exported */
	getter_fn layout;                        /* buffer_layout(): 2026 on */
	get_devices_fn get_devices;
	view_fn alloc_view;                      /* AllocatorImpl::view() */
	geo_u32_fn num_banks;                    /* Allocator's geometry getters */
	geo_u64_fn bank_size, base_addr;
	geo_val_fn alignment;
	op_delete_fn op_delete;
	const void *runtime_base;                /* load base of the runtime object */
};
/* The getters and profile bound at attach (abi_bind). */
extern struct reader_bound g;

static inline uint64_t field64(const void *obj, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)obj + off, sizeof(v));
	return v;
}

static inline const void *field_ptr(const void *obj, size_t off)
{
	const void *v;
	memcpy(&v, (const char *)obj + off, sizeof(v));
	return v;
}

/* Bumped by abi_device_forget (closes), by allocator bulk frees
 * (abi_allocator_take) and when the profile is switched off: voids every
 * thread's last chip, last check and remembered per-bank figures. */
extern atomic_uint forget_generation;

struct check_state {
	uintptr_t dev;          /* device of the last checked buffer */
	unsigned generation;    /* forget_generation when it was checked */
	unsigned countdown;     /* unchecked buffers left before the next check */
};

/*
 * A thread's buffers mostly live on one chip: the last chip pointer and its
 * id are kept per thread, valid while no device was closed since (a closed
 * device's address may be reused by a new device with another id).
 */
struct last_chip_state {
	uintptr_t dev;
	unsigned generation;
	uint32_t id;
};

/* One allocator's rule for a type (bank_memo.h): Buffer::aligned_size_per_bank()
 * of an interleaved buffer from the allocator's banks and alignment.  16
 * bytes, so that a slot is one shift away from the thread's block. */
struct bank_rule {
	uintptr_t key;          /* allocator | BufferType (BANK_RULE_KEY); 0: empty */
	unsigned generation;    /* forget_generation when it was learnt */
	uint16_t banks;         /* get_num_banks(type), 1..65535 */
	uint16_t align_mask;    /* get_alignment(type) - 1, a power of two <= 65536 */
};
#define BANK_RULE_SLOTS 4u   /* a power of two */

/* All of this file's per-thread state in one block: one TLS address per
 * event instead of one per variable. */
struct reader_tls {
	struct check_state check;
	struct last_chip_state chip;
	uintptr_t note_a, note_d;   /* allocator and device of the last note */
	unsigned note_forgets;      /* allocator_forgets when it was */
	uintptr_t valid_dev;        /* device last validated (foreign_device_valid) */
	unsigned valid_generation;  /* forget_generation when it was */
	struct bank_rule rules[BANK_RULE_SLOTS];
	unsigned bank_uses;         /* rule uses left before a check (getters) */
};
extern __thread struct reader_tls abi_tls __attribute__((tls_model("initial-exec")));

/* Shared between the parts (devices.c, allocators.c). */
extern pthread_mutex_t mesh_lock, alloc_lock;
int mesh_peek(uintptr_t dev, struct abi_chips *out, int32_t *mesh_id);
void allocators_forget_device(const void *device);
/* An allocator's bank count and alignment for a BufferType, from its
 * exported getters (the allocator of a buffer as reader.c reads it: the
 * AllocatorImpl field of 2025b is asked through its view).  Only for a
 * type the runtime has just asked the same allocator about. */
int allocator_bank_rule(const void *allocator, uint32_t type, uint32_t *banks, uint32_t *align);

#endif /* TTMEM_ABI_READER_H */
