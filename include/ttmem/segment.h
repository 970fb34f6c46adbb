/* SPDX-License-Identifier: MIT */
/*
 * ttmem shared-memory segment layout: the one contract between the writers
 * (the preload library, in every tracked process) and the readers (the
 * `ttmem` viewer).  Nothing else defines these structures.
 *
 * Compatibility: a reader accepts a segment whose abi_major equals its own
 * and whose abi_minor is any value (minor bumps only use reserved words or add
 * regions past the ones described here, located through the offsets in the
 * header).  Any other change bumps TTMEM_ABI_MAJOR.
 *
 * Layout (all offsets from the start of the mapping, all 64-byte aligned):
 *
 *   [header        4096 bytes ]  struct ttmem_header
 *   [devices       TTMEM_MAX_DEVICES x struct ttmem_device_info]
 *   [processes     proc_capacity   x struct ttmem_proc  ]
 *   [modules       module_capacity x struct ttmem_module]
 *   [stacks        stack_capacity  x struct ttmem_stack ]
 *   [meta          capacity bytes, one per slot         ]
 *   [slots         capacity        x struct ttmem_slot  ]
 *
 * Exactly (readers refuse anything else):
 *   device_offset = 4096
 *   proc_offset   = device_offset + 256 * 512
 *   module_offset = proc_offset + proc_capacity * 1024
 *   stack_offset  = module_offset + module_capacity * 512
 *   meta_offset   = stack_offset + stack_capacity * 128
 *   slot_offset   = meta_offset + capacity, rounded up to 4096
 *   total_size    = slot_offset + capacity * 64
 *   stack_capacity = capacity / 64 clamped to [TTMEM_MIN_STACKS, TTMEM_MAX_STACKS]
 *
 * Only fixed-width types; no pointers (the segment is mapped at different
 * addresses in every process); every atomic is a lock-free 32- or 64-bit word.
 *
 * ---------------------------------------------------------------------------
 * Design note: the allocation table
 *
 * The table is a hash table of `capacity` slots split into groups of
 * TTMEM_GROUP_SLOTS (64) slots, one 4 KiB page each.  A key (device, space,
 * address) has three candidate groups and its entry lives in one of them:
 * its home, which depends only on the device, the space and the 16 MiB
 * region of the address (its bits 24..31), and two groups taken from a hash of the whole key.
 * The inserter puts the entry at home while the home is at most half full,
 * else in the emptiest candidate.  So the entries of one chip and
 * region share a page while it has room (a process touches a few pages per
 * chip, not one per entry: page faults, TLB and cache misses follow the
 * work, not the table's capacity), and three-choice hashing keeps groups
 * from overflowing up to ~97% load however many keys share a home.  Each slot
 * has one byte in the `meta` array: 0 when the slot is free, otherwise a
 * fingerprint (1..255) of the key it holds.  A lookup reads the home's
 * 64-byte meta line (then the other two when the key is not there) and visits
 * only the slots whose fingerprint matches.  There are no tombstones and no
 * probe chains: a lookup costs at most three meta lines plus the matching
 * slots, however many inserts and removes the table has seen, so churn
 * cannot degrade it.
 *
 * The meta byte is a hint; the truth of a slot is its `ctl` word:
 *
 *   bits  0..1   state: TTMEM_SLOT_FREE, _BUSY, _LIVE
 *   bits  2..31  LIVE: the clear-epoch the entry was inserted in (30 bits)
 *                BUSY: the claimer: bits 2..17 its registry index, bits
 *                18..31 the low 14 bits of that registry entry's
 *                generation when it was claimed (index 0xffff: a reaper
 *                that holds no registry entry, see "Crash safety")
 *   bits 32..63  sequence, incremented on every transition (readers' seqlock
 *                and ABA guard)
 *
 * Transitions (all by compare-and-swap on ctl, so exactly one writer owns a
 * BUSY slot):
 *   insert: FREE -> BUSY(me); write payload; meta = fingerprint;
 *           ctl = LIVE(epoch) with release.
 *   remove: LIVE -> BUSY(me); read payload; meta = 0; ctl = FREE with release.
 *           Only an entry owned by the remover's process (its pid in payload
 *           word 3, read with the key before the CAS) is removed: a process
 *           never frees another's entry (a forked child destroying an object
 *           it inherited leaves the parent's entry alone).  Entries of
 *           processes that exited or died are their leak records: an
 *           insert of the same key leaves them and takes a free slot (the
 *           key is then live twice, each remove takes its own process's);
 *           they go at clear, at reap (`reap --exited` for those of exited
 *           processes), or when an insert finds no free slot in its groups.
 *   Meta is set while the slot is BUSY, before LIVE, and cleared before FREE,
 *   so a LIVE slot always has a non-zero meta byte.
 *
 * Clear is O(1): it increments header.clear_epoch.  A LIVE slot whose epoch is
 * not the current one reads as free: readers skip it, removes of its key are
 * unmatched, and inserters reclaim it (meta is non-zero, so they find it on
 * their slow path, which runs when a group has no meta-free slot).
 *
 * Crash safety: a writer killed while a slot is BUSY leaves it BUSY with its
 * tag in ctl.  Any writer (or `ttmem reap`) that finds a BUSY slot whose
 * claimer is dead (pid gone, or pid alive with another start time, or its
 * registry entry claimed anew since: another generation) resets it to FREE.
 * Slots tagged with the reaper index are judged by reapers only: a reaper
 * holds flock(LOCK_EX) on the segment's file for its whole pass, so one
 * found under that lock was left by a reaper that died.  Readers never wait
 * for a BUSY slot: they skip it (counting it stuck when its claimer is gone).
 *
 * Creation: the creator holds flock(LOCK_EX) on the object from before it is
 * sized until `ready` is published; an unpublished object nobody holds
 * that lock on is stale and is re-created in place by the next writer.
 *
 * Readers (snapshot): for each slot with a non-zero meta byte:
 *   c1 = load(ctl, acquire); copy payload with relaxed loads;
 *   atomic_thread_fence(acquire); c2 = load(ctl, relaxed);
 *   the copy is consistent iff c1 == c2 and c1 is LIVE in the current epoch.
 *   A bounded number of retries, then the slot is reported as unstable.
 * Writers store the payload with relaxed atomic stores after the BUSY CAS
 * (acq_rel), and publish LIVE with a release store.
 *
 * Hashing: h = fmix64(address ^ ((device << 8 | space) * 0x9e3779b97f4a7c15));
 * home g0 = (fmix64(((address >> 24) & 0xff) ^ (space * 0xc2b2ae3d27d4eb4f)) +
 * device * 0x9e3779b97f4a7c15) & (groups - 1) (the chips of one space and
 * region have distinct homes); g1 = (h >> 28) & (groups - 1) (g0 ^ 1
 * when equal); g2 = h & (groups - 1), moved up by one (mod groups) until it
 * differs from g0 and g1; a two-group table has g0 and g1 only.
 * Fingerprint = h >> 56, 0 mapped to 1.  Only writers need it.
 *
 * Notes:
 *  - clear_epoch starts at 1; its low 30 bits tag LIVE slots (a cleared entry
 *    could only come back after 2^30 clears).
 *  - Two writers inserting the same key at the same instant (a program bug:
 *    an address handed out twice) may both land; a remove takes one.
 *  - A writer that finds a LIVE key of its own process replaces it in place.
 *  - "Dead" for a writer: registry entry recycled, EXITED, or pid gone / with
 *    another start time / a zombie.  Writers cache "alive" verdicts 100 ms.
 *
 * Counters (header.counters, ttmem_proc.allocs..peak_bytes): each writer
 * thread batches its updates of events, drops, unmatched (segment and
 * process) and allocs, frees, live_bytes (process) in thread-local memory and
 * adds them every 64 events, at ttmem_flush(), at thread exit and before the
 * bulk operations.  So readers see them up to 64 events per writer thread
 * late; the table itself is never late (a thread still running when its
 * process exits, or one that is killed, loses its unflushed batch: at most 63
 * events of counts).  peak_bytes is computed per batch:
 * exact for a single-threaded process, a close lower bound with several
 * threads.  reclaimed, replaced, stuck_freed, proc_drops, module_drops are
 * rare and added at once.  Clear zeroes the segment counters except
 * proc_drops and module_drops, and every registered process's live_bytes and
 * peak_bytes (see ttmem_clear for the one-batch race).
 * ---------------------------------------------------------------------------
 */
