/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff`: one input file, read, told apart and reduced (diff.h).
 *
 * A leak report (`leaks --json`) becomes its callsites.  The report has
 * already merged each call stack over its processes ("stacks"), keyed on the
 * stack table's index, which means nothing outside its segment; two reports
 * are matched on what that index stands for: the owner kind and, frame by
 * frame, the symbolized frame (module file name, function, source file and
 * line; module and offset where there is no symbol; the headline frame
 * alone where the stack was not recorded).  The module's file name, not its
 * path, so that two build trees match.
 *
 * A recording (`record -o`, Chrome trace or JSON lines) is told apart here
 * and read in diff_load_record.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"

int diff_bad(const struct diff_input *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	viewer_err("diff", "%s: %s", in->path, msg);
	return VX_DIFF_INPUT;
}

int diff_oom(void)
{
	viewer_err("diff", "out of memory");
	return VX_SYSTEM;
}

static int read_all(struct diff_input *in, char **out, size_t *len)
{
	int fd = open(in->path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL;
	struct stat st;

	if (fd < 0)
		return diff_bad(in, "%s", strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return diff_bad(in, "a directory, not a file");
	}
	for (;;) {
		ssize_t r;

		if (!buf || n == cap) {
			char *nb;

			if (buf)
				cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return diff_oom();
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return diff_bad(in, "%s", strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > DIFF_MAX_FILE) {
			free(buf);
			close(fd);
			return diff_bad(in, "larger than %" PRIu64 " MiB", DIFF_MAX_FILE >> 20);
		}
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return VX_OK;
}

int diff_get_size(const struct jr_value *obj, const char *key, uint64_t *out)
{
	const struct jr_value *v = jr_get(obj, key);

	return jr_u64(v, out) < 0 || *out > DIFF_MAX_BYTES ? -1 : 0;
}

int diff_get_types(const struct jr_value *obj, const char *key, uint64_t *t)
{
	const struct jr_value *v = jr_get(obj, key);

	memset(t, 0, MODEL_TYPES * sizeof(*t));
	if (!v || v->type != JR_OBJ)
		return -1;
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (jr_get(v, type_name(ty)) && diff_get_size(v, type_name(ty), &t[ty]) < 0)
			return -1;
	return 0;
}

int diff_add(uint64_t *a, uint64_t b)
{
	if (b > DIFF_MAX_BYTES || *a > DIFF_MAX_BYTES - b)
		return -1;
	*a += b;
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* A frame's identity (see the top of the file). */
static int frame_key(FILE *k, const struct jr_value *fr, int ignore_lines)
{
	const char *module = jr_str(jr_get(fr, "module")), *fn = jr_str(jr_get(fr, "function"));
	const char *file = jr_str(jr_get(fr, "file"));
	uint64_t line = 0, off = 0;

	if (!module || (jr_get(fr, "line") && diff_get_size(fr, "line", &line) < 0) ||
	    (jr_get(fr, "offset") && jr_u64(jr_get(fr, "offset"), &off) < 0))
		return -1;
	if (fn && *fn) {
		fprintf(k, "%s\x1f%s", base_name(module), fn);
		if (file && !ignore_lines)
			fprintf(k, "\x1f%s:%" PRIu64, file, line);
	} else if (file && *file) {
		fprintf(k, "%s:%" PRIu64, file, line);
	} else {
		fprintf(k, "%s+%" PRIx64, module, off);
	}
	fputc('\x1e', k);
	return 0;
}

static int cmp_site(const void *pa, const void *pb)
{
	const struct diff_site *a = pa, *b = pb;

	return strcmp(a->key, b->key);
}

/* One `groups[]` object into a site; -1 with *why. */
static int site_of(struct diff_site *s, const struct jr_value *g, int ignore_lines,
		   const char **why)
{
	const struct jr_value *stack = jr_get(g, "stack");
	char *key = NULL;
	size_t klen = 0;
	FILE *k;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->group = g;
	s->owner = jr_str(jr_get(g, "owner"));
	*why = "a group without owner, bytes, entries and types";
	if (g->type != JR_OBJ || !s->owner || diff_get_size(g, "bytes", &s->bytes) < 0 ||
	    diff_get_size(g, "entries", &s->entries) < 0 || diff_get_types(g, "types", s->types) < 0)
		return -1;
	*why = "a group with a malformed frame";
	if (stack && stack->type != JR_ARR)
		return -1;
	k = open_memstream(&key, &klen);
	if (!k) {
		*why = "out of memory";
		return -1;
	}
	fprintf(k, "%s\x1d", s->owner);
	if (stack && stack->n) {
		for (size_t i = 0; i < stack->n && rc == 0; i++)
			rc = stack->items[i].type == JR_OBJ ?
				     frame_key(k, &stack->items[i], ignore_lines) : -1;
	} else {
		rc = frame_key(k, g, ignore_lines);   /* the headline frame */
	}
	if (fclose(k) != 0) {
		*why = "out of memory";
		rc = -1;
	}
	if (rc < 0) {
		free(key);
		return -1;
	}
	s->key = key;
	return 0;
}

static int load_leaks(struct diff_input *in, int ignore_lines)
{
	const struct jr_value *stacks = jr_get(in->root, "stacks"), *procs;
	size_t cap = 0, n = 0;
	uint64_t total;
	const char *why;
	int over = 0;

	in->kind = DIFF_LEAKS;
	in->format = "leaks";
	/* "stacks" merges the processes' groups; a report without it
	 * (hand-made, or older) is read from its processes' groups. */
	if (stacks && stacks->type != JR_ARR)
		return diff_bad(in, "a leak report whose \"stacks\" is not a list");
	procs = jr_get(in->root, "processes");
	if (!stacks && (!procs || procs->type != JR_ARR))
		return diff_bad(in, "a leak report without \"stacks\" or \"processes\"");
	cap = stacks ? stacks->n : 0;
	for (size_t p = 0; !stacks && p < procs->n; p++) {
		const struct jr_value *gs = jr_get(&procs->items[p], "groups");

		if (!gs || gs->type != JR_ARR)
			return diff_bad(in, "processes[%zu] has no \"groups\" list", p);
		cap += gs->n;
	}
	in->site = calloc(cap ? cap : 1, sizeof(*in->site));
	if (!in->site)
		return diff_oom();
	for (size_t i = 0; stacks && i < stacks->n; i++) {
		const struct jr_value *g = jr_get(&stacks->items[i], "group");

		if (!g || site_of(&in->site[n], g, ignore_lines, &why) < 0)
			return diff_bad(in, "stacks[%zu]: %s", i, g ? why : "no \"group\"");
		n++;
		in->nsite = n;
	}
	for (size_t p = 0; !stacks && p < procs->n; p++) {
		const struct jr_value *gs = jr_get(&procs->items[p], "groups");

		for (size_t i = 0; i < gs->n; i++) {
			if (site_of(&in->site[n], &gs->items[i], ignore_lines, &why) < 0)
				return diff_bad(in, "processes[%zu].groups[%zu]: %s", p, i, why);
			n++;
			in->nsite = n;
		}
	}
	/* Merge the stacks that symbolize alike (one function's two return
	 * addresses, or the same stack in several processes). */
	if (n > 1)
		qsort(in->site, n, sizeof(*in->site), cmp_site);
	in->nsite = 0;
	for (size_t i = 0; i < n; i++) {
		struct diff_site *d = in->nsite ? &in->site[in->nsite - 1] : NULL;

		if (d && !strcmp(d->key, in->site[i].key)) {
			over |= diff_add(&d->bytes, in->site[i].bytes) | diff_add(&d->entries, in->site[i].entries);
			for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
				over |= diff_add(&d->types[ty], in->site[i].types[ty]);
			free(in->site[i].key);
			continue;
		}
		in->site[in->nsite++] = in->site[i];
	}
	for (size_t i = 0; i < in->nsite; i++) {
		over |= diff_add(&in->bytes, in->site[i].bytes) | diff_add(&in->entries, in->site[i].entries);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			over |= diff_add(&in->types[ty], in->site[i].types[ty]);
	}
	if (over)
		return diff_bad(in, "sizes larger than %" PRIu64 " bytes", DIFF_MAX_BYTES);
	/* The report's own total must be what its stacks add up to: a report
	 * edited or cut and mended by hand is not compared as if it were whole. */
	if (diff_get_size(in->root, "bytes", &total) < 0)
		return diff_bad(in, "a leak report without a total \"bytes\"");
	if (total != in->bytes)
		return diff_bad(in, "its stacks add up to %" PRIu64 " bytes, its total says %" PRIu64,
			   in->bytes, total);
	return VX_OK;
}

/* What a JSON object that is neither is, for the message. */
static int foreign(struct diff_input *in, const struct jr_value *v)
{
	const char *kind = jr_str(jr_get(v, "kind")), *schema = jr_str(jr_get(v, "schema"));

	if (v->type != JR_OBJ)
		return diff_bad(in, "not a ttmem leak report or recording (JSON, but not an object)");
	if (schema && strcmp(schema, "ttmem/1"))
		return diff_bad(in, "schema \"%.40s\": written by another ttmem version than this "
			   "one reads (ttmem/1)", schema);
	if (schema && kind)
		return diff_bad(in, "a ttmem \"%.40s\" document, not a leak report (`ttmem leaks "
			   "--json`) or a recording (`ttmem record`)", kind);
	if (schema)
		return diff_bad(in, "a `ttmem show --json` document, not a leak report or recording");
	return diff_bad(in, "not a ttmem leak report or recording (no \"schema\": \"ttmem/1\")");
}

