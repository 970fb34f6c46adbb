/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff`: a recording (`ttmem record -o`), read into series (diff.h):
 * one per chip and one per process name (the processes of one name summed
 * per sample: a test suite's runs are one series), each type's peak and its
 * value in the recording's last sample.  The Chrome trace's counter events
 * ("ph":"C", cat "chip" or "process") or the JSON lines' samples; other
 * events (metadata, another tool's) are skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

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
		return diff_oom();
	while (i < ps->n) {
		struct diff_series *s = &in->series[in->nseries++];
		const struct point *first = &ps->p[i];

		s->is_chip = first->is_chip;
		s->chip = first->chip;
		if (!s->is_chip && !(s->name = strdup(first->name)))
			return diff_oom();
		while (i < ps->n && same_series(first, &ps->p[i])) {
			uint64_t ts = ps->p[i].ts, sum[MODEL_TYPES] = { 0 };
			int over = 0;

			for (; i < ps->n && same_series(first, &ps->p[i]) && ps->p[i].ts == ts; i++)
				for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
					over |= diff_add(&sum[ty], ps->p[i].v[ty]);
			if (over)
				return diff_bad(in, "sizes larger than %" PRIu64 " bytes", DIFF_MAX_BYTES);
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
		return diff_bad(in, "a recording whose \"traceEvents\" is not a list");
	if (jr_get(jr_get(in->root, "otherData"), "start_ns") &&
	    jr_u64(jr_get(jr_get(in->root, "otherData"), "start_ns"), &start) < 0)
		return diff_bad(in, "a recording with a malformed \"start_ns\"");
	for (size_t i = 0; i < ev->n; i++) {
		const struct jr_value *e = &ev->items[i];
		const char *ph = jr_str(jr_get(e, "ph")), *cat = jr_str(jr_get(e, "cat"));
		const char *name = jr_str(jr_get(e, "name"));
		struct point *pt;
		uint64_t ts;

		if (e->type != JR_OBJ || !ph)
			return diff_bad(in, "traceEvents[%zu] is not a trace event", i);
		if (strcmp(ph, "C") || !cat || (strcmp(cat, "chip") && strcmp(cat, "process")))
			continue;   /* metadata, or events of another tool */
		if (!name || jr_u64(jr_get(e, "ts"), &ts) < 0 || ts > DIFF_MAX_BYTES)
			return diff_bad(in, "traceEvents[%zu]: a counter without name or ts", i);
		if (!(pt = point_add(ps)))
			return diff_oom();
		if (start > UINT64_MAX - ts * 1000u)
			return diff_bad(in, "traceEvents[%zu]: a time past 2^64 ns", i);
		pt->ts = start + ts * 1000u;
		if (!strcmp(cat, "chip")) {
			pt->is_chip = 1;
			if (strncmp(name, "chip ", 5) || chip_of(name + 5, &pt->chip) < 0)
				return diff_bad(in, "traceEvents[%zu]: \"%.40s\" is not \"chip N\"", i, name);
		} else {
			/* "pid P NAME" */
			const char *sp = strncmp(name, "pid ", 4) ? NULL : strchr(name + 4, ' ');

			if (!sp)
				return diff_bad(in, "traceEvents[%zu]: not \"pid P NAME\"", i);
			pt->name = sp + 1;
		}
		if (diff_get_types(e, "args", pt->v) < 0)
			return diff_bad(in, "traceEvents[%zu]: \"args\" is not bytes per type", i);
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
		return diff_bad(in, "line %zu is not a sample of `ttmem record --format jsonl`", line);
	if (jr_u64(jr_get(o, "taken_ns"), &ts) < 0 || !devs || devs->type != JR_ARR || !procs ||
	    procs->type != JR_ARR)
		return diff_bad(in, "line %zu: a sample without taken_ns, devices and processes", line);
	seen(in, ts);
	in->samples++;
	for (size_t i = 0; i < devs->n + procs->n; i++) {
		const struct jr_value *d = i < devs->n ? &devs->items[i] : &procs->items[i - devs->n];
		const struct jr_value *dev = jr_get(d, "device");
		struct point *pt = point_add(ps);

		if (!pt)
			return diff_oom();
		pt->ts = ts;
		pt->is_chip = i < devs->n;
		if (pt->is_chip) {
			if (dev && dev->type == JR_NULL)
				pt->chip = UINT64_MAX;
			else if (jr_u64(dev, &pt->chip) < 0 || pt->chip > UINT32_MAX)
				return diff_bad(in, "line %zu: devices[%zu] has no chip id", line, i);
		} else if (!(pt->name = jr_str(jr_get(d, "name")))) {
			return diff_bad(in, "line %zu: processes[%zu] has no name", line, i - devs->n);
		}
		if (diff_get_types(d, "in_use", pt->v) < 0)
			return diff_bad(in, "line %zu: an \"in_use\" that is not bytes per type", line);
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
		return diff_oom();
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
				return diff_oom();
			if (err.truncated && !nl)
				return diff_bad(in, "truncated: its last line (%zu) ends inside a value",
					   line);
			return diff_bad(in, "line %zu, byte %zu: %s", line, err.offset + 1,
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

int diff_record_load_tree(struct diff_input *in, const struct jr_value *root)
{
	struct points ps = { 0 };
	int rc = jr_get(root, "traceEvents") ? load_chrome(in, &ps) : VX_OK;

	if (!jr_get(root, "traceEvents")) {
		/* One sample of JSON lines, without its newline. */
		in->kind = DIFF_RECORD;
		in->format = "jsonl";
		rc = load_sample(in, root, 1, &ps);
	}
	if (rc == VX_OK)
		rc = reduce(in, &ps);
	free(ps.p);
	return rc;
}

int diff_record_load_lines(struct diff_input *in, const char *text, size_t len)
{
	struct points ps = { 0 };
	struct jr_value **lines = NULL;
	size_t nlines = 0;
	int rc = load_jsonl(in, text, len, &ps, &lines, &nlines);

	if (rc == VX_OK)
		rc = reduce(in, &ps);
	/* The series copied their names: the lines' trees can go. */
	for (size_t i = 0; i < nlines; i++)
		jr_free(lines[i]);
	free(lines);
	free(ps.p);
	return rc;
}
