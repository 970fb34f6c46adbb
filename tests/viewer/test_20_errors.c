/* SPDX-License-Identifier: MIT */
/*
 * Robustness: every class of bad segment gives one line on stderr and its own
 * exit code (ttmem.1, EXIT STATUS), from every subcommand that reads it.
 * Segments are files here (a name with a '/' after the first character).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "segfix.h"

static char dir[128];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ttmem-test-viewer-%d-errors", (int)getpid());
	mkdir(dir, 0700);
}

static void rm_tmp(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(errors, .init = mkdir_tmp, .fini = rm_tmp);

/* A valid file segment at dir/NAME; returns its path (static buffer). */
static const char *valid(const char *name)
{
	static char path[256];
	struct ttmem_table *t;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	t = segfix_create(path, 2, 0);
	cr_assert_not_null(t);
	ttmem_table_close(t);
	return path;
}

/* Overwrite `len` bytes at `off` of the file. */
static void patch(const char *path, off_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* Every reader subcommand on `path`: exit `code`, one line starting with
 * "ttmem SUB: PATH: " and containing `what`. */
static void expect_subs(const char *path, int code, const char *what, int with_clear)
{
	static const char *const subs[][2] = {
		{ "show", NULL }, { "show", "--json" }, { "leaks", NULL }, { "baseline", NULL },
		{ "reap", NULL }, { "clear", NULL },
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]) - !with_clear; i++) {
		char *out = NULL, *err = NULL, prefix[512];
		int rc = subs[i][1] ?
				 segfix_ttmem_run(&out, &err, subs[i][0], "--shm", path, subs[i][1], NULL) :
				 segfix_ttmem_run(&out, &err, subs[i][0], "--shm", path, NULL);

		snprintf(prefix, sizeof(prefix), "ttmem %s: %s", subs[i][0], path);
		cr_assert_eq(rc, code, "%s on %s: exit %d, expected %d (%s)", subs[i][0], path, rc,
			     code, err);
		cr_assert_eq(segfix_lines(err), 1, "%s: stderr: %s", subs[i][0], err);
		cr_assert_eq(strncmp(err, prefix, strlen(prefix)), 0, "stderr: %s", err);
		cr_assert(strstr(err, what), "%s: '%s' not in: %s", subs[i][0], what, err);
		cr_assert_str_empty(out);
		free(out);
		free(err);
	}
}

static void expect(const char *path, int code, const char *what)
{
	expect_subs(path, code, what, 1);
}

Test(errors, no_segment)
{
	char *out = NULL, *err = NULL, name[128];

	snprintf(name, sizeof(name), "/ttmem-test-viewer-%d-absent", (int)getpid());
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", name, NULL), 3);
	cr_assert_eq(segfix_lines(err), 1);
	cr_assert(strstr(err, "ttmem show: no segment /ttmem-test-viewer-"));
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", name, NULL), 3);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "baseline", "--shm", name, NULL), 3);
	free(out);
	free(err);
	/* clear and reap: nothing to do is not an error. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "clear", "--shm", name, NULL), 0);
	cr_assert(strstr(out, "nothing to clear"));
	cr_assert_str_empty(err);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "reap", "--shm", name, NULL), 0);
	cr_assert(strstr(out, "nothing to reap"));
	free(out);
	free(err);
}

Test(errors, no_segment_from_env)
{
	char *out = NULL, *err = NULL, name[128];
	char *argv[] = { (char *)segfix_ttmem(), (char *)"show", NULL };

	snprintf(name, sizeof(name), "/ttmem-test-viewer-%d-env-absent", (int)getpid());
	setenv("TTMEM_SHM", name, 1);
	cr_assert_eq(segfix_run(argv, &out, &err), 3);
	cr_assert(strstr(err, name), "%s", err);
	free(out);
	free(err);
}

Test(errors, foreign_magic)
{
	const char *p = valid("magic");

	patch(p, 0, "NOTTTMEM", 8);
	expect(p, 5, "foreign magic");
}

Test(errors, foreign_file)
{
	/* Not a segment at all: another program's file of the same size. */
	const char *p = valid("foreign");
	char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(0x41 + i % 26);
	patch(p, 0, junk, sizeof(junk));
	expect(p, 5, "foreign magic 0x4847464544434241");
}

Test(errors, newer_major)
{
	const char *p = valid("newer");
	uint16_t major = TTMEM_ABI_MAJOR + 1;

	char want[32];

	patch(p, 8, &major, sizeof(major));
	snprintf(want, sizeof(want), "ABI %d.%d", TTMEM_ABI_MAJOR + 1, TTMEM_ABI_MINOR);
	expect(p, 6, want);
}

Test(errors, newer_minor_is_read)
{
	const char *p = valid("minor");
	uint16_t minor = TTMEM_ABI_MINOR + 1;
	char *out = NULL, *err = NULL;

	patch(p, 10, &minor, sizeof(minor));
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", p, NULL), 0, "%s", err);
	{
		char want[32];

		snprintf(want, sizeof(want), "(ABI %d.%d)", TTMEM_ABI_MAJOR, TTMEM_ABI_MINOR + 1);
		cr_assert(strstr(out, want), "%s", out);
	}
	free(out);
	free(err);
}

