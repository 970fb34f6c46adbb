/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff`'s text fits a width (tf_width; 0: no limit): a line wider is
 * cut in the middle (a little after it), so a C++ frame keeps both its function's name and its
 * file:line (what tells two callsites apart is at either end).  The text
 * given has been made safe for a terminal already (san_term): this only
 * counts columns and cuts between characters.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "sanitize.h"

/* Columns of s[0..n) (invalid bytes: one column each, as san_term escapes
 * them before this sees them). */
static size_t columns(const char *s, size_t n, size_t *cut_at, size_t want)
{
	size_t col = 0, i = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = san_decode(s + i, n - i, &cp);
		int w = cp == SAN_INVALID ? 1 : san_width(cp);

		if (cut_at && col + (size_t)w > want)
			break;
		col += (size_t)(w < 0 ? 0 : w);
		i += k ? k : 1;
	}
	if (cut_at)
		*cut_at = i;
	return col;
}

/* The byte where the last `want` columns of s[0..n) start. */
static size_t tail_start(const char *s, size_t n, size_t want)
{
	size_t total = columns(s, n, NULL, 0), skip, at;

	if (total <= want)
		return 0;
	skip = total - want;
	columns(s, n, &at, skip);
	/* A wide character across the boundary: start after it. */
	while (at < n && columns(s + at, n - at, NULL, 0) > want) {
		uint32_t cp;
		size_t k = san_decode(s + at, n - at, &cp);

		at += k ? k : 1;
	}
	return at;
}

void diff_fit(FILE *f, const char *text, size_t len, unsigned width)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p), head_end;

		if (!width || columns(p, n, NULL, 0) <= width) {
			fwrite(p, 1, n, f);
		} else {
			/* More of the start: a function's name says more than
			 * its source file's directories. */
			size_t head = (width - 3) * 3 / 5, tail = width - 3 - head;

			columns(p, n, &head_end, head);
			fwrite(p, 1, head_end, f);
			fputs("...", f);
			{
				size_t t = tail_start(p, n, tail);

				fwrite(p + t, 1, n - t, f);
			}
		}
		if (nl)
			fputc('\n', f);
		p += n + (nl != NULL);
	}
}

const char *diff_fmt_bytes(char *buf, size_t len, int64_t d)
{
	return d ? fmt_delta(buf, len, d) : fmt_bytes(buf, len, 0);
}

const char *diff_fmt_count(char *buf, size_t len, int64_t d)
{
	if (d)
		snprintf(buf, len, "%+" PRId64, d);
	else
		snprintf(buf, len, "0");
	return buf;
}
