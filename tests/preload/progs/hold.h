/* SPDX-License-Identifier: MIT */
/*
 * Hold points of the C test programs, as the C++ workloads have them
 * (examples/workloads/common.hpp): write the ground truth, tell the test
 * "WHAT RUN" on $TTEMU_READY_FD, wait for SIGUSR1 (blocked at start by
 * hold_init, so a signal sent early waits for it).  0, or -1 when a step
 * failed.
 */
#ifndef TTMEM_TESTS_PRELOAD_PROGS_HOLD_H
#define TTMEM_TESTS_PRELOAD_PROGS_HOLD_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ttemu.h"

static inline void hold_init(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static inline int hold_point(const char *what, int run)
{
	const char *fd = getenv("TTEMU_READY_FD");
	char line[32];
	sigset_t set;
	int sig, n;

	if (ttemu_write_truth() < 0)
		return -1;
	if (!fd || !*fd)
		return 0;
	n = snprintf(line, sizeof(line), "%s %d\n", what, run);
	if (n < 0 || write(atoi(fd), line, (size_t)n) != n)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigwait(&set, &sig) == 0 ? 0 : -1;
}

#endif /* TTMEM_TESTS_PRELOAD_PROGS_HOLD_H */
