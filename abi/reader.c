/* SPDX-License-Identifier: MIT */
/*
 * Reading the runtime's objects, per generation (see abi.h for the contract
 * and the trust rules, GENERATIONS.md for where each fact comes from).  The
 * only file that knows object layouts.  Built into the preload only.
 *
 *   Buffer of the 2025 layout (generations 2025 and 2025b; class Buffer
 *   final : enable_shared_from_this<Buffer>, 16-byte base):
 *     +16 device_ (IDevice*)   +24 size_ (uint64)     +32 buffer_type_ (int)
 *     +64 allocator_ (Allocator* / AllocatorImpl*)    +80 address_ (uint64)
 *   Buffer of 2026: 24 bytes, never read (getters only).
 *   IDevice vtable: slot 2 (byte 16) is `tt::ARCH arch() const` (an enum
 *     class over int: GRAYSKULL 1, WORMHOLE_B0 2, BLACKHOLE 3, QUASAR 4),
 *     slot 3 (byte 24) is `ChipId id() const` (int).
 *   RTTI (vptr[-1] is a std::type_info: {vptr, const char *name}):
 *     chip "N2tt8tt_metal6DeviceE", mesh "N2tt8tt_metal11distributed10MeshDeviceE".
 *   MeshDevice::get_devices() const returns std::vector<IDevice*> by value
 *     (SysV: a 24-byte struct in memory, hidden result pointer), whose storage
 *     the caller frees with ::operator delete(void*).
 */
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
#define OFF_ALLOCATOR  64
#define OFF_ADDRESS    80
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

enum read_mode { MODE_NONE = 0, MODE_FIELDS = 1, MODE_GETTERS = 2 };

static struct {
	_Atomic int bound;
	/* How buffers are read, published with `bound`: MODE_NONE until a
	 * generation is bound, so that nothing reads an object of a layout
	 * not yet known. */
	_Atomic int mode;
	const struct abi_generation *gen;
	int getters_only;                        /* gen->reading == ABI_READ_GETTERS */
	getter_fn address, page_size, num_pages, is_dram, is_l1, is_trace;
	getter_fn device, allocator, size, type; /* exported from 2025b / 2026 on */
	getter_fn aligned_per_bank;              /* 0 where not exported */
	get_devices_fn get_devices;
	view_fn alloc_view;                      /* AllocatorImpl::view() */
	op_delete_fn op_delete;
	const void *runtime_base;                /* load base of the runtime object */
} g;

static atomic_int degraded;

/*
 * A runtime getter, from the runtime object alone: dlsym on its handle
 * searches it and the libraries it depends on (and finds it when it was
 * dlopen'ed RTLD_LOCAL), never the rest of the process.  RTLD_DEFAULT would
 * answer with any object's copy of the name: an application or extension
 * built against another tt-metal exports weak out-of-line copies of inline
 * getters, which read another layout.
 */
static void *sym(void *handle, const char *name)
{
	return dlsym(handle, name);
}

/*
 * The ::operator delete the runtime's own calls bind to: the global scope's
 * first (an allocator interposed there, e.g. ASan's, pairs it with its
 * operator new), else the one of the runtime's scope.  It must come from the
 * object whose ::operator new(size_t) the runtime's allocations bind to
 * (the vector get_devices() returns is allocated there): a library that
 * exports a lone operator delete is never used.
 */
static op_delete_fn bind_operator_delete(void *handle)
{
	void *del = dlsym(RTLD_DEFAULT, ABI_SYM_OPERATOR_DELETE);
	void *nw = dlsym(RTLD_DEFAULT, ABI_SYM_OPERATOR_NEW);
	Dl_info di_del, di_new;

	if (!del || !nw) {
		del = dlsym(handle, ABI_SYM_OPERATOR_DELETE);
		nw = dlsym(handle, ABI_SYM_OPERATOR_NEW);
	}
	if (!del || !nw || !dladdr(del, &di_del) || !dladdr(nw, &di_new) ||
	    di_del.dli_fbase != di_new.dli_fbase) {
		abi_warn_once("::operator delete and ::operator new(size_t) do not come from one "
			      "library: MeshDevice::get_devices is not used");
		return NULL;
	}
	return (op_delete_fn)del;
}

/* Exported by the runtime object itself (or a library it depends on): not
 * RTLD_DEFAULT, where this library's own hooks would answer. */
static int runtime_exports(void *handle, const char *name)
{
	return dlsym(handle, name) != NULL;
}

const struct abi_generation *abi_bound_generation(void)
{
	return atomic_load_explicit(&g.bound, memory_order_acquire) ? g.gen : NULL;
}

