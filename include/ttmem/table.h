/* SPDX-License-Identifier: MIT */
/*
 * ttmem table: the core library over the shared-memory segment
 * (include/ttmem/segment.h).  Used by the preload (writer) and the viewer
 * (reader, and the explicit write operations clear / baseline / reap).
 *
 * Error convention, for every function here that returns int: 0 (or a
 * non-negative count) on success, a negative value on failure: -errno for
 * system errors, or one of the TTMEM_E* codes below for a segment that is not
 * acceptable.  errno is left as the function found it unless stated.
 *
 * Thread safety: a handle may be used by many threads at once for the writer
 * operations and snapshots.  open/close are not concurrent with other calls on
 * the same handle.  Every writer operation is lock-free, makes no system call
 * on its fast path and never blocks; many processes may write one segment.
 *
 * Writer identity: the writer operations (insert, remove, sweep, reap)
 * tag the slots they hold BUSY with the handle's registry index, so that a
 * slot left BUSY by a killed writer can be told apart and reclaimed.  Call
 * ttmem_proc_register() on a writable handle before them; without it they
 * return -EINVAL (clear only needs a writable handle).  insert/remove also
 * keep the registered process's counters (allocs, frees, unmatched, drops,
 * live_bytes, peak_bytes) and the segment's, batched per thread (segment.h,
 * "Counters"; ttmem_flush).  After fork, the child must call
 * ttmem_proc_register() before writing (the batch the forking thread held is
 * dropped in the child).
 */
#ifndef TTMEM_TABLE_H
#define TTMEM_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ttmem/segment.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden; everything declared here is
 * its public API. */
#pragma GCC visibility push(default)

/* Segment refusals: each is a distinct class with its own message and the
 * viewer's exit code.  All below -4095 so they never collide with -errno. */
enum ttmem_error {
	TTMEM_EMAGIC = -5001,     /* not a ttmem segment (foreign magic) */
	TTMEM_EVERSION = -5002,   /* ABI major differs (newer or older) */
	TTMEM_ETRUNC = -5003,     /* file smaller than its header says / than a header */
	TTMEM_ESIZE = -5004,      /* total size does not match the header's geometry */
	TTMEM_ECORRUPT = -5005,   /* absurd field: capacity, offsets, sizes, counts */
	TTMEM_EOWNER = -5006,     /* owned by another uid (writers refuse it) */
	TTMEM_ENOTREADY = -5007,  /* never published (creator died, or still creating) */
	TTMEM_EFULL = -5008,      /* insert refused: table full (counted as a drop) */
	TTMEM_ENOTFOUND = -5009,  /* remove: key not in the table (counted as unmatched) */
};

/* A human-readable text for any return value of this API (static string). */
const char *ttmem_strerror(int err);

/* ---- opening ------------------------------------------------------------------ */

struct ttmem_table;  /* opaque handle: mapping, geometry, per-handle error text */

struct ttmem_open_opts {
	uint64_t capacity;        /* slots when creating; 0 = default */
	uint32_t proc_capacity;   /* 0 = default */
	uint32_t module_capacity; /* 0 = default */
	uint32_t mode;            /* file mode when creating: 0600 (0 = default), 0640, 0660 */
	int readonly;             /* map PROT_READ, never create, never write */
	int no_create;            /* attach only */
	int set_group;            /* `gid` is meaningful (see "Sharing a segment") */
	uint32_t gid;             /* the group a segment is created for / shared with */
	int no_wait;              /* a segment being built by a live process:
				   * TTMEM_ENOTREADY at once, without waiting
				   * (a host retrying its attach later) */
	uint32_t wait_ms;         /* how long to wait for a segment a live process
				   * is building; 0 = the default (below) */
};

/* How long a creating writer waits for a segment another live process is
 * building (a creation takes 10-30 ms, far more on a loaded machine): long
 * enough that programs started together are all tracked from their first
 * allocation, short enough that a stopped or hostile lock holder costs a
 * host program a bounded delay at start.  Readers wait 2 s. */
#define TTMEM_WRITER_WAIT_MS 5000u

