/* SPDX-License-Identifier: MIT */
/*
 * `ttmem leaks`: the entries no running process holds any more: those still
 * live when their process exited normally (the preload keeps them, with
 * their callsites, as the leak record) and those of dead processes.  Grouped
 * by process, owner kind and callsite; callsites symbolized (symbolize.c).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

struct leak {
	uint32_t pid;
	int32_t reg;         /* registry index, -1 unknown */
	int state;           /* enum ttmem_liveness */
	uint8_t owner, type;
	uint16_t module;
	uint64_t callsite, size;
};

static int cmp_leak(const void *a, const void *b)
{
	const struct leak *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->reg != y->reg)
		return x->reg < y->reg ? -1 : 1;
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	return x->callsite < y->callsite ? -1 : x->callsite > y->callsite;
}

static void leaks_usage(FILE *f)
{
	fputs("usage: ttmem leaks [OPTIONS]\n\n"
	      "Entries still live when their process exited, and entries of dead\n"
	      "processes, grouped by process, owner kind and callsite.  Callsites are\n"
	      "symbolized from the module files (demangled); a module that changed or\n"
	      "has no symbols is shown as module+offset.\n\n"
	      "  -j, --json        JSON (schema ttmem/1, kind \"leaks\")\n"
	      "  -p, --pid P       only process P\n"
	      "  -d, --device N    only entries on chip N\n"
	      "      --shm NAME    segment (default $TTMEM_SHM, else " TTMEM_DEFAULT_SHM_NAME ")\n"
	      "  -h, --help        this help\n"
	      "  -V, --version     version\n", f);
}

/* One callsite group [first, last) of leaks with the same process, owner,
 * module and callsite. */
static void print_group(FILE *f, struct symbolizer *sy, const struct leak *l, size_t n,
			int json, int first)
{
	struct symbol_info si;
	uint64_t bytes = 0, types[MODEL_TYPES] = { 0 };
	char b[32];

	for (size_t i = 0; i < n; i++) {
		bytes += l[i].size;
		if (l[i].type < MODEL_TYPES)
			types[l[i].type] += l[i].size;
	}
	symbolize(sy, l->module, l->callsite, &si);
	if (json) {
		fprintf(f, "%s{\"owner\":\"%s\",\"module\":", first ? "" : ",", owner_name(l->owner));
		json_str(f, si.module, sizeof(si.module));
		fprintf(f, ",\"offset\":%" PRIu64 ",\"function\":", si.offset);
		if (si.function[0])
			json_str(f, si.function, sizeof(si.function));
		else
			fputs("null", f);
		fprintf(f, ",\"function_offset\":%" PRIu64 ",\"symbolization\":\"%s\""
			   ",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"types\":{",
			si.sym_offset, si.status, n, bytes);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "", type_name(ty), types[ty]);
		fputs("}}", f);
		return;
	}
	fprintf(f, "  %10s in %4zu  %-21s ", fmt_bytes(b, sizeof(b), bytes), n,
		owner_name(l->owner));
	if (si.function[0])
		fprintf(f, "%s+0x%" PRIx64 "  (%s+0x%" PRIx64 ")", si.function, si.sym_offset,
			si.module, si.offset);
	else
		fprintf(f, "%s+0x%" PRIx64 "  [%s]", si.module, si.offset, si.status);
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (types[ty])
			fprintf(f, "  %s %s", type_name(ty), fmt_bytes(b, sizeof(b), types[ty]));
	fputc('\n', f);
}

