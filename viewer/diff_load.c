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
 * A recording (`record -o`, Chrome trace or JSON lines) becomes one series
 * per chip and one per process name (the processes of one name summed per
 * sample: a test suite's runs are one series), each type's peak and its
 * value in the last sample.
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

/* The first error about the file: one message, then VX_DIFF_INPUT. */
static int bad(const struct diff_input *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(const struct diff_input *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	viewer_err("diff", "%s: %s", in->path, msg);
	return VX_DIFF_INPUT;
}

static int oom(void)
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
		return bad(in, "%s", strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return bad(in, "a directory, not a file");
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
				return oom();
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
			return bad(in, "%s", strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > DIFF_MAX_FILE) {
			free(buf);
			close(fd);
			return bad(in, "larger than %" PRIu64 " MiB", DIFF_MAX_FILE >> 20);
		}
	}
	close(fd);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return VX_OK;
}

/* A size or count: an integer in [0, DIFF_MAX_BYTES]. */
static int get_size(const struct jr_value *obj, const char *key, uint64_t *out)
{
	const struct jr_value *v = jr_get(obj, key);

	return jr_u64(v, out) < 0 || *out > DIFF_MAX_BYTES ? -1 : 0;
}

/* A type object: missing keys are 0 (a file from before a type existed),
 * present ones must be sizes. */
static int get_types(const struct jr_value *obj, const char *key, uint64_t *t)
{
	const struct jr_value *v = jr_get(obj, key);

	memset(t, 0, MODEL_TYPES * sizeof(*t));
	if (!v || v->type != JR_OBJ)
		return -1;
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (jr_get(v, type_name(ty)) && get_size(v, type_name(ty), &t[ty]) < 0)
			return -1;
	return 0;
}

/* a += b, failing past DIFF_MAX_BYTES (a hostile file's sums). */
static int add(uint64_t *a, uint64_t b)
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

	if (!module || (jr_get(fr, "line") && get_size(fr, "line", &line) < 0) ||
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
	if (g->type != JR_OBJ || !s->owner || get_size(g, "bytes", &s->bytes) < 0 ||
	    get_size(g, "entries", &s->entries) < 0 || get_types(g, "types", s->types) < 0)
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
		return bad(in, "a leak report whose \"stacks\" is not a list");
	procs = jr_get(in->root, "processes");
	if (!stacks && (!procs || procs->type != JR_ARR))
		return bad(in, "a leak report without \"stacks\" or \"processes\"");
	cap = stacks ? stacks->n : 0;
	for (size_t p = 0; !stacks && p < procs->n; p++) {
		const struct jr_value *gs = jr_get(&procs->items[p], "groups");

		if (!gs || gs->type != JR_ARR)
			return bad(in, "processes[%zu] has no \"groups\" list", p);
		cap += gs->n;
	}
	in->site = calloc(cap ? cap : 1, sizeof(*in->site));
	if (!in->site)
		return oom();
	for (size_t i = 0; stacks && i < stacks->n; i++) {
		const struct jr_value *g = jr_get(&stacks->items[i], "group");

		if (!g || site_of(&in->site[n], g, ignore_lines, &why) < 0)
			return bad(in, "stacks[%zu]: %s", i, g ? why : "no \"group\"");
		n++;
		in->nsite = n;
	}
	for (size_t p = 0; !stacks && p < procs->n; p++) {
		const struct jr_value *gs = jr_get(&procs->items[p], "groups");

		for (size_t i = 0; i < gs->n; i++) {
			if (site_of(&in->site[n], &gs->items[i], ignore_lines, &why) < 0)
				return bad(in, "processes[%zu].groups[%zu]: %s", p, i, why);
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
			over |= add(&d->bytes, in->site[i].bytes) | add(&d->entries, in->site[i].entries);
			for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
				over |= add(&d->types[ty], in->site[i].types[ty]);
			free(in->site[i].key);
			continue;
		}
		in->site[in->nsite++] = in->site[i];
	}
	for (size_t i = 0; i < in->nsite; i++) {
		over |= add(&in->bytes, in->site[i].bytes) | add(&in->entries, in->site[i].entries);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			over |= add(&in->types[ty], in->site[i].types[ty]);
	}
	if (over)
		return bad(in, "sizes larger than %" PRIu64 " bytes", DIFF_MAX_BYTES);
	/* The report's own total must be what its stacks add up to: a report
	 * edited or cut and mended by hand is not compared as if it were whole. */
	if (get_size(in->root, "bytes", &total) < 0)
		return bad(in, "a leak report without a total \"bytes\"");
	if (total != in->bytes)
		return bad(in, "its stacks add up to %" PRIu64 " bytes, its total says %" PRIu64,
			   in->bytes, total);
	return VX_OK;
}

/* ---- recordings -------------------------------------------------------------- */

struct point {
	int is_chip;
	uint64_t chip;
	const char *name;       /* in the tree */
	uint64_t ts;
	uint64_t v[MODEL_TYPES];
};

struct points {
	struct point *p;
	size_t n, cap;
};

static struct point *point_add(struct points *ps)
{
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 64;
		struct point *np = realloc(ps->p, ncap * sizeof(*np));

		if (!np)
			return NULL;
		ps->p = np;
		ps->cap = ncap;
	}
	memset(&ps->p[ps->n], 0, sizeof(ps->p[0]));
	return &ps->p[ps->n++];
}

