/* SPDX-License-Identifier: MIT */
/* Insert, remove, replace, overlapping keys, full table, sweep, tally,
 * snapshot and counters: exact outcomes. */
#include "helpers.h"

static struct ttmem_table *t;
static char path[128];

static void setup(void)
{
	seg_path(path, sizeof(path), "table");
	t = seg_writer(path, 1024);
}

static void teardown(void)
{
	ttmem_table_close(t);
	unlink(path);
}

TestSuite(table, .init = setup, .fini = teardown);

static const struct ttmem_proc *me(void)
{
	return &ttmem_table_procs(t)[ttmem_table_proc_index(t)];
}

Test(table, insert_remove_roundtrip)
{
	struct ttmem_entry e = mk_entry(3, TTMEM_SPACE_DRAM, 0x100000, 4096), out;
	e.owner_kind = TTMEM_OWNER_CQ;
	e.owner_id = 0xabcdef;
	e.flags = TTMEM_SLOT_F_MESH;
	e.module = 7;
	e.pid = 1;       /* ignored: the handle's identity is stored */
	e.proc = 999;
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);

	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.unstable, 0);
	struct ttmem_entry *g = &s.entries[0];
	cr_assert_eq(g->key.address, 0x100000);
	cr_assert_eq(g->key.device, 3);
	cr_assert_eq(g->key.space, TTMEM_SPACE_DRAM);
	cr_assert_eq(g->size, 4096);
	cr_assert_eq(g->type, TTMEM_TYPE_DRAM);
	cr_assert_eq(g->owner_kind, TTMEM_OWNER_CQ);
	cr_assert_eq(g->owner_id, 0xabcdef);
	cr_assert_eq(g->flags, TTMEM_SLOT_F_MESH);
	cr_assert_eq(g->module, 7);
	cr_assert_eq(g->callsite, e.callsite);
	cr_assert_eq(g->page_size, e.page_size);
	cr_assert_eq(g->bank_bytes, e.bank_bytes);
	cr_assert_eq(g->pid, (uint32_t)getpid());
	cr_assert_eq(g->proc, ttmem_table_proc_index(t));
	cr_assert_eq(s.epoch, atomic_load(&ttmem_table_header(t)->clear_epoch));
	ttmem_snapshot_free(&s);

	struct ttmem_key k = e.key;
	memset(&out, 0, sizeof(out));
	cr_assert_eq(ttmem_remove(t, &k, &out), 0);
	cr_assert_eq(out.size, 4096);
	cr_assert_eq(out.owner_id, 0xabcdef);
	cr_assert_eq(out.key.address, 0x100000);
	cr_assert_eq(out.pid, (uint32_t)getpid());
	cr_assert_eq(ttmem_remove(t, &k, NULL), TTMEM_ENOTFOUND);

	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 0);
	ttmem_snapshot_free(&s);
	struct slot_census c = census(t);
	cr_assert_eq(c.live + c.busy, 0);
	cr_assert_eq(c.meta_without_live, 0);

	ttmem_flush(t);
	cr_assert_eq(CNT(t, events), 3);
	cr_assert_eq(CNT(t, unmatched), 1);
	cr_assert_eq(CNT(t, drops), 0);
	cr_assert_eq(atomic_load(&me()->allocs), 1);
	cr_assert_eq(atomic_load(&me()->frees), 1);
	cr_assert_eq(atomic_load(&me()->unmatched), 1);
	cr_assert_eq(atomic_load(&me()->live_bytes), 0);
	cr_assert_eq(atomic_load(&me()->peak_bytes), 4096);
}

