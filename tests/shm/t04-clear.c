/* SPDX-License-Identifier: MIT */
/* Clear: O(1) epoch bump, counters, stale slots reused, safe under writers. */
#include <pthread.h>

#include "helpers.h"

Test(clear, empties_and_resets)
{
	char path[128];
	seg_path(path, sizeof(path), "clear");
	struct ttmem_table *t = seg_writer(path, 1024);
	const struct ttmem_header *h = ttmem_table_header(t);
	const struct ttmem_proc *p = &ttmem_table_procs(t)[ttmem_table_proc_index(t)];
	for (uint64_t i = 1; i <= 3; i++) {
		struct ttmem_entry e = mk_entry(0, 0, i * 64, i * 100);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	struct ttmem_key k9 = mk_key(0, 0, 9 * 64);
	cr_assert_eq(ttmem_remove(t, &k9, NULL), TTMEM_ENOTFOUND);
	ttmem_flush(t);
	cr_assert_eq(atomic_load(&p->live_bytes), 600);
	cr_assert_eq(CNT(t, events), 4);
	uint64_t epoch = atomic_load(&h->clear_epoch);

	cr_assert_eq(ttmem_clear(t), 0);
	cr_assert_eq(atomic_load(&h->clear_epoch), epoch + 1);
	cr_assert_neq(atomic_load(&h->cleared_ns), 0);
	cr_assert_eq(CNT(t, events), 0);
	cr_assert_eq(CNT(t, unmatched), 0);
	cr_assert_eq(atomic_load(&p->live_bytes), 0);
	cr_assert_eq(atomic_load(&p->peak_bytes), 0);
	cr_assert_eq(atomic_load(&p->allocs), 3, "clear keeps the per-process event counts");

	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 0);
	cr_assert_eq(s.epoch, epoch + 1);
	ttmem_snapshot_free(&s);
	struct slot_census c = census(t);
	cr_assert_eq(c.live, 3);
	cr_assert_eq(c.live_current, 0);
	struct ttmem_filter f = { .pid = (uint32_t)getpid() };
	cr_assert_eq(ttmem_tally(t, &f, NULL), 0);

	/* A free of an allocation made before the clear is unmatched. */
	struct ttmem_key k1 = mk_key(0, 0, 64);
	cr_assert_eq(ttmem_remove(t, &k1, NULL), TTMEM_ENOTFOUND);
	/* Inserting the same key again reuses its stale slot. */
	struct ttmem_entry e2 = mk_entry(0, 0, 2 * 64, 7);
	cr_assert_eq(ttmem_insert(t, &e2), TTMEM_INSERTED);
	c = census(t);
	cr_assert_eq(c.live, 3);
	cr_assert_eq(c.live_current, 1);
	ttmem_flush(t);
	cr_assert_eq(CNT(t, unmatched), 1);
	cr_assert_eq(CNT(t, replaced), 0);
	cr_assert_eq(atomic_load(&p->live_bytes), 7);
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.entries[0].size, 7);
	ttmem_snapshot_free(&s);
	struct ttmem_entry out;
	cr_assert_eq(ttmem_remove(t, &e2.key, &out), 0);
	cr_assert_eq(out.size, 7);

	/* Reap frees the stale slots for good. */
	cr_assert_eq(ttmem_reap(t, 0, NULL), 0);
	c = census(t);
	cr_assert_eq(c.live + c.busy, 0);
	cr_assert_eq(c.meta_without_live, 0);

	/* Read-only handles cannot clear. */
	struct ttmem_open_opts ro = { .readonly = 1 };
	struct ttmem_table *r = NULL;
	cr_assert_eq(ttmem_table_open(&r, path, &ro, NULL, 0), 0);
	cr_assert_eq(ttmem_clear(r), -EINVAL);
	ttmem_table_close(r);
	ttmem_table_close(t);
	unlink(path);
}

Test(clear, full_table_of_stale_entries_is_reused)
{
	char path[128];
	seg_path(path, sizeof(path), "clearfull");
	struct ttmem_table *t = seg_writer(path, 128);
	for (uint64_t i = 0; i < 128; i++) {
		struct ttmem_entry e = mk_entry(0, 0, (i + 1) * 64, 1);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	struct ttmem_entry x = mk_entry(5, 0, 64, 1);
	cr_assert_eq(ttmem_insert(t, &x), TTMEM_EFULL);
	cr_assert_eq(ttmem_clear(t), 0);
	for (uint64_t i = 0; i < 128; i++) {
		struct ttmem_entry e = mk_entry(1, 1, (i + 1) * 64, 2);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED, "insert %llu", (unsigned long long)i);
	}
	cr_assert_eq(ttmem_insert(t, &x), TTMEM_EFULL);
	ttmem_flush(t);
	cr_assert_eq(CNT(t, drops), 1);
	cr_assert_eq(CNT(t, reclaimed), 0);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 128);
	for (size_t i = 0; i < s.count; i++)
		cr_assert_eq(s.entries[i].key.device, 1);
	ttmem_snapshot_free(&s);
	ttmem_table_close(t);
	unlink(path);
}

/* Clear during activity: writers keep inserting/removing their own keys
 * while another thread clears; afterwards the table holds a subset of what
 * each writer believes live, every entry intact, and nothing else. */
#define CW_KEYS 512
struct cw {
	struct ttmem_table *t;
	uint32_t dev;
	uint8_t live[CW_KEYS];
	uint64_t ops;
	_Atomic int *stop;
};

