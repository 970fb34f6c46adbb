/* SPDX-License-Identifier: MIT */
/*
 * Wall time of whole processes, start to exit: runs CMD N times one after
 * the other (stdout and stderr to /dev/null) and prints "ns_per_run X
 * cpu_ns_per_run Y": wall time and CPU time (user + system, from wait4:
 * what the process itself spent, whatever else the shared machine runs;
 * page faults are system time).
 * NAME=VALUE and "-u NAME" before CMD set or unset variables of CMD's
 * environment (like env(1), but without an env process in what is timed,
 * which would load an LD_PRELOAD library once more).  Exits 1 if a run
 * fails, 2 on bad usage.
 * Usage: timeit N [NAME=VALUE | -u NAME]... CMD [ARGS...]
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	long n = argc > 2 ? strtol(argv[1], NULL, 10) : 0;
	int c = 2;

	while (c < argc && (strchr(argv[c], '=') || (!strcmp(argv[c], "-u") && c + 1 < argc))) {
		if (!strcmp(argv[c], "-u"))
			unsetenv(argv[++c]);
		else
			putenv(argv[c]);
		c++;
	}
	if (n < 1 || c >= argc) {
		fprintf(stderr, "usage: timeit N [NAME=VALUE | -u NAME]... CMD [ARGS...]\n");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	long long t0 = now_ns(), cpu = 0;
	for (long i = 0; i < n; i++) {
		struct rusage ru;
		pid_t pid;
		int st;
		if (posix_spawnp(&pid, argv[c], &fa, NULL, argv + c, environ) != 0 ||
		    wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "timeit: %s failed\n", argv[c]);
			return 1;
		}
		cpu += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	}
	printf("ns_per_run %lld cpu_ns_per_run %lld\n", (now_ns() - t0) / n, cpu / n);
	return 0;
}