Test(table, overlapping_dram_l1_keys)
{
	/* Same numeric address in DRAM and L1 on one device, and in DRAM on
	 * another device: three distinct entries. */
	struct ttmem_entry d = mk_entry(0, TTMEM_SPACE_DRAM, 0x20000, 100);
	struct ttmem_entry l = mk_entry(0, TTMEM_SPACE_L1, 0x20000, 200);
	struct ttmem_entry o = mk_entry(1, TTMEM_SPACE_DRAM, 0x20000, 300);
	struct ttmem_entry c = mk_entry(0, TTMEM_SPACE_CB, 0x20000, 400);
	cr_assert_eq(ttmem_insert(t, &d), TTMEM_INSERTED);
	cr_assert_eq(ttmem_insert(t, &l), TTMEM_INSERTED);
	cr_assert_eq(ttmem_insert(t, &o), TTMEM_INSERTED);
	cr_assert_eq(ttmem_insert(t, &c), TTMEM_INSERTED);
	ttmem_flush(t);
	cr_assert_eq(CNT(t, replaced), 0);

	struct ttmem_entry out;
	cr_assert_eq(ttmem_remove(t, &l.key, &out), 0);
	cr_assert_eq(out.size, 200);
	cr_assert_eq(out.key.space, TTMEM_SPACE_L1);
	cr_assert_eq(ttmem_remove(t, &l.key, &out), TTMEM_ENOTFOUND);

	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 3);
	uint64_t sum = 0;
	for (size_t i = 0; i < s.count; i++)
		sum += s.entries[i].size;
	cr_assert_eq(sum, 800);
	ttmem_snapshot_free(&s);
	cr_assert_eq(ttmem_remove(t, &d.key, &out), 0);
	cr_assert_eq(out.size, 100);
	cr_assert_eq(ttmem_remove(t, &o.key, &out), 0);
	cr_assert_eq(out.size, 300);
	cr_assert_eq(ttmem_remove(t, &c.key, &out), 0);
	cr_assert_eq(out.size, 400);
}

Test(table, insert_same_key_replaces)
{
	struct ttmem_entry a = mk_entry(2, TTMEM_SPACE_L1, 0x4000, 10);
	struct ttmem_entry b = a;
	b.size = 25;
	cr_assert_eq(ttmem_insert(t, &a), TTMEM_INSERTED);
	cr_assert_eq(ttmem_insert(t, &b), TTMEM_INSERTED_REPLACED);
	ttmem_flush(t);
	cr_assert_eq(CNT(t, replaced), 1);
	cr_assert_eq(CNT(t, reclaimed), 0);
	cr_assert_eq(atomic_load(&me()->live_bytes), 25);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.entries[0].size, 25);
	ttmem_snapshot_free(&s);
	struct ttmem_entry out;
	cr_assert_eq(ttmem_remove(t, &a.key, &out), 0);
	cr_assert_eq(out.size, 25);
	cr_assert_eq(ttmem_remove(t, &a.key, &out), TTMEM_ENOTFOUND);
}

Test(table, many_entries_exact)
{
	/* 90% of the table, then remove every other one. */
	const uint64_t n = 1024 * 9 / 10;
	for (uint64_t i = 0; i < n; i++) {
		struct ttmem_entry e = mk_entry((uint32_t)(i % 4), (uint8_t)(i % 2), i * 64, i + 1);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED, "insert %llu", (unsigned long long)i);
	}
	for (uint64_t i = 0; i < n; i += 2) {
		struct ttmem_key k = mk_key((uint32_t)(i % 4), (uint8_t)(i % 2), i * 64);
		struct ttmem_entry out;
		cr_assert_eq(ttmem_remove(t, &k, &out), 0);
		cr_assert_eq(out.size, i + 1);
	}
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, n / 2);
	uint64_t sum = 0, expect = 0;
	for (size_t i = 0; i < s.count; i++) {
		cr_assert_eq(s.entries[i].size, s.entries[i].key.address / 64 + 1);
		cr_assert_eq(s.entries[i].size % 2, 0);
		sum += s.entries[i].size;
	}
	for (uint64_t i = 1; i < n; i += 2)
		expect += i + 1;
	cr_assert_eq(sum, expect);
	ttmem_snapshot_free(&s);
	ttmem_flush(t);
	cr_assert_eq(atomic_load(&me()->live_bytes), expect);
	cr_assert_eq(CNT(t, drops), 0);
}

