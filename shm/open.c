/* SPDX-License-Identifier: MIT */
/*
 * Create, attach and validate a segment; the handle's accessors.
 *
 * Creation race: O_CREAT|O_EXCL picks exactly one creator.  It sizes the
 * object (ftruncate), reserves its pages (posix_fallocate: a full /dev/shm
 * fails here, never as SIGBUS later), fills the header and publishes
 * header.ready last with release.  Attachers wait (bounded) until the size and
 * `ready` are there; a segment whose creator died before publishing is
 * reported as TTMEM_ENOTREADY at once.  A file that is not a ttmem segment of
 * our ABI major (foreign magic, other major, non-zero size below a header) is
 * refused at once with its own code, never waited for.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define ATTACH_WAIT_MS 2000

int ttmem_set_err(char *buf, size_t len, int code, const char *fmt, ...)
{
	if (buf && len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return code;
}

uint64_t ttmem_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ttmem_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

void ttmem_layout_compute(struct ttmem_layout *l, uint64_t capacity, uint32_t proc_capacity,
			  uint32_t module_capacity)
{
	l->device_offset = TTMEM_HEADER_SIZE;
	l->proc_offset = l->device_offset + (uint64_t)TTMEM_MAX_DEVICES * sizeof(struct ttmem_device_info);
	l->module_offset = l->proc_offset + (uint64_t)proc_capacity * sizeof(struct ttmem_proc);
	l->meta_offset = l->module_offset + (uint64_t)module_capacity * sizeof(struct ttmem_module);
	l->slot_offset = round_up(l->meta_offset + capacity, 4096);
	l->total_size = l->slot_offset + capacity * sizeof(struct ttmem_slot);
}

const char *ttmem_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case TTMEM_EMAGIC: return "not a ttmem segment (foreign magic)";
	case TTMEM_EVERSION: return "ttmem segment of another ABI major version";
	case TTMEM_ETRUNC: return "ttmem segment truncated";
	case TTMEM_ESIZE: return "ttmem segment size does not match its header";
	case TTMEM_ECORRUPT: return "ttmem segment header is corrupt";
	case TTMEM_EOWNER: return "ttmem segment owned by another user";
	case TTMEM_ENOTREADY: return "ttmem segment was never published (creator died?)";
	case TTMEM_EFULL: return "ttmem table full";
	case TTMEM_ENOTFOUND: return "no such entry in the ttmem table";
	default:
		if (err < 0 && err > -4096)
			return strerror(-err);
		return "unknown ttmem error";
	}
}

/* ---- validation ------------------------------------------------------------------ */

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/*
 * Validate into *copy: the checks run on a private copy of the header (taken
 * after the acquire load of `ready`), and the handle is built from that copy,
 * so a segment changed under us after validation can never steer a reader
 * out of bounds.
 */
