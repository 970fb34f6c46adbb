/* SPDX-License-Identifier: MIT */
/*
 * The viewer on hostile and broken segments (ttmem.1, TRUST MODEL):
 *   - a stale segment is reported at once, saying what was found, and
 *     `ttmem clear` removes it;
 *   - a segment shrinking and growing while it is read never kills a
 *     command (no SIGBUS): exit 0, or 13 when it shrank under the reads;
 *   - `ttmem reap` needs no registry entry and leaves none;
 *   - a dead writer's half-written slot is shown as such, not as unstable;
 *   - a sparse segment claiming the largest geometry costs `show` what was
 *     written, not the 4.4 GB the header claims.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maxseg.h"
#include "segfix.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void file_path(char *buf, size_t len, const char *tag)
{
	static unsigned n;
	snprintf(buf, len, "/dev/shm/ttmem-test-viewer-%d-%s-%u", (int)getpid(), tag, n++);
	unlink(buf);
}

Test(hostile, stale_segment_said_and_cleared)
{
	char path[128], *out = NULL, *err = NULL;
	file_path(path, sizeof(path), "stale");
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);

	double t0 = now_ms();
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", path, NULL);
	double ms = now_ms() - t0;
	cr_assert_eq(rc, 10, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "stale") && strstr(err, "empty file") && strstr(err, "ttmem clear"),
		  "%s", err);
	cr_assert_lt(ms, 1000.0, "show waited %.0f ms for a creator that is gone", ms);
	free(out);
	free(err);

	rc = segfix_ttmem_run(&out, &err, "clear", "--shm", path, NULL);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(out, "removed the stale segment"), "%s", out);
	cr_assert_eq(access(path, F_OK), -1, "clear left the stale segment");
	free(out);
	free(err);
}

/* ---- shrinking under the readers ------------------------------------------------ */

static void shrink_loop(const char *path, off_t size, double ms)
{
	double end = now_ms() + ms;
	while (now_ms() < end) {
		if (truncate(path, 4096) != 0 || truncate(path, size) != 0)
			_exit(1);
	}
	_exit(0);
}

Test(hostile, shrinking_segment_never_kills_a_command, .timeout = 120)
{
	static const char *const cmds[][2] = {
		{ "show", NULL }, { "show", "--json" }, { "show", "--prometheus" },
		{ "leaks", NULL }, { "reap", NULL }, { "baseline", NULL },
	};
	char path[128];
	file_path(path, sizeof(path), "shrink");
	struct ttmem_table *t = segfix_create(path, 4, 0);
	cr_assert_not_null(t);
	struct segfix_alloc a[64];
	for (unsigned i = 0; i < 64; i++)
		a[i] = (struct segfix_alloc){ i % 4, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, (i + 1) << 16, 4096 };
	segfix_child(path, "leaker", a, 64, SEGFIX_EXIT);
	off_t size = (off_t)ttmem_table_header(t)->total_size;
	ttmem_table_close(t);

	pid_t shrinker = fork();
	if (shrinker == 0)
		shrink_loop(path, size, 4000);
	int seen[256] = { 0 };
	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			char *out = NULL, *err = NULL;
			int rc = cmds[i][1] ?
				segfix_ttmem_run(&out, &err, cmds[i][0], "--shm", path, cmds[i][1], NULL) :
				segfix_ttmem_run(&out, &err, cmds[i][0], "--shm", path, NULL);
			cr_assert_lt(rc, 128, "%s %s killed by signal %d", cmds[i][0],
				     cmds[i][1] ? cmds[i][1] : "", rc - 128);
			/* 0 read intact, 7 truncated when opened, 8 size mismatch
			 * when opened, 13 shrank while read (never a partial
			 * report: nothing on stdout). */
			cr_assert(rc == 0 || rc == 7 || rc == 8 || rc == 13, "%s: exit %d: %s", cmds[i][0],
				  rc, err);
			if (rc == 13)
				cr_assert(!out || !*out, "%s printed a report read from zeros", cmds[i][0]);
			seen[rc]++;
			free(out);
			free(err);
		}
	}
	kill(shrinker, SIGKILL);
	waitpid(shrinker, NULL, 0);
	cr_log_info("exits: 0 x%d, 7 x%d, 8 x%d, 13 x%d", seen[0], seen[7], seen[8], seen[13]);
	unlink(path);
}

