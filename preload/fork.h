/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload library: the pthread_atfork handlers of every part
 * of the preload (fork.c).
 */
#ifndef TTMEM_PRELOAD_FORK_H
#define TTMEM_PRELOAD_FORK_H

/* Install the handlers once (idempotent, thread-safe; nothing with
 * TTMEM_DISABLE=1).  Called before anything can open the segment. */
void fork_install(void);

#endif /* TTMEM_PRELOAD_FORK_H */
