/* SPDX-License-Identifier: MIT */
/*
 * The host's SIGBUS disposition, kept behind ttmem's guard (shm/guard.c).
 *
 * A host that installs its own SIGBUS handler (Python's faulthandler, a
 * crash reporter) would displace the guard until the writer's next counter
 * flush re-installs it; a segment shrinking in that window would reach the
 * host's handler as if the host had faulted.  So the preload interposes
 * sigaction(2) and signal(3) for SIGBUS alone: while the guard is installed
 * the host's action is recorded as the one the guard hands every fault that
 * is not ttmem's to, exactly as the kernel would have run it, and reads
 * answer with the host's own disposition.  Every other call, and every call
 * before the guard exists, goes straight to libc.
 */
#include <dlfcn.h>
#include <signal.h>
#include <string.h>

#include "ttmem/table.h"

#define EXPORT __attribute__((visibility("default")))

/* libc's sigaction is looked up (dlsym) here, at load, not at a host's
 * first call, which may come from a signal handler, where dlsym is not
 * safe.  A query of SIGBUS: nothing changes. */
__attribute__((constructor)) static void resolve_libc_sigaction(void)
{
	struct sigaction cur;

	ttmem_sys_sigaction(SIGBUS, NULL, &cur);
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig == SIGBUS && ttmem_sigbus_host_sigaction(act, old))
		return 0;
	return ttmem_sys_sigaction(sig, act, old);
}

typedef void (*handler_fn)(int);

/* glibc's signal() installs with BSD semantics (SA_RESTART, the signal
 * blocked in its handler) through its internal sigaction, which no
 * interposer sees: the same semantics here. */
EXPORT handler_fn signal(int sig, handler_fn handler);
handler_fn signal(int sig, handler_fn handler)
{
	static handler_fn (*real_signal)(int, handler_fn);

	if (sig == SIGBUS) {
		struct sigaction sa, old;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = handler;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGBUS);
		if (ttmem_sigbus_host_sigaction(&sa, &old))
			return old.sa_handler;
	}
	if (!real_signal)
		real_signal = (handler_fn (*)(int, handler_fn))dlsym(RTLD_NEXT, "signal");
	return real_signal ? real_signal(sig, handler) : SIG_ERR;
}
