/* SPDX-License-Identifier: MIT */
/* Create, attach, validate and every attach refusal, with exact codes. */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "helpers.h"

static void make_segment(char *path, size_t len, const char *tag)
{
	seg_path(path, len, tag);
	struct ttmem_table *t = seg_open_cap(path, 256, 8);
	ttmem_table_close(t);
}

static int attach_rc(const char *path, int readonly, char *err, size_t errlen)
{
	struct ttmem_open_opts o = { .readonly = readonly, .no_create = 1 };
	struct ttmem_table *t = NULL;
	int rc = ttmem_table_open(&t, path, &o, err, errlen);
	if (rc == 0)
		ttmem_table_close(t);
	else
		cr_assert_null(t);
	return rc;
}

static void patch(const char *path, off_t off, const void *v, size_t n)
{
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, v, n, off), (ssize_t)n);
	close(fd);
}

Test(open, create_then_attach_geometry)
{
	char path[128], err[512];
	seg_path(path, sizeof(path), "geo");
	struct ttmem_table *t = seg_open_cap(path, 1024, 16);
	const struct ttmem_header *h = ttmem_table_header(t);
	cr_assert_eq(h->magic, TTMEM_MAGIC);
	cr_assert_eq(h->abi_major, TTMEM_ABI_MAJOR);
	cr_assert_eq(h->capacity, 1024);
	cr_assert_eq(h->proc_capacity, 16);
	cr_assert_eq(atomic_load(&h->ready), TTMEM_READY);
	cr_assert_eq(h->creator_pid, (uint32_t)getpid());
	cr_assert_eq(h->slot_offset % 4096, 0);
	cr_assert_eq(h->total_size, h->slot_offset + 1024 * 64);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, h->total_size);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* Pages were reserved at creation. */
	cr_assert_geq((uint64_t)st.st_blocks * 512, h->total_size);
	cr_assert_eq(ttmem_table_header_rw(t), h);

	/* A second open attaches to the same segment, whatever opts say. */
	struct ttmem_open_opts o = { .capacity = 4096 };
	struct ttmem_table *t2 = NULL;
	cr_assert_eq(ttmem_table_open(&t2, path, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ttmem_table_header(t2)->capacity, 1024);
	ttmem_table_close(t2);

	/* Read-only: no writable views, writer ops refused. */
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), 0);
	o = (struct ttmem_open_opts){ .readonly = 1 };
	cr_assert_eq(ttmem_table_open(&t2, path, &o, err, sizeof(err)), 0);
	cr_assert_null(ttmem_table_header_rw(t2));
	cr_assert_null(ttmem_table_procs_rw(t2));
	cr_assert_eq(ttmem_proc_register(t2), -EINVAL);
	struct ttmem_entry e = mk_entry(0, 0, 64, 64);
	cr_assert_eq(ttmem_insert(t2, &e), -EINVAL);
	ttmem_table_close(t2);

	ttmem_table_close(t);
	cr_assert_eq(ttmem_table_unlink(path), 0);
	cr_assert_eq(ttmem_table_unlink(path), -ENOENT);
}

Test(open, posix_shm_name)
{
	char name[64], err[512];
	snprintf(name, sizeof(name), "/ttmem-test-posix-%d", (int)getpid());
	shm_unlink(name);
	struct ttmem_table *t = seg_open_cap(name, 128, 4);
	cr_assert_eq(attach_rc(name, 1, err, sizeof(err)), 0, "%s", err);
	ttmem_table_close(t);
	cr_assert_eq(ttmem_table_unlink(name), 0);
	cr_assert_eq(attach_rc(name, 1, err, sizeof(err)), -ENOENT);
}

Test(open, bad_requests)
{
	char path[128], err[512];
	struct ttmem_table *t = (void *)1;
	seg_path(path, sizeof(path), "bad");
	struct ttmem_open_opts o = { .capacity = 1000 };
	cr_assert_eq(ttmem_table_open(&t, path, &o, err, sizeof(err)), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(access(path, F_OK), -1, "a failed creation leaves nothing");
	o.capacity = 64;
	cr_assert_eq(ttmem_table_open(&t, path, &o, err, sizeof(err)), -EINVAL);
	o.capacity = (uint64_t)TTMEM_MAX_CAPACITY * 2;
	cr_assert_eq(ttmem_table_open(&t, path, &o, err, sizeof(err)), -EINVAL);
	cr_assert_eq(ttmem_table_open(&t, "", NULL, err, sizeof(err)), -EINVAL);
	o = (struct ttmem_open_opts){ .no_create = 1 };
	cr_assert_eq(ttmem_table_open(&t, path, &o, err, sizeof(err)), -ENOENT);
}

Test(open, refuses_wrong_magic)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "magic");
	uint64_t bad = 0x1122334455667788ull;
	patch(path, 0, &bad, sizeof(bad));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_EMAGIC);
	cr_assert(strstr(err, path) != NULL, "message names the segment: %s", err);
	cr_assert(strstr(err, "magic") != NULL, "%s", err);
	cr_assert_eq(attach_rc(path, 0, err, sizeof(err)), TTMEM_EMAGIC);
	unlink(path);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What a file is comes before whether it was published: a foreign file, or a
 * segment of another ABI major, whose `ready` word is not TTMEM_READY (and
 * whose "creator" is alive: us) is refused at once with its own code, not
 * waited for ~2 s and reported as never published.  Nor is a small file. */
