/* SPDX-License-Identifier: MIT */
/*
 * The stack table: interning deduplicates across handles and processes,
 * distinct stacks get distinct entries, a full probe window says so, and a
 * segment whose stack geometry is wrong is refused.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

#include "helpers.h"

static void stack_of(uint64_t *f, uint32_t depth, uint64_t seed)
{
	for (uint32_t i = 0; i < depth; i++)
		f[i] = TTMEM_FRAME(i % 3, seed * 1000 + i * 16 + 5);
}

Test(stacks, intern_dedups_across_handles_and_processes)
{
	char path[128];
	uint64_t a[TTMEM_STACK_FRAMES], b[TTMEM_STACK_FRAMES];

	seg_path(path, sizeof(path), "stk");
	struct ttmem_table *t = seg_writer(path, 1024);
	const struct ttmem_header *h = ttmem_table_header(t);

	cr_assert_eq(h->stack_capacity, ttmem_stack_capacity_for(1024));
	cr_assert_eq(h->stack_capacity, TTMEM_MIN_STACKS, "1024 / 64 clamps to the minimum");
	cr_assert_eq(h->stack_size, sizeof(struct ttmem_stack));
	stack_of(a, 8, 1);
	stack_of(b, 8, 2);
	int ia = ttmem_stack_intern(t, a, 8, 0);
	int ib = ttmem_stack_intern(t, b, 8, 0);
	cr_assert_geq(ia, 0);
	cr_assert_geq(ib, 0);
	cr_assert_neq(ia, ib);
	cr_assert_eq(ttmem_stack_intern(t, a, 8, 0), ia, "same stack, same index");
	/* A prefix, or the same frames flagged truncated, is another stack. */
	int ip = ttmem_stack_intern(t, a, 7, 0);
	int it = ttmem_stack_intern(t, a, 8, TTMEM_STACK_F_TRUNCATED);
	cr_assert(ip >= 0 && ip != ia && it >= 0 && it != ia && it != ip);

	const struct ttmem_stack *s = &ttmem_table_stacks(t)[ia];
	cr_assert_eq(atomic_load(&s->ctl), TTMEM_STACK_PUBLISHED);
	cr_assert_eq(s->depth, 8u);
	cr_assert_arr_eq(s->frame, a, sizeof(a));

	/* Another process finds the same entry. */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ttmem_open_opts o = { .no_create = 1 };
		struct ttmem_table *c = NULL;
		char err[256];

		if (ttmem_table_open(&c, path, &o, err, sizeof(err)) != 0)
			_exit(2);
		_exit(ttmem_stack_intern(c, a, 8, 0) == ia ? 0 : 1);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child saw another index");
	ttmem_table_close(t);
	unlink(path);
}

Test(stacks, bad_arguments_and_full_window)
{
	char path[128], err[256];
	uint64_t f[TTMEM_STACK_FRAMES];
	int got = 0, full = 0;

	seg_path(path, sizeof(path), "stkfull");
	struct ttmem_table *t = seg_writer(path, 1024);

	stack_of(f, 4, 9);
	cr_assert_eq(ttmem_stack_intern(t, f, 0, 0), -EINVAL);
	cr_assert_eq(ttmem_stack_intern(t, f, TTMEM_STACK_FRAMES + 1, 0), -EINVAL);
	cr_assert_eq(ttmem_stack_intern(NULL, f, 4, 0), -EINVAL);
	/* Many more distinct stacks than entries: every one either interned or
	 * refused with -ENOSPC, and interned ones keep their index. */
	for (uint64_t i = 0; i < 4 * TTMEM_MIN_STACKS; i++) {
		stack_of(f, 3, 100 + i);
		int rc = ttmem_stack_intern(t, f, 3, 0);
		if (rc >= 0) {
			got++;
			cr_assert_eq(ttmem_stack_intern(t, f, 3, 0), rc);
		} else {
			cr_assert_eq(rc, -ENOSPC);
			full++;
		}
	}
	cr_assert_eq(got, (int)TTMEM_MIN_STACKS, "every entry used before refusing");
	cr_assert_eq(full, 3 * (int)TTMEM_MIN_STACKS);

	/* A read-only handle never writes. */
	struct ttmem_open_opts ro = { .readonly = 1, .no_create = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ttmem_stack_intern(r, f, 3, 0), -EINVAL);
	ttmem_table_close(r);
	ttmem_table_close(t);
	unlink(path);
}

