/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE (viewer/): text output fitted to a width (textfit.c).
 *
 * The width comes from, in order: --width N (0: no limit), the terminal's
 * size when standard output is a terminal, COLUMNS when set to a valid
 * number, else no limit: output into a pipe or a file keeps whole lines, so
 * that grep and scripts see every column.
 *
 * A table is fitted by giving up its columns' padding first, then dropping
 * its least important columns (a footnote names them), then eliding long
 * cells of the columns that allow it in the middle ("abc...xyz"), then
 * dropping the columns kept for last; a line still too wide is elided as a
 * whole, so no line ever exceeds the width.  Widths are terminal columns
 * (san_width): cells must be safe for a terminal already (sanitize.h).
 *
 * Functions returning int return 0 or -ENOMEM; nothing keeps global state.
 */
#ifndef TTMEM_TEXTFIT_H
#define TTMEM_TEXTFIT_H

#include <stddef.h>
#include <stdio.h>

#define TF_MIN_WIDTH 20u        /* narrowest --width / COLUMNS accepted */
#define TF_MAX_WIDTH 65535u

/*
 * The width of a subcommand's text output: `opt` is the --width value
 * (NULL: not given).  Returns 0 and *width (0: no limit), or -1 after
 * printing "ttmem SUB: --width: ..." (an invalid --width; an invalid
 * COLUMNS is ignored).
 */
int tf_width(const char *sub, const char *opt, unsigned *width);

/* Terminal columns of s (UTF-8 as san_width counts it). */
size_t tf_cols(const char *s);

/* s into buf, elided in the middle to at most `max` columns ("ab...yz").
 * Returns buf (NUL-terminated; len >= strlen(s) + 4 suffices). */
char *tf_elide(char *buf, size_t len, const char *s, size_t max);

/* One line (s has no newline): elided in the middle to `width` (0: as
 * is), then a newline. */
void tf_line(FILE *f, unsigned width, const char *s);

/* A paragraph (s has no newline) wrapped at spaces to `width` (0: one
 * line); continuation lines indented by `indent` spaces. */
void tf_wrap(FILE *f, unsigned width, unsigned indent, const char *s);

struct tf_col {
	const char *head;
	unsigned char right;       /* right-aligned */
	unsigned char prio;        /* 0: always shown; higher: dropped earlier;
				    * 1: only once eliding is not enough */
	unsigned char elide;       /* may be elided in the middle ... */
	unsigned char min;         /* ... down to this many columns */
	unsigned char width;       /* at least this wide while it fits (a layout
				    * that stays put from one report to the
				    * next); 0: as wide as its widest cell */
};

#define TF_MAX_COLS 24

struct tf_table {
	size_t ncol;
	struct tf_col col[TF_MAX_COLS];
	size_t nrow, cap;
	char **cell;               /* nrow x ncol, malloc'd copies */
	char **note;               /* per row: text after the last column, or NULL */
	int oom;
};

/* A table of `ncol` (<= TF_MAX_COLS) columns; the caller may change col[]
 * (e.g. prio) before tf_print. */
void tf_init(struct tf_table *t, const struct tf_col *cols, size_t ncol);
/* Append a row: cells[0..ncol) copied; `note` (NULL: none) printed after
 * the last column shown, two spaces apart.  -ENOMEM (remembered: tf_print
 * then says so). */
int tf_row(struct tf_table *t, const char *const *cells, const char *note);
/* Print the header and the rows fitted to `width` (0: no limit), then a
 * footnote naming the columns dropped, if any. */
void tf_print(FILE *f, struct tf_table *t, unsigned width);
void tf_release(struct tf_table *t);

#endif /* TTMEM_TEXTFIT_H */