Test(table, full_table_drops_never_overwrites)
{
	/* A 128-slot table: every key hashes to groups 0 and 1. */
	char p2[128];
	seg_path(p2, sizeof(p2), "full");
	struct ttmem_table *f = seg_writer(p2, 128);
	for (uint64_t i = 0; i < 128; i++) {
		struct ttmem_entry e = mk_entry(0, 0, (i + 1) * 4096, i + 1);
		cr_assert_eq(ttmem_insert(f, &e), TTMEM_INSERTED, "insert %llu", (unsigned long long)i);
	}
	for (uint64_t i = 0; i < 10; i++) {
		struct ttmem_entry e = mk_entry(1, 0, (i + 1) * 4096, 999);
		cr_assert_eq(ttmem_insert(f, &e), TTMEM_EFULL);
	}
	/* Replacing a live key still works when full (in place). */
	struct ttmem_entry r = mk_entry(0, 0, 4096, 1);
	cr_assert_eq(ttmem_insert(f, &r), TTMEM_INSERTED_REPLACED);
	ttmem_flush(f);
	cr_assert_eq(CNT(f, drops), 10);
	const struct ttmem_proc *p = &ttmem_table_procs(f)[ttmem_table_proc_index(f)];
	cr_assert_eq(atomic_load(&p->drops), 10);
	cr_assert_eq(atomic_load(&p->allocs), 129);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(f, &s), 0);
	cr_assert_eq(s.count, 128);
	for (size_t i = 0; i < s.count; i++)
		cr_assert_eq(s.entries[i].size, s.entries[i].key.address / 4096);
	ttmem_snapshot_free(&s);
	/* Free one: the next insert fits again. */
	struct ttmem_key k = mk_key(0, 0, 5 * 4096);
	cr_assert_eq(ttmem_remove(f, &k, NULL), 0);
	struct ttmem_entry e = mk_entry(1, 0, 4096, 5);
	cr_assert_eq(ttmem_insert(f, &e), TTMEM_INSERTED);
	cr_assert_eq(ttmem_insert(f, &e), TTMEM_INSERTED_REPLACED);
	struct ttmem_entry e2 = mk_entry(1, 0, 8192, 5);
	cr_assert_eq(ttmem_insert(f, &e2), TTMEM_EFULL);
	ttmem_table_close(f);
	unlink(p2);
}

Test(table, writer_ops_need_registration)
{
	struct ttmem_table *u = seg_open_cap(path, 0, 0);
	struct ttmem_entry e = mk_entry(0, 0, 64, 1);
	struct ttmem_filter f = { .pid = 1 };
	cr_assert_eq(ttmem_insert(u, &e), -EINVAL);
	cr_assert_eq(ttmem_remove(u, &e.key, NULL), -EINVAL);
	cr_assert_eq(ttmem_sweep(u, &f, NULL), -EINVAL);
	/* Reap needs none (an unregistered reaper: reap.c); a read-only
	 * handle cannot. */
	cr_assert_geq(ttmem_reap(u, 0, NULL), 0);
	/* Same process: registering a second handle gives the same entry. */
	cr_assert_eq(ttmem_proc_register(u), ttmem_table_proc_index(t));
	cr_assert_eq(ttmem_insert(u, &e), TTMEM_INSERTED);
	cr_assert_eq(ttmem_remove(t, &e.key, NULL), 0);
	ttmem_table_close(u);
}

static void fill_for_sweep(uint32_t pid_self)
{
	(void)pid_self;
	/* device 0..2, owner APP/CQ (id 1, 2), types DRAM/L1. */
	uint64_t a = 0;
	for (uint32_t dev = 0; dev < 3; dev++) {
		for (int i = 0; i < 10; i++) {
			struct ttmem_entry e = mk_entry(dev, TTMEM_SPACE_DRAM, ++a * 64, 10);
			e.owner_kind = i < 4 ? TTMEM_OWNER_CQ : TTMEM_OWNER_APP;
			e.owner_id = i < 2 ? 1 : 2;
			e.type = i % 2 ? TTMEM_TYPE_L1 : TTMEM_TYPE_DRAM;
			cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
		}
	}
}

