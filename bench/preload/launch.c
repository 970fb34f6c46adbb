/* SPDX-License-Identifier: MIT */
/*
 * Program launches on an emulated mesh, C API of the emulator.
 * Prints "us_per_launch X".
 * Usage: launch [LAUNCHES [CBS [CHIPS [MODE]]]]   (defaults 2000, 8, 8, new)
 *   new          every launch a new program: it reports its CBS circular
 *                buffers (track_allocate_cb per CB), which replace the
 *                previous program's on every chip;
 *   resident     the same cached program every time: what a model's ops
 *                mostly do (nothing changes on the chips);
 *   alternating  two cached programs taking turns (what the chips hold
 *                changes at every launch, unreported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ttemu.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Launch number i of the mode. */
static int launch(int dev, const char *mode, int i, int k)
{
	if (!strcmp(mode, "resident"))
		return ttemu_run_cached_program(dev, 1, k, 4096);
	if (!strcmp(mode, "alternating"))
		/* The second program's CBs are larger: its layout differs. */
		return ttemu_run_cached_program(dev, 1 + (uint64_t)(i & 1), k,
						(i & 1) ? 8192 : 4096);
	return ttemu_run_program(dev, k, 4096, 0);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000, k = argc > 2 ? atoi(argv[2]) : 8;
	int chips = argc > 3 ? atoi(argv[3]) : 8;
	const char *mode = argc > 4 ? argv[4] : "new";
	int dev;

	if (n < 1 || chips < 1 || (strcmp(mode, "new") && strcmp(mode, "resident") &&
				   strcmp(mode, "alternating"))) {
		fprintf(stderr, "launch: bad arguments\n");
		return 1;
	}
	dev = ttemu_open_mesh(chips, 0, 0);
	if (dev < 1) {
		fprintf(stderr, "launch: %s\n", ttemu_last_error());
		return 1;
	}
	for (int i = 0; i < 10; i++)
		if (launch(dev, mode, i, k) != 0)
			goto fail;
	double t0 = now_us();
	for (int i = 0; i < n; i++)
		if (launch(dev, mode, i, k) != 0)
			goto fail;
	double t1 = now_us();
	printf("us_per_launch %.2f\n", (t1 - t0) / n);
	return ttemu_close(dev) == 0 ? 0 : 1;
fail:
	fprintf(stderr, "launch: %s\n", ttemu_last_error());
	return 1;
}
