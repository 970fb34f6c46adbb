/* SPDX-License-Identifier: MIT */
/*
 * A program that loads the emulated runtime and does nothing else: under
 * the preload it pays exactly the tracker's start-up (attach or create the
 * segment, register) and exit (the live-at-exit record, unregister).
 */
#include "ttemu.h"

int main(int argc, char **argv)
{
	(void)argv;
	/* A reference, so the linker keeps libtt_metal.so as a dependency. */
	return argc > 99 && ttemu_last_error() != 0;
}
