/* SPDX-License-Identifier: MIT */
/*
 * The leak report: from a snapshot, the entries no running process holds any
 * more (still live when their process exited normally, or left by a dead
 * one), grouped by process, then owner kind, module and callsite.  Rendered
 * by cmd_leaks.c; fuzzed with the model (tests/fuzz).
 *
 * Like model.c, trusts nothing in the segment: registry indices are
 * bounds-checked, names copied with a terminator, memory O(entries).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
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

void leaks_release(struct leak_report *r)
{
	free(r->procs);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

int leaks_build(struct leak_report *r, const struct ttmem_table *t,
		const struct ttmem_snapshot *s, int64_t fpid, int64_t fdev, model_liveness_fn live)
{
	const struct ttmem_proc *reg = ttmem_table_procs(t);
	uint32_t nreg = ttmem_table_proc_capacity(t); /* validated, not re-read */
	struct leak *l = NULL;
	int *state_cache = NULL;
	size_t nl = 0;
	int rc = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!live)
		live = ttmem_proc_liveness;
	if (nreg > TTMEM_MAX_PROC_CAPACITY)
		nreg = TTMEM_MAX_PROC_CAPACITY;
	l = malloc((s->count ? s->count : 1) * sizeof(*l));
	state_cache = malloc((nreg ? nreg : 1) * sizeof(*state_cache));
	if (!l || !state_cache)
		goto out;
	for (uint32_t i = 0; i < nreg; i++)
		state_cache[i] = -1;
	for (size_t i = 0; i < s->count; i++) {
		const struct ttmem_entry *e = &s->entries[i];
		struct leak *k = &l[nl];
		int st = TTMEM_LIVENESS_UNKNOWN;

		if ((fpid >= 0 && fpid != e->pid) || (fdev >= 0 && fdev != e->key.device))
			continue;
		k->reg = -1;
		if (e->proc < nreg && reg[e->proc].pid == e->pid) {
			if (state_cache[e->proc] < 0) {
				state_cache[e->proc] = (int)live(t, e->proc, e->pid);
				/* Reaped after a kill: dead, not exited. */
				if (state_cache[e->proc] == TTMEM_LIVENESS_EXITED &&
				    (reg[e->proc].flags & TTMEM_PROC_F_KILLED))
					state_cache[e->proc] = TTMEM_LIVENESS_DEAD;
			}
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
		r->bytes += e->size;
		nl++;
	}
	r->entries = nl;
	if (nl)
		qsort(l, nl, sizeof(*l), cmp_leak);

	/* Processes and groups: at most one of each per leak. */
	r->procs = calloc(nl ? nl : 1, sizeof(*r->procs));
	r->groups = calloc(nl ? nl : 1, sizeof(*r->groups));
	if (!r->procs || !r->groups)
		goto out;
	for (size_t i = 0; i < nl; i++) {
		struct leak_proc *p;
		struct leak_group *g;

		if (!i || l[i].pid != l[i - 1].pid || l[i].reg != l[i - 1].reg) {
			p = &r->procs[r->nproc++];
			p->pid = l[i].pid;
			p->reg = l[i].reg;
			p->state = l[i].state;
			p->first_group = r->ngroups;
			strcpy(p->name, "?");
			if (l[i].reg >= 0) {
				const char *src = reg[l[i].reg].name;
				size_t n = 0;

				while (n < sizeof(reg[0].name) && n + 1 < sizeof(p->name) && src[n])
					n++;
				memcpy(p->name, src, n);
				p->name[n] = 0;
				for (size_t q = 0; q < n; q++)
					if ((unsigned char)p->name[q] < 0x20 || p->name[q] == 0x7f)
						p->name[q] = '?';
			}
		}
		p = &r->procs[r->nproc - 1];
		if (i == 0 || p->ngroups == 0 || l[i].owner != l[i - 1].owner ||
		    l[i].module != l[i - 1].module || l[i].callsite != l[i - 1].callsite) {
			g = &r->groups[r->ngroups++];
			g->owner = l[i].owner;
			g->module = l[i].module;
			g->callsite = l[i].callsite;
			p->ngroups++;
		}
		g = &r->groups[r->ngroups - 1];
		g->entries++;
		g->bytes += l[i].size;
		if (l[i].type < MODEL_TYPES)
			g->types[l[i].type] += l[i].size;
		p->entries++;
		p->bytes += l[i].size;
	}
	rc = 0;
out:
	free(l);
	free(state_cache);
	if (rc < 0)
		leaks_release(r);
	return rc;
}

