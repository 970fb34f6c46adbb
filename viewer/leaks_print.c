/* SPDX-License-Identifier: MIT */
/*
 * The leak report rendered (leaks.c builds it): text, each group headed by
 * its first frame of the user's code, the runtime's, libffi's and the
 * interpreter's frames collapsed, fitted to the width; or JSON.  Every
 * string from the segment or a module goes out through sanitize.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"
#include "textfit.h"
#include "viewer.h"

/* ---- rendering ------------------------------------------------------------------ */

/* Where a frame's module belongs: the runtime, libffi and the Python
 * interpreter (with its standard extension modules) are not the user's code
 * and are collapsed.  The runtime is libtt_metal.so, or ttnn's _ttnncpp.so
 * (which holds tt-metal itself in the ttnn wheels before 0.65). */
enum frame_kind { FRAME_USER, FRAME_RUNTIME, FRAME_FFI, FRAME_PYTHON, FRAME_STARTUP };
static const char *const frame_kind_name[] = { "user", "runtime", "libffi", "python",
					       "startup" };

/* libc's start-up below main (and the executable's _start): in every stack,
 * saying nothing; JSON keeps them (kind "startup"), the text hides them. */
int leaks_startup_frame(const struct symbol_info *si)
{
	static const char *const names[] = { "__libc_start_call_main", "__libc_start_main",
					      "__libc_start_main_impl", "_start" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(si->function, names[i]))
			return 1;
	return 0;
}

static enum frame_kind frame_kind_of(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (!strncmp(base, "libtt_metal", 11) || !strncmp(base, "_ttnncpp", 8) ||
	    !strncmp(base, "libttmem", 8))
		return FRAME_RUNTIME;
	if (!strncmp(base, "libffi.", 7))
		return FRAME_FFI;
	if (!strncmp(base, "python", 6) || !strncmp(base, "libpython", 9) ||
	    strstr(path, "/lib-dynload/"))
		return FRAME_PYTHON;
	return FRAME_USER;
}

/* Text from a segment or a debug file, for a terminal: through the one
 * sanitizer (sanitize.h: no escape sequence, no invalid UTF-8). */
static void put_clean(FILE *f, const char *s)
{
	san_term(f, s, strlen(s), 0);
}

/* The script a Python process runs, from its command line: the first
 * argument ending in ".py", else the first that is not an option. */
static int python_script(const char *cmdline, char *out, size_t len)
{
	const char *p = strchr(cmdline, ' '), *first = NULL;

	while (p && *p) {
		const char *w = p + (*p == ' '), *e = strchr(w, ' ');
		size_t n = e ? (size_t)(e - w) : strlen(w);

		if (n >= 3 && !strncmp(w + n - 3, ".py", 3)) {
			first = w;
			snprintf(out, len, "%.*s", (int)n, w);
			return 1;
		}
		if (!first && n && w[0] != '-') {
			first = w;
			snprintf(out, len, "%.*s", (int)n, w);
		}
		p = e;
	}
	return first != NULL;
}

struct shown {
	struct symbol_info si[TTMEM_STACK_FRAMES];
	enum frame_kind kind[TTMEM_STACK_FRAMES];
	uint32_t depth;
	int first;            /* first user frame, -1: none */
	int python;           /* frames of the interpreter seen */
};

/* Symbolize and classify a group's frames (or its callsite alone). */
static void group_frames(struct symbolizer *sy, const struct leak_group *g, struct shown *s)
{
	s->first = -1;
	s->python = 0;
	s->depth = g->depth ? g->depth : 1;
	for (uint32_t i = 0; i < s->depth; i++) {
		if (g->depth)
			symbolize(sy, TTMEM_FRAME_MODULE(g->frame[i]), TTMEM_FRAME_OFFSET(g->frame[i]),
				  &s->si[i]);
		else
			symbolize(sy, g->module, g->callsite, &s->si[i]);
		/* A source line is the user's code, whatever its file is named. */
		s->kind[i] = sy && !s->si[i].is_source ? frame_kind_of(s->si[i].module) : FRAME_USER;
		if (s->kind[i] == FRAME_USER && !s->si[i].is_source && leaks_startup_frame(&s->si[i]))
			s->kind[i] = FRAME_STARTUP;
		if (s->kind[i] == FRAME_PYTHON)
			s->python = 1;
		if (s->first < 0 && s->kind[i] == FRAME_USER)
			s->first = (int)i;
	}
}

