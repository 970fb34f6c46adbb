/* SPDX-License-Identifier: MIT */
/*
 * The seed design's allocation server, minimal: an AF_UNIX stream socket,
 * one fixed-size message per allocation or free, a hash map keyed by
 * {device, address} holding the live allocations.  Only the baseline of
 * `make bench`: it is what ttmem replaces.
 *
 * Usage: sockserver PATH   (prints "ready" on stdout once listening, runs
 * until SIGTERM/SIGINT, then prints its counts on stderr)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <uthash.h>

#include "sockproto.h"

struct alloc {
	struct { uint64_t address; uint32_t device; uint32_t pad; } key;
	uint64_t size;
	UT_hash_handle hh;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

#define MAX_CLIENTS 64

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd fds[MAX_CLIENTS + 1];
	struct alloc *live = NULL;
	unsigned nfds = 1;
	uint64_t msgs = 0, unmatched = 0;
	int ls;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: sockserver PATH\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
		perror("sockserver");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	fds[0] = (struct pollfd){ .fd = ls, .events = POLLIN };
	while (!stop) {
		if (poll(fds, nfds, 200) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if ((fds[0].revents & POLLIN) && nfds < MAX_CLIENTS + 1) {
			int c = accept(ls, NULL, NULL);
			if (c >= 0)
				fds[nfds++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
		for (unsigned i = 1; i < nfds; i++) {
			struct sock_msg m[64];
			ssize_t n;

			if (!(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = recv(fds[i].fd, m, sizeof(m), MSG_WAITALL | MSG_DONTWAIT);
			if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) {
				close(fds[i].fd);
				fds[i--] = fds[--nfds];
				continue;
			}
			if (n < 0)
				continue;
			/* A stream: a partial message is completed by a blocking read. */
			size_t rem = (size_t)n % sizeof(m[0]);
			if (rem && recv(fds[i].fd, (char *)m + n, sizeof(m[0]) - rem, MSG_WAITALL) > 0)
				n += (ssize_t)(sizeof(m[0]) - rem);
			for (size_t k = 0; k < (size_t)n / sizeof(m[0]); k++) {
				struct alloc probe, *a;

				memset(&probe.key, 0, sizeof(probe.key));
				probe.key.address = m[k].address;
				probe.key.device = m[k].device;
				HASH_FIND(hh, live, &probe.key, sizeof(probe.key), a);
				msgs++;
				if (m[k].type == SOCK_MSG_ALLOC) {
					if (!a) {
						a = calloc(1, sizeof(*a));
						if (!a)
							continue;
						a->key = probe.key;
						HASH_ADD(hh, live, key, sizeof(a->key), a);
					}
					a->size = m[k].size;
				} else if (a) {
					HASH_DEL(live, a);
					free(a);
				} else {
					unmatched++;
				}
			}
		}
	}
	fprintf(stderr, "sockserver: %llu messages, %u live, %llu unmatched\n",
		(unsigned long long)msgs, HASH_COUNT(live), (unsigned long long)unmatched);
	unlink(argv[1]);
	return 0;
}
