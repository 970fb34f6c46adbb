/* SPDX-License-Identifier: MIT */
/*
 * Can other clients on the port starve `ttmem export --listen`?  Sixteen
 * hostile clients, eight silent (connect, send nothing) and eight
 * trickling a request head a byte at a time, reconnecting whenever the
 * server drops them, while a scraper scrapes /metrics every 200 ms for
 * DURATION_MS.  Every scrape must be a 200 with the exposition.
 *
 *   starve TTMEM SHM MAX_MS   exit 1 unless every scrape succeeded within
 *                             MAX_MS (make check, a generous bound)
 *   starve TTMEM SHM          print the slowest scrape as a BENCH line
 *
 * TTMEM is the viewer binary, SHM a segment it can read.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOSTILE 16
#define DURATION_MS 12000   /* past every timeout an idle-only server had (10 s) */
#define SCRAPE_EVERY_MS 200

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Start `ttmem export --listen 127.0.0.1:0`; its port from its first line
 * on stderr ("serving http://127.0.0.1:PORT/metrics ..."). */
static pid_t start_export(const char *ttmem, const char *shm, int *port)
{
	int p[2];
	char line[512];
	size_t n = 0;

	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(ttmem, ttmem, "export", "--shm", shm, "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n < sizeof(line) - 1 && read(p[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	/* Keep its stderr open (and drained by nobody: it writes little). */
	const char *at = strstr(line, "127.0.0.1:");
	if (!at || sscanf(at, "127.0.0.1:%d", port) != 1) {
		fprintf(stderr, "starve: export did not start: %s\n", line);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static int connect_to(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr = { htonl(INADDR_LOOPBACK) } };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* A hostile client: silent, or one more byte of a request that never ends. */
struct hostile {
	int fd;
	int trickle;
	size_t sent;
};

/* Whether the server dropped it (readable: EOF, an answer, an error). */
static int dropped(int fd)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };

	return poll(&pf, 1, 0) > 0;
}

static void hostile_step(struct hostile *h, int port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";

	if (h->fd >= 0 && dropped(h->fd)) {
		close(h->fd);
		h->fd = -1;
	}
	if (h->fd < 0) {
		h->fd = connect_to(port);
		h->sent = 0;
		return;
	}
	if (h->trickle) {
		char c = h->sent < sizeof(req) - 1 ? req[h->sent] : 'a';

		if (send(h->fd, &c, 1, MSG_NOSIGNAL) == 1)
			h->sent++;
	}
}

/* One scrape: ms it took, or -1 when it did not get a 200 with metrics. */
static double scrape(int port, char *why, size_t len)
{
	static char buf[1 << 20];
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	double t0 = now_ms();
	size_t n = 0;
	ssize_t k;
	int fd = connect_to(port);

	if (fd < 0) {
		snprintf(why, len, "connect: %s", strerror(errno));
		return -1;
	}
	/* Bounded: a server that never answers fails the scrape, not the run. */
	struct timeval tv = { 15, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		snprintf(why, len, "send: %s", strerror(errno));
		close(fd);
		return -1;
	}
	while (n < sizeof(buf) - 1 && (k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = 0;
	double ms = now_ms() - t0;
	if (strncmp(buf, "HTTP/1.1 200", 12) || !strstr(buf, "\nttmem_info{")) {
		snprintf(why, len, "after %.0f ms: %zu bytes: %.60s", ms, n, buf);
		return -1;
	}
	return ms;
}

int main(int argc, char **argv)
{
	struct hostile h[HOSTILE];
	double worst = 0, max_ms = argc > 3 ? atof(argv[3]) : 0;
	int port, scrapes = 0, failed = 0;
	char why[200];

	if (argc < 3) {
		fprintf(stderr, "usage: starve TTMEM SHM [MAX_MS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	pid_t ex = start_export(argv[1], argv[2], &port);
	if (ex < 0)
		return 1;
	for (int i = 0; i < HOSTILE; i++)
		h[i] = (struct hostile){ .fd = connect_to(port), .trickle = i % 2 };
	/* The hostile clients hold their connections before the first scrape. */
	sleep_ms(100);
	double end = now_ms() + DURATION_MS;
	while (now_ms() < end) {
		for (int i = 0; i < HOSTILE; i++)
			hostile_step(&h[i], port);
		double ms = scrape(port, why, sizeof(why));
		scrapes++;
		if (ms < 0) {
			failed++;
			fprintf(stderr, "starve: scrape %d failed: %s\n", scrapes, why);
		} else if (ms > worst) {
			worst = ms;
		}
		sleep_ms(SCRAPE_EVERY_MS);
	}
	for (int i = 0; i < HOSTILE; i++)
		if (h[i].fd >= 0)
			close(h[i].fd);
	kill(ex, SIGTERM);
	waitpid(ex, NULL, 0);
	if (max_ms > 0) {
		printf("starve: %d scrapes under %d silent or trickling clients: %d failed, the "
		       "slowest took %.1f ms (bound %.0f ms)\n", scrapes, HOSTILE, failed, worst,
		       max_ms);
		return failed || worst > max_ms ? 1 : 0;
	}
	printf("BENCH export_slowest_scrape_ms_16_slow_clients %.1f ms\n", worst);
	printf("BENCH export_failed_scrapes_16_slow_clients %d of %d\n", failed, scrapes);
	return 0;
}
