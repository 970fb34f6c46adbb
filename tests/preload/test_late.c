/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, a creator stopped (SIGSTOP) while it holds the build lock
 * of a new segment, past the writers' documented bound
 * (TTMEM_WRITER_WAIT_MS): the program run meanwhile waits that long, runs on
 * untracked, attaches once the segment is published, and is flagged as
 * tracked in part (TTMEM_PROC_F_LATE) in the segment, in show, JSON and
 * Prometheus, and in `ttmem run`'s last line.  A program started after the
 * segment exists is not flagged.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A creator as the protocol has it (O_EXCL, then the build lock), stopped
 * before it sizes the object; continued, it drops its half-built object
 * and builds the segment through the table API (as a re-creator).
 */
static pid_t stopped_creator(const char *name)
{
	int st;
	pid_t pid = fork();

	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(2);
		raise(SIGSTOP);
		close(fd);
		struct ttmem_table *t = NULL;
		int rc = ttmem_table_open(&t, name, NULL, NULL, 0);
		ttmem_table_close(t);
		_exit(rc == 0 ? 0 : 3);
	}
	cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
	cr_assert(WIFSTOPPED(st), "the creator did not stop (status %#x)", st);
	return pid;
}

/* The stdout of `ttmem ARGS` (malloc'd). */
static char *viewer_out(const char *args)
{
	char cmd[512], *buf = calloc(1, 1 << 20);
	size_t n = 0, k;

	cr_assert_not_null(buf);
	snprintf(cmd, sizeof(cmd), "%s %s", bpath("ttmem"), args);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f, "%s", cmd);
	while (n < (1 << 20) - 1 && (k = fread(buf + n, 1, (1 << 20) - 1 - n, f)) > 0)
		n += k;
	pclose(f);
	return buf;
}

/* The one child of `pid` (the command `ttmem run` runs), 0 if none. */
static pid_t child_pid(pid_t pid)
{
	char path[64];
	long c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &c) != 1)
			c = 0;
		fclose(f);
	}
	return (pid_t)c;
}

/* The registry entry whose parent is `ppid` (the command `ttmem run` ran). */
static const struct ttmem_proc *child_of(struct ttmem_table *t, uint32_t ppid)
{
	const struct ttmem_proc *p = ttmem_table_procs(t);

	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		if (p[i].ppid == ppid && (atomic_load(&p[i].ctl) & 0xff) != TTMEM_PROC_FREE)
			return &p[i];
	return NULL;
}

