/* SPDX-License-Identifier: MIT */
/*
 * `ttmem buffers`: every live buffer, per chip and type, with its address,
 * size, page size, owner, process and callsite.  "Live" is what `show`
 * counts as in use (entries of running processes; --all adds the leak
 * records and orphans), taken through the same classification (livebuf.c),
 * so the sizes listed add up to show's in_use per chip and type.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "file_access.h"
#include "livebuf.h"
#include "sanitize.h"
#include "textfit.h"

enum out_format { OUT_TEXT = 0, OUT_JSON, OUT_CSV };

static void buffers_usage(FILE *f)
{
	fputs("usage: ttmem buffers [OPTIONS]\n\n"
	      "Every live buffer: chip, type, address, size, page size, owner, process\n"
	      "and callsite (the first frame outside the runtime, symbolized).  Live is\n"
	      "what show counts as in use: the entries of running processes.\n\n"
	      "  -d, --device N    only chip N\n"
	      "  -t, --type TYPE   only DRAM, L1, SYSTEM_MEMORY, L1_SMALL, TRACE or CB\n"
	      "  -p, --pid P       only process P\n"
	      "  -s, --sort KEY    address (default: by chip, type, address), size\n"
	      "                    (largest first), device, pid, type\n"
	      "  -a, --all         also the leak records of exited processes and the\n"
	      "                    entries of dead ones (column STATE)\n"
	      "  -n, --no-symbols  callsites as module+offset (no symbolization)\n"
	      "  -j, --json        JSON (schema ttmem/1, kind \"buffers\")\n"
	      "      --format F    text (default), json or csv\n"
	      "  -w, --width N     text: fit N columns (0: no limit); default the\n"
	      "                    terminal's width, else $COLUMNS, else no limit\n"
	      "      --shm NAME    segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     version\n", f);
}

static int parse_sort(const char *s, enum livebuf_key *k)
{
	static const struct { const char *name; enum livebuf_key key; } keys[] = {
		{ "address", LB_BY_ADDRESS }, { "size", LB_BY_SIZE }, { "device", LB_BY_DEVICE },
		{ "pid", LB_BY_PID }, { "type", LB_BY_TYPE },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(s, keys[i].name)) {
			*k = keys[i].key;
			return 0;
		}
	return -1;
}

static void callsite_of(struct symbolizer *sy, const struct livebuf *b, struct symbol_info *si)
{
	if (sy) {
		symbolize(sy, b->module, b->callsite, si);
		return;
	}
	memset(si, 0, sizeof(*si));
	strcpy(si->module, "?");
	si->offset = b->callsite;
	si->status = "not-symbolized";
}

static void text_callsite(FILE *f, const struct symbol_info *si)
{
	if (si->function[0]) {
		san_term(f, si->function, sizeof(si->function), 0);
		if (si->file[0]) {
			fputs(" (", f);
			san_term(f, si->file, sizeof(si->file), 0);
			fprintf(f, ":%" PRIu32 ")", si->line);
		}
		return;
	}
	san_term(f, si->module, sizeof(si->module), 0);
	fprintf(f, "+%#" PRIx64, si->offset);
}

/* The callsite as text, into a malloc'd string ("" when out of memory). */
static char *callsite_text(const struct symbol_info *si)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	text_callsite(f, si);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A table fitted to `width` (textfit.h): the page size, owner and pid go
 * first; the callsite and the process name are elided in the middle. */
