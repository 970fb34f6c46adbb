/* SPDX-License-Identifier: MIT */
/*
 * Queries a script relies on: `show --format csv[,noheader][,nounits]`,
 * `--query FIELD,...` against the emulator's ground truth, `--loop` (one
 * JSON document per line), filters naming a chip or pid the segment does not
 * have (an error, exit 15, named), `--processes` in every format, and the
 * peak of a killed process.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)
#define KiB (UINT64_C(1) << 10)

static char shm[128], truth[256];
static struct ttmem_table *seg;
static pid_t runner, victim;

static void up(void)
{
	static const struct segfix_alloc run[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_CQ, 0x1000, 14 * MiB },
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x1000, 256 * KiB },
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4 * MiB },
	};
	static const struct segfix_alloc dead[] = {
		{ 2, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 2 * MiB },
		{ 2, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x9000, 1 * MiB },
	};

	segfix_name(shm, sizeof(shm));
	snprintf(truth, sizeof(truth), "/tmp/ttmem-test-viewer-%d-qtruth.json", (int)getpid());
	seg = segfix_create(shm, 3, 12 * 1024 * MiB);
	cr_assert_not_null(seg);
	runner = segfix_child(shm, "runner", run, 3, SEGFIX_RUN);
	victim = segfix_child(shm, "victim", dead, 2, SEGFIX_KILLED);
	cr_assert(runner > 0 && victim > 0);
}

static void down(void)
{
	if (runner > 0)
		segfix_stop(runner);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	unlink(truth);
}

TestSuite(query, .init = up, .fini = down, .timeout = 60);

static char *run_ok(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", shm, a1, a2, a3, a4, NULL);

	cr_assert_eq(rc, 0, "show %s %s: exit %d: %s", a1, a2 ? a2 : "", rc, err);
	cr_assert_str_empty(err);
	free(err);
	return out;
}

Test(query, chip_fields_with_and_without_units)
{
	char *out = run_ok("--query", "index,memory.used,memory.total,memory.free,l1.used,"
			   "dram.system,dram.application,memory.percent,arch", NULL, NULL);
	char exp[1024];

	snprintf(exp, sizeof(exp),
		 "index,memory.used [B],memory.total [B],memory.free [B],l1.used [B],"
		 "dram.system [B],dram.application [B],memory.percent [%%],arch\n"
		 "0,%" PRIu64 " B,%" PRIu64 " B,%" PRIu64 " B,%" PRIu64 " B,%" PRIu64 " B,0 B,"
		 "0.11 %%,wormhole_b0\n"
		 "1,%" PRIu64 " B,%" PRIu64 " B,%" PRIu64 " B,0 B,0 B,%" PRIu64 " B,0.03 %%,wormhole_b0\n"
		 "2,0 B,%" PRIu64 " B,%" PRIu64 " B,0 B,0 B,0 B,0.00 %%,wormhole_b0\n",
		 14 * MiB, 12288 * MiB, 12288 * MiB - 14 * MiB, 256 * KiB, 14 * MiB,
		 4 * MiB, 12288 * MiB, 12288 * MiB - 4 * MiB, 4 * MiB,
		 12288 * MiB, 12288 * MiB);
	cr_assert_str_eq(out, exp);
	free(out);
	out = run_ok("--query", "index,memory.used,memory.percent", "--format", "csv,noheader,nounits");
	snprintf(exp, sizeof(exp), "0,%" PRIu64 ",0.11\n1,%" PRIu64 ",0.03\n2,0,0.00\n", 14 * MiB,
		 4 * MiB);
	cr_assert_str_eq(out, exp);
	free(out);
}

Test(query, process_rows_per_chip)
{
	char *out = run_ok("--query", "pid,process_name,state,index,used_memory,peak_memory,"
			   "left_memory", "--format", "csv,nounits");
	char exp[1024];

	snprintf(exp, sizeof(exp),
		 "pid,process_name,state,index,used_memory,peak_memory,left_memory\n"
		 "%d,runner,running,0,%" PRIu64 ",%" PRIu64 ",0\n"
		 "%d,runner,running,1,%" PRIu64 ",%" PRIu64 ",0\n"
		 "%d,victim,dead,2,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
		 (int)runner, 14 * MiB + 256 * KiB, 18 * MiB + 256 * KiB,
		 (int)runner, 4 * MiB, 18 * MiB + 256 * KiB,
		 (int)victim, 3 * MiB, 3 * MiB, 3 * MiB);
	cr_assert_str_eq(out, exp);
	free(out);
	/* nvidia-smi's spellings: per process even with chip fields only. */
	out = run_ok("--query-compute-apps", "index,memory.used", "--format=csv,noheader,nounits",
		     "--id=1");
	snprintf(exp, sizeof(exp), "1,%" PRIu64 "\n", 4 * MiB);
	cr_assert_str_eq(out, exp);
	free(out);
	/* --processes=none: the header and no process row. */
	out = run_ok("--query", "pid,index", "--processes=none", NULL);
	cr_assert_str_eq(out, "pid,index\n");
	free(out);
}

