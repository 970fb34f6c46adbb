/* SPDX-License-Identifier: MIT */
/*
 * Configuration, lazy start-up and exit (see lifecycle.h).
 *
 * getenv is safe here: ttmem hooks tt-metal, never the C library, so even
 * the earliest hook runs after libc set up `environ`.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#include "abi.h"
#include "callsite.h"
#include "lifecycle.h"
#include "log.h"
#include "owned.h"
#include "peaks.h"
#include "runtime.h"

static struct {
	char shm[256];
	uint64_t capacity;
	uint32_t wait_ms;       /* TTMEM_ATTACH_WAIT_MS; UINT32_MAX: do not wait */
	int disable;
	struct ttmem_open_opts access;   /* mode and group (TTMEM_SHM_MODE/GROUP) */
} cfg;

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int starting_here __attribute__((tls_model("initial-exec")));

/* ---- configuration ------------------------------------------------------------- */

static atomic_int disabled = -1;   /* -1: not read yet */

int lifecycle_disabled(void)
{
	int d = atomic_load_explicit(&disabled, memory_order_relaxed);

	if (__builtin_expect(d < 0, 0)) {
		const char *v = getenv("TTMEM_DISABLE");

		d = v && !strcmp(v, "1");
		atomic_store_explicit(&disabled, d, memory_order_relaxed);
	}
	return d;
}

static void config_load(void)
{
	static int loaded;
	const char *v;

	if (loaded)
		return;
	loaded = 1;

	/* Disabled: a pure pass-through, which does not even complain about
	 * the other variables. */
	cfg.disable = lifecycle_disabled();
	if (cfg.disable)
		return;

	v = getenv("TTMEM_LOG");
	if (v && *v) {
		if (!strcmp(v, "quiet"))
			log_level = LOG_QUIET;
		else if (!strcmp(v, "warn"))
			log_level = LOG_WARN;
		else if (!strcmp(v, "debug"))
			log_level = LOG_DEBUG;
		else
			log_write("TTMEM_LOG=%s is not quiet, warn or debug: using warn", v);
	}

	v = getenv("TTMEM_DISABLE");
	if (v && *v && strcmp(v, "0"))
		log_warn("TTMEM_DISABLE=%s is not 0 or 1: tracking stays on", v);

	strcpy(cfg.shm, TTMEM_DEFAULT_SHM_NAME);
	v = getenv("TTMEM_SHM");
	if (v && *v) {
		size_t n = strlen(v);
		if (v[0] == '/' && n >= 2 && n < sizeof(cfg.shm))
			memcpy(cfg.shm, v, n + 1);
		else
			log_warn("TTMEM_SHM=%s is not a segment name like /ttmem (or a path with a "
				 "'/' after the first character, under %u bytes): using %s",
				 v, (unsigned)sizeof(cfg.shm), TTMEM_DEFAULT_SHM_NAME);
	}

	cfg.capacity = 0;   /* the table's default */
	v = getenv("TTMEM_CAPACITY");
	if (v && *v) {
		char *end;
		unsigned long long c;

		errno = 0;
		c = strtoull(v, &end, 0);
		if (errno || *end || v[0] == '-' || c < TTMEM_MIN_CAPACITY ||
		    c > TTMEM_MAX_CAPACITY || (c & (c - 1)))
			log_warn("TTMEM_CAPACITY=%s is not a power of two in [%u, %u]: using %u",
				 v, TTMEM_MIN_CAPACITY, TTMEM_MAX_CAPACITY, TTMEM_DEFAULT_CAPACITY);
		else
			cfg.capacity = c;
	}

	/* Sharing with a group: an invalid value warns and keeps the default
	 * (0600, owner only), never a wider mode. */
	{
		char err[200];
		struct ttmem_open_opts a;

		memset(&a, 0, sizeof(a));
		if (ttmem_access_parse(&a, getenv("TTMEM_SHM_MODE"), getenv("TTMEM_SHM_GROUP"), err,
				       sizeof(err)) < 0)
			log_warn("%s: the segment stays private (0600)", err);
		else
			cfg.access = a;
	}

	/* How long the first attach waits for a segment another live process
	 * is building (table.h, TTMEM_WRITER_WAIT_MS). */
	cfg.wait_ms = 0;
	v = getenv("TTMEM_ATTACH_WAIT_MS");
	if (v && *v) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(v, &end, 10);
		if (errno || *end || v[0] == '-' || ms > 600000)
			log_warn("TTMEM_ATTACH_WAIT_MS=%s is not a number of ms in [0, 600000]: "
				 "using %u", v, TTMEM_WRITER_WAIT_MS);
		else
			cfg.wait_ms = ms ? (uint32_t)ms : UINT32_MAX;
	}

	/* Frames per allocation stack (segment.h "stacks"). */
	v = getenv("TTMEM_STACK_DEPTH");
	if (v && *v) {
		char *end;
		unsigned long d;

		errno = 0;
		d = strtoul(v, &end, 10);
		if (errno || *end || v[0] == '-' || d > TTMEM_STACK_FRAMES)
			log_warn("TTMEM_STACK_DEPTH=%s is not a number in [0, %u]: using %u", v,
				 TTMEM_STACK_FRAMES, TTMEM_STACK_FRAMES);
		else
			callsite_configure((int)d);
	}
}