/* The setting: an unprivileged user owns the segment and truncates it
 * in a loop while root's viewer reads it. */
Test(hostile, other_users_shrinking_segment_never_kills_root, .timeout = 120)
{
	char path[128];

	if (geteuid() != 0)
		cr_skip_test("needs root to act as another user (setresuid)");
	file_path(path, sizeof(path), "usershrink");
	struct ttmem_table *t = segfix_create(path, 2, 0);
	cr_assert_not_null(t);
	struct segfix_alloc a[16];
	for (unsigned i = 0; i < 16; i++)
		a[i] = (struct segfix_alloc){ i % 2, TTMEM_TYPE_L1, TTMEM_OWNER_APP, (i + 1) << 12, 512 };
	segfix_child(path, "user", a, 16, SEGFIX_EXIT);
	off_t size = (off_t)ttmem_table_header(t)->total_size;
	ttmem_table_close(t);
	cr_assert_eq(chown(path, 65534, 65534), 0);

	pid_t shrinker = fork();
	if (shrinker == 0) {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		shrink_loop(path, size, 3000);
	}
	int seen13 = 0;
	for (int round = 0; round < 12; round++) {
		char *out = NULL, *err = NULL;
		int rc = segfix_ttmem_run(&out, &err, round % 2 ? "leaks" : "show", "--shm", path, NULL);
		cr_assert(rc == 0 || rc == 7 || rc == 8 || rc == 13, "exit %d: %s", rc, err);
		seen13 += rc == 13;
		free(out);
		free(err);
	}
	int st;
	waitpid(shrinker, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other user could not truncate");
	cr_log_info("shrank under root's viewer: %d of 12", seen13);
	unlink(path);
}

/* ---- reap ------------------------------------------------------------------------ */

static int registered(const char *path)
{
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *t = NULL;
	int n = 0;

	cr_assert_eq(ttmem_table_open(&t, path, &ro, NULL, 0), 0);
	const struct ttmem_proc *p = ttmem_table_procs(t);
	for (uint32_t i = 0; i < ttmem_table_proc_capacity(t); i++)
		n += (atomic_load(&p[i].ctl) & 0xff) != TTMEM_PROC_FREE;
	ttmem_table_close(t);
	return n;
}

/* A dead writer's half-written slot: BUSY, tagged with its registry index
 * and generation (segment.h), its meta byte set, as a kill mid-insert
 * leaves it. */
static void plant_stuck_slot(const char *path, pid_t dead)
{
	struct ttmem_open_opts nc = { .no_create = 1 };
	struct ttmem_table *t = NULL;

	cr_assert_eq(ttmem_table_open(&t, path, &nc, NULL, 0), 0);
	const struct ttmem_proc *p = ttmem_table_procs(t);
	uint32_t ix = UINT32_MAX;
	for (uint32_t i = 0; i < ttmem_table_proc_capacity(t); i++)
		if ((atomic_load(&p[i].ctl) >> 32) == (uint64_t)dead)
			ix = i;
	cr_assert_neq(ix, UINT32_MAX);
	uint32_t gen = (uint32_t)(atomic_load(&p[ix].ctl) >> 8) & 0x3fff;
	struct ttmem_slot *s = (struct ttmem_slot *)(uintptr_t)ttmem_table_slots(t);
	uint8_t *meta = (uint8_t *)(uintptr_t)ttmem_table_meta(t);
	uint64_t si = ttmem_table_capacity(t) - 1;
	cr_assert_eq(atomic_load(&s[si].ctl) & 3, TTMEM_SLOT_FREE);
	atomic_store(&s[si].ctl, TTMEM_CTL_MAKE(7, ix | gen << 16, TTMEM_SLOT_BUSY));
	meta[si] = 0x42;
	ttmem_table_close(t);
}

Test(hostile, reap_unregistered_and_stuck_slots_named)
{
	char path[128], *out = NULL, *err = NULL;
	file_path(path, sizeof(path), "reap");
	struct ttmem_table *t = segfix_create(path, 2, 0);
	cr_assert_not_null(t);
	ttmem_table_close(t);
	struct segfix_alloc a = { 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 1 << 20, 1 << 20 };
	pid_t dead = segfix_child(path, "victim", &a, 1, SEGFIX_KILLED);
	plant_stuck_slot(path, dead);

	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", path, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "unstable 0"), "%s", out);
	cr_assert(strstr(out, "1 slot left half-written by a killed writer"), "%s", out);
	free(out);
	free(err);
	rc = segfix_ttmem_run(&out, &err, "show", "--json", "--shm", path, NULL);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(out, "\"unstable\":0,\"stuck\":1,"), "%s", out);
	free(out);
	free(err);

	int before = registered(path);
	rc = segfix_ttmem_run(&out, &err, "reap", "--shm", path, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "1 entries"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(registered(path), before, "ttmem reap registered itself");

	rc = segfix_ttmem_run(&out, &err, "show", "-a", "--shm", path, NULL);
	cr_assert_eq(rc, 0);
	cr_assert(!strstr(out, "half-written"), "%s", out);
	cr_assert(!strstr(out, " ttmem "), "the viewer is listed as a process: %s", out);
	free(out);
	free(err);
	unlink(path);
}

/* ---- bounded reads ------------------------------------------------------------- */

/* Run `ttmem SUB --shm path` quietly; its exit code and peak RSS (KiB). */
static int run_rss(const char *sub, const char *path, const char *opt, long *rss_kib)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(segfix_ttmem(), "ttmem", sub, "--shm", path, opt, (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	*rss_kib = ru.ru_maxrss;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(hostile, sparse_max_geometry_bounded, .timeout = 60)
{
	char path[128];
	struct stat st;
	long rss;
	file_path(path, sizeof(path), "sparse");
	cr_assert_eq(maxseg_write(path), 0);
	cr_assert_eq(stat(path, &st), 0);
	long long before = (long long)st.st_blocks;

	cr_assert_eq(run_rss("show", path, NULL, &rss), 0);
	cr_assert_lt(rss, 32 * 1024, "show of an empty sparse segment: %ld KiB resident", rss);
	cr_assert_eq(run_rss("show", path, "--json", &rss), 0);
	cr_assert_lt(rss, 32 * 1024, "show --json: %ld KiB resident", rss);
	cr_assert_eq(run_rss("leaks", path, NULL, &rss), 0);
	cr_assert_lt(rss, 32 * 1024, "leaks: %ld KiB resident", rss);
	/* The write operations too: reap reads every slot and registry
	 * entry that holds data, clear every registry entry. */
	cr_assert_eq(run_rss("reap", path, NULL, &rss), 0);
	cr_assert_lt(rss, 32 * 1024, "reap: %ld KiB resident", rss);
	cr_assert_eq(run_rss("clear", path, NULL, &rss), 0);
	cr_assert_lt(rss, 32 * 1024, "clear: %ld KiB resident", rss);
	cr_assert_eq(stat(path, &st), 0);
	long long grown = ((long long)st.st_blocks - before) / 2;
	cr_assert_lt(grown, 1024, "reading made the segment grow by %lld KiB", grown);
	unlink(path);
}

/* ---- a host program under the preload ------------------------------------------- */

/* Its segment truncated under it, a tracked program runs on to its normal
 * end (no SIGBUS), and says once on stderr that tracking stopped. */
Test(hostile, preload_host_survives_shrink, .timeout = 120)
{
	char path[128], env[200], *out = NULL, *err = NULL;
	const char *churn = "examples/bin/churn";

	if (!segfix_have("libttmem.so") || !segfix_have(churn))
		cr_skip_test("needs build/libttmem.so and %s", churn);
	file_path(path, sizeof(path), "host");
	snprintf(env, sizeof(env), "TTMEM_SHM=%s", path);
	pid_t pid = fork();
	if (pid == 0) {
		/* The shrink lands while the storm runs (it lasts seconds). */
		for (int i = 0; i < 400 && access(path, F_OK) != 0; i++)
			usleep(5000);
		usleep(100000);
		_exit(truncate(path, 4096) == 0 ? 0 : 1);
	}
	char pre[256];
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", segfix_build_path("libttmem.so"));
	char *argv[] = { (char *)"env", env, pre, (char *)segfix_build_path(churn),
			 (char *)"--events", (char *)"5000000", NULL };
	int rc = segfix_run(argv, &out, &err);
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the segment was not truncated");
	cr_assert_eq(rc, 0, "the tracked program ended with %d: %s", rc, err);
	cr_assert(strstr(err, "shrank under this process"), "%s", err);
	cr_assert_eq(segfix_lines(err), 1, "%s", err);
	free(out);
	free(err);
	unlink(path);
}
