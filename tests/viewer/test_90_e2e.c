/* SPDX-License-Identifier: MIT */
/*
 * End to end: segments written by the preload in the emulator's workloads,
 * read by the viewer, checked against the emulator's ground truth
 * (TTEMU_TRUTH) field by field.  Synchronised by the workloads' ready pipe:
 * no sleeps.  Skipped, with the reason, only while the emulator or the
 * preload has not been built.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], truth[256];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(truth, sizeof(truth), "/tmp/ttmem-test-viewer-%d-truth.json", (int)getpid());
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(truth);
}

TestSuite(e2e, .init = up, .fini = down, .timeout = 60);

static void need(const char *workload)
{
	if (!segfix_have("libttmem.so"))
		cr_skip_test("build/libttmem.so (the preload, issue 4) is not built");
	if (!segfix_have(workload))
		cr_skip_test("build/%s (the emulator, issue 3) is not built", workload);
}

static char *viewer(int want_rc, const char *a1, const char *a2, const char *a3)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, a1, "--shm", shm, a2, a3, NULL);

	cr_assert_eq(rc, want_rc, "ttmem %s %s: exit %d: %s", a1, a2 ? a2 : "", rc, err);
	free(err);
	return out;
}

static void against_truth(pid_t pid)
{
	char *json = viewer(0, "show", "--json", NULL), *prom, *err = NULL, spid[16];
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/viewer_check.py",
			 (char *)"prom-truth", truth, spid, NULL };

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	cr_assert_eq(segfix_check(json, &err, "truth", truth, spid), 0,
		     "show --json against the ground truth:\n%s", err);
	free(err);
	free(json);
	prom = viewer(0, "show", "--prometheus", NULL);
	cr_assert_eq(segfix_pipe(argv, prom, NULL, &err), 0,
		     "show --prometheus against the ground truth:\n%s", err);
	free(err);
	free(prom);
}

/*
 * Every chip of the emulated mesh (0..7) is listed, published by the preload
 * with its architecture, at 0 bytes in use of every type, with the DRAM and
 * L1 capacity its allocator published (bank size x banks, compared with the
 * allocator's own in the truth checks); and nothing else.  With
 * `vs_truth`, the chips are also exactly those of the ground truth.
 */
static void chips_listed_at_zero(const char *where, int vs_truth)
{
	char exp[4096], *out, *err = NULL, *text;
	size_t n = 0;

	n += (size_t)snprintf(exp + n, sizeof(exp) - n, "{\"devices\":[");
	for (int d = 0; d < 8; d++)
		n += (size_t)snprintf(exp + n, sizeof(exp) - n,
			"{\"device\":%d,\"arch\":\"wormhole_b0\",\"arch_id\":2,\"published\":true,"
			"\"in_use_bytes\":0,\"in_use\":{\"DRAM\":0,\"L1\":0,\"SYSTEM_MEMORY\":0,"
			"\"L1_SMALL\":0,\"TRACE\":0,\"CB\":0},"
			"\"capacity_source\":{\"DRAM\":\"segment\",\"L1\":\"segment\"},"
			"\"percent\":{\"DRAM\":0}},", d);
	snprintf(exp + n, sizeof(exp) - n, "\"$exact\"]}");
	out = viewer(0, "show", "--json", NULL);
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s: %s", where, err);
	free(err);
	if (vs_truth) {
		char *argv[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"t=json.load(open(sys.argv[1]));s=json.load(sys.stdin)\n"
				"a=sorted(d['device'] for d in s['devices'])\n"
				"b=sorted(d['device'] for d in t['devices'])\n"
				"print(a,b,file=sys.stderr);sys.exit(0 if a==b else 1)\n",
			truth, NULL };

		err = NULL;
		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s: chips != truth: %s", where,
			     err);
		free(err);
	}
	free(out);
	text = viewer(0, "show", NULL, NULL);
	cr_assert_null(strstr(text, "(no chip"), "%s: %s", where, text);
	/* Every chip's DRAM row: nothing in use of its 12 GiB (whatever
	 * columns sit between, e.g. the peak). */
	for (int chip = 0; chip < 8; chip += 7) {
		char head[40];
		const char *row, *eol;

		snprintf(head, sizeof(head), "\n%d     DRAM                 0 B ", chip);
		row = strstr(text, head);
		cr_assert_not_null(row, "%s: chip %d: %s", where, chip, text);
		eol = strchr(row + 1, '\n');
		cr_assert(eol && strstr(row, "   12.0 GiB   0.0%") &&
			  strstr(row, "   12.0 GiB   0.0%") < eol, "%s: chip %d: %s", where, chip, text);
	}
	free(text);
}

