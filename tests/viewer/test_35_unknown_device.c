/* SPDX-License-Identifier: MIT */
/*
 * Entries recorded without their chip (TTMEM_DEVICE_UNKNOWN: the preload's
 * ABI check failed) are shown under "unknown" in text, JSON and Prometheus,
 * never as a chip number.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segfix.h"

#define MiB (UINT64_C(1) << 20)

static char name[128];
static struct ttmem_table *t;
static pid_t runner = -1;

static void up(void)
{
	static const struct segfix_alloc a[] = {
		{ 0, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x1000, 1 * MiB },
		{ TTMEM_DEVICE_UNKNOWN, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x2000, 2 * MiB },
		{ TTMEM_DEVICE_UNKNOWN, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x2000, 4096 },
	};

	segfix_name(name, sizeof(name));
	t = segfix_create(name, 2, 12 * 1024 * MiB);
	cr_assert_not_null(t);
	runner = segfix_child(name, "partial", a, 3, SEGFIX_RUN);
	cr_assert(runner > 0);
}

static void down(void)
{
	if (runner > 0)
		segfix_stop(runner);
	ttmem_table_close(t);
	ttmem_table_unlink(name);
}

TestSuite(unknown_device, .init = up, .fini = down);

static char *show(const char *a1)
{
	char *out = NULL, *err = NULL;
	int rc = segfix_ttmem_run(&out, &err, "show", "--shm", name, a1, NULL);

	cr_assert_eq(rc, 0, "show %s: exit %d: %s", a1 ? a1 : "", rc, err);
	free(err);
	cr_assert_null(strstr(out, "4294967295"), "the unknown device shown as a number: %s", out);
	return out;
}

Test(unknown_device, json)
{
	char *out = show("--json"), *err = NULL, exp[1024];

	snprintf(exp, sizeof(exp),
		 "{\"devices\":[{\"device\":0,\"published\":true,\"in_use\":{\"DRAM\":%d,\"L1\":0}},"
		 "{\"device\":1,\"published\":true,\"in_use\":{\"DRAM\":0}},"
		 "{\"device\":null,\"arch\":null,\"arch_id\":0,\"published\":false,"
		 "\"in_use\":{\"DRAM\":%d,\"L1\":4096},\"capacity\":{\"DRAM\":null}},\"$exact\"],"
		 "\"processes\":[{\"pid\":%d,\"devices\":[{\"device\":0,\"bytes\":%d},"
		 "{\"device\":null,\"bytes\":%d,\"entries\":2},\"$exact\"]}]}",
		 (int)MiB, (int)(2 * MiB), (int)runner, (int)MiB, (int)(2 * MiB + 4096));
	cr_assert_eq(segfix_check(out, &err, "subset", exp, NULL), 0, "%s", err);
	free(err);
	/* Sorted last, after the real chips. */
	cr_assert(strstr(out, "{\"device\":1,") < strstr(out, "{\"device\":null,"), "%s", out);
	free(out);
}

Test(unknown_device, text)
{
	char *out = show(NULL);

	/* The chip column widens to fit "unknown". */
	cr_assert_eq(strncmp(out, "CHIP    TYPE   ", 15), 0, "%s", out);
	cr_assert(strstr(out, "\n0       DRAM   "), "%s", out);
	cr_assert(strstr(out, "\nunknown DRAM            2.00 MiB        0 B    2.00 MiB          ?      -"),
		  "%s", out);
	cr_assert(strstr(out, "\n        L1              4.00 KiB        0 B    4.00 KiB          ?      -"), "%s", out);
	{
		char line[64];

		snprintf(line, sizeof(line), "\n%-8d unknown ", (int)runner);
		cr_assert(strstr(out, line), "no per-process row on the unknown chip: %s", out);
	}
	free(out);
}

Test(unknown_device, prometheus)
{
	char *out = show("--prometheus"), *err = NULL;
	char *argv[] = { (char *)"python3", (char *)"tests/viewer/viewer_check.py", (char *)"prom",
			 NULL };

	cr_assert(strstr(out, "\",device=\"unknown\",type=\"DRAM\","
			      "owner=\"application\"} 2097152\n"), "%s", out);
	cr_assert(strstr(out, ",device=\"unknown\"} 2101248\n"), "%s", out);
	cr_assert_eq(segfix_pipe(argv, out, NULL, &err), 0, "not valid exposition format: %s", err);
	free(err);
	free(out);
}
