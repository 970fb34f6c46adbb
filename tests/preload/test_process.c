/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, processes: leaks recorded at exit with their callsites,
 * fork and exec children, a throwing command-queue constructor, buffers that
 * outlive their device, the Python ctypes client, and kill -9.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"



/* [lo, hi) of the function whose name contains `name` in an ELF file. */
static void func_range(const char *file, const char *name, uint64_t *lo, uint64_t *hi)
{
	char cmd[700], line[512];
	FILE *f;

	*lo = *hi = 0;
	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", file);
	f = popen(cmd, "r");
	cr_assert_not_null(f, "nm");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, sz;
		char type, sym[400];
		if (sscanf(line, "%llx %llx %c %399s", &a, &sz, &type, sym) == 4 && strstr(sym, name) &&
		    !strchr(sym, '.')) {
			*lo = a;
			*hi = a + sz;
		}
	}
	pclose(f);
	cr_assert(*hi > *lo, "%s not found in %s", name, file);
}

/* "expect WHAT RUN chip C DRAM=b L1=b ..." from the workload's stdout; `hold`
 * is "WHAT RUN", e.g. "peak 1". */
static uint64_t expect_field(const char *out, const char *hold, const char *field)
{
	char key[32];
	const char *p;

	snprintf(key, sizeof(key), "expect %s ", hold);
	p = strstr(out, key);
	cr_assert_not_null(p, "no '%s' line in: %s", key, out);
	snprintf(key, sizeof(key), " %s=", field);
	p = strstr(p, key);
	cr_assert_not_null(p, "no %s in the expect line", field);
	return strtoull(p + strlen(key), NULL, 10);
}

H_BUILD_TEST(p05_leak, live_at_exit_with_callsites, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	int holds;
	const char *leak = bpath("examples/bin/leak");
	const char *const argv[] = { leak, "--count", "6", "--seed", "5", "--hold", "60000", NULL };
	char abs[512];

	cr_assert(realpath(leak, abs));
	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = hold_follow_exact(&r, &s, &holds);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect_eq(holds, 1);

	char *out = run_stdout(&r);
	uint64_t want_dram = expect_field(out, "peak 0", "DRAM");
	uint64_t want_l1 = expect_field(out, "peak 0", "L1");
	uint64_t want_buffers = expect_field(out, "peak 0", "buffers");
	struct truth at_exit;
	truth_load(r.truth, &at_exit);   /* rewritten at exit: what was never freed */

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p, "leak not registered");
	cr_expect_eq(atomic_load(&p->ctl) & 0xff, TTMEM_PROC_EXITED, "not marked exited");
	cr_expect_eq(atomic_load(&p->live_at_exit[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]), want_dram);
	cr_expect_eq(atomic_load(&p->live_at_exit[TTMEM_OWNER_APP][TTMEM_TYPE_L1]), want_l1);
	for (unsigned i = 0; i < at_exit.n; i++)
		for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++) {
			uint64_t sum = 0;
			if (ty == TTMEM_TYPE_SYSTEM_MEMORY)
				continue;
			for (int o = 0; o < TTMEM_OWNER_COUNT; o++)
				sum += atomic_load(&p->live_at_exit[o][ty]);
			cr_expect_eq(sum, at_exit.dev[i].bytes[ty],
				     "type %d: live at exit %llu, truth at exit %llu", ty,
				     (unsigned long long)sum, (unsigned long long)at_exit.dev[i].bytes[ty]);
		}

	/* Nothing of an exited process is in use... */
	struct usage u;
	usage_read(t, 0, &u);
	assert_usage_zero(&u, "after exit");

	/* ...but its entries stay, with callsites in the leaking functions. */
	uint64_t dlo, dhi, llo, lhi;
	func_range(leak, "forget_dram_tensor", &dlo, &dhi);
	func_range(leak, "forget_l1_tensor", &llo, &lhi);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	uint64_t app = 0;
	for (size_t i = 0; i < snap.count; i++) {
		const struct ttmem_entry *e = &snap.entries[i];
		if (e->pid != (uint32_t)r.pid || e->owner_kind != TTMEM_OWNER_APP)
			continue;
		app++;
		cr_assert_neq(e->module, TTMEM_MODULE_NONE, "leaked entry without module");
		const char *path = ttmem_table_modules(t)[e->module].path;
		cr_expect_str_eq(path, abs, "callsite module");
		if (e->type == TTMEM_TYPE_DRAM)
			cr_expect(e->callsite > dlo && e->callsite <= dhi,
				  "DRAM leak callsite %#llx not in forget_dram_tensor [%#llx, %#llx)",
				  (unsigned long long)e->callsite, (unsigned long long)dlo,
				  (unsigned long long)dhi);
		else
			cr_expect(e->type == TTMEM_TYPE_L1 && e->callsite > llo && e->callsite <= lhi,
				  "L1 leak callsite %#llx not in forget_l1_tensor",
				  (unsigned long long)e->callsite);
	}
	cr_expect_eq(app, want_buffers, "leaked entries kept");
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