Test(query, default_csv_has_a_row_per_chip)
{
	char *out = run_ok("--format", "csv", NULL, NULL);

	cr_assert_eq(segfix_lines(out), 4, "%s", out);
	cr_assert(!strncmp(out, "timestamp,index,arch,dram.used [B],", 35), "%s", out);
	free(out);
}

Test(query, bad_fields_and_formats_are_named)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--query", "index,bogus",
				      NULL), 2);
	cr_assert_str_eq(err, "ttmem show: --query: unknown field 'bogus' (see QUERY FIELDS in "
			      "ttmem(1))\n");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--format", "csv,fancy",
				      NULL), 2);
	cr_assert(strstr(err, "--format: 'csv,fancy' is not"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--json", "--query",
				      "index", NULL), 2);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--loop", "0", NULL), 2);
	cr_assert(strstr(err, "--loop: '0' is not a number of seconds"), "%s", err);
	free(out);
	free(err);
}

/* Unknown chips and pids: exit 15, the value named, nothing on stdout. */
Test(query, unknown_filters_are_errors)
{
	static const char *const fmts[] = { NULL, "--json", "--prometheus", "--format=csv" };
	char *out = NULL, *err = NULL, exp[256];

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "-d", "7", fmts[i],
					      NULL), 15, "%s", err);
		snprintf(exp, sizeof(exp),
			 "ttmem show: %s: no chip 7 in the segment ('ttmem show' lists the chips)\n",
			 shm);
		cr_assert_str_eq(err, exp);
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "-p", "999999999", NULL),
		     15);
	snprintf(exp, sizeof(exp), "ttmem show: %s: no process with pid 999999999 in the segment\n",
		 shm);
	cr_assert_str_eq(err, exp);
	free(out);
	free(err);
	/* Known ones still work. */
	free(run_ok("-d", "2", NULL, NULL));
	{
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", (int)victim);
		free(run_ok("-p", pid, "--json", NULL));
	}
}

Test(query, processes_none_in_every_format)
{
	char *out = run_ok("--json", "--processes=none", NULL, NULL);

	cr_assert(strstr(out, "\"processes\":[]}"), "%s", out);
	free(out);
	out = run_ok("--prometheus", "--processes=none", NULL, NULL);
	cr_assert_null(strstr(out, "pid=\""), "%s", out);
	cr_assert(strstr(out, "ttmem_device_in_use_bytes{"), "%s", out);
	free(out);
	out = run_ok("--prometheus", NULL, NULL, NULL);
	cr_assert(strstr(out, "pid=\""), "%s", out);
	free(out);
	out = run_ok("--processes=none", NULL, NULL, NULL);
	cr_assert_null(strstr(out, "runner"), "%s", out);
	free(out);
}

Test(query, loop_gives_one_json_document_per_line)
{
	char *out = run_ok("--json", "--loop=0.05", "--count=3", NULL);
	char *line = out;
	int n = 0;

	while (line && *line) {
		char *nl = strchr(line, '\n'), *err = NULL;

		cr_assert_not_null(nl);
		*nl = 0;
		cr_assert_eq(segfix_check(line, &err, "schema", NULL, NULL), 0, "line %d: %s", n, err);
		free(err);
		n++;
		line = nl + 1;
	}
	cr_assert_eq(n, 3);
	free(out);
	/* CSV: one header, then the rows of every report. */
	out = run_ok("--query", "index,memory.used", "--loop=0.05", "--count=2");
	cr_assert_eq(segfix_lines(out), 1 + 2 * 3, "%s", out);
	free(out);
}

/* A killed writer's last counter batch is lost: the registry can say its
 * peak was 0 while its entries are still in the table.  The peak shown is
 * never below what the process left there. */
