/* SPDX-License-Identifier: MIT */
/*
 * `ttmem map -d CHIP TYPE`: the address space of one bank of TYPE on CHIP
 * (bankmap.h): the ranges the live buffers hold, the holes between them, the
 * largest free block and how fragmented the free space is, as a bar across
 * the terminal and as JSON.  It answers "why does a 300 KiB L1 allocation
 * fail with 30% free": the largest hole is what an allocation's per-bank
 * size must fit in.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bankmap.h"
#include "sanitize.h"

static void map_usage(FILE *f)
{
	fputs("usage: ttmem map -d CHIP [OPTIONS] TYPE\n\n"
	      "The address space of one bank of TYPE (DRAM, L1, L1_SMALL, TRACE) on chip\n"
	      "CHIP: the ranges live buffers hold in every bank (a buffer interleaved over\n"
	      "B banks holds ceil(pages / B) aligned pages at its address in each; the\n"
	      "L1 map includes the circular buffers at its base), the holes between\n"
	      "them, the largest free block and the fragmentation (1 - largest free /\n"
	      "total free).  The bank's bounds come from the runtime's allocator; where\n"
	      "it did not publish them only the holes between buffers are known.\n\n"
	      "  -d, --device N    the chip (required)\n"
	      "  -w, --width W     columns of the bar (default: the terminal's, else 80)\n"
	      "  -q, --summary     the bar and the figures, without the range list\n"
	      "  -j, --json        JSON (schema ttmem/1, kind \"map\")\n"
	      "      --shm NAME    segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     version\n", f);
}

static unsigned term_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	uint64_t v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	if (cols && viewer_parse_u64(cols, 1000, &v) == 0 && v >= 20)
		return (unsigned)v;
	return 80;
}

/* One character per column of the bank: '#' all held, '.' all free, '+'
 * part held; a CB-held column is 'c' (CBs are below the L1 buffers). */
static void draw_bar(FILE *f, const struct bankmap *bm, unsigned width)
{
	uint64_t lo = bm->geo.base, span = bm->geo.size;
	size_t r = 0;

	fputc('[', f);
	for (unsigned c = 0; c < width; c++) {
		uint64_t a = lo + span * c / width, z = lo + span * (c + 1) / width, held = 0;
		int cb = 0;

		while (r < bm->nranges && bm->ranges[r].end <= a)
			r++;
		for (size_t k = r; k < bm->nranges && bm->ranges[k].start < z; k++) {
			uint64_t s = bm->ranges[k].start > a ? bm->ranges[k].start : a;
			uint64_t e = bm->ranges[k].end < z ? bm->ranges[k].end : z;

			if (e > s) {
				held += e - s;
				cb |= bm->ranges[k].b->type == TTMEM_TYPE_CB;
			}
		}
		fputc(held == 0 ? '.' : held >= z - a ? (cb ? 'c' : '#') : '+', f);
	}
	fputs("]\n", f);
}