/*
 * Sharing a segment: by default a segment is 0600 and a writer refuses one
 * owned by another user.  A creator may share it with one group: mode 0640
 * (the group reads) or 0660 (the group also writes), group `gid`; the mode is
 * set exactly, whatever the umask.  A writer attaches a segment it does not
 * own only when it asked for that group (set_group, gid), the file is in it,
 * group-writable and has no "other" bits, and the writer is a member.
 *
 * ttmem_access_parse: the values of TTMEM_SHM_MODE (octal: 0600, 0640, 0660)
 * and TTMEM_SHM_GROUP (a group name or gid; without a mode it means 0640)
 * into `o` (NULL or "" leaves a field alone).  0, or -EINVAL with a one-line
 * reason naming the variable in errbuf.  May consult the group database.
 */
int ttmem_access_parse(struct ttmem_open_opts *o, const char *mode, const char *group,
		       char *errbuf, size_t errlen);

/*
 * Create or attach the segment `name` (a POSIX shm name such as "/ttmem"; a
 * name containing a '/' after the first character is taken as a file path,
 * which the tests and the fuzzer use).  Creation is race-free: many processes
 * may call this at once; exactly one creates, sizes (fstat-checked) and
 * reserves the pages (posix_fallocate, so a full /dev/shm fails here and never
 * SIGBUSes later), fills the header and publishes `ready` last; the others
 * wait a bounded time for it.  Attach refuses, with the codes above, a segment
 * owned by another uid (writers only), a foreign magic, another ABI major, a
 * truncated file or a size that does not match the header, and any absurd
 * header field.  On failure *out is NULL and, when errbuf is not NULL, a
 * one-line explanation naming the segment is written to it.
 *
 * Also: O_NOFOLLOW (a symlink gives -ELOOP), a file with more than one hard
 * link is refused (-EMLINK), a non-regular file (-EINVAL, at once: the name is
 * opened O_NONBLOCK and checked before anything else, so a FIFO never hangs
 * the open).
 *
 * A segment never published (empty, all zeros, or a header without `ready`)
 * while no live process holds its build lock (the creator holds flock on it
 * until it publishes; the kernel drops it when the creator dies) is stale: a
 * creating writer (neither readonly nor no_create) re-creates it in place at
 * once, under that lock; the others get TTMEM_ENOTREADY at once, with what
 * was found in errbuf (ttmem_table_remove_stale() removes it).  One being
 * built by a live process is waited for: at most wait_ms, by default
 * TTMEM_WRITER_WAIT_MS for a creating writer (a host program is never held
 * longer: it then gets TTMEM_ENOTREADY) and 2 s for the others (no_wait: not
 * at all; nor for the others when the file is another user's).  A creating writer that gets
 * TTMEM_ENOTREADY may simply call again later: by then the segment is either
 * published (attach) or its creator is gone (re-created at once).
 * A failed creation (e.g. ENOSPC / EFBIG while reserving) unlinks the name.
 * opts (capacities, mode) only matter to the creator; an attacher takes the
 * segment's geometry.  Handles opened readonly or no_create keep the file
 * open (one descriptor) for the data map and the reaper lock.
 */
int ttmem_table_open(struct ttmem_table **out, const char *name,
		     const struct ttmem_open_opts *opts, char *errbuf, size_t errlen);

/*
 * What the stale object this open re-created was ("all zeros", "a header
 * never published"), or NULL when it attached or created the segment
 * normally, or re-created an empty one (nothing lost).  A stale file whose first page is zeros is re-created
 * only when it is ttmem's: its name's last component starts with "ttmem", or
 * its size is that of a segment of the default registry and module table;
 * another is refused (TTMEM_EMAGIC) and never touched.  The caller says so
 * (the preload warns).
 */
const char *ttmem_table_recreated(const struct ttmem_table *t);

/* Unmap and free the handle.  NULL is a no-op. */
void ttmem_table_close(struct ttmem_table *t);

/*
 * Remove the segment `name` when it is stale (never published, and no live
 * process is building it; checked under its build lock, so a live creator
 * is never raced), as `ttmem clear` does.  Returns 1 when removed (errbuf:
 * what was found, e.g. "an empty file"), 0 when there was nothing stale to
 * remove (absent, published, being built, another user's), or -errno.
 */
int ttmem_table_remove_stale(const char *name, char *errbuf, size_t errlen);

