/* SPDX-License-Identifier: MIT */
/*
 * The socket baseline's client, as an LD_PRELOAD library: hooks the same two
 * GraphTracker calls as libttmem.so, reads the Buffer through the same ABI
 * profile (so both sides pay the same to read the runtime's objects), and
 * sends one message per event and chip to sockserver, synchronously, as the
 * seed design's AllocationClient does.  Socket path: $TTMEM_BENCH_SOCK.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "abi.h"
#include "sockproto.h"

#define EXPORT __attribute__((visibility("default")))

static int sock = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static abi_track_fn orig_alloc, orig_free;

static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("TTMEM_BENCH_SOCK");

	orig_alloc = (abi_track_fn)dlsym(RTLD_NEXT, ABI_SYM_TRACK_ALLOCATE);
	orig_free = (abi_track_fn)dlsym(RTLD_NEXT, ABI_SYM_TRACK_DEALLOCATE);
	abi_bind(RTLD_DEFAULT);
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock >= 0 && connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(sock);
		sock = -1;
	}
}

static void report(const void *buffer, uint8_t type)
{
	struct abi_buffer b;
	struct abi_chips c;
	struct sock_msg m;
	struct timespec ts;
	int saved = errno;

	if (sock < 0 || abi_buffer_read(buffer, &b) != 0 || !(b.trusted & ABI_T_DEVICE) ||
	    abi_device_chips(b.device, &c) != 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.buffer_type = b.type;
	m.pid = (uint32_t)getpid();
	m.address = b.address;
	m.size = b.size;
	m.timestamp_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	pthread_mutex_lock(&send_lock);
	for (uint32_t i = 0; i < c.n; i++) {
		m.device = c.id[i];
		if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
			break;
	}
	pthread_mutex_unlock(&send_lock);
out:
	errno = saved;
}

EXPORT void sock_track_allocate(void *self, void *buffer) __asm__(ABI_SYM_TRACK_ALLOCATE);
void sock_track_allocate(void *self, void *buffer)
{
	pthread_once(&once, setup);
	if (orig_alloc)
		orig_alloc(self, buffer);
	report(buffer, SOCK_MSG_ALLOC);
}

EXPORT void sock_track_deallocate(void *self, void *buffer) __asm__(ABI_SYM_TRACK_DEALLOCATE);
void sock_track_deallocate(void *self, void *buffer)
{
	pthread_once(&once, setup);
	report(buffer, SOCK_MSG_FREE);
	if (orig_free)
		orig_free(self, buffer);
}
