/* SPDX-License-Identifier: MIT */
/*
 * Preload tests, basic group: programs that never load tt-metal, the
 * configuration, and the symbolic build.  Numbered so they run first.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "harness.h"

/* Run argv with and without the preload: same status, same output, and
 * the segment is never created. */
static void same_as_without(const char *const argv[])
{
	struct seg s;
	struct run a, b;

	seg_make(&s);
	run_start(&a, &s, 0, argv, NULL);
	int st_a = run_wait(&a);
	run_start(&b, &s, 1, argv, NULL);
	int st_b = run_wait(&b);
	char *oa = run_stdout(&a), *ob = run_stdout(&b);
	char *ea = run_stderr(&a), *eb = run_stderr(&b);

	cr_expect_eq(st_a, st_b, "%s: status %#x without the preload, %#x with it", argv[0], st_a,
		     st_b);
	cr_expect_str_eq(oa, ob, "%s: stdout differs", argv[0]);
	cr_expect_str_eq(ea, eb, "%s: stderr differs", argv[0]);
	struct ttmem_table *t = seg_open(&s);
	cr_expect_null(t, "%s created the segment %s", argv[0], s.name);
	ttmem_table_close(t);
	free(oa), free(ob), free(ea), free(eb);
	run_cleanup(&a);
	run_cleanup(&b);
	seg_drop(&s);
}

Test(p01_passthrough, bin_true)
{
	const char *const argv[] = { "/bin/true", NULL };
	same_as_without(argv);
}

Test(p01_passthrough, python_pass)
{
	const char *const argv[] = { "/usr/bin/python3", "-c", "pass", NULL };
	same_as_without(argv);
}

Test(p01_passthrough, sh_status_and_output)
{
	const char *const argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	same_as_without(argv);
}