/*
 * SIGBUS guard, process-wide (guard.c): once installed, a segment file that
 * shrinks under a mapping of this process no longer kills it.  The faulting
 * handle's mapping is replaced in place by private zero pages (reads then
 * see an empty table; writes go nowhere) and the handle reads as lost in
 * ttmem_table_intact(); `on_lost` (may be NULL; must be async-signal-safe)
 * is called once per handle from the signal handler with the segment name.
 * Faults outside ttmem's mappings go to the handler installed before, or
 * take the default action.  Idempotent.  Returns 0 or -errno.
 */
int ttmem_sigbus_guard(void (*on_lost)(const char *name));

/*
 * For a library that interposes the host's sigaction(2) (the preload): a
 * SIGBUS disposition the host sets or reads while the guard is installed
 * becomes the action the guard hands every fault that is not ttmem's to,
 * and the guard stays in place: no window in which a shrinking segment
 * reaches the host's handler.  Returns 1 when it took the call (*old, if
 * not NULL, then holds the host's previous disposition), 0 when the caller
 * must make the real call (the guard is not installed).
 * ttmem_sys_sigaction is that real call: libc's sigaction, past any
 * interposer (the guard's own calls go there too).
 */
struct sigaction;
int ttmem_sigbus_host_sigaction(const struct sigaction *act, struct sigaction *old);
int ttmem_sys_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* 0 when the handle's mapping was lost to a shrinking file (see above), or
 * (handles that keep the file) the file is now shorter than the mapping:
 * what was read through it may be zeros, not the segment.  1 otherwise. */
int ttmem_table_intact(const struct ttmem_table *t);

/* Remove the segment name (shm_unlink / unlink).  Mappings stay valid. */
int ttmem_table_unlink(const char *name);

/*
 * Validate a segment image of `len` bytes at `base` without trusting any of
 * it: magic, ABI, sizes, geometry, offsets, capacities.  Returns 0 or a
 * TTMEM_E* code, with a one-line reason in errbuf.  Used by open and, on
 * arbitrary bytes, by the fuzzer.
 */
int ttmem_segment_validate(const void *base, size_t len, char *errbuf, size_t errlen);

/*
 * Read-only view of an image already in memory (a copy, or a file the caller
 * mapped).  The image must stay valid for the life of the handle.  Validates
 * as above.  Only snapshot and the accessors may be used on it.
 */
int ttmem_table_from_image(struct ttmem_table **out, const void *base, size_t len,
			   char *errbuf, size_t errlen);

/* Accessors (never NULL on an open handle). */
const struct ttmem_header *ttmem_table_header(const struct ttmem_table *t);
const struct ttmem_proc *ttmem_table_procs(const struct ttmem_table *t);
const struct ttmem_module *ttmem_table_modules(const struct ttmem_table *t);
const struct ttmem_device_info *ttmem_table_devices(const struct ttmem_table *t);
/* Writable views, NULL on a read-only handle. */
struct ttmem_header *ttmem_table_header_rw(struct ttmem_table *t);
struct ttmem_proc *ttmem_table_procs_rw(struct ttmem_table *t);
struct ttmem_device_info *ttmem_table_devices_rw(struct ttmem_table *t);
/* Raw views for debugging tools and tests (`capacity` of each).  Read them
 * with atomic loads: writers change them concurrently. */
const struct ttmem_slot *ttmem_table_slots(const struct ttmem_table *t);
const uint8_t *ttmem_table_meta(const struct ttmem_table *t);
/* The registry index ttmem_proc_register() gave this handle, or -1. */
int ttmem_table_proc_index(const struct ttmem_table *t);
/* The geometry validated at open (never re-read from the header, which the
 * segment's writers could change afterwards): bound every index with these. */
uint64_t ttmem_table_capacity(const struct ttmem_table *t);
uint32_t ttmem_table_proc_capacity(const struct ttmem_table *t);
uint32_t ttmem_table_module_capacity(const struct ttmem_table *t);
/* 1 when the `len` bytes at `p` (inside the mapping) lie in pages of the
 * file that held no data at the last snapshot (they read as zero, and a
 * read would allocate them): readers skip such records.  0 otherwise, and
 * always on handles without the file (writers, images). */
int ttmem_table_hole(const struct ttmem_table *t, const void *p, size_t len);

/* ---- entries ------------------------------------------------------------------ */

struct ttmem_key {
	uint64_t address;
	uint32_t device;
	uint8_t space;           /* enum ttmem_space */
};

