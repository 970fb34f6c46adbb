/* SPDX-License-Identifier: MIT */
/*
 * Opening the segment from the viewer, and the one mapping from table.h's
 * error classes to the viewer's exit codes (documented in ttmem.1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "viewer.h"

int viewer_exit_code(int err)
{
	switch (err) {
	case 0:
		return VX_OK;
	case -ENOENT:
		return VX_NOSEG;
	case -EACCES:
	case -EPERM:
	case TTMEM_EOWNER:
		return VX_PERM;
	case TTMEM_EMAGIC:
		return VX_MAGIC;
	case TTMEM_EVERSION:
		return VX_VERSION;
	case TTMEM_ETRUNC:
		return VX_TRUNC;
	case TTMEM_ESIZE:
		return VX_SIZE;
	case TTMEM_ECORRUPT:
		return VX_CORRUPT;
	case TTMEM_ENOTREADY:
		return VX_NOTREADY;
	default:
		return VX_SYSTEM;
	}
}

/*
 * The core reports a segment whose `ready` word is not set as never
 * published, before it looks at the magic (a creator may still be filling
 * the header).  A file that carries another non-zero magic is no ttmem
 * segment at all: classify it as foreign, which is what the user needs to
 * hear.  Returns TTMEM_EMAGIC with the magic in *magic, or 0.
 */
static int foreign_magic(const char *name, uint64_t *magic)
{
	int fd = name[0] && strchr(name + 1, '/') ? open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) :
						    shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, magic, sizeof(*magic), 0);
	close(fd);
	if (n != (ssize_t)sizeof(*magic) || *magic == 0 || *magic == TTMEM_MAGIC)
		return 0;
	return TTMEM_EMAGIC;
}

int viewer_attach(const char *sub, const char *name, int writable, struct ttmem_table **out)
{
	return viewer_attach_ex(sub, name, writable, 0, out);
}

int viewer_attach_snapshot(const char *sub, const char *name, struct ttmem_table **out,
			   struct ttmem_snapshot *snap)
{
	int rc = viewer_attach(sub, name, 0, out);

	if (rc)
		return rc;
	rc = ttmem_snapshot(*out, snap);
	if (rc < 0) {
		viewer_err(sub, "%s: snapshot: %s", name, ttmem_strerror(rc));
		ttmem_table_close(*out);
		*out = NULL;
		return viewer_exit_code(rc);
	}
	return 0;
}

int viewer_attach_ex(const char *sub, const char *name, int writable, int quiet_noseg,
		     struct ttmem_table **out)
{
	struct ttmem_open_opts opts;
	char errbuf[256] = "";
	int rc;

	memset(&opts, 0, sizeof(opts));
	*out = NULL;
	if (!name || !*name) {
		viewer_err(sub, "--shm: an empty segment name (give /NAME or a file path)");
		return VX_USAGE;
	}
	/* A writer may use a segment another user shares with its group, when
	 * it names that group too (table.h, "Sharing a segment"). */
	if (writable && ttmem_access_parse(&opts, getenv("TTMEM_SHM_MODE"),
					   getenv("TTMEM_SHM_GROUP"), errbuf, sizeof(errbuf)) < 0) {
		viewer_err(sub, "%s", errbuf);
		return VX_USAGE;
	}
	opts.readonly = !writable;
	opts.no_create = 1;
	rc = ttmem_table_open(out, name, &opts, errbuf, sizeof(errbuf));
	if (rc == 0 && *out)
		return VX_OK;
	if (rc == 0) /* defensive: success without a handle */
		rc = -EIO;
	if (rc == TTMEM_ENOTREADY) {
		uint64_t magic;

		if (foreign_magic(name, &magic) == TTMEM_EMAGIC) {
			viewer_err(sub, "%s: foreign magic 0x%016llx: not a ttmem segment", name,
				   (unsigned long long)magic);
			return VX_MAGIC;
		}
	}
	if (rc == -ENOENT && quiet_noseg)
		return VX_NOSEG;
	if (rc == -ENOENT)
		viewer_err(sub, "no segment %s (nothing tracked yet? run a program under "
			   "'ttmem run' or LD_PRELOAD=libttmem.so)", name);
	else if (errbuf[0])
		viewer_err(sub, "%s", errbuf);
	else
		viewer_err(sub, "%s: %s", name, ttmem_strerror(rc));
	return viewer_exit_code(rc);
}

int viewer_check_intact(const char *sub, const char *name, const struct ttmem_table *t)
{
	char path[4096];
	struct stat st;

	if (ttmem_table_intact(t))
		return VX_OK;
	if (name[0] && strchr(name + 1, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	if (stat(path, &st) == 0)
		viewer_err(sub, "%s: the segment shrank while being read (%lld bytes now, %llu when "
			   "opened): nothing reported; its owner truncated or replaced it",
			   name, (long long)st.st_size,
			   (unsigned long long)ttmem_table_header(t)->total_size);
	else
		viewer_err(sub, "%s: the segment shrank while being read: nothing reported", name);
	return VX_RESIZED;
}

int viewer_shm_identity(const char *name, dev_t *dev, ino_t *ino)
{
	char path[4096];
	struct stat st;

	if (name[0] && strchr(name + 1, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/dev/shm/%s", name[0] == '/' ? name + 1 : name);
	if (stat(path, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

void viewer_registry_each(const struct ttmem_table *t, viewer_proc_fn fn, void *arg)
{
	const struct ttmem_proc *pr = ttmem_table_procs(t);
	uint32_t n = ttmem_table_header(t)->proc_capacity;

	if (n > TTMEM_MAX_PROC_CAPACITY)
		n = TTMEM_MAX_PROC_CAPACITY;
	for (uint32_t i = 0; i < n; i++) {
		/* Acquire: pairs with the registering writer's release of ctl. */
		uint64_t ctl = atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&pr[i].ctl,
						    memory_order_acquire);

		if ((ctl & 0xff) != TTMEM_PROC_FREE)
			fn(&pr[i], i, (unsigned)(ctl & 0xff), arg);
	}
}
