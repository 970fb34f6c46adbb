/* SPDX-License-Identifier: MIT */
/*
 * elf_probe: can the preload track this runtime library?  Read with libelf,
 * never loaded or run.
 *
 * A hook works only if calls to the hooked function from inside the library
 * are resolved through the dynamic linker: a call through the PLT leaves an
 * R_*_JUMP_SLOT relocation naming the symbol, a call through the GOT
 * (-fno-plt) an R_*_GLOB_DAT, a vtable slot an absolute relocation (R_*_64).
 * A library linked with -Bsymbolic (DT_SYMBOLIC / DF_SYMBOLIC) binds all its
 * own references at link time; with -Bsymbolic-functions only functions,
 * which leaves no flag but no relocation naming the hooked functions either.
 * So: a hook is interposable iff a dynamic relocation names it and the
 * library is not DT_SYMBOLIC and the symbol is not protected.
 *
 * Every mangled name (hooks, the getters the preload calls, the diagnostic
 * entries) comes from the ABI room (abi/symbols.h, the one place that knows
 * them), and so does the generation: the same table the preload selects
 * from at attach (abi/select.c), asked about this library's .dynsym.  Rows
 * of other generations are not shown, and not missed.
 * Buffer::allocate_impl is reported for diagnosis only: clang inlines it
 * into Buffer::create, so no relocation names it there, which is why the
 * preload hooks GraphTracker instead.  The compiler comes from .comment
 * (a clang-built library carries both GCC's and clang's strings there, from
 * the C runtime objects and its own).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "probe.h"
#include "viewer.h"

#define V(t, sym) { .tag = t, .symbol = sym }
#define ONE(name, role, req, gens, sym) { name, role, req, gens, 1, { V("", sym) }, 0, 0 }
#define CTOR2(name, gens, c1, c2) \
	{ name, ROLE_HOOK, 0, gens, 2, { V("C1", c1), V("C2", c2) }, 0, 0 }
#define G12 (ABI_GEN_2025 | ABI_GEN_2025B)

static const struct probe_hook hook_table[] = {
	ONE("GraphTracker::track_allocate", ROLE_HOOK, 1, ABI_GEN_ALL, ABI_SYM_TRACK_ALLOCATE),
	ONE("GraphTracker::track_deallocate", ROLE_HOOK, 1, ABI_GEN_ALL, ABI_SYM_TRACK_DEALLOCATE),
	/* "tt": tt::tt_metal::CoreRangeSet; "glob": ::CoreRangeSet (ttnn 0.59). */
	{ "GraphTracker::track_allocate_cb", ROLE_HOOK, 0, ABI_GEN_ALL, 2,
	  { V("tt", ABI_SYM_TRACK_ALLOCATE_CB), V("glob", ABI_SYM_TRACK_ALLOCATE_CB_GNS) }, 0, 0 },
	ONE("GraphTracker::track_deallocate_cb", ROLE_HOOK, 0, ABI_GEN_ALL,
	    ABI_SYM_TRACK_DEALLOCATE_CB),
	ONE("GraphTracker::hook_allocate", ROLE_HOOK, 0, 0, ABI_SYM_HOOK_ALLOCATE),
	ONE("GraphTracker::track_program", ROLE_HOOK, 0, 0, ABI_SYM_TRACK_PROGRAM),
	/* Owner constructors and the command queue destructor: the shape is
	 * not one per generation (ttnn 0.70.1 is a 2025b with the 2026 shapes),
	 * so each is used where present (gens 0) and owner_attribution says
	 * whether any binds. */
	CTOR2("HWCommandQueue(IDevice*, shared_ptr, u32, NOC, u32)", 0, ABI_SYM_CQ_C1,
	      ABI_SYM_CQ_C2),
	CTOR2("HWCommandQueue(Device*, u32, NOC)", 0, ABI_SYM_CQDEV_C1, ABI_SYM_CQDEV_C2),
	CTOR2("HWCommandQueue(IDevice*, u32, NOC)", 0, ABI_SYM_CQ26_C1, ABI_SYM_CQ26_C2),
	CTOR2("HWCommandQueue(ContextId, IDevice*, u32, NOC)", 0, ABI_SYM_CQCTX_C1,
	      ABI_SYM_CQCTX_C2),
	CTOR2("HWCommandQueue(IDevice*, u32, NOC, u32)", 0, ABI_SYM_CQ4_C1, ABI_SYM_CQ4_C2),
	{ "HWCommandQueue::~HWCommandQueue", ROLE_HOOK, 0, 0, 3,
	  { V("D0", ABI_SYM_CQ_D0), V("D1", ABI_SYM_CQ_D1), V("D2", ABI_SYM_CQ_D2) }, 0, 0 },
	CTOR2("SystemMemoryManager(ChipId, u8)", 0, ABI_SYM_SMM_C1, ABI_SYM_SMM_C2),
	CTOR2("SystemMemoryManager(ContextId, ChipId, u8)", 0, ABI_SYM_SMM26_C1, ABI_SYM_SMM26_C2),
	/* Upstream declares no destructor: it may be inline and not exported. */
	{ "SystemMemoryManager::~SystemMemoryManager", ROLE_INFO, 0, ABI_GEN_ALL, 3,
	  { V("D0", ABI_SYM_SMM_D0), V("D1", ABI_SYM_SMM_D1), V("D2", ABI_SYM_SMM_D2) }, 0, 0 },
	ONE("Device::init_command_queue_host", ROLE_HOOK, 0, 0, ABI_SYM_DEVICE_INIT_CQ_HOST),
	ONE("Device::init_command_queue_device", ROLE_HOOK, 0, 0, ABI_SYM_DEVICE_INIT_CQ_DEVICE),
	ONE("Device::init_command_queue_device_with_topology", ROLE_HOOK, 0, 0,
	    ABI_SYM_DEVICE_INIT_CQ_TOPO),
	ONE("Device::close", ROLE_HOOK, 0, ABI_GEN_ALL, ABI_SYM_DEVICE_CLOSE),
	ONE("distributed::MeshDevice::close", ROLE_HOOK, 0, ABI_GEN_ALL, ABI_SYM_MESH_CLOSE),
	ONE("Allocator::deallocate_buffers", ROLE_HOOK, 0, ABI_GEN_2025, ABI_SYM_ALLOC_BULK_FREE),
	ONE("Allocator::clear", ROLE_HOOK, 0, ABI_GEN_2025, ABI_SYM_ALLOC_CLEAR),
	ONE("AllocatorImpl::deallocate_buffers", ROLE_HOOK, 0, ABI_GEN_2025B,
	    ABI_SYM_ALLOCI_BULK_FREE),
	ONE("AllocatorImpl::clear", ROLE_HOOK, 0, ABI_GEN_2025B, ABI_SYM_ALLOCI_CLEAR),
	/* Maps an AllocatorImpl to the view Buffer::allocator() answers, on a
	 * generation read through getters. */
	ONE("AllocatorImpl::view", ROLE_CALLED, 0, ABI_GEN_2026, ABI_SYM_ALLOCI_VIEW),
	{ "SubDeviceManager::~SubDeviceManager", ROLE_INFO, 0, ABI_GEN_ALL, 2,
	  { V("D1", ABI_SYM_SUBDEV_D1), V("D2", ABI_SYM_SUBDEV_D2) }, 0, 0 },
	ONE("Buffer::address", ROLE_CALLED, 1, ABI_GEN_ALL, ABI_SYM_BUFFER_ADDRESS),
	ONE("Buffer::page_size", ROLE_CALLED, 1, ABI_GEN_ALL, ABI_SYM_BUFFER_PAGE_SIZE),
	ONE("Buffer::num_pages", ROLE_CALLED, 1, ABI_GEN_ALL, ABI_SYM_BUFFER_NUM_PAGES),
	ONE("Buffer::is_dram", ROLE_CALLED, 0, ABI_GEN_ALL, ABI_SYM_BUFFER_IS_DRAM),
	ONE("Buffer::is_l1", ROLE_CALLED, 0, ABI_GEN_ALL, ABI_SYM_BUFFER_IS_L1),
	ONE("Buffer::is_trace", ROLE_CALLED, 0, G12, ABI_SYM_BUFFER_IS_TRACE),
	ONE("Buffer::device", ROLE_CALLED, 0, ABI_GEN_2026, ABI_SYM_BUFFER_DEVICE),
	ONE("Buffer::allocator", ROLE_CALLED, 0, ABI_GEN_2025B | ABI_GEN_2026,
	    ABI_SYM_BUFFER_ALLOCATOR),
	ONE("Buffer::size", ROLE_CALLED, 0, ABI_GEN_2026, ABI_SYM_BUFFER_SIZE),
	ONE("Buffer::buffer_type", ROLE_CALLED, 0, ABI_GEN_2026, ABI_SYM_BUFFER_TYPE),
	ONE("MeshDevice::get_devices", ROLE_CALLED, 0, ABI_GEN_ALL, ABI_SYM_MESH_GET_DEVICES),
	ONE("Buffer::impl", ROLE_INFO, 0, ABI_GEN_2026, ABI_SYM_BUFFER_IMPL),
	ONE("GraphTracker::instance", ROLE_INFO, 0, ABI_GEN_ALL, ABI_SYM_GT_INSTANCE),
	/* Allocation events the preload does not hook (abi/symbols.h): shown
	 * where exported, so that a runtime that starts calling them is seen. */
	ONE("GraphTracker::track_allocate_scratchpad", ROLE_INFO, 0, 0,
	    ABI_SYM_TRACK_ALLOCATE_SCRATCHPAD),
	ONE("GraphTracker::track_allocate_dataflow_buffer", ROLE_INFO, 0, 0,
	    ABI_SYM_TRACK_ALLOCATE_DFB),
	ONE("Buffer::allocate_impl", ROLE_INFO, 0, G12, ABI_SYM_ALLOCATE_IMPL),
	ONE("Buffer::deallocate_impl", ROLE_INFO, 0, G12, ABI_SYM_DEALLOCATE_IMPL),
};

