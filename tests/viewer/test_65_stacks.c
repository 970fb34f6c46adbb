/* SPDX-License-Identifier: MIT */
/*
 * Leak stacks end to end: the emulator's workloads under the preload, the
 * viewer's report checked against the workloads' source (lines found by
 * grepping the source here, not taken from ttmem) and against the
 * emulator's ground truth; the exit codes of `leaks --fail` and
 * `run --check`.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <sys/wait.h>
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
	/* libc's start-up below main says nothing: hidden (JSON keeps it). */
	cr_assert_null(strstr(out, "__libc_start"), "start-up frames shown:\n%s", out);
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
				"  su=lambda f:(f['function'] or '') in ('__libc_start_call_main','__libc_start_main','_start')\n"
				"  assert all(f['kind']==('startup' if su(f) else 'user') for f in st),st\n"
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

/* Each group's headline line of `out` (the lines of two-space indent). */
static int headlines(const char *out, char lines[][512], int max)
{
	int n = 0;

	for (const char *p = strchr(out, '\n'); p && n < max; p = strchr(p + 1, '\n')) {
		const char *l = p + 1, *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);

		if (strncmp(l, "  ", 2) || !strncmp(l, "        ", 8))
			continue;
		snprintf(lines[n++], 512, "%.*s", (int)len, l);
	}
	return n;
}

