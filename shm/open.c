/* SPDX-License-Identifier: MIT */
/*
 * Create and attach a segment (its validation: layout.c; the handle: handle.c).
 *
 * Creation and recovery, one protocol: whoever builds a segment under the
 * name (a creator after O_CREAT|O_EXCL, or a writer re-creating a stale one)
 * holds flock(LOCK_EX) on it from before it is sized until `ready` is
 * published.  The kernel drops that lock when its holder dies, so a segment
 * that is not published and not locked has no live creator: it is stale
 * (empty, all zeros, or a header without `ready`: a creator killed while
 * building it), and the next writer re-creates it in place, under the same
 * lock (never racing a live creator: the lock is taken with LOCK_NB, and a
 * creator that finds it taken backs off and attaches).  A segment that is
 * locked is being built: writers wait for it at most WRITER_WAIT_MS (a host
 * program is never held longer: the preload then retries the attach, without
 * waiting, at later hooks until the segment is published), readers
 * READER_WAIT_MS.  A file that is not a ttmem segment of our ABI major
 * (foreign magic, other major, a non-empty size below a header that is not
 * all zeros) is refused at once with its own code and never touched.
 *
 * The creator sizes the object (ftruncate), reserves its pages
 * (posix_fallocate: a full /dev/shm fails here, never as SIGBUS later),
 * fills the header and publishes header.ready last with release.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define READER_WAIT_MS 2000   /* viewer: a live creator may be slow */
#define WRITER_WAIT_MS TTMEM_WRITER_WAIT_MS  /* host program: never held longer
						* (table.h says why this long) */

/* seg_attach's verdict on an unpublished segment no one is building: the
 * caller (a creating writer) re-creates it. */
#define SEG_STALE 1

static int name_is_path(const char *name)
{
	return name[0] && strchr(name + 1, '/') != NULL;
}

/*
 * Open the object, never blocking: O_NONBLOCK, so that a FIFO (or a device)
 * planted under the name cannot hang the open (a read-only open of a FIFO
 * waits for a writer); then a regular file is required before anything else
 * reads or maps it (-1 with errno EINVAL and *notreg set otherwise), and
 * O_NONBLOCK is cleared again.
 */
static int seg_open(const char *name, int flags, mode_t mode, int *notreg)
{
	struct stat st;
	int fd, e;

	*notreg = 0;
	flags |= O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
	fd = name_is_path(name) ? open(name, flags, mode) : shm_open(name, flags, mode);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		*notreg = 1;
		e = EINVAL;
		goto fail;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		e = errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = e;
	return -1;
}

/* Whether the name still refers to the object open as `fd` (it may have
 * been unlinked, or replaced, since we opened it). */
static int name_is_fd(const char *name, int fd)
{
	struct stat a, b;
	int notreg, fd2 = seg_open(name, O_RDONLY, 0, &notreg);
	int same;

	if (fd2 < 0)
		return 0;
	same = fstat(fd, &a) == 0 && fstat(fd2, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
	close(fd2);
	return same;
}

/* Whether a live process holds the build lock of the object (a creator or
 * a re-creator at work).  A shared probe: it never blocks. */
static int build_locked(int fd)
{
	int saved = errno, held;

	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		held = 0;
	} else {
		held = errno == EWOULDBLOCK;
	}
	errno = saved;
	return held;
}

int ttmem_table_unlink(const char *name)
{
	if (!name || !name[0])
		return -EINVAL;
	int rc = name_is_path(name) ? unlink(name) : shm_unlink(name);
	return rc ? -errno : 0;
}

/* The creator: size, reserve, fill, publish, on an empty object whose build
 * lock it holds.  Unlinks the name on failure. */
