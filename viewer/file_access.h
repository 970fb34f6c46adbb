/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE to the viewer: opening files whose paths came from a segment
 * (module paths for symbolization, and the debug files they name), as the
 * segment's owner could, never more (ttmem(1), TRUST MODEL).
 *
 *   - The segment's owner is the viewer's user, or root: opened as the
 *     viewer (they could read them anyway).
 *   - The viewer is root and the owner another user: opened by a child that
 *     took the owner's uid, gid and groups, which hands the descriptor back
 *     (so a file the owner cannot read stays closed).
 *   - Otherwise (another unprivileged user): not opened at all.
 *
 * Whoever opens: absolute paths only, never under /proc, /sys or /dev,
 * O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, then fstat and fstatfs before any
 * read: regular files only, not on procfs or sysfs (never a device such as
 * /dev/kmsg or /dev/tty, a FIFO, /proc/self/mem), at most
 * FILE_ACCESS_MAX_SIZE bytes; the child has FILE_ACCESS_TIMEOUT_MS per file.
 */
#ifndef TTMEM_VIEWER_FILE_ACCESS_H
#define TTMEM_VIEWER_FILE_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

#define FILE_ACCESS_MAX_SIZE    (UINT64_C(4) << 30)
#define FILE_ACCESS_TIMEOUT_MS  2000

enum file_access_mode {
	FILE_ACCESS_DIRECT = 0,   /* as the viewer */
	FILE_ACCESS_AS_OWNER = 1, /* through a child with the owner's credentials */
	FILE_ACCESS_NONE = 2,     /* never */
};

struct file_access {
	enum file_access_mode mode;
	uid_t owner;
	gid_t owner_gid;
};

/* The policy for a segment named `shm` (its owner from the file itself,
 * not from anything the segment says).  An unknown owner: NONE. */
void file_access_for_segment(struct file_access *fa, const char *shm);
/* The policy for a segment owned by `owner` as seen by a viewer running
 * with effective uid `viewer`. */
void file_access_for(struct file_access *fa, uid_t owner, gid_t owner_gid, uid_t viewer);

/*
 * Open `path` for reading under policy `fa`.  Returns a descriptor of a
 * regular file, or -1 with a short reason in `why` ("not-regular",
 * "too-large", "no-file", "not-permitted", "timeout", ...).
 */
int file_access_open(const struct file_access *fa, const char *path, const char **why);

#endif /* TTMEM_VIEWER_FILE_ACCESS_H */