static void mesh_run(const char *flavour)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold", (char *)"60000",
			 NULL };
	struct segfix_wl w;
	char *out;

	need("examples/bin/mesh_allocation");
	if (flavour && !segfix_have(flavour))
		cr_skip_test("build/%s is not built", flavour);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, flavour, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0, "no 'peak' line from the workload");
	against_truth(w.pid);
	/* The text view: 8 chips, the process running, human sizes. */
	out = viewer(0, "show", NULL, NULL);
	cr_assert(strstr(out, "mesh_allocation  running"), "%s", out);
	cr_assert(strstr(out, "\n7     DRAM   "), "%s", out);
	cr_assert(strstr(out, " MiB"), "%s", out);
	free(out);

	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0, "no 'closed' line from the workload");
	/* After close: nothing in use anywhere (the truth is all zeros). */
	against_truth(w.pid);
	chips_listed_at_zero("after close", 1);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	chips_listed_at_zero("after exit", 0);

	/* Exited: what the runtime freed in bulk at close is reported. */
	out = viewer(0, "show", "--json", NULL);
	{
		char *err = NULL, exp[256];

		snprintf(exp, sizeof(exp),
			 "{\"processes\":[{\"pid\":%d,\"name\":\"mesh_allocation\",\"state\":\"exited\","
			 "\"live_bytes\":0,\"table_bytes\":0}]}", (int)w.pid);
		cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
		free(err);
		cr_assert(strstr(out, "\"released_bulk\":{\"total\":0,") == NULL,
			  "nothing released in bulk at close: %s", out);
	}
	free(out);
	out = viewer(0, "show", "--released", NULL);
	cr_assert(strstr(out, "RELEASED command_queue"), "%s", out);
	free(out);
	/* Chips are hardware facts: a clear (or a reap) keeps them listed. */
	free(viewer(0, "clear", NULL, NULL));
	free(viewer(0, "reap", "--exited", NULL));
	chips_listed_at_zero("after clear and reap", 0);
}

Test(e2e, mesh_allocation_gcc_matches_ground_truth)
{
	mesh_run(NULL);
}

Test(e2e, mesh_allocation_clang_matches_ground_truth)
{
	mesh_run("examples/clang");
}

/* The other generations of the runtime: `show --json` is the ground truth
 * on all 8 chips at the peak and 0 after close there too. */
Test(e2e, mesh_allocation_2025b_gcc_matches_ground_truth)
{
	mesh_run("examples/2025b/gcc");
}

Test(e2e, mesh_allocation_2025b_clang_matches_ground_truth)
{
	mesh_run("examples/2025b/clang");
}

Test(e2e, mesh_allocation_2026_gcc_matches_ground_truth)
{
	mesh_run("examples/2026/gcc");
}

Test(e2e, mesh_allocation_2026_clang_matches_ground_truth)
{
	mesh_run("examples/2026/clang");
}

