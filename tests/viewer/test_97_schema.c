/* SPDX-License-Identifier: MIT */
/*
 * Every JSON output validates against the published schema file
 * (viewer/ttmem.schema.json, through tests/viewer/check_schema.py): show,
 * leaks, buffers, map, ls, probe and record's JSON lines, on a segment with
 * a running process named in UTF-8 (and one with invalid bytes), a leaking
 * one and a published bank geometry.  And strings are UTF-8 as SCHEMA.md
 * says: a name's non-ASCII characters come out as themselves, not escaped.
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
	segfix_name(shm, sizeof(shm));
}

static void down(void)
{
	ttmem_table_unlink(shm);
}

TestSuite(schema, .init = up, .fini = down, .timeout = 60);

static char *validated(const char *kind, const char *a1, const char *a2, const char *a3,
		       const char *a4, const char *a5, const char *a6)
{
	char *out = NULL, *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/check_schema.py",
			 (char *)"viewer/ttmem.schema.json", (char *)kind, NULL };
	int rc = segfix_ttmem_run(&out, &err, a1, a2, a3, a4, a5, a6, NULL);

	cr_assert(rc == 0 || (!strcmp(a1, "probe") && rc >= 20), "ttmem %s: exit %d: %s", a1, rc,
		  err);
	free(err);
	err = NULL;
	cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "ttmem %s (%s) against the schema:\n%s\n%s",
		     a1, kind, err, out);
	free(err);
	return out;
}

Test(schema, every_output_validates)
{
	static const struct segfix_alloc run[] = {
		{ 0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x20000, 8192 },
		{ 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_CQ, 0x1000, 4096 },
	};
	static const struct segfix_alloc left[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x9000, 4096 },
	};
	struct ttmem_table *t = segfix_create(shm, 2, UINT64_C(12) << 30);
	struct ttmem_bank_geometry g = { 0x19000, 0x140000, 64, 16 };
	char fake[512];
	pid_t r1, r2;
	char *out;

	cr_assert_not_null(t);
	cr_assert_eq(ttmem_device_geometry(t, 0, TTMEM_TYPE_L1, &g), 1);
	r1 = segfix_child(shm, "runner", run, 2, SEGFIX_RUN);
	r2 = segfix_child(shm, "other", run, 1, SEGFIX_RUN);
	segfix_child(shm, "leaker", left, 1, SEGFIX_EXIT);
	cr_assert_eq(segfix_rename(t, r1, "na\xc3\xafve-\xe9\x80\xb2\xe7\xa8\x8b"), 0);
	cr_assert_eq(segfix_rename(t, r2, "bad-\xff\xfe-bytes"), 0);

	out = validated("show", "show", "--shm", shm, "--json", "--all", NULL);
	/* UTF-8 as it is (SCHEMA.md), each invalid byte as U+FFFD (escaped). */
	cr_assert(strstr(out, "\"name\":\"na\xc3\xafve-\xe9\x80\xb2\xe7\xa8\x8b\""), "%s",
		  strstr(out, "\"processes\""));
	cr_assert(strstr(out, "\"name\":\"bad-\\ufffd\\ufffd-bytes\""), "%.80s",
		  strstr(out, "bad-") ? strstr(out, "bad-") : "(no bad- name)");
	free(out);
	free(validated("leaks", "leaks", "--shm", shm, "--json", NULL, NULL));
	free(validated("buffers", "buffers", "--shm", shm, "--json", "--all", NULL));
	free(validated("map", "map", "--shm", shm, "-d0", "L1", "--json"));
	free(validated("map", "map", "--shm", shm, "-d1", "DRAM", "--json"));
	free(validated("segments", "ls", "--shm", shm, "--json", NULL, NULL));
	free(validated("sample", "record", "--shm", shm, "-o-", "--format=jsonl", "-t0.05"));
	snprintf(fake, sizeof(fake), "%s/fake_plt.so", getenv("TTMEM_TEST_DIR"));
	free(validated("probe", "probe", "--json", fake, NULL, NULL, NULL));
	segfix_stop(r1);
	segfix_stop(r2);
	ttmem_table_close(t);
}