int abi_bind(void *handle)
{
	if (atomic_load_explicit(&g.bound, memory_order_acquire))
		return 0;
	g.gen = abi_generation_select(runtime_exports, handle);
	g.getters_only = g.gen->reading == ABI_READ_GETTERS;
	g.address = (getter_fn)sym(handle, ABI_SYM_BUFFER_ADDRESS);
	g.page_size = (getter_fn)sym(handle, ABI_SYM_BUFFER_PAGE_SIZE);
	g.num_pages = (getter_fn)sym(handle, ABI_SYM_BUFFER_NUM_PAGES);
	g.is_dram = (getter_fn)sym(handle, ABI_SYM_BUFFER_IS_DRAM);
	g.is_l1 = (getter_fn)sym(handle, ABI_SYM_BUFFER_IS_L1);
	g.is_trace = (getter_fn)sym(handle, ABI_SYM_BUFFER_IS_TRACE);
	g.device = (getter_fn)sym(handle, ABI_SYM_BUFFER_DEVICE);
	g.allocator = (getter_fn)sym(handle, ABI_SYM_BUFFER_ALLOCATOR);
	g.size = (getter_fn)sym(handle, ABI_SYM_BUFFER_SIZE);
	g.type = (getter_fn)sym(handle, ABI_SYM_BUFFER_TYPE);
	g.aligned_per_bank = (getter_fn)sym(handle, ABI_SYM_BUFFER_ALIGNED_PER_BANK);
	g.get_devices = (get_devices_fn)sym(handle, ABI_SYM_MESH_GET_DEVICES);
	g.alloc_view = (view_fn)sym(handle, ABI_SYM_ALLOCI_VIEW);
	g.op_delete = bind_operator_delete(handle);
	{
		Dl_info di;

		g.runtime_base = g.address && dladdr((void *)g.address, &di) ? di.dli_fbase : NULL;
	}
	if (!g.address || (!g.size && (!g.num_pages || !g.page_size))) {
		abi_warn_once("the tt-metal runtime does not export Buffer::address() and size() "
			      "(or num_pages() and page_size()): buffers are not tracked");
		return -ENOENT;
	}
	if (!g.getters_only && (!g.num_pages || !g.page_size)) {
		/* The field reads could not be checked: read through getters. */
		g.getters_only = 1;
	}
	if (g.gen == &abi_generation_unknown) {
		char missing[512];

		if (abi_getters_missing(runtime_exports, handle, missing, sizeof(missing)))
			abi_warn("the tt-metal runtime matches no known generation (2025, 2025b, "
				 "2026): tracked through its exported getters alone; missing: %s",
				 missing);
		else
			abi_warn("the tt-metal runtime matches no known generation (2025, 2025b, "
				 "2026): tracked through its exported getters alone");
	}
	else if (!g.get_devices || !g.op_delete)
		abi_warn_once("MeshDevice::get_devices is not exported: mesh buffers are "
			      "recorded on the mesh id only");
	abi_debug("tt-metal runtime generation %s (%s): Buffer read through %s", g.gen->name,
		  g.gen->marks, g.getters_only ? "its exported getters" : "cross-checked fields");
	atomic_store_explicit(&g.bound, 1, memory_order_release);
	atomic_store_explicit(&g.mode, g.getters_only ? MODE_GETTERS : MODE_FIELDS,
			      memory_order_release);
	return 0;
}

const void *abi_allocator_impl_key(const void *impl)
{
	if (!impl || atomic_load_explicit(&g.mode, memory_order_acquire) != MODE_GETTERS)
		return impl;
	if (!g.alloc_view)
		return NULL;
	void *const *view = g.alloc_view(impl);   /* the unique_ptr: its pointer first */
	return view ? *view : NULL;
}

int abi_frees_by_record(void)
{
	return atomic_load_explicit(&g.mode, memory_order_acquire) == MODE_GETTERS;
}

int abi_degraded(void)
{
	return atomic_load_explicit(&degraded, memory_order_relaxed);
}

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

static uint8_t coarse_type(const void *b)
{
	if (g.is_trace && (g.is_trace(b) & 0xff))
		return TTMEM_TYPE_TRACE;
	if (g.is_dram && (g.is_dram(b) & 0xff))
		return TTMEM_TYPE_DRAM;
	if (g.is_l1 && (g.is_l1(b) & 0xff))
		return TTMEM_TYPE_L1;
	return TTMEM_TYPE_SYSTEM_MEMORY;
}

/*
 * Cross-checks (abi.h, "Trust").  The layout is a property of the runtime
 * binary, not of a buffer: the first CHECK_FIRST buffers of the process are
 * all checked against the getters, which proves the profile (or switches it
 * off) at the very first buffer.  After that a thread checks one buffer in
 * CHECK_EVERY, every buffer whose device pointer is not the one of its last
 * checked buffer, every buffer read after a device close, and every buffer
 * whose size (allocations) or type field looks wrong: a device pointer read
 * from a field is only ever called through (abi_device_chips) after a buffer
 * carrying it passed the check.  The countdown and the last checked device
 * are per thread, so the unchecked path writes no shared cache line; it
 * reads one shared word, forget_generation.
 */
#define CHECK_FIRST 256u
#define CHECK_EVERY 64u

static atomic_uint checks_passed;        /* saturates at CHECK_FIRST */
/* Bumped by abi_device_forget (closes) and when the profile is switched
 * off: voids every thread's last chip and last check. */
static atomic_uint forget_generation;

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

/* All of this file's per-thread state in one block: one TLS address per
 * event instead of one per variable. */