/* A decoded slot (a copy, never a pointer into the segment). */
struct ttmem_entry {
	struct ttmem_key key;
	uint8_t type;            /* enum ttmem_buffer_type */
	uint8_t owner_kind;      /* enum ttmem_owner_kind */
	uint8_t flags;           /* TTMEM_SLOT_F_* */
	uint64_t size;
	uint32_t pid;
	uint16_t proc;           /* registry index */
	uint16_t module;         /* TTMEM_MODULE_NONE when unknown */
	uint64_t owner_id;
	uint32_t callsite;       /* offset in module of frame 0; 0xffffffff too large */
	uint32_t stack;          /* 1 + stack table index (ttmem_stack_intern); 0 none */
	uint32_t page_size;      /* 0 unknown, UINT32_MAX too large (segment.h) */
	uint32_t bank_bytes;     /* per bank the buffer spans; 0 unknown */
	uint32_t slot;           /* index of the slot it was read from (snapshots) */
};

/* Result of insert beyond success. */
enum ttmem_insert_result {
	TTMEM_INSERTED = 0,
	TTMEM_INSERTED_RECLAIMED = 1,  /* replaced a dead process's entry of this key */
	TTMEM_INSERTED_REPLACED = 2,   /* replaced a live process's entry of this key */
};

/*
 * Insert an entry (e->slot, e->pid and e->proc are ignored: the handle's
 * registered pid and index are stored).  An entry with the same key already
 * live is replaced: counted as reclaimed when its owner is dead, as replaced
 * otherwise.  When both candidate groups are full, entries of dead processes
 * and of cleared epochs in them are reclaimed; if none, returns TTMEM_EFULL
 * at once and counts a drop (a live entry of a live process is never
 * overwritten).  Returns enum ttmem_insert_result or TTMEM_EFULL.
 */
int ttmem_insert(struct ttmem_table *t, const struct ttmem_entry *e);

/*
 * Remove the live entry with this key owned by the calling process (the pid
 * the handle registered); when `out` is not NULL, copy it there.  Returns 0,
 * or TTMEM_ENOTFOUND (counted as unmatched) when the key is not live in the
 * current epoch (never inserted, already removed, or cleared) or its entry
 * belongs to another process: that entry is left alone (one process owns a
 * chip's buffer; entries of exited and dead processes, their leak records,
 * stay until clear or ttmem_reap, or until an insert finds no free slot:
 * never removed by another process's remove nor taken over by an insert
 * of the same key).
 */
int ttmem_remove(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out);

/*
 * Where an insert put its entry, or where a remove found the entry it
 * removed: the slot, and the LIVE ctl word the entry had there.  The ctl
 * word carries the slot's sequence, so it names one insertion: a process
 * that indexes its own entries by slot tells the entry it removed from a
 * later one inserted into the same slot since (by another of its threads).
 * ttmem_insert_at / ttmem_remove_at are ttmem_insert / ttmem_remove that
 * also fill *where on success (left untouched otherwise).
 */
struct ttmem_where {
	uint64_t slot;
	uint64_t live;
	uint64_t size;           /* remove (also ttmem_remove_slot): the size of the
				  * entry removed (read anyway: no copy of the entry
				  * needed); insert: 0 */
};
int ttmem_insert_at(struct ttmem_table *t, const struct ttmem_entry *e, struct ttmem_where *where);
int ttmem_remove_at(struct ttmem_table *t, const struct ttmem_key *k, struct ttmem_entry *out,
		    struct ttmem_where *where);

/*
 * Remove the entry an earlier ttmem_insert_at of this process put at
 * `where` (its slot and LIVE ctl word), without looking the key up: 0 when
 * the slot still holds exactly that insertion, in the current epoch, owned
 * by this process (the ctl word's sequence proves nothing touched it since),
 * counted as a matched remove; TTMEM_ENOTFOUND otherwise, with nothing
 * changed and nothing counted (the entry was cleared, swept, reclaimed or
 * replaced since, or `where` came from another process, e.g. a parent
 * before fork): the caller then removes by key, which judges and counts.
 * On success where->size is the removed entry's size and `out`, if not
 * NULL, receives the whole entry.
 */
int ttmem_remove_slot(struct ttmem_table *t, struct ttmem_where *where, struct ttmem_entry *out);

