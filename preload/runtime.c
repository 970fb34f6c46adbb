/* SPDX-License-Identifier: MIT */
/*
 * Finding and vetting the tt-metal runtime (see runtime.h).
 *
 * Interposability is read from the runtime's dynamic section in memory: its
 * calls to GraphTracker::track_allocate / track_deallocate can only reach a
 * preloaded definition through a JUMP_SLOT (PLT) or GLOB_DAT (-fno-plt, GOT)
 * relocation against that symbol.  -Bsymbolic sets DF_SYMBOLIC; with
 * -Bsymbolic-functions there is no flag, but the relocations are gone.
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "ttmem/segment.h"

#include "abi.h"
#include "state.h"
#include "log.h"
#include "runtime.h"

/*
 * Attaching takes no lock (it calls dladdr, dlopen and dl_iterate_phdr, which
 * take the loader's locks, from inside a hook): the thread that moves state
 * from 0 to 1 attaches; the others wait for it a bounded time, lock-free,
 * then go on without it (their event may be untracked).  A fork child in
 * which another thread was attaching resets the state (runtime_atfork_child)
 * and attaches by itself.
 */
static struct {
	atomic_int state;          /* 0 none, 1 attaching, 2 attached */
	void *handle;
	atomic_int interposable;   /* -1 unknown */
} rt = { .interposable = -1 };

static __thread int attaching_here __attribute__((tls_model("initial-exec")));

#define ATTACH_WAIT_SPINS (1u << 20)   /* a few ms of pause instructions */

void *runtime_handle(void)
{
	return atomic_load_explicit(&rt.state, memory_order_acquire) == 2 ? rt.handle : NULL;
}

uintptr_t runtime_lo, runtime_hi;

int runtime_interposable(void)
{
	return atomic_load_explicit(&rt.interposable, memory_order_relaxed);
}

/* The dynamic loader relocates most d_ptr values in place on x86-64, but not
 * everywhere: accept both. */
static uintptr_t dyn_ptr(const struct link_map *lm, ElfW(Addr) v)
{
	return v < lm->l_addr ? lm->l_addr + v : v;
}

static int is_tracker_hook(const char *name)
{
	/* The two calls every allocation and free goes through. */
	return !strcmp(name, ABI_SYM_TRACK_ALLOCATE) || !strcmp(name, ABI_SYM_TRACK_DEALLOCATE);
}

/* Returns 1 if interposable, 0 if not; *symbolic set when DF_SYMBOLIC. */
static int check_relocations(const struct link_map *lm, int *symbolic)
{
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *rela[2] = { NULL, NULL };
	size_t relasz[2] = { 0, 0 };
	unsigned hits = 0;

	*symbolic = 0;
	for (const ElfW(Dyn) *d = lm->l_ld; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const void *)dyn_ptr(lm, d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const void *)dyn_ptr(lm, d->d_un.d_ptr); break;
		case DT_JMPREL: rela[0] = (const void *)dyn_ptr(lm, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: relasz[0] = d->d_un.d_val; break;
		case DT_RELA: rela[1] = (const void *)dyn_ptr(lm, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz[1] = d->d_un.d_val; break;
		case DT_SYMBOLIC: *symbolic = 1; break;
		case DT_FLAGS: if (d->d_un.d_val & DF_SYMBOLIC) *symbolic = 1; break;
		default: break;
		}
	}
	if (!symtab || !strtab)
		return 1;   /* cannot tell: do not cry wolf */
	for (int k = 0; k < 2; k++) {
		if (!rela[k])
			continue;
		for (size_t i = 0; i < relasz[k] / sizeof(ElfW(Rela)); i++) {
			uint64_t type = ELF64_R_TYPE(rela[k][i].r_info);
			uint64_t si = ELF64_R_SYM(rela[k][i].r_info);

			if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || si == 0)
				continue;
			if (is_tracker_hook(strtab + symtab[si].st_name))
				hits++;
		}
	}
	return hits > 0 && !*symbolic;
}

struct range_arg { uintptr_t base; uintptr_t lo, hi; };

static int range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct range_arg *a = data;
	(void)size;
	if (info->dlpi_addr != a->base)
		return 0;
	a->lo = UINTPTR_MAX;
	a->hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < a->lo)
			a->lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > a->hi)
			a->hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	return 1;
}

