/* SPDX-License-Identifier: MIT */
/*
 * Reading the runtime's objects, per generation (see abi.h for the contract
 * and the trust rules, GENERATIONS.md for where each fact comes from):
 * binding a generation, and buffers.  With devices.c and allocators.c,
 * behind the private reader.h, the only files that know object layouts.
 * Built into the preload only.
 *
 *   Buffer of the 2025 layout (generations 2025 and 2025b; class Buffer
 *   final : enable_shared_from_this<Buffer>, 16-byte base):
 *     +16 device_ (IDevice*)   +24 size_ (uint64)     +32 buffer_type_ (int)
 *     +36 buffer_layout_ (TensorMemoryLayout, int)
 *     +64 allocator_ (Allocator* / AllocatorImpl*)    +80 address_ (uint64)
 *     +88 page_size_ (uint64)
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
#include "reader.h"
#include "bank_memo.h"

struct reader_bound g;
atomic_uint forget_generation;
__thread struct reader_tls abi_tls __attribute__((tls_model("initial-exec")));

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
	g.layout = (getter_fn)sym(handle, ABI_SYM_BUFFER_LAYOUT);
	g.get_devices = (get_devices_fn)sym(handle, ABI_SYM_MESH_GET_DEVICES);
	g.alloc_view = (view_fn)sym(handle, ABI_SYM_ALLOCI_VIEW);
	g.num_banks = (geo_u32_fn)sym(handle, ABI_SYM_ALLOC_NUM_BANKS);
	g.bank_size = (geo_u64_fn)sym(handle, ABI_SYM_ALLOC_BANK_SIZE);
	g.base_addr = (geo_u64_fn)sym(handle, ABI_SYM_ALLOC_BASE_ADDR);
	g.alignment = (geo_val_fn)sym(handle, ABI_SYM_ALLOC_ALIGNMENT);
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
	if (g.getters_only && g.gen != &abi_generation_unknown && g.size && g.type &&
	    g.page_size && g.aligned_per_bank && g.device && g.allocator)
		atomic_store_explicit(&g.getters_all, 1, memory_order_release);
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

static uint8_t coarse_type(const void *b)
{
	if (g.is_trace && (g.is_trace(b) & 0xff))
		return TTMEM_TYPE_TRACE;
	if (g.is_dram && (g.is_dram(b) & 0xff))
		return TTMEM_TYPE_DRAM;
	if (g.is_l1)
		return (g.is_l1(b) & 0xff) ? TTMEM_TYPE_L1 : TTMEM_TYPE_SYSTEM_MEMORY;
	/* No wheel exports is_l1() (ttnn 0.59 to 0.81): a device buffer that
	 * is neither DRAM nor TRACE is L1 or L1_SMALL, counted as L1 (the
	 * entry's type is not vouched for: ABI_T_TYPE is not set). */
	return TTMEM_TYPE_L1;
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
/* The allocator of a buffer of the 2025 layout: the allocator_ field
 * (2025: an Allocator*, 2025b: an AllocatorImpl*, the object whose bulk
 * frees are hooked), read only for a buffer that passed the check.  Never
 * 2025b's exported Buffer::allocator(): it answers the AllocatorImpl's view,
 * another object. */
static inline const void *allocator_of(const void *b)
{
	return field_ptr(b, OFF_ALLOCATOR);
}

/* Not a layout: the buffer's layout was not read (nothing is memoized). */
#define LAYOUT_UNKNOWN 0xffffffffu

/* An allocation's page size (`page`, already read, or 0 to ask) and what the
 * allocator holds per bank (never for a free: the Buffer may be half
 * destroyed).  `out` already holds the size, the exact type and the
 * allocator when `layout` is known (bank_memo.h). */
static inline void read_bank_facts(const void *b, struct abi_buffer *out, int with_size,
				   uint64_t page, uint32_t layout)
{
	if (with_size && !page && g.page_size)
		page = g.page_size(b);
	out->page_size = with_size ? page : 0;
	/* Fields paths: the rules are checked at the cross-checks. */
	out->bank_bytes = with_size ?
		bank_bytes_of(b, out->allocator, out->type, out->size, page, layout, 0) : 0;
}

/* The same, always from the runtime, its answer checked against the rule
 * (a cross-check of the 2025 layout: one buffer in CHECK_EVERY). */
static inline void read_bank_facts_checked(const void *b, struct abi_buffer *out, uint64_t page,
					   uint32_t layout)
{
	out->page_size = page;
	out->bank_bytes = bank_rule_slow(b, (uintptr_t)out->allocator, out->type, out->size, page,
					 layout);
}

/* The 2025 layout's buffer_layout_, read only from a buffer whose fields
 * are trusted (checked, or on a checked device). */