/* Which entries a sweep removes: every field that is set must match. */
struct ttmem_filter {
	uint32_t pid;            /* required (a sweep only touches one process) */
	int match_device;        /* then `device` must match */
	uint32_t device;
	int match_owner;         /* then owner_kind and owner_id must match */
	uint8_t owner_kind;
	uint64_t owner_id;
	int match_type;          /* then `type` must match */
	uint8_t type;
	int match_flags;         /* then (entry.flags & flags_mask) == flags */
	uint8_t flags_mask;      /* TTMEM_SLOT_F_* bits to compare */
	uint8_t flags;
};

/* What a sweep or a reap removed.  `by_device`, when not NULL, points to
 * TTMEM_MAX_DEVICES rows to which sweeps and tallies also add the bytes per
 * chip and type (entries of chips beyond the table are left out): the
 * preload's peaks follow its bulk releases with it.  Reaps ignore it. */
struct ttmem_tally {
	uint64_t entries;
	uint64_t bytes[TTMEM_MAX_OWNERS][TTMEM_MAX_TYPES];
	uint64_t (*by_device)[TTMEM_MAX_TYPES];
};

/*
 * Remove every live entry matching `f` (current epoch) and add what was
 * removed to *tally (not zeroed here; may be NULL).  O(capacity) reads of the
 * meta array; meant for close-time bulk releases, not the hot path.  The
 * removed bytes leave their owner's live_bytes; they are not counted as
 * frees or events, nor added to released_bulk (the caller knows whether the
 * release was a bulk one and adds the tally there).  Returns the number of
 * entries removed.
 */
int64_t ttmem_sweep(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally);

/*
 * Count, without removing, the live entries matching `f` (the exit path uses
 * it to record what is still live).  Returns the number of entries.
 */
int64_t ttmem_tally(struct ttmem_table *t, const struct ttmem_filter *f,
		    struct ttmem_tally *tally);

/*
 * The same two, restricted to the distinct keys keys[0..n): only the slots
 * where those keys may live are read, O(n) instead of O(capacity).  A key that is
 * not live, not the filter's process's, or does not match is skipped, so
 * passing a superset of the wanted keys gives exactly the full operation's
 * result on the entries those keys name.  The preload passes its private
 * index of the keys it inserted (close-time releases, exit).
 */
int64_t ttmem_sweep_keys(struct ttmem_table *t, const struct ttmem_filter *f,
			 const struct ttmem_key *keys, size_t n, struct ttmem_tally *tally);
int64_t ttmem_tally_keys(struct ttmem_table *t, const struct ttmem_filter *f,
			 const struct ttmem_key *keys, size_t n, struct ttmem_tally *tally);

/*
 * Empty the table in O(1): bump the clear epoch, reset the segment counters,
 * and zero the live/peak counters of the registered processes.  Safe while
 * writers are active: an insert racing with it lands in the old or the new
 * epoch; a remove of an entry from before the clear is unmatched and touches
 * nothing else.  Running processes stay registered (counters reset); exited
 * ones leave the registry: their records belong to the runs being cleared.
 */
int ttmem_clear(struct ttmem_table *t);

/*
 * Reclaim entries of dead processes (and of exited ones when `include_exited`),
 * slots left BUSY by dead writers, and registry entries of dead processes
 * (marked exited, with TTMEM_PROC_F_KILLED; what they still held is added to
 * their live_at_exit).  A registry entry is claimed (CAS from the RUNNING
 * value judged to CLAIMING by the reaper) before anything is written to it,
 * and live_at_exit is only added to while the entry still has the dead pid
 * and generation: an entry recycled meanwhile by a new process is left
 * alone.  Also frees slots of cleared epochs.  Adds what it removed to
 * *tally per owner and type (may be NULL).  Reads every slot: O(capacity).
 * Returns the number of entries reclaimed (counted in
 * header.counters.reclaimed; reset BUSY slots in stuck_freed).
 * Needs a writable handle, not registration: an unregistered caller (the
 * viewer) holds the reaper lock (flock on the segment's file) for the pass
 * and tags the slots it claims with a reserved index (reap.c).  Every BUSY
 * slot whose claimer is gone is reset, whatever the registry's history
 * (BUSY tags carry the registry entry's generation).  An unregistered
 * caller that cannot take the reaper lock within 2 s (another reaper at
 * work) claims nothing and returns -EBUSY.
 */
int64_t ttmem_reap(struct ttmem_table *t, int include_exited, struct ttmem_tally *tally);

