/* SPDX-License-Identifier: MIT */
/*
 * Python function names in leak stacks: a script's frames show
 * `file.py:LINE in qualified.name`.  Checked against the names the script
 * itself reports (co_qualname of each frame, written by the script as it
 * allocates), never against what ttmem prints; and on segments built by
 * hand: an older writer's (a source file without names, ABI minor 1) still
 * reads as file:line, and a name that is not NUL-terminated in its entry is
 * no name.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128], script[256], truth[256];

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	snprintf(script, sizeof(script), "/tmp/ttmem-test-pynames-%d.py", (int)getpid());
	snprintf(truth, sizeof(truth), "/tmp/ttmem-test-pynames-%d.json", (int)getpid());
}

static void down(void)
{
	ttmem_table_unlink(shm);
	unlink(script);
	unlink(truth);
}

TestSuite(pynames, .init = up, .fini = down, .timeout = 90);

static char *leaks(const char *fmt)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, fmt, NULL), 0, "%s", err);
	free(err);
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* A method, a nested function and a comprehension allocate through the
 * emulated runtime; each allocation writes the (line, co_qualname) of every
 * frame of this script on its stack, innermost first: the ground truth. */
static const char py_script[] =
	"import ctypes, json, sys\n"
	"lib = ctypes.CDLL(sys.argv[1])\n"
	"lib.ttemu_open_mesh.argtypes = [ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64]\n"
	"lib.ttemu_alloc.restype = ctypes.c_int64\n"
	"lib.ttemu_alloc.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64]\n"
	"chains = []\n"
	"def note(f):\n"
	"    c = []\n"
	"    while f is not None:\n"
	"        if f.f_code.co_filename == __file__:\n"
	"            c.append([f.f_lineno, f.f_code.co_qualname])\n"
	"        f = f.f_back\n"
	"    chains.append(c)\n"
	"def alloc(mesh, size):\n"
	"    h = lib.ttemu_alloc(mesh, 0, size, 2048); note(sys._getframe())\n"
	"    return h\n"
	"class Model:\n"
	"    def forward(self, mesh):\n"
	"        return alloc(mesh, 65536)\n"
	"    def build(self, mesh):\n"
	"        return [alloc(mesh, 131072) for _ in range(2)]\n"
	"def outer(mesh):\n"
	"    def inner():\n"
	"        return alloc(mesh, 262144)\n"
	"    return inner()\n"
	"mesh = lib.ttemu_open_mesh(1, 0, 0)\n"
	"m = Model()\n"
	"m.forward(mesh)\n"
	"m.build(mesh)\n"
	"outer(mesh)\n"
	"json.dump(chains, open(sys.argv[2], 'w'))\n";

/* Checks of `leaks --json` (stdin) against the truth file (argv[1]) for
 * the script (argv[2]): every chain the script wrote is the script part of
 * one application group's stack, (line, function) frame by frame, as deep
 * as the stack kept it; the names cover a method, a nested function and a
 * comprehension. */
static const char py_check[] =
	"import json, os, sys\n"
	"s = json.load(sys.stdin); chains = json.load(open(sys.argv[1])); src = sys.argv[2]\n"
	"names = {n for c in chains for _, n in c}\n"
	"assert any(n.count('.') == 1 and '<' not in n for n in names), names\n"
	"assert any('<locals>.' in n and '<listcomp>' not in n for n in names), names\n"
	"assert any(n.endswith('<listcomp>') for n in names), names\n"
	"gs = [g for p in s['processes'] for g in p['groups'] if g['owner'] == 'application']\n"
	"mine = lambda f: f['file'] and os.path.realpath(f['file']) == os.path.realpath(src)\n"
	"shown = [[[f['line'], f['function']] for f in g['stack'] if mine(f)] for g in gs]\n"
	"shown = [x for x in shown if x]\n"
	"assert shown, gs\n"
	"for c in chains:\n"
	"    ok = [x for x in shown if len(x) >= min(len(c), 3) and x == c[:len(x)]]\n"
	"    assert ok, ('no stack shows', c, shown)\n"
	"for x in shown:\n"
	"    assert any(x == c[:len(x)] for c in chains), ('not the script', x, chains)\n"
	"for c in chains:\n"
	"    for i in range(1, len(c)):\n"
	"        same = c[i][0] == c[i - 1][0] and i > 1\n"
	"        print(c[i][0], c[i][1], 'runs-a-comprehension' if same else 'shown')\n";

