/* SPDX-License-Identifier: MIT */
/*
 * A hold point of a program on the emulator's C API: the ground truth is
 * written, "WHAT 0" goes to TTEMU_READY_FD, and the program waits for
 * SIGUSR1 (blocked by the caller beforehand).  0 on success.
 */
#ifndef TTMEM_TESTS_PROGS_HOLD_H
#define TTMEM_TESTS_PROGS_HOLD_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ttemu.h"

static int hold_point(const char *what)
{
	const char *fd = getenv("TTEMU_READY_FD");
	char line[32];
	sigset_t set;
	int sig, n;

	if (ttemu_write_truth() < 0)
		return -1;
	if (!fd || !*fd)
		return 0;
	n = snprintf(line, sizeof(line), "%s 0\n", what);
	if (write(atoi(fd), line, (size_t)n) != n)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigwait(&set, &sig) == 0 ? 0 : -1;
}

#endif /* TTMEM_TESTS_PROGS_HOLD_H */