#ifndef TTMEM_SEGMENT_H
#define TTMEM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

/* C and C++ (tt-metal's users write C++): the same layout through
 * _Atomic in C11 and std::atomic in C++ (both lock-free words of the
 * same size and alignment, asserted below). */
#ifdef __cplusplus
#include <atomic>
#define TTMEM_ATOMIC(T) std::atomic<T>
#define TTMEM_STATIC_ASSERT static_assert
#else
#include <stdatomic.h>
#define TTMEM_ATOMIC(T) _Atomic T
#define TTMEM_STATIC_ASSERT _Static_assert
#endif

#define TTMEM_MAGIC        UINT64_C(0x314745534d454d54) /* "TMEMSEG1" LE */
#define TTMEM_ABI_MAJOR    5   /* 2: stack table; 3: home groups, three-choice;
				 * 4: page size and bank footprint per slot;
				 * 5: bank geometry per chip and type */
#define TTMEM_ABI_MINOR    3   /* 1: the partial-tracking flags of ttmem_proc;
				 * 2: Python function names (TTMEM_MODULE_F_FUNCTION);
				 * 3: peak usage per chip and type (device_info) */

#define TTMEM_READY        UINT32_C(0x52454459)  /* header.ready once published */

#define TTMEM_HEADER_SIZE  4096u
#define TTMEM_GROUP_SLOTS  64u              /* slots per hash group (one meta line) */
#define TTMEM_MAX_DEVICES  256u             /* device ids 0..255 have a device_info */
#define TTMEM_MAX_TYPES    8u               /* room for more buffer types */
#define TTMEM_MAX_OWNERS   4u               /* room for more owner kinds */