Test(e2e, killed_process_is_orphaned_then_reaped)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold", (char *)"60000",
			 NULL };
	struct segfix_wl w;
	char *out, *err = NULL, exp[512];

	need("examples/bin/mesh_allocation");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	kill(w.pid, SIGKILL);
	cr_assert_eq(segfix_wl_wait(&w), 128 + SIGKILL);

	/* Dead: nothing in use, everything orphaned. */
	out = viewer(0, "show", "--json", NULL);
	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":0,\"in_use\":{\"DRAM\":0,\"L1\":0,\"L1_SMALL\":0,"
		 "\"TRACE\":0,\"CB\":0}},{\"device\":7,\"in_use\":{\"DRAM\":0}}],"
		 "\"processes\":[{\"pid\":%d,\"state\":\"dead\",\"live_bytes\":0}]}", (int)w.pid);
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
	free(err);
	free(out);
	/* The orphaned bytes are what the truth said was held at the peak. */
	{
		char *t = segfix_read_file(truth), *o = viewer(0, "show", "--json", NULL);
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"t=json.load(open(sys.argv[1]));s=json.load(sys.stdin)\n"
				"d={x['device']:x for x in s['devices']}\n"
				"bad=[(x['device'],k) for x in t['devices'] for k in "
				"('DRAM','L1','L1_SMALL','TRACE','CB') if d[x['device']]['orphaned'][k]!=x[k]]\n"
				"print(bad,file=sys.stderr);sys.exit(1 if bad else 0)\n",
			truth, NULL };

		cr_assert_not_null(t);
		cr_assert_eq(segfix_pipe(argv2, o, NULL, &err), 0, "orphaned != truth: %s", err);
		free(err);
		free(t);
		free(o);
	}
	out = viewer(0, "reap", NULL, NULL);
	cr_assert_eq(strncmp(out, "reaped (dead processes): ", 25), 0, "%s", out);
	cr_assert_null(strstr(out, ": 0 entries"), "%s", out);
	free(out);
	out = viewer(0, "show", "--json", NULL);
	cr_assert_eq(segfix_check(out, &err, "subset", "{\"segment\":{\"entries\":0}}", NULL), 0,
		     "%s", err);
	free(err);
	cr_assert_eq(segfix_check(out, &err, "zero", "in_use,orphaned,exited", NULL), 0, "%s", err);
	free(err);
	free(out);
}

Test(e2e, leaks_names_the_leaking_callsites)
{
	char *argv[] = { (char *)"examples/bin/leak", NULL };
	struct segfix_wl w;
	char *out, *err = NULL, spid[16], exp[512];

	need("examples/bin/leak");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	snprintf(spid, sizeof(spid), "%d", (int)w.pid);

	out = viewer(0, "leaks", NULL, NULL);
	cr_assert(strstr(out, "leak (exited)"), "%s", out);
	cr_assert(strstr(out, "application           (anonymous namespace)::forget_dram_tensor("),
		  "%s", out);
	cr_assert(strstr(out, "application           (anonymous namespace)::forget_l1_tensor("),
		  "%s", out);
	free(out);

	/* JSON: the bytes left at exit equal the truth written at exit. */
	out = viewer(0, "leaks", "--json", NULL);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"t=json.load(open(sys.argv[1]));s=json.load(sys.stdin)\n"
				"want=sum(d[k] for d in t['devices'] for k in ('DRAM','L1','L1_SMALL','TRACE','CB'))\n"
				"p=[p for p in s['processes'] if p['pid']==int(sys.argv[2])]\n"
				"fn=[g['function'] for g in p[0]['groups']] if p else []\n"
				"ok=p and p[0]['bytes']==want and p[0]['state']=='exited' and "
				"any(f and 'forget_dram_tensor' in f for f in fn) and "
				"all(g['symbolization']=='ok' for g in p[0]['groups'])\n"
				"print(want,p,file=sys.stderr);sys.exit(0 if ok else 1)\n",
			truth, spid, NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s", err);
		free(err);
	}
	free(out);
	/* show: nothing in use, the bytes are left at exit. */
	out = viewer(0, "show", "--json", NULL);
	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":0,\"in_use\":{\"DRAM\":0,\"L1\":0}}],"
		 "\"processes\":[{\"pid\":%d,\"state\":\"exited\",\"live_bytes\":0}]}", (int)w.pid);
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
	free(err);
	free(out);
}

