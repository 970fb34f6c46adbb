/* SPDX-License-Identifier: MIT */
/*
 * `ttmem export --listen`: one HTTP request (its head, as received) to the
 * whole answer, status line to body, for the server loop (export_http.c)
 * to send and close.  GET and HEAD of /metrics render a fresh snapshot
 * (export_render.c); a segment that cannot be read is a 503 with the reason
 * as the body, which Prometheus records as the target being down with that
 * error.  Every answer closes the connection: a scraper reconnects, and no
 * connection outlives the one request it came for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

static const char *reason(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Status line, headers and (unless HEAD) body into one malloc'd buffer. */
static int answer(unsigned status, const char *type, const char *body, size_t len, int head,
		  char **out, size_t *outlen)
{
	char hdr[320];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n",
			 status, reason(status), type, len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t total;

	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	total = (size_t)n + (head ? 0 : len);
	*out = malloc(total ? total : 1);
	if (!*out)
		return -1;
	memcpy(*out, hdr, (size_t)n);
	if (!head)
		memcpy(*out + n, body, len);
	*outlen = total;
	return 0;
}

static int text(unsigned status, const char *body, int head, char **out, size_t *outlen)
{
	return answer(status, TEXT_TYPE, body, strlen(body), head, out, outlen);
}

int export_reply(const struct export_src *src, struct export_note *note, const char *req,
		 size_t len, char **out, size_t *outlen)
{
	char method[16], target[256], version[16], why[512], body[600];
	const char *eol = memchr(req, '\n', len);
	size_t line = eol ? (size_t)(eol - req) : len;
	char first[300];
	int head;

	if (line >= sizeof(first))
		return text(400, "bad request\n", 0, out, outlen);
	memcpy(first, req, line);
	first[line] = 0;
	if (line && first[line - 1] == '\r')
		first[line - 1] = 0;
	if (sscanf(first, "%15s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7))
		return text(400, "bad request\n", 0, out, outlen);
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head)
		return text(405, "only GET and HEAD\n", 0, out, outlen);
	target[strcspn(target, "?")] = 0;   /* a query string changes nothing */
	if (!strcmp(target, "/metrics")) {
		char *buf;
		size_t n;
		int rc = export_render(src, &buf, &n, why, sizeof(why));

		if (rc == VX_OK) {
			export_note(note, NULL);
			rc = answer(200, CONTENT_TYPE, buf, n, head, out, outlen);
			free(buf);
			return rc;
		}
		export_note(note, why);
		snprintf(body, sizeof(body), "ttmem export: %s\n", why);
		return text(rc == VX_SYSTEM ? 500 : 503, body, head, out, outlen);
	}
	if (!strcmp(target, "/"))
		return text(200, "ttmem exporter: metrics at /metrics\n", head, out, outlen);
	return text(404, "not found: metrics at /metrics\n", head, out, outlen);
}

int export_reply_too_large(char **out, size_t *outlen)
{
	return text(431, "request head too large\n", 0, out, outlen);
}