/* slot.device of an entry whose chip could not be told: the writer's view of
 * the runtime's objects failed its checks (TTMEM_PROC_F_ABI_PARTIAL), so it
 * records the allocation without a chip rather than under a wrong one.
 * Outside the range of real chip ids; readers show it as "unknown". */
#define TTMEM_DEVICE_UNKNOWN 0xffffffffu

/* Default and limit sizes.  capacity is a power of two, >= 2 groups. */
#define TTMEM_DEFAULT_CAPACITY        (1u << 20)   /* 64 MiB of slots */
#define TTMEM_MIN_CAPACITY            (2u * TTMEM_GROUP_SLOTS)
#define TTMEM_MAX_CAPACITY            (1u << 26)
#define TTMEM_DEFAULT_PROC_CAPACITY   1024u
#define TTMEM_MAX_PROC_CAPACITY       65535u       /* fits slot.proc (uint16) */
#define TTMEM_DEFAULT_MODULE_CAPACITY 1024u
#define TTMEM_MAX_MODULE_CAPACITY     65535u       /* fits slot.module (uint16) */

#define TTMEM_DEFAULT_SHM_NAME "/ttmem"

/* Buffer types: 0..4 are tt-metal's BufferType values; CB is ttmem's own. */
enum ttmem_buffer_type {
	TTMEM_TYPE_DRAM = 0,
	TTMEM_TYPE_L1 = 1,
	TTMEM_TYPE_SYSTEM_MEMORY = 2,
	TTMEM_TYPE_L1_SMALL = 3,
	TTMEM_TYPE_TRACE = 4,
	TTMEM_TYPE_CB = 5,
	TTMEM_TYPE_COUNT = 6,          /* <= TTMEM_MAX_TYPES */
};

/*
 * Address spaces: part of the key.  DRAM and L1 addresses overlap
 * numerically, so they must never compare equal.  TRACE lives in DRAM and
 * L1_SMALL in L1; circular buffers get their own space because their
 * addresses are per program, not per allocator.
 */
enum ttmem_space {
	TTMEM_SPACE_DRAM = 0,
	TTMEM_SPACE_L1 = 1,
	TTMEM_SPACE_SYSTEM = 2,
	TTMEM_SPACE_CB = 3,
};

/* Who holds an allocation. */
enum ttmem_owner_kind {
	TTMEM_OWNER_APP = 0,           /* the application (tensors, programs) */
	TTMEM_OWNER_CQ = 1,            /* made while a HWCommandQueue was built */
	TTMEM_OWNER_SYSMEM = 2,        /* made while a SystemMemoryManager was built */
	TTMEM_OWNER_COUNT = 3,         /* <= TTMEM_MAX_OWNERS */
};

/* ---- header --------------------------------------------------------------- */

struct ttmem_counters {
	TTMEM_ATOMIC(uint64_t) events;         /* inserts + removes (writers may batch) */
	TTMEM_ATOMIC(uint64_t) drops;          /* inserts refused: both groups full */
	TTMEM_ATOMIC(uint64_t) unmatched;      /* removes of a key not in the table */
	TTMEM_ATOMIC(uint64_t) reclaimed;      /* entries of dead processes reclaimed */
	TTMEM_ATOMIC(uint64_t) replaced;       /* inserts over a live key of a live process */
	TTMEM_ATOMIC(uint64_t) stuck_freed;    /* BUSY slots of dead writers reset */
	TTMEM_ATOMIC(uint64_t) proc_drops;     /* processes not registered: registry full */
	TTMEM_ATOMIC(uint64_t) module_drops;   /* modules not interned: table full */
};

