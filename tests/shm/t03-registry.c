/* SPDX-License-Identifier: MIT */
/* Process registry, liveness (incl. pid reuse), start time parsing. */
#include "helpers.h"

/* The exec'd image of registry/exec_reregister_refreshes_identity: this test
 * program run again through /proc/self/exe (so its comm is "exe") with
 * TTMEM_TEST_EXEC_SEG set.  It registers again (same pid and start time as
 * before the exec) and exits with its registry index + 100, before main. */
__attribute__((constructor)) static void exec_image(void)
{
	const char *path = getenv("TTMEM_TEST_EXEC_SEG");
	struct ttmem_table *t = NULL;
	if (!path)
		return;
	if (ttmem_table_open(&t, path, NULL, NULL, 0) != 0)
		_exit(1);
	int idx = ttmem_proc_register(t);
	_exit(idx < 0 ? 2 : 100 + idx);
}

static int child_register_and_exit(void *arg)
{
	const char *p = arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, p, NULL, NULL, 0) != 0)
		return 1;
	int idx = ttmem_proc_register(t);
	if (idx < 0)
		return 2;
	struct ttmem_entry e = mk_entry(0, 0, (uint64_t)getpid() * 64, 10);
	ttmem_insert(t, &e);
	ttmem_proc_exit(t, idx);   /* normal exit: counters flushed */
	return 100 + idx;
}

static int child_register_and_die(void *arg)
{
	const char *p = arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, p, NULL, NULL, 0) != 0)
		return 1;
	int idx = ttmem_proc_register(t);
	return idx < 0 ? 2 : 100 + idx;  /* no ttmem_proc_exit: "killed" */
}

Test(registry, register_fields_and_exit)
{
	char path[128];
	seg_path(path, sizeof(path), "reg");
	struct ttmem_table *t = seg_writer(path, 128);
	int idx = ttmem_table_proc_index(t);
	const struct ttmem_proc *p = &ttmem_table_procs(t)[idx];
	uint64_t st;
	cr_assert_eq(ttmem_proc_start_time(getpid(), &st), 0);
	cr_assert_eq(p->pid, (uint32_t)getpid());
	cr_assert_eq(p->ppid, (uint32_t)getppid());
	cr_assert_eq(p->start_time, st);
	cr_assert_eq(p->uid, (uint32_t)geteuid());
	cr_assert(p->name[0] != 0);
	cr_assert(p->cmdline[0] != 0);
	cr_assert_eq(atomic_load(&p->ctl) & 0xff, TTMEM_PROC_RUNNING);
	cr_assert_eq((uint32_t)(atomic_load(&p->ctl) >> 32), (uint32_t)getpid());
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)idx, (uint32_t)getpid()), TTMEM_LIVENESS_RUNNING);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)idx, (uint32_t)getpid() + 1), TTMEM_LIVENESS_UNKNOWN);
	cr_assert_eq(ttmem_proc_liveness(t, 60000, (uint32_t)getpid()), TTMEM_LIVENESS_UNKNOWN);

	/* A child: another entry; its normal exit reads as EXITED. */
	pid_t c = fork_child(child_register_and_exit, path);
	int rc = wait_child(c);
	cr_assert_geq(rc, 100);
	int cidx = rc - 100;
	cr_assert_neq(cidx, idx);
	const struct ttmem_proc *cp = &ttmem_table_procs(t)[cidx];
	cr_assert_eq(cp->pid, (uint32_t)c);
	cr_assert_eq(atomic_load(&cp->allocs), 1);
	cr_assert_eq(atomic_load(&cp->live_bytes), 10);
	cr_assert_neq(atomic_load(&cp->exited_ns), 0);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)cidx, (uint32_t)c), TTMEM_LIVENESS_EXITED);

	/* A child that dies without exiting reads as DEAD. */
	c = fork_child(child_register_and_die, path);
	rc = wait_child(c);
	cr_assert_geq(rc, 100);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)(rc - 100), (uint32_t)c), TTMEM_LIVENESS_DEAD);

	ttmem_proc_exit(t, idx);
	cr_assert_eq(ttmem_proc_liveness(t, (uint16_t)idx, (uint32_t)getpid()), TTMEM_LIVENESS_EXITED);
	ttmem_table_close(t);
	unlink(path);
}

Test(registry, pid_reuse_is_another_process)
{
	char path[128];
	seg_path(path, sizeof(path), "reuse");
	struct ttmem_table *t = seg_writer(path, 128);
	/* A live child registers; its entry with a different start time is
	 * what a reused pid looks like: DEAD, although the pid is alive. */
	int pfd[2], qfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(qfd), 0);
	pid_t c = fork();
	if (c == 0) {
		struct ttmem_table *ct = NULL;
		char b = 0;
		if (ttmem_table_open(&ct, path, NULL, NULL, 0) != 0)
			_exit(1);
		int i = ttmem_proc_register(ct);
		b = (char)i;
		if (write(pfd[1], &b, 1) != 1 || read(qfd[0], &b, 1) != 1)
			_exit(2);
		_exit(0);
	}
	char b;
	cr_assert_eq(read(pfd[0], &b, 1), 1);
	uint16_t cidx = (uint16_t)b;
	cr_assert_eq(ttmem_proc_liveness(t, cidx, (uint32_t)c), TTMEM_LIVENESS_RUNNING);
	struct ttmem_proc *cp = &ttmem_table_procs_rw(t)[cidx];
	cp->start_time += 1;
	cr_assert_eq(ttmem_proc_liveness(t, cidx, (uint32_t)c), TTMEM_LIVENESS_DEAD);
	cp->start_time -= 1;
	cr_assert_eq(ttmem_proc_liveness(t, cidx, (uint32_t)c), TTMEM_LIVENESS_RUNNING);
	cr_assert_eq(write(qfd[1], &b, 1), 1);
	cr_assert_eq(wait_child(c), 0);
	cr_assert_eq(ttmem_proc_liveness(t, cidx, (uint32_t)c), TTMEM_LIVENESS_DEAD);
	ttmem_table_close(t);
	unlink(path);
}

