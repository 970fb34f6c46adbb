/* SPDX-License-Identifier: MIT */
/*
 * What ttmem_table_open costs a tracked program (a writer that may create
 * the segment, as the preload opens it) when the name holds: nothing (it
 * creates the segment), a healthy segment (it attaches), a stale empty file
 * or a stale all-zero file (it re-creates it in place), and a file whose
 * build lock a live process holds for ever (it gives up after its bounded
 * wait).  Interleaved runs, median of each, in ms, default geometry (64 MiB).
 * Output: "BENCH <name> <value> ms" lines, and per case how many opens
 * left the program untracked ("open_<case>_untracked", a count).  Usage:
 * open_time [REPS].
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ttmem/table.h"

enum { NONE, HEALTHY, EMPTY, ZEROS, LOCKED, CASES };
static const char *const names[CASES] = { "create", "attach", "stale_empty", "stale_zeros",
					  "live_creator" };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void prepare(const char *path, int c)
{
	int fd;

	if (c == HEALTHY)
		return; /* the segment the previous case made */
	unlink(path);
	if (c == NONE)
		return;
	fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0 || (c == ZEROS && ftruncate(fd, 64 << 20) != 0)) {
		perror(path);
		exit(1);
	}
	close(fd);
}

#define LOCKED_REPS 3

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 15;
	char path[128], err[256];

	double *ms[CASES];
	int untracked[CASES] = { 0 };
	pid_t holder;
	int pfd[2];

	snprintf(path, sizeof(path), "/dev/shm/ttmem-bench-open-%d", (int)getpid());
	for (int c = 0; c < CASES; c++)
		ms[c] = calloc((size_t)reps, sizeof(double));
	for (int r = 0; r < reps; r++) {
		for (int c = 0; c < CASES; c++) {
			struct ttmem_table *t = NULL;
			holder = 0;
			/* Each costs the writers' whole wait (seconds): a few do. */
			if (c == LOCKED && r >= LOCKED_REPS)
				continue;
			prepare(path, c);
			if (c == LOCKED) {
				/* A live process holding the build lock: a creator that
				 * never finishes. */
				if (pipe(pfd) != 0)
					return 1;
				holder = fork();
				if (holder == 0) {
					int fd = open(path, O_RDWR);
					char x = 1;
					if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(pfd[1], &x, 1) != 1)
						_exit(1);
					pause();
					_exit(0);
				}
				char x;
				if (read(pfd[0], &x, 1) != 1)
					return 1;
				close(pfd[0]);
				close(pfd[1]);
			}
			double t0 = now_ms();
			int rc = ttmem_table_open(&t, path, NULL, err, sizeof(err));
			ms[c][r] = now_ms() - t0;
			untracked[c] += rc != 0;
			ttmem_table_close(t);
			if (holder) {
				kill(holder, SIGKILL);
				waitpid(holder, NULL, 0);
			}
		}
	}
	unlink(path);
	for (int c = 0; c < CASES; c++) {
		int n = c == LOCKED && reps > LOCKED_REPS ? LOCKED_REPS : reps;

		qsort(ms[c], (size_t)n, sizeof(double), cmp);
		printf("BENCH open_%s_ms %.2f ms\n", names[c], ms[c][n / 2]);
		printf("BENCH open_%s_untracked %d of %d\n", names[c], untracked[c], n);
	}
	printf("BENCH stale_open_extra_ms %.2f ms\n", ms[EMPTY][reps / 2] - ms[NONE][reps / 2]);
	return 0;
}
