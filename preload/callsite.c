/* SPDX-License-Identifier: MIT */
/*
 * Callsites (see callsite.h).
 *
 * Finding the application frame: the hook's return address is inside the
 * runtime (allocate_impl, or Buffer::create where clang inlined it); the
 * unwinder walks up to the first frame outside the runtime.  Frame pointers
 * cannot be trusted (tt-metal is built without them), so this is the DWARF
 * unwinder, bounded to MAX_FRAMES.
 *
 * Module lookup: _dl_find_object (lock-free) gives the link map of an
 * address; a small lock-free array caches link map -> module index, backed
 * by a uthash table under a mutex that interns each object once.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#include <uthash.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "callsite.h"
#include "lifecycle.h"
#include "log.h"
#include "runtime.h"

#define MAX_FRAMES 32

void callsite_get(void *ret, void *cfa, uint16_t *module, uint64_t *offset);

/* ttmem's own image: its hook frames sit between runtime frames (a
 * constructor hook calls the runtime's constructor) and are skipped. */
static uintptr_t self_lo, self_hi;

static int self_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t base = (uintptr_t)data;
	(void)size;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (!self_lo || info->dlpi_addr + ph->p_vaddr < self_lo)
			self_lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > self_hi)
			self_hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	return 1;
}

static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void self_range(void)
{
	Dl_info di;

	if (dladdr((void *)callsite_get, &di))
		dl_iterate_phdr(self_cb, di.dli_fbase);
}

static inline int in_self(uintptr_t pc)
{
	return pc >= self_lo && pc < self_hi;
}

/*
 * Finding the first frame outside the runtime fast.
 *
 * A full DWARF unwind costs about a microsecond, far over the budget of an
 * event.  But at a given return address the caller's frame has a fixed size
 * (CFA minus stack pointer) unless that function allocates on the stack
 * dynamically.  So full unwinds teach ttmem the frame size at each return
 * address they cross; later events walk the stack with those sizes alone:
 * from the hook's CFA, frame by frame, reading each return address at
 * CFA - 8, every read bounds-checked against the thread's stack.  A return
 * address seen with two different sizes is marked variable and always
 * unwound in full; one event in SAMPLE_EVERY per thread is unwound in full
 * anyway and re-teaches the sizes, which turns any wrong size variable.
 */
#define SIZES       8192u                  /* power of two */
#define SIZE_PROBE  8u
#define SIZE_VARIABLE (-1)
#define SAMPLE_EVERY 1024u

static struct {
	_Atomic uintptr_t pc;
	atomic_int size;           /* 0 = not known yet */
} sizes[SIZES];

static inline unsigned size_hash(uintptr_t pc)
{
	return (unsigned)(((uint64_t)pc * UINT64_C(0x9e3779b97f4a7c15)) >> 40) & (SIZES - 1);
}

static int size_of(uintptr_t pc)
{
	unsigned h = size_hash(pc);

	for (unsigned i = 0; i < SIZE_PROBE; i++) {
		unsigned j = (h + i) & (SIZES - 1);
		uintptr_t k = atomic_load_explicit(&sizes[j].pc, memory_order_acquire);
		if (k == pc)
			return atomic_load_explicit(&sizes[j].size, memory_order_relaxed);
		if (k == 0)
			return 0;
	}
	return 0;
}

static void size_learn(uintptr_t pc, intptr_t size)
{
	unsigned h = size_hash(pc);
	int sz = size > 0 && size < (1 << 24) ? (int)size : SIZE_VARIABLE;

	for (unsigned i = 0; i < SIZE_PROBE; i++) {
		unsigned j = (h + i) & (SIZES - 1);
		uintptr_t expect = 0;

		if (!atomic_compare_exchange_strong(&sizes[j].pc, &expect, pc) && expect != pc)
			continue;
		int old = 0;
		if (!atomic_compare_exchange_strong(&sizes[j].size, &old, sz) && old != sz)
			atomic_store_explicit(&sizes[j].size, SIZE_VARIABLE, memory_order_relaxed);
		return;
	}
}

/* The calling thread's stack, learned once, and the module of its last
 * callsite (most callsites of a thread are in one module): the same key,
 * link map and load base, as the shared cache below, so the same answer. */
