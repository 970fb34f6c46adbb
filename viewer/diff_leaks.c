/* SPDX-License-Identifier: MIT */
/*
 * `ttmem diff` of two leak reports: per callsite (diff_load.c says what
 * makes two callsites the same), the bytes and entries in A, in B and the
 * change, largest change first, in four sections: new in B, gone in B,
 * grew, shrank; and the totals, all and per type.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "sanitize.h"

enum row_status { ROW_NEW, ROW_GONE, ROW_GREW, ROW_SHRANK, ROW_SAME, ROW_STATUSES };
static const char *const status_name[] = { "new", "gone", "grew", "shrank", "unchanged" };
static const char *const section_title[] = { "New in B", "Gone in B", "Grew", "Shrank",
					     "Unchanged" };

struct row {
	const struct diff_site *a, *b;   /* NULL: not in that report */
	int64_t dbytes, dentries;
	enum row_status status;
};

static uint64_t mag(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* Largest change first; then by entries, then by key (a stable order). */
static int cmp_row(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	const char *ka = (a->b ? a->b : a->a)->key, *kb = (b->b ? b->b : b->a)->key;

	if (mag(a->dbytes) != mag(b->dbytes))
		return mag(a->dbytes) > mag(b->dbytes) ? -1 : 1;
	if (mag(a->dentries) != mag(b->dentries))
		return mag(a->dentries) > mag(b->dentries) ? -1 : 1;
	return strcmp(ka, kb);
}

/* The two reports' sites side by side (both sorted by key). */
static struct row *join(const struct diff_input *a, const struct diff_input *b, size_t *n)
{
	struct row *r = calloc(a->nsite + b->nsite + 1, sizeof(*r));
	size_t i = 0, k = 0;

	*n = 0;
	if (!r)
		return NULL;
	while (i < a->nsite || k < b->nsite) {
		struct row *x = &r[(*n)++];
		int c = i == a->nsite ? 1 : k == b->nsite ? -1 : strcmp(a->site[i].key, b->site[k].key);

		x->a = c <= 0 ? &a->site[i++] : NULL;
		x->b = c >= 0 ? &b->site[k++] : NULL;
		x->dbytes = (int64_t)(x->b ? x->b->bytes : 0) - (int64_t)(x->a ? x->a->bytes : 0);
		x->dentries = (int64_t)(x->b ? x->b->entries : 0) - (int64_t)(x->a ? x->a->entries : 0);
		if (!x->a)
			x->status = ROW_NEW;
		else if (!x->b)
			x->status = ROW_GONE;
		else if (x->dbytes > 0 || (!x->dbytes && x->dentries > 0))
			x->status = ROW_GREW;
		else if (x->dbytes < 0 || x->dentries < 0)
			x->status = ROW_SHRANK;
		else
			x->status = ROW_SAME;
	}
	if (*n > 1)
		qsort(r, *n, sizeof(*r), cmp_row);
	return r;
}

/* ---- text ------------------------------------------------------------------------ */

static void put(FILE *f, const char *s)
{
	san_term(f, s, strlen(s), 0);
}

static void frame_text(FILE *f, const struct jr_value *fr)
{
	const char *fn = jr_str(jr_get(fr, "function")), *file = jr_str(jr_get(fr, "file"));
	const char *module = jr_str(jr_get(fr, "module")), *text = jr_str(jr_get(fr, "source_text"));
	uint64_t line = 0, off = 0;

	jr_u64(jr_get(fr, "line"), &line);
	jr_u64(jr_get(fr, "offset"), &off);
	if (fn && *fn) {
		put(f, fn);
	} else if (!file && line) {
		/* A Python frame: the script's line. */
		put(f, module ? module : "?");
		fprintf(f, ":%" PRIu64, line);
		if (text) {
			fputs("  | ", f);
			put(f, text);
		}
		return;
	} else {
		put(f, module ? module : "?");
		fprintf(f, "+0x%" PRIx64, off);
	}
	if (file && *file) {
		fputs("  at ", f);
		put(f, file);
		fprintf(f, ":%" PRIu64, line);
	}
}

/* The headline (the first frame of the user's code) and the user's frames
 * that called it; runtime, libffi, interpreter and start-up frames are left
 * out, as in `ttmem leaks`. */
static void site_text(FILE *f, const struct diff_site *s)
{
	const struct jr_value *stack = jr_get(s->group, "stack");
	const char *script = jr_str(jr_get(s->group, "python_script"));
	size_t head = 0, shown = 0, more = 0;
	int found = 0;

	fputs("      ", f);
	if (script) {
		fputs("python script ", f);
		put(f, script);
	} else {
		frame_text(f, s->group);
	}
	fputc('\n', f);
	if (!stack || stack->type != JR_ARR || script)
		return;
	for (size_t i = 0; i < stack->n && !found; i++) {
		const char *kind = jr_str(jr_get(&stack->items[i], "kind"));

		if (kind && !strcmp(kind, "user")) {
			head = i;
			found = 1;
		}
	}
	for (size_t i = head + 1; found && i < stack->n; i++) {
		const char *kind = jr_str(jr_get(&stack->items[i], "kind"));

		if (!kind || strcmp(kind, "user"))
			continue;
		if (shown == 3) {
			more++;
			continue;
		}
		fputs("        from ", f);
		frame_text(f, &stack->items[i]);
		fputc('\n', f);
		shown++;
	}
	if (more)
		fprintf(f, "        from ... (%zu more frame%s)\n", more, more == 1 ? "" : "s");
}

static void side_text(FILE *f, const struct diff_site *s)
{
	char b[32];

	if (s)
		fprintf(f, "%s in %" PRIu64, fmt_bytes(b, sizeof(b), s->bytes), s->entries);
	else
		fputs("none", f);
}

/* Columns the totals' table takes: narrower terminals get "A -> B". */
#define WIDE 74u

static void print_text(FILE *f, const struct diff_input *a, const struct diff_input *b,
		       const struct row *r, size_t n, unsigned width)
{
	size_t count[ROW_STATUSES] = { 0 };
	int64_t sum[ROW_STATUSES] = { 0 }, esum[ROW_STATUSES] = { 0 };
	char x[32], y[32], z[32], w[32];

	fputs("Leak reports: ", f);
	put(f, a->path);
	fputs(" -> ", f);
	put(f, b->path);
	fputc('\n', f);
	snprintf(x, sizeof(x), "%" PRIu64, a->entries);
	snprintf(y, sizeof(y), "%" PRIu64, b->entries);
	{
		char la[64], lb[64];

		snprintf(la, sizeof(la), "%s in %s", fmt_bytes(z, sizeof(z), a->bytes), x);
		snprintf(lb, sizeof(lb), "%s in %s", fmt_bytes(w, sizeof(w), b->bytes), y);
		diff_fmt_bytes(z, sizeof(z), (int64_t)b->bytes - (int64_t)a->bytes);
		diff_fmt_count(w, sizeof(w), (int64_t)b->entries - (int64_t)a->entries);
		if (!width || width >= WIDE)
			fprintf(f, "  %-14s %-18s %-18s %s\n  %-14s %-18s %-18s %-10s %s\n", "", "A",
				"B", "change", "total", la, lb, z, w);
		else   /* a narrow terminal: A -> B */
			fprintf(f, "  %-8s %s -> %s  %s %s\n", "total", la, lb, z, w);
	}
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++) {
		if (!a->types[ty] && !b->types[ty])
			continue;
		fmt_bytes(x, sizeof(x), a->types[ty]);
		fmt_bytes(y, sizeof(y), b->types[ty]);
		diff_fmt_bytes(z, sizeof(z), (int64_t)b->types[ty] - (int64_t)a->types[ty]);
		if (!width || width >= WIDE)
			fprintf(f, "  %-14s %-18s %-18s %s\n", type_name(ty), x, y, z);
		else
			fprintf(f, "  %-8s %s -> %s  %s\n", type_name(ty), x, y, z);
	}
	for (size_t i = 0; i < n; i++) {
		count[r[i].status]++;
		sum[r[i].status] += r[i].dbytes;
		esum[r[i].status] += r[i].dentries;
	}
	for (int st = 0; st < ROW_SAME; st++) {
		fprintf(f, "\n%s: ", section_title[st]);
		if (!count[st]) {
			fputs("none\n", f);
			continue;
		}
		fprintf(f, "%zu callsite%s, %s, entries %s\n", count[st], count[st] == 1 ? "" : "s",
			diff_fmt_bytes(x, sizeof(x), sum[st]), diff_fmt_count(y, sizeof(y), esum[st]));
		for (size_t i = 0; i < n; i++) {
			if ((int)r[i].status != st)
				continue;
			fprintf(f, "  %10s %6s  (", diff_fmt_bytes(x, sizeof(x), r[i].dbytes),
				diff_fmt_count(y, sizeof(y), r[i].dentries));
			side_text(f, r[i].a);
			fputs(" -> ", f);
			side_text(f, r[i].b);
			fputs(")  ", f);
			put(f, (r[i].b ? r[i].b : r[i].a)->owner);
			fputc('\n', f);
			site_text(f, r[i].b ? r[i].b : r[i].a);
		}
	}
	{
		uint64_t same = 0;

		for (size_t i = 0; i < n; i++)
			if (r[i].status == ROW_SAME)
				same += r[i].a->bytes;
		fprintf(f, "\nUnchanged: %zu callsite%s, %s in both\n", count[ROW_SAME],
			count[ROW_SAME] == 1 ? "" : "s", fmt_bytes(x, sizeof(x), same));
	}
}

