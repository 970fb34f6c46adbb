/* SPDX-License-Identifier: MIT */
/*
 * Strings a segment carries are hostile until made safe (viewer/sanitize.h):
 * process names with terminal escape sequences, quotes, control characters,
 * wide and combining characters, bidi overrides, invalid UTF-8, and a module
 * path with escape sequences.  Whoever can write a segment writes these
 * fields, so the test writes them straight into the registry, as such a
 * writer would.  Checked: no escape byte reaches the text outputs (show,
 * leaks), the text table stays aligned, JSON is valid UTF-8 whose names
 * round-trip through Python's json (invalid bytes as U+FFFD), CSV parses
 * strictly with Python's csv module.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sanitize.h"
#include "segfix.h"

#define MiB (UINT64_C(1) << 20)

/* What the registry holds, and what JSON must decode to (as a Python list
 * in JSON, ASCII-escaped), and CSV (unsafe characters as U+FFFD). */
static const char *const names[] = {
	"\x1b]0;owned\x07\x1b[2J",          /* OSC title, clear screen */
	"q\"uo,te\\back",                   /* JSON and CSV metacharacters */
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",  /* wide: 3 CJK characters */
	"cafe\xcc\x81\xe2\x80\xae",         /* combining acute, RLO override */
	"bad\xff\xfe\xc3(x",                /* invalid UTF-8 */
	"\xc2\x9b" "31m",                   /* C1 CSI, validly encoded */
	"tab\there\nnl",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static const char json_names[] =
	"[\"\\u001b]0;owned\\u0007\\u001b[2J\", \"q\\\"uo,te\\\\back\", "
	"\"\\u65e5\\u672c\\u8a9e\", \"cafe\\u0301\\u202e\", \"bad\\ufffd\\ufffd\\ufffd(x\", "
	"\"\\u009b31m\", \"tab\\there\\nnl\"]";
static const char csv_names[] =
	"[\"\\ufffd]0;owned\\ufffd\\ufffd[2J\", \"q\\\"uo,te\\\\back\", "
	"\"\\u65e5\\u672c\\u8a9e\", \"cafe\\u0301\\ufffd\", \"bad\\ufffd\\ufffd\\ufffd(x\", "
	"\"\\ufffd31m\", \"tab\\ufffdhere\\ufffdnl\"]";

static char shm[128];
static struct ttmem_table *seg;
static pid_t kids[NNAMES];

static void rename_proc(pid_t pid, const char *name)
{
	cr_assert_eq(segfix_rename(seg, pid, name), 0, "pid %d not registered", (int)pid);
}

static void up(void)
{
	segfix_name(shm, sizeof(shm));
	seg = segfix_create(shm, 2, 0);
	cr_assert_not_null(seg);
	for (size_t i = 0; i < NNAMES; i++) {
		struct segfix_alloc a = { (uint32_t)(i % 2), TTMEM_TYPE_DRAM, TTMEM_OWNER_APP,
					  0x1000 * (i + 1), (i + 1) * MiB };

		kids[i] = segfix_child(shm, "hostile", &a, 1, SEGFIX_RUN);
		cr_assert_gt(kids[i], 0);
		rename_proc(kids[i], names[i]);
	}
}

static void down(void)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (kids[i] > 0)
			segfix_stop(kids[i]);
	ttmem_table_close(seg);
	ttmem_table_unlink(shm);
}

TestSuite(hostile_strings, .init = up, .fini = down, .timeout = 60);

/* No byte that starts or ends a terminal control sequence: ESC, BEL, CSI as
 * C1 (0xc2 0x9b in UTF-8, 0x9b alone), and no bidi override (U+202E). */
static void assert_terminal_safe(const char *what, const char *out)
{
	for (const char *p = out; *p; p++) {
		unsigned char c = (unsigned char)*p;

		cr_assert(c != 0x1b && c != 0x07 && c != 0x9b && (c >= 0x20 || c == '\n'),
			  "%s: control byte 0x%02x at offset %td", what, c, p - out);
	}
	cr_assert_null(strstr(out, "\xe2\x80\xae"), "%s: bidi override reached the output", what);
}

