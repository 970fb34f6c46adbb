/* SPDX-License-Identifier: MIT */
/*
 * The leak report: from a snapshot, the entries no running process holds any
 * more (still live when their process exited normally, or left by a dead
 * one), grouped by process, then owner kind and call stack (module and
 * callsite when there is none); rendered by leaks_print.c, each group
 * headed by its first frame of the user's code; fuzzed with the model
 * (tests/fuzz).
 *
 * Like model.c, trusts nothing in the segment: registry indices are
 * bounds-checked, names copied with a terminator, stacks copied out and
 * checked (stack_copy), memory O(entries).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "textfit.h"
#include "viewer.h"

struct leak {
	uint32_t pid;
	int32_t reg;         /* registry index, -1 unknown */
	int state;           /* enum ttmem_liveness */
	uint8_t owner, type;
	uint16_t module;
	uint32_t stack;
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
	if (x->stack != y->stack)
		return x->stack < y->stack ? -1 : 1;
	if (x->module != y->module)
		return x->module < y->module ? -1 : 1;
	return x->callsite < y->callsite ? -1 : x->callsite > y->callsite;
}

/* A NUL-terminated copy of at most n bytes of src, control bytes as '?'. */
static void copy_clean(char *dst, size_t len, const char *src, size_t n)
{
	size_t k = 0;

	while (k < n && k + 1 < len && src[k]) {
		unsigned char c = (unsigned char)src[k];

		dst[k] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		k++;
	}
	dst[k] = 0;
}

/*
 * The group's stack, copied out of the segment and checked, so that a
 * corrupt or foreign stack table is never followed and never shown as if it
 * were the allocation's: the entry must be published, its depth in range,
 * its hash that of its frames, and its first frame the slot's own callsite.
 */
static void stack_copy(struct leak_group *g, const struct ttmem_table *t)
{
	struct peak_stack ps;
	uint64_t f0;

	/* Published, in range, hashing to its hash (peaks.c reads a peak's
	 * stack so); then frame 0 must be the slot's callsite. */
	peak_stack_read(t, g->stack, &ps);
	g->depth = 0;
	g->truncated = 0;
	g->stack_status = ps.status;
	if (!ps.depth)
		return;
	memcpy(g->frame, ps.frame, sizeof(g->frame));
	f0 = g->frame[0];
	if (TTMEM_FRAME_MODULE(f0) != g->module ||
	    (g->callsite != UINT32_MAX && TTMEM_FRAME_OFFSET(f0) != g->callsite)) {
		g->stack_status = "mismatch";
		return;
	}
	g->depth = ps.depth;
	g->truncated = ps.truncated;
}

void leaks_keep_pids(struct leak_report *r, const uint32_t *pids, size_t n)
{
	size_t kept = 0;

	r->entries = 0;
	r->bytes = 0;
	for (size_t i = 0; i < r->nproc; i++) {
		int in = 0;

		for (size_t k = 0; k < n && !in; k++)
			in = r->procs[i].pid == pids[k];
		if (!in)
			continue;
		r->procs[kept++] = r->procs[i];
		r->entries += r->procs[i].entries;
		r->bytes += r->procs[i].bytes;
	}
	r->nproc = kept;
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
		k->stack = e->stack;
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
				copy_clean(p->cmdline, sizeof(p->cmdline), reg[l[i].reg].cmdline,
					   sizeof(reg[0].cmdline));
			}
		}
		p = &r->procs[r->nproc - 1];
		if (i == 0 || p->ngroups == 0 || l[i].owner != l[i - 1].owner ||
		    l[i].stack != l[i - 1].stack || l[i].module != l[i - 1].module ||
		    l[i].callsite != l[i - 1].callsite) {
			g = &r->groups[r->ngroups++];
			g->owner = l[i].owner;
			g->module = l[i].module;
			g->callsite = l[i].callsite;
			g->stack = l[i].stack;
			stack_copy(g, t);
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
	leaks_sort_by_bytes(r);
	rc = 0;
out:
	free(l);
	free(state_cache);
	if (rc < 0)
		leaks_release(r);
	return rc;
}
