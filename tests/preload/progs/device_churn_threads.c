/* SPDX-License-Identifier: MIT */
/*
 * Opens, closes and bulk frees on several threads at once (run under the
 * preload, on the emulator's C API): a 2-chip mesh (chips 0 and 1) stays
 * open while one thread, RENEWS times (argv[1], default 200), gives it a
 * mesh buffer and tears its sub-device manager down (a bulk free on an
 * allocator the tracker must still find), and CHIP_THREADS other threads
 * each open their own chip (2, 3, ...), allocate, free and close it, again
 * and again, so that the tracker forgets and learns allocators under the
 * bulk frees' lookups.  Then hold "bulk 0" (the mesh still open: every mesh
 * buffer freed in bulk, only system buffers left), close the mesh, hold
 * "closed 0".  Exit status 0 when every step succeeded.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hold.h"
#include "ttemu.h"

#define CHIP_THREADS 3

static atomic_int stop, failed;

static void fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, ttemu_last_error());
	atomic_store(&failed, 1);
}

static void *chip_churn(void *arg)
{
	int chip = (int)(intptr_t)arg;

	while (!atomic_load(&stop) && !atomic_load(&failed)) {
		int dev = ttemu_open_chip(chip, 0, 0);
		if (dev < 1) {
			fail("open_chip");
			break;
		}
		int64_t b = ttemu_alloc(dev, TTEMU_DRAM, UINT64_C(1) << 20, 2048);
		if (b < 1 || ttemu_free(b) != 0)
			fail("chip buffer");
		if (ttemu_close(dev) != 0)
			fail("close");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int renews = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t th[CHIP_THREADS];

	hold_init();
	int mesh = ttemu_open_mesh(2, 0, 0);
	if (mesh < 1) {
		fprintf(stderr, "open_mesh: %s\n", ttemu_last_error());
		return 1;
	}
	for (int i = 0; i < CHIP_THREADS; i++)
		if (pthread_create(&th[i], NULL, chip_churn, (void *)(intptr_t)(2 + i)) != 0)
			return 1;
	for (int i = 0; i < renews && !atomic_load(&failed); i++) {
		/* Kept, not freed: only the bulk free releases it. */
		if (ttemu_alloc(mesh, TTEMU_DRAM, UINT64_C(1) << 20, 2048) < 1)
			fail("mesh buffer");
		else if (ttemu_renew_sub_device_manager(mesh) != 0)
			fail("renew");
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < CHIP_THREADS; i++)
		pthread_join(th[i], NULL);
	if (atomic_load(&failed) || hold_point("bulk", 0) != 0 || ttemu_close(mesh) != 0)
		return 1;
	return hold_point("closed", 0) != 0 ? 1 : 0;
}
