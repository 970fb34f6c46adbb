/* SPDX-License-Identifier: MIT */
/*
 * model: one snapshot of the segment aggregated per chip, buffer type, owner
 * kind and process.  show, top, --json and --prometheus all render a model,
 * so they always agree.
 *
 * What counts as "in use": entries of processes that are running.  Entries
 * left by an exited process are its leak record ("exited": the memory went
 * back to the driver with the process); entries of a dead process, or whose
 * registry entry was recycled, are orphaned.  Neither is in use.
 *
 * Nothing read from the segment is trusted: indices are bounds-checked,
 * strings copied with a terminator, sums wrap rather than trap, and memory is
 * O(entries + registry) whatever the header claims.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "viewer.h"

/* ---- u64 -> u32 maps (uthash) ------------------------------------------------ */

struct u64map_item {
	uint64_t key;
	uint32_t val;
	UT_hash_handle hh;
};

struct u64map {
	struct u64map_item *head;
};

static void map_free(struct u64map *m)
{
	struct u64map_item *it, *tmp;

	HASH_ITER(hh, m->head, it, tmp) {
		HASH_DEL(m->head, it);
		free(it);
	}
}

static int map_get(const struct u64map *m, uint64_t key, uint32_t *val)
{
	struct u64map_item *it;

	HASH_FIND(hh, m->head, &key, sizeof(key), it);
	if (!it)
		return 0;
	*val = it->val;
	return 1;
}

static int map_put(struct u64map *m, uint64_t key, uint32_t val)
{
	struct u64map_item *it;

	HASH_FIND(hh, m->head, &key, sizeof(key), it);
	if (!it) {
		it = malloc(sizeof(*it));
		if (!it)
			return -ENOMEM;
		it->key = key;
		HASH_ADD(hh, m->head, key, sizeof(it->key), it);
	}
	it->val = val;
	return 0;
}

/* ---- helpers --------------------------------------------------------------- */

/* Relaxed loads of the segment's counters (the mapping may be read-only,
 * which an atomic load never writes to). */
static uint64_t ld64(const _Atomic uint64_t *p)
{
	return atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)p, memory_order_relaxed);
}

static uint32_t ld32(const _Atomic uint32_t *p)
{
	return atomic_load_explicit((_Atomic uint32_t *)(uintptr_t)p, memory_order_relaxed);
}

static void copy_str(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t n = 0;

	while (n < slen && n + 1 < dlen && src[n])
		n++;
	memcpy(dst, src, n);
	dst[n] = 0;
	/* The bytes as they are: each rendering makes them safe for its output
	 * (sanitize.h), so JSON can give back exactly what the process wrote. */
}