int cmd_leaks(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'd' },
		{ "shm", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *shm = NULL;
	int json = 0, c, rc;
	int64_t fpid = -1, fdev = -1;
	uint64_t v, total = 0;
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot snap;
	struct symbolizer *sy = NULL;
	struct leak *l = NULL;
	size_t nl = 0, nproc = 0;
	int *state_cache = NULL;
	const struct ttmem_proc *reg;
	uint32_t nreg;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jp:d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
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
		case 'h':
			leaks_usage(stdout);
			return VX_OK;
		case 'V':
			viewer_version("leaks");
			return VX_OK;
		case ':':
			viewer_err("leaks", "option '%s' needs a value", argv[optind - 1]);
			return VX_USAGE;
		default:
			viewer_err("leaks", "unknown option '%s' (try 'ttmem leaks --help')",
				   argv[optind - 1]);
			return VX_USAGE;
		}
	}
	if (optind < argc) {
		viewer_err("leaks", "unexpected argument '%s'", argv[optind]);
		return VX_USAGE;
	}
	shm = viewer_shm_name(shm);
	rc = viewer_attach("leaks", shm, 0, &t);
	if (rc)
		return rc;
	rc = ttmem_snapshot(t, &snap);
	if (rc < 0) {
		viewer_err("leaks", "%s: snapshot: %s", shm, ttmem_strerror(rc));
		ttmem_table_close(t);
		return viewer_exit_code(rc);
	}
	reg = ttmem_table_procs(t);
	nreg = ttmem_table_header(t)->proc_capacity;
	if (nreg > TTMEM_MAX_PROC_CAPACITY)
		nreg = TTMEM_MAX_PROC_CAPACITY;
	l = malloc((snap.count ? snap.count : 1) * sizeof(*l));
	state_cache = malloc((nreg ? nreg : 1) * sizeof(*state_cache));
	sy = symbolizer_new(t);
	if (!l || !state_cache || !sy) {
		viewer_err("leaks", "out of memory");
		rc = VX_SYSTEM;
		goto out;
	}
	for (uint32_t i = 0; i < nreg; i++)
		state_cache[i] = -1;
	for (size_t i = 0; i < snap.count; i++) {
		const struct ttmem_entry *e = &snap.entries[i];
		struct leak *k = &l[nl];
		int st = TTMEM_LIVENESS_UNKNOWN;

		if ((fpid >= 0 && fpid != e->pid) || (fdev >= 0 && fdev != e->key.device))
			continue;
		k->reg = -1;
		if (e->proc < nreg && reg[e->proc].pid == e->pid) {
			if (state_cache[e->proc] < 0)
				state_cache[e->proc] = (int)ttmem_proc_liveness(t, e->proc, e->pid);
			st = state_cache[e->proc];
			if (st != TTMEM_LIVENESS_UNKNOWN)
				k->reg = e->proc;
		}
		if (st == TTMEM_LIVENESS_RUNNING)
			continue;
		k->pid = e->pid;
		k->state = st;
		k->owner = e->owner_kind;
		k->type = e->type;
		k->module = e->module;
		k->callsite = e->callsite;
		k->size = e->size;
		total += e->size;
		nl++;
	}
	if (nl)
		qsort(l, nl, sizeof(*l), cmp_leak);
	for (size_t i = 0; i < nl; i++)
		if (!i || l[i].pid != l[i - 1].pid || l[i].reg != l[i - 1].reg)
			nproc++;

	if (json) {
		fputs("{\"schema\":\"ttmem/1\",\"kind\":\"leaks\",\"segment\":", stdout);
		json_str(stdout, shm, 4096);
		fprintf(stdout, ",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"processes\":[", nl, total);
	} else if (!nl) {
		printf("No leaks in %s: no entry of an exited or dead process.\n", shm);
	} else {
		char b[32];

		printf("Leaks in %s: %s in %zu entries of %zu processes that are not running\n",
		       shm, fmt_bytes(b, sizeof(b), total), nl, nproc);
	}
	for (size_t i = 0; i < nl;) {
		size_t j = i, groups = 0;
		uint64_t pbytes = 0;
		char name[33] = "?";
		char b[32];

		while (j < nl && l[j].pid == l[i].pid && l[j].reg == l[i].reg)
			pbytes += l[j++].size;
		if (l[i].reg >= 0) {
			size_t n = 0;
			const char *src = reg[l[i].reg].name;

			while (n < 32 && src[n])
				n++;
			memcpy(name, src, n);
			name[n] = 0;
			for (size_t q = 0; q < n; q++)
				if ((unsigned char)name[q] < 0x20 || name[q] == 0x7f)
					name[q] = '?';
		}
		if (json) {
			fprintf(stdout, "%s{\"pid\":%" PRIu32 ",\"name\":", i ? "," : "", l[i].pid);
			json_str(stdout, name, sizeof(name));
			fprintf(stdout, ",\"state\":\"%s\",\"entries\":%zu,\"bytes\":%" PRIu64
					",\"groups\":[",
				liveness_name(l[i].state), j - i, pbytes);
		} else {
			printf("\npid %" PRIu32 " %s (%s): %s in %zu entries%s\n", l[i].pid, name,
			       liveness_name(l[i].state), fmt_bytes(b, sizeof(b), pbytes), j - i,
			       l[i].state == TTMEM_LIVENESS_EXITED ? ", still live at exit" :
								     ", orphaned");
		}
		for (size_t g = i; g < j;) {
			size_t h = g;

			while (h < j && l[h].owner == l[g].owner && l[h].module == l[g].module &&
			       l[h].callsite == l[g].callsite)
				h++;
			print_group(stdout, sy, &l[g], h - g, json, groups++ == 0);
			g = h;
		}
		if (json)
			fputs("]}", stdout);
		i = j;
	}
	if (json)
		fputs("]}\n", stdout);
	rc = VX_OK;
	if (fflush(stdout) != 0 || ferror(stdout)) {
		viewer_err("leaks", "write error on standard output");
		rc = VX_SYSTEM;
	}
out:
	symbolizer_free(sy);
	free(state_cache);
	free(l);
	ttmem_snapshot_free(&snap);
	ttmem_table_close(t);
	return rc;
}
