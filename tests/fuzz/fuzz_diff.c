/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for `ttmem diff`: arbitrary bytes as the file it reads
 * (a leak report, a Chrome trace, JSON lines, or anything else), through
 * the JSON reader, the loader and both renderings, compared with itself
 * (once matched on lines, once not).  Seeds: tests/fuzz/corpus-diff.
 * Built with ASan + UBSan; beyond "no sanitizer report" it checks what the
 * loader promises: callsite keys unique and sorted, sums within
 * DIFF_MAX_BYTES and equal to the totals, a peak never below the last value.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

/* main.c's, which the harness does not link. */
void viewer_err(const char *sub, const char *fmt, ...)
{
	(void)sub;
	(void)fmt;
}

int viewer_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (!*s || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static void check(const struct diff_input *in)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < in->nsite; i++) {
		if (i && strcmp(in->site[i - 1].key, in->site[i].key) >= 0)
			abort();
		bytes += in->site[i].bytes;
	}
	if (in->kind == DIFF_LEAKS && (bytes != in->bytes || bytes > DIFF_MAX_BYTES))
		abort();
	for (size_t i = 0; i < in->nseries; i++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			if (in->series[i].last[ty] > in->series[i].peak[ty])
				abort();
}

static void render(const struct diff_input *a, const struct diff_input *b)
{
	static const unsigned widths[] = { 20, 80 };
	char *text = NULL;
	size_t len = 0;
	int64_t growth;
	FILE *null = fopen("/dev/null", "w");

	for (int json = 0; json < 2 && null; json++) {
		for (size_t w = 0; w < 2; w++) {
			FILE *mem = open_memstream(&text, &len);

			if (!mem)
				break;
			if (a->kind == DIFF_LEAKS)
				diff_leaks_print(mem, a, b, json, widths[w], &growth);
			else
				diff_record_print(mem, a, b, json, widths[w], &growth);
			fclose(mem);
			diff_fit(null, text, len, widths[w]);
			free(text);
			text = NULL;
		}
	}
	if (null)
		fclose(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diff_input a, b;
	int ra = diff_load_text(&a, "A", (const char *)data, size, 0);
	int rb = diff_load_text(&b, "B", (const char *)data, size, 1);

	/* Whether a file is usable does not depend on how frames match. */
	if ((ra == VX_OK) != (rb == VX_OK))
		abort();
	if (ra == VX_OK) {
		check(&a);
		check(&b);
		render(&a, &b);
	}
	diff_input_release(&a);
	diff_input_release(&b);
	return 0;
}
