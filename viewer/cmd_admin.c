/* SPDX-License-Identifier: MIT */
/*
 * The explicit write operations: `ttmem clear`, `ttmem baseline [--reset]`,
 * `ttmem reap [--exited]`.  They map the segment read-write and never
 * register the viewer as a process (reap needs no registry entry: table.h),
 * so none of them ever shows up in the process list.  A segment that
 * shrinks while they work is reported (VX_RESIZED): what they wrote went to
 * memory no one sees.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "viewer.h"

struct admin_opts {
	const char *shm;
	int flag;         /* --reset (baseline), --exited (reap) */
	int quiet;
};

/* Shared option parsing; `flagname` is the subcommand's one extra flag. */
static int admin_parse(const char *sub, const char *flagname, const char *help,
		       int argc, char **argv, struct admin_opts *o)
{
	struct option longopts[] = {
		{ "shm", required_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ flagname ? flagname : "-", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->shm = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'f':
			o->flag = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return -VX_OK - 1000;
		case 'V':
			viewer_version(sub);
			return -VX_OK - 1000;
		case ':':
			viewer_err(sub, "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err(sub, "unknown option '%s' (try 'ttmem %s --help')",
				   argv[optind - 1], sub);
			return VX_USAGE;
		}
	}
	if (optind < argc) {
		viewer_err(sub, "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	o->shm = viewer_shm_name(o->shm);
	return 0;
}

/* Parse result to exit code: -1000 means "done, exit 0" (help/version). */
#define PARSED_DONE(rc) ((rc) == -1000)

static void print_tally(const char *what, const struct ttmem_tally *ty)
{
	char b[32];
	uint64_t total = 0;

	for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++)
		for (unsigned t = 0; t < MODEL_TYPES; t++)
			total += ty->bytes[o][t];
	printf("%s %" PRIu64 " entries, %s", what, ty->entries, fmt_bytes(b, sizeof(b), total));
	for (unsigned t = 0; t < MODEL_TYPES; t++) {
		uint64_t sum = 0;

		for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++)
			sum += ty->bytes[o][t];
		if (sum)
			printf(", %s %s", type_name(t), fmt_bytes(b, sizeof(b), sum));
	}
	putchar('\n');
}

int cmd_clear(int argc, char **argv)
{
	static const char help[] =
		"usage: ttmem clear [--shm NAME] [-q]\n\n"
		"Empty the allocation table in O(1) and reset its counters, between runs.\n"
		"Safe while programs run: frees of allocations made before the clear are\n"
		"counted as unmatched and change nothing else.  Processes stay registered.\n"
		"No segment yet is not an error: there is nothing to clear.\n"
		"\n"
		"      --shm NAME  segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
		"  -q, --quiet     print nothing on success\n"
		"  -h, --help      this help\n"
		"  -V, --version   version\n";
	struct admin_opts o;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	int rc = admin_parse("clear", NULL, help, argc, argv, &o);
	size_t before = 0;

	if (PARSED_DONE(rc))
		return VX_OK;
	if (rc)
		return rc;
	rc = viewer_attach_ex("clear", o.shm, 1, 1, &t);
	if (rc == VX_NOTREADY) {
		/* Never published and no live creator: remove it, the next
		 * tracked program creates it anew. */
		char what[128];
		int r = ttmem_table_remove_stale(o.shm, what, sizeof(what));

		if (r == 1) {
			if (!o.quiet)
				printf("removed the stale segment %s (%s, never published, no process "
				       "creating it): the next tracked program creates it anew\n",
				       o.shm, what);
			return VX_OK;
		}
		return rc;
	}
	if (rc == VX_NOSEG) {
		if (!o.quiet)
			printf("no segment %s: nothing to clear\n", o.shm);
		return VX_OK;
	}
	if (rc)
		return rc;
	if (ttmem_snapshot(t, &snap) == 0) {
		before = snap.count;
		ttmem_snapshot_free(&snap);
	}
	/* No registration: clear holds no slot, and the viewer is not a
	 * process whose memory anyone wants to see. */
	rc = ttmem_clear(t);
	if (rc == 0 && (rc = viewer_check_intact("clear", o.shm, t)) != 0) {
		ttmem_table_close(t);
		return rc;
	}
	ttmem_table_close(t);
	if (rc < 0) {
		viewer_err("clear", "%s: %s", o.shm, ttmem_strerror(rc));
		return viewer_exit_code(rc);
	}
	if (!o.quiet)
		printf("cleared %s: %zu entries dropped\n", o.shm, before);
	return VX_OK;
}

