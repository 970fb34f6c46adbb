/* SPDX-License-Identifier: MIT */
/*
 * Hostile and broken segments, at the table core:
 *   - stale segments (empty, all zeros, a header never published) are
 *     re-created at once by the next writer, never while a live process
 *     holds the build lock; readers say what they found;
 *   - a file shrinking under a mapping does not kill a reader or a writer
 *     once the SIGBUS guard is installed;
 *   - reap needs no registry entry and leaves no BUSY slot of a dead writer,
 *     whatever the registry's history;
 *   - a dead writer's half-written slot is "stuck", not "unstable";
 *   - a sparse file claiming the largest geometry costs a reader what was
 *     written, not what the header claims.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "helpers.h"
#include "maxseg.h"

/*
 * flock, interposed for this program (the table core is linked in
 * statically): when `between_open_and_lock` is set, the first exclusive lock
 * runs it first, as if the locking process had been descheduled between its
 * O_EXCL open and its lock while another process did that.
 */
static void (*between_open_and_lock)(void);

int flock(int fd, int op)
{
	if ((op & LOCK_EX) && between_open_and_lock) {
		void (*f)(void) = between_open_and_lock;
		between_open_and_lock = NULL;
		f();
	}
	return (int)syscall(SYS_flock, fd, op);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void write_file(const char *path, size_t zeros)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)zeros), 0);
	close(fd);
}

/* A writer opening (creating) `path` gets a fresh, usable segment, at once. */
static void writer_recovers(const char *path)
{
	struct ttmem_open_opts o = { .capacity = 1 << 12, .proc_capacity = 8, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	struct timespec t0;
	char err[512] = "";

	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ttmem_table_open(&t, path, &o, err, sizeof(err));
	double ms = ms_since(&t0);
	cr_assert_eq(rc, 0, "open: %d %s", rc, err);
	cr_assert_lt(ms, 250.0, "a host waited %.1f ms on a stale segment", ms);
	cr_assert_eq(ttmem_table_header(t)->ready, TTMEM_READY);
	cr_assert_geq(ttmem_proc_register(t), 0);
	struct ttmem_entry e = mk_entry(0, 0, 4096, 10);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	ttmem_table_close(t);
}

Test(hostile, stale_empty_file_recreated_at_once)
{
	char path[128];
	struct stat st;
	seg_path(path, sizeof(path), "empty");
	write_file(path, 0);
	cr_assert_eq(chmod(path, 0666), 0);
	writer_recovers(path);
	/* Re-created with a creator's mode, not the planted file's. */
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	unlink(path);
}

Test(hostile, stale_all_zero_file_recreated_at_once)
{
	char path[128];
	seg_path(path, sizeof(path), "zeros");
	write_file(path, 1 << 20);
	writer_recovers(path);
	unlink(path);
}

/* A header filled but never published, its creator pid alive (pid 1) yet
 * holding no build lock: stale all the same (pids lie, locks do not). */
Test(hostile, stale_unpublished_header_recreated_at_once)
{
	char path[128];
	seg_path(path, sizeof(path), "unpub");
	struct ttmem_table *t = seg_open_cap(path, 128, 4);
	ttmem_table_close(t);
	int fd = open(path, O_RDWR);
	uint32_t zero = 0, one = 1;
	cr_assert_eq(pwrite(fd, &zero, 4, offsetof(struct ttmem_header, ready)), 4);
	cr_assert_eq(pwrite(fd, &one, 4, offsetof(struct ttmem_header, creator_pid)), 4);
	close(fd);
	writer_recovers(path);
	unlink(path);
}

/* Readers (and no_create writers) report a stale segment at once, saying
 * what they found, and leave it alone. */
Test(hostile, reader_reports_stale_at_once)
{
	char path[128], err[512] = "";
	seg_path(path, sizeof(path), "rdstale");
	write_file(path, 0);
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *t = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ttmem_table_open(&t, path, &ro, err, sizeof(err)), TTMEM_ENOTREADY);
	cr_assert_lt(ms_since(&t0), 500.0);
	cr_assert(strstr(err, "stale") && strstr(err, "empty"), "%s", err);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0, "a reader changed the file");
	/* ttmem_table_remove_stale removes it, and says what it was. */
	cr_assert_eq(ttmem_table_remove_stale(path, err, sizeof(err)), 1);
	cr_assert(strstr(err, "empty"), "%s", err);
	cr_assert_eq(access(path, F_OK), -1);
	cr_assert_eq(ttmem_table_remove_stale(path, err, sizeof(err)), 0);
}

