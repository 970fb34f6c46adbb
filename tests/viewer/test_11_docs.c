/* SPDX-License-Identifier: MIT */
/*
 * The documentation a user reads: ttmem(1) is lint-clean for mandoc (its date
 * parses) and documents every command, option, column and field the viewer
 * has; every subcommand's --help lists its options.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segfix.h"

#define MAN "viewer/ttmem.1"

Test(docs, man_page_is_mandoc_lint_clean)
{
	char *argv[] = { (char *)"mandoc", (char *)"-T", (char *)"lint", (char *)"-W", (char *)"style",
			 (char *)MAN, NULL };
	char *out = NULL, *err = NULL;
	int rc = segfix_run(argv, &out, &err);

	cr_assert_neq(rc, 127, "mandoc is not installed (mk/deps.sh installs it)");
	cr_assert_eq(rc, 0, "mandoc -T lint: exit %d\n%s%s", rc, out, err);
	cr_assert_str_empty(out, "%s", out);
	cr_assert_str_empty(err, "%s", err);
	free(out);
	free(err);
}

/* Plain text of the page, to look for documented names in. */
static char *man_text(void)
{
	char *argv[] = { (char *)"mandoc", (char *)"-T", (char *)"ascii", (char *)MAN, NULL };
	char *out = NULL, *plain;
	size_t j = 0;

	cr_assert_eq(segfix_run(argv, &out, NULL), 0);
	/* Drop the overstrike of bold/underline (x\bx) and hyphenation joins. */
	plain = malloc(strlen(out) + 1);
	for (size_t i = 0; out[i]; i++) {
		if (out[i + 1] == '\b' && out[i + 2]) {
			continue;
		}
		if (out[i] == '\b')
			continue;
		plain[j++] = out[i];
	}
	plain[j] = 0;
	free(out);
	return plain;
}

Test(docs, man_page_documents_every_new_name)
{
	static const char *const names[] = {
		"ttmem_info", "LEFT", "PEAK", "--format", "--query", "--loop", "--count",
		"noheader", "nounits", "QUERY FIELDS", "memory.used", "used_memory",
		"process_name", "left_memory", "ttmem ls", "ttmem rm", "--force", "--mode",
		"--group", "TTMEM_SHM_MODE", "TTMEM_SHM_GROUP", "SHARING A SEGMENT",
		"STRINGS FROM A SEGMENT", "tracking is off", "15", "more processes", "PAUSED",
		"reverses", "dead", "ttmem buffers", "ttmem map", "--no-symbols", "--summary",
		"largest free block", "fragmentation", "get_bank_size", "\"buffers\"", "\"map\"",
		"ttmem record", "traceEvents", "jsonl", "--duration",
		"ttmem diff", "--fail-on-growth", "--ignore-lines", "\"diff\"", "TIOCGWINSZ",
		"--width", "COLUMNS", "--process-series", "ttmem_process_name_bytes",
		"ttmem_process_other_bytes", "ttmem_process_bytes", "all_types", "live_by_type",
		"used_memory.l1", "(ALL)",
	};
	char *t = man_text();

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(t, names[i]), "ttmem(1) does not mention '%s'", names[i]);
	/* One word for a killed process's state: "orphaned" names entries only. */
	cr_expect_null(strstr(t, "orphaned process"), "a process called orphaned");
	free(t);
}

Test(docs, every_subcommand_help_lists_its_options)
{
	static const struct {
		const char *sub;
		const char *opts[6];
	} cases[] = {
		{ "clear", { "--shm", "--quiet", "--help", "--version" } },
		{ "baseline", { "--reset", "--shm", "--quiet", "--help", "--version" } },
		{ "reap", { "--exited", "--shm", "--quiet", "--help", "--version" } },
		{ "show", { "--format", "--query", "--loop", "--count", "--processes", "--width" } },
		{ "leaks", { "--json", "--fail", "--pid", "--device", "--width", "--shm" } },
		{ "export", { "--listen", "--textfile", "--processes", "--process-series", "--shm" } },
		{ "ls", { "--json", "--help", "--version" } },
		{ "rm", { "--force", "--help", "--version" } },
		{ "run", { "--mode", "--group", "--quiet", "--shm" } },
		{ "top", { "--refresh", "--iterations", "--shm" } },
		{ "buffers", { "--device", "--type", "--pid", "--sort", "--format", "--shm" } },
		{ "map", { "--device", "--width", "--summary", "--json", "--shm", "--help" } },
		{ "record", { "--output", "--interval", "--duration", "--format", "--shm" } },
		{ "diff", { "--json", "--fail-on-growth", "--ignore-lines", "--help", "--version" } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL, *err = NULL;

		cr_assert_eq(segfix_ttmem_run(&out, &err, cases[i].sub, "--help", NULL), 0);
		for (size_t k = 0; k < 6 && cases[i].opts[k]; k++)
			cr_expect(strstr(out, cases[i].opts[k]), "ttmem %s --help lacks %s:\n%s",
				  cases[i].sub, cases[i].opts[k], out);
		free(out);
		free(err);
	}
}
