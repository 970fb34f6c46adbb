/* SPDX-License-Identifier: MIT */
/*
 * `ttmem show`: one snapshot of the segment, as a table, JSON or Prometheus
 * text.  Maps the segment read-only; never writes to it.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "viewer.h"

static void show_usage(FILE *f)
{
	fputs("usage: ttmem show [OPTIONS]\n\n"
	      "Device memory in use per chip and buffer type (system / application),\n"
	      "per process (live, peak, released in bulk at close, live at exit), and\n"
	      "the segment's health.  Entries of dead processes are shown as orphaned\n"
	      "and not counted as in use.\n\n"
	      "  -d, --device N        only chip N\n"
	      "  -p, --pid P           only process P (chip totals count only its entries)\n"
	      "  -j, --json            JSON, schema ttmem/1 (see ttmem(1))\n"
	      "  -P, --prometheus      Prometheus text exposition format (processes:\n"
	      "                        running ones, all with --processes=all)\n"
	      "      --processes=WHICH none | active (default) | all\n"
	      "  -a, --all             also processes that never allocated (= --processes=all)\n"
	      "      --released        per process: bytes released in bulk at close and\n"
	      "                        live at exit, per owner and type\n"
	      "      --shm NAME        segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help            this help\n"
	      "  -V, --version         version\n", f);
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "processes", optional_argument, NULL, 'R' },
		{ "all", no_argument, NULL, 'a' },
		{ "released", no_argument, NULL, 'r' },
		{ "shm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct model_opts mo = { .device = -1, .pid = -1 };
	struct show_opts so = { .processes = 1, .released = 0, .segment = 1 };
	const char *shm = NULL;
	int json = 0, prom = 0, c, rc;
	uint64_t v;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct model m;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:p:jPahV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("show", "--device: '%s' is not a chip id", optarg);
				return VX_USAGE;
			}
			mo.device = (int64_t)v;
			break;
		case 'p':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("show", "--pid: '%s' is not a pid", optarg);
				return VX_USAGE;
			}
			mo.pid = (int64_t)v;
			break;
		case 'j':
			json = 1;
			break;
		case 'P':
			prom = 1;
			break;
		case 'R':
			if (!optarg || !strcmp(optarg, "active"))
				so.processes = 1;
			else if (!strcmp(optarg, "none"))
				so.processes = 0;
			else if (!strcmp(optarg, "all"))
				so.processes = 2;
			else {
				viewer_err("show", "--processes: '%s' is not none, active or all",
					   optarg);
				return VX_USAGE;
			}
			break;
		case 'a':
			so.processes = 2;
			break;
		case 'r':
			so.released = 1;
			break;
		case 's':
			shm = optarg;
			break;
		case 'h':
			show_usage(stdout);
			return VX_OK;
		case 'V':
			viewer_version("show");
			return VX_OK;
		case ':':
			viewer_err("show", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("show", "unknown option '%s' (try 'ttmem show --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (optind < argc) {
		viewer_err("show", "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	if (json && prom) {
		viewer_err("show", "--json and --prometheus are exclusive");
		return VX_USAGE;
	}
	mo.all_procs = so.processes == 2;
	shm = viewer_shm_name(shm);
	rc = viewer_attach("show", shm, 0, &t);
	if (rc)
		return rc;
	rc = ttmem_snapshot(t, &snap);
	if (rc < 0) {
		viewer_err("show", "%s: snapshot: %s", shm, ttmem_strerror(rc));
		ttmem_table_close(t);
		return viewer_exit_code(rc);
	}
	rc = model_build(&m, t, &snap, &mo);
	if (rc < 0) {
		viewer_err("show", "%s: %s", shm, ttmem_strerror(rc));
		ttmem_snapshot_free(&snap);
		ttmem_table_close(t);
		return VX_SYSTEM;
	}
	/* The renderings read the model only: a copy, safe from here on. */
	rc = viewer_check_intact("show", shm, t);
	if (rc) {
		model_release(&m);
		ttmem_snapshot_free(&snap);
		ttmem_table_close(t);
		return rc;
	}
	if (json)
		format_json(stdout, &m, shm);
	else if (prom)
		format_prom_ex(stdout, &m, shm, so.processes == 2 ? PROM_PROCS_ALL :
					     so.processes ? PROM_PROCS_RUNNING : PROM_PROCS_NONE);
	else
		format_text(stdout, &m, shm, &so);
	model_release(&m);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("show", "write error on standard output");
		return VX_SYSTEM;
	}
	return VX_OK;
}