void leaks_json_frame(FILE *f, const struct symbol_info *si)
{
	fputs("\"module\":", f);
	json_str(f, si->module, sizeof(si->module));
	fprintf(f, ",\"offset\":%" PRIu64 ",\"function\":", si->offset);
	if (si->function[0])
		json_str(f, si->function, sizeof(si->function));
	else
		fputs("null", f);
	fprintf(f, ",\"function_offset\":%" PRIu64 ",\"file\":", si->sym_offset);
	if (si->file[0])
		json_str(f, si->file, sizeof(si->file));
	else
		fputs("null", f);
	fprintf(f, ",\"line\":%" PRIu32 ",\"source_text\":", si->line);
	if (si->text[0])
		json_str(f, si->text, sizeof(si->text));
	else
		fputs("null", f);
	fprintf(f, ",\"symbolization\":\"%s\"", si->status);
}

void leaks_text_frame(FILE *f, const struct symbol_info *si)
{
	if (si->is_source) {
		put_clean(f, si->module);
		fprintf(f, ":%" PRIu32, si->line);
		if (si->function[0]) {
			fputs(" in ", f);
			put_clean(f, si->function);
		}
		if (si->text[0]) {
			fputs("  | ", f);
			put_clean(f, si->text);
		} else if (strcmp(si->status, "ok")) {
			fprintf(f, "  [%s]", si->status);
		}
	} else if (si->function[0]) {
		put_clean(f, si->function);
		fprintf(f, "+0x%" PRIx64 "  (", si->sym_offset);
		put_clean(f, si->module);
		fprintf(f, "+0x%" PRIx64 ")", si->offset);
	} else {
		put_clean(f, si->module);
		fprintf(f, "+0x%" PRIx64 "  [%s]", si->offset, si->status);
	}
}

/* One group: its first user frame as the headline, then the rest of its
 * stack, collapsed runs of runtime / libffi / interpreter frames as one line. */
