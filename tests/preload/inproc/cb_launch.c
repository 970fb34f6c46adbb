/* SPDX-License-Identifier: MIT */
/*
 * Linked with the preload's own objects (not LD_PRELOADed), so that the
 * table core it calls is this program's: ttmem_debug_thread_stats() then
 * reads what the tracker did on this thread.  Opens an 8-chip mesh of the
 * emulated runtime, launches programs of K circular buffers and prints the
 * table work of one launch (K track_allocate_cb, each evicting the previous
 * program's CB entries it overlaps on every chip) and the CB entries live
 * after it:
 *   meta_lines N / ops N / cb_entries N
 * With "resident", the launch measured is of the cached program the mesh
 * already holds (O(1): no table work at all), and after a `ttmem clear`
 * another launch of it must put its CBs back (the table no longer holds
 * them): cb_entries is counted after that one.
 * Usage: cb_launch [K [resident]]   (TTMEM_SHM, TTMEM_CAPACITY from the environment)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ttmem/table.h"

#include "ttemu.h"

#define CHIPS 8

int main(int argc, char **argv)
{
	int k = argc > 1 ? atoi(argv[1]) : 8;
	int resident = argc > 2 && !strcmp(argv[2], "resident");
	struct ttmem_debug_stats a, b;
	int dev = ttemu_open_mesh(CHIPS, 0, 0);

	if (dev < 1) {
		fprintf(stderr, "open_mesh: %s\n", ttemu_last_error());
		return 1;
	}
	for (int i = 0; i < 3; i++)   /* warm: the CBs of the previous launch exist */
		if ((resident ? ttemu_run_cached_program(dev, 1, k, 4096) :
				ttemu_run_program(dev, k, 4096, 0)) != 0)
			return 1;
	ttmem_debug_thread_stats(&a);
	if ((resident ? ttemu_run_cached_program(dev, 1, k, 4096) :
			ttemu_run_program(dev, k, 4096, 0)) != 0)
		return 1;
	ttmem_debug_thread_stats(&b);
	if (resident) {
		struct ttmem_table *w;
		struct ttmem_open_opts wo = { .no_create = 1 };

		if (ttmem_table_open(&w, getenv("TTMEM_SHM"), &wo, NULL, 0) != 0 ||
		    ttmem_clear(w) != 0)
			return 1;
		ttmem_table_close(w);
		if (ttemu_run_cached_program(dev, 1, k, 4096) != 0)
			return 1;
	}

	struct ttmem_table *t;
	struct ttmem_open_opts o = { .readonly = 1, .no_create = 1 };
	struct ttmem_snapshot s;
	size_t cbs = 0;

	if (ttmem_table_open(&t, getenv("TTMEM_SHM"), &o, NULL, 0) != 0 ||
	    ttmem_snapshot(t, &s) != 0)
		return 1;
	for (size_t i = 0; i < s.count; i++)
		cbs += s.entries[i].type == TTMEM_TYPE_CB && s.entries[i].pid == (uint32_t)getpid();
	ttmem_snapshot_free(&s);
	ttmem_table_close(t);
	printf("meta_lines %llu\nops %llu\ncb_entries %zu\n",
	       (unsigned long long)(b.meta_lines - a.meta_lines),
	       (unsigned long long)(b.ops - a.ops), cbs);
	return ttemu_close(dev) == 0 ? 0 : 1;
}
