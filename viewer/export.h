/* SPDX-License-Identifier: MIT */
/*
 * PRIVATE header of `ttmem export` (cmd_export.c and its parts):
 *
 *   export_render.c    one exposition from a fresh, validated snapshot
 *   export_http.c      the HTTP server: slots, deadlines, never blocking
 *   export_reply.c     one request to its whole answer
 *   export_textfile.c  atomic files for node-exporter's textfile collector
 */
#ifndef TTMEM_VIEWER_EXPORT_H
#define TTMEM_VIEWER_EXPORT_H

#include <stddef.h>

#include "viewer.h"

struct export_src {
	const char *shm;              /* segment name */
	enum prom_procs which;        /* processes to list */
	enum prom_series series;      /* and their series */
};

/*
 * Open the segment, snapshot it, render it, close it: nothing is kept
 * between two calls, so a segment removed, re-created or damaged between
 * scrapes is seen as it is now.  On success 0 and the exposition in *buf
 * (malloc'd, *len bytes); on failure the exit code (viewer.h) that `show`
 * would give and one line saying why in `why`.
 */
int export_render(const struct export_src *src, char **buf, size_t *len, char *why,
		  size_t whylen);

/* What went wrong last, so that a failure repeated at every scrape is said
 * once on stderr, and its end said too (cmd_export.c).  One per thread. */
struct export_note {
	const char *what;             /* "scrape", "textfile" */
	char last[1024];              /* "" while all is well */
};

/* `why` NULL: this round went well. */
void export_note(struct export_note *n, const char *why);

/* ---- HTTP ------------------------------------------------------------------ */

struct export_http;

/*
 * Bind `addr` ("HOST:PORT", "[V6]:PORT" or ":PORT" for every address; PORT
 * 0 picks a free one) and serve src on /metrics from a thread of its own.
 * The caller blocks its termination signals first (the thread inherits the
 * mask).  On failure NULL with the reason in `why`.  `where` gets the bound
 * address as a URL ("http://127.0.0.1:9400/metrics").
 */
struct export_http *export_http_start(const char *addr, const struct export_src *src,
				      char *where, size_t wherelen, char *why, size_t whylen);
void export_http_stop(struct export_http *h);

/*
 * The answer to the request head `req` (`len` bytes, complete: it ends with
 * an empty line): status line, headers (Connection: close) and body, in
 * *out (malloc'd, *outlen bytes).  0, or -1 out of memory.  `note` says a
 * failed render once (export_note).
 */
int export_reply(const struct export_src *src, struct export_note *note, const char *req,
		 size_t len, char **out, size_t *outlen);
/* The answer to a request head that did not fit the server's buffer (431). */
int export_reply_too_large(char **out, size_t *outlen);

/* ---- textfile ---------------------------------------------------------------- */

/* DIR/NAME.prom, NAME from the segment name ("/ttmem" -> "ttmem"): one file
 * per segment, so two exporters on one host do not overwrite each other. */
int export_textfile_path(char *out, size_t len, const char *dir, const char *shm);

/* Whether a file can be created next to `path` (0, or -errno and why). */
int export_textfile_check(const char *path, char *why, size_t whylen);

/*
 * Replace `path` with `len` bytes of `buf` atomically: a temporary file in
 * the same directory, mode 0644 (node-exporter runs as another user), then
 * rename.  0, or -errno with the failing step in `why`.
 */
int export_textfile_write(const char *path, const char *buf, size_t len, char *why,
			  size_t whylen);

#endif /* TTMEM_VIEWER_EXPORT_H */
