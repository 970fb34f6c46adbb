/* SPDX-License-Identifier: MIT */
/*
 * The module table: loaded objects that callsites refer to, shared by all
 * processes.  Interning claims a free entry (CAS state 0 -> 1), fills it and
 * publishes state 2 with release.  Two processes interning the same new
 * object at the same instant may get two entries (harmless: both are
 * correct).  An entry left claiming by a killed process stays unused.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static uint64_t fnv1a(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(0x100000001b3);
	return h;
}

struct mod_id {
	uint64_t hash, size, mtime_ns, dev, ino;
	const uint8_t *build_id;
	uint32_t build_id_len;
};

static int same_module(const struct ttmem_module *m, const char *path, const struct mod_id *id)
{
	if (m->path_hash != id->hash || strncmp(m->path, path, sizeof(m->path)) != 0)
		return 0;
	if (id->build_id_len || m->build_id_len)
		return m->build_id_len == id->build_id_len &&
		       memcmp(m->build_id, id->build_id, id->build_id_len) == 0;
	return m->file_size == id->size && m->file_mtime_ns == id->mtime_ns &&
	       m->file_dev == id->dev && m->file_ino == id->ino;
}

int ttmem_module_intern(struct ttmem_table *t, const char *path, const uint8_t *build_id,
			uint32_t build_id_len)
{
	struct ttmem_module *mods;
	struct mod_id id = { 0 };
	struct stat st;

	if (!t || !t->writable || !path || !path[0] ||
	    build_id_len > sizeof(mods->build_id) || (build_id_len && !build_id))
		return -EINVAL;
	if (strlen(path) >= sizeof(mods->path))
		return -ENAMETOOLONG;
	mods = t->modules;
	id.hash = fnv1a(path);
	id.build_id = build_id;
	id.build_id_len = build_id_len;
	if (!build_id_len && stat(path, &st) == 0) {
		id.size = (uint64_t)st.st_size;
		id.mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
		id.dev = (uint64_t)st.st_dev;
		id.ino = (uint64_t)st.st_ino;
	}

	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < t->module_capacity; i++) {
			struct ttmem_module *m = &mods[i];
			/* Acquire: pairs with the publishing release below. */
			uint32_t s = atomic_load_explicit(&m->state, memory_order_acquire);
			if (s == 2 && same_module(m, path, &id))
				return (int)i;
			if (pass == 0 || s != 0)
				continue;
			uint32_t zero = 0;
			if (!atomic_compare_exchange_strong_explicit(&m->state, &zero, 1,
								     memory_order_acq_rel,
								     memory_order_relaxed))
				continue;
			m->claimer_pid = (uint32_t)getpid();
			m->build_id_len = build_id_len;
			if (build_id_len)
				memcpy(m->build_id, build_id, build_id_len);
			m->path_hash = id.hash;
			m->file_size = id.size;
			m->file_mtime_ns = id.mtime_ns;
			m->file_dev = id.dev;
			m->file_ino = id.ino;
			strcpy(m->path, path);
			atomic_store_explicit(&m->state, 2, memory_order_release);
			return (int)i;
		}
	}
	atomic_fetch_add_explicit(&t->hdr->counters.module_drops, 1, memory_order_relaxed);
	return -ENOSPC;
}