struct ttmem_header {
	/* Written once at creation, before `ready`; read-only afterwards. */
	uint64_t magic;                  /*   0 TTMEM_MAGIC */
	uint16_t abi_major;              /*   8 */
	uint16_t abi_minor;              /*  10 */
	uint32_t header_size;            /*  12 sizeof(struct ttmem_header) */
	uint32_t slot_size;              /*  16 sizeof(struct ttmem_slot) */
	uint32_t proc_size;              /*  20 sizeof(struct ttmem_proc) */
	uint32_t module_size;            /*  24 sizeof(struct ttmem_module) */
	uint32_t device_size;            /*  28 sizeof(struct ttmem_device_info) */
	uint64_t capacity;               /*  32 slots, power of two */
	uint32_t proc_capacity;          /*  40 */
	uint32_t module_capacity;        /*  44 */
	uint32_t device_capacity;        /*  48 TTMEM_MAX_DEVICES */
	uint32_t creator_uid;            /*  52 */
	uint64_t total_size;             /*  56 bytes of the whole segment */
	uint64_t device_offset;          /*  64 */
	uint64_t proc_offset;            /*  72 */
	uint64_t module_offset;          /*  80 */
	uint64_t meta_offset;            /*  88 */
	uint64_t slot_offset;            /*  96 */
	uint64_t created_ns;             /* 104 CLOCK_REALTIME */
	uint32_t creator_pid;            /* 112 */
	/* Stored last with release (after everything above and the zeroed
	 * regions); attachers load it with acquire and wait a bounded time. */
	TTMEM_ATOMIC(uint32_t) ready;          /* 116 TTMEM_READY once published */
	uint32_t stack_size;             /* 120 sizeof(struct ttmem_stack) */
	uint32_t stack_capacity;         /* 124 entries of the stack table */
	uint64_t stack_offset;           /* 128 */
	uint64_t reserved0[4];           /* 136 */

	/* Mutable state, own cache line. */
	TTMEM_ATOMIC(uint64_t) clear_epoch;    /* 168 bumped by clear (low 30 bits in slots) */
	TTMEM_ATOMIC(uint64_t) cleared_ns;     /* 176 CLOCK_REALTIME of the last clear */
	TTMEM_ATOMIC(uint64_t) baseline_ns;    /* 184 0 = no baseline (device_info.baseline) */
	uint64_t reserved1[4];           /* 192 */

	struct ttmem_counters counters;  /* 224 */
	uint64_t reserved2[476];         /* 288 .. 4096 */
};

/* ---- devices ------------------------------------------------------------------ */

/*
 * One per device id < TTMEM_MAX_DEVICES, filled by the first writer that sees
 * the device.  `state` is 0 until the fields are published (release).
 * capacity[type] is 0 where unknown.  baseline[type] is the in-use bytes
 * recorded by `ttmem baseline` (valid while header.baseline_ns != 0).
 *
 * Bank geometry, per buffer type, as the chip's allocator reports it: the
 * allocatable range of one bank [bank_base, bank_base + bank_size), the
 * number of banks and the alignment of what it places.  A buffer is
 * interleaved page by page over all banks of its type and holds the same
 * range in each (ceil(pages / banks) aligned pages from its address), so
 * one bank's address space is the chip's map of that type.  Written by any
 * writer that can read it (racing writers store the same facts), then its
 * type's bit set in `geometry` with release; readers use a type's fields
 * only after an acquire load shows its bit.  A writer that publishes a
 * type's geometry also stores capacity[type] = bank_size * banks.
 *
 * Peaks (ABI minor 3), per buffer type: the most bytes of that type the
 * chip held at once since the segment was created or last cleared, the
 * stack of the allocation that reached it and when.  Each writer process
 * keeps its own live bytes per chip and type (private memory: one atomic
 * add per event; a matched free, a bulk release (device close, allocator
 * bulk free, owner destroyed) and a clear take them down again) and raises
 * peak[type] by compare-and-swap when its live bytes exceed it, then stores
 * peak_ns[type] (so the time may belong to a raise that raced it by a few
 * microseconds).  The real runtime gives a chip to one process at a time,
 * so that process's live bytes are the chip's; where two processes share a
 * chip (the emulator), the peak is the most that any one of them held
 * there, not their sum.  Clear zeroes peak and peak_ns of published
 * chips; each writer restarts its live bytes from the clear (what the
 * table then holds) at its next raise.  Readers check the stack against
 * the stack table like a slot's.
 */
struct ttmem_device_info {
	TTMEM_ATOMIC(uint32_t) state;          /*   0 0 = unseen, 1 = published */
	uint32_t arch;                   /*   4 tt::ARCH value, 0 = unknown */
	uint32_t num_chips_hint;         /*   8 for mesh ids: chips seen, else 0 */
	uint32_t flags;                  /*  12 */
	TTMEM_ATOMIC(uint64_t) capacity[TTMEM_MAX_TYPES];  /*  16 */
	TTMEM_ATOMIC(uint64_t) baseline[TTMEM_MAX_TYPES];  /*  80 */
	uint64_t reserved0[2];           /* 144 */
	TTMEM_ATOMIC(uint32_t) geometry;       /* 160 bit per type: bank_* published */
	uint32_t reserved1;              /* 164 */
	TTMEM_ATOMIC(uint64_t) bank_base[TTMEM_MAX_TYPES];  /* 168 */
	TTMEM_ATOMIC(uint64_t) bank_size[TTMEM_MAX_TYPES];  /* 232 */
	TTMEM_ATOMIC(uint32_t) banks[TTMEM_MAX_TYPES];      /* 296 */
	TTMEM_ATOMIC(uint32_t) alignment[TTMEM_MAX_TYPES];  /* 328 */
	/* ABI minor 3 (an older reader ignores them; an older writer leaves
	 * them 0): the peak, see "Peaks" above. */
	TTMEM_ATOMIC(uint64_t) peak[TTMEM_MAX_TYPES];       /* 360 TTMEM_PEAK_MAKE(bytes, stack) */
	TTMEM_ATOMIC(uint64_t) peak_ns[TTMEM_MAX_TYPES];    /* 424 CLOCK_REALTIME of the raise */
	uint64_t reserved2[3];           /* 488 .. 512 */
};