/* A live process holding the build lock (a creator at work, however slow)
 * is never raced: a writer waits a bounded time and gives up without
 * touching the file; once the holder is gone the next writer re-creates. */
Test(hostile, live_creator_never_raced)
{
	char path[128], err[512] = "";
	seg_path(path, sizeof(path), "live");
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) != 0)
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(2);
		sleep(30); /* killed by the parent */
		_exit(0);
	}
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	struct stat before, after;
	cr_assert_eq(stat(path, &before), 0);

	struct ttmem_table *t = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ttmem_table_open(&t, path, NULL, err, sizeof(err));
	double ms = ms_since(&t0);
	cr_assert_eq(rc, TTMEM_ENOTREADY, "%d %s", rc, err);
	cr_assert(strstr(err, "being created"), "%s", err);
	/* The writers' bound (table.h): long enough for programs started
	 * together, never longer. */
	cr_assert_lt(ms, TTMEM_WRITER_WAIT_MS + 500.0, "a host waited %.1f ms", ms);
	cr_assert_geq(ms, TTMEM_WRITER_WAIT_MS * 0.95, "did not wait for a live creator (%.1f ms)",
		      ms);
	cr_assert_eq(ttmem_table_remove_stale(path, err, sizeof(err)), 0);
	cr_assert_eq(stat(path, &after), 0);
	cr_assert_eq(after.st_ino, before.st_ino, "the live creator's file was replaced");
	cr_assert_eq(after.st_size, 0, "the live creator's file was touched");

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	writer_recovers(path);
	unlink(path);
}

/* ---- SIGBUS ---------------------------------------------------------------------- */

static struct ttmem_table *filled_segment(const char *path, unsigned n)
{
	struct ttmem_table *t = seg_writer(path, 1 << 12);
	for (unsigned i = 0; i < n; i++) {
		struct ttmem_entry e = mk_entry(i % 3, 0, (uint64_t)(i + 1) << 12, 100 + i);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	ttmem_flush(t);
	return t;
}

/* Without the guard a shrinking file kills a reader (the fault the guard
 * exists for); with it, the reader lives, reads zeros and knows. */
static int read_after_shrink(const char *path, int guard)
{
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	if (ttmem_table_open(&r, path, &ro, NULL, 0) != 0)
		return 1;
	if (guard && ttmem_sigbus_guard(NULL) != 0)
		return 2;
	if (truncate(path, 4096) != 0)
		return 3;
	struct ttmem_snapshot s;
	if (ttmem_snapshot(r, &s) != 0)
		return 4;
	/* A raw read past the new end, as ttmem-dump or a registry walk does
	 * (the snapshot itself skips what is no longer in the file). */
	const struct ttmem_slot *sl = ttmem_table_slots(r);
	uint64_t c = atomic_load(&sl[ttmem_table_capacity(r) - 1].ctl);
	int ok = s.count == 0 && c == 0 && !ttmem_table_intact(r);
	ttmem_snapshot_free(&s);
	ttmem_table_close(r);
	return ok ? 0 : 5;
}

Test(hostile, reader_survives_shrink)
{
	char path[128];
	seg_path(path, sizeof(path), "shrinkr");
	struct ttmem_table *t = filled_segment(path, 50);
	uint64_t size = ttmem_table_header(t)->total_size;
	ttmem_table_close(t);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL); /* not ASan's report: the plain default */
		_exit(read_after_shrink(path, 0));
	}
	cr_assert_eq(wait_child(pid), 128 + SIGBUS,
		     "an unguarded reader was not killed by SIGBUS: the test shrank nothing");
	cr_assert_eq(truncate(path, (off_t)size), 0);
	pid = fork();
	if (pid == 0)
		_exit(read_after_shrink(path, 1));
	cr_assert_eq(wait_child(pid), 0);
	unlink(path);
}

