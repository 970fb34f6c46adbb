/* SPDX-License-Identifier: MIT */
/*
 * Multi-process stress: P writer processes x T threads insert and remove
 * their own keys (DRAM and L1 keys with the same addresses, on their own
 * device ids) while a reader process -- and a reader thread inside writer 0,
 * so that TSan sees readers and writers together -- snapshot continuously and
 * check that every entry is internally consistent (size, owner id and
 * callsite are functions of address, device, space and pid).  At the end the
 * table holds exactly the entries the writers believe live, the counters
 * add up, and no slot is BUSY.
 *
 * Scale (TTMEM_TEST_SCALE): normal 4 x 2 x 500,000 = 4M events; asan
 * 4 x 2 x 150,000 = 1.2M; tsan 4 x 2 x 100,000 = 800,000 (TSan is slower).
 */
#include <pthread.h>

#include "helpers.h"

#define MAX_W 16
#define KEYS 2048                 /* per thread: 1024 addresses x {DRAM, L1} */

struct shared {
	_Atomic int writers_done;
	_Atomic int go;
	uint32_t pids[MAX_W];
	uint8_t live[MAX_W][KEYS];    /* [proc * T + thread][key] */
	uint64_t live_bytes[MAX_W];   /* per process */
	uint64_t events[MAX_W];
	_Atomic uint64_t snapshots, checked, bad;
	char why[256];
};

static int P = 4, T = 2;
static uint64_t E = 500000;       /* events per thread */
static struct shared *sh;
static char path[128];

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	return x;
}

static uint64_t size_of(uint64_t addr, uint32_t dev, uint8_t space, uint32_t pid)
{
	return (mix(addr ^ ((uint64_t)dev << 40) ^ ((uint64_t)space << 56) ^ ((uint64_t)pid << 20)) &
		0xfffff) + 1;
}

static struct ttmem_entry entry_for(uint32_t dev, unsigned key, uint32_t pid)
{
	uint8_t space = (uint8_t)(key & 1);
	uint64_t addr = (uint64_t)(key / 2 + 1) << 12;
	struct ttmem_entry e = mk_entry(dev, space, addr, size_of(addr, dev, space, pid));
	e.owner_id = addr ^ pid;
	e.callsite = (uint32_t)mix(addr + dev);
	e.owner_kind = (uint8_t)(key % 3);
	return e;
}

/* The reader's check of one entry; returns a reason or NULL. */
static const char *check_entry(const struct ttmem_entry *e)
{
	int w = -1;
	for (int i = 0; i < P; i++)
		if (sh->pids[i] == e->pid)
			w = i;
	if (w < 0)
		return "unknown pid";
	if (e->key.device / (uint32_t)T != (uint32_t)w)
		return "device not of this writer";
	if (e->key.space > 1 || (e->key.address & 0xfff) || e->key.address == 0 ||
	    (e->key.address >> 12) > KEYS / 2)
		return "bad key";
	if (e->size != size_of(e->key.address, e->key.device, e->key.space, e->pid))
		return "size is not f(address, pid)";
	if (e->owner_id != (e->key.address ^ e->pid) || e->callsite != (uint32_t)mix(e->key.address + e->key.device))
		return "torn payload";
	unsigned key = (unsigned)((e->key.address >> 12) - 1) * 2 + e->key.space;
	if (e->owner_kind != key % 3)
		return "torn owner kind";
	return NULL;
}

static void reader_loop(struct ttmem_table *t, int until_writers)
{
	while (atomic_load(&sh->writers_done) < until_writers) {
		struct ttmem_snapshot s;
		if (ttmem_snapshot(t, &s) != 0) {
			atomic_fetch_add(&sh->bad, 1);
			return;
		}
		for (size_t i = 0; i < s.count; i++) {
			const char *why = check_entry(&s.entries[i]);
			if (why) {
				if (atomic_fetch_add(&sh->bad, 1) == 0)
					snprintf(sh->why, sizeof(sh->why), "%s (pid %u dev %u addr %#llx)", why,
						 s.entries[i].pid, s.entries[i].key.device,
						 (unsigned long long)s.entries[i].key.address);
			}
		}
		atomic_fetch_add(&sh->checked, s.count);
		atomic_fetch_add(&sh->snapshots, 1);
		ttmem_snapshot_free(&s);
	}
}

struct wthread {
	struct ttmem_table *t;
	int w, th;
	uint32_t pid;
	uint64_t bytes;
	int fail;
};

static void *writer_thread(void *arg)
{
	struct wthread *wt = arg;
	uint32_t dev = (uint32_t)(wt->w * T + wt->th);
	uint8_t *live = sh->live[dev];
	uint64_t x = mix(dev + 1) | 1;
	for (uint64_t n = 0; n < E; n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned key = (unsigned)(x % KEYS);
		struct ttmem_entry e = entry_for(dev, key, wt->pid);
		if (live[key]) {
			struct ttmem_entry out;
			if (ttmem_remove(wt->t, &e.key, &out) != 0 || out.size != e.size ||
			    out.owner_id != e.owner_id) {
				wt->fail = 1;
				break;
			}
			live[key] = 0;
		} else {
			if (ttmem_insert(wt->t, &e) != TTMEM_INSERTED) {
				wt->fail = 2;
				break;
			}
			live[key] = 1;
		}
	}
	for (unsigned k = 0; k < KEYS; k++)
		if (live[k])
			wt->bytes += entry_for(dev, k, wt->pid).size;
	ttmem_flush(wt->t);
	return NULL;
}