static void print_text(FILE *f, const struct livebuf *v, size_t n, struct symbolizer *sy,
		       int all, unsigned width)
{
	enum { C_CHIP, C_TYPE, C_ADDR, C_SIZE, C_PAGE, C_OWNER, C_PID, C_PROC, C_STATE, C_SITE,
	       C_N };
	static const struct tf_col cols[C_N] = {
		{ "CHIP", 0, 0, 0, 0, 7 }, { "TYPE", 0, 0, 0, 0, 13 },
		{ "ADDRESS", 0, 1, 0, 0, 14 }, { "SIZE", 1, 0, 0, 0, 10 },
		{ "PAGE", 1, 4, 0, 0, 10 }, { "OWNER", 0, 3, 1, 6, 22 },
		{ "PID", 1, 2, 0, 0, 7 }, { "PROCESS", 0, 0, 1, 6, 17 },
		{ "STATE", 0, 1, 0, 0, 8 }, { "CALLSITE", 0, 0, 1, 16, 0 },
	};
	uint64_t bytes[TTMEM_TYPE_COUNT] = { 0 };
	char sz[24], pg[24], dev[16], name[80], addr[24], pid[16], line[256];
	struct tf_col use[C_N];
	size_t id[C_N], nc = 0, len;
	struct tf_table t;

	/* STATE only with --all. */
	for (size_t k = 0; k < C_N; k++)
		if (all || k != C_STATE) {
			use[nc] = cols[k];
			id[nc++] = k;
		}
	tf_init(&t, use, nc);
	for (size_t i = 0; i < n; i++) {
		const struct livebuf *b = &v[i];
		struct symbol_info si;
		const char *cell[C_N], *row[C_N];
		char *site;

		callsite_of(sy, b, &si);
		bytes[b->type] += b->size;
		if (b->page_size == 0)
			strcpy(pg, "?");
		else if (b->page_size == TTMEM_PAGE_SIZE_LARGE)
			strcpy(pg, ">= 4 GiB");
		else
			fmt_bytes(pg, sizeof(pg), b->page_size);
		snprintf(addr, sizeof(addr), "%#" PRIx64, b->address);
		snprintf(pid, sizeof(pid), "%" PRIu32, b->pid);
		san_cell(name, sizeof(name), b->name, strlen(b->name), 16, 0, 0);
		for (size_t k = strlen(name); k && name[k - 1] == ' ';)
			name[--k] = 0;
		site = callsite_text(&si);
		cell[C_CHIP] = device_name(dev, sizeof(dev), b->device);
		cell[C_TYPE] = type_name(b->type);
		cell[C_ADDR] = addr;
		cell[C_SIZE] = fmt_bytes(sz, sizeof(sz), b->size);
		cell[C_PAGE] = pg;
		cell[C_OWNER] = owner_name(b->owner);
		cell[C_PID] = pid;
		cell[C_PROC] = name;
		cell[C_STATE] = all ? liveness_name(b->state) : "";
		cell[C_SITE] = site ? site : "?";
		for (size_t k = 0; k < nc; k++)
			row[k] = cell[id[k]];
		tf_row(&t, row, NULL);
		free(site);
	}
	tf_print(f, &t, width);
	tf_release(&t);
	len = (size_t)snprintf(line, sizeof(line), "%zu buffer%s", n, n == 1 ? "" : "s");
	for (unsigned ty = 0; ty < TTMEM_TYPE_COUNT && len < sizeof(line); ty++)
		if (bytes[ty])
			len += (size_t)snprintf(line + len, sizeof(line) - len, ", %s %s",
						type_name(ty), fmt_bytes(sz, sizeof(sz), bytes[ty]));
	tf_wrap(f, width, 2, line);
}

static void json_nullable_str(FILE *f, const char *s, size_t n)
{
	if (s[0])
		json_str(f, s, n);
	else
		fputs("null", f);
}

