/* SPDX-License-Identifier: MIT */
/*
 * probe on fake runtime libraries built three ways (fake_runtime.c), and on
 * things that are not runtime libraries; run with a dummy preload.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static const char *fixture(const char *name)
{
	static char buf[4][512];
	static unsigned n;
	const char *d = getenv("TTMEM_TEST_DIR");
	char *out = buf[n++ % 4];

	snprintf(out, sizeof(buf[0]), "%s/%s", d && *d ? d : "build/tests/viewer", name);
	return out;
}

static char *probe(int want, const char *lib, const char *json)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "probe", lib, json, NULL);

	cr_assert_eq(rc, want, "probe %s: exit %d, expected %d: %s", lib, rc, want, err);
	free(err);
	return out;
}

Test(probe, plt_library_works)
{
	char *out = probe(0, fixture("fake_plt.so"), NULL), *err = NULL;

	cr_assert(strstr(out, "  GraphTracker::track_allocate                     -    hook    yes      "
			      "interposable (1 PLT, 0 GOT, 0 abs)"), "%s", out);
	cr_assert(strstr(out, "  generation:  2025 (Allocator::deallocate_buffers exported, "
			      "Buffer::device() inline)\n"), "%s", out);
	cr_assert(strstr(out, "    release_at_close   works        interposed: Device::close, "
			      "MeshDevice::close, Allocator::deallocate_buffers\n"), "%s", out);
	cr_assert(strstr(out, "  verdict:     tracking will work: every hook is reached through the "
			      "PLT/GOT\n"), "%s", out);
	/* No track_program: launches from the program cache are not seen. */
	cr_assert(strstr(out, "    circular_buffers   degraded     GraphTracker::track_allocate_cb is "
			      "reached, GraphTracker::track_program is not"), "%s", out);
	free(out);
	out = probe(0, fixture("fake_plt.so"), "--json");
	cr_assert_eq(segfix_check(out, &err, "subset",
				  "{\"tracking\":\"works\",\"bound_directly\":false,"
				  "\"elf\":{\"dt_symbolic\":false,\"df_symbolic\":false},"
				  "\"hooks\":[{\"name\":\"Device::close\",\"present\":true,"
				  "\"interposable\":true,\"variants\":[{\"plt\":1}]},"
				  "{\"name\":\"Buffer::allocate_impl\",\"present\":false}]}", NULL), 0,
		     "%s", err);
	free(err);
	free(out);
}

Test(probe, symbolic_functions_library_is_refused)
{
	char *out = probe(21, fixture("fake_symbolic.so"), NULL);

	cr_assert(strstr(out, "  DT_SYMBOLIC no, DF_SYMBOLIC no"), "%s", out);
	cr_assert(strstr(out, "not called through the PLT (bound directly or inlined)"), "%s", out);
	cr_assert(strstr(out, "  binding:     bound directly (-Bsymbolic-functions)\n"), "%s", out);
	cr_assert(strstr(out, "  verdict:     tracking will NOT work"), "%s", out);
	free(out);
}

Test(probe, bsymbolic_library_is_refused)
{
	char *out = probe(21, fixture("fake_bsymbolic.so"), "--json"), *err = NULL;

	cr_assert_eq(segfix_check(out, &err, "subset",
				  "{\"tracking\":\"no\",\"bound_directly\":true,"
				  "\"binding\":\"bound directly (-Bsymbolic)\","
				  "\"elf\":{\"df_symbolic\":true},"
				  "\"hooks\":[{\"name\":\"GraphTracker::track_allocate\",\"present\":true,"
				  "\"interposable\":false}]}", NULL), 0, "%s", err);
	free(err);
	free(out);
}

Test(probe, partial_library)
{
	char *out = probe(20, fixture("fake_partial.so"), "--json"), *err = NULL;

	cr_assert_eq(segfix_check(out, &err, "subset",
				  "{\"tracking\":\"partial\",\"exit_code\":20,\"generation\":\"2025\","
				  "\"capabilities\":{\"circular_buffers\":{\"status\":\"unavailable\"},"
				  "\"frees\":{\"status\":\"works\"}},"
				  "\"hooks\":[{\"name\":\"GraphTracker::track_allocate_cb\","
				  "\"present\":false,\"required\":false}]}", NULL), 0, "%s", err);
	free(err);
	free(out);
}

Test(probe, not_a_runtime)
{
	char *out = probe(22, "/bin/sh", NULL);

	cr_assert(strstr(out, "  GraphTracker::track_allocate                     -    hook    MISSING"),
		  "%s", out);
	cr_assert(strstr(out, "  generation:  none (matches no known generation)\n"), "%s", out);
	cr_assert(strstr(out, "    allocations        unavailable  GraphTracker::track_allocate is "
			      "not exported\n"), "%s", out);
	free(out);
}