Test(errors, truncated)
{
	const char *p = valid("trunc");

	cr_assert_eq(truncate(p, 20000), 0);
	expect(p, 7, "20000 bytes");
}

Test(errors, size_mismatch)
{
	const char *p = valid("big");
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(truncate(p, st.st_size + 8192), 0);
	expect(p, 8, "the header says");
}

Test(errors, absurd_capacity)
{
	const char *p = valid("absurd");
	uint64_t cap = 3;

	patch(p, 32, &cap, sizeof(cap));
	expect(p, 9, "capacity 3");
}

Test(errors, absurd_offsets)
{
	const char *p = valid("offsets");
	uint64_t off = UINT64_C(1) << 62;

	patch(p, 96, &off, sizeof(off)); /* slot_offset */
	expect(p, 9, "");
}

Test(errors, never_published)
{
	const char *p = valid("notready");
	uint32_t zero = 0, dead = 999999;

	patch(p, 116, &zero, sizeof(zero));
	patch(p, 112, &dead, sizeof(dead)); /* creator pid: not a live process */
	/* clear removes a stale segment (test_25_hostile.c): not an error. */
	expect_subs(p, 10, "never published", 0);
}

Test(errors, foreign_owner_refused_for_writes, .disabled = 0)
{
	const char *p = valid("owner");
	char *out = NULL, *err = NULL;

	if (geteuid() != 0) {
		rm_tmp(); /* a skipped test does not run the suite's fini */
		cr_skip_test("needs root to give the segment to another uid");
	}
	cr_assert_eq(chown(p, 12345, 12345), 0);
	/* Readers may read it... */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", p, NULL), 0, "%s", err);
	free(out);
	free(err);
	/* ...writers refuse it. */
	cr_assert_eq(segfix_ttmem_run(&out, &err, "clear", "--shm", p, NULL), 4);
	cr_assert(strstr(err, "owned by uid 12345"), "%s", err);
	cr_assert_eq(segfix_lines(err), 1);
	free(out);
	free(err);
}

Test(errors, permission_denied)
{
	const char *p = valid("perm");
	char *out = NULL, *err = NULL;

	if (geteuid() == 0) {
		rm_tmp(); /* a skipped test does not run the suite's fini */
		cr_skip_test("root reads any file: permission denied cannot happen");
	}
	cr_assert_eq(chmod(p, 0), 0);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", p, NULL), 4);
	cr_assert_eq(segfix_lines(err), 1);
	free(out);
	free(err);
}

/* Absurd values inside an accepted segment: entries whose registry index,
 * module index, type and device are nonsense.  Shown, never trusted. */
Test(errors, absurd_entries_inside_a_valid_segment)
{
	const char *p = valid("entries");
	struct segfix_alloc a[] = { { 0, TTMEM_TYPE_DRAM, 0, 0x1000, 4096 },
				    { 1, TTMEM_TYPE_L1, 0, 0x2000, 8192 } };
	pid_t pid = segfix_child(p, "absurd", a, 2, SEGFIX_RUN);
	struct ttmem_open_opts o = { .readonly = 1 };
	struct ttmem_table *t = NULL;
	const struct ttmem_header *h;
	char *out = NULL, *err = NULL, ebuf[256];
	int fd;
	struct ttmem_slot *slots;
	size_t len;

	cr_assert_gt(pid, 0);
	cr_assert_eq(ttmem_table_open(&t, p, &o, ebuf, sizeof(ebuf)), 0, "%s", ebuf);
	h = ttmem_table_header(t);
	len = h->total_size;
	fd = open(p, O_RDWR);
	cr_assert_geq(fd, 0);
	{
		uint8_t *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		uint64_t slot_off = h->slot_offset, cap = h->capacity;

		cr_assert_neq(base, MAP_FAILED);
		slots = (struct ttmem_slot *)(base + slot_off);
		for (uint64_t i = 0; i < cap; i++) {
			if (TTMEM_CTL_STATE(atomic_load(&slots[i].ctl)) != TTMEM_SLOT_LIVE)
				continue;
			if (slots[i].type == TTMEM_TYPE_DRAM) {
				slots[i].proc = 60000;        /* no such registry entry */
				slots[i].module = 40000;      /* no such module */
				slots[i].device = 4000000000u;/* no such chip */
			} else {
				slots[i].type = 200;          /* no such type */
			}
		}
		munmap(base, len);
	}
	close(fd);
	ttmem_table_close(t);

	cr_assert_eq(segfix_ttmem_run(&out, &err, "show", "--shm", p, "--json", NULL), 0, "%s", err);
	free(err);
	cr_assert_eq(segfix_check(out, &err, "subset",
		"{\"segment\":{\"entries\":2,\"invalid\":1},"
		"\"devices\":[{\"device\":4000000000,\"in_use\":{\"DRAM\":0},"
		"\"orphaned\":{\"DRAM\":4096}}]}", NULL), 0, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(segfix_ttmem_run(&out, &err, "leaks", "--shm", p, NULL), 0, "%s", err);
	cr_assert(strstr(out, "?+0x"), "%s", out);
	cr_assert(strstr(out, "[no-module]"), "%s", out);
	free(out);
	free(err);
	segfix_stop(pid);
}
