/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE header of the `ttmem` viewer (viewer/ only; not installed).
 *
 * The viewer is one program with subcommands.  Each subcommand lives in its
 * own cmd_*.c; what they share is here:
 *
 *   exit codes      one per failure class, documented in ttmem.1
 *   main.c          dispatch, common option helpers
 *   attach.c        opening the segment, mapping table.h errors to exit codes
 *   model.c         a snapshot aggregated per chip / type / owner / process
 *   leaks.c         a snapshot's leftovers grouped per process / owner / callsite
 *   leaks_order.c   the leak report by bytes, and merged across processes
 *   livebuf.c       a snapshot's entries as buffers with their process; bank
 *                   geometry (livebuf.h), for buffers and map
 *   bankmap.c       one chip's bank address space: ranges, holes (bankmap.h)
 *   filters.c       --device / --pid naming what the segment lacks: an error
 *   format_*.c      the renderings of a model (text, JSON, Prometheus, CSV)
 *   sanitize.c      strings from a segment made safe per output (sanitize.h)
 *   capacity.c      what a chip can hold (segment, else a per-arch table)
 *   names.c, units.c  enum names, human-readable sizes
 *   symbolize.c     module + offset -> function, file:line (libdw), demangling
 *   file_access.c   opening files named by a segment as its owner could
 *   elf_probe.c     what a runtime library exports and how it binds (libelf;
 *                   probe.h)
 *   top_draw.c      the screen of `top` (top.h)
 *
 * Conventions: functions returning int return 0 (or a count) on success and a
 * negative value on failure, as in include/ttmem/table.h.  Nothing here keeps
 * global mutable state except the signal flags of `top` and `run`.
 */
#ifndef TTMEM_VIEWER_H
#define TTMEM_VIEWER_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#ifndef TTMEM_PROC_F_KILLED
#define TTMEM_PROC_F_KILLED 8u  /* segment.h: died without exiting, reaped */
#endif

#ifndef TTMEM_VERSION
#define TTMEM_VERSION "0.0.0"
#endif

/* ---- exit codes (ttmem.1, EXIT STATUS) ------------------------------------ */

enum viewer_exit {
	VX_OK = 0,
	VX_FAIL = 1,          /* the operation ran and reports a negative result */
	VX_USAGE = 2,         /* bad command line */
	VX_NOSEG = 3,         /* no such segment */
	VX_PERM = 4,          /* permission denied / owned by another uid */
	VX_MAGIC = 5,         /* not a ttmem segment */
	VX_VERSION = 6,       /* other ABI major version */
	VX_TRUNC = 7,         /* truncated segment */
	VX_SIZE = 8,          /* size does not match the header */
	VX_CORRUPT = 9,       /* absurd header field */
	VX_NOTREADY = 10,     /* never published */
	VX_SYSTEM = 11,       /* any other system error (mmap, memory, I/O) */
	VX_NOTERM = 12,       /* top: no terminal */
	VX_RESIZED = 13,      /* the segment shrank while being read */
	VX_LEAKS = 14,        /* run --check: the command left device memory */
	VX_NOMATCH = 15,      /* show, leaks: a chip or pid given as a filter is not in the segment */
	VX_REAPER_BUSY = 16,  /* reap: another reaper kept the reaper lock */
	VX_DIFF_INPUT = 17,   /* diff: a file is not a usable leak report or recording */
	VX_DIFF_KIND = 18,    /* diff: A and B are not of the same kind */
	VX_GROWTH = 19,       /* diff --fail-on-growth: B grew by more than allowed */
	/* probe */
	VX_PROBE_PARTIAL = 20,    /* tracking works, some optional hooks missing */
	VX_PROBE_BOUND = 21,      /* not interposable: tracking sees nothing */
	VX_PROBE_MISSING = 22,    /* required hook points missing: not tt-metal */
	VX_PROBE_UNREADABLE = 23, /* no such file, not ELF, unreadable */
	/* run (the child's status is passed through otherwise) */
	VX_RUN_FAIL = 125,        /* run itself failed (no preload library, fork) */
	VX_RUN_NOEXEC = 126,      /* command found but not executable */
	VX_RUN_NOTFOUND = 127,    /* command not found */
};

