/* SPDX-License-Identifier: MIT */
/*
 * What the preload's index of its own entries must survive, on the
 * emulator's C API, under the preload:
 *   run 0: a 4-chip mesh; 4 threads allocate and free DRAM mesh buffers at
 *          once and each keeps some; a forked child (forked while the
 *          parent holds all that) opens chip 6, allocates 16 buffers, frees
 *          8, closes the chip with 8 still held and exits; "peak 0"; the
 *          mesh closes with the threads' buffers still held; "closed 0".
 *   run 1: the mesh again, the same threads; "peak 1" (the test clears the
 *          table here); every buffer freed (unmatched: cleared), as many
 *          allocated anew and kept; "peak 2"; close; "closed 2".
 * Prints "kept0 B" and "kept2 B": bytes per chip held at each close, and
 * "child PID".  Every buffer is DRAM of a multiple of 64 KiB, so the test
 * knows exactly what a close must release in bulk.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hold.h"
#include "ttemu.h"

#define THREADS 4
#define OPS 400          /* allocations per thread and run */
#define WINDOW 24        /* buffers a thread holds at most */
#define UNIT 65536u

static int mesh;

struct worker {
	unsigned seed;
	int64_t held[WINDOW];
	uint64_t size[WINDOW];
	int n;
	uint64_t kept;
	int failed;
};

static struct worker workers[THREADS];

static int alloc_one(struct worker *w)
{
	uint64_t size = (uint64_t)(1 + rand_r(&w->seed) % 8) * UNIT;
	int64_t b = ttemu_alloc(mesh, TTEMU_DRAM, size, 2048);

	if (b < 1)
		return -1;
	w->held[w->n] = b;
	w->size[w->n] = size;
	w->n++;
	return 0;
}

static int free_one(struct worker *w, int i)
{
	if (ttemu_free(w->held[i]) != 0)
		return -1;
	w->n--;
	w->held[i] = w->held[w->n];
	w->size[i] = w->size[w->n];
	return 0;
}

/* Allocate and free at random; keep what is held at the end. */
static void *churn(void *arg)
{
	struct worker *w = arg;

	for (int op = 0; op < OPS && !w->failed; op++) {
		if (w->n == WINDOW || (w->n && rand_r(&w->seed) % 3 == 0))
			w->failed |= free_one(w, rand_r(&w->seed) % w->n) != 0;
		w->failed |= alloc_one(w) != 0;
	}
	return NULL;
}

static int run_threads(void)
{
	pthread_t th[THREADS];

	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&th[i], NULL, churn, &workers[i]) != 0)
			return -1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		if (workers[i].failed)
			return -1;
	return 0;
}

static uint64_t held_bytes(void)
{
	uint64_t s = 0;

	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < workers[i].n; j++)
			s += workers[i].size[j];
	return s;
}

/* The child: its own chip, 8 buffers still held when it closes it. */
static int child(void)
{
	int dev = ttemu_open_chip(6, 0, 0);
	int64_t b[16];

	if (dev < 1)
		return 1;
	for (int i = 0; i < 16; i++)
		if ((b[i] = ttemu_alloc(dev, TTEMU_DRAM, UNIT * (uint64_t)(i + 1), 2048)) < 1)
			return 1;
	for (int i = 0; i < 16; i += 2)
		if (ttemu_free(b[i]) != 0)
			return 1;
	return ttemu_close(dev) == 0 ? 0 : 1;
}

static int open_mesh(void)
{
	mesh = ttemu_open_mesh(4, 0, 0);
	return mesh < 1 ? -1 : 0;
}

int main(void)
{
	int status;

	hold_init();
	for (int i = 0; i < THREADS; i++)
		workers[i].seed = 17u + (unsigned)i;

	/* Run 0: threads, a fork, a close with buffers held. */
	if (open_mesh() != 0 || run_threads() != 0)
		goto fail;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		unsetenv("TTEMU_READY_FD");
		unsetenv("TTEMU_TRUTH");
		exit(child());   /* normally: the preload records its exit */
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			goto fail;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "owned_stress: child failed: %#x\n", status);
		return 1;
	}
	printf("child %d\nkept0 %llu\n", (int)pid, (unsigned long long)held_bytes());
	fflush(stdout);
	if (hold_point("peak", 0) != 0 || ttemu_close(mesh) != 0)
		goto fail;
	/* The handles outlive the close; dropping them reports nothing. */
	for (int i = 0; i < THREADS; i++)
		while (workers[i].n)
			if (free_one(&workers[i], 0) != 0)
				goto fail;
	if (hold_point("closed", 0) != 0)
		goto fail;

	/* Run 1: the table is cleared at "peak 1"; everything freed and
	 * allocated anew after it. */
	if (open_mesh() != 0 || run_threads() != 0 || hold_point("peak", 1) != 0)
		goto fail;
	for (int i = 0; i < THREADS; i++) {
		int n = workers[i].n;
		while (workers[i].n)
			if (free_one(&workers[i], 0) != 0)
				goto fail;
		for (int j = 0; j < n; j++)
			if (alloc_one(&workers[i]) != 0)
				goto fail;
	}
	printf("kept2 %llu\n", (unsigned long long)held_bytes());
	fflush(stdout);
	if (hold_point("peak", 2) != 0 || ttemu_close(mesh) != 0)
		goto fail;
	for (int i = 0; i < THREADS; i++)
		while (workers[i].n)
			if (free_one(&workers[i], 0) != 0)
				goto fail;
	return hold_point("closed", 2) != 0 ? 1 : 0;
fail:
	fprintf(stderr, "owned_stress: %s\n", ttemu_last_error());
	return 1;
}