static void print_text(FILE *f, const struct bankmap *bm, unsigned width, int summary)
{
	char b1[24], b2[24], b3[24], dev[16], name[80];

	device_name(dev, sizeof(dev), bm->device);
	if (bm->have_geo) {
		fprintf(f, "chip %s %s: bank [%#" PRIx64 ", %#" PRIx64 ") %s x %" PRIu32
			" bank%s = %s, alignment %" PRIu32 "\n", dev, type_name(bm->type), bm->geo.base,
			bm->geo.base + bm->geo.size, fmt_bytes(b1, sizeof(b1), bm->geo.size),
			bm->geo.banks, bm->geo.banks == 1 ? "" : "s",
			fmt_bytes(b2, sizeof(b2), bm->geo.size * bm->geo.banks),
			bm->geo.alignment);
		draw_bar(f, bm, width > 2 ? width - 2 : 1);
		fputs("  '#' held, 'c' circular buffers, '+' partly held, '.' free\n", f);
	} else {
		fprintf(f, "chip %s %s: bank bounds unknown (%s): only the holes between buffers\n",
			dev, type_name(bm->type), bm->why);
	}
	if (!summary) {
		size_t h = 0;

		fprintf(f, "%-14s %-14s %10s %10s  %-8s %7s  %s\n", "START", "END", "PER BANK",
			"SIZE", "TYPE", "PID", "PROCESS");
		for (size_t i = 0; i <= bm->nranges; i++) {
			const struct bm_range *r = i < bm->nranges ? &bm->ranges[i] : NULL;

			/* The holes in address order between the ranges. */
			for (; h < bm->nholes && (!r || bm->holes[h].start <= r->start); h++)
				fprintf(f, "%#-14" PRIx64 " %#-14" PRIx64 " %10s %10s  free\n",
					bm->holes[h].start, bm->holes[h].end,
					fmt_bytes(b1, sizeof(b1), bm->holes[h].end - bm->holes[h].start),
					"");
			if (!r)
				break;
			fprintf(f, "%#-14" PRIx64 " %#-14" PRIx64 " %10s %10s  %-8s %7" PRIu32 "  %s\n",
				r->start, r->end, fmt_bytes(b1, sizeof(b1), r->end - r->start),
				fmt_bytes(b2, sizeof(b2), r->b->size), type_name(r->b->type), r->b->pid,
				san_cell(name, sizeof(name), r->b->name, strlen(r->b->name), 16, 0, 0));
		}
	}
	fprintf(f, "held %s per bank in %zu range%s", fmt_bytes(b1, sizeof(b1), bm->used),
		bm->nranges, bm->nranges == 1 ? "" : "s");
	if (bm->have_geo)
		fprintf(f, "; free %s in %zu hole%s; largest free block %s at %#" PRIx64
			"; fragmentation %.1f%%\n", fmt_bytes(b2, sizeof(b2), bm->free_total),
			bm->nholes, bm->nholes == 1 ? "" : "s", fmt_bytes(b3, sizeof(b3), bm->largest),
			bm->largest_at, 100.0 * bankmap_fragmentation(bm));
	else
		fputc('\n', f);
	if (bm->overlaps)
		fprintf(f, "warning: %zu range%s overlap others (two processes on one chip, or a "
			"corrupt segment)\n", bm->overlaps, bm->overlaps == 1 ? "" : "s");
	if (bm->outside)
		fprintf(f, "warning: %zu range%s reach outside the bank (clipped)\n", bm->outside,
			bm->outside == 1 ? "" : "s");
	if (bm->estimated)
		fprintf(f, "note: %zu range%s estimated (page size not recorded)\n", bm->estimated,
			bm->estimated == 1 ? "" : "s");
}

static void print_json(FILE *f, const struct bankmap *bm, const char *shm)
{
	fputs("{\"schema\":\"ttmem/1\",\"kind\":\"map\",\"segment\":", f);
	json_str(f, shm, strlen(shm));
	fprintf(f, ",\"device\":%" PRIu32 ",\"type\":\"%s\",\"geometry\":", bm->device,
		type_name(bm->type));
	if (bm->have_geo)
		fprintf(f, "{\"base\":%" PRIu64 ",\"bank_size\":%" PRIu64 ",\"banks\":%" PRIu32
			",\"alignment\":%" PRIu32 "}", bm->geo.base, bm->geo.size, bm->geo.banks,
			bm->geo.alignment);
	else
		fputs("null", f);
	fputs(",\"ranges\":[", f);
	for (size_t i = 0; i < bm->nranges; i++) {
		const struct bm_range *r = &bm->ranges[i];

		fprintf(f, "%s{\"start\":%" PRIu64 ",\"end\":%" PRIu64 ",\"type\":\"%s\",\"size\":%" PRIu64
			",\"page_size\":", i ? "," : "", r->start, r->end, type_name(r->b->type),
			r->b->size);
		if (r->b->page_size && r->b->page_size != TTMEM_PAGE_SIZE_LARGE)
			fprintf(f, "%" PRIu32, r->b->page_size);
		else
			fputs("null", f);
		fprintf(f, ",\"owner\":\"%s\",\"pid\":%" PRIu32 ",\"process\":", owner_name(r->b->owner),
			r->b->pid);
		json_str(f, r->b->name, strlen(r->b->name));
		fputc('}', f);
	}
	fputs("],\"holes\":[", f);
	for (size_t i = 0; i < bm->nholes; i++)
		fprintf(f, "%s{\"start\":%" PRIu64 ",\"end\":%" PRIu64 "}", i ? "," : "",
			bm->holes[i].start, bm->holes[i].end);
	fprintf(f, "],\"used_per_bank\":%" PRIu64, bm->used);
	if (bm->have_geo)
		fprintf(f, ",\"free_per_bank\":%" PRIu64 ",\"largest_free_block\":%" PRIu64
			",\"largest_free_address\":%" PRIu64 ",\"fragmentation\":%.6f",
			bm->free_total, bm->largest, bm->largest_at, bankmap_fragmentation(bm));
	else
		fputs(",\"free_per_bank\":null,\"largest_free_block\":null,"
		      "\"largest_free_address\":null,\"fragmentation\":null", f);
	fprintf(f, ",\"overlaps\":%zu,\"outside\":%zu,\"estimated\":%zu}\n", bm->overlaps,
		bm->outside, bm->estimated);
}