/* Map a table.h / -errno return value to an exit code. */
int viewer_exit_code(int err);

/* ---- common options ------------------------------------------------------- */

struct viewer_ctx {
	const char *prog;        /* "ttmem" */
	const char *shm;         /* --shm, else $TTMEM_SHM, else the default */
};

/* Resolve the segment name: --shm wins, then TTMEM_SHM, then the default. */
const char *viewer_shm_name(const char *opt);

/* Print "ttmem SUB: <fmt>" on stderr (one line). */
void viewer_err(const char *sub, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the version line of a subcommand. */
void viewer_version(const char *sub);

/* Parse a non-negative integer option value; 0 on success, -1 if invalid. */
int viewer_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * The `default:` of a subcommand's getopt_long loop (optstring starting
 * with ':', opterr 0, --help as 'h', --version as 'V'): 'h' prints
 * sub_usage(stdout), 'V' the version line, both returning VX_OK (the caller
 * exits with it at once); ':' (a value missing) and anything else (an
 * unknown option) print one line "ttmem SUB: ..." and return VX_USAGE.
 */
int viewer_opt_default(const char *sub, int c, char **argv, void (*sub_usage)(FILE *));

/* After the getopt_long loop, for a subcommand that takes no operands:
 * VX_OK, or "ttmem SUB: unexpected argument 'X'" and VX_USAGE. */
int viewer_opt_no_operands(const char *sub, int argc, char **argv);

/*
 * Open the segment for reading (readonly) or for the write operations.
 * On failure prints one line "ttmem SUB: ..." and returns the exit code
 * (> 0); on success 0 and *out.
 */
int viewer_attach(const char *sub, const char *name, int writable, struct ttmem_table **out);

/* Attach read-only and take a snapshot: 0, or the exit code (said on
 * stderr; nothing left open). */
int viewer_attach_snapshot(const char *sub, const char *name, struct ttmem_table **out,
			   struct ttmem_snapshot *snap);

/* The same; with `quiet_noseg`, a missing segment returns VX_NOSEG silently. */
int viewer_attach_ex(const char *sub, const char *name, int writable, int quiet_noseg,
		     struct ttmem_table **out);

/* The file behind a segment name (POSIX names live in /dev/shm): 0 and its
 * identity, or -1 when there is none.  A loop that sees it change follows
 * the name to the new segment. */
int viewer_shm_identity(const char *name, dev_t *dev, ino_t *ino);

/* Call fn for every registry entry of t in use (state: TTMEM_PROC_*), the
 * registry bounded whatever the header claims.  The entry is in the
 * segment: read its fields, trust none. */
typedef void (*viewer_proc_fn)(const struct ttmem_proc *p, uint32_t idx, unsigned state,
			       void *arg);
void viewer_registry_each(const struct ttmem_table *t, viewer_proc_fn fn, void *arg);

/*
 * After reading through `t`: 0 when its mapping is intact, else prints one
 * line "ttmem SUB: NAME: the segment shrank while being read ..." and
 * returns VX_RESIZED (what was read may be zeros: print nothing of it).
 * main() installs the SIGBUS guard that makes this possible (table.h).
 */
int viewer_check_intact(const char *sub, const char *name, const struct ttmem_table *t);

/* ---- sizes ----------------------------------------------------------------- */

/* "1.50 GiB", "512 B": human-readable bytes into buf (>= 16 bytes). */
const char *fmt_bytes(char *buf, size_t len, uint64_t bytes);
/* The same, signed with an explicit + or -. */
const char *fmt_delta(char *buf, size_t len, int64_t bytes);

/* ---- capacity -------------------------------------------------------------- */

enum cap_source { CAP_UNKNOWN = 0, CAP_SEGMENT = 1, CAP_ARCH = 2 };

/* Name of a tt::ARCH value ("wormhole_b0"), NULL when unknown. */
const char *arch_name(uint32_t arch);
/* Capacity of `type` on a chip of `arch` from the built-in table, 0 if unknown. */
uint64_t arch_capacity(uint32_t arch, unsigned type);

/* ---- names ------------------------------------------------------------------ */