static int write_after_shrink(const char *path)
{
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, path, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	ttmem_sigbus_guard(NULL);
	if (truncate(path, 4096) != 0)
		return 3;
	for (unsigned i = 0; i < 1000; i++) {
		struct ttmem_entry e = mk_entry(1, 0, (uint64_t)(i + 7) << 12, 1);
		ttmem_insert(t, &e);
	}
	ttmem_flush(t);
	int ok = !ttmem_table_intact(t);
	ttmem_table_close(t);
	return ok ? 0 : 5;
}

Test(hostile, writer_survives_shrink)
{
	char path[128];
	seg_path(path, sizeof(path), "shrinkw");
	ttmem_table_close(filled_segment(path, 10));
	pid_t pid = fork();
	if (pid == 0)
		_exit(write_after_shrink(path));
	cr_assert_eq(wait_child(pid), 0);
	unlink(path);
}

/* Faults outside a segment still take the default action with the guard
 * installed (the guard does not swallow a host's own SIGBUS). */
Test(hostile, guard_chains_foreign_faults)
{
	char path[128];
	seg_path(path, sizeof(path), "foreign");
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL); /* what the guard chains to: the default */
		ttmem_sigbus_guard(NULL);
		int fd = open(path, O_CREAT | O_RDWR, 0600);
		if (fd < 0 || ftruncate(fd, 8192) != 0)
			_exit(1);
		volatile char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
			_exit(2);
		_exit(p[4096] == 0 ? 3 : 4);
	}
	cr_assert_eq(wait_child(pid), 128 + SIGBUS, "the fault was not passed on to the default action");
	unlink(path);
}

/*
 * A host's own SIGBUS disposition, with and without the guard: the same
 * outcome.  Each row: how the host set SIGBUS up, and whether the signal is
 * a fault (a file shrunk under a mapping of the host's own) or sent (kill).
 */
enum host_bus { BUS_RESETHAND_RETURNS, BUS_RESETHAND_NODEFER_RAISES, BUS_IGN, BUS_DFL, BUS_MASK };

static volatile sig_atomic_t host_calls;

static void host_resethand_returns(int s, siginfo_t *si, void *uc)
{
	(void)s, (void)si, (void)uc;
	if (++host_calls > 100)
		_exit(42);   /* called again and again: the host loops */
}

static void host_raises(int s, siginfo_t *si, void *uc)
{
	(void)s, (void)uc;
	raise(si->si_signo);   /* SA_RESETHAND|SA_NODEFER: this kills */
	_exit(41);
}

static void host_masked(int s)
{
	sigset_t cur;
	(void)s;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	_exit(sigismember(&cur, SIGUSR1) ? 10 : 11);   /* 10: its sa_mask applied */
}

static int host_status(const char *path, enum host_bus how, int fault, int guard)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		struct sigaction sa;
		setrlimit(RLIMIT_CORE, &no_core);
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		switch (how) {
		case BUS_RESETHAND_RETURNS:
			sa.sa_sigaction = host_resethand_returns;
			sa.sa_flags = (int)(SA_SIGINFO | SA_RESETHAND);
			break;
		case BUS_RESETHAND_NODEFER_RAISES:
			sa.sa_sigaction = host_raises;
			sa.sa_flags = (int)(SA_SIGINFO | SA_RESETHAND | SA_NODEFER);
			break;
		case BUS_IGN: sa.sa_handler = SIG_IGN; break;
		case BUS_DFL: sa.sa_handler = SIG_DFL; break;
		case BUS_MASK:
			sa.sa_handler = host_masked;
			sigaddset(&sa.sa_mask, SIGUSR1);
			break;
		}
		sigaction(SIGBUS, &sa, NULL);
		if (guard)
			ttmem_sigbus_guard(NULL);
		if (!fault) {
			kill(getpid(), SIGBUS);
			_exit(0);
		}
		int fd = open(path, O_CREAT | O_RDWR, 0600);
		if (fd < 0 || ftruncate(fd, 8192) != 0)
			_exit(1);
		volatile char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
			_exit(2);
		_exit(p[4096] == 0 ? 3 : 4);
	}
	return wait_child(pid);
}

