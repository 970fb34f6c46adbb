/* SPDX-License-Identifier: MIT */
/*
 * Frames -> function, source file and line, after the process is gone: the
 * preload recorded (module index, offset); the module table in the segment
 * gives the path and the file's identity (build-id, else
 * device/inode/size/mtime).  The file is read through libdw (elfutils) only
 * if it is still the same file, and only as the segment's owner could open
 * it (file_access.h); its DWARF comes from the file itself or from a
 * separate debug file found by build-id (/usr/lib/debug/.build-id/) or by
 * .gnu_debuglink (next to it, in .debug/, under /usr/lib/debug), opened the
 * same way and accepted only when its build-id matches.  Otherwise, or
 * without symbols, the frame is shown as module+offset with the reason.
 *
 * The offset is the return address minus the module's load bias (l_addr),
 * i.e. an ELF virtual address; the file is reported to libdw at bias 0, so
 * the offset is the address libdw looks up.  A return address points after
 * the call: lookups use offset - 1.
 *
 * A source-line frame (a Python line) names its file, and its function
 * when its entry is one of a function (segment.h, TTMEM_MODULE_F_FUNCTION;
 * an older writer's entries are files alone); the line's text is read from
 * the file, once per file however many of its functions are named.
 */
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_access.h"
#include "viewer.h"

struct modcache {
	int loaded;
	const char *status;        /* why there are no symbols, or "ok" */
	Dwfl *dwfl;
	Dwfl_Module *mod;
	/* A source file (Python script) instead: its first bytes, maybe
	 * shared with the entries of the file's other functions (text_owner:
	 * this entry frees it), and the function's name ("" when none). */
	int text_loaded;
	const char *text_status;
	char *text;
	size_t text_len;
	int text_owner;
	struct modcache *next_owner;   /* the symbolizer's list of text owners */
	uint64_t id[4];            /* the file's identity as the entry said */
	char func[417];
	char path[417];
};

#define SOURCE_MAX_BYTES (UINT64_C(1) << 20)

struct symbolizer {
	const struct ttmem_module *mods;
	uint32_t nmods;
	struct file_access access;
	struct modcache **cache;   /* nmods pointers, filled lazily */
	struct modcache *owners;   /* the caches that read a source file */
};

/* The policy of the symbolizer at work, for libdw's debug file callback
 * (the viewer symbolizes on one thread). */
static const struct file_access *current_access;

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

/* 1 when the ELF open on fd has exactly this build-id. */
static int fd_has_build_id(int fd, const unsigned char *bits, int len)
{
	uint8_t bid[64];
	size_t n = 0;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);

	if (e && elf_kind(e) == ELF_K_ELF)
		n = elf_build_id(e, bid, sizeof(bid));
	if (e)
		elf_end(e);
	return len > 0 && n == (size_t)len && !memcmp(bid, bits, n);
}

/* Try one candidate debug file: opened under the policy, kept only with
 * the module's build-id. */
static int try_debug_file(const char *path, const unsigned char *bits, int len, char **name)
{
	const char *why;
	int fd = file_access_open(current_access, path, &why);

	if (fd < 0)
		return -1;
	if (!fd_has_build_id(fd, bits, len)) {
		close(fd);
		return -1;
	}
	*name = strdup(path);
	return fd;
}