static uint64_t cw_size(uint32_t dev, uint64_t addr)
{
	return ((addr * 31) ^ dev) & 0xffff;
}

static void *cw_writer(void *arg)
{
	struct cw *w = arg;
	uint64_t x = 88172645463325252ull ^ w->dev;
	while (!atomic_load(w->stop)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned i = (unsigned)(x % CW_KEYS);
		uint64_t addr = (uint64_t)(i + 1) << 8;
		if (w->live[i]) {
			struct ttmem_key k = mk_key(w->dev, 0, addr);
			int rc = ttmem_remove(w->t, &k, NULL);
			cr_assert(rc == 0 || rc == TTMEM_ENOTFOUND);
			w->live[i] = 0;
		} else {
			struct ttmem_entry e = mk_entry(w->dev, 0, addr, cw_size(w->dev, addr));
			int rc = ttmem_insert(w->t, &e);
			cr_assert_eq(rc, TTMEM_INSERTED, "rc %d", rc);
			w->live[i] = 1;
		}
		w->ops++;
	}
	ttmem_flush(w->t);
	return NULL;
}

Test(clear, during_activity)
{
	char path[128];
	seg_path(path, sizeof(path), "clearact");
	struct ttmem_table *t = seg_writer(path, 4096);
	_Atomic int stop = 0;
	struct cw w[2];
	pthread_t th[2];
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].t = t;
		w[i].dev = (uint32_t)i;
		w[i].stop = &stop;
		pthread_create(&th[i], NULL, cw_writer, &w[i]);
	}
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(ttmem_clear(t), 0);
		struct ttmem_snapshot s;
		cr_assert_eq(ttmem_snapshot(t, &s), 0);
		for (size_t j = 0; j < s.count; j++)
			cr_assert_eq(s.entries[j].size,
				     cw_size(s.entries[j].key.device, s.entries[j].key.address));
		ttmem_snapshot_free(&s);
		usleep(200);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	cr_assert_gt(w[0].ops + w[1].ops, 10000);

	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.unstable, 0);
	for (size_t j = 0; j < s.count; j++) {
		struct ttmem_entry *e = &s.entries[j];
		unsigned i = (unsigned)(e->key.address >> 8) - 1;
		cr_assert_lt(e->key.device, 2);
		cr_assert(w[e->key.device].live[i], "entry not believed live");
		cr_assert_eq(e->size, cw_size(e->key.device, e->key.address));
	}
	/* Each believed-live key is either in the table (remove succeeds) or
	 * was cleared (unmatched): exactly s.count successes. */
	size_t found = 0;
	for (int d = 0; d < 2; d++)
		for (unsigned i = 0; i < CW_KEYS; i++)
			if (w[d].live[i]) {
				struct ttmem_key k = mk_key((uint32_t)d, 0, (uint64_t)(i + 1) << 8);
				int rc = ttmem_remove(t, &k, NULL);
				cr_assert(rc == 0 || rc == TTMEM_ENOTFOUND);
				found += rc == 0;
			}
	cr_assert_eq(found, s.count);
	ttmem_snapshot_free(&s);
	struct slot_census c = census(t);
	cr_assert_eq(c.busy, 0);
	cr_assert_eq(c.live_current, 0);
	ttmem_table_close(t);
	unlink(path);
}

/* A child that registers, records one entry and exits normally. */
static const char *exiting_path;

static int exiting_child(void *arg)
{
	(void)arg;
	struct ttmem_table *t = seg_open_cap(exiting_path, 1024, 64);
	int idx = ttmem_proc_register(t);
	struct ttmem_entry e = mk_entry(1, 0, 4096, 4096);
	if (idx < 0 || ttmem_insert(t, &e) != TTMEM_INSERTED)
		return 1;
	ttmem_proc_exit(t, idx);
	ttmem_table_close(t);
	return 0;
}

static int registered(const struct ttmem_table *t, uint32_t pid)
{
	const struct ttmem_proc *p = ttmem_table_procs(t);
	int n = 0;
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++) {
		uint64_t c = atomic_load(&p[i].ctl);
		if ((c & 0xff) != TTMEM_PROC_FREE && (uint32_t)(c >> 32) == pid)
			n++;
	}
	return n;
}

/* Clearing between runs forgets the runs: exited processes leave the
 * registry with their records; running ones stay, counters reset. */
Test(clear, exited_processes_leave_the_registry)
{
	char path[128];
	seg_path(path, sizeof(path), "clear-exited");
	struct ttmem_table *t = seg_writer(path, 1024);
	exiting_path = path;
	pid_t child = fork_child(exiting_child, NULL);
	cr_assert_eq(wait_child(child), 0);
	cr_assert_eq(registered(t, (uint32_t)child), 1);
	cr_assert_eq(registered(t, (uint32_t)getpid()), 1);

	cr_assert_eq(ttmem_clear(t), 0);
	cr_assert_eq(registered(t, (uint32_t)child), 0, "the exited child is forgotten");
	cr_assert_eq(registered(t, (uint32_t)getpid()), 1, "the running writer stays");
	/* The writer still writes under its registry entry. */
	struct ttmem_entry e = mk_entry(0, 0, 64, 100);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.entries[0].pid, (uint32_t)getpid());
	ttmem_snapshot_free(&s);
	ttmem_table_close(t);
	unlink(path);
}