Test(hostile, guard_keeps_the_hosts_sigbus_behaviour, .timeout = 60)
{
	static const struct {
		enum host_bus how;
		int fault;
		int status;   /* the host's own outcome (asserted without the guard too) */
	} rows[] = {
		{ BUS_RESETHAND_RETURNS, 1, 128 + SIGBUS },
		{ BUS_RESETHAND_RETURNS, 0, 0 },
		{ BUS_RESETHAND_NODEFER_RAISES, 1, 128 + SIGBUS },
		{ BUS_RESETHAND_NODEFER_RAISES, 0, 128 + SIGBUS },
		{ BUS_IGN, 0, 0 },
		{ BUS_IGN, 1, 128 + SIGBUS },   /* a fault cannot be ignored */
		{ BUS_DFL, 0, 128 + SIGBUS },
		{ BUS_DFL, 1, 128 + SIGBUS },
		{ BUS_MASK, 0, 10 },
		{ BUS_MASK, 1, 10 },
	};
	char path[128];
	seg_path(path, sizeof(path), "hostbus");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (int guard = 0; guard < 2; guard++) {
			int st = host_status(path, rows[i].how, rows[i].fault, guard);
			cr_expect_eq(st, rows[i].status, "row %zu (%s) %s the guard: status %d, not %d", i,
				     rows[i].fault ? "fault" : "kill", guard ? "with" : "without", st,
				     rows[i].status);
			unlink(path);
		}
}

/* ---- reap ------------------------------------------------------------------------ */

struct killed {
	const char *path;
};

/* Insert/remove in a loop until killed. */
static int churn(void *arg)
{
	struct killed *k = arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, k->path, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	for (uint64_t i = 0;; i++) {
		struct ttmem_entry e = mk_entry(0, 0, ((i % 64) + 1) << 12, 64);
		if (i & 64)
			ttmem_remove(t, &e.key, NULL);
		else
			ttmem_insert(t, &e);
	}
}

/* Kill churning writers until one leaves a BUSY slot; returns its count. */
static uint64_t leave_busy_slot(const char *path, struct ttmem_table *t)
{
	struct killed k = { path };
	for (int round = 0; round < 400; round++) {
		pid_t pid = fork_child(churn, &k);
		struct timespec d = { 0, 2000000 + (round % 7) * 300000 };
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		uint64_t busy = census(t).busy;
		if (busy)
			return busy;
		/* Start the next round from a clean registry entry. */
		ttmem_reap(t, 1, NULL);
	}
	return 0;
}

/* The history of item 3: the dead writer's registry entry is recycled by a
 * live process (a full registry), which then reaps. */
static int recycle_and_reap(void *arg)
{
	struct killed *k = arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, k->path, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	if (ttmem_reap(t, 0, NULL) < 0)
		return 2;
	int busy = (int)census(t).busy;
	ttmem_table_close(t);
	return busy ? 10 + busy : 0;
}

Test(hostile, no_busy_slot_survives_reap_after_recycle, .timeout = 60)
{
	char path[128];
	seg_path(path, sizeof(path), "recycle");
	/* Two registry entries: ours and the churning writer's. */
	struct ttmem_table *t = seg_open_cap(path, 128, 2);
	cr_assert_geq(ttmem_proc_register(t), 0);
	cr_assert_gt(leave_busy_slot(path, t), 0, "no BUSY slot left in 400 kills");
	struct killed k = { path };
	cr_assert_eq(wait_child(fork_child(recycle_and_reap, &k)), 0,
		     "a dead writer's BUSY slot survived a reap by the process that recycled its entry");
	cr_assert_eq(census(t).busy, 0);
	ttmem_table_close(t);
	unlink(path);
}