static __thread struct {
	struct check_state check;
	struct last_chip_state chip;
	uintptr_t note_a, note_d;   /* allocator and device of the last note */
	unsigned note_forgets;      /* allocator_forgets when it was */
	uintptr_t valid_dev;        /* device last validated (foreign_device_valid) */
	unsigned valid_generation;  /* forget_generation when it was */
} abi_tls __attribute__((tls_model("initial-exec")));

/* The allocator of a buffer of the 2025 layout: the allocator_ field
 * (2025: an Allocator*, 2025b: an AllocatorImpl*, the object whose bulk
 * frees are hooked), read only for a buffer that passed the check.  Never
 * 2025b's exported Buffer::allocator(): it answers the AllocatorImpl's view,
 * another object. */
static inline const void *allocator_of(const void *b)
{
	return field_ptr(b, OFF_ALLOCATOR);
}

/* An allocation's page size and what the allocator holds per bank, through
 * the getters (never for a free: the Buffer may be half destroyed). */
static inline void read_bank_facts(const void *b, struct abi_buffer *out, int with_size)
{
	out->page_size = with_size && g.page_size ? g.page_size(b) : 0;
	out->bank_bytes = with_size && g.aligned_per_bank ? g.aligned_per_bank(b) : 0;
}

static void fill_coarse(const void *b, struct abi_buffer *out, uint64_t addr32, uint64_t size)
{
	out->address = addr32;
	out->size = size;
	out->type = coarse_type(b);
	out->device = NULL;
	out->allocator = NULL;
	out->trusted = 0;
}

/* Read through the getters, and check the fields against them while the
 * profile is trusted. */
static __attribute__((noinline)) int buffer_read_checked(const void *b, struct abi_buffer *out,
							 int with_size)
{
	uint64_t size = 0, addr32;
	/* Read before `degraded`, which is set before forget_generation is
	 * bumped: a check that passes while the profile is being switched
	 * off is remembered under a generation that is already void. */
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);

	if (!atomic_load_explicit(&g.bound, memory_order_acquire))
		return -1;
	if (with_size) {
		size = (g.num_pages(b) & 0xffffffffu) * g.page_size(b);
		if (size == 0)
			return -1;
	}
	addr32 = g.address(b) & 0xffffffffu;
	if (!atomic_load_explicit(&degraded, memory_order_relaxed)) {
		uint64_t size_f = field64(b, OFF_SIZE);
		uint64_t addr_f = field64(b, OFF_ADDRESS);
		uint32_t type_f = (uint32_t)field64(b, OFF_TYPE);

		if ((!with_size || size_f == size) && (addr_f & 0xffffffffu) == addr32 &&
		    type_f <= TTMEM_TYPE_TRACE) {
			out->address = addr_f;
			out->size = size;
			out->type = (uint8_t)type_f;
			out->device = field_ptr(b, OFF_DEVICE);
			out->allocator = allocator_of(b);
			out->trusted = ABI_T_ADDRESS | ABI_T_DEVICE | ABI_T_TYPE;
			read_bank_facts(b, out, with_size);
			/* While the process has passed fewer than CHECK_FIRST
			 * checks, the thread's next buffer is due at once. */
			unsigned passed = atomic_load_explicit(&checks_passed, memory_order_relaxed);
			if (passed < CHECK_FIRST)
				passed = atomic_fetch_add_explicit(&checks_passed, 1,
								   memory_order_relaxed) + 1;
			abi_tls.check = (struct check_state){ (uintptr_t)out->device, gen,
				passed < CHECK_FIRST ? 1u : CHECK_EVERY };
			return 0;
		}
		if (!atomic_exchange(&degraded, 1)) {
			/* Void every thread's remembered check: its next
			 * buffer comes here and finds the profile off. */
			atomic_fetch_add_explicit(&forget_generation, 1, memory_order_release);
			abi_warn("tt-metal Buffer layout is not the one of generation %s (size field %llu vs "
				 "num_pages*page_size %llu, address field 0x%llx vs address() 0x%llx): "
				 "no longer reading fields; buffers are recorded without their device",
				 g.gen->name, (unsigned long long)size_f, (unsigned long long)size,
				 (unsigned long long)addr_f, (unsigned long long)addr32);
		}
	}
	fill_coarse(b, out, addr32, size);
	read_bank_facts(b, out, with_size);
	return 0;
}

/*
 * A device pointer answered by the Buffer::device() of a runtime of no
 * known generation, validated before anything reads or calls through it:
 * its first word is read without faulting (process_vm_readv on this
 * process), must point into the runtime object (a vtable of its own), and
 * the vtable's RTTI must name a tt-metal Device or MeshDevice.  Anything
 * else is not a device this reader knows how to ask: the buffer is
 * recorded without its chip.  One validated pointer per thread is
 * remembered until a device closes.
 */
static int safe_read_word(const void *addr, uintptr_t *out)
{
	struct iovec local = { out, sizeof(*out) };
	struct iovec remote = { (void *)(uintptr_t)addr, sizeof(*out) };

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*out) ? 0 : -1;
}

static int in_runtime(const void *p)
{
	Dl_info di;

	return dladdr(p, &di) && g.runtime_base && di.dli_fbase == g.runtime_base;
}

