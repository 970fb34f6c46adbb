/* SPDX-License-Identifier: MIT */
/*
 * Crash test: writer processes (2 threads each) are SIGKILLed at random
 * moments, mid-operation or not, at least 100 times.  After each round the
 * parent reaps; then no slot may be BUSY, every meta byte must agree with its
 * slot, and the table must hold exactly the entries the surviving writers
 * (which stop cleanly) believe live: nothing of the killed ones, nothing of
 * the survivors lost.
 */
#include <pthread.h>
#include <time.h>

#include "helpers.h"

#define ROUNDS 36
#define WRITERS 4                 /* per round; 3 killed, 1 survives */
#define THREADS 2
#define KEYS 128                  /* per thread */
#define DEVS (ROUNDS * WRITERS * THREADS)

struct shared {
	_Atomic int stop[ROUNDS][WRITERS];
	_Atomic int ready[ROUNDS][WRITERS];
	uint8_t live[DEVS][KEYS];
};

static struct shared *sh;
static char path[128];

static uint64_t size_of(uint32_t dev, unsigned k)
{
	return (uint64_t)dev * 1000 + k + 1;
}

struct wt {
	struct ttmem_table *t;
	int round, w;
	uint32_t dev;
};

static void *writer_thread(void *arg)
{
	struct wt *a = arg;
	uint8_t *live = sh->live[a->dev];
	uint64_t x = 0x9e3779b97f4a7c15ull * (a->dev + 1);
	while (!atomic_load_explicit(&sh->stop[a->round][a->w], memory_order_relaxed)) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned k = (unsigned)(x % KEYS);
		struct ttmem_entry e = mk_entry(a->dev, (uint8_t)(k & 1), (uint64_t)(k / 2 + 1) << 12,
						size_of(a->dev, k));
		if (live[k]) {
			if (ttmem_remove(a->t, &e.key, NULL) != 0)
				_exit(20);
			live[k] = 0;
		} else {
			if (ttmem_insert(a->t, &e) != TTMEM_INSERTED)
				_exit(21);
			live[k] = 1;
		}
	}
	return NULL;
}

static int writer_main(void *arg)
{
	int round = (int)((intptr_t)arg >> 8), w = (int)((intptr_t)arg & 0xff);
	struct ttmem_table *t = NULL;
	if (ttmem_table_open(&t, path, NULL, NULL, 0) != 0)
		return 1;
	int idx = ttmem_proc_register(t);
	if (idx < 0)
		return 2;
	struct wt a[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct wt){ t, round, w, (uint32_t)((round * WRITERS + w) * THREADS + i) };
		pthread_create(&th[i], NULL, writer_thread, &a[i]);
	}
	atomic_store(&sh->ready[round][w], 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ttmem_proc_exit(t, idx);
	ttmem_table_close(t);
	return 0;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

Test(crash, sigkill_at_random_moments, .timeout = 150)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(sh, MAP_FAILED);
	seg_path(path, sizeof(path), "crash");
	struct ttmem_open_opts o = { .capacity = 1 << 14, .proc_capacity = 256, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	cr_assert_eq(ttmem_table_open(&t, path, &o, NULL, 0), 0);
	cr_assert_geq(ttmem_proc_register(t), 0);
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
	int kills = 0;
	uint64_t reaped = 0;

	for (int r = 0; r < ROUNDS; r++) {
		pid_t pids[WRITERS];
		for (int w = 0; w < WRITERS; w++)
			pids[w] = fork_child(writer_main, (void *)(intptr_t)((r << 8) | w));
		for (int w = 0; w < WRITERS; w++)
			while (!atomic_load(&sh->ready[r][w]))
				sleep_us(50);
		int survivor = rand() % WRITERS;
		for (int w = 0; w < WRITERS; w++) {
			if (w == survivor)
				continue;
			sleep_us(rand() % 3000);
			cr_assert_eq(kill(pids[w], SIGKILL), 0);
			cr_assert_eq(wait_child(pids[w]), 128 + SIGKILL, "seed %u", seed);
			kills++;
		}
		atomic_store(&sh->stop[r][survivor], 1);
		cr_assert_eq(wait_child(pids[survivor]), 0, "seed %u", seed);
		/* The killed writers' devices: their beliefs are void. */
		for (int w = 0; w < WRITERS; w++)
			if (w != survivor)
				memset(sh->live[(r * WRITERS + w) * THREADS], 0, THREADS * KEYS);

		struct ttmem_tally tl;
		memset(&tl, 0, sizeof(tl));
		int64_t n = ttmem_reap(t, 0, &tl);
		cr_assert_geq(n, 0);
		reaped += (uint64_t)n;

		struct slot_census c = census(t);
		cr_assert_eq(c.busy, 0, "round %d: stuck slots (seed %u)", r, seed);
		cr_assert_eq(c.meta_without_live, 0, "round %d (seed %u)", r, seed);
		size_t expect = 0;
		for (int d = 0; d < DEVS; d++)
			for (unsigned k = 0; k < KEYS; k++)
				expect += sh->live[d][k];
		cr_assert_eq(c.live, expect, "round %d (seed %u)", r, seed);
		struct ttmem_snapshot s;
		cr_assert_eq(ttmem_snapshot(t, &s), 0);
		cr_assert_eq(s.count, expect);
		cr_assert_eq(s.unstable, 0);
		for (size_t i = 0; i < s.count; i++) {
			struct ttmem_entry *e = &s.entries[i];
			unsigned k = (unsigned)((e->key.address >> 12) - 1) * 2 + e->key.space;
			cr_assert_lt(e->key.device, DEVS);
			cr_assert(sh->live[e->key.device][k], "round %d: entry of a killed writer or not live (seed %u)",
				  r, seed);
			cr_assert_eq(e->size, size_of(e->key.device, k));
		}
		ttmem_snapshot_free(&s);
	}
	cr_assert_geq(kills, 100);
	/* Killed writers left entries (and, at some kills, BUSY slots) that
	 * the reaps gave back. */
	cr_assert_gt(reaped, 0);
	cr_log_info("%d kills, %llu entries reaped, %llu stuck slots freed (seed %u)", kills,
		    (unsigned long long)reaped, (unsigned long long)CNT(t, stuck_freed), seed);
	ttmem_table_close(t);
	unlink(path);
	munmap(sh, sizeof(*sh));
}