Test(table, sweep_and_tally)
{
	uint32_t pid = (uint32_t)getpid();
	fill_for_sweep(pid);
	struct ttmem_tally tl;

	/* Tally: counts, removes nothing. */
	memset(&tl, 0, sizeof(tl));
	struct ttmem_filter f = { .pid = pid };
	cr_assert_eq(ttmem_tally(t, &f, &tl), 30);
	cr_assert_eq(tl.entries, 30);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM], 3 * 2 * 10);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_L1], 3 * 2 * 10);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM], 3 * 3 * 10);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_L1], 3 * 3 * 10);
	struct ttmem_filter other = { .pid = pid + 1 };
	cr_assert_eq(ttmem_tally(t, &other, NULL), 0);

	/* Sweep (pid, owner CQ id 1): 2 per device. */
	memset(&tl, 0, sizeof(tl));
	f = (struct ttmem_filter){ .pid = pid, .match_owner = 1, .owner_kind = TTMEM_OWNER_CQ,
				   .owner_id = 1 };
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 6);
	cr_assert_eq(tl.entries, 6);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM], 30);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_L1], 30);
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 0);

	/* Sweep (pid, device 1): the 8 left there. */
	memset(&tl, 0, sizeof(tl));
	f = (struct ttmem_filter){ .pid = pid, .match_device = 1, .device = 1 };
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 8);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_DRAM] + tl.bytes[TTMEM_OWNER_CQ][TTMEM_TYPE_L1], 20);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM] + tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_L1], 60);

	/* Sweep (pid, type L1): device 0 and 2 keep their DRAM ones. */
	memset(&tl, 0, sizeof(tl));
	f = (struct ttmem_filter){ .pid = pid, .match_type = 1, .type = TTMEM_TYPE_L1 };
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 8);

	/* Sweep (pid): the rest. */
	memset(&tl, 0, sizeof(tl));
	f = (struct ttmem_filter){ .pid = pid };
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 8);
	cr_assert_eq(tl.entries, 8);
	cr_assert_eq(ttmem_tally(t, &f, NULL), 0);
	struct slot_census c = census(t);
	cr_assert_eq(c.live + c.busy, 0);
	cr_assert_eq(c.meta_without_live, 0);
	ttmem_flush(t);
	cr_assert_eq(atomic_load(&me()->live_bytes), 0);
	cr_assert_eq(atomic_load(&me()->frees), 0, "sweeps are not frees");
	cr_assert_eq(atomic_load(&me()->peak_bytes), 300);
}

/* Filter on flags: (entry.flags & flags_mask) == flags, in sweep and tally
 * (the preload's allocator bulk free: the entries of one device with or
 * without TTMEM_SLOT_F_MESH, in one sweep). */
