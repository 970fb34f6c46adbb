/* SPDX-License-Identifier: MIT */
/*
 * show (text, JSON, Prometheus), filters, and the write operations (clear,
 * baseline, reap) on segments built with the table API, with processes in
 * every state: running, exited normally, killed.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)
#define KiB (UINT64_C(1) << 10)

struct scene {
	char name[128];
	struct ttmem_table *t;
	pid_t runner, exiter, victim;
};

static struct scene sc;

/*
 * chip 0: runner 14 MiB DRAM (command queue) + 256 KiB L1
 * chip 1: runner 4 MiB DRAM + 64 KiB CB
 * chip 2: exiter (exited normally) 1 MiB DRAM + 4 KiB L1_SMALL: left at exit
 * chip 3: victim (SIGKILLed) 2 MiB DRAM: orphaned
 */
static void scene_up(void)
{
	static const struct segfix_alloc run[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_CQ, 0x1000, 14 * MiB },
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x1000, 256 * KiB },
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4 * MiB },
		{ 1, TTMEM_TYPE_CB, TTMEM_OWNER_APP, 0x100, 64 * KiB },
	};
	static const struct segfix_alloc ex[] = {
		{ 2, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x5000, 1 * MiB },
		{ 2, TTMEM_TYPE_L1_SMALL, TTMEM_OWNER_APP, 0x5000, 4 * KiB },
	};
	static const struct segfix_alloc dead[] = {
		{ 3, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 2 * MiB },
	};

	segfix_name(sc.name, sizeof(sc.name));
	sc.t = segfix_create(sc.name, 4, 12 * 1024 * MiB);
	cr_assert_not_null(sc.t);
	sc.runner = segfix_child(sc.name, "runner", run, 4, SEGFIX_RUN);
	sc.exiter = segfix_child(sc.name, "exiter", ex, 2, SEGFIX_EXIT);
	sc.victim = segfix_child(sc.name, "victim", dead, 1, SEGFIX_KILLED);
	cr_assert(sc.runner > 0 && sc.exiter > 0 && sc.victim > 0);
}

static void scene_down(void)
{
	if (sc.runner > 0)
		segfix_stop(sc.runner);
	ttmem_table_close(sc.t);
	ttmem_table_unlink(sc.name);
}

TestSuite(show, .init = scene_up, .fini = scene_down);

static char *show(const char *a1, const char *a2, const char *a3)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", sc.name, a1, a2, a3, NULL);

	cr_assert_eq(rc, 0, "show %s: exit %d: %s", a1 ? a1 : "", rc, err);
	cr_assert_str_empty(err);
	free(err);
	return out;
}

static void check(const char *json, const char *expected)
{
	char *err = NULL;
	int rc = segfix_check(json, &err, "subset", expected, NULL);

	cr_assert_eq(rc, 0, "mismatches:\n%s\nin: %s", err, json);
	free(err);
}