/* A peak word: bytes in the high 48 bits (saturated at
 * TTMEM_PEAK_BYTES_MAX), the stack (slot.stack: 1 + stack table index, 0
 * none) in the low 16.  One word, so bytes and stack change together. */
#define TTMEM_PEAK_STACK_BITS 16
#define TTMEM_PEAK_BYTES_MAX  ((UINT64_C(1) << (64 - TTMEM_PEAK_STACK_BITS)) - 1)
#define TTMEM_PEAK_BYTES(w)   ((uint64_t)(w) >> TTMEM_PEAK_STACK_BITS)
#define TTMEM_PEAK_STACK(w)   ((uint32_t)((w) & 0xffffu))
#define TTMEM_PEAK_MAKE(bytes, stack) \
	((((bytes) > TTMEM_PEAK_BYTES_MAX ? TTMEM_PEAK_BYTES_MAX : (uint64_t)(bytes)) \
	  << TTMEM_PEAK_STACK_BITS) | (uint64_t)((stack) & 0xffffu))

/* ---- processes ---------------------------------------------------------------- */

enum ttmem_proc_state {
	TTMEM_PROC_FREE = 0,
	TTMEM_PROC_CLAIMING = 1,         /* being filled (registration) or marked
					  * (reap: KILLED, then EXITED with the
					  * dead pid) by `ctl` pid */
	TTMEM_PROC_RUNNING = 2,
	TTMEM_PROC_EXITED = 3,           /* exited normally (atexit ran) */
};

/*
 * A registry entry.  ctl packs: bits 0..7 state, bits 8..31 generation
 * (bumped whenever the entry is claimed anew), bits 32..63 the pid that owns
 * or is claiming it.  Only the owning process writes the entry, except that
 * any process may recycle an EXITED entry, or one whose owner is dead, when
 * the registry is full.
 *
 * A slot belongs to a registry entry when slot.proc is its index AND slot.pid
 * equals its pid; a slot whose entry was recycled is an orphan.
 *
 * Liveness: the owner is alive iff kill(pid, 0) succeeds (or fails with
 * EPERM) and /proc/PID/stat's starttime equals `start_time`.
 */
struct ttmem_proc {
	TTMEM_ATOMIC(uint64_t) ctl;            /*   0 */
	uint32_t pid;                    /*   8 */
	uint32_t ppid;                   /*  12 */
	uint64_t start_time;             /*  16 /proc/PID/stat field 22 (clock ticks) */
	uint64_t registered_ns;          /*  24 CLOCK_REALTIME */
	TTMEM_ATOMIC(uint64_t) exited_ns;      /*  32 0 while running */
	uint32_t uid;                    /*  40 */
	uint32_t flags;                  /*  44 TTMEM_PROC_F_* */
	char name[32];                   /*  48 comm, NUL-terminated */
	char cmdline[192];               /*  80 argv joined by spaces, NUL-terminated */

	TTMEM_ATOMIC(uint64_t) allocs;         /* 272 inserts by this process */
	TTMEM_ATOMIC(uint64_t) frees;          /* 280 matched removes */
	TTMEM_ATOMIC(uint64_t) unmatched;      /* 288 removes of keys not in the table */
	TTMEM_ATOMIC(uint64_t) drops;          /* 296 inserts refused (table full) */
	TTMEM_ATOMIC(uint64_t) live_bytes;     /* 304 sum of its live entries' sizes */
	TTMEM_ATOMIC(uint64_t) peak_bytes;     /* 312 max of live_bytes */
	uint64_t reserved0[6];           /* 320 */

