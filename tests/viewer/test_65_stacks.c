/* SPDX-License-Identifier: MIT */
/*
 * Leak stacks end to end: the emulator's workloads under the preload, the
 * viewer's report checked against the workloads' source (lines found by
 * grepping the source here, not taken from ttmem) and against the
 * emulator's ground truth; the exit codes of `leaks --fail` and
 * `run --check`.
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

TestSuite(stacks, .init = up, .fini = down, .timeout = 90);

static void need(const char *workload)
{
	if (!segfix_have("libttmem.so"))
		cr_skip_test("build/libttmem.so (the preload) is not built");
	if (!segfix_have(workload))
		cr_skip_test("build/%s (the emulator) is not built", workload);
}

/* The 1-based line of `file` that contains `needle` (exactly one). */
static int source_line(const char *file, const char *needle)
{
	char *src = segfix_read_file(file), *p, *hit;
	int line = 1;

	cr_assert_not_null(src, "cannot read %s", file);
	hit = strstr(src, needle);
	cr_assert_not_null(hit, "%s: no line with '%s'", file, needle);
	cr_assert_null(strstr(hit + 1, needle), "%s: '%s' is not unique", file, needle);
	for (p = src; p < hit; p++)
		line += *p == '\n';
	free(src);
	return line;
}

static int leaks_rc(char **out, const char *a1, const char *a2)
{
	char *err = NULL;
	int rc = segfix_ttmem_run(out, &err, "leaks", "--shm", shm, a1, a2, NULL);

	cr_assert(rc == 0 || rc == 1, "leaks: exit %d: %s", rc, err);
	free(err);
	return rc;
}

Test(stacks, leak_cpp_shows_the_users_functions_with_file_and_line)
{
	char *argv[] = { (char *)"examples/bin/leak", (char *)"--count", (char *)"4", NULL };
	struct segfix_wl w;
	char *out = NULL, *err = NULL, want[512], dram[16], l1[16], call_d[16], call_l[16];
	const char *src = "examples/workloads/leak.cpp";

	need("examples/bin/leak");
	snprintf(dram, sizeof(dram), "%d",
		 source_line(src, "forgotten->push_back(Buffer::create(device, size, 2048, BufferType::DRAM));"));
	snprintf(l1, sizeof(l1), "%d",
		 source_line(src, "forgotten->push_back(Buffer::create(device, size, 2048, BufferType::L1));"));
	snprintf(call_d, sizeof(call_d), "%d", source_line(src, "forget_dram_tensor(device, size);"));
	snprintf(call_l, sizeof(call_l), "%d", source_line(src, "forget_l1_tensor(device, size);"));

	/* Clean segment: --fail passes. */
	{
		struct ttmem_table *t = segfix_create(shm, 1, 0);

		cr_assert_not_null(t);
		ttmem_table_close(t);
		cr_assert_eq(leaks_rc(&out, "--fail", NULL), 0, "%s", out);
		free(out);
	}
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_wait(&w), 0);

	/* Text: the headline is the leaking function, then where in the
	 * source, then its caller with its line. */
	cr_assert_eq(leaks_rc(&out, NULL, NULL), 0, "without --fail, leaks exits 0");
	snprintf(want, sizeof(want), "forget_dram_tensor(tt::tt_metal::IDevice*, unsigned long)+0x");
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "leak.cpp:%s\n        from main+0x", dram);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	snprintf(want, sizeof(want), "leak.cpp:%s\n        from main+0x", l1);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	snprintf(want, sizeof(want), "examples/workloads/leak.cpp:%s\n", call_d);
	cr_assert(strstr(out, want), "caller's line: no '%s' in\n%s", want, out);
	cr_assert_null(strstr(out, "libtt_metal"), "runtime frames shown:\n%s", out);
	free(out);

	/* JSON: the same against the source, frame by frame. */
	cr_assert_eq(leaks_rc(&out, "--json", "--fail"), 1, "--fail with leaks exits 1");
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"s=json.load(sys.stdin);d,l,cd,cl=map(int,sys.argv[1:5])\n"
				"gs=[g for p in s['processes'] for g in p['groups'] if g['owner']=='application']\n"
				"def one(fn,line,cline):\n"
				"  g=[g for g in gs if g['function'] and fn in g['function']]\n"
				"  assert len(g)==1,(fn,gs)\n"
				"  g=g[0];st=g['stack']\n"
				"  assert g['stack_status']=='ok' and g['file'].endswith('examples/workloads/leak.cpp'),g\n"
				"  assert g['line']==line,(fn,g['line'],line)\n"
				"  assert st[0]['line']==line and st[1]['function']=='main' and st[1]['line']==cline,st\n"
				"  assert all(f['kind']=='user' for f in st),st\n"
				"one('forget_dram_tensor',d,cd);one('forget_l1_tensor',l,cl)\n"
				"t=json.load(open(sys.argv[5]))\n"
				"want=sum(x[k] for x in t['devices'] for k in ('DRAM','L1','L1_SMALL','TRACE','CB'))\n"
				"assert s['bytes']==want,(s['bytes'],want)\n",
			dram, l1, call_d, call_l, truth, NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
}

