/* SPDX-License-Identifier: MIT */
/*
 * Callsites -> function names, after the process is gone: the preload
 * recorded (module index, offset of the return address in the module); the
 * module table in the segment gives the path and the file's identity
 * (build-id, else device/inode/size/mtime).  We reopen the file with libelf
 * only if it is still the same file; otherwise, or without symbols, the
 * callsite is shown as module+offset with the reason.
 *
 * The offset is relative to the module's load base (dladdr's dli_fbase), so
 * the ELF virtual address is offset + the page-aligned vaddr of the first
 * PT_LOAD (0 for shared objects and PIE, 0x400000 for classic executables).
 * A return address points after the call: we look up offset - 1.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "viewer.h"

struct sym {
	uint64_t addr, size;
	char *name;
};

struct modcache {
	int loaded;
	const char *status;        /* why there are no symbols, or "ok" */
	uint64_t bias;
	size_t nsyms;
	struct sym *syms;          /* sorted by addr */
	char path[417];
};

struct symbolizer {
	const struct ttmem_module *mods;
	uint32_t nmods;
	struct modcache **cache;   /* nmods pointers, filled lazily */
};

/* ---- demangling ------------------------------------------------------------- */

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);

void demangle(const char *in, char *out, size_t len)
{
	static cxa_demangle_fn fn;
	static int tried;
	char *d = NULL;
	int status = -1;

	if (!len)
		return;
	if (in[0] == '_' && in[1] == 'Z') {
		if (!tried) {
			void *h;

			tried = 1;
			/* libstdc++ only when there is a C++ name to demangle: the
			 * viewer is C and does not link it. */
			h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
			if (h)
				*(void **)&fn = dlsym(h, "__cxa_demangle");
		}
		if (fn)
			d = fn(in, NULL, NULL, &status);
	}
	snprintf(out, len, "%s", d && status == 0 ? d : in);
	free(d);
}

/* ---- ELF reading -------------------------------------------------------------- */

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The GNU build-id of an open ELF, 0 if it has none. */
static size_t elf_build_id(Elf *e, uint8_t *out, size_t max)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + noff, "GNU", 4)) {
				size_t n = nh.n_descsz < max ? nh.n_descsz : max;

				memcpy(out, (char *)data->d_buf + doff, n);
				return n;
			}
		}
	}
	return 0;
}

static void load_symbols(struct modcache *mc, Elf *e)
{
	size_t nph = 0, cap = 0;
	int have_symtab = 0;
	Elf_Scn *scn = NULL;

	if (elf_getphdrnum(e, &nph) == 0) {
		int first = 1;

		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (first || ph.p_vaddr < mc->bias) {
				uint64_t align = ph.p_align > 1 ? ph.p_align : 1;

				mc->bias = ph.p_vaddr & ~(align - 1);
				first = 0;
			}
		}
	}
	/* .symtab when present (it has the local functions), else .dynsym. */
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			have_symtab = 1;
	}
	scn = NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) ||
		    sh.sh_type != (have_symtab ? SHT_SYMTAB : SHT_DYNSYM) || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;
			struct sym *ns;

			if (!gelf_getsym(data, (int)i, &s))
				break;
			if ((GELF_ST_TYPE(s.st_info) != STT_FUNC &&
			     GELF_ST_TYPE(s.st_info) != STT_GNU_IFUNC) ||
			    s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			if (mc->nsyms == cap) {
				cap = cap ? cap * 2 : 256;
				ns = realloc(mc->syms, cap * sizeof(*ns));
				if (!ns)
					return;
				mc->syms = ns;
			}
			mc->syms[mc->nsyms].addr = s.st_value;
			mc->syms[mc->nsyms].size = s.st_size;
			mc->syms[mc->nsyms].name = strdup(name);
			if (mc->syms[mc->nsyms].name)
				mc->nsyms++;
		}
	}
	if (mc->nsyms)
		qsort(mc->syms, mc->nsyms, sizeof(*mc->syms), cmp_sym);
}

