/* SPDX-License-Identifier: MIT */
/*
 * A forked child frees a buffer it inherited (run under the preload, on the
 * emulator's C API): the parent opens chip 0, allocates 64 MiB of DRAM and
 * forks; the child destroys its copy of the buffer handle and exits normally
 * (so the preload records what it still held at exit); the parent waits for
 * it, writes the ground truth and holds ("peak 0", TTEMU_READY_FD, until
 * SIGUSR1), then frees, closes and holds again ("closed 0").
 * Prints "child PID" on stdout.  Exit status 0 when every step succeeded.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hold.h"
#include "ttemu.h"

int main(void)
{
	int status;

	hold_init();

	int dev = ttemu_open_chip(0, 0, 0);
	if (dev < 1) {
		fprintf(stderr, "open_chip: %s\n", ttemu_last_error());
		return 1;
	}
	int64_t buf = ttemu_alloc(dev, TTEMU_DRAM, UINT64_C(64) << 20, 2048);
	if (buf < 1) {
		fprintf(stderr, "alloc: %s\n", ttemu_last_error());
		return 1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		/* This image's truth is the parent's. */
		unsetenv("TTEMU_READY_FD");
		unsetenv("TTEMU_TRUTH");
		if (ttemu_free(buf) != 0) {
			fprintf(stderr, "child free: %s\n", ttemu_last_error());
			exit(1);
		}
		exit(0);
	}
	printf("child %d\n", (int)pid);
	fflush(stdout);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child failed: status %#x\n", status);
		return 1;
	}
	if (hold_point("peak", 0) != 0)
		return 1;
	if (ttemu_free(buf) != 0 || ttemu_close(dev) != 0)
		return 1;
	return hold_point("closed", 0) != 0 ? 1 : 0;
}