/* ---- registration ------------------------------------------------------------------ */

/*
 * Whether a registry entry already names this pid: an exec'ed predecessor
 * (same pid, its objects died with the old image, its entries did not) or a
 * dead process whose pid we reuse.  Only then can the table hold entries
 * under our pid that this image did not insert; else the O(capacity) sweep
 * for them is skipped (what every tracked program would pay at start).
 * O(registry), which registration reads anyway.
 */
static int pid_registered_before(uint32_t pid)
{
	const struct ttmem_proc *p = ttmem_table_procs(lc.table);
	uint32_t n = ttmem_table_header(lc.table)->proc_capacity;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t c = atomic_load_explicit(&p[i].ctl, memory_order_acquire);
		if ((c & 0xffu) != TTMEM_PROC_FREE && (uint32_t)(c >> 32) == pid)
			return 1;
	}
	return 0;
}

/* Register this process; 0 or -1 (warned). */
static int register_self(void)
{
	int predecessor = pid_registered_before((uint32_t)getpid());
	int idx = ttmem_proc_register(lc.table);

	if (idx < 0) {
		log_warn("cannot register process %u in %s: %s; not tracking it",
			 (unsigned)getpid(), cfg.shm, ttmem_strerror(idx));
		return -1;
	}
	lc.pid = (uint32_t)getpid();
	lc.proc_idx = idx;
	lc.proc = &ttmem_table_procs_rw(lc.table)[idx];
	state_apply_flags();
	peaks_bind(lc.table);

	/* Entries under our pid can only be an exec'ed predecessor's (same
	 * pid, the objects died with the old image) or a dead process's. */
	struct ttmem_filter f = { .pid = lc.pid };
	struct ttmem_tally t;
	memset(&t, 0, sizeof(t));
	int64_t n = predecessor ? ttmem_sweep(lc.table, &f, &t) : 0;
	if (n > 0)
		log_debug("dropped %lld entries left under pid %u by an earlier image",
			  (long long)n, (unsigned)lc.pid);
	log_debug("registered pid %u as process %d in %s", (unsigned)lc.pid, idx, cfg.shm);
	return 0;
}

void lifecycle_atfork_prepare(void)
{
	pthread_mutex_lock(&start_lock);
}

void lifecycle_atfork_parent(void)
{
	pthread_mutex_unlock(&start_lock);
}

/*
 * The child is a new process: it gets its own registry entry and none of
 * the parent's entries, but only at its first tracked event, so that the
 * usual fork+exec leaves no registration behind for the short-lived
 * pre-exec image (the exec'ed image registers by itself).
 */
void lifecycle_atfork_child(void)
{
	pthread_mutex_unlock(&start_lock);
	if (atomic_load(&lc.phase) != PHASE_ON)
		return;
	lc.proc = NULL;
	lc.proc_idx = -1;
	atomic_store(&lc.phase, PHASE_FORKED);
}

/* From the SIGBUS handler (table.h, ttmem_sigbus_guard): log_write is
 * async-signal-safe (a stack buffer and one write). */
static void segment_lost(const char *name)
{
	log_warn("%s shrank under this process (truncated by its owner?): tracking into "
		 "it stopped, the program runs on", name);
}