#define MODEL_TYPES TTMEM_TYPE_COUNT

/* "DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB" (the emulator's
 * ground-truth spelling); NULL for values >= TTMEM_TYPE_COUNT. */
const char *type_name(unsigned type);
/* "application", "command_queue", "system_memory_manager"; "unknown". */
const char *owner_name(unsigned kind);
/* "running", "exited", "dead", "unknown". */
const char *liveness_name(int state);
/* A chip id as every rendering prints it: the number, or "unknown" for
 * TTMEM_DEVICE_UNKNOWN (entries the preload could not place on a chip),
 * which is not a chip and must not read as one.  buf: >= 12 bytes. */
const char *device_name(char *buf, size_t len, uint32_t device);
/* Why a process was tracked only in part, from its registry flags
 * (TTMEM_PROC_F_PARTIAL): "attached late, table full", ...; "" when it was
 * tracked in full.  Returns buf (>= 80 bytes). */
const char *partial_why(char *buf, size_t len, uint32_t flags);

/* ---- the model --------------------------------------------------------------- */

struct model_dev {
	uint32_t device;
	uint32_t arch;                    /* tt::ARCH, 0 unknown */
	int published;                    /* device_info.state == 1 */
	uint64_t in_use[MODEL_TYPES];     /* entries of running processes */
	uint64_t system[MODEL_TYPES];     /* ... owned by a CQ or SMM */
	uint64_t application[MODEL_TYPES];
	uint64_t orphaned[MODEL_TYPES];   /* entries of dead / unknown processes */
	uint64_t exited[MODEL_TYPES];     /* leak records of exited processes */
	uint64_t per_bank[MODEL_TYPES];   /* in_use as the allocator counts it: the
					   * bytes each bank holds (slot bank_bytes) */
	uint64_t per_bank_unknown[MODEL_TYPES]; /* in_use entries without bank_bytes */
	uint64_t capacity[MODEL_TYPES];   /* 0 = unknown */
	uint8_t cap_source[MODEL_TYPES];  /* enum cap_source */
	uint64_t baseline[MODEL_TYPES];   /* valid when model.baseline_ns */
	uint64_t entries;                 /* entries counted in in_use */
	uint64_t orphaned_entries;        /* entries counted in orphaned + exited */
	/* The peak per type (segment.h, "Peaks"; 0: none since the clear),
	 * when it was reached, and the stack of the allocation that reached
	 * it, validated (peaks.c). */
	uint64_t peak[MODEL_TYPES];
	uint64_t peak_ns[MODEL_TYPES];
	struct peak_stack {
		uint32_t id;              /* slot.stack as read: 1 + index, 0 none */
		const char *status;       /* "ok", "none", "corrupt" (unknown: not shown) */
		uint32_t depth;           /* frames, 0 unless "ok" */
		int truncated;
		uint64_t frame[TTMEM_STACK_FRAMES];
	} peak_stack[MODEL_TYPES];
};

struct model_cell {                       /* one process on one chip */
	uint32_t proc_ix;                 /* index into model.proc */
	uint32_t dev_ix;                  /* index into model.dev */
	uint64_t bytes[MODEL_TYPES];
	uint64_t total;
	uint64_t entries;
};

struct model_proc {
	int32_t reg;                      /* registry index, -1: not in registry */
	uint32_t pid, ppid, uid, flags;
	uint64_t partial;                 /* 1: tracked only in part (flags & TTMEM_PROC_F_PARTIAL) */
	int state;                        /* enum ttmem_liveness */
	char name[33];
	char cmdline[193];
	uint64_t start_time, registered_ns, exited_ns;
	uint64_t allocs, frees, unmatched, drops;
	/* The registry counts one figure for every buffer type and chip
	 * together (segment.h): peak_bytes, counter_live_bytes, and so
	 * live_bytes and table_bytes, add unlike memories (DRAM + L1 + ...).
	 * Per type: live_type, table_type, released, at_exit. */
	uint64_t peak_bytes;              /* registry counter, all types */
	uint64_t counter_live_bytes;      /* registry counter (for reference) */
	uint64_t released[TTMEM_OWNER_COUNT][MODEL_TYPES];
	uint64_t at_exit[TTMEM_OWNER_COUNT][MODEL_TYPES];
	uint64_t released_total, at_exit_total;
	uint64_t table_bytes;             /* its entries in the table, any state, all types */
	uint64_t live_bytes;              /* table_bytes if running, else 0 */
	uint64_t table_type[MODEL_TYPES]; /* table_bytes per type (all chips) */
	uint64_t live_type[MODEL_TYPES];  /* live_bytes per type (all chips) */
	uint64_t entries;
	size_t cell_first, cell_count;    /* its cells in model.cell */
};