static int cmp_point(const void *pa, const void *pb)
{
	const struct point *a = pa, *b = pb;
	int c;

	if (a->is_chip != b->is_chip)
		return a->is_chip ? -1 : 1;
	if (a->is_chip && a->chip != b->chip)
		return a->chip < b->chip ? -1 : 1;
	if (!a->is_chip && (c = strcmp(a->name, b->name)))
		return c;
	return a->ts < b->ts ? -1 : a->ts > b->ts;
}

/* "chip 3", "chip unknown". */
static int chip_of(const char *s, uint64_t *chip)
{
	char *end;

	if (!strcmp(s, "unknown")) {
		*chip = UINT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*chip = strtoull(s, &end, 10);
	return errno || *end || *chip > UINT32_MAX ? -1 : 0;
}

static int same_series(const struct point *a, const struct point *b)
{
	return a->is_chip == b->is_chip &&
	       (a->is_chip ? a->chip == b->chip : !strcmp(a->name, b->name));
}

/* Points into series: per chip and per process name, each sample's sum;
 * the peak and the value at the recording's last sample. */
static int reduce(struct diff_input *in, struct points *ps)
{
	size_t i = 0;

	if (ps->n > 1)
		qsort(ps->p, ps->n, sizeof(*ps->p), cmp_point);
	in->series = calloc(ps->n ? ps->n : 1, sizeof(*in->series));
	if (!in->series)
		return oom();
	while (i < ps->n) {
		struct diff_series *s = &in->series[in->nseries++];
		const struct point *first = &ps->p[i];

		s->is_chip = first->is_chip;
		s->chip = first->chip;
		if (!s->is_chip && !(s->name = strdup(first->name)))
			return oom();
		while (i < ps->n && same_series(first, &ps->p[i])) {
			uint64_t ts = ps->p[i].ts, sum[MODEL_TYPES] = { 0 };
			int over = 0;

			for (; i < ps->n && same_series(first, &ps->p[i]) && ps->p[i].ts == ts; i++)
				for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
					over |= add(&sum[ty], ps->p[i].v[ty]);
			if (over)
				return bad(in, "sizes larger than %" PRIu64 " bytes", DIFF_MAX_BYTES);
			for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
				if (sum[ty] > s->peak[ty])
					s->peak[ty] = sum[ty];
				if (ts == in->last_ns)
					s->last[ty] = sum[ty];
			}
		}
	}
	return VX_OK;
}

static void seen(struct diff_input *in, uint64_t ts)
{
	if (!in->samples || ts < in->first_ns)
		in->first_ns = ts;
	if (!in->samples || ts > in->last_ns)
		in->last_ns = ts;
}