#define NHOOKS (sizeof(hook_table) / sizeof(hook_table[0]))

int probe_hook_expected(const struct probe_report *r, const struct probe_hook *h)
{
	if (h->gens == 0)
		return 0;
	return r->generation && r->generation->bit ? (h->gens & r->generation->bit) != 0 :
						     h->gens == ABI_GEN_ALL;
}

/* abi_exported_fn over the table: the generation marks are all rows. */
static int row_exported(void *ctx, const char *name)
{
	const struct probe_report *r = ctx;

	for (size_t i = 0; i < r->nhooks; i++)
		for (unsigned k = 0; k < r->hooks[i].nvariants; k++)
			if (!strcmp(r->hooks[i].v[k].symbol, name))
				return r->hooks[i].v[k].present;
	return 0;
}

/* Relocation type classes per machine. */
enum rclass { RC_OTHER, RC_PLT, RC_GOT, RC_ABS };

static enum rclass reloc_class(unsigned machine, unsigned type)
{
	switch (machine) {
	case EM_X86_64:
		return type == R_X86_64_JUMP_SLOT ? RC_PLT : type == R_X86_64_GLOB_DAT ? RC_GOT :
		       type == R_X86_64_64 ? RC_ABS : RC_OTHER;
	case EM_AARCH64:
		return type == R_AARCH64_JUMP_SLOT ? RC_PLT : type == R_AARCH64_GLOB_DAT ? RC_GOT :
		       type == R_AARCH64_ABS64 ? RC_ABS : RC_OTHER;
	case EM_386:
		return type == R_386_JMP_SLOT ? RC_PLT : type == R_386_GLOB_DAT ? RC_GOT :
		       type == R_386_32 ? RC_ABS : RC_OTHER;
	default:
		return RC_OTHER;
	}
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64:
		return "x86-64";
	case EM_AARCH64:
		return "aarch64";
	case EM_386:
		return "i386";
	case EM_RISCV:
		return "riscv";
	default:
		return "other";
	}
}

