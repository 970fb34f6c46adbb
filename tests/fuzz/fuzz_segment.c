/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: arbitrary bytes as a segment image, through everything
 * a command does with it.  One target per command that reads a segment,
 * chosen by $TTMEM_FUZZ_TARGET (`make check` runs each for a bounded time,
 * tests/fuzz/fuzz.mk):
 *   show-text, show-json, show-prom   `ttmem show` in each format (show-prom
 *                                     is also `ttmem export`'s rendering),
 *                                     unfiltered and with --device / --pid;
 *   leaks                             `ttmem leaks`, text and JSON (not
 *                                     symbolized: module paths in a fuzzed
 *                                     image must not make us open files);
 *   top                               `ttmem top`'s screen, drawn by ncurses
 *                                     into /dev/null at a few sizes;
 *   reap                              `ttmem reap` on a copy: the image as a
 *                                     file, opened as the viewer does
 *                                     (writable, unregistered), reaped;
 *   all (default)                     every one of the above.
 * Each starts with ttmem_segment_validate and ttmem_table_from_image (which
 * must agree) and ttmem_snapshot.  Built with ASan + UBSan.
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
#include <curses.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ttmem/table.h"
#include "bankmap.h"
#include "top.h"
#include "viewer.h"

enum { T_SHOW_TEXT = 1, T_SHOW_JSON = 2, T_SHOW_PROM = 4, T_LEAKS = 8, T_TOP = 16, T_REAP = 32 };
static unsigned targets = ~0u;
static SCREEN *screen;
static char reap_path[64];

/* Deterministic liveness, no system calls: the same input always gives the
 * same states, so every crash reproduces. */
static enum ttmem_liveness fuzz_liveness(const struct ttmem_table *t, uint16_t proc, uint32_t pid)
{
	if (proc >= ttmem_table_proc_capacity(t) || ttmem_table_procs(t)[proc].pid != pid)
		return TTMEM_LIVENESS_UNKNOWN;
	return (enum ttmem_liveness)(pid % 3);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
/*
 * `buffers` and `map` on whatever the segment holds: at most the snapshot's
 * entries are listed, and every map of a chip whose geometry passed the
 * checks partitions its bank exactly: held + free = bank size.
 */
static void fuzz_buffers_and_maps(const struct ttmem_table *t, const struct model *m,
				  const struct ttmem_snapshot *s)
{
	struct livebuf_filter lf = { .device = -1, .type = -1, .pid = -1, .all_states = 1 };
	struct livebuf *lb = NULL;
	long n = livebuf_collect(&lb, m, s, &lf);

	if (n < 0)
		return;
	if ((size_t)n > s->count)
		abort();
	livebuf_sort(lb, (size_t)n, LB_BY_SIZE);
	for (size_t d = 0; d < m->ndev && d < 4; d++)
		for (unsigned ty = 0; ty < TTMEM_TYPE_COUNT; ty++) {
			struct ttmem_bank_geometry g;
			struct bankmap bm;
			const char *why;
			int have = livebuf_geometry(t, m->dev[d].device, ty, &g, &why) == 0;

			if (bankmap_build(&bm, lb, (size_t)n, m->dev[d].device, ty, have ? &g : NULL) < 0)
				continue;
			if (have && bm.used + bm.free_total != g.size)
				abort();
			if (have && bm.largest > bm.free_total)
				abort();
			bankmap_release(&bm);
		}
	free(lb);
}

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
	{
		static const struct { const char *name; unsigned bit; } names[] = {
			{ "show-text", T_SHOW_TEXT }, { "show-json", T_SHOW_JSON },
			{ "show-prom", T_SHOW_PROM }, { "leaks", T_LEAKS }, { "top", T_TOP },
			{ "reap", T_REAP }, { "all", ~0u },
		};
		const char *want = getenv("TTMEM_FUZZ_TARGET");

		if (want && *want) {
			targets = 0;
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				if (!strcmp(want, names[i].name))
					targets = names[i].bit;
			if (!targets) {
				fprintf(stderr, "TTMEM_FUZZ_TARGET: unknown target '%s'\n", want);
				exit(2);
			}
		}
	}
	if (targets & T_TOP) {
		FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");

		screen = out && in ? newterm("xterm", out, in) : NULL;
		if (!screen) {
			fprintf(stderr, "fuzz: no curses screen (terminfo 'xterm' missing?)\n");
			exit(2);
		}
	}
	snprintf(reap_path, sizeof(reap_path), "/dev/shm/ttmem-fuzz-reap-%d", (int)getpid());
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

/* `ttmem top`'s screen for model `m`, at a few terminal sizes. */
static void draw_top(struct model *m)
{
	static const int sizes[][2] = { { 24, 80 }, { 5, 20 }, { 60, 200 }, { 1, 1 } };
	struct top tp;

	memset(&tp, 0, sizeof(tp));
	tp.shm = "/fuzz";
	tp.interval_ms = 1000;
	tp.m = *m;
	tp.have_model = 1;
	tp.sel_device = m->ndev ? (int64_t)m->dev[m->ndev / 2].device : -1;
	tp.hist = calloc(m->ndev ? m->ndev : 1, sizeof(*tp.hist));
	for (size_t i = 0; tp.hist && i < m->ndev; i++) {
		tp.hist[i].device = m->dev[i].device;
		tp.hist[i].used = 1;
		tp.hist[i].last_bucket = 1000;
		tp.hist[i].bucket[1000 % HIST_LEN] = model_sum(m->dev[i].in_use);
	}
	tp.nhist = tp.hist ? m->ndev : 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		resizeterm(sizes[i][0], sizes[i][1]);
		tp.sort = (enum sort_key)(i % SORT_COUNT);
		top_draw(&tp);
	}
	free(tp.hist);
}

/* `ttmem reap` on a copy: the image as a file, opened as the viewer does. */
static void reap_copy(const void *img, size_t size)
{
	struct ttmem_open_opts nc = { .no_create = 1 };
	struct ttmem_table *t = NULL;
	FILE *f = fopen(reap_path, "wb");

	if (!f)
		return;
	if (fwrite(img, 1, size, f) != size) {
		fclose(f);
		return;
	}
	fclose(f);
	if (ttmem_table_open(&t, reap_path, &nc, NULL, 0) == 0) {
		struct ttmem_snapshot before, after;
		struct ttmem_tally ty;

		memset(&ty, 0, sizeof(ty));
		if (ttmem_snapshot(t, &before) == 0) {
			int64_t n = ttmem_reap(t, 1, &ty);

			if (n < 0 || (uint64_t)n > ttmem_table_capacity(t) || (uint64_t)n != ty.entries)
				abort(); /* reap miscounted */
			if (ttmem_snapshot(t, &after) == 0) {
				/* Reaping only removes. */
				if (after.count > before.count)
					abort();
				ttmem_snapshot_free(&after);
			}
			ttmem_snapshot_free(&before);
		}
		ttmem_table_close(t);
	}
	unlink(reap_path);
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
			struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1,
						 .liveness = fuzz_liveness };
			struct show_opts so = { .processes = 2, .released = 1, .segment = 1 };
			struct model m;

			for (size_t i = 0; i < s.count; i++)
				if (s.entries[i].slot >= ttmem_table_capacity(t))
					abort();
			if ((targets & (T_SHOW_TEXT | T_SHOW_JSON | T_SHOW_PROM | T_TOP)) &&
			    model_build(&m, t, &s, &mo) == 0) {
				if (m.seg.entries > s.count)
					abort();
				if (targets & T_SHOW_TEXT)
					format_text(sink, &m, "/fuzz", &so);
				if (targets & T_SHOW_JSON)
					format_json(sink, &m, "/fuzz");
				if (targets & T_SHOW_PROM)
					format_prom(sink, &m, "/fuzz");
				if (targets & T_TOP)
					draw_top(&m);
				if (targets & T_SHOW_JSON)
					fuzz_buffers_and_maps(t, &m, &s);
				model_release(&m);
			}
			if (targets & T_LEAKS) {
				struct leak_report lr;

				if (leaks_build(&lr, t, &s, -1, -1, fuzz_liveness) == 0) {
					size_t n = 0;

					for (size_t i = 0; i < lr.nproc; i++)
						n += lr.procs[i].entries;
					if (n != lr.entries || lr.entries > s.count)
						abort();
					leaks_print(sink, &lr, NULL, "/fuzz", 0, 0);
					leaks_print(sink, &lr, NULL, "/fuzz", 0, 24);
					leaks_print(sink, &lr, NULL, "/fuzz", 1, 0);
					leaks_release(&lr);
				}
			}
			/* And filtered, as --device / --pid do. */
			mo.device = 1;
			mo.pid = 1;
			mo.all_procs = 0;
			so.processes = 1;
			so.width = 24; /* and the fitting, at its tightest */
			if ((targets & (T_SHOW_TEXT | T_SHOW_JSON | T_SHOW_PROM)) &&
			    model_build(&m, t, &s, &mo) == 0) {
				if (targets & T_SHOW_TEXT)
					format_text(sink, &m, "/fuzz", &so);
				if (targets & T_SHOW_JSON)
					format_json(sink, &m, "/fuzz");
				if (targets & T_SHOW_PROM)
					format_prom(sink, &m, "/fuzz");
				model_release(&m);
			}
			ttmem_snapshot_free(&s);
		}
		ttmem_table_close(t);
		if (targets & T_REAP)
			reap_copy(img, size);
	}
}