Test(e2e, run_tracks_and_passes_the_exit_code)
{
	char *out = NULL, *err = NULL, exp[256];
	const char *wl;

	need("examples/bin/mesh_allocation");
	wl = segfix_build_path("examples/bin/mesh_allocation");
	cr_assert_eq(segfix_ttmem_run(&out, &err, "run", "--shm", shm, "--", wl, "--seed", "3", NULL),
		     0, "%s", err);
	cr_assert(strstr(err, "ttmem run: tracking '"), "%s", err);
	cr_assert(strstr(err, "exited with status 0; see 'ttmem show --shm "), "%s", err);
	free(out);
	free(err);
	out = viewer(0, "show", "--json", NULL);
	snprintf(exp, sizeof(exp),
		 "{\"processes\":[{\"name\":\"mesh_allocation\",\"state\":\"exited\"}]}");
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
	free(err);
	free(out);
	/* The status of the command, not ours. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "run", "--shm", shm, "--", "sh", "-c", "exit 7",
				      NULL), 7);
	free(out);
	free(err);
}

/*
 * The seven emulator builds, told apart by (generation, compiler, binding):
 * each names its generation from its exports, its compiler from .comment,
 * and what tracking can do there.
 */
Test(e2e, probe_tells_the_seven_builds_apart)
{
	static const struct {
		const char *lib;
		int rc;
		const char *generation, *compiler, *binding, *inlined;
	} cases[] = {
		{ "examples/gcc/libtt_metal.so", 0, "2025", "gcc", "interposable", "false" },
		{ "examples/clang/libtt_metal.so", 0, "2025", "clang",
		  "interposable, allocate_impl inlined", "true" },
		{ "examples/symbolic/libtt_metal.so", 21, "2025", "gcc",
		  "bound directly (-Bsymbolic-functions)", "false" },
		{ "examples/2025b/gcc/libtt_metal.so", 0, "2025b", "gcc", "interposable", "false" },
		{ "examples/2025b/clang/libtt_metal.so", 0, "2025b", "clang",
		  "interposable, allocate_impl inlined", "true" },
		{ "examples/2026/gcc/libtt_metal.so", 0, "2026", "gcc", "interposable", "false" },
		{ "examples/2026/clang/libtt_metal.so", 0, "2026", "clang", "interposable", "false" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *err = NULL, exp[1024], toolchain[64];
		const char *st = cases[i].rc ? "unavailable" : "works";

		if (!segfix_have(cases[i].lib))
			cr_skip_test("build/%s (the emulator) is not built", cases[i].lib);
		cr_assert_eq(segfix_ttmem_run(&out, &err, "probe", "--json",
					      segfix_build_path(cases[i].lib), NULL),
			     cases[i].rc, "%s: %s", cases[i].lib, err);
		snprintf(exp, sizeof(exp),
			 "{\"kind\":\"probe\",\"generation\":\"%s\",\"binding\":\"%s\","
			 "\"allocate_impl_inlined\":%s,\"exit_code\":%d,"
			 "\"capabilities\":{\"allocations\":{\"status\":\"%s\"},"
			 "\"chips\":{\"status\":\"%s\"},\"owner_attribution\":{\"status\":\"%s\"},"
			 "\"release_at_close\":{\"status\":\"%s\"}},"
			 "\"hooks\":[{\"name\":\"GraphTracker::track_allocate\",\"present\":true,"
			 "\"interposable\":%s}]}",
			 cases[i].generation, cases[i].binding, cases[i].inlined, cases[i].rc, st, st,
			 st, st, cases[i].rc ? "false" : "true");
		free(err);
		cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s: %s", cases[i].lib, err);
		snprintf(toolchain, sizeof(toolchain), "\"toolchain\":\"%s ", cases[i].compiler);
		cr_assert(strstr(out, toolchain), "%s: not built by %s: %s", cases[i].lib,
			  cases[i].compiler, out);
		free(err);
		free(out);
	}
}

/* A runtime of no known generation (tests/preload/fake-unknown): named
 * unknown, read through its getters, and what it lacks said per capability. */
Test(e2e, probe_names_an_unknown_generation)
{
	const char *lib = "tests/preload/fake-unknown/libtt_metal.so";
	char *out = NULL, *err = NULL;

	if (!segfix_have(lib))
		cr_skip_test("build/%s (the preload tests' fixture) is not built", lib);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "probe", "--json", segfix_build_path(lib), NULL),
		     20, "%s", err);
	free(err);
	cr_assert_eq(segfix_check(out, &err, "subset",
				  "{\"generation\":\"unknown\",\"tracking\":\"partial\","
				  "\"capabilities\":{\"allocations\":{\"status\":\"works\","
				  "\"why\":\"GraphTracker::track_allocate is reached through the "
				  "PLT/GOT; Buffer read through its exported getters\"},"
				  "\"chips\":{\"status\":\"unavailable\",\"why\":\"Buffer::device() is "
				  "not exported: every allocation is shown on an unknown chip\"},"
				  "\"release_at_close\":{\"status\":\"unavailable\"}}}", NULL),
		     0, "%s", err);
	free(err);
	free(out);
}

