/* SPDX-License-Identifier: MIT */
/*
 * `ttmem leaks`: the entries no running process holds any more: those still
 * live when their process exited normally (the preload keeps them, with
 * their call stacks, as the leak record) and those of dead processes.
 * Grouped by process, owner kind and call stack; frames symbolized
 * (symbolize.c) from files opened as the segment's owner could
 * (file_access.c).  --fail makes it a CI gate.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "file_access.h"
#include "textfit.h"
#include "viewer.h"

static void leaks_usage(FILE *f)
{
	fputs("usage: ttmem leaks [OPTIONS]\n\n"
	      "Entries still live when their process exited, and entries of dead\n"
	      "processes, grouped by process, owner kind and call stack (up to 8 frames\n"
	      "from where the application asked; runtime, libffi and Python interpreter\n"
	      "frames collapsed).  Frames are symbolized from the module files with\n"
	      "file:line (libdw; separate debug files by build-id or debuglink),\n"
	      "demangled, opening files only as the segment's owner could; a module that\n"
	      "changed or has no symbols is shown as module+offset.\n\n"
	      "  -j, --json        JSON (schema ttmem/1, kind \"leaks\")\n"
	      "  -f, --fail        exit 1 when anything leaked (a CI gate)\n"
	      "  -p, --pid P       only process P (an error when P is not in the segment)\n"
	      "  -d, --device N    only entries on chip N (an error when the segment has\n"
	      "                    no chip N)\n"
	      "  -w, --width N     text: fit N columns (0: no limit); default the\n"
	      "                    terminal's width, else $COLUMNS, else no limit\n"
	      "      --shm NAME    segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     version\n", f);
}

int cmd_leaks(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "fail", no_argument, NULL, 'f' },
		{ "pid", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "shm", required_argument, NULL, 's' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL, *wopt = NULL;
	unsigned width = 0;
	int json = 0, c, rc;
	int64_t fpid = -1, fdev = -1;
	uint64_t v;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct symbolizer *sy = NULL;
	struct leak_report r = { 0 };
	struct file_access fa;
	struct model m = { 0 };
	int have_model = 0;
	int fail = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jfp:d:w:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'f':
			fail = 1;
			break;
		case 'p':
		case 'd':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("leaks", "%s: '%s' is not a number",
					   c == 'p' ? "--pid" : "--device", optarg);
				return VX_USAGE;
			}
			*(c == 'p' ? &fpid : &fdev) = (int64_t)v;
			break;
		case 's':
			shm = optarg;
			break;
		case 'w':
			wopt = optarg;
			break;
		default: /* --help, --version, errors */
			return viewer_opt_default("leaks", c, argv, leaks_usage);
		}
	}
	rc = viewer_opt_no_operands("leaks", argc, argv);
	if (rc)
		return rc;
	if (tf_width("leaks", wopt, &width) < 0)
		return VX_USAGE;
	shm = viewer_shm_name(shm);
	rc = viewer_attach_snapshot("leaks", shm, &t, &snap);
	if (rc)
		return rc;
	file_access_for_segment(&fa, shm);
	sy = symbolizer_new(t, &fa);
	if (!sy || leaks_build(&r, t, &snap, fpid, fdev, NULL) < 0) {
		viewer_err("leaks", "out of memory");
		rc = VX_SYSTEM;
		goto out;
	}
	if (fpid >= 0 || fdev >= 0) {
		/* Whether the segment has that pid and chip at all: the model
		 * knows every process and chip, leaking or not, as show does. */
		struct model_opts mo = { .device = fdev, .pid = fpid, .all_procs = 1 };

		if (model_build(&m, t, &snap, &mo) < 0) {
			viewer_err("leaks", "out of memory");
			rc = VX_SYSTEM;
			goto out;
		}
		have_model = 1;
	}
	{
		/* The report reads module paths from the segment as it prints:
		 * render it aside and show it only if the mapping held. */
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);

		if (!mem) {
			viewer_err("leaks", "out of memory");
			rc = VX_SYSTEM;
			goto out;
		}
		leaks_print(mem, &r, sy, shm, json, width);
		if (fclose(mem) != 0) {
			free(text);
			viewer_err("leaks", "out of memory");
			rc = VX_SYSTEM;
			goto out;
		}
		rc = viewer_check_intact("leaks", shm, t);
		if (rc == VX_OK && have_model)
			rc = viewer_check_filters("leaks", shm, &m, fdev, fpid);
		if (rc == VX_OK)
			fwrite(text, 1, len, stdout);
		free(text);
		if (rc)
			goto out;
	}
	/* A CI gate: anything left by a process that is not running fails. */
	if (fail && r.entries)
		rc = VX_FAIL;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("leaks", "write error on standard output");
		rc = VX_SYSTEM;
	}
out:
	if (have_model)
		model_release(&m);
	leaks_release(&r);
	symbolizer_free(sy);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