static int rtti_names_device(uintptr_t vptr)
{
	Dl_info di;
	const void *ti;
	const char *name;

	if (vptr % sizeof(void *) || !in_runtime((const void *)vptr) ||
	    !in_runtime((const void *)(vptr - sizeof(void *))))
		return 0;
	ti = ((const void *const *)vptr)[-1];
	if (!ti || (uintptr_t)ti % sizeof(void *) || !dladdr(ti, &di) ||
	    !dladdr((const char *)ti + sizeof(void *), &di))
		return 0;
	name = field_ptr(ti, sizeof(void *));
	if (!name || !dladdr(name, &di))
		return 0;
	if (*name == '*')
		name++;
	return !strcmp(name, RTTI_CHIP) || !strcmp(name, RTTI_MESH);
}

static __attribute__((noinline)) int foreign_device_valid(const void *dev)
{
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);
	uintptr_t vptr;

	if (abi_tls.valid_dev == (uintptr_t)dev && abi_tls.valid_generation == gen)
		return 1;
	if ((uintptr_t)dev % sizeof(void *) || safe_read_word(dev, &vptr) != 0 ||
	    !rtti_names_device(vptr)) {
		abi_warn_once("Buffer::device() of this tt-metal runtime answered %p, which is not a "
			      "tt-metal Device or MeshDevice: buffers are recorded without their chip",
			      dev);
		return 0;
	}
	abi_tls.valid_dev = (uintptr_t)dev;
	abi_tls.valid_generation = gen;
	return 1;
}

/*
 * Generations without the 2025 layout (2026, unknown): every value from an
 * exported getter, the object itself never read.  A getter vouches for its
 * own value: no cross-check, and the device is trusted when device() is
 * exported.  address() is 32-bit in every generation.
 */
static __attribute__((noinline)) int buffer_read_getters(const void *b, struct abi_buffer *out,
							 int with_size)
{
	uint64_t size = 0;

	if (!atomic_load_explicit(&g.bound, memory_order_acquire))
		return -1;
	if (with_size) {
		size = g.size ? g.size(b) : (g.num_pages(b) & 0xffffffffu) * g.page_size(b);
		if (size == 0)
			return -1;
	}
	out->address = g.address(b) & 0xffffffffu;
	out->size = size;
	out->trusted = 0;
	read_bank_facts(b, out, with_size);
	if (g.type) {
		uint32_t t = (uint32_t)g.type(b);

		out->type = t <= TTMEM_TYPE_TRACE ? (uint8_t)t : TTMEM_TYPE_SYSTEM_MEMORY;
		out->trusted |= ABI_T_TYPE;
	} else {
		out->type = coarse_type(b);
	}
	out->device = NULL;
	out->allocator = NULL;
	if (g.device) {
		out->device = (const void *)(uintptr_t)g.device(b);
		if (out->device && g.gen == &abi_generation_unknown &&
		    !foreign_device_valid(out->device))
			out->device = NULL;
		/* Only allocations note their allocator (for bulk frees). */
		out->allocator = with_size && g.allocator ?
					 (const void *)(uintptr_t)g.allocator(b) : NULL;
		if (out->device)
			out->trusted |= ABI_T_DEVICE;
	}
	return 0;
}

/* Every read the unchecked path does not take: by the bound generation's
 * reading (none bound yet: nothing is read). */
static __attribute__((noinline)) int buffer_read_slow(const void *b, struct abi_buffer *out,
						      int with_size)
{
	int mode = atomic_load_explicit(&g.mode, memory_order_acquire);

	if (mode == MODE_FIELDS)
		return buffer_read_checked(b, out, with_size);
	return mode == MODE_GETTERS ? buffer_read_getters(b, out, with_size) : -1;
}

static inline int buffer_read(const void *b, struct abi_buffer *out, int with_size)
{
	const void *dev;
	uint64_t size_f;
	uint32_t type_f;
	struct check_state *cs = &abi_tls.check;

	if (!b)
		return -1;
	/* A thread remembers a checked device only once a generation read
	 * by fields is bound and one of its buffers passed the check: until
	 * then (no generation yet, or one read through getters) nothing is
	 * read from the object here. */
	if (__builtin_expect(cs->dev == 0, 0))
		return buffer_read_slow(b, out, with_size);
	dev = field_ptr(b, OFF_DEVICE);
	size_f = field64(b, OFF_SIZE);
	type_f = (uint32_t)field64(b, OFF_TYPE);
	/* Unchecked: a buffer that looks sane, on the device of this thread's
	 * last checked buffer, while no check is due.  A remembered check
	 * implies the getters were bound; switching the profile off bumps
	 * forget_generation, which voids every thread's remembered check. */
	if (__builtin_expect((uintptr_t)dev == cs->dev && type_f <= TTMEM_TYPE_TRACE &&
			     (!with_size || size_f != 0) &&
			     cs->generation == atomic_load_explicit(&forget_generation,
								    memory_order_relaxed) &&
			     cs->countdown-- > 1, 1)) {
		out->address = field64(b, OFF_ADDRESS);
		out->size = with_size ? size_f : 0;
		out->type = (uint8_t)type_f;
		out->device = dev;
		out->allocator = allocator_of(b);
		out->trusted = ABI_T_ADDRESS | ABI_T_DEVICE | ABI_T_TYPE;
		read_bank_facts(b, out, with_size);
		return 0;
	}
	return buffer_read_slow(b, out, with_size);
}

