/* SPDX-License-Identifier: MIT */
/*
 * The module of an address (see modules.h): _dl_find_object (lock-free)
 * gives the link map of an address; a small lock-free array caches link
 * map -> module index, backed by a uthash table under a mutex that interns
 * each object once in the segment's module table (path and build-id).
 */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "log.h"
#include "modules.h"
#include "state.h"

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

void modules_atfork_prepare(void)
{
	pthread_mutex_lock(&intern_lock);
}

void modules_atfork_release(void)
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
	} else {
		/* The file itself, not a link to it (libffi.so.8 ->
		 * libffi.so.8.1.2): the viewer opens module paths without
		 * following links. */
		char *real = realpath(path, NULL);

		if (real && strlen(real) < sizeof(exe)) {
			strcpy(exe, real);
			path = exe;
		}
		free(real);
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

/* The module of this thread's last callsite (most callsites of a thread
 * are in one module): the same key, link map and load base, as the shared
 * cache, so the same answer. */
static __thread struct {
	int idx;
	uintptr_t map, base;
} tls_mod __attribute__((tls_model("initial-exec")));

int modules_of(uintptr_t pc, uint64_t *offset)
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
	if (__builtin_expect(map == tls_mod.map && base == tls_mod.base, 1))
		return tls_mod.idx;
	idx = module_lookup(map, base);
	tls_mod.map = map;
	tls_mod.base = base;
	tls_mod.idx = idx;
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