/* Issue: a killed process's entries (LEFT) were not a failure. */
Test(stacks, killed_process_leaks_fail_the_gate)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold", (char *)"60000",
			 NULL };
	struct segfix_wl w;
	char *out = NULL, *err = NULL, spid[16];

	need("examples/bin/mesh_allocation");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	kill(w.pid, SIGKILL);
	cr_assert_eq(segfix_wl_wait(&w), 128 + SIGKILL);
	snprintf(spid, sizeof(spid), "%d", (int)w.pid);

	cr_assert_eq(leaks_rc(&out, "--fail", NULL), 1, "%s", out);
	cr_assert(strstr(out, "mesh_allocation (dead)"), "%s", out);
	free(out);
	/* Everything the truth says was held at the kill is reported. */
	cr_assert_eq(leaks_rc(&out, "--fail", "--json"), 1);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"t=json.load(open(sys.argv[1]));s=json.load(sys.stdin)\n"
				"want=sum(x[k] for x in t['devices'] for k in ('DRAM','L1','L1_SMALL','TRACE','CB'))\n"
				"p=[p for p in s['processes'] if p['pid']==int(sys.argv[2])]\n"
				"assert want>0 and p and p[0]['state']=='dead' and p[0]['bytes']==want,(want,p)\n",
			truth, spid, NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s", err);
		free(err);
	}
	free(out);
}

Test(stacks, ctypes_client_shows_the_script_not_libffi)
{
	char *argv[] = { (char *)"examples/bin/ctypes_alloc.py", (char *)"--chips", (char *)"2",
			 (char *)"--hold", (char *)"60000", NULL };
	struct segfix_wl w;
	char *out = NULL, *err = NULL, *line, *end;
	int groups = 0;

	need("examples/bin/ctypes_alloc.py");
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	kill(w.pid, SIGKILL);
	cr_assert_eq(segfix_wl_wait(&w), 128 + SIGKILL);

	cr_assert_eq(leaks_rc(&out, "--fail", NULL), 1, "%s", out);
	/* Every group's headline names the script, none libffi or the
	 * interpreter. */
	line = strstr(out, "\n    ");
	cr_assert_not_null(line, "%s", out);
	for (; (line = strstr(line, "\n  ")) != NULL; line = end) {
		line++;
		end = strchr(line, '\n');
		cr_assert_not_null(end);
		if (!strncmp(line, "        ", 8))
			continue;   /* a frame under a headline */
		if (strncmp(line, "  ", 2))
			continue;
		groups++;
		cr_assert(strstr(line, "python script ") && strstr(line, "ctypes_alloc.py") &&
			  strstr(line, "ctypes_alloc.py") < end,
			  "headline without the script: %.*s", (int)(end - line), line);
		cr_assert(!memmem(line, (size_t)(end - line), "libffi", 6), "%.*s",
			  (int)(end - line), line);
	}
	cr_assert_geq(groups, 3, "application, command queue and system memory groups:\n%s", out);
	cr_assert(strstr(out, "from [libffi: "), "collapsed libffi frames said so:\n%s", out);
	free(out);
	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"s=json.load(sys.stdin)\n"
				"gs=[g for p in s['processes'] for g in p['groups']]\n"
				"assert gs and all((g['python_script'] or '').endswith('ctypes_alloc.py') for g in gs),gs\n"
				"assert all(any(f['kind']=='libffi' for f in g['stack']) for g in gs),gs\n",
			NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s", err);
		free(err);
	}
	free(out);
}

Test(stacks, run_check_exit_codes)
{
	char *out = NULL, *err = NULL;
	const char *leak, *clean;
	int rc;

	need("examples/bin/leak");
	need("examples/bin/mesh_allocation");
	leak = segfix_build_path("examples/bin/leak");
	rc = segfix_ttmem_run(&out, &err, "run", "--check", "--shm", shm, "--", leak, "--count", "2",
			      NULL);
	cr_assert_eq(rc, 13, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "forget_dram_tensor"), "the report goes to stderr: %s", err);
	cr_assert(strstr(out, "leaked 2 buffers"), "the command's stdout stays its own: %s", out);
	free(out);
	free(err);
	/* A clean run passes, although the segment holds the other's leaks. */
	clean = segfix_build_path("examples/bin/mesh_allocation");
	rc = segfix_ttmem_run(&out, &err, "run", "--check", "--shm", shm, "--", clean, NULL);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "no device memory left by the command"), "%s", err);
	free(out);
	free(err);
	/* The command's own failure wins over the check. */
	rc = segfix_ttmem_run(&out, &err, "run", "--check", "--shm", shm, "--", leak, "--chip", "999",
			      NULL);
	cr_assert_eq(rc, 2, "a usage error of the command: exit %d: %s", rc, err);
	free(out);
	free(err);
}