int abi_buffer_read(const void *b, struct abi_buffer *out)
{
	return buffer_read(b, out, 1);
}

int abi_buffer_key(const void *b, struct abi_buffer *out)
{
	return buffer_read(b, out, 0);
}

/* ---- device classes, by vtable ---------------------------------------------
 * The dynamic type of a device is read once per vtable from its RTTI name and
 * remembered: after that, telling a chip from a mesh is one load and a few
 * compares.
 */
enum dev_kind { KIND_NONE = 0, KIND_CHIP = 1, KIND_MESH = 2, KIND_OTHER = 3 };

#define NVTABLES 16
static struct {
	_Atomic uintptr_t vptr;
	atomic_int kind;
} vtables[NVTABLES];

static enum dev_kind kind_from_rtti(uintptr_t vptr)
{
	const void *ti = ((const void *const *)vptr)[-1];
	const char *name;

	if (!ti)
		return KIND_OTHER;
	name = field_ptr(ti, sizeof(void *));
	if (!name)
		return KIND_OTHER;
	if (*name == '*')
		name++;
	if (!strcmp(name, RTTI_CHIP))
		return KIND_CHIP;
	if (!strcmp(name, RTTI_MESH))
		return KIND_MESH;
	abi_warn_once("device of unknown class %s: recorded under its id()", name);
	return KIND_OTHER;
}

static enum dev_kind device_kind(const void *dev)
{
	uintptr_t vptr = (uintptr_t)field_ptr(dev, 0);
	enum dev_kind k;

	for (unsigned i = 0; i < NVTABLES; i++) {
		uintptr_t v = atomic_load_explicit(&vtables[i].vptr, memory_order_acquire);
		if (v == vptr) {
			k = atomic_load_explicit(&vtables[i].kind, memory_order_relaxed);
			if (k != KIND_NONE)
				return k;
			break;
		}
		if (v == 0)
			break;
	}
	k = kind_from_rtti(vptr);
	for (unsigned i = 0; i < NVTABLES; i++) {
		uintptr_t expect = 0;
		if (atomic_compare_exchange_strong(&vtables[i].vptr, &expect, vptr) ||
		    expect == vptr) {
			atomic_store_explicit(&vtables[i].kind, k, memory_order_relaxed);
			break;
		}
	}
	return k;
}

static inline int device_id(const void *dev)
{
	const id_fn *vt = field_ptr(dev, 0);
	return vt[VSLOT_ID](dev);
}

/* ---- mesh cache --------------------------------------------------------------
 * get_devices() builds a std::vector (heap), far too slow per event, so each
 * mesh's chips are cached.  Readers are lock-free (a per-entry sequence
 * counter, odd while written); writers hold mesh_lock.  An entry is checked
 * against the mesh's id() on every use and dropped by abi_device_forget().
 */
#define NMESHES 32
struct mesh_entry {
	_Atomic uintptr_t dev;
	_Atomic uint32_t seq;
	_Atomic int32_t mesh_id;
	_Atomic uint32_t n;
	_Atomic uint32_t id[ABI_MAX_CHIPS];
};
static struct mesh_entry meshes[NMESHES];
static pthread_mutex_t mesh_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned mesh_victim;

/* Copy the cached chips of `dev`; 1 on a consistent hit. */
static int mesh_peek(uintptr_t dev, struct abi_chips *out, int32_t *mesh_id)
{
	for (unsigned i = 0; i < NMESHES; i++) {
		struct mesh_entry *m = &meshes[i];

		if (atomic_load_explicit(&m->dev, memory_order_acquire) != dev)
			continue;
		for (int tries = 0; tries < 16; tries++) {
			uint32_t s1 = atomic_load_explicit(&m->seq, memory_order_acquire);
			if (s1 & 1)
				continue;
			uint32_t n = atomic_load_explicit(&m->n, memory_order_relaxed);
			if (n > ABI_MAX_CHIPS)
				n = ABI_MAX_CHIPS;
			for (uint32_t c = 0; c < n; c++)
				out->id[c] = atomic_load_explicit(&m->id[c], memory_order_relaxed);
			*mesh_id = atomic_load_explicit(&m->mesh_id, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&m->seq, memory_order_relaxed) == s1 &&
			    atomic_load_explicit(&m->dev, memory_order_relaxed) == dev) {
				out->n = n;
				out->is_mesh = 1;
				return 1;
			}
		}
		return 0;
	}
	return 0;
}

