/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, a segment still being built by another live process when
 * the host starts: the host is not held, and tracks from the moment the
 * segment can be attached (here: its "creator" goes away without publishing,
 * so the host's retry re-creates it), not untracked for good.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

H_BUILD_TEST(p09_pending, attaches_once_the_builder_is_gone, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	char what[16];
	int n;
	const char *const argv[] = { bpath("examples/bin/mesh_allocation"), "--runs", "2", "--seed",
				     "3", "--hold", "60000", NULL };

	/* The wait for a live creator (5 s by default) is not what this test
	 * is about: the retries after it are. */
	const char *const env[] = { "TTMEM_LOG=debug", "TTMEM_ATTACH_WAIT_MS=100", NULL };
	seg_make(&s);
	/* A creator at work: the object exists, empty, its build lock held. */
	int fd = shm_open(s.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	run_start(&r, &s, 1, argv, env);
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "peak");
	struct stat sb;
	cr_assert(fstat(fd, &sb) == 0 && sb.st_size == 0, "built while its builder held the lock");
	run_continue(&r);
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "closed");
	close(fd);   /* the builder is gone, never having published */
	/* Retries are rate-limited (a few ms apart): let the hold outlast that. */
	usleep(50 * 1000);
	run_continue(&r);

	/* Run 1 is tracked in full. */
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert(!strcmp(what, "peak") && n == 1, "%s %d", what, n);
	struct ttmem_table *t = seg_open(&s);
	if (!t) {
		kill(r.pid, SIGKILL);
		run_wait(&r);
		char *e = run_stderr(&r);
		cr_assert_fail("the host never attached (it gave up tracking): %s", e);
	}
	struct truth tr;
	struct usage u;
	truth_load(r.truth, &tr);
	usage_read(t, (uint32_t)r.pid, &u);
	assert_usage_is_truth(&u, &tr, "peak 1");
	/* Run 0 was not tracked: the segment says so. */
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p);
	cr_expect(p->flags & TTMEM_PROC_F_LATE, "not flagged late: %#x", p->flags);
	ttmem_table_close(t);
	run_continue(&r);
	while (run_next(&r, what, sizeof(what), &n) == 0)
		run_continue(&r);
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_null(strstr(err, "not tracking"), "%s", err);
	cr_expect_not_null(strstr(err, "late: what this process did before is not tracked"), "%s",
			   err);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

/* A stale segment (all zeros: its creator died after sizing it) is
 * re-created by the next tracked program, which says so, and tracks. */
Test(p09_pending, stale_segment_recreated_with_a_warning, .timeout = 60)
{
	struct seg s;
	struct run r;
	struct hold h = HOLD_INIT;
	char path[160];
	const char *const argv[] = { bpath("examples/bin/leak"), "--chip", "2", "--hold", "60000",
				     NULL };

	seg_make(&s);
	snprintf(path, sizeof(path), "/dev/shm%s", s.name);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	run_start(&r, &s, 1, argv, NULL);
	cr_assert(hold_next(&r, &s, &h, NULL), "no hold point");
	hold_assert_exact(&h);
	while (hold_next(&r, &s, &h, NULL))
		;
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_not_null(strstr(err, "was stale (all zeros"), "no warning: %s", err);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
