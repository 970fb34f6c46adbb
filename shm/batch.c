/* SPDX-License-Identifier: MIT */
/*
 * Per-thread batching of the counters that every insert/remove updates.
 *
 * A locked add on a line shared by all writers costs more than the rest of an
 * insert+remove pair, so each thread accumulates its updates (events, drops,
 * unmatched of the segment; allocs, frees, unmatched, drops, live bytes of its
 * process) in plain thread-local fields and adds them to the segment every
 * TTMEM_BATCH_EVENTS events, on ttmem_flush(), at thread exit (a pthread key
 * destructor), in ttmem_proc_exit() and before sweep / tally / clear / reap.
 *
 * peak_bytes is computed at flush time from the batch's maximum prefix: exact
 * for a single-threaded process, a close lower bound with several threads.
 *
 * A batch names its handle by a process-unique id; the handles open in this
 * process are kept in a list under a mutex that only the slow paths take
 * (open, close, flushing a batch of another handle, thread exit), so a batch
 * outliving its handle is dropped, never flushed through freed memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

__thread struct ttmem_batch ttmem_tl_batch __attribute__((tls_model("initial-exec")));

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct handle_node {
	struct handle_node *next;
	struct ttmem_table *t;
	uint64_t id;
} *handles;
static uint64_t next_id = 1;      /* under handles_lock */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_ok;

static int handle_is_open(struct ttmem_table *t, uint64_t id)
{
	for (struct handle_node *n = handles; n; n = n->next)
		if (n->t == t && n->id == id)
			return 1;
	return 0;
}

/* Thread exit: flush what the thread still holds, if its handle is open. */
static void batch_thread_exit(void *arg)
{
	struct ttmem_batch *b = arg;
	pthread_mutex_lock(&handles_lock);
	if (b->handle_id && handle_is_open(b->t, b->handle_id))
		ttmem_batch_flush(b);
	b->handle_id = 0;
	pthread_mutex_unlock(&handles_lock);
}

/* The forking thread's batch holds the parent's counts: the child drops it. */
static void batch_atfork_child(void)
{
	memset(&ttmem_tl_batch, 0, sizeof(ttmem_tl_batch));
	pthread_mutex_init(&handles_lock, NULL);
}

static void batch_once(void)
{
	exit_key_ok = pthread_key_create(&exit_key, batch_thread_exit) == 0;
	pthread_atfork(NULL, NULL, batch_atfork_child);
}

void ttmem_handles_add(struct ttmem_table *t)
{
	struct handle_node *n = malloc(sizeof(*n));
	pthread_once(&once, batch_once);
	pthread_mutex_lock(&handles_lock);
	t->id = next_id++;
	if (n) {
		n->t = t;
		n->id = t->id;
		n->next = handles;
		handles = n;
	}
	pthread_mutex_unlock(&handles_lock);
}

void ttmem_handles_remove(struct ttmem_table *t)
{
	struct ttmem_batch *b = &ttmem_tl_batch;
	pthread_mutex_lock(&handles_lock);
	if (b->handle_id == t->id) {
		ttmem_batch_flush(b);
		b->handle_id = 0;
	}
	for (struct handle_node **pp = &handles; *pp; pp = &(*pp)->next) {
		if ((*pp)->t == t && (*pp)->id == t->id) {
			struct handle_node *n = *pp;
			*pp = n->next;
			free(n);
			break;
		}
	}
	pthread_mutex_unlock(&handles_lock);
}