static int validate_copy(const void *base, size_t len, struct ttmem_header *copy, char *errbuf,
			 size_t errlen)
{
	const struct ttmem_header *h = copy;
	struct ttmem_layout l;

	if (!base || len < TTMEM_HEADER_SIZE)
		return ttmem_set_err(errbuf, errlen, TTMEM_ETRUNC,
				     "%zu bytes, smaller than a header (%u)", len, TTMEM_HEADER_SIZE);
	/* Acquire: pairs with the creator's release store of `ready`.  (An
	 * arbitrary buffer, e.g. the fuzzer's, may be misaligned: plain copy.) */
	uint32_t ready;
	if ((uintptr_t)base % 8)
		memcpy(&ready, (const char *)base + offsetof(struct ttmem_header, ready), sizeof(ready));
	else
		ready = atomic_load_explicit(&((const struct ttmem_header *)base)->ready,
					     memory_order_acquire);
	memcpy(copy, base, offsetof(struct ttmem_header, clear_epoch));
	if (h->magic != TTMEM_MAGIC)
		return ttmem_set_err(errbuf, errlen, TTMEM_EMAGIC,
				     "foreign magic 0x%016llx", (unsigned long long)h->magic);
	if (h->abi_major != TTMEM_ABI_MAJOR)
		return ttmem_set_err(errbuf, errlen, TTMEM_EVERSION,
				     "ABI %u.%u, this build reads %u.x", h->abi_major, h->abi_minor,
				     TTMEM_ABI_MAJOR);
	if (ready != TTMEM_READY)
		return ttmem_set_err(errbuf, errlen, TTMEM_ENOTREADY,
				     "never published by its creator (pid %u)", h->creator_pid);
	if (h->header_size != TTMEM_HEADER_SIZE || h->slot_size != sizeof(struct ttmem_slot) ||
	    h->proc_size != sizeof(struct ttmem_proc) || h->module_size != sizeof(struct ttmem_module) ||
	    h->device_size != sizeof(struct ttmem_device_info))
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "record sizes header %u slot %u proc %u module %u device %u do not match",
				     h->header_size, h->slot_size, h->proc_size, h->module_size,
				     h->device_size);
	if (!is_pow2(h->capacity) || h->capacity < TTMEM_MIN_CAPACITY ||
	    h->capacity > TTMEM_MAX_CAPACITY)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "capacity %llu is not a power of two in [%u, %u]",
				     (unsigned long long)h->capacity, TTMEM_MIN_CAPACITY,
				     TTMEM_MAX_CAPACITY);
	if (h->proc_capacity == 0 || h->proc_capacity > TTMEM_MAX_PROC_CAPACITY ||
	    h->module_capacity == 0 || h->module_capacity > TTMEM_MAX_MODULE_CAPACITY ||
	    h->device_capacity != TTMEM_MAX_DEVICES)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "absurd capacities: %u processes, %u modules, %u devices",
				     h->proc_capacity, h->module_capacity, h->device_capacity);
	ttmem_layout_compute(&l, h->capacity, h->proc_capacity, h->module_capacity);
	if (h->device_offset != l.device_offset || h->proc_offset != l.proc_offset ||
	    h->module_offset != l.module_offset || h->meta_offset != l.meta_offset ||
	    h->slot_offset != l.slot_offset)
		return ttmem_set_err(errbuf, errlen, TTMEM_ECORRUPT,
				     "region offsets do not match the capacities");
	/* A newer minor may append regions: total_size may then be larger. */
	if (h->total_size != l.total_size &&
	    !(h->abi_minor > TTMEM_ABI_MINOR && h->total_size > l.total_size &&
	      h->total_size - l.total_size < (UINT64_C(1) << 40)))
		return ttmem_set_err(errbuf, errlen, TTMEM_ESIZE,
				     "header says %llu bytes, its geometry needs %llu",
				     (unsigned long long)h->total_size,
				     (unsigned long long)l.total_size);
	if (len < h->total_size)
		return ttmem_set_err(errbuf, errlen, TTMEM_ETRUNC,
				     "%zu bytes, the header says %llu", len,
				     (unsigned long long)h->total_size);
	if (len > h->total_size)
		return ttmem_set_err(errbuf, errlen, TTMEM_ESIZE,
				     "%zu bytes, the header says %llu", len,
				     (unsigned long long)h->total_size);
	return 0;
}

int ttmem_segment_validate(const void *base, size_t len, char *errbuf, size_t errlen)
{
	struct ttmem_header copy;
	return validate_copy(base, len, &copy, errbuf, errlen);
}

/* ---- handles --------------------------------------------------------------------- */

static struct ttmem_table *table_alloc(const char *name)
{
	struct ttmem_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->magic = TTMEM_TABLE_MAGIC;
	t->proc_idx = -1;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "(image)");
	return t;
}

/* Fill the geometry fields of `t` from the validated copy `h` of the header
 * of the image at `base` (never from the image itself). */
