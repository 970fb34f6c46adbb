/* SPDX-License-Identifier: MIT */
/*
 * fork(): every part of the preload that holds a lock or per-process
 * state, quiesced in prepare, resumed in the parent, reset in the child.
 *
 * This file sits above all of them (it calls each, none calls it but the
 * hooks), so the start-up (lifecycle.c) no longer reaches up into the
 * tracker.  The handlers are installed before the segment is ever opened:
 * by the library's first constructor, or by the first hook when another
 * library's constructor calls the runtime before ours ran (fork_install);
 * not with TTMEM_DISABLE=1 (pure pass-through installs nothing).  In a
 * process that never starts tracking they take and release unheld,
 * private locks.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "abi.h"
#include "fork.h"
#include "lifecycle.h"
#include "modules.h"
#include "owned.h"
#include "runtime.h"
#include "tracker.h"

static void fork_prepare(void)
{
	lifecycle_atfork_prepare();
	abi_atfork_prepare();
	modules_atfork_prepare();
	tracker_atfork_prepare();
	owned_atfork_prepare();
}

static void fork_parent(void)
{
	owned_atfork_parent();
	tracker_atfork_parent();
	modules_atfork_release();
	abi_atfork_release();
	lifecycle_atfork_parent();
}

static void fork_child(void)
{
	runtime_atfork_child();
	owned_atfork_child();
	tracker_atfork_child();
	modules_atfork_release();
	abi_atfork_release();
	lifecycle_atfork_child();
}

void fork_install(void)
{
	static atomic_int installed;

	if (atomic_load_explicit(&installed, memory_order_acquire) || lifecycle_disabled())
		return;
	if (!atomic_exchange(&installed, 1))
		pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Before the start-up's own constructor (lifecycle.c, default priority),
 * which may open the segment. */
__attribute__((constructor(101))) static void fork_constructor(void)
{
	fork_install();
}
