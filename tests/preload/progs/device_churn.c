/* SPDX-License-Identifier: MIT */
/*
 * Many devices opened and closed in one process (run under the preload, on
 * the emulator's C API), as a test suite that opens a Galaxy's chips for
 * every test: CYCLES times (argv[1], default 12) a CHIPS-chip mesh (argv[2],
 * default 32) is opened, gets a 1 MiB DRAM and a 64 KiB L1 mesh buffer, and
 * has its sub-device manager torn down and replaced (its allocator's
 * deallocate_buffers() + clear(), unreported, in every generation); hold
 * "bulk CYCLE"; a new mesh buffer on the new allocator, everything freed,
 * the mesh closed.  Hold "closed CYCLES" at the end.  Each open brings new
 * allocators (one per chip, one per mesh), so a tracker that remembered
 * every allocator it ever saw would run out of room.  Exit status 0 when
 * every step succeeded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hold.h"
#include "ttemu.h"

static int64_t alloc_or_die(int dev, int type, uint64_t size)
{
	int64_t b = ttemu_alloc(dev, type, size, 2048);

	if (b < 1)
		fprintf(stderr, "alloc: %s\n", ttemu_last_error());
	return b;
}

static int cycle(int chips, int run)
{
	int mesh = ttemu_open_mesh(chips, 0, 0);

	if (mesh < 1) {
		fprintf(stderr, "open_mesh: %s\n", ttemu_last_error());
		return -1;
	}
	int64_t dram = alloc_or_die(mesh, TTEMU_DRAM, UINT64_C(1) << 20);
	int64_t l1 = alloc_or_die(mesh, TTEMU_L1, UINT64_C(64) << 10);
	if (dram < 1 || l1 < 1)
		return -1;
	if (ttemu_renew_sub_device_manager(mesh) != 0) {
		fprintf(stderr, "renew: %s\n", ttemu_last_error());
		return -1;
	}
	if (hold_point("bulk", run) != 0)
		return -1;
	int64_t again = alloc_or_die(mesh, TTEMU_DRAM, UINT64_C(1) << 20);
	if (again < 1)
		return -1;
	if (ttemu_free(dram) != 0 || ttemu_free(l1) != 0 || ttemu_free(again) != 0 ||
	    ttemu_close(mesh) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int cycles = argc > 1 ? atoi(argv[1]) : 12;
	int chips = argc > 2 ? atoi(argv[2]) : 32;

	hold_init();
	for (int run = 0; run < cycles; run++)
		if (cycle(chips, run) != 0)
			return 1;
	return hold_point("closed", cycles) != 0 ? 1 : 0;
}
