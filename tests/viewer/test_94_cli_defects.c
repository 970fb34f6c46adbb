/* SPDX-License-Identifier: MIT */
/*
 * Command-line defects a new user met: every subcommand takes --shm (ls
 * too), an empty --shm is an error rather than the default segment, a text
 * file is "not a ttmem segment" (not a truncated one), `ls` prints names
 * whole (so they paste into `rm`) and says how much /dev/shm the segments
 * hold, and counts are not written "1 chips".
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"

static char shm[128];

static void up(void)
{
	/* A name longer than ls's old 32-column cell. */
	char base[64];

	segfix_name(base, sizeof(base));
	snprintf(shm, sizeof(shm), "%s-with-a-long-suffix-xxxxxxxxxxxx", base);
}

static void down(void)
{
	ttmem_table_unlink(shm);
}

TestSuite(cli, .init = up, .fini = down, .timeout = 30);

static void run(int want, const char *out_has, const char *err_has, const char *a1,
		const char *a2, const char *a3, const char *a4)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, a1, a2, a3, a4, NULL);

	cr_assert_eq(rc, want, "ttmem %s %s %s: exit %d, want %d\n%s%s", a1, a2 ? a2 : "",
		     a3 ? a3 : "", rc, want, out, err);
	if (out_has)
		cr_assert(out && strstr(out, out_has), "ttmem %s %s: stdout lacks '%s':\n%s", a1,
			  a2 ? a2 : "", out_has, out);
	if (err_has)
		cr_assert(err && strstr(err, err_has), "ttmem %s %s: stderr lacks '%s':\n%s", a1,
			  a2 ? a2 : "", err_has, err);
	free(out);
	free(err);
}

Test(cli, empty_shm_is_an_error)
{
	static const char *const subs[] = { "show", "leaks", "buffers", "clear", "reap", "ls" };

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		run(2, NULL, "empty segment name", subs[i], "--shm", "", NULL);
	run(2, NULL, "empty segment name", "run", "--shm", "", "true");
}

Test(cli, text_file_is_not_a_segment)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/ttmem-test-cli-%d.txt", (int)getpid());
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("root:x:0:0:root:/root:/bin/bash\n", f);
	fclose(f);
	run(5, NULL, "not a ttmem segment", "show", "--shm", path, NULL);
	run(5, NULL, "not a ttmem segment", "ls", "--shm", path, NULL);
	unlink(path);
}

Test(cli, ls_takes_shm_and_prints_whole_names)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char want[200];

	cr_assert_not_null(t);
	/* The whole name, last on its line: what `ttmem rm` takes. */
	snprintf(want, sizeof(want), " %s\n1 segment holding ", shm);
	run(0, want, NULL, "ls", "--shm", shm, NULL);
	snprintf(want, sizeof(want), " %s\n", shm);
	run(0, want, NULL, "ls", NULL, NULL, NULL);
	run(0, " of /dev/shm (", NULL, "ls", NULL, NULL, NULL);
	run(3, NULL, "no such segment", "ls", "--shm", "/ttmem-test-cli-no-such-segment", NULL);
	run(0, "recorded: 0 B in use on 1 chip\n", NULL, "baseline", "--shm", shm, NULL);
	ttmem_table_close(t);
	run(0, NULL, NULL, "rm", shm, NULL, NULL);
	run(3, NULL, NULL, "ls", "--shm", shm, NULL);
}

/* Two running processes with entries on chip 0 (the emulator allows it, the
 * real runtime does not): show says so, naming both; one on chip 1 alone is
 * not mentioned. */
Test(cli, show_says_when_two_processes_hold_a_chip)
{
	struct ttmem_table *t = segfix_create(shm, 2, 0);
	struct segfix_alloc a = { 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 4096 };
	struct segfix_alloc b = { 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 4096 };
	struct segfix_alloc c = { 1, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x1000, 4096 };
	pid_t p1, p2;
	char want[160];

	cr_assert_not_null(t);
	p1 = segfix_child(shm, "holder1", &a, 1, SEGFIX_RUN);
	p2 = segfix_child(shm, "holder2", &b, 1, SEGFIX_RUN);
	run(0, NULL, NULL, "show", "--shm", shm, NULL);
	snprintf(want, sizeof(want), "warning: 2 processes hold chip 0 (pids %d %d)", (int)p1,
		 (int)p2);
	run(0, want, NULL, "show", "--shm", shm, NULL);
	segfix_stop(p2);
	p2 = segfix_child(shm, "holder3", &c, 1, SEGFIX_RUN);
	{
		char *out = NULL, *err = NULL;

		cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, NULL), 0);
		cr_assert_null(strstr(out, "processes hold chip"), "%s", out);
		free(out);
		free(err);
	}
	segfix_stop(p1);
	segfix_stop(p2);
	ttmem_table_close(t);
}

/* show --loop in text: each report starts with when it was taken (JSON has
 * taken_ns, CSV its timestamp field); a single report has no such line. */
Test(cli, loop_text_reports_are_timestamped)
{
	struct ttmem_table *t = segfix_create(shm, 1, 0);
	char *out = NULL, *err = NULL, head[200];
	const char *p;
	int n = 0;

	cr_assert_not_null(t);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "-l", "0.05", "--count", "2",
				      NULL), 0, "%s", err);
	snprintf(head, sizeof(head), "== %s: 20", shm);
	for (p = out; (p = strstr(p, head)); p++)
		n++;
	cr_assert_eq(n, 2, "two reports, two time lines:\n%s", out);
	cr_assert_eq(strncmp(out, head, strlen(head)), 0, "%s", out);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, NULL), 0);
	cr_assert_null(strstr(out, "== "), "%s", out);
	free(out);
	free(err);
	ttmem_table_close(t);
}