uint64_t model_sum(const uint64_t *v)
{
	uint64_t s = 0;

	for (unsigned i = 0; i < MODEL_TYPES; i++)
		s += v[i];
	return s;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_cell(const void *a, const void *b)
{
	const struct model_cell *x = a, *y = b;

	if (x->proc_ix != y->proc_ix)
		return x->proc_ix < y->proc_ix ? -1 : 1;
	return x->dev_ix < y->dev_ix ? -1 : x->dev_ix > y->dev_ix;
}

long model_dev_index(const struct model *m, uint32_t id)
{
	size_t lo = 0, hi = m->ndev;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->dev[mid].device == id)
			return (long)mid;
		if (m->dev[mid].device < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void model_release(struct model *m)
{
	free(m->dev);
	free(m->proc);
	free(m->cell);
	memset(m, 0, sizeof(*m));
}

/* ---- building ------------------------------------------------------------------ */

static void read_segment(struct model_seg *g, const struct ttmem_table *t,
			 const struct ttmem_snapshot *s)
{
	const struct ttmem_header *h = ttmem_table_header(t);

	g->abi_major = h->abi_major;
	g->abi_minor = h->abi_minor;
	/* The geometry as validated at open: the header may have changed. */
	g->capacity = ttmem_table_capacity(t);
	g->total_size = h->total_size;
	g->created_ns = h->created_ns;
	g->cleared_ns = ld64(&h->cleared_ns);
	g->clear_epoch = ld64(&h->clear_epoch);
	g->proc_capacity = ttmem_table_proc_capacity(t);
	g->module_capacity = ttmem_table_module_capacity(t);
	g->creator_pid = h->creator_pid;
	g->creator_uid = h->creator_uid;
	g->events = ld64(&h->counters.events);
	g->drops = ld64(&h->counters.drops);
	g->unmatched = ld64(&h->counters.unmatched);
	g->reclaimed = ld64(&h->counters.reclaimed);
	g->replaced = ld64(&h->counters.replaced);
	g->stuck_freed = ld64(&h->counters.stuck_freed);
	g->proc_drops = ld64(&h->counters.proc_drops);
	g->module_drops = ld64(&h->counters.module_drops);
	g->unstable = s->unstable;
	g->stuck = s->stuck;
	g->taken_ns = s->taken_ns;
}

static void read_proc(struct model_proc *p, const struct ttmem_proc *r)
{
	p->pid = r->pid;
	p->ppid = r->ppid;
	p->uid = r->uid;
	p->flags = r->flags;
	p->partial = (p->flags & TTMEM_PROC_F_PARTIAL) != 0;
	copy_str(p->name, sizeof(p->name), r->name, sizeof(r->name));
	copy_str(p->cmdline, sizeof(p->cmdline), r->cmdline, sizeof(r->cmdline));
	p->start_time = r->start_time;
	p->registered_ns = r->registered_ns;
	p->exited_ns = ld64(&r->exited_ns);
	p->allocs = ld64(&r->allocs);
	p->frees = ld64(&r->frees);
	p->unmatched = ld64(&r->unmatched);
	p->drops = ld64(&r->drops);
	p->counter_live_bytes = ld64(&r->live_bytes);
	p->peak_bytes = ld64(&r->peak_bytes);
	for (unsigned o = 0; o < TTMEM_OWNER_COUNT; o++)
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
			p->released[o][ty] = ld64(&r->released_bulk[o][ty]);
			p->at_exit[o][ty] = ld64(&r->live_at_exit[o][ty]);
			p->released_total += p->released[o][ty];
			p->at_exit_total += p->at_exit[o][ty];
		}
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *n;
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	n = realloc(*arr, c * elem);
	if (!n)
		return -ENOMEM;
	memset((char *)n + *cap * elem, 0, (c - *cap) * elem);
	*arr = n;
	*cap = c;
	return 0;
}

/* What model_build carries from one phase to the next. */
struct builder {
	struct model *m;
	const struct ttmem_table *t;
	const struct ttmem_snapshot *s;
	const struct model_opts *o;
	const struct ttmem_device_info *di;
	uint32_t nreg, ndi;            /* registry and device table sizes, clamped */
	int32_t *regmap;               /* registry index -> m->proc index, or -1 */
	size_t proccap, cellcap;
	struct u64map devset;          /* chip id -> m->dev index */
	struct u64map pseudo;          /* pid of an unregistered owner -> m->proc index */
	struct u64map cells;           /* (proc index << 32 | dev index) -> m->cell index */
};

/* The registry: every claimed entry, classified once. */
static int add_registry(struct builder *b)
{
	const struct ttmem_proc *reg = ttmem_table_procs(b->t);
	model_liveness_fn live = b->o->liveness ? b->o->liveness : ttmem_proc_liveness;
	struct model *m = b->m;

	b->regmap = malloc((b->nreg ? b->nreg : 1) * sizeof(*b->regmap));
	if (!b->regmap)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->nreg; i++) {
		uint64_t ctl;
		uint32_t st;
		struct model_proc *p;

		b->regmap[i] = -1;
		/* An entry in a page of the file never written is FREE: not
		 * touched (a read would allocate the page; datamap.c). */
		if (ttmem_table_hole(b->t, &reg[i], sizeof(reg[i])))
			continue;
		ctl = ld64(&reg[i].ctl);
		st = (uint32_t)(ctl & 0xff);
		if (st != TTMEM_PROC_RUNNING && st != TTMEM_PROC_EXITED)
			continue;
		m->seg.procs_registered++;
		if (grow((void **)&m->proc, &b->proccap, m->nproc + 1, sizeof(*m->proc)) < 0)
			return -ENOMEM;
		p = &m->proc[m->nproc];
		p->reg = (int32_t)i;
		read_proc(p, &reg[i]);
		p->state = (int)live(b->t, (uint16_t)i, p->pid);
		/* Reaped after a kill: the registry says exited, the truth is dead. */
		if (p->state == TTMEM_LIVENESS_EXITED && (p->flags & TTMEM_PROC_F_KILLED))
			p->state = TTMEM_LIVENESS_DEAD;
		b->regmap[i] = (int32_t)m->nproc++;
	}
	return 0;
}

