/* SPDX-License-Identifier: MIT */
/*
 * The peaks per chip and type (segment.h, "Peaks") against the emulator's
 * ground truth: the peaks workload opens a 2-chip mesh three times (scales
 * 4, 2, 8), each open freeing part of what it allocated and closing with
 * the rest held (a bulk release).  At every hold point `ttmem show --json`
 * has each chip's peak per type equal to the truth's (the most its
 * allocators held at once in the process), with a time and a stack whose
 * first frame is the workload's allocating function; the second open's
 * smaller peak leaves the recorded one as it was, the third raises it.
 * Then `ttmem baseline`, which leaves the peaks as they were, and `ttmem
 * clear`: no peak until the next allocations, whose peak is the next open's
 * alone.  Then hostile peak words: a stack id out of range
 * or naming an unpublished entry is shown as unknown.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], truth[256], dir[128];

static void up(void)
{
	segfix_workdir_up("peaks", shm, dir, truth);
}

static void down(void)
{
	segfix_workdir_down(shm, dir);
}

TestSuite(peaks, .init = up, .fini = down, .timeout = 120);

/* `ttmem show --json` into DIR/NAME (and a copy of the truth as it is now
 * into DIR/NAME.truth). */
static void show_to(const char *name)
{
	char *out = NULL, *err = NULL, path[512], *t;
	FILE *f;
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--json", NULL);

	cr_assert_eq(rc, 0, "ttmem show: exit %d: %s", rc, err);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(out, f);
	fclose(f);
	t = segfix_read_file(truth);
	cr_assert_not_null(t, "no truth file at %s", truth);
	snprintf(path, sizeof(path), "%s/%s.truth", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(t, f);
	fclose(f);
	free(t);
	free(out);
	free(err);
}

/* tests/viewer/check_peaks.py MODE A [B [C]] (names in DIR; B may be a
 * word); exit 0 or the mismatches. */
static void check(const char *mode, const char *a, const char *b, const char *c)
{
	char pa[512], pb[512], *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_peaks.py", (char *)mode, pa,
			 b ? pb : NULL, (char *)c, NULL };

	snprintf(pa, sizeof(pa), "%s/%s", dir, a);
	if (b)
		snprintf(pb, sizeof(pb), "%s/%s", dir, b);
	cr_assert_eq(segfix_pipe(argv, "", NULL, &err), 0, "check_peaks %s %s %s:\n%s", mode, a,
		     b ? b : "", err);
	free(err);
}

/* DIR/NAME (a show --json output) against the JSON Schema. */
static void schema_ok(const char *name)
{
	char path[512], *doc, *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_schema.py",
			 (char *)"viewer/ttmem.schema.json", (char *)"show", NULL };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	doc = segfix_read_file(path);
	cr_assert_not_null(doc);
	cr_assert_eq(segfix_pipe(argv, doc, NULL, &err), 0, "%s against the schema:\n%s", name, err);
	free(err);
	free(doc);
}

/* The Prometheus gauge of `ttmem show` now against the truth's peaks. */
static void prom_vs_truth(void)
{
	char *out = NULL, *err = NULL, path[512];
	FILE *f;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--format", "prometheus",
				      NULL), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/prom.txt", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(out, f);
	fclose(f);
	free(out);
	free(err);
	check("prom-vs-truth", "prom.txt", "truth.json", NULL);
}

static void start(struct segfix_wl *w, const char *flavour)
{
	char *argv[] = { (char *)"examples/bin/peaks", (char *)"--hold", (char *)"60000", NULL };

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/peaks"))
		cr_skip_test("the preload or the emulator is not built");
	if (flavour && !segfix_have(flavour))
		cr_skip_test("build/%s is not built", flavour);
	cr_assert_eq(segfix_wl_start(w, shm, truth, flavour, argv), 0);
}

static void across_closes(const char *flavour)
{
	static const char *const holds[] = { "peak", "closed" };
	struct segfix_wl w;
	char name[32], prev[32] = "";

	start(&w, flavour);
	for (int run = 0; run < 3; run++) {
		for (int h = 0; h < 2; h++) {
			cr_assert_eq(segfix_wl_expect(&w, holds[h]), 0, "no '%s %d' line", holds[h], run);
			snprintf(name, sizeof(name), "%s%d.json", holds[h], run);
			show_to(name);
			{
				char tn[48];

				snprintf(tn, sizeof(tn), "%s.truth", name);
				check("vs-truth", name, tn, NULL);
			}
			/* The close's bulk release lowers no peak. */
			if (h == 1)
				check("same", prev, name, NULL);
			if (run == 2 && h == 0)
				prom_vs_truth();
			snprintf(prev, sizeof(prev), "%s", name);
			segfix_wl_release(&w);
		}
	}
	schema_ok("peak2.json");
	{
		char *out = NULL, *err = NULL;

		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--peaks", NULL), 0, "%s", err);
		cr_assert(strstr(out, "\nchip 1 L1 peaked at "), "%s", out);
		cr_assert(strstr(out, ", reached by:\n        at   (anonymous namespace)::allocate_"),
			  "%s", out);
		cr_assert_null(strstr(out, "__libc_start_main"), "%s", out);
		free(out);
		free(err);
		/* Fitted to a width: every line, the frames elided in the
		 * middle; the PEAK column only without --peaks. */
		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--peaks", "-w", "60",
					      NULL), 0, "%s", err);
		for (const char *p = out; *p;) {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p) : strlen(p);

			cr_assert_leq(n, 60, "%.*s", (int)n, p);
			p += n + (e != NULL);
		}
		cr_assert(strstr(out, "\nchip 1 L1 peaked at "), "%s", out);
		free(out);
		free(err);
		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, NULL), 0, "%s", err);
		cr_assert(strstr(out, "IN USE       PEAK"), "%s", out);
		cr_assert_null(strstr(out, "peaked at"), "%s", out);
		free(out);
		free(err);
	}
	check("chip1-above", "peak0.json", NULL, NULL);
	check("same", "peak0.json", "peak1.json", NULL);      /* smaller: not lowered */
	check("raised", "peak0.json", "peak2.json", NULL);    /* larger: raised */
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

