/* SPDX-License-Identifier: MIT */
/* The keyed sweep and tally (ttmem_sweep_keys, ttmem_tally_keys): given a
 * superset of the keys (absent ones, another process's, cleared ones), exactly what the full-table ttmem_sweep / ttmem_tally give. */
#include "helpers.h"

#define DEVICES 4
#define PER_DEVICE 40

static struct ttmem_table *t;
static char path[128];
static struct ttmem_key keys[DEVICES * PER_DEVICE * 2 + 64];
static size_t nkeys;

static void setup(void)
{
	seg_path(path, sizeof(path), "keyed");
	t = seg_writer(path, 4096);
	nkeys = 0;
}

static void teardown(void)
{
	ttmem_table_close(t);
	unlink(path);
}

TestSuite(keyed, .init = setup, .fini = teardown);

/* Entries of every owner, type and mesh flag on DEVICES chips; every key
 * also goes to keys[] with a second, never inserted, key next to it. */
static void fill(struct ttmem_table *w, uint64_t salt, int remember)
{
	for (uint32_t d = 0; d < DEVICES; d++) {
		for (uint64_t i = 0; i < PER_DEVICE; i++) {
			uint64_t a = (salt + i) * 4096;
			struct ttmem_entry e = mk_entry(d, i % 3 ? TTMEM_SPACE_DRAM : TTMEM_SPACE_L1, a,
							100 + i);
			e.owner_kind = (uint8_t)(i % 3);
			e.owner_id = e.owner_kind ? 0x1000 + i % 2 : 0;
			e.flags = i % 4 == 0 ? TTMEM_SLOT_F_MESH : 0;
			cr_assert_geq(ttmem_insert(w, &e), 0);
			if (remember) {
				keys[nkeys++] = e.key;
				keys[nkeys++] = mk_key(d, e.key.space, a + 64);   /* absent */
			}
		}
	}
}

static void assert_tally_eq(const struct ttmem_tally *a, const struct ttmem_tally *b,
			    const char *what)
{
	cr_assert_eq(a->entries, b->entries, "%s: %llu entries keyed, %llu full", what,
		     (unsigned long long)a->entries, (unsigned long long)b->entries);
	for (unsigned o = 0; o < TTMEM_MAX_OWNERS; o++)
		for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
			cr_assert_eq(a->bytes[o][ty], b->bytes[o][ty], "%s: bytes[%u][%u]", what, o,
				     ty);
}

static struct ttmem_filter filters(unsigned i, uint32_t pid)
{
	struct ttmem_filter f = { .pid = pid };
	switch (i) {
	case 1: f.match_device = 1; f.device = 2; break;
	case 2: f.match_owner = 1; f.owner_kind = TTMEM_OWNER_CQ; f.owner_id = 0x1001; break;
	case 3:
		f.match_device = 1; f.device = 1; f.match_flags = 1;
		f.flags_mask = TTMEM_SLOT_F_MESH; f.flags = TTMEM_SLOT_F_MESH;
		break;
	case 4: f.match_type = 1; f.type = TTMEM_TYPE_L1; break;
	default: break;
	}
	return f;
}

static int other_process(void *arg)
{
	struct ttmem_table *w = NULL;
	(void)arg;
	/* Shifted by 24 (a multiple of the space and flag periods): our keys
	 * 24..39 of each device, same space, taken over by another process. */
	if (ttmem_table_open(&w, path, NULL, NULL, 0) != 0 || ttmem_proc_register(w) < 0)
		return 1;
	fill(w, 24, 0);
	ttmem_flush(w);
	return 0;
}

Test(keyed, equals_the_full_table_operations)
{
	uint32_t pid = (uint32_t)getpid();

	fill(t, 0, 1);
	/* Another process replaced some of our keys (and is gone). */
	pid_t other = fork_child(other_process, NULL);
	cr_assert_eq(wait_child(other), 0);

	for (unsigned i = 1; i <= 5; i++) {
		unsigned fi = i % 5;
		struct ttmem_filter f = filters(fi, pid);
		struct ttmem_tally full, keyed;
		char what[32];
		snprintf(what, sizeof(what), "filter %u", fi);

		memset(&full, 0, sizeof(full));
		memset(&keyed, 0, sizeof(keyed));
		int64_t nf = ttmem_tally(t, &f, &full);
		cr_assert_eq(ttmem_tally_keys(t, &f, keys, nkeys, &keyed), nf, "%s", what);
		assert_tally_eq(&keyed, &full, what);
		cr_assert_gt(nf, 0, "%s matches nothing: the test would prove nothing", what);

		/* Sweep by keys, then the full table has none left of f. */
		memset(&keyed, 0, sizeof(keyed));
		cr_assert_eq(ttmem_sweep_keys(t, &f, keys, nkeys, &keyed), nf, "%s", what);
		assert_tally_eq(&keyed, &full, what);
		cr_assert_eq(ttmem_tally(t, &f, NULL), 0, "%s", what);
	}
	/* The other process's entries were never touched. */
	struct ttmem_filter theirs = { .pid = (uint32_t)other };
	cr_assert_eq(ttmem_tally(t, &theirs, NULL), DEVICES * PER_DEVICE);
	struct slot_census c = census(t);
	cr_assert_eq(c.live_current, (uint64_t)DEVICES * PER_DEVICE);
	ttmem_flush(t);
	cr_assert_eq(atomic_load(&ttmem_table_procs(t)[ttmem_table_proc_index(t)].live_bytes), 0);
}

Test(keyed, cleared_keys_are_skipped)
{
	uint32_t pid = (uint32_t)getpid();
	struct ttmem_filter f = { .pid = pid };

	fill(t, 0, 1);
	cr_assert_eq(ttmem_tally_keys(t, &f, keys, nkeys, NULL), DEVICES * PER_DEVICE);
	cr_assert_eq(ttmem_clear(t), 0);
	cr_assert_eq(ttmem_tally_keys(t, &f, keys, nkeys, NULL), 0);
	cr_assert_eq(ttmem_sweep_keys(t, &f, keys, nkeys, NULL), 0);
	/* Re-inserted after the clear: live again, found again. */
	fill(t, 0, 0);
	cr_assert_eq(ttmem_sweep_keys(t, &f, keys, nkeys, NULL), DEVICES * PER_DEVICE);
	cr_assert_eq(ttmem_tally(t, &f, NULL), 0);
}

Test(keyed, bad_arguments)
{
	struct ttmem_filter f = { .pid = (uint32_t)getpid() };
	cr_assert_eq(ttmem_sweep_keys(NULL, &f, keys, 1, NULL), -EINVAL);
	cr_assert_eq(ttmem_sweep_keys(t, NULL, keys, 1, NULL), -EINVAL);
	cr_assert_eq(ttmem_sweep_keys(t, &f, NULL, 1, NULL), -EINVAL);
	cr_assert_eq(ttmem_tally_keys(t, &f, NULL, 1, NULL), -EINVAL);
	cr_assert_eq(ttmem_sweep_keys(t, &f, NULL, 0, NULL), 0);
	cr_assert_eq(ttmem_tally_keys(t, &f, NULL, 0, NULL), 0);
}
