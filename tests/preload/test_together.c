/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, programs started together on a segment nobody has built
 * yet, on a loaded machine: one of them creates it while the others find it
 * being built.  Every one must be tracked from its first allocation (its
 * usage equals the emulator's truth at its peak) and none flagged as
 * tracked in part.  The creator is made slow on purpose (a larger table to
 * reserve) and two busy loops compete for the CPUs, as in the field.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

#define TOGETHER_TRIES 20
#define TOGETHER_PROGS 8

/* A busy loop on a CPU (the load the others compete with) until killed,
 * or until this test's process ends, however it ends; it holds none of the
 * test's output. */
static pid_t spin(void)
{
	pid_t parent = getpid(), pid = fork();

	cr_assert(pid >= 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (int fd = 0; fd < 1024; fd++)
			close(fd);
		for (volatile unsigned long i = 0;; i++)
			if (!(i & 0xffffff) && getppid() != parent)
				_exit(0);
	}
	return pid;
}

/*
 * Program k of a try: a mesh on chips 0..7, then programs on a chip each
 * above those.  Disjoint chips: each emulated process has chips of its own,
 * whose allocators hand out the same addresses, and one key (chip, space,
 * address) in the table belongs to one process.
 */
static void program_argv(unsigned k, char chip[8], const char *argv[12])
{
	unsigned i = 0;

	snprintf(chip, 8, "%u", 8 + k);
	if (k == 0) {
		argv[i++] = bpath("examples/bin/mesh_allocation");
		argv[i++] = "--chips";
		argv[i++] = "8";
	} else {
		argv[i++] = bpath("examples/bin/leak");
		argv[i++] = "--chip";
		argv[i++] = chip;
		argv[i++] = "--count";
		argv[i++] = "48";
	}
	argv[i++] = "--hold";
	argv[i++] = "60000";
	argv[i] = NULL;
}

Test(p18_together, every_program_tracked_from_its_first_allocation, .timeout = 600)
{
	/* The segment's creator reserves 128 MiB: tens of ms while the others
	 * start, longer than a few ms of waiting would cover. */
	const char *const env[] = { "TTMEM_CAPACITY=2097152", NULL };
	pid_t load[2] = { spin(), spin() };
	unsigned late = 0;

	for (unsigned tr = 0; tr < TOGETHER_TRIES; tr++) {
		struct seg s;
		struct run r[TOGETHER_PROGS];
		char chip[TOGETHER_PROGS][8];

		seg_make(&s);
		for (unsigned k = 0; k < TOGETHER_PROGS; k++) {
			const char *argv[12];

			program_argv(k, chip[k], argv);
			run_start(&r[k], &s, 1, argv, env);
		}
		/* Each at its peak (it holds there): its usage is its truth. */
		for (unsigned k = 0; k < TOGETHER_PROGS; k++) {
			char what[16], where[64];
			int n;

			snprintf(where, sizeof(where), "try %u program %u (pid %d)", tr, k, (int)r[k].pid);
			cr_assert_eq(run_next(&r[k], what, sizeof(what), &n), 0, "%s: no hold point",
				     where);
			cr_assert_str_eq(what, "peak", "%s", where);
			struct ttmem_table *t = seg_open(&s);
			cr_assert_not_null(t, "%s: no segment", where);
			struct truth truth;
			struct usage u;
			truth_load(r[k].truth, &truth);
			usage_read(t, (uint32_t)r[k].pid, &u);
			assert_usage_is_truth(&u, &truth, where);
			const struct ttmem_proc *p = proc_of(t, (uint32_t)r[k].pid);
			cr_assert_not_null(p, "%s: not registered", where);
			uint32_t fl = __atomic_load_n(&p->flags, __ATOMIC_RELAXED);
			cr_expect_eq(fl & TTMEM_PROC_F_PARTIAL, 0, "%s: flagged partial (%#x)", where,
				     fl);
			late += (fl & TTMEM_PROC_F_LATE) != 0;
			ttmem_table_close(t);
		}
		for (unsigned k = 0; k < TOGETHER_PROGS; k++) {
			char what[16];
			int n;

			run_continue(&r[k]);
			while (run_next(&r[k], what, sizeof(what), &n) == 0)
				run_continue(&r[k]);
			int st = run_wait(&r[k]);
			char *err = run_stderr(&r[k]);
			cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "try %u program %u: status "
				  "%#x: %s", tr, k, st, err);
			cr_expect_null(strstr(err, "ttmem:"), "try %u program %u warned: %s", tr, k,
				       err);
			free(err);
			run_cleanup(&r[k]);
		}
		seg_drop(&s);
	}
	kill(load[0], SIGKILL);
	kill(load[1], SIGKILL);
	waitpid(load[0], NULL, 0);
	waitpid(load[1], NULL, 0);
	cr_expect_eq(late, 0, "%u programs attached late", late);
}