struct stack_bounds {
	uintptr_t lo, hi;
	unsigned events;
	int mod_idx;
	uintptr_t mod_map, mod_base;
};
static __thread struct stack_bounds tls_stack __attribute__((tls_model("initial-exec")));

static __attribute__((noinline)) void thread_stack_learn(struct stack_bounds *b)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			b->lo = (uintptr_t)addr;
			b->hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	if (!b->hi)
		b->hi = 1;   /* unknown: never walk fast */
}

static inline struct stack_bounds *thread_stack(void)
{
	struct stack_bounds *b = &tls_stack;

	if (__builtin_expect(!b->hi, 0))
		thread_stack_learn(b);
	return b;
}

static inline int outside(uintptr_t pc)
{
	return !runtime_contains(pc) && !in_self(pc);
}

/* 1 and *found when the walk got out of the runtime; 0 to unwind in full. */
static int walk_fast(uintptr_t pc, uintptr_t sp, const struct stack_bounds *b, uintptr_t *found)
{
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		if (outside(pc)) {
			*found = pc;
			return 1;
		}
		int size = size_of(pc);
		if (size <= 0)
			return 0;
		uintptr_t cfa = sp + (uintptr_t)size;
		if (sp < b->lo || cfa > b->hi || cfa < sp + 8)
			return 0;
		pc = *(const uintptr_t *)(cfa - 8);
		sp = cfa;
	}
	return 0;
}

struct walk {
	uintptr_t found;
	uintptr_t prev_ip, prev_cfa;
	int seen_runtime;
	int frames;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = _Unwind_GetIP(ctx);
	uintptr_t cfa = _Unwind_GetCFA(ctx);

	if (++w->frames > MAX_FRAMES || ip == 0)
		return _URC_END_OF_STACK;
	/* At this callback the CFA is the one of the frame below (the stack
	 * pointer of ip's frame at its call): ip's frame size is the distance
	 * to the next frame's. */
	if (w->prev_ip)
		size_learn(w->prev_ip, (intptr_t)(cfa - w->prev_cfa));
	w->prev_ip = ip;
	w->prev_cfa = cfa;
	if (runtime_contains(ip)) {
		w->seen_runtime = 1;
		return _URC_NO_REASON;
	}
	if (in_self(ip))
		return _URC_NO_REASON;
	if (w->seen_runtime) {
		w->found = ip;
		return _URC_END_OF_STACK;
	}
	return _URC_NO_REASON;   /* not yet in the runtime */
}

static __attribute__((noinline)) uintptr_t walk_full(uintptr_t ret)
{
	struct walk w = { 0, 0, 0, 0, 0 };

	_Unwind_Backtrace(walk_frame, &w);
	return w.found ? w.found : ret;
}

static uintptr_t app_frame(uintptr_t ret, uintptr_t cfa)
{
	struct stack_bounds *b;
	uintptr_t found;

	if (!runtime_contains(ret))
		return ret;
	if (__builtin_expect(!self_hi, 0))
		pthread_once(&self_once, self_range);
	b = thread_stack();
	if (++b->events % SAMPLE_EVERY != 0 && cfa && walk_fast(ret, cfa, b, &found))
		return found;
	return walk_full(ret);
}

/* ---- modules ------------------------------------------------------------------ */

struct module_rec {
	uintptr_t map;           /* struct link_map * (hash key) */
	uintptr_t base;
	int idx;                 /* module index, or -1 when interning failed */
	UT_hash_handle hh;
};

#define NCACHE 64
static struct {
	_Atomic uintptr_t map;
	_Atomic uintptr_t base;
	atomic_int idx;
} cache[NCACHE];

static struct module_rec *modules;   /* uthash, under intern_lock */
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;

void callsite_atfork_prepare(void)
{
	pthread_mutex_lock(&intern_lock);
}

void callsite_atfork_release(void)
{
	pthread_mutex_unlock(&intern_lock);
}

struct ident {
	uintptr_t base;
	const char *name;
	uint8_t build_id[40];
	uint32_t build_id_len;
};

