/* SPDX-License-Identifier: MIT */
/*
 * Placement (segment.h, "Hashing"): the entries of one chip, space and
 * 16 MiB region share their home group while it is at most half full, so
 * what a writer touches follows its entries, not the table's capacity; and
 * however many keys share a home, the table still fills to 95% without a
 * drop (three-choice).  Asserted on slot indices and on the writer's own
 * page-fault count (getrusage), never on time.
 */
#include <sys/resource.h>

#include "helpers.h"

#define CHIPS 32
#define PER_HOME 24   /* below the home's half (32 of 64 slots) */

static uint64_t groups_used(struct ttmem_table *t, uint64_t *entries)
{
	struct ttmem_snapshot s = { 0 };
	cr_assert_eq(ttmem_snapshot(t, &s), 0);
	uint64_t *g = calloc(s.count + 1, sizeof(*g)), n = 0;
	for (size_t i = 0; i < s.count; i++) {
		uint64_t grp = s.entries[i].slot / TTMEM_GROUP_SLOTS, j;
		for (j = 0; j < n && g[j] != grp; j++)
			;
		if (j == n)
			g[n++] = grp;
	}
	*entries = s.count;
	free(g);
	ttmem_snapshot_free(&s);
	return n;
}

/* Chips x {DRAM, L1} x PER_HOME entries in one region each: about one group
 * per (chip, space), however large the table. */
Test(locality, a_chips_entries_share_its_home_group)
{
	char path[128];
	seg_path(path, sizeof(path), "home");
	struct ttmem_table *t = seg_writer(path, 1u << 20);

	for (uint32_t chip = 0; chip < CHIPS; chip++)
		for (uint8_t sp = 0; sp < 2; sp++)
			for (uint64_t i = 0; i < PER_HOME; i++) {
				struct ttmem_entry e = mk_entry(chip, sp, 0x40 + i * 0x2b000, 4096);
				cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
			}
	uint64_t n, used = groups_used(t, &n);
	cr_assert_eq(n, CHIPS * 2 * PER_HOME);
	/* One group per (chip, space), plus the spill of two homes that share
	 * a group (the chips of one space never do); scattered, they would
	 * take ~1,470 groups. */
	cr_assert_leq(used, CHIPS * 2 + 8, "%lu entries over %lu groups", (unsigned long)n,
		      (unsigned long)used);

	/* Past half the home, the entries go elsewhere: a home never fills
	 * up with one chip's entries. */
	for (uint64_t i = PER_HOME; i < 64; i++) {
		struct ttmem_entry e = mk_entry(0, 0, 0x40 + i * 0x2b000, 4096);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	cr_assert_gt(groups_used(t, &n), used);
	ttmem_table_close(t);
	unlink(path);
}

/* Minor page faults of a fresh writer process (a child) inserting and
 * removing CHIPS x PER_HOME entries, at `capacity` slots. */
static long child_faults(const char *path, uint64_t capacity)
{
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ttmem_table *t = seg_writer(path, capacity);
		struct rusage a, b;
		getrusage(RUSAGE_SELF, &a);
		for (int round = 0; round < 4; round++)
			for (uint32_t chip = 0; chip < CHIPS; chip++)
				for (uint64_t i = 0; i < PER_HOME; i++) {
					uint64_t addr = 0x40 + (i + (uint64_t)round * PER_HOME) * 0x2b000;
					struct ttmem_entry e = mk_entry(chip, 0, addr, 4096);
					struct ttmem_key k = mk_key(chip, 0, addr);
					if (ttmem_insert(t, &e) != TTMEM_INSERTED || ttmem_remove(t, &k, NULL))
						_exit(2);
				}
		getrusage(RUSAGE_SELF, &b);
		long d = b.ru_minflt - a.ru_minflt;
		if (write(fd[1], &d, sizeof(d)) != sizeof(d))
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	long d = -1;
	cr_assert_eq(read(fd[0], &d, sizeof(d)), (ssize_t)sizeof(d));
	close(fd[0]);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	return d;
}

/* 3,072 distinct keys on 32 chips: at 4,194,304 slots a writer faults in
 * its homes' pages (32) and, for the other candidates' meta lines, at most
 * one fault per 64 KiB of meta (the kernel maps 16 pages around a read
 * fault: 64 windows), plus under ASan the shadow of what it reads (128
 * pages); scattered keys would fault in one slot page each (~4,000). */
Test(locality, a_writers_page_faults_follow_its_chips_not_the_capacity, .timeout = 60)
{
	char small[128], large[128];
	seg_path(small, sizeof(small), "pf-small");
	seg_path(large, sizeof(large), "pf-large");
	/* Created (and each page touched once) by the parent: the children
	 * only map them. */
	ttmem_table_close(seg_open_cap(small, 1u << 12, 64));
	ttmem_table_close(seg_open_cap(large, 1u << 22, 64));
	long fs = child_faults(small, 1u << 12), fl = child_faults(large, 1u << 22);
	cr_log_info("minor faults: %ld at 4,096 slots, %ld at 4,194,304", fs, fl);
#if defined(__SANITIZE_ADDRESS__)
	const long shadow = 8 * CHIPS;
#else
	const long shadow = 0;
#endif
	cr_assert_leq(fl, fs + 8 * CHIPS + shadow, "faults: %ld at 4M slots vs %ld at 4096", fl, fs);
	unlink(small);
	unlink(large);
}

/* Every key in one home (one chip, one region), then keys of many homes:
 * the table takes 95% of its capacity without a drop. */
Test(locality, full_homes_do_not_cause_drops)
{
	for (int many = 0; many < 2; many++) {
		char path[128];
		seg_path(path, sizeof(path), "fill");
		struct ttmem_table *t = seg_writer(path, 1u << 12);
		uint64_t n = (1u << 12) * 95 / 100;
		for (uint64_t i = 0; i < n; i++) {
			uint32_t chip = many ? (uint32_t)(i % 7) : 3;
			uint64_t addr = many ? (i * 0x9e3779b97f4a7c15ull) & 0xffffffffc0ull : 0x40 + i * 64;
			struct ttmem_entry e = mk_entry(chip, 0, addr, 64);
			cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED, "insert %lu of %lu (many %d)",
				     (unsigned long)i, (unsigned long)n, many);
		}
		cr_assert_eq(census(t).live_current, n);
		ttmem_table_close(t);
		unlink(path);
	}
}
