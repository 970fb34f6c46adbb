/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): making strings read from a segment safe for an output.
 *
 * Every string a segment carries (process names, command lines, module
 * paths, and what is derived from them such as symbol names) was written by
 * whoever could write the segment: it may hold any bytes, invalid UTF-8,
 * terminal escape sequences, bidirectional overrides.  Nothing of it reaches
 * an output raw; every rendering goes through one of the functions below:
 *
 *   terminal  san_term, san_cell: valid printable UTF-8 kept; control
 *             characters (C0, DEL, C1), bidi and other invisible format
 *             characters, and invalid bytes written as visible escapes
 *             (\e, \n, \x9b, \u202e ...); a backslash as "\\".  No byte of an
 *             escape sequence reaches the terminal.  With SAN_ASCII (a
 *             terminal whose locale is not UTF-8) every non-ASCII character
 *             is escaped as well.
 *   JSON      san_json: a JSON string literal in valid UTF-8 (RFC 8259);
 *             characters kept as they are, controls and format characters as
 *             \uXXXX escapes, each invalid byte as U+FFFD.
 *   CSV       san_csv: an RFC 4180 field in valid UTF-8, quoted when needed
 *             (comma, quote, CR, LF, leading/trailing space), quotes doubled;
 *             controls, format characters and invalid bytes as U+FFFD.
 *   UTF-8     san_utf8: valid UTF-8 only (invalid bytes as U+FFFD), for
 *             outputs with their own escaping (e.g. Prometheus label values).
 *
 * Every function reads at most `n` bytes of `s` and stops at the first NUL
 * (segment strings are fixed-size fields, not always terminated).  None
 * allocates; none keeps state; all are safe from any thread.
 */
#ifndef TTMEM_VIEWER_SANITIZE_H
#define TTMEM_VIEWER_SANITIZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A byte that does not start a valid UTF-8 sequence (san_decode). */
#define SAN_INVALID UINT32_C(0xFFFFFFFF)

/*
 * Decode the character at s[0..n): returns the bytes it takes (1..4; 0 only
 * when n == 0) and its code point in *cp, or SAN_INVALID in *cp and 1 for a
 * byte that does not start a well-formed sequence (overlong forms,
 * surrogates and values above U+10FFFF are invalid, as RFC 3629 says).
 * A NUL is never part of a longer sequence, so a caller that stops at NUL
 * never reads past one.
 */
size_t san_decode(const char *s, size_t n, uint32_t *cp);

/* 1 when code point cp must not reach a terminal or a CSV cell raw: C0
 * controls, DEL, C1 controls, bidi controls and other invisible format
 * characters (U+200B..U+200F, U+2028..U+202E, U+2060..U+206F, U+FEFF), and
 * unassigned planes' private/non-characters U+FFFE, U+FFFF. */
int san_is_unsafe(uint32_t cp);

/* Columns a safe code point takes on a terminal: 0 for combining marks,
 * 2 for East Asian wide and emoji ranges, else 1. */
int san_width(uint32_t cp);

/* Flags of the terminal functions. */
#define SAN_ASCII 1u   /* escape every non-ASCII character too */

/* Write s for a terminal (see above).  Returns the columns written. */
size_t san_term(FILE *f, const char *s, size_t n, unsigned flags);

/*
 * Render s for a terminal into a cell of exactly `width` columns: truncated
 * to fit (never inside an escape or a character), padded with spaces on the
 * right (`right_align` 0) or left.  buf receives a NUL-terminated string;
 * `len` >= 4 * width + 1 always suffices.  Returns buf.
 */
char *san_cell(char *buf, size_t len, const char *s, size_t n, int width, int right_align,
	       unsigned flags);

/* Write s as a JSON string literal (with the quotes). */
void san_json(FILE *f, const char *s, size_t n);

/* Write s as one CSV field (quoted when it needs to be). */
void san_csv(FILE *f, const char *s, size_t n);

/* Write s as valid UTF-8: invalid bytes become U+FFFD, nothing else changes. */
void san_utf8(FILE *f, const char *s, size_t n);

#endif /* TTMEM_VIEWER_SANITIZE_H */