Test(peaks, across_closes_g1_gcc)
{
	across_closes(NULL);
}

Test(peaks, across_closes_g3_2026)
{
	across_closes("examples/2026/clang");
}

/* Clear with run 0's buffers live: no peak at all, also after its close;
 * run 1's peak is then its own open's (the truth's TYPE_open_peak), below
 * run 0's: the writer's counts restarted at the clear. */
Test(peaks, clear_resets)
{
	struct segfix_wl w;
	char *out = NULL, *err = NULL;

	start(&w, NULL);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	show_to("before.json");
	check("vs-truth", "before.json", "before.json.truth", NULL);
	/* A baseline leaves the peaks alone. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "baseline", "--shm", shm, NULL), 0, "%s", err);
	free(out);
	free(err);
	out = err = NULL;
	show_to("baselined.json");
	check("same", "before.json", "baselined.json", NULL);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "clear", "--shm", shm, NULL), 0, "%s", err);
	free(out);
	free(err);
	out = err = NULL;
	show_to("cleared.json");
	check("cleared", "cleared.json", NULL, NULL);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--peaks", NULL), 0, "%s", err);
	cr_assert_null(strstr(out, "Peaks"), "%s", out);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--format", "prometheus",
				      NULL), 0, "%s", err);
	/* Every sample of the gauge is there, and 0. */
	{
		int samples = 0;

		for (char *l = strstr(out, "\nttmem_device_peak_bytes{"); l;
		     l = strstr(l + 1, "\nttmem_device_peak_bytes{")) {
			char *eol = strchr(l + 1, '\n');

			cr_assert(eol && eol - l > 2 && !strncmp(eol - 2, " 0", 2), "%.200s", l);
			samples++;
		}
		cr_assert_eq(samples, 2 * 6, "%s", out);  /* 2 chips x 6 types */
	}
	free(out);
	free(err);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	show_to("closed.json");
	check("cleared", "closed.json", NULL, NULL);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	show_to("after.json");
	check("vs-truth", "after.json", "after.json.truth", "open");
	check("raised", "after.json", "before.json", NULL);  /* run 0's was above */
	segfix_wl_release(&w);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(segfix_wl_expect(&w, i == 1 ? "peak" : "closed"), 0);
		segfix_wl_release(&w);
	}
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

/* Peak words naming a stack out of the table's range and an entry never
 * published: shown with an unknown stack, the bytes still shown. */
Test(peaks, hostile_stack_ids)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	struct ttmem_device_info *d;
	char *out = NULL, *err = NULL;

	cr_assert_not_null(t);
	d = &ttmem_table_devices_rw(t)[0];
	atomic_store(&d->peak[TTMEM_TYPE_L1], TTMEM_PEAK_MAKE(4096, 0xffffu));
	atomic_store(&d->peak_ns[TTMEM_TYPE_L1], UINT64_C(1700000000000000000));
	atomic_store(&d->peak[TTMEM_TYPE_DRAM], TTMEM_PEAK_MAKE(8192, 1));
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--json", NULL), 0, "%s",
		     err);
	cr_assert(strstr(out, "\"peak_bytes\":{\"DRAM\":8192,\"L1\":4096,"), "%s", out);
	cr_assert(strstr(out, "\"peak_stack\":{\"DRAM\":{\"status\":\"corrupt\",\"truncated\":false,"
			      "\"frames\":[]},\"L1\":{\"status\":\"corrupt\",\"truncated\":false,"
			      "\"frames\":[]},\"SYSTEM_MEMORY\":null"), "%s", out);
	{
		char *e2 = NULL;
		char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_schema.py",
				 (char *)"viewer/ttmem.schema.json", (char *)"show", NULL };

		cr_assert_eq(segfix_pipe(argv, out, NULL, &e2), 0, "schema:\n%s", e2);
		free(e2);
	}
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--peaks", NULL), 0, "%s", err);
	cr_assert(strstr(out, "chip 0 L1 peaked at 4.00 KiB"), "%s", out);
	cr_assert(strstr(out, "(stack unknown: its stack table entry is corrupt)"), "%s", out);
	free(out);
	free(err);
	ttmem_table_close(t);
}
