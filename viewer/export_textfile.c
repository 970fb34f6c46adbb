/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export --textfile DIR`: files for node-exporter's textfile
 * collector, which reads every .prom file in DIR at each of its scrapes.  A
 * file written in place could be read half-written; so each exposition goes to a
 * hidden temporary file in DIR (the collector ignores names not ending in
 * .prom) and is renamed over the old one, which is atomic within a
 * directory: a reader sees the old file or the new one, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"

int export_textfile_path(char *out, size_t len, const char *dir, const char *shm)
{
	const char *base = strrchr(shm, '/');
	char name[256];
	size_t n = 0;
	int w;

	base = base ? base + 1 : shm;
	/* Names from the command line, but a path all the same: keep it to
	 * characters that need no quoting and cannot climb out of DIR. */
	for (; *base && n + 1 < sizeof(name); base++)
		name[n++] = (char)((*base >= 'a' && *base <= 'z') || (*base >= 'A' && *base <= 'Z') ||
				   (*base >= '0' && *base <= '9') || *base == '-' || *base == '_' ?
				   *base : '_');
	name[n] = 0;
	if (!n)
		strcpy(name, "ttmem");
	w = snprintf(out, len, "%s/%s.prom", dir, name);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static int fail(char *why, size_t whylen, const char *what, const char *path)
{
	int e = errno;

	snprintf(why, whylen, "%s %s: %s", what, path, strerror(e));
	return -e;
}

/* A hidden temporary file next to `path`, its name in tmp: the fd or -errno. */
static int make_temp(const char *path, char *tmp, size_t tmplen, char *why, size_t whylen)
{
	const char *slash = strrchr(path, '/');
	int fd, w;

	w = slash ? snprintf(tmp, tmplen, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)
		  : snprintf(tmp, tmplen, ".%s.XXXXXX", path);
	if (w < 0 || (size_t)w >= tmplen) {
		errno = ENAMETOOLONG;
		return fail(why, whylen, "cannot write", path);
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return fail(why, whylen, "cannot create a file next to", path);
	return fd;
}

int export_textfile_check(const char *path, char *why, size_t whylen)
{
	char tmp[4200];
	int fd = make_temp(path, tmp, sizeof(tmp), why, whylen);

	if (fd < 0)
		return fd;
	close(fd);
	unlink(tmp);
	return 0;
}

int export_textfile_write(const char *path, const char *buf, size_t len, char *why,
			  size_t whylen)
{
	char tmp[4200];
	int fd = make_temp(path, tmp, sizeof(tmp), why, whylen), w;
	size_t off = 0;

	if (fd < 0)
		return fd;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			w = fail(why, whylen, "cannot write", tmp);
			goto undo;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0644) < 0) {
		w = fail(why, whylen, "cannot chmod", tmp);
		goto undo;
	}
	if (close(fd) < 0) {
		fd = -1;
		w = fail(why, whylen, "cannot write", tmp);
		goto undo;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		w = fail(why, whylen, "cannot rename into", path);
		goto undo;
	}
	return 0;
undo:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return w;
}