/* ---- JSON ------------------------------------------------------------------------ */

static void json_strv(FILE *f, const struct jr_value *v)
{
	const char *s = jr_str(v);

	if (s)
		json_str(f, s, strlen(s));
	else
		fputs("null", f);
}

static void json_u64v(FILE *f, const struct jr_value *v)
{
	uint64_t x = 0;

	jr_u64(v, &x);
	fprintf(f, "%" PRIu64, x);
}

/* A frame as the report has it (module, offset, function, file, line). */
static void json_frame(FILE *f, const struct jr_value *fr)
{
	fputs("\"module\":", f);
	json_strv(f, jr_get(fr, "module"));
	fputs(",\"offset\":", f);
	json_u64v(f, jr_get(fr, "offset"));
	fputs(",\"function\":", f);
	json_strv(f, jr_get(fr, "function"));
	fputs(",\"file\":", f);
	json_strv(f, jr_get(fr, "file"));
	fputs(",\"line\":", f);
	json_u64v(f, jr_get(fr, "line"));
}

static void json_types(FILE *f, const uint64_t *t)
{
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "{", type_name(ty), t[ty]);
	fputc('}', f);
}

static void json_types_change(FILE *f, const uint64_t *a, const uint64_t *b)
{
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		fprintf(f, "%s\"%s\":%" PRId64, ty ? "," : "{", type_name(ty),
			(int64_t)b[ty] - (int64_t)a[ty]);
	fputc('}', f);
}