/* One callsite group. */
static void print_group(FILE *f, struct symbolizer *sy, const struct leak_group *g, int json,
			int first)
{
	struct symbol_info si;
	char b[32];

	symbolize(sy, g->module, g->callsite, &si);
	if (json) {
		fprintf(f, "%s{\"owner\":\"%s\",\"module\":", first ? "" : ",", owner_name(g->owner));
		json_str(f, si.module, sizeof(si.module));
		fprintf(f, ",\"offset\":%" PRIu64 ",\"function\":", si.offset);
		if (si.function[0])
			json_str(f, si.function, sizeof(si.function));
		else
			fputs("null", f);
		fprintf(f, ",\"function_offset\":%" PRIu64 ",\"symbolization\":\"%s\""
			   ",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"types\":{",
			si.sym_offset, si.status, g->entries, g->bytes);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "", type_name(ty), g->types[ty]);
		fputs("}}", f);
		return;
	}
	fprintf(f, "  %10s in %4zu  %-21s ", fmt_bytes(b, sizeof(b), g->bytes), g->entries,
		owner_name(g->owner));
	/* The module path comes from the segment, the function name from a file
	 * it names: neither reaches the terminal raw. */
	if (si.function[0]) {
		san_term(f, si.function, sizeof(si.function), 0);
		fprintf(f, "+0x%" PRIx64 "  (", si.sym_offset);
		san_term(f, si.module, sizeof(si.module), 0);
		fprintf(f, "+0x%" PRIx64 ")", si.offset);
	} else {
		san_term(f, si.module, sizeof(si.module), 0);
		fprintf(f, "+0x%" PRIx64 "  [%s]", si.offset, si.status);
	}
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (g->types[ty])
			fprintf(f, "  %s %s", type_name(ty), fmt_bytes(b, sizeof(b), g->types[ty]));
	fputc('\n', f);
}

void leaks_print(FILE *f, const struct leak_report *r, struct symbolizer *sy, const char *shm,
		 int json)
{
	char b[32];

	if (json) {
		fputs("{\"schema\":\"ttmem/1\",\"kind\":\"leaks\",\"segment\":", f);
		json_str(f, shm, 4096);
		fprintf(f, ",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"processes\":[", r->entries,
			r->bytes);
	} else if (!r->entries) {
		fprintf(f, "No leaks in %s: no entry of an exited or dead process.\n", shm);
	} else {
		fprintf(f, "Leaks in %s: %s in %zu entries of %zu processes that are not running\n",
			shm, fmt_bytes(b, sizeof(b), r->bytes), r->entries, r->nproc);
	}
	for (size_t i = 0; i < r->nproc; i++) {
		const struct leak_proc *p = &r->procs[i];

		if (json) {
			fprintf(f, "%s{\"pid\":%" PRIu32 ",\"name\":", i ? "," : "", p->pid);
			json_str(f, p->name, sizeof(p->name));
			fprintf(f, ",\"state\":\"%s\",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"groups\":[",
				liveness_name(p->state), p->entries, p->bytes);
		} else {
			fprintf(f, "\npid %" PRIu32 " ", p->pid);
			san_term(f, p->name, sizeof(p->name), 0);
			fprintf(f, " (%s): %s in %zu entries%s\n",
				liveness_name(p->state), fmt_bytes(b, sizeof(b), p->bytes), p->entries,
				p->state == TTMEM_LIVENESS_EXITED ? ", still live at exit" : ", orphaned");
		}
		for (size_t k = 0; k < p->ngroups; k++)
			print_group(f, sy, &r->groups[p->first_group + k], json, k == 0);
		if (json)
			fputs("]}", f);
	}
	if (json)
		fputs("]}\n", f);
}