/* Between runs: a baseline at the first peak, the delta after the close;
 * a clear in the middle of the second run leaves nothing in use and counts
 * the frees that follow as unmatched, corrupting nothing. */
Test(e2e, baseline_and_clear_between_runs)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--runs", (char *)"2",
			 (char *)"--hold", (char *)"60000", NULL };
	struct segfix_wl w;
	char *out, *err = NULL;

	need("examples/bin/mesh_allocation");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak 0"), 0);
	free(viewer(0, "baseline", NULL, NULL));
	{
		/* baseline == the truth at the peak, delta 0 */
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"t=json.load(open(sys.argv[1]));s=json.load(sys.stdin)\n"
				"d={x['device']:x for x in s['devices']}\n"
				"T=('DRAM','L1','L1_SMALL','TRACE','CB')\n"
				"bad=[(x['device'],k) for x in t['devices'] for k in T if "
				"d[x['device']]['baseline'][k]!=x[k] or d[x['device']]['delta'][k]!=0]\n"
				"print(bad,file=sys.stderr);sys.exit(1 if bad else 0)\n",
			truth, NULL };

		out = viewer(0, "show", "--json", NULL);
		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "baseline != truth: %s", err);
		free(err);
		free(out);
	}
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed 0"), 0);
	{
		/* after the close: delta == -baseline on every chip */
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"s=json.load(sys.stdin)\n"
				"bad=[(d['device'],k) for d in s['devices'] for k in d['baseline'] if "
				"d['delta'][k]!=-d['baseline'][k] or d['in_use'][k]!=0]\n"
				"n=sum(1 for d in s['devices'] if d['baseline']['DRAM']>0)\n"
				"print(bad,n,file=sys.stderr);sys.exit(1 if bad or n!=8 else 0)\n",
			NULL };

		out = viewer(0, "show", "--json", NULL);
		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "delta after close: %s", err);
		free(err);
		free(out);
		out = viewer(0, "show", NULL, NULL);
		cr_assert(strstr(out, "BASELINE       DELTA"), "%s", out);
		cr_assert(strstr(out, "  -24."), "a negative DRAM delta: %s", out);
		free(out);
	}
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "peak 1"), 0);
	out = viewer(0, "clear", NULL, NULL);
	cr_assert_null(strstr(out, ": 0 entries dropped"), "%s", out);
	free(out);
	out = viewer(0, "show", "--json", NULL);
	cr_assert_eq(segfix_check(out, &err, "subset", "{\"segment\":{\"entries\":0,\"events\":0}}",
				  NULL), 0, "%s", err);
	free(err);
	cr_assert_eq(segfix_check(out, &err, "zero", "in_use,orphaned,exited", NULL), 0, "%s", err);
	free(err);
	free(out);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed 1"), 0);
	out = viewer(0, "show", "--json", NULL);
	cr_assert_eq(segfix_check(out, &err, "zero", "in_use,orphaned,exited", NULL), 0, "%s", err);
	free(err);
	cr_assert_null(strstr(out, "\"unmatched\":0,"), "frees after the clear are unmatched: %s", out);
	free(out);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}