static int attach(const char *path, char *err, size_t n)
{
	struct ttmem_open_opts o = { .readonly = 1, .no_create = 1 };
	struct ttmem_table *t = NULL;
	int rc = ttmem_table_open(&t, path, &o, err, n);

	if (!rc)
		ttmem_table_close(t);
	return rc;
}

static void patch32(const char *path, size_t off, uint32_t v)
{
	int fd = open(path, O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &v, sizeof(v), (off_t)off), (ssize_t)sizeof(v));
	close(fd);
}

Test(stacks, wrong_stack_geometry_is_refused)
{
	char path[128], err[256];

	seg_path(path, sizeof(path), "stkgeo");
	ttmem_table_close(seg_open_cap(path, 1 << 14, 8));
	cr_assert_eq(attach(path, err, sizeof(err)), 0, "%s", err);
	patch32(path, offsetof(struct ttmem_header, stack_capacity), 1u << 20);
	cr_assert_eq(attach(path, err, sizeof(err)), TTMEM_ECORRUPT, "%s", err);
	patch32(path, offsetof(struct ttmem_header, stack_capacity), 1u << 8);
	cr_assert_eq(attach(path, err, sizeof(err)), 0, "%s", err);
	patch32(path, offsetof(struct ttmem_header, stack_size), 64);
	cr_assert_eq(attach(path, err, sizeof(err)), TTMEM_ECORRUPT, "%s", err);
	cr_assert(strstr(err, "stack 64") != NULL, "%s", err);
	patch32(path, offsetof(struct ttmem_header, stack_size), sizeof(struct ttmem_stack));
	/* An older layout (ABI 1: no stack table) is another version. */
	uint16_t v1 = 1;
	int fd = open(path, O_RDWR);
	cr_assert_eq(pwrite(fd, &v1, 2, offsetof(struct ttmem_header, abi_major)), 2);
	close(fd);
	cr_assert_eq(attach(path, err, sizeof(err)), TTMEM_EVERSION, "%s", err);
	unlink(path);
}

/* Writers interning overlapping sets at once: every index they get holds
 * exactly the stack they asked for, and a stack interned by one is found
 * (same content) by the others. */
Test(stacks, concurrent_writers_get_their_own_stacks)
{
	char path[128];
	enum { WRITERS = 4, STACKS = 48 };
	pid_t pids[WRITERS];

	seg_path(path, sizeof(path), "stkconc");
	struct ttmem_table *t = seg_writer(path, 1 << 14);   /* 256 stacks */
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		cr_assert_geq(pids[w], 0);
		if (pids[w] == 0) {
			struct ttmem_open_opts o = { .no_create = 1 };
			struct ttmem_table *c = NULL;
			char err[256];

			if (ttmem_table_open(&c, path, &o, err, sizeof(err)) != 0)
				_exit(2);
			for (int round = 0; round < 50; round++)
				for (int i = 0; i < STACKS; i++) {
					/* Half shared by all writers, half this writer's. */
					uint64_t f[TTMEM_STACK_FRAMES];
					uint64_t seed = i % 2 ? (uint64_t)i : (uint64_t)(1000 * (w + 1) + i);
					uint32_t depth = 1 + (uint32_t)(seed % TTMEM_STACK_FRAMES);
					int idx;

					stack_of(f, depth, seed);
					idx = ttmem_stack_intern(c, f, depth, 0);
					if (idx < 0)
						_exit(3);
					const struct ttmem_stack *s = &ttmem_table_stacks(c)[idx];
					if ((atomic_load(&s->ctl) & 0xff) != TTMEM_STACK_PUBLISHED ||
					    s->depth != depth || memcmp(s->frame, f, depth * 8) != 0 ||
					    s->hash != ttmem_stack_hash(f, depth))
						_exit(4);
				}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;

		cr_assert_eq(waitpid(pids[w], &st, 0), pids[w]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d: status %d", w, st);
	}
	/* At most one twin per shared stack from a race; far fewer entries
	 * than interning calls. */
	uint32_t used = 0;
	for (uint32_t i = 0; i < ttmem_table_stack_capacity(t); i++)
		used += (atomic_load(&ttmem_table_stacks(t)[i].ctl) & 0xff) == TTMEM_STACK_PUBLISHED;
	cr_assert_geq(used, (uint32_t)(STACKS / 2 + WRITERS * STACKS / 2));
	cr_assert_leq(used, (uint32_t)(WRITERS * STACKS));
	ttmem_table_close(t);
	unlink(path);
}