Test(p18_late, creator_stopped_past_the_bound_flags_a_late_attach, .timeout = 120)
{
	struct seg s;
	struct run r, full;
	char what[16], args[256], want[160];
	int n;

	seg_make(&s);
	pid_t creator = stopped_creator(s.name);
	const char *const argv[] = { bpath("ttmem"), "run", "--shm", s.name, "--",
				     bpath("examples/bin/mesh_allocation"), "--runs", "2", "--seed",
				     "3", "--hold", "60000", NULL };
	double t0 = now_s();
	run_start(&r, &s, 0, argv, NULL);

	/* Run 0 goes on once the wait is over, untracked: nothing published. */
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert(!strcmp(what, "peak") && n == 0, "%s %d", what, n);
	double waited = now_s() - t0;
	/* `ttmem run` does not pass SIGUSR1 on: the workload is released
	 * directly. */
	pid_t wl = child_pid(r.pid);
	cr_assert_gt(wl, 0, "no command under ttmem run");
	cr_expect_geq(waited, TTMEM_WRITER_WAIT_MS / 1000.0 * 0.95,
		      "the program waited %.2f s for a live creator, the bound is %u ms", waited,
		      TTMEM_WRITER_WAIT_MS);
	cr_assert_null(seg_open(&s), "published while its creator was stopped");

	/* The creator goes on and publishes: the program attaches at its next
	 * hooked call, and run 1 is tracked in full. */
	kill(creator, SIGCONT);
	int st;
	cr_assert_eq(waitpid(creator, &st, 0), creator);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "creator status %#x", st);
	kill(wl, SIGUSR1);
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "closed");
	kill(wl, SIGUSR1);
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert(!strcmp(what, "peak") && n == 1, "%s %d", what, n);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t, "the segment was not published");
	const struct ttmem_proc *p = child_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p, "the program never registered");
	uint32_t wpid = p->pid;
	cr_expect_eq(wpid, (uint32_t)wl);
	cr_expect(p->flags & TTMEM_PROC_F_LATE, "late attach not flagged (flags %#x)", p->flags);
	struct truth tr;
	struct usage u;
	truth_load(r.truth, &tr);
	usage_read(t, wpid, &u);
	assert_usage_is_truth(&u, &tr, "peak 1, after the late attach");

	/* A program started now is tracked in full, and not flagged. */
	const char *const argv2[] = { bpath("examples/bin/leak"), "--chip", "40", "--hold", "60000",
				      NULL };
	run_start(&full, &s, 1, argv2, NULL);
	cr_assert_eq(run_next(&full, what, sizeof(what), &n), 0);
	const struct ttmem_proc *q = proc_of(t, (uint32_t)full.pid);
	cr_assert_not_null(q);
	cr_expect_eq(q->flags & TTMEM_PROC_F_PARTIAL, 0, "flags %#x", q->flags);

	/* Every rendering says which one was tracked in part. */
	snprintf(args, sizeof(args), "show --shm %s", s.name);
	char *text = viewer_out(args);
	snprintf(want, sizeof(want), "PARTIAL: pid %u was tracked only in part (attached late)",
		 wpid);
	cr_expect_not_null(strstr(text, want), "show: %s", text);
	snprintf(want, sizeof(want), "PARTIAL: pid %u ", (unsigned)full.pid);
	cr_expect_null(strstr(text, want), "show: %s", text);
	free(text);
	snprintf(args, sizeof(args), "show --json --shm %s", s.name);
	text = viewer_out(args);
	snprintf(want, sizeof(want), "{\"pid\":%u,", wpid);
	char *j = strstr(text, want);
	cr_assert_not_null(j, "json: %s", text);
	char *end = strstr(j, "\"released_bulk\"");
	cr_assert_not_null(end);
	*end = 0;
	cr_expect_not_null(strstr(j, "\"late\"],\"partial\":true"), "json: %s", j);
	free(text);
	snprintf(args, sizeof(args), "show --prometheus --shm %s", s.name);
	text = viewer_out(args);
	snprintf(want, sizeof(want), "ttmem_process_partial{segment=\"%s\",pid=\"%u\",", s.name,
		 wpid);
	j = strstr(text, want);
	cr_assert_not_null(j, "prometheus: %s", text);
	end = strchr(j, '\n');
	cr_assert(end && end[-1] == '1' && end[-2] == ' ', "prometheus: %.200s", j);
	snprintf(want, sizeof(want), "ttmem_process_partial{segment=\"%s\",pid=\"%u\",", s.name,
		 (unsigned)full.pid);
	j = strstr(text, want);
	cr_assert_not_null(j, "prometheus: %s", text);
	end = strchr(j, '\n');
	cr_assert(end && end[-1] == '0' && end[-2] == ' ', "prometheus: %.200s", j);
	free(text);
	ttmem_table_close(t);

	run_continue(&full);
	while (run_next(&full, what, sizeof(what), &n) == 0)
		run_continue(&full);
	run_wait(&full);
	run_cleanup(&full);
	kill(wl, SIGUSR1);
	while (run_next(&r, what, sizeof(what), &n) == 0)
		kill(wl, SIGUSR1);
	st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_not_null(strstr(err, "late: what this process did before is not tracked"), "%s",
			   err);
	/* run's last line names it. */
	char *last = err + strlen(err);
	while (last > err && last[-1] == '\n')
		*--last = 0;
	last = strrchr(err, '\n') ? strrchr(err, '\n') + 1 : err;
	snprintf(want, sizeof(want), "tracked only in part: pid %u (attached late)", wpid);
	cr_expect_not_null(strstr(last, want), "last line: %s", last);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