	/* Bytes the runtime freed in bulk (device close, allocator bulk free,
	 * owner destroyed) without reporting each buffer, per owner and type. */
	TTMEM_ATOMIC(uint64_t) released_bulk[TTMEM_MAX_OWNERS][TTMEM_MAX_TYPES]; /* 368 */
	/* Bytes still live when the process exited, per owner and type.  The
	 * entries themselves stay in the table (with their callsites) as the
	 * leak record until a clear or a reap (or an insert that finds no
	 * free slot in its groups). */
	TTMEM_ATOMIC(uint64_t) live_at_exit[TTMEM_MAX_OWNERS][TTMEM_MAX_TYPES];  /* 624 */
	uint64_t reserved1[18];          /* 880 .. 1024 */
};

#define TTMEM_PROC_F_PRELOAD_DISABLED 1u  /* registered, but tracking is off */
#define TTMEM_PROC_F_ABI_PARTIAL      2u  /* ABI check failed: partly tracked */
#define TTMEM_PROC_F_NOT_INTERPOSABLE 4u  /* runtime bound its calls directly */
#define TTMEM_PROC_F_KILLED           8u  /* died without exiting; marked EXITED by reap */
/* Tracked only in part (ABI minor 1): the process made events the table
 * does not have, so its usage may be below the truth.  Set by the process
 * itself, never cleared.  An older reader ignores these bits. */
#define TTMEM_PROC_F_LATE            16u  /* attached after some of its events: the
					   * segment was still being built by another
					   * live process past the writers' bound */
#define TTMEM_PROC_F_TABLE_FULL      32u  /* some allocations not recorded: table full */
#define TTMEM_PROC_F_HOOK_LOST       64u  /* an event was lost inside the preload (out of
					   * memory for its index, a record not found) */
/* Every flag that means "tracked only in part". */
#define TTMEM_PROC_F_PARTIAL \
	(TTMEM_PROC_F_ABI_PARTIAL | TTMEM_PROC_F_LATE | TTMEM_PROC_F_TABLE_FULL | \
	 TTMEM_PROC_F_HOOK_LOST)

/* ---- modules ------------------------------------------------------------------ */

/*
 * A loaded object that callsites refer to (slot.module = index).  Shared by
 * all processes: a writer interns a path once (CAS on `state`), then fills the
 * fields and publishes state = 2 with release.  A module is identified by its
 * path plus build-id (or, without one, device/inode/size/mtime), so a rebuilt
 * library gets a new entry and old callsites keep pointing at the old one.
 */
struct ttmem_module {
	TTMEM_ATOMIC(uint32_t) state;          /*   0 0 free, 1 claiming, 2 published */
	uint32_t claimer_pid;            /*   4 */
	uint32_t build_id_len;           /*   8 0 = none */
	uint32_t flags;                  /*  12 TTMEM_MODULE_F_* */
	uint64_t path_hash;              /*  16 FNV-1a of path (and name: below) */
	uint64_t file_size;              /*  24 */
	uint64_t file_mtime_ns;          /*  32 */
	uint64_t file_dev;               /*  40 */
	uint64_t file_ino;               /*  48 */
	uint8_t build_id[40];            /*  56 */
	char path[416];                  /*  96 NUL-terminated */
};                                       /* 512 */

/*
 * A function of a source file (ABI minor 2): the frames of a Python
 * function refer to an entry of their own, one per (file, function), so a
 * frame names both without a field of its own.  `path` holds the file's
 * path, NUL, then the function's qualified name (co_qualname, e.g.
 * "Model.forward"), NUL-terminated within the field; the file's identity
 * fields are the file's.  path_hash is FNV-1a over the path, its NUL and
 * the name, so a writer that knows no names never matches such an entry.
 * A reader that knows no names reads the path alone: its frames show as
 * file:line, as before.  Writers make such entries only in the first
 * three quarters of the table (the last quarter stays for loaded objects
 * and plain source files); without room, or with a name that does not
 * fit, the frame refers to the plain file's entry.
 */
#define TTMEM_MODULE_F_FUNCTION 1u

/* ---- stacks ------------------------------------------------------------------- */

/*
 * The call stacks of allocations, deduplicated and shared by all processes
 * (slot.stack = 1 + index).  A frame is a return address recorded as
 * TTMEM_FRAME(module index, offset), the offset being the address minus the
 * module's load bias (link_map l_addr), i.e. the ELF virtual address; frame
 * 0 is the first frame outside the runtime (where the application asked),
 * then its callers, at most TTMEM_STACK_FRAMES.  Since frames are module
 * relative, one program run many times shares its stacks.  Where the
 * stack enters a Python interpreter, the interpreter's own frames are
 * replaced by the Python source lines it was running (innermost first),
 * flagged TTMEM_FRAME_SOURCE_LINE, their module the entry of their file
 * and function (TTMEM_MODULE_F_FUNCTION) or of the file alone; frame 0 is
 * always an address.
 *
 * An open-addressed hash table over stack_capacity entries (a power of two),
 * probed linearly from hash & (capacity - 1), at most TTMEM_STACK_PROBES
 * entries: a writer claims a free entry (CAS ctl 0 -> CLAIMING | pid << 32),
 * fills it and publishes ctl = PUBLISHED with release; published entries
 * never change.  Entries are never freed (a program has few distinct
 * allocation stacks); when the probe window is full the allocation keeps
 * only slot.module/slot.callsite.  Two writers interning one new stack at
 * once may make two equal entries (harmless).  An entry left CLAIMING by a
 * killed writer stays unused.  Readers use only PUBLISHED entries and check
 * depth <= TTMEM_STACK_FRAMES and every module index themselves.
 */