/*
 * Push the calling thread's batched counter updates for `t` to the segment
 * now (see "Counters" in segment.h).  The library also flushes every
 * TTMEM_BATCH_EVENTS events, at thread exit, in ttmem_proc_exit(), and before
 * sweep, tally, clear and reap.  Cheap; no system call.
 */
void ttmem_flush(struct ttmem_table *t);

/*
 * Debug figures of the calling thread, cumulative over all handles (plain
 * thread-local counters, so they cost nothing measurable): the tests use them
 * to assert that probe costs stay bounded under churn.
 */
struct ttmem_debug_stats {
	uint64_t ops;            /* insert + remove calls */
	uint64_t meta_lines;     /* 64-byte meta lines scanned by them and by
				  * ttmem_sweep (all of them: capacity / 64) */
	uint64_t slots_visited;  /* slots whose ctl word they read */
	uint64_t slow_paths;     /* inserts that found no meta-free slot */
};
void ttmem_debug_thread_stats(struct ttmem_debug_stats *out);

/* ---- snapshots ---------------------------------------------------------------- */

struct ttmem_snapshot {
	struct ttmem_entry *entries;  /* malloc'd, `count` of them */
	size_t count;
	uint64_t unstable;            /* slots a live writer changed on every retry
				       * (skipped; a race, transient) */
	uint64_t epoch;               /* clear epoch the snapshot was taken in */
	uint64_t taken_ns;            /* CLOCK_REALTIME */
	size_t capacity;              /* entries allocated (for ttmem_snapshot_refresh) */
	uint64_t stuck;               /* slots left BUSY by a writer that is gone
				       * (killed mid-write; skipped until reaped) */
};

/*
 * Copy every live entry of the current epoch, consistently per entry (never
 * torn), without writing to the segment.  On a handle that keeps the file
 * (readonly / no_create) it first refreshes the handle's data map, so two
 * threads must not snapshot one such handle at once.  Bounded retries per slot; never
 * waits for a writer.  Entries of any process state are included: callers
 * classify them with ttmem_proc_* below.  Free with ttmem_snapshot_free.
 */
int ttmem_snapshot(const struct ttmem_table *t, struct ttmem_snapshot *out);

/*
 * The same into an existing snapshot, reusing its buffer when large enough
 * (a viewer refreshing every second saves the allocation and page faults:
 * about half the cost at a million slots).  `s` must be zeroed or hold a
 * previous snapshot.  On failure `s` is left empty (still to be freed).
 */
int ttmem_snapshot_refresh(const struct ttmem_table *t, struct ttmem_snapshot *s);
void ttmem_snapshot_free(struct ttmem_snapshot *s);

/* ---- process registry ------------------------------------------------------- */

/* Identity of a process: pid plus start time, so a reused pid is another one. */
struct ttmem_proc_id {
	uint32_t pid;
	uint64_t start_time;  /* /proc/PID/stat field 22 */
};

/* Read /proc/PID/stat's start time.  Returns 0, or -errno (-ESRCH if gone). */
int ttmem_proc_start_time(pid_t pid, uint64_t *start_time);

/*
 * Register the calling process (pid, start time, name, command line read from
 * /proc/self) and return its registry index (>= 0).  When the registry is full
 * an EXITED entry, or one of a dead process, is recycled; else -ENOSPC
 * (counted in proc_drops).  Call again after fork in the child.
 */
int ttmem_proc_register(struct ttmem_table *t);

/* Mark the registry entry `idx` (owned by the caller) exited. */
void ttmem_proc_exit(struct ttmem_table *t, int idx);

/* Process states as the viewer shows them (no caching: each call asks the
 * kernel). */
enum ttmem_liveness {
	TTMEM_LIVENESS_RUNNING = 0,
	TTMEM_LIVENESS_EXITED = 1,  /* exited normally */
	TTMEM_LIVENESS_DEAD = 2,    /* registered as running, but gone (killed) */
	TTMEM_LIVENESS_UNKNOWN = 3, /* index out of range, or entry recycled */
};

/*
 * Classify the owner of an entry: registry entry `proc` with pid `pid`.
 * Uses kill(pid, 0) and /proc/PID/stat (system calls: viewer / slow path).
 */
enum ttmem_liveness ttmem_proc_liveness(const struct ttmem_table *t, uint16_t proc, uint32_t pid);