/* Capacity (published, else from the arch table) and baseline of chip k. */
static void read_device(const struct builder *b, struct model_dev *dv)
{
	const struct ttmem_device_info *d = dv->device < b->ndi ? &b->di[dv->device] : NULL;

	if (d && ld32(&d->state) == 1) {
		dv->published = 1;
		dv->arch = d->arch;
	}
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		uint64_t c = d && dv->published ? ld64(&d->capacity[ty]) : 0;

		if (c) {
			dv->capacity[ty] = c;
			dv->cap_source[ty] = CAP_SEGMENT;
		} else if ((c = arch_capacity(dv->arch, ty)) != 0) {
			dv->capacity[ty] = c;
			dv->cap_source[ty] = CAP_ARCH;
		}
		if (b->m->baseline_ns && d)
			dv->baseline[ty] = ld64(&d->baseline[ty]);
		/* The peak (ABI minor 2; an older writer left the words 0). */
		uint64_t pw = d && dv->published ? ld64(&d->peak[ty]) : 0;
		dv->peak[ty] = TTMEM_PEAK_BYTES(pw);
		dv->peak_ns[ty] = pw ? ld64(&d->peak_ns[ty]) : 0;
		peak_stack_read(b->t, pw ? TTMEM_PEAK_STACK(pw) : 0, &dv->peak_stack[ty]);
	}
}

/* Devices: the published ones, those with a baseline (so that a delta stays
 * visible after everything was freed), and any an entry names; sorted.  A
 * chip asked for by the filter is not invented: absent, it is not listed
 * (the caller tells the user). */
static int add_devices(struct builder *b)
{
	const struct model_opts *o = b->o;
	struct model *m = b->m;
	uint32_t *devids = NULL;
	size_t ndevids = 0, devcap = 0;
	int rc = -ENOMEM;

	for (uint32_t d = 0; d < b->ndi; d++) {
		int listed = ld32(&b->di[d].state) == 1;

		for (unsigned ty = 0; !listed && m->baseline_ns && ty < MODEL_TYPES; ty++)
			listed = ld64(&b->di[d].baseline[ty]) != 0;
		if (listed && (o->device < 0 || o->device == d))
			if (map_put(&b->devset, d, 0) < 0)
				goto out;
	}
	for (size_t i = 0; i < b->s->count; i++) {
		uint32_t d = b->s->entries[i].key.device;

		if ((o->device < 0 || o->device == d) && map_put(&b->devset, d, 0) < 0)
			goto out;
	}
	for (struct u64map_item *it = b->devset.head; it; it = it->hh.next) {
		if (grow((void **)&devids, &devcap, ndevids + 1, sizeof(*devids)) < 0)
			goto out;
		devids[ndevids++] = (uint32_t)it->key;
	}
	if (ndevids)
		qsort(devids, ndevids, sizeof(*devids), cmp_u32);
	m->dev = calloc(ndevids ? ndevids : 1, sizeof(*m->dev));
	if (!m->dev)
		goto out;
	m->ndev = ndevids;
	for (size_t k = 0; k < ndevids; k++) {
		m->dev[k].device = devids[k];
		if (map_put(&b->devset, devids[k], (uint32_t)k) < 0)
			goto out;
		read_device(b, &m->dev[k]);
	}
	rc = 0;
out:
	free(devids);
	return rc;
}