static int table_bind(struct ttmem_table *t, uint8_t *base, size_t len, const struct ttmem_header *h)
{
	t->base = base;
	t->len = len;
	t->hdr = (struct ttmem_header *)(void *)base;
	t->devices = (struct ttmem_device_info *)(void *)(base + h->device_offset);
	t->procs = (struct ttmem_proc *)(void *)(base + h->proc_offset);
	t->modules = (struct ttmem_module *)(void *)(base + h->module_offset);
	t->meta = base + h->meta_offset;
	t->slots = (struct ttmem_slot *)(void *)(base + h->slot_offset);
	t->capacity = h->capacity;
	t->group_mask = t->capacity / TTMEM_GROUP_SLOTS - 1;
	t->proc_capacity = h->proc_capacity;
	t->module_capacity = h->module_capacity;
	if (t->writable) {
		t->live_cache = calloc(t->proc_capacity, sizeof(*t->live_cache));
		if (!t->live_cache)
			return -ENOMEM;
	}
	return 0;
}

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

int ttmem_table_unlink(const char *name)
{
	if (!name || !name[0])
		return -EINVAL;
	int rc = name_is_path(name) ? unlink(name) : shm_unlink(name);
	return rc ? -errno : 0;
}

/* The creator: size, reserve, fill, publish.  Unlinks on failure. */
static int seg_create(struct ttmem_table *t, int fd, const char *name,
		      const struct ttmem_open_opts *o, char *eb, size_t el)
{
	uint64_t cap = o->capacity ? o->capacity : TTMEM_DEFAULT_CAPACITY;
	uint32_t pcap = o->proc_capacity ? o->proc_capacity : TTMEM_DEFAULT_PROC_CAPACITY;
	uint32_t mcap = o->module_capacity ? o->module_capacity : TTMEM_DEFAULT_MODULE_CAPACITY;
	struct ttmem_layout l;
	void *p = MAP_FAILED;
	int rc;

	if (!is_pow2(cap) || cap < TTMEM_MIN_CAPACITY || cap > TTMEM_MAX_CAPACITY ||
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
	/* The object is fresh (O_EXCL) and therefore zero: fill the header. */
	struct ttmem_header *h = p;
	h->magic = TTMEM_MAGIC;
	h->abi_major = TTMEM_ABI_MAJOR;
	h->abi_minor = TTMEM_ABI_MINOR;
	h->header_size = TTMEM_HEADER_SIZE;
	h->slot_size = sizeof(struct ttmem_slot);
	h->proc_size = sizeof(struct ttmem_proc);
	h->module_size = sizeof(struct ttmem_module);
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

	t->writable = 1;
	t->owns_mapping = 1;
	rc = table_bind(t, p, l.total_size, h);
	if (rc)
		goto fail;
	return 0;
fail:
	if (p != MAP_FAILED)
		munmap(p, l.total_size);
	ttmem_table_unlink(name);
	return rc;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Attach an existing object: checks, then bounded wait for publication. */
static int seg_attach(struct ttmem_table *t, int fd, const char *name,
		      const struct ttmem_open_opts *o, char *eb, size_t el)
{
	struct stat st;
	void *p = MAP_FAILED;
	size_t len = 0;
	int rc;

	for (int waited = 0;; waited++) {
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
		/* The creator sizes the object in one ftruncate: only size 0
		 * can be a creation in progress. */
		if (st.st_size > 0 && st.st_size < (off_t)TTMEM_HEADER_SIZE)
			return ttmem_set_err(eb, el, TTMEM_ETRUNC, "%s: %lld bytes, smaller than a header",
					     name, (long long)st.st_size);
		if (st.st_size >= (off_t)TTMEM_HEADER_SIZE) {
			const struct ttmem_header *h;
			len = (size_t)st.st_size;
			p = mmap(NULL, len, o->readonly ? PROT_READ : PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
			if (p == MAP_FAILED)
				return ttmem_set_err(eb, el, -errno, "%s: mmap: %s", name,
						     strerror(errno));
			h = p;
			/* What the file is before whether it is published: a
			 * foreign magic or another ABI major is final (validate
			 * says which).  Zero there may be a creation in progress
			 * (the header is filled after the ftruncate). */
			uint64_t magic = __atomic_load_n(&h->magic, __ATOMIC_RELAXED);
			uint16_t major = __atomic_load_n(&h->abi_major, __ATOMIC_RELAXED);
			if (magic != 0 && (magic != TTMEM_MAGIC || (major != 0 && major != TTMEM_ABI_MAJOR)))
				break;
			if (atomic_load_explicit(&h->ready, memory_order_acquire) == TTMEM_READY)
				break;
			/* Creator dead before publishing: it never will. */
			uint32_t cpid = __atomic_load_n(&h->creator_pid, __ATOMIC_RELAXED);
			if (cpid && kill((pid_t)cpid, 0) != 0 && errno == ESRCH)
				waited = ATTACH_WAIT_MS;
			munmap(p, len);
			p = MAP_FAILED;
		}
		if (waited >= ATTACH_WAIT_MS) {
			return ttmem_set_err(eb, el, TTMEM_ENOTREADY,
					     "%s: never published by its creator", name);
		}
		sleep_ms(1);
	}

	struct ttmem_header copy;
	rc = validate_copy(p, len, &copy, t->err, sizeof(t->err));
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
	t->owns_mapping = 1;
	rc = table_bind(t, p, len, &copy);
	if (rc) {
		ttmem_set_err(eb, el, rc, "%s: out of memory", name);
		goto fail;
	}
	return 0;
fail:
	munmap(p, len);
	return rc;
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
	t = table_alloc(name);
	if (!t)
		return ttmem_set_err(errbuf, errlen, -ENOMEM, "%s: out of memory", name);

	for (int attempt = 0; attempt < 100; attempt++) {
		int notreg = 0;
		if (!o->readonly && !o->no_create) {
			mode_t mode = o->mode ? (mode_t)o->mode : 0600;
			fd = seg_open(name, O_RDWR | O_CREAT | O_EXCL, mode, &notreg);
			if (fd >= 0) {
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
			rc = seg_attach(t, fd, name, o, errbuf, errlen);
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
	rc = ttmem_set_err(errbuf, errlen, -errno, "%s: cannot open: %s", name, strerror(errno));
done:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(t);
		return rc;
	}
	t->id = 0;
	ttmem_handles_add(t);
	*out = t;
	return 0;
}

int ttmem_table_from_image(struct ttmem_table **out, const void *base, size_t len,
			   char *errbuf, size_t errlen)
{
	struct ttmem_table *t;
	struct ttmem_header copy;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = validate_copy(base, len, &copy, errbuf, errlen);
	if (rc)
		return rc;
	t = table_alloc(NULL);
	if (!t)
		return -ENOMEM;
	table_bind(t, (uint8_t *)(uintptr_t)base, len, &copy);
	ttmem_handles_add(t);
	*out = t;
	return 0;
}

void ttmem_table_close(struct ttmem_table *t)
{
	if (!t)
		return;
	ttmem_handles_remove(t);
	if (t->owns_mapping)
		munmap(t->base, t->len);
	free(t->live_cache);
	t->magic = 0;
	free(t);
}

const struct ttmem_header *ttmem_table_header(const struct ttmem_table *t) { return t->hdr; }
const struct ttmem_proc *ttmem_table_procs(const struct ttmem_table *t) { return t->procs; }
const struct ttmem_module *ttmem_table_modules(const struct ttmem_table *t) { return t->modules; }
const struct ttmem_device_info *ttmem_table_devices(const struct ttmem_table *t) { return t->devices; }
const struct ttmem_slot *ttmem_table_slots(const struct ttmem_table *t) { return t->slots; }
const uint8_t *ttmem_table_meta(const struct ttmem_table *t) { return t->meta; }
int ttmem_table_proc_index(const struct ttmem_table *t) { return t->proc_idx; }

struct ttmem_header *ttmem_table_header_rw(struct ttmem_table *t)
{
	return t->writable ? t->hdr : NULL;
}

struct ttmem_proc *ttmem_table_procs_rw(struct ttmem_table *t)
{
	return t->writable ? t->procs : NULL;
}

struct ttmem_device_info *ttmem_table_devices_rw(struct ttmem_table *t)
{
	return t->writable ? t->devices : NULL;
}
