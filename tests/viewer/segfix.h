/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE test support (tests/viewer/): build segments with the table API
 * directly, in processes whose state the test controls (running, exited
 * normally, killed), so the viewer can be checked without the preload.
 */
#ifndef TTMEM_TESTS_SEGFIX_H
#define TTMEM_TESTS_SEGFIX_H

#include <stdint.h>
#include <sys/types.h>

#include "ttmem/table.h"

/* One allocation to insert. */
struct segfix_alloc {
	uint32_t device;
	uint8_t type;            /* enum ttmem_buffer_type */
	uint8_t owner;           /* enum ttmem_owner_kind */
	uint64_t address;
	uint64_t size;
};

enum segfix_end {
	SEGFIX_RUN = 0,          /* keep running until segfix_stop */
	SEGFIX_EXIT = 1,         /* ttmem_proc_exit, then exit(0) */
	SEGFIX_KILLED = 2,       /* SIGKILL itself: no exit path runs */
};

/* A unique segment name for this test process: /ttmem-test-viewer-<pid>-<n>. */
const char *segfix_name(char *buf, size_t len);

/* The working set of a test that runs workloads: a fresh segment name in
 * shm, the directory /tmp/ttmem-test-TAG-<pid> in dir (created), and
 * DIR/truth.json (for the emulator's ground truth) in truth.  _down
 * unlinks the segment and removes the directory. */
#define SEGFIX_SHM_LEN 128
#define SEGFIX_DIR_LEN 128
#define SEGFIX_TRUTH_LEN 256
void segfix_workdir_up(const char *tag, char shm[SEGFIX_SHM_LEN], char dir[SEGFIX_DIR_LEN],
		       char truth[SEGFIX_TRUTH_LEN]);
void segfix_workdir_down(const char *shm, const char *dir);

/* Create the segment (small geometry) and publish devices 0..ndev-1 as
 * Wormhole (arch 2) with the given DRAM capacity (0 = leave unknown). */
struct ttmem_table *segfix_create(const char *name, unsigned ndev, uint64_t dram_capacity);

/*
 * Fork a child that attaches, registers as `comm`, inserts `n` allocations
 * (callsites inside segfix_leaky_function of this binary), then ends as
 * `end`.  Returns the child's pid once its allocations are in the table
 * (and, for EXIT/KILLED, once it is gone and reaped by waitpid).
 */
pid_t segfix_child(const char *name, const char *comm, const struct segfix_alloc *a,
		   size_t n, enum segfix_end end);

/* The same, recording callsites against module `module_path` (NULL: this
 * executable; the offset is always that of segfix_leaky_function here). */
pid_t segfix_child_ex(const char *name, const char *comm, const struct segfix_alloc *a,
		      size_t n, enum segfix_end end, const char *module_path);

/* Overwrite the registry name (and command line) of `pid` with raw bytes, as
 * a hostile writer of the segment could; 0, or -1 when pid is not there. */
int segfix_rename(struct ttmem_table *t, pid_t pid, const char *name);

/* Stop a SEGFIX_RUN child (SIGTERM, waitpid).  */
void segfix_stop(pid_t pid);

/* The function whose address the children record as their callsite. */
void segfix_leaky_function(void);

/* Run argv (NULL-terminated) with stdout/stderr captured into malloc'd
 * buffers (may be NULL); returns the exit status (128+sig if killed). */
int segfix_run(char *const argv[], char **out, char **err);

/* The same with `input` on stdin. */
int segfix_pipe(char *const argv[], const char *input, char **out, char **err);

/* Run `ttmem ARGS...` (NULL-terminated) with TTMEM_SHM unset; returns the
 * exit status, output in *out / *err (malloc'd, may be NULL). */
int segfix_ttmem_run(char **out, char **err, ...);

/* Pipe `input` to tests/viewer/viewer_check.py MODE [ARG [ARG2]]; returns its
 * exit status; its stderr (the mismatches) in *err. */
int segfix_check(const char *input, char **err, const char *mode, const char *arg,
		 const char *arg2);

/* Number of lines in s. */
int segfix_lines(const char *s);

/* ---- the real thing: emulator workloads under the preload ---------------- */

struct segfix_wl {
	pid_t pid;
	FILE *ready;             /* the workload's TTEMU_READY_FD lines */
};

/* $TTMEM_BUILD (default "build") + "/" + rel, in a static buffer per call
 * slot (up to 4 live results). */
const char *segfix_build_path(const char *rel);

/* Skip the test (cr_skip_test) unless every listed build product exists. */
int segfix_have(const char *rel);

/*
 * Start a workload (argv[0] relative to $TTMEM_BUILD) tracked into segment
 * `shm` with build/libttmem.so, its ground truth written to `truth`, its
 * ready lines on a pipe; `flavour` ("gcc", "clang", "symbolic" or NULL)
 * selects build/examples/FLAVOUR through LD_LIBRARY_PATH.  0 or -1.
 */
int segfix_wl_start(struct segfix_wl *w, const char *shm, const char *truth,
		    const char *flavour, char *const argv[]);
/* Read the next ready line; 0 if it starts with `what`. */
int segfix_wl_expect(struct segfix_wl *w, const char *what);
/* SIGUSR1: leave the hold point. */
void segfix_wl_release(struct segfix_wl *w);
/* Wait for the workload; its exit status (128+sig if killed). */
int segfix_wl_wait(struct segfix_wl *w);

/* Read a whole file (malloc'd), NULL if absent. */
char *segfix_read_file(const char *path);

/* Path of build/ttmem (from $TTMEM_BIN, else build/ttmem). */
const char *segfix_ttmem(void);

#endif /* TTMEM_TESTS_SEGFIX_H */
