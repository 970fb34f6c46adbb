/* SPDX-License-Identifier: MIT */
/*
 * The index of a process's own entries (preload/owned.c) on its own, linked
 * with the table core: after random inserts, removes, releases by chip,
 * mesh flag and owner, clears, keys taken over by another process, threads,
 * fork and a full table, every release through the index removes exactly
 * what a sweep of the whole table would, and the exit record equals a
 * full-table tally.  Built twice by make check: plain and ASan+UBSan.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ttmem/table.h"

#include "owned.h"

#define CHIPS 6

static struct ttmem_table *t;
static char path[128];

static void open_table(uint64_t capacity)
{
	struct ttmem_open_opts o = { .capacity = capacity, .proc_capacity = 64, .module_capacity = 16 };
	char err[256];

	snprintf(path, sizeof(path), "/dev/shm/ttmem-test-owned-%d", (int)getpid());
	unlink(path);
	cr_assert_eq(ttmem_table_open(&t, path, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(ttmem_proc_register(t), 0);
}

static void setup(void)
{
	open_table(4096);
	pthread_atfork(owned_atfork_prepare, owned_atfork_parent, owned_atfork_child);
}

static void teardown(void)
{
	ttmem_table_close(t);
	unlink(path);
}

TestSuite(owned, .init = setup, .fini = teardown, .timeout = 60);

static struct ttmem_entry entry(unsigned *seed, uint64_t salt)
{
	struct ttmem_entry e;

	memset(&e, 0, sizeof(e));
	e.key.address = (salt + (uint64_t)(rand_r(seed) % 512)) * 4096;
	e.key.device = (uint32_t)(rand_r(seed) % CHIPS);
	e.key.space = TTMEM_SPACE_DRAM;
	e.type = TTMEM_TYPE_DRAM;
	e.size = 4096u * (1u + (unsigned)rand_r(seed) % 16);
	e.flags = rand_r(seed) % 2 ? TTMEM_SLOT_F_MESH : 0;
	e.owner_kind = (uint8_t)(rand_r(seed) % 3);
	e.owner_id = e.owner_kind ? 0x1000u + (unsigned)rand_r(seed) % 4 : 0;
	e.module = TTMEM_MODULE_NONE;
	return e;
}

static struct ttmem_filter mine(void)
{
	struct ttmem_filter f = { .pid = (uint32_t)getpid() };
	return f;
}

/* The exit record through the index equals the full-table tally. */
static void assert_tally_exact(const char *where)
{
	struct ttmem_filter f = mine();
	struct ttmem_tally a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	int64_t na = owned_tally(t, &f, &a), nb = ttmem_tally(t, &f, &b);
	cr_assert_eq(na, nb, "%s: %lld entries through the index, %lld in the table", where,
		     (long long)na, (long long)nb);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0, "%s: tallies differ", where);
}

/* Release f through the index: what the table held of f goes, exactly. */
static void release_exact(const struct ttmem_filter *f, const char *where)
{
	struct ttmem_tally want, got;

	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	int64_t nw = ttmem_tally(t, f, &want);
	int64_t ng = owned_sweep(t, f, &got);
	cr_assert_eq(ng, nw, "%s: released %lld, the table held %lld", where, (long long)ng,
		     (long long)nw);
	cr_assert_eq(memcmp(&want, &got, sizeof(want)), 0, "%s: tallies differ", where);
	cr_assert_eq(ttmem_tally(t, f, NULL), 0, "%s: left in the table", where);
}

static void random_release(unsigned *seed, const char *where)
{
	struct ttmem_filter f = mine();

	switch (rand_r(seed) % 4) {
	case 0: /* device close */
		f.match_device = 1;
		f.device = (uint32_t)(rand_r(seed) % CHIPS);
		break;
	case 1: /* an allocator's bulk free */
		f.match_device = 1;
		f.device = (uint32_t)(rand_r(seed) % CHIPS);
		f.match_flags = 1;
		f.flags_mask = TTMEM_SLOT_F_MESH;
		f.flags = rand_r(seed) % 2 ? TTMEM_SLOT_F_MESH : 0;
		break;
	case 2: /* an owner destroyed */
		f.match_owner = 1;
		f.owner_kind = (uint8_t)(1 + rand_r(seed) % 2);
		f.owner_id = 0x1000u + (unsigned)rand_r(seed) % 4;
		break;
	default: /* the application's (no list: all nodes) */
		f.match_owner = 1;
		f.owner_kind = TTMEM_OWNER_APP;
		f.owner_id = 0;
		break;
	}
	release_exact(&f, where);
}

/* Random events, releases, clears. */
Test(owned, random_against_the_table)
{
	unsigned seed = 7;

	for (int round = 0; round < 60; round++) {
		for (int i = 0; i < 80; i++) {
			struct ttmem_entry e = entry(&seed, 0);
			if (rand_r(&seed) % 3)
				owned_insert(t, &e);
			else
				owned_remove(t, &e.key, NULL);
		}
		random_release(&seed, "random");
		if (round % 15 == 14)
			cr_assert_eq(ttmem_clear(t), 0);
		assert_tally_exact("random");
	}
}