H_BUILD_TEST(p06_lifecycle, fork_exec_children_and_outliving_buffers, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	int holds;
	const char *const argv[] = { bpath("examples/bin/lifecycle"), "--seed", "4", "--hold",
				     "60000", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = hold_follow_exact(&r, &s, &holds);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 4);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = ttmem_table_procs(t);
	unsigned children = 0, exec_children = 0;
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++) {
		uint64_t c = atomic_load(&p[i].ctl);
		if ((c & 0xff) == TTMEM_PROC_FREE || p[i].ppid != (uint32_t)r.pid)
			continue;
		children++;
		cr_expect_neq(p[i].pid, (uint32_t)r.pid);
		cr_expect_gt(atomic_load(&p[i].allocs), 5, "child %u tracked nothing", p[i].pid);
		if ((c & 0xff) == TTMEM_PROC_EXITED)
			exec_children++;   /* the fork child leaves with _exit: no exit record */
		for (int o = 0; o < TTMEM_OWNER_COUNT; o++)
			for (int ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
				cr_expect_eq(atomic_load(&p[i].live_at_exit[o][ty]), 0);
	}
	cr_expect_eq(children, 3, "children registered under their own pids");
	cr_expect_eq(exec_children, 2, "exec'ed children marked exited");
	const struct ttmem_proc *parent = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(parent);
	cr_expect_eq(atomic_load(&parent->unmatched), 0, "frees of unknown buffers");
	struct usage u;
	usage_read(t, 0, &u);
	assert_usage_zero(&u, "after exit");
	ttmem_table_close(t);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

H_BUILD_TEST(p06_lifecycle, throwing_cq_constructor, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	struct hold hold = HOLD_INIT;
	int peaks = 0;
	const char *const argv[] = { bpath("examples/bin/lifecycle"), "--throw-cq", "--seed", "2",
				     "--hold", "60000", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	while (hold_next(&r, &s, &hold, NULL)) {
		struct ttmem_table *t = hold.t;

		assert_usage_is_truth(&hold.usage, &hold.truth, hold.where);
		if (!strcmp(hold.what, "peak")) {
			/* After the exception no scope is open: the tensors are
			 * the application's, not the failed queue's. */
			struct ttmem_snapshot snap;
			uint64_t app = 0;
			char *out = run_stdout(&r);
			cr_assert_eq(ttmem_snapshot(t, &snap), 0);
			for (size_t i = 0; i < snap.count; i++)
				app += snap.entries[i].owner_kind == TTMEM_OWNER_APP;
			cr_expect_eq(app, expect_field(out, "peak 1", "buffers"),
				     "application-owned entries");
			ttmem_snapshot_free(&snap);
			free(out);
			peaks++;
		}
	}
	int st = run_wait(&r);
	char *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect(strstr(out, "caught:") != NULL, "the exception did not reach the caller: %s", out);
	cr_expect_eq(peaks, 1);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

H_BUILD_TEST(p08_kill, kill_9_at_peak_then_reap, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	char what[16];
	int n;
	const char *const argv[] = { bpath("examples/bin/mesh_allocation"), "--seed", "9", "--hold",
				     "60000", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	cr_assert_eq(run_next(&r, what, sizeof(what), &n), 0);
	cr_assert_str_eq(what, "peak");
	kill(r.pid, SIGKILL);
	int st = run_wait(&r);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	cr_expect_gt(snap.count, 0, "the killed process's entries are gone already");
	for (size_t i = 0; i < snap.count; i++)
		cr_expect_eq(ttmem_proc_liveness(t, snap.entries[i].proc, snap.entries[i].pid),
			     TTMEM_LIVENESS_DEAD, "entry of the killed process not read as dead");
	ttmem_snapshot_free(&snap);
	struct usage u;
	usage_read(t, 0, &u);
	assert_usage_zero(&u, "after kill -9");
	ttmem_table_close(t);

	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s reap --shm %s >/dev/null", bpath("ttmem"), s.name);
	cr_expect_eq(system(cmd), 0, "%s", cmd);
	t = seg_open(&s);
	cr_assert_not_null(t);
	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	cr_expect_eq(snap.count, 0, "ttmem reap left %zu entries", snap.count);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	run_cleanup(&r);
	seg_drop(&s);
}

H_BUILD_TEST(p07_python, ctypes_client_is_tracked, .timeout = 60)
{
	(void)build;
	struct seg s;
	struct run r;
	int holds;
	const char *const argv[] = { bpath("examples/bin/ctypes_alloc.py"), "--chips", "4",
				     "--seed", "6", "--hold", "60000", NULL };
	const char *const env[] = { "TTMEM_LOG=debug", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	int st = hold_follow_exact(&r, &s, &holds);
	char *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_eq(holds, 2, "hold points seen");
	/* The runtime was only met after dlopen. */
	cr_expect(strstr(err, "attached to the tt-metal runtime") != NULL, "%s", err);

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = proc_of(t, (uint32_t)r.pid);
	cr_assert_not_null(p, "the Python process was not registered");
	cr_expect(strncmp(p->name, "python", 6) == 0, "registered as '%s'", p->name);
	cr_expect_gt(atomic_load(&p->allocs), 0);
	cr_expect_eq(atomic_load(&p->ctl) & 0xff, TTMEM_PROC_EXITED);
	ttmem_table_close(t);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

/* A fork while another thread creates the segment, the creator's process
 * gone right after: the segment is published, not left "being built" by a
 * build lock the child inherited (tests/preload/inproc/create_fork.c). */
Test(p06_lifecycle, fork_while_creating, .timeout = 60)
{
	struct seg s;
	struct run r;
	const char *const argv[] = { bpath("tests/preload/inproc/create_fork"), NULL };

	seg_make(&s);
	run_start(&r, &s, 0, argv, NULL);
	int st = run_wait(&r);
	char *out = run_stdout(&r), *err = run_stderr(&r);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	pid_t child = (pid_t)atoi(out);
	struct ttmem_table *t = seg_open(&s);
	if (child > 0)
		kill(child, SIGKILL);
	cr_expect_not_null(t, "the segment was left unpublished, its build lock held by the "
			   "creator's fork child");
	ttmem_table_close(t);
	free(out), free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

/* A fork while another thread attaches to the runtime: the child attaches
 * by itself (tests/preload/inproc/attach_fork.c). */
Test(p06_lifecycle, fork_while_attaching, .timeout = 60)
{
	struct seg s;
	struct run r;
	char lib[600];
	const char *const argv[] = { bpath("tests/preload/inproc/attach_fork"), lib, NULL };
	const char *const env[] = { "TTMEM_LOG=debug", NULL };

	cr_assert_not_null(realpath(bpath("examples/gcc/libtt_metal.so"), lib));
	seg_make(&s);
	run_start(&r, &s, 0, argv, env);
	int st = run_wait(&r);
	char *out = run_stdout(&r), *err = run_stderr(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect(strstr(out, "child attached") != NULL, "stdout: %s", out);
	free(out), free(err);
	run_cleanup(&r);
	seg_drop(&s);
}