static void mesh_store(uintptr_t dev, int32_t mesh_id, const struct abi_chips *c)
{
	struct mesh_entry *m = NULL;

	pthread_mutex_lock(&mesh_lock);
	for (unsigned i = 0; i < NMESHES && !m; i++)
		if (atomic_load_explicit(&meshes[i].dev, memory_order_relaxed) == dev)
			m = &meshes[i];
	for (unsigned i = 0; i < NMESHES && !m; i++)
		if (atomic_load_explicit(&meshes[i].dev, memory_order_relaxed) == 0)
			m = &meshes[i];
	if (!m)
		m = &meshes[mesh_victim++ % NMESHES];
	atomic_fetch_add_explicit(&m->seq, 1, memory_order_relaxed);   /* odd: writing */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&m->dev, dev, memory_order_relaxed);
	atomic_store_explicit(&m->mesh_id, mesh_id, memory_order_relaxed);
	atomic_store_explicit(&m->n, c->n, memory_order_relaxed);
	for (uint32_t i = 0; i < c->n; i++)
		atomic_store_explicit(&m->id[i], c->id[i], memory_order_relaxed);
	atomic_fetch_add_explicit(&m->seq, 1, memory_order_release);   /* even: done */
	pthread_mutex_unlock(&mesh_lock);
}

static int mesh_resolve(const void *dev, struct abi_chips *out)
{
	int32_t cached_id, id = device_id(dev);

	if (mesh_peek((uintptr_t)dev, out, &cached_id) && cached_id == id)
		return 0;
	if (!g.get_devices || !g.op_delete) {
		out->n = 1;
		out->is_mesh = 1;
		out->id[0] = (uint32_t)id;
		return 0;
	}
	struct std_vector v = g.get_devices(dev);
	size_t n = v.begin ? (size_t)(v.end - v.begin) : 0;

	if (n > ABI_MAX_CHIPS) {
		abi_warn_once("a mesh of %lu chips: only the first %u are tracked",
			      (unsigned long)n, ABI_MAX_CHIPS);
		n = ABI_MAX_CHIPS;
	}
	out->n = 0;
	out->is_mesh = 1;
	for (size_t i = 0; i < n; i++)
		if (v.begin[i])
			out->id[out->n++] = (uint32_t)device_id(v.begin[i]);
	if (v.begin)
		g.op_delete(v.begin);
	if (out->n == 0)
		return -1;
	mesh_store((uintptr_t)dev, id, out);
	return 0;
}

static __attribute__((noinline)) int device_chips_slow(const void *dev, struct abi_chips *out,
							unsigned gen)
{
	switch (device_kind(dev)) {
	case KIND_MESH:
		return mesh_resolve(dev, out);
	case KIND_CHIP:
	case KIND_OTHER:
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = (uint32_t)device_id(dev);
		abi_tls.chip = (struct last_chip_state){ (uintptr_t)dev, gen, out->id[0] };
		return 0;
	default:
		return -1;
	}
}

/* Inlined into the tracker (LTO): the hit is a few loads and compares. */
__attribute__((always_inline)) inline int abi_device_chips(const void *dev, struct abi_chips *out)
{
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);

	if (!dev)
		return -1;
	if (__builtin_expect(abi_tls.chip.dev == (uintptr_t)dev &&
			     abi_tls.chip.generation == gen, 1)) {
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = abi_tls.chip.id;
		return 0;
	}
	return device_chips_slow(dev, out, gen);
}

/* arch() of a device of a known class; 0 when the value is not a known
 * tt::ARCH (a layout this profile does not describe). */
static uint32_t device_arch(const void *dev)
{
	const arch_fn *vt = field_ptr(dev, 0);
	uint32_t a = vt[VSLOT_ARCH](dev);

	if (a >= ARCH_FIRST && a <= ARCH_LAST)
		return a;
	abi_warn_once("IDevice::arch() returned %u, not a tt::ARCH value of the 2025 profile: "
		      "chips are published without their architecture", a);
	return 0;
}

void abi_device_arch(const void *dev, const struct abi_chips *c, uint32_t *arch)
{
	enum dev_kind k;
	uint32_t mesh_arch = 0;
	int mesh_arch_read = 0;

	for (uint32_t i = 0; i < c->n; i++)
		arch[i] = 0;
	if (!dev || c->n == 0)
		return;
	k = device_kind(dev);
	if (k == KIND_CHIP) {
		for (uint32_t i = 0; i < c->n; i++)
			arch[i] = device_arch(dev);
		return;
	}
	if (k != KIND_MESH)
		return;
	if (g.get_devices && g.op_delete) {
		struct std_vector v = g.get_devices(dev);
		size_t n = v.begin ? (size_t)(v.end - v.begin) : 0;

		for (size_t j = 0; j < n; j++) {
			const void *chip = v.begin[j];
			uint32_t id;

			if (!chip || device_kind(chip) != KIND_CHIP)
				continue;
			id = (uint32_t)device_id(chip);
			for (uint32_t i = 0; i < c->n; i++)
				if (c->id[i] == id && arch[i] == 0)
					arch[i] = device_arch(chip);
		}
		if (v.begin)
			g.op_delete(v.begin);
	}
	/* Chips get_devices() did not name (or no get_devices at all: the
	 * mesh is recorded under its own id): the mesh's arch(). */
	for (uint32_t i = 0; i < c->n; i++)
		if (arch[i] == 0) {
			if (!mesh_arch_read) {
				mesh_arch = device_arch(dev);
				mesh_arch_read = 1;
			}
			arch[i] = mesh_arch;
		}
}