/* The process an entry belongs to: its registry entry when the pid still
 * matches, else a pseudo-process for its pid (registry entry recycled, or
 * never registered: orphaned). */
static int owner_of(struct builder *b, const struct ttmem_entry *e, uint32_t *pix)
{
	struct model *m = b->m;
	struct model_proc *p;

	if (e->proc < b->nreg && b->regmap[e->proc] >= 0 &&
	    m->proc[b->regmap[e->proc]].pid == e->pid) {
		*pix = (uint32_t)b->regmap[e->proc];
		return 0;
	}
	if (map_get(&b->pseudo, e->pid, pix))
		return 0;
	if (grow((void **)&m->proc, &b->proccap, m->nproc + 1, sizeof(*m->proc)) < 0)
		return -ENOMEM;
	p = &m->proc[m->nproc];
	p->reg = -1;
	p->pid = e->pid;
	p->state = TTMEM_LIVENESS_UNKNOWN;
	strcpy(p->name, "?");
	*pix = (uint32_t)m->nproc++;
	return map_put(&b->pseudo, e->pid, *pix);
}

/* The (process, chip) cell, made on first use. */
static int cell_of(struct builder *b, uint32_t pix, uint32_t dix, struct model_cell **out)
{
	struct model *m = b->m;
	uint64_t key = ((uint64_t)pix << 32) | dix;
	uint32_t cix;

	if (!map_get(&b->cells, key, &cix)) {
		if (grow((void **)&m->cell, &b->cellcap, m->ncell + 1, sizeof(*m->cell)) < 0)
			return -ENOMEM;
		cix = (uint32_t)m->ncell++;
		m->cell[cix].proc_ix = pix;
		m->cell[cix].dev_ix = dix;
		if (map_put(&b->cells, key, cix) < 0)
			return -ENOMEM;
	}
	*out = &m->cell[cix];
	return 0;
}

/* Every entry into its chip (in use, exited or orphaned, by its process's
 * state), its process and its (process, chip) cell. */
