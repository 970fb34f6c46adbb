/* SPDX-License-Identifier: MIT */
/*
 * The viewer reads files named by a segment only as the segment's owner
 * could (ttmem(1), TRUST MODEL): root's `leaks` on a segment written by an
 * unprivileged user does not symbolize from a file that user cannot read,
 * and never opens a device, a FIFO or a kernel file named there.  Needs
 * root (to make the unprivileged writer); skipped with the reason otherwise.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

#define NOBODY 65534

static char shm[128], secret[128], public[128], fifo[128];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(secret, sizeof(secret), "/tmp/ttmem-test-viewer-%d-secret", (int)getpid());
	snprintf(public, sizeof(public), "/tmp/ttmem-test-viewer-%d-public", (int)getpid());
	snprintf(fifo, sizeof(fifo), "/tmp/ttmem-test-viewer-%d-fifo", (int)getpid());
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(secret);
	unlink(public);
	unlink(fifo);
}

TestSuite(trust, .init = up, .fini = down, .timeout = 60);

static void copy_self(const char *to, mode_t mode)
{
	char self[4096], cmd[8400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	cr_assert_gt(n, 0);
	self[n] = 0;
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", self, to);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(to, 0, 0), 0);
	cr_assert_eq(chmod(to, mode), 0);
}

/* In a child that became `uid`: create the segment, leave one exited
 * allocation per module path, with segfix_leaky_function's offset. */
static void write_segment_as(uid_t uid, const char *const *paths, size_t n)
{
	Dl_info di;
	uint32_t cs;
	pid_t pid;
	int st;

	cr_assert(dladdr((void *)(uintptr_t)segfix_leaky_function, &di));
	cs = (uint32_t)((uintptr_t)segfix_leaky_function + 4 - (uintptr_t)di.dli_fbase);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ttmem_open_opts o = { .capacity = 4096, .proc_capacity = 8, .module_capacity = 8 };
		struct ttmem_table *t = NULL;
		char err[256];
		gid_t g = (gid_t)uid;
		int idx;

		if (uid != 0 && (setgroups(1, &g) != 0 || setresgid(g, g, g) != 0 ||
				 setresuid(uid, uid, uid) != 0))
			_exit(80);
		if (ttmem_table_open(&t, shm, &o, err, sizeof(err)) < 0)
			_exit(81);
		idx = ttmem_proc_register(t);
		if (idx < 0)
			_exit(82);
		for (size_t i = 0; i < n; i++) {
			struct ttmem_entry e;
			int m = ttmem_module_intern(t, paths[i], NULL, 0);

			if (m < 0)
				_exit(83);
			memset(&e, 0, sizeof(e));
			e.key.address = 0x1000 * (i + 1);
			e.type = TTMEM_TYPE_DRAM;
			e.size = 4096 * (i + 1);   /* one group per module, told by size */
			e.module = (uint16_t)m;
			e.callsite = cs;
			if (ttmem_insert(t, &e) < 0)
				_exit(84);
		}
		ttmem_flush(t);
		ttmem_proc_exit(t, idx);
		ttmem_table_close(t);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer child: status %d", st);
}

/* The JSON groups of `leaks`, checked by a Python expression per group
 * (g: the group; its bytes tell which path it is). */
static void check_groups(const char *const *expect, size_t n)
{
	char *out = NULL, *err = NULL, prog[4096];
	int rc = segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--json", NULL);
	size_t k = 0;

	cr_assert_eq(rc, 0, "leaks: %d %s", rc, err);
	free(err);
	k = (size_t)snprintf(prog, sizeof(prog),
			     "import json,sys\ns=json.load(sys.stdin)\n"
			     "g={x['bytes']//4096-1:x for p in s['processes'] for x in p['groups']}\n"
			     "assert len(g)==%zu,g\n", n);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(prog + k, sizeof(prog) - k,
				      "x=g[%zu]\nassert %s,(%zu,x)\n", i, expect[i], i);
	{
		char *argv[] = { (char *)"python3", (char *)"-c", prog, NULL };

		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
}

Test(trust, root_reads_only_what_the_unprivileged_owner_could)
{
	const char *paths[] = { secret, public, "/dev/kmsg", fifo, "/proc/self/mem", "/dev/tty" };
	const char *expect[] = {
		/* The owner cannot read it: nothing from it is shown. */
		"x['function'] is None and x['symbolization']=='not-permitted'",
		/* Positive control: the same bytes, readable by the owner. */
		"x['function']=='segfix_leaky_function' and x['symbolization']=='ok'",
		"x['function'] is None and x['symbolization']=='not-regular'",
		"x['function'] is None and x['symbolization']=='not-regular'",
		"x['function'] is None and x['symbolization']=='not-regular'",
		"x['function'] is None and x['symbolization']=='not-regular'",
	};
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("needs root, to write a segment as an unprivileged user (uid %d)", NOBODY);
	copy_self(secret, 0600);
	copy_self(public, 0644);
	cr_assert_eq(mkfifo(fifo, 0666), 0);
	write_segment_as(NOBODY, paths, 6);
	{
		char dev[256];

		snprintf(dev, sizeof(dev), "/dev/shm%s", shm);
		cr_assert_eq(stat(dev, &st), 0);
		cr_assert_eq(st.st_uid, (uid_t)NOBODY, "the segment belongs to its writer");
	}
	check_groups(expect, 6);
}

Test(trust, a_segment_of_root_or_the_viewer_reads_as_the_viewer)
{
	const char *paths[] = { secret, fifo };
	const char *expect[] = {
		"x['function']=='segfix_leaky_function' and x['symbolization']=='ok'",
		"x['function'] is None and x['symbolization']=='not-regular'",
	};

	if (geteuid() != 0)
		cr_skip_test("needs root, to make a file only root can read");
	copy_self(secret, 0600);
	cr_assert_eq(mkfifo(fifo, 0666), 0);
	write_segment_as(0, paths, 2);
	check_groups(expect, 2);
}