int cmd_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "width", required_argument, NULL, 'w' },
		{ "summary", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "shm", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL, *why = NULL;
	int c, rc, json = 0, summary = 0, type;
	int64_t device = -1;
	unsigned width = 0;
	uint64_t v;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap = { 0 };
	struct model m = { 0 };
	struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1 };
	struct livebuf_filter flt = { .device = -1, .type = -1, .pid = -1 };
	struct livebuf *bufs = NULL;
	struct bankmap bm = { 0 };
	struct ttmem_bank_geometry geo;
	long n;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:w:qjhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (viewer_parse_u64(optarg, TTMEM_MAX_DEVICES - 1, &v) < 0) {
				viewer_err("map", "--device: '%s' is not a chip id (0..%u)", optarg,
					   TTMEM_MAX_DEVICES - 1);
				return VX_USAGE;
			}
			device = (int64_t)v;
			break;
		case 'w':
			if (viewer_parse_u64(optarg, 1000, &v) < 0 || v < 10) {
				viewer_err("map", "--width: '%s' is not a number of columns (10..1000)",
					   optarg);
				return VX_USAGE;
			}
			width = (unsigned)v;
			break;
		case 'q':
			summary = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'S':
			shm = optarg;
			break;
		default: /* --help, --version, errors */
			return viewer_opt_default("map", c, argv, map_usage);
		}
	}
	if (optind >= argc) {
		viewer_err("map", "which type? (ttmem map -d CHIP DRAM|L1|L1_SMALL|TRACE)");
		return VX_USAGE;
	}
	type = livebuf_parse_type(argv[optind]);
	if (type < 0 || type == TTMEM_TYPE_SYSTEM_MEMORY || type == TTMEM_TYPE_CB) {
		viewer_err("map", "'%s': a map is of DRAM, L1, L1_SMALL or TRACE%s", argv[optind],
			   type == TTMEM_TYPE_CB ? " (circular buffers are drawn in the L1 map)" : "");
		return VX_USAGE;
	}
	optind++;
	rc = viewer_opt_no_operands("map", argc, argv);
	if (rc)
		return rc;
	if (device < 0) {
		viewer_err("map", "which chip? (-d CHIP; 'ttmem show' lists them)");
		return VX_USAGE;
	}
	shm = viewer_shm_name(shm);
	rc = viewer_attach_snapshot("map", shm, &t, &snap);
	if (rc)
		return rc;
	rc = VX_SYSTEM;
	flt.device = device;
	if (model_build(&m, t, &snap, &mo) < 0 || (n = livebuf_collect(&bufs, &m, &snap, &flt)) < 0)
		goto oom;
	if (bankmap_build(&bm, bufs, (size_t)n, (uint32_t)device, (unsigned)type,
			  livebuf_geometry(t, (uint32_t)device, (unsigned)type, &geo, &why) == 0 ? &geo
												  : NULL) < 0)
		goto oom;
	bm.why = why;
	if (!(mem = open_memstream(&text, &len)))
		goto oom;
	if (json)
		print_json(mem, &bm, shm);
	else
		print_text(mem, &bm, width ? width : term_width(), summary);
	if (fclose(mem) != 0)
		goto oom;
	rc = viewer_check_intact("map", shm, t);
	if (rc == VX_OK)
		rc = viewer_check_filters("map", shm, &m, device, -1);
	if (rc == VX_OK) {
		fwrite(text, 1, len, stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			viewer_err("map", "write error on standard output");
			rc = VX_SYSTEM;
		}
	}
	goto out;
oom:
	viewer_err("map", "out of memory");
out:
	free(text);
	free(bufs);
	bankmap_release(&bm);
	model_release(&m);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