/*
 * A segment still being built by another live process (programs started
 * together, a loaded machine) is not a reason to stop tracking, nor to lose
 * allocations: the first open waits for its creator up to the writers'
 * bound (TTMEM_WRITER_WAIT_MS, or TTMEM_ATTACH_WAIT_MS), before this
 * process made any event, so programs started together are all tracked from
 * their first allocation.  Past the bound (a stopped or hostile lock
 * holder) the attach is retried without waiting, at hooks at least
 * PENDING_RETRY_MS apart, until the segment is published or its creator is
 * gone (then the retry re-creates it).  Events in between are not tracked:
 * the process is flagged TTMEM_PROC_F_LATE when it registers (at a later
 * hook, or at exit), with one warning.
 */
#define PENDING_RETRY_MS 5
#define PENDING_WARN_MS 2000

static _Atomic uint64_t pending_next_ms, pending_since_ms;
static atomic_int pending_missed;   /* a hooked event passed through while pending */
static int pending_warned;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int start_locked(void)
{
	char err[256];
	struct ttmem_open_opts opts;
	int retry = atomic_load(&lc.phase) == PHASE_PENDING;

	config_load();
	if (cfg.disable)
		return PHASE_OFF;   /* silently: a pure pass-through */
	opts = cfg.access;
	opts.capacity = cfg.capacity;
	opts.no_wait = retry || cfg.wait_ms == UINT32_MAX;
	opts.wait_ms = cfg.wait_ms == UINT32_MAX ? 0 : cfg.wait_ms;
	err[0] = '\0';
	/* Before the open, whose validation and registration write the
	 * mapping: a segment file shrinking under it must not kill the host;
	 * the guard swaps the mapping for private zero pages instead (faults
	 * elsewhere go to the host's own disposition, exactly). */
	ttmem_sigbus_guard(segment_lost);
	/* The fork handlers are installed before any open (fork.c: at load,
	 * or at the first hook, whichever comes first): a fork by another
	 * thread while this one builds the segment then waits for the build
	 * (lifecycle_atfork_prepare takes start_lock, held here), so no child
	 * inherits the build lock with the open file and keeps it after the
	 * creator dies. */
	int rc = ttmem_table_open(&lc.table, cfg.shm, &opts, err, sizeof(err));
	if (rc == TTMEM_ENOTREADY) {
		uint64_t now = mono_ms();
		if (!retry) {
			atomic_store(&pending_since_ms, now);
			log_debug("%s; attaching when it is published", err);
		} else if (now - atomic_load(&pending_since_ms) >= PENDING_WARN_MS &&
			   !pending_warned) {
			pending_warned = 1;
			log_warn("%s; not tracking until it is published", err);
		}
		atomic_store(&pending_next_ms, now + PENDING_RETRY_MS);
		return PHASE_PENDING;
	}
	if (rc < 0) {
		log_warn("not tracking: %s", err[0] ? err : ttmem_strerror(rc));
		return PHASE_OFF;
	}
	if (ttmem_table_recreated(lc.table))
		log_warn("%s was stale (%s: its creator died while creating it): re-created it",
			 cfg.shm, ttmem_table_recreated(lc.table));
	if (retry)
		log_debug("attached %s after %llu ms", cfg.shm,
			  (unsigned long long)(mono_ms() - atomic_load(&pending_since_ms)));
	if (atomic_load(&pending_missed)) {
		/* Flagged before registering: a reader never sees this
		 * process's entry without it. */
		state_flag(TTMEM_PROC_F_LATE);   /* lc.proc is not set yet: kept for it */
		log_warn("attached %s %llu ms late: what this process did before is not tracked "
			 "(flagged as tracked in part)", cfg.shm,
			 (unsigned long long)(mono_ms() - atomic_load(&pending_since_ms)));
	}
	if (register_self() != 0) {
		ttmem_table_close(lc.table);
		lc.table = NULL;
		return PHASE_OFF;
	}
	return PHASE_ON;
}

/* A hooked event passes through untracked while the attach is pending. */
static int missed(int from_hook)
{
	if (from_hook)
		atomic_store(&pending_missed, 1);
	return 0;
}