/* An exec keeps pid and start time: the new image's registration reuses the
 * entry, and must take the new image's name and command line (the viewer
 * showed the pre-exec ones). */
Test(registry, exec_reregister_refreshes_identity)
{
	char path[128];
	seg_path(path, sizeof(path), "exec");
	struct ttmem_table *t = seg_open_cap(path, 128, 8);
	pid_t c = fork();
	cr_assert_neq(c, -1);
	if (c == 0) {
		struct ttmem_table *ct = NULL;
		if (ttmem_table_open(&ct, path, NULL, NULL, 0) != 0 || ttmem_proc_register(ct) < 0)
			_exit(3);
		setenv("TTMEM_TEST_EXEC_SEG", path, 1);
		char *argv[] = { "exec-image", "--marker", "xyzzy", NULL };
		execv("/proc/self/exe", argv);
		_exit(4);
	}
	int rc = wait_child(c);
	cr_assert_geq(rc, 100, "exec'd image: %d", rc);
	const struct ttmem_proc *p = &ttmem_table_procs(t)[rc - 100];
	cr_assert_eq(p->pid, (uint32_t)c);
	int running = 0;
	for (int i = 0; i < 8; i++)
		running += (uint32_t)(atomic_load(&ttmem_table_procs(t)[i].ctl) >> 32) == (uint32_t)c;
	cr_assert_eq(running, 1, "one entry for the process across its exec");
	cr_assert_str_eq(p->name, "exe");
	cr_assert_str_eq(p->cmdline, "exec-image --marker xyzzy");
	ttmem_table_close(t);
	unlink(path);
}

Test(registry, full_registry_recycles_then_refuses)
{
	char path[128];
	seg_path(path, sizeof(path), "regfull");
	struct ttmem_open_opts o = { .capacity = 128, .proc_capacity = 3, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	cr_assert_eq(ttmem_table_open(&t, path, &o, NULL, 0), 0);
	cr_assert_eq(ttmem_proc_register(t), 0);
	/* Two children exit normally: entries 1 and 2. */
	for (int i = 1; i <= 2; i++)
		cr_assert_eq(wait_child(fork_child(child_register_and_exit, path)), 100 + i);
	/* A third child recycles an EXITED entry. */
	int rc = wait_child(fork_child(child_register_and_die, path));
	cr_assert(rc == 101 || rc == 102, "rc %d", rc);
	/* Fill the registry with live processes: then -ENOSPC. */
	int pfd[2], qfd[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(qfd), 0);
	pid_t live[2];
	for (int i = 0; i < 2; i++) {
		live[i] = fork();
		if (live[i] == 0) {
			struct ttmem_table *ct = NULL;
			char b = 0;
			if (ttmem_table_open(&ct, path, NULL, NULL, 0) != 0)
				_exit(1);
			b = (char)ttmem_proc_register(ct);
			if (write(pfd[1], &b, 1) != 1 || read(qfd[0], &b, 1) != 1)
				_exit(2);
			_exit(0);
		}
		char b;
		cr_assert_eq(read(pfd[0], &b, 1), 1);
		cr_assert_geq(b, 1, "child %d got %d", i, b);
	}
	struct ttmem_table *t2 = NULL;
	cr_assert_eq(ttmem_table_open(&t2, path, NULL, NULL, 0), 0);
	pid_t c = fork();
	if (c == 0)
		_exit(ttmem_proc_register(t2) == -ENOSPC ? 0 : 1);
	cr_assert_eq(wait_child(c), 0);
	cr_assert_eq(CNT(t, proc_drops), 1);
	char b = 0;
	cr_assert_eq(write(qfd[1], &b, 1), 1);
	cr_assert_eq(write(qfd[1], &b, 1), 1);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(wait_child(live[i]), 0);
	ttmem_table_close(t2);
	ttmem_table_close(t);
	unlink(path);
}

Test(registry, start_time)
{
	uint64_t a = 0, b = 0;
	cr_assert_eq(ttmem_proc_start_time(getpid(), &a), 0);
	cr_assert_eq(ttmem_proc_start_time(getpid(), &b), 0);
	cr_assert_eq(a, b);
	cr_assert_gt(a, 0);
	cr_assert_eq(ttmem_proc_start_time(1, &b), 0);
	cr_assert_leq(b, a);
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	waitpid(c, NULL, 0);
	cr_assert_eq(ttmem_proc_start_time(c, &b), -ESRCH);
}