Test(hostile, reap_without_registration, .timeout = 60)
{
	char path[128];
	seg_path(path, sizeof(path), "unreg");
	struct ttmem_table *t = seg_open_cap(path, 128, 4);
	cr_assert_geq(ttmem_proc_register(t), 0);
	cr_assert_gt(leave_busy_slot(path, t), 0, "no BUSY slot left in 400 kills");
	ttmem_table_close(t);

	/* Snapshots tell the dead writer's slot from a racing one. */
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, NULL, 0), 0);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(r, &s), 0);
	cr_assert_eq(s.unstable, 0, "a dead writer's slot counted as unstable");
	uint64_t stuck = s.stuck;
	ttmem_snapshot_free(&s);

	/* The viewer's way: no_create, writable, never registered. */
	struct ttmem_open_opts nc = { .no_create = 1 };
	struct ttmem_table *v = NULL;
	cr_assert_eq(ttmem_table_open(&v, path, &nc, NULL, 0), 0);
	const struct ttmem_proc *procs = ttmem_table_procs(v);
	int used_before = 0, used_after = 0;
	for (unsigned i = 0; i < 4; i++)
		used_before += (atomic_load(&procs[i].ctl) & 0xff) != TTMEM_PROC_FREE;
	cr_assert_geq(ttmem_reap(v, 0, NULL), 0);
	for (unsigned i = 0; i < 4; i++)
		used_after += (atomic_load(&procs[i].ctl) & 0xff) != TTMEM_PROC_FREE;
	cr_assert_eq(used_after, used_before, "the reaper registered itself");
	cr_assert_eq(census(v).busy, 0);
	cr_assert_geq(CNT(v, stuck_freed), 1);
	cr_assert_eq(ttmem_snapshot(r, &s), 0);
	cr_assert_eq(s.stuck, 0);
	cr_assert_eq(s.unstable, 0);
	ttmem_snapshot_free(&s);
	(void)stuck;
	ttmem_table_close(v);
	ttmem_table_close(r);
	unlink(path);
}

/* ---- bounded reads ------------------------------------------------------------- */

static long long blocks_kib(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	return (long long)st.st_blocks / 2;
}

Test(hostile, sparse_max_geometry_costs_what_is_written)
{
	char path[128];
	seg_path(path, sizeof(path), "sparse");
	cr_assert_eq(maxseg_write(path), 0);
	long long before = blocks_kib(path);
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, NULL, 0), 0);
	struct ttmem_snapshot s;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ttmem_snapshot(r, &s), 0);
	double ms = ms_since(&t0);
	cr_assert_eq(s.count, 0);
	ttmem_snapshot_free(&s);
	/* The reads would have allocated every meta page they touched. */
	long long grown = blocks_kib(path) - before;
	cr_assert_lt(grown, 1024, "a snapshot made the sparse file grow by %lld KiB", grown);
	cr_assert_lt(ms, 500.0, "a snapshot of an empty sparse segment took %.1f ms", ms);
	ttmem_table_close(r);
	unlink(path);
}

/* ---- another user's segment ----------------------------------------------------- */

/* A stale segment another (unprivileged) user left under the name: a
 * writer refuses it at once (it writes only its own user's segments) and
 * never waits on it nor touches it; ttmem_table_remove_stale leaves it. */
Test(hostile, other_users_stale_segment_refused_at_once)
{
	char path[128], err[512] = "";
	seg_path(path, sizeof(path), "otheruser");
	if (geteuid() != 0)
		cr_skip_test("needs root to act as another user (setresuid)");
	pid_t pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
		_exit(fd < 0 ? 2 : 0);
	}
	cr_assert_eq(wait_child(pid), 0, "could not create the file as uid 65534");
	struct ttmem_table *t = NULL;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ttmem_table_open(&t, path, NULL, err, sizeof(err)), TTMEM_EOWNER, "%s", err);
	cr_assert_lt(ms_since(&t0), 250.0);
	cr_assert_eq(ttmem_table_remove_stale(path, err, sizeof(err)), 0);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_uid, 65534);
	/* Readers may look: they say it is stale. */
	struct ttmem_open_opts ro = { .readonly = 1 };
	cr_assert_eq(ttmem_table_open(&t, path, &ro, err, sizeof(err)), TTMEM_ENOTREADY);
	cr_assert(strstr(err, "stale"), "%s", err);
	unlink(path);
}

/* A reaper killed mid-claim leaves a slot BUSY with the reserved reaper
 * index: readers count it stuck (no reaper holds the lock), writers never
 * take it (a live reaper may hold it), and the next reap resets it. */