Test(open, foreign_or_other_major_unpublished_refused_at_once)
{
	char path[128], err[512];
	uint32_t me = (uint32_t)getpid(), zero = 0;

	/* A foreign file: header-sized garbage, `ready` not ours. */
	seg_path(path, sizeof(path), "foreign");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	char junk[8192];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131u + 7u);
	cr_assert_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	patch(path, offsetof(struct ttmem_header, ready), &zero, sizeof(zero));
	patch(path, offsetof(struct ttmem_header, creator_pid), &me, sizeof(me));
	for (int ro = 1; ro >= 0; ro--) {
		double t0 = mono_s();
		cr_assert_eq(attach_rc(path, ro, err, sizeof(err)), TTMEM_EMAGIC, "%s", err);
		cr_assert_lt(mono_s() - t0, 0.5, "refused at once, not after the publication wait");
	}
	unlink(path);

	/* Our magic, another major, never published by a live creator. */
	make_segment(path, sizeof(path), "major-unpub");
	uint16_t major = TTMEM_ABI_MAJOR + 1;
	patch(path, offsetof(struct ttmem_header, abi_major), &major, sizeof(major));
	patch(path, offsetof(struct ttmem_header, ready), &zero, sizeof(zero));
	patch(path, offsetof(struct ttmem_header, creator_pid), &me, sizeof(me));
	double t0 = mono_s();
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_EVERSION, "%s", err);
	cr_assert_lt(mono_s() - t0, 0.5);

	/* A non-empty file smaller than a header: truncated, at once. */
	cr_assert_eq(truncate(path, 100), 0);
	t0 = mono_s();
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ETRUNC, "%s", err);
	cr_assert_eq(attach_rc(path, 0, err, sizeof(err)), TTMEM_ETRUNC, "%s", err);
	cr_assert_lt(mono_s() - t0, 0.5);
	unlink(path);
}

Test(open, refuses_newer_major)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "major");
	uint16_t major = TTMEM_ABI_MAJOR + 1;
	patch(path, offsetof(struct ttmem_header, abi_major), &major, sizeof(major));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_EVERSION);
	major = 0;
	patch(path, offsetof(struct ttmem_header, abi_major), &major, sizeof(major));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_EVERSION);
	/* A newer minor is fine. */
	major = TTMEM_ABI_MAJOR;
	uint16_t minor = TTMEM_ABI_MINOR + 3;
	patch(path, offsetof(struct ttmem_header, abi_major), &major, sizeof(major));
	patch(path, offsetof(struct ttmem_header, abi_minor), &minor, sizeof(minor));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), 0, "%s", err);
	unlink(path);
}

Test(open, refuses_truncated)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "trunc");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size - 64), 0);
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ETRUNC);
	cr_assert_eq(attach_rc(path, 0, err, sizeof(err)), TTMEM_ETRUNC);
	cr_assert_eq(truncate(path, 100), 0);
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ETRUNC);
	unlink(path);
}

Test(open, refuses_size_mismatch)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "size");
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(truncate(path, st.st_size + 4096), 0);
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ESIZE);
	cr_assert_eq(truncate(path, st.st_size), 0);
	uint64_t total = (uint64_t)st.st_size + 4096;
	patch(path, offsetof(struct ttmem_header, total_size), &total, sizeof(total));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ESIZE);
	unlink(path);
}

Test(open, refuses_absurd_fields)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "absurd");
	uint64_t cap = UINT64_C(1) << 40;
	patch(path, offsetof(struct ttmem_header, capacity), &cap, sizeof(cap));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ECORRUPT);
	cr_assert(strstr(err, "capacity") != NULL, "%s", err);
	cap = 300; /* not a power of two */
	patch(path, offsetof(struct ttmem_header, capacity), &cap, sizeof(cap));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ECORRUPT);
	cap = 256;
	patch(path, offsetof(struct ttmem_header, capacity), &cap, sizeof(cap));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), 0, "%s", err);
	uint32_t procs = 70000;
	patch(path, offsetof(struct ttmem_header, proc_capacity), &procs, sizeof(procs));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ECORRUPT);
	procs = 8;
	patch(path, offsetof(struct ttmem_header, proc_capacity), &procs, sizeof(procs));
	uint64_t off = 12345;
	patch(path, offsetof(struct ttmem_header, slot_offset), &off, sizeof(off));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ECORRUPT);
	unlink(path);
}