static int load_chrome(struct diff_input *in, struct points *ps)
{
	const struct jr_value *ev = jr_get(in->root, "traceEvents");
	uint64_t start = 0, prev = UINT64_MAX;

	in->kind = DIFF_RECORD;
	in->format = "chrome";
	if (!ev || ev->type != JR_ARR)
		return bad(in, "a recording whose \"traceEvents\" is not a list");
	if (jr_get(jr_get(in->root, "otherData"), "start_ns") &&
	    jr_u64(jr_get(jr_get(in->root, "otherData"), "start_ns"), &start) < 0)
		return bad(in, "a recording with a malformed \"start_ns\"");
	for (size_t i = 0; i < ev->n; i++) {
		const struct jr_value *e = &ev->items[i];
		const char *ph = jr_str(jr_get(e, "ph")), *cat = jr_str(jr_get(e, "cat"));
		const char *name = jr_str(jr_get(e, "name"));
		struct point *pt;
		uint64_t ts;

		if (e->type != JR_OBJ || !ph)
			return bad(in, "traceEvents[%zu] is not a trace event", i);
		if (strcmp(ph, "C") || !cat || (strcmp(cat, "chip") && strcmp(cat, "process")))
			continue;   /* metadata, or events of another tool */
		if (!name || jr_u64(jr_get(e, "ts"), &ts) < 0 || ts > DIFF_MAX_BYTES)
			return bad(in, "traceEvents[%zu]: a counter without name or ts", i);
		if (!(pt = point_add(ps)))
			return oom();
		if (start > UINT64_MAX - ts * 1000u)
			return bad(in, "traceEvents[%zu]: a time past 2^64 ns", i);
		pt->ts = start + ts * 1000u;
		if (!strcmp(cat, "chip")) {
			pt->is_chip = 1;
			if (strncmp(name, "chip ", 5) || chip_of(name + 5, &pt->chip) < 0)
				return bad(in, "traceEvents[%zu]: \"%.40s\" is not \"chip N\"", i, name);
		} else {
			/* "pid P NAME" */
			const char *sp = strncmp(name, "pid ", 4) ? NULL : strchr(name + 4, ' ');

			if (!sp)
				return bad(in, "traceEvents[%zu]: not \"pid P NAME\"", i);
			pt->name = sp + 1;
		}
		if (get_types(e, "args", pt->v) < 0)
			return bad(in, "traceEvents[%zu]: \"args\" is not bytes per type", i);
		if (ts != prev) {
			seen(in, pt->ts);
			in->samples++;
			prev = ts;
		}
	}
	return VX_OK;
}

/* One line of `record --format jsonl`. */
static int load_sample(struct diff_input *in, const struct jr_value *o, size_t line,
		       struct points *ps)
{
	const struct jr_value *devs = jr_get(o, "devices"), *procs = jr_get(o, "processes");
	const char *kind = jr_str(jr_get(o, "kind"));
	uint64_t ts;

	if (o->type != JR_OBJ || !kind || strcmp(kind, "sample"))
		return bad(in, "line %zu is not a sample of `ttmem record --format jsonl`", line);
	if (jr_u64(jr_get(o, "taken_ns"), &ts) < 0 || !devs || devs->type != JR_ARR || !procs ||
	    procs->type != JR_ARR)
		return bad(in, "line %zu: a sample without taken_ns, devices and processes", line);
	seen(in, ts);
	in->samples++;
	for (size_t i = 0; i < devs->n + procs->n; i++) {
		const struct jr_value *d = i < devs->n ? &devs->items[i] : &procs->items[i - devs->n];
		const struct jr_value *dev = jr_get(d, "device");
		struct point *pt = point_add(ps);

		if (!pt)
			return oom();
		pt->ts = ts;
		pt->is_chip = i < devs->n;
		if (pt->is_chip) {
			if (dev && dev->type == JR_NULL)
				pt->chip = UINT64_MAX;
			else if (jr_u64(dev, &pt->chip) < 0 || pt->chip > UINT32_MAX)
				return bad(in, "line %zu: devices[%zu] has no chip id", line, i);
		} else if (!(pt->name = jr_str(jr_get(d, "name")))) {
			return bad(in, "line %zu: processes[%zu] has no name", line, i - devs->n);
		}
		if (get_types(d, "in_use", pt->v) < 0)
			return bad(in, "line %zu: an \"in_use\" that is not bytes per type", line);
	}
	return VX_OK;
}

/* JSON lines: every line a sample (the trees are kept: points name them). */
static int load_jsonl(struct diff_input *in, const char *text, size_t len, struct points *ps,
		      struct jr_value ***lines, size_t *nlines)
{
	const char *p = text, *end = text + len;
	size_t line = 0;

