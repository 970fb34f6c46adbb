/* SPDX-License-Identifier: MIT */
/*
 * ttmem: the viewer's entry point.  Dispatches to a subcommand; `ttmem` alone
 * is `ttmem show`.  Each subcommand parses its own options (getopt_long) and
 * returns its exit code (viewer.h, enum viewer_exit).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
	{ "show", cmd_show, "memory in use per chip, type and process (default)" },
	{ "top", cmd_top, "live view, refreshed every -r MS" },
	{ "clear", cmd_clear, "empty the table (between runs)" },
	{ "baseline", cmd_baseline, "record current usage; show deltas against it" },
	{ "reap", cmd_reap, "reclaim the entries of dead processes" },
	{ "buffers", cmd_buffers, "live buffers per chip and type: address, size, owner, callsite" },
	{ "map", cmd_map, "a chip's bank address space: buffers, holes, largest free block" },
	{ "leaks", cmd_leaks, "entries left by exited and dead processes, by callsite" },
	{ "record", cmd_record, "sample usage per chip, type and process into a trace file" },
	{ "diff", cmd_diff, "compare two leak reports or two recordings (what grew, what is new)" },
	{ "probe", cmd_probe, "check whether a runtime library can be tracked" },
	{ "ls", cmd_ls, "list the segments with owner, mode, size and live processes" },
	{ "rm", cmd_rm, "remove a segment" },
	{ "run", cmd_run, "run a command with tracking set up" },
	{ "export", cmd_export, "serve /metrics for Prometheus, or write node-exporter textfiles" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ttmem [SUBCOMMAND] [OPTIONS]\n\n"
		"Device memory of the tt-metal runtime, per chip, type and process,\n"
		"read from the shared-memory segment written by libttmem.so.\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nEvery subcommand takes --shm NAME (default $TTMEM_SHM, else %s),\n"
		"--help and --version.  See ttmem(1).\n", TTMEM_DEFAULT_SHM_NAME);
}

void viewer_err(const char *sub, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ttmem%s%s: ", sub ? " " : "", sub ? sub : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void viewer_version(const char *sub)
{
	printf("ttmem%s%s %s (segment ABI %d.%d)\n", sub ? " " : "", sub ? sub : "",
	       TTMEM_VERSION, TTMEM_ABI_MAJOR, TTMEM_ABI_MINOR);
}

const char *viewer_shm_name(const char *opt)
{
	const char *env;

	/* An empty --shm is a mistake, not "the default": returned as it is,
	 * refused by viewer_attach with a message. */
	if (opt)
		return opt;
	env = getenv("TTMEM_SHM");
	if (env && *env)
		return env;
	return TTMEM_DEFAULT_SHM_NAME;
}

int viewer_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int viewer_opt_default(const char *sub, int c, char **argv, void (*sub_usage)(FILE *))
{
	switch (c) {
	case 'h':
		sub_usage(stdout);
		return VX_OK;
	case 'V':
		viewer_version(sub);
		return VX_OK;
	case ':':
		viewer_err(sub, "option '%s' needs a value", argv[optind - 1]);
		return VX_USAGE;
	default:
		viewer_err(sub, "unknown option '%s' (try 'ttmem %s --help')", argv[optind - 1], sub);
		return VX_USAGE;
	}
}

int viewer_opt_no_operands(const char *sub, int argc, char **argv)
{
	if (optind < argc) {
		viewer_err(sub, "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	return VX_OK;
}

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	/* A segment shrinking under our mapping must not kill the viewer: its
	 * reads then see zeros and each command reports VX_RESIZED. */
	ttmem_sigbus_guard(NULL);

	if (!sub || sub[0] == '-') {
		/* Top-level options: --help, --version, else they belong to show. */
		if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"))) {
			usage(stdout);
			return VX_OK;
		}
		if (sub && (!strcmp(sub, "--version") || !strcmp(sub, "-V"))) {
			viewer_version(NULL);
			return VX_OK;
		}
		argv[0] = (char *)"show";
		return cmd_show(argc, argv);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(sub, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	if (!strcmp(sub, "help")) {
		usage(stdout);
		return VX_OK;
	}
	viewer_err(NULL, "unknown subcommand '%s' (try 'ttmem --help')", sub);
	return VX_USAGE;
}