Test(show, json_every_field)
{
	char *out = show("--json", NULL, NULL), *err = NULL, exp[4096];

	cr_assert_eq(segfix_check(out, &err, "schema", NULL, NULL), 0, "%s", err);
	free(err);
	snprintf(exp, sizeof(exp),
		 "{\"schema\":\"ttmem/1\","
		 "\"segment\":{\"capacity\":4096,\"entries\":7,\"drops\":0,\"unmatched\":0,"
		 "\"processes_registered\":3},"
		 "\"devices\":["
		 "{\"device\":0,\"arch\":\"wormhole_b0\",\"buffers\":2,"
		 "\"in_use\":{\"DRAM\":%" PRIu64 ",\"L1\":%" PRIu64 ",\"L1_SMALL\":0,\"TRACE\":0,\"CB\":0},"
		 "\"system\":{\"DRAM\":%" PRIu64 ",\"L1\":0},"
		 "\"application\":{\"DRAM\":0,\"L1\":%" PRIu64 "},"
		 "\"capacity\":{\"DRAM\":%" PRIu64 ",\"L1\":null},"
		 "\"capacity_source\":{\"DRAM\":\"segment\",\"L1\":\"unknown\"},"
		 "\"baseline\":null,\"delta\":null},"
		 "{\"device\":1,\"in_use\":{\"DRAM\":%" PRIu64 ",\"CB\":%" PRIu64 "},"
		 "\"application\":{\"DRAM\":%" PRIu64 ",\"CB\":%" PRIu64 "}},"
		 "{\"device\":2,\"in_use\":{\"DRAM\":0,\"L1_SMALL\":0},"
		 "\"exited\":{\"DRAM\":%" PRIu64 ",\"L1_SMALL\":4096},\"orphaned\":{\"DRAM\":0}},"
		 "{\"device\":3,\"in_use\":{\"DRAM\":0},\"orphaned\":{\"DRAM\":%" PRIu64 "}},"
		 "\"$exact\"],"
		 "\"processes\":["
		 "{\"pid\":%d,\"name\":\"runner\",\"state\":\"running\",\"live_bytes\":%" PRIu64 ","
		 "\"peak_bytes\":%" PRIu64 ",\"entries\":4,\"allocs\":4,"
		 "\"devices\":[{\"device\":0,\"bytes\":%" PRIu64 ",\"types\":{\"DRAM\":%" PRIu64 "}},"
		 "{\"device\":1,\"bytes\":%" PRIu64 "},\"$exact\"]},"
		 "{\"pid\":%d,\"name\":\"exiter\",\"state\":\"exited\",\"live_bytes\":0,"
		 "\"table_bytes\":%" PRIu64 ",\"peak_bytes\":%" PRIu64 "},"
		 "{\"pid\":%d,\"name\":\"victim\",\"state\":\"dead\",\"live_bytes\":0,"
		 "\"table_bytes\":%" PRIu64 "},\"$exact\"]}",
		 14 * MiB, 256 * KiB, 14 * MiB, 256 * KiB, 12 * 1024 * MiB,
		 4 * MiB, 64 * KiB, 4 * MiB, 64 * KiB,
		 1 * MiB, 2 * MiB,
		 (int)sc.runner, 18 * MiB + 320 * KiB, 18 * MiB + 320 * KiB,
		 14 * MiB + 256 * KiB, 14 * MiB, 4 * MiB + 64 * KiB,
		 (int)sc.exiter, 1 * MiB + 4 * KiB, 1 * MiB + 4 * KiB,
		 (int)sc.victim, 2 * MiB);
	check(out, exp);
	free(out);
}

Test(show, text_table_human_sizes)
{
	char *out = show(NULL, NULL, NULL);

	/* chip 0 DRAM: 14 MiB in use, all system, of 12 GiB: 0.1% */
	cr_assert(strstr(out, "0     DRAM            14.0 MiB   14.0 MiB         0 B   12.0 GiB   0.1%"),
		  "%s", out);
	cr_assert(strstr(out, "      L1               256 KiB        0 B     256 KiB          ?      -"),
		  "%s", out);
	/* chip 3: the dead process's 2 MiB are orphaned, not in use */
	cr_assert(strstr(out, "3     DRAM                 0 B        0 B         0 B   12.0 GiB   0.0%   2.00 MiB        0 B"),
		  "%s", out);
	/* Its live bytes per type (DRAM 14 MiB + 4 MiB, L1 256 KiB, CB 64 KiB),
	 * then all types added up, live and peak. */
	cr_assert(strstr(out, "runner           running    18.0 MiB    256 KiB           0 B        0 B"
			      "        0 B   64.0 KiB   18.3 MiB   18.3 MiB"), "%s", out);
	cr_assert(strstr(out, "victim           dead            0 B"), "%s", out);
	cr_assert(strstr(out, "exiter           exited          0 B"), "%s", out);
	cr_assert(strstr(out, "7 of 4096 slots used"), "%s", out);
	cr_assert(strstr(out, "2.00 MiB of orphaned entries (dead processes; not counted as in use)"),
		  "%s", out);
	free(out);
}

Test(show, processes_none_and_released)
{
	char *out = show("--processes=none", NULL, NULL);

	cr_assert_null(strstr(out, "runner"));
	cr_assert(strstr(out, "CHIP  TYPE"));
	free(out);
	out = show("--released", NULL, NULL);
	cr_assert(strstr(out, "Freed by the runtime in bulk"), "%s", out);
	free(out);
}

Test(show, device_filter)
{
	char *out = show("--json", "--device", "1"), exp[1024];

	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":1,\"in_use\":{\"DRAM\":%" PRIu64 "}},\"$exact\"],"
		 "\"processes\":[{\"pid\":%d,\"live_bytes\":%" PRIu64 ",\"devices\":[{\"device\":1},"
		 "\"$exact\"]}]}",
		 4 * MiB, (int)sc.runner, 4 * MiB + 64 * KiB);
	check(out, exp);
	free(out);
}