void probe_release(struct probe_report *r)
{
	free(r->hooks);
	r->hooks = NULL;
}

/* Which hook variant a .dynsym name is, or NULL. */
static struct probe_variant *find_variant(struct probe_report *r, const char *name)
{
	if (strncmp(name, "_ZN", 3) && strncmp(name, "_ZNK", 4))
		return NULL;
	for (size_t i = 0; i < r->nhooks; i++)
		for (unsigned k = 0; k < r->hooks[i].nvariants; k++)
			if (!strcmp(r->hooks[i].v[k].symbol, name))
				return &r->hooks[i].v[k];
	return NULL;
}

static void read_dynamic(struct probe_report *r, Elf *e, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; d && i < n; i++) {
		GElf_Dyn dyn;

		if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
			break;
		if (dyn.d_tag == DT_SYMBOLIC)
			r->dt_symbolic = 1;
		if (dyn.d_tag == DT_FLAGS && (dyn.d_un.d_val & DF_SYMBOLIC))
			r->df_symbolic = 1;
		if (dyn.d_tag == DT_FLAGS && (dyn.d_un.d_val & DF_BIND_NOW))
			r->bind_now = 1;
		if (dyn.d_tag == DT_FLAGS_1 && (dyn.d_un.d_val & DF_1_NOW))
			r->bind_now = 1;
		if (dyn.d_tag == DT_BIND_NOW)
			r->bind_now = 1;
	}
	(void)e;
}

