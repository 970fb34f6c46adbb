/* SPDX-License-Identifier: MIT */
/*
 * A live segment mutated while writers run and readers read, under ASan +
 * UBSan (`make check`, tests/fuzz/fuzz.mk): what the fuzzer cannot do, since
 * its images hold still.
 *
 *   writers   WRITERS processes, registered, inserting and removing in a
 *             loop with the SIGBUS guard installed (as the preload does);
 *   mutator   one process writing random words anywhere in the file with
 *             pwrite (header, registry, modules, meta, slots), now and then
 *             truncating it to one page and growing it back (its content
 *             then lost), and restoring the header so that opens go on;
 *   readers   this process, as the viewer: open read-only, snapshot, model,
 *             the three renderings of show, the leak report, the stuck /
 *             unstable counts, ttmem_table_intact; and, as `ttmem reap`
 *             does, a writable unregistered open and a reap.
 *
 * Passes when no process crashes, no sanitizer reports, every writer ends
 * normally, readers' invariants hold (a model never counts more entries
 * than its snapshot holds) and enough passes ran.  Usage: live_mutate [SECONDS].
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ttmem/table.h"
#include "viewer.h"

#define WRITERS 2
/* The header's write-once part (geometry), which the mutator restores. */
#define HEADER_FIXED ((ssize_t)offsetof(struct ttmem_header, clear_epoch))

static char path[128];
static _Atomic int *stop;      /* stop[0]: stop; stop[1]: writers attached */

static uint64_t rng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int writer(int w)
{
	struct ttmem_table *t = NULL;
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(w + 1), n = 0;

	ttmem_sigbus_guard(NULL);
	if (ttmem_table_open(&t, path, NULL, NULL, 0) != 0 || ttmem_proc_register(t) < 0)
		return 1;
	atomic_fetch_add(&stop[1], 1);
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		struct ttmem_entry e;
		memset(&e, 0, sizeof(e));
		uint64_t r = rng(&x);
		e.key.address = ((r % 512) + 1) << 12;
		e.key.device = (uint32_t)(w * 4 + (r >> 20) % 4);
		e.key.space = (uint8_t)((r >> 30) % 4);
		e.type = (uint8_t)((r >> 34) % 6);
		e.size = 4096;
		e.module = TTMEM_MODULE_NONE;
		if (r & (1u << 9))
			ttmem_insert(t, &e);
		else
			ttmem_remove(t, &e.key, NULL);
		if (!(++n % 4096))
			ttmem_flush(t);
	}
	ttmem_table_close(t);
	return 0;
}

static int mutator(uint64_t size, const void *header)
{
	uint64_t x = 0x2545f4914f6cdd1dull;
	int fd = open(path, O_RDWR);

	if (fd < 0)
		return 1;
	for (uint64_t n = 0; !atomic_load_explicit(stop, memory_order_relaxed); n++) {
		uint64_t r = rng(&x), v = rng(&x);
		/* Mostly the regions readers walk; the header more rarely. */
		off_t off = (off_t)((r % 8 ? TTMEM_HEADER_SIZE + (r >> 8) % (size - TTMEM_HEADER_SIZE - 8) :
				     (r >> 8) % 256) & ~(uint64_t)7);
		if (pwrite(fd, &v, sizeof(v), off) != (ssize_t)sizeof(v))
			(void)0; /* shrunk meanwhile: fine */
		if (n % 512 == 511 && ftruncate(fd, 4096) == 0) {
			usleep(200);
			if (ftruncate(fd, (off_t)size) != 0)
				return 2;
		}
		if (n % 64 == 63 && pwrite(fd, header, HEADER_FIXED, 0) != HEADER_FIXED)
			return 3;
		if (n % 16 == 15)
			usleep(50);
	}
	close(fd);
	return 0;
}

static unsigned read_once(FILE *sink)
{
	struct ttmem_open_opts ro = { .readonly = 1 }, nc = { .no_create = 1 };
	struct ttmem_table *t = NULL;
	struct ttmem_snapshot s;
	unsigned passes = 0;

	if (ttmem_table_open(&t, path, &ro, NULL, 0) == 0) {
		if (ttmem_snapshot(t, &s) == 0) {
			struct model_opts mo = { .device = -1, .pid = -1, .all_procs = 1 };
			struct show_opts so = { .processes = 2, .released = 1, .segment = 1 };
			struct model m;
			struct leak_report lr;

			if (model_build(&m, t, &s, &mo) == 0) {
				if (m.seg.entries > s.count)
					abort();
				format_text(sink, &m, path, &so);
				format_json(sink, &m, path);
				format_prom(sink, &m, path);
				model_release(&m);
			}
			if (leaks_build(&lr, t, &s, -1, -1, NULL) == 0) {
				if (lr.entries > s.count)
					abort();
				leaks_print(sink, &lr, NULL, path, 1, 0);
				leaks_release(&lr);
			}
			ttmem_snapshot_free(&s);
			passes++;
		}
		ttmem_table_intact(t);
		ttmem_table_close(t);
	}
	if (ttmem_table_open(&t, path, &nc, NULL, 0) == 0) {
		struct ttmem_tally ty;
		memset(&ty, 0, sizeof(ty));
		int64_t n = ttmem_reap(t, 0, &ty);
		if (n >= 0 && (uint64_t)n != ty.entries)
			abort();
		ttmem_table_close(t);
	}
	return passes;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	struct ttmem_open_opts o = { .capacity = 1024, .proc_capacity = 8, .module_capacity = 4 };
	struct ttmem_table *t = NULL;
	char err[256], header[HEADER_FIXED];
	pid_t pids[WRITERS + 1];
	int failed = 0;

	snprintf(path, sizeof(path), "/dev/shm/ttmem-live-mutate-%d", (int)getpid());
	unlink(path);
	stop = mmap(NULL, 2 * sizeof(*stop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stop == MAP_FAILED || ttmem_table_open(&t, path, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "live_mutate: cannot set up: %s\n", err);
		return 1;
	}
	uint64_t size = ttmem_table_header(t)->total_size;
	memcpy(header, ttmem_table_header(t), sizeof(header));
	ttmem_table_close(t);
	ttmem_sigbus_guard(NULL);

	/* The writers attach to an intact segment before the mutator starts:
	 * what is tested is how they and the readers live through it. */
	for (int i = 0; i <= WRITERS; i++) {
		for (int ms = 0; i == WRITERS && atomic_load(&stop[1]) < WRITERS && ms < 10000; ms++)
			usleep(1000);
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(i < WRITERS ? writer(i) : mutator(size, header));
	}
	FILE *sink = fopen("/dev/null", "w");
	struct timespec t0, t1;
	unsigned passes = 0, tries = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		passes += read_once(sink);
		tries++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	atomic_store(stop, 1);
	for (int i = 0; i <= WRITERS; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "live_mutate: %s %d ended with status 0x%x\n",
				i < WRITERS ? "writer" : "mutator", i, st);
			failed = 1;
		}
	}
	fclose(sink);
	unlink(path);
	printf("  LIVE     %u reader passes (%u opens), writers and mutator ended normally: %s\n",
	       passes, tries, failed ? "no" : "yes");
	if (passes < 20) {
		fprintf(stderr, "live_mutate: only %u reader passes\n", passes);
		failed = 1;
	}
	return failed;
}