struct model_seg {
	uint16_t abi_major, abi_minor;
	uint64_t capacity, total_size, created_ns, cleared_ns, clear_epoch;
	uint32_t proc_capacity, module_capacity, creator_pid, creator_uid;
	uint64_t events, drops, unmatched, reclaimed, replaced, stuck_freed;
	uint64_t proc_drops, module_drops;
	uint64_t entries;                 /* live entries in the snapshot */
	uint64_t unstable;                /* slots a live writer kept changing (skipped) */
	uint64_t stuck;                   /* slots left BUSY by a dead writer (skipped) */
	uint64_t invalid;                 /* entries with an unknown type (ignored) */
	uint64_t procs_registered;        /* non-free registry entries */
	uint64_t taken_ns;
};

/* Liveness oracle: ttmem_proc_liveness normally; the fuzzer passes a pure one. */
typedef enum ttmem_liveness (*model_liveness_fn)(const struct ttmem_table *t,
						 uint16_t proc, uint32_t pid);

struct model_opts {
	int64_t device;            /* -1 = all */
	int64_t pid;               /* -1 = all */
	int all_procs;             /* include registry entries with no activity */
	model_liveness_fn liveness;/* NULL = ttmem_proc_liveness */
};

struct model {
	struct model_seg seg;
	uint64_t baseline_ns;      /* 0 = no baseline */
	size_t ndev;
	struct model_dev *dev;     /* sorted by device id */
	size_t nproc;
	struct model_proc *proc;   /* registry order, then unregistered pids */
	size_t ncell;
	struct model_cell *cell;   /* grouped by process, sorted by device */
};

/*
 * Build the model of snapshot `s` taken from `t`.  Never trusts the segment:
 * every index is bounds-checked, every string copied with a terminator.
 * Memory is O(entries + registry).  Returns 0 or -ENOMEM.  Free with
 * model_release (also safe on a zeroed or failed model).
 */
int model_build(struct model *m, const struct ttmem_table *t,
		const struct ttmem_snapshot *s, const struct model_opts *o);
void model_release(struct model *m);

/* Index of device `id` in m->dev, or -1. */
long model_dev_index(const struct model *m, uint32_t id);

/* The --device / --pid filters (-1: none) against a model built with them
 * and all_procs (filters.c): VX_OK when the segment has that chip and that
 * pid, else one line "ttmem SUB: SHM: no chip N / no process with pid P in
 * the segment" on stderr and VX_NOMATCH. */
int viewer_check_filters(const char *sub, const char *shm, const struct model *m,
			 int64_t device, int64_t pid);

/* Sum of v[0..MODEL_TYPES). */
uint64_t model_sum(const uint64_t *v);

/* ---- renderings -------------------------------------------------------------- */

struct symbolizer;

struct show_opts {
	int processes;             /* 0 none, 1 active, 2 all */
	int released;              /* the per-process released/at-exit table */
	int segment;               /* segment health line */
	int peaks;                 /* each chip and type's peak with its stack */
	unsigned width;            /* columns to fit (textfit.h); 0: no limit */
};

void format_text(FILE *f, const struct model *m, const char *shm, const struct show_opts *o);
void format_json(FILE *f, const struct model *m, const char *shm);
/* The same, peak stacks symbolized through `sy` (NULL: as format_json). */
void format_json_sy(FILE *f, const struct model *m, const char *shm, struct symbolizer *sy);
/* The same for text; the peak stacks (o->peaks) symbolized through `sy`. */
void format_text_sy(FILE *f, const struct model *m, const char *shm, const struct show_opts *o,
		    struct symbolizer *sy);