void ttmem_batch_flush(struct ttmem_batch *b)
{
	struct ttmem_table *t = b->t;
	if (!b->handle_id || !t) {
		b->frees = b->unmatched = b->drops = 0;
		b->left = TTMEM_BATCH_EVENTS;
		return;
	}
	ttmem_guard_recheck();   /* before writing: the host may have replaced it */
	struct ttmem_header *h = t->hdr;
	struct ttmem_counters *c = &h->counters;
	uint64_t allocs = ttmem_batch_allocs(b);
	uint64_t events = allocs + b->frees + b->unmatched + b->drops;

	b->dbg_ins += allocs + b->drops;
	b->dbg_rm += b->frees + b->unmatched;

	if (events)
		atomic_fetch_add_explicit(&c->events, events, memory_order_relaxed);
	if (b->drops)
		atomic_fetch_add_explicit(&c->drops, b->drops, memory_order_relaxed);
	if (b->unmatched)
		atomic_fetch_add_explicit(&c->unmatched, b->unmatched, memory_order_relaxed);

	if (b->proc_idx >= 0 && (uint32_t)b->proc_idx < t->proc_capacity) {
		struct ttmem_proc *p = &t->procs[b->proc_idx];
		if (allocs)
			atomic_fetch_add_explicit(&p->allocs, allocs, memory_order_relaxed);
		if (b->frees)
			atomic_fetch_add_explicit(&p->frees, b->frees, memory_order_relaxed);
		if (b->unmatched)
			atomic_fetch_add_explicit(&p->unmatched, b->unmatched, memory_order_relaxed);
		if (b->drops)
			atomic_fetch_add_explicit(&p->drops, b->drops, memory_order_relaxed);
		/* A clear since the batch began zeroed live_bytes: the delta
		 * belongs to the cleared table (see ttmem_clear's race note). */
		if ((b->live || b->live_max) &&
		    atomic_load_explicit(&h->clear_epoch, memory_order_relaxed) == b->epoch) {
			uint64_t d = (uint64_t)b->live;
			uint64_t now = atomic_fetch_add_explicit(&p->live_bytes, d,
								 memory_order_relaxed) + d;
			uint64_t cand = now - d + (uint64_t)b->live_max;
			if ((int64_t)cand < (int64_t)now)
				cand = now;
			uint64_t peak = atomic_load_explicit(&p->peak_bytes, memory_order_relaxed);
			while ((int64_t)cand > 0 && cand > peak &&
			       !atomic_compare_exchange_weak_explicit(&p->peak_bytes, &peak, cand,
								      memory_order_relaxed,
								      memory_order_relaxed))
				;
		}
	}
	b->frees = b->unmatched = b->drops = 0;
	b->live = b->live_max = 0;
	b->left = TTMEM_BATCH_EVENTS;
}

void ttmem_batch_rebind(struct ttmem_table *t, uint64_t epoch)
{
	struct ttmem_batch *b = &ttmem_tl_batch;
	if (b->handle_id == t->id) {
		/* Same handle, the clear epoch moved: the pending live delta is
		 * the cleared table's; keep the counts. */
		b->live = b->live_max = 0;
		b->epoch = epoch;
		return;
	}
	pthread_mutex_lock(&handles_lock);
	if (b->handle_id && handle_is_open(b->t, b->handle_id))
		ttmem_batch_flush(b);
	pthread_mutex_unlock(&handles_lock);
	struct ttmem_debug_stats dbg = b->dbg;
	uint64_t ins = b->dbg_ins, rm = b->dbg_rm, rm_more = b->dbg_rm_more;
	uint64_t ins_less = b->dbg_ins_less;
	if (b->handle_id) { /* a batch dropped unflushed: its ops still count */
		ins += ttmem_batch_allocs(b) + b->drops;
		rm += b->frees + b->unmatched;
	}
	int armed = b->registered_key;
	memset(b, 0, sizeof(*b));
	b->dbg = dbg;
	b->dbg_ins = ins;
	b->dbg_rm = rm;
	b->dbg_rm_more = rm_more;
	b->dbg_ins_less = ins_less;
	b->left = TTMEM_BATCH_EVENTS;
	b->handle_id = t->id;
	b->t = t;
	b->proc_idx = t->proc_idx;
	b->self_w3 = (uint64_t)t->pid | ((uint64_t)(uint16_t)t->proc_idx << 32);
	b->epoch = epoch;
	b->registered_key = armed;
	if (!armed && exit_key_ok) {
		pthread_setspecific(exit_key, b);
		b->registered_key = 1;
	}
}

void ttmem_batch_discard(struct ttmem_table *t)
{
	struct ttmem_batch *b = &ttmem_tl_batch;
	if (b->handle_id == t->id) {
		b->handle_id = 0;
		b->t = NULL;
	}
}

void ttmem_batch_flush_for(struct ttmem_table *t)
{
	struct ttmem_batch *b = &ttmem_tl_batch;
	if (b->handle_id == t->id)
		ttmem_batch_flush(b);
}

void ttmem_flush(struct ttmem_table *t)
{
	if (t)
		ttmem_batch_flush_for(t);
}

void ttmem_debug_thread_stats(struct ttmem_debug_stats *out)
{
	const struct ttmem_batch *b = &ttmem_tl_batch;
	uint64_t ins = b->dbg_ins, rm = b->dbg_rm;
	if (b->handle_id) { /* the pending batch (a bound batch's `left` is valid) */
		ins += ttmem_batch_allocs(b) + b->drops;
		rm += b->frees + b->unmatched;
	}
	*out = b->dbg;
	out->ops += ins + rm;
	out->slots_visited += ins;   /* the fast insert's one slot (table.c) */
	out->meta_lines += 3 * ins - b->dbg_ins_less + rm + b->dbg_rm_more;
}
