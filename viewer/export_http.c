/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export --listen`: /metrics over HTTP through libmicrohttpd, which
 * does the protocol (request parsing, keep-alive, timeouts, HEAD).  The
 * listening socket is ours: bound here, so that a busy port or a bad
 * address is reported with its errno before anything is served.  One
 * internal thread answers the requests in turn; a scrape renders a fresh
 * snapshot (export_render.c), and a segment that cannot be read gives 503
 * with the reason as the body, which Prometheus records as the target
 * being down with that error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct export_http {
	struct MHD_Daemon *daemon;
	int fd;
	struct export_src src;
	struct export_note note;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ok;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return reply(c, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
		     MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result metrics(struct export_http *h, struct MHD_Connection *c)
{
	char *buf, why[512], body[600];
	size_t len;
	int rc = export_render(&h->src, &buf, &len, why, sizeof(why));

	if (rc == VX_OK) {
		export_note(&h->note, NULL);
		return reply(c, MHD_HTTP_OK, CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
	}
	export_note(&h->note, why);
	snprintf(body, sizeof(body), "ttmem export: %s\n", why);
	return reply_text(c, rc == VX_SYSTEM ? MHD_HTTP_INTERNAL_SERVER_ERROR :
		     MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return metrics(cls, c);
	if (!strcmp(url, "/"))
		return reply_text(c, MHD_HTTP_OK, "ttmem exporter: metrics at /metrics\n");
	return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: metrics at /metrics\n");
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

	if (!h) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return NULL;
	}
	h->src = *src;
	h->note.what = "scrape";
	h->fd = listen_on(addr, where, wherelen, why, whylen);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	/* Bounded: a client that connects and says nothing is dropped after
	 * 10 s, and a few connections at once are plenty for scrapers. */
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer, h,
				     MHD_OPTION_LISTEN_SOCKET, h->fd,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
				     MHD_OPTION_END);
	if (!h->daemon) {
		snprintf(why, whylen, "--listen %s: the HTTP server (libmicrohttpd) did not start",
			 addr);
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

void export_http_stop(struct export_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon); /* closes the listening socket too */
	free(h);
}
