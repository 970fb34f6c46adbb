/* SPDX-License-Identifier: MIT */
/*
 * The interposition wrappers, and the one table of hooks.
 *
 * Each wrapper is exported under a tt-metal mangled name (from the ABI
 * room, abi/symbols.h: the names of every generation, so one library
 * serves them all; a name the runtime does not define is simply never
 * called), calls the original exactly once with the same arguments,
 * returns its result, and hands the event to the tracker.  An exception
 * thrown by an original unwinds through the wrapper unchanged: this file is
 * built with -fexceptions, so its frames have unwind tables and the
 * ownership scope of a constructor hook is closed by its cleanup handler.
 *
 * Originals are found with dlsym(RTLD_NEXT) on first use; a runtime that was
 * dlopen'ed with RTLD_LOCAL (Python ctypes) is not in the global scope, so
 * then the runtime object itself is searched.  With TTMEM_DISABLE=1 that
 * lookup is all a hook does besides calling the original.
 *
 * Required hooks are the ones ttmem cannot count right without; the runtime
 * attach (runtime.c) warns when one is missing.  Optional ones are exported
 * by some builds only (a D0 that does not exist, an implicit inline
 * destructor) and are simply never called when absent.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ttmem/segment.h"

#include "abi.h"
#include "capture.h"
#include "fork.h"
#include "lifecycle.h"
#include "log.h"
#include "runtime.h"
#include "scope.h"
#include "tracker.h"

#define EXPORT __attribute__((visibility("default")))

#define HOOKS(X)                                                              \
	X(TRACK_ALLOCATE,      ABI_SYM_TRACK_ALLOCATE,      1)                \
	X(TRACK_DEALLOCATE,    ABI_SYM_TRACK_DEALLOCATE,    1)                \
	X(TRACK_ALLOCATE_CB,   ABI_SYM_TRACK_ALLOCATE_CB,   0)                \
	X(TRACK_ALLOCATE_CB_GNS, ABI_SYM_TRACK_ALLOCATE_CB_GNS, 0)            \
	X(TRACK_DEALLOCATE_CB, ABI_SYM_TRACK_DEALLOCATE_CB, 0)                \
	X(HOOK_ALLOCATE,       ABI_SYM_HOOK_ALLOCATE,       0)                \
	X(HOOK_DEALLOCATE,     ABI_SYM_HOOK_DEALLOCATE,     0)                \
	X(ADD_HOOK,            ABI_SYM_ADD_HOOK,            0)                \
	X(CLEAR_HOOK,          ABI_SYM_CLEAR_HOOK,          0)                \
	X(GT_CLEAR,            ABI_SYM_GT_CLEAR,            0)                \
	X(TRACK_PROGRAM,       ABI_SYM_TRACK_PROGRAM,       0)                \
	X(HOOK_PROGRAM,        ABI_SYM_HOOK_PROGRAM,        0)                \
	X(PROGRAM_D1,          ABI_SYM_PROGRAM_D1,          0)                \
	X(PROGRAM_D2,          ABI_SYM_PROGRAM_D2,          0)                \
	X(CQ_C1,               ABI_SYM_CQ_C1,               0)                \
	X(CQ_C2,               ABI_SYM_CQ_C2,               0)                \
	X(CQ4_C1,              ABI_SYM_CQ4_C1,              0)                \
	X(CQ4_C2,              ABI_SYM_CQ4_C2,              0)                \
	X(CQ26_C1,             ABI_SYM_CQ26_C1,             0)                \
	X(CQ26_C2,             ABI_SYM_CQ26_C2,             0)                \
	X(CQDEV_C1,            ABI_SYM_CQDEV_C1,            0)                \
	X(CQDEV_C2,            ABI_SYM_CQDEV_C2,            0)                \
	X(CQCTX_C1,            ABI_SYM_CQCTX_C1,            0)                \
	X(CQCTX_C2,            ABI_SYM_CQCTX_C2,            0)                \
	X(CQ_D0,               ABI_SYM_CQ_D0,               0)                \
	X(CQ_D1,               ABI_SYM_CQ_D1,               0)                \
	X(CQ_D2,               ABI_SYM_CQ_D2,               0)                \
	X(SMM_C1,              ABI_SYM_SMM_C1,              0)                \
	X(SMM_C2,              ABI_SYM_SMM_C2,              0)                \
	X(SMM26_C1,            ABI_SYM_SMM26_C1,            0)                \
	X(SMM26_C2,            ABI_SYM_SMM26_C2,            0)                \
	X(SMM_D0,              ABI_SYM_SMM_D0,              0)                \
	X(SMM_D1,              ABI_SYM_SMM_D1,              0)                \
	X(SMM_D2,              ABI_SYM_SMM_D2,              0)                \
	X(DEVICE_CLOSE,        ABI_SYM_DEVICE_CLOSE,        1)                \
	X(MESH_CLOSE,          ABI_SYM_MESH_CLOSE,          0)                \
	X(ALLOC_BULK_FREE,     ABI_SYM_ALLOC_BULK_FREE,     0)                \
	X(ALLOC_CLEAR,         ABI_SYM_ALLOC_CLEAR,         0)                \
	X(ALLOCI_BULK_FREE,    ABI_SYM_ALLOCI_BULK_FREE,    0)                \
	X(ALLOCI_CLEAR,        ABI_SYM_ALLOCI_CLEAR,        0)                \
	X(DEVICE_INIT_CQ_HOST, ABI_SYM_DEVICE_INIT_CQ_HOST, 0)                \
	X(DEVICE_INIT_CQ_DEVICE, ABI_SYM_DEVICE_INIT_CQ_DEVICE, 0)            \
	X(DEVICE_INIT_CQ_TOPO, ABI_SYM_DEVICE_INIT_CQ_TOPO, 0)

enum hook_id {
#define X(id, sym, req) H_##id,
	HOOKS(X)
#undef X
	H_COUNT
};

static _Atomic(void *) originals[H_COUNT];
static atomic_uchar missing_warned[H_COUNT];

const char *const runtime_hook_names[] = {
#define X(id, sym, req) sym,
	HOOKS(X)
#undef X
};
const unsigned char runtime_hook_required[] = {
#define X(id, sym, req) req,
	HOOKS(X)
#undef X
};
const unsigned runtime_hook_count = H_COUNT;

static __attribute__((noinline, cold)) void *resolve(enum hook_id id)
{
	int saved = errno;
	const char *name = runtime_hook_names[id];
	void *p = dlsym(RTLD_NEXT, name);

	/* A hook can run before this library's constructors (another
	 * library's constructor calling the runtime): the fork handlers still
	 * come before the tracker's first start-up opens the segment. */
	fork_install();

	if (lifecycle_disabled()) {
		/* Pure pass-through: find the original, nothing else (no
		 * attaching, no checks, no messages). */
		if (!p)
			p = runtime_find(name);
		if (p)
			atomic_store_explicit(&originals[id], p, memory_order_release);
		errno = saved;
		return p;
	}
	if (!p && runtime_probe()) {
		void *h = runtime_handle();
		p = h ? dlsym(h, name) : NULL;
	}
	if (p) {
		/* The runtime is the object that defines GraphTracker's
		 * track_allocate, not whichever object answered first for
		 * this name (a library with its own copy of an inline
		 * destructor of another tt-metal). */
		runtime_probe();
		atomic_store_explicit(&originals[id], p, memory_order_release);
	} else if (!atomic_exchange(&missing_warned[id], 1)) {
		log_warn("cannot find the original of %s: the call is skipped", name);
	}
	errno = saved;
	return p;
}

