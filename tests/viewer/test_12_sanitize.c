/* SPDX-License-Identifier: MIT */
/*
 * viewer/sanitize.c on its own: the UTF-8 decoder against RFC 3629's
 * malformed forms, and each output's rendering of hostile bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

typedef void (*render_fn)(FILE *, const char *, size_t);

static char *render(render_fn fn, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	fn(f, s, strlen(s));
	fclose(f);
	return buf;
}

static void term0(FILE *f, const char *s, size_t n)
{
	san_term(f, s, n, 0);
}

static void term_ascii(FILE *f, const char *s, size_t n)
{
	san_term(f, s, n, SAN_ASCII);
}

static void expect(render_fn fn, const char *in, const char *want)
{
	char *got = render(fn, in);

	cr_assert_str_eq(got, want, "input \"%s\"", in);
	free(got);
}

Test(sanitize, decoder_refuses_malformed_utf8)
{
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", /* continuation, overlong */
		"\xe0\x80\xaf", "\xed\xa0\x80",          /* overlong, surrogate */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",  /* > U+10FFFF */
		"\xe2\x82", "\xc3",                      /* truncated */
	};
	uint32_t cp;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(san_decode(bad[i], strlen(bad[i]), &cp), 1, "case %zu", i);
		cr_assert_eq(cp, SAN_INVALID, "case %zu", i);
	}
	cr_assert_eq(san_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	cr_assert_eq(cp, 0x1f600);
	cr_assert_eq(san_decode("\xe2\x82\xac", 3, &cp), 3);
	cr_assert_eq(cp, 0x20ac);
	/* The length limit is honoured: no read past n. */
	cr_assert_eq(san_decode("\xe2\x82\xac", 2, &cp), 1);
	cr_assert_eq(cp, SAN_INVALID);
}

Test(sanitize, terminal)
{
	expect(term0, "plain", "plain");
	expect(term0, "\x1b[31mred\x07", "\\e[31mred\\x07");
	expect(term0, "a\\b", "a\\\\b");
	expect(term0, "\xc2\x9b" "2J", "\\u009b2J");
	expect(term0, "x\xe2\x80\xaey", "x\\u202ey");
	expect(term0, "\xff\xfe", "\\xff\\xfe");
	expect(term0, "caf\xc3\xa9", "caf\xc3\xa9");
	expect(term_ascii, "caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\\u00e9 \\U0001f600");
}

Test(sanitize, cells_are_exact_width)
{
	char b[64];

	/* 3 CJK characters are 6 columns: padded with 4 spaces to 10. */
	cr_assert_str_eq(san_cell(b, sizeof(b), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, 10, 0, 0),
			 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e    ");
	/* Never cut inside a character or an escape: 5 columns of CJK = 2 chars + 1 space. */
	cr_assert_str_eq(san_cell(b, sizeof(b), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9, 5, 0, 0),
			 "\xe6\x97\xa5\xe6\x9c\xac ");
	cr_assert_str_eq(san_cell(b, sizeof(b), "ab\x1b", 3, 3, 0, 0), "ab ");
	cr_assert_str_eq(san_cell(b, sizeof(b), "e\xcc\x81", 3, 3, 1, 0), "  e\xcc\x81");
	/* Fixed-size fields: no read past n, no need of a terminator. */
	cr_assert_str_eq(san_cell(b, sizeof(b), "abcdef", 3, 4, 0, 0), "abc ");
}

Test(sanitize, json)
{
	expect(san_json, "q\"b\\", "\"q\\\"b\\\\\"");
	expect(san_json, "\x1b\n\x7f", "\"\\u001b\\n\\u007f\"");
	expect(san_json, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
	expect(san_json, "a\xff" "b", "\"a\\ufffdb\"");
	expect(san_json, "\xe2\x80\xae\xe2\x80\xa8", "\"\\u202e\\u2028\"");
}

Test(sanitize, csv)
{
	expect(san_csv, "plain", "plain");
	expect(san_csv, "a,b", "\"a,b\"");
	expect(san_csv, "say \"hi\"", "\"say \"\"hi\"\"\"");
	expect(san_csv, " lead", "\" lead\"");
	expect(san_csv, "l1\nl2", "\"l1\xef\xbf\xbdl2\"");
	expect(san_csv, "\x1b[2J\xff", "\xef\xbf\xbd[2J\xef\xbf\xbd");
}

Test(sanitize, utf8)
{
	expect(san_utf8, "ok \xc3\xa9", "ok \xc3\xa9");
	expect(san_utf8, "\xc3(", "\xef\xbf\xbd(");
}