Test(show, pid_filter)
{
	char pid[16], *out, exp[1024];

	snprintf(pid, sizeof(pid), "%d", (int)sc.victim);
	out = show("--json", "--pid", pid);
	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":0,\"in_use\":{\"DRAM\":0}},"
		 "{\"device\":3,\"orphaned\":{\"DRAM\":%" PRIu64 "}}],"
		 "\"processes\":[{\"pid\":%d,\"state\":\"dead\"},\"$exact\"]}",
		 2 * MiB, (int)sc.victim);
	check(out, exp);
	free(out);
}

Test(show, shm_flag_overrides_env)
{
	char *out = NULL, *err = NULL;
	char *argv[] = { (char *)segfix_ttmem(), (char *)"show", (char *)"--shm", sc.name,
			 (char *)"--json", NULL };

	setenv("TTMEM_SHM", "/ttmem-test-viewer-does-not-exist", 1);
	cr_assert_eq(segfix_run(argv, &out, &err), 0, "%s", err);
	free(out);
	free(err);
	/* and the environment alone works */
	{
		char *argv2[] = { (char *)segfix_ttmem(), (char *)"show", NULL };

		setenv("TTMEM_SHM", sc.name, 1);
		cr_assert_eq(segfix_run(argv2, &out, &err), 0, "%s", err);
		cr_assert(strstr(out, "runner"));
		free(out);
		free(err);
	}
}

Test(show, prometheus_parsed)
{
	char *out = show("--prometheus", NULL, NULL), *parsed = NULL, *err = NULL, exp[2048];
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/viewer_check.py", (char *)"prom",
			 NULL };

	cr_assert_eq(segfix_pipe(argv, out, &parsed, &err), 0, "format errors:\n%s", err);
	free(err);
	/* Samples are [labels, value]; matched by position within the family is
	 * fragile, so check the values through a subset on a summary. */
	snprintf(exp, sizeof(exp),
		 "{\"ttmem_segment_entries\":[[{},7.0]],\"ttmem_segment_slots\":[[{},4096.0]],"
		 "\"ttmem_drops_total\":[[{},0.0]],\"ttmem_unmatched_frees_total\":[[{},0.0]]}");
	check(parsed, exp);
	/* Every in-use sample we know, by its labels; each carries the segment. */
	{
		static const char *const want[] = {
			"ttmem_device_in_use_bytes{segment=\"%s\",device=\"0\",type=\"DRAM\",owner=\"system\"} 14680064\n",
			"ttmem_device_in_use_bytes{segment=\"%s\",device=\"0\",type=\"DRAM\",owner=\"application\"} 0\n",
			"ttmem_device_orphaned_bytes{segment=\"%s\",device=\"3\",type=\"DRAM\"} 2097152\n",
			"ttmem_device_capacity_bytes{segment=\"%s\",device=\"0\",type=\"DRAM\"} 12884901888\n",
		};
		char line[256];

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			snprintf(line, sizeof(line), want[i], sc.name);
			cr_assert(strstr(out, line), "%s not in\n%s", line, out);
		}
		/* The state is a gauge of its own, not a label of the byte counts. */
		snprintf(line, sizeof(line),
			 "ttmem_process_live_bytes{segment=\"%s\",pid=\"%d\",start_time=\"", sc.name,
			 (int)sc.runner);
		cr_assert(strstr(out, line), "%s not in\n%s", line, out);
		snprintf(line, sizeof(line), ",name=\"runner\"} %" PRIu64 "\n", 18 * MiB + 320 * KiB);
		cr_assert(strstr(strstr(out, "ttmem_process_live_bytes{"), line), "%s not in\n%s", line,
			  out);
		cr_assert_null(strstr(out, "state=\"running\"} 18"), "%s", out);
		snprintf(line, sizeof(line), "ttmem_process_state{segment=\"%s\",pid=\"%d\",", sc.name,
			 (int)sc.runner);
		cr_assert(strstr(out, line), "%s not in\n%s", line, out);
	}
	free(parsed);
	free(out);
}