/* The display column where `word` starts on the line that begins with pid. */
static int column_of(const char *out, pid_t pid, const char *word)
{
	char head[24];
	const char *line = out;

	snprintf(head, sizeof(head), "%-8d ", (int)pid);
	while (line && strncmp(line, head, strlen(head)))
		line = (line = strchr(line, '\n')) ? line + 1 : NULL;
	cr_assert_not_null(line, "no row for pid %d", (int)pid);
	{
		const char *end = strstr(line, word);
		int col = 0;

		cr_assert_not_null(end);
		for (const char *p = line; p < end;) {
			uint32_t cp;
			size_t k = san_decode(p, (size_t)(end - p), &cp);

			col += cp == SAN_INVALID ? 1 : san_width(cp);
			p += k;
		}
		return col;
	}
}

Test(hostile_strings, show_text_is_terminal_safe_and_aligned)
{
	char *out = NULL, *err = NULL;
	int col0;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, NULL), 0, "%s", err);
	assert_terminal_safe("show", out);
	/* The STATE column starts at the same column on every row, after the
	 * widest name (names are shown whole, escapes included). */
	col0 = column_of(out, kids[0], "running");
	cr_assert_geq(col0, 26);
	for (size_t i = 1; i < NNAMES; i++)
		cr_assert_eq(column_of(out, kids[i], "running"), col0, "row of name %zu shifted:\n%s",
			     i, out);
	/* Escapes are visible, so the user sees what the bytes were. */
	cr_assert(strstr(out, "\\e]0;owned\\x07"), "%s", out);
	cr_assert(strstr(out, "bad\\xff\\xfe\\xc3("), "%s", out);
	cr_assert(strstr(out, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), "CJK kept:\n%s", out);
	free(out);
	free(err);
}

Test(hostile_strings, json_is_valid_utf8_and_round_trips)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--json", NULL), 0, "%s",
		     err);
	free(err);
	err = NULL;
	cr_assert_eq(segfix_check(out, &err, "json-names", json_names, NULL), 0, "%s\n%s", err,
		     out);
	assert_terminal_safe("show --json", out);
	free(out);
	free(err);
}

Test(hostile_strings, csv_parses_strictly)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--query",
				      "pid,process_name,cmdline,index,used_memory", NULL),
		     0, "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(segfix_check(out, &err, "csv-names", csv_names, NULL), 0, "%s\n%s", err, out);
	assert_terminal_safe("show --query", out);
	free(out);
	free(err);
}

Test(hostile_strings, leaks_module_path_and_name_are_terminal_safe)
{
	static const struct segfix_alloc a = { 1, TTMEM_TYPE_DRAM, TTMEM_OWNER_APP, 0x77000, MiB };
	char *out = NULL, *err = NULL;
	pid_t p = segfix_child_ex(shm, "leaker", &a, 1, SEGFIX_EXIT,
				  "/tmp/\x1b[31mred\x1b]8;;http://x\x07.so");

	cr_assert_gt(p, 0);
	rename_proc(p, names[0]);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, NULL), 0, "%s", err);
	assert_terminal_safe("leaks", out);
	cr_assert(strstr(out, "/tmp/\\e[31mred\\e]8;;http://x\\x07.so"), "%s", out);
	free(out);
	free(err);
	out = err = NULL;
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", shm, "--json", NULL), 0, "%s",
		     err);
	cr_assert(strstr(out, "\"/tmp/\\u001b[31mred\\u001b]8;;http://x\\u0007.so\""), "%s", out);
	free(out);
	free(err);
}

Test(hostile_strings, prometheus_labels_are_valid_utf8)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", shm, "--prometheus", NULL), 0,
		     "%s", err);
	free(err);
	err = NULL;
	assert_terminal_safe("show --prometheus", out);
	for (size_t i = 0; out[i];) {
		uint32_t cp;

		i += san_decode(out + i, strlen(out + i), &cp);
		cr_assert_neq(cp, SAN_INVALID, "invalid UTF-8 at offset %zu", i);
	}
	cr_assert_eq(segfix_check(out, &err, "prom", NULL, NULL), 0, "%s", err);
	free(out);
	free(err);
}