/* libdw's find_debuginfo callback: the standard places, through the policy
 * (never libdw's own opening, which would open as the viewer). */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink,
			  GElf_Word crc, char **debuginfo_file_name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	char path[4200], dir[4096];
	const char *slash;
	int fd;

	(void)userdata;
	(void)modname;
	(void)base;
	(void)crc;
	if (len <= 0 || len > 64 || !current_access)
		return -1;   /* without a build-id nothing can vouch for a debug file */
	{
		int n = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", bits[0]);

		for (int i = 1; i < len && n < (int)sizeof(path) - 8; i++)
			n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", bits[i]);
		snprintf(path + n, sizeof(path) - (size_t)n, ".debug");
	}
	fd = try_debug_file(path, bits, len, debuginfo_file_name);
	if (fd >= 0 || !debuglink || !file_name || strchr(debuglink, '/'))
		return fd;
	slash = strrchr(file_name, '/');
	if (!slash || (size_t)(slash - file_name) >= sizeof(dir))
		return -1;
	memcpy(dir, file_name, (size_t)(slash - file_name));
	dir[slash - file_name] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, debuglink);
	if (strcmp(path, file_name) != 0 &&
	    (fd = try_debug_file(path, bits, len, debuginfo_file_name)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/.debug/%s", dir, debuglink);
	if ((fd = try_debug_file(path, bits, len, debuginfo_file_name)) >= 0)
		return fd;
	snprintf(path, sizeof(path), "/usr/lib/debug%s/%s", dir, debuglink);
	return try_debug_file(path, bits, len, debuginfo_file_name);
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = NULL,   /* modules are reported with their descriptor */
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static int same_file(const struct ttmem_module *m, const struct stat *st)
{
	return !((m->file_size && m->file_size != (uint64_t)st->st_size) ||
		 (m->file_ino && m->file_ino != (uint64_t)st->st_ino) ||
		 (m->file_mtime_ns &&
		  m->file_mtime_ns != (uint64_t)st->st_mtim.tv_sec * 1000000000u +
					      (uint64_t)st->st_mtim.tv_nsec));
}

static void load_module(struct modcache *mc, const struct ttmem_module *m,
			const struct file_access *fa)
{
	uint32_t bid_len = m->build_id_len;
	uint8_t bid[sizeof(m->build_id)];
	struct stat st;
	const char *why = "no-file";
	int fd;

	mc->loaded = 1;
	/* Copied once: the segment may change under us. */
	memcpy(mc->path, m->path, sizeof(m->path));
	mc->path[sizeof(m->path)] = 0;
	memcpy(bid, m->build_id, sizeof(bid));
	fd = file_access_open(fa, mc->path, &why);
	if (fd < 0) {
		mc->status = why;
		return;
	}
	if (fstat(fd, &st) != 0 || (!bid_len && !same_file(m, &st))) {
		mc->status = "file-changed";
		close(fd);
		return;
	}
	mc->dwfl = dwfl_begin(&callbacks);
	if (!mc->dwfl) {
		close(fd);
		mc->status = "no-memory";
		return;
	}
	dwfl_report_begin(mc->dwfl);
	/* Consumes fd, also on failure. */
	mc->mod = dwfl_report_elf(mc->dwfl, mc->path, mc->path, fd, 0, false);
	dwfl_report_end(mc->dwfl, NULL, NULL);
	if (!mc->mod) {
		mc->status = "file-changed"; /* not an ELF any more */
		return;
	}
	if (bid_len > 0) {
		const unsigned char *bits;
		GElf_Addr vaddr;
		int n = dwfl_module_build_id(mc->mod, &bits, &vaddr);

		if (bid_len > sizeof(bid) || n != (int)bid_len || memcmp(bits, bid, bid_len)) {
			mc->status = "file-changed";
			mc->mod = NULL;
			return;
		}
	}
	mc->status = "ok";
}

/* The file's identity as entry `m` says it (read once). */
static void file_id(const struct ttmem_module *m, uint64_t id[4])
{
	id[0] = m->file_size;
	id[1] = m->file_mtime_ns;
	id[2] = m->file_dev;
	id[3] = m->file_ino;
}

/* Path and function of a source file's entry (TTMEM_MODULE_F_FUNCTION),
 * copied once: the segment may change under us, and a name that is not
 * NUL-terminated within the field is no name. */
static void source_names(struct modcache *mc, const struct ttmem_module *m)
{
	char field[sizeof(m->path) + 1];
	uint32_t flags = m->flags;
	size_t n;

	memcpy(field, m->path, sizeof(m->path));
	field[sizeof(m->path)] = 0;
	n = strlen(field);
	memcpy(mc->path, field, n + 1);
	mc->func[0] = 0;
	if ((flags & TTMEM_MODULE_F_FUNCTION) && n + 1 < sizeof(m->path) &&
	    memchr(field + n + 1, 0, sizeof(m->path) - n - 1))
		snprintf(mc->func, sizeof(mc->func), "%s", field + n + 1);
}

/* A source file: up to SOURCE_MAX_BYTES of it, if it is still the file the
 * writer saw (device, inode, size, modification time).  The entries of one
 * file's functions share one copy (at most one owner per file opened: only
 * an entry with the file's identity reads it). */
static void load_source(struct modcache *mc, const struct ttmem_module *m,
			const struct file_access *fa, struct modcache **owners)
{
	struct stat st;
	const char *why = "no-file";
	size_t want;
	int fd;

	mc->text_loaded = 1;
	source_names(mc, m);
	file_id(m, mc->id);
	for (const struct modcache *o = *owners; o; o = o->next_owner) {
		if (!strcmp(o->path, mc->path) && !memcmp(o->id, mc->id, sizeof(mc->id))) {
			mc->text = o->text;
			mc->text_len = o->text_len;
			mc->text_status = o->text_status;
			return;
		}
	}
	fd = file_access_open(fa, mc->path, &why);
	if (fd < 0) {
		mc->text_status = why;
		return;
	}
	if (fstat(fd, &st) != 0 || !same_file(m, &st)) {
		mc->text_status = "file-changed";
		close(fd);
		return;
	}
	want = st.st_size > 0 && (uint64_t)st.st_size < SOURCE_MAX_BYTES ? (size_t)st.st_size :
									  SOURCE_MAX_BYTES;
	mc->text = malloc(want ? want : 1);
	if (mc->text) {
		ssize_t n;

		mc->text_owner = 1;
		mc->next_owner = *owners;
		*owners = mc;
		while (mc->text_len < want &&
		       (n = read(fd, mc->text + mc->text_len, want - mc->text_len)) > 0)
			mc->text_len += (size_t)n;
	}
	close(fd);
	mc->text_status = "ok";
}

/* The text of line `line` (1-based), spaces trimmed at the start. */
static void source_text(const struct modcache *mc, uint32_t line, char *out, size_t len)
{
	const char *p = mc->text, *end = mc->text + mc->text_len, *e;
	size_t n;

	out[0] = 0;
	if (!p)
		return;
	for (uint32_t l = 1; l < line && p < end; l++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return;
		p++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	e = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((e ? e : end) - p);
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = 0;
}

/* ---- the symbolizer ------------------------------------------------------------- */

struct symbolizer *symbolizer_new(const struct ttmem_table *t, const struct file_access *fa)
{
	struct symbolizer *sy = calloc(1, sizeof(*sy));
	uint32_t n = ttmem_table_module_capacity(t); /* validated, not re-read */

	if (!sy)
		return NULL;
	elf_version(EV_CURRENT);
	sy->mods = ttmem_table_modules(t);
	sy->nmods = n > TTMEM_MAX_MODULE_CAPACITY ? TTMEM_MAX_MODULE_CAPACITY : n;
	if (fa)
		sy->access = *fa;
	else
		sy->access.mode = FILE_ACCESS_NONE;
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
		if (mc->dwfl)
			dwfl_end(mc->dwfl);
		if (mc->text_owner)
			free(mc->text);
		free(mc);
	}
	free(sy->cache);
	free(sy);
}

void symbolize(struct symbolizer *sy, uint16_t module, uint64_t offset, struct symbol_info *out)
{
	struct modcache *mc;
	GElf_Addr lookup = offset ? offset - 1 : 0;
	GElf_Off off = 0;
	GElf_Sym sym;
	Dwfl_Line *line;
	const char *name;

	memset(out, 0, sizeof(*out));
	out->offset = offset;
	snprintf(out->module, sizeof(out->module), "?");
	if (offset & TTMEM_FRAME_SOURCE_LINE) {
		out->is_source = 1;
		out->line = (uint32_t)offset;
		out->offset = out->line;
	}
	if (!sy || module == TTMEM_MODULE_NONE || module >= sy->nmods ||
	    atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)&sy->mods[module].state,
				 memory_order_acquire) != 2) {
		out->status = "no-module";
		return;
	}
	current_access = &sy->access;
	mc = sy->cache[module];
	if (!mc) {
		mc = calloc(1, sizeof(*mc));
		if (!mc) {
			out->status = "no-module";
			return;
		}
		sy->cache[module] = mc;
	}
	if (offset & TTMEM_FRAME_SOURCE_LINE) {
		/* A Python line: the module is the script. */
		if (!mc->text_loaded)
			load_source(mc, &sy->mods[module], &sy->access, &sy->owners);
		snprintf(out->module, sizeof(out->module), "%s", mc->path);
		snprintf(out->file, sizeof(out->file), "%s", mc->path);
		snprintf(out->function, sizeof(out->function), "%s", mc->func);
		out->status = mc->text_status;
		source_text(mc, out->line, out->text, sizeof(out->text));
		return;
	}
	if (!mc->loaded)
		load_module(mc, &sy->mods[module], &sy->access);
	snprintf(out->module, sizeof(out->module), "%s", mc->path);
	out->status = mc->status;
	if (!mc->mod || !offset)
		return;
	name = dwfl_module_addrinfo(mc->mod, lookup, &off, &sym, NULL, NULL, NULL);
	line = dwfl_module_getsrc(mc->mod, lookup);
	if (line) {
		int lineno = 0;
		const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);

		if (file && lineno > 0) {
			Dwarf_Die *cu = file[0] != '/' ? dwfl_linecu(line) : NULL;
			Dwarf_Attribute at;
			const char *dir = cu ? dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &at))
					     : NULL;

			/* A relative name is relative to the compilation's directory. */
			if (dir && dir[0] == '/')
				snprintf(out->file, sizeof(out->file), "%s/%s", dir, file);
			else
				snprintf(out->file, sizeof(out->file), "%s", file);
			out->line = (uint32_t)lineno;
		}
	}
	if (!name || !*name) {
		out->status = "no-symbol";
		return;
	}
	demangle(name, out->function, sizeof(out->function));
	/* foo@@GLIBC_2.34: the symbol version is not part of the name. */
	if (name[0] != '_' || name[1] != 'Z') {
		char *at = strchr(out->function, '@');

		if (at)
			*at = 0;
	}
	out->sym_offset = off + (offset ? 1 : 0);
	out->status = "ok";
}
