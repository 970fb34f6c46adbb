/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff` of two recordings: per chip and type, and per process name
 * and type, the peak and the last value in A and in B and their change.
 * A recording holds bytes in use per chip and process, not per callsite:
 * there is no callsite section here (leak reports have one).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "sanitize.h"

static int cmp_series(const struct diff_series *a, const struct diff_series *b)
{
	if (a->is_chip != b->is_chip)
		return a->is_chip ? -1 : 1;
	if (a->is_chip)
		return a->chip < b->chip ? -1 : a->chip > b->chip;
	return strcmp(a->name, b->name);
}

static const uint64_t zero[MODEL_TYPES];

/* Columns the table takes: narrower terminals get two lines per type. */
#define WIDE 76u

static void chip_label(char *buf, size_t len, uint64_t chip)
{
	if (chip == UINT64_MAX)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%" PRIu64, chip);
}

static void file_text(FILE *f, const struct diff_input *in)
{
	san_term(f, in->path, strlen(in->path), 0);
	fprintf(f, " (%s, %zu sample%s over %.1f s)", in->format, in->samples,
		in->samples == 1 ? "" : "s", (double)(in->last_ns - in->first_ns) / 1e9);
}

static void json_file(FILE *f, const struct diff_input *in)
{
	fputs("{\"file\":", f);
	json_str(f, in->path, strlen(in->path));
	fprintf(f, ",\"format\":\"%s\",\"samples\":%zu,\"first_ns\":%" PRIu64 ",\"last_ns\":%" PRIu64
		"}", in->format, in->samples, in->first_ns, in->last_ns);
}

/* One series of A and/or B: its rows, one per type used in either. */
static void rows(FILE *f, const struct diff_series *a, const struct diff_series *b, int json,
		 unsigned width, int *first, int64_t *growth)
{
	const struct diff_series *s = a ? a : b;
	const uint64_t *pa = a ? a->peak : zero, *pb = b ? b->peak : zero;
	const uint64_t *la = a ? a->last : zero, *lb = b ? b->last : zero;
	char c[32], x[6][32];
	int head = 0;

	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		if (!pa[ty] && !pb[ty] && !la[ty] && !lb[ty])
			continue;
		if (s->is_chip)
			*growth += (int64_t)pb[ty] - (int64_t)pa[ty];
		if (json) {
			if (s->is_chip)
				fprintf(f, "%s{\"device\":%s", *first ? "" : ",",
					s->chip == UINT64_MAX ? "null" :
					(chip_label(c, sizeof(c), s->chip), c));
			else {
				fprintf(f, "%s{\"name\":", *first ? "" : ",");
				json_str(f, s->name, strlen(s->name));
			}
			fprintf(f, ",\"type\":\"%s\",\"a\":{\"peak\":%" PRIu64 ",\"last\":%" PRIu64
				"},\"b\":{\"peak\":%" PRIu64 ",\"last\":%" PRIu64 "},\"change\":{\"peak\":%"
				PRId64 ",\"last\":%" PRId64 "}}", type_name(ty), pa[ty], la[ty], pb[ty],
				lb[ty], (int64_t)pb[ty] - (int64_t)pa[ty], (int64_t)lb[ty] - (int64_t)la[ty]);
			*first = 0;
			continue;
		}
		if (!head) {
			if (s->is_chip) {
				chip_label(c, sizeof(c), s->chip);
				fprintf(f, "chip %s%s\n", c, !a ? "  (only in B)" : !b ? "  (only in A)" : "");
			} else {
				fputs("process ", f);
				san_term(f, s->name, strlen(s->name), 0);
				fputs(!a ? "  (only in B)\n" : !b ? "  (only in A)\n" : "\n", f);
			}
			head = 1;
		}
		fmt_bytes(x[0], sizeof(x[0]), pa[ty]);
		fmt_bytes(x[1], sizeof(x[1]), pb[ty]);
		diff_fmt_bytes(x[2], sizeof(x[2]), (int64_t)pb[ty] - (int64_t)pa[ty]);
		fmt_bytes(x[3], sizeof(x[3]), la[ty]);
		fmt_bytes(x[4], sizeof(x[4]), lb[ty]);
		diff_fmt_bytes(x[5], sizeof(x[5]), (int64_t)lb[ty] - (int64_t)la[ty]);
		if (!width || width >= WIDE)
			fprintf(f, "  %-14s%10s%10s%10s%10s%10s%10s\n", type_name(ty), x[0], x[1],
				x[2], x[3], x[4], x[5]);
		else   /* a narrow terminal: peak and last on a line each */
			fprintf(f, "  %-8s peak %s -> %s  %s\n  %-8s last %s -> %s  %s\n",
				type_name(ty), x[0], x[1], x[2], "", x[3], x[4], x[5]);
	}
}

/* Walk both recordings' series (both sorted: chips by id, then names),
 * chips first (`procs` 0), then processes. */
static void walk(FILE *f, const struct diff_input *a, const struct diff_input *b, int json,
		 unsigned width, int procs, int64_t *growth)
{
	size_t i = 0, k = 0;
	int first = 1;

	while (i < a->nseries || k < b->nseries) {
		const struct diff_series *sa = i < a->nseries ? &a->series[i] : NULL;
		const struct diff_series *sb = k < b->nseries ? &b->series[k] : NULL;
		int c = !sa ? 1 : !sb ? -1 : cmp_series(sa, sb);

		if (c < 0)
			sb = NULL, i++;
		else if (c > 0)
			sa = NULL, k++;
		else
			i++, k++;
		if ((sa ? sa : sb)->is_chip == !procs)
			rows(f, sa, sb, json, width, &first, growth);
	}
}

int diff_record_print(FILE *f, const struct diff_input *a, const struct diff_input *b, int json,
		      unsigned width, int64_t *growth)
{
	int64_t ignored = 0;

	*growth = 0;
	if (json) {
		fputs("{\"schema\":\"ttmem/1\",\"kind\":\"diff\",\"input\":\"record\",\"a\":", f);
		json_file(f, a);
		fputs(",\"b\":", f);
		json_file(f, b);
		fputs(",\"devices\":[", f);
		walk(f, a, b, 1, 0, 0, growth);
		fputs("],\"processes\":[", f);
		walk(f, a, b, 1, 0, 1, &ignored);
		fputc(']', f);
		return VX_OK;
	}
	fputs("Recordings: ", f);
	file_text(f, a);
	fputs("\n         -> ", f);
	file_text(f, b);
	fputs("\n\n", f);
	if (!width || width >= WIDE)
		fprintf(f, "  %-14s%10s%10s%10s%10s%10s%10s\n", "", "peak A", "peak B", "change",
			"last A", "last B", "change");
	walk(f, a, b, 0, width, 0, growth);
	walk(f, a, b, 0, width, 1, &ignored);
	return VX_OK;
}
