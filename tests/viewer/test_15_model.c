/* SPDX-License-Identifier: MIT */
/*
 * model.c and leaks.c directly (no subprocess): classification of entries by
 * their process's state, system/application split, filters, processes whose
 * registry entry was recycled, hidden inactive processes.  Liveness comes
 * from a table the test controls, so every state is exact.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "segfix.h"
#include "viewer.h"

#define MiB (UINT64_C(1) << 20)

static struct ttmem_table *t;
static char name[128];
static int me;                       /* our registry index */
static enum ttmem_liveness state_of_me = TTMEM_LIVENESS_RUNNING;

static enum ttmem_liveness fake_live(const struct ttmem_table *tab, uint16_t proc, uint32_t pid)
{
	if (proc >= ttmem_table_header(tab)->proc_capacity ||
	    ttmem_table_procs(tab)[proc].pid != pid)
		return TTMEM_LIVENESS_UNKNOWN;
	return proc == me ? state_of_me : TTMEM_LIVENESS_EXITED;
}

static void put(uint32_t dev, uint8_t type, uint8_t owner, uint64_t addr, uint64_t size)
{
	struct ttmem_entry e;

	memset(&e, 0, sizeof(e));
	e.key.device = dev;
	e.key.address = addr;
	e.key.space = type == TTMEM_TYPE_L1 ? TTMEM_SPACE_L1 : TTMEM_SPACE_DRAM;
	e.type = type;
	e.owner_kind = owner;
	e.size = size;
	e.module = TTMEM_MODULE_NONE;
	cr_assert_geq(ttmem_insert(t, &e), 0);
}

static void up(void)
{
	segfix_name(name, sizeof(name));
	t = segfix_create(name, 2, 0);
	cr_assert_not_null(t);
	me = ttmem_proc_register(t);
	cr_assert_geq(me, 0);
	put(0, TTMEM_TYPE_DRAM, TTMEM_OWNER_CQ, 0x1000, 14 * MiB);
	put(0, TTMEM_TYPE_DRAM, TTMEM_OWNER_SYSMEM, 0x2000, 1 * MiB);
	put(0, TTMEM_TYPE_L1, TTMEM_OWNER_APP, 0x1000, 2 * MiB); /* same address, other space */
	put(5, TTMEM_TYPE_TRACE, TTMEM_OWNER_APP, 0x9000, 3 * MiB);
	ttmem_flush(t);
	state_of_me = TTMEM_LIVENESS_RUNNING;
}

static void down(void)
{
	ttmem_table_close(t);
	ttmem_table_unlink(name);
}

TestSuite(model, .init = up, .fini = down);

static void build(struct model *m, int64_t dev, int64_t pid, int all)
{
	struct ttmem_snapshot s;
	struct model_opts o = { .device = dev, .pid = pid, .all_procs = all, .liveness = fake_live };

	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(model_build(m, t, &s, &o), 0);
	ttmem_snapshot_free(&s);
}

Test(model, running_split_and_chips)
{
	struct model m;
	long d0, d5;

	build(&m, -1, -1, 0);
	cr_assert_eq(m.ndev, 3); /* 0 and 1 published, 5 named by an entry */
	d0 = model_dev_index(&m, 0);
	d5 = model_dev_index(&m, 5);
	cr_assert(d0 >= 0 && d5 >= 0 && model_dev_index(&m, 1) >= 0);
	cr_assert_eq(model_dev_index(&m, 2), -1);
	cr_assert_eq(m.dev[d0].in_use[TTMEM_TYPE_DRAM], 15 * MiB);
	cr_assert_eq(m.dev[d0].system[TTMEM_TYPE_DRAM], 15 * MiB);
	cr_assert_eq(m.dev[d0].application[TTMEM_TYPE_DRAM], 0);
	cr_assert_eq(m.dev[d0].in_use[TTMEM_TYPE_L1], 2 * MiB);
	cr_assert_eq(m.dev[d0].application[TTMEM_TYPE_L1], 2 * MiB);
	cr_assert_eq(m.dev[d0].entries, 3);
	cr_assert_eq(m.dev[d0].arch, 2);
	cr_assert_eq(m.dev[d0].capacity[TTMEM_TYPE_DRAM], UINT64_C(12) << 30); /* arch table */
	cr_assert_eq(m.dev[d0].cap_source[TTMEM_TYPE_DRAM], CAP_ARCH);
	cr_assert_eq(m.dev[d5].published, 0);
	cr_assert_eq(m.dev[d5].capacity[TTMEM_TYPE_DRAM], 0);
	cr_assert_eq(m.dev[d5].in_use[TTMEM_TYPE_TRACE], 3 * MiB);
	cr_assert_eq(m.nproc, 1);
	cr_assert_eq(m.proc[0].pid, (uint32_t)getpid());
	cr_assert_eq(m.proc[0].live_bytes, 20 * MiB);
	cr_assert_eq(m.proc[0].cell_count, 2);
	cr_assert_eq(m.seg.entries, 4);
	model_release(&m);
}

