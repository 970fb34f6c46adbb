/* SPDX-License-Identifier: MIT */
/*
 * Seeds for the fuzzer: small valid segments made with the table API (file
 * backed), in a few shapes.  `make fuzz-seeds` rewrites tests/fuzz/corpus/
 * seed-*; the fuzzer's own finds are merged there by `make fuzz-merge`.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ttmem/table.h"

static int make(const char *dir, const char *name, unsigned nent, unsigned ndev, int baseline,
		int exited)
{
	char path[4096], err[256];
	struct ttmem_open_opts o = { .capacity = 128, .proc_capacity = 2, .module_capacity = 1 };
	struct ttmem_table *t = NULL;
	struct ttmem_device_info *di;
	int idx;

	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	unlink(path);
	if (ttmem_table_open(&t, path, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "mkcorpus: %s\n", err);
		return 1;
	}
	di = ttmem_table_devices_rw(t);
	for (unsigned d = 0; d < ndev; d++) {
		di[d].arch = 2;
		atomic_store(&di[d].capacity[0], UINT64_C(12) << 30);
		atomic_store(&di[d].state, 1);
	}
	idx = ttmem_proc_register(t);
	if (idx < 0)
		return 1;
	ttmem_module_intern(t, "/bin/sh", NULL, 0);
	for (unsigned i = 0; i < nent; i++) {
		struct ttmem_entry e;

		memset(&e, 0, sizeof(e));
		e.key.address = 0x1000u * (i + 1);
		e.key.device = ndev ? i % ndev : i;
		e.key.space = (uint8_t)(i % 4);
		e.type = (uint8_t)(i % 6);
		e.owner_kind = (uint8_t)(i % 3);
		e.size = 4096u << (i % 8);
		e.module = 0;
		e.callsite = 0x40 + i;
		{
			uint64_t f[2] = { TTMEM_FRAME(0, 0x40 + i), TTMEM_FRAME(0, 0x80 + i % 3) };
			int si = ttmem_stack_intern(t, f, 1 + i % 2, 0);

			e.stack = si >= 0 ? (uint32_t)si + 1 : 0;
		}
		ttmem_insert(t, &e);
	}
	ttmem_flush(t);
	if (baseline) {
		for (unsigned d = 0; d < ndev; d++)
			atomic_store(&di[d].baseline[0], 8192);
		atomic_store(&ttmem_table_header_rw(t)->baseline_ns, 1);
	}
	if (exited)
		ttmem_proc_exit(t, idx);
	ttmem_table_close(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	int rc = 0;

	rc |= make(dir, "empty", 0, 0, 0, 0);
	rc |= make(dir, "one", 1, 1, 0, 0);
	rc |= make(dir, "eight-chips", 40, 8, 0, 0);
	rc |= make(dir, "baseline", 12, 2, 1, 0);
	rc |= make(dir, "exited", 20, 3, 0, 1);
	rc |= make(dir, "full", 120, 4, 0, 0);
	return rc;
}
