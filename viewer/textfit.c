/* SPDX-License-Identifier: MIT */
/*
 * Text output fitted to a width (textfit.h): eliding, wrapping, and tables that drop their least important columns
 * before they elide anything.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "textfit.h"

size_t tf_cols(const char *s)
{
	size_t n = strlen(s), cols = 0;

	for (size_t i = 0, k; i < n; i += k) {
		uint32_t cp;

		k = san_decode(s + i, n - i, &cp);
		cols += cp == SAN_INVALID ? 1u : (size_t)san_width(cp);
	}
	return cols;
}

/* Bytes of s's longest prefix of at most `max` columns. */
static size_t prefix_bytes(const char *s, size_t n, size_t max)
{
	size_t i = 0, cols = 0;

	while (i < n) {
		uint32_t cp;
		size_t k = san_decode(s + i, n - i, &cp);
		size_t w = cp == SAN_INVALID ? 1u : (size_t)san_width(cp);

		if (cols + w > max)
			break;
		cols += w;
		i += k;
	}
	return i;
}

char *tf_elide(char *buf, size_t len, const char *s, size_t max)
{
	size_t n = strlen(s), total = tf_cols(s), left, right, lb, rb = n;

	if (!len)
		return buf;
	if (total <= max) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (max < 4) {
		lb = prefix_bytes(s, n, max);
		snprintf(buf, len, "%.*s", (int)lb, s);
		return buf;
	}
	left = (max - 3 + 1) / 2;
	right = max - 3 - left;
	lb = prefix_bytes(s, n, left);
	/* The suffix: from the first character where what is left fits. */
	for (size_t i = 0, cols = 0, k; i < n; i += k) {
		uint32_t cp;

		if (total - cols <= right) {
			rb = i;
			break;
		}
		k = san_decode(s + i, n - i, &cp);
		cols += cp == SAN_INVALID ? 1u : (size_t)san_width(cp);
	}
	snprintf(buf, len, "%.*s...%s", (int)lb, s, s + rb);
	return buf;
}

void tf_line(FILE *f, unsigned width, const char *s)
{
	size_t n = strlen(s);
	char *buf;

	if (!width || tf_cols(s) <= width) {
		fputs(s, f);
		fputc('\n', f);
		return;
	}
	buf = malloc(n + 4);
	if (!buf) {
		/* No memory for the copy: the start of the line, cut. */
		fprintf(f, "%.*s\n", (int)prefix_bytes(s, n, width), s);
		return;
	}
	fputs(tf_elide(buf, n + 4, s, width), f);
	fputc('\n', f);
	free(buf);
}

void tf_wrap(FILE *f, unsigned width, unsigned indent, const char *s)
{
	size_t col = 0, n = strlen(s);
	int line_start = 1;

	if (!width || tf_cols(s) <= width || indent + 8 > width) {
		tf_line(f, width, s);
		return;
	}
	for (size_t i = 0; i < n;) {
		size_t j = i, wcols;
		char *word, *el;

		while (j < n && s[j] != ' ')
			j++;
		word = strndup(s + i, j - i);
		el = word ? malloc(j - i + 4) : NULL;
		if (!word || !el) {
			free(word);
			fputc('\n', f);
			return;
		}
		wcols = tf_cols(word);
		if (!line_start && col + 1 + wcols > width) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
			line_start = 1;
		}
		if (!line_start) {
			fputc(' ', f);
			col++;
		}
		/* A word wider than a line: elided, as a cell would be. */
		fputs(tf_elide(el, j - i + 4, word, width - col), f);
		col += wcols > width - col ? width - col : wcols;
		line_start = 0;
		free(word);
		free(el);
		i = j;
		while (i < n && s[i] == ' ')
			i++;
	}
	fputc('\n', f);
}

void tf_init(struct tf_table *t, const struct tf_col *cols, size_t ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol > TF_MAX_COLS ? TF_MAX_COLS : ncol;
	memcpy(t->col, cols, t->ncol * sizeof(*cols));
}

int tf_row(struct tf_table *t, const char *const *cells, const char *note)
{
	if (t->nrow == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **c = realloc(t->cell, cap * t->ncol * sizeof(*c));

		if (!c)
			goto oom;
		t->cell = c;
		c = realloc(t->note, cap * sizeof(*c));
		if (!c)
			goto oom;
		t->note = c;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncol; i++) {
		t->cell[t->nrow * t->ncol + i] = strdup(cells[i] ? cells[i] : "");
		if (!t->cell[t->nrow * t->ncol + i]) {
			while (i--)
				free(t->cell[t->nrow * t->ncol + i]);
			goto oom;
		}
	}
	t->note[t->nrow] = note ? strdup(note) : NULL;
	t->nrow++;
	return 0;
oom:
	t->oom = 1;
	return -ENOMEM;
}

struct fit {
	size_t w[TF_MAX_COLS];     /* columns each column takes */
	int shown[TF_MAX_COLS];
	size_t note;               /* widest note, + 2 for its gap; 0: none */
	size_t bytes;              /* enough for any line */
};

static size_t fit_total(const struct tf_table *t, const struct fit *ft)
{
	size_t total = 0, n = 0;

	for (size_t i = 0; i < t->ncol; i++)
		if (ft->shown[i]) {
			total += ft->w[i];
			n++;
		}
	return total + (n ? n - 1 : 0) + ft->note;
}

