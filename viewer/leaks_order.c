/* SPDX-License-Identifier: MIT */
/*
 * The leak report's order and its cross-process view (viewer.h, "the leak
 * report"): what matters first is what leaked most, so processes and, in
 * each, their groups are sorted by bytes; and one stack that leaks in many
 * processes (a test suite's every run) is one line of the merged view,
 * whatever pids it came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "viewer.h"

static int cmp3(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Same owner kind and the same stack (the stack table is shared by all
 * processes, so one call path has one index), or the same callsite when
 * there is no stack. */
static int cmp_key(const struct leak_group *a, const struct leak_group *b)
{
	int c = cmp3(a->owner, b->owner);

	if (!c)
		c = cmp3(a->stack, b->stack);
	if (!c)
		c = cmp3(a->module, b->module);
	if (!c)
		c = cmp3(a->callsite, b->callsite);
	return c;
}

static int cmp_group_bytes(const void *pa, const void *pb)
{
	const struct leak_group *a = pa, *b = pb;
	int c = cmp3(b->bytes, a->bytes);

	return c ? c : cmp_key(a, b);
}

static int cmp_proc_bytes(const void *pa, const void *pb)
{
	const struct leak_proc *a = pa, *b = pb;
	int c = cmp3(b->bytes, a->bytes);

	if (!c)
		c = cmp3(a->pid, b->pid);
	return c ? c : cmp3((uint64_t)(int64_t)a->reg, (uint64_t)(int64_t)b->reg);
}

void leaks_sort_by_bytes(struct leak_report *r)
{
	for (size_t i = 0; i < r->nproc; i++)
		if (r->procs[i].ngroups > 1)
			qsort(&r->groups[r->procs[i].first_group], r->procs[i].ngroups,
			      sizeof(*r->groups), cmp_group_bytes);
	if (r->nproc > 1)
		qsort(r->procs, r->nproc, sizeof(*r->procs), cmp_proc_bytes);
}

struct ref {
	const struct leak_group *g;
	size_t proc;
};

static int cmp_ref(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;
	int c = cmp_key(a->g, b->g);

	return c ? c : cmp3(a->proc, b->proc);
}

static int cmp_merged(const void *pa, const void *pb)
{
	const struct leak_merged *a = pa, *b = pb;
	int c = cmp3(b->group.bytes, a->group.bytes);

	return c ? c : cmp_key(&a->group, &b->group);
}

long leaks_merge(const struct leak_report *r, struct leak_merged **out)
{
	struct ref *refs = malloc((r->ngroups ? r->ngroups : 1) * sizeof(*refs));
	struct leak_merged *m = calloc(r->ngroups ? r->ngroups : 1, sizeof(*m));
	size_t n = 0, k = 0;

	*out = NULL;
	if (!refs || !m) {
		free(refs);
		free(m);
		return -ENOMEM;
	}
	for (size_t p = 0; p < r->nproc; p++)
		for (size_t i = 0; i < r->procs[p].ngroups; i++)
			refs[k++] = (struct ref){ &r->groups[r->procs[p].first_group + i], p };
	if (k > 1)
		qsort(refs, k, sizeof(*refs), cmp_ref);
	for (size_t i = 0; i < k; i++) {
		const struct leak_group *g = refs[i].g;
		struct leak_merged *x;

		if (!n || cmp_key(&m[n - 1].group, g)) {
			x = &m[n++];
			x->group = *g;
			x->group.entries = 0;
			x->group.bytes = 0;
			memset(x->group.types, 0, sizeof(x->group.types));
			x->proc = refs[i].proc;
		}
		x = &m[n - 1];
		/* refs are sorted by process within a key: count each once. */
		if (!x->processes || refs[i - 1].proc != refs[i].proc)
			x->processes++;
		x->group.entries += g->entries;
		x->group.bytes += g->bytes;
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			x->group.types[ty] += g->types[ty];
	}
	free(refs);
	if (n > 1)
		qsort(m, n, sizeof(*m), cmp_merged);
	*out = m;
	return (long)n;
}