Test(probe, unreadable)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "probe", "/nonexistent/libtt_metal.so", NULL), 23);
	cr_assert_str_eq(err, "ttmem probe: /nonexistent/libtt_metal.so: No such file or directory\n");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "probe", "tests/viewer/viewer_check.py", NULL), 23);
	cr_assert_str_eq(err, "ttmem probe: tests/viewer/viewer_check.py: not an ELF file\n");
	free(out);
	free(err);
}

/* ---- run ------------------------------------------------------------------ */

static int run(char **out, char **err, const char *a1, const char *a2, const char *a3,
	       const char *a4, const char *a5)
{
	setenv("TTMEM_PRELOAD", fixture("fake_preload.so"), 1);
	return segfix_ttmem_run(out, err, "run", "--shm", "/ttmem-test-viewer-run", a1, a2, a3, a4,
				a5, NULL);
}

Test(run, sets_the_environment_and_passes_the_status)
{
	char *out = NULL, *err = NULL, want[1024];

	cr_assert_eq(run(&out, &err, "--", "sh", "-c", "echo \"$LD_PRELOAD|$TTMEM_SHM\"; exit 7", NULL), 7);
	snprintf(want, sizeof(want), "%s|/ttmem-test-viewer-run\n", fixture("fake_preload.so"));
	cr_assert_str_eq(out, want);
	cr_assert(strstr(err, "ttmem run: tracking 'sh' into segment /ttmem-test-viewer-run"), "%s", err);
	cr_assert(strstr(err, "ttmem run: 'sh' exited with status 7; see 'ttmem show --shm "
			      "/ttmem-test-viewer-run' and 'ttmem leaks --shm /ttmem-test-viewer-run'\n"),
		  "%s", err);
	free(out);
	free(err);
}

Test(run, keeps_an_existing_preload_and_quiet)
{
	char *out = NULL, *err = NULL, want[1024];

	setenv("LD_PRELOAD", "", 1);
	cr_assert_eq(run(&out, &err, "-q", "--", "sh", "-c", "echo $LD_PRELOAD"), 0);
	snprintf(want, sizeof(want), "%s\n", fixture("fake_preload.so"));
	cr_assert_str_eq(out, want);
	cr_assert_str_empty(err);
	free(out);
	free(err);
}

Test(run, killed_command)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(run(&out, &err, "--", "sh", "-c", "kill -9 $$", NULL), 128 + 9);
	cr_assert(strstr(err, "was killed by signal 9"), "%s", err);
	free(out);
	free(err);
}

Test(run, command_not_found_or_not_executable)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(run(&out, &err, "-q", "--", "/nonexistent/cmd", NULL, NULL), 127);
	cr_assert_str_eq(err, "ttmem run: /nonexistent/cmd: No such file or directory\n");
	free(out);
	free(err);
	cr_assert_eq(run(&out, &err, "-q", "--", "tests/viewer/segfix.h", NULL, NULL), 126);
	cr_assert_str_eq(err, "ttmem run: tests/viewer/segfix.h: Permission denied\n");
	free(out);
	free(err);
}

Test(run, no_preload_library)
{
	char *out = NULL, *err = NULL;

	setenv("TTMEM_PRELOAD", "/nonexistent/libttmem.so", 1);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "run", "--", "true", NULL), 125);
	cr_assert_eq(segfix_lines(err), 1, "%s", err);
	cr_assert(strstr(err, "ttmem run: cannot find libttmem.so"), "%s", err);
	free(out);
	free(err);
}

/* track_program is defined by the fake runtime and called only from
 * another library: reached through that library's PLT, counted with
 * --caller, and only then do circular buffers fully work. */
Test(probe, caller_library_reaches_a_hook)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "probe", "--caller", fixture("fake_caller.so"),
				  fixture("fake_plt.so"), NULL);

	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert(strstr(out, "  GraphTracker::track_program                      -    hook    yes      "
			      "interposable (0 PLT, 0 GOT, 0 abs, 1 in callers)"), "%s", out);
	cr_assert(strstr(out, "    circular_buffers   works        GraphTracker::track_allocate_cb is "
			      "reached through the PLT/GOT\n"), "%s", out);
	free(out);
	free(err);
	out = probe(0, fixture("fake_plt.so"), NULL);
	cr_assert(strstr(out, "  GraphTracker::track_program                      -    hook    yes      "
			      "not called through the PLT"), "%s", out);
	free(out);
}

Test(probe, caller_that_is_not_readable)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "probe", "--caller", "/nonexistent/lib.so",
				  fixture("fake_plt.so"), NULL);

	cr_assert_eq(rc, 23, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "caller /nonexistent/lib.so: No such file or directory"), "%s", err);
	free(out);
	free(err);
}