static int add_entries(struct builder *b)
{
	const struct model_opts *o = b->o;
	struct model *m = b->m;

	for (size_t i = 0; i < b->s->count; i++) {
		const struct ttmem_entry *e = &b->s->entries[i];
		uint32_t pix, dix;
		struct model_proc *p;
		struct model_dev *dv;
		struct model_cell *c;

		if (o->device >= 0 && o->device != e->key.device)
			continue;
		if (o->pid >= 0 && o->pid != e->pid)
			continue;
		m->seg.entries++;
		if (e->type >= MODEL_TYPES) {
			m->seg.invalid++;
			continue;
		}
		if (owner_of(b, e, &pix) < 0)
			return -ENOMEM;
		if (!map_get(&b->devset, e->key.device, &dix))
			continue; /* cannot happen: every entry's device is in the set */
		p = &m->proc[pix];
		dv = &m->dev[dix];
		p->table_bytes += e->size;
		p->table_type[e->type] += e->size;
		p->entries++;
		switch (p->state) {
		case TTMEM_LIVENESS_RUNNING:
			dv->in_use[e->type] += e->size;
			if (e->bank_bytes && e->bank_bytes != UINT32_MAX)
				dv->per_bank[e->type] += e->bank_bytes;
			else
				dv->per_bank_unknown[e->type]++;
			if (e->owner_kind == TTMEM_OWNER_CQ || e->owner_kind == TTMEM_OWNER_SYSMEM)
				dv->system[e->type] += e->size;
			else
				dv->application[e->type] += e->size;
			dv->entries++;
			break;
		case TTMEM_LIVENESS_EXITED:
			dv->exited[e->type] += e->size;
			dv->orphaned_entries++;
			break;
		default:
			dv->orphaned[e->type] += e->size;
			dv->orphaned_entries++;
			break;
		}
		if (cell_of(b, pix, dix, &c) < 0)
			return -ENOMEM;
		c->bytes[e->type] += e->size;
		c->total += e->size;
		c->entries++;
	}
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Keep the processes asked for, renumber their cells, and index each
 * process's run of cells (sorted by process, then chip). */
static int keep_processes(struct model *m, const struct model_opts *o)
{
	uint32_t *newix = malloc((m->nproc ? m->nproc : 1) * sizeof(*newix));
	size_t n = 0, nc = 0;

	if (!newix)
		return -ENOMEM;
	for (size_t i = 0; i < m->nproc; i++) {
		struct model_proc *p = &m->proc[i];
		int keep = 1;

		if (p->state == TTMEM_LIVENESS_RUNNING) {
			p->live_bytes = p->table_bytes;
			memcpy(p->live_type, p->table_type, sizeof(p->live_type));
		}
		/* The registry's peak lags by a writer's counter batch
		 * (segment.h, "Counters"), and a killed writer's last batch is
		 * lost: the peak is at least what the process holds or left in
		 * the table now, and what it held when it exited. */
		p->peak_bytes = max_u64(p->peak_bytes, p->live_bytes);
		p->peak_bytes = max_u64(p->peak_bytes, p->table_bytes);
		p->peak_bytes = max_u64(p->peak_bytes, p->at_exit_total);
		if (o->pid >= 0 && o->pid != p->pid)
			keep = 0;
		else if (!o->all_procs && p->state != TTMEM_LIVENESS_RUNNING &&
			 !p->allocs && !p->entries && !p->released_total && !p->at_exit_total)
			keep = 0;
		newix[i] = keep ? (uint32_t)n : UINT32_MAX;
		if (keep)
			m->proc[n++] = *p;
	}
	m->nproc = n;
	for (size_t i = 0; i < m->ncell; i++) {
		uint32_t ni = newix[m->cell[i].proc_ix];

		if (ni == UINT32_MAX)
			continue;
		m->cell[nc] = m->cell[i];
		m->cell[nc++].proc_ix = ni;
	}
	m->ncell = nc;
	free(newix);
	if (m->ncell)
		qsort(m->cell, m->ncell, sizeof(*m->cell), cmp_cell);
	for (size_t i = 0; i < m->ncell; i++) {
		struct model_proc *p = &m->proc[m->cell[i].proc_ix];

		if (!p->cell_count)
			p->cell_first = i;
		p->cell_count++;
	}
	return 0;
}

int model_build(struct model *m, const struct ttmem_table *t,
		const struct ttmem_snapshot *s, const struct model_opts *o)
{
	const struct ttmem_header *h = ttmem_table_header(t);
	struct builder b = {
		.m = m, .t = t, .s = s, .o = o, .di = ttmem_table_devices(t),
		.nreg = ttmem_table_proc_capacity(t), .ndi = h->device_capacity,
	};
	int rc;

	memset(m, 0, sizeof(*m));
	if (b.nreg > TTMEM_MAX_PROC_CAPACITY)
		b.nreg = TTMEM_MAX_PROC_CAPACITY;
	if (b.ndi > TTMEM_MAX_DEVICES)
		b.ndi = TTMEM_MAX_DEVICES;
	read_segment(&m->seg, t, s);
	/* Acquire: pairs with the release store in `ttmem baseline`. */
	m->baseline_ns = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&h->baseline_ns,
					      memory_order_acquire);

	rc = add_registry(&b);
	if (rc == 0)
		rc = add_devices(&b);
	if (rc == 0)
		rc = add_entries(&b);
	if (rc == 0)
		rc = keep_processes(m, o);
	free(b.regmap);
	map_free(&b.devset);
	map_free(&b.pseudo);
	map_free(&b.cells);
	if (rc < 0)
		model_release(m);
	return rc;
}
