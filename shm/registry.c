/* SPDX-License-Identifier: MIT */
/*
 * The process registry (struct ttmem_proc in segment.h): claim an entry by
 * CAS on its ctl (FREE -> CLAIMING(pid)), fill it, publish RUNNING with
 * release.  A full registry recycles an EXITED entry or one whose owner is
 * dead; the slots that named the old owner become orphans (pid mismatch).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len);
	close(fd);
	return n;
}

/* The calling process's comm and command line (argv joined by spaces),
 * NUL-padded to the sizes of the entry's fields. */
static void read_identity(char name[32], char cmdline[192])
{
	char buf[192];
	ssize_t n;

	memset(name, 0, 32);
	memset(cmdline, 0, 192);
	n = read_file("/proc/self/comm", buf, 32 - 1);
	if (n > 0) {
		if (buf[n - 1] == '\n')
			n--;
		memcpy(name, buf, (size_t)n);
	}
	n = read_file("/proc/self/cmdline", buf, sizeof(buf) - 1);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == 0)
				buf[i] = ' ';
		while (n > 0 && buf[n - 1] == ' ')
			n--;
		memcpy(cmdline, buf, (size_t)n);
	}
}

_Static_assert(sizeof(((struct ttmem_proc *)0)->name) == 32, "read_identity sizes");
_Static_assert(sizeof(((struct ttmem_proc *)0)->cmdline) == 192, "read_identity sizes");

/* Fill the entry we hold CLAIMING, then publish it RUNNING. */
static void fill_entry(struct ttmem_proc *p, uint64_t claiming, uint32_t pid, uint64_t start)
{
	memset((char *)p + sizeof(p->ctl), 0, sizeof(*p) - sizeof(p->ctl));
	p->pid = pid;
	p->ppid = (uint32_t)getppid();
	p->start_time = start;
	p->registered_ns = ttmem_now_ns();
	p->uid = (uint32_t)geteuid();
	read_identity(p->name, p->cmdline);
	/* Publish: pairs with the acquire loads of ctl in liveness.c and of the
	 * viewer, which then read the fields above. */
	atomic_store_explicit(&p->ctl, PCTL_MAKE(pid, PCTL_GEN(claiming), TTMEM_PROC_RUNNING),
			      memory_order_release);
}

/* May entry `i` (ctl `c`) be recycled when the registry is full? */
static int recyclable(const struct ttmem_proc *p, uint64_t c)
{
	uint32_t pid = PCTL_PID(c);
	switch (PCTL_STATE(c)) {
	case TTMEM_PROC_EXITED:
		return 1;
	case TTMEM_PROC_RUNNING:
		return !ttmem_pid_alive(pid, __atomic_load_n(&p->start_time, __ATOMIC_RELAXED));
	case TTMEM_PROC_CLAIMING:
		return ttmem_claiming_pid_dead(pid);
	default:
		return 0;
	}
}

int ttmem_proc_register(struct ttmem_table *t)
{
	uint32_t pid = (uint32_t)getpid();
	uint64_t start = 0;
	int idx = -1;

	if (!t || !t->writable)
		return -EINVAL;
	ttmem_proc_start_time((pid_t)pid, &start);

	/* Already registered (another handle of this process). */
	for (uint32_t i = 0; i < t->proc_capacity && idx < 0; i++) {
		struct ttmem_proc *p = &t->procs[i];
		uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
		if (PCTL_PID(c) == pid && PCTL_STATE(c) == TTMEM_PROC_RUNNING &&
		    __atomic_load_n(&p->start_time, __ATOMIC_RELAXED) == start)
			idx = (int)i;
	}
	if (idx >= 0) {
		/* Same pid and start time: this process again, maybe an exec'd
		 * image (exec keeps both): take its current name and command
		 * line, prepared aside and copied in one go (readers copy the
		 * strings unsynchronised and NUL-bound them). */
		struct ttmem_proc *p = &t->procs[idx];
		char name[sizeof(p->name)], cmdline[sizeof(p->cmdline)];
		read_identity(name, cmdline);
		if (memcmp(p->name, name, sizeof(name)) != 0)
			memcpy(p->name, name, sizeof(name));
		if (memcmp(p->cmdline, cmdline, sizeof(cmdline)) != 0)
			memcpy(p->cmdline, cmdline, sizeof(cmdline));
	}
	for (int pass = 0; pass < 2 && idx < 0; pass++) {
		for (uint32_t i = 0; i < t->proc_capacity; i++) {
			struct ttmem_proc *p = &t->procs[i];
			uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);
			if (pass == 0 ? PCTL_STATE(c) != TTMEM_PROC_FREE : !recyclable(p, c))
				continue;
			uint64_t claiming = PCTL_MAKE(pid, PCTL_GEN(c) + 1, TTMEM_PROC_CLAIMING);
			if (!atomic_compare_exchange_strong_explicit(&p->ctl, &c, claiming,
								     memory_order_acq_rel,
								     memory_order_relaxed))
				continue;
			fill_entry(p, claiming, pid, start);
			idx = (int)i;
			break;
		}
	}
	if (idx < 0) {
		atomic_fetch_add_explicit(&t->hdr->counters.proc_drops, 1, memory_order_relaxed);
		return -ENOSPC;
	}
	/* What this thread batched belongs to the previous identity. */
	ttmem_batch_discard(t);
	t->proc_idx = idx;
	t->pid = pid;
	/* The generation this process holds the entry in goes into the BUSY
	 * tag: a slot tagged by an earlier holder of the entry is never
	 * taken for one of ours. */
	t->busy_tag = TTMEM_BUSY_TAG(idx, PCTL_GEN(atomic_load_explicit(&t->procs[idx].ctl,
									 memory_order_acquire)));
	return idx;
}

void ttmem_proc_exit(struct ttmem_table *t, int idx)
{
	if (!t || !t->writable || idx < 0 || (uint32_t)idx >= t->proc_capacity)
		return;
	struct ttmem_proc *p = &t->procs[idx];
	uint32_t pid = (uint32_t)getpid();
	uint64_t c = atomic_load_explicit(&p->ctl, memory_order_acquire);

	ttmem_batch_flush_for(t);
	if (PCTL_PID(c) != pid || PCTL_STATE(c) != TTMEM_PROC_RUNNING)
		return;
	atomic_store_explicit(&p->exited_ns, ttmem_now_ns(), memory_order_relaxed);
	/* Release: exited_ns and the final counters before the state. */
	atomic_compare_exchange_strong_explicit(&p->ctl, &c,
						PCTL_MAKE(pid, PCTL_GEN(c), TTMEM_PROC_EXITED),
						memory_order_release, memory_order_relaxed);
}