/* ---- allocators ----------------------------------------------------------------
 * Allocator::deallocate_buffers() says nothing about its device, and runs
 * while the device is closing (no virtual calls then).  So every tracked
 * buffer notes allocator -> device, with the chip id (or -1 for a mesh,
 * whose chips are in the mesh cache), in an open-addressed map.
 *
 * The map holds the allocators of open devices only: a device's entries go
 * at its close (abi_device_forget), an allocator's at its bulk free (it
 * then holds nothing; its next buffer notes it again).  So a process that
 * opens and closes devices for hours never fills it: that takes more than
 * NALLOCATORS allocators of devices open at once, four per chip the
 * segment can name (a chip has one, a mesh one more, sub-device managers
 * may add some).
 *
 * Entries never move.  Writers (inserts, updates, deletions: the slow path
 * of a note, closes, bulk frees) hold alloc_lock; readers are lock-free,
 * each entry behind a sequence counter (odd while written), as the mesh
 * cache.  A deletion just empties its slot: a lookup does not stop at an
 * empty slot but scans the max_probe + 1 slots from the hash, max_probe
 * being the longest displacement an insert ever used (it only grows).  No
 * tombstones, no shifting under a reader, and at the loads of real hosts a
 * lookup reads a few slots.
 */
#define NALLOCATORS (4u * TTMEM_MAX_DEVICES)
struct allocator_entry {
	_Atomic uint32_t seq;
	_Atomic uintptr_t allocator;   /* 0: a free slot */
	_Atomic uintptr_t device;
	_Atomic int64_t chip;          /* chip id, or -1 for a mesh */
};
static struct allocator_entry allocators[NALLOCATORS];
static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint max_probe;          /* written under alloc_lock */
/* Bumped after every deletion: voids every thread's last note
 * (abi_tls.note_*), as the allocator and device addresses it names may
 * come back for a new device, or the same allocator after a bulk free. */
static atomic_uint allocator_forgets;

struct allocator_seen {
	uintptr_t device;
	int64_t chip;
};

static inline unsigned alloc_hash(uintptr_t a)
{
	uint64_t h = (uint64_t)a * UINT64_C(0x9e3779b97f4a7c15);
	return (unsigned)(h >> 32) % NALLOCATORS;
}

static inline struct allocator_entry *alloc_slot(unsigned h, unsigned i)
{
	return &allocators[(h + i) % NALLOCATORS];
}

/* The entry of `a` (lock-free): 1 on a consistent hit. */
static int allocator_peek(uintptr_t a, struct allocator_seen *out)
{
	unsigned h = alloc_hash(a);
	unsigned probe = atomic_load_explicit(&max_probe, memory_order_acquire);

	for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++) {
		struct allocator_entry *e = alloc_slot(h, i);

		if (atomic_load_explicit(&e->allocator, memory_order_acquire) != a)
			continue;
		for (int tries = 0; tries < 16; tries++) {
			uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
			if (s1 & 1)
				continue;
			uintptr_t key = atomic_load_explicit(&e->allocator, memory_order_relaxed);
			out->device = atomic_load_explicit(&e->device, memory_order_relaxed);
			out->chip = atomic_load_explicit(&e->chip, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1)
				continue;
			if (key == a)
				return 1;
			break;   /* emptied or taken over meanwhile: look further */
		}
	}
	return 0;
}

/* Under alloc_lock. */
static void entry_write(struct allocator_entry *e, uintptr_t a, uintptr_t device, int64_t chip)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_relaxed);   /* odd: writing */
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->device, device, memory_order_relaxed);
	atomic_store_explicit(&e->chip, chip, memory_order_relaxed);
	atomic_store_explicit(&e->allocator, a, memory_order_relaxed);
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_release);   /* even: done */
}

/* Under alloc_lock: `a` serves `device`.  0, or -1 when the map is full. */
static int allocator_store(uintptr_t a, uintptr_t device, int64_t chip)
{
	unsigned h = alloc_hash(a);
	unsigned probe = atomic_load_explicit(&max_probe, memory_order_relaxed);
	struct allocator_entry *free_slot = NULL;
	unsigned free_at = 0;

	/* An entry of `a` is within max_probe of its hash. */
	for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++) {
		struct allocator_entry *e = alloc_slot(h, i);
		uintptr_t key = atomic_load_explicit(&e->allocator, memory_order_relaxed);

		if (key == a) {
			if (atomic_load_explicit(&e->device, memory_order_relaxed) != device ||
			    atomic_load_explicit(&e->chip, memory_order_relaxed) != chip)
				entry_write(e, a, device, chip);
			return 0;
		}
		if (key == 0 && !free_slot) {
			free_slot = e;
			free_at = i;
		}
	}
	for (unsigned i = probe + 1; !free_slot && i < NALLOCATORS; i++)
		if (atomic_load_explicit(&alloc_slot(h, i)->allocator, memory_order_relaxed) == 0) {
			free_slot = alloc_slot(h, i);
			free_at = i;
		}
	if (!free_slot)
		return -1;
	/* Before the entry is published, so that whoever sees it scans far
	 * enough to find it. */
	if (free_at > probe)
		atomic_store_explicit(&max_probe, free_at, memory_order_release);
	entry_write(free_slot, a, device, chip);
	return 0;
}

