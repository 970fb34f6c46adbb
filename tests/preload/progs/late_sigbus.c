/* SPDX-License-Identifier: MIT */
/*
 * A host that installs its own SIGBUS handler after ttmem attached (as a
 * crash reporter or Python's faulthandler does), with sigaction(2), or with
 * signal(3) when argv[1] is "signal"; then the segment (TTMEM_SHM, a POSIX
 * name) shrinks under it before ttmem's next counter flush, and the
 * program allocates on.  ttmem's write past the new end must be ttmem's
 * fault, never the host's; the host's own fault must still reach its
 * handler.  Exit 42: both held; 43: the host's handler got ttmem's fault;
 * killed by SIGBUS: nobody caught it; other codes: a step failed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ttemu.h"

static volatile sig_atomic_t own_fault_next;

static void host_handler(int sig)
{
	(void)sig;
	_exit(own_fault_next ? 42 : 43);
}

int main(int argc, char **argv)
{
	const char *shm = getenv("TTMEM_SHM");
	char path[256];

	int dev = ttemu_open_chip(0, 0, 0);
	if (dev < 1 || ttemu_alloc(dev, TTEMU_DRAM, 1 << 20, 2048) < 1)
		return 1;
	if (argc > 1 && !strcmp(argv[1], "signal")) {
		if (signal(SIGBUS, host_handler) == SIG_ERR)
			return 2;
	} else {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = host_handler;
		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGBUS, &sa, NULL) != 0)
			return 2;
	}
	/* The host reads back what it set. */
	struct sigaction cur;
	if (sigaction(SIGBUS, NULL, &cur) != 0 || cur.sa_handler != host_handler)
		return 3;
	if (!shm || snprintf(path, sizeof(path), "/dev/shm%s", shm) >= (int)sizeof(path) ||
	    truncate(path, 4096) != 0)
		return 4;
	/* A few events, far fewer than a counter flush takes. */
	for (int i = 0; i < 8; i++)
		if (ttemu_alloc(dev, TTEMU_L1, 4096, 1024) < 1)
			return 5;
	/* The host's own fault: a file of its own shrinks under its map. */
	FILE *f = tmpfile();
	if (!f || ftruncate(fileno(f), 8192) != 0)
		return 6;
	volatile char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fileno(f), 0);
	if (p == MAP_FAILED || ftruncate(fileno(f), 0) != 0)
		return 7;
	own_fault_next = 1;
	return 10 + p[4096];
}