static void read_build_id(struct probe_report *r, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((char *)d->d_buf + noff, "GNU", 4))
			continue;
		for (size_t i = 0; i < nh.n_descsz && 2 * i + 2 < sizeof(r->build_id); i++)
			snprintf(r->build_id + 2 * i, 3, "%02x",
				 ((const unsigned char *)d->d_buf)[doff + i]);
		return;
	}
}

/* The compiler that built the library, from its .comment strings. */
static void read_comment(struct probe_report *r, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	const char *p, *end, *gcc = NULL, *clang = NULL;

	if (!d || !d->d_buf)
		return;
	p = d->d_buf;
	end = p + d->d_size;
	while (p < end) {
		size_t n = strnlen(p, (size_t)(end - p));
		const char *v;

		if (n >= 6 && !strncmp(p, "GCC: (", 6) && !gcc)
			gcc = p;
		if ((v = memmem(p, n, "clang version ", 14)) != NULL && !clang)
			clang = v + 14;
		p += n + 1;
	}
	if (clang)
		snprintf(r->toolchain, sizeof(r->toolchain), "clang %.*s",
			 (int)strcspn(clang, " ()"), clang);
	else if (gcc) {
		const char *ver = strrchr(gcc, ' ');
		snprintf(r->toolchain, sizeof(r->toolchain), "gcc %s", ver ? ver + 1 : "");
	}
}

/*
 * The .dynsym entries that name hook variants, and the dynamic relocations
 * against them.  The runtime itself (caller 0): which variants it exports
 * and how its own calls reach them (plt, got, abs).  A caller object
 * (caller 1): how many of its relocations name a variant it leaves
 * undefined (callers).  Returns 0, or -1 when the table cannot be read.
 */
static int read_symbols(struct probe_report *r, Elf *e, size_t dynsym_ndx, unsigned machine,
			int caller)
{
	Elf_Scn *ds = elf_getscn(e, dynsym_ndx), *scn = NULL;
	GElf_Shdr dsh;
	Elf_Data *dd;
	size_t nsyms;
	struct probe_variant **by_index;

	if (!ds || !gelf_getshdr(ds, &dsh) || !dsh.sh_entsize ||
	    !(dd = elf_getdata(ds, NULL)))
		return -1;
	nsyms = dsh.sh_size / dsh.sh_entsize;
	by_index = calloc(nsyms ? nsyms : 1, sizeof(*by_index));
	if (!by_index)
		return -1;
	for (size_t i = 0; i < nsyms; i++) {
		GElf_Sym s;
		const char *name;
		struct probe_variant *v;

		if (!gelf_getsym(dd, (int)i, &s))
			break;
		name = elf_strptr(e, dsh.sh_link, s.st_name);
		if (!name || !(v = find_variant(r, name)))
			continue;
		/* A caller counts only where it leaves the name to the
		 * runtime (undefined): its own copy is not the runtime's. */
		if (caller) {
			if (s.st_shndx == SHN_UNDEF)
				by_index[i] = v;
			continue;
		}
		by_index[i] = v;
		if (s.st_shndx != SHN_UNDEF &&
		    (GELF_ST_BIND(s.st_info) == STB_GLOBAL || GELF_ST_BIND(s.st_info) == STB_WEAK) &&
		    GELF_ST_VISIBILITY(s.st_other) != STV_HIDDEN &&
		    GELF_ST_VISIBILITY(s.st_other) != STV_INTERNAL) {
			v->present = 1;
			v->value = s.st_value;
			v->protected_vis = GELF_ST_VISIBILITY(s.st_other) == STV_PROTECTED;
		}
	}
	/* Relocations against .dynsym. */
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_RELA && sh.sh_type != SHT_REL) ||
		    sh.sh_link != dynsym_ndx || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			uint64_t info;
			size_t sym;
			unsigned type;
			struct probe_variant *v;

			if (sh.sh_type == SHT_RELA) {
				GElf_Rela rel;

				if (!gelf_getrela(d, (int)i, &rel))
					break;
				info = rel.r_info;
			} else {
				GElf_Rel rel;

				if (!gelf_getrel(d, (int)i, &rel))
					break;
				info = rel.r_info;
			}
			if (gelf_getclass(e) == ELFCLASS64) {
				sym = (size_t)GELF_R_SYM(info);
				type = (unsigned)GELF_R_TYPE(info);
			} else {
				sym = (size_t)ELF32_R_SYM(info);
				type = (unsigned)ELF32_R_TYPE(info);
			}
			if (sym >= nsyms || !(v = by_index[sym]))
				continue;
			if (caller) {
				v->callers += reloc_class(machine, type) != RC_OTHER;
				continue;
			}
			switch (reloc_class(machine, type)) {
			case RC_PLT:
				v->plt++;
				break;
			case RC_GOT:
				v->got++;
				break;
			case RC_ABS:
				v->abs++;
				break;
			default:
				break;
			}
		}
	}
	free(by_index);
	return 0;
}