int cmd_baseline(int argc, char **argv)
{
	static const char help[] =
		"usage: ttmem baseline [--reset] [--shm NAME] [-q]\n\n"
		"Record the bytes in use now, per chip and type, in the segment; `ttmem show`\n"
		"and `ttmem top` then show the delta against it (the seed's \"Option 4\").\n"
		"\n"
		"      --reset     drop the baseline instead of recording one\n"
		"      --shm NAME  segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
		"  -q, --quiet     print nothing on success\n"
		"  -h, --help      this help\n"
		"  -V, --version   version\n";
	struct admin_opts o;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct model m;
	struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1 };
	struct ttmem_device_info *di;
	struct ttmem_header *h;
	struct timespec ts;
	int rc = admin_parse("baseline", "reset", help, argc, argv, &o);
	uint32_t ndi;

	if (PARSED_DONE(rc))
		return VX_OK;
	if (rc)
		return rc;
	rc = viewer_attach("baseline", o.shm, 1, &t);
	if (rc)
		return rc;
	di = ttmem_table_devices_rw(t);
	h = ttmem_table_header_rw(t);
	if (!di || !h) {
		viewer_err("baseline", "%s: mapped read-only", o.shm);
		ttmem_table_close(t);
		return VX_PERM;
	}
	ndi = h->device_capacity < TTMEM_MAX_DEVICES ? h->device_capacity : TTMEM_MAX_DEVICES;
	if (o.flag) {
		/* Readers see baseline_ns = 0 first: the stale values are never used. */
		atomic_store_explicit(&h->baseline_ns, 0, memory_order_release);
		for (uint32_t d = 0; d < ndi; d++)
			for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
				atomic_store_explicit(&di[d].baseline[ty], 0, memory_order_relaxed);
		rc = viewer_check_intact("baseline", o.shm, t);
		ttmem_table_close(t);
		if (rc)
			return rc;
		if (!o.quiet)
			printf("baseline of %s dropped\n", o.shm);
		return VX_OK;
	}
	rc = ttmem_snapshot(t, &snap);
	if (rc < 0) {
		viewer_err("baseline", "%s: snapshot: %s", o.shm, ttmem_strerror(rc));
		ttmem_table_close(t);
		return viewer_exit_code(rc);
	}
	rc = model_build(&m, t, &snap, &mo);
	ttmem_snapshot_free(&snap);
	if (rc < 0) {
		viewer_err("baseline", "%s: %s", o.shm, ttmem_strerror(rc));
		ttmem_table_close(t);
		return VX_SYSTEM;
	}
	rc = viewer_check_intact("baseline", o.shm, t);
	if (rc) {
		model_release(&m);
		ttmem_table_close(t);
		return rc;
	}
	/* Values first, then the timestamp with release (pairs with the acquire
	 * load of baseline_ns in model_build): a reader that sees the new
	 * timestamp sees these values. */
	for (uint32_t d = 0; d < ndi; d++) {
		long ix = model_dev_index(&m, d);

		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			atomic_store_explicit(&di[d].baseline[ty],
					      ix >= 0 && ty < MODEL_TYPES ? m.dev[ix].in_use[ty] : 0,
					      memory_order_relaxed);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&h->baseline_ns,
			      (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			      memory_order_release);
	if (!o.quiet) {
		char b[32];
		uint64_t total = 0;

		for (size_t i = 0; i < m.ndev; i++)
			total += model_sum(m.dev[i].in_use);
		printf("baseline of %s recorded: %s in use on %zu chip%s\n", o.shm,
		       fmt_bytes(b, sizeof(b), total), m.ndev, m.ndev == 1 ? "" : "s");
	}
	model_release(&m);
	ttmem_table_close(t);
	return VX_OK;
}

int cmd_reap(int argc, char **argv)
{
	static const char help[] =
		"usage: ttmem reap [--exited] [--shm NAME] [-q]\n\n"
		"Reclaim the entries of dead processes (killed, or gone without exiting\n"
		"normally), slots left busy by dead writers, and their registry entries;\n"
		"report what was reclaimed.  --exited also drops the leak records of\n"
		"processes that exited normally (what `ttmem leaks` lists).\n"
		"No segment yet is not an error: there is nothing to reap.\n"
		"\n"
		"      --exited    also drop the leak records of processes that exited\n"
		"      --shm NAME  segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
		"  -q, --quiet     print nothing on success\n"
		"  -h, --help      this help\n"
		"  -V, --version   version\n";
	struct admin_opts o;
	struct ttmem_table *t = NULL;
	struct ttmem_tally tally;
	int rc = admin_parse("reap", "exited", help, argc, argv, &o);
	int64_t n;

	if (PARSED_DONE(rc))
		return VX_OK;
	if (rc)
		return rc;
	rc = viewer_attach_ex("reap", o.shm, 1, 1, &t);
	if (rc == VX_NOSEG) {
		if (!o.quiet)
			printf("no segment %s: nothing to reap\n", o.shm);
		return VX_OK;
	}
	if (rc)
		return rc;
	memset(&tally, 0, sizeof(tally));
	n = ttmem_reap(t, o.flag, &tally);
	if (n >= 0 && (rc = viewer_check_intact("reap", o.shm, t)) != 0) {
		ttmem_table_close(t);
		return rc;
	}
	ttmem_table_close(t);
	if (n == -EBUSY) {
		viewer_err("reap", "%s: another reaper has held the reaper lock for over 2 s: "
			   "nothing reaped, try again", o.shm);
		return VX_REAPER_BUSY;
	}
	if (n < 0) {
		viewer_err("reap", "%s: %s", o.shm, ttmem_strerror((int)n));
		return viewer_exit_code((int)n);
	}
	if (!o.quiet)
		print_tally(o.flag ? "reaped (dead and exited processes):" :
				     "reaped (dead processes):", &tally);
	return VX_OK;
}