Test(hostile, dead_reapers_slot)
{
	char path[128];
	seg_path(path, sizeof(path), "reaper");
	struct ttmem_table *t = seg_writer(path, 128);
	struct ttmem_slot *s = (struct ttmem_slot *)(uintptr_t)ttmem_table_slots(t);
	uint8_t *meta = (uint8_t *)(uintptr_t)ttmem_table_meta(t);
	/* Slot 5: as a reaper leaves it after LIVE -> BUSY(reaper). */
	atomic_store(&s[5].ctl, TTMEM_CTL_MAKE(3, 0xffffu, TTMEM_SLOT_BUSY));
	meta[5] = 0x11;

	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, NULL, 0), 0);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(r, &snap), 0);
	cr_assert_eq(snap.stuck, 1);
	cr_assert_eq(snap.unstable, 0);
	/* While a reaper holds the lock, the same slot may be its own: racing. */
	int fd = open(path, O_RDWR);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	cr_assert_eq(ttmem_snapshot_refresh(r, &snap), 0);
	cr_assert_eq(snap.stuck, 0);
	cr_assert_eq(snap.unstable, 1);
	close(fd);

	struct ttmem_open_opts nc = { .no_create = 1 };
	struct ttmem_table *v = NULL;
	cr_assert_eq(ttmem_table_open(&v, path, &nc, NULL, 0), 0);
	cr_assert_geq(ttmem_reap(v, 0, NULL), 0);
	cr_assert_eq(TTMEM_CTL_STATE(atomic_load(&s[5].ctl)), TTMEM_SLOT_FREE);
	cr_assert_eq(ttmem_snapshot_refresh(r, &snap), 0);
	cr_assert_eq(snap.stuck + snap.unstable, 0);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(v);
	ttmem_table_close(r);
	ttmem_table_close(t);
	unlink(path);
}

/* Many programs starting at once on a stale segment: one re-creates it, the
 * others wait for it (or re-create it first: the lock picks one); all end
 * on the same segment, every insert in it. */
static int stale_racer(void *arg)
{
	const char *p = arg;
	struct ttmem_open_opts o = { .capacity = 1 << 14, .proc_capacity = 64, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, p, &o, NULL, 0) != 0)
		return 1;
	if (ttmem_proc_register(t) < 0)
		return 2;
	struct ttmem_entry e = mk_entry(0, 0, (uint64_t)getpid() << 12, 1);
	int rc = ttmem_insert(t, &e) == TTMEM_INSERTED ? 0 : 3;
	ttmem_flush(t);
	ttmem_table_close(t);
	return rc;
}

Test(hostile, stale_segment_race, .timeout = 60)
{
	char path[128];
	for (int round = 0; round < 5; round++) {
		seg_path(path, sizeof(path), "stalerace");
		write_file(path, round % 2 ? 0 : 8192);
		pid_t pids[12];
		for (int i = 0; i < 12; i++)
			pids[i] = fork_child(stale_racer, path);
		for (int i = 0; i < 12; i++)
			cr_assert_eq(wait_child(pids[i]), 0, "round %d child %d", round, i);
		struct ttmem_table *t = seg_open_cap(path, 0, 0);
		struct ttmem_snapshot s;
		cr_assert_eq(ttmem_snapshot(t, &s), 0);
		cr_assert_eq(s.count, 12, "round %d: %zu entries: the racers split", round, s.count);
		ttmem_snapshot_free(&s);
		ttmem_table_close(t);
		unlink(path);
	}
}

/* The other writer of delayed_creator_attaches: judges the creator's empty
 * object stale, re-creates it with another capacity and keeps using it. */
static const char *race_path;
static struct ttmem_table *race_other;

static void other_writer_recreates(void)
{
	struct ttmem_open_opts o = { .capacity = 1 << 14, .proc_capacity = 8, .module_capacity = 4 };
	char err[512] = "";
	int rc = ttmem_table_open(&race_other, race_path, &o, err, sizeof(err));
	cr_assert_eq(rc, 0, "other writer: %d %s", rc, err);
	cr_assert_geq(ttmem_proc_register(race_other), 0);
	struct ttmem_entry e = mk_entry(0, 0, 4096, 10);
	cr_assert_eq(ttmem_insert(race_other, &e), TTMEM_INSERTED);
}