Test(table, sweep_and_tally_by_flags)
{
	uint32_t pid = (uint32_t)getpid();
	const uint8_t other = 0x40; /* a bit the mask ignores */
	for (int i = 0; i < 12; i++) {
		struct ttmem_entry e = mk_entry((uint32_t)(i % 2), TTMEM_SPACE_DRAM, (uint64_t)(i + 1) * 64, 10);
		e.flags = (uint8_t)((i % 3 == 0 ? TTMEM_SLOT_F_MESH : 0) | (i % 4 == 0 ? other : 0));
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	/* i % 3 == 0: i = 0, 3, 6, 9 are MESH (devices 0, 1, 0, 1). */
	struct ttmem_tally tl;
	memset(&tl, 0, sizeof(tl));
	struct ttmem_filter f = { .pid = pid, .match_flags = 1, .flags_mask = TTMEM_SLOT_F_MESH,
				  .flags = TTMEM_SLOT_F_MESH };
	cr_assert_eq(ttmem_tally(t, &f, &tl), 4);
	cr_assert_eq(tl.bytes[TTMEM_OWNER_APP][TTMEM_TYPE_DRAM], 40);
	f.flags = 0;
	cr_assert_eq(ttmem_tally(t, &f, NULL), 8);
	/* match_flags off: the flag fields are ignored. */
	f.match_flags = 0;
	cr_assert_eq(ttmem_tally(t, &f, NULL), 12);
	/* An exact match of both bits: i % 12 == 0 -> i = 0 only. */
	f = (struct ttmem_filter){ .pid = pid, .match_flags = 1,
				   .flags_mask = TTMEM_SLOT_F_MESH | other,
				   .flags = TTMEM_SLOT_F_MESH | other };
	cr_assert_eq(ttmem_tally(t, &f, NULL), 1);
	/* Sweep the non-mesh entries of device 1: i = 1, 5, 7, 11. */
	memset(&tl, 0, sizeof(tl));
	f = (struct ttmem_filter){ .pid = pid, .match_device = 1, .device = 1, .match_flags = 1,
				   .flags_mask = TTMEM_SLOT_F_MESH, .flags = 0 };
	cr_assert_eq(ttmem_sweep(t, &f, &tl), 4);
	cr_assert_eq(tl.entries, 4);
	cr_assert_eq(ttmem_sweep(t, &f, NULL), 0);
	f.match_device = 0;
	cr_assert_eq(ttmem_sweep(t, &f, NULL), 4, "device 0's non-mesh: i = 2, 4, 8, 10");
	f = (struct ttmem_filter){ .pid = pid };
	cr_assert_eq(ttmem_tally(t, &f, NULL), 4, "the mesh entries stay");
	struct ttmem_entry got;
	for (int i = 0; i < 12; i += 3) {
		struct ttmem_key k = mk_key((uint32_t)(i % 2), TTMEM_SPACE_DRAM, (uint64_t)(i + 1) * 64);
		cr_assert_eq(ttmem_remove(t, &k, &got), 0, "mesh entry %d", i);
		cr_assert(got.flags & TTMEM_SLOT_F_MESH);
	}
}

/* The fast paths compute each ctl transition as one add to the known ctl
 * value: the sequence must wrap exactly like TTMEM_CTL_SEQ + 1 (mod 2^32)
 * and nothing may carry into or out of the low word. */
Test(table, ctl_sequence_wraps_on_fast_paths)
{
	char p2[128];
	seg_path(p2, sizeof(p2), "seqwrap");
	struct ttmem_table *u = seg_writer(p2, 128);
	struct ttmem_slot *slots = (struct ttmem_slot *)(uintptr_t)ttmem_table_slots(u);
	const uint8_t *meta = ttmem_table_meta(u);
	uint32_t etag = TTMEM_EPOCH_TAG(atomic_load(&ttmem_table_header(u)->clear_epoch));
	for (unsigned i = 0; i < 128; i++)
		atomic_store(&slots[i].ctl, TTMEM_CTL_MAKE(0xffffffffu, 0, TTMEM_SLOT_FREE));
	struct ttmem_entry e = mk_entry(3, TTMEM_SPACE_L1, 0x4000, 77);
	cr_assert_eq(ttmem_insert(u, &e), TTMEM_INSERTED);
	int at = -1;
	for (unsigned i = 0; i < 128; i++)
		if (TTMEM_CTL_STATE(atomic_load(&slots[i].ctl)) != TTMEM_SLOT_FREE)
			at = (int)i;
	cr_assert_geq(at, 0);
	uint64_t c = atomic_load(&slots[at].ctl);
	cr_assert_eq(c, TTMEM_CTL_MAKE(1u, etag, TTMEM_SLOT_LIVE), "ctl %#llx", (unsigned long long)c);
	cr_assert_neq(__atomic_load_n(&meta[at], __ATOMIC_RELAXED), 0);
	struct ttmem_entry out;
	cr_assert_eq(ttmem_remove(u, &e.key, &out), 0);
	cr_assert_eq(out.size, 77);
	cr_assert_eq(out.key.device, 3);
	cr_assert_eq(out.key.space, TTMEM_SPACE_L1);
	cr_assert_eq((int)out.slot, at);
	c = atomic_load(&slots[at].ctl);
	cr_assert_eq(c, TTMEM_CTL_MAKE(3u, 0, TTMEM_SLOT_FREE), "ctl %#llx", (unsigned long long)c);
	cr_assert_eq(__atomic_load_n(&meta[at], __ATOMIC_RELAXED), 0);
	/* The same from the top of the sequence for a remove. */
	atomic_store(&slots[at].ctl, TTMEM_CTL_MAKE(0xfffffffeu, 0, TTMEM_SLOT_FREE));
	cr_assert_eq(ttmem_insert(u, &e), TTMEM_INSERTED);
	cr_assert_eq(atomic_load(&slots[at].ctl), TTMEM_CTL_MAKE(0u, etag, TTMEM_SLOT_LIVE));
	cr_assert_eq(ttmem_remove(u, &e.key, NULL), 0);
	cr_assert_eq(atomic_load(&slots[at].ctl), TTMEM_CTL_MAKE(2u, 0, TTMEM_SLOT_FREE));
	ttmem_flush(u);
	const struct ttmem_proc *pr = &ttmem_table_procs(u)[ttmem_table_proc_index(u)];
	cr_assert_eq(atomic_load(&pr->allocs), 2);
	cr_assert_eq(atomic_load(&pr->frees), 2);
	cr_assert_eq(atomic_load(&pr->live_bytes), 0);
	cr_assert_eq(atomic_load(&pr->peak_bytes), 77);
	ttmem_table_close(u);
	unlink(p2);
}

Test(table, strerror_texts)
{
	cr_assert_str_eq(ttmem_strerror(0), "success");
	cr_assert(strstr(ttmem_strerror(TTMEM_EMAGIC), "magic") != NULL);
	cr_assert(strstr(ttmem_strerror(TTMEM_EVERSION), "ABI") != NULL);
	cr_assert(strstr(ttmem_strerror(TTMEM_EOWNER), "user") != NULL);
	cr_assert_str_eq(ttmem_strerror(-ENOENT), strerror(ENOENT));
	cr_assert_str_eq(ttmem_strerror(-99999), "unknown ttmem error");
}

Test(table, modules_intern)
{
	int a = ttmem_module_intern(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, 0);
	cr_assert_geq(a, 0);
	cr_assert_eq(ttmem_module_intern(t, "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, 0), a);
	uint8_t id1[20] = { 1, 2, 3 }, id2[20] = { 9, 9, 9 };
	int b = ttmem_module_intern(t, "/opt/tt/libtt_metal.so", id1, 20);
	cr_assert_geq(b, 0);
	cr_assert_neq(b, a);
	cr_assert_eq(ttmem_module_intern(t, "/opt/tt/libtt_metal.so", id1, 20), b);
	int c = ttmem_module_intern(t, "/opt/tt/libtt_metal.so", id2, 20);
	cr_assert_geq(c, 0);
	cr_assert_neq(c, b, "a rebuilt library is another module");
	const struct ttmem_module *m = &ttmem_table_modules(t)[b];
	cr_assert_str_eq(m->path, "/opt/tt/libtt_metal.so");
	cr_assert_eq(m->build_id_len, 20);
	cr_assert_eq(atomic_load(&m->state), 2);
	cr_assert_eq(ttmem_module_intern(t, "", NULL, 0), -EINVAL);
	/* The table holds 16 (helpers): fill it. */
	char name[64];
	int last = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "/nonexistent/lib%d.so", i);
		last = ttmem_module_intern(t, name, NULL, 0);
	}
	cr_assert_eq(last, -ENOSPC);
	cr_assert_eq(CNT(t, module_drops), 7);
}

/* Functions of a source file (segment.h, TTMEM_MODULE_F_FUNCTION): one
 * entry per (file, name), apart from the file's own; a reader that knows no
 * names reads the path as the file; a writer that knows none never matches
 * one; they stop at three quarters of the table, without counting a drop,
 * and leave the rest to plain entries. */
Test(table, modules_intern_function)
{
	const char *file = "/tmp/ttmem-no-such-script.py";
	int plain = ttmem_module_intern(t, file, NULL, 0);
	int a = ttmem_module_intern_function(t, file, "Model.forward");
	int b = ttmem_module_intern_function(t, file, "outer.<locals>.inner");
	cr_assert(plain >= 0 && a >= 0 && b >= 0);
	cr_assert(a != plain && b != plain && a != b);
	cr_assert_eq(ttmem_module_intern_function(t, file, "Model.forward"), a);
	cr_assert_eq(ttmem_module_intern(t, file, NULL, 0), plain, "the plain entry stays the file's");
	const struct ttmem_module *m = &ttmem_table_modules(t)[a];
	cr_assert_str_eq(m->path, file, "read as a C string, the path is the file");
	cr_assert_str_eq(m->path + strlen(file) + 1, "Model.forward");
	cr_assert_eq(m->flags, TTMEM_MODULE_F_FUNCTION);
	cr_assert_eq(ttmem_table_modules(t)[plain].flags, 0u);
	cr_assert_neq(m->path_hash, ttmem_table_modules(t)[plain].path_hash,
		      "a writer comparing hashes of paths alone never takes it for the file");
	char longname[400];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	cr_assert_eq(ttmem_module_intern_function(t, file, longname), -ENAMETOOLONG);
	cr_assert_eq(ttmem_module_intern_function(t, file, ""), -EINVAL);
	/* 16 entries (helpers): functions take at most the first 12. */
	char name[64];
	int got = 3, last = 0;
	for (int i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		last = ttmem_module_intern_function(t, file, name);
		if (last >= 0) {
			cr_assert_lt(last, 12);
			got++;
		}
	}
	cr_assert_eq(got, 12);
	cr_assert_eq(last, -ENOSPC);
	cr_assert_eq(CNT(t, module_drops), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "/nonexistent/lib%d.so", i);
		cr_assert_geq(ttmem_module_intern(t, name, NULL, 0), 12, "the last quarter is left");
	}
}