static inline void *original(enum hook_id id)
{
	void *p = atomic_load_explicit(&originals[id], memory_order_acquire);
	return __builtin_expect(p != NULL, 1) ? p : resolve(id);
}

#define ORIG(id, type) ((type)original(H_##id))
/* The original if already found, else NULL (the caller's slow path then
 * finds it through ORIG): a wrapper whose fast path is a tail call. */
#define RESOLVED(id, type) \
	((type)atomic_load_explicit(&originals[H_##id], memory_order_acquire))

/* ---- GraphTracker ------------------------------------------------------------ */

/* The first call of each finds the original (out of line: the common path
 * then keeps only the Buffer across the original's call). */
static __attribute__((noinline, cold)) void track_allocate_first(void *self, void *buffer,
								 void *ret, void *cfa)
{
	abi_track_fn orig = ORIG(TRACK_ALLOCATE, abi_track_fn);

	if (orig)
		orig(self, buffer);
	tracker_on_alloc(buffer, ret, cfa);
}

EXPORT void hook_track_allocate(void *self, void *buffer) __asm__(ABI_SYM_TRACK_ALLOCATE);
void hook_track_allocate(void *self, void *buffer)
{
	abi_track_fn orig = RESOLVED(TRACK_ALLOCATE, abi_track_fn);

	if (__builtin_expect(!orig, 0)) {
		track_allocate_first(self, buffer, __builtin_return_address(0),
				     __builtin_dwarf_cfa());
		return;
	}
	orig(self, buffer);
	tracker_on_alloc(buffer, __builtin_return_address(0), __builtin_dwarf_cfa());
}

static __attribute__((noinline, cold)) void track_deallocate_first(void *self, void *buffer)
{
	abi_track_fn orig = ORIG(TRACK_DEALLOCATE, abi_track_fn);

	if (orig)
		orig(self, buffer);
	tracker_on_free(buffer);
}

EXPORT void hook_track_deallocate(void *self, void *buffer) __asm__(ABI_SYM_TRACK_DEALLOCATE);
void hook_track_deallocate(void *self, void *buffer)
{
	abi_track_fn orig = RESOLVED(TRACK_DEALLOCATE, abi_track_fn);

	if (__builtin_expect(!orig, 0)) {
		track_deallocate_first(self, buffer);
		return;
	}
	orig(self, buffer);
	tracker_on_free(buffer);
}

EXPORT void hook_track_allocate_cb(void *self, const void *core_ranges, uint64_t addr,
				   uint64_t size, _Bool global, const void *device)
	__asm__(ABI_SYM_TRACK_ALLOCATE_CB);
void hook_track_allocate_cb(void *self, const void *core_ranges, uint64_t addr,
			    uint64_t size, _Bool global, const void *device)
{
	abi_track_cb_fn orig = ORIG(TRACK_ALLOCATE_CB, abi_track_cb_fn);

	if (orig)
		orig(self, core_ranges, addr, size, global, device);
	tracker_on_cb_alloc(addr, size, global, device, __builtin_return_address(0),
			    __builtin_dwarf_cfa());
}

/* The same hook under the other mangling of its CoreRangeSet argument. */
EXPORT void hook_track_allocate_cb_gns(void *self, const void *core_ranges, uint64_t addr,
				       uint64_t size, _Bool global, const void *device)
	__asm__(ABI_SYM_TRACK_ALLOCATE_CB_GNS);
void hook_track_allocate_cb_gns(void *self, const void *core_ranges, uint64_t addr,
				uint64_t size, _Bool global, const void *device)
{
	abi_track_cb_fn orig = ORIG(TRACK_ALLOCATE_CB_GNS, abi_track_cb_fn);

	if (orig)
		orig(self, core_ranges, addr, size, global, device);
	tracker_on_cb_alloc(addr, size, global, device, __builtin_return_address(0),
			    __builtin_dwarf_cfa());
}

EXPORT void hook_track_deallocate_cb(void *self, const void *device)
	__asm__(ABI_SYM_TRACK_DEALLOCATE_CB);
void hook_track_deallocate_cb(void *self, const void *device)
{
	abi_track_dev_fn orig = ORIG(TRACK_DEALLOCATE_CB, abi_track_dev_fn);

	if (orig)
		orig(self, device);
	tracker_on_cb_free_all(device);
}

/* ---- graph capture and op launches (capture.h, cb_model.h) ---------------------- */

/* Only notes the verdict: the track_allocate that follows on this thread
 * does the rest.  With no capture hook installed the original is called
 * straight (a tail call: this wrapper adds a few instructions to every
 * allocation); should a hook the add_hook wrapper never saw take an
 * allocation over, its address 0 still tells (capture.h). */
static __attribute__((noinline)) _Bool hook_allocate_noted(void *self, const void *buffer)
{
	abi_hook_buffer_fn orig = ORIG(HOOK_ALLOCATE, abi_hook_buffer_fn);
	_Bool hooked = orig ? orig(self, buffer) : 0;

	if (hooked)
		capture_note_hooked(buffer);
	return hooked;
}

EXPORT _Bool hook_hook_allocate(void *self, const void *buffer) __asm__(ABI_SYM_HOOK_ALLOCATE);
_Bool hook_hook_allocate(void *self, const void *buffer)
{
	abi_hook_buffer_fn orig = RESOLVED(HOOK_ALLOCATE, abi_hook_buffer_fn);

	if (__builtin_expect(orig && !capture_hook_installed(), 1))
		return orig(self, buffer);
	return hook_allocate_noted(self, buffer);
}

static __attribute__((noinline)) _Bool hook_deallocate_settled(void *self, const void *buffer)
{
	abi_hook_buffer_fn orig = ORIG(HOOK_DEALLOCATE, abi_hook_buffer_fn);
	_Bool taken_over = orig ? orig(self, buffer) : 0;

	if (taken_over || capture_hook_installed())
		tracker_on_free_settled(buffer, taken_over);
	return taken_over;
}

/* Nothing was kept unless a hook is installed (capture.h): with none, and
 * no entries held on this thread, the settling would do nothing, and the
 * original is called straight. */
EXPORT _Bool hook_hook_deallocate(void *self, const void *buffer)
	__asm__(ABI_SYM_HOOK_DEALLOCATE);
_Bool hook_hook_deallocate(void *self, const void *buffer)
{
	abi_hook_buffer_fn orig = RESOLVED(HOOK_DEALLOCATE, abi_hook_buffer_fn);

	if (__builtin_expect(orig && !capture_hook_installed() && !tracker_held_buffer, 1))
		return orig(self, buffer);
	return hook_deallocate_settled(self, buffer);
}

EXPORT _Bool hook_add_hook(void *self, const void *hook) __asm__(ABI_SYM_ADD_HOOK);
_Bool hook_add_hook(void *self, const void *hook)
{
	abi_add_hook_fn orig = ORIG(ADD_HOOK, abi_add_hook_fn);
	_Bool added = orig ? orig(self, hook) : 0;

	if (added)
		capture_hook_added();
	return added;
}

#define HOOK_CLEARED(name, ID)                                                       \
	EXPORT void hook_##name(void *self) __asm__(ABI_SYM_##ID);                      \
	void hook_##name(void *self)                                                   \
	{                                                                              \
		abi_tracker_fn orig = ORIG(ID, abi_tracker_fn);                        \
		if (orig)                                                              \
			orig(self);                                                    \
		capture_hook_cleared();                                                \
	}
HOOK_CLEARED(clear_hook, CLEAR_HOOK)
HOOK_CLEARED(graph_tracker_clear, GT_CLEAR)

EXPORT void hook_track_program(void *self, void *program, const void *device)
	__asm__(ABI_SYM_TRACK_PROGRAM);
/* The tracker first: a runtime whose track_program asks hook_program
 * itself (seen in a 2026 tree) then finds the launch announced. */
void hook_track_program(void *self, void *program, const void *device)
{
	abi_track_program_fn orig = ORIG(TRACK_PROGRAM, abi_track_program_fn);

	tracker_on_program(program, device, __builtin_return_address(0), __builtin_dwarf_cfa());
	if (orig)
		orig(self, program, device);
}

EXPORT _Bool hook_hook_program(void *self, void *program) __asm__(ABI_SYM_HOOK_PROGRAM);
_Bool hook_hook_program(void *self, void *program)
{
	abi_hook_program_fn orig = ORIG(HOOK_PROGRAM, abi_hook_program_fn);
	_Bool hooked = orig ? orig(self, program) : 0;

	tracker_on_program_hooked(program, hooked, __builtin_return_address(0),
				  __builtin_dwarf_cfa());
	return hooked;
}

#define PROGRAM_DTOR(variant)                                                        \
	EXPORT void hook_program_##variant(void *self) __asm__(ABI_SYM_PROGRAM_##variant); \
	void hook_program_##variant(void *self)                                         \
	{                                                                              \
		abi_dtor_fn orig = ORIG(PROGRAM_##variant, abi_dtor_fn);                \
		if (orig)                                                              \
			orig(self);                                                    \
		tracker_program_destroyed(self);                                       \
	}
PROGRAM_DTOR(D1)
PROGRAM_DTOR(D2)

/* ---- owners: command queues and system memory managers ------------------------ */

/* Every constructor and device-open shape seen (abi/symbols.h) takes only
 * integer-class arguments, at most five after `this`: all argument
 * registers are passed on unchanged, whatever the shape.  `owner`: the
 * scope's owner id is the object being built (constructors), or the
 * device being opened. */
#define SCOPED(name, ID, kind)                                                       \
	EXPORT void hook_##name(void *self, uint64_t a1, uint64_t a2, uint64_t a3,     \
				uint64_t a4, uint64_t a5) __asm__(ABI_SYM_##ID);      \
	void hook_##name(void *self, uint64_t a1, uint64_t a2, uint64_t a3,            \
			 uint64_t a4, uint64_t a5)                                     \
	{                                                                              \
		abi_ctor_fn orig = ORIG(ID, abi_ctor_fn);                               \
		SCOPE_OPEN((kind), self);                                              \
		if (orig)                                                              \
			orig(self, a1, a2, a3, a4, a5);                                \
	}
SCOPED(cq_c1, CQ_C1, TTMEM_OWNER_CQ)
SCOPED(cq_c2, CQ_C2, TTMEM_OWNER_CQ)
SCOPED(cq4_c1, CQ4_C1, TTMEM_OWNER_CQ)
SCOPED(cq4_c2, CQ4_C2, TTMEM_OWNER_CQ)
SCOPED(cq26_c1, CQ26_C1, TTMEM_OWNER_CQ)
SCOPED(cq26_c2, CQ26_C2, TTMEM_OWNER_CQ)
SCOPED(cqdev_c1, CQDEV_C1, TTMEM_OWNER_CQ)
SCOPED(cqdev_c2, CQDEV_C2, TTMEM_OWNER_CQ)
SCOPED(cqctx_c1, CQCTX_C1, TTMEM_OWNER_CQ)
SCOPED(cqctx_c2, CQCTX_C2, TTMEM_OWNER_CQ)
SCOPED(smm_c1, SMM_C1, TTMEM_OWNER_SYSMEM)
SCOPED(smm_c2, SMM_C2, TTMEM_OWNER_SYSMEM)
SCOPED(smm26_c1, SMM26_C1, TTMEM_OWNER_SYSMEM)
SCOPED(smm26_c2, SMM26_C2, TTMEM_OWNER_SYSMEM)

/*
 * The device-open entry points that build a device's system memory manager,
 * command queues and dispatch programs (Device::init_command_queue_host,
 * init_command_queue_device, init_command_queue_device_with_topology).
 * Where an owner constructor binds, its scope is innermost and wins; where
 * none does (G3's constructors allocate nothing, its dispatch programs do;
 * or a constructor inlined, or of a shape not seen), what the device
 * allocates in here is still "system": owned by the device's command
 * queues (kind CQ, owner id = the Device), released when the device
 * closes.
 */
SCOPED(device_init_cq_host, DEVICE_INIT_CQ_HOST, TTMEM_OWNER_CQ)
SCOPED(device_init_cq_device, DEVICE_INIT_CQ_DEVICE, TTMEM_OWNER_CQ)
SCOPED(device_init_cq_topo, DEVICE_INIT_CQ_TOPO, TTMEM_OWNER_CQ)

/* Destructors release what their object still owns once they returned (a
 * D0 that calls D1 releases twice; the second sweep finds nothing). */
#define DTOR(prefix, PREFIX, variant, kind)                                          \
	EXPORT void hook_##prefix##_##variant(void *self)                              \
		__asm__(ABI_SYM_##PREFIX##_##variant);                                 \
	void hook_##prefix##_##variant(void *self)                                      \
	{                                                                              \
		abi_dtor_fn orig = ORIG(PREFIX##_##variant, abi_dtor_fn);               \
		if (orig)                                                              \
			orig(self);                                                    \
		tracker_owner_destroyed((kind), self);                                 \
	}
DTOR(cq, CQ, D0, TTMEM_OWNER_CQ)
DTOR(cq, CQ, D1, TTMEM_OWNER_CQ)
DTOR(cq, CQ, D2, TTMEM_OWNER_CQ)
DTOR(smm, SMM, D0, TTMEM_OWNER_SYSMEM)
DTOR(smm, SMM, D1, TTMEM_OWNER_SYSMEM)
DTOR(smm, SMM, D2, TTMEM_OWNER_SYSMEM)

/* ---- closes and bulk frees: the frees the runtime never reports --------------- */

#define CLOSE(name, ID)                                                              \
	EXPORT _Bool hook_##name(void *self) __asm__(ABI_SYM_##ID);                     \
	_Bool hook_##name(void *self)                                                  \
	{                                                                              \
		abi_close_fn orig = ORIG(ID, abi_close_fn);                            \
		struct abi_chips chips;                                                \
		int known = tracker_device_closing(self, &chips) == 0;                 \
		_Bool r = orig ? orig(self) : 0;                                       \
		if (known)                                                             \
			tracker_device_closed(self, &chips);                           \
		return r;                                                              \
	}
CLOSE(device_close, DEVICE_CLOSE)
CLOSE(mesh_close, MESH_CLOSE)

/* `KEY`: the allocator as buffers were noted under it (an AllocatorImpl
 * through its view where Buffer::allocator() answers the view). */
#define BULK(name, ID, KEY)                                                          \
	EXPORT void hook_##name(void *self) __asm__(ABI_SYM_##ID);                      \
	void hook_##name(void *self)                                                   \
	{                                                                              \
		abi_allocator_fn orig = ORIG(ID, abi_allocator_fn);                    \
		if (orig)                                                              \
			orig(self);                                                    \
		tracker_allocator_freed(KEY(self));                                    \
	}
#define SAME(self) (self)
BULK(allocator_bulk_free, ALLOC_BULK_FREE, SAME)
BULK(allocator_clear, ALLOC_CLEAR, SAME)
BULK(allocator_impl_bulk_free, ALLOCI_BULK_FREE, abi_allocator_impl_key)
BULK(allocator_impl_clear, ALLOCI_CLEAR, abi_allocator_impl_key)
