/* SPDX-License-Identifier: MIT */
/*
 * A fork while another thread is attaching to the runtime: the child must
 * be able to attach itself (nothing the attaching thread held stays held in
 * the child).  Linked with the preload's objects, so that it can drive the
 * start-up and the attach directly.
 *
 * The attaching thread is held inside runtime_attach by its own debug line:
 * stderr is a pipe filled to the brim, so that write(2) blocks until the
 * parent drains it.  The child writes to /dev/null and has 10 s to attach.
 * Usage: TTMEM_LOG=debug attach_fork LIBTT_METAL   (and TTMEM_SHM)
 * Exit: 0 when the child attached, 1 when it did not, 2 on a setup error.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lifecycle.h"
#include "runtime.h"

static const char *lib;
static volatile pid_t attacher_tid;

static void *attacher(void *arg)
{
	(void)arg;
	attacher_tid = (pid_t)syscall(SYS_gettid);
	/* Loads the runtime, then attaches (blocking on the full stderr). */
	if (!dlopen(lib, RTLD_NOW | RTLD_GLOBAL))
		return NULL;
	runtime_probe();
	return NULL;
}

/* Whether thread `tid` is blocked in write(2, ...). */
static int blocked_in_write(pid_t tid)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strncmp(buf, "1 0x2 ", 6) == 0;
}

int main(int argc, char **argv)
{
	int p[2], st;
	pthread_t th;
	char drain[65536];

	if (argc < 2)
		return 2;
	lib = argv[1];
	if (!getenv("TTMEM_LOG") || strcmp(getenv("TTMEM_LOG"), "debug"))
		return 2;   /* read by the library's constructor, before main */
	if (!lifecycle_ready()) {   /* tracking on, no runtime loaded yet */
		fprintf(stderr, "attach_fork: not tracking\n");
		return 2;
	}
	if (runtime_handle() != NULL || pipe(p) != 0)
		return 2;
	int saved_err = dup(2);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], drain, sizeof(drain)) > 0 || write(p[1], drain, 1) > 0)
		;
	fcntl(p[1], F_SETFL, 0);
	dup2(p[1], 2);
	if (pthread_create(&th, NULL, attacher, NULL) != 0)
		return 2;
	for (int i = 0; !(attacher_tid && blocked_in_write(attacher_tid)); i++) {
		if (i == 10000) {   /* 10 s */
			dup2(saved_err, 2);
			fprintf(stderr, "attach_fork: the attacher never blocked in its log line\n");
			return 2;
		}
		usleep(1000);
	}

	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		alarm(10);
		_exit(runtime_probe() == 1 && runtime_handle() != NULL ? 0 : 1);
	}
	/* Let the attacher finish, then see how the child fared. */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		if (read(p[0], drain, sizeof(drain)) <= 0) {
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			usleep(1000);
		}
	}
	pthread_join(th, NULL);
	dup2(saved_err, 2);
	if (WIFSIGNALED(st)) {
		fprintf(stderr, "attach_fork: the child hung attaching (signal %d)\n",
			WTERMSIG(st));
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "attach_fork: the child did not attach (status %#x)\n", st);
		return 1;
	}
	printf("child attached\n");
	return 0;
}