/* Process B (a forked child, registered by itself) removes key K that process
 * A (the parent) inserted: unmatched, A's entry intact; then A removes it. */
static int remove_others_child(void *arg)
{
	const struct ttmem_key *k = arg;
	struct ttmem_table *c = NULL;
	struct ttmem_entry out;
	if (ttmem_table_open(&c, path, NULL, NULL, 0) != 0)
		return 1;
	int idx = ttmem_proc_register(c);
	if (idx < 0 || idx == ttmem_table_proc_index(t))
		return 2;
	if (ttmem_remove(c, k, &out) != TTMEM_ENOTFOUND)
		return 3;
	if (ttmem_remove(c, k, NULL) != TTMEM_ENOTFOUND)
		return 4;
	ttmem_flush(c);
	const struct ttmem_proc *p = &ttmem_table_procs(c)[idx];
	if (atomic_load(&p->unmatched) != 2 || atomic_load(&p->frees) != 0)
		return 5;
	ttmem_proc_exit(c, idx);
	ttmem_table_close(c);
	return 0;
}

Test(table, remove_leaves_other_process_entry)
{
	struct ttmem_entry e = mk_entry(0, TTMEM_SPACE_DRAM, 0x4000000, 64 << 20), out;
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	ttmem_flush(t);

	cr_assert_eq(wait_child(fork_child(remove_others_child, &e.key)), 0);

	/* A's entry: still there, still A's, A's live bytes untouched. */
	struct ttmem_snapshot s = { 0 };
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.entries[0].key.address, e.key.address);
	cr_assert_eq(s.entries[0].pid, (uint32_t)getpid());
	cr_assert_eq(s.entries[0].proc, (uint16_t)ttmem_table_proc_index(t));
	cr_assert_eq(s.entries[0].size, e.size);
	ttmem_snapshot_free(&s);
	uint64_t live = atomic_load(&me()->live_bytes), frees = atomic_load(&me()->frees);
	cr_assert_eq(live, e.size);
	cr_assert_eq(frees, 0);
	uint64_t unmatched = atomic_load(&ttmem_table_header(t)->counters.unmatched);
	cr_assert_eq(unmatched, 2);

	/* The owner's remove. */
	cr_assert_eq(ttmem_remove(t, &e.key, &out), 0);
	cr_assert_eq(out.size, e.size);
	cr_assert_eq(out.pid, (uint32_t)getpid());
	ttmem_flush(t);
	live = atomic_load(&me()->live_bytes);
	frees = atomic_load(&me()->frees);
	cr_assert_eq(live, 0);
	cr_assert_eq(frees, 1);
}
