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
 * entries) comes from the preload's ABI profile, preload/abi.h, the one
 * place that knows them (RESEARCH.md section 1).  Buffer::allocate_impl is reported
 * for diagnosis only: clang inlines it into Buffer::create, so no relocation
 * names it there, which is why the preload hooks GraphTracker instead.
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

static const struct probe_hook hook_table[] = {
	{ "GraphTracker::track_allocate", ROLE_HOOK, 1, 1,
	  { { "", ABI_SYM_TRACK_ALLOCATE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "GraphTracker::track_deallocate", ROLE_HOOK, 1, 1,
	  { { "", ABI_SYM_TRACK_DEALLOCATE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "GraphTracker::track_allocate_cb", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_TRACK_ALLOCATE_CB,
	      0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "GraphTracker::track_deallocate_cb", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_TRACK_DEALLOCATE_CB, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "HWCommandQueue::HWCommandQueue", ROLE_HOOK, 0, 2,
	  { { "C1", ABI_SYM_CQ_C1,
	      0, 0, 0, 0, 0, 0 },
	    { "C2", ABI_SYM_CQ_C2,
	      0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "HWCommandQueue::~HWCommandQueue", ROLE_HOOK, 0, 3,
	  { { "D0", ABI_SYM_CQ_D0, 0, 0, 0, 0, 0, 0 },
	    { "D1", ABI_SYM_CQ_D1, 0, 0, 0, 0, 0, 0 },
	    { "D2", ABI_SYM_CQ_D2, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "SystemMemoryManager::SystemMemoryManager", ROLE_HOOK, 0, 2,
	  { { "C1", ABI_SYM_SMM_C1, 0, 0, 0, 0, 0, 0 },
	    { "C2", ABI_SYM_SMM_C2, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	/* Upstream declares no destructor: it may be inline and not exported. */
	{ "SystemMemoryManager::~SystemMemoryManager", ROLE_INFO, 0, 3,
	  { { "D0", ABI_SYM_SMM_D0, 0, 0, 0, 0, 0, 0 },
	    { "D1", ABI_SYM_SMM_D1, 0, 0, 0, 0, 0, 0 },
	    { "D2", ABI_SYM_SMM_D2, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Device::close", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_DEVICE_CLOSE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "distributed::MeshDevice::close", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_MESH_CLOSE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Allocator::deallocate_buffers", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_ALLOC_BULK_FREE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Allocator::clear", ROLE_HOOK, 0, 1,
	  { { "", ABI_SYM_ALLOC_CLEAR, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "SubDeviceManager::~SubDeviceManager", ROLE_INFO, 0, 2,
	  { { "D1", ABI_SYM_SUBDEV_D1, 0, 0, 0, 0, 0, 0 },
	    { "D2", ABI_SYM_SUBDEV_D2, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Buffer::address", ROLE_CALLED, 1, 1,
	  { { "", ABI_SYM_BUFFER_ADDRESS, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Buffer::page_size", ROLE_CALLED, 1, 1,
	  { { "", ABI_SYM_BUFFER_PAGE_SIZE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Buffer::num_pages", ROLE_CALLED, 1, 1,
	  { { "", ABI_SYM_BUFFER_NUM_PAGES, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "GraphTracker::instance", ROLE_INFO, 0, 1,
	  { { "", ABI_SYM_GT_INSTANCE, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Buffer::allocate_impl", ROLE_INFO, 0, 1,
	  { { "", ABI_SYM_ALLOCATE_IMPL, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
	{ "Buffer::deallocate_impl", ROLE_INFO, 0, 1,
	  { { "", ABI_SYM_DEALLOCATE_IMPL, 0, 0, 0, 0, 0, 0 } }, 0, 0 },
};

#define NHOOKS (sizeof(hook_table) / sizeof(hook_table[0]))

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

static void verdict(struct probe_report *r)
{
	const struct probe_hook *ta = NULL, *ai = NULL;
	int required_hook_bound = 0;

	for (size_t i = 0; i < r->nhooks; i++) {
		struct probe_hook *h = &r->hooks[i];

		if (!strcmp(h->name, "GraphTracker::track_allocate"))
			ta = h;
		if (!strcmp(h->name, "Buffer::allocate_impl"))
			ai = h;
		if (h->required && !h->present)
			r->missing_required++;
		if (!h->required && h->role == ROLE_HOOK && !h->present)
			r->missing_optional++;
		if (h->role == ROLE_HOOK && h->present && !h->interposable) {
			if (h->required)
				required_hook_bound++;
			else
				r->not_interposable_optional++;
		}
	}
	r->bound_directly = r->dt_symbolic || r->df_symbolic || required_hook_bound > 0;
	r->allocate_impl_inlined = ai && ai->present && !ai->interposable && ta &&
				   ta->interposable && !r->bound_directly;
	r->profile = r->missing_required ? NULL : "tt-metal-2025";
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

int elf_probe(const char *path, struct probe_report *r, char *err, size_t errlen)
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
	}
	if (!dynsym_ndx) {
		snprintf(err, errlen, "%s: no dynamic symbol table (not a shared library?)", path);
		goto out;
	}

	/* Map dynsym index -> variant, for the relocation pass. */
	{
		Elf_Scn *ds = elf_getscn(e, dynsym_ndx);
		GElf_Shdr dsh;
		Elf_Data *dd;
		size_t nsyms;
		struct probe_variant **by_index;

		if (!ds || !gelf_getshdr(ds, &dsh) || !dsh.sh_entsize ||
		    !(dd = elf_getdata(ds, NULL))) {
			snprintf(err, errlen, "%s: unreadable dynamic symbol table", path);
			goto out;
		}
		nsyms = dsh.sh_size / dsh.sh_entsize;
		by_index = calloc(nsyms ? nsyms : 1, sizeof(*by_index));
		if (!by_index) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < nsyms; i++) {
			GElf_Sym s;
			const char *name;
			struct probe_variant *v;

			if (!gelf_getsym(dd, (int)i, &s))
				break;
			name = elf_strptr(e, dsh.sh_link, s.st_name);
			if (!name || !(v = find_variant(r, name)))
				continue;
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
		/* Pass 2: relocations against .dynsym. */
		scn = NULL;
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
				if (r->elf_class == 64) {
					sym = (size_t)GELF_R_SYM(info);
					type = (unsigned)GELF_R_TYPE(info);
				} else {
					sym = (size_t)ELF32_R_SYM(info);
					type = (unsigned)ELF32_R_TYPE(info);
				}
				if (sym >= nsyms || !(v = by_index[sym]))
					continue;
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
	}

	for (size_t i = 0; i < r->nhooks; i++) {
		struct probe_hook *h = &r->hooks[i];
		unsigned present = 0;

		for (unsigned k = 0; k < h->nvariants; k++) {
			struct probe_variant *v = &h->v[k];

			present += (unsigned)v->present;
			if (v->present && !v->protected_vis && (v->plt || v->got || v->abs) &&
			    !r->dt_symbolic && !r->df_symbolic)
				h->interposable = 1;
		}
		/* Constructors: C1 and C2 are often aliases, one is enough;
		 * destructors: D1/D2 likewise; D0 only for virtual ones. */
		h->present = present > 0;
	}
	verdict(r);
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