Test(stacks, ctypes_client_shows_the_python_lines_not_libffi)
{
	char *argv[] = { (char *)"examples/bin/ctypes_alloc.py", (char *)"--chips", (char *)"2",
			 (char *)"--hold", (char *)"60000", NULL };
	const char *src = "examples/workloads/ctypes_alloc.py";
	struct segfix_wl w;
	char *out = NULL, *err = NULL, head[16][512], want[128];
	char alloc[16], dram[16], mesh[16];
	int n;

	need("examples/bin/ctypes_alloc.py");
	snprintf(alloc, sizeof(alloc), "%d",
		 source_line(src, "h = check(lib, lib.ttemu_alloc(mesh, kind, size, page)"));
	snprintf(dram, sizeof(dram), "%d", source_line(src, "bufs = [alloc(DRAM, "));
	snprintf(mesh, sizeof(mesh), "%d", source_line(src, "mesh = check(lib, lib.ttemu_open_mesh("));
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	kill(w.pid, SIGKILL);
	cr_assert_eq(segfix_wl_wait(&w), 128 + SIGKILL);

	cr_assert_eq(leaks_rc(&out, "--fail", NULL), 1, "%s", out);
	n = headlines(out, head, 16);
	cr_assert_geq(n, 3, "application, command queue and system memory groups:\n%s", out);
	/* Every headline is a line of the script, none libffi or Python. */
	snprintf(want, sizeof(want), "ctypes_alloc.py:");
	for (int i = 0; i < n; i++) {
		cr_assert(strstr(head[i], want), "headline without the script's line: %s", head[i]);
		cr_assert_null(strstr(head[i], "libffi"), "%s", head[i]);
		cr_assert_null(strstr(head[i], "libpython"), "%s", head[i]);
	}
	free(out);
	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\n"
				"s=json.load(sys.stdin);a,d,m=map(int,sys.argv[1:4])\n"
				"gs=[g for p in s['processes'] for g in p['groups']]\n"
				"py=lambda g:g['file'] and g['file'].endswith('ctypes_alloc.py')\n"
				"assert gs and all(py(g) for g in gs),gs\n"
				"dr=[g for g in gs if g['owner']=='application' and g['types']['DRAM'] and not g['types']['CB']]\n"
				"assert dr and all(g['line']==a for g in dr),dr\n"
				"assert any(f['line']==d and py(f) for g in dr for f in g['stack']),dr\n"
				"cq=[g for g in gs if g['owner']=='command_queue']\n"
				"assert cq and all(g['line']==m for g in cq),cq\n"
				"assert all(any(f['kind']=='libffi' for f in g['stack']) for g in gs),gs\n"
				"assert all('ttemu_alloc' in g['source_text'] for g in dr),dr\n",
			alloc, dram, mesh, NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s\n%s", err, out);
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
	cr_assert_eq(rc, 14, "exit %d: %s", rc, err);
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

/*
 * A stack table a writer corrupted (or a foreign one) is never followed and
 * never shown as the allocation's: each group falls back to its slot's own
 * callsite and says why.
 */
Test(stacks, corrupt_stack_table_is_not_followed)
{
	static const char *const want[] = { "ok", "corrupt", "mismatch", "corrupt", "corrupt" };
	Dl_info di;
	uint32_t cs;
	pid_t pid;
	int st, ia = -1;
	char *out = NULL, *err = NULL;
	struct ttmem_table *t;

	cr_assert(dladdr((void *)(uintptr_t)segfix_leaky_function, &di));
	cs = (uint32_t)((uintptr_t)segfix_leaky_function + 4 - (uintptr_t)di.dli_fbase);
	t = segfix_create(shm, 1, 0);
	cr_assert_not_null(t);
	{
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		int m;
		uint64_t good[2], bad[2], other[2];

		cr_assert_gt(n, 0);
		exe[n] = 0;
		m = ttmem_module_intern(t, exe, NULL, 0);
		cr_assert_geq(m, 0);
		good[0] = bad[0] = TTMEM_FRAME(m, cs);
		good[1] = TTMEM_FRAME(m, cs + 16);
		bad[1] = TTMEM_FRAME(m, cs + 32);
		other[0] = TTMEM_FRAME(m, cs + 8);
		other[1] = good[1];
		ia = ttmem_stack_intern(t, good, 2, 0);
		int ib = ttmem_stack_intern(t, bad, 2, 0);
		int ic = ttmem_stack_intern(t, other, 2, 0);
		cr_assert(ia >= 0 && ib >= 0 && ic >= 0);
		/* The writer's children: one entry per stack case, told by size. */
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			uint32_t stacks[] = { (uint32_t)ia + 1, (uint32_t)ib + 1, (uint32_t)ic + 1,
					      60000, 0 };
			int idx = ttmem_proc_register(t);

			/* A free entry of the table: its index is neither of ours. */
			for (uint32_t k = 0; k < ttmem_table_stack_capacity(t); k++)
				if (k != (uint32_t)ia && k != (uint32_t)ib && k != (uint32_t)ic) {
					stacks[4] = k + 1;
					break;
				}
			for (size_t i = 0; idx >= 0 && i < 5; i++) {
				struct ttmem_entry e;

				memset(&e, 0, sizeof(e));
				e.key.address = 0x1000 * (i + 1);
				e.type = TTMEM_TYPE_DRAM;
				e.size = 4096 * (i + 1);
				e.module = (uint16_t)m;
				e.callsite = cs;
				e.stack = stacks[i];
				if (ttmem_insert(t, &e) < 0)
					_exit(2);
			}
			ttmem_flush(t);
			ttmem_proc_exit(t, idx);
			_exit(idx >= 0 ? 0 : 1);
		}
		cr_assert_eq(waitpid(pid, &st, 0), pid);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		/* Corrupt the second stack after the fact: its hash no longer fits. */
		((struct ttmem_stack *)(uintptr_t)&ttmem_table_stacks(t)[ib])->frame[1] ^= 0x10;
	}
	ttmem_table_close(t);

	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char prog[2048];
		char *argv[] = { (char *)"python3", (char *)"-c", prog, NULL };

		snprintf(prog, sizeof(prog),
			 "import json,sys\ns=json.load(sys.stdin)\n"
			 "g={x['bytes']//4096-1:x for p in s['processes'] for x in p['groups']}\n"
			 "want=['%s','%s','%s','%s','%s']\n"
			 "for i,w in enumerate(want):\n"
			 "  x=g[i]\n"
			 "  assert x['stack_status']==w,(i,x)\n"
			 "  assert x['function']=='segfix_leaky_function',(i,x)\n"
			 "  assert (len(x['stack'])==2) if w=='ok' else (x['stack']==[]),(i,x)\n",
			 want[0], want[1], want[2], want[3], want[4]);
		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
	cr_assert_eq(leaks_rc(&out, NULL, NULL), 0);
	cr_assert(strstr(out, "(stack not shown: its stack table entry is corrupt)"), "%s", out);
	cr_assert(strstr(out, "(stack not shown: its stack table entry does not start at this callsite)"), "%s", out);
	free(out);
}

/* TTMEM_STACK_DEPTH=0: only the first frame, no stack table; a bad value
 * warns and keeps the default. */
