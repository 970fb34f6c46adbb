/* SPDX-License-Identifier: MIT */
/*
 * Private to the preload tests: run a workload under the preload against a
 * segment of its own, follow its hold points (TTEMU_READY_FD), read the
 * emulator's ground truth (TTEMU_TRUTH) and the segment (through the table
 * API, read-only), and compare them exactly.
 *
 * No sleeps: the workload writes "peak N" / "closed N" to the ready pipe
 * after writing its truth file, then holds until SIGUSR1.
 */
#ifndef TTMEM_TESTS_PRELOAD_HARNESS_H
#define TTMEM_TESTS_PRELOAD_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/parameterized.h>

#include "ttmem/segment.h"
#include "ttmem/table.h"

#ifndef BUILD_DIR
#define BUILD_DIR "build"
#endif

#define H_MAX_DEVICES 64

/* A uniquely named segment for one test (unlinked by seg_drop). */
struct seg {
	char name[96];
};
void seg_make(struct seg *s);
void seg_drop(struct seg *s);
/* Open read-only (NULL if it does not exist). */
struct ttmem_table *seg_open(const struct seg *s);

struct run {
	pid_t pid;
	int ready;               /* read end of the ready pipe, -1 if none */
	char truth[128];         /* TTEMU_TRUTH path */
	char err[128];           /* the child's stderr, captured */
	char out[128];           /* the child's stdout, captured */
};

/*
 * Start argv[0] (a path) with the preload (when `preload`), TTMEM_SHM = the
 * segment, the ready pipe and a truth file, plus `env` (NULL-terminated
 * "K=V" list, may be NULL), on the build chosen by h_use_build.  The
 * preload is build/libttmem.so, or LD_PRELOAD = $TTMEM_TEST_PRELOAD when
 * set (the ASan build, after the ASan runtime).  Aborts the test on
 * failure.
 */
void run_start(struct run *r, const struct seg *s, int preload, const char *const argv[],
	       const char *const env[]);
/* Next hold point: fills what ("peak"/"closed") and *n; 0, or -1 at EOF. */
int run_next(struct run *r, char *what, size_t len, int *n);
void run_continue(struct run *r);
/* Wait for the exit; returns the wait status. */
int run_wait(struct run *r);
/* The captured stderr / stdout (malloc'd, NUL-terminated). */
char *run_stderr(const struct run *r);
char *run_stdout(const struct run *r);
void run_cleanup(struct run *r);

/* Ground truth of the emulator at the last hold point. */
struct truth {
	unsigned n;
	struct {
		uint32_t device;
		uint64_t bytes[TTMEM_TYPE_COUNT];
		uint64_t per_bank[TTMEM_TYPE_COUNT];   /* "TYPE_per_bank" */
		int has_per_bank;
		uint64_t buffers;
	} dev[H_MAX_DEVICES];
};
/* Parse the truth file; aborts the test if malformed. */
void truth_load(const char *path, struct truth *t);

/* Bytes in use per (device, type) as a viewer would count them: live
 * entries of processes that are running (pid 0 = all processes). */
struct usage {
	uint64_t bytes[TTMEM_MAX_DEVICES][TTMEM_TYPE_COUNT];
	uint64_t per_bank[TTMEM_MAX_DEVICES][TTMEM_TYPE_COUNT];  /* sum of bank_bytes */
	uint64_t buffers[TTMEM_MAX_DEVICES];   /* entries other than circular buffers */
	uint64_t entries;
	uint64_t unknown_device;
};
void usage_read(struct ttmem_table *t, uint32_t pid, struct usage *u);

/* Assert usage == truth for every device and type (devices absent from
 * the truth must be 0).  `where` names the hold point in messages. */
void assert_usage_is_truth(const struct usage *u, const struct truth *t, const char *where);
/* Assert every device and type is 0. */
void assert_usage_zero(const struct usage *u, const char *where);

/*
 * One hold point of a workload as the exact tests read it: the segment
 * (read-only, open until the next hold_next), the emulator's truth and the
 * usage a viewer would count (every process).
 */
struct hold {
	char what[16];               /* "peak", "closed", ... */
	int n;
	char where[128];             /* "[CTX ]WHAT N", for messages */
	struct ttmem_table *t;       /* a test may close it early: set it NULL */
	struct truth truth;
	struct usage usage;
	int held;                    /* the workload waits at this hold point */
};
#define HOLD_INIT { .t = NULL, .held = 0 }

/*
 * The next hold point of `r` on segment `s`: 1 with *h filled, 0 once the
 * workload has no more (then run_wait it).  Each call after the first
 * closes the previous hold's segment and releases the workload
 * (run_continue) before waiting for the next, so a loop body may
 * `continue`.  `ctx` (may be NULL) prefixes h->where.  h starts as
 * HOLD_INIT.  Aborts the test when the segment does not exist.
 */
int hold_next(struct run *r, const struct seg *s, struct hold *h, const char *ctx);

/* usage == truth at `h`, and nothing in use after a close. */
void hold_assert_exact(const struct hold *h);

/* Every hold point of `r` through hold_assert_exact, counted in *holds;
 * returns the workload's wait status (run_wait). */
int hold_follow_exact(struct run *r, const struct seg *s, int *holds);

/* The registry entry of `pid` (any state but free), or NULL. */
const struct ttmem_proc *proc_of(struct ttmem_table *t, uint32_t pid);

/*
 * The emulated runtime builds the generation suite runs on, one per
 * generation and compiler (folders under BUILD_DIR): the tests that are
 * exact against the ground truth are parameterized over them
 * (H_BUILD_TEST).  TTMEM_TEST_BUILDS (space-separated folders) narrows the
 * list, e.g. to the 2026 builds for the run under ASan.
 */
#define H_MAX_BUILDS 8
/* The builds to run on (a Criterion parameter array of const char *). */
struct criterion_test_params h_build_params(void);

/*
 * Run every following run_start on `build` (LD_LIBRARY_PATH = its absolute
 * folder; the workloads link the 2025 gcc build and switch by it), NULL for
 * the workloads' own.  Per test (Criterion runs each test in a process).
 */
void h_use_build(const char *build);

/*
 * A test of `suite` named `name` run once per build, its body seeing the
 * folder as `build` (already switched to with h_use_build).
 */
#define H_BUILD_TEST(suite, name, ...)                                             \
	static void suite##_##name##_body(const char *build);                     \
	ParameterizedTestParameters(suite, name) { return h_build_params(); }      \
	ParameterizedTest(const char **build_, suite, name, __VA_ARGS__)          \
	{                                                                         \
		h_use_build(*build_);                                             \
		suite##_##name##_body(*build_);                                   \
	}                                                                         \
	static void suite##_##name##_body(const char *build)

/* Path of a build product, e.g. bpath("examples/bin/leak"). */
const char *bpath(const char *rel);
int file_exists(const char *path);

#endif /* TTMEM_TESTS_PRELOAD_HARNESS_H */
