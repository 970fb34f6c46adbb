/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export --listen`: the HTTP server, one thread polling the
 * listening socket and every connection, never blocking on any of them
 * (what a request gets back: export_reply.c).
 *
 * No client can starve a scrape: a connection has HTTP_REQUEST_MS from its
 * accept to send its request head and HTTP_TOTAL_MS to be answered in
 * total, however it trickles its bytes (an idle timeout alone lets a client
 * that sends a byte every few seconds hold its slot for ever); each is
 * answered and closed; and when all HTTP_SLOTS slots are taken, a new
 * connection takes the slot of the one that has waited longest for its
 * request head.  A scraper sends its request as soon as it is connected, so
 * it is answered within the time a render takes, whatever other clients on
 * the port do.  The listening socket is bound before anything is served, so
 * a busy port or a bad address is reported with its errno.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "export.h"

#define HTTP_SLOTS 64             /* connections served at once */
#define HTTP_REQUEST_MS 2000      /* accept to the end of the request head */
#define HTTP_TOTAL_MS 5000        /* accept to the last byte of the answer */
#define HTTP_DRAIN_MS 200         /* after the answer, for the client's close */
#define HTTP_MAX_HEAD 8192        /* a request head longer than this is refused */

enum conn_state { C_FREE, C_READ, C_WRITE, C_DRAIN };

/* One connection: its request head as it arrives, then its answer. */
struct conn {
	enum conn_state st;
	int fd;
	uint64_t start_ms, drain_until_ms;
	size_t inlen;
	char in[HTTP_MAX_HEAD];
	char *out;
	size_t outlen, outoff;
};

struct export_http {
	int fd;                       /* listening, non-blocking */
	int stop[2];                  /* a byte in stop[1] ends the thread */
	pthread_t thread;
	struct export_src src;
	struct export_note note;
	struct conn c[HTTP_SLOTS];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->st = C_FREE;
}

/* The answer is out: half-close, then read what the client still sends
 * until it closes (closing with unread input would reset the connection
 * and could cut the answer short at the client). */
static void conn_written(struct conn *c, uint64_t now)
{
	shutdown(c->fd, SHUT_WR);
	free(c->out);
	c->out = NULL;
	c->st = C_DRAIN;
	c->drain_until_ms = now + HTTP_DRAIN_MS;
}

static void conn_send(struct conn *c, uint64_t now)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	conn_written(c, now);
}

/* Whether the head is complete: an empty line ends it. */
static int head_complete(const struct conn *c)
{
	for (size_t i = 0; i + 1 < c->inlen; i++)
		if (c->in[i] == '\n' &&
		    (c->in[i + 1] == '\n' ||
		     (c->in[i + 1] == '\r' && i + 2 < c->inlen && c->in[i + 2] == '\n')))
			return 1;
	return 0;
}

static void conn_read(struct export_http *h, struct conn *c, uint64_t now)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->inlen += (size_t)n;
		if (head_complete(c))
			rc = export_reply(&h->src, &h->note, c->in, c->inlen, &c->out, &c->outlen);
		else if (c->inlen == sizeof(c->in))
			rc = export_reply_too_large(&c->out, &c->outlen);
		else
			continue;
		if (rc != 0) {
			conn_close(c);
			return;
		}
		c->outoff = 0;
		c->st = C_WRITE;
		conn_send(c, now);
		return;
	}
}

static void conn_drain(struct conn *c)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c);   /* the client closed, or failed */
		return;
	}
}

/* A slot for a new connection: a free one, else the one that has waited
 * longest for its request head (else the oldest): a newcomer is never
 * turned away by connections that do not finish their requests. */
static struct conn *slot_for_new(struct export_http *h)
{
	struct conn *oldest = NULL, *oldest_reading = NULL;

	for (size_t i = 0; i < HTTP_SLOTS; i++) {
		struct conn *c = &h->c[i];

		if (c->st == C_FREE)
			return c;
		if (!oldest || c->start_ms < oldest->start_ms)
			oldest = c;
		if (c->st == C_READ && (!oldest_reading || c->start_ms < oldest_reading->start_ms))
			oldest_reading = c;
	}
	oldest = oldest_reading ? oldest_reading : oldest;
	conn_close(oldest);
	return oldest;
}

static void accept_all(struct export_http *h, uint64_t now)
{
	for (;;) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;   /* EAGAIN, or out of descriptors: later */
		}
		struct conn *c = slot_for_new(h);
		c->fd = fd;
		c->st = C_READ;
		c->start_ms = now;
		c->inlen = 0;
		c->outlen = c->outoff = 0;
	}
}

/* Close what is past its time; the poll timeout until the next deadline. */
static int expire(struct export_http *h, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < HTTP_SLOTS; i++) {
		struct conn *c = &h->c[i];
		uint64_t due;

		if (c->st == C_FREE)
			continue;
		due = c->start_ms + (c->st == C_READ ? HTTP_REQUEST_MS : HTTP_TOTAL_MS);
		if (c->st == C_DRAIN && c->drain_until_ms < due)
			due = c->drain_until_ms;
		if (now >= due) {
			conn_close(c);
			continue;
		}
		if (due < next)
			next = due;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static void *serve(void *arg)
{
	struct export_http *h = arg;
	struct pollfd pf[2 + HTTP_SLOTS];
	struct conn *of[2 + HTTP_SLOTS];

	for (;;) {
		int timeout = expire(h, mono_ms());
		nfds_t n = 2;

		pf[0] = (struct pollfd){ .fd = h->stop[0], .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = h->fd, .events = POLLIN };
		for (size_t i = 0; i < HTTP_SLOTS; i++) {
			struct conn *c = &h->c[i];

			if (c->st == C_FREE)
				continue;
			pf[n] = (struct pollfd){ .fd = c->fd,
						 .events = c->st == C_WRITE ? POLLOUT : POLLIN };
			of[n++] = c;
		}
		if (poll(pf, n, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		uint64_t now = mono_ms();
		for (nfds_t k = 2; k < n; k++) {
			struct conn *c = of[k];

			if (!pf[k].revents || c->st == C_FREE)
				continue;
			if (c->st == C_READ)
				conn_read(h, c, now);
			else if (c->st == C_WRITE)
				conn_send(c, now);
			else
				conn_drain(c);
		}
		if (pf[1].revents & POLLIN)
			accept_all(h, now);
	}
	for (size_t i = 0; i < HTTP_SLOTS; i++)
		if (h->c[i].st != C_FREE)
			conn_close(&h->c[i]);
	return NULL;
}

/* Split "HOST:PORT" / "[HOST]:PORT" / ":PORT"; host "" means any address. */
static int split_addr(const char *addr, char *host, size_t hostlen, const char **port)
{
	const char *colon;
	size_t n;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return -1;
		n = (size_t)(close - addr - 1);
		colon = close + 1;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -1; /* IPv6 literals need brackets */
		n = (size_t)(colon - addr);
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = 0;
	*port = colon + 1;
	n = strlen(*port);
	if (n == 0 || n > 5 || strspn(*port, "0123456789") != n || atoi(*port) > 65535)
		return -1;
	return 0;
}

static int listen_on(const char *addr, char *where, size_t wherelen, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], ip[INET6_ADDRSTRLEN];
	const char *port;
	int fd, one = 1, rc;

	if (split_addr(addr, host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "--listen: '%s' is not HOST:PORT ([ADDR]:PORT for IPv6, "
			 "PORT 0-65535)", addr);
		return -1;
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc) {
		snprintf(why, whylen, "--listen %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(why, whylen, "--listen %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(where, wherelen, "http://[%s]:%u/metrics", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(where, wherelen, "http://%s:%u/metrics", ip, ntohs(s4->sin_port));
	}
	return fd;
}

struct export_http *export_http_start(const char *addr, const struct export_src *src,
				      char *where, size_t wherelen, char *why, size_t whylen)
{
	struct export_http *h = calloc(1, sizeof(*h));
	int e;

	if (!h) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return NULL;
	}
	h->src = *src;
	h->note.what = "scrape";
	for (size_t i = 0; i < HTTP_SLOTS; i++)
		h->c[i].fd = -1;
	h->fd = listen_on(addr, where, wherelen, why, whylen);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	if (fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    pipe2(h->stop, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "--listen %s: %s", addr, strerror(errno));
		goto fail;
	}
	e = pthread_create(&h->thread, NULL, serve, h);
	if (e) {
		snprintf(why, whylen, "--listen %s: cannot start the server thread: %s", addr,
			 strerror(e));
		close(h->stop[0]);
		close(h->stop[1]);
		goto fail;
	}
	return h;
fail:
	close(h->fd);
	free(h);
	return NULL;
}

void export_http_stop(struct export_http *h)
{
	char x = 1;

	if (!h)
		return;
	/* Pairs with the poll on stop[0] in serve(). */
	while (write(h->stop[1], &x, 1) < 0 && errno == EINTR)
		;
	pthread_join(h->thread, NULL);
	close(h->stop[0]);
	close(h->stop[1]);
	close(h->fd);
	free(h);
}