Test(p01_passthrough, sh_killed_by_signal)
{
	const char *const argv[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	same_as_without(argv);
}

/* ---- configuration ---------------------------------------------------------------- */

static const char *mesh_bin(void)
{
	return bpath("examples/bin/mesh_allocation");
}

/* Run mesh_allocation once to the end (no holds), return stderr. */
static char *mesh_once(const struct seg *s, const char *const env[], int *status)
{
	struct run r;
	char what[16];
	int n;
	const char *const argv[] = { mesh_bin(), "--seed", "3", "--hold", "60000", NULL };

	run_start(&r, s, 1, argv, env);
	while (run_next(&r, what, sizeof(what), &n) == 0)
		run_continue(&r);
	*status = run_wait(&r);
	char *err = run_stderr(&r);
	run_cleanup(&r);
	return err;
}

Test(p02_config, disable_is_pass_through)
{
	struct seg s;
	int st;
	const char *const env[] = { "TTMEM_DISABLE=1", NULL };

	seg_make(&s);
	char *err = mesh_once(&s, env, &st);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect(strstr(err, "ttmem") == NULL, "TTMEM_DISABLE=1 printed: %s", err);
	struct ttmem_table *t = seg_open(&s);
	cr_expect_null(t, "TTMEM_DISABLE=1 created the segment");
	ttmem_table_close(t);
	free(err);
	seg_drop(&s);
}

/* TTMEM_DISABLE=1 even with TTMEM_LOG=debug: not a word on stderr (no
 * attaching to the runtime, no probing), the same status and output as
 * without the preload, no segment.  Linked, dlopen'ed RTLD_LOCAL by Python
 * (the originals are then found in the runtime object itself), and linked
 * with -Bsymbolic-functions. */
static void disabled_same_as_without(const char *const argv[], const char *libpath)
{
	struct seg s;
	struct run a, b;
	const char *const env_a[] = { libpath, NULL };
	const char *const env[] = { "TTMEM_DISABLE=1", "TTMEM_LOG=debug", libpath, NULL };
	char what[16];
	int n;

	seg_make(&s);
	run_start(&a, &s, 0, argv, env_a);
	while (run_next(&a, what, sizeof(what), &n) == 0)
		run_continue(&a);
	int st_a = run_wait(&a);
	run_start(&b, &s, 1, argv, env);
	while (run_next(&b, what, sizeof(what), &n) == 0)
		run_continue(&b);
	int st_b = run_wait(&b);
	char *oa = run_stdout(&a), *ob = run_stdout(&b), *eb = run_stderr(&b);

	cr_expect_eq(st_a, st_b, "%s: status %#x without the preload, %#x with it", argv[0], st_a,
		     st_b);
	cr_expect(WIFEXITED(st_b) && WEXITSTATUS(st_b) == 0, "%s: status %#x", argv[0], st_b);
	cr_expect_str_eq(oa, ob, "%s: stdout differs", argv[0]);
	cr_expect_str_empty(eb, "%s: TTMEM_DISABLE=1 TTMEM_LOG=debug printed: %s", argv[0], eb);
	struct ttmem_table *t = seg_open(&s);
	cr_expect_null(t, "%s: TTMEM_DISABLE=1 created the segment", argv[0]);
	ttmem_table_close(t);
	free(oa), free(ob), free(eb);
	run_cleanup(&a);
	run_cleanup(&b);
	seg_drop(&s);
}

Test(p02_config, disable_is_silent_with_debug_log, .timeout = 60)
{
	const char *const mesh[] = { mesh_bin(), "--seed", "3", "--hold", "60000", NULL };
	const char *const py[] = { bpath("examples/bin/ctypes_alloc.py"), "--chips", "4",
				   "--seed", "6", "--hold", "60000", NULL };

	static char symbolic[600];

	disabled_same_as_without(mesh, NULL);
	disabled_same_as_without(py, NULL);
	/* The -Bsymbolic runtime: no "cannot be interposed" warning either. */
	snprintf(symbolic, sizeof(symbolic), "LD_LIBRARY_PATH=%s", bpath("examples/symbolic"));
	disabled_same_as_without(mesh, symbolic);
}

Test(p02_config, invalid_values_warn_and_default)
{
	static const char *const cases[][2] = {
		{ "TTMEM_CAPACITY=12345", "TTMEM_CAPACITY=12345" },
		{ "TTMEM_CAPACITY=lots", "TTMEM_CAPACITY=lots" },
		{ "TTMEM_LOG=loud", "TTMEM_LOG=loud" },
		{ "TTMEM_DISABLE=yes", "TTMEM_DISABLE=yes" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct seg s;
		int st;
		const char *const env[] = { cases[i][0], NULL };

		seg_make(&s);
		char *err = mesh_once(&s, env, &st);
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x", cases[i][0], st);
		cr_expect(strstr(err, cases[i][1]) != NULL, "%s: no warning naming it: %s",
			  cases[i][0], err);
		struct ttmem_table *t = seg_open(&s);
		cr_expect_not_null(t, "%s: not tracked with the default", cases[i][0]);
		if (t)
			cr_expect_eq(ttmem_table_header(t)->capacity, TTMEM_DEFAULT_CAPACITY,
				     "%s: capacity", cases[i][0]);
		ttmem_table_close(t);
		free(err);
		seg_drop(&s);
	}
}

Test(p02_config, capacity_and_quiet)
{
	struct seg s;
	int st;
	const char *const env[] = { "TTMEM_CAPACITY=4096", "TTMEM_LOG=quiet", NULL };

	seg_make(&s);
	char *err = mesh_once(&s, env, &st);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect(strstr(err, "ttmem:") == NULL, "TTMEM_LOG=quiet printed: %s", err);
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	cr_expect_eq(ttmem_table_header(t)->capacity, 4096);
	ttmem_table_close(t);
	free(err);
	seg_drop(&s);
}

Test(p02_config, unusable_segment_warns_once_and_runs)
{
	struct seg s;
	int st;
	/* A regular file that is not a segment: foreign magic. */
	char path[] = "/tmp/ttmem-foreign-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert(write(fd, "this is not a ttmem segment", 27) == 27);
	close(fd);
	snprintf(s.name, sizeof(s.name), "%s", path);
	char *err = mesh_once(&s, NULL, &st);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect(strstr(err, "ttmem: not tracking") != NULL, "no warning: %s", err);
	char *second = strstr(err, "ttmem: not tracking");
	cr_expect(second && !strstr(second + 1, "ttmem: not tracking"), "warned twice: %s", err);
	free(err);
	unlink(path);
}

/* ---- the symbolic build ------------------------------------------------------------ */

/* Every build linked again with -Bsymbolic-functions (preload-tests.mk):
 * tests/preload/symbolic/<generation>/<compiler>. */
H_BUILD_TEST(p04_symbolic, warns_at_start_and_runs, .timeout = 60)
{
	struct seg s;
	int st;
	char symbolic[256];
	const char *const *env = NULL;

	snprintf(symbolic, sizeof(symbolic), "tests/preload/symbolic/%s",
		 build + strlen("examples/"));
	h_use_build(symbolic);

	seg_make(&s);
	char *err = mesh_once(&s, env, &st);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	strcat(symbolic, "/libtt_metal.so");
	cr_expect(strstr(err, "-Bsymbolic") && strstr(err, symbolic),
		  "no -Bsymbolic warning naming the runtime %s: %s", symbolic, err);
	cr_expect(strstr(err, "see NO allocations") != NULL, "warning does not say what it means");
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t, "the process was not registered");
	const struct ttmem_proc *p = ttmem_table_procs(t);
	int flagged = 0;
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		if (p[i].flags & TTMEM_PROC_F_NOT_INTERPOSABLE)
			flagged = 1;
	cr_expect(flagged, "registry entry lacks TTMEM_PROC_F_NOT_INTERPOSABLE");
	ttmem_table_close(t);
	free(err);
	seg_drop(&s);
}

/* ---- a runtime with another Buffer layout ------------------------------------------ */

/* The fake's two live buffers, recorded from what its getters vouch for:
 * no device, 32-bit address; the process flagged partly tracked. */
static void assert_getter_entries(const struct seg *s, pid_t pid)
{
	struct ttmem_table *t = seg_open(s);
	cr_assert_not_null(t);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	cr_expect_eq(snap.count, 2, "entries: the two buffers never freed");
	for (size_t i = 0; i < snap.count; i++) {
		const struct ttmem_entry *e = &snap.entries[i];
		cr_expect_eq(e->key.device, TTMEM_DEVICE_UNKNOWN, "device recorded without being trusted");
		if (e->type == TTMEM_TYPE_DRAM) {
			cr_expect_eq(e->key.address, 0x1000);
			cr_expect_eq(e->size, 8192);
		} else {
			cr_expect_eq(e->type, TTMEM_TYPE_L1);
			cr_expect_eq(e->key.address, 0x3000);
			cr_expect_eq(e->size, 4096);
		}
	}
	ttmem_snapshot_free(&snap);
	const struct ttmem_proc *p = ttmem_table_procs(t);
	int partial = 0;
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		if (p[i].pid == (uint32_t)pid)
			partial = (p[i].flags & TTMEM_PROC_F_ABI_PARTIAL) != 0;
	cr_expect(partial, "process not flagged TTMEM_PROC_F_ABI_PARTIAL");
	ttmem_table_close(t);
}

Test(p10_abi, layout_mismatch_warns_once_and_degrades)
{
	struct seg s;
	struct run r;
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = run_wait(&r);
	char *err = run_stderr(&r), *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_str_eq(out, "fake runtime done\n");
	const char *w = strstr(err, "Buffer layout is not the one of generation 2025 ");
	cr_expect_not_null(w, "no warning: %s", err);
	cr_expect(w && !strstr(w + 1, "Buffer layout is not"), "warned twice: %s", err);
	cr_expect(!strstr(err, "no known generation"), "identified as unknown: %s", err);
	assert_getter_entries(&s, r.pid);
	free(err);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * A runtime of no known generation: read through its exported getters
 * alone (the fields are never read, so no layout warning), one warning that
 * names what is missing (device(): chips unknown), the same entries.
 */
Test(p10_abi, unknown_generation_getters_only_one_warning)
{
	struct seg s;
	struct run r;
	char libpath[600], abs[512];
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), NULL };

	cr_assert(realpath(bpath("tests/preload/fake-unknown"), abs));
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s", abs);
	const char *const env[] = { libpath, NULL };
	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	int st = run_wait(&r);
	char *err = run_stderr(&r), *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_str_eq(out, "fake runtime done\n");
	const char *w = strstr(err, "matches no known generation (2025, 2025b, 2026): tracked "
				    "through its exported getters alone; missing: Buffer::device()");
	cr_expect_not_null(w, "no warning: %s", err);
	cr_expect(w && !strstr(w + 20, "no known generation"), "warned twice: %s", err);
	cr_expect(strstr(err, "MeshDevice::get_devices() (mesh") && !strstr(err, "not exported"),
		  "not one warning: %s", err);
	cr_expect(!strstr(err, "Buffer layout"), "fields were read: %s", err);
	assert_getter_entries(&s, r.pid);
	free(err);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * A library preloaded next to libttmem.so exports Buffer::device() and
 * size() of another layout under the runtime's names (the runtime of no
 * known generation exports neither).  They are never called: the buffers
 * are the ones the runtime's own getters vouch for, and the process runs
 * as without ttmem (device() of that layout would answer 0x7, a crash).
 * The library also calls its own copy of an inline runtime destructor
 * while it loads, through libttmem.so's hook: ttmem still attaches to the
 * runtime, not to that library.
 */