/* Empty the entries of allocator `a` (any device) or, when `a` is 0, of
 * `device`, then void every thread's last note. */
static void allocators_forget(uintptr_t a, uintptr_t device)
{
	pthread_mutex_lock(&alloc_lock);
	if (a) {
		unsigned h = alloc_hash(a);
		unsigned probe = atomic_load_explicit(&max_probe, memory_order_relaxed);

		for (unsigned i = 0; i <= probe && i < NALLOCATORS; i++)
			if (atomic_load_explicit(&alloc_slot(h, i)->allocator,
						 memory_order_relaxed) == a)
				entry_write(alloc_slot(h, i), 0, 0, 0);
	} else {
		for (unsigned i = 0; i < NALLOCATORS; i++) {
			struct allocator_entry *e = &allocators[i];

			if (atomic_load_explicit(&e->allocator, memory_order_relaxed) &&
			    atomic_load_explicit(&e->device, memory_order_relaxed) == device)
				entry_write(e, 0, 0, 0);
		}
	}
	atomic_fetch_add_explicit(&allocator_forgets, 1, memory_order_release);
	pthread_mutex_unlock(&alloc_lock);
}

/* The same allocator and device as this thread's last buffer, with no
 * deletion since: known (abi_tls.note_*).  Else a lock-free look; the lock
 * only to write, about once per allocator and device. */
static __attribute__((noinline)) void allocator_note_slow(uintptr_t a, const void *device,
							  const struct abi_chips *c)
{
	int64_t chip = c->is_mesh ? -1 : (int64_t)c->id[0];
	struct allocator_seen seen;
	int full;

	/* Read first: a deletion from now on makes the next note slow again. */
	abi_tls.note_forgets = atomic_load_explicit(&allocator_forgets, memory_order_acquire);
	abi_tls.note_a = a;
	abi_tls.note_d = (uintptr_t)device;
	if (!a)
		return;
	if (allocator_peek(a, &seen) && seen.device == (uintptr_t)device && seen.chip == chip)
		return;
	pthread_mutex_lock(&alloc_lock);
	full = allocator_store(a, (uintptr_t)device, chip) != 0;
	pthread_mutex_unlock(&alloc_lock);
	if (full)
		abi_warn_once("more tt-metal allocators of open devices than ttmem can remember "
			      "(%u): bulk frees of some are released at device close only",
			      NALLOCATORS);
}

/* Inlined into the tracker (LTO): the hit is three compares and the load
 * of a word written only at closes and bulk frees. */
__attribute__((always_inline)) inline void abi_allocator_note(const void *allocator,
							       const void *device,
							       const struct abi_chips *c)
{
	uintptr_t a = (uintptr_t)allocator;

	if (__builtin_expect(a == abi_tls.note_a && (uintptr_t)device == abi_tls.note_d &&
			     !c->is_mesh &&
			     abi_tls.note_forgets ==
				     atomic_load_explicit(&allocator_forgets, memory_order_relaxed),
			     1))
		return;
	allocator_note_slow(a, device, c);
}

int abi_allocator_take(const void *allocator, struct abi_chips *out)
{
	uintptr_t a = (uintptr_t)allocator;
	struct allocator_seen seen;
	int32_t mesh_id;
	int found;

	if (!a || !allocator_peek(a, &seen))
		return -1;
	if (seen.chip >= 0) {
		out->n = 1;
		out->is_mesh = 0;
		out->id[0] = (uint32_t)seen.chip;
		found = 1;
	} else {
		found = mesh_peek(seen.device, out, &mesh_id);
	}
	allocators_forget(a, 0);
	return found ? 0 : -1;
}

static void allocators_forget_device(const void *device)
{
	if (device)
		allocators_forget(0, (uintptr_t)device);
}

/* ---- closes and forks ------------------------------------------------------- */

void abi_device_forget(const void *dev)
{
	atomic_fetch_add_explicit(&forget_generation, 1, memory_order_release);
	pthread_mutex_lock(&mesh_lock);
	for (unsigned i = 0; i < NMESHES; i++) {
		struct mesh_entry *m = &meshes[i];
		if (atomic_load_explicit(&m->dev, memory_order_relaxed) == (uintptr_t)dev) {
			atomic_fetch_add_explicit(&m->seq, 1, memory_order_relaxed);
			atomic_store_explicit(&m->dev, 0, memory_order_release);
			atomic_fetch_add_explicit(&m->seq, 1, memory_order_release);
		}
	}
	pthread_mutex_unlock(&mesh_lock);
	allocators_forget_device(dev);
}

void abi_atfork_prepare(void)
{
	pthread_mutex_lock(&mesh_lock);
	pthread_mutex_lock(&alloc_lock);
}

void abi_atfork_release(void)
{
	pthread_mutex_unlock(&alloc_lock);
	pthread_mutex_unlock(&mesh_lock);
}
