/* SPDX-License-Identifier: MIT */
/*
 * `ttmem ls` and `ttmem rm` never wait on a lock someone else holds: files
 * under /dev/shm that start with the ttmem magic but were never published,
 * and empty ones named like ttmem's, whose build lock a live process holds
 * (any user who can open a file can take it).  ls lists them at once as
 * "being built"; rm refuses them at once and removes nothing.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "segfix.h"

#define LOCKED 4

static char shm[LOCKED][128];
static int fd[LOCKED];

/* Half of them a ttmem header without `ready`, half empty; each locked as
 * its builder locks it, by this process (another one to the viewer). */
static void up(void)
{
	for (int i = 0; i < LOCKED; i++) {
		char path[600];
		struct ttmem_header h;

		segfix_name(shm[i], sizeof(shm[i]));
		snprintf(path, sizeof(path), "/dev/shm%s", shm[i]);
		fd[i] = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		cr_assert_geq(fd[i], 0, "%s", path);
		cr_assert_eq(flock(fd[i], LOCK_EX), 0);
		if (i % 2)
			continue;
		memset(&h, 0, sizeof(h));
		h.magic = TTMEM_MAGIC;
		h.abi_major = TTMEM_ABI_MAJOR;
		h.creator_pid = (uint32_t)getpid();
		cr_assert_eq(pwrite(fd[i], &h, sizeof(h), 0), (ssize_t)sizeof(h));
	}
}

static void down(void)
{
	for (int i = 0; i < LOCKED; i++) {
		close(fd[i]);
		ttmem_table_unlink(shm[i]);
	}
}

TestSuite(segments_locked, .init = up, .fini = down, .timeout = 60);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(segments_locked, ls_lists_them_without_waiting)
{
	char *out = NULL, *err = NULL;
	double t0 = now_s();
	int rc = segfix_ttmem_run(&out, &err, "ls", NULL);
	double took = now_s() - t0;

	cr_assert_eq(rc, 0, "%s", err);
	/* Waiting on each lock cost 2 s a file: 8 s for these four. */
	cr_expect_lt(took, 2.0, "ls took %.2f s over %d locked files", took, LOCKED);
	for (int i = 0; i < LOCKED; i++) {
		const char *line = strstr(out, shm[i]);

		cr_assert_not_null(line, "%s not listed:\n%s", shm[i], out);
		const char *eol = strchr(line, '\n');
		cr_expect(eol && eol - line > 11 && !strncmp(eol - 11, "being built", 11),
			  "%s not shown as being built:\n%s", shm[i], out);
	}
	free(out);
	free(err);
}

Test(segments_locked, rm_refuses_them_without_waiting)
{
	for (int i = 0; i < LOCKED; i++) {
		char *out = NULL, *err = NULL, path[600];
		double t0 = now_s();
		int rc = segfix_ttmem_run(&out, &err, "rm", shm[i], NULL);
		double took = now_s() - t0;
		struct stat st;

		snprintf(path, sizeof(path), "/dev/shm%s", shm[i]);
		cr_expect_eq(rc, 1, "rm %s: exit %d: %s", shm[i], rc, err);
		cr_expect_not_null(strstr(err, "being built"), "%s", err);
		cr_expect_eq(stat(path, &st), 0, "%s removed while its builder lives", shm[i]);
		cr_expect_lt(took, 1.0, "rm took %.2f s", took);
		free(out);
		free(err);
	}
	/* --force removes one all the same. */
	char *out = NULL, *err = NULL;
	cr_expect_eq(segfix_ttmem_run(&out, &err, "rm", "--force", shm[0], NULL), 0, "%s", err);
	free(out);
	free(err);
}

/* The viewer run by root does not wait on another user's file, whose lock
 * that user may hold for ever: it reports it at once (exit 10). */
Test(segments_locked, root_viewer_does_not_wait_on_another_users_lock)
{
	char path[600], *out = NULL, *err = NULL;

	if (geteuid() != 0)
		cr_skip_test("needs root to own a file as another user");
	snprintf(path, sizeof(path), "/dev/shm%s", shm[1]);
	cr_assert_eq(fchown(fd[1], 65534, 65534), 0, "%s", path);
	double t0 = now_s();
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", shm[1], NULL);
	double took = now_s() - t0;
	cr_expect_eq(rc, 10, "exit %d: %s", rc, err);
	/* Waiting on the lock cost 2 s. */
	cr_expect_lt(took, 1.0, "show took %.2f s on another user's locked file", took);
	free(out);
	free(err);
}
