/* SPDX-License-Identifier: MIT */
/*
 * The peaks of the chips (segment.h, "Peaks"): their stacks read out of the
 * segment and checked, and rendered like the leak report's frames.
 *
 * A peak word names a stack by its id, as a slot does; the id is the
 * segment's word, so it is checked as any other: within the stack table,
 * the entry published, its depth in range, its frames hashing to its hash.
 * Anything else is "corrupt" and shown as an unknown stack, never followed.
 * Unlike a slot, a peak has no callsite of its own to compare frame 0 with.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "sanitize.h"
#include "viewer.h"

void peak_stack_read(const struct ttmem_table *t, uint32_t id, struct peak_stack *out)
{
	const struct ttmem_stack *st;
	uint32_t cap = ttmem_table_stack_capacity(t), depth, flags;
	uint64_t hash;

	memset(out, 0, sizeof(*out));
	out->id = id;
	out->status = "none";
	if (!id)
		return;
	out->status = "corrupt";
	if (id - 1 >= cap || !ttmem_table_stacks(t))
		return;
	st = &ttmem_table_stacks(t)[id - 1];
	/* Acquire: pairs with the writer's publishing release. */
	if ((atomic_load_explicit((_Atomic uint64_t *)(uintptr_t)&st->ctl, memory_order_acquire) &
	     0xff) != TTMEM_STACK_PUBLISHED)
		return;
	depth = __atomic_load_n(&st->depth, __ATOMIC_RELAXED);
	flags = __atomic_load_n(&st->flags, __ATOMIC_RELAXED);
	hash = __atomic_load_n(&st->hash, __ATOMIC_RELAXED);
	if (depth == 0 || depth > TTMEM_STACK_FRAMES)
		return;
	for (uint32_t i = 0; i < depth; i++)
		out->frame[i] = __atomic_load_n(&st->frame[i], __ATOMIC_RELAXED);
	if (ttmem_stack_hash(out->frame, depth) != hash) {
		memset(out->frame, 0, sizeof(out->frame));
		return;
	}
	out->depth = depth;
	out->truncated = (flags & TTMEM_STACK_F_TRUNCATED) != 0;
	out->status = "ok";
}

void peak_stack_json(FILE *f, const struct peak_stack *ps, struct symbolizer *sy)
{
	struct symbol_info si;

	if (!ps->id) {
		fputs("null", f);
		return;
	}
	fprintf(f, "{\"status\":\"%s\",\"truncated\":%s,\"frames\":[", ps->status,
		ps->truncated ? "true" : "false");
	for (uint32_t i = 0; i < ps->depth; i++) {
		symbolize(sy, TTMEM_FRAME_MODULE(ps->frame[i]), TTMEM_FRAME_OFFSET(ps->frame[i]), &si);
		fputs(i ? ",{" : "{", f);
		leaks_json_frame(f, &si);
		fputc('}', f);
	}
	fputs("]}", f);
}

void peak_stack_text(FILE *f, const struct peak_stack *ps, struct symbolizer *sy)
{
	struct symbol_info si;

	if (ps->id && !ps->depth) {
		fputs("        (stack unknown: its stack table entry is corrupt)\n", f);
		return;
	}
	for (uint32_t i = 0; i < ps->depth; i++) {
		symbolize(sy, TTMEM_FRAME_MODULE(ps->frame[i]), TTMEM_FRAME_OFFSET(ps->frame[i]), &si);
		/* Below main: shown in JSON, noise here (as in the leak report). */
		if (i && leaks_startup_frame(&si))
			continue;
		fputs(i ? "        from " : "        at   ", f);
		leaks_text_frame(f, &si);
		if (si.file[0] && !si.is_source) {
			fputs("  at ", f);
			san_term(f, si.file, strnlen(si.file, sizeof(si.file)), 0);
			fprintf(f, ":%" PRIu32, si.line);
		}
		fputc('\n', f);
	}
	if (ps->truncated)
		fputs("        from ... (deeper frames not recorded)\n", f);
}