Test(open, refuses_foreign_owner)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "owner");
	if (geteuid() != 0) {
		cr_skip_test("needs root to chown");
	}
	cr_assert_eq(chown(path, 4242, 4242), 0);
	cr_assert_eq(attach_rc(path, 0, err, sizeof(err)), TTMEM_EOWNER);
	cr_assert(strstr(err, "4242") != NULL, "%s", err);
	/* Readers may look at another user's segment. */
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), 0, "%s", err);
	/* The creating open (O_EXCL fails, attach) is refused the same way. */
	struct ttmem_table *t = NULL;
	cr_assert_eq(ttmem_table_open(&t, path, NULL, err, sizeof(err)), TTMEM_EOWNER);
	unlink(path);
}

Test(open, refuses_links)
{
	char path[128], link2[160], err[512];
	make_segment(path, sizeof(path), "links");
	snprintf(link2, sizeof(link2), "%s.hard", path);
	cr_assert_eq(link(path, link2), 0);
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), -EMLINK);
	unlink(link2);
	snprintf(link2, sizeof(link2), "%s.sym", path);
	cr_assert_eq(symlink(path, link2), 0);
	cr_assert_eq(attach_rc(link2, 1, err, sizeof(err)), -ELOOP);
	unlink(link2);
	unlink(path);
}

/* A FIFO under the name (`ttmem --shm` pointed at one): refused at once.  A
 * read-only open of a FIFO blocks until a writer comes, so an open before the
 * S_ISREG check hangs; the timeout turns that into a failure. */
Test(open, fifo_refused_promptly, .timeout = 10)
{
	char path[128], err[512];
	struct ttmem_table *t = NULL;
	struct timespec t0, t1;
	seg_path(path, sizeof(path), "fifo");
	cr_assert_eq(mkfifo(path, 0600), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err[0] = 0;
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), -EINVAL, "readonly: %s", err);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	cr_assert_eq(attach_rc(path, 0, err, sizeof(err)), -EINVAL, "writable: %s", err);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
	/* Writable, creating: the O_EXCL create finds it, the attach refuses it. */
	cr_assert_eq(ttmem_table_open(&t, path, NULL, err, sizeof(err)), -EINVAL, "%s", err);
	cr_assert_null(t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt(t1.tv_sec - t0.tv_sec, 2, "took %lld s", (long long)(t1.tv_sec - t0.tv_sec));
	unlink(path);
}

Test(open, never_published_dead_creator)
{
	char path[128], err[512];
	make_segment(path, sizeof(path), "unpub");
	uint32_t zero = 0;
	patch(path, offsetof(struct ttmem_header, ready), &zero, sizeof(zero));
	/* A creator pid that is certainly dead: a reaped child. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	uint32_t p = (uint32_t)pid;
	patch(path, offsetof(struct ttmem_header, creator_pid), &p, sizeof(p));
	cr_assert_eq(attach_rc(path, 1, err, sizeof(err)), TTMEM_ENOTREADY);
	/* The documented recovery: unlink and create again. */
	cr_assert_eq(ttmem_table_unlink(path), 0);
	struct ttmem_table *t = seg_open_cap(path, 128, 4);
	ttmem_table_close(t);
	unlink(path);
}