static inline uint32_t layout_field(const void *b)
{
	uint32_t v;

	memcpy(&v, (const char *)b + OFF_LAYOUT, sizeof(v));
	return v;
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
	uint64_t size = 0, page = 0, addr32;
	/* Read before `degraded`, which is set before forget_generation is
	 * bumped: a check that passes while the profile is being switched
	 * off is remembered under a generation that is already void. */
	unsigned gen = atomic_load_explicit(&forget_generation, memory_order_acquire);

	if (!atomic_load_explicit(&g.bound, memory_order_acquire))
		return -1;
	if (with_size) {
		page = g.page_size(b);
		size = (g.num_pages(b) & 0xffffffffu) * page;
		if (size == 0)
			return -1;
	}
	addr32 = g.address(b) & 0xffffffffu;
	if (!atomic_load_explicit(&degraded, memory_order_relaxed)) {
		uint64_t size_f = field64(b, OFF_SIZE);
		uint64_t addr_f = field64(b, OFF_ADDRESS);
		uint32_t type_f = (uint32_t)field64(b, OFF_TYPE);

		if ((!with_size || (size_f == size && field64(b, OFF_PAGE_SIZE) == page)) &&
		    (addr_f & 0xffffffffu) == addr32 && type_f <= TTMEM_TYPE_TRACE) {
			out->address = addr_f;
			out->size = size;
			out->type = (uint8_t)type_f;
			out->device = field_ptr(b, OFF_DEVICE);
			out->allocator = allocator_of(b);
			out->trusted = ABI_T_ADDRESS | ABI_T_DEVICE | ABI_T_TYPE;
			if (with_size)
				read_bank_facts_checked(b, out, page, layout_field(b));
			else
				read_bank_facts(b, out, 0, 0, LAYOUT_UNKNOWN);
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
				 "num_pages*page_size %llu, page size field %llu vs page_size() %llu, "
				 "address field 0x%llx vs address() 0x%llx): "
				 "no longer reading fields; buffers are recorded without their device",
				 g.gen->name, (unsigned long long)size_f, (unsigned long long)size,
				 (unsigned long long)(with_size ? field64(b, OFF_PAGE_SIZE) : 0),
				 (unsigned long long)page, (unsigned long long)addr_f,
				 (unsigned long long)addr32);
		}
	}
	fill_coarse(b, out, addr32, size);
	read_bank_facts(b, out, with_size, page, LAYOUT_UNKNOWN);
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
	out->allocator = NULL;
	read_bank_facts(b, out, with_size, 0, LAYOUT_UNKNOWN);
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

/*
 * An allocation on a runtime read through getters where all of them are
 * exported and the generation is known (getters_all; 2026): what
 * buffer_read_getters does, the getters called in the same order, without
 * testing each for presence.  Reached only once getters_all is published,
 * after every getter was bound and MODE_GETTERS set.
 */
static __attribute__((noinline)) int buffer_read_all_getters(const void *b, struct abi_buffer *out)
{
	uint64_t size = g.size(b);

	if (size == 0)
		return -1;
	out->address = g.address(b) & 0xffffffffu;
	out->size = size;

	uint32_t t = (uint32_t)g.type(b);

	out->type = t <= TTMEM_TYPE_TRACE ? (uint8_t)t : TTMEM_TYPE_SYSTEM_MEMORY;
	out->device = (const void *)(uintptr_t)g.device(b);
	out->allocator = (const void *)(uintptr_t)g.allocator(b);
	out->trusted = out->device ? ABI_T_TYPE | ABI_T_DEVICE : ABI_T_TYPE;
	/* A type out of range is not the runtime's: no rule under a coarse
	 * one.  buffer_layout() exported by 0.81.1 (symbols.h); without it,
	 * the runtime is asked every time.  No cross-check runs here: the
	 * rules' uses are counted. */
	uint64_t page = g.page_size(b);

	out->page_size = page;
	out->bank_bytes = bank_bytes_of(
		b, out->allocator, out->type, size, page,
		g.layout && t <= TTMEM_TYPE_TRACE ? (uint32_t)g.layout(b) : LAYOUT_UNKNOWN, 1);
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
	if (__builtin_expect(cs->dev == 0, 0)) {
		if (with_size && atomic_load_explicit(&g.getters_all, memory_order_acquire))
			return buffer_read_all_getters(b, out);
		return buffer_read_slow(b, out, with_size);
	}
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
		/* page_size_ and buffer_layout_ as checked (page_size_ against
		 * page_size()) or read by the runtime's own
		 * aligned_size_per_bank() at these offsets (GENERATIONS.md). */
		if (with_size)
			read_bank_facts(b, out, 1, field64(b, OFF_PAGE_SIZE), layout_field(b));
		else
			read_bank_facts(b, out, 0, 0, LAYOUT_UNKNOWN);
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
