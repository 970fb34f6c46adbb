/* SPDX-License-Identifier: MIT */
/*
 * tests/real/attach LIBRARY: load a real tt-metal runtime (ttnn's
 * _ttnncpp.so, which pulls in libtt_metal.so where there is one) and make
 * one hooked call into it, GraphTracker::clear_hook() on the tracker, so
 * that the preload (LD_PRELOAD=libttmem.so, TTMEM_LOG=debug) finds the
 * runtime and chooses its generation the way it does in a real process:
 * by the object that defines GraphTracker::track_allocate, whatever its
 * name.  No device is opened; clear_hook() only resets the (empty) hook.
 * check_attach.sh reads what the preload printed.
 */
#include <dlfcn.h>
#include <stdio.h>

typedef void *(*instance_fn)(void);
typedef void (*clear_fn)(void *tracker);

int main(int argc, char **argv)
{
	void *h, *tracker, *p;
	instance_fn instance;
	clear_fn clear;

	if (argc != 2) {
		fprintf(stderr, "usage: attach LIBRARY\n");
		return 2;
	}
	h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "attach: %s\n", dlerror());
		return 1;
	}
	/* GraphTracker::instance() is inline before ttnn 0.65: its static
	 * object is exported instead. */
	tracker = dlsym(h, "_ZZN2tt8tt_metal12GraphTracker8instanceEvE7tracker");
	if (!tracker) {
		p = dlsym(h, "_ZN2tt8tt_metal12GraphTracker8instanceEv");
		*(void **)&instance = p;
		tracker = instance ? instance() : NULL;
	}
	/* The global scope's clear_hook: the preload's, when it is loaded. */
	p = dlsym(RTLD_DEFAULT, "_ZN2tt8tt_metal12GraphTracker10clear_hookEv");
	*(void **)&clear = p;
	if (!tracker || !clear) {
		fprintf(stderr, "attach: %s has no GraphTracker instance or clear_hook\n", argv[1]);
		return 1;
	}
	clear(tracker);
	return 0;
}
