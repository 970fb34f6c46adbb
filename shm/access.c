/* SPDX-License-Identifier: MIT */
/*
 * Who may use a segment besides its owner (table.h, "Sharing a segment").
 *
 * By default a segment is 0600 and writers refuse one they do not own: a
 * segment is a record other users would otherwise be able to forge or read
 * (process names, command lines, module paths).  A segment can be shared
 * with ONE group, chosen by its creator (mode 0640: the group reads; 0660:
 * the group also writes).  Never with everyone: a world-writable segment
 * would let any local user plant entries and strings that other users'
 * viewers read, so no mode with "other" bits is accepted.
 *
 * A writer attaches a segment it does not own only when it asked for that
 * group itself (TTMEM_SHM_GROUP), the file is in that group and
 * group-writable and not world-writable, and the writer is a member: the
 * kernel's permission check alone would also accept a file someone else
 * made group-writable without the writer knowing.
 */
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int ttmem_access_parse(struct ttmem_open_opts *o, const char *mode, const char *group,
		       char *errbuf, size_t errlen)
{
	if (mode && *mode) {
		char *end;
		unsigned long m;

		errno = 0;
		m = strtoul(mode, &end, 8);
		if (errno || *end || (m != 0600 && m != 0640 && m != 0660))
			return ttmem_set_err(errbuf, errlen, -EINVAL,
					     "TTMEM_SHM_MODE=%s is not 0600, 0640 or 0660 (a segment is "
					     "never shared with every user)", mode);
		o->mode = (uint32_t)m;
	}
	if (group && *group) {
		char *end;
		unsigned long g;

		errno = 0;
		g = strtoul(group, &end, 10);
		if (!errno && !*end && g <= UINT32_MAX - 1) {
			o->gid = (uint32_t)g;
		} else {
			struct group gr, *res = NULL;
			char buf[4096];

			if (getgrnam_r(group, &gr, buf, sizeof(buf), &res) != 0 || !res)
				return ttmem_set_err(errbuf, errlen, -EINVAL,
						     "TTMEM_SHM_GROUP=%s: no such group", group);
			o->gid = (uint32_t)res->gr_gid;
		}
		o->set_group = 1;
		/* A group asked for without a mode: it reads, least privilege. */
		if (!o->mode)
			o->mode = 0640;
	}
	return 0;
}

static int in_group(gid_t gid)
{
	gid_t list[256];
	int n;

	if (getegid() == gid)
		return 1;
	n = getgroups((int)(sizeof(list) / sizeof(list[0])), list);
	for (int i = 0; i < n; i++)
		if (list[i] == gid)
			return 1;
	return 0;
}

int ttmem_access_apply(int fd, const char *name, const struct ttmem_open_opts *o, char *eb,
		       size_t el)
{
	mode_t mode = o->mode ? (mode_t)o->mode : 0600;

	/* Exactly the mode asked for, whatever the umask made of it. */
	if (fchmod(fd, mode) != 0)
		return ttmem_set_err(eb, el, -errno, "%s: cannot set mode %04o: %s", name,
				     (unsigned)mode, strerror(errno));
	if (o->set_group && fchown(fd, (uid_t)-1, (gid_t)o->gid) != 0)
		return ttmem_set_err(eb, el, -errno, "%s: cannot give it to group %u: %s", name,
				     (unsigned)o->gid, strerror(errno));
	return 0;
}

int ttmem_access_writer_ok(uint32_t owner_uid, const struct stat *st,
			   const struct ttmem_open_opts *o)
{
	if (owner_uid == (uint32_t)geteuid())
		return 1;
	return o->set_group && st->st_gid == (gid_t)o->gid && (st->st_mode & S_IWGRP) &&
	       !(st->st_mode & (S_IWOTH | S_IROTH)) && in_group((gid_t)o->gid);
}
