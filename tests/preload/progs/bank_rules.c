/* SPDX-License-Identifier: MIT */
/*
 * Buffers whose per-bank footprint a tracker could get wrong by
 * remembering it (run under the preload, on the emulator's C API):
 * chip 0 opened with the default banks (12 DRAM, 64 L1) gets an
 * interleaved DRAM and L1 buffer of PAGES pages, then an L1 buffer of the
 * same size and pages height-sharded on SHARD_CORES cores; hold "first 0".
 * All freed, the chip closed and opened again REOPENS times, with
 * DRAM_BANKS and L1_BANKS banks, the default ones and 8 and 32 by turns (a
 * new allocator often where one before it was), the same interleaved
 * buffers each time; hold "reopened RUN".  Exit status 0 when every
 * step succeeded.
 */
#include <stdint.h>
#include <stdio.h>

#include "hold.h"
#include "ttemu.h"

#define PAGE        2048u
#define PAGES       40u
#define SHARD_CORES 5u
#define DRAM_BANKS  5u
#define L1_BANKS    20u
#define REOPENS     6

static int64_t checked(int64_t b, const char *what)
{
	if (b < 1)
		fprintf(stderr, "%s: %s\n", what, ttemu_last_error());
	return b;
}

int main(void)
{
	int64_t dram, l1, sharded;
	int chip;

	hold_init();
	chip = ttemu_open_chip(0, 0, 0);
	if (chip < 1)
		return 1;
	dram = checked(ttemu_alloc(chip, TTEMU_DRAM, PAGES * PAGE, PAGE), "dram");
	l1 = checked(ttemu_alloc(chip, TTEMU_L1, PAGES * PAGE, PAGE), "l1");
	sharded = checked(ttemu_alloc_sharded(chip, TTEMU_L1, PAGES * PAGE, PAGE, SHARD_CORES),
			  "sharded");
	if (dram < 1 || l1 < 1 || sharded < 1 || hold_point("first", 0) != 0)
		return 1;
	if (ttemu_free(dram) || ttemu_free(l1) || ttemu_free(sharded) || ttemu_close(chip))
		return 1;

	/* Three geometries by turns: a chip's new allocator is often built
	 * before its old one is freed, so two addresses take turns, and each
	 * of them meets another geometry than it had before. */
	for (int run = 0; run < REOPENS; run++) {
		static const uint32_t banks[3][2] = { { DRAM_BANKS, L1_BANKS }, { 0, 0 }, { 8, 32 } };

		ttemu_set_banks(banks[run % 3][0], banks[run % 3][1]);
		chip = ttemu_open_chip(0, 0, 0);
		if (chip < 1)
			return 1;
		dram = checked(ttemu_alloc(chip, TTEMU_DRAM, PAGES * PAGE, PAGE), "dram again");
		l1 = checked(ttemu_alloc(chip, TTEMU_L1, PAGES * PAGE, PAGE), "l1 again");
		if (dram < 1 || l1 < 1 || hold_point("reopened", run) != 0)
			return 1;
		if (ttemu_free(dram) || ttemu_free(l1) || ttemu_close(chip))
			return 1;
	}
	return 0;
}