#define TTMEM_STACK_FRAMES 8u
#define TTMEM_STACK_PROBES 32u
#define TTMEM_MIN_STACKS   64u
#define TTMEM_MAX_STACKS   16384u            /* 2 MiB of stacks */
#define TTMEM_STACK_FREE      0u
#define TTMEM_STACK_CLAIMING  1u
#define TTMEM_STACK_PUBLISHED 2u

/* A frame: module index in the top 16 bits (TTMEM_MODULE_NONE: the offset is
 * then the absolute address, truncated), offset in the low 48. */
#define TTMEM_FRAME_OFFSET_BITS 48
#define TTMEM_FRAME(module, offset) \
	(((uint64_t)(module) << TTMEM_FRAME_OFFSET_BITS) | \
	 ((uint64_t)(offset) & ((UINT64_C(1) << TTMEM_FRAME_OFFSET_BITS) - 1)))
#define TTMEM_FRAME_MODULE(f) ((uint16_t)((f) >> TTMEM_FRAME_OFFSET_BITS))
/* In the offset: the frame is a source line, not an address: its module is
 * a source file (a Python script) and the offset's low 32 bits its line. */
#define TTMEM_FRAME_SOURCE_LINE (UINT64_C(1) << 47)
#define TTMEM_FRAME_OFFSET(f) ((f) & ((UINT64_C(1) << TTMEM_FRAME_OFFSET_BITS) - 1))

struct ttmem_stack {
	TTMEM_ATOMIC(uint64_t) ctl;            /*   0 bits 0..7 TTMEM_STACK_*, 32..63 claimer pid */
	uint64_t hash;                   /*   8 of depth and frames (writers' lookup) */
	uint32_t depth;                  /*  16 frames used, 1..TTMEM_STACK_FRAMES */
	uint32_t flags;                  /*  20 TTMEM_STACK_F_* */
	uint64_t reserved0;              /*  24 */
	uint64_t frame[TTMEM_STACK_FRAMES]; /* 32 */
	uint64_t reserved1[4];           /*  96 .. 128 */
};

#define TTMEM_STACK_F_TRUNCATED 1u   /* the stack went on past frame[depth-1] */

/* ---- slots -------------------------------------------------------------------- */

enum ttmem_slot_state {
	TTMEM_SLOT_FREE = 0,
	TTMEM_SLOT_BUSY = 1,
	TTMEM_SLOT_LIVE = 2,
};

#define TTMEM_CTL_STATE(c)   ((uint32_t)((c) & 3u))
#define TTMEM_CTL_TAG(c)     ((uint32_t)(((c) >> 2) & 0x3fffffffu)) /* epoch or claimer */
#define TTMEM_CTL_SEQ(c)     ((uint32_t)((c) >> 32))
#define TTMEM_CTL_MAKE(seq, tag, state) \
	(((uint64_t)(seq) << 32) | ((uint64_t)((tag) & 0x3fffffffu) << 2) | (uint64_t)(state))
#define TTMEM_EPOCH_TAG(epoch) ((uint32_t)((epoch) & 0x3fffffffu))

/*
 * One live allocation.  The payload words are written with relaxed atomic
 * stores while the slot is BUSY and read by readers under the ctl seqlock.
 * Sizes are per physical chip: a mesh allocation is one entry per chip.
 */
struct ttmem_slot {
	TTMEM_ATOMIC(uint64_t) ctl;            /*  0 see the design note */
	uint64_t address;                /*  8 key */
	uint32_t device;                 /* 16 key: physical chip id */
	uint8_t space;                   /* 20 key: enum ttmem_space */
	uint8_t type;                    /* 21 enum ttmem_buffer_type */
	uint8_t owner_kind;              /* 22 enum ttmem_owner_kind */
	uint8_t flags;                   /* 23 TTMEM_SLOT_F_* */
	uint64_t size;                   /* 24 bytes */
	uint32_t pid;                    /* 32 */
	uint16_t proc;                   /* 36 registry index */
	uint16_t module;                 /* 38 module index of the callsite; 0xffff none */
	uint64_t owner_id;               /* 40 owner object (address of the CQ / SMM) */
	uint32_t callsite;               /* 48 offset of the return address in module
					  * (frame 0 of the stack; 0xffffffff too large) */
	uint32_t stack;                  /* 52 1 + stack table index; 0 = none */
	uint32_t page_size;              /* 56 Buffer::page_size(); 0 unknown,
					  * UINT32_MAX 4 GiB or more */
	uint32_t bank_bytes;             /* 60 what the allocator holds in each bank
					  * it spans (Buffer::aligned_size_per_bank(),
					  * the unit of its statistics); 0 unknown,
					  * UINT32_MAX 4 GiB or more */
};