/* Prometheus text: format_prom_ex lists the processes `which` selects of
 * those in the model, with the series `series` says; format_prom all of
 * them, every series (format_prom.c). */
enum prom_procs { PROM_PROCS_NONE = 0, PROM_PROCS_RUNNING = 1, PROM_PROCS_ALL = 2 };
enum prom_series {
	PROM_SERIES_FULL = 0,  /* per process: every figure, per chip too (show --prometheus) */
	PROM_SERIES_PID = 1,   /* per process: bytes per type, peak, partial (state with ALL) */
	PROM_SERIES_NAME = 2,  /* per process name: running processes summed (export's default) */
	PROM_SERIES_NONE = 3,  /* no process series */
};
#define PROM_NAMES_MAX 64      /* names with series of their own; the rest summed */
#define PROM_NAMES_MAX_STR "64"
void format_prom_ex(FILE *f, const struct model *m, const char *shm, enum prom_procs which,
		    enum prom_series series);
void format_prom(FILE *f, const struct model *m, const char *shm);
/* The exposition of a segment that does not exist yet: healthy and empty
 * but for ttmem_segment_present{segment} 0 (a scrape target is up). */
void format_prom_absent(FILE *f, const char *shm);

/* ---- CSV and --query (format_csv.c) ---- */

#define QUERY_MAX_FIELDS 64

struct query_field {
	char label[48];            /* the name as the header prints it (lower case) */
	int what;                  /* format_csv.c, enum q_what */
	unsigned type;             /* TYPE.KIND fields: the buffer type */
	unsigned kind;             /* ... and the kind (used, total, ...) */
};

struct query {
	size_t nfields;
	int per_process;           /* a process field asked: rows per process and chip */
	int chip_filtered;         /* -d: a process with nothing on the chip has no row */
	struct query_field field[QUERY_MAX_FIELDS];
};

/* Parse "f1,f2,..." (ttmem.1, QUERY FIELDS); -1 with the bad field in `bad`. */
int query_parse(struct query *q, const char *list, char *bad, size_t badlen);
/* The fields of `--format csv` without --query (one row per chip). */
int query_default(struct query *q);
/* The header line; `units`: byte fields get " [B]", percents " [%]". */
void format_csv_header(FILE *f, const struct query *q, int units);
/* The rows of model m. */
void format_csv(FILE *f, const struct model *m, const struct query *q, int units);

/* JSON string literal of s (at most n bytes, stops at NUL), valid UTF-8
 * whatever the bytes (sanitize.h, san_json). */
void json_str(FILE *f, const char *s, size_t n);

/* ---- the leak report (leaks.c) --------------------------------------------------- */

struct leak_group {                       /* one owner kind + stack of a process */
	uint8_t owner;
	uint16_t module;
	uint64_t callsite;
	uint32_t stack;                   /* slot.stack: 1 + index, 0 none */
	/* A validated copy of the stack (depth 0: none, see stack_status). */
	uint32_t depth;
	int truncated;
	uint64_t frame[TTMEM_STACK_FRAMES];
	const char *stack_status;         /* "ok", "none", "corrupt", "mismatch" */
	size_t entries;
	uint64_t bytes;
	uint64_t types[MODEL_TYPES];
};

struct leak_proc {                        /* one process that is not running */
	uint32_t pid;
	int32_t reg;                      /* registry index, -1 unknown */
	int state;                        /* enum ttmem_liveness */
	char name[33];
	char cmdline[193];                /* control characters replaced */
	size_t entries;
	uint64_t bytes;
	size_t first_group, ngroups;      /* its groups in leak_report.groups */
};

struct leak_report {
	size_t entries;
	uint64_t bytes;
	size_t nproc;
	struct leak_proc *procs;          /* by pid */
	size_t ngroups;
	struct leak_group *groups;        /* by process, owner, stack, module, callsite */
};

/*
 * Group the entries of snapshot `s` whose process is not running (optionally
 * only pid `fpid` / chip `fdev`, -1 = all).  `live` as in model_opts.
 * Returns 0 or -ENOMEM; free with leaks_release (safe on a failed report).
 */