Test(hostile, delayed_creator_attaches_what_was_published)
{
	char path[128];
	struct ttmem_open_opts o = { .capacity = 1 << 12, .proc_capacity = 8, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	char err[512] = "";

	seg_path(path, sizeof(path), "delayed");
	race_path = path;
	between_open_and_lock = other_writer_recreates;
	int rc = ttmem_table_open(&t, path, &o, err, sizeof(err));
	between_open_and_lock = NULL;
	cr_assert_not_null(race_other, "the other writer never ran");
	cr_assert_eq(rc, 0, "open: %d %s", rc, err);
	/* The published segment is the other writer's, intact and in use. */
	cr_assert_eq(ttmem_table_capacity(t), 1 << 14, "built over the published segment");
	cr_assert(ttmem_table_intact(race_other));
	cr_assert_eq(ttmem_table_header(race_other)->capacity, 1 << 14);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(race_other, &snap), 0);
	cr_assert_eq(snap.count, 1, "the other writer's entry is gone");
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	ttmem_table_close(race_other);
	unlink(path);
}

/* A writer that leaves one entry behind and dies without an exit record. */
static int insert_and_die(void *arg)
{
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, arg, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	struct ttmem_entry e = mk_entry(0, 0, 8192, 10);
	return ttmem_insert(t, &e) == TTMEM_INSERTED ? 0 : 2;
}

/* An unregistered reaper that cannot take the reaper lock claims nothing
 * (the reaper tag is shared with the reaper that holds it). */
Test(hostile, lockless_reaper_claims_nothing, .timeout = 60)
{
	char path[128];
	seg_path(path, sizeof(path), "reaplock");
	struct ttmem_table *t = seg_open_cap(path, 128, 4);
	cr_assert_eq(wait_child(fork_child(insert_and_die, path)), 0);

	struct ttmem_open_opts nc = { .no_create = 1 };
	struct ttmem_table *v = NULL;
	cr_assert_eq(ttmem_table_open(&v, path, &nc, NULL, 0), 0);
	int other = open(path, O_RDWR | O_CLOEXEC);   /* another reaper at work */
	cr_assert_geq(other, 0);
	cr_assert_eq(flock(other, LOCK_EX), 0);
	cr_assert_eq(ttmem_reap(v, 0, NULL), -EBUSY);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(v, &snap), 0);
	cr_assert_eq(snap.count, 1, "claimed slots without the reaper lock");
	ttmem_snapshot_free(&snap);
	close(other);
	cr_assert_eq(ttmem_reap(v, 0, NULL), 1, "the dead writer's entry once the lock is free");
	ttmem_table_close(v);
	ttmem_table_close(t);
	unlink(path);
}

/* A host installing its own SIGBUS handler after the guard (a crash
 * reporter): the guard is back by the next counter flush, and a segment
 * shrinking after that does not reach the host's handler. */
static volatile sig_atomic_t own_fault_next;

static void host_crash_reporter(int s)
{
	(void)s;
	_exit(own_fault_next ? 42 : 43);   /* 43: the segment's shrink reached it */
}

static int writer_with_late_host_handler(void *arg)
{
	struct ttmem_open_opts o = { .capacity = 1 << 12, .proc_capacity = 8, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, arg, &o, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	ttmem_sigbus_guard(NULL);
	signal(SIGBUS, host_crash_reporter);
	for (uint64_t i = 0; i < 2 * 64; i++) {
		struct ttmem_entry e = mk_entry(0, 0, (i + 1) << 12, 10);
		ttmem_insert(t, &e);
	}
	if (truncate(arg, 4096) != 0)
		return 2;
	for (uint64_t i = 0; i < 200; i++) {
		struct ttmem_entry e = mk_entry(0, 0, (i + 1000) << 12, 10);
		ttmem_insert(t, &e);
	}
	/* And the host's own faults still reach its handler. */
	int fd = open(arg, O_RDWR);
	if (fd < 0 || ftruncate(fd, 8192) != 0)
		return 3;
	own_fault_next = 1;
	volatile char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
		return 4;
	return ttmem_table_intact(t) ? 5 : 10 + p[4096];
}

Test(hostile, guard_survives_a_later_host_handler, .timeout = 60)
{
	char path[128];
	seg_path(path, sizeof(path), "late");
	cr_assert_eq(wait_child(fork_child(writer_with_late_host_handler, path)), 42,
		     "killed by the shrink, or the host's own fault missed its handler");
	unlink(path);
}
