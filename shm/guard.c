/* SPDX-License-Identifier: MIT */
/*
 * SIGBUS guard: a segment whose file shrinks under its mapping (anyone who
 * may write the file can truncate it) makes every access past the new end
 * raise SIGBUS.  Once ttmem_sigbus_guard() is installed, such a fault in a
 * mapped segment replaces that whole mapping, in place, with private
 * anonymous zero pages (MAP_FIXED: the addresses stay valid) and marks the
 * handle lost; the faulting access then completes on zeros, which every
 * reader already handles (free slots, an empty registry), and writers write
 * into memory no one else sees.  The caller asks ttmem_table_intact() at
 * its checkpoints.  Faults anywhere else go to the handler that was there
 * before (or the default action), so a host's own SIGBUS handling is kept.
 *
 * The handler is async-signal-safe: it reads a fixed table of mappings
 * with atomic loads, calls mmap(2) and the optional notifier, nothing else.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "internal.h"

#define GUARD_SLOTS 64

struct guarded {
	_Atomic uintptr_t base;     /* 0: free entry */
	_Atomic size_t len;
	_Atomic int lost;
	const char *name;
};

static struct guarded guarded[GUARD_SLOTS];

/*
 * libc's sigaction, past any interposer: a preload that exports its own
 * sigaction (to keep the host from displacing the guard) would otherwise
 * answer the guard's own calls.  Resolved outside the signal handler
 * (dlsym is not async-signal-safe), before the guard is installed.
 */
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static _Atomic(sigaction_fn) sys_sigaction;

static sigaction_fn resolve_sigaction(void)
{
	sigaction_fn f = atomic_load_explicit(&sys_sigaction, memory_order_acquire);

	if (!f) {
		f = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
		if (!f)
			f = sigaction;
		atomic_store_explicit(&sys_sigaction, f, memory_order_release);
	}
	return f;
}

int ttmem_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return resolve_sigaction()(sig, act, old);
}

/* From the handler: resolved by then (ttmem_sigbus_guard). */
static int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn f = atomic_load_explicit(&sys_sigaction, memory_order_acquire);

	return (f ? f : sigaction)(sig, act, old);
}
static struct sigaction previous;
static _Atomic int installed;
static void (*notify_lost)(const char *name);

/*
 * A SIGBUS that is not ours: the host's own disposition decides, exactly as
 * without the guard.  A fault (si_code > 0) gets the previous action back
 * and returns: the faulting access re-executes and the kernel delivers it
 * under that action, with its own mask and flags (a handler, the default
 * action, a core).  The guard is then no longer installed (a later
 * ttmem_sigbus_guard() call installs it again).  A sent signal
 * (kill, raise: si_code <= 0) is not repeated on return, so it is handed on
 * here: ignored, re-raised under the default action, or given to the
 * previous handler with that handler's mask, SA_NODEFER and SA_RESETHAND.
 */
