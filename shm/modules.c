/* SPDX-License-Identifier: MIT */
/*
 * The module table: loaded objects that callsites refer to, shared by all
 * processes.  Interning claims a free entry (CAS state 0 -> 1), fills it and
 * publishes state 2 with release.  Two processes interning the same new
 * object at the same instant may get two entries (harmless: both are
 * correct).  An entry left claiming by a killed process stays unused.
 * Functions of source files (Python functions) have entries of their own,
 * keyed by file and name (segment.h, TTMEM_MODULE_F_FUNCTION).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define FNV_BASIS UINT64_C(0xcbf29ce484222325)

/* FNV-1a over `s` and, with `with_nul`, its terminating NUL. */
static uint64_t fnv1a(uint64_t h, const char *s, int with_nul)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return with_nul ? h * UINT64_C(0x100000001b3) : h;
}

struct mod_id {
	uint64_t hash, size, mtime_ns, dev, ino;
	const uint8_t *build_id;
	uint32_t build_id_len;
	const char *name;        /* TTMEM_MODULE_F_FUNCTION: the function; else NULL */
};

static int same_module(const struct ttmem_module *m, const char *path, size_t path_len,
		       const struct mod_id *id)
{
	if (m->path_hash != id->hash || strncmp(m->path, path, sizeof(m->path)) != 0)
		return 0;
	if (!!(m->flags & TTMEM_MODULE_F_FUNCTION) != !!id->name)
		return 0;
	if (id->name && strncmp(m->path + path_len + 1, id->name,
				sizeof(m->path) - path_len - 1) != 0)
		return 0;
	if (id->build_id_len || m->build_id_len)
		return m->build_id_len == id->build_id_len &&
		       memcmp(m->build_id, id->build_id, id->build_id_len) == 0;
	return m->file_size == id->size && m->file_mtime_ns == id->mtime_ns &&
	       m->file_dev == id->dev && m->file_ino == id->ino;
}

/* Find the entry of (path, id), or claim a free one among the first
 * `claim_below` entries and publish it. */
static int intern(struct ttmem_table *t, const char *path, size_t path_len,
		  const struct mod_id *id, uint32_t claim_below)
{
	struct ttmem_module *mods = t->modules;
	struct stat st;
	struct mod_id fid = *id;

	if (!fid.build_id_len && stat(path, &st) == 0) {
		fid.size = (uint64_t)st.st_size;
		fid.mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
		fid.dev = (uint64_t)st.st_dev;
		fid.ino = (uint64_t)st.st_ino;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < t->module_capacity; i++) {
			struct ttmem_module *m = &mods[i];
			/* Acquire: pairs with the publishing release below. */
			uint32_t s = atomic_load_explicit(&m->state, memory_order_acquire);
			if (s == 2 && same_module(m, path, path_len, &fid))
				return (int)i;
			if (pass == 0 || s != 0 || i >= claim_below)
				continue;
			uint32_t zero = 0;
			if (!atomic_compare_exchange_strong_explicit(&m->state, &zero, 1,
								     memory_order_acq_rel,
								     memory_order_relaxed))
				continue;
			m->claimer_pid = (uint32_t)getpid();
			m->build_id_len = fid.build_id_len;
			if (fid.build_id_len)
				memcpy(m->build_id, fid.build_id, fid.build_id_len);
			m->flags = fid.name ? TTMEM_MODULE_F_FUNCTION : 0;
			m->path_hash = fid.hash;
			m->file_size = fid.size;
			m->file_mtime_ns = fid.mtime_ns;
			m->file_dev = fid.dev;
			m->file_ino = fid.ino;
			memcpy(m->path, path, path_len + 1);
			if (fid.name)
				strcpy(m->path + path_len + 1, fid.name);
			atomic_store_explicit(&m->state, 2, memory_order_release);
			return (int)i;
		}
	}
	return -ENOSPC;
}

int ttmem_module_intern(struct ttmem_table *t, const char *path, const uint8_t *build_id,
			uint32_t build_id_len)
{
	struct mod_id id = { 0 };
	int rc;

	if (!t || !t->writable || !path || !path[0] ||
	    build_id_len > sizeof(t->modules->build_id) || (build_id_len && !build_id))
		return -EINVAL;
	if (strlen(path) >= sizeof(t->modules->path))
		return -ENAMETOOLONG;
	id.hash = fnv1a(FNV_BASIS, path, 0);
	id.build_id = build_id;
	id.build_id_len = build_id_len;
	rc = intern(t, path, strlen(path), &id, t->module_capacity);
	if (rc == -ENOSPC)
		atomic_fetch_add_explicit(&t->hdr->counters.module_drops, 1, memory_order_relaxed);
	return rc;
}

int ttmem_module_intern_function(struct ttmem_table *t, const char *file, const char *name)
{
	struct mod_id id = { 0 };
	size_t flen, nlen;

	if (!t || !t->writable || !file || !file[0] || !name || !name[0])
		return -EINVAL;
	flen = strlen(file);
	nlen = strlen(name);
	if (flen + 1 + nlen >= sizeof(t->modules->path))
		return -ENAMETOOLONG;
	id.hash = fnv1a(fnv1a(FNV_BASIS, file, 1), name, 0);
	id.name = name;
	/* Three quarters: see TTMEM_MODULE_F_FUNCTION.  Not a drop when full:
	 * the caller keeps the file's own entry. */
	return intern(t, file, flen, &id, t->module_capacity - t->module_capacity / 4);
}