static void read_build_id(const struct dl_phdr_info *info, struct ident *id)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const void *)p;
			const char *name = p + sizeof(*n);
			const char *desc = name + ((n->n_namesz + 3u) & ~3u);

			if (desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    !memcmp(name, "GNU", 4)) {
				id->build_id_len = n->n_descsz < sizeof(id->build_id) ?
						   n->n_descsz : (uint32_t)sizeof(id->build_id);
				memcpy(id->build_id, desc, id->build_id_len);
				return;
			}
			p = desc + ((n->n_descsz + 3u) & ~3u);
		}
	}
}

static int ident_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct ident *id = data;
	(void)size;
	if (info->dlpi_addr != id->base)
		return 0;
	id->name = info->dlpi_name;
	read_build_id(info, id);
	return 1;
}

static int intern_slow(uintptr_t map, uintptr_t base)
{
	struct module_rec *rec;
	int idx = -1;

	pthread_mutex_lock(&intern_lock);
	HASH_FIND(hh, modules, &map, sizeof(map), rec);
	if (rec && rec->base == base) {
		idx = rec->idx;
		goto out;
	}
	struct ident id = { .base = base };
	char exe[416];
	const char *path;

	dl_iterate_phdr(ident_cb, &id);
	path = id.name;
	if (!path || !path[0]) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		path = exe;
	}
	idx = ttmem_module_intern(lc.table, path, id.build_id_len ? id.build_id : NULL,
				  id.build_id_len);
	if (idx < 0)
		log_warn_once("module table full: some callsites are recorded without module");
	if (!rec) {
		rec = calloc(1, sizeof(*rec));
		if (!rec)
			goto out;
		rec->map = map;
		HASH_ADD(hh, modules, map, sizeof(rec->map), rec);
	}
	rec->base = base;
	rec->idx = idx;
out:
	pthread_mutex_unlock(&intern_lock);
	return idx;
}

static int module_lookup(uintptr_t map, uintptr_t base);

static int module_of(uintptr_t pc, uint64_t *offset)
{
	struct dl_find_object fo;
	const struct link_map *lm;
	uintptr_t map, base;
	int idx;

	if (_dl_find_object((void *)pc, &fo) != 0 || !fo.dlfo_link_map)
		return -1;
	lm = fo.dlfo_link_map;
	map = (uintptr_t)lm;
	base = lm->l_addr;
	*offset = pc - base;
	if (__builtin_expect(map == tls_stack.mod_map && base == tls_stack.mod_base, 1))
		return tls_stack.mod_idx;
	idx = module_lookup(map, base);
	tls_stack.mod_map = map;
	tls_stack.mod_base = base;
	tls_stack.mod_idx = idx;
	return idx;
}

static __attribute__((noinline)) int module_lookup(uintptr_t map, uintptr_t base)
{
	unsigned h;
	int idx;

	h = (unsigned)((map >> 4) % NCACHE);
	for (unsigned i = 0; i < 4; i++) {
		unsigned j = (h + i) % NCACHE;
		uintptr_t m = atomic_load_explicit(&cache[j].map, memory_order_acquire);
		if (m == map && atomic_load_explicit(&cache[j].base, memory_order_acquire) == base)
			return atomic_load_explicit(&cache[j].idx, memory_order_relaxed);
		if (m == 0)
			break;
	}
	idx = intern_slow(map, base);
	for (unsigned i = 0; i < 4; i++) {
		unsigned j = (h + i) % NCACHE;
		uintptr_t expect = 0;
		if (atomic_compare_exchange_strong(&cache[j].map, &expect, map) || expect == map) {
			atomic_store_explicit(&cache[j].idx, idx, memory_order_relaxed);
			atomic_store_explicit(&cache[j].base, base, memory_order_release);
			break;
		}
	}
	return idx;
}

/* Inlined into the tracker (LTO): one frame less on every allocation. */
__attribute__((always_inline)) inline void callsite_get(void *ret, void *cfa, uint16_t *module,
							uint64_t *offset)
{
	uintptr_t pc = app_frame((uintptr_t)ret, (uintptr_t)cfa);
	int idx = module_of(pc, offset);

	if (idx < 0 || idx >= (int)TTMEM_MODULE_NONE) {
		*module = TTMEM_MODULE_NONE;
		*offset = pc;
		return;
	}
	*module = (uint16_t)idx;
}