/* A caller object (`ttmem probe --caller`): its relocations against the
 * runtime's names.  Returns 0, or -1 with the reason in err. */
static int read_caller(struct probe_report *r, const char *path, char *err, size_t errlen)
{
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t dynsym_ndx = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "caller %s: %s", path, strerror(errno));
		return -1;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(err, errlen, "caller %s: not an ELF file", path);
		goto out;
	}
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNSYM)
			dynsym_ndx = elf_ndxscn(scn);
	}
	if (!dynsym_ndx || read_symbols(r, e, dynsym_ndx, eh.e_machine, 1) < 0) {
		snprintf(err, errlen, "caller %s: no readable dynamic symbol table", path);
		goto out;
	}
	rc = 0;
out:
	if (e)
		elf_end(e);
	close(fd);
	return rc;
}

static void verdict(struct probe_report *r)
{
	const struct probe_hook *ta = NULL, *ai = NULL;
	int required_hook_bound = 0;

	r->generation = abi_generation_select(row_exported, r);
	for (size_t i = 0; i < r->nhooks; i++) {
		struct probe_hook *h = &r->hooks[i];

		if (!strcmp(h->name, "GraphTracker::track_allocate"))
			ta = h;
		if (!strcmp(h->name, "Buffer::allocate_impl"))
			ai = h;
		if (h->required && !h->present)
			r->missing_required++;
		if (!h->required && h->role == ROLE_HOOK && !h->present &&
		    probe_hook_expected(r, h))
			r->missing_optional++;
		if (h->role == ROLE_HOOK && h->present && !h->interposable &&
		    (h->required || probe_hook_expected(r, h))) {
			if (h->required)
				required_hook_bound++;
			else
				r->not_interposable_optional++;
		}
	}
	r->bound_directly = r->dt_symbolic || r->df_symbolic || required_hook_bound > 0;
	r->allocate_impl_inlined = ai && ai->present && !ai->interposable && ta &&
				   ta->interposable && !r->bound_directly;
	if (r->missing_required) {
		r->flavour = "not tt-metal";
		r->exit_code = VX_PROBE_MISSING;
		r->verdict = "tracking will NOT work: required hook points are missing "
			     "(not a tt-metal runtime, or an ABI ttmem does not know)";
	} else if (r->bound_directly) {
		r->flavour = r->dt_symbolic || r->df_symbolic ? "bound directly (-Bsymbolic)" :
								"bound directly (-Bsymbolic-functions)";
		r->exit_code = VX_PROBE_BOUND;
		r->verdict = "tracking will NOT work: calls inside the library are bound at link "
			     "time, so a preloaded hook never sees them; rebuild without "
			     "-Bsymbolic/-Bsymbolic-functions";
	} else if (!r->relocs_understood) {
		r->flavour = "unknown machine";
		r->exit_code = VX_PROBE_PARTIAL;
		r->verdict = "cannot tell how calls are bound on this machine; hooks are present";
	} else if (r->missing_optional || r->not_interposable_optional) {
		r->flavour = r->allocate_impl_inlined ? "interposable, allocate_impl inlined" :
							"interposable";
		r->exit_code = VX_PROBE_PARTIAL;
		r->verdict = "tracking will work partly: allocations are seen, but some "
			     "lifecycle hooks are missing or bound directly (see above)";
	} else {
		r->flavour = r->allocate_impl_inlined ? "interposable, allocate_impl inlined" :
							"interposable";
		r->exit_code = VX_OK;
		r->verdict = r->allocate_impl_inlined ?
				     "tracking will work (allocate_impl is inlined into "
				     "Buffer::create, as clang does; ttmem hooks "
				     "GraphTracker::track_allocate, which still sees every allocation)" :
				     "tracking will work: every hook is reached through the PLT/GOT";
	}
}