static void drop_columns(const struct tf_table *t, struct fit *ft, unsigned width,
			 unsigned least)
{
	while (fit_total(t, ft) > width) {
		size_t drop = t->ncol;

		for (size_t i = 0; i < t->ncol; i++)
			if (ft->shown[i] && t->col[i].prio >= least &&
			    (drop == t->ncol || t->col[i].prio >= t->col[drop].prio))
				drop = i;
		if (drop == t->ncol)
			break;
		ft->shown[drop] = 0;
	}
}

/* The widest elidable column gives up what it can, then the next. */
static void elide_columns(const struct tf_table *t, struct fit *ft, unsigned width)
{
	size_t total;

	while ((total = fit_total(t, ft)) > width) {
		size_t best = t->ncol;

		for (size_t i = 0; i < t->ncol; i++)
			if (ft->shown[i] && t->col[i].elide && ft->w[i] > t->col[i].min &&
			    (best == t->ncol || ft->w[i] > ft->w[best]))
				best = i;
		if (best == t->ncol)
			break;
		ft->w[best] -= total - width < ft->w[best] - t->col[best].min ?
				       total - width : ft->w[best] - t->col[best].min;
		if (ft->w[best] < 4)
			ft->w[best] = t->col[best].min;
	}
}

static void fit_columns(const struct tf_table *t, struct fit *ft, unsigned width)
{
	memset(ft, 0, sizeof(*ft));
	ft->bytes = 1;
	for (size_t i = 0; i < t->ncol; i++) {
		size_t mb = strlen(t->col[i].head);

		ft->shown[i] = 1;
		ft->w[i] = tf_cols(t->col[i].head);
		for (size_t r = 0; r < t->nrow; r++) {
			const char *c = t->cell[r * t->ncol + i];
			size_t w = tf_cols(c);

			if (w > ft->w[i])
				ft->w[i] = w;
			if (strlen(c) > mb)
				mb = strlen(c);
		}
		ft->bytes += mb + ft->w[i] + t->col[i].width + 8;
	}
	for (size_t r = 0; r < t->nrow; r++)
		if (t->note[r]) {
			size_t w = tf_cols(t->note[r]) + 2;

			if (w > ft->note)
				ft->note = w;
			ft->bytes += strlen(t->note[r]) + 2;
		}
	{
		struct fit natural = *ft;

		for (size_t i = 0; i < t->ncol; i++)
			if (ft->w[i] < t->col[i].width)
				ft->w[i] = t->col[i].width;
		if (!width || fit_total(t, ft) <= width)
			return;
		/* Too wide: the padding goes before any column does. */
		*ft = natural;
	}
	/* Least important first; of equals, the rightmost.  Priority 1
	 * goes only when eliding is not enough. */
	drop_columns(t, ft, width, 2);
	elide_columns(t, ft, width);
	drop_columns(t, ft, width, 1);
}

/* One row (r == SIZE_MAX: the header) into buf, trailing spaces dropped. */
static void fit_row(const struct tf_table *t, const struct fit *ft, size_t r, char *buf)
{
	char *p = buf, *el;
	int first = 1;

	*p = 0;
	for (size_t i = 0; i < t->ncol; i++) {
		const char *c = r == SIZE_MAX ? t->col[i].head : t->cell[r * t->ncol + i];
		size_t len = strlen(c) + 4, cols, pad;

		if (!ft->shown[i])
			continue;
		el = malloc(len);
		if (!el)
			continue;
		tf_elide(el, len, c, ft->w[i]);
		cols = tf_cols(el);
		pad = ft->w[i] > cols ? ft->w[i] - cols : 0;
		if (!first)
			*p++ = ' ';
		first = 0;
		if (t->col[i].right) {
			memset(p, ' ', pad);
			p += pad;
		}
		memcpy(p, el, strlen(el));
		p += strlen(el);
		if (!t->col[i].right) {
			memset(p, ' ', pad);
			p += pad;
		}
		free(el);
	}
	if (r != SIZE_MAX && t->note[r]) {
		memcpy(p, "  ", 2);
		p += 2;
		memcpy(p, t->note[r], strlen(t->note[r]));
		p += strlen(t->note[r]);
	}
	while (p > buf && p[-1] == ' ')
		p--;
	*p = 0;
}

void tf_print(FILE *f, struct tf_table *t, unsigned width)
{
	struct fit ft;
	char *line, dropped[512] = "";
	size_t nd = 0;

	if (t->oom) {
		fputs("(table: out of memory)\n", f);
		return;
	}
	fit_columns(t, &ft, width);
	line = malloc(ft.bytes);
	if (!line) {
		fputs("(table: out of memory)\n", f);
		return;
	}
	for (size_t r = SIZE_MAX;; r++) {
		fit_row(t, &ft, r, line);
		tf_line(f, width, line);
		if (r + 1 == t->nrow)
			break;
	}
	free(line);
	for (size_t i = 0; i < t->ncol; i++)
		if (!ft.shown[i]) {
			size_t used = strlen(dropped);

			snprintf(dropped + used, sizeof(dropped) - used, "%s%s", nd++ ? ", " : "",
				 t->col[i].head);
		}
	if (nd) {
		char note[640];

		snprintf(note, sizeof(note), "(not shown to fit %u columns: %s; --width 0 shows "
			 "every column)", width, dropped);
		tf_wrap(f, width, 1, note);
	}
}

void tf_release(struct tf_table *t)
{
	for (size_t r = 0; r < t->nrow; r++) {
		for (size_t i = 0; i < t->ncol; i++)
			free(t->cell[r * t->ncol + i]);
		free(t->note[r]);
	}
	free(t->cell);
	free(t->note);
	memset(t, 0, sizeof(*t));
}