int diff_load_text(struct diff_input *in, const char *path, const char *text, size_t len,
		   int ignore_lines)
{
	struct jr_value *first = NULL;
	size_t blank = 0;
	struct jr_error err;
	const char *nl;
	int rc;

	memset(in, 0, sizeof(*in));
	in->path = path;
	while (blank < len && text[blank] && strchr(" \t\r\n", text[blank]))
		blank++;
	if (blank == len) {
		rc = diff_bad(in, "empty: not a leak report or recording");
		goto out;
	}
	/* JSON lines when the first line alone is a sample. */
	nl = memchr(text, '\n', len);
	if (nl && jr_parse(text, (size_t)(nl - text), &first, &err) == 0 &&
	    first->type == JR_OBJ && jr_str(jr_get(first, "kind")) &&
	    !strcmp(jr_str(jr_get(first, "kind")), "sample")) {
		rc = diff_record_load_lines(in, text, len);
		goto out;
	}
	if (jr_parse(text, len, &in->root, &err) < 0) {
		if (!strcmp(err.msg, "out of memory"))
			rc = diff_oom();
		else if (err.truncated)
			rc = diff_bad(in, "truncated: the text ends inside a value (byte %zu, line %u)",
				 err.offset, err.line);
		else
			rc = diff_bad(in, "not JSON: %s (byte %zu, line %u)", err.msg, err.offset + 1,
				 err.line);
		goto out;
	}
	{
		const char *kind = jr_str(jr_get(in->root, "kind"));
		const char *schema = jr_str(jr_get(in->root, "schema"));
		const struct jr_value *od = jr_get(in->root, "otherData");
		const char *okind = jr_str(jr_get(od, "kind")), *oschema = jr_str(jr_get(od, "schema"));

		if (kind && schema && !strcmp(schema, "ttmem/1") && !strcmp(kind, "leaks")) {
			rc = load_leaks(in, ignore_lines);
		} else if (okind && oschema && !strcmp(okind, "record") &&
			   !strcmp(oschema, "ttmem/1")) {
			rc = diff_record_load_tree(in, in->root);
		} else if (kind && schema && !strcmp(schema, "ttmem/1") && !strcmp(kind, "sample")) {
			rc = diff_record_load_tree(in, in->root);
		} else {
			rc = foreign(in, in->root);
		}
	}
out:
	jr_free(first);
	if (rc)
		diff_input_release(in);
	return rc;
}

int diff_load(struct diff_input *in, const char *path, int ignore_lines)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(in, 0, sizeof(*in));
	in->path = path;
	rc = read_all(in, &text, &len);
	if (rc == VX_OK)
		rc = diff_load_text(in, path, text, len, ignore_lines);
	free(text);
	return rc;
}

void diff_input_release(struct diff_input *in)
{
	for (size_t i = 0; i < in->nsite; i++)
		free(in->site[i].key);
	free(in->site);
	for (size_t i = 0; i < in->nseries; i++)
		free(in->series[i].name);
	free(in->series);
	jr_free(in->root);
	in->site = NULL;
	in->series = NULL;
	in->root = NULL;
	in->nsite = in->nseries = 0;
}