int elf_probe(const char *path, const char *const *callers, size_t ncallers,
	      struct probe_report *r, char *err, size_t errlen)
{
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t dynsym_ndx = 0, shnum = 0;
	int fd, rc = -1;
	unsigned machine;

	memset(r, 0, sizeof(*r));
	r->hooks = malloc(sizeof(hook_table));
	if (!r->hooks) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(r->hooks, hook_table, sizeof(hook_table));
	r->nhooks = NHOOKS;
	r->generation = &abi_generation_unknown;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(err, errlen, "%s: not an ELF file", path);
		goto out;
	}
	machine = eh.e_machine;
	snprintf(r->machine, sizeof(r->machine), "%s", machine_name(machine));
	r->elf_class = gelf_getclass(e) == ELFCLASS64 ? 64 : 32;
	r->is_dyn = eh.e_type == ET_DYN;
	r->relocs_understood = machine == EM_X86_64 || machine == EM_AARCH64 || machine == EM_386;
	if (elf_getshdrnum(e, &shnum) < 0)
		shnum = 0;

	/* Pass 1: .dynamic, notes, and which .dynsym entries are hooks. */
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNAMIC)
			read_dynamic(r, e, scn, &sh);
		else if (sh.sh_type == SHT_NOTE && !r->build_id[0])
			read_build_id(r, scn);
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym_ndx = elf_ndxscn(scn);
		else if (sh.sh_type == SHT_PROGBITS && !r->toolchain[0]) {
			size_t shstrndx;
			const char *sname;

			if (elf_getshdrstrndx(e, &shstrndx) == 0 &&
			    (sname = elf_strptr(e, shstrndx, sh.sh_name)) && !strcmp(sname, ".comment"))
				read_comment(r, scn);
		}
	}
	if (!dynsym_ndx) {
		snprintf(err, errlen, "%s: no dynamic symbol table (not a shared library?)", path);
		goto out;
	}

	if (read_symbols(r, e, dynsym_ndx, machine, 0) < 0) {
		snprintf(err, errlen, "%s: unreadable dynamic symbol table", path);
		goto out;
	}
	for (size_t i = 0; i < ncallers; i++)
		if (read_caller(r, callers[i], err, errlen) < 0)
			goto out;

	for (size_t i = 0; i < r->nhooks; i++) {
		struct probe_hook *h = &r->hooks[i];
		unsigned present = 0;

		for (unsigned k = 0; k < h->nvariants; k++) {
			struct probe_variant *v = &h->v[k];

			present += (unsigned)v->present;
			if (v->present && !v->protected_vis &&
			    (v->plt || v->got || v->abs || v->callers) &&
			    !r->dt_symbolic && !r->df_symbolic)
				h->interposable = 1;
		}
		/* Constructors: C1 and C2 are often aliases, one is enough;
		 * destructors: D1/D2 likewise; D0 only for virtual ones. */
		h->present = present > 0;
	}
	if (!r->toolchain[0])
		snprintf(r->toolchain, sizeof(r->toolchain), "unknown");
	verdict(r);
	probe_capabilities(r);
	rc = 0;
out:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		probe_release(r);
	(void)shnum;
	return rc;
}