static int seg_create(struct ttmem_table *t, int fd, const char *name,
		      const struct ttmem_open_opts *o, char *eb, size_t el)
{
	uint64_t cap = o->capacity ? o->capacity : TTMEM_DEFAULT_CAPACITY;
	uint32_t pcap = o->proc_capacity ? o->proc_capacity : TTMEM_DEFAULT_PROC_CAPACITY;
	uint32_t mcap = o->module_capacity ? o->module_capacity : TTMEM_DEFAULT_MODULE_CAPACITY;
	struct ttmem_layout l;
	void *p = MAP_FAILED;
	int rc;

	if (!ttmem_is_pow2(cap) || cap < TTMEM_MIN_CAPACITY || cap > TTMEM_MAX_CAPACITY ||
	    pcap > TTMEM_MAX_PROC_CAPACITY || mcap > TTMEM_MAX_MODULE_CAPACITY) {
		rc = ttmem_set_err(eb, el, -EINVAL,
				   "%s: bad geometry requested (capacity %llu, %u processes, %u modules)",
				   name, (unsigned long long)cap, pcap, mcap);
		goto fail;
	}
	rc = ttmem_access_apply(fd, name, o, eb, el);
	if (rc)
		goto fail;
	ttmem_layout_compute(&l, cap, pcap, mcap);
	if (ftruncate(fd, (off_t)l.total_size) != 0) {
		rc = ttmem_set_err(eb, el, -errno, "%s: cannot size to %llu bytes: %s", name,
				   (unsigned long long)l.total_size, strerror(errno));
		goto fail;
	}
	rc = posix_fallocate(fd, 0, (off_t)l.total_size);
	if (rc != 0) {
		rc = ttmem_set_err(eb, el, -rc, "%s: cannot reserve %llu bytes: %s", name,
				   (unsigned long long)l.total_size, strerror(rc));
		goto fail;
	}
	p = mmap(NULL, l.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		rc = ttmem_set_err(eb, el, -errno, "%s: mmap: %s", name, strerror(errno));
		goto fail;
	}
	/* Reserved pages of tmpfs are zeroed at their first fault, and until
	 * then the kernel's fault-around (16 pages mapped per read fault) skips
	 * them.  Writers read the meta lines of groups hashed over the whole
	 * table: fault the meta array in once, here (~0.1 ms at the default
	 * size), so that every process later maps it 64 KiB per fault
	 * (N / 65,536 faults at most) instead of 4 KiB (N / 4,096).  Best
	 * effort: before Linux 5.14 (EINVAL) the first reads do it. */
#ifdef MADV_POPULATE_READ
	(void)madvise((char *)p + l.meta_offset, l.slot_offset - l.meta_offset,
		      MADV_POPULATE_READ);
#endif
	/* The object was empty (O_EXCL, or truncated to 0 by a re-creator), so
	 * it is zero now: fill the header. */
	struct ttmem_header *h = p;
	h->magic = TTMEM_MAGIC;
	h->abi_major = TTMEM_ABI_MAJOR;
	h->abi_minor = TTMEM_ABI_MINOR;
	h->header_size = TTMEM_HEADER_SIZE;
	h->slot_size = sizeof(struct ttmem_slot);
	h->proc_size = sizeof(struct ttmem_proc);
	h->module_size = sizeof(struct ttmem_module);
	h->stack_size = sizeof(struct ttmem_stack);
	h->stack_capacity = l.stack_capacity;
	h->stack_offset = l.stack_offset;
	h->device_size = sizeof(struct ttmem_device_info);
	h->capacity = cap;
	h->proc_capacity = pcap;
	h->module_capacity = mcap;
	h->device_capacity = TTMEM_MAX_DEVICES;
	h->creator_uid = (uint32_t)geteuid();
	h->total_size = l.total_size;
	h->device_offset = l.device_offset;
	h->proc_offset = l.proc_offset;
	h->module_offset = l.module_offset;
	h->meta_offset = l.meta_offset;
	h->slot_offset = l.slot_offset;
	h->created_ns = ttmem_now_ns();
	__atomic_store_n(&h->creator_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	atomic_store_explicit(&h->clear_epoch, 1, memory_order_relaxed);
	/* Publish last; pairs with the acquire load in ttmem_segment_validate. */
	atomic_store_explicit(&h->ready, TTMEM_READY, memory_order_release);
	/* Drop the build lock now: closing the fd would not (the mapping keeps
	 * the open file, and with it the lock, alive). */
	flock(fd, LOCK_UN);

	t->writable = 1;
	t->owns_mapping = 1;
	rc = ttmem_table_bind(t, p, l.total_size, h);
	if (rc)
		goto fail;
	return 0;
fail:
	if (p != MAP_FAILED)
		munmap(p, l.total_size);
	ttmem_table_unlink(name);
	flock(fd, LOCK_UN);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* What lies under the name, before it is mapped for good. */
enum seg_kind {
	SEG_PUBLISHED,    /* `ready` set: validate it */
	SEG_FOREIGN,      /* not ours (magic, major, odd size): validate says which */
	SEG_UNPUBLISHED,  /* empty, all zeros, or our header without `ready` */
	SEG_ZEROS_OTHERS, /* a zero first page, but not ttmem's (stale_rule.c) */
};

/* Classify the object from its first page, read with pread (never through a
 * mapping: a file shrinking under us must not SIGBUS here).  *what: a short
 * description for messages. */
static enum seg_kind seg_classify(int fd, const char *name, const struct stat *st,
				  const char **what, uint32_t *creator)
{
	uint8_t page[TTMEM_HEADER_SIZE];
	struct ttmem_header h;
	ssize_t n;

	*creator = 0;
	if (st->st_size == 0) {
		*what = "an empty file";
		return SEG_UNPUBLISHED;
	}
	n = pread(fd, page, sizeof(page), 0);
	if (n <= 0) {
		*what = "an empty file";
		return SEG_UNPUBLISHED; /* shrank to nothing meanwhile */
	}
	int zero = 1;
	for (ssize_t i = 0; i < n && zero; i++)
		zero = page[i] == 0;
	/* Zeros where a creator killed after sizing leaves them: the whole
	 * file when shorter than a page, else a zero first page and a size a
	 * creator would have given (pages; a segment's size always is). */
	int whole = n < (ssize_t)sizeof(page);
	if (zero && (whole || st->st_size % TTMEM_HEADER_SIZE == 0)) {
		/* Only a file that is ttmem's: re-creating another one would
		 * lose all it holds past its first page. */
		if (!ttmem_zeros_are_ours(name, (uint64_t)st->st_size)) {
			*what = "a first page of zeros, but neither named nor sized as ttmem's";
			return SEG_ZEROS_OTHERS;
		}
		*what = "all zeros";
		return SEG_UNPUBLISHED;
	}
	if (n < (ssize_t)sizeof(h)) {
		*what = "smaller than a header";
		return SEG_FOREIGN;
	}
	memcpy(&h, page, sizeof(h));
	if (h.magic != TTMEM_MAGIC || h.abi_major != TTMEM_ABI_MAJOR) {
		*what = "not a ttmem segment of this ABI";
		return SEG_FOREIGN;
	}
	*creator = h.creator_pid;
	if (h.ready == TTMEM_READY) {
		*what = "published";
		return SEG_PUBLISHED;
	}
	*what = "a header never published";
	return SEG_UNPUBLISHED;
}

/*
 * Attach an existing object: checks; an unpublished one is waited for while
 * its build lock is held (until the budget counted from `t0`, the start of
 * the whole open, runs out), else reported stale (SEG_STALE for a
 * creating writer, which re-creates it; TTMEM_ENOTREADY for the others).
 */
static int seg_attach(struct ttmem_table *t, int fd, const char *name,
		      const struct ttmem_open_opts *o, uint64_t t0, char *eb, size_t el)
{
	int creating = !o->readonly && !o->no_create;
	uint64_t budget = o->no_wait ? 0 : o->wait_ms ? o->wait_ms :
			  creating ? WRITER_WAIT_MS : READER_WAIT_MS;
	int stale_seen = 0;
	struct stat st;
	void *p = MAP_FAILED;
	size_t len = 0;
	int rc;

	for (;;) {
		const char *what;
		uint32_t creator;

		if (fstat(fd, &st) != 0)
			return ttmem_set_err(eb, el, -errno, "%s: fstat: %s", name, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return ttmem_set_err(eb, el, -EINVAL, "%s: not a regular file", name);
		if (st.st_nlink > 1)
			return ttmem_set_err(eb, el, -EMLINK, "%s: refused: %lu hard links", name,
					     (unsigned long)st.st_nlink);
		if (!o->readonly && !ttmem_access_writer_ok((uint32_t)st.st_uid, &st, o))
			return ttmem_set_err(eb, el, TTMEM_EOWNER,
					     "%s: owned by uid %u, not by this user (uid %u)", name,
					     (unsigned)st.st_uid, (unsigned)geteuid());
		/* A reader never waits on a lock another user may hold: any
		 * user who can open the file can take it (root's viewer
		 * stalled 2 s per such file). */
		if (!creating && st.st_uid != geteuid())
			budget = 0;
		enum seg_kind k = seg_classify(fd, name, &st, &what, &creator);
		if (k == SEG_ZEROS_OTHERS)
			return ttmem_set_err(eb, el, TTMEM_EMAGIC, "%s: not a ttmem segment (%s): "
					     "not touched", name, what);
		if (k == SEG_FOREIGN && st.st_size < (off_t)TTMEM_HEADER_SIZE)
			return ttmem_set_err(eb, el, TTMEM_ETRUNC, "%s: %lld bytes, smaller than a header",
					     name, (long long)st.st_size);
		if (k != SEG_UNPUBLISHED)
			break;
		if (!build_locked(fd)) {
			/* No live creator.  A reader confirms once, 1 ms later:
			 * a creator takes the lock just after its O_EXCL open. */
			if (creating)
				return SEG_STALE;
			if (stale_seen++) {
				if (creator)
					return ttmem_set_err(eb, el, TTMEM_ENOTREADY,
							     "%s: stale: %s (creator pid %u is gone); the next "
							     "tracked program or 'ttmem clear' re-creates it",
							     name, what, creator);
				return ttmem_set_err(eb, el, TTMEM_ENOTREADY,
						     "%s: stale: %s, and no process is creating it; the "
						     "next tracked program or 'ttmem clear' re-creates it",
						     name, what);
			}
		} else if (ttmem_mono_ms() - t0 >= budget) {
			return ttmem_set_err(eb, el, TTMEM_ENOTREADY,
					     "%s: %s, still being created by a live process after %llu ms",
					     name, what, (unsigned long long)(ttmem_mono_ms() - t0));
		}
		sleep_ms(1);
	}

	len = (size_t)st.st_size;
	p = mmap(NULL, len, o->readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return ttmem_set_err(eb, el, -errno, "%s: mmap: %s", name, strerror(errno));
	t->owns_mapping = 1;
	t->base = p;
	t->len = len;
	/* Validation reads the mapping: guard it already. */
	ttmem_guard_add(t);
	struct ttmem_header copy;
	rc = ttmem_validate_copy(p, len, &copy, t->err, sizeof(t->err));
	if (rc == 0 && !ttmem_table_intact(t))
		rc = ttmem_set_err(t->err, sizeof(t->err), TTMEM_ETRUNC,
				   "shrank while being opened");
	if (rc) {
		ttmem_set_err(eb, el, rc, "%s: %s", name, t->err);
		goto fail;
	}
	if (!o->readonly && !ttmem_access_writer_ok(copy.creator_uid, &st, o)) {
		rc = ttmem_set_err(eb, el, TTMEM_EOWNER, "%s: created by uid %u, not by this user",
				   name, copy.creator_uid);
		goto fail;
	}
	t->writable = !o->readonly;
	rc = ttmem_table_bind(t, p, len, &copy);
	if (rc) {
		ttmem_set_err(eb, el, rc, "%s: out of memory", name);
		goto fail;
	}
	return 0;
fail:
	ttmem_guard_remove(t);
	t->owns_mapping = 0;
	munmap(p, len);
	return rc;
}

/*
 * Re-create, in place, the stale segment open as `fd`: take its build lock
 * (without waiting: someone else taking it is re-creating it, and we attach
 * theirs), check that the name still refers to it and that it is still
 * unpublished, empty it, build it anew.  Returns 0 (built), -EAGAIN (try the
 * open again) or an error.
 */
static int seg_recreate(struct ttmem_table *t, int fd, const char *name,
			const struct ttmem_open_opts *o, char *eb, size_t el)
{
	struct stat st;
	const char *what;
	uint32_t creator;

	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		return -EAGAIN;
	if (!name_is_fd(name, fd) || fstat(fd, &st) != 0 ||
	    seg_classify(fd, name, &st, &what, &creator) != SEG_UNPUBLISHED)
		return -EAGAIN;
	/* The mode a creator gives it, whatever the stale file had (it may
	 * have been planted writable by others). */
	if (ftruncate(fd, 0) != 0 || fchmod(fd, o->mode ? (mode_t)o->mode : 0600) != 0)
		return ttmem_set_err(eb, el, -errno, "%s: cannot empty the stale segment: %s", name,
				     strerror(errno));
	/* Said when something was overwritten: an empty object is also what
	 * a live creator has between its O_EXCL open and its lock (it then
	 * attaches this one), which is no loss. */
	if (st.st_size > 0)
		snprintf(t->recreated, sizeof(t->recreated), "%s", what);
	return seg_create(t, fd, name, o, eb, el);
}

int ttmem_table_open(struct ttmem_table **out, const char *name,
		     const struct ttmem_open_opts *opts, char *errbuf, size_t errlen)
{
	static const struct ttmem_open_opts defaults;
	const struct ttmem_open_opts *o = opts ? opts : &defaults;
	struct ttmem_table *t = NULL;
	int fd = -1, rc;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!name || !name[0] || strlen(name) >= sizeof(t->name))
		return ttmem_set_err(errbuf, errlen, -EINVAL, "bad segment name");
	t = ttmem_table_alloc(name);
	if (!t)
		return ttmem_set_err(errbuf, errlen, -ENOMEM, "%s: out of memory", name);

	uint64_t t0 = ttmem_mono_ms(); /* one wait budget for all attempts */
	for (int attempt = 0; attempt < 100; attempt++) {
		int notreg = 0;
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (!o->readonly && !o->no_create) {
			mode_t mode = o->mode ? (mode_t)o->mode : 0600;
			fd = seg_open(name, O_RDWR | O_CREAT | O_EXCL, mode, &notreg);
			if (fd >= 0) {
				/* The build lock, before the object has a size.  Taken:
				 * someone judged our empty object stale and re-creates
				 * it; gone from the name: a 'ttmem clear' removed it. */
				if (flock(fd, LOCK_EX | LOCK_NB) != 0 || !name_is_fd(name, fd))
					continue;
				/* Still empty?  A creator delayed between its open and
				 * its lock may find the object judged stale, re-created
				 * and published by another writer meanwhile: attach it
				 * then, never build over it. */
				struct stat st;
				if (fstat(fd, &st) != 0 || st.st_size != 0)
					continue;
				rc = seg_create(t, fd, name, o, errbuf, errlen);
				goto done;
			}
			if (errno != EEXIST) {
				rc = ttmem_set_err(errbuf, errlen, -errno, "%s: cannot create: %s",
						   name, strerror(errno));
				goto done;
			}
		}
		fd = seg_open(name, o->readonly ? O_RDONLY : O_RDWR, 0, &notreg);
		if (fd >= 0) {
			rc = seg_attach(t, fd, name, o, t0, errbuf, errlen);
			if (rc == SEG_STALE) {
				rc = seg_recreate(t, fd, name, o, errbuf, errlen);
				if (rc == -EAGAIN)
					continue;
			}
			goto done;
		}
		if (notreg) {
			rc = ttmem_set_err(errbuf, errlen, -EINVAL, "%s: not a regular file", name);
			goto done;
		}
		/* Unlinked between our O_EXCL and open (a creator that failed):
		 * try again; otherwise report. */
		if (errno != ENOENT || o->readonly || o->no_create)
			break;
	}
	rc = ttmem_set_err(errbuf, errlen, fd >= 0 ? -EAGAIN : -errno, "%s: cannot open: %s", name,
			   fd >= 0 ? "contended without end" : strerror(errno));
done:
	if (rc == 0 && fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0) {
			t->dev = (uint64_t)st.st_dev;
			t->ino = (uint64_t)st.st_ino;
		}
		/* Readers and the viewer's write operations keep the object
		 * open (data map, reap lock); a host program does not keep an
		 * fd of ours it could close or reuse. */
		if (o->readonly || o->no_create) {
			t->fd = fd;
			fd = -1;
			ttmem_datamap_refresh(t);
		}
	}
	if (fd >= 0)
		close(fd); /* also drops the build lock */
	if (rc) {
		free(t);
		return rc;
	}
	t->id = 0;
	ttmem_handles_add(t);
	*out = t;
	return 0;
}

int ttmem_table_remove_stale(const char *name, char *errbuf, size_t errlen)
{
	struct stat st;
	const char *what = "";
	uint32_t creator;
	int notreg, fd, rc;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!name || !name[0])
		return -EINVAL;
	fd = seg_open(name, O_RDWR, 0, &notreg);
	if (fd < 0)
		return errno == ENOENT ? 0 : ttmem_set_err(errbuf, errlen, -errno, "%s: %s", name,
							   strerror(errno));
	rc = 0;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || st.st_nlink > 1)
		goto out;
	/* The build lock, as a re-creator takes it: a live creator holds it. */
	if (seg_classify(fd, name, &st, &what, &creator) != SEG_UNPUBLISHED ||
	    flock(fd, LOCK_EX | LOCK_NB) != 0)
		goto out;
	if (name_is_fd(name, fd) && fstat(fd, &st) == 0 &&
	    seg_classify(fd, name, &st, &what, &creator) == SEG_UNPUBLISHED) {
		rc = ttmem_table_unlink(name);
		if (rc == 0) {
			ttmem_set_err(errbuf, errlen, 0, "%s", what);
			rc = 1;
		}
	}
out:
	close(fd);
	return rc;
}