/* Each line of buf[0..len) through tf_line. */
static void fit_lines(FILE *f, unsigned width, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl)
			*nl = 0;
		else
			buf[len] = 0; /* open_memstream leaves a NUL after the data */
		tf_line(f, width, p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

/*
 * The headline of a group: what it holds (pre: bytes, entries, owner in
 * aligned columns; tight: the same unpadded), its frame, its bytes per type
 * (post).  Too wide, the padding goes first, then the frame is elided in the
 * middle; too narrow even for that, the frame gets a line of its own, so
 * that the figures stay whole.
 */
static void headline(FILE *f, unsigned width, const char *pre, const char *tight,
		     const char *frame, const char *post)
{
	size_t n = strlen(pre) + strlen(frame) + strlen(post) + 8;
	char *el = malloc(n), *line = malloc(n);
	size_t fixed = tf_cols(tight) + tf_cols(post);

	if (!el || !line)
		goto out;
	snprintf(line, n, "%s%s%s", pre, frame, post);
	if (!width || tf_cols(line) <= width) {
		tf_line(f, width, line);
	} else if (fixed + 16 <= width) {
		snprintf(line, n, "%s%s%s", tight, tf_elide(el, n, frame, width - fixed), post);
		tf_line(f, width, line);
	} else {
		snprintf(line, n, "%s%s", tight, post);
		tf_line(f, width, line);
		snprintf(line, n, "        %s", tf_elide(el, n, frame, width > 8 ? width - 8 : 1));
		tf_line(f, width, line);
	}
out:
	free(line);
	free(el);
}

static void print_group(FILE *out, struct symbolizer *sy, const struct leak_proc *p,
			const struct leak_group *g, int json, int first, unsigned width)
{
	struct shown *s = calloc(1, sizeof(*s));
	char b[32], script[200] = "", pre[96], tight[96], post[256] = "", *buf = NULL;
	size_t blen = 0, plen = 0;
	int head, use_script;
	FILE *f = out;

	if (!s)
		return;
	group_frames(sy, g, s);
	head = s->first >= 0 ? s->first : 0;
	/* Nothing but the interpreter and libffi: the user's code is the script. */
	use_script = s->first < 0 && s->python && python_script(p->cmdline, script, sizeof(script));
	if (json) {
		fprintf(f, "%s{\"owner\":\"%s\",", first ? "" : ",", owner_name(g->owner));
		leaks_json_frame(f, &s->si[head]);
		fputs(",\"python_script\":", f);
		if (use_script)
			json_str(f, script, sizeof(script));
		else
			fputs("null", f);
		fprintf(f, ",\"stack_status\":\"%s\",\"truncated\":%s,\"stack\":[", g->stack_status,
			g->truncated ? "true" : "false");
		for (uint32_t i = 0; i < (g->depth ? s->depth : 0); i++) {
			fputs(i ? ",{" : "{", f);
			leaks_json_frame(f, &s->si[i]);
			fprintf(f, ",\"kind\":\"%s\"}", frame_kind_name[s->kind[i]]);
		}
		fprintf(f, "],\"entries\":%zu,\"bytes\":%" PRIu64 ",\"types\":{", g->entries, g->bytes);
		for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
			fprintf(f, "%s\"%s\":%" PRIu64, ty ? "," : "", type_name(ty), g->types[ty]);
		fputs("}}", f);
		free(s);
		return;
	}
	/* Text: rendered aside, then fitted to the width line by line. */
	snprintf(pre, sizeof(pre), "  %10s in %4zu  %-21s ", fmt_bytes(b, sizeof(b), g->bytes),
		 g->entries, owner_name(g->owner));
	snprintf(tight, sizeof(tight), "  %s in %zu %s ", b, g->entries, owner_name(g->owner));
	for (unsigned ty = 0; ty < MODEL_TYPES; ty++)
		if (g->types[ty] && plen < sizeof(post))
			plen += (size_t)snprintf(post + plen, sizeof(post) - plen, "  %s %s",
						 type_name(ty), fmt_bytes(b, sizeof(b), g->types[ty]));
	f = open_memstream(&buf, &blen);
	if (!f) {
		free(s);
		return;
	}
	if (use_script) {
		fputs("python script ", f);
		put_clean(f, script);
	} else {
		leaks_text_frame(f, &s->si[head]);
	}
	if (fclose(f) == 0)
		headline(out, width, pre, tight, buf, post);
	free(buf);
	buf = NULL;
	blen = 0;
	f = open_memstream(&buf, &blen);
	if (!f) {
		free(s);
		return;
	}
	if (!use_script && s->si[head].file[0] && !s->si[head].is_source) {
		fputs("        at ", f);
		put_clean(f, s->si[head].file);
		fprintf(f, ":%" PRIu32 "\n", s->si[head].line);
	}
	if (use_script)
		head = -1;
	for (uint32_t i = (uint32_t)(head + 1); g->depth && i < s->depth; i++) {
		if (s->kind[i] == FRAME_STARTUP)
			continue;
		/* A comprehension runs as a frame of its own on its caller's
		 * line: one line of source, shown once. */
		if (s->si[i].is_source && i > 0 && s->si[i - 1].is_source &&
		    s->si[i].line == s->si[i - 1].line &&
		    !strcmp(s->si[i].module, s->si[i - 1].module))
			continue;
		if (s->kind[i] != FRAME_USER) {
			uint32_t k = i;

			while (k + 1 < s->depth && s->kind[k + 1] == s->kind[i])
				k++;
			fprintf(f, "        from [%s: %u frame%s]\n", frame_kind_name[s->kind[i]],
				k - i + 1, k > i ? "s" : "");
			i = k;
			continue;
		}
		fputs("        from ", f);
		leaks_text_frame(f, &s->si[i]);
		if (s->si[i].file[0] && !s->si[i].is_source) {
			fputs("  at ", f);
			put_clean(f, s->si[i].file);
			fprintf(f, ":%" PRIu32, s->si[i].line);
		}
		fputc('\n', f);
	}
	if (g->truncated)
		fprintf(f, "        from ... (deeper frames not recorded)\n");
	if (g->stack && !g->depth)
		fprintf(f, "        (stack not shown: its stack table entry %s)\n",
			strcmp(g->stack_status, "mismatch") ? "is corrupt" :
							      "does not start at this callsite");
	if (fclose(f) == 0)
		fit_lines(out, width, buf, blen);
	free(buf);
	free(s);
}

/* The stacks merged across processes, largest first: JSON always ("stacks",
 * after "processes"), text when more than one process left something. */
static void print_merged(FILE *f, const struct leak_report *r, struct symbolizer *sy, int json,
			 unsigned width)
{
	struct leak_merged *m = NULL;
	long n = leaks_merge(r, &m);

	if (json)
		fputs("],\"stacks\":[", f);
	else if (r->nproc > 1 && n > 0) {
		char line[96];

		snprintf(line, sizeof(line), "By call stack, all %zu processes (largest first):",
			 r->nproc);
		fputc('\n', f);
		tf_wrap(f, width, 2, line);
	}
	for (long i = 0; i < n && (json || r->nproc > 1); i++) {
		if (json)
			fprintf(f, "%s{\"processes\":%zu,\"group\":", i ? "," : "", m[i].processes);
		else
			fprintf(f, "  from %zu process%s:\n", m[i].processes,
				m[i].processes == 1 ? "" : "es");
		print_group(f, sy, &r->procs[m[i].proc], &m[i].group, json, 1, width);
		if (json)
			fputc('}', f);
	}
	if (json)
		fputc(']', f);
	if (n < 0 && !json)
		tf_line(f, width, "(merged view: out of memory)");
	free(m);
}

void leaks_print(FILE *f, const struct leak_report *r, struct symbolizer *sy, const char *shm,
		 int json, unsigned width)
{
	char b[32], line[4400];

	if (json) {
		fputs("{\"schema\":\"ttmem/1\",\"kind\":\"leaks\",\"segment\":", f);
		json_str(f, shm, 4096);
		fprintf(f, ",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"processes\":[", r->entries,
			r->bytes);
	} else if (!r->entries) {
		snprintf(line, sizeof(line), "No leaks in %s: no entry of an exited or dead process.",
			 shm);
		tf_wrap(f, width, 2, line);
	} else {
		snprintf(line, sizeof(line), "Leaks in %s: %s in %zu entr%s of %zu process%s that %s "
			 "not running", shm, fmt_bytes(b, sizeof(b), r->bytes), r->entries,
			 r->entries == 1 ? "y" : "ies", r->nproc, r->nproc == 1 ? "" : "es",
			 r->nproc == 1 ? "is" : "are");
		tf_wrap(f, width, 2, line);
	}
	for (size_t i = 0; i < r->nproc; i++) {
		const struct leak_proc *p = &r->procs[i];

		if (json) {
			fprintf(f, "%s{\"pid\":%" PRIu32 ",\"name\":", i ? "," : "", p->pid);
			json_str(f, p->name, sizeof(p->name));
			fprintf(f, ",\"state\":\"%s\",\"entries\":%zu,\"bytes\":%" PRIu64 ",\"groups\":[",
				liveness_name(p->state), p->entries, p->bytes);
		} else {
			char name[160];

			san_cell(name, sizeof(name), p->name, sizeof(p->name),
				 (int)(sizeof(p->name) - 1), 0, 0);
			for (size_t n = strlen(name); n && name[n - 1] == ' ';)
				name[--n] = 0;
			snprintf(line, sizeof(line), "pid %" PRIu32 " %s (%s): %s in %zu entries%s",
				 p->pid, name, liveness_name(p->state), fmt_bytes(b, sizeof(b), p->bytes),
				 p->entries, p->state == TTMEM_LIVENESS_EXITED ? ", still live at exit" :
										 ", orphaned");
			fputc('\n', f);
			tf_wrap(f, width, 2, line);
		}
		for (size_t k = 0; k < p->ngroups; k++)
			print_group(f, sy, p, &r->groups[p->first_group + k], json, k == 0, width);
		if (json)
			fputs("]}", f);
	}
	print_merged(f, r, sy, json, width);
	if (json)
		fputs("}\n", f);
}
