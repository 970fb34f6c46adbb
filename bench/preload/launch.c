/* SPDX-License-Identifier: MIT */
/*
 * Program launches on an emulated 8-chip mesh: each launch reports its
 * circular buffers (track_allocate_cb per CB), which replace the previous
 * program's on every chip.  Prints "us_per_launch X".
 * Usage: launch [LAUNCHES [CBS]]   (defaults 2000, 8)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ttemu.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000, k = argc > 2 ? atoi(argv[2]) : 8;
	int dev = ttemu_open_mesh(8, 0, 0);

	if (dev < 1 || n < 1) {
		fprintf(stderr, "launch: %s\n", dev < 1 ? ttemu_last_error() : "bad arguments");
		return 1;
	}
	for (int i = 0; i < 10; i++)
		if (ttemu_run_program(dev, k, 4096, 0) != 0)
			goto fail;
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		if (ttemu_run_program(dev, k, 4096, 0) != 0)
			goto fail;
	double t1 = now_us();
	printf("us_per_launch %.2f\n", (t1 - t0) / n);
	return ttemu_close(dev) == 0 ? 0 : 1;
fail:
	fprintf(stderr, "launch: %s\n", ttemu_last_error());
	return 1;
}