int leaks_build(struct leak_report *r, const struct ttmem_table *t,
		const struct ttmem_snapshot *s, int64_t fpid, int64_t fdev, model_liveness_fn live);
void leaks_release(struct leak_report *r);
/* Keep only the processes whose pid is in pids[0..n) (totals follow). */
void leaks_keep_pids(struct leak_report *r, const uint32_t *pids, size_t n);

/* Processes by bytes (largest first), and each one's groups by bytes
 * (leaks_order.c; leaks_build calls it). */
void leaks_sort_by_bytes(struct leak_report *r);

/* One owner kind + stack over every process of a report. */
struct leak_merged {
	struct leak_group group;          /* totals over the processes */
	size_t processes;                 /* how many processes left it */
	size_t proc;                      /* index of the first (its cmdline names a script) */
};

/* The report's groups merged across processes, largest first: *out
 * malloc'd; returns the count or -ENOMEM. */
long leaks_merge(const struct leak_report *r, struct leak_merged **out);

/* Render a report as text or JSON (schema ttmem/1, kind "leaks"); callsites
 * through `sy` (NULL: not symbolized, shown as module+offset); text lines
 * fitted to `width` columns (textfit.h; 0: no limit). */
struct symbolizer;
void leaks_print(FILE *f, const struct leak_report *r, struct symbolizer *sy, const char *shm,
		 int json, unsigned width);

/* ---- symbolization ------------------------------------------------------------ */

struct symbolizer;

/* A symbolizer over the module table of `t` (caches opened ELF files),
 * opening files under policy `fa` (file_access.h; NULL: opens nothing). */
struct file_access;
struct symbolizer *symbolizer_new(const struct ttmem_table *t, const struct file_access *fa);
void symbolizer_free(struct symbolizer *sy);

struct symbol_info {
	char module[417];          /* module path ("?" when unknown) */
	char function[512];        /* demangled name, "" when not found */
	uint64_t offset;           /* callsite offset in the module */
	uint64_t sym_offset;       /* offset within function */
	char file[512];            /* source file (DWARF), "" when unknown */
	uint32_t line;             /* its line, 0 when unknown */
	int is_source;             /* a source-line frame (a Python script's line) */
	char text[160];            /* that line's text, "" when not read */
	const char *status;        /* "ok", "no-symbol", "file-changed", "no-module",
				    * or why the file was not opened (file_access.h) */
};

/* Symbolize callsite (module index, offset).  Always fills *out. */
void symbolize(struct symbolizer *sy, uint16_t module, uint64_t offset,
	       struct symbol_info *out);

/* Demangle a C++ name through libstdc++'s __cxa_demangle (loaded lazily);
 * copies the input when it is not mangled or the demangler is unavailable. */
void demangle(const char *in, char *out, size_t len);

/* ---- peaks (peaks.c) --------------------------------------------------------- */

/* Copy stack `id` (slot.stack) out of the segment's stack table and check
 * it (published, depth in range, hash of its frames): status "ok", "none"
 * (id 0) or "corrupt" (anything else: out of range, unpublished, torn).
 * The one reader of the stack table: a peak's stack, and a leak group's
 * (leaks.c, which then holds frame 0 to the slot's callsite). */
void peak_stack_read(const struct ttmem_table *t, uint32_t id, struct peak_stack *out);
/* JSON value of a peak's stack: null without one, else an object with its
 * status and frames (symbolized through `sy`; NULL: module + offset). */
void peak_stack_json(FILE *f, const struct peak_stack *ps, struct symbolizer *sy);
/* Text: the stack's frames, one "        from ..." line each (nothing
 * without one; one line saying so when it is corrupt). */
void peak_stack_text(FILE *f, const struct peak_stack *ps, struct symbolizer *sy);
/* The frame renderings of the leak report (leaks.c). */
void leaks_json_frame(FILE *f, const struct symbol_info *si);
void leaks_text_frame(FILE *f, const struct symbol_info *si);
/* libc's start-up below main (and _start): not the user's code. */
int leaks_startup_frame(const struct symbol_info *si);

/* ---- subcommands --------------------------------------------------------------- */

int cmd_show(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_clear(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_reap(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_buffers(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif /* TTMEM_VIEWER_H */