static const uint64_t zero_types[MODEL_TYPES];

static void json_side(FILE *f, const struct diff_site *s)
{
	fprintf(f, "{\"bytes\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"types\":", s ? s->bytes : 0,
		s ? s->entries : 0);
	json_types(f, s ? s->types : zero_types);
	fputc('}', f);
}

static void json_file(FILE *f, const struct diff_input *in)
{
	fputs("{\"file\":", f);
	json_str(f, in->path, strlen(in->path));
	fprintf(f, ",\"callsites\":%zu,\"bytes\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"types\":",
		in->nsite, in->bytes, in->entries);
	json_types(f, in->types);
	fputc('}', f);
}

static void print_json(FILE *f, const struct diff_input *a, const struct diff_input *b,
		       const struct row *r, size_t n)
{
	size_t count[ROW_STATUSES] = { 0 };

	fputs("{\"schema\":\"ttmem/1\",\"kind\":\"diff\",\"input\":\"leaks\",\"a\":", f);
	json_file(f, a);
	fputs(",\"b\":", f);
	json_file(f, b);
	fprintf(f, ",\"change\":{\"bytes\":%" PRId64 ",\"entries\":%" PRId64 ",\"types\":",
		(int64_t)b->bytes - (int64_t)a->bytes, (int64_t)b->entries - (int64_t)a->entries);
	json_types_change(f, a->types, b->types);
	fputs("},\"callsites\":[", f);
	for (size_t i = 0; i < n; i++) {
		const struct diff_site *s = r[i].b ? r[i].b : r[i].a;
		const struct jr_value *stack = jr_get(s->group, "stack");

		count[r[i].status]++;
		fprintf(f, "%s{\"status\":\"%s\",\"owner\":", i ? "," : "", status_name[r[i].status]);
		json_str(f, s->owner, strlen(s->owner));
		fputc(',', f);
		json_frame(f, s->group);
		fputs(",\"python_script\":", f);
		json_strv(f, jr_get(s->group, "python_script"));
		fputs(",\"stack\":[", f);
		for (size_t k = 0; stack && stack->type == JR_ARR && k < stack->n; k++) {
			fputs(k ? ",{" : "{", f);
			json_frame(f, &stack->items[k]);
			fputs(",\"kind\":", f);
			json_strv(f, jr_get(&stack->items[k], "kind"));
			fputc('}', f);
		}
		fputs("],\"a\":", f);
		json_side(f, r[i].a);
		fputs(",\"b\":", f);
		json_side(f, r[i].b);
		fprintf(f, ",\"change\":{\"bytes\":%" PRId64 ",\"entries\":%" PRId64 ",\"types\":",
			r[i].dbytes, r[i].dentries);
		json_types_change(f, r[i].a ? r[i].a->types : zero_types,
				  r[i].b ? r[i].b->types : zero_types);
		fputs("}}", f);
	}
	fputs("],\"sections\":{", f);
	for (int st = 0; st < ROW_STATUSES; st++)
		fprintf(f, "%s\"%s\":%zu", st ? "," : "", status_name[st], count[st]);
	fputs("}", f);
}

int diff_leaks_print(FILE *f, const struct diff_input *a, const struct diff_input *b, int json,
		     unsigned width, int64_t *growth)
{
	size_t n;
	struct row *r = join(a, b, &n);

	if (!r) {
		viewer_err("diff", "out of memory");
		return VX_SYSTEM;
	}
	*growth = (int64_t)b->bytes - (int64_t)a->bytes;
	if (json)
		print_json(f, a, b, r, n);
	else
		print_text(f, a, b, r, n, width);
	free(r);
	return VX_OK;
}
