/* SPDX-License-Identifier: MIT */
/*
 * Opening files named by a segment, as its owner could (file_access.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file_access.h"

void file_access_for(struct file_access *fa, uid_t owner, gid_t owner_gid, uid_t viewer)
{
	fa->owner = owner;
	fa->owner_gid = owner_gid;
	if (owner == viewer || owner == 0)
		fa->mode = FILE_ACCESS_DIRECT;
	else if (viewer == 0)
		fa->mode = FILE_ACCESS_AS_OWNER;
	else
		fa->mode = FILE_ACCESS_NONE;
}

void file_access_for_segment(struct file_access *fa, const char *shm)
{
	char path[4200];
	struct stat st;

	/* A POSIX shm name lives in /dev/shm; a name with a later '/' is a path
	 * (shm/open.c).  lstat: the segment file itself, as open.c refuses to
	 * follow a link there. */
	if (shm[0] && strchr(shm + 1, '/'))
		snprintf(path, sizeof(path), "%s", shm);
	else
		snprintf(path, sizeof(path), "/dev/shm%s", shm);
	if (lstat(path, &st) != 0) {
		fa->mode = FILE_ACCESS_NONE;
		fa->owner = (uid_t)-1;
		fa->owner_gid = (gid_t)-1;
		return;
	}
	file_access_for(fa, st.st_uid, st.st_gid, geteuid());
}

/* procfs and sysfs files look regular but are views of the kernel. */
static int pseudo_fs(int fd)
{
	struct statfs fs;

	return fstatfs(fd, &fs) != 0 || fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC;
}

/* The checks every opener makes, as whoever it runs as. */
static int open_checked(const char *path, const char **why)
{
	struct stat st;
	int fd;

	if (path[0] != '/') {
		*why = "not-absolute";
		return -1;
	}
	/* Kernel interfaces are never a module: not even opened (/proc/self/mem
	 * passes for a regular file). */
	if (!strncmp(path, "/proc/", 6) || !strncmp(path, "/sys/", 5) || !strncmp(path, "/dev/", 5)) {
		*why = "not-regular";
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*why = errno == EACCES || errno == EPERM ? "not-permitted" :
		       errno == ELOOP ? "symlink" : "no-file";
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pseudo_fs(fd)) {
		*why = "not-regular";
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > FILE_ACCESS_MAX_SIZE) {
		*why = "too-large";
		close(fd);
		return -1;
	}
	return fd;
}

/* In the child: become the owner (groups first, then gid, then uid, which
 * drops the power to change back). */
static int become(uid_t uid, gid_t gid)
{
	struct passwd *pw = getpwuid(uid);
	gid_t groups[256];
	int n = 256;

	if (pw && pw->pw_gid == gid && getgrouplist(pw->pw_name, gid, groups, &n) >= 0) {
		if (setgroups((size_t)n, groups) != 0)
			return -1;
	} else if (setgroups(1, &gid) != 0) {
		return -1;
	}
	if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)
		return -1;
	/* Paranoia: root must be gone for good. */
	return setuid(0) == 0 ? -1 : 0;
}

static const char *const reasons[] = {
	"ok", "not-absolute", "not-permitted", "symlink", "no-file", "not-regular",
	"too-large", "no-credentials",
};

static unsigned char reason_code(const char *why)
{
	for (unsigned i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(why, reasons[i]))
			return (unsigned char)i;
	return 4;
}

static void child_open(int sock, const struct file_access *fa, const char *path)
{
	const char *why = "ok";
	unsigned char code;
	int fd = -1;
	struct msghdr msg = { 0 };
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	if (become(fa->owner, fa->owner_gid) != 0)
		why = "no-credentials";
	else
		fd = open_checked(path, &why);
	code = reason_code(why);
	iov.iov_base = &code;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	_exit(sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : 1);
}

static int open_as_owner(const struct file_access *fa, const char *path, const char **why)
{
	int sv[2], fd = -1, st;
	pid_t pid;
	struct pollfd p;
	unsigned char code = 4;
	struct msghdr msg = { 0 };
	struct iovec iov = { &code, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*why = "no-credentials";
		return -1;
	}
	fflush(NULL);   /* the child must not flush the viewer's buffers again */
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		*why = "no-credentials";
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		child_open(sv[1], fa, path);
	}
	close(sv[1]);
	p.fd = sv[0];
	p.events = POLLIN;
	*why = "timeout";
	if (poll(&p, 1, FILE_ACCESS_TIMEOUT_MS) == 1) {
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		if (recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC) == 1) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

			*why = code < sizeof(reasons) / sizeof(reasons[0]) ? reasons[code] : "no-file";
			if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&fd, CMSG_DATA(c), sizeof(int));
		} else {
			*why = "no-credentials";
		}
	} else {
		kill(pid, SIGKILL);
	}
	close(sv[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (fd >= 0) {
		struct stat s;

		/* Checked again on this side: the child is trusted to open,
		 * not to judge. */
		if (fstat(fd, &s) != 0 || !S_ISREG(s.st_mode) || pseudo_fs(fd) ||
		    (uint64_t)s.st_size > FILE_ACCESS_MAX_SIZE) {
			close(fd);
			*why = "not-regular";
			return -1;
		}
	}
	return fd;
}

int file_access_open(const struct file_access *fa, const char *path, const char **why)
{
	switch (fa->mode) {
	case FILE_ACCESS_DIRECT:
		return open_checked(path, why);
	case FILE_ACCESS_AS_OWNER:
		return open_as_owner(fa, path, why);
	default:
		*why = "not-opened";
		return -1;
	}
}