Test(show, baseline_then_delta_then_reset)
{
	char *out = NULL, *err = NULL, exp[1024], want[256];
	static const struct segfix_alloc more[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x800000, 3 * MiB },
	};
	pid_t extra;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "baseline", "--shm", sc.name, NULL), 0, "%s", err);
	snprintf(want, sizeof(want), "baseline of %s recorded: 18.3 MiB in use on 4 chips\n", sc.name);
	cr_assert_str_eq(out, want);
	free(out);
	free(err);

	extra = segfix_child(sc.name, "extra", more, 1, SEGFIX_RUN);
	cr_assert_gt(extra, 0);
	out = show("--json", NULL, NULL);
	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":0,\"in_use\":{\"DRAM\":%" PRIu64 "},"
		 "\"baseline\":{\"DRAM\":%" PRIu64 ",\"L1\":%" PRIu64 "},"
		 "\"delta\":{\"DRAM\":%" PRIu64 ",\"L1\":0}},"
		 "{\"device\":3,\"baseline\":{\"DRAM\":0},\"delta\":{\"DRAM\":0}}]}",
		 17 * MiB, 14 * MiB, 256 * KiB, 3 * MiB);
	check(out, exp);
	free(out);
	out = show(NULL, NULL, NULL);
	cr_assert(strstr(out, "Baseline recorded "), "%s", out);
	cr_assert(strstr(out, "BASELINE       DELTA"), "%s", out);
	cr_assert(strstr(out, "14.0 MiB   +3.00 MiB"), "%s", out);
	free(out);

	cr_assert_eq(segfix_ttmem_run(&out, &err, "baseline", "--reset", "--shm", sc.name, NULL), 0);
	snprintf(want, sizeof(want), "baseline of %s dropped\n", sc.name);
	cr_assert_str_eq(out, want);
	free(out);
	free(err);
	out = show("--json", NULL, NULL);
	check(out, "{\"segment\":{\"baseline_ns\":0},"
		   "\"devices\":[{\"device\":0,\"baseline\":null,\"delta\":null}]}");
	free(out);
	segfix_stop(extra);
}

Test(show, clear_empties_everything)
{
	char *out = NULL, *err = NULL, want[256];

	cr_assert_eq(segfix_ttmem_run(&out, &err, "clear", "--shm", sc.name, NULL), 0, "%s", err);
	snprintf(want, sizeof(want), "cleared %s: 7 entries dropped\n", sc.name);
	cr_assert_str_eq(out, want);
	free(out);
	free(err);
	out = show("--json", NULL, NULL);
	check(out, "{\"segment\":{\"entries\":0,\"events\":0},"
		   "\"devices\":[{\"device\":0,\"in_use\":{\"DRAM\":0,\"L1\":0},\"orphaned\":{\"DRAM\":0}},"
		   "{\"device\":1,\"in_use\":{\"DRAM\":0,\"CB\":0}},"
		   "{\"device\":2,\"exited\":{\"DRAM\":0}},"
		   "{\"device\":3,\"orphaned\":{\"DRAM\":0}}]}");
	free(out);
	/* The runner still runs, registered; it holds nothing now. */
	out = show(NULL, NULL, NULL);
	cr_assert(strstr(out, "runner           running         0 B"), "%s", out);
	free(out);
	/* The exited process belonged to the cleared runs: gone from the
	 * registry, like the viewer itself, which never registered. */
	out = show("--all", NULL, NULL);
	cr_assert_null(strstr(out, "exiter"), "%s", out);
	cr_assert_null(strstr(out, "ttmem "), "%s", out);
	cr_assert(strstr(out, "victim"), "%s", out);
	free(out);
}

Test(show, reap_reclaims_the_dead_only)
{
	char *out = NULL, *err = NULL, exp[512];

	cr_assert_eq(segfix_ttmem_run(&out, &err, "reap", "--shm", sc.name, NULL), 0, "%s", err);
	cr_assert_str_eq(out, "reaped (dead processes): 1 entries, 2.00 MiB, DRAM 2.00 MiB\n");
	free(out);
	free(err);
	out = show("--json", NULL, NULL);
	snprintf(exp, sizeof(exp),
		 "{\"segment\":{\"entries\":6,\"reclaimed\":1},"
		 "\"devices\":[{\"device\":3,\"orphaned\":{\"DRAM\":0}},"
		 "{\"device\":2,\"exited\":{\"DRAM\":%" PRIu64 "}},"
		 "{\"device\":0,\"in_use\":{\"DRAM\":%" PRIu64 "}}],"
		 "\"processes\":[{\"pid\":%d,\"state\":\"dead\",\"table_bytes\":0}]}",
		 1 * MiB, 14 * MiB, (int)sc.victim);
	check(out, exp);
	free(out);
	/* --exited also drops the exited process's leak record. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "reap", "--exited", "--shm", sc.name, NULL), 0);
	cr_assert_str_eq(out, "reaped (dead and exited processes): 2 entries, 1.00 MiB, "
			      "DRAM 1.00 MiB, L1_SMALL 4.00 KiB\n");
	free(out);
	free(err);
	out = show("--json", NULL, NULL);
	check(out, "{\"segment\":{\"entries\":4},\"devices\":[{\"device\":2,\"exited\":{\"DRAM\":0}}]}");
	free(out);
}