Test(query, killed_process_peak_is_at_least_what_it_left)
{
	struct ttmem_proc *pr = ttmem_table_procs_rw(seg);
	uint32_t n = ttmem_table_header(seg)->proc_capacity;
	char *out, exp[512], *err = NULL;

	for (uint32_t i = 0; i < n; i++)
		if (pr[i].pid == (uint32_t)victim) {
			atomic_store(&pr[i].peak_bytes, 0);
			atomic_store(&pr[i].live_bytes, 0);
		}
	out = run_ok("--json", NULL, NULL, NULL);
	snprintf(exp, sizeof(exp),
		 "{\"processes\":[{\"pid\":%d,\"state\":\"dead\",\"table_bytes\":%" PRIu64
		 ",\"peak_bytes\":%" PRIu64 "}]}", (int)victim, 3 * MiB, 3 * MiB);
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s\n%s", err, out);
	free(err);
	free(out);
	out = run_ok(NULL, NULL, NULL, NULL);
	/* Nothing live of any type, LIVE(ALL) 0, PEAK(ALL) what it left. */
	snprintf(exp, sizeof(exp), "%-8d victim           dead     %10s %10s %13s %10s %10s %10s %10s %10s",
		 (int)victim, "0 B", "0 B", "0 B", "0 B", "0 B", "0 B", "0 B", "3.00 MiB");
	cr_assert(strstr(out, exp), "%s", out);
	free(out);
}

/* The real thing: mesh_allocation on 8 chips, --query against TTEMU_TRUTH. */
Test(query, mesh_allocation_matches_ground_truth)
{
	char *argv[] = { (char *)"examples/bin/mesh_allocation", (char *)"--hold", (char *)"60000",
			 NULL };
	struct segfix_wl w;
	char *out, *err = NULL, pid[16];

	if (!segfix_have("libttmem.so") || !segfix_have("examples/bin/mesh_allocation"))
		cr_skip_test("the preload or the emulator is not built");
	segfix_stop(runner);
	runner = 0;
	ttmem_table_close(seg);
	seg = NULL;
	ttmem_table_unlink(shm);
	cr_assert_eq(segfix_wl_start(&w, shm, truth, NULL, argv), 0);
	cr_assert_eq(segfix_wl_expect(&w, "peak"), 0);
	snprintf(pid, sizeof(pid), "%d", (int)w.pid);
	out = run_ok("--query", "index,dram.used,l1.used,l1_small.used,trace.used,cb.used", NULL,
		     NULL);
	cr_assert_eq(segfix_check(out, &err, "csv-truth", truth, pid), 0, "%s\n%s", err, out);
	free(err);
	err = NULL;
	free(out);
	out = run_ok("--query", "pid,index,used_memory,dram.used,l1.used", NULL, NULL);
	cr_assert_eq(segfix_check(out, &err, "csv-truth", truth, pid), 0, "%s\n%s", err, out);
	free(err);
	free(out);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_expect(&w, "closed"), 0);
	segfix_wl_release(&w);
	cr_assert_eq(segfix_wl_wait(&w), 0);
}

/* A segment removed and created anew under the same name between runs:
 * --loop follows the name (as top does), it does not report the old one. */
Test(query, loop_follows_a_segment_created_anew)
{
	char path[256], *s = NULL;
	pid_t pid;
	int st;

	snprintf(path, sizeof(path), "/tmp/ttmem-test-viewer-%d-loop.csv", (int)getpid());
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		FILE *f = freopen(path, "w", stdout);

		if (!f)
			_exit(98);
		unsetenv("TTMEM_SHM");
		execl(segfix_ttmem(), "ttmem", "show", "--shm", shm, "--query", "index",
		      "--format", "csv,noheader", "--loop", "0.05", "--count", "60", (char *)NULL);
		_exit(99);
	}
	for (int i = 0; i < 200 && segfix_lines(s) < 3; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		free(s);
		nanosleep(&ts, NULL);
		s = segfix_read_file(path);
	}
	cr_assert_geq(segfix_lines(s), 3, "no report from the loop");
	free(s);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
	seg = segfix_create(shm, 5, 0);
	cr_assert_not_null(seg);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	s = segfix_read_file(path);
	unlink(path);
	cr_assert(strstr(s, "\n3\n4\n"), "the new segment's chips never shown:\n%s", s);
	free(s);
}
