/* SPDX-License-Identifier: MIT */
/*
 * A file whose first page is zeros, named as a segment (TTMEM_SHM may name
 * any path): re-created only when it is ttmem's, by its name (its last
 * component starts with "ttmem", the rule of ls and rm) or by its size (a
 * segment's the preload creates), and then the open says so.  Anyone
 * else's (a sparse image, a preallocated data file) is refused and never
 * touched: not truncated, not resized, not removed by clear.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "helpers.h"

#define PAGE 4096
static const char precious[] = "what follows page 0 belongs to someone";

/* `pages` pages, the first all zeros, the second starting with `precious`. */
static void zero_headed(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	cr_assert_eq(pwrite(fd, precious, sizeof(precious), PAGE), (ssize_t)sizeof(precious));
	close(fd);
}

static void assert_untouched(const char *path, size_t size)
{
	char buf[sizeof(precious)];
	struct stat st;
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s is gone", path);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_expect_eq((size_t)st.st_size, size, "%s resized to %lld", path, (long long)st.st_size);
	cr_expect_eq(pread(fd, buf, sizeof(buf), PAGE), (ssize_t)sizeof(buf));
	cr_expect_eq(memcmp(buf, precious, sizeof(buf)), 0, "%s: its data was lost", path);
	close(fd);
}

static int writer_open(const char *path, struct ttmem_table **t, char *err, size_t len)
{
	struct ttmem_open_opts o = { .capacity = 128, .proc_capacity = 8, .module_capacity = 4 };

	*t = NULL;
	return ttmem_table_open(t, path, &o, err, len);
}

Test(zeros, someone_elses_file_is_never_recreated)
{
	char path[128], err[512] = "";
	struct ttmem_table *t;
	size_t size = 3 * PAGE;

	snprintf(path, sizeof(path), "/dev/shm/data-test-zeros-%d.img", (int)getpid());
	zero_headed(path, size);
	cr_expect_eq(writer_open(path, &t, err, sizeof(err)), TTMEM_EMAGIC, "%s", err);
	cr_expect_null(t);
	cr_expect_not_null(strstr(err, "not touched"), "%s", err);
	assert_untouched(path, size);
	/* Nor removed as a stale segment (ttmem clear). */
	cr_expect_eq(ttmem_table_remove_stale(path, err, sizeof(err)), 0, "%s", err);
	assert_untouched(path, size);
	/* A reader refuses it too. */
	struct ttmem_open_opts ro = { .readonly = 1 };
	cr_expect_eq(ttmem_table_open(&t, path, &ro, err, sizeof(err)), TTMEM_EMAGIC, "%s", err);
	assert_untouched(path, size);
	unlink(path);
}

Test(zeros, ttmem_named_file_is_recreated_and_says_so)
{
	char path[128], err[512] = "";
	struct ttmem_table *t;

	seg_path(path, sizeof(path), "zeros");
	zero_headed(path, 3 * PAGE);
	cr_assert_eq(writer_open(path, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(ttmem_table_recreated(t));
	cr_expect_str_eq(ttmem_table_recreated(t), "all zeros");
	cr_expect_eq(ttmem_table_header(t)->ready, TTMEM_READY);
	ttmem_table_close(t);
	/* Attached normally now: nothing re-created. */
	cr_assert_eq(writer_open(path, &t, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(ttmem_table_recreated(t));
	ttmem_table_close(t);
	unlink(path);
}

/* Sized as the preload's segments are (any capacity, the default registry
 * and module table): a creator killed after sizing it, whatever the name. */
Test(zeros, file_sized_as_a_segment_is_recreated)
{
	char path[128], err[512] = "", shm[64];
	struct ttmem_table *t;

	snprintf(shm, sizeof(shm), "/ttmem-test-zeros-size-%d", (int)getpid());
	struct ttmem_open_opts o = { .capacity = 128 };
	cr_assert_eq(ttmem_table_open(&t, shm, &o, err, sizeof(err)), 0, "%s", err);
	uint64_t size = ttmem_table_header(t)->total_size;
	ttmem_table_close(t);
	ttmem_table_unlink(shm);

	snprintf(path, sizeof(path), "/dev/shm/data-test-zeros-size-%d", (int)getpid());
	zero_headed(path, (size_t)size);
	cr_assert_eq(writer_open(path, &t, err, sizeof(err)), 0, "%s", err);
	cr_expect_str_eq(ttmem_table_recreated(t), "all zeros");
	ttmem_table_close(t);
	unlink(path);
}

/* An empty file is what a creator has between its O_EXCL open and its
 * lock: re-created (or attached) without a word, nothing is lost. */
Test(zeros, empty_file_recreated_silently)
{
	char path[128], err[512] = "";
	struct ttmem_table *t;

	seg_path(path, sizeof(path), "empty");
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(writer_open(path, &t, err, sizeof(err)), 0, "%s", err);
	cr_expect_null(ttmem_table_recreated(t));
	ttmem_table_close(t);
	unlink(path);
}