int lifecycle_start(int from_hook)
{
	int phase;

	if (starting_here)
		return 0;   /* a hook fired by start-up itself: pass through */
	if (atomic_load_explicit(&lc.phase, memory_order_acquire) == PHASE_PENDING) {
		/* The cheap check first; never queue behind a retry. */
		if (mono_ms() < atomic_load_explicit(&pending_next_ms, memory_order_relaxed))
			return missed(from_hook);
		if (pthread_mutex_trylock(&start_lock) != 0)
			return missed(from_hook);
		starting_here = 1;
	} else {
		starting_here = 1;
		pthread_mutex_lock(&start_lock);
	}
	phase = atomic_load(&lc.phase);
	if (phase == PHASE_NEW || phase == PHASE_PENDING) {
		/* This event is missed if the attach does not succeed now: it
		 * must count before the attach, which flags what was missed. */
		phase = start_locked();
		if (phase == PHASE_PENDING)
			missed(from_hook);
		atomic_store_explicit(&lc.phase, phase, memory_order_release);
	} else if (phase == PHASE_FORKED) {
		phase = register_self() == 0 ? PHASE_ON : PHASE_OFF;
		atomic_store_explicit(&lc.phase, phase, memory_order_release);
	}
	pthread_mutex_unlock(&start_lock);
	/* The runtime may already be loaded (linked): vet it now, so the
	 * -Bsymbolic warning comes at start-up even if no hook ever fires. */
	if (phase == PHASE_ON)
		runtime_probe();
	starting_here = 0;
	return phase == PHASE_ON;
}

/*
 * Start now only in a process that has the runtime loaded: a program that
 * never loads tt-metal (a shell, /bin/true) never touches the segment.  A
 * runtime dlopen'ed later starts tracking at its first hooked call.
 */
__attribute__((constructor)) static void lifecycle_constructor(void)
{
	int saved = errno;

	pthread_mutex_lock(&start_lock);
	config_load();
	if (cfg.disable && atomic_load(&lc.phase) == PHASE_NEW)
		atomic_store(&lc.phase, PHASE_OFF);
	pthread_mutex_unlock(&start_lock);
	if (!cfg.disable && dlsym(RTLD_NEXT, ABI_SYM_TRACK_ALLOCATE) &&
	    atomic_load_explicit(&lc.phase, memory_order_acquire) != PHASE_ON)
		lifecycle_start(0);   /* no event yet: nothing is missed */
	errno = saved;
}

/*
 * Normal exit.  ELF destructors run from _dl_fini, after every atexit
 * handler and C++ static destructor, so the runtime has done all the
 * freeing it will do.  What is still live is recorded as live at exit; the
 * entries stay in the table (with their callsites) as the leak record.
 */
__attribute__((destructor)) static void lifecycle_destructor(void)
{
	int saved = errno;

	/* Still pending after events were missed: one last attach (without
	 * waiting), so that the segment names this process as tracked in
	 * part rather than not at all. */
	if (atomic_load(&lc.phase) == PHASE_PENDING && atomic_load(&pending_missed) &&
	    pthread_mutex_trylock(&start_lock) == 0) {
		starting_here = 1;
		if (atomic_load(&lc.phase) == PHASE_PENDING)
			atomic_store_explicit(&lc.phase, start_locked(), memory_order_release);
		starting_here = 0;
		pthread_mutex_unlock(&start_lock);
	}
	if (atomic_load(&lc.phase) == PHASE_PENDING)
		log_warn("%s was still being built by another process when this one exited: "
			 "nothing was tracked", cfg.shm);
	if (atomic_load(&lc.phase) != PHASE_ON || lc.pid != (uint32_t)getpid())
		goto out;
	runtime_probe();   /* a runtime dlopen'ed late and never interposed */
	struct ttmem_filter f = { .pid = lc.pid };
	struct ttmem_tally t;
	memset(&t, 0, sizeof(t));
	if (owned_tally(lc.table, &f, &t) > 0)
		for (unsigned o = 0; o < TTMEM_MAX_OWNERS; o++)
			for (unsigned ty = 0; ty < TTMEM_MAX_TYPES; ty++)
				if (t.bytes[o][ty])
					atomic_fetch_add(&lc.proc->live_at_exit[o][ty], t.bytes[o][ty]);
	ttmem_proc_exit(lc.table, lc.proc_idx);
	atomic_store(&lc.phase, PHASE_OFF);
	log_debug("pid %u exited with %llu entries still live", (unsigned)lc.pid,
		  (unsigned long long)t.entries);
out:
	errno = saved;
}