Test(p10_abi, getters_of_another_library_never_bound)
{
	struct seg s;
	struct run r;
	char libpath[600], preload[1200], abs[512], lib[512], foreign[512];
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), NULL };

	cr_assert(realpath(bpath("tests/preload/fake-unknown"), abs));
	cr_assert(realpath(bpath("libttmem.so"), lib));
	cr_assert(realpath(bpath("tests/preload/fake/libforeign.so"), foreign));
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s", abs);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s %s", lib, foreign);
	const char *const env[] = { libpath, preload, NULL };
	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	int st = run_wait(&r);
	char *err = run_stderr(&r), *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_str_eq(out, "fake runtime done\n");
	cr_expect(strstr(err, "missing: Buffer::device()") != NULL,
		  "the other library's device() was taken for the runtime's: %s", err);
	assert_getter_entries(&s, r.pid);
	free(err);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

/*
 * A runtime of no known generation whose Buffer::device() answers an
 * object that is not a device (no vtable of the runtime's, no Device RTTI):
 * never read through or called, one warning, buffers recorded without
 * their chip.
 */
Test(p10_abi, unknown_generation_device_not_a_device)
{
	struct seg s;
	struct run r;
	char libpath[600], abs[512];
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), NULL };

	cr_assert(realpath(bpath("tests/preload/fake-baddev"), abs));
	snprintf(libpath, sizeof(libpath), "LD_LIBRARY_PATH=%s", abs);
	const char *const env[] = { libpath, NULL };
	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	int st = run_wait(&r);
	char *err = run_stderr(&r), *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x: %s", st, err);
	cr_expect_str_eq(out, "fake runtime done\n");
	const char *w = strstr(err, "which is not a tt-metal Device or MeshDevice");
	cr_expect_not_null(w, "no warning: %s", err);
	cr_expect(w && !strstr(w + 10, "not a tt-metal Device"), "warned twice: %s", err);
	assert_getter_entries(&s, r.pid);
	free(err);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