#define TTMEM_SLOT_F_MESH     1u     /* fanned out from a mesh allocation */
#define TTMEM_MODULE_NONE     0xffffu
#define TTMEM_PAGE_SIZE_LARGE 0xffffffffu  /* slot.page_size of 4 GiB or more */

/* ---- the contract, checked at compile time ---------------------------------- */

TTMEM_STATIC_ASSERT(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
TTMEM_STATIC_ASSERT(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");
TTMEM_STATIC_ASSERT(sizeof(TTMEM_ATOMIC(uint64_t)) == 8, "atomic word size");

TTMEM_STATIC_ASSERT(sizeof(struct ttmem_counters) == 64, "counters size");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, abi_major) == 8, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, header_size) == 12, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, slot_size) == 16, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, proc_size) == 20, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, module_size) == 24, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, device_size) == 28, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, capacity) == 32, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, proc_capacity) == 40, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, module_capacity) == 44, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, device_capacity) == 48, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, creator_uid) == 52, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, total_size) == 56, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, device_offset) == 64, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, proc_offset) == 72, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, module_offset) == 80, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, meta_offset) == 88, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, slot_offset) == 96, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, created_ns) == 104, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, creator_pid) == 112, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, ready) == 116, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, stack_size) == 120, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, stack_capacity) == 124, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, stack_offset) == 128, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, clear_epoch) == 168, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, cleared_ns) == 176, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, baseline_ns) == 184, "header layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_header, counters) == 224, "header layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_header) == TTMEM_HEADER_SIZE, "header size");

TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, capacity) == 16, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, baseline) == 80, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, geometry) == 160, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, bank_base) == 168, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, bank_size) == 232, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, banks) == 296, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, alignment) == 328, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, peak) == 360, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, peak_ns) == 424, "device layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_device_info, reserved2) == 488, "device layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_device_info) == 512, "device size");
TTMEM_STATIC_ASSERT(TTMEM_MAX_STACKS <= 0xffffu, "a stack id fits a peak word");

TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, pid) == 8, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, start_time) == 16, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, exited_ns) == 32, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, name) == 48, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, cmdline) == 80, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, allocs) == 272, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, peak_bytes) == 312, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, released_bulk) == 368, "proc layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_proc, live_at_exit) == 624, "proc layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_proc) == 1024, "proc size");

TTMEM_STATIC_ASSERT(offsetof(struct ttmem_module, path_hash) == 16, "module layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_module, build_id) == 56, "module layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_module, path) == 96, "module layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_module) == 512, "module size");

TTMEM_STATIC_ASSERT(offsetof(struct ttmem_stack, hash) == 8, "stack layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_stack, depth) == 16, "stack layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_stack, frame) == 32, "stack layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_stack) == 128, "stack size");
TTMEM_STATIC_ASSERT((TTMEM_MIN_STACKS & (TTMEM_MIN_STACKS - 1)) == 0 &&
	       (TTMEM_MAX_STACKS & (TTMEM_MAX_STACKS - 1)) == 0, "stack capacities: powers of two");
TTMEM_STATIC_ASSERT(TTMEM_STACK_PROBES <= TTMEM_MIN_STACKS, "probe window within the table");
TTMEM_STATIC_ASSERT(TTMEM_MAX_MODULE_CAPACITY <= 0xffffu, "module index fits a frame");

/* 64 bytes per slot: one cache line, so a slot is never torn across lines
 * and neighbouring writers never share one. */
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, address) == 8, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, device) == 16, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, space) == 20, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, type) == 21, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, owner_kind) == 22, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, flags) == 23, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, size) == 24, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, pid) == 32, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, proc) == 36, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, module) == 38, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, owner_id) == 40, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, callsite) == 48, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, stack) == 52, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, page_size) == 56, "slot layout");
TTMEM_STATIC_ASSERT(offsetof(struct ttmem_slot, bank_bytes) == 60, "slot layout");
TTMEM_STATIC_ASSERT(sizeof(struct ttmem_slot) == 64, "slot size");

TTMEM_STATIC_ASSERT(TTMEM_TYPE_COUNT <= TTMEM_MAX_TYPES, "type room");
TTMEM_STATIC_ASSERT(TTMEM_OWNER_COUNT <= TTMEM_MAX_OWNERS, "owner room");

#endif /* TTMEM_SEGMENT_H */