static void load_module(struct modcache *mc, const struct ttmem_module *m)
{
	uint32_t bid_len = m->build_id_len;
	struct stat st;
	Elf *e = NULL;
	int fd;

	mc->loaded = 1;
	memcpy(mc->path, m->path, sizeof(m->path));
	mc->path[sizeof(m->path)] = 0;
	/* The path comes from the segment: O_NONBLOCK so that a FIFO planted
	 * there cannot hang the viewer, and only regular files are read. */
	fd = open(mc->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mc->status = "no-file";
		goto out;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		mc->status = "file-changed"; /* not an ELF any more */
		goto out;
	}
	if (bid_len > 0 && bid_len <= sizeof(m->build_id)) {
		uint8_t bid[64];
		size_t n = elf_build_id(e, bid, sizeof(bid));

		if (n != bid_len || memcmp(bid, m->build_id, n)) {
			mc->status = "file-changed";
			goto out;
		}
	} else if ((m->file_size && m->file_size != (uint64_t)st.st_size) ||
		   (m->file_ino && m->file_ino != (uint64_t)st.st_ino) ||
		   (m->file_mtime_ns &&
		    m->file_mtime_ns != (uint64_t)st.st_mtim.tv_sec * 1000000000u +
						(uint64_t)st.st_mtim.tv_nsec)) {
		mc->status = "file-changed";
		goto out;
	}
	load_symbols(mc, e);
	mc->status = mc->nsyms ? "ok" : "no-symbol";
out:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
}

/* ---- the symbolizer ------------------------------------------------------------- */

struct symbolizer *symbolizer_new(const struct ttmem_table *t)
{
	struct symbolizer *sy = calloc(1, sizeof(*sy));
	uint32_t n = ttmem_table_module_capacity(t); /* validated, not re-read */

	if (!sy)
		return NULL;
	elf_version(EV_CURRENT);
	sy->mods = ttmem_table_modules(t);
	sy->nmods = n > TTMEM_MAX_MODULE_CAPACITY ? TTMEM_MAX_MODULE_CAPACITY : n;
	sy->cache = calloc(sy->nmods ? sy->nmods : 1, sizeof(*sy->cache));
	if (!sy->cache) {
		free(sy);
		return NULL;
	}
	return sy;
}

void symbolizer_free(struct symbolizer *sy)
{
	if (!sy)
		return;
	for (uint32_t i = 0; i < sy->nmods; i++) {
		struct modcache *mc = sy->cache[i];

		if (!mc)
			continue;
		for (size_t k = 0; k < mc->nsyms; k++)
			free(mc->syms[k].name);
		free(mc->syms);
		free(mc);
	}
	free(sy->cache);
	free(sy);
}

void symbolize(struct symbolizer *sy, uint16_t module, uint64_t offset, struct symbol_info *out)
{
	struct modcache *mc;
	uint64_t addr;
	size_t lo, hi;

	memset(out, 0, sizeof(*out));
	out->offset = offset;
	snprintf(out->module, sizeof(out->module), "?");
	if (!sy || module == TTMEM_MODULE_NONE || module >= sy->nmods ||
	    atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&sy->mods[module].state,
				 memory_order_acquire) != 2) {
		out->status = "no-module";
		return;
	}
	mc = sy->cache[module];
	if (!mc) {
		mc = calloc(1, sizeof(*mc));
		if (!mc) {
			out->status = "no-module";
			return;
		}
		sy->cache[module] = mc;
		load_module(mc, &sy->mods[module]);
	}
	snprintf(out->module, sizeof(out->module), "%s", mc->path);
	out->status = mc->status;
	if (!mc->nsyms)
		return;
	addr = offset + mc->bias - (offset ? 1 : 0);
	/* Last symbol starting at or before addr. */
	lo = 0;
	hi = mc->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mc->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		out->status = "no-symbol";
		return;
	}
	{
		const struct sym *s = &mc->syms[lo - 1];

		/* Prefer a sized symbol that covers addr among equal starts. */
		if (s->size && addr >= s->addr + s->size) {
			out->status = "no-symbol";
			return;
		}
		demangle(s->name, out->function, sizeof(out->function));
		out->sym_offset = offset + mc->bias - s->addr;
		out->status = "ok";
	}
}
