/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff A B`: what changed from A to B, two leak reports (`ttmem
 * leaks --json`) per callsite, or two recordings (`ttmem record`) per chip,
 * process name and type (diff.h).  Reads files only, no segment.
 * --fail-on-growth makes it a CI gate with its own exit code (VX_GROWTH),
 * told apart from a file that could not be read (VX_DIFF_INPUT).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "textfit.h"

static void diff_usage(FILE *f)
{
	fputs("usage: ttmem diff [OPTIONS] A B\n\n"
	      "What changed from A to B.  Two leak reports (ttmem leaks --json): per\n"
	      "callsite (owner and symbolized call stack), the bytes and entries in A,\n"
	      "in B and the change, largest change first, in sections new in B, gone in\n"
	      "B, grew and shrank; and the totals per type.  Two recordings (ttmem\n"
	      "record -o, Chrome trace or --format jsonl): per chip and type and per\n"
	      "process name and type, the peak and the last value in A and B.\n\n"
	      "  -j, --json               JSON (schema ttmem/1, kind \"diff\")\n"
	      "      --fail-on-growth N   exit 19 when B grew by more than N bytes in total\n"
	      "                           (leaks: bytes leaked; recordings: the chips' peaks)\n"
	      "      --ignore-lines       match frames on module and function alone, not\n"
	      "                           file:line (a rebuilt program whose lines moved)\n"
	      "  -w, --width N            fit text to N columns (0: no limit; default: the\n"
	      "                           terminal, else $COLUMNS, else no limit)\n"
	      "  -h, --help               this help\n"
	      "  -V, --version            version\n\n"
	      "Exit 17: a file is not a readable leak report or recording; 18: A and B\n"
	      "are not of the same kind.\n", f);
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "fail-on-growth", required_argument, NULL, 'g' },
		{ "ignore-lines", no_argument, NULL, 'L' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct diff_input a = { 0 }, b = { 0 };
	int json = 0, ignore_lines = 0, have_limit = 0, c, rc;
	uint64_t limit = 0;
	int64_t growth = 0;
	char *text = NULL;
	size_t len = 0;
	unsigned width;
	const char *width_opt = NULL;
	FILE *mem;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jw:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'g':
			if (viewer_parse_u64(optarg, DIFF_MAX_BYTES, &limit) < 0) {
				viewer_err("diff", "--fail-on-growth: '%s' is not a number of bytes",
					   optarg);
				return VX_USAGE;
			}
			have_limit = 1;
			break;
		case 'L':
			ignore_lines = 1;
			break;
		case 'w':
			width_opt = optarg;
			break;
		default: /* --help, --version, errors */
			return viewer_opt_default("diff", c, argv, diff_usage);
		}
	}
	if (argc - optind != 2) {
		if (argc - optind < 2)
			viewer_err("diff", "two files to compare: ttmem diff A B");
		else
			viewer_err("diff", "unexpected argument '%s'", argv[optind + 2]);
		return VX_USAGE;
	}
	if (tf_width("diff", width_opt, &width) < 0)
		return VX_USAGE;
	rc = diff_load(&a, argv[optind], ignore_lines);
	if (rc == VX_OK)
		rc = diff_load(&b, argv[optind + 1], ignore_lines);
	if (rc)
		goto out;
	if (a.kind != b.kind) {
		viewer_err("diff", "%s is a %s, %s a %s: compare two leak reports or two "
			   "recordings", a.path, a.kind == DIFF_LEAKS ? "leak report" : "recording",
			   b.path, b.kind == DIFF_LEAKS ? "leak report" : "recording");
		rc = VX_DIFF_KIND;
		goto out;
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		viewer_err("diff", "out of memory");
		rc = VX_SYSTEM;
		goto out;
	}
	rc = a.kind == DIFF_LEAKS ? diff_leaks_print(mem, &a, &b, json, width, &growth) :
				    diff_record_print(mem, &a, &b, json, width, &growth);
	if (json) {
		fprintf(mem, ",\"growth\":%" PRId64 ",\"fail_on_growth\":", growth);
		if (have_limit)
			fprintf(mem, "%" PRIu64, limit);
		else
			fputs("null", mem);
		fprintf(mem, ",\"failed\":%s}\n",
			have_limit && growth > (int64_t)limit ? "true" : "false");
	} else if (have_limit) {
		char g[32], l[32];

		fprintf(mem, "\nGrowth %s, limit %s: %s\n", diff_fmt_bytes(g, sizeof(g), growth),
			fmt_bytes(l, sizeof(l), limit),
			growth > (int64_t)limit ? "FAILED" : "passed");
	}
	if (fclose(mem) != 0 || rc) {
		if (!rc) {
			viewer_err("diff", "out of memory");
			rc = VX_SYSTEM;
		}
		goto out;
	}
	if (json)
		fwrite(text, 1, len, stdout);
	else
		diff_fit(stdout, text, len, width);
	if (have_limit && growth > (int64_t)limit)
		rc = VX_GROWTH;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("diff", "write error on standard output");
		rc = VX_SYSTEM;
	}
out:
	free(text);
	diff_input_release(&a);
	diff_input_release(&b);
	return rc;
}
