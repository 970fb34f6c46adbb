/* SPDX-License-Identifier: MIT */
/* Helpers shared by the shm tests (header-only; each test is one program). */
#ifndef TTMEM_TEST_SHM_HELPERS_H
#define TTMEM_TEST_SHM_HELPERS_H

#ifdef TTMEM_MINI_CRITERION
#include "mini-criterion.h"
#else
#include <criterion/criterion.h>
#endif
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ttmem/table.h"

/* A fresh segment path (a file on tmpfs: a name with a later '/'). */
static inline void seg_path(char *buf, size_t len, const char *tag)
{
	static unsigned n;
	snprintf(buf, len, "/dev/shm/ttmem-test-%s-%d-%u", tag, (int)getpid(), n++);
	unlink(buf);
}

static inline struct ttmem_table *seg_open_cap(const char *path, uint64_t capacity, uint32_t procs)
{
	struct ttmem_open_opts o = { .capacity = capacity, .proc_capacity = procs,
				     .module_capacity = 16 };
	struct ttmem_table *t = NULL;
	char err[512];
	int rc = ttmem_table_open(&t, path, &o, err, sizeof(err));
	cr_assert_eq(rc, 0, "open %s: %d %s", path, rc, err);
	cr_assert_not_null(t);
	return t;
}

/* Open (creating) and register the calling process. */
static inline struct ttmem_table *seg_writer(const char *path, uint64_t capacity)
{
	struct ttmem_table *t = seg_open_cap(path, capacity, 64);
	int idx = ttmem_proc_register(t);
	cr_assert_geq(idx, 0, "register: %d", idx);
	return t;
}

static inline struct ttmem_entry mk_entry(uint32_t dev, uint8_t space, uint64_t addr, uint64_t size)
{
	struct ttmem_entry e;
	memset(&e, 0, sizeof(e));
	e.key.device = dev;
	e.key.space = space;
	e.key.address = addr;
	e.size = size;
	e.type = space == TTMEM_SPACE_L1 ? TTMEM_TYPE_L1 : TTMEM_TYPE_DRAM;
	e.owner_kind = TTMEM_OWNER_APP;
	e.module = TTMEM_MODULE_NONE;
	e.callsite = (uint32_t)(addr ^ 0x5a5a);
	e.page_size = (uint32_t)(1000 + addr);
	e.bank_bytes = (uint32_t)(2000 + addr);
	return e;
}

static inline struct ttmem_key mk_key(uint32_t dev, uint8_t space, uint64_t addr)
{
	struct ttmem_key k = { .address = addr, .device = dev, .space = space };
	return k;
}

/* Slots in each state (FREE, BUSY, LIVE) and of those LIVE, how many are in
 * the current epoch. */
struct slot_census {
	uint64_t free, busy, live, live_current, meta_without_live;
};

static inline struct slot_census census(const struct ttmem_table *t)
{
	const struct ttmem_header *h = ttmem_table_header(t);
	const struct ttmem_slot *s = ttmem_table_slots(t);
	const uint8_t *meta = ttmem_table_meta(t);
	uint32_t etag = TTMEM_EPOCH_TAG(atomic_load(&h->clear_epoch));
	struct slot_census c = { 0 };
	for (uint64_t i = 0; i < h->capacity; i++) {
		uint64_t ctl = atomic_load(&s[i].ctl);
		switch (TTMEM_CTL_STATE(ctl)) {
		case TTMEM_SLOT_FREE:
			c.free++;
			if (__atomic_load_n(&meta[i], __ATOMIC_RELAXED))
				c.meta_without_live++;
			break;
		case TTMEM_SLOT_BUSY: c.busy++; break;
		case TTMEM_SLOT_LIVE:
			c.live++;
			if (TTMEM_CTL_TAG(ctl) == etag)
				c.live_current++;
			break;
		}
	}
	return c;
}

static inline uint64_t counter(const struct ttmem_table *t, size_t off)
{
	const char *base = (const char *)&ttmem_table_header(t)->counters;
	return atomic_load((const _Atomic uint64_t *)(const void *)(base + off));
}
#define CNT(t, field) counter((t), offsetof(struct ttmem_counters, field))

/* The BUSY tag a writer registered at `idx` puts in the slots it claims:
 * the index and the low 14 bits of the entry's generation (segment.h). */
static inline uint32_t busy_tag_of(const struct ttmem_table *t, uint32_t idx)
{
	uint64_t c = atomic_load(&ttmem_table_procs(t)[idx].ctl);
	return idx | (((uint32_t)(c >> 8) & 0x3fffu) << 16);
}

/* Fork a child that runs fn(arg) and _exits with its return value. */
static inline pid_t fork_child(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

static inline int wait_child(pid_t pid)
{
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