static void chain(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code > 0) {
		real_sigaction(SIGBUS, &previous, NULL);
		atomic_store(&installed, 0);
		return;
	}
	/* (sa_handler and sa_sigaction share their storage.) */
	if (previous.sa_handler == SIG_IGN)
		return;
	if (previous.sa_handler == SIG_DFL) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		real_sigaction(SIGBUS, &dfl, NULL);
		atomic_store(&installed, 0);
		raise(SIGBUS);   /* pending until this handler returns: then fatal */
		return;
	}
	if ((unsigned)previous.sa_flags & (unsigned)SA_RESETHAND) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		real_sigaction(SIGBUS, &dfl, NULL);
		atomic_store(&installed, 0);
	}
	/* The mask the kernel would have set for that handler (the
	 * interrupted mask is restored when this handler returns). */
	sigset_t mask = previous.sa_mask;
	if (previous.sa_flags & SA_NODEFER)
		sigdelset(&mask, SIGBUS);
	else
		sigaddset(&mask, SIGBUS);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (previous.sa_flags & SA_NODEFER) {
		sigset_t bus;
		sigemptyset(&bus);
		sigaddset(&bus, SIGBUS);
		sigprocmask(SIG_UNBLOCK, &bus, NULL);
	}
	if (previous.sa_flags & SA_SIGINFO)
		previous.sa_sigaction(sig, si, uc);
	else
		previous.sa_handler(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (si->si_code > 0) {
		for (int i = 0; i < GUARD_SLOTS; i++) {
			uintptr_t b = atomic_load_explicit(&guarded[i].base, memory_order_acquire);
			size_t l = atomic_load_explicit(&guarded[i].len, memory_order_relaxed);
			if (!b || a < b || a - b >= l)
				continue;
			void *p = mmap((void *)b, l, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (p == MAP_FAILED)
				break;
			if (!atomic_exchange_explicit(&guarded[i].lost, 1, memory_order_relaxed) &&
			    notify_lost)
				notify_lost(guarded[i].name);
			errno = saved;
			return;
		}
	}
	errno = saved;
	chain(sig, si, uc);
}

static _Atomic int wanted;   /* ttmem_sigbus_guard was called */

int ttmem_sigbus_guard(void (*on_lost)(const char *name))
{
	struct sigaction sa;
	int expect = 0;

	if (on_lost || !atomic_load(&wanted))
		notify_lost = on_lost;
	atomic_store(&wanted, 1);
	resolve_sigaction();
	if (!atomic_compare_exchange_strong(&installed, &expect, 1))
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (real_sigaction(SIGBUS, &sa, &previous) != 0) {
		int e = errno;
		atomic_store(&installed, 0);
		return -e;
	}
	return 0;
}

int ttmem_sigbus_host_sigaction(const struct sigaction *act, struct sigaction *old)
{
	sigset_t bus, saved;

	if (!atomic_load(&installed))
		return 0;
	/* No SIGBUS of this thread may see `previous` half copied. */
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	pthread_sigmask(SIG_BLOCK, &bus, &saved);
	if (old)
		*old = previous;
	if (act)
		previous = *act;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return 1;
}

void ttmem_guard_add(struct ttmem_table *t)
{
	if (t->guard_ix >= 0 || !t->base)
		return;
	for (int i = 0; i < GUARD_SLOTS; i++) {
		uintptr_t none = 0;
		if (atomic_load_explicit(&guarded[i].base, memory_order_relaxed))
			continue;
		/* Claim with a placeholder, fill, then publish the base. */
		if (!atomic_compare_exchange_strong(&guarded[i].base, &none, (uintptr_t)1))
			continue;
		guarded[i].name = t->name;
		atomic_store_explicit(&guarded[i].lost, 0, memory_order_relaxed);
		atomic_store_explicit(&guarded[i].len, t->len, memory_order_relaxed);
		atomic_store_explicit(&guarded[i].base, (uintptr_t)t->base, memory_order_release);
		t->guard_ix = i;
		return;
	}
	/* Table full (64 segments open at once): this one is unguarded. */
}

void ttmem_guard_remove(struct ttmem_table *t)
{
	if (t->guard_ix < 0)
		return;
	atomic_store_explicit(&guarded[t->guard_ix].base, 0, memory_order_release);
	atomic_store_explicit(&guarded[t->guard_ix].len, 0, memory_order_relaxed);
	t->guard_ix = -1;
}

int ttmem_table_intact(const struct ttmem_table *t)
{
	struct stat st;

	if (!t)
		return 1;
	if (t->guard_ix >= 0 && atomic_load_explicit(&guarded[t->guard_ix].lost, memory_order_relaxed))
		return 0;
	/* Shorter than mapped, even if no read faulted (the data map skips
	 * pages past the end): what was read may be stale or zeros. */
	int saved = errno;
	int shorter = t->fd >= 0 && fstat(t->fd, &st) == 0 && (uint64_t)st.st_size < t->len;
	errno = saved;
	return !shorter;
}

/*
 * A host may install its own SIGBUS handler after ours (Python's
 * faulthandler, a crash reporter): the guard is then gone, and a shrinking
 * segment would kill the host.  Writers call this at their counter flushes
 * (every TTMEM_BATCH_EVENTS events: one sigaction(2) call): a guard no
 * longer in place is installed again, over the host's handler, which then
 * gets every SIGBUS that is not ttmem's exactly as before (chain()).
 */
void ttmem_guard_recheck(void)
{
	struct sigaction cur;

	if (!atomic_load_explicit(&wanted, memory_order_relaxed))
		return;
	if (real_sigaction(SIGBUS, NULL, &cur) != 0 ||
	    ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus))
		return;
	atomic_store(&installed, 0);
	ttmem_sigbus_guard(NULL);
}