Test(stacks, stack_depth_zero_keeps_the_callsite_only)
{
	char *argv[] = { (char *)"examples/bin/leak", (char *)"--count", (char *)"2", NULL };
	struct segfix_wl w;
	char *out = NULL, *err = NULL;

	need("examples/bin/leak");
	setenv("TTMEM_STACK_DEPTH", "0", 1);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_wait(&w), 0);
	unsetenv("TTMEM_STACK_DEPTH");
	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\ns=json.load(sys.stdin)\n"
				"gs=[g for p in s['processes'] for g in p['groups']]\n"
				"assert gs and all(g['stack_status']=='none' and g['stack']==[] for g in gs),gs\n"
				"assert any('forget_dram_tensor' in (g['function'] or '') for g in gs),gs\n",
			NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s", err);
		free(err);
	}
	free(out);
	{
		const char *leak = segfix_build_path("examples/bin/leak");
		char *av[] = { (char *)"env", (char *)"TTMEM_STACK_DEPTH=9", (char *)"LD_PRELOAD=",
			       (char *)leak, (char *)"--count", (char *)"0", NULL };
		char pre[4200];

		cr_assert(realpath(segfix_build_path("libttmem.so"), pre + 11));
		memcpy(pre, "LD_PRELOAD=", 11);
		av[2] = pre;
		setenv("TTMEM_SHM", shm, 1);
		cr_assert_eq(segfix_run(av, &out, &err), 0, "%s", err);
		cr_assert(strstr(err, "TTMEM_STACK_DEPTH=9 is not a number in [0, 8]: using 8"), "%s",
			  err);
		free(out);
		free(err);
	}
}

/*
 * Debug information in a separate file, found through .gnu_debuglink (and
 * checked by build-id): the stripped program's leaks still show file:line.
 * The program is run from a copy of examples/bin (its RUNPATH is
 * $ORIGIN/../gcc, so the copy sits in a sibling directory of a link to the
 * runtime's).
 */
Test(stacks, separate_debug_file_through_debuglink)
{
	char dir[256], cmd[16384], prog[512], line[16], *out = NULL, *err = NULL;
	char gcc[4096], preload[4096];
	int rc;

	need("examples/bin/leak");
	snprintf(line, sizeof(line), "%d",
		 source_line("examples/workloads/leak.cpp",
			     "forgotten->push_back(Buffer::create(device, size, 2048, BufferType::DRAM));"));
	snprintf(dir, sizeof(dir), "/tmp/ttmem-test-viewer-%d-debuglink", (int)getpid());
	cr_assert(realpath(segfix_build_path("examples/gcc"), gcc));
	cr_assert(realpath(segfix_build_path("libttmem.so"), preload));
	snprintf(prog, sizeof(prog), "%s/bin/leak", dir);
	snprintf(cmd, sizeof(cmd),
		 "rm -rf '%s' && mkdir -p '%s/bin' && ln -s '%s' '%s/gcc' && cp '%s' '%s' && cd '%s/bin' && "
		 "objcopy --only-keep-debug leak leak.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=leak.debug leak && "
		 "! readelf -S leak | grep -q debug_info",
		 dir, dir, gcc, dir, segfix_build_path("examples/bin/leak"), prog, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	{
		char *av[] = { (char *)"env", NULL, NULL, prog, (char *)"--count", (char *)"2", NULL };
		char e1[4200], e2[300];

		snprintf(e1, sizeof(e1), "LD_PRELOAD=%s", preload);
		snprintf(e2, sizeof(e2), "TTMEM_SHM=%s", shm);
		av[1] = e1;
		av[2] = e2;
		rc = segfix_run(av, &out, &err);
		cr_assert_eq(rc, 0, "%s", err);
		free(out);
		free(err);
	}
	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\ns=json.load(sys.stdin)\n"
				"g=[g for p in s['processes'] for g in p['groups'] if 'forget_dram_tensor' in (g['function'] or '')]\n"
				"assert len(g)==1 and g[0]['module'].endswith('/bin/leak'),g\n"
				"assert g[0]['file'].endswith('examples/workloads/leak.cpp') and g[0]['line']==int(sys.argv[1]),g\n",
			line, NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
	/* Without the debug file: the function (symbol table) but no line. */
	snprintf(cmd, sizeof(cmd), "rm -f '%s/bin/leak.debug'", dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(leaks_rc(&out, "--json", NULL), 0);
	{
		char *argv2[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\ns=json.load(sys.stdin)\n"
				"g=[g for p in s['processes'] for g in p['groups'] if 'forget_dram_tensor' in (g['function'] or '')]\n"
				"assert len(g)==1 and g[0]['file'] is None and g[0]['line']==0,g\n",
			NULL };

		cr_assert_eq(segfix_pipe(argv2, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
