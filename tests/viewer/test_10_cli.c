/* SPDX-License-Identifier: MIT */
/* Command line: --help and --version everywhere, bad flags, bad values. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segfix.h"

static const char *const subs[] = { "show", "top", "clear", "baseline", "reap",
				    "leaks", "probe", "run", "diff" };

Test(cli, help_on_every_subcommand)
{
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *out = NULL, *err = NULL, want[64];
		int rc = segfix_ttmem_run(&out, &err, subs[i], "--help", NULL);

		snprintf(want, sizeof(want), "usage: ttmem %s", subs[i]);
		cr_assert_eq(rc, 0, "%s --help: exit %d", subs[i], rc);
		cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s --help: %s", subs[i], out);
		cr_assert_str_empty(err);
		free(out);
		free(err);
	}
}

Test(cli, version_on_every_subcommand)
{
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *out = NULL, *err = NULL, want[128];
		int rc = segfix_ttmem_run(&out, &err, subs[i], "--version", NULL);

		snprintf(want, sizeof(want), "ttmem %s %s (segment ABI %d.%d)\n", subs[i],
			 TTMEM_VERSION, TTMEM_ABI_MAJOR, TTMEM_ABI_MINOR);
		cr_assert_eq(rc, 0);
		cr_assert_str_eq(out, want);
		free(out);
		free(err);
	}
}

Test(cli, toplevel_help_and_version)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "--help", NULL), 0);
	cr_assert(strstr(out, "usage: ttmem [SUBCOMMAND]"));
	cr_assert(strstr(out, "  leaks "));
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "--version", NULL), 0);
	cr_assert_eq(strncmp(out, "ttmem " TTMEM_VERSION " (segment ABI ",
			     strlen("ttmem " TTMEM_VERSION " (segment ABI ")), 0, "%s", out);
	free(out);
	free(err);
}

Test(cli, unknown_option_on_every_subcommand)
{
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *out = NULL, *err = NULL, want[128];
		int rc = segfix_ttmem_run(&out, &err, subs[i], "--bogus", NULL);

		snprintf(want, sizeof(want),
			 "ttmem %s: unknown option '--bogus' (try 'ttmem %s --help')\n", subs[i],
			 subs[i]);
		cr_assert_eq(rc, 2, "%s --bogus: exit %d", subs[i], rc);
		cr_assert_str_eq(err, want);
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
}

Test(cli, unknown_subcommand)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "frobnicate", NULL), 2);
	cr_assert_str_eq(err, "ttmem: unknown subcommand 'frobnicate' (try 'ttmem --help')\n");
	free(out);
	free(err);
}

Test(cli, bad_values)
{
	static const char *const cases[][4] = {
		{ "show", "--device", "x", "ttmem show: --device: 'x' is not a chip id\n" },
		{ "show", "--pid", "-3", "ttmem show: --pid: '-3' is not a pid\n" },
		{ "show", "--processes=some", NULL,
		  "ttmem show: --processes: 'some' is not none, active or all\n" },
		{ "top", "-r", "99",
		  "ttmem top: --refresh: '99' is not a number of milliseconds >= 100\n" },
		{ "top", "-r", "1e3",
		  "ttmem top: --refresh: '1e3' is not a number of milliseconds >= 100\n" },
		{ "leaks", "--pid", "abc", "ttmem leaks: --pid: 'abc' is not a number\n" },
		{ "show", "--device", NULL, "ttmem show: option '--device' needs a value\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *err = NULL;
		int rc = segfix_ttmem_run(&out, &err, cases[i][0], cases[i][1], cases[i][2], NULL);

		cr_assert_eq(rc, 2, "%s %s: exit %d", cases[i][0], cases[i][1], rc);
		cr_assert_str_eq(err, cases[i][3]);
		free(out);
		free(err);
	}
}

Test(cli, exclusive_and_extra_arguments)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--json", "--prometheus", NULL), 2);
	cr_assert_str_eq(err, "ttmem show: choose one output format (--json, --prometheus, "
			      "--format, --query)\n");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "clear", "now", NULL), 2);
	cr_assert_str_eq(err, "ttmem clear: unexpected argument 'now'\n");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "probe", NULL), 2);
	cr_assert_str_eq(err, "ttmem probe: expects exactly one LIBRARY (try 'ttmem probe --help')\n");
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "run", NULL), 2);
	cr_assert_str_eq(err, "ttmem run: no command given (usage: ttmem run [--shm NAME] -- CMD [ARGS...])\n");
	free(out);
	free(err);
}

Test(cli, top_without_terminal)
{
	char *out = NULL, *err = NULL;

	/* segfix_run gives the child /dev/null and files: no terminal. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "top", NULL), 12);
	cr_assert_str_eq(err, "ttmem top: needs a terminal (standard input is not a tty); "
			      "use 'ttmem show' or 'ttmem show --json' in scripts\n");
	cr_assert_str_empty(out);
	free(out);
	free(err);
}