	in->kind = DIFF_RECORD;
	in->format = "jsonl";
	*lines = calloc(len / 2 + 1, sizeof(**lines));   /* a line holds >= 2 bytes: {} */
	if (!*lines)
		return oom();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		struct jr_error err;
		struct jr_value *v;
		int rc;

		line++;
		if (e == p || (e - p == 1 && *p == '\r')) {
			p = e + (nl != NULL);
			continue;
		}
		if (jr_parse(p, (size_t)(e - p), &v, &err) < 0) {
			if (!strcmp(err.msg, "out of memory"))
				return oom();
			if (err.truncated && !nl)
				return bad(in, "truncated: its last line (%zu) ends inside a value",
					   line);
			return bad(in, "line %zu, byte %zu: %s", line, err.offset + 1,
				   err.truncated ? "the line ends inside a value" : err.msg);
		}
		(*lines)[(*nlines)++] = v;
		rc = load_sample(in, v, line, ps);
		if (rc)
			return rc;
		p = e + (nl != NULL);
	}
	return VX_OK;
}

/* What a JSON object that is neither is, for the message. */
static int foreign(struct diff_input *in, const struct jr_value *v)
{
	const char *kind = jr_str(jr_get(v, "kind")), *schema = jr_str(jr_get(v, "schema"));

	if (v->type != JR_OBJ)
		return bad(in, "not a ttmem leak report or recording (JSON, but not an object)");
	if (schema && strcmp(schema, "ttmem/1"))
		return bad(in, "schema \"%.40s\": written by another ttmem version than this "
			   "one reads (ttmem/1)", schema);
	if (schema && kind)
		return bad(in, "a ttmem \"%.40s\" document, not a leak report (`ttmem leaks "
			   "--json`) or a recording (`ttmem record`)", kind);
	if (schema)
		return bad(in, "a `ttmem show --json` document, not a leak report or recording");
	return bad(in, "not a ttmem leak report or recording (no \"schema\": \"ttmem/1\")");
}

int diff_load_text(struct diff_input *in, const char *path, const char *text, size_t len,
		   int ignore_lines)
{
	struct points ps = { 0 };
	struct jr_value **lines = NULL, *first = NULL;
	size_t nlines = 0, blank = 0;
	struct jr_error err;
	const char *nl;
	int rc;

	memset(in, 0, sizeof(*in));
	in->path = path;
	while (blank < len && text[blank] && strchr(" \t\r\n", text[blank]))
		blank++;
	if (blank == len) {
		rc = bad(in, "empty: not a leak report or recording");
		goto out;
	}
	/* JSON lines when the first line alone is a sample. */
	nl = memchr(text, '\n', len);
	if (nl && jr_parse(text, (size_t)(nl - text), &first, &err) == 0 &&
	    first->type == JR_OBJ && jr_str(jr_get(first, "kind")) &&
	    !strcmp(jr_str(jr_get(first, "kind")), "sample")) {
		rc = load_jsonl(in, text, len, &ps, &lines, &nlines);
		if (rc == VX_OK)
			rc = reduce(in, &ps);
		goto out;
	}
	if (jr_parse(text, len, &in->root, &err) < 0) {
		if (!strcmp(err.msg, "out of memory"))
			rc = oom();
		else if (err.truncated)
			rc = bad(in, "truncated: the text ends inside a value (byte %zu, line %u)",
				 err.offset, err.line);
		else
			rc = bad(in, "not JSON: %s (byte %zu, line %u)", err.msg, err.offset + 1,
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
			rc = load_chrome(in, &ps);
			if (rc == VX_OK)
				rc = reduce(in, &ps);
		} else if (kind && schema && !strcmp(schema, "ttmem/1") && !strcmp(kind, "sample")) {
			/* One sample, no newline. */
			in->kind = DIFF_RECORD;
			in->format = "jsonl";
			rc = load_sample(in, in->root, 1, &ps);
			if (rc == VX_OK)
				rc = reduce(in, &ps);
		} else {
			rc = foreign(in, in->root);
		}
	}
out:
	/* The series copied their names: the lines' trees can go. */
	for (size_t i = 0; i < nlines; i++)
		jr_free(lines[i]);
	free(lines);
	jr_free(first);
	free(ps.p);
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