static void print_json(FILE *f, const struct livebuf *v, size_t n, struct symbolizer *sy,
		       const char *shm)
{
	uint64_t bytes[TTMEM_TYPE_COUNT] = { 0 };

	for (size_t i = 0; i < n; i++)
		bytes[v[i].type] += v[i].size;
	fputs("{\"schema\":\"ttmem/1\",\"kind\":\"buffers\",\"segment\":", f);
	json_str(f, shm, strlen(shm));
	fprintf(f, ",\"count\":%zu,\"bytes\":{", n);
	for (unsigned ty = 0; ty < TTMEM_TYPE_COUNT; ty++)
		fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "", type_name(ty), bytes[ty]);
	fputs("},\"buffers\":[", f);
	for (size_t i = 0; i < n; i++) {
		const struct livebuf *b = &v[i];
		struct symbol_info si;

		callsite_of(sy, b, &si);
		fputs(i ? ",{\"device\":" : "{\"device\":", f);
		if (b->device == TTMEM_DEVICE_UNKNOWN)
			fputs("null", f);
		else
			fprintf(f, "%" PRIu32, b->device);
		fprintf(f, ",\"type\":\"%s\",\"address\":%" PRIu64 ",\"size\":%" PRIu64 ",\"page_size\":",
			type_name(b->type), b->address, b->size);
		if (b->page_size == 0 || b->page_size == TTMEM_PAGE_SIZE_LARGE)
			fputs("null", f);
		else
			fprintf(f, "%" PRIu32, b->page_size);
		fprintf(f, ",\"owner\":\"%s\",\"pid\":%" PRIu32 ",\"process\":", owner_name(b->owner),
			b->pid);
		json_str(f, b->name, strlen(b->name));
		fprintf(f, ",\"state\":\"%s\",\"mesh\":%s,\"bank_bytes\":", liveness_name(b->state),
			b->flags & TTMEM_SLOT_F_MESH ? "true" : "false");
		if (b->bank_bytes == 0 || b->bank_bytes == TTMEM_PAGE_SIZE_LARGE)
			fputs("null", f);
		else
			fprintf(f, "%" PRIu32, b->bank_bytes);
		fputs(",\"callsite\":{\"module\":", f);
		json_str(f, si.module, sizeof(si.module));
		fprintf(f, ",\"offset\":%" PRIu64 ",\"function\":", si.offset);
		json_nullable_str(f, si.function, sizeof(si.function));
		fputs(",\"file\":", f);
		json_nullable_str(f, si.file, sizeof(si.file));
		fprintf(f, ",\"line\":%" PRIu32 ",\"symbolization\":\"%s\"}}", si.line, si.status);
	}
	fputs("]}\n", f);
}

static void print_csv(FILE *f, const struct livebuf *v, size_t n, struct symbolizer *sy)
{
	fputs("device,type,address,size,page_size,owner,pid,process,state,function,file,line,"
	      "module,offset\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct livebuf *b = &v[i];
		struct symbol_info si;
		char dev[16];

		callsite_of(sy, b, &si);
		fprintf(f, "%s,%s,%#" PRIx64 ",%" PRIu64 ",", device_name(dev, sizeof(dev), b->device),
			type_name(b->type), b->address, b->size);
		if (b->page_size && b->page_size != TTMEM_PAGE_SIZE_LARGE)
			fprintf(f, "%" PRIu32, b->page_size);
		fprintf(f, ",%s,%" PRIu32 ",", owner_name(b->owner), b->pid);
		san_csv(f, b->name, strlen(b->name));
		fprintf(f, ",%s,", liveness_name(b->state));
		san_csv(f, si.function, sizeof(si.function));
		fputc(',', f);
		san_csv(f, si.file, sizeof(si.file));
		fprintf(f, ",%" PRIu32 ",", si.line);
		san_csv(f, si.module, sizeof(si.module));
		fprintf(f, ",%#" PRIx64 "\n", si.offset);
	}
}