static void *reader_thread(void *arg)
{
	reader_loop(arg, P);
	return NULL;
}

static int writer_main(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, path, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	sh->pids[w] = (uint32_t)getpid();
	/* Start once a reader has a snapshot going, so that readers and
	 * writers overlap even on a loaded machine. */
	while (!atomic_load(&sh->go) || !atomic_load(&sh->snapshots))
		usleep(100);
	struct wthread wt[8];
	pthread_t th[8], rt;
	if (w == 0)
		pthread_create(&rt, NULL, reader_thread, t);
	for (int i = 0; i < T; i++) {
		wt[i] = (struct wthread){ .t = t, .w = w, .th = i, .pid = (uint32_t)getpid() };
		pthread_create(&th[i], NULL, writer_thread, &wt[i]);
	}
	int rc = 0;
	sh->live_bytes[w] = 0;
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		rc |= wt[i].fail;
		sh->live_bytes[w] += wt[i].bytes;
	}
	sh->events[w] = E * (uint64_t)T;
	atomic_fetch_add(&sh->writers_done, 1);
	if (w == 0)
		pthread_join(rt, NULL);
	ttmem_table_close(t);
	return rc ? 10 + rc : 0;
}

static int reader_main(void *arg)
{
	(void)arg;
	struct ttmem_open_opts o = { .readonly = 1 };
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, path, &o, NULL, 0) != 0)
		return 1;
	while (!atomic_load(&sh->go))
		usleep(100);
	reader_loop(t, P);
	ttmem_table_close(t);
	return 0;
}

Test(stress, processes_threads_reader, .timeout = 150)
{
	const char *scale = getenv("TTMEM_TEST_SCALE");
	if (scale && !strcmp(scale, "tsan")) {
		E = 100000;
	} else if (scale && !strcmp(scale, "asan")) {
		E = 150000;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	seg_path(path, sizeof(path), "stress");
	struct ttmem_table *t = seg_writer(path, 1 << 16);

	pid_t pids[MAX_W + 1];
	for (int w = 0; w < P; w++)
		pids[w] = fork_child(writer_main, (void *)(intptr_t)w);
	pids[P] = fork_child(reader_main, NULL);
	for (int i = 0; i < 1000 && atomic_load(&sh->go) == 0; i++) {
		int ready = 1;
		for (int w = 0; w < P; w++)
			ready &= sh->pids[w] != 0;
		if (ready)
			atomic_store(&sh->go, 1);
		else
			usleep(1000);
	}
	cr_assert_eq(atomic_load(&sh->go), 1);
	for (int i = 0; i <= P; i++)
		cr_assert_eq(wait_child(pids[i]), 0, "process %d failed", i);

	cr_assert_eq(atomic_load(&sh->bad), 0, "reader: %s", sh->why);
	cr_assert_gt(atomic_load(&sh->snapshots), 1);
	cr_log_info("%llu events, %llu snapshots, %llu entries checked",
		    (unsigned long long)(E * (uint64_t)(P * T)),
		    (unsigned long long)atomic_load(&sh->snapshots),
		    (unsigned long long)atomic_load(&sh->checked));

	/* Exactly the entries the writers believe live. */
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	cr_assert_eq(s.unstable, 0);
	size_t expect = 0;
	for (int d = 0; d < P * T; d++)
		for (unsigned k = 0; k < KEYS; k++)
			expect += sh->live[d][k];
	cr_assert_eq(s.count, expect);
	for (size_t i = 0; i < s.count; i++) {
		struct ttmem_entry *e = &s.entries[i];
		cr_assert_null(check_entry(e), "%s", check_entry(e));
		unsigned key = (unsigned)((e->key.address >> 12) - 1) * 2 + e->key.space;
		cr_assert(sh->live[e->key.device][key], "entry not believed live");
	}
	ttmem_snapshot_free(&s);
	struct slot_census c = census(t);
	cr_assert_eq(c.busy, 0);
	cr_assert_eq(c.live, expect);
	cr_assert_eq(c.meta_without_live, 0);

	/* Counters: every event counted once, per-process live bytes exact. */
	uint64_t events = 0;
	for (int w = 0; w < P; w++)
		events += sh->events[w];
	cr_assert_eq(CNT(t, events), events);
	cr_assert_eq(CNT(t, drops), 0);
	cr_assert_eq(CNT(t, unmatched), 0);
	const struct ttmem_proc *procs = ttmem_table_procs(t);
	for (uint32_t i = 0; i < ttmem_table_header(t)->proc_capacity; i++)
		for (int w = 0; w < P; w++)
			if (procs[i].pid == sh->pids[w]) {
				cr_assert_eq(atomic_load(&procs[i].live_bytes), sh->live_bytes[w]);
				cr_assert_eq(atomic_load(&procs[i].allocs) + atomic_load(&procs[i].frees),
					     sh->events[w]);
				cr_assert_geq(atomic_load(&procs[i].peak_bytes), sh->live_bytes[w]);
			}
	ttmem_table_close(t);
	unlink(path);
	munmap(sh, sizeof(*sh));
}
