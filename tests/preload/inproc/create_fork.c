/* SPDX-License-Identifier: MIT */
/*
 * A fork while another thread creates the segment, then the creator's
 * process dies at once: the child must not keep the creator's build lock
 * (the lock belongs to the open file, which a fork shares), or the
 * segment would stay "being built" for as long as the child lives, and
 * every tracked program after it would wait and run untracked.
 *
 * The creating thread is held inside the creation by posix_fallocate,
 * interposed here (the table core is linked in statically).  The child
 * lives on for 10 s; the parent exits right after its fork returns.
 * Usage: create_fork   (TTMEM_SHM names a segment that does not exist)
 * Exit: 0 once forked (the driver then checks the segment), 2 on a setup
 * error.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lifecycle.h"

static int in_creation[2];

int posix_fallocate(int fd, off_t off, off_t len)
{
	static int once;
	char x = 1;

	if (!once++) {
		/* Inside the creation, build lock held: let main fork now,
		 * and give its fork the time to happen. */
		if (write(in_creation[1], &x, 1) != 1)
			return 5;
		usleep(300 * 1000);
	}
	return syscall(SYS_fallocate, fd, 0, off, len) == 0 ? 0 : 28;
}

static void *creator(void *arg)
{
	(void)arg;
	lifecycle_ready();
	return NULL;
}

int main(void)
{
	pthread_t th;
	char x;

	if (pipe(in_creation) != 0 || pthread_create(&th, NULL, creator, NULL) != 0)
		return 2;
	if (read(in_creation[0], &x, 1) != 1)
		return 2;
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		/* Lives on, holding whatever it inherited. */
		for (int fd = 0; fd < 3; fd++)
			close(fd);
		sleep(10);
		_exit(0);
	}
	printf("%d\n", (int)pid);
	fflush(stdout);
	_exit(0);   /* the creator dies, the child lives */
}
