/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes as a segment image, through everything
 * a reader does with it: ttmem_segment_validate, ttmem_table_from_image,
 * ttmem_snapshot, and the viewer's aggregation (model.c, leaks.c) and
 * renderings (text, JSON, Prometheus, the leak report without symbolizing:
 * module paths in a fuzzed image must not make us open files).  Built with ASan + UBSan; run for a bounded time
 * by `make check` (tests/fuzz/fuzz.mk).
 *
 * Two input modes, so that the fuzzer also reaches deep into the reader:
 *   raw:   the input is the image (mostly refused by the validator: that is
 *          the point, every refusal path is exercised);
 *   patch: an input starting with "PATCH" is a list of (u32 offset, u64
 *          value) records written over a valid template segment (built once
 *          with the table API), so that headers stay plausible while counts,
 *          indices, states, strings and sizes go absurd.
 *
 * Invariants checked beyond "no sanitizer report":
 *   - validate and from_image agree;
 *   - every snapshot entry comes from a slot index < capacity;
 *   - the model never counts more entries than the snapshot holds.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ttmem/table.h"
#include "viewer.h"

/* Deterministic liveness, no system calls: the same input always gives the
 * same states, so every crash reproduces. */
static enum ttmem_liveness fuzz_liveness(const struct ttmem_table *t, uint16_t proc, uint32_t pid)
{
	const struct ttmem_header *h = ttmem_table_header(t);

	if (proc >= h->proc_capacity || ttmem_table_procs(t)[proc].pid != pid)
		return TTMEM_LIVENESS_UNKNOWN;
	return (enum ttmem_liveness)(pid % 3);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *template_img;
static size_t template_len;

/* A small valid segment: 3 chips, 2 processes, entries of every type. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ttmem_open_opts o = { .capacity = 128, .proc_capacity = 4, .module_capacity = 2 };
	struct ttmem_table *t = NULL;
	char path[64], err[256];
	struct stat st;
	FILE *f;
	int idx;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/ttmem-fuzz-template-%d", (int)getpid());
	unlink(path);
	if (ttmem_table_open(&t, path, &o, err, sizeof(err)) < 0)
		return 0;
	for (unsigned d = 0; d < 3; d++) {
		struct ttmem_device_info *di = &ttmem_table_devices_rw(t)[d];

		di->arch = 2;
		atomic_store(&di->state, 1);
	}
	idx = ttmem_proc_register(t);
	ttmem_module_intern(t, "/bin/sh", NULL, 0);
	for (unsigned i = 0; idx >= 0 && i < 24; i++) {
		struct ttmem_entry e;

		memset(&e, 0, sizeof(e));
		e.key.address = 0x1000u * (i + 1);
		e.key.device = i % 3;
		e.key.space = (uint8_t)(i % 4);
		e.type = (uint8_t)(i % 6);
		e.owner_kind = (uint8_t)(i % 3);
		e.size = 4096u << (i % 5);
		e.callsite = (uint32_t)i;
		/* Stacks for the leak report's checks (frame 0 = the callsite). */
		{
			uint64_t f[3] = { TTMEM_FRAME(0, i), TTMEM_FRAME(0, 0x100 + i % 4),
					  TTMEM_FRAME(TTMEM_MODULE_NONE, 0x5000) };
			int si = ttmem_stack_intern(t, f, 1 + i % 3, i % 5 ? 0 : TTMEM_STACK_F_TRUNCATED);

			e.stack = si >= 0 ? (uint32_t)si + 1 : 0;
		}
		ttmem_insert(t, &e);
	}
	if (idx >= 0)
		ttmem_flush(t);
	ttmem_table_close(t);
	f = fopen(path, "rb");
	if (f && stat(path, &st) == 0) {
		template_len = (size_t)st.st_size;
		template_img = malloc(template_len);
		if (!template_img || fread(template_img, 1, template_len, f) != template_len)
			template_len = 0;
	}
	if (f)
		fclose(f);
	unlink(path);
	return 0;
}

static void run_image(void *img, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 5 && !memcmp(data, "PATCH", 5) && template_len) {
		uint8_t *img = aligned_alloc(64, (template_len + 63) & ~(size_t)63);

		if (!img)
			return 0;
		memcpy(img, template_img, template_len);
		for (size_t p = 5; p + 12 <= size; p += 12) {
			uint32_t off;
			uint64_t val;

			memcpy(&off, data + p, 4);
			memcpy(&val, data + p + 4, 8);
			off %= (uint32_t)(template_len - 7);
			memcpy(img + off, &val, 8);
		}
		run_image(img, template_len);
		free(img);
		return 0;
	}
	{
		size_t alloc = (size + 63) & ~(size_t)63;
		/* The segment is mapped page-aligned in real life; atomics need it. */
		void *img = aligned_alloc(64, alloc ? alloc : 64);

		if (!img)
			return 0;
		memcpy(img, data, size);
		run_image(img, size);
		free(img);
	}
	return 0;
}

static void run_image(void *img, size_t size)
{
	static FILE *sink;
	char err[256];
	struct ttmem_table *t = NULL;
	int v, rc;

	if (!sink)
		sink = fopen("/dev/null", "w");
	v = ttmem_segment_validate(img, size, err, sizeof(err));
	rc = ttmem_table_from_image(&t, img, size, err, sizeof(err));
	if ((v == 0) != (rc == 0))
		abort(); /* validate and from_image disagree */
	if (rc == 0) {
		struct ttmem_snapshot s;

		if (ttmem_snapshot(t, &s) == 0) {
			const struct ttmem_header *h = ttmem_table_header(t);
			struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1,
						 .liveness = fuzz_liveness };
			struct show_opts so = { .processes = 2, .released = 1, .segment = 1 };
			struct model m;

			for (size_t i = 0; i < s.count; i++)
				if (s.entries[i].slot >= h->capacity)
					abort();
			if (model_build(&m, t, &s, &mo) == 0) {
				if (m.seg.entries > s.count)
					abort();
				format_text(sink, &m, "/fuzz", &so);
				format_json(sink, &m, "/fuzz");
				format_prom(sink, &m, "/fuzz");
				model_release(&m);
			}
			{
				struct leak_report lr;

				if (leaks_build(&lr, t, &s, -1, -1, fuzz_liveness) == 0) {
					size_t n = 0;

					for (size_t i = 0; i < lr.nproc; i++)
						n += lr.procs[i].entries;
					if (n != lr.entries || lr.entries > s.count)
						abort();
					leaks_print(sink, &lr, NULL, "/fuzz", 0);
					leaks_print(sink, &lr, NULL, "/fuzz", 1);
					leaks_release(&lr);
				}
			}
			/* And filtered, as --device / --pid do. */
			mo.device = 1;
			mo.pid = 1;
			mo.all_procs = 0;
			if (model_build(&m, t, &s, &mo) == 0)
				model_release(&m);
			ttmem_snapshot_free(&s);
		}
		ttmem_table_close(t);
	}
}