/* ---- modules ------------------------------------------------------------------ */

/*
 * Intern a loaded object: returns its module index (>= 0), the same index for
 * the same path and identity (build-id or dev/ino/size/mtime), from any
 * process.  -ENOSPC when the module table is full (counted).  Not for the hot
 * path: callers cache the index.
 */
int ttmem_module_intern(struct ttmem_table *t, const char *path,
			const uint8_t *build_id, uint32_t build_id_len);

/*
 * Intern a function of a source file (segment.h, TTMEM_MODULE_F_FUNCTION):
 * returns the index of the entry of `file` (its identity as
 * ttmem_module_intern's without a build-id) and `name` (a Python
 * function's qualified name), the same for the same pair from any process.
 * -ENAMETOOLONG when both do not fit the path field, -ENOSPC when the first
 * three quarters of the table are full (not counted as a drop: callers fall
 * back to ttmem_module_intern(file)), -EINVAL on bad arguments or a
 * read-only handle.  Not for the hot path: callers cache the index.
 */
int ttmem_module_intern_function(struct ttmem_table *t, const char *file, const char *name);

/* ---- stacks ------------------------------------------------------------------- */

/*
 * Intern a call stack (segment.h "stacks"): `depth` frames made with
 * TTMEM_FRAME, TTMEM_STACK_F_* flags.  Returns its index (slot.stack is 1 +
 * index), the same index for the same stack from any process, or -ENOSPC
 * when its probe window is full, -EINVAL on bad arguments or a read-only
 * handle.  Lock-free, no system call except getpid on a new stack.  Callers
 * on the hot path cache the index of stacks they interned.
 */
int ttmem_stack_intern(struct ttmem_table *t, const uint64_t *frames, uint32_t depth,
		       uint32_t flags);
/* The hash ttmem_stack_intern files a stack under (callers' caches). */
uint64_t ttmem_stack_hash(const uint64_t *frames, uint32_t depth);
/* The stack table's capacity for a table of `capacity` slots (segment.h). */
uint32_t ttmem_stack_capacity_for(uint64_t capacity);
/* The stack table; read ctl with acquire.  Its size as validated at open
 * (readers must not trust header.stack_capacity, which a writer may change
 * after the fact). */
const struct ttmem_stack *ttmem_table_stacks(const struct ttmem_table *t);
uint32_t ttmem_table_stack_capacity(const struct ttmem_table *t);

/* ---- devices ------------------------------------------------------------------ */

/*
 * Publish physical chip `device` in the device table (segment.h) with its
 * tt::ARCH value `arch` (0 = unknown), so that readers list it, and know its
 * capacity, even while nothing is allocated on it.  Idempotent: the first
 * call stores arch, then state = 1 with release; later calls change nothing,
 * except that a chip published with arch 0 takes the first known arch.
 * Lock-free, no system call; crash-safe (a writer killed midway leaves the
 * chip unpublished).  Published chips stay published: clear and reap do not
 * touch the device table (chips are hardware facts, not allocations).  Ids
 * >= TTMEM_MAX_DEVICES (e.g. TTMEM_DEVICE_UNKNOWN) are ignored.  Needs a
 * writable handle, not registration.  Returns 1 when this call published the
 * chip, 0 when it was already published or the id was ignored, -EINVAL on a
 * read-only handle.  Not for the hot path: callers remember what they noted.
 */
int ttmem_device_note(struct ttmem_table *t, uint32_t device, uint32_t arch);

/* The bank geometry of one buffer type of chip `device` (segment.h, struct
 * ttmem_device_info): one bank's allocatable range [base, base + size), the
 * number of banks and the alignment; also stores capacity[type] = size *
 * banks.  Idempotent and lock-free like ttmem_device_note (racing writers
 * store the same facts; the type's geometry bit is set last, with
 * release).  Returns 1 when this call published it, 0 when it was already
 * published or the id is >= TTMEM_MAX_DEVICES, -EINVAL on a read-only
 * handle or a type >= TTMEM_TYPE_COUNT, size or banks 0. */
struct ttmem_bank_geometry {
	uint64_t base, size;
	uint32_t banks, alignment;
};
int ttmem_device_geometry(struct ttmem_table *t, uint32_t device, unsigned type,
			  const struct ttmem_bank_geometry *g);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* TTMEM_TABLE_H */