/* ---- owners ------------------------------------------------------------------------ */

/*
 * A memory manager's constructor allocates a buffer, builds a command queue
 * (which allocates one: owned by the queue, the innermost scope), then
 * allocates another (owned by the manager again: the inner scope closed).
 * The application then allocates (owned by it: no scope left open).  The
 * manager is destroyed with its queue, reporting nothing: their buffers
 * are released in bulk when their owners die, the application's is not.
 */
Test(p11_owners, nested_scopes_and_owner_destruction)
{
	struct seg s;
	struct run r;
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), "--owners", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, NULL);
	int st = run_wait(&r);
	char *out = run_stdout(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	cr_expect_str_eq(out, "owners done\n");

	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	const struct ttmem_proc *p = NULL;
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		if (ttmem_table_procs(t)[i].pid == (uint32_t)r.pid)
			p = &ttmem_table_procs(t)[i];
	cr_assert_not_null(p);
	cr_expect_eq(atomic_load(&p->released_bulk[TTMEM_OWNER_CQ][TTMEM_TYPE_L1]), 4096,
		     "the queue's buffer, released when the queue died");
	cr_expect_eq(atomic_load(&p->released_bulk[TTMEM_OWNER_SYSMEM][TTMEM_TYPE_DRAM]), 8192 + 2048,
		     "the manager's two buffers, released when it died");
	cr_expect_eq(atomic_load(&p->released_bulk[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]), 0);
	cr_expect_eq(atomic_load(&p->live_at_exit[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM]), 6144,
		     "the application's buffer, still live at exit");
	cr_expect_eq(atomic_load(&p->live_at_exit[TTMEM_OWNER_CQ][TTMEM_TYPE_L1]), 0);
	cr_expect_eq(atomic_load(&p->live_at_exit[TTMEM_OWNER_SYSMEM][TTMEM_TYPE_DRAM]), 0);
	ttmem_table_close(t);
	free(out);
	run_cleanup(&r);
	seg_drop(&s);
}

/* A hook fired by the runtime's own static constructor, possibly before
 * libttmem.so's constructor ran: lazy start-up records it. */
Test(p12_early, allocation_from_a_runtime_constructor)
{
	struct seg s;
	struct run r;
	const char *const argv[] = { bpath("tests/preload/fake/fake_main"), "--owners", NULL };
	const char *const env[] = { "FAKE_EARLY=1", NULL };

	seg_make(&s);
	run_start(&r, &s, 1, argv, env);
	int st = run_wait(&r);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
	struct ttmem_table *t = seg_open(&s);
	cr_assert_not_null(t);
	struct ttmem_snapshot snap;
	cr_assert_eq(ttmem_snapshot(t, &snap), 0);
	int early = 0;
	for (size_t i = 0; i < snap.count; i++)
		early |= snap.entries[i].key.address == 0x7000 && snap.entries[i].size == 2048 &&
			 snap.entries[i].pid == (uint32_t)r.pid;
	cr_expect(early, "the allocation made during start-up was not recorded");
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	run_cleanup(&r);
	seg_drop(&s);
}