int cmd_buffers(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "type", required_argument, NULL, 't' },
		{ "pid", required_argument, NULL, 'p' },
		{ "sort", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "no-symbols", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'F' },
		{ "shm", required_argument, NULL, 'S' },
		{ "width", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct livebuf_filter flt = { .device = -1, .type = -1, .pid = -1 };
	enum livebuf_key key = LB_BY_ADDRESS;
	enum out_format fmt = OUT_TEXT;
	const char *shm = NULL;
	int c, rc, nosym = 0;
	uint64_t v;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap = { 0 };
	struct model m = { 0 };
	struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1 };
	struct symbolizer *sy = NULL;
	struct file_access fa;
	struct livebuf *bufs = NULL;
	long n;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	const char *wopt = NULL;
	unsigned width = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:t:p:s:anjw:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
		case 'p':
			if (viewer_parse_u64(optarg, UINT32_MAX, &v) < 0) {
				viewer_err("buffers", "%s: '%s' is not a number",
					   c == 'p' ? "--pid" : "--device", optarg);
				return VX_USAGE;
			}
			*(c == 'p' ? &flt.pid : &flt.device) = (int64_t)v;
			break;
		case 't':
			if ((flt.type = livebuf_parse_type(optarg)) < 0) {
				viewer_err("buffers", "--type: unknown buffer type '%s' (DRAM, L1, "
					   "SYSTEM_MEMORY, L1_SMALL, TRACE, CB)", optarg);
				return VX_USAGE;
			}
			break;
		case 's':
			if (parse_sort(optarg, &key) < 0) {
				viewer_err("buffers", "--sort: unknown key '%s' (address, size, device, "
					   "pid, type)", optarg);
				return VX_USAGE;
			}
			break;
		case 'a':
			flt.all_states = 1;
			break;
		case 'n':
			nosym = 1;
			break;
		case 'j':
			fmt = OUT_JSON;
			break;
		case 'F':
			if (!strcmp(optarg, "text"))
				fmt = OUT_TEXT;
			else if (!strcmp(optarg, "json"))
				fmt = OUT_JSON;
			else if (!strcmp(optarg, "csv"))
				fmt = OUT_CSV;
			else {
				viewer_err("buffers", "--format: '%s' is not text, json or csv", optarg);
				return VX_USAGE;
			}
			break;
		case 'S':
			shm = optarg;
			break;
		case 'w':
			wopt = optarg;
			break;
		default: /* --help, --version, errors */
			return viewer_opt_default("buffers", c, argv, buffers_usage);
		}
	}
	rc = viewer_opt_no_operands("buffers", argc, argv);
	if (rc)
		return rc;
	if (tf_width("buffers", wopt, &width) < 0)
		return VX_USAGE;
	shm = viewer_shm_name(shm);
	rc = viewer_attach_snapshot("buffers", shm, &t, &snap);
	if (rc)
		return rc;
	rc = VX_SYSTEM;
	if (model_build(&m, t, &snap, &mo) < 0 || (n = livebuf_collect(&bufs, &m, &snap, &flt)) < 0)
		goto oom;
	if (!nosym) {
		file_access_for_segment(&fa, shm);
		if (!(sy = symbolizer_new(t, &fa)))
			goto oom;
	}
	livebuf_sort(bufs, (size_t)n, key);
	/* Module paths are read from the segment while printing: render aside,
	 * show only if the mapping held. */
	if (!(mem = open_memstream(&text, &len)))
		goto oom;
	if (fmt == OUT_JSON)
		print_json(mem, bufs, (size_t)n, sy, shm);
	else if (fmt == OUT_CSV)
		print_csv(mem, bufs, (size_t)n, sy);
	else
		print_text(mem, bufs, (size_t)n, sy, flt.all_states, width);
	if (fclose(mem) != 0)
		goto oom;
	rc = viewer_check_intact("buffers", shm, t);
	if (rc == VX_OK)
		rc = viewer_check_filters("buffers", shm, &m, flt.device, flt.pid);
	if (rc == VX_OK) {
		fwrite(text, 1, len, stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			viewer_err("buffers", "write error on standard output");
			rc = VX_SYSTEM;
		}
	}
	goto out;
oom:
	viewer_err("buffers", "out of memory");
out:
	free(text);
	free(bufs);
	symbolizer_free(sy);
	model_release(&m);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
