/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, a host's late SIGBUS handler (tests/preload/progs/
 * late_sigbus.c): installed after ttmem attached, with sigaction or with
 * signal, it never receives the fault of a segment shrinking under the
 * writer before the next counter flush (the preload keeps the guard in
 * place: preload/host_signals.c), and still receives the host's own.
 */
#include <stdlib.h>
#include <sys/wait.h>

#include <criterion/criterion.h>

#include "harness.h"

static void run_late_handler(const char *how)
{
	struct seg s;
	struct run r;
	const char *const argv[] = { bpath("tests/preload/progs/late_sigbus"), how, NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = run_wait(&r);
	char *err = run_stderr(&r);
	cr_expect(!WIFSIGNALED(st), "killed by signal %d (nobody caught the shrink): %s",
		  WIFSIGNALED(st) ? WTERMSIG(st) : 0, err);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 42,
		  "exit %d (43: the host's handler got ttmem's fault): %s",
		  WIFEXITED(st) ? WEXITSTATUS(st) : -1, err);
	free(err);
	run_cleanup(&r);
	seg_drop(&s);
}

Test(p19_sigbus, late_sigaction_handler_never_sees_ttmem_faults, .timeout = 60)
{
	run_late_handler("sigaction");
}

Test(p19_sigbus, late_signal_handler_never_sees_ttmem_faults, .timeout = 60)
{
	run_late_handler("signal");
}