static int taker(void *arg)
{
	struct ttmem_table *w = NULL;
	unsigned seed = 7;   /* the parent's keys */
	(void)arg;
	if (ttmem_table_open(&w, path, NULL, NULL, 0) != 0 || ttmem_proc_register(w) < 0)
		return 1;
	for (int i = 0; i < 200; i++) {
		struct ttmem_entry e = entry(&seed, 0);
		if (ttmem_insert(w, &e) < 0)
			return 1;
	}
	ttmem_flush(w);
	return 0;
}

/* Another process takes some of our keys (insert over a live key); it is
 * killed and reaped.  Our releases take only what is still ours. */
Test(owned, keys_taken_over_then_reaped)
{
	unsigned seed = 7;

	for (int i = 0; i < 400; i++) {
		struct ttmem_entry e = entry(&seed, 0);
		owned_insert(t, &e);
	}
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0)
		_exit(taker(NULL));
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cr_assert_gt(atomic_load(&ttmem_table_header(t)->counters.replaced), 0);
	assert_tally_exact("taken over");
	for (uint32_t d = 0; d < 3; d++) {
		struct ttmem_filter f = mine();
		f.match_device = 1;
		f.device = d;
		release_exact(&f, "after the take-over");
	}
	cr_assert_gt(ttmem_reap(t, 1, NULL), 0, "the other process's entries");
	struct ttmem_filter theirs = { .pid = (uint32_t)pid };
	cr_assert_eq(ttmem_tally(t, &theirs, NULL), 0);
	assert_tally_exact("reaped");
	for (uint32_t d = 3; d < CHIPS; d++) {
		struct ttmem_filter f = mine();
		f.match_device = 1;
		f.device = d;
		release_exact(&f, "after the reap");
	}
	assert_tally_exact("all released");
}

struct worker {
	unsigned seed;
	uint64_t salt;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 20000; i++) {
		struct ttmem_entry e = entry(&w->seed, w->salt);
		if (rand_r(&w->seed) % 2)
			owned_insert(t, &e);
		else
			owned_remove(t, &e.key, NULL);
	}
	return NULL;
}

/* Four threads on disjoint keys while the main thread releases chips. */
Test(owned, threads)
{
	pthread_t th[4];
	struct worker w[4];
	unsigned seed = 3;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .seed = 100u + (unsigned)i, .salt = (uint64_t)(i + 1) << 20 };
		cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 200; i++) {
		struct ttmem_filter f = mine();
		f.match_device = 1;
		f.device = (uint32_t)(rand_r(&seed) % CHIPS);
		owned_sweep(t, &f, NULL);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_tally_exact("after the threads");
	for (int i = 0; i < 8; i++)
		random_release(&seed, "after the threads");
	assert_tally_exact("released");
}

static void *fork_under_load(void *arg)
{
	(void)arg;
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* A new process: none of the parent's entries is its
			 * own, its own are released exactly. */
			if (ttmem_proc_register(t) < 0)
				_exit(1);
			struct ttmem_filter f = mine();
			if (owned_tally(t, &f, NULL) != 0)
				_exit(2);
			unsigned seed = 9;
			for (int j = 0; j < 100; j++) {
				struct ttmem_entry e = entry(&seed, 1u << 24);
				owned_insert(t, &e);
			}
			int64_t n = ttmem_tally(t, &f, NULL);
			_exit(n > 0 && owned_sweep(t, &f, NULL) == n && ttmem_tally(t, &f, NULL) == 0
				      ? 0
				      : 3);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return (void *)1;
	}
	return NULL;
}

/* Fork while another thread changes the index: the child starts empty and
 * unlocked, the parent's index stays exact. */
Test(owned, fork_while_busy)
{
	pthread_t busy, forker;
	struct worker w = { .seed = 5, .salt = 1u << 22 };
	void *rc;

	cr_assert_eq(pthread_create(&busy, NULL, work, &w), 0);
	cr_assert_eq(pthread_create(&forker, NULL, fork_under_load, NULL), 0);
	pthread_join(forker, &rc);
	pthread_join(busy, NULL);
	cr_assert_null(rc, "a child failed");
	assert_tally_exact("after the forks");
}

/* A full table: refused inserts are not remembered, the rest is exact. */
Test(owned, full_table)
{
	unsigned seed = 11;

	ttmem_table_close(t);
	unlink(path);
	open_table(128);
	for (int i = 0; i < 2000; i++) {
		struct ttmem_entry e = entry(&seed, 0);
		owned_insert(t, &e);
	}
	cr_assert_gt(atomic_load(&ttmem_table_header(t)->counters.drops), 0);
	assert_tally_exact("full");
	for (int i = 0; i < 6; i++)
		random_release(&seed, "full");
	assert_tally_exact("full, released");
}