void runtime_attach(void *fn)
{
	Dl_info info;
	struct link_map *lm = NULL;
	void *h;

	if (!fn || atomic_load_explicit(&rt.state, memory_order_acquire) == 2 || attaching_here)
		return;
	int expected = 0;
	if (!atomic_compare_exchange_strong_explicit(&rt.state, &expected, 1,
						     memory_order_acquire, memory_order_acquire)) {
		/* Another thread is attaching (or just did): wait a bounded time. */
		for (unsigned i = 0; i < ATTACH_WAIT_SPINS &&
				     atomic_load_explicit(&rt.state, memory_order_acquire) == 1; i++)
			__builtin_ia32_pause();
		return;
	}
	attaching_here = 1;
	if (!dladdr(fn, &info) || !info.dli_fname)
		goto fail;
	h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm)
		goto fail;

	struct range_arg ra = { .base = lm->l_addr };
	dl_iterate_phdr(range_cb, &ra);
	runtime_lo = ra.lo;
	runtime_hi = ra.hi;
	rt.handle = h;

	int symbolic, ok = check_relocations(lm, &symbolic);
	atomic_store(&rt.interposable, ok);
	if (!ok) {
		log_warn("WARNING: the tt-metal runtime %s was linked with %s: its own calls to "
			 "GraphTracker are bound at link time and cannot be interposed, so ttmem "
			 "will see NO allocations of this process (rebuild the runtime without "
			 "-Bsymbolic/-Bsymbolic-functions)", info.dli_fname,
			 symbolic ? "-Bsymbolic" : "-Bsymbolic-functions (or an equivalent)");
		state_flag(TTMEM_PROC_F_NOT_INTERPOSABLE);
	}
	for (unsigned i = 0; i < runtime_hook_count; i++)
		if (runtime_hook_required[i] && !dlsym(h, runtime_hook_names[i]))
			log_warn("the tt-metal runtime %s lacks %s: this ttmem ABI profile does not "
				 "match it, tracking is partial", info.dli_fname, runtime_hook_names[i]);
	if (abi_bind(h) != 0)
		state_flag(TTMEM_PROC_F_ABI_PARTIAL);
	log_debug("attached to the tt-metal runtime %s (%s)", info.dli_fname,
		  ok ? "interposable" : "NOT interposable");
	atomic_store_explicit(&rt.state, 2, memory_order_release);
	attaching_here = 0;
	return;
fail:
	atomic_store_explicit(&rt.state, 0, memory_order_release);   /* a later call retries */
	attaching_here = 0;
}

void runtime_atfork_child(void)
{
	/* The attaching thread, if any, does not exist here. */
	int expected = 1;
	atomic_compare_exchange_strong(&rt.state, &expected, 0);
	attaching_here = 0;
}

struct probe_arg { const char *name; void *fn; };

static int probe_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct probe_arg *a = data;
	void *h, *fn;
	(void)size;

	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	fn = dlsym(h, a->name);
	dlclose(h);   /* pairs with the NOLOAD dlopen: only a reference count */
	if (!fn)
		return 0;
	Dl_info di, self;
	if (dladdr(fn, &di) && dladdr((void *)runtime_probe, &self) &&
	    di.dli_fbase != self.dli_fbase && di.dli_fbase == (void *)info->dlpi_addr) {
		a->fn = fn;
		return 1;
	}
	return 0;
}

int runtime_probe(void)
{
	if (atomic_load_explicit(&rt.state, memory_order_acquire) == 2)
		return 1;
	void *fn = dlsym(RTLD_NEXT, ABI_SYM_TRACK_ALLOCATE);
	if (!fn) {
		/* A runtime dlopen'ed with RTLD_LOCAL (ctypes) is not in the
		 * global scope: look at every loaded object. */
		fn = runtime_find(ABI_SYM_TRACK_ALLOCATE);
	}
	if (fn)
		runtime_attach(fn);
	return atomic_load_explicit(&rt.state, memory_order_acquire) == 2;
}

void *runtime_find(const char *name)
{
	struct probe_arg a = { name, NULL };

	dl_iterate_phdr(probe_cb, &a);
	return a.fn;
}
