/* SPDX-License-Identifier: MIT */
/*
 * Is a process still there?  A process is identified by pid plus its start
 * time (/proc/PID/stat field 22), so a reused pid is another process.  Alive
 * iff kill(pid, 0) succeeds or fails with EPERM, /proc/PID/stat shows the
 * recorded start time, and it is not a zombie (a zombie never writes again).
 *
 * System calls: only the slow paths (replace / reclaim / reap) and the viewer
 * come here.  Writers cache verdicts per registry entry in the handle: "dead"
 * for good (for that claim generation of the entry), "alive" for 100 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define ALIVE_TTL_MS 100

/* Parse /proc/PID/stat: state (field 3) and starttime (field 22).  The comm
 * field may hold spaces and ')', so parsing starts after the last ')'. */
static int read_stat(pid_t pid, char *state, uint64_t *start_time)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	int saved = errno;
	close(fd);
	if (n < 0)
		return saved == ESRCH ? -ESRCH : -saved;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 3 && state)
			*state = *p;
		if (field == 22) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p, &end, 10);
			if (end == p || errno)
				return -EINVAL;
			*start_time = v;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	return -EINVAL;
}

int ttmem_proc_start_time(pid_t pid, uint64_t *start_time)
{
	uint64_t st = 0;
	int saved = errno;
	int rc = read_stat(pid, NULL, &st);
	errno = saved;
	if (rc == 0 && start_time)
		*start_time = st;
	return rc;
}

/* Is /proc there at all (a container may lack it)?  Asked once. */
static int proc_mounted(void)
{
	static _Atomic int known; /* 0 unknown, 1 yes, 2 no */
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	if (!k) {
		k = access("/proc/self/stat", R_OK) == 0 ? 1 : 2;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 1;
}

int ttmem_claiming_pid_dead(uint32_t pid)
{
	int saved = errno;
	int dead = pid == 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);

	errno = saved;
	return dead;
}

int ttmem_pid_alive(uint32_t pid, uint64_t start_time)
{
	char state = 0;
	uint64_t st = 0;
	int saved = errno, alive;

	if (pid == 0 || pid > (uint32_t)INT32_MAX) {
		alive = 0;
	} else if (kill((pid_t)pid, 0) != 0 && errno != EPERM) {
		alive = 0;
	} else {
		int rc = read_stat((pid_t)pid, &state, &st);
		if (rc == -ESRCH && !proc_mounted())
			alive = 1; /* no /proc here: trust kill() */
		else if (rc == -ESRCH)
			alive = 0;
		else if (rc < 0)
			alive = 1; /* /proc hidden from us: trust kill() */
		else
			alive = st == start_time && state != 'Z' && state != 'X';
	}
	errno = saved;
	return alive;
}

/* Cache word: bit 63 valid, bit 62 dead, bits 38..61 generation, 0..37 expiry ms. */
#define LC_VALID (UINT64_C(1) << 63)
#define LC_DEAD (UINT64_C(1) << 62)
#define LC_GEN(g) (((uint64_t)(g) & 0xffffffu) << 38)
#define LC_MS_MASK ((UINT64_C(1) << 38) - 1)

/* Liveness of the process holding registry entry `idx` at ctl value `c`. */
static int entry_alive(struct ttmem_table *t, uint32_t idx, uint64_t c)
{
	uint64_t gen = LC_GEN(c >> 8);
	uint64_t now = ttmem_mono_ms() & LC_MS_MASK;
	_Atomic uint64_t *slot = t->live_cache ? &t->live_cache[idx] : NULL;

	if (slot) {
		uint64_t w = atomic_load_explicit(slot, memory_order_relaxed);
		if ((w & LC_VALID) && (w & LC_GEN(0xffffff)) == gen) {
			if (w & LC_DEAD)
				return 0;
			if ((w & LC_MS_MASK) > now)
				return 1;
		}
	}
	const struct ttmem_proc *p = &t->procs[idx];
	uint64_t start = __atomic_load_n(&p->start_time, __ATOMIC_RELAXED);
	int alive = ttmem_pid_alive((uint32_t)(c >> 32), start);
	if (slot)
		atomic_store_explicit(slot, LC_VALID | gen | (alive ? (now + ALIVE_TTL_MS) & LC_MS_MASK : LC_DEAD),
				      memory_order_relaxed);
	return alive;
}

int ttmem_owner_dead(struct ttmem_table *t, uint32_t proc, uint32_t pid)
{
	if ((int32_t)proc == t->proc_idx && pid == t->pid)
		return 0;
	if (proc >= t->proc_capacity)
		return 1;
	/* Acquire: pairs with the release that published the entry RUNNING,
	 * so start_time is the owner's. */
	uint64_t c = atomic_load_explicit(&t->procs[proc].ctl, memory_order_acquire);
	uint32_t st = (uint32_t)(c & 0xff);
	if ((uint32_t)(c >> 32) != pid || st != TTMEM_PROC_RUNNING)
		return 1; /* exited normally, or its entry was recycled */
	return !entry_alive(t, proc, c);
}

int ttmem_claimer_dead(struct ttmem_table *t, uint32_t tag)
{
	uint32_t idx = TTMEM_TAG_IX(tag);

	if (t->proc_idx >= 0 && tag == t->busy_tag)
		return 0;
	/* An unregistered reaper's: only a reaper judges those (reap.c). */
	if (idx == TTMEM_TAG_REAPER)
		return 0;
	if (idx >= t->proc_capacity)
		return 1;
	uint64_t c = atomic_load_explicit(&t->procs[idx].ctl, memory_order_acquire);
	uint32_t st = (uint32_t)(c & 0xff);
	uint32_t pid = (uint32_t)(c >> 32);
	/* The entry was claimed anew since the slot was tagged: its claimer
	 * was dead or gone (only such entries are recycled). */
	if (TTMEM_TAG_GEN(tag) != (PCTL_GEN(c) & 0x3fffu))
		return 1;
	switch (st) {
	case TTMEM_PROC_RUNNING:
	case TTMEM_PROC_EXITED:
		/* An EXITED process may still have threads writing: ask. */
		return !entry_alive(t, idx, c);
	case TTMEM_PROC_CLAIMING:
		return ttmem_claiming_pid_dead(pid);
	default:
		return 1; /* never registered: no one can hold the slot */
	}
}

enum ttmem_liveness ttmem_proc_liveness(const struct ttmem_table *t, uint16_t proc, uint32_t pid)
{
	if (!t || proc >= t->proc_capacity)
		return TTMEM_LIVENESS_UNKNOWN;
	const struct ttmem_proc *p = &t->procs[proc];
	uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
	uint32_t st = (uint32_t)(c & 0xff);
	if ((uint32_t)(c >> 32) != pid)
		return TTMEM_LIVENESS_UNKNOWN;
	if (st == TTMEM_PROC_EXITED)
		return TTMEM_LIVENESS_EXITED;
	if (st != TTMEM_PROC_RUNNING)
		return TTMEM_LIVENESS_UNKNOWN;
	uint64_t start = __atomic_load_n(&p->start_time, __ATOMIC_RELAXED);
	return ttmem_pid_alive(pid, start) ? TTMEM_LIVENESS_RUNNING : TTMEM_LIVENESS_DEAD;
}
