/* SPDX-License-Identifier: MIT */
/*
 * A bulk free in the middle of a run (run under the preload, on the
 * emulator's C API): a 2-chip mesh gets a 32 MiB DRAM and a 64 KiB L1 mesh
 * buffer; hold "peak"; the mesh's sub-device manager is torn down and
 * replaced (its allocator's deallocate_buffers() + clear(), unreported),
 * while the mesh stays open; hold "bulk"; a new 16 MiB mesh buffer (the
 * allocator is in use again); hold "again"; everything freed and the mesh
 * closed; hold "closed".  Exit status 0 when every step succeeded.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "hold.h"
#include "ttemu.h"

static int64_t alloc_or_die(int dev, int type, uint64_t size)
{
	int64_t b = ttemu_alloc(dev, type, size, 2048);

	if (b < 1)
		fprintf(stderr, "alloc: %s\n", ttemu_last_error());
	return b;
}

int main(void)
{
	hold_init();

	int mesh = ttemu_open_mesh(2, 0, 0);
	if (mesh < 1) {
		fprintf(stderr, "open_mesh: %s\n", ttemu_last_error());
		return 1;
	}
	int64_t dram = alloc_or_die(mesh, TTEMU_DRAM, UINT64_C(32) << 20);
	int64_t l1 = alloc_or_die(mesh, TTEMU_L1, UINT64_C(64) << 10);
	if (dram < 1 || l1 < 1 || hold_point("peak", 0) != 0)
		return 1;
	if (ttemu_renew_sub_device_manager(mesh) != 0) {
		fprintf(stderr, "renew: %s\n", ttemu_last_error());
		return 1;
	}
	if (hold_point("bulk", 0) != 0)
		return 1;
	int64_t again = alloc_or_die(mesh, TTEMU_DRAM, UINT64_C(16) << 20);
	if (again < 1 || hold_point("again", 0) != 0)
		return 1;
	if (ttemu_free(dram) != 0 || ttemu_free(l1) != 0 || ttemu_free(again) != 0 ||
	    ttemu_close(mesh) != 0)
		return 1;
	return hold_point("closed", 0) != 0 ? 1 : 0;
}