Test(pynames, python_functions_named_as_the_script_names_them)
{
	char lib[4096], *out = NULL, *err = NULL, *want = NULL;
	int rc;

	if (!segfix_have("libttmem.so") || !segfix_have("examples/gcc/libtt_metal.so"))
		cr_skip_test("the preload or the emulator is not built");
	cr_assert_not_null(realpath(segfix_build_path("examples/gcc/libtt_metal.so"), lib));
	write_file(script, py_script);
	rc = segfix_ttmem_run(&out, &err, "run", "-q", "--shm", shm, "--", "python3", script, lib,
			      truth, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	free(out);
	free(err);
	out = leaks(NULL);
	{
		char line[300];

		snprintf(line, sizeof(line), "%s:15 ", script);
		if (!strstr(out, line))
			cr_skip_test("no Python source lines (another CPython than the preload's):\n%s",
				     out);
	}
	free(out);
	out = leaks("--json");
	{
		char *argv[] = { (char *)"python3", (char *)"-c", (char *)py_check, truth, script,
				 NULL };

		cr_assert_eq(segfix_pipe(argv, out, &want, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
	/* The text shows each caller as `file:LINE in name`, and a
	 * comprehension's line once: under the comprehension's name, not
	 * again under the function that runs it. */
	out = leaks(NULL);
	for (char *l = strtok(want, "\n"); l; l = strtok(NULL, "\n")) {
		char line[800], name[400], how[32];
		int n;

		cr_assert_eq(sscanf(l, "%d %399s %31s", &n, name, how), 3, "%s", l);
		snprintf(line, sizeof(line), "from %s:%d in %s  |", script, n, name);
		if (!strcmp(how, "runs-a-comprehension"))
			cr_assert_null(strstr(out, line), "the comprehension's line twice:\n%s", out);
		else if (strcmp(name, "<module>"))   /* <module> may be past the recorded depth */
			cr_assert(strstr(out, line), "no '%s' in\n%s", line, out);
	}
	free(want);
	free(out);
}

/* ---- segments built by hand ------------------------------------------------- */

/* The stacks of the hand-built segment: an address in this binary, then
 * source lines of `script`. */
static void insert_stacks(struct ttmem_table *t, const uint64_t *tail, const uint32_t *ntail,
			  size_t nstacks)
{
	Dl_info di;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	uint32_t cs, ids[4];
	int m, st;
	pid_t pid;

	cr_assert(nstacks <= 4);
	cr_assert_gt(n, 0);
	exe[n] = 0;
	cr_assert(dladdr((void *)(uintptr_t)segfix_leaky_function, &di));
	cs = (uint32_t)((uintptr_t)segfix_leaky_function + 4 - (uintptr_t)di.dli_fbase);
	m = ttmem_module_intern(t, exe, NULL, 0);
	cr_assert_geq(m, 0);
	for (size_t i = 0; i < nstacks; i++) {
		uint64_t fr[TTMEM_STACK_FRAMES];
		int s;

		fr[0] = TTMEM_FRAME(m, cs);
		memcpy(fr + 1, tail + 4 * i, ntail[i] * sizeof(*fr));
		s = ttmem_stack_intern(t, fr, 1 + ntail[i], 0);
		cr_assert_geq(s, 0);
		ids[i] = (uint32_t)s + 1;
	}
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int idx = ttmem_proc_register(t);

		for (size_t i = 0; idx >= 0 && i < nstacks; i++) {
			struct ttmem_entry e;

			memset(&e, 0, sizeof(e));
			e.key.address = 0x10000 * (i + 1);
			e.type = TTMEM_TYPE_DRAM;
			e.size = 4096 * (i + 1);
			e.module = (uint16_t)m;
			e.callsite = cs;
			e.stack = ids[i];
			if (ttmem_insert(t, &e) < 0)
				_exit(2);
		}
		ttmem_flush(t);
		ttmem_proc_exit(t, idx);
		_exit(idx >= 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const char hand_script[] = "import os\n"
				  "def f():\n"
				  "    return alloc()  # three\n"
				  "f()\n";

#define SRC(m, line) TTMEM_FRAME((m), TTMEM_FRAME_SOURCE_LINE | (line))

/* An older writer's segment (ABI minor 1): its source files have no
 * function names; the viewer shows file:line and the line's text, as
 * before names existed. */
Test(pynames, segment_without_names_reads_as_file_and_line)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char *out, *err = NULL, want[600];
	int f;

	cr_assert_not_null(t);
	write_file(script, hand_script);
	f = ttmem_module_intern(t, script, NULL, 0);
	cr_assert_geq(f, 0);
	{
		uint64_t tail[4] = { SRC(f, 3), SRC(f, 4) };
		uint32_t ntail[1] = { 2 };

		insert_stacks(t, tail, ntail, 1);
	}
	ttmem_table_header_rw(t)->abi_minor = 1;
	ttmem_table_close(t);

	out = leaks(NULL);
	snprintf(want, sizeof(want), "from %s:3  | return alloc()  # three\n", script);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	snprintf(want, sizeof(want), "from %s:4  | f()\n", script);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	free(out);
	out = leaks("--json");
	{
		char *argv[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\ns=json.load(sys.stdin)\n"
				"g=[g for p in s['processes'] for g in p['groups']]\n"
				"assert len(g)==1 and g[0]['stack_status']=='ok',g\n"
				"st=g[0]['stack'][1:]\n"
				"assert [(f['file'],f['line'],f['function'],f['source_text']) for f in st]=="
				"[(sys.argv[1],3,None,'return alloc()  # three'),(sys.argv[1],4,None,'f()')],st\n",
			script, NULL };

		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	free(out);
}

/* Names next to plain files in one segment: a named entry shows its name,
 * its file's text is read (shared with the plain entry of the same file);
 * a name not NUL-terminated within its entry (a corrupt or hostile writer)
 * is no name, and the frame is still its file and line. */
Test(pynames, named_entries_and_an_unterminated_name)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char *out, *err = NULL, want[600];
	int f, named, bad;

	cr_assert_not_null(t);
	write_file(script, hand_script);
	f = ttmem_module_intern(t, script, NULL, 0);
	named = ttmem_module_intern_function(t, script, "Model.forward");
	bad = ttmem_module_intern_function(t, script, "zz");
	cr_assert(f >= 0 && named >= 0 && bad >= 0 && named != f && bad != named);
	{
		struct ttmem_module *m = (struct ttmem_module *)(uintptr_t)&ttmem_table_modules(t)[bad];
		size_t n = strlen(m->path);

		memset(m->path + n + 1, 'z', sizeof(m->path) - n - 1);
	}
	{
		uint64_t tail[8] = { SRC(named, 3), SRC(f, 4), 0, 0, SRC(bad, 3) };
		uint32_t ntail[2] = { 2, 1 };

		insert_stacks(t, tail, ntail, 2);
	}
	ttmem_table_close(t);

	out = leaks(NULL);
	snprintf(want, sizeof(want), "from %s:3 in Model.forward  | return alloc()  # three\n",
		 script);
	cr_assert(strstr(out, want), "no '%s' in\n%s", want, out);
	snprintf(want, sizeof(want), "from %s:3  | return alloc()  # three\n", script);
	cr_assert(strstr(out, want), "the unterminated name shown? no '%s' in\n%s", want, out);
	cr_assert_null(strstr(out, "zzz"), "%s", out);
	free(out);
	out = leaks("--json");
	{
		char *argv[] = { (char *)"python3", (char *)"-c",
			(char *)"import json,sys\ns=json.load(sys.stdin)\n"
				"g={x['bytes']:x for p in s['processes'] for x in p['groups']}\n"
				"fr=lambda b:[(f['file'],f['line'],f['function'],f['source_text']) for f in g[b]['stack'][1:]]\n"
				"t='return alloc()  # three'\n"
				"assert fr(4096)==[(sys.argv[1],3,'Model.forward',t),(sys.argv[1],4,None,'f()')],fr(4096)\n"
				"assert fr(8192)==[(sys.argv[1],3,None,t)],fr(8192)\n",
			script, NULL };

		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "%s\n%s", err, out);
		free(err);
	}
	{
		char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_schema.py",
				 (char *)"viewer/ttmem.schema.json", (char *)"leaks", NULL };

		cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "against the schema:\n%s\n%s",
			     err, out);
		free(err);
	}
	free(out);
}