Test(open, validate_and_image)
{
	char path[128], err[512];
	seg_path(path, sizeof(path), "image");
	struct ttmem_table *t = seg_writer(path, 128);
	struct ttmem_entry e = mk_entry(1, TTMEM_SPACE_DRAM, 4096, 77);
	cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	size_t len = ttmem_table_header(t)->total_size;
	void *copy = malloc(len);
	memcpy(copy, ttmem_table_header(t), len);
	cr_assert_eq(ttmem_segment_validate(copy, len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ttmem_segment_validate(copy, len - 1, err, sizeof(err)), TTMEM_ETRUNC);
	cr_assert_eq(ttmem_segment_validate(copy, 10, err, sizeof(err)), TTMEM_ETRUNC);
	cr_assert_eq(ttmem_segment_validate(NULL, 0, err, sizeof(err)), TTMEM_ETRUNC);
	struct ttmem_table *img = NULL;
	cr_assert_eq(ttmem_table_from_image(&img, copy, len, err, sizeof(err)), 0, "%s", err);
	struct ttmem_snapshot s;
	cr_assert_eq(ttmem_snapshot(img, &s), 0);
	cr_assert_eq(s.count, 1);
	cr_assert_eq(s.entries[0].size, 77);
	cr_assert_null(ttmem_table_header_rw(img));
	ttmem_snapshot_free(&s);
	ttmem_table_close(img);
	free(copy);
	ttmem_table_close(t);
	unlink(path);
}

Test(open, fallocate_failure_is_clean)
{
	char path[128], err[512];
	seg_path(path, sizeof(path), "efbig");
	struct rlimit old, lim = { 1 << 20, 1 << 20 };
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct ttmem_open_opts o = { .capacity = 1 << 16 };
	struct ttmem_table *t = NULL;
	int rc = ttmem_table_open(&t, path, &o, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	cr_assert_eq(rc, -EFBIG, "%d %s", rc, err);
	cr_assert_null(t);
	cr_assert_eq(access(path, F_OK), -1, "the failed segment was unlinked");
}

struct race_arg {
	const char *path;
};

static int race_child(void *arg)
{
	struct race_arg *a = arg;
	struct ttmem_open_opts o = { .capacity = 1 << 14, .proc_capacity = 64 };
	struct ttmem_table *t = NULL;
	char err[512];
	if (ttmem_table_open(&t, a->path, &o, err, sizeof(err)) != 0)
		return 1;
	if (ttmem_proc_register(t) < 0)
		return 2;
	struct ttmem_entry e = mk_entry(0, 0, (uint64_t)getpid() << 12, 1);
	int rc = ttmem_insert(t, &e) == TTMEM_INSERTED ? 0 : 3;
	ttmem_flush(t);
	ttmem_table_close(t);
	return rc;
}

Test(open, creation_race)
{
	char path[128];
	for (int round = 0; round < 5; round++) {
		seg_path(path, sizeof(path), "race");
		struct race_arg a = { path };
		pid_t pids[12];
		for (int i = 0; i < 12; i++)
			pids[i] = fork_child(race_child, &a);
		for (int i = 0; i < 12; i++)
			cr_assert_eq(wait_child(pids[i]), 0, "child %d", i);
		struct ttmem_table *t = seg_open_cap(path, 0, 0);
		struct ttmem_snapshot s;
		cr_assert_eq(ttmem_snapshot(t, &s), 0);
		cr_assert_eq(s.count, 12);
		cr_assert_eq(CNT(t, events), 12);
		ttmem_snapshot_free(&s);
		ttmem_table_close(t);
		unlink(path);
	}
}

Test(open, validate_random_corruption)
{
	/* Random header corruption: validate never reads out of bounds (ASan
	 * build), and whatever it accepts can be snapshotted safely. */
	char path[128], err[512];
	seg_path(path, sizeof(path), "fuzz");
	struct ttmem_table *t = seg_writer(path, 256);
	for (uint64_t i = 0; i < 100; i++) {
		struct ttmem_entry e = mk_entry(0, (uint8_t)(i & 1), i * 64, i);
		cr_assert_eq(ttmem_insert(t, &e), TTMEM_INSERTED);
	}
	size_t len = ttmem_table_header(t)->total_size;
	uint8_t *img = aligned_alloc(64, len), *orig = malloc(len);
	memcpy(orig, ttmem_table_header(t), len);
	uint64_t x = 0x2545f4914f6cdd1dull;
	int accepted = 0;
	for (int round = 0; round < 20000; round++) {
		memcpy(img, orig, TTMEM_HEADER_SIZE);
		if (round == 0)
			memcpy(img + TTMEM_HEADER_SIZE, orig + TTMEM_HEADER_SIZE, len - TTMEM_HEADER_SIZE);
		int flips = 1 + round % 4;
		for (int f = 0; f < flips; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly the geometry fields (first 128 bytes). */
			size_t off = (size_t)(x % (round % 3 ? 128 : TTMEM_HEADER_SIZE));
			img[off] ^= (uint8_t)(1u << ((x >> 32) & 7));
		}
		size_t l = round % 5 == 0 ? (size_t)(x >> 40) % len : len;
		int rc = ttmem_segment_validate(img, l, err, sizeof(err));
		cr_assert(rc == 0 || (rc <= TTMEM_EMAGIC && rc >= TTMEM_ENOTREADY), "rc %d", rc);
		if (rc == 0) {
			struct ttmem_table *v = NULL;
			cr_assert_eq(ttmem_table_from_image(&v, img, l, err, sizeof(err)), 0);
			struct ttmem_snapshot s;
			cr_assert_eq(ttmem_snapshot(v, &s), 0);
			cr_assert_leq(s.count, 100);
			ttmem_snapshot_free(&s);
			ttmem_table_close(v);
			accepted++;
		}
	}
	cr_assert_gt(accepted, 0);
	free(img);
	free(orig);
	ttmem_table_close(t);
	unlink(path);
}