Test(model, dead_entries_are_orphaned_not_in_use)
{
	struct model m;
	long d0;

	state_of_me = TTMEM_LIVENESS_DEAD;
	build(&m, -1, -1, 0);
	d0 = model_dev_index(&m, 0);
	cr_assert_eq(m.dev[d0].in_use[TTMEM_TYPE_DRAM], 0);
	cr_assert_eq(m.dev[d0].orphaned[TTMEM_TYPE_DRAM], 15 * MiB);
	cr_assert_eq(m.dev[d0].orphaned_entries, 3);
	cr_assert_eq(m.proc[0].live_bytes, 0);
	cr_assert_eq(m.proc[0].table_bytes, 20 * MiB);
	model_release(&m);
	state_of_me = TTMEM_LIVENESS_EXITED;
	build(&m, -1, -1, 0);
	d0 = model_dev_index(&m, 0);
	cr_assert_eq(m.dev[d0].in_use[TTMEM_TYPE_L1], 0);
	cr_assert_eq(m.dev[d0].exited[TTMEM_TYPE_L1], 2 * MiB);
	cr_assert_eq(m.dev[d0].orphaned[TTMEM_TYPE_L1], 0);
	model_release(&m);
}

Test(model, filters)
{
	struct model m;

	build(&m, 5, -1, 0);
	cr_assert_eq(m.ndev, 1);
	cr_assert_eq(m.dev[0].device, 5);
	cr_assert_eq(m.seg.entries, 1);
	cr_assert_eq(m.proc[0].live_bytes, 3 * MiB);
	model_release(&m);
	build(&m, 7, -1, 0); /* a chip nobody knows: not invented (show says so) */
	cr_assert_eq(m.ndev, 0);
	model_release(&m);
	build(&m, -1, 1, 0); /* a pid with nothing */
	cr_assert_eq(m.nproc, 0);
	cr_assert_eq(m.seg.entries, 0);
	model_release(&m);
}

Test(model, recycled_registry_entry_is_unknown)
{
	struct model m;
	struct ttmem_proc *p = ttmem_table_procs_rw(t);
	uint32_t saved = p[me].pid;
	long d0;

	p[me].pid = saved + 1; /* the entry now belongs to someone else */
	build(&m, -1, -1, 1);
	d0 = model_dev_index(&m, 0);
	cr_assert_eq(m.dev[d0].in_use[TTMEM_TYPE_DRAM], 0);
	cr_assert_eq(m.dev[d0].orphaned[TTMEM_TYPE_DRAM], 15 * MiB);
	cr_assert_eq(m.nproc, 2); /* the registry entry, and our pid unregistered */
	cr_assert_eq(m.proc[1].reg, -1);
	cr_assert_eq(m.proc[1].pid, saved);
	cr_assert_eq(m.proc[1].state, TTMEM_LIVENESS_UNKNOWN);
	cr_assert_eq(m.proc[1].table_bytes, 20 * MiB);
	model_release(&m);
	p[me].pid = saved;
}

Test(model, leaks_grouped_by_owner)
{
	struct ttmem_snapshot s;
	struct leak_report r;

	state_of_me = TTMEM_LIVENESS_EXITED;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(leaks_build(&r, t, &s, -1, -1, fake_live), 0);
	cr_assert_eq(r.entries, 4);
	cr_assert_eq(r.bytes, 20 * MiB);
	cr_assert_eq(r.nproc, 1);
	cr_assert_eq(r.procs[0].state, TTMEM_LIVENESS_EXITED);
	cr_assert_eq(r.ngroups, 3); /* application, command queue, system memory manager */
	/* Largest first: the command queue's 14 MiB, then the application's. */
	cr_assert_eq(r.groups[0].owner, TTMEM_OWNER_CQ);
	cr_assert_eq(r.groups[0].bytes, 14 * MiB);
	cr_assert_eq(r.groups[1].owner, TTMEM_OWNER_APP);
	cr_assert_eq(r.groups[1].entries, 2);
	cr_assert_eq(r.groups[1].types[TTMEM_TYPE_TRACE], 3 * MiB);
	cr_assert_geq(r.groups[1].bytes, r.groups[2].bytes);
	leaks_release(&r);
	state_of_me = TTMEM_LIVENESS_RUNNING;
	cr_assert_eq(leaks_build(&r, t, &s, -1, -1, fake_live), 0);
	cr_assert_eq(r.entries, 0);
	leaks_release(&r);
	ttmem_snapshot_free(&s);
}

Test(model, sizes_for_humans)
{
	char b[32];

	cr_assert_str_eq(fmt_bytes(b, sizeof(b), 0), "0 B");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), 1023), "1023 B");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), 1024), "1.00 KiB");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), 14 * MiB + 768 * 1024), "14.8 MiB");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), UINT64_C(12) << 30), "12.0 GiB");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), 300 * MiB), "300 MiB");
	cr_assert_str_eq(fmt_bytes(b, sizeof(b), UINT64_MAX), "16.0 EiB");
	cr_assert_str_eq(fmt_delta(b, sizeof(b), -(int64_t)(3 * MiB)), "-3.00 MiB");
	cr_assert_str_eq(fmt_delta(b, sizeof(b), 0), "+0 B");
	cr_assert_str_eq(fmt_delta(b, sizeof(b), INT64_MIN), "-8.00 EiB");
}

/* The registry's peak lags behind by a counter batch; a running process is
 * never shown with a peak below what it holds right now. */
Test(model, peak_never_below_live)
{
	struct model m;

	atomic_store(&ttmem_table_procs_rw(t)[me].peak_bytes, 1 * MiB);
	build(&m, -1, -1, 0);
	cr_assert_eq(m.nproc, 1);
	cr_assert_eq(m.proc[0].live_bytes, 20 * MiB);
	cr_assert_eq(m.proc[0].peak_bytes, 20 * MiB);
	model_release(&m);

	atomic_store(&ttmem_table_procs_rw(t)[me].peak_bytes, 64 * MiB);
	build(&m, -1, -1, 0);
	cr_assert_eq(m.proc[0].peak_bytes, 64 * MiB);
	model_release(&m);
}
